package audit

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/berth-platform/berth/internal/compose"
)

var update = flag.Bool("update", false, "rewrite golden files and fixture want sections")

// fixture is one rule case: named input files, options and the findings
// expected of the rule under test. Format (one file per case):
//
//	# comment
//	-- compose.yml --
//	...
//	-- args --
//	profile=compose-dev
//	-- want --
//	compose.yml:7 services.web.image
type fixture struct {
	comment  string
	sections []section
}

type section struct {
	name string
	body string
}

func parseFixture(data string) fixture {
	var f fixture
	lines := strings.SplitAfter(data, "\n")
	cur := -1
	for _, l := range lines {
		t := strings.TrimRight(l, "\r\n")
		if strings.HasPrefix(t, "-- ") && strings.HasSuffix(t, " --") && len(t) > 6 {
			f.sections = append(f.sections, section{name: strings.TrimSpace(t[3 : len(t)-3])})
			cur = len(f.sections) - 1
			continue
		}
		if cur < 0 {
			f.comment += l
			continue
		}
		f.sections[cur].body += l
	}
	return f
}

func (f fixture) format() string {
	var b strings.Builder
	b.WriteString(f.comment)
	for _, s := range f.sections {
		fmt.Fprintf(&b, "-- %s --\n%s", s.name, s.body)
	}
	return b.String()
}

func (f fixture) get(name string) (string, bool) {
	for _, s := range f.sections {
		if s.name == name {
			return s.body, true
		}
	}
	return "", false
}

// unescape lets fixtures spell CRLF and BOM: a line ending in \r\n literal
// text, and \ufeff at the start.
func unescape(s string) string {
	s = strings.ReplaceAll(s, `\r`+"\n", "\r\n")
	return strings.Replace(s, `\ufeff`, "\ufeff", 1)
}

// runFixture materialises the case in dir and audits it.
func runFixture(t testing.TB, f fixture, dir string) (*Report, error) {
	args := map[string]string{}
	if a, ok := f.get("args"); ok {
		for _, l := range strings.Fields(a) {
			k, v, _ := strings.Cut(l, "=")
			args[k] = v
		}
	}
	var composeFiles, dockerfiles []string
	daemon := ""
	for _, s := range f.sections {
		if s.name == "args" || s.name == "want" {
			continue
		}
		p := filepath.Join(dir, s.name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(unescape(s.body)), 0o644); err != nil {
			t.Fatal(err)
		}
		base := strings.ToLower(filepath.Base(s.name))
		switch {
		case strings.Contains(base, "dockerfile"):
			dockerfiles = append(dockerfiles, p)
		case base == "daemon.json":
			daemon = p
		case strings.HasSuffix(base, ".yml") || strings.HasSuffix(base, ".yaml") || strings.HasSuffix(base, ".json"):
			composeFiles = append(composeFiles, p)
		}
	}
	if fs, ok := args["files"]; ok {
		composeFiles = nil
		for _, n := range strings.Split(fs, ",") {
			composeFiles = append(composeFiles, filepath.Join(dir, n))
		}
	}
	var in Input
	if len(composeFiles) > 0 {
		env := map[string]string{}
		if e, ok := args["env"]; ok {
			for _, kv := range strings.Split(e, ",") {
				k, v, _ := strings.Cut(kv, ":")
				env[k] = v
			}
		}
		p, err := compose.Load(context.Background(), compose.LoadOptions{Files: composeFiles, Env: env, Dockerfiles: true})
		if err != nil {
			return nil, err
		}
		in.Project = p
	}
	if len(composeFiles) == 0 {
		for _, d := range dockerfiles {
			df, err := compose.LoadDockerfile(d)
			if err != nil {
				return nil, err
			}
			in.Dockerfiles = append(in.Dockerfiles, df)
		}
	}
	if daemon != "" {
		d, err := compose.LoadDaemon(daemon)
		if err != nil {
			return nil, err
		}
		in.Daemon = d
	}
	var cfg *Config
	if c, ok := f.get("config"); ok {
		var err error
		if cfg, err = ParseConfig("config", []byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	return Check(in, Options{Profile: args["profile"], BaseDir: dir, Config: cfg}), nil
}

func TestMain(m *testing.M) {
	flag.Parse()
	logrus.SetOutput(io.Discard) // compose-go's warnings would drown test output
	os.Exit(m.Run())
}

func TestRuleFixtures(t *testing.T) {
	dirs, err := filepath.Glob("testdata/rules/*")
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]int{}
	for _, d := range dirs {
		ruleID := filepath.Base(d)
		if RuleByID(ruleID) == nil && ruleID != "audit.suppression.reason" && ruleID != "loader" {
			t.Errorf("%s: no rule %s", d, ruleID)
			continue
		}
		cases, _ := filepath.Glob(filepath.Join(d, "*.txt"))
		for _, c := range cases {
			covered[ruleID+"/"+strings.FieldsFunc(filepath.Base(c), func(r rune) bool { return r == '-' || r == '.' })[0]]++
			t.Run(ruleID+"/"+strings.TrimSuffix(filepath.Base(c), ".txt"), func(t *testing.T) {
				data, err := os.ReadFile(c)
				if err != nil {
					t.Fatal(err)
				}
				f := parseFixture(string(data))
				rep, err := runFixture(t, f, t.TempDir())
				var got []string
				if err != nil {
					le, ok := err.(*compose.LoadError)
					if !ok {
						t.Fatalf("load: %v", err)
					}
					got = append(got, fmt.Sprintf("load-error %s:%d %s", filepath.Base(le.File), le.Line, le.Field))
				} else {
					for _, fd := range rep.Findings {
						if fd.Rule == ruleID {
							got = append(got, fmt.Sprintf("%s:%d %s", fd.File, fd.Line, fd.Path))
						}
					}
					for _, s := range rep.Suppressed {
						if s.Rule == ruleID {
							got = append(got, fmt.Sprintf("suppressed %s:%d %s", s.File, s.Line, s.Path))
						}
					}
				}
				sort.Strings(got)
				gotText := strings.Join(got, "\n")
				if gotText != "" {
					gotText += "\n"
				}
				want, _ := f.get("want")
				if *update {
					for i := range f.sections {
						if f.sections[i].name == "want" {
							f.sections[i].body = gotText
						}
					}
					if _, ok := f.get("want"); !ok {
						f.sections = append(f.sections, section{name: "want", body: gotText})
					}
					if err := os.WriteFile(c, []byte(f.format()), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				if strings.TrimSpace(gotText) != strings.TrimSpace(want) {
					t.Errorf("%s\ngot:\n%s\nwant:\n%s", c, gotText, want)
				}
				neg := strings.HasPrefix(filepath.Base(c), "neg")
				if neg && strings.TrimSpace(want) != "" {
					t.Errorf("%s: a negative case must expect no finding", c)
				}
				if !neg && strings.TrimSpace(want) == "" {
					t.Errorf("%s: a positive case must expect findings", c)
				}
			})
		}
	}
	if !*update {
		for _, r := range Rules {
			if covered[r.ID+"/pos"] == 0 || covered[r.ID+"/neg"] == 0 {
				t.Errorf("rule %s needs at least one pos-*.txt and one neg-*.txt fixture under testdata/rules/%s", r.ID, r.ID)
			}
		}
	}
}
