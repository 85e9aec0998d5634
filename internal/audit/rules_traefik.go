package audit

import (
	"regexp"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

var (
	routerLabelRe  = regexp.MustCompile(`^traefik\.http\.routers\.([^.]+)\.(.+)$`)
	serviceLabelRe = regexp.MustCompile(`^traefik\.http\.services\.([^.]+)\.loadbalancer\.server\.port$`)
	traefikFlagRe  = regexp.MustCompile(`^--?([A-Za-z0-9_.\-]+)(?:=(.*))?$`)
)

// traefikLabels returns the traefik.* labels Traefik will read for the
// profile: deploy.labels in Swarm, container labels in compose.
func (s *Svc) traefikLabels(swarm bool) (types.Labels, string) {
	src, key := s.Labels, "labels"
	if swarm {
		src, key = nil, "deploy"
		if s.Deploy != nil {
			src = s.Deploy.Labels
		}
	}
	out := types.Labels{}
	for k, v := range src {
		if strings.HasPrefix(k, "traefik.") {
			out[k] = v
		}
	}
	if key == "deploy" {
		key = "deploy.labels"
	}
	return out, key
}

func (s *Svc) labelPath(swarm bool, k string) []string {
	if swarm {
		return []string{"deploy", "labels", k}
	}
	return []string{"labels", k}
}

// traefikConfig is what berth can read of the Traefik static configuration
// from the proxy service's command flags and TRAEFIK_* environment.
type traefikConfig struct {
	svc   *Svc
	flags map[string]string // lowercased flag name -> value ("true" for bare flags)
}

func findTraefik(c *Ctx) *traefikConfig {
	if c.run != nil && c.run.traefikDone {
		return c.run.traefik
	}
	tc := scanTraefik(c)
	if c.run != nil {
		c.run.traefikDone, c.run.traefik = true, tc
	}
	return tc
}

func scanTraefik(c *Ctx) *traefikConfig {
	p := c.In.Project
	if p == nil {
		return nil
	}
	for _, name := range p.ServiceNames() {
		if !strings.Contains(strings.ToLower(p.Model.Services[name].Image), "traefik") {
			continue
		}
		sc := p.Model.Services[name]
		tc := &traefikConfig{svc: &Svc{Name: name, ServiceConfig: &sc, P: p}, flags: map[string]string{}}
		for _, a := range sc.Command {
			if m := traefikFlagRe.FindStringSubmatch(a); m != nil {
				v := m[2]
				if v == "" && !strings.Contains(a, "=") {
					v = "true"
				}
				tc.flags[strings.ToLower(m[1])] = v
			}
		}
		for k, v := range sc.Environment {
			if strings.HasPrefix(k, "TRAEFIK_") && v != nil {
				tc.flags[strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(k, "TRAEFIK_"), "_", "."))] = *v
			}
		}
		return tc
	}
	return nil
}

func (t *traefikConfig) exposedByDefault() bool {
	for _, prov := range []string{"providers.swarm.exposedbydefault", "providers.docker.exposedbydefault"} {
		if v, ok := t.flags[prov]; ok {
			return !strings.EqualFold(v, "false")
		}
	}
	return true
}

func (t *traefikConfig) tlsEntrypoint(ep string) bool {
	ep = strings.ToLower(ep)
	for k := range t.flags {
		if strings.HasPrefix(k, "entrypoints."+ep+".http.tls") {
			return true
		}
	}
	return false
}

type router struct {
	name   string
	labels map[string]string // suffix -> value
	key    string            // a label key to point at
}

func routers(l types.Labels) []router {
	byName := map[string]*router{}
	for _, k := range sortedKeys(l) {
		m := routerLabelRe.FindStringSubmatch(k)
		if m == nil {
			continue
		}
		r := byName[m[1]]
		if r == nil {
			r = &router{name: m[1], labels: map[string]string{}, key: k}
			byName[m[1]] = r
		}
		r.labels[strings.ToLower(m[2])] = l[k]
	}
	out := make([]router, 0, len(byName))
	for _, r := range byName {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func (r router) redirectOnly() bool {
	return strings.Contains(strings.ToLower(r.labels["middlewares"]), "redirect")
}

func (r router) tls() bool {
	for k := range r.labels {
		if k == "tls" || strings.HasPrefix(k, "tls.") {
			return r.labels["tls"] != "false"
		}
	}
	return false
}

var traefikRules = []Rule{
	{
		ID: "traefik.labels.deploy", Theme: "traefik", Area: AreaNetworks, Severity: Error,
		Title: "Traefik labels under labels: instead of deploy.labels:",
		Why:   "Traefik's Swarm provider reads service labels (deploy.labels); labels: are container labels, which it never sees: the route silently does not exist.",
		Fix:   "Move every traefik.* label under deploy.labels:.",
		Service: func(c *Ctx, s *Svc) {
			for _, k := range sortedKeys(s.Labels) {
				if strings.HasPrefix(k, "traefik.") {
					c.At(s.Path("labels", k), "service %s: %s is a container label, invisible to Traefik in Swarm mode", s.Name, k)
					return
				}
			}
		},
	},
	{
		ID: "traefik.router.port", Theme: "traefik", Area: AreaNetworks, Severity: Error, DevSeverity: Info,
		Title: "Router without a service port",
		Why:   "In Swarm mode Traefik cannot discover a service's port: a router whose service has no loadbalancer.server.port gets no backend and answers 502/404.",
		Fix:   "Add traefik.http.services.<name>.loadbalancer.server.port=<container port> and point the router at it with .service=<name>.",
		Service: func(c *Ctx, s *Svc) {
			l, _ := s.traefikLabels(c.Swarm())
			rs := routers(l)
			if len(rs) == 0 {
				return
			}
			ports := map[string]bool{}
			for k := range l {
				if m := serviceLabelRe.FindStringSubmatch(k); m != nil {
					ports[m[1]] = true
				}
			}
			for _, r := range rs {
				if strings.HasSuffix(r.labels["service"], "@internal") || r.redirectOnly() {
					continue
				}
				svc := r.labels["service"]
				if svc == "" {
					if len(ports) == 1 {
						continue // Traefik uses the only service defined
					}
					svc = r.name
				}
				if !ports[svc] {
					c.At(s.Path(s.labelPath(c.Swarm(), r.key)...), "service %s: router %s has no service with loadbalancer.server.port (service %q)", s.Name, r.name, svc)
				}
			}
		},
	},
	{
		ID: "traefik.router.tls", Theme: "traefik", Area: AreaNetworks, Severity: Warning, DevSeverity: Info,
		Title: "Router on an entrypoint without TLS",
		Why:   "A router without TLS serves the application in clear text, cookies and tokens included.",
		Fix:   "Set .entrypoints=websecure and .tls.certresolver=<resolver> (or .tls=true), and redirect HTTP to HTTPS on the web entrypoint.",
		Service: func(c *Ctx, s *Svc) {
			l, _ := s.traefikLabels(c.Swarm())
			tc := findTraefik(c)
			for _, r := range routers(l) {
				if r.tls() || r.redirectOnly() {
					continue
				}
				eps := strings.Split(r.labels["entrypoints"], ",")
				allTLS := r.labels["entrypoints"] != "" && tc != nil
				for _, ep := range eps {
					if tc == nil || !tc.tlsEntrypoint(strings.TrimSpace(ep)) {
						allTLS = false
					}
				}
				if !allTLS {
					c.At(s.Path(s.labelPath(c.Swarm(), r.key)...), "service %s: router %s serves without TLS", s.Name, r.name)
				}
			}
		},
	},
	{
		ID: "traefik.enable", Theme: "traefik", Area: AreaNetworks, Severity: Warning, Dev: true,
		Title: "traefik.enable missing while exposedByDefault is false",
		Why:   "With exposedByDefault=false (berth's default, and the safe one) Traefik ignores every service without traefik.enable=true: its routers never exist.",
		Fix:   "Add traefik.enable=true next to the router labels.",
		Service: func(c *Ctx, s *Svc) {
			l, _ := s.traefikLabels(c.Swarm())
			if len(l) == 0 || strings.EqualFold(l["traefik.enable"], "true") {
				return
			}
			if tc := findTraefik(c); tc != nil && tc.exposedByDefault() {
				return
			}
			if _, ok := l["traefik.enable"]; ok {
				return // explicitly false: a deliberate opt-out
			}
			c.At(s.Path(s.labelPath(c.Swarm(), firstKey(l))...), "service %s has traefik labels but no traefik.enable=true", s.Name)
		},
	},
	{
		ID: "traefik.exposed-by-default", Theme: "traefik", Area: AreaNetworks, Severity: Warning, Dev: true,
		Title: "Traefik exposes every service by default",
		Why:   "With exposedByDefault left true, every service on Traefik's networks gets a route, including databases and admin tools nobody meant to publish.",
		Fix:   "Start Traefik with --providers.swarm.exposedByDefault=false and opt services in with traefik.enable=true.",
		Project: func(c *Ctx) {
			tc := findTraefik(c)
			if tc != nil && tc.exposedByDefault() && (tc.flags["providers.swarm"] != "" || tc.flags["providers.docker"] != "" || hasPrefixKey(tc.flags, "providers.swarm.") || hasPrefixKey(tc.flags, "providers.docker.")) {
				c.At(tc.svc.Path("command"), "traefik service %s exposes services by default", tc.svc.Name)
			}
		},
	},
	{
		ID: "traefik.api.insecure", Theme: "traefik", Area: AreaNetworks, Severity: Error, Dev: true,
		Title: "Traefik dashboard with api.insecure",
		Why:   "api.insecure serves the dashboard and API on port 8080 without authentication: anyone who reaches it sees every route and backend.",
		Fix:   "Remove --api.insecure; expose the dashboard through a router to api@internal with TLS and an auth middleware.",
		Project: func(c *Ctx) {
			if tc := findTraefik(c); tc != nil && strings.EqualFold(tc.flags["api.insecure"], "true") {
				c.At(tc.svc.Path("command"), "traefik service %s enables api.insecure", tc.svc.Name)
			}
		},
	},
	{
		ID: "traefik.dashboard.auth", Theme: "traefik", Area: AreaNetworks, Severity: Warning, Dev: true,
		Title: "Traefik dashboard router without middleware",
		Why:   "A router to api@internal without an auth middleware publishes the dashboard and API to anyone.",
		Fix:   "Add .middlewares=<basicauth or forwardauth middleware> to the dashboard router.",
		Service: func(c *Ctx, s *Svc) {
			l, _ := s.traefikLabels(c.Swarm())
			for _, r := range routers(l) {
				if r.labels["service"] == "api@internal" && r.labels["middlewares"] == "" {
					c.At(s.Path(s.labelPath(c.Swarm(), r.key)...), "service %s: dashboard router %s has no auth middleware", s.Name, r.name)
				}
			}
		},
	},
}

func firstKey(l types.Labels) string {
	keys := sortedKeys(l)
	return keys[0]
}

func hasPrefixKey(m map[string]string, prefix string) bool {
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}
