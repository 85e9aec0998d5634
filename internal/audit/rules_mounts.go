package audit

import (
	"path"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

func isDockerSocket(src string) bool {
	s := strings.TrimSuffix(strings.ReplaceAll(src, "//", "/"), "/")
	return strings.HasSuffix(s, "/docker.sock") || s == "/var/run/docker" || strings.HasSuffix(s, "/containerd.sock") || strings.HasSuffix(s, "/podman.sock")
}

var sensitiveHostPaths = []string{"/", "/etc", "/proc", "/sys", "/dev", "/boot", "/root", "/home", "/var/lib/docker", "/var/lib/containerd", "/var/run", "/run", "/usr", "/lib", "/bin", "/sbin", "/var/log", "/etc/docker", "/etc/shadow", "/etc/passwd", "/etc/kubernetes", "/var/lib/kubelet"}

// sensitiveHost returns the sensitive host path that src is, or lies in
// (only for the top-level system directories), or "".
func sensitiveHost(src string) string {
	if src == "" || !strings.HasPrefix(src, "/") {
		return ""
	}
	clean := path.Clean(src)
	for _, p := range sensitiveHostPaths {
		if clean == p {
			return p
		}
	}
	for _, p := range []string{"/etc", "/proc", "/sys", "/boot", "/root", "/var/lib/docker", "/dev"} {
		if strings.HasPrefix(clean, p+"/") {
			return p
		}
	}
	return ""
}

func bindMount(v types.ServiceVolumeConfig) bool {
	return v.Type == types.VolumeTypeBind || (v.Type == "" && strings.HasPrefix(v.Source, "/"))
}

var mountRules = []Rule{
	{
		ID: "mounts.docker-socket", Theme: "mounts", Area: AreaSecurity, Severity: Error, Dev: true,
		Title: "Docker socket mounted",
		Why:   "Whoever reaches the Docker API is root on the host, and on a manager, on the whole swarm. Mounting the socket read-only changes nothing: :ro protects the socket file, not the API behind it.",
		Fix:   "Put a socket proxy in front (for example tecnativa/docker-socket-proxy on a manager, exposing only the read endpoints the service needs) and point the service at tcp://socket-proxy:2375.",
		Service: func(c *Ctx, s *Svc) {
			if s.SocketProxy() {
				return
			}
			for i, v := range s.Volumes {
				if isDockerSocket(v.Source) {
					ro := ""
					if v.ReadOnly {
						ro = " (read-only is still root-equivalent)"
					}
					c.At(s.Path("volumes", itoa(i)), "service %s mounts the Docker socket %s%s", s.Name, v.Source, ro)
				}
			}
		},
	},
	{
		ID: "mounts.sensitive-host-path", Theme: "mounts", Area: AreaSecurity, Severity: Error, DevSeverity: Warning,
		Title: "Sensitive host path mounted",
		Why:   "Mounting /, /etc, /proc, /sys, /var/lib/docker and the like exposes host credentials and kernel interfaces; written to, they give the host away.",
		Fix:   "Mount only the specific files the service needs, read-only, or use configs:/secrets:. Monitoring agents that truly need host paths: suppress with a reason.",
		Service: func(c *Ctx, s *Svc) {
			for i, v := range s.Volumes {
				if !bindMount(v) || isDockerSocket(v.Source) {
					continue
				}
				if p := sensitiveHost(v.Source); p != "" {
					mode := "read-write"
					if v.ReadOnly {
						mode = "read-only"
					}
					c.At(s.Path("volumes", itoa(i)), "service %s mounts host path %s (%s)", s.Name, v.Source, mode)
				}
			}
		},
	},
	{
		ID: "mounts.propagation", Theme: "mounts", Area: AreaSecurity, Severity: Warning, Dev: true,
		Title: "Shared mount propagation",
		Why:   "shared/rshared propagation lets mounts made inside the container appear on the host (and the reverse): a container can shadow host paths.",
		Fix:   "Use the default rprivate propagation unless the service is a storage driver.",
		Service: func(c *Ctx, s *Svc) {
			for i, v := range s.Volumes {
				if v.Bind != nil && (v.Bind.Propagation == "shared" || v.Bind.Propagation == "rshared") {
					c.At(s.Path("volumes", itoa(i)), "service %s mounts %s with %s propagation", s.Name, v.Source, v.Bind.Propagation)
				}
			}
		},
	},
}
