package audit

import (
	"regexp"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

var (
	roleConstraintRe = regexp.MustCompile(`^\s*node\.role\s*(==|!=)\s*(manager|worker)\s*$`)
	pinConstraintRe  = regexp.MustCompile(`^\s*(node\.hostname|node\.id|node\.labels\.[^=!\s]+)\s*==`)
)

func (s *Svc) constraints() []string {
	if s.Deploy == nil {
		return nil
	}
	return s.Deploy.Placement.Constraints
}

// onManagers says whether constraints put the service on managers.
func (s *Svc) onManagers() bool {
	for _, c := range s.constraints() {
		if m := roleConstraintRe.FindStringSubmatch(c); m != nil {
			if (m[1] == "==") == (m[2] == "manager") {
				return true
			}
		}
	}
	return false
}

func (s *Svc) mountsSocket() bool {
	for _, v := range s.Volumes {
		if isDockerSocket(v.Source) {
			return true
		}
	}
	return false
}

func (s *Svc) localVolumes() bool {
	for _, v := range s.Volumes {
		if v.Type != types.VolumeTypeVolume || v.Source == "" {
			continue
		}
		if vc, ok := s.P.Model.Volumes[v.Source]; ok && (vc.Driver == "" || vc.Driver == "local") && !bool(vc.External) {
			return true
		}
	}
	return false
}

var spreadRules = []Rule{
	{
		ID: "deploy.replicas.single", Theme: "spread", Area: AreaSpread, Severity: Warning,
		Title: "Stateless service with a single replica",
		Why:   "One replica means every node drain, crash or update (with stop-first) is an outage for the service.",
		Fix:   "Run at least deploy.replicas: 2, spread across nodes; mark the service stateful (x-berth: {stateful: true}) if it must be a singleton.",
		Service: func(c *Ctx, s *Svc) {
			if s.Stateful() || s.Global() || s.Job() || s.SocketProxy() || s.Replicas() >= 2 || s.Replicas() == 0 {
				return
			}
			c.At(s.Path("deploy", "replicas"), "stateless service %s runs a single replica", s.Name)
		},
	},
	{
		ID: "deploy.placement.spread", Theme: "spread", Area: AreaSpread, Severity: Warning,
		Title: "Replicas not spread across nodes or zones",
		Why:   "Swarm may place all replicas on one node; losing that node (or its zone) takes the whole service down.",
		Fix:   "Set deploy.placement.max_replicas_per_node: 1 (or a small number) and preferences: [{spread: node.labels.zone}].",
		Service: func(c *Ctx, s *Svc) {
			if s.Global() || s.Replicas() < 2 || s.Deploy == nil {
				return
			}
			if s.Deploy.Placement.MaxReplicas > 0 || len(s.Deploy.Placement.Preferences) > 0 {
				return
			}
			c.At(s.Path("deploy", "placement"), "service %s runs %d replicas without max_replicas_per_node or a spread preference", s.Name, s.Replicas())
		},
	},
	{
		ID: "deploy.placement.managers", Theme: "spread", Area: AreaSpread, Severity: Warning,
		Title: "Application workload placed on managers",
		Why:   "Managers keep the Raft quorum; application load on them slows consensus, and an OOM there can cost the cluster its quorum.",
		Fix:   "Constrain application services to node.role == worker (single-node swarms: leave the role unconstrained). Only services that need the manager API (a socket proxy) belong on managers.",
		Service: func(c *Ctx, s *Svc) {
			// The edge proxy on managers is a deliberate topology (a small,
			// stable set of ingress IPs), not an application workload.
			if !s.onManagers() || s.SocketProxy() || s.mountsSocket() || s.Edge() {
				return
			}
			c.At(s.Path("deploy", "placement", "constraints"), "service %s is constrained to manager nodes but does not use the manager API", s.Name)
		},
	},
	{
		ID: "deploy.placement.stateful", Theme: "spread", Area: AreaSpread, Severity: Warning,
		Title: "Stateful service not pinned",
		Why:   "A local volume lives on one node; if Swarm reschedules the task elsewhere it starts with an empty volume.",
		Fix:   "Pin the service with a placement constraint: node.labels.<tier> == true or node.hostname == <node>.",
		Service: func(c *Ctx, s *Svc) {
			if !s.localVolumes() || s.Global() {
				return
			}
			for _, con := range s.constraints() {
				if pinConstraintRe.MatchString(con) {
					return
				}
			}
			c.At(s.Path("deploy", "placement", "constraints"), "service %s keeps data on a local volume but is not pinned to a node", s.Name)
		},
	},
	{
		ID: "deploy.replicas.stateful", Theme: "spread", Area: AreaSpread, Severity: Warning,
		Title: "Several replicas share a local volume",
		Why:   "Each replica of a service with a local named volume gets its own empty copy on its node: data diverges, and for databases two writers on one node corrupt it.",
		Fix:   "Run stateful services with replicas: 1 (replicate at the application level), or use a volume driver built for sharing.",
		Service: func(c *Ctx, s *Svc) {
			if s.localVolumes() && (s.Replicas() > 1 || s.Global() && !strings.Contains(s.Name, "agent")) && !s.Global() {
				c.At(s.Path("deploy", "replicas"), "service %s runs %d replicas on a local volume", s.Name, s.Replicas())
			}
		},
	},
}
