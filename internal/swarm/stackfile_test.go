package swarm

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnsupportedOptions(t *testing.T) {
	for _, tt := range []struct {
		name, stderr, want string
	}{
		{"none", "", ""},
		{"other chatter", "Since --detach=false was not specified, tasks will be created in the background.\n", ""},
		{"ignored", "Ignoring unsupported options: build, restart\n\n", "ignores: build, restart"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := unsupportedOptions("app.yml", tt.stderr)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "app.yml") {
				t.Fatalf("error %v, want one naming app.yml and %q", err, tt.want)
			}
		})
	}
}

// TestLoadStackFile runs the real docker CLI's loader (no engine needed).
func TestLoadStackFile(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker CLI not installed")
	}
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yml", "services:\n  web:\n    image: example/web:1\n    deploy:\n      replicas: 2\n")
	out, err := LoadStackFile(context.Background(), good)
	if err != nil || !strings.Contains(string(out), "example/web:1") {
		t.Fatalf("good file: %v\n%s", err, out)
	}
	bad := write("bad.yml", "services:\n  web:\n    image: example/web:1\n    deploy:\n      replicas: two\n")
	if _, err := LoadStackFile(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "bad.yml") || !strings.Contains(err.Error(), "replicas") {
		t.Fatalf("bad file: %v, want an error naming the file and the field", err)
	}
	ignored := write("ignored.yml", "services:\n  web:\n    image: example/web:1\n    build: .\n    restart: always\n")
	if _, err := LoadStackFile(context.Background(), ignored); err == nil ||
		!strings.Contains(err.Error(), "services.web.build, services.web.restart") {
		t.Fatalf("file with ignored options: %v, want an error naming them", err)
	}
}
