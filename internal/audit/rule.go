package audit

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Severity ranks findings; Off disables a rule.
type Severity int

// Severities, lowest first.
const (
	Off Severity = iota
	Info
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return "off"
}

// MarshalJSON writes the severity by name.
func (s Severity) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON reads a severity name.
func (s *Severity) UnmarshalJSON(b []byte) error {
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	p, err := ParseSeverity(v)
	*s = p
	return err
}

// ParseSeverity reads info, warning, error, off (or none).
func ParseSeverity(v string) (Severity, error) {
	switch strings.ToLower(v) {
	case "info", "note":
		return Info, nil
	case "warning", "warn":
		return Warning, nil
	case "error":
		return Error, nil
	case "off", "none":
		return Off, nil
	}
	return Off, fmt.Errorf("unknown severity %q (want info, warning, error or none)", v)
}

// Area is a readiness area of the score table.
type Area string

// The areas, in the order the score table shows them.
const (
	AreaHealth        Area = "health"
	AreaResources     Area = "resources"
	AreaUpdates       Area = "updates"
	AreaSpread        Area = "spread"
	AreaSecrets       Area = "secrets"
	AreaSecurity      Area = "security"
	AreaImages        Area = "images"
	AreaNetworks      Area = "networks"
	AreaLogging       Area = "logging"
	AreaObservability Area = "observability"
)

// Areas lists every area in display order.
var Areas = []Area{AreaHealth, AreaResources, AreaUpdates, AreaSpread, AreaSecrets, AreaSecurity, AreaImages, AreaNetworks, AreaLogging, AreaObservability}

// Profiles select which rules run and at what severity.
const (
	ProfileSwarm  = "swarm-production"
	ProfileDev    = "compose-dev"
	ProfileStrict = "swarm-strict"
)

// ProfileNames lists the profiles.
var ProfileNames = []string{ProfileSwarm, ProfileDev, ProfileStrict}

// Rule is one readiness check. Exactly one of the Check functions is set;
// it is called once per subject (service, project, Dockerfile, daemon.json).
type Rule struct {
	ID       string
	Area     Area
	Severity Severity // in swarm-production and swarm-strict
	// DevSeverity overrides Severity in compose-dev; Off there means the rule
	// is about Swarm only. Leave zero and set Dev=true to keep Severity.
	DevSeverity Severity
	Dev         bool
	// StrictOnly rules run only in swarm-strict (at Severity).
	StrictOnly bool
	// Theme groups rules on the docs pages (docs/rules/<theme>.md).
	Theme string
	Title string
	Why   string
	Fix   string

	Service    func(c *Ctx, s *Svc)
	Project    func(c *Ctx)
	Dockerfile func(c *Ctx, d *DF)
	Daemon     func(c *Ctx, d *DaemonCfg)
}

// SeverityIn returns the rule's severity in a profile, Off when it does not run.
func (r *Rule) SeverityIn(profile string) Severity {
	switch profile {
	case ProfileDev:
		if r.StrictOnly {
			return Off
		}
		if r.DevSeverity != Off {
			return r.DevSeverity
		}
		if r.Dev {
			return r.Severity
		}
		return Off
	case ProfileStrict:
		return r.Severity
	default:
		if r.StrictOnly {
			return Off
		}
		return r.Severity
	}
}

// Docs is the rule's documentation page and anchor, relative to the repo.
func (r *Rule) Docs() string {
	return "docs/rules/" + r.Theme + ".md#" + strings.ReplaceAll(r.ID, ".", "")
}

// DocsURL is the rule's documentation page as a URL.
func (r *Rule) DocsURL() string {
	return "https://github.com/berth-platform/berth/blob/main/" + r.Docs()
}

// Finding is one problem at one place.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Area     Area     `json:"area"`
	Title    string   `json:"title"`
	Message  string   `json:"message"`
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Column   int      `json:"column"`
	Path     string   `json:"path,omitempty"`
	Service  string   `json:"service,omitempty"`
	Fix      string   `json:"fix"`
	Docs     string   `json:"docs"`
	subject  string
}

// Suppressed is a finding a suppression accepted, and why.
type Suppressed struct {
	Finding
	Reason string `json:"reason"`
	By     string `json:"by"` // file:line of the comment, or the config file
}

// RuleByID finds a rule.
func RuleByID(id string) *Rule {
	for i := range Rules {
		if Rules[i].ID == id {
			return &Rules[i]
		}
	}
	return nil
}
