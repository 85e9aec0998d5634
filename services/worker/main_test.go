package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunRejectsBadConfig(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "db_password")
	if err := os.WriteFile(pw, []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"DB_PASSWORD_FILE": pw, "POLL_INTERVAL": "often"}, "POLL_INTERVAL"},
		{map[string]string{"DB_PASSWORD_FILE": pw, "POLL_INTERVAL": "0s"}, "POLL_INTERVAL"},
		{map[string]string{"DB_PASSWORD": "hunter2", "DB_PASSWORD_FILE": pw + ".missing"}, "DB_PASSWORD_FILE"},
	}
	for _, tt := range tests {
		var stdout bytes.Buffer
		if code := run(nil, func(k string) string { return tt.env[k] }, &stdout, &bytes.Buffer{}); code != 1 {
			t.Errorf("env %v: exit = %d, want 1", tt.env, code)
		}
		if !strings.Contains(stdout.String(), tt.want) || strings.Contains(stdout.String(), "hunter2") {
			t.Errorf("env %v: log = %s, want it to name %s and never the password", tt.env, stdout.String(), tt.want)
		}
	}
	if code := run([]string{"work"}, func(string) string { return "" }, &bytes.Buffer{}, &bytes.Buffer{}); code != 2 {
		t.Errorf("unknown subcommand: exit = %d, want 2", code)
	}
}
