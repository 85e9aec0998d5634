package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func auditRun(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	t.Chdir(dir)
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, &Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func auditWrite(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAuditExitCodes(t *testing.T) {
	dir := t.TempDir()
	auditWrite(t, dir, "bad.yml", "services:\n  web:\n    image: nginx:latest\n")
	auditWrite(t, dir, "broken.yml", "services:\n  web:\n    image: [unclosed\n")
	auditWrite(t, dir, "daemon.json", `{"icc": false, "no-new-privileges": true, "log-opts": {"max-size": "10m", "max-file": "3"}, "userns-remap": "default"}`)

	for _, tc := range []struct {
		name string
		args []string
		code int
		in   string // substring of stdout or stderr
	}{
		{"findings", []string{"audit", "bad.yml"}, 1, "images.tag.latest"},
		{"fail-on none", []string{"audit", "--fail-on", "none", "bad.yml"}, 0, "images.tag.latest"},
		{"malformed", []string{"audit", "broken.yml"}, 2, "broken.yml:2: did not find"},
		{"missing file", []string{"audit", "nope.yml"}, 2, "nope.yml"},
		{"bad profile", []string{"audit", "--profile", "prod", "bad.yml"}, 2, "unknown profile"},
		{"clean daemon at error", []string{"audit", "--fail-on", "error", "daemon.json"}, 0, "no findings"},
		{"json", []string{"audit", "-o", "json", "bad.yml"}, 1, `"rule": "images.tag.latest"`},
		{"sarif", []string{"audit", "-o", "sarif", "bad.yml"}, 1, `"version": "2.1.0"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := auditRun(t, dir, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errOut)
			}
			if !strings.Contains(out+errOut, tc.in) {
				t.Errorf("output lacks %q:\n%s%s", tc.in, out, errOut)
			}
			if strings.Contains(out, "\x1b[") {
				t.Error("colour written to a non-terminal")
			}
		})
	}
}

func TestAuditConfigFile(t *testing.T) {
	dir := t.TempDir()
	auditWrite(t, dir, "stack.yml", "services:\n  web:\n    image: nginx:latest\n")
	auditWrite(t, dir, ".berth-audit.yml", "profile: compose-dev\nfail-on: error\nignore:\n  - rule: images.tag.latest\n    reason: pinned by the deploy pipeline\n")
	code, out, errOut := auditRun(t, dir, "audit", "stack.yml")
	if code != 0 || !strings.Contains(out, "pinned by the deploy pipeline") || !strings.Contains(out, "profile compose-dev") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
	auditWrite(t, dir, ".berth-audit.yml", "ignore:\n  - rule: images.tag.latest\n")
	code, _, errOut = auditRun(t, dir, "audit", "stack.yml")
	if code != 2 || !strings.Contains(errOut, "needs a reason") || !strings.Contains(errOut, ".berth-audit.yml:2") {
		t.Errorf("ignore without reason: exit %d, stderr %s", code, errOut)
	}
}
