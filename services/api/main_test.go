package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunRefusesPasswordFromEnv(t *testing.T) {
	env := map[string]string{
		"DB_PASSWORD":      "hunter2",
		"DB_PASSWORD_FILE": filepath.Join(t.TempDir(), "db_password"),
	}
	var stdout, stderr bytes.Buffer
	if code := run(nil, func(k string) string { return env[k] }, &stdout, &stderr); code != 1 {
		t.Fatalf("exit = %d, want 1 without a password file", code)
	}
	if !strings.Contains(stdout.String(), "DB_PASSWORD_FILE") {
		t.Errorf("log does not name DB_PASSWORD_FILE: %s", stdout.String())
	}
	if strings.Contains(stdout.String()+stderr.String(), "hunter2") {
		t.Errorf("output contains the password: %s", stdout.String())
	}
}

func TestRunSubcommands(t *testing.T) {
	healthy := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer healthy.Close()
	noenv := func(string) string { return "" }
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"healthcheck", "--url", healthy.URL + "/healthz"}, 0},
		{[]string{"healthcheck", "--url", "http://127.0.0.1:1/healthz"}, 1},
		{[]string{"serve"}, 2},
	}
	for _, tt := range tests {
		if got := run(tt.args, noenv, &bytes.Buffer{}, &bytes.Buffer{}); got != tt.want {
			t.Errorf("api %v: exit = %d, want %d", tt.args, got, tt.want)
		}
	}
}
