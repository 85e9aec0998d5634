//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// buildVariant builds the demo service key with another version and an
// optional fault, with the same Dockerfile a user builds with.
func buildVariant(t *testing.T, key, version, fault string) string {
	t.Helper()
	tag := version
	if fault != "" {
		tag += "-" + fault
	}
	ref := fmt.Sprintf("berth.local/shop-%s:%s", key, tag)
	cmd := exec.Command("docker", "build", "-q", "-f", filepath.Join("services", key, "Dockerfile"),
		"--build-arg", "VERSION="+version, "--build-arg", "FAULT="+fault, "-t", ref, "services")
	cmd.Dir = env.root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", ref, err, out)
	}
	return ref
}

// load sends a steady mix of reads and order creations through Traefik,
// half on kept-alive connections and half on fresh ones, until stopped.
type load struct {
	mu       sync.Mutex
	total    int
	failures []string
	stop     chan struct{}
	wg       sync.WaitGroup
}

func startLoad(t *testing.T, every time.Duration) *load {
	t.Helper()
	l := &load{stop: make(chan struct{})}
	clients := []*http.Client{client(t, true), client(t, false)}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-l.stop:
				return
			case <-tick.C:
			}
			c := clients[i%2]
			l.wg.Add(1)
			go func(i int) {
				defer l.wg.Done()
				var resp *http.Response
				var err error
				if i%4 < 2 {
					resp, err = c.Get("https://shop.localhost/api/orders?limit=1")
				} else {
					resp, err = c.Post("https://shop.localhost/api/orders", "application/json",
						bytes.NewBufferString(fmt.Sprintf(`{"item":"load-%d","quantity":1}`, i)))
				}
				l.mu.Lock()
				defer l.mu.Unlock()
				l.total++
				if err != nil {
					l.failures = append(l.failures, err.Error())
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode >= 400 {
					l.failures = append(l.failures, resp.Status)
				}
			}(i)
		}
	}()
	return l
}

// finish stops the load and fails the test on any failed request.
func (l *load) finish(t *testing.T) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Logf("load: %d requests, %d failed", l.total, len(l.failures))
	if l.total < 50 {
		t.Errorf("only %d requests were sent: the load proves nothing", l.total)
	}
	if len(l.failures) > 0 {
		t.Errorf("%d of %d requests failed, e.g. %q", len(l.failures), l.total, l.failures[:min(5, len(l.failures))])
	}
}

type deployResult struct {
	Service, From, To, Outcome, Reason string
}

func deployJSON(t *testing.T, args ...string) ([]deployResult, string, error) {
	t.Helper()
	out, err := berth(context.Background(), append([]string{"deploy", "app", "--output", "json"}, args...)...)
	var res []deployResult
	if i := strings.Index(out, "["); i >= 0 {
		_ = json.Unmarshal([]byte(out[i:strings.LastIndex(out, "]")+1]), &res)
	}
	return res, out, err
}

func serviceImage(t *testing.T, name string) string {
	return docker(t, "service", "inspect", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}", name)
}

// waitSettled waits until Swarm is done with any update or rollback of a
// service (a deadline-bounded deploy leaves Swarm still working).
func waitSettled(t *testing.T, name string) {
	t.Helper()
	eventually(t, 4*time.Minute, name+" settles", func() error {
		st := docker(t, "service", "inspect", "--format", "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}", name)
		switch st {
		case "", "completed", "rollback_completed", "paused", "rollback_paused":
		default:
			return fmt.Errorf("update state %q", st)
		}
		// Swarm reports a rollback complete once the spec is back; a slot
		// whose task crashed may still be starting its replacement. The
		// next test needs every replica running and healthy again.
		out, err := berth(context.Background(), "status", "--output", "json")
		if err != nil {
			return fmt.Errorf("berth status: %v", err)
		}
		var sts []struct {
			Name             string
			Desired, Running int
			Health           string
		}
		if err := json.Unmarshal([]byte(out), &sts); err != nil {
			return fmt.Errorf("status json: %v", err)
		}
		for _, s := range sts {
			if s.Name == name && (s.Running != s.Desired || s.Health != "healthy") {
				return fmt.Errorf("%d of %d replicas running, health %s", s.Running, s.Desired, s.Health)
			}
		}
		return nil
	})
}

func TestDeploy(t *testing.T) {
	requireUp(t)
	original := serviceImage(t, "app_api")
	good := buildVariant(t, "api", "e2e-good", "")
	unhealthy := buildVariant(t, "api", "e2e-bad", "unhealthy")
	crash := buildVariant(t, "api", "e2e-bad", "crash")

	t.Run("invalid input changes nothing", func(t *testing.T) {
		before := docker(t, "service", "inspect", "--format", "{{.Version.Index}}", "app_api")
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"deploy", "app", "--image", "nosuch=" + good}, "has no service nosuch"},
			{[]string{"deploy", "app", "--image", "api=Not/A:valid ref"}, "not a valid image reference"},
			{[]string{"deploy", "nostack", "--image", "api=" + good}, `stack "nostack" is not deployed`},
			{[]string{"deploy", "app", "--image", "api=berth.local/shop-api:never-built"}, "is not on this node"},
		} {
			out, err := berth(context.Background(), tc.args...)
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(out, tc.want) {
				t.Errorf("%v: err %v, output %q; want exit 2 and %q", tc.args, err, out, tc.want)
			}
		}
		if after := docker(t, "service", "inspect", "--format", "{{.Version.Index}}", "app_api"); after != before {
			t.Errorf("invalid deploys changed app_api (version %s → %s)", before, after)
		}
	})

	t.Run("success under load, then rollback", func(t *testing.T) {
		l := startLoad(t, 40*time.Millisecond)
		res, out, err := deployJSON(t, "--image", "api="+good)
		if err != nil || len(res) != 1 || res[0].Outcome != "updated" {
			l.finish(t)
			t.Fatalf("deploy of a good release: err %v\n%s", err, out)
		}
		if got := serviceImage(t, "app_api"); got != good {
			t.Errorf("service image %s, want %s", got, good)
		}
		code, hdr, _ := get(t, client(t, false), "https://shop.localhost/api/orders?limit=1")
		if code != 200 || hdr.Get("X-Berth-Version") != "e2e-good" {
			t.Errorf("after deploy: %d, version %q", code, hdr.Get("X-Berth-Version"))
		}
		out2, err := berth(context.Background(), "rollback", "api")
		if err != nil || !strings.Contains(out2, "live") {
			t.Errorf("rollback: %v\n%s", err, out2)
		}
		l.finish(t)
		if got := serviceImage(t, "app_api"); got != original {
			t.Errorf("after rollback the image is %s, want %s", got, original)
		}
	})

	t.Run("compose file", func(t *testing.T) {
		rendered, err := os.ReadFile(filepath.Join(env.stateDir, "stacks", "app", "app.yml"))
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "app.yml")
		changed := strings.Replace(string(rendered), original, good, 1)
		if changed == string(rendered) {
			t.Fatalf("the rendered app stack does not name %s", original)
		}
		if err := os.WriteFile(file, []byte(changed), 0o644); err != nil {
			t.Fatal(err)
		}
		broken := filepath.Join(t.TempDir(), "broken.yml")
		_ = os.WriteFile(broken, []byte(strings.Replace(changed, "replicas: 2", "replicas: two", 1)), 0o644)
		out, err := berth(context.Background(), "deploy", "app", "-f", broken)
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(out, "replicas") {
			t.Errorf("deploy -f of a file that does not load: err %v\n%s", err, out)
		}
		if got := serviceImage(t, "app_api"); got != original {
			t.Fatalf("a failed load changed app_api to %s", got)
		}
		res, out, err := deployJSON(t, "-f", file)
		if err != nil || len(res) != 1 || res[0].Service != "app_api" || res[0].Outcome != "updated" {
			t.Fatalf("deploy -f: err %v\n%s", err, out)
		}
		if out, err := berth(context.Background(), "rollback", "api"); err != nil {
			t.Fatalf("rollback after deploy -f: %v\n%s", err, out)
		}
	})

	t.Run("deadline", func(t *testing.T) {
		start := time.Now()
		res, out, err := deployJSON(t, "--timeout", "15s", "--image", "api="+unhealthy)
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || len(res) != 1 || res[0].Outcome != "timeout" {
			t.Fatalf("deploy with a 15s deadline of a never-healthy release: err %v\n%s", err, out)
		}
		if took := time.Since(start); took > 45*time.Second {
			t.Errorf("the deadline was 15s but deploy took %s", took)
		}
		// Swarm goes on and rolls the never-healthy release back by itself.
		waitSettled(t, "app_api")
		if got := serviceImage(t, "app_api"); got != original {
			t.Errorf("after Swarm's own rollback the image is %s, want %s", got, original)
		}
	})

	for _, bad := range []struct{ name, ref, reason string }{
		{"never healthy", unhealthy, "container health unhealthy"},
		{"crashes after start", crash, "exit code 3"},
	} {
		t.Run("bad release "+bad.name+" rolls back with no failed request", func(t *testing.T) {
			l := startLoad(t, 40*time.Millisecond)
			res, out, err := deployJSON(t, "--image", "api="+bad.ref)
			l.finish(t)
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Fatalf("deploy of a bad release: want exit 1, got %v\n%s", err, out)
			}
			if len(res) != 1 || res[0].Outcome != "rolled_back" || !strings.Contains(res[0].Reason, bad.reason) {
				t.Fatalf("result %+v, want rolled_back with a reason mentioning %q\n%s", res, bad.reason, out)
			}
			waitSettled(t, "app_api")
			if got := serviceImage(t, "app_api"); got != original {
				t.Errorf("after rollback the image is %s, want %s", got, original)
			}
		})
	}
}
