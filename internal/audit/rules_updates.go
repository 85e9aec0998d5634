package audit

import (
	"strings"
	"time"
)

var drainEnvRe = newLiteralRe(`(?i)(shutdown|drain|graceful)[_a-z]*timeout|timeout[_a-z]*(shutdown|drain)`, "timeout")

// drain returns how long the service needs to drain on SIGTERM, from
// x-berth.drain, the berth.drain label, or a *SHUTDOWN*_TIMEOUT-style
// environment variable, and where it was found.
func (s *Svc) drain() (time.Duration, string) {
	if m := xberth(s.Extensions); m != nil {
		if v, ok := m["drain"]; ok {
			if d, ok := parseDuration(strings.TrimSpace(toString(v))); ok {
				return d, "x-berth.drain"
			}
		}
	}
	if v := s.label("berth.drain"); v != "" {
		if d, ok := parseDuration(v); ok {
			return d, "label berth.drain"
		}
	}
	for _, k := range s.EnvKeys() {
		if v := s.Environment[k]; v != nil && drainEnvRe.MatchString(k) {
			if d, ok := parseDuration(*v); ok {
				return d, "environment " + k
			}
		}
	}
	return 0, ""
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	default:
		return strings.TrimSpace(strings.Trim(strings.ReplaceAll(strings.ReplaceAll(sprint(x), "\n", ""), " ", ""), `"`))
	}
}

func (s *Svc) swarmService() bool { return !s.Job() }

var updateRules = []Rule{
	{
		ID: "deploy.update.config", Theme: "updates", Area: AreaUpdates, Severity: Warning,
		Title: "No update_config",
		Why:   "Swarm's defaults update one task at a time, stop-first, pause on failure and never roll back: a bad release stays half-deployed until someone notices.",
		Fix:   "Add deploy.update_config with parallelism: 1, delay: 10s, order: start-first (stateless), failure_action: rollback, monitor: 30s.",
		Service: func(c *Ctx, s *Svc) {
			if s.swarmService() && (s.Deploy == nil || s.Deploy.UpdateConfig == nil) {
				c.At(s.Path("deploy", "update_config"), "service %s has no deploy.update_config", s.Name)
			}
		},
	},
	{
		ID: "deploy.rollback.config", Theme: "updates", Area: AreaUpdates, Severity: Warning,
		Title: "No rollback_config",
		Why:   "A rollback uses rollback_config; without it Swarm rolls back with defaults that may stop every task at once or pause halfway.",
		Fix:   "Add deploy.rollback_config with parallelism: 1, order: stop-first or start-first, failure_action: pause, monitor: 30s.",
		Service: func(c *Ctx, s *Svc) {
			if s.swarmService() && (s.Deploy == nil || s.Deploy.RollbackConfig == nil) {
				c.At(s.Path("deploy", "rollback_config"), "service %s has no deploy.rollback_config", s.Name)
			}
		},
	},
	{
		ID: "deploy.update.failure-action", Theme: "updates", Area: AreaUpdates, Severity: Warning,
		Title: "Update failure_action is not rollback",
		Why:   "The default failure_action, pause, leaves a failed update half-applied: some tasks on the new version, some on the old, until a human acts.",
		Fix:   "Set deploy.update_config.failure_action: rollback.",
		Service: func(c *Ctx, s *Svc) {
			if s.Deploy == nil || s.Deploy.UpdateConfig == nil || s.Deploy.UpdateConfig.FailureAction == "rollback" {
				return
			}
			fa := s.Deploy.UpdateConfig.FailureAction
			if fa == "" {
				fa = "pause (default)"
			}
			c.At(s.Path("deploy", "update_config", "failure_action"), "service %s: update failure_action is %s", s.Name, fa)
		},
	},
	{
		ID: "deploy.update.parallelism", Theme: "updates", Area: AreaUpdates, Severity: Warning,
		Title: "Update parallelism 0 (all tasks at once)",
		Why:   "parallelism: 0 replaces every task at the same time: the service is down during the update and a bad image takes all replicas.",
		Fix:   "Set parallelism to 1 (or a small fraction of the replicas).",
		Service: func(c *Ctx, s *Svc) {
			for _, kind := range []string{"update_config", "rollback_config"} {
				u := s.Deploy
				if u == nil {
					return
				}
				cfg := u.UpdateConfig
				if kind == "rollback_config" {
					cfg = u.RollbackConfig
				}
				if cfg != nil && cfg.Parallelism != nil && *cfg.Parallelism == 0 {
					c.At(s.Path("deploy", kind, "parallelism"), "service %s: %s.parallelism is 0: every task is replaced at once", s.Name, kind)
				}
			}
		},
	},
	{
		ID: "deploy.update.monitor", Theme: "updates", Area: AreaUpdates, Severity: Warning,
		Title: "Update without monitor period",
		Why:   "Swarm judges a new task over monitor (default 5s) only; a task that fails its health check after that is not counted as a failed update and no rollback happens.",
		Fix:   "Set deploy.update_config.monitor to cover start_period plus a few health check intervals (for example 30s).",
		Service: func(c *Ctx, s *Svc) {
			if s.Deploy == nil || s.Deploy.UpdateConfig == nil || s.Deploy.UpdateConfig.Monitor > 0 {
				return
			}
			c.At(s.Path("deploy", "update_config", "monitor"), "service %s: update_config has no monitor (Swarm default 5s)", s.Name)
		},
	},
	{
		ID: "deploy.update.order", Theme: "updates", Area: AreaUpdates, Severity: Warning,
		Title: "Stateless service updated stop-first",
		Why:   "stop-first (the default) stops the old task before the new one is ready: each update costs capacity, and for a single replica an outage.",
		Fix:   "Set deploy.update_config.order: start-first for stateless services.",
		Service: func(c *Ctx, s *Svc) {
			if s.Stateful() || s.Global() || s.Job() || s.hostModePorts() {
				return
			}
			order := ""
			if s.Deploy != nil && s.Deploy.UpdateConfig != nil {
				order = s.Deploy.UpdateConfig.Order
			}
			if order != "start-first" {
				c.At(s.Path("deploy", "update_config", "order"), "stateless service %s is updated stop-first", s.Name)
			}
		},
	},
	{
		ID: "deploy.update.order-stateful", Theme: "updates", Area: AreaUpdates, Severity: Warning,
		Title: "Stateful service updated start-first",
		Why:   "start-first runs the old and new task side by side: two database processes on the same volume corrupt it, or the new one fails on the lock.",
		Fix:   "Use order: stop-first for services that own a volume.",
		Service: func(c *Ctx, s *Svc) {
			if s.Stateful() && s.Deploy != nil && s.Deploy.UpdateConfig != nil && s.Deploy.UpdateConfig.Order == "start-first" {
				c.At(s.Path("deploy", "update_config", "order"), "stateful service %s is updated start-first", s.Name)
			}
		},
	},
	{
		ID: "deploy.stop-grace-period", Theme: "updates", Area: AreaUpdates, Severity: Error, Dev: true,
		Title: "stop_grace_period shorter than the service's drain",
		Why:   "Docker sends SIGKILL when stop_grace_period (default 10s) ends: requests still draining are cut off on every deploy and scale-down.",
		Fix:   "Set stop_grace_period to the drain time plus a margin.",
		Service: func(c *Ctx, s *Svc) {
			d, from := s.drain()
			if d == 0 {
				return
			}
			grace := 10 * time.Second
			if s.StopGracePeriod != nil {
				grace = durp(s.StopGracePeriod)
			}
			if grace < d {
				c.At(s.Path("stop_grace_period"), "service %s drains for %s (%s) but stop_grace_period is %s", s.Name, d, from, grace)
			}
		},
	},
	{
		ID: "deploy.restart-policy", Theme: "updates", Area: AreaUpdates, Severity: Info, DevSeverity: Warning,
		Title: "No restart policy",
		Why:   "Swarm's default restarts a crashing task immediately and forever, a hot loop that floods logs; docker compose's default never restarts.",
		Fix:   "Swarm: deploy.restart_policy {condition: on-failure, delay: 5s, max_attempts: 5, window: 2m}. Compose: restart: unless-stopped.",
		Service: func(c *Ctx, s *Svc) {
			if s.Job() {
				return
			}
			if c.Swarm() {
				if s.Deploy == nil || s.Deploy.RestartPolicy == nil {
					c.At(s.Path("deploy", "restart_policy"), "service %s has no deploy.restart_policy", s.Name)
				}
				return
			}
			if s.Restart == "" && (s.Deploy == nil || s.Deploy.RestartPolicy == nil) {
				c.At(s.Path("restart"), "service %s has no restart policy", s.Name)
			}
		},
	},
}

func (s *Svc) hostModePorts() bool {
	for _, p := range s.Ports {
		if p.Mode == "host" {
			return true
		}
	}
	return false
}
