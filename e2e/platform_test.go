//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// client returns an HTTPS client that trusts berth's local CA and sends
// every *.localhost name to 127.0.0.1 (as a browser on this machine does).
func client(t *testing.T, keepAlive bool) *http.Client {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join(env.stateDir, "ca.crt"))
	if err != nil {
		t.Fatalf("berth up left no CA certificate: %v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca) {
		t.Fatal("ca.crt does not parse")
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 15 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
			DisableKeepAlives: !keepAlive,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				_, port, _ := net.SplitHostPort(addr)
				return dialer.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func get(t *testing.T, c *http.Client, url string, auth ...string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if len(auth) == 2 {
		req.SetBasicAuth(auth[0], auth[1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

func TestUpOutput(t *testing.T) {
	requireUp(t)
	for _, want := range []string{"https://shop.localhost/", "https://traefik.localhost/dashboard/", "ca.crt"} {
		if !strings.Contains(env.upOutput, want) {
			t.Errorf("berth up output does not mention %q:\n%s", want, env.upOutput)
		}
	}
	out, err := berth(context.Background(), "status", "--output", "json")
	if err != nil {
		t.Fatalf("berth status: %v\n%s", err, out)
	}
	var sts []struct {
		Name             string
		Desired, Running int
		Health, Version  string
	}
	if err := json.Unmarshal([]byte(out), &sts); err != nil {
		t.Fatalf("status json: %v\n%s", err, out)
	}
	if len(sts) != 6 {
		t.Fatalf("status lists %d services, want 6: %s", len(sts), out)
	}
	for _, s := range sts {
		if s.Running != s.Desired || s.Desired == 0 || s.Health != "healthy" || s.Version == "" {
			t.Errorf("service %+v not fully running and healthy", s)
		}
	}
}

// TestShopThroughTraefik: HTTPS through the real Traefik reaches web, which
// calls api, which reads Postgres; an order created through the API is
// processed by the worker.
func TestShopThroughTraefik(t *testing.T) {
	requireUp(t)
	c := client(t, true)

	body := bytes.NewBufferString(`{"item":"e2e-anchor","quantity":3}`)
	resp, err := c.Post("https://shop.localhost/api/orders", "application/json", body)
	if err != nil {
		t.Fatalf("POST /api/orders: %v", err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/orders: %d %s", resp.StatusCode, raw)
	}
	var order struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(raw, &order); err != nil || order.ID == 0 {
		t.Fatalf("order response %s: %v", raw, err)
	}

	eventually(t, 30*time.Second, "the worker processes the order", func() error {
		code, _, b := get(t, c, fmt.Sprintf("https://shop.localhost/api/orders/%d", order.ID))
		if code != http.StatusOK {
			return fmt.Errorf("GET order: %d %s", code, b)
		}
		var o struct{ Status string }
		_ = json.Unmarshal([]byte(b), &o)
		if o.Status != "processed" {
			return fmt.Errorf("status %q", o.Status)
		}
		return nil
	})

	code, hdr, page := get(t, c, "https://shop.localhost/")
	if code != http.StatusOK || !strings.Contains(page, "e2e-anchor") {
		t.Fatalf("GET / through Traefik: %d, page lacks the order created through the API:\n%.500s", code, page)
	}
	if hdr.Get("X-Berth-Version") == "" {
		t.Error("responses carry no X-Berth-Version header")
	}
}

func TestHTTPRedirectsToHTTPS(t *testing.T) {
	requireUp(t)
	c := client(t, false)
	for _, url := range []string{"http://shop.localhost/", "http://shop.localhost/api/orders?limit=1"} {
		code, hdr, _ := get(t, c, url)
		if code != http.StatusMovedPermanently && code != http.StatusPermanentRedirect {
			t.Errorf("%s: %d, want a permanent redirect", url, code)
		}
		if loc := hdr.Get("Location"); !strings.HasPrefix(loc, "https://shop.localhost/") {
			t.Errorf("%s: Location %q, want https://shop.localhost/...", url, loc)
		}
	}
}

func TestDashboardBehindAuth(t *testing.T) {
	requireUp(t)
	c := client(t, false)
	pw, err := os.ReadFile(filepath.Join(env.stateDir, "dashboard-password"))
	if err != nil {
		t.Fatalf("dashboard password file: %v", err)
	}
	password := strings.TrimSpace(string(pw))
	for _, path := range []string{"/dashboard/", "/api/overview"} {
		url := "https://traefik.localhost" + path
		if code, _, _ := get(t, c, url); code != http.StatusUnauthorized {
			t.Errorf("%s without credentials: %d, want 401", url, code)
		}
		if code, _, _ := get(t, c, url, "admin", "wrong-password"); code != http.StatusUnauthorized {
			t.Errorf("%s with a wrong password: %d, want 401", url, code)
		}
	}
	code, _, body := get(t, c, "https://traefik.localhost/api/overview", "admin", password)
	if code != http.StatusOK || !strings.Contains(body, "routers") {
		t.Fatalf("/api/overview with credentials: %d %.300s", code, body)
	}
	if code, _, page := get(t, c, "https://traefik.localhost/dashboard/", "admin", password); code != http.StatusOK || !strings.Contains(page, "Traefik dashboard") {
		t.Errorf("/dashboard/ with credentials: %d, want 200 and the dashboard page", code)
	}
}

// TestContainersHardened checks every platform container both as Docker
// reports it and as the kernel sees its main process.
func TestContainersHardened(t *testing.T) {
	requireUp(t)
	for _, id := range platformContainers(t) {
		var c []struct {
			Name       string
			Config     struct{ User string }
			State      struct{ Pid int }
			HostConfig struct {
				ReadonlyRootfs  bool
				CapAdd, CapDrop []string
				Privileged      bool
			}
		}
		if err := json.Unmarshal([]byte(docker(t, "inspect", id)), &c); err != nil || len(c) != 1 {
			t.Fatalf("inspect %s: %v", id, err)
		}
		x := c[0]
		if x.Config.User == "" || x.Config.User == "root" || strings.HasPrefix(x.Config.User, "0:") || x.Config.User == "0" {
			t.Errorf("%s: user %q", x.Name, x.Config.User)
		}
		if !x.HostConfig.ReadonlyRootfs {
			t.Errorf("%s: root file system is writable", x.Name)
		}
		if x.HostConfig.Privileged || len(x.HostConfig.CapAdd) != 0 {
			t.Errorf("%s: privileged=%v cap_add=%v", x.Name, x.HostConfig.Privileged, x.HostConfig.CapAdd)
		}
		if len(x.HostConfig.CapDrop) != 1 || x.HostConfig.CapDrop[0] != "ALL" {
			t.Errorf("%s: cap_drop %v, want [ALL]", x.Name, x.HostConfig.CapDrop)
		}
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", x.State.Pid))
		if err != nil {
			t.Fatalf("%s: reading its process status: %v", x.Name, err)
		}
		fields := map[string]string{}
		for _, l := range strings.Split(string(status), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok {
				fields[k] = strings.TrimSpace(v)
			}
		}
		if fields["NoNewPrivs"] != "1" {
			t.Errorf("%s: NoNewPrivs=%q, want 1", x.Name, fields["NoNewPrivs"])
		}
		if uid := strings.Fields(fields["Uid"]); len(uid) == 0 || uid[0] == "0" {
			t.Errorf("%s: process runs as uid %v", x.Name, uid)
		}
		if fields["CapEff"] != "0000000000000000" || fields["CapPrm"] != "0000000000000000" {
			t.Errorf("%s: effective capabilities %s, permitted %s, want none", x.Name, fields["CapEff"], fields["CapPrm"])
		}
	}
}

// job runs a one-shot Swarm job on the given networks with the platform's
// Postgres image (it has bash and pg_isready) and returns its output and
// whether it exited 0.
func job(t *testing.T, networks []string, script string) (string, bool) {
	t.Helper()
	image := docker(t, "service", "inspect", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}", "data_postgres")
	name := fmt.Sprintf("berth-e2e-job-%d", time.Now().UnixNano())
	args := []string{"service", "create", "--detach", "--quiet", "--name", name, "--mode", "replicated-job",
		"--restart-condition", "none", "--user", "999:999", "--label", "org.berth.e2e=true"}
	for _, n := range networks {
		args = append(args, "--network", n)
	}
	args = append(args, "--entrypoint", "bash", image, "-c", script)
	docker(t, args...)
	defer docker(t, "service", "rm", name)
	var state string
	eventually(t, 90*time.Second, "job "+name+" finishes", func() error {
		state = docker(t, "service", "ps", "--format", "{{.CurrentState}}", name)
		if strings.HasPrefix(state, "Complete") || strings.HasPrefix(state, "Failed") {
			return nil
		}
		return fmt.Errorf("state %q", state)
	})
	cid := docker(t, "ps", "-aq", "--filter", "label=com.docker.swarm.service.name="+name)
	out, _ := execOutput("docker", "logs", strings.Fields(cid)[0])
	return out, strings.HasPrefix(state, "Complete")
}

func execOutput(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	err := cmd.Run()
	return b.String(), err
}

// TestDatabaseNotOnEdge: from the edge network the database's name does not
// resolve and its address does not answer; from the data network both do
// (the control that shows the probe can succeed).
func TestDatabaseNotOnEdge(t *testing.T) {
	requireUp(t)
	var nets []struct {
		Containers map[string]struct{ Name, IPv4Address string }
	}
	if err := json.Unmarshal([]byte(docker(t, "network", "inspect", "berth_data")), &nets); err != nil {
		t.Fatal(err)
	}
	pgIP := ""
	// Containers lists only local endpoints; postgres runs on this node.
	for _, c := range nets[0].Containers {
		if strings.HasPrefix(c.Name, "data_postgres.") {
			pgIP = strings.Split(c.IPv4Address, "/")[0]
		}
	}
	if pgIP == "" {
		t.Fatal("no postgres endpoint on berth_data")
	}
	probe := `getent hosts postgres && echo RESOLVED; pg_isready -t 5 -h ` + pgIP + ` -p 5432 && echo REACHED; true`
	edgeOut, _ := job(t, []string{"berth_edge"}, probe)
	if strings.Contains(edgeOut, "RESOLVED") || strings.Contains(edgeOut, "REACHED") {
		t.Fatalf("the database is reachable from the edge network:\n%s", edgeOut)
	}
	dataOut, _ := job(t, []string{"berth_data"}, probe)
	if !strings.Contains(dataOut, "RESOLVED") || !strings.Contains(dataOut, "REACHED") {
		t.Fatalf("control failed: the probe cannot reach the database even from the data network:\n%s", dataOut)
	}
}

// TestSecretNeverLeaks: the database password (a random canary) is readable
// in /run/secrets and appears nowhere else: service and container inspect
// (including environments), logs, images, or /metrics.
func TestSecretNeverLeaks(t *testing.T) {
	requireUp(t)
	pg := lines(docker(t, "ps", "-q", "--filter", "label=com.docker.swarm.service.name=data_postgres"))
	if len(pg) != 1 {
		t.Fatalf("want one postgres container, got %v", pg)
	}
	if got := docker(t, "exec", pg[0], "cat", "/run/secrets/db_password"); got != env.canary {
		t.Fatal("the database password is not readable in /run/secrets/db_password")
	}
	surfaces := map[string]string{}
	for _, svc := range lines(docker(t, "service", "ls", "-q")) {
		surfaces["service inspect "+svc] = docker(t, "service", "inspect", svc)
	}
	for _, id := range platformContainers(t) {
		surfaces["container inspect "+id[:12]] = docker(t, "inspect", id)
		logs, _ := execOutput("docker", "logs", id)
		surfaces["logs "+id[:12]] = logs
	}
	for _, img := range lines(docker(t, "image", "ls", "-q", "--no-trunc")) {
		surfaces["image inspect "+img] = docker(t, "image", "inspect", img)
		surfaces["image history "+img] = docker(t, "history", "--no-trunc", img)
	}
	// /metrics of every service, fetched from inside the networks.
	metrics, ok := job(t, []string{"berth_app", "berth_data"}, `for h in api web worker; do
	  exec 3<>/dev/tcp/$h/8080 && printf 'GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n' >&3 && cat <&3; exec 3>&-
	done`)
	if !ok || strings.Count(metrics, "http_requests_total") < 2 || !strings.Contains(metrics, "worker_orders_processed_total") {
		t.Fatalf("could not read /metrics of api, web and worker (the check would prove nothing):\n%.2000s", metrics)
	}
	surfaces["/metrics"] = metrics
	if len(surfaces) < 20 {
		t.Fatalf("only %d surfaces searched", len(surfaces))
	}
	for where, text := range surfaces {
		if strings.Contains(text, env.canary) {
			t.Errorf("the database password appears in %s", where)
		}
	}
}

// TestUpTwiceIsNoOp: a second berth up changes nothing: same tasks, same
// containers, same service versions.
func TestUpTwiceIsNoOp(t *testing.T) {
	requireUp(t)
	snapshot := func() string {
		svcs := docker(t, "service", "ls", "-q")
		var b strings.Builder
		for _, s := range lines(svcs) {
			b.WriteString(docker(t, "service", "inspect", "--format", "{{.Spec.Name}} v{{.Version.Index}}", s) + "\n")
		}
		b.WriteString(docker(t, "ps", "-q", "--no-trunc"))
		return b.String()
	}
	before := snapshot()
	start := time.Now()
	out, err := berth(context.Background(), "up")
	if err != nil {
		t.Fatalf("second berth up: %v\n%s", err, out)
	}
	t.Logf("second berth up took %s", time.Since(start).Round(100*time.Millisecond))
	for _, stack := range []string{"edge", "data", "app"} {
		if !strings.Contains(out, stack+": unchanged") {
			t.Errorf("second up did not report stack %s unchanged:\n%s", stack, out)
		}
	}
	for _, l := range lines(out) {
		f := strings.Fields(l)
		built := strings.HasPrefix(l, "[") && len(f) > 2 && f[2] != "cached" && f[2] != "present"
		if built || strings.HasPrefix(l, "created ") || strings.HasPrefix(l, "initialised") {
			t.Errorf("second up changed something: %q", l)
		}
	}
	if after := snapshot(); after != before {
		t.Errorf("second up changed services or containers:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestPortTakenChangesNothing: a port in use stops up before any change.
func TestPortTakenChangesNothing(t *testing.T) {
	requireUp(t)
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	before := docker(t, "network", "ls", "-q") + docker(t, "secret", "ls", "-q") + docker(t, "service", "ls", "-q")
	out, err := berth(context.Background(), "up", "--http-port", strconv.Itoa(port), "--https-port", "443")
	if err == nil || !strings.Contains(out, fmt.Sprintf("port %d", port)) || !strings.Contains(out, "nothing was changed") {
		t.Fatalf("berth up with port %d taken: err=%v\n%s", port, err, out)
	}
	after := docker(t, "network", "ls", "-q") + docker(t, "secret", "ls", "-q") + docker(t, "service", "ls", "-q")
	if before != after {
		t.Fatal("berth up changed networks, secrets or services although a port was taken")
	}
}

// TestZDownLeavesNothing runs last (Go runs tests in file order; Z keeps
// the intent visible): down removes stacks and networks, keeps volumes and
// secrets; down --volumes --secrets removes those too.
func TestZDownLeavesNothing(t *testing.T) {
	requireUp(t)
	if *keep {
		t.Skip("-keep")
	}
	out, err := berth(context.Background(), "down")
	if err != nil {
		t.Fatalf("berth down: %v\n%s", err, out)
	}
	if s := docker(t, "service", "ls", "--filter", "label=com.docker.stack.namespace", "-q"); s != "" {
		t.Errorf("services left after down: %s", s)
	}
	for _, n := range lines(docker(t, "network", "ls", "--format", "{{.Name}}")) {
		if strings.HasPrefix(n, "berth_") || strings.HasPrefix(n, "edge_") || strings.HasPrefix(n, "data_") || strings.HasPrefix(n, "app_") {
			t.Errorf("network %s left after down", n)
		}
	}
	if v := docker(t, "volume", "ls", "-q", "--filter", "name=data_pgdata"); v == "" {
		t.Error("down removed the database volume without --volumes")
	}
	if s := docker(t, "secret", "ls", "-q", "--filter", "name=berth_db_password"); s == "" {
		t.Error("down removed the secrets without --secrets")
	}
	out, err = berth(context.Background(), "down", "--volumes", "--secrets")
	if err != nil {
		t.Fatalf("berth down --volumes --secrets: %v\n%s", err, out)
	}
	if v := docker(t, "volume", "ls", "-q", "--filter", "name=data_pgdata"); v != "" {
		t.Errorf("volume left after down --volumes: %s", v)
	}
	if s := docker(t, "secret", "ls", "-q", "--filter", "name=berth_"); s != "" {
		t.Errorf("secrets left after down --secrets: %s", s)
	}
}
