package audit

// daemonRotates says whether an audited daemon.json already rotates logs.
func daemonRotates(c *Ctx) bool {
	d := c.In.Daemon
	if d == nil {
		return false
	}
	drv, _ := d.Settings["log-driver"].(string)
	if drv == "local" {
		return true
	}
	opts, _ := d.Settings["log-opts"].(map[string]any)
	return (drv == "" || drv == "json-file") && opts["max-size"] != nil && opts["max-file"] != nil
}

var blockingDrivers = map[string]bool{"fluentd": true, "gelf": true, "syslog": true, "splunk": true, "awslogs": true, "gcplogs": true, "loki": true}

var loggingRules = []Rule{
	{
		ID: "logging.rotation", Theme: "logging", Area: AreaLogging, Severity: Warning, Dev: true,
		Title: "Logs not rotated",
		Why:   "The json-file driver keeps every line forever by default: one chatty service fills the node's disk and takes every container on it down.",
		Fix:   "logging: {driver: json-file, options: {max-size: 10m, max-file: \"3\"}} (or the local driver), or set log-opts in daemon.json.",
		Service: func(c *Ctx, s *Svc) {
			l := s.Logging
			if l == nil || l.Driver == "" && len(l.Options) == 0 {
				if !daemonRotates(c) {
					c.At(s.Path("logging"), "service %s uses the default json-file driver without rotation", s.Name)
				}
				return
			}
			if l.Driver != "" && l.Driver != "json-file" {
				return
			}
			if l.Options["max-size"] == "" || l.Options["max-file"] == "" {
				c.At(s.Path("logging", "options"), "service %s: json-file logging without max-size and max-file", s.Name)
			}
		},
	},
	{
		ID: "logging.driver.none", Theme: "logging", Area: AreaLogging, Severity: Warning, Dev: true,
		Title: "Logging disabled",
		Why:   "driver: none discards every line: no incident can be investigated and docker logs shows nothing.",
		Fix:   "Use json-file with rotation, or local.",
		Service: func(c *Ctx, s *Svc) {
			if s.Logging != nil && s.Logging.Driver == "none" {
				c.At(s.Path("logging", "driver"), "service %s discards its logs", s.Name)
			}
		},
	},
	{
		ID: "logging.driver.blocking", Theme: "logging", Area: AreaLogging, Severity: Warning, Dev: true,
		Title: "Remote log driver in blocking mode",
		Why:   "With a remote driver in the default blocking mode, the application stalls on write() when the log store is slow or down.",
		Fix:   "Set logging.options: {mode: non-blocking, max-buffer-size: 4m}, or log to json-file and ship with an agent.",
		Service: func(c *Ctx, s *Svc) {
			if s.Logging != nil && blockingDrivers[s.Logging.Driver] && s.Logging.Options["mode"] != "non-blocking" {
				c.At(s.Path("logging", "options"), "service %s logs through %s in blocking mode", s.Name, s.Logging.Driver)
			}
		},
	},
}
