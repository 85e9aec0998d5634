package audit

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"
)

var (
	statefulImageRe = newLiteralRe(`(?i)(^|/)(postgres|postgis|timescaledb|mysql|mariadb|percona|mongo|redis|valkey|keydb|elasticsearch|opensearch|rabbitmq|kafka|zookeeper|etcd|consul|minio|influxdb|clickhouse|cassandra|scylla|cockroach|memcached|nats|neo4j|couchdb|vault|registry|prometheus|loki|tempo|victoria-metrics|alertmanager|grafana)([:@/-]|$)`,
		"postgres", "postgis", "timescaledb", "mysql", "mariadb", "percona", "mongo", "redis", "valkey", "keydb", "elasticsearch", "opensearch", "rabbitmq", "kafka", "zookeeper", "etcd", "consul", "minio", "influxdb", "clickhouse", "cassandra", "scylla", "cockroach", "memcached", "nats", "neo4j", "couchdb", "vault", "registry", "prometheus", "loki", "tempo", "victoria-metrics", "alertmanager", "grafana")
	edgeImageRe   = newLiteralRe(`(?i)(^|/)(traefik|nginx|haproxy|caddy|envoy|openresty|kong)([:@/-]|$)`, "traefik", "nginx", "haproxy", "caddy", "envoy", "openresty", "kong")
	socketProxyRe = newLiteralRe(`(?i)socket-?proxy|dockerproxy|docker-proxy`, "proxy")
)

// literalRe is a case-insensitive regexp and literals one of which every
// match contains. An ASCII input that contains none of them, in lower
// case, cannot match and skips the regexp, whose backtracking on these
// long alternations is slow; other inputs always run it (regexp's case
// folding is wider than strings.ToLower's).
type literalRe struct {
	re      *regexp.Regexp
	needles []string // lower case
}

func newLiteralRe(pattern string, needles ...string) literalRe {
	return literalRe{re: regexp.MustCompile(pattern), needles: needles}
}

func (r literalRe) MatchString(s string) bool {
	if isASCII(s) {
		l := strings.ToLower(s)
		found := false
		for _, n := range r.needles {
			if strings.Contains(l, n) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return r.re.MatchString(s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// xberth returns the service's x-berth extension as a map.
func xberth(ext types.Extensions) map[string]any {
	if m, ok := ext["x-berth"].(map[string]any); ok {
		return m
	}
	return nil
}

func xbool(m map[string]any, k string) (bool, bool) {
	switch v := m[k].(type) {
	case bool:
		return v, true
	case string:
		b, err := strconv.ParseBool(v)
		return b, err == nil
	}
	return false, false
}

func (s *Svc) label(k string) string {
	if s.Deploy != nil {
		if v, ok := s.Deploy.Labels[k]; ok {
			return v
		}
	}
	return s.Labels[k]
}

// memo caches a property of a service that several rules ask for (the
// answers depend on the service alone, which rules do not change).
type memo int8

func (m *memo) get(f func() bool) bool {
	if *m == 0 {
		*m = 1
		if f() {
			*m = 2
		}
	}
	return *m == 2
}

// Stateful says whether the service keeps state: x-berth.stateful, the
// berth.stateful label, a named volume, or a well-known stateful image.
func (s *Svc) Stateful() bool { return s.memo.stateful.get(s.stateful) }

func (s *Svc) stateful() bool {
	if v, ok := xbool(xberth(s.Extensions), "stateful"); ok {
		return v
	}
	if v, err := strconv.ParseBool(s.label("berth.stateful")); err == nil {
		return v
	}
	for _, v := range s.Volumes {
		if v.Type == types.VolumeTypeVolume && v.Source != "" {
			return true
		}
	}
	return statefulImageRe.MatchString(s.Image)
}

// Edge says whether the service is the edge proxy.
func (s *Svc) Edge() bool { return s.memo.edge.get(s.edge) }

func (s *Svc) edge() bool {
	if m := xberth(s.Extensions); m != nil {
		if r, ok := m["role"].(string); ok {
			return r == "edge"
		}
	}
	if edgeImageRe.MatchString(s.Image) {
		return true
	}
	for _, p := range s.Ports {
		if p.Target == 80 || p.Target == 443 {
			return true
		}
	}
	return false
}

// SocketProxy says whether the service is a Docker socket proxy, the one
// kind of service that should mount the socket.
func (s *Svc) SocketProxy() bool { return s.memo.socketProxy.get(s.socketProxy) }

func (s *Svc) socketProxy() bool {
	if m := xberth(s.Extensions); m != nil {
		if r, ok := m["role"].(string); ok {
			return r == "socket-proxy"
		}
	}
	return socketProxyRe.MatchString(s.Image) || socketProxyRe.MatchString(s.Name)
}

// Global says whether the service runs one task per node.
func (s *Svc) Global() bool {
	return s.Deploy != nil && (s.Deploy.Mode == "global" || s.Deploy.Mode == "global-job")
}

// Job says whether the service runs to completion.
func (s *Svc) Job() bool {
	return s.Deploy != nil && strings.HasSuffix(s.Deploy.Mode, "-job")
}

// Replicas returns the replica count (Swarm's default is 1).
func (s *Svc) Replicas() int {
	if s.Deploy != nil && s.Deploy.Replicas != nil {
		return *s.Deploy.Replicas
	}
	if s.Scale != nil {
		return *s.Scale
	}
	return 1
}

func (s *Svc) limits() *types.Resource {
	if s.Deploy != nil {
		return s.Deploy.Resources.Limits
	}
	return nil
}

func (s *Svc) reservations() *types.Resource {
	if s.Deploy != nil {
		return s.Deploy.Resources.Reservations
	}
	return nil
}

// unresolved says whether a raw scalar takes its value from a variable that
// is unset and has no default: Docker substitutes "", and berth cannot judge
// a value it does not know.
func (s *Svc) unresolved(segs ...string) bool {
	n := s.Raw(segs...)
	if n == nil || !strings.Contains(n.Value, "$") {
		return false
	}
	u := s.unset
	if u == nil {
		u = newUnsetVars(s.P.Unset)
	}
	return u.referencedIn(n.Value)
}

// unsetVars indexes a project's unset variables, so that unresolved costs
// the length of the value, not the number of unset variables (a stack with
// a variable per service would make the audit quadratic).
type unsetVars struct {
	names  map[string]bool
	maxLen int
}

func newUnsetVars(names []string) *unsetVars {
	u := &unsetVars{names: make(map[string]bool, len(names))}
	for _, v := range names {
		u.names[v] = true
		if len(v) > u.maxLen {
			u.maxLen = len(v)
		}
	}
	return u
}

// referencedIn says whether value contains, for an unset variable V, one
// of $V, ${V}, ${V:? or ${V?.
func (u *unsetVars) referencedIn(value string) bool {
	if len(u.names) == 0 {
		return false
	}
	if u.names[""] {
		return strings.Contains(value, "$")
	}
	for i := strings.IndexByte(value, '$'); i >= 0; {
		rest := value[i+1:]
		for l := 1; l <= len(rest) && l <= u.maxLen; l++ {
			if u.names[rest[:l]] {
				return true // $V
			}
		}
		if strings.HasPrefix(rest, "{") {
			r := rest[1:]
			for l := 1; l <= len(r) && l <= u.maxLen; l++ {
				if u.names[r[:l]] {
					if after := r[l:]; strings.HasPrefix(after, "}") || strings.HasPrefix(after, ":?") || strings.HasPrefix(after, "?") {
						return true
					}
				}
			}
		}
		j := strings.IndexByte(rest, '$')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// parseDuration reads Go durations and bare seconds.
func parseDuration(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if d, err := time.ParseDuration(v); err == nil {
		return d, true
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		return time.Duration(n * float64(time.Second)), true
	}
	return 0, false
}

func durp(d *types.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return time.Duration(*d)
}

// entropy is the Shannon entropy of s in bits per character.
func entropy(s string) float64 {
	if s == "" {
		return 0
	}
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	h := 0.0
	n := float64(len(s))
	for _, c := range counts {
		if c == 0 {
			continue
		}
		p := float64(c) / n
		h -= p * math.Log2(p)
	}
	return h
}

var (
	secretNameRe    = regexp.MustCompile(`(?i)(pass(word|wd|phrase)?|secret|token|api_?key|access_?key|private_?key|credential|auth|signing_?key|client_?secret|dsn|_pwd$|^pwd$)`)
	notSecretNameRe = regexp.MustCompile(`(?i)(_FILE$|_PATH$|_DIR$|_URL$|_HOST$|_PORT$|_USER(NAME)?$|_ENABLED?$|_TTL$|_TIMEOUT$|_LENGTH$|_ALGORITHM$|_TYPE$|_METHOD$|_HEADER$|_ISSUER$|_NAME$|_MODE$)`)
	placeholderRe   = regexp.MustCompile(`(?i)^(changeme|change-me|example|placeholder|x+|\*+|<.*>|\{\{.*\}\}|true|false|yes|no|none|null|on|off|required|disabled?|enabled?)$`)
	urlCredRe       = regexp.MustCompile(`^[a-z][a-z0-9+.-]*://[^/:@\s]+:([^@/\s]+)@`)
)

// secretName says whether an env/arg name suggests it holds a secret.
func secretName(name string) bool {
	return secretNameRe.MatchString(name) && !notSecretNameRe.MatchString(name)
}

// literalSecret says whether a value is a literal worth flagging: set, not
// a reference to a file or variable, and not a placeholder or boolean.
func literalSecret(v string) bool {
	v = strings.TrimSpace(v)
	if v == "" || strings.HasPrefix(v, "/run/secrets/") || strings.HasPrefix(v, "/") || placeholderRe.MatchString(v) {
		return false
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil && len(v) < 6 {
		return false
	}
	return true
}

// highEntropy says whether v looks like a generated key or token.
func highEntropy(v string) bool {
	if len(v) < 20 || strings.ContainsAny(v, " /") && !strings.Contains(v, "+") {
		return false
	}
	var classes int
	var lower, upper, digit bool
	for _, c := range v {
		switch {
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= '0' && c <= '9':
			digit = true
		}
	}
	for _, b := range []bool{lower, upper, digit} {
		if b {
			classes++
		}
	}
	return classes >= 2 && entropy(v) >= 4.0
}

// scalarString returns a node's value when it is a scalar.
func scalarString(n *yaml.Node) (string, bool) {
	if n == nil || n.Kind != yaml.ScalarNode {
		return "", false
	}
	return n.Value, true
}

// imageRef splits an image reference into repository, tag and digest.
func imageRef(ref string) (repo, tag, digest string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref, digest = ref[:i], ref[i+1:]
	}
	slash := strings.LastIndex(ref, "/")
	if i := strings.LastIndex(ref, ":"); i > slash {
		ref, tag = ref[:i], ref[i+1:]
	}
	return ref, tag, digest
}

func hasString(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}
