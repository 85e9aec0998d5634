package audit

import "fmt"

func (d *DaemonCfg) boolSetting(k string) (bool, bool) {
	v, ok := d.Settings[k].(bool)
	return v, ok
}

var daemonRules = []Rule{
	{
		ID: "daemon.log-rotation", Theme: "daemon", Area: AreaLogging, Severity: Warning, Dev: true,
		Title: "daemon.json: default logs not rotated",
		Why:   "The daemon's default json-file driver never rotates: every container that does not set its own options can fill the disk.",
		Fix:   "Set \"log-driver\": \"json-file\", \"log-opts\": {\"max-size\": \"10m\", \"max-file\": \"3\"} (or \"log-driver\": \"local\").",
		Daemon: func(c *Ctx, d *DaemonCfg) {
			drv, _ := d.Settings["log-driver"].(string)
			if drv != "" && drv != "json-file" {
				return
			}
			opts, _ := d.Settings["log-opts"].(map[string]any)
			if opts["max-size"] == nil || opts["max-file"] == nil {
				c.AtDaemon(d.Daemon, pathOf("log-opts"), "json-file logs are not rotated by default (log-opts max-size and max-file)")
			}
		},
	},
	{
		ID: "daemon.icc", Theme: "daemon", Area: AreaSecurity, Severity: Warning, Dev: true,
		Title: "daemon.json: inter-container communication on the default bridge",
		Why:   "With icc on (the default) every container on the default bridge can reach every other one's ports. (It affects the default bridge only; Swarm overlays are separated by networks.)",
		Fix:   "Set \"icc\": false.",
		Daemon: func(c *Ctx, d *DaemonCfg) {
			if v, ok := d.boolSetting("icc"); !ok || v {
				c.AtDaemon(d.Daemon, pathOf("icc"), "icc is not false")
			}
		},
	},
	{
		ID: "daemon.no-new-privileges", Theme: "daemon", Area: AreaSecurity, Severity: Warning, Dev: true,
		Title: "daemon.json: no-new-privileges not the default",
		Why:   "docker stack deploy ignores security_opt, so in Swarm the daemon default is the only way to stop setuid binaries regaining root.",
		Fix:   "Set \"no-new-privileges\": true.",
		Daemon: func(c *Ctx, d *DaemonCfg) {
			if v, _ := d.boolSetting("no-new-privileges"); !v {
				c.AtDaemon(d.Daemon, pathOf("no-new-privileges"), "no-new-privileges is not on by default")
			}
		},
	},
	{
		ID: "daemon.userns-remap", Theme: "daemon", Area: AreaSecurity, Severity: Info, Dev: true,
		Title: "daemon.json: no user namespace remapping",
		Why:   "Without userns-remap, root in a container is uid 0 on the host; with it, an escape lands as an unprivileged uid. It conflicts with host-namespace and privileged services (see daemon.userns-remap.conflict).",
		Fix:   "Set \"userns-remap\": \"default\" on nodes whose services need no host namespaces.",
		Daemon: func(c *Ctx, d *DaemonCfg) {
			if v, _ := d.Settings["userns-remap"].(string); v == "" {
				c.AtDaemon(d.Daemon, pathOf("userns-remap"), "userns-remap is not set")
			}
		},
	},
	{
		ID: "daemon.userns-remap.conflict", Theme: "daemon", Area: AreaSecurity, Severity: Error, Dev: true,
		Title: "userns-remap with services that need host namespaces",
		Why:   "With userns-remap, services using host network/PID/IPC or privileged need --userns=host, which docker stack deploy cannot set (userns_mode is ignored): they fail or lose access.",
		Fix:   "Run those services on nodes without userns-remap (node labels), or drop the host namespace.",
		Daemon: func(c *Ctx, d *DaemonCfg) {
			if v, _ := d.Settings["userns-remap"].(string); v == "" || c.In.Project == nil {
				return
			}
			for _, name := range c.In.Project.ServiceNames() {
				s := c.In.Project.Model.Services[name]
				if s.NetworkMode == "host" || s.Pid == "host" || s.Ipc == "host" || s.Privileged {
					c.AtDaemon(d.Daemon, pathOf("userns-remap"), "%s", fmt.Sprintf("userns-remap conflicts with service %s, which uses a host namespace or privileged mode", name))
				}
			}
		},
	},
	{
		ID: "daemon.live-restore.swarm", Theme: "daemon", Area: AreaSecurity, Severity: Error,
		Title: "daemon.json: live-restore with Swarm mode",
		Why:   "live-restore is incompatible with Swarm mode: dockerd refuses to init or join a swarm while it is on. Swarm reschedules tasks instead; the common advice to enable it does not apply to Swarm nodes.",
		Fix:   "Remove \"live-restore\": true on Swarm nodes (keep it on standalone Docker hosts).",
		Daemon: func(c *Ctx, d *DaemonCfg) {
			if v, _ := d.boolSetting("live-restore"); v {
				c.AtDaemon(d.Daemon, pathOf("live-restore"), "live-restore cannot be used with Swarm mode")
			}
		},
	},
	{
		ID: "daemon.live-restore", Theme: "daemon", Area: AreaSecurity, Severity: Off, DevSeverity: Info,
		Title: "daemon.json: live-restore off on a standalone host",
		Why:   "Without live-restore every daemon upgrade or restart stops all containers on a standalone host.",
		Fix:   "Set \"live-restore\": true (standalone Docker only: never on Swarm nodes).",
		Daemon: func(c *Ctx, d *DaemonCfg) {
			if v, _ := d.boolSetting("live-restore"); !v {
				c.AtDaemon(d.Daemon, pathOf("live-restore"), "live-restore is off")
			}
		},
	},
}
