package audit

import (
	"regexp"
	"sort"
	"strings"
)

var backendNetRe = regexp.MustCompile(`(?i)(^|[_-])(back|backend|data|db|database|internal|private|storage|store)([_-]|$)`)

// declaredNetworks lists networks written in the file (not compose-go's
// implicit default) that berth creates (not external).
func declaredNetworks(c *Ctx) []string {
	p := c.In.Project
	var out []string
	for _, n := range sortedKeys(p.Model.Networks) {
		if p.Raw(pathOf("networks", n)) == nil && n == "default" {
			continue
		}
		if bool(p.Model.Networks[n].External) {
			continue
		}
		out = append(out, n)
	}
	return out
}

var networkRules = []Rule{
	{
		ID: "networks.overlay.encrypted", Theme: "networks", Area: AreaNetworks, Severity: Warning,
		Title: "Overlay network not encrypted",
		Why:   "Swarm overlay traffic between nodes is plain VXLAN: anyone on the hosts' network reads it. encrypted adds IPsec between nodes (berth doctor says whether the kernel supports it).",
		Fix:   "Set driver_opts: {encrypted: \"true\"} on overlay networks that cross nodes.",
		Project: func(c *Ctx) {
			for _, n := range declaredNetworks(c) {
				nc := c.In.Project.Model.Networks[n]
				if nc.Driver != "" && nc.Driver != "overlay" {
					continue
				}
				if _, ok := nc.DriverOpts["encrypted"]; ok && nc.DriverOpts["encrypted"] != "false" {
					continue
				}
				c.At(pathOf("networks", n, "driver_opts"), "overlay network %s is not encrypted", n)
			}
		},
	},
	{
		ID: "networks.single", Theme: "networks", Area: AreaNetworks, Severity: Warning, DevSeverity: Info,
		Title: "Every service on one network",
		Why:   "One flat network lets the edge proxy reach the database and a compromised frontend reach everything: there is no tier to contain it.",
		Fix:   "Split networks by tier (edge, app, data); attach each service only to the tiers it talks to.",
		Project: func(c *Ctx) {
			p := c.In.Project
			if len(p.Model.Services) < 3 {
				return
			}
			used := map[string]bool{}
			for _, s := range p.Model.Services {
				if s.NetworkMode != "" {
					continue
				}
				if len(s.Networks) == 0 {
					used["default"] = true
				}
				for n := range s.Networks {
					used[n] = true
				}
			}
			if len(used) == 1 {
				var n string
				for k := range used {
					n = k
				}
				c.At(pathOf("services"), "all %d services share the single network %s", len(p.Model.Services), n)
			}
		},
	},
	{
		ID: "networks.internal", Theme: "networks", Area: AreaNetworks, Severity: Warning, DevSeverity: Info,
		Title: "Backend network not internal",
		Why:   "A data or backend network with outside access lets a compromised database or cache call out (exfiltration, C2) directly.",
		Fix:   "Set internal: true on networks that only carry traffic between services.",
		Project: func(c *Ctx) {
			for _, n := range declaredNetworks(c) {
				nc := c.In.Project.Model.Networks[n]
				if !nc.Internal && backendNetRe.MatchString(n) {
					c.At(pathOf("networks", n), "backend network %s is not internal: true", n)
				}
			}
		},
	},
	{
		ID: "networks.attachable", Theme: "networks", Area: AreaNetworks, Severity: Info,
		Title: "Attachable overlay network",
		Why:   "attachable: true lets any standalone container on any node join the network, outside Swarm's control.",
		Fix:   "Remove attachable unless one-off containers (migrations, debugging) must join; then say so in x-berth: {attachable: reason}.",
		Project: func(c *Ctx) {
			for _, n := range declaredNetworks(c) {
				nc := c.In.Project.Model.Networks[n]
				if !nc.Attachable {
					continue
				}
				if m := xberth(nc.Extensions); m != nil && strings.TrimSpace(toString(m["attachable"])) != "" {
					continue
				}
				c.At(pathOf("networks", n, "attachable"), "network %s is attachable", n)
			}
		},
	},
}

var _ = sort.Strings
