package svc

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHealthcheckExitCodes(t *testing.T) {
	handler := func(code int, delay time.Duration) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/healthz" {
				t.Errorf("healthcheck requested %s, want /healthz", r.URL.Path)
			}
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
			}
			w.WriteHeader(code)
		}
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		args    []string
		want    int
		stderr  string
	}{
		{name: "healthy", handler: handler(200, 0), want: 0},
		{name: "starting", handler: handler(503, 0), want: 1, stderr: "503"},
		{name: "redirect is not healthy", handler: handler(302, 0), want: 1},
		{name: "slow server times out", handler: handler(200, 5*time.Second), args: []string{"--timeout", "200ms"}, want: 1, stderr: "deadline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			var stderr bytes.Buffer
			start := time.Now()
			args := append([]string{"--url", srv.URL + "/healthz"}, tt.args...)
			if got := Healthcheck(args, mapEnv(nil), &stderr); got != tt.want {
				t.Fatalf("exit = %d, want %d (stderr %q)", got, tt.want, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.stderr)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestHealthcheckUsesListenAddrPort(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	env := mapEnv(map[string]string{"LISTEN_ADDR": ":" + port})
	if got := Healthcheck(nil, env, &bytes.Buffer{}); got != 0 {
		t.Fatalf("exit = %d with LISTEN_ADDR=:%s, want 0", got, port)
	}
	srv.Close()
	if got := Healthcheck(nil, env, &bytes.Buffer{}); got != 1 {
		t.Fatalf("exit = %d with nothing listening, want 1", got)
	}
}

func TestHealthcheckBadFlag(t *testing.T) {
	if got := Healthcheck([]string{"--nope"}, mapEnv(nil), &bytes.Buffer{}); got != 1 {
		t.Fatalf("exit = %d, want 1", got)
	}
}

func TestHealthcheckURL(t *testing.T) {
	tests := map[string]string{
		":8080":          "http://127.0.0.1:8080/healthz",
		"0.0.0.0:9000":   "http://127.0.0.1:9000/healthz",
		"[::]:9000":      "http://127.0.0.1:9000/healthz",
		"127.0.0.2:8081": "http://127.0.0.2:8081/healthz",
		"[::1]:8081":     "http://[::1]:8081/healthz",
		"bogus":          "http://127.0.0.1:8080/healthz",
	}
	for in, want := range tests {
		if got := HealthcheckURL(in); got != want {
			t.Errorf("HealthcheckURL(%q) = %q, want %q", in, got, want)
		}
	}
}
