package compose

import (
	"math/rand"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/berth-platform/berth/internal/compose/composetest"
)

// refIndex is the index as first written, path by path: walk must build
// exactly the same keys.
func refIndex(n *yaml.Node) map[string]Entry {
	index := map[string]Entry{"": {Value: n}}
	var walk func(prefix Path, n *yaml.Node)
	walk = func(prefix Path, n *yaml.Node) {
		n = resolve(n)
		if n == nil {
			return
		}
		switch n.Kind {
		case yaml.MappingNode:
			var merges []*yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Value == "<<" && (k.Tag == "!!merge" || k.Tag == "") {
					merges = append(merges, v)
					continue
				}
				p := prefix.Append(k.Value)
				index[p.key()] = Entry{Key: k, Value: v}
				walk(p, v)
			}
			for _, m := range merges {
				m = resolve(m)
				srcs := []*yaml.Node{m}
				if m != nil && m.Kind == yaml.SequenceNode {
					srcs = m.Content
				}
				for _, s := range srcs {
					s = resolve(s)
					if s == nil || s.Kind != yaml.MappingNode {
						continue
					}
					for i := 0; i+1 < len(s.Content); i += 2 {
						k, v := s.Content[i], s.Content[i+1]
						p := prefix.Append(k.Value)
						if _, ok := index[p.key()]; ok {
							continue
						}
						index[p.key()] = Entry{Key: k, Value: v}
						walk(p, v)
					}
				}
			}
		case yaml.SequenceNode:
			for i, item := range n.Content {
				p := prefix.Append(strconv.Itoa(i))
				index[p.key()] = Entry{Value: item}
				walk(p, item)
			}
		}
	}
	walk(nil, n)
	return index
}

func TestIndexKeys(t *testing.T) {
	srcs := []string{"\"\": {\"\": [a, {\"\": b}]}\nx: &a {y: 1, \"\": 2}\nz:\n  <<: *a\n  y: 3\n"}
	for _, in := range fixtureInputs(t) {
		for _, f := range in.order {
			srcs = append(srcs, in.files[f])
		}
	}
	rng := rand.New(rand.NewSource(4))
	for i := 0; i < 200; i++ {
		s, _ := composetest.Random(rng)
		srcs = append(srcs, s)
	}
	srcs = append(srcs, composetest.Stack(rng, 20))
	for _, src := range srcs {
		sf, err := ParseSource("f.yml", []byte(src))
		if err != nil || len(sf.Docs) != 1 || len(sf.Docs[0].Content) == 0 {
			continue
		}
		want := refIndex(sf.Docs[0].Content[0])
		if len(want) != len(sf.index) {
			t.Fatalf("%d keys, want %d\n%s", len(sf.index), len(want), src)
		}
		for k, e := range want {
			if sf.index[k] != e {
				t.Fatalf("key %q differs\n%s", k, src)
			}
		}
	}
}

func TestScalarForms(t *testing.T) {
	intRe := regexp.MustCompile(`^-?(?:0|[1-9][0-9]{0,17})$`)
	floatRe := regexp.MustCompile(`^-?(?:0|[1-9][0-9]{0,15})\.[0-9]{1,15}$`)
	tsRe := regexp.MustCompile(`^[0-9]{4}-[0-9]`)
	rng := rand.New(rand.NewSource(5))
	alphabet := "0123456789-.e_+x "
	for i := 0; i < 200000; i++ {
		b := make([]byte, rng.Intn(22))
		for j := range b {
			b[j] = alphabet[rng.Intn(len(alphabet))]
			if rng.Intn(3) > 0 {
				b[j] = alphabet[rng.Intn(10)]
			}
		}
		s := string(b)
		if plainInt(s) != intRe.MatchString(s) || plainFloat(s) != floatRe.MatchString(s) || timestampish(s) != tsRe.MatchString(s) {
			t.Fatalf("%q: int %v float %v timestamp %v", s, plainInt(s), plainFloat(s), timestampish(s))
		}
	}
}

// refLocate is locate as first written.
func refLocate(files []*SourceFile, p Path) Location {
	for n := len(p); n >= 0; n-- {
		k := p[:n].key()
		for i := len(files) - 1; i >= 0; i-- {
			if e, ok := files[i].index[k]; ok {
				line, col := e.Line()
				return Location{File: files[i].Path, Line: line, Column: col, Path: p.String(), Exact: n == len(p)}
			}
		}
	}
	loc := Location{Line: 1, Column: 1, Path: p.String()}
	if len(files) > 0 {
		loc.File = files[0].Path
	}
	return loc
}

func TestLocate(t *testing.T) {
	rng := rand.New(rand.NewSource(6))
	sf, err := ParseSource("a.yml", []byte(composetest.Stack(rng, 5)+"\"\": {\"\": x}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var keys [][]string
	for k := range sf.index {
		keys = append(keys, strings.Split(k, pathSep))
	}
	segs := []string{"", "x", "0", "services", "image", pathSep}
	for i := 0; i < 20000; i++ {
		p := Path(append([]string(nil), keys[rng.Intn(len(keys))]...))
		p = p[:rng.Intn(len(p)+1)]
		for j := rng.Intn(3); j > 0; j-- {
			p = append(p, segs[rng.Intn(len(segs))])
		}
		if got, want := locate([]*SourceFile{sf}, p), refLocate([]*SourceFile{sf}, p); got != want {
			t.Fatalf("%q: %+v, want %+v", p, got, want)
		}
	}
	if got, want := locate(nil, P("a")), refLocate(nil, P("a")); got != want {
		t.Fatalf("%+v, want %+v", got, want)
	}
}
