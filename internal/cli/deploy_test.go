package cli

import (
	"strings"
	"testing"
)

func TestParseImageFlags(t *testing.T) {
	tests := []struct {
		name    string
		flags   []string
		want    []change
		wantErr string
	}{
		{"short and full names", []string{"api=berth.local/shop-api:2", "app_web=berth.local/shop-web:2"},
			[]change{{"app_api", "berth.local/shop-api:2"}, {"app_web", "berth.local/shop-web:2"}}, ""},
		{"nothing", nil, nil, "nothing to deploy"},
		{"no equals", []string{"api"}, nil, "want SERVICE=REF"},
		{"empty ref", []string{"api="}, nil, "want SERVICE=REF"},
		{"malformed reference", []string{"api=Shop-API:2"}, nil, "not a valid image reference"},
		{"bad tag", []string{"api=shop-api:in valid"}, nil, "not a valid image reference"},
		{"twice", []string{"api=a:1", "app_api=a:2"}, nil, "given twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseImageFlags("app", tc.flags)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("got %v, want %v", got[i], tc.want[i])
				}
			}
		})
	}
}

func TestDeployRefusesBadInputWithoutEngine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"deploy", "--image", "api"}, "want SERVICE=REF"},
		{[]string{"deploy", "--image", "api=UPPER:1"}, "not a valid image reference"},
		{[]string{"deploy", "--output", "yaml", "--image", "api=a:1"}, "use text or json"},
		{[]string{"deploy"}, "nothing to deploy"},
	} {
		code, _, errOut := runBerth(t, map[string]string{"DOCKER_HOST": "unix:///nonexistent.sock"}, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
}

func TestComposeImages(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr string
	}{
		{"images", "services:\n  api:\n    image: berth.local/shop-api:2\n  web:\n    image: web:1\n",
			map[string]string{"api": "berth.local/shop-api:2", "web": "web:1"}, ""},
		{"no image", "services:\n  api:\n    build: .\n", nil, "services.api.image: missing"},
		{"bad reference", "services:\n  api:\n    image: Bad:Ref:x\n", nil, "services.api.image"},
		{"not yaml", "services: [", nil, "yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := composeImages([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(got) != len(tc.want) {
				t.Fatalf("got %v, %v", got, err)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s: %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestDeployRefusesUnloadableFile(t *testing.T) {
	code, _, errOut := runBerth(t, map[string]string{"DOCKER_HOST": "unix:///nonexistent.sock"}, "deploy", "app", "-f", "testdata/invalid-stack.yml")
	if code != 2 || !strings.Contains(errOut, "testdata/invalid-stack.yml") || !strings.Contains(errOut, "replicas") {
		t.Fatalf("exit %d, stderr %q: want 2 naming the file and the field", code, errOut)
	}
	code, _, errOut = runBerth(t, nil, "deploy", "app", "-f", "x.yml", "--image", "api=a:1")
	if code != 2 || !strings.Contains(errOut, "not both") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}
