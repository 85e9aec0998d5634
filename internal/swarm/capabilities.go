package swarm

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Level grades a doctor check.
type Level string

// Check levels: only Blocker makes `berth doctor` and `berth up` fail.
const (
	OK      Level = "ok"
	Warn    Level = "warn"
	Blocker Level = "blocker"
	Info    Level = "info"
)

// Check is one row of `berth doctor`.
type Check struct {
	Name   string `json:"name"`
	Level  Level  `json:"level"`
	Found  string `json:"found"`
	Action string `json:"action"`
}

// Capabilities is what the engine and kernel support, and therefore how
// berth renders its stacks.
type Capabilities struct {
	EngineVersion string `json:"engine_version"`
	APIVersion    string `json:"api_version"`
	// IPVS is needed for Swarm's VIP load balancing and ingress mesh.
	IPVS bool `json:"ipvs"`
	// ESP is needed for encrypted overlay networks to really encrypt.
	ESP bool `json:"esp"`
	// StartInterval: health check start_interval (API 1.44+).
	StartInterval   bool    `json:"start_interval"`
	CgroupVersion   string  `json:"cgroup_version"`
	NoNewPrivileges bool    `json:"no_new_privileges_default"`
	Offline         bool    `json:"offline"`
	DockerGID       int     `json:"docker_gid"`
	Checks          []Check `json:"checks"`
}

// EndpointMode is the Swarm endpoint mode berth uses on this kernel.
func (c Capabilities) EndpointMode() string {
	if c.IPVS {
		return "vip"
	}
	return "dnsrr"
}

// Blockers returns the checks that stop a deploy.
func (c Capabilities) Blockers() []Check {
	var out []Check
	for _, ch := range c.Checks {
		if ch.Level == Blocker {
			out = append(out, ch)
		}
	}
	return out
}

// Host is what doctor reads from the machine the engine runs on. berth
// reads these files locally: it assumes the engine is local (unix socket),
// which is how `berth up` runs; the doctor says so for remote engines.
type Host struct {
	// Root is prepended to every path (tests point it at testdata).
	Root string
	// Dial checks a TCP address; nil means net.DialTimeout.
	Dial func(addr string, timeout time.Duration) error
	// Listen checks a local port can be bound; nil means net.Listen.
	Listen func(port int) error
}

func (h Host) path(p string) string { return h.Root + p }

func (h Host) exists(p string) bool {
	_, err := os.Stat(h.path(p))
	return err == nil
}

// kernelConfig returns the value of CONFIG_x from /proc/config.gz, or "".
func (h Host) kernelConfig(key string) string {
	f, err := os.Open(h.path("/proc/config.gz"))
	if err != nil {
		return ""
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return ""
	}
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+"="); ok {
			return v
		}
	}
	return ""
}

// HasIPVS reports whether the kernel has IPVS loaded or built in.
func (h Host) HasIPVS() bool {
	if h.exists("/proc/net/ip_vs") || h.exists("/sys/module/ip_vs") {
		return true
	}
	v := h.kernelConfig("CONFIG_IP_VS")
	return v == "y"
}

// HasESP reports whether the kernel can do IPsec ESP (encrypted overlays).
func (h Host) HasESP() bool {
	if h.exists("/sys/module/esp4") {
		return true
	}
	v := h.kernelConfig("CONFIG_INET_ESP")
	return v == "y" || v == "m"
}

// DaemonJSON reads /etc/docker/daemon.json (empty map when absent).
func (h Host) DaemonJSON() (map[string]any, error) {
	b, err := os.ReadFile(h.path("/etc/docker/daemon.json"))
	if errors.Is(err, os.ErrNotExist) {
		return map[string]any{}, nil
	}
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("/etc/docker/daemon.json: %w", err)
	}
	return m, nil
}

// SocketGID returns the group owning the engine's socket.
func (h Host) SocketGID() (int, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(h.path("/var/run/docker.sock"), &st); err != nil {
		return 0, fmt.Errorf("reading the Docker socket's group: %w", err)
	}
	return int(st.Gid), nil
}

// FreeBytes returns the free space of the file system holding dir.
func (h Host) FreeBytes(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(h.path(dir), &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

func (h Host) dial(addr string, timeout time.Duration) error {
	if h.Dial != nil {
		return h.Dial(addr, timeout)
	}
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	return c.Close()
}

func (h Host) listen(port int) error {
	if h.Listen != nil {
		return h.Listen(port)
	}
	l, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return err
	}
	return l.Close()
}

// APIAtLeast compares Docker API versions like "1.41" >= "1.44".
func APIAtLeast(have, want string) bool {
	hp := strings.SplitN(have, ".", 2)
	wp := strings.SplitN(want, ".", 2)
	if len(hp) != 2 || len(wp) != 2 {
		return false
	}
	hM, _ := strconv.Atoi(hp[0])
	hm, _ := strconv.Atoi(hp[1])
	wM, _ := strconv.Atoi(wp[0])
	wm, _ := strconv.Atoi(wp[1])
	return hM > wM || (hM == wM && hm >= wm)
}

// PortOwner says whether a port in use belongs to berth's own edge
// (so `berth up` run again is not blocked by itself).
type PortOwner func(port int) bool

// Inspect runs every doctor check against the engine and host.
func Inspect(ctx context.Context, e Engine, h Host, ports []int, ownPort PortOwner) Capabilities {
	var c Capabilities
	add := func(name string, lvl Level, found, action string) {
		c.Checks = append(c.Checks, Check{Name: name, Level: lvl, Found: found, Action: action})
	}
	v, err := e.ServerVersion(ctx)
	if err != nil {
		add("engine", Blocker, "not reachable: "+firstLine(err.Error()),
			"start the Docker engine (e.g. `sudo service docker start`) or set DOCKER_HOST")
		return c
	}
	c.EngineVersion, c.APIVersion = v.Version, v.APIVersion
	add("engine", OK, fmt.Sprintf("Docker %s, API %s (client %s)", v.Version, v.APIVersion, e.ClientVersion()),
		"use only features of API "+v.APIVersion)
	c.StartInterval = APIAtLeast(v.APIVersion, "1.44")
	if c.StartInterval {
		add("health start_interval", OK, "supported (API >= 1.44)", "fast first health probes during start_period")
	} else {
		add("health start_interval", Info, "not supported (needs API 1.44, engine 25)",
			"left out; the first probe comes one interval after start, so intervals are kept short")
	}

	st, info, err := CurrentState(ctx, e)
	switch {
	case err != nil:
		add("swarm", Blocker, err.Error(), "check the engine")
	case st.CheckUsable() != nil:
		add("swarm", Blocker, fmt.Sprintf("%s, worker", st.LocalNodeState), st.CheckUsable().Error())
	case st.LocalNodeState == "active":
		add("swarm", OK, fmt.Sprintf("active, manager (%d nodes, %d managers)", st.Nodes, st.Managers), "deploy here")
	default:
		add("swarm", Info, "inactive", "`berth up` will run `docker swarm init` (single node)")
	}
	c.CgroupVersion = info.CgroupVersion
	if c.CgroupVersion != "" {
		add("cgroups", OK, "v"+c.CgroupVersion+" ("+info.CgroupDriver+")", "resource limits enforced by the kernel")
	}

	c.IPVS = h.HasIPVS()
	if c.IPVS {
		add("IPVS", OK, "available", "services use VIP endpoints")
	} else {
		add("IPVS", Warn, "missing (VIP and the ingress routing mesh hang)",
			"services use endpoint_mode dnsrr; Traefik publishes in host mode and routes to task IPs")
	}
	c.ESP = h.HasESP()
	if c.ESP {
		add("ESP (IPsec)", OK, "available", "overlay networks are created encrypted")
	} else {
		add("ESP (IPsec)", Warn, "missing: an `encrypted` overlay would not encrypt",
			"overlays are created unencrypted; on multi-host production use a kernel with ESP")
	}

	dj, err := h.DaemonJSON()
	if err != nil {
		add("daemon.json", Warn, err.Error(), "fix the file; dockerd will not start with it")
	} else {
		nnp, _ := dj["no-new-privileges"].(bool)
		c.NoNewPrivileges = nnp
		if nnp {
			add("no-new-privileges", OK, "daemon default on", "every container runs with no-new-privileges")
		} else {
			add("no-new-privileges", Warn, "not the daemon default",
				"Swarm services cannot set it per service before API 1.46: set \"no-new-privileges\": true in /etc/docker/daemon.json (see docs/hardening.md)")
		}
		if lr, _ := dj["live-restore"].(bool); lr {
			add("live-restore", Blocker, "enabled", "live-restore cannot be combined with swarm mode: remove it from daemon.json")
		}
	}

	if gid, err := h.SocketGID(); err == nil {
		c.DockerGID = gid
		add("socket group", OK, fmt.Sprintf("gid %d", gid), "the socket proxy runs as nobody in this group")
	} else {
		add("socket group", Warn, err.Error(), "the socket proxy needs the socket's group; is the engine remote?")
	}

	root := info.DockerRootDir
	if root == "" {
		root = "/var/lib/docker"
	}
	if free, err := h.FreeBytes(root); err == nil {
		gb := float64(free) / (1 << 30)
		switch {
		case gb < 3:
			add("disk", Blocker, fmt.Sprintf("%.1f GiB free in %s", gb, root), "free space: image builds need about 3 GiB")
		case gb < 10:
			add("disk", Warn, fmt.Sprintf("%.1f GiB free in %s", gb, root), "enough to start; logs and volumes grow")
		default:
			add("disk", OK, fmt.Sprintf("%.0f GiB free in %s", gb, root), "")
		}
	}

	for _, p := range ports {
		if err := h.listen(p); err == nil {
			add(fmt.Sprintf("port %d", p), OK, "free", "Traefik publishes it in host mode")
		} else if ownPort != nil && ownPort(p) {
			add(fmt.Sprintf("port %d", p), OK, "in use by berth's edge", "")
		} else {
			add(fmt.Sprintf("port %d", p), Blocker, "in use by another process",
				fmt.Sprintf("stop what listens on %d (e.g. `ss -ltnp 'sport = :%d'`) or choose other ports with --http-port/--https-port", p, p))
		}
	}

	if err := h.dial("registry-1.docker.io:443", 3*time.Second); err != nil {
		c.Offline = true
		add("registry", Info, "unreachable ("+firstLine(err.Error())+")",
			"offline mode: images are built locally (see `berth images`)")
	} else {
		add("registry", OK, "registry-1.docker.io reachable", "official images are pulled")
	}
	return c
}

// RegistryUnreachable reports whether Docker Hub's registry does not
// answer within a few seconds (offline mode).
func (h Host) RegistryUnreachable() bool {
	return h.dial("registry-1.docker.io:443", 3*time.Second) != nil
}

// PrintChecks writes the doctor table.
func PrintChecks(w io.Writer, checks []Check) {
	t := newTable(w)
	t.row("CHECK", "STATUS", "FOUND", "WHAT BERTH DOES")
	for _, c := range checks {
		t.row(c.Name, string(c.Level), c.Found, c.Action)
	}
	t.flush()
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
