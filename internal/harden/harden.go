// Package harden writes the production defaults berth audit asks for into a
// compose or stack file: health checks (a marked placeholder where the
// image's probe is unknown), resources, update/rollback and restart
// policies, spread, capability and filesystem hardening, log rotation,
// Docker secrets instead of literal environment values, encrypted overlays,
// and Traefik labels from a short x-berth block.
//
// It edits YAML nodes (gopkg.in/yaml.v3) so comments and key order survive;
// it only adds, never removes or changes what the user wrote (the one
// exception, literal secrets moved to Docker secrets, is reported). Running
// it twice gives the same file as running it once. harden is pure: bytes in,
// bytes out; it must not import internal/cli, internal/audit or touch the
// Docker engine.
package harden

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/berth-platform/berth/internal/compose"
)

// Options tune hardening.
type Options struct {
	// Stack names the stack, to name secrets as docker stack deploy does
	// (<stack>_<name>); empty leaves secret names unprefixed.
	Stack string
}

// Change is one thing harden did, or one it left for a human.
type Change struct {
	Service string `json:"service,omitempty"`
	Path    string `json:"path"`
	What    string `json:"what"`
}

// Result is the hardened file and what happened.
type Result struct {
	Output []byte
	// Added lists the defaults written.
	Added []Change
	// Human lists what harden would not decide: placeholders to replace,
	// settings it will not override, commands to run.
	Human []Change
	// Commands are shell commands to run before deploying (secrets).
	Commands []string
}

// PlaceholderMarker marks health checks harden invented.
const PlaceholderMarker = "berth harden: PLACEHOLDER"

var (
	secretNameRe    = regexp.MustCompile(`(?i)(pass(word|wd|phrase)?|secret|token|api_?key|access_?key|private_?key|credential|signing_?key|client_?secret)`)
	notSecretNameRe = regexp.MustCompile(`(?i)(_FILE$|_PATH$|_DIR$|_URL$|_HOST$|_PORT$|_USER(NAME)?$|_ENABLED?$|_TTL$|_TIMEOUT$|_LENGTH$|_TYPE$|_NAME$|_MODE$)`)
	placeholderRe   = regexp.MustCompile(`(?i)^(changeme|example|placeholder|true|false|yes|no|none|null|on|off)$`)
	statefulRe      = regexp.MustCompile(`(?i)(^|/)(postgres|postgis|timescaledb|mysql|mariadb|mongo|redis|valkey|elasticsearch|opensearch|rabbitmq|kafka|zookeeper|etcd|consul|minio|influxdb|clickhouse|cassandra|registry|prometheus|loki|grafana)([:@/-]|$)`)
	memRe           = regexp.MustCompile(`^(?i)(\d+(?:\.\d+)?)\s*([kmg]?)b?$`)
)

type hardener struct {
	o      Options
	sf     *compose.SourceFile
	root   *yaml.Node
	res    *Result
	secret map[string]bool
}

// Harden returns src with missing production defaults added.
func Harden(name string, src []byte, o Options) (*Result, error) {
	sf, err := compose.ParseSource(name, src)
	if err != nil {
		return nil, err
	}
	if len(sf.Docs) != 1 || len(sf.Docs[0].Content) == 0 {
		return nil, &compose.LoadError{File: name, Line: 1, Err: errors.New("harden works on a file with exactly one YAML document")}
	}
	root := sf.Docs[0].Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &compose.LoadError{File: name, Line: root.Line, Err: errors.New("top-level value must be a mapping")}
	}
	h := &hardener{o: o, sf: sf, root: root, res: &Result{}, secret: map[string]bool{}}
	services := mapGet(root, "services")
	if services == nil || services.Kind != yaml.MappingNode {
		return nil, &compose.LoadError{File: name, Line: root.Line, Field: "services", Err: errors.New("no services: mapping to harden")}
	}
	for i := 0; i+1 < len(services.Content); i += 2 {
		svc := services.Content[i+1]
		if svc.Kind != yaml.MappingNode {
			continue
		}
		h.service(services.Content[i].Value, svc)
	}
	h.networks()
	plainMerges(sf.Docs[0])
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(sf.Docs[0]); err != nil {
		return nil, err
	}
	h.res.Output = buf.Bytes()
	sort.Strings(h.res.Commands)
	return h.res, nil
}

func (h *hardener) added(svc string, p compose.Path, what string) {
	h.res.Added = append(h.res.Added, Change{Service: svc, Path: p.String(), What: what})
}

func (h *hardener) human(svc string, p compose.Path, what string) {
	h.res.Human = append(h.res.Human, Change{Service: svc, Path: p.String(), What: what})
}

// has says whether path exists, merge keys and anchors included.
func (h *hardener) has(p compose.Path) bool {
	_, ok := h.sf.Lookup(p)
	return ok
}

func (h *hardener) value(p compose.Path) *yaml.Node {
	e, ok := h.sf.Lookup(p)
	if !ok {
		return nil
	}
	n := e.Value
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func mapGet(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalar(v string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Value: v, Tag: "!!str"}
	if _, err := strconv.ParseFloat(v, 64); err == nil || v == "true" || v == "false" {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

func intNode(v int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Value: strconv.Itoa(v), Tag: "!!int"}
}

func boolNode(v bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Value: strconv.FormatBool(v), Tag: "!!bool"}
}

func mapping(kv ...any) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: kv[i].(string), Tag: "!!str"}, toNode(kv[i+1]))
	}
	return m
}

func seq(items ...any) *yaml.Node {
	s := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for _, it := range items {
		s.Content = append(s.Content, toNode(it))
	}
	return s
}

func toNode(v any) *yaml.Node {
	switch x := v.(type) {
	case *yaml.Node:
		return x
	case string:
		return scalar(x)
	case int:
		return intNode(x)
	case bool:
		return boolNode(x)
	}
	panic(fmt.Sprintf("harden: unsupported value %T", v))
}

// ensureMap returns the mapping at key under m, creating it when absent.
// ok is false when the key exists but is not a plain mapping of this file
// (an alias or merge): harden then leaves it to a human.
func ensureMap(m *yaml.Node, key string) (*yaml.Node, bool, bool) {
	if v := mapGet(m, key); v != nil {
		return v, v.Kind == yaml.MappingNode, false
	}
	if hasMerge(m) {
		return nil, false, false
	}
	v := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key, Tag: "!!str"}, v)
	return v, true, true
}

func hasMerge(m *yaml.Node) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "<<" {
			return true
		}
	}
	return false
}

// set adds key: v to m when the key is absent (merged keys count as set).
func (h *hardener) set(svc string, m *yaml.Node, p compose.Path, key string, v any) bool {
	if m == nil || mapGet(m, key) != nil || h.has(p.Append(key)) {
		return false
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key, Tag: "!!str"}, toNode(v))
	h.added(svc, p.Append(key), "")
	return true
}

func (h *hardener) str(p compose.Path) string {
	if n := h.value(p); n != nil && n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}

func (h *hardener) stateful(name string, svc *yaml.Node) bool {
	sp := compose.P("services", name)
	if n := h.value(sp.Append("x-berth", "stateful")); n != nil {
		return n.Value == "true"
	}
	if statefulRe.MatchString(h.str(sp.Append("image"))) {
		return true
	}
	if vols := h.value(sp.Append("volumes")); vols != nil {
		for _, v := range vols.Content {
			src := v.Value
			if v.Kind == yaml.MappingNode {
				src = mapGet(v, "source").Value
				if t := mapGet(v, "type"); t != nil && t.Value != "volume" {
					continue
				}
			} else {
				src, _, _ = strings.Cut(src, ":")
			}
			if src != "" && !strings.HasPrefix(src, "/") && !strings.HasPrefix(src, ".") && !strings.HasPrefix(src, "~") && !strings.HasPrefix(src, "$") {
				return true
			}
		}
	}
	return false
}

func (h *hardener) service(name string, svc *yaml.Node) {
	sp := compose.P("services", name)
	stateful := h.stateful(name, svc)
	global := h.str(sp.Append("deploy", "mode")) == "global"

	// Health check.
	if !h.has(sp.Append("healthcheck")) {
		hc := mapping(
			"test", seq("CMD-SHELL", "echo berth-placeholder-probe; exit 0"),
			"interval", "10s", "timeout", "3s", "retries", 3, "start_period", "30s")
		hc.HeadComment = PlaceholderMarker + ": replace test with a real probe of this service"
		h.set(name, svc, sp, "healthcheck", hc)
		h.human(name, sp.Append("healthcheck", "test"), "placeholder health check: replace it with a real probe (HTTP /healthz, pg_isready, redis-cli ping...)")
	} else if hc := mapGet(svc, "healthcheck"); hc != nil && hc.Kind == yaml.MappingNode && mapGet(hc, "disable") == nil {
		hp := sp.Append("healthcheck")
		// Docker's defaults (interval 30s, timeout 30s) overlap probes.
		h.set(name, hc, hp, "interval", "10s")
		h.set(name, hc, hp, "timeout", "3s")
		h.set(name, hc, hp, "retries", 3)
		h.set(name, hc, hp, "start_period", "30s")
	}

	// Runtime hardening that does not change what the process can do in
	// ways harden cannot know: capabilities and a read-only root with /tmp.
	if !h.has(sp.Append("cap_drop")) {
		h.set(name, svc, sp, "cap_drop", seq("ALL"))
		if !h.has(sp.Append("cap_add")) && h.publishesLowPort(sp) {
			h.set(name, svc, sp, "cap_add", seq("NET_BIND_SERVICE"))
		}
	}
	if h.set(name, svc, sp, "read_only", true) && !h.has(sp.Append("tmpfs")) {
		h.set(name, svc, sp, "tmpfs", seq("/tmp"))
		h.human(name, sp.Append("read_only"), "root filesystem made read-only with a /tmp tmpfs: mount a tmpfs or volume wherever else the service writes")
	}
	if u := h.str(sp.Append("user")); u == "" || u == "root" || u == "0" || strings.HasPrefix(u, "0:") || strings.HasPrefix(u, "root:") {
		h.human(name, sp.Append("user"), "set a non-root user the image supports (user: \"10001:10001\", or USER in its Dockerfile)")
	}

	// Log rotation.
	if !h.has(sp.Append("logging")) {
		h.set(name, svc, sp, "logging", mapping("driver", "json-file", "options", mapping("max-size", "10m", "max-file", "3")))
	} else if lg := mapGet(svc, "logging"); lg != nil && lg.Kind == yaml.MappingNode {
		if d := h.str(sp.Append("logging", "driver")); d == "" || d == "json-file" {
			if opts, ok, _ := ensureMap(lg, "options"); ok {
				h.set(name, opts, sp.Append("logging", "options"), "max-size", "10m")
				h.set(name, opts, sp.Append("logging", "options"), "max-file", "3")
			}
		}
	}

	h.secrets(name, svc, sp)

	deploy, ok, _ := ensureMap(svc, "deploy")
	if !ok {
		h.human(name, sp.Append("deploy"), "deploy comes from an anchor or merge key: add the production defaults there")
		return
	}
	dp := sp.Append("deploy")
	replicas := 1
	if r, err := strconv.Atoi(h.str(dp.Append("replicas"))); err == nil {
		replicas = r
	} else if !stateful && !global && h.set(name, deploy, dp, "replicas", 2) {
		replicas = 2
	}

	if res, ok, _ := ensureMap(deploy, "resources"); ok {
		rp := dp.Append("resources")
		if lim, ok, _ := ensureMap(res, "limits"); ok {
			h.set(name, lim, rp.Append("limits"), "cpus", "0.50")
			h.set(name, lim, rp.Append("limits"), "memory", "256M")
			h.set(name, lim, rp.Append("limits"), "pids", 256)
		}
		if rsv, ok, _ := ensureMap(res, "reservations"); ok {
			h.set(name, rsv, rp.Append("reservations"), "cpus", minCPU("0.10", h.str(rp.Append("limits", "cpus"))))
			h.set(name, rsv, rp.Append("reservations"), "memory", minMem("128M", h.str(rp.Append("limits", "memory"))))
		}
		h.human(name, rp, "resource defaults are a starting point: size limits and reservations from the service's measured usage")
	}

	order := "start-first"
	if stateful || global || h.hostPorts(sp) {
		order = "stop-first"
	}
	userFA := h.str(dp.Append("update_config", "failure_action"))
	if uc, ok, _ := ensureMap(deploy, "update_config"); ok {
		up := dp.Append("update_config")
		h.set(name, uc, up, "parallelism", 1)
		h.set(name, uc, up, "delay", "10s")
		h.set(name, uc, up, "order", order)
		h.set(name, uc, up, "failure_action", "rollback")
		h.set(name, uc, up, "monitor", "30s")
		if userFA != "" && userFA != "rollback" {
			h.human(name, up.Append("failure_action"), "failure_action is "+userFA+": berth recommends rollback but does not override it")
		}
	}
	if rc, ok, _ := ensureMap(deploy, "rollback_config"); ok {
		rp := dp.Append("rollback_config")
		h.set(name, rc, rp, "parallelism", 1)
		h.set(name, rc, rp, "order", "stop-first")
		h.set(name, rc, rp, "failure_action", "pause")
		h.set(name, rc, rp, "monitor", "30s")
	}
	if rp, ok, _ := ensureMap(deploy, "restart_policy"); ok {
		pp := dp.Append("restart_policy")
		h.set(name, rp, pp, "condition", "on-failure")
		h.set(name, rp, pp, "delay", "5s")
		h.set(name, rp, pp, "max_attempts", 5)
		h.set(name, rp, pp, "window", "2m")
	}
	if replicas >= 2 && !global && !h.has(dp.Append("placement", "max_replicas_per_node")) && !h.has(dp.Append("placement", "preferences")) {
		if pl, ok, _ := ensureMap(deploy, "placement"); ok {
			h.set(name, pl, dp.Append("placement"), "preferences", seq(mapping("spread", "node.labels.zone")))
		}
	}
	if stateful && !global && !h.has(dp.Append("placement", "constraints")) {
		h.human(name, dp.Append("placement", "constraints"), "stateful service: pin it to the node holding its volume (node.labels.<tier> == true)")
	}
	h.traefik(name, svc, sp, deploy)
	if len(deploy.Content) == 0 {
		// Nothing was needed: do not leave an empty deploy: behind.
		removeKey(svc, "deploy")
	}
}

func removeKey(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}

func (h *hardener) ports(sp compose.Path) []*yaml.Node {
	if n := h.value(sp.Append("ports")); n != nil && n.Kind == yaml.SequenceNode {
		return n.Content
	}
	return nil
}

func (h *hardener) publishesLowPort(sp compose.Path) bool {
	for _, p := range h.ports(sp) {
		t := p.Value
		if p.Kind == yaml.MappingNode {
			if tn := mapGet(p, "target"); tn != nil {
				t = tn.Value
			}
		} else if i := strings.LastIndex(t, ":"); i >= 0 {
			t = t[i+1:]
		}
		t, _, _ = strings.Cut(t, "/")
		if n, err := strconv.Atoi(t); err == nil && n < 1024 {
			return true
		}
	}
	return false
}

func (h *hardener) hostPorts(sp compose.Path) bool {
	for _, p := range h.ports(sp) {
		if p.Kind == yaml.MappingNode {
			if m := mapGet(p, "mode"); m != nil && m.Value == "host" {
				return true
			}
		}
	}
	return false
}

func minMem(def, limit string) string {
	d, l := memBytes(def), memBytes(limit)
	if l > 0 && l < d {
		return limit
	}
	return def
}

func memBytes(s string) float64 {
	m := memRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	switch strings.ToLower(m[2]) {
	case "k":
		v *= 1 << 10
	case "m":
		v *= 1 << 20
	case "g":
		v *= 1 << 30
	}
	return v
}

func minCPU(def, limit string) string {
	d, _ := strconv.ParseFloat(def, 64)
	if l, err := strconv.ParseFloat(limit, 64); err == nil && l > 0 && l < d {
		return limit
	}
	return def
}

func secretName(k string) bool { return secretNameRe.MatchString(k) && !notSecretNameRe.MatchString(k) }

// secrets moves literal secret values out of environment: KEY becomes
// KEY_FILE pointing at a Docker secret, and the command to create the
// secret is reported (the value itself is never printed).
func (h *hardener) secrets(name string, svc *yaml.Node, sp compose.Path) {
	env := mapGet(svc, "environment")
	if env == nil || env.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(env.Content); i += 2 {
		k, v := env.Content[i], env.Content[i+1]
		if v.Kind != yaml.ScalarNode || !secretName(k.Value) || v.Value == "" || strings.Contains(v.Value, "$") || placeholderRe.MatchString(v.Value) || strings.HasPrefix(v.Value, "/") {
			continue
		}
		if mapGet(env, k.Value+"_FILE") != nil {
			continue
		}
		secret := strings.ToLower(name + "_" + k.Value)
		full := secret
		if h.o.Stack != "" {
			full = h.o.Stack + "_" + secret
		}
		old := k.Value
		k.Value += "_FILE"
		v.Value, v.Style, v.Tag = "/run/secrets/"+secret, 0, "!!str"
		k.LineComment = "berth harden: was a literal " + old + "; create the secret before deploying"
		h.addServiceSecret(svc, secret)
		h.addTopSecret(secret)
		h.res.Commands = append(h.res.Commands, fmt.Sprintf("printf '%%s' \"$%s\" | docker secret create %s -", old, full))
		h.added(name, sp.Append("environment", old+"_FILE"), "literal "+old+" moved to Docker secret "+secret)
		h.human(name, sp.Append("environment", old+"_FILE"), "the service must read "+old+"_FILE (many official images do); create secret "+full+" with the printed command and rotate the old value, which is in your git history")
	}
}

func (h *hardener) addServiceSecret(svc *yaml.Node, secret string) {
	list := mapGet(svc, "secrets")
	if list == nil {
		list = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		svc.Content = append(svc.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "secrets", Tag: "!!str"}, list)
	}
	for _, it := range list.Content {
		if it.Value == secret || mapGet(it, "source") != nil && mapGet(it, "source").Value == secret {
			return
		}
	}
	list.Content = append(list.Content, scalar(secret))
}

func (h *hardener) addTopSecret(secret string) {
	top, ok, _ := ensureMap(h.root, "secrets")
	if !ok || mapGet(top, secret) != nil {
		return
	}
	top.Content = append(top.Content, scalar(secret), mapping("external", true))
}

// traefik writes router and service labels from x-berth: {host, port,
// path, entrypoint, certresolver, readiness} into deploy.labels.
func (h *hardener) traefik(name string, svc *yaml.Node, sp compose.Path, deploy *yaml.Node) {
	xp := sp.Append("x-berth")
	host, port := h.str(xp.Append("host")), h.str(xp.Append("port"))
	if host == "" && port == "" {
		return
	}
	if host == "" || port == "" {
		h.human(name, xp, "x-berth needs both host and port to generate Traefik labels")
		return
	}
	labels, ok, _ := ensureMap(deploy, "labels")
	if !ok {
		h.human(name, sp.Append("deploy", "labels"), "deploy.labels is not a mapping: add the Traefik labels by hand")
		return
	}
	lp := sp.Append("deploy", "labels")
	rule := "Host(`" + host + "`)"
	if path := h.str(xp.Append("path")); path != "" {
		rule += " && PathPrefix(`" + path + "`)"
	}
	ep := h.str(xp.Append("entrypoint"))
	if ep == "" {
		ep = "websecure"
	}
	r := "traefik.http.routers." + name
	h.set(name, labels, lp, "traefik.enable", "true")
	h.set(name, labels, lp, r+".rule", rule)
	h.set(name, labels, lp, r+".entrypoints", ep)
	if cr := h.str(xp.Append("certresolver")); cr != "" {
		h.set(name, labels, lp, r+".tls.certresolver", cr)
	} else {
		h.set(name, labels, lp, r+".tls", "true")
	}
	h.set(name, labels, lp, r+".service", name)
	lb := "traefik.http.services." + name + ".loadbalancer"
	h.set(name, labels, lp, lb+".server.port", port)
	// The settings that make rolling updates lossless (docs/deploy.md): a
	// request that cannot reach its task is retried on another one, a task
	// that fails twice leaves the load balancer at once, and, when the
	// service has a readiness endpoint, Traefik checks it between polls.
	mw := name + "-retry"
	h.set(name, labels, lp, "traefik.http.middlewares."+mw+".retry.attempts", "4")
	h.set(name, labels, lp, "traefik.http.middlewares."+mw+".retry.initialinterval", "100ms")
	h.set(name, labels, lp, r+".middlewares", mw)
	h.set(name, labels, lp, lb+".passivehealthcheck.maxfailedattempts", "2")
	h.set(name, labels, lp, lb+".passivehealthcheck.failurewindow", "10s")
	if ready := h.str(xp.Append("readiness")); ready != "" {
		h.set(name, labels, lp, lb+".healthcheck.path", ready)
		h.set(name, labels, lp, lb+".healthcheck.interval", "2s")
		h.set(name, labels, lp, lb+".healthcheck.timeout", "1s")
	}
	_ = svc
}

func (h *hardener) networks() {
	nets := mapGet(h.root, "networks")
	if nets == nil || nets.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(nets.Content); i += 2 {
		n, cfg := nets.Content[i].Value, nets.Content[i+1]
		np := compose.P("networks", n)
		if cfg.Kind == yaml.ScalarNode && (cfg.Tag == "!!null" || cfg.Value == "") {
			cfg.Kind, cfg.Tag, cfg.Value = yaml.MappingNode, "!!map", ""
		}
		if cfg.Kind != yaml.MappingNode || h.str(np.Append("external")) == "true" || mapGet(cfg, "external") != nil {
			continue
		}
		if d := h.str(np.Append("driver")); d != "" && d != "overlay" {
			continue
		}
		h.set("", cfg, np, "driver", "overlay")
		if opts, ok, _ := ensureMap(cfg, "driver_opts"); ok {
			if h.set("", opts, np.Append("driver_opts"), "encrypted", "true") {
				h.human("", np.Append("driver_opts", "encrypted"), "encrypted overlays need IPsec (ESP) in the kernel and between nodes: berth doctor checks it")
			}
		}
	}
}

// plainMerges drops the explicit !!merge tag yaml.v3 would print on "<<"
// keys, so merge keys are written as the user wrote them.
func plainMerges(n *yaml.Node) {
	if n == nil {
		return
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Value == "<<" && k.Tag == "!!merge" {
				k.Tag = ""
			}
		}
	}
	for _, c := range n.Content {
		plainMerges(c)
	}
}
