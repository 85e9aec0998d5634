package audit

import "strings"

var observabilityRules = []Rule{
	{
		ID: "observability.metrics", Theme: "observability", Area: AreaObservability, Severity: Info, Dev: true,
		Title: "No metrics endpoint declared",
		Why:   "Prometheus' Swarm discovery finds services by label; a service that declares no metrics port is invisible to dashboards and alerts.",
		Fix:   "Add deploy.labels prometheus.io/scrape=true and prometheus.io/port=<port> (or x-berth: {metrics: <port>}).",
		Service: func(c *Ctx, s *Svc) {
			if s.Job() || s.label("prometheus.io/scrape") != "" || s.label("prometheus.scrape") != "" {
				return
			}
			if m := xberth(s.Extensions); m != nil && m["metrics"] != nil {
				return
			}
			c.At(s.Path("deploy", "labels"), "service %s declares no metrics endpoint", s.Name)
		},
	},
	{
		ID: "observability.tracing", Theme: "observability", Area: AreaObservability, Severity: Info, Dev: true,
		Title: "Built service without OpenTelemetry configuration",
		Why:   "A service you build yourself and that exports no traces breaks every request's trace at its hop.",
		Fix:   "Set OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_SERVICE_NAME in environment.",
		Service: func(c *Ctx, s *Svc) {
			if s.Build == nil {
				return
			}
			for k := range s.Environment {
				if strings.HasPrefix(k, "OTEL_") {
					return
				}
			}
			c.At(s.Path("environment"), "service %s exports no traces (no OTEL_* variables)", s.Name)
		},
	},
}

var swarmIgnoredKeys = []string{"build", "cgroup_parent", "container_name", "devices", "external_links", "links", "network_mode", "restart", "security_opt", "userns_mode", "privileged", "depends_on", "mem_limit", "cpus", "mem_reservation", "pids_limit", "cpu_shares", "cpu_quota", "cpuset", "profiles"}

var composeRules = []Rule{
	{
		ID: "compose.version", Theme: "compose", Area: AreaObservability, Severity: Info, Dev: true,
		Title: "Obsolete version: key",
		Why:   "The Compose Specification ignores version:; it suggests a schema that is not the one applied, and docker compose warns about it.",
		Fix:   "Delete the version: line.",
		Project: func(c *Ctx) {
			for _, f := range c.In.Project.Files {
				if e, ok := f.Lookup(pathOf("version")); ok {
					line, col := e.Line()
					c.add(locationOf(f.Path, line, col, "version"), "version: is obsolete and ignored")
				}
			}
		},
	},
	{
		ID: "compose.swarm-ignored", Theme: "compose", Area: AreaObservability, Severity: Info,
		Title: "Key ignored by docker stack deploy",
		Why:   "docker stack deploy silently drops these keys: the stack runs without what the file seems to promise (no build, no restart:, no security_opt, no depends_on ordering...).",
		Fix:   "Use the deploy: equivalents (deploy.resources, deploy.restart_policy), daemon.json defaults (no-new-privileges), or move the key to a compose-only override file.",
		Service: func(c *Ctx, s *Svc) {
			var keys []string
			for _, k := range swarmIgnoredKeys {
				if s.Has(k) && k != "depends_on" && k != "build" {
					keys = append(keys, k)
				}
			}
			if len(keys) > 0 {
				c.At(s.Path(keys[0]), "service %s: docker stack deploy ignores %s", s.Name, strings.Join(keys, ", "))
			}
		},
	},
}
