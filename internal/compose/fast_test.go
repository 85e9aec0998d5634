package compose

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/sirupsen/logrus"
	yaml4 "go.yaml.in/yaml/v4"

	"github.com/berth-platform/berth/internal/compose/composetest"
)

// The fast loader must give exactly what compose-go gives: the same model
// (reflect.DeepEqual), the same unset variables, the same warnings, or,
// when it gives up, compose-go's answer. These tests load every input
// both ways.

var logTimeRe = regexp.MustCompile(`time="[^"]*" `)

// logMu serialises tests that capture logrus output.
var logMu sync.Mutex

type loaded struct {
	p        *Project
	err      error
	warnings []string
}

// loadBoth loads the files (name → content; the first is the compose file
// unless files= says otherwise) in two fresh directories, with and without
// the fast path, and reports whether the fast path was taken.
func loadBoth(t testing.TB, files map[string]string, order []string, env map[string]string) (slow, fast loaded, took bool) {
	logMu.Lock()
	defer logMu.Unlock()
	run := func(useFast bool) loaded {
		// Same base name, hence same project name, for both loads.
		dir := filepath.Join(t.TempDir(), "proj")
		for name, body := range files {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var paths []string
		for _, n := range order {
			paths = append(paths, filepath.Join(dir, n))
		}
		e := map[string]string{}
		for k, v := range env {
			e[k] = v
		}
		var buf bytes.Buffer
		logrus.SetOutput(&buf)
		defer logrus.SetOutput(os.Stderr)
		p, err := load(context.Background(), LoadOptions{Files: paths, Env: e, NoDotEnv: true}, useFast)
		var warnings []string
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			if l != "" {
				l = logTimeRe.ReplaceAllString(l, "")
				warnings = append(warnings, strings.ReplaceAll(l, dir, "DIR"))
			}
		}
		sort.Strings(warnings)
		if p != nil {
			p.relativise(dir)
		}
		if err != nil {
			err = fmt.Errorf("%s", strings.ReplaceAll(err.Error(), dir, "DIR"))
		}
		return loaded{p: p, err: err, warnings: warnings}
	}
	slow = run(false)
	fast = run(true)
	if len(order) == 1 {
		// Whether the fast path accepts the file.
		dir := t.TempDir()
		f := filepath.Join(dir, order[0])
		if err := os.WriteFile(f, []byte(files[order[0]]), 0o644); err != nil {
			t.Fatal(err)
		}
		if sf, err := ParseSource(f, []byte(files[order[0]])); err == nil {
			e := map[string]string{"COMPOSE_PROJECT_NAME": "x"}
			for k, v := range env {
				e[k] = v
			}
			logrus.SetOutput(new(bytes.Buffer))
			_, _, took, _ = fastLoad(sf, "x", dir, e, bytes.IndexByte([]byte(files[order[0]]), '$') >= 0)
			logrus.SetOutput(os.Stderr)
		}
	}
	return slow, fast, took
}

// relativise replaces the temporary directory in the model's paths, so
// that two loads of the same files in two directories compare equal.
func (p *Project) relativise(dir string) {
	p.WorkingDir = strings.ReplaceAll(p.WorkingDir, dir, "DIR")
	p.Model.WorkingDir = strings.ReplaceAll(p.Model.WorkingDir, dir, "DIR")
	for name, s := range p.Model.Services {
		if s.Build != nil {
			s.Build.Context = strings.ReplaceAll(s.Build.Context, dir, "DIR")
		}
		for i := range s.Volumes {
			s.Volumes[i].Source = strings.ReplaceAll(s.Volumes[i].Source, dir, "DIR")
		}
		p.Model.Services[name] = s
	}
	for name, s := range p.Model.Secrets {
		s.File = strings.ReplaceAll(s.File, dir, "DIR")
		p.Model.Secrets[name] = s
	}
	for name, c := range p.Model.Configs {
		c.File = strings.ReplaceAll(c.File, dir, "DIR")
		p.Model.Configs[name] = c
	}
	for i, f := range p.Files {
		p.Files[i] = &SourceFile{Path: strings.ReplaceAll(f.Path, dir, "DIR")}
	}
}

// same reports how two loads differ, or "". took says whether the fast
// path was taken: when it was not, both errors are compose-go's, whose
// choice among several schema errors varies from run to run.
func same(slow, fast loaded, took bool) string {
	if (slow.err == nil) != (fast.err == nil) || slow.err != nil && took && slow.err.Error() != fast.err.Error() {
		return fmt.Sprintf("errors differ:\ncompose-go: %v\nfast:       %v", slow.err, fast.err)
	}
	if strings.Join(slow.warnings, "\n") != strings.Join(fast.warnings, "\n") {
		return fmt.Sprintf("warnings differ:\ncompose-go: %q\nfast:       %q", slow.warnings, fast.warnings)
	}
	if slow.err != nil {
		return ""
	}
	if d := diff("Model", reflect.ValueOf(slow.p.Model), reflect.ValueOf(fast.p.Model)); d != "" {
		return d
	}
	if !reflect.DeepEqual(slow.p.Unset, fast.p.Unset) {
		return fmt.Sprintf("unset variables differ: %q vs %q", slow.p.Unset, fast.p.Unset)
	}
	if !reflect.DeepEqual(slow.p.Env, fast.p.Env) {
		return fmt.Sprintf("environments differ: %q vs %q", slow.p.Env, fast.p.Env)
	}
	return ""
}

// diff names the first place where a and b differ, or returns "".
func diff(path string, a, b reflect.Value) string {
	if a.IsValid() != b.IsValid() {
		return path + ": one is invalid"
	}
	if !a.IsValid() {
		return ""
	}
	if a.Type() != b.Type() {
		return fmt.Sprintf("%s: types %s vs %s", path, a.Type(), b.Type())
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() != b.IsNil() {
			return fmt.Sprintf("%s: compose-go nil=%v, fast nil=%v", path, a.IsNil(), b.IsNil())
		}
		if a.IsNil() {
			return ""
		}
		return diff(path, a.Elem(), b.Elem())
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if d := diff(path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Map:
		if a.IsNil() != b.IsNil() {
			return fmt.Sprintf("%s: compose-go nil=%v, fast nil=%v", path, a.IsNil(), b.IsNil())
		}
		keys := map[string]reflect.Value{}
		for _, k := range a.MapKeys() {
			keys[fmt.Sprint(k)] = k
		}
		for _, k := range b.MapKeys() {
			keys[fmt.Sprint(k)] = k
		}
		names := make([]string, 0, len(keys))
		for n := range keys {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if d := diff(fmt.Sprintf("%s[%s]", path, n), a.MapIndex(keys[n]), b.MapIndex(keys[n])); d != "" {
				return d
			}
		}
		return ""
	case reflect.Slice:
		if a.IsNil() != b.IsNil() {
			return fmt.Sprintf("%s: compose-go nil=%v, fast nil=%v", path, a.IsNil(), b.IsNil())
		}
		if a.Len() != b.Len() {
			return fmt.Sprintf("%s: lengths %d vs %d", path, a.Len(), b.Len())
		}
		for i := 0; i < a.Len(); i++ {
			if d := diff(fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i)); d != "" {
				return d
			}
		}
		return ""
	}
	var av, bv any
	switch a.Kind() {
	case reflect.Bool:
		av, bv = a.Bool(), b.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		av, bv = a.Int(), b.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		av, bv = a.Uint(), b.Uint()
	case reflect.Float32, reflect.Float64:
		av, bv = a.Float(), b.Float()
	case reflect.String:
		av, bv = a.String(), b.String()
	default:
		return fmt.Sprintf("%s: cannot compare %s", path, a.Kind())
	}
	if av != bv {
		return fmt.Sprintf("%s: compose-go %#v, fast %#v", path, av, bv)
	}
	return ""
}

// fixtureInputs returns the compose inputs of the audit and CLI fixtures.
type input struct {
	name  string
	files map[string]string
	order []string
	env   map[string]string
}

func fixtureInputs(t testing.TB) []input {
	var out []input
	cases, _ := filepath.Glob("../audit/testdata/rules/*/*.txt")
	for _, c := range cases {
		data, err := os.ReadFile(c)
		if err != nil {
			t.Fatal(err)
		}
		in := input{name: c, files: map[string]string{}, env: map[string]string{}}
		var cur string
		args := ""
		for _, l := range strings.SplitAfter(string(data), "\n") {
			tl := strings.TrimRight(l, "\r\n")
			if strings.HasPrefix(tl, "-- ") && strings.HasSuffix(tl, " --") && len(tl) > 6 {
				cur = strings.TrimSpace(tl[3 : len(tl)-3])
				if cur != "args" && cur != "want" && cur != "config" {
					in.files[cur] = ""
					base := strings.ToLower(filepath.Base(cur))
					if (strings.HasSuffix(base, ".yml") || strings.HasSuffix(base, ".yaml") || strings.HasSuffix(base, ".json")) && base != "daemon.json" {
						in.order = append(in.order, cur)
					}
				}
				continue
			}
			switch cur {
			case "", "want", "config":
			case "args":
				args += l
			default:
				in.files[cur] += l
			}
		}
		for name, body := range in.files {
			body = strings.ReplaceAll(body, `\r`+"\n", "\r\n")
			in.files[name] = strings.Replace(body, `\ufeff`, "\ufeff", 1)
		}
		for _, a := range strings.Fields(args) {
			k, v, _ := strings.Cut(a, "=")
			switch k {
			case "files":
				in.order = strings.Split(v, ",")
			case "env":
				for _, kv := range strings.Split(v, ",") {
					ek, ev, _ := strings.Cut(kv, ":")
					in.env[ek] = ev
				}
			}
		}
		if len(in.order) > 0 {
			out = append(out, in)
		}
	}
	for _, f := range []string{"../audit/testdata/golden/stack.yml", "../cli/testdata/invalid-stack.yml"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, input{name: f, files: map[string]string{"stack.yml": string(data)}, order: []string{"stack.yml"}})
	}
	return out
}

func TestFastLoadFixtures(t *testing.T) {
	ins := fixtureInputs(t)
	took := 0
	for _, in := range ins {
		slow, fast, ok := loadBoth(t, in.files, in.order, in.env)
		if d := same(slow, fast, ok); d != "" {
			t.Errorf("%s: %s", in.name, d)
		}
		if ok {
			took++
		}
	}
	t.Logf("fast path taken for %d of %d fixtures", took, len(ins))
}

func TestFastLoadCorpus(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 20; i++ {
		src := composetest.Stack(rng, 1+rng.Intn(30))
		env := map[string]string{}
		if i%2 == 0 {
			env["REGISTRY"] = "ghcr.io/acme"
			env["TAG_3"] = "2.0.0"
		}
		slow, fast, took := loadBoth(t, map[string]string{"stack.yml": src}, []string{"stack.yml"}, env)
		if d := same(slow, fast, took); d != "" {
			t.Fatalf("stack %d: %s\n%s", i, d, src)
		}
		if !took {
			dir := t.TempDir()
			sf, _ := ParseSource(filepath.Join(dir, "stack.yml"), []byte(src))
			_, _, _, why := fastLoad(sf, "x", dir, map[string]string{}, true)
			t.Fatalf("stack %d: the fast path gave up (%s)", i, why)
		}
	}
}

func TestFastLoadRandom(t *testing.T) {
	n := 1500
	if testing.Short() {
		n = 200
	}
	rng := rand.New(rand.NewSource(2))
	took, rejected := 0, 0
	for i := 0; i < n; i++ {
		src, env := composetest.Random(rng)
		slow, fast, ok := loadBoth(t, map[string]string{"compose.yml": src}, []string{"compose.yml"}, env)
		if d := same(slow, fast, ok); d != "" {
			t.Fatalf("case %d: %s\nenv %q\n%s", i, d, env, src)
		}
		if ok {
			took++
		}
		if slow.err != nil {
			rejected++
		}
	}
	t.Logf("%d random files: fast path taken for %d, compose-go rejected %d", n, took, rejected)
	if took < n/4 {
		t.Errorf("the fast path is taken for only %d of %d random files", took, n)
	}
}

func FuzzFastLoad(f *testing.F) {
	for _, in := range fixtureInputs(f) {
		if len(in.order) == 1 {
			f.Add(in.files[in.order[0]])
		}
	}
	rng := rand.New(rand.NewSource(3))
	f.Add(composetest.Stack(rng, 3))
	for i := 0; i < 20; i++ {
		src, _ := composetest.Random(rng)
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		env := map[string]string{"X": "value", "EMPTY": "", "PORT": "8080"}
		// Only inputs the fast path accepts need compose-go's opinion:
		// otherwise Load is compose-go.
		sf, err := ParseSource("/nonexistent/proj/compose.yml", []byte(src))
		if err != nil || checkLegacy(sf) != nil {
			return
		}
		e := map[string]string{"COMPOSE_PROJECT_NAME": "proj"}
		for k, v := range env {
			e[k] = v
		}
		logMu.Lock()
		logrus.SetOutput(io.Discard)
		_, _, ok, _ := fastLoad(sf, "proj", "/nonexistent/proj", e, strings.Contains(string(sf.Content), "$"))
		logrus.SetOutput(os.Stderr)
		logMu.Unlock()
		if !ok {
			return
		}
		slow, fast, took := loadBoth(t, map[string]string{"compose.yml": src}, []string{"compose.yml"}, env)
		if d := same(slow, fast, took); d != "" {
			t.Fatalf("%s\n%s", d, src)
		}
	})
}

// compose-go refuses documents of more than 100,000 nodes, and go-yaml
// documents made mostly of alias expansions: the fast path must leave
// both to compose-go, and accept what is just under the limits.
func TestFastLoadSizeLimits(t *testing.T) {
	var env strings.Builder
	env.WriteString("services:\n  web:\n    image: nginx:1.27\n    environment:\n")
	for i := 0; i < 100_000; i++ {
		fmt.Fprintf(&env, "      - V%d=1\n", i)
	}
	big := env.String()
	aliases := func(n int) string {
		var b strings.Builder
		b.WriteString("x-big: &big [")
		for i := 0; i < 500; i++ {
			fmt.Fprintf(&b, "%d, ", i)
		}
		b.WriteString("0]\nx-use: [")
		for i := 0; i < n; i++ {
			b.WriteString("*big, ")
		}
		b.WriteString("1]\nservices:\n  web:\n    image: nginx:1.27\n")
		return b.String()
	}
	for _, c := range []struct {
		name string
		src  string
		ok   bool
	}{
		// root, services, web, image, environment and the items
		{"100,000 nodes", strings.Replace(big, "      - V0=1\n      - V1=1\n      - V2=1\n      - V3=1\n      - V4=1\n", "", 1), true},
		{"100,001 nodes", strings.Replace(big, "      - V0=1\n      - V1=1\n      - V2=1\n      - V3=1\n", "", 1), false},
		{"excessive aliasing", aliases(300), false},
		{"aliasing under the ratio", aliases(20), true},
	} {
		slow, fast, took := loadBoth(t, map[string]string{"compose.yml": c.src}, []string{"compose.yml"}, nil)
		if d := same(slow, fast, took); d != "" {
			t.Errorf("%s: %s", c.name, d)
		}
		if took != c.ok || (slow.err == nil) != c.ok {
			t.Errorf("%s: fast path taken %v, compose-go error %v", c.name, took, slow.err)
		}
	}
}

// sizeLimits' count of go-yaml v4's constructions must fail exactly where
// v4 fails, on documents as compose-go's !reset resolver leaves them (the
// aliases under merge keys replaced by their targets).
func TestAliasRatioEmulation(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	failed := 0
	cases := 80
	if testing.Short() {
		cases = 30
	}
	for i := 0; i < cases; i++ {
		var b strings.Builder
		size := 1 + rng.Intn(300)
		b.WriteString("x-a: &a {")
		for j := 0; j < size; j++ {
			fmt.Fprintf(&b, "k%d: %d, ", j, j)
		}
		b.WriteString("z: [1, 2]}\nx-s: &s [")
		for j := 0; j < size; j++ {
			fmt.Fprintf(&b, "%d, ", j)
		}
		b.WriteString("0]\nx-use:\n")
		uses := rng.Intn(200000 / (2*size + 8))
		kinds := 1 + rng.Intn(4) // one kind of use, or a mix
		for j := 0; j < uses; j++ {
			switch rng.Intn(kinds) {
			case 0:
				fmt.Fprintf(&b, "  u%d: *a\n", j)
			case 1:
				fmt.Fprintf(&b, "  u%d: *s\n", j)
			case 2:
				fmt.Fprintf(&b, "  u%d: {<<: *a, k0: x}\n", j)
			default:
				fmt.Fprintf(&b, "  u%d: {<<: [*a], extra: 1}\n", j)
			}
		}
		b.WriteString("services: {}\n")
		src := b.String()

		var doc yaml4.Node
		if err := yaml4.Unmarshal([]byte(src), &doc); err != nil {
			t.Fatal(err)
		}
		root := doc.Content[0]
		var unalias func(n *yaml4.Node)
		unalias = func(n *yaml4.Node) {
			if n.Kind == yaml4.MappingNode {
				for k := 0; k+1 < len(n.Content); k += 2 {
					if n.Content[k].Value == "<<" && n.Content[k+1].Kind == yaml4.AliasNode {
						n.Content[k+1] = n.Content[k+1].Alias
					}
				}
			}
			if n.Kind == yaml4.MappingNode || n.Kind == yaml4.SequenceNode {
				for _, c := range n.Content {
					unalias(c)
				}
			}
		}
		unalias(root)
		var out any
		v4err := root.Decode(&out)

		sf, err := ParseSource("c.yml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		gaveUp := ""
		func() {
			defer func() {
				if r := recover(); r != nil {
					gaveUp = fmt.Sprint(r)
				}
			}()
			(&fastLoader{}).sizeLimits(sf.Docs[0].Content[0])
		}()
		if (v4err != nil) != (gaveUp != "") {
			t.Fatalf("%d uses of %d: go-yaml v4 error %v, emulation %q", uses, size, v4err, gaveUp)
		}
		if v4err != nil {
			failed++
		}
	}
	if failed == 0 || failed == cases {
		t.Errorf("go-yaml v4 refused %d of %d documents: the test needs both outcomes", failed, cases)
	}
	t.Logf("go-yaml v4 refused %d of %d documents", failed, cases)
}
