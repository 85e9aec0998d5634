// Package platform owns the stack files berth ships (edge, data, app), their
// deploy order, the networks and secrets they expect, and their rendering
// from a few values (domain, images, engine capabilities). Rendering is pure:
// it returns files, it never touches an engine. platform must not import
// cli or swarm.
package platform

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"net/mail"
	"regexp"
	"sort"
	"text/template"

	"gopkg.in/yaml.v3"
)

//go:embed stacks/*.yml
var stackFS embed.FS

// Stack is one stack berth deploys.
type Stack struct {
	// Name is the stack (namespace) name.
	Name string
	// File is the template's name under stacks/.
	File string
	// Extra are further files (configs) rendered next to the stack file.
	Extra []string
}

// Stacks in deploy order: the edge first (it must be up to route), the data
// tier before the services that need it. Removal goes in reverse.
var Stacks = []Stack{
	{Name: "edge", File: "edge.yml", Extra: []string{"traefik.yml", "dynamic.yml"}},
	{Name: "data", File: "data.yml"},
	{Name: "app", File: "app.yml"},
}

// Baseline is the naive stack `berth bench rollout --baseline` measures
// against; it is not part of the platform and never deployed by berth up.
var Baseline = Stack{Name: "naive", File: "naive.yml", Extra: []string{"naive-dynamic.yml"}}

// Network is an overlay network shared by stacks; berth creates it.
type Network struct {
	Name string
	// Internal networks have no route out of the swarm.
	Internal bool
	Purpose  string
}

// Networks are the tier networks. The database lives on data only, which
// the edge proxy does not join.
var Networks = []Network{
	{Name: "berth_edge", Purpose: "Traefik to the services it routes to"},
	{Name: "berth_app", Internal: true, Purpose: "service to service (web to api)"},
	{Name: "berth_data", Internal: true, Purpose: "services to Postgres"},
}

// Secret names the stacks expect to exist (external secrets).
const (
	SecretDBPassword     = "berth_db_password"
	SecretTLSCert        = "berth_tls_cert"
	SecretTLSKey         = "berth_tls_key"
	SecretDashboardUsers = "berth_dashboard_users"
)

// Profiles select the TLS source.
const (
	ProfileLocal      = "local"      // berth's local CA, *.localhost
	ProfileProduction = "production" // ACME (Let's Encrypt) TLS challenge
)

// ConfigPrefix starts the name of every Swarm config berth creates.
const ConfigPrefix = "berth_traefik_"

// Values are everything the templates depend on.
type Values struct {
	Domain    string
	Profile   string
	ACMEEmail string
	// Images maps catalog keys to references.
	Images map[string]string
	// DockerGID is the group owning the engine's socket on the managers.
	DockerGID int
	// EndpointMode is vip where the kernel has IPVS, dnsrr otherwise.
	EndpointMode string
	// EncryptedOverlay is true where the kernel can encrypt overlays (ESP).
	EncryptedOverlay bool
	// StartInterval is true where the engine supports health check
	// start_interval (API 1.44+).
	StartInterval bool
	HTTPPort      int
	HTTPSPort     int
	// NaivePort is the baseline Traefik's HTTPS port (bench --baseline).
	NaivePort int
}

var domainRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Validate reports the first value that would render a broken stack.
func (v Values) Validate() error {
	if !domainRE.MatchString(v.Domain) {
		return fmt.Errorf("domain %q is not a valid DNS name (e.g. localhost, example.com)", v.Domain)
	}
	switch v.Profile {
	case ProfileLocal:
	case ProfileProduction:
		if _, err := mail.ParseAddress(v.ACMEEmail); err != nil || v.ACMEEmail == "" {
			return fmt.Errorf("the production profile needs --acme-email for Let's Encrypt registration: %q is not an e-mail address", v.ACMEEmail)
		}
	default:
		return fmt.Errorf("unknown profile %q: use %q or %q", v.Profile, ProfileLocal, ProfileProduction)
	}
	if v.EndpointMode != "vip" && v.EndpointMode != "dnsrr" {
		return fmt.Errorf("endpoint mode %q: must be vip or dnsrr", v.EndpointMode)
	}
	for _, p := range []int{v.HTTPPort, v.HTTPSPort} {
		if p < 1 || p > 65535 {
			return fmt.Errorf("port %d out of range 1-65535", p)
		}
	}
	if v.HTTPPort == v.HTTPSPort {
		return fmt.Errorf("HTTP and HTTPS ports must differ (both %d)", v.HTTPPort)
	}
	return nil
}

// Rendered is one stack's files: the compose file and the configs it
// references by relative path, ready to write into one directory.
type Rendered struct {
	Stack Stack
	// Files maps file names to contents; Files[Stack.File] is the stack.
	Files map[string][]byte
	// Services are the stack's service names, sorted.
	Services []string
}

// StackHashLabel is the service label holding the rendered stack's hash;
// StackHashPlaceholder stands in its place in the templates.
const (
	StackHashLabel       = "org.berth.stack-hash"
	StackHashPlaceholder = "__BERTH_STACK_HASH__"
)

// Render renders every stack with v.
func Render(v Values) ([]Rendered, error) {
	return RenderStacks(v, Stacks)
}

// RenderStacks renders the given stacks with v.
func RenderStacks(v Values, stacks []Stack) ([]Rendered, error) {
	if err := v.Validate(); err != nil {
		return nil, err
	}
	var out []Rendered
	for _, s := range stacks {
		r := Rendered{Stack: s, Files: map[string][]byte{}}
		// Configs first: the stack file names them by content hash, so a
		// changed config gets a new name (Swarm configs are immutable).
		hashes := map[string]string{}
		for _, name := range s.Extra {
			b, err := renderFile(name, v, nil)
			if err != nil {
				return nil, err
			}
			r.Files[name] = b
			sum := sha256.Sum256(b)
			hashes[name] = hex.EncodeToString(sum[:])[:10]
		}
		b, err := renderFile(s.File, v, hashes)
		if err != nil {
			return nil, err
		}
		r.Files[s.File] = b
		if r.Services, err = serviceNames(b); err != nil {
			return nil, fmt.Errorf("rendered %s: %w", s.File, err)
		}
		out = append(out, r)
	}
	return out, nil
}

type templateData struct {
	Values
	ACME   bool
	hashes map[string]string
}

// Image returns the reference for catalog key k; a missing key fails the
// render instead of deploying an empty image.
func (d templateData) Image(k string) (string, error) {
	ref, ok := d.Images[k]
	if !ok || ref == "" {
		return "", fmt.Errorf("no image reference for %q", k)
	}
	return ref, nil
}

// ConfigName is the Swarm config name for a rendered file.
func (d templateData) ConfigName(file string) (string, error) {
	h, ok := d.hashes[file]
	if !ok {
		return "", fmt.Errorf("config %q is not rendered with this stack", file)
	}
	base := file[:len(file)-len(".yml")]
	return ConfigPrefix + base + "_" + h, nil
}

func renderFile(name string, v Values, hashes map[string]string) ([]byte, error) {
	src, err := stackFS.ReadFile("stacks/" + name)
	if err != nil {
		return nil, err
	}
	t, err := template.New(name).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("stack template %s: %w", name, err)
	}
	var buf bytes.Buffer
	data := templateData{Values: v, ACME: v.Profile == ProfileProduction, hashes: hashes}
	if err := t.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("rendering %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

func serviceNames(stack []byte) ([]string, error) {
	var doc struct {
		Services map[string]yaml.Node `yaml:"services"`
	}
	if err := yaml.Unmarshal(stack, &doc); err != nil {
		return nil, err
	}
	var names []string
	for n := range doc.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// SortedFiles returns r's file names in a stable order, stack file first.
func (r Rendered) SortedFiles() []string {
	var names []string
	for n := range r.Files {
		if n != r.Stack.File {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return append([]string{r.Stack.File}, names...)
}
