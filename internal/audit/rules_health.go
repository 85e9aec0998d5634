package audit

import (
	"strings"
	"time"
)

func (s *Svc) healthDisabled() bool {
	hc := s.HealthCheck
	return hc != nil && (hc.Disable || (len(hc.Test) > 0 && strings.EqualFold(hc.Test[0], "NONE")))
}

// dockerfileHealth says whether the service's own Dockerfile declares one.
func (s *Svc) dockerfileHealth() bool {
	if s.Dockerfile == nil {
		return false
	}
	f := s.Dockerfile.Final()
	if s.Build != nil && s.Build.Target != "" {
		if t := s.Dockerfile.StageNamed(s.Build.Target); t != nil {
			f = t
		}
	}
	if f == nil {
		return false
	}
	for _, in := range f.Instructions {
		if in.Cmd == "healthcheck" && (len(in.Args) == 0 || !strings.EqualFold(in.Args[0], "NONE")) {
			return true
		}
	}
	return false
}

var healthRules = []Rule{
	{
		ID: "health.check.missing", Theme: "health", Area: AreaHealth, Severity: Warning, Dev: true,
		Title: "Service has no health check",
		Why:   "Without a health check Swarm marks a task running as soon as its process starts: rolling updates move on before the new task can serve, the proxy routes to it, and a hung process is never replaced.",
		Fix:   "Add healthcheck: with a test that exercises the service (an HTTP /healthz or a client ping), interval, timeout, retries and start_period.",
		Service: func(c *Ctx, s *Svc) {
			if s.Job() || s.HealthCheck != nil && len(s.HealthCheck.Test) > 0 || s.healthDisabled() || s.dockerfileHealth() {
				return
			}
			c.At(s.Path("healthcheck"), "service %s has no healthcheck (and its image's, if any, is unknown to berth)", s.Name)
		},
	},
	{
		ID: "health.check.disabled", Theme: "health", Area: AreaHealth, Severity: Warning, Dev: true,
		Title: "Health check disabled",
		Why:   "disable: true or test: [NONE] switches off the image's own health check, so Swarm can no longer tell a ready task from a hung one.",
		Fix:   "Remove disable: true (or the NONE test) and give the service a real test.",
		Service: func(c *Ctx, s *Svc) {
			if s.healthDisabled() {
				c.At(s.Path("healthcheck"), "service %s disables its health check", s.Name)
			}
		},
	},
	{
		ID: "health.check.start-period", Theme: "health", Area: AreaHealth, Severity: Warning, DevSeverity: Info,
		Title: "Health check without start_period",
		Why:   "Failures during start-up count towards retries unless start_period covers them: a slow-starting task is killed and restarted in a loop, and a rolling update fails for no reason.",
		Fix:   "Set healthcheck.start_period to the time the service needs to become ready (for example 30s), and start_interval to probe quickly meanwhile.",
		Service: func(c *Ctx, s *Svc) {
			if s.HealthCheck == nil || len(s.HealthCheck.Test) == 0 || s.healthDisabled() || s.HealthCheck.StartPeriod != nil {
				return
			}
			c.At(s.Path("healthcheck", "start_period"), "service %s: healthcheck has no start_period", s.Name)
		},
	},
	{
		ID: "health.check.timing", Theme: "health", Area: AreaHealth, Severity: Warning, Dev: true,
		Title: "Health check timeout not shorter than its interval",
		Why:   "A probe that may run longer than the interval overlaps the next one; Docker then reports stale results and slow probes pile up inside the container.",
		Fix:   "Keep healthcheck.timeout below healthcheck.interval (Docker's defaults: interval 30s, timeout 30s: set both).",
		Service: func(c *Ctx, s *Svc) {
			hc := s.HealthCheck
			if hc == nil || s.healthDisabled() || len(hc.Test) == 0 {
				return
			}
			interval, timeout := 30*time.Second, 30*time.Second
			if hc.Interval != nil {
				interval = durp(hc.Interval)
			}
			if hc.Timeout != nil {
				timeout = durp(hc.Timeout)
			}
			if timeout >= interval {
				c.At(s.Path("healthcheck", "timeout"), "service %s: healthcheck timeout %s is not shorter than interval %s", s.Name, timeout, interval)
			}
		},
	},
	{
		ID: "health.depends-on.healthy", Theme: "health", Area: AreaHealth, Severity: Off, DevSeverity: Warning,
		Title: "depends_on without condition: service_healthy",
		Why:   "Plain depends_on only waits for the dependency's container to start, not to be ready: the dependent service races a database that is still initialising.",
		Fix:   "Use the long form: depends_on: {db: {condition: service_healthy}} and give the dependency a health check.",
		Service: func(c *Ctx, s *Svc) {
			for _, name := range sortedKeys(s.DependsOn) {
				if d := s.DependsOn[name]; d.Condition != "service_healthy" && d.Condition != "service_completed_successfully" {
					c.At(s.Path("depends_on", name), "service %s depends on %s without condition: service_healthy", s.Name, name)
				}
			}
		},
	},
	{
		ID: "health.depends-on.swarm", Theme: "health", Area: AreaHealth, Severity: Info,
		Title: "depends_on is ignored by docker stack deploy",
		Why:   "Swarm starts every service at once and restarts failing tasks; depends_on gives no ordering there, so the service itself must retry its dependencies.",
		Fix:   "Make the service retry its dependencies at start-up (and report not-ready meanwhile); keep depends_on only for docker compose.",
		Service: func(c *Ctx, s *Svc) {
			if len(s.DependsOn) > 0 {
				c.At(s.Path("depends_on"), "service %s: depends_on has no effect under docker stack deploy", s.Name)
			}
		},
	},
	{
		ID: "health.dockerfile.healthcheck", Theme: "health", Area: AreaHealth, Severity: Info, Dev: true,
		Title: "Dockerfile final stage has no HEALTHCHECK",
		Why:   "An image that declares its own health check is checked everywhere it runs, not only where a compose file remembers to.",
		Fix:   "Add HEALTHCHECK CMD [\"/app\", \"healthcheck\"] (or a curl/wget probe) to the final stage.",
		Dockerfile: func(c *Ctx, d *DF) {
			f := d.Final()
			if f == nil {
				return
			}
			if d.Service != nil && (d.Service.HealthCheck != nil && len(d.Service.HealthCheck.Test) > 0) {
				return
			}
			for _, in := range f.Instructions {
				if in.Cmd == "healthcheck" {
					return
				}
			}
			c.AtLine(d.Dockerfile, f.From.Line, "final stage (FROM %s) has no HEALTHCHECK", f.Base)
		},
	},
}
