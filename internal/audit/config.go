package audit

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/berth-platform/berth/internal/compose"
	"gopkg.in/yaml.v3"
)

// ConfigFileName is the config file berth audit looks for in the current
// directory when --config is not given.
const ConfigFileName = ".berth-audit.yml"

// Config is the audit config file: defaults for flags, per-rule severity
// overrides, and suppressions that each carry a reason.
type Config struct {
	Path    string            `yaml:"-"`
	Profile string            `yaml:"profile"`
	FailOn  string            `yaml:"fail-on"`
	Rules   map[string]string `yaml:"rules"` // rule ID -> severity or "off"
	Ignore  []ConfigIgnore    `yaml:"ignore"`
	sev     map[string]Severity
}

// ConfigIgnore suppresses findings of Rule (an ID, or a prefix ending in
// ".*") matching every field that is set.
type ConfigIgnore struct {
	Rule    string `yaml:"rule"`
	Service string `yaml:"service"`
	File    string `yaml:"file"` // glob on the finding's file
	Path    string `yaml:"path"` // prefix of the finding's YAML path
	Reason  string `yaml:"reason"`
}

// LoadConfig reads and validates a config file; errors carry file:line.
func LoadConfig(file string) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, &compose.LoadError{File: file, Err: err}
	}
	return ParseConfig(file, data)
}

// ParseConfig parses config content.
func ParseConfig(file string, data []byte) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &compose.LoadError{File: file, Err: err}
	}
	c := &Config{Path: file}
	if len(doc.Content) == 0 {
		return c, nil
	}
	dec := doc.Content[0]
	if err := dec.Decode(c); err != nil {
		return nil, &compose.LoadError{File: file, Line: dec.Line, Err: err}
	}
	c.sev = map[string]Severity{}
	fail := func(p compose.Path, msg string) error {
		sf, _ := compose.ParseSource(file, data)
		le := &compose.LoadError{File: file, Field: p.String(), Err: errors.New(msg)}
		if sf != nil {
			if e, ok := sf.Lookup(p); ok {
				le.Line, le.Column = e.Line()
			}
		}
		return le
	}
	if c.Profile != "" && !validProfile(c.Profile) {
		return nil, fail(compose.P("profile"), fmt.Sprintf("unknown profile %q (want one of %s)", c.Profile, strings.Join(ProfileNames, ", ")))
	}
	if c.FailOn != "" {
		if _, err := ParseSeverity(c.FailOn); err != nil {
			return nil, fail(compose.P("fail-on"), err.Error())
		}
	}
	for id, s := range c.Rules {
		if RuleByID(id) == nil {
			return nil, fail(compose.P("rules", id), fmt.Sprintf("unknown rule %q", id))
		}
		sev, err := ParseSeverity(s)
		if err != nil {
			return nil, fail(compose.P("rules", id), err.Error())
		}
		c.sev[id] = sev
	}
	for i, ig := range c.Ignore {
		if ig.Rule == "" {
			return nil, fail(compose.P("ignore", fmt.Sprint(i)), "an ignore entry needs rule:")
		}
		if strings.TrimSpace(ig.Reason) == "" {
			return nil, fail(compose.P("ignore", fmt.Sprint(i)), fmt.Sprintf("ignore of %s needs a reason: say why the finding is accepted", ig.Rule))
		}
	}
	return c, nil
}

func validProfile(p string) bool {
	for _, n := range ProfileNames {
		if n == p {
			return true
		}
	}
	return false
}

func (c *Config) severity(r *Rule, profile string) Severity {
	base := r.SeverityIn(profile)
	if s, ok := c.sev[r.ID]; ok && (base != Off || s != Off) {
		return s
	}
	return base
}

func ruleMatches(pattern, id string) bool {
	if pattern == id || pattern == "*" {
		return true
	}
	return strings.HasSuffix(pattern, ".*") && strings.HasPrefix(id, strings.TrimSuffix(pattern, "*"))
}

// suppress finds an inline or config suppression with a reason for f.
func suppress(f Finding, ignores []compose.Ignore, cfg *Config) (Suppressed, bool) {
	for _, ig := range ignores {
		if ig.Reason != "" && ig.File == f.File && ig.Covers(f.Rule, f.Line) {
			return Suppressed{Finding: f, Reason: ig.Reason, By: fmt.Sprintf("%s:%d", ig.File, ig.Line)}, true
		}
	}
	for _, ig := range cfg.Ignore {
		if !ruleMatches(ig.Rule, f.Rule) {
			continue
		}
		if ig.Service != "" && ig.Service != f.Service {
			continue
		}
		if ig.Path != "" && !strings.HasPrefix(f.Path, ig.Path) {
			continue
		}
		if ig.File != "" {
			if ok, _ := path.Match(ig.File, f.File); !ok {
				if ok, _ := path.Match(ig.File, path.Base(f.File)); !ok {
					continue
				}
			}
		}
		return Suppressed{Finding: f, Reason: ig.Reason, By: cfg.Path}, true
	}
	return Suppressed{}, false
}
