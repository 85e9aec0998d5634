package audit

import (
	"fmt"
	"strconv"

	"github.com/compose-spec/compose-go/v2/types"
)

// resourceRule builds the four limit/reservation rules, which differ only
// in the field they read.
func resourceRule(id, title, kind, field string, sev, dev Severity) Rule {
	section := "limits"
	if kind == "reservation" {
		section = "reservations"
	}
	return Rule{
		ID: id, Theme: "resources", Area: AreaResources, Severity: sev, DevSeverity: dev, Title: title,
		Why: map[string]string{
			"limits/memory":       "Without a memory limit one leaking service takes the node's memory and the kernel OOM-kills its neighbours, Docker itself included.",
			"limits/cpus":         "Without a CPU limit one busy service starves every other task on the node: a noisy neighbour the scheduler cannot contain.",
			"reservations/memory": "Swarm places tasks by reservations; without one it packs tasks onto nodes that cannot hold them, and they are OOM-killed under load.",
			"reservations/cpus":   "Without a CPU reservation the scheduler cannot keep CPU for the service, and overcommits nodes.",
		}[section+"/"+field],
		Fix: fmt.Sprintf("Set deploy.resources.%s.%s (for example %s); docker compose reads it too.", section, field, map[string]string{"memory": "256M", "cpus": "'0.50'"}[field]),
		Service: func(c *Ctx, s *Svc) {
			if s.Job() {
				return
			}
			var r *types.Resource
			if kind == "reservation" {
				r = s.reservations()
			} else {
				r = s.limits()
			}
			has := r != nil && (field == "memory" && r.MemoryBytes > 0 || field == "cpus" && r.NanoCPUs > 0)
			if has {
				return
			}
			legacy := map[string]bool{
				"limit/memory":       s.MemLimit > 0,
				"limit/cpus":         s.CPUS > 0 || s.CPUQuota > 0,
				"reservation/memory": s.MemReservation > 0,
				"reservation/cpus":   false,
			}[kind+"/"+field]
			p := s.Path("deploy", "resources", section, field)
			switch {
			case legacy && !c.Swarm():
				return
			case legacy:
				c.At(p, "service %s sets a %s %s only in the compose form, which docker stack deploy ignores: set deploy.resources.%s.%s", s.Name, field, kind, section, field)
			default:
				c.At(p, "service %s has no %s %s", s.Name, field, kind)
			}
		},
	}
}

var resourceRules = []Rule{
	resourceRule("resources.limits.memory", "No memory limit", "limit", "memory", Warning, Warning),
	resourceRule("resources.limits.cpus", "No CPU limit", "limit", "cpus", Warning, Info),
	resourceRule("resources.reservations.memory", "No memory reservation", "reservation", "memory", Warning, Info),
	resourceRule("resources.reservations.cpus", "No CPU reservation", "reservation", "cpus", Warning, Info),
	{
		ID: "resources.limits.pids", Theme: "resources", Area: AreaResources, Severity: Info, Dev: true,
		Title: "No pids limit",
		Why:   "A fork bomb or a thread leak in one container exhausts the node's process table and stops every other container from starting processes.",
		Fix:   "Set deploy.resources.limits.pids (Swarm, Docker 25+) or pids_limit (compose), for example 256.",
		Service: func(c *Ctx, s *Svc) {
			if l := s.limits(); (l != nil && l.Pids > 0) || s.PidsLimit > 0 {
				return
			}
			c.At(s.Path("deploy", "resources", "limits", "pids"), "service %s has no pids limit", s.Name)
		},
	},
	{
		ID: "resources.reservation-above-limit", Theme: "resources", Area: AreaResources, Severity: Error, Dev: true,
		Title: "Reservation above limit",
		Why:   "A reservation larger than the limit can never be used: Swarm reserves capacity the task is not allowed to consume, and Docker rejects some such combinations at deploy.",
		Fix:   "Make each reservation at most the matching limit.",
		Service: func(c *Ctx, s *Svc) {
			l, r := s.limits(), s.reservations()
			if l == nil || r == nil {
				return
			}
			if l.MemoryBytes > 0 && r.MemoryBytes > l.MemoryBytes {
				c.At(s.Path("deploy", "resources", "reservations", "memory"), "service %s reserves %s of memory but is limited to %s", s.Name, bytesHuman(int64(r.MemoryBytes)), bytesHuman(int64(l.MemoryBytes)))
			}
			if l.NanoCPUs > 0 && r.NanoCPUs > l.NanoCPUs {
				c.At(s.Path("deploy", "resources", "reservations", "cpus"), "service %s reserves %s CPUs but is limited to %s", s.Name, strconv.FormatFloat(float64(r.NanoCPUs), 'f', -1, 32), strconv.FormatFloat(float64(l.NanoCPUs), 'f', -1, 32))
			}
		},
	},
}

func bytesHuman(b int64) string {
	switch {
	case b >= 1<<30 && b%(1<<30) == 0:
		return fmt.Sprintf("%dG", b>>30)
	case b >= 1<<20 && b%(1<<20) == 0:
		return fmt.Sprintf("%dM", b>>20)
	case b >= 1<<10 && b%(1<<10) == 0:
		return fmt.Sprintf("%dK", b>>10)
	}
	return fmt.Sprintf("%dB", b)
}
