package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeDockerAPI answers the few read-only endpoints berth reads first, as
// a swarm worker would, and records every request so a test can prove
// nothing was changed.
type fakeDockerAPI struct {
	mu       sync.Mutex
	requests []string
}

func (f *fakeDockerAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	f.mu.Unlock()
	w.Header().Set("Api-Version", "1.41")
	w.Header().Set("Content-Type", "application/json")
	path := r.URL.Path
	if i := strings.Index(path[1:], "/"); strings.HasPrefix(path, "/v1.") && i > 0 {
		path = path[i+1:]
	}
	switch path {
	case "/_ping":
		_, _ = w.Write([]byte("OK"))
	case "/version":
		_ = json.NewEncoder(w).Encode(map[string]any{"Version": "20.10.24", "ApiVersion": "1.41", "MinAPIVersion": "1.12"})
	case "/info":
		_ = json.NewEncoder(w).Encode(map[string]any{
			"CgroupVersion": "1", "DockerRootDir": "/var/lib/docker",
			"Swarm": map[string]any{"LocalNodeState": "active", "ControlAvailable": false, "NodeID": "worker1", "Nodes": 3, "Managers": 1},
		})
	case "/services":
		_, _ = w.Write([]byte("[]"))
	default:
		http.Error(w, `{"message":"not expected by the test"}`, http.StatusNotImplemented)
	}
}

func (f *fakeDockerAPI) mutations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.requests {
		if !strings.HasPrefix(r, "GET ") && !strings.HasPrefix(r, "HEAD ") {
			out = append(out, r)
		}
	}
	return out
}

func runBerth(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, &Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestUpRefusesBadStates(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker CLI not installed")
	}
	worker := &fakeDockerAPI{}
	srv := httptest.NewServer(worker)
	defer srv.Close()
	src := repoRoot(t)
	state := t.TempDir()

	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no engine", map[string]string{"DOCKER_HOST": "unix://" + filepath.Join(state, "missing.sock")},
			[]string{"up", "--source", src, "--state-dir", state}, 1, "Docker engine is not reachable"},
		{"swarm worker", map[string]string{"DOCKER_HOST": "tcp://" + strings.TrimPrefix(srv.URL, "http://")},
			[]string{"up", "--source", src, "--state-dir", state}, 1, "swarm worker"},
		{"bad domain", nil, []string{"up", "--source", src, "--domain", "not a domain"}, 2, "not a valid DNS name"},
		{"production without e-mail", nil, []string{"up", "--source", src, "--profile", "production"}, 2, "--acme-email"},
		{"unknown profile", nil, []string{"up", "--source", src, "--profile", "staging"}, 2, "unknown profile"},
		{"missing source", nil, []string{"up", "--source", state}, 2, "services/VERSION"},
		{"empty password file", nil, []string{"up", "--source", src, "--db-password-file", filepath.Join(state, "nope")}, 2, "missing or empty"},
		{"bad output format", nil, []string{"status", "--output", "yaml"}, 2, "use table or json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runBerth(t, tc.env, tc.args...)
			if code != tc.wantCode || !strings.Contains(errOut, tc.wantErr) {
				t.Fatalf("exit %d, stderr %q (stdout %q); want exit %d mentioning %q", code, errOut, out, tc.wantCode, tc.wantErr)
			}
		})
	}
	if m := worker.mutations(); len(m) != 0 {
		t.Fatalf("berth changed the worker's engine: %v", m)
	}
	if entries, _ := os.ReadDir(state); len(entries) != 0 {
		t.Fatalf("berth wrote state although it refused: %v", entries)
	}
}

func TestValidateStackFile(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker CLI not installed")
	}
	err := validateStackFile(context.Background(), "testdata/invalid-stack.yml")
	if err == nil || !strings.Contains(err.Error(), "testdata/invalid-stack.yml") || !strings.Contains(err.Error(), "replicas") {
		t.Fatalf("validateStackFile: %v, want an error naming the file and the field", err)
	}
}
