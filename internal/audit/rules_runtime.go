package audit

import (
	"regexp"
	"strings"
)

var dangerousCaps = map[string]string{
	"ALL": "every capability", "SYS_ADMIN": "mount, namespaces: near root", "NET_ADMIN": "reconfigure host networking",
	"SYS_PTRACE": "read other processes' memory", "SYS_MODULE": "load kernel modules", "DAC_READ_SEARCH": "read any file (shocker)",
	"SYS_RAWIO": "raw device I/O", "SYS_BOOT": "reboot the host", "SYS_TIME": "set the host clock", "MAC_ADMIN": "change LSM policy",
	"NET_RAW": "spoof packets", "BPF": "load eBPF programs", "PERFMON": "observe the host", "SYSLOG": "read kernel logs",
}

var unconfinedRe = regexp.MustCompile(`(?i)^(seccomp|apparmor)[:=]unconfined$|^label[:=]disable$|^systempaths[:=]unconfined$`)

var sudoRe = regexp.MustCompile(`(^|[\s;&|(])sudo(\s|$)`)

func rootUser(u string) bool {
	u = strings.TrimSpace(u)
	name, _, _ := strings.Cut(u, ":")
	return name == "root" || name == "0"
}

// dockerfileUser returns the effective USER of the stage the service runs,
// and whether one was set.
func dockerfileUser(d *dfFile, target string) (string, int, bool) {
	st := d.Final()
	if target != "" {
		if t := d.StageNamed(target); t != nil {
			st = t
		}
	}
	if st == nil {
		return "", 0, false
	}
	user, line, set := "", st.From.Line, false
	for _, in := range st.Instructions {
		if in.Cmd == "user" && len(in.Args) > 0 {
			user, line, set = in.Args[0], in.Line, true
		}
	}
	if !set && (strings.Contains(st.Base, "nonroot") || strings.Contains(st.Base, ":rootless")) {
		return "nonroot", line, true
	}
	return user, line, set
}

var runtimeRules = []Rule{
	{
		ID: "security.privileged", Theme: "runtime", Area: AreaSecurity, Severity: Error, Dev: true,
		Title: "Privileged container",
		Why:   "privileged: true gives the container every capability and every device: it is root on the host. (docker stack deploy ignores it, so the service also will not get what it asks for.)",
		Fix:   "Remove privileged and add only the capabilities and devices the service needs.",
		Service: func(c *Ctx, s *Svc) {
			if s.Privileged {
				c.At(s.Path("privileged"), "service %s runs privileged", s.Name)
			}
		},
	},
	{
		ID: "security.cap-add", Theme: "runtime", Area: AreaSecurity, Severity: Error, DevSeverity: Warning,
		Title: "Dangerous capability added",
		Why:   "Capabilities such as SYS_ADMIN, NET_ADMIN or SYS_PTRACE let a compromised process escape or take over the host.",
		Fix:   "Remove the capability; if truly needed, isolate the service on dedicated nodes and document why.",
		Service: func(c *Ctx, s *Svc) {
			for i, cp := range s.CapAdd {
				name := strings.TrimPrefix(strings.ToUpper(cp), "CAP_")
				if why, ok := dangerousCaps[name]; ok {
					c.At(s.Path("cap_add", itoa(i)), "service %s adds %s (%s)", s.Name, name, why)
				}
			}
		},
	},
	{
		ID: "security.cap-drop", Theme: "runtime", Area: AreaSecurity, Severity: Warning, Dev: true,
		Title: "Capabilities not dropped",
		Why:   "Docker's default set keeps 14 capabilities (CHOWN, SETUID, NET_RAW...) that most services never use but an attacker will.",
		Fix:   "Set cap_drop: [ALL] and cap_add only what the service needs (for example NET_BIND_SERVICE).",
		Service: func(c *Ctx, s *Svc) {
			if !hasString(s.CapDrop, "ALL") && !hasString(s.CapDrop, "CAP_ALL") {
				c.At(s.Path("cap_drop"), "service %s does not drop ALL capabilities", s.Name)
			}
		},
	},
	{
		ID: "security.read-only", Theme: "runtime", Area: AreaSecurity, Severity: Warning, DevSeverity: Info,
		Title: "Writable root filesystem",
		Why:   "A writable root filesystem lets an intruder drop tools and persist changes inside the container.",
		Fix:   "Set read_only: true and mount tmpfs (or volumes) only where the service writes (/tmp, caches).",
		Service: func(c *Ctx, s *Svc) {
			if !s.ReadOnly {
				c.At(s.Path("read_only"), "service %s has a writable root filesystem", s.Name)
			}
		},
	},
	{
		ID: "security.no-new-privileges", Theme: "runtime", Area: AreaSecurity, Severity: Off, DevSeverity: Warning,
		Title: "no-new-privileges not set",
		Why:   "Without no-new-privileges a setuid binary in the image turns a process back into root. (In Swarm, stack deploy ignores security_opt: set \"no-new-privileges\": true in daemon.json instead; see daemon.no-new-privileges.)",
		Fix:   "Add security_opt: [\"no-new-privileges:true\"].",
		Service: func(c *Ctx, s *Svc) {
			for _, o := range s.SecurityOpt {
				if o == "no-new-privileges" || o == "no-new-privileges:true" || o == "no-new-privileges=true" {
					return
				}
			}
			c.At(s.Path("security_opt"), "service %s does not set no-new-privileges", s.Name)
		},
	},
	{
		ID: "security.unconfined", Theme: "runtime", Area: AreaSecurity, Severity: Error, Dev: true,
		Title: "seccomp, AppArmor or SELinux confinement disabled",
		Why:   "The default seccomp and AppArmor profiles block the syscalls most container escapes use; unconfined removes that wall.",
		Fix:   "Remove the unconfined option; if a syscall is missing, use a custom profile that adds only it.",
		Service: func(c *Ctx, s *Svc) {
			for i, o := range s.SecurityOpt {
				if unconfinedRe.MatchString(o) {
					c.At(s.Path("security_opt", itoa(i)), "service %s sets %s", s.Name, o)
				}
			}
		},
	},
	{
		ID: "security.user", Theme: "runtime", Area: AreaSecurity, Severity: Warning, Dev: true,
		Title: "Runs as root, or the user is unknown",
		Why:   "A process running as root in the container is root on the host the moment any escape works; most images default to root.",
		Fix:   "Set user: \"10001:10001\" (or the image's non-root user), or USER in the Dockerfile.",
		Service: func(c *Ctx, s *Svc) {
			if s.User != "" {
				if rootUser(s.User) {
					c.At(s.Path("user"), "service %s runs as %s", s.Name, s.User)
				}
				return
			}
			if s.Dockerfile != nil {
				target := ""
				if s.Build != nil {
					target = s.Build.Target
				}
				if u, _, set := dockerfileUser(s.Dockerfile, target); set && !rootUser(u) {
					return
				}
			}
			c.At(s.Path("user"), "service %s sets no user: it runs as the image's default, usually root", s.Name)
		},
	},
	{
		ID: "security.host-namespace", Theme: "runtime", Area: AreaSecurity, Severity: Error, Dev: true,
		Title: "Host namespace shared",
		Why:   "Sharing the host's network, PID, IPC, UTS or user namespace removes the isolation between the container and the host.",
		Fix:   "Remove network_mode/pid/ipc/uts/userns_mode: host; publish ports instead of host networking.",
		Service: func(c *Ctx, s *Svc) {
			for _, ns := range []struct{ key, v string }{{"network_mode", s.NetworkMode}, {"pid", s.Pid}, {"ipc", s.Ipc}, {"uts", s.Uts}, {"userns_mode", s.UserNSMode}} {
				if ns.v == "host" {
					c.At(s.Path(ns.key), "service %s shares the host's %s namespace", s.Name, strings.TrimSuffix(ns.key, "_mode"))
				}
			}
			for _, n := range sortedKeys(s.Networks) {
				if nc, ok := s.P.Model.Networks[n]; ok && (nc.Name == "host" || n == "host") && bool(nc.External) {
					c.At(s.Path("networks", n), "service %s joins the host network", s.Name)
				}
			}
		},
	},
	{
		ID: "security.devices", Theme: "runtime", Area: AreaSecurity, Severity: Warning, Dev: true,
		Title: "Host device mapped",
		Why:   "A host device inside the container bypasses the kernel's container isolation for that device (and docker stack deploy ignores devices:).",
		Fix:   "Remove devices: unless the service drives hardware; then run it on labelled nodes and document why.",
		Service: func(c *Ctx, s *Svc) {
			for i, d := range s.Devices {
				c.At(s.Path("devices", itoa(i)), "service %s maps host device %s", s.Name, d.Source)
			}
		},
	},
	{
		ID: "security.dockerfile.user", Theme: "runtime", Area: AreaSecurity, Severity: Warning, Dev: true,
		Title: "Dockerfile final stage runs as root",
		Why:   "Without USER (or with USER root) the image runs as root wherever it is started.",
		Fix:   "Add USER 10001:10001 (a numeric non-root user) at the end of the final stage.",
		Dockerfile: func(c *Ctx, d *DF) {
			if d.Final() == nil {
				return
			}
			if d.Service != nil && d.Service.User != "" {
				return // the compose user wins; security.user judges it
			}
			u, line, set := dockerfileUser(d.Dockerfile, "")
			switch {
			case !set:
				c.AtLine(d.Dockerfile, line, "final stage (FROM %s) sets no USER: the image runs as root", d.Final().Base)
			case rootUser(u):
				c.AtLine(d.Dockerfile, line, "final stage runs as USER %s", u)
			}
		},
	},
	{
		ID: "security.dockerfile.sudo", Theme: "runtime", Area: AreaSecurity, Severity: Warning, Dev: true,
		Title: "sudo in a Dockerfile",
		Why:   "sudo in an image means a path back to root at run time, and during builds it hides which steps need root.",
		Fix:   "Run privileged steps before USER, as root, and do not install sudo.",
		Dockerfile: func(c *Ctx, d *DF) {
			for _, st := range d.Stages {
				for _, in := range st.Instructions {
					if in.Cmd != "run" {
						continue
					}
					body := strings.Join(in.Args, " ")
					for _, h := range in.Heredocs {
						body += "\n" + h.Content
					}
					// Every match contains "sudo": the cheap test first.
					if strings.Contains(body, "sudo") && sudoRe.MatchString(body) {
						c.AtLine(d.Dockerfile, in.Line, "RUN uses or installs sudo")
					}
				}
			}
		},
	},
}
