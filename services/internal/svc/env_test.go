package svc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mapEnv(m map[string]string) Env { return func(k string) string { return m[k] } }

func TestEnvDuration(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		want    time.Duration
		wantErr string
	}{
		{name: "unset uses default", value: "", want: 5 * time.Second},
		{name: "go duration", value: "750ms", want: 750 * time.Millisecond},
		{name: "zero disables the delay", value: "0s", want: 0},
		{name: "bare number is rejected", value: "5", wantErr: "not a Go duration"},
		{name: "negative is rejected", value: "-1s", wantErr: "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mapEnv(map[string]string{"DRAIN_DELAY": tt.value}).Duration("DRAIN_DELAY", 5*time.Second)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "DRAIN_DELAY") {
					t.Fatalf("err = %v, want one naming DRAIN_DELAY and containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestEnvPort(t *testing.T) {
	for value, ok := range map[string]bool{"": true, "5432": true, "0": false, "65536": false, "pg": false} {
		_, err := mapEnv(map[string]string{"DB_PORT": value}).Port("DB_PORT", 5432)
		if (err == nil) != ok {
			t.Errorf("DB_PORT=%q: err = %v, want ok=%v", value, err, ok)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	c, err := LoadConfig(mapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{ListenAddr: ":8080", DrainDelay: 5 * time.Second, ShutdownTimeout: 10 * time.Second, LogLevel: "info"}
	if c != want {
		t.Fatalf("defaults = %+v, want %+v", c, want)
	}
	_, err = LoadConfig(mapEnv(map[string]string{"LISTEN_ADDR": "8080", "SHUTDOWN_TIMEOUT": "x"}))
	if err == nil || !strings.Contains(err.Error(), "LISTEN_ADDR") || !strings.Contains(err.Error(), "SHUTDOWN_TIMEOUT") {
		t.Fatalf("err = %v, want both bad variables named", err)
	}
}

func TestReadSecretFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		path    string
		want    string
		wantErr string
	}{
		{name: "trailing newline trimmed", path: write("nl", "s3cret\n"), want: "s3cret"},
		{name: "windows newline trimmed", path: write("crlf", "s3cret\r\n"), want: "s3cret"},
		{name: "inner and leading spaces kept", path: write("sp", " s3 cret\n"), want: " s3 cret"},
		{name: "no newline", path: write("plain", "s3cret"), want: "s3cret"},
		{name: "missing file", path: filepath.Join(dir, "absent"), wantErr: "no such file"},
		{name: "empty file", path: write("empty", "\n"), wantErr: "is empty"},
		{name: "no path", path: "", wantErr: "path is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadSecretFile(tt.path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
