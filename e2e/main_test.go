//go:build e2e

// Package e2e runs berth against the real Docker engine on this machine:
// it takes over the engine's swarm (berth down --volumes --secrets first),
// brings the platform up with a random canary database password, checks
// every promise of the foundation through the real Traefik, Postgres and
// services, and removes everything at the end, even on failure.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var keep = flag.Bool("keep", false, "leave the platform running after the tests")

// env is what every test shares: one platform, brought up once.
var env struct {
	berth    string // path to the berth binary under test
	root     string // repository root
	stateDir string
	canary   string // the database password: must appear only in /run/secrets
	upOutput string
	upTook   time.Duration
	upErr    error
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := func() int {
		dir, err := os.MkdirTemp("", "berth-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		env.root, _ = filepath.Abs("..")
		env.stateDir = filepath.Join(dir, "state")
		env.berth = filepath.Join(dir, "berth")
		build := exec.Command("go", "build", "-o", env.berth, "./cmd/berth")
		build.Dir = env.root
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building berth: %v\n%s", err, out)
			return 1
		}
		// A clean slate: the tests own this engine's berth platform.
		if out, err := berth(context.Background(), "down", "--volumes", "--secrets"); err != nil {
			fmt.Fprintf(os.Stderr, "berth down before the tests: %v\n%s", err, out)
			return 1
		}
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		env.canary = "canary-" + hex.EncodeToString(b)
		pwFile := filepath.Join(dir, "db-password")
		if err := os.WriteFile(pwFile, []byte(env.canary), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
		start := time.Now()
		env.upOutput, env.upErr = berth(ctx, "up", "--db-password-file", pwFile)
		env.upTook = time.Since(start)
		cancel()
		fmt.Printf("first berth up took %s\n", env.upTook.Round(time.Second))
		code := m.Run()
		if *keep {
			return code
		}
		if out, err := berth(context.Background(), "down", "--volumes", "--secrets"); err != nil {
			fmt.Fprintf(os.Stderr, "berth down after the tests: %v\n%s", err, out)
			if code == 0 {
				code = 1
			}
		}
		return code
	}()
	os.Exit(code)
}

// berth runs the binary under test from the repository root.
func berth(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, env.berth, args...)
	cmd.Dir = env.root
	cmd.Env = append(os.Environ(), "BERTH_STATE_DIR="+env.stateDir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// requireUp stops a test early when the platform never came up, with the
// output of berth up to say why.
func requireUp(t *testing.T) {
	t.Helper()
	if env.upErr != nil {
		t.Fatalf("berth up failed: %v\n%s", env.upErr, env.upOutput)
	}
}

// docker runs the docker CLI and returns its trimmed stdout.
func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("docker %s: %v %s", strings.Join(args, " "), err, msg)
	}
	return strings.TrimSpace(string(out))
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// platformContainers lists the running containers of berth's stacks.
func platformContainers(t *testing.T) []string {
	t.Helper()
	var ids []string
	for _, stack := range []string{"edge", "data", "app"} {
		ids = append(ids, lines(docker(t, "ps", "-q", "--no-trunc", "--filter", "label=com.docker.stack.namespace="+stack))...)
	}
	if len(ids) < 7 {
		t.Fatalf("found %d platform containers, want at least 7 (traefik, socket-proxy, postgres, 2 api, 2 web, 2 worker)", len(ids))
	}
	return ids
}

// eventually polls f until it returns nil or the deadline passes.
func eventually(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %s: %v", what, timeout, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
