package audit

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/berth-platform/berth/internal/compose"
	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"
)

// Input is what one audit run judges. Any part may be nil.
type Input struct {
	Project     *compose.Project
	Dockerfiles []*compose.Dockerfile // standalone Dockerfiles
	Daemon      *compose.Daemon
}

// Options tune a run.
type Options struct {
	Profile string // default swarm-production
	Config  *Config
	// BaseDir makes finding paths relative to it (usually the cwd).
	BaseDir string
}

// Svc is a service under check: its resolved config and where it came from.
type Svc struct {
	Name string
	*types.ServiceConfig
	P          *compose.Project
	Dockerfile *compose.Dockerfile // when built from a local Dockerfile
	unset      *unsetVars          // P.Unset indexed; nil means not yet
	memo       struct{ stateful, edge, socketProxy memo }
	envKeys    []string // sorted keys of Environment, once asked for
}

// EnvKeys returns the names of the service's environment, sorted. Callers
// must not modify the slice.
func (s *Svc) EnvKeys() []string {
	if s.envKeys == nil {
		s.envKeys = sortedKeys(s.Environment)
	}
	return s.envKeys
}

// Path returns services.<name>.segs.
func (s *Svc) Path(segs ...string) compose.Path {
	return compose.P("services", s.Name).Append(segs...)
}

// Raw returns the node as written at services.<name>.segs, or nil.
func (s *Svc) Raw(segs ...string) *yaml.Node {
	var buf [8]string // rules ask often: no allocation for the path
	return s.P.Raw(compose.Path(append(append(buf[:0], "services", s.Name), segs...)))
}

// Has says whether the key is written (in any file) for this service.
func (s *Svc) Has(segs ...string) bool { return s.Raw(segs...) != nil }

// DF is a Dockerfile under check, and the service built from it, if any.
type DF struct {
	*compose.Dockerfile
	Service *Svc
}

// DaemonCfg is a daemon.json under check.
type DaemonCfg struct {
	*compose.Daemon
}

// Ctx is what a rule's check reports through.
type Ctx struct {
	Rule    *Rule
	Profile string
	In      Input
	sev     Severity
	run     *runState
	subject string
	service string
	out     *[]Finding
	docs    string // Rule.Docs(), once per rule
}

// Swarm says whether the profile targets docker stack deploy.
func (c *Ctx) Swarm() bool { return c.Profile != ProfileDev }

func (c *Ctx) add(loc compose.Location, msg string) {
	if c.docs == "" {
		c.docs = c.Rule.Docs()
	}
	*c.out = append(*c.out, Finding{
		Rule: c.Rule.ID, Severity: c.sev, Area: c.Rule.Area, Title: c.Rule.Title,
		Message: msg, File: loc.File, Line: loc.Line, Column: loc.Column, Path: loc.Path,
		Service: c.service, Fix: c.Rule.Fix, Docs: c.docs, subject: c.subject,
	})
}

// At reports a finding at a compose YAML path.
func (c *Ctx) At(p compose.Path, format string, args ...any) {
	c.add(c.In.Project.Locate(p), fmt.Sprintf(format, args...))
}

// AtLine reports a finding in a Dockerfile.
func (c *Ctx) AtLine(d *compose.Dockerfile, line int, format string, args ...any) {
	c.add(compose.Location{File: d.Path, Line: line, Column: 1}, fmt.Sprintf(format, args...))
}

// AtDaemon reports a finding at a daemon.json key.
func (c *Ctx) AtDaemon(d *compose.Daemon, p compose.Path, format string, args ...any) {
	c.add(d.Locate(p), fmt.Sprintf(format, args...))
}

// Report is the outcome of one audit.
type Report struct {
	Profile    string       `json:"profile"`
	Findings   []Finding    `json:"findings"`
	Suppressed []Suppressed `json:"suppressed"`
	Scores     []AreaScore  `json:"scores"`
	// Unset lists variables Docker would substitute with "".
	Unset []string `json:"unset_variables,omitempty"`
}

// Count returns how many findings are at or above sev.
func (r *Report) Count(sev Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity >= sev {
			n++
		}
	}
	return n
}

// Check runs every rule of the profile over in.
func Check(in Input, o Options) *Report {
	profile := o.Profile
	if profile == "" {
		profile = ProfileSwarm
	}
	cfg := o.Config
	if cfg == nil {
		cfg = &Config{}
	}
	var raw []Finding
	// checks counts, per area, the distinct (rule, subject) pairs evaluated.
	// Rule IDs and service names are unique, so only Dockerfile subjects
	// (two services may build from one Dockerfile) need a set.
	checks := map[Area]int{}
	var seen map[check]bool
	mark := func(r *Rule, subject string, unique bool) {
		if !unique {
			k := check{r.ID, subject}
			if seen[k] {
				return
			}
			if seen == nil {
				seen = map[check]bool{}
			}
			seen[k] = true
		}
		checks[r.Area]++
	}

	run := &runState{}
	var svcs []*Svc
	var subjects []string // "service:" + name, per service
	var dfs []*DF
	if p := in.Project; p != nil {
		unset := newUnsetVars(p.Unset)
		for _, name := range p.ServiceNames() {
			sc := p.Model.Services[name]
			s := &Svc{Name: name, ServiceConfig: &sc, P: p, unset: unset}
			subjects = append(subjects, "service:"+name)
			if p.Dockerfiles != nil {
				if d := p.Dockerfiles[name]; d != nil {
					s.Dockerfile = d
					dfs = append(dfs, &DF{Dockerfile: d, Service: s})
				}
			}
			svcs = append(svcs, s)
		}
	}
	for _, d := range in.Dockerfiles {
		dfs = append(dfs, &DF{Dockerfile: d})
	}
	// About ten findings a service in real stacks: room for them up front.
	raw = make([]Finding, 0, 12*len(svcs)+4*len(dfs)+8)

	for i := range Rules {
		r := &Rules[i]
		sev := cfg.severity(r, profile)
		if sev == Off {
			continue
		}
		c := &Ctx{Rule: r, Profile: profile, In: in, sev: sev, out: &raw, run: run}
		switch {
		case r.Service != nil:
			for i, s := range svcs {
				c.subject, c.service = subjects[i], s.Name
				mark(r, c.subject, true)
				r.Service(c, s)
			}
		case r.Project != nil && in.Project != nil:
			c.subject, c.service = "project", ""
			mark(r, c.subject, true)
			r.Project(c)
		case r.Dockerfile != nil:
			for _, d := range dfs {
				c.subject, c.service = "dockerfile:"+d.Path, ""
				if d.Service != nil {
					c.service = d.Service.Name
				}
				mark(r, c.subject, false)
				r.Dockerfile(c, d)
			}
		case r.Daemon != nil && in.Daemon != nil:
			c.subject, c.service = "daemon", ""
			mark(r, c.subject, true)
			r.Daemon(c, &DaemonCfg{in.Daemon})
		}
	}

	rep := &Report{Profile: profile, Findings: []Finding{}, Suppressed: []Suppressed{}}
	if in.Project != nil {
		rep.Unset = in.Project.Unset
	}
	var ignores []compose.Ignore
	if in.Project != nil {
		ignores = append(ignores, in.Project.Ignores()...)
	}
	for _, d := range in.Dockerfiles {
		ignores = append(ignores, d.Ignores...)
	}
	// Inline suppressions must say why; one without a reason suppresses
	// nothing and is itself reported.
	for _, ig := range ignores {
		if ig.Reason == "" {
			raw = append(raw, Finding{
				Rule: "audit.suppression.reason", Severity: Warning, Area: AreaObservability,
				Title:   "Suppression without a reason",
				Message: fmt.Sprintf("berth:ignore %s has no reason, so it suppresses nothing", strings.Join(ig.Rules, ",")),
				File:    ig.File, Line: ig.Line, Column: 1,
				Fix:  "Write why the finding is accepted after the rule ID: # berth:ignore RULE reason",
				Docs: "docs/audit.md#suppressions",
			})
		}
	}

	// failed holds the evaluated pairs with a finding, and their area; the
	// suppression-reason findings above belong to no evaluated pair.
	failed := map[check]Area{}
	kept := make([]int, 0, len(raw)) // indexes in raw of the findings reported
	for i := range raw {
		f := &raw[i]
		if s, ok := suppress(*f, ignores, cfg); ok {
			rep.Suppressed = append(rep.Suppressed, s)
			continue
		}
		if f.subject != "" {
			failed[check{f.Rule, f.subject}] = f.Area
		}
		f.File = rel(o.BaseDir, f.File)
		kept = append(kept, i)
	}
	rep.Scores = scores(checks, failed)
	for i := range rep.Suppressed {
		rep.Suppressed[i].File = rel(o.BaseDir, rep.Suppressed[i].File)
		rep.Suppressed[i].By = rel(o.BaseDir, rep.Suppressed[i].By)
	}
	// Sorted stably by position, then rule and message. Findings are large:
	// the reported ones are moved to the front of raw, their indexes sorted,
	// and the permutation applied in place, each finding moved about once.
	for i, j := range kept {
		raw[i] = raw[j]
		kept[i] = i
	}
	found := raw[:len(kept):len(kept)]
	sort.SliceStable(kept, func(i, j int) bool { return less(&found[kept[i]], &found[kept[j]]) })
	permute(found, kept)
	rep.Findings = found
	sort.SliceStable(rep.Suppressed, func(i, j int) bool { return less(&rep.Suppressed[i].Finding, &rep.Suppressed[j].Finding) })
	return rep
}

func rel(base, file string) string {
	if base == "" || file == "" || !filepath.IsAbs(file) {
		return file
	}
	byLine := ""
	if i := strings.LastIndex(file, ":"); i > 0 && isDigits(file[i+1:]) {
		file, byLine = file[:i], file[i:]
	}
	if r, err := filepath.Rel(base, file); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r) + byLine
	}
	return file + byLine
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

func less(a, b *Finding) bool {
	if a.File != b.File {
		return a.File < b.File
	}
	if a.Line != b.Line {
		return a.Line < b.Line
	}
	if a.Column != b.Column {
		return a.Column < b.Column
	}
	if a.Rule != b.Rule {
		return a.Rule < b.Rule
	}
	return a.Message < b.Message
}

// permute rearranges fs so that fs[i] becomes the old fs[order[i]],
// following the permutation's cycles; order is consumed.
func permute(fs []Finding, order []int) {
	for i := range order {
		if order[i] < 0 {
			continue
		}
		tmp := fs[i]
		j := i
		for {
			k := order[j]
			order[j] = -1
			if k == i {
				fs[j] = tmp
				break
			}
			fs[j] = fs[k]
			j = k
		}
	}
}

// AreaScore is one row of the readiness table: of the checks that applied
// in this area (rule × subject), how many passed.
type AreaScore struct {
	Area   Area `json:"area"`
	Checks int  `json:"checks"`
	Passed int  `json:"passed"`
	// Score is Passed/Checks in percent; 100 when nothing applied.
	Score int `json:"score"`
}

// check is one rule evaluated on one subject.
type check struct{ rule, subject string }

func scores(checks map[Area]int, failed map[check]Area) []AreaScore {
	failedIn := map[Area]int{}
	for _, a := range failed {
		failedIn[a]++
	}
	out := make([]AreaScore, 0, len(Areas))
	for _, a := range Areas {
		s := AreaScore{Area: a, Checks: checks[a], Passed: checks[a] - failedIn[a]}
		s.Score = 100
		if s.Checks > 0 {
			s.Score = s.Passed * 100 / s.Checks
		}
		out = append(out, s)
	}
	return out
}

// runState holds what several rules derive from the whole project, computed
// once per Check so per-service rules stay linear in the project size.
type runState struct {
	traefikDone bool
	traefik     *traefikConfig
	// secretNames memoises secretName: several rules ask about every
	// environment variable of every service.
	secretNames map[string]bool
}

func (r *runState) secretName(name string) bool {
	v, ok := r.secretNames[name]
	if !ok {
		if r.secretNames == nil {
			r.secretNames = map[string]bool{}
		}
		v = secretName(name)
		r.secretNames[name] = v
	}
	return v
}
