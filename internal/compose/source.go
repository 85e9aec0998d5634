package compose

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Path is a YAML path: mapping keys and sequence indexes, from the root.
type Path []string

// P builds a Path from its segments.
func P(segs ...string) Path { return Path(segs) }

// Append returns a new path with segs added; it never aliases p.
func (p Path) Append(segs ...string) Path {
	out := make(Path, 0, len(p)+len(segs))
	return append(append(out, p...), segs...)
}

// String renders the path the way users read it: services.web.ports[0],
// with keys holding dots quoted: deploy.labels["traefik.enable"].
func (p Path) String() string {
	var b strings.Builder
	for i, s := range p {
		switch {
		case isIndex(s):
			b.WriteString("[" + s + "]")
		case strings.ContainsAny(s, ". []\""):
			b.WriteString("[" + strconv.Quote(s) + "]")
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s)
		}
	}
	return b.String()
}

func isIndex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

const pathSep = "\x1f"

func (p Path) key() string { return strings.Join(p, pathSep) }

// Entry is one indexed YAML node: the key node (nil for sequence items and
// the root) and its value.
type Entry struct {
	Key   *yaml.Node
	Value *yaml.Node
}

// Line is the line a finding about this entry points at: the key's line.
func (e Entry) Line() (int, int) {
	if e.Key != nil {
		return e.Key.Line, e.Key.Column
	}
	if e.Value != nil {
		return e.Value.Line, e.Value.Column
	}
	return 1, 1
}

// Ignore is an inline suppression: `# berth:ignore RULE[,RULE] reason`. It
// covers the lines From..To: the key it sits on or above and everything
// nested under that key.
type Ignore struct {
	File     string
	Line     int
	Rules    []string
	Reason   string
	From, To int
}

// Covers says whether the suppression applies to rule at line.
func (ig Ignore) Covers(rule string, line int) bool {
	if line < ig.From || line > ig.To {
		return false
	}
	for _, r := range ig.Rules {
		if r == rule || r == "*" || (strings.HasSuffix(r, ".*") && strings.HasPrefix(rule, strings.TrimSuffix(r, "*"))) {
			return true
		}
	}
	return false
}

// SourceFile is one raw YAML file as written: its documents and an index from
// YAML path to node. Anchors, aliases and merge keys are resolved in the
// index, so a merged key points at the line of its anchor.
type SourceFile struct {
	Path    string
	Content []byte
	Docs    []*yaml.Node // document nodes, in order
	Ignores []Ignore
	index   map[string]Entry
	// spans maps a key line to the last line of its subtree, for suppressions.
	spans map[int]int
}

// maxIndexVisits bounds the work of indexing aliases (billion laughs).
const maxIndexVisits = 1 << 20

var errTooManyAliases = errors.New("document expands to too many nodes through aliases (alias bomb?)")

// ParseSource parses YAML content (one or more documents; JSON is YAML) and
// indexes every node by path.
func ParseSource(path string, content []byte) (*SourceFile, error) {
	content = bytes.TrimPrefix(content, []byte("\xef\xbb\xbf"))
	f := &SourceFile{Path: path, Content: content, index: map[string]Entry{}, spans: map[int]int{}}
	dec := yaml.NewDecoder(bytes.NewReader(content))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line, col := yamlErrorPosition(err.Error())
			msg := yamlLineRe.ReplaceAllString(strings.TrimPrefix(err.Error(), "yaml: "), "")
			return nil, &LoadError{File: path, Line: line, Column: col, Err: errors.New(strings.TrimLeft(msg, ": "))}
		}
		f.Docs = append(f.Docs, &doc)
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		f.index[""] = Entry{Value: root}
		budget := maxIndexVisits
		if err := f.walk(nil, root, 0, &budget); err != nil {
			return nil, &LoadError{File: path, Line: root.Line, Column: root.Column, Err: err}
		}
		f.span(root)
	}
	f.parseIgnores()
	return f, nil
}

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 64; i++ {
		n = n.Alias
	}
	return n
}

func (f *SourceFile) walk(prefix Path, n *yaml.Node, depth int, budget *int) error {
	*budget--
	if *budget < 0 {
		return errTooManyAliases
	}
	if depth > 200 {
		return errors.New("document nested more than 200 levels deep")
	}
	n = resolve(n)
	if n == nil {
		return nil
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
			f.index[p.key()] = Entry{Key: k, Value: v}
			if err := f.walk(p, v, depth+1, budget); err != nil {
				return err
			}
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
					if _, ok := f.index[p.key()]; ok {
						continue // explicit keys and earlier merges win
					}
					f.index[p.key()] = Entry{Key: k, Value: v}
					if err := f.walk(p, v, depth+1, budget); err != nil {
						return err
					}
				}
			}
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			p := prefix.Append(strconv.Itoa(i))
			f.index[p.key()] = Entry{Value: item}
			if err := f.walk(p, item, depth+1, budget); err != nil {
				return err
			}
		}
	}
	return nil
}

// span records, for every mapping key, the last line of its value, and
// returns the last line of n.
func (f *SourceFile) span(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	last := n.Line
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			end := k.Line
			if v.Kind != yaml.AliasNode {
				if e := f.span(v); e > end {
					end = e
				}
			}
			if end > f.spans[k.Line] {
				f.spans[k.Line] = end
			}
			if end > last {
				last = end
			}
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			if item.Kind == yaml.AliasNode {
				continue
			}
			end := f.span(item)
			if end > f.spans[item.Line] {
				f.spans[item.Line] = end
			}
			if end > last {
				last = end
			}
		}
	case yaml.ScalarNode:
		// Block scalars span several lines.
		last = n.Line + strings.Count(strings.TrimRight(n.Value, "\n"), "\n")
		if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			last++
		}
	}
	return last
}

var ignoreRe = regexp.MustCompile(`#\s*berth:ignore\s+([A-Za-z0-9_.*,\-]+)\s*(.*)$`)

// parseIgnores finds `# berth:ignore RULE reason` comments. A comment on its
// own line covers the next key and its subtree; a trailing comment covers
// the key on its line and its subtree.
func (f *SourceFile) parseIgnores() {
	f.Ignores = parseIgnoreLines(f.Path, f.Content, func(line int) int {
		if end, ok := f.spans[line]; ok {
			return end
		}
		return line
	})
}

// parseIgnoreLines scans content for suppression comments; spanEnd gives the
// last line covered by a node starting at a line.
func parseIgnoreLines(path string, content []byte, spanEnd func(int) int) []Ignore {
	if !bytes.Contains(content, []byte("berth:ignore")) {
		return nil
	}
	lines := strings.Split(strings.ReplaceAll(string(content), "\r\n", "\n"), "\n")
	var out []Ignore
	for i, l := range lines {
		m := ignoreRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		ig := Ignore{File: path, Line: i + 1, Rules: strings.Split(m[1], ","), Reason: strings.TrimSpace(m[2])}
		target := i + 1
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			// Own line: applies to the next line that is not blank or a comment.
			for j := i + 1; j < len(lines); j++ {
				t := strings.TrimSpace(lines[j])
				if t != "" && !strings.HasPrefix(t, "#") {
					target = j + 1
					break
				}
			}
		}
		ig.From, ig.To = target, spanEnd(target)
		out = append(out, ig)
	}
	return out
}

// Lookup returns the entry at path in this file, if present.
func (f *SourceFile) Lookup(p Path) (Entry, bool) {
	e, ok := f.index[p.key()]
	return e, ok
}

// Location is where a finding points.
type Location struct {
	File   string
	Line   int
	Column int
	Path   string
	// Exact is false when the path itself is absent and the location is that
	// of its nearest existing ancestor.
	Exact bool
}

func (l Location) String() string {
	return fmt.Sprintf("%s:%d:%d", l.File, l.Line, l.Column)
}

// locate finds p in files, last file first (later files override earlier
// ones); when p is missing it falls back to the nearest existing ancestor.
func locate(files []*SourceFile, p Path) Location {
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

// rawNode returns the value node at p in the last file that has it.
func rawNode(files []*SourceFile, p Path) *yaml.Node {
	k := p.key()
	for i := len(files) - 1; i >= 0; i-- {
		if e, ok := files[i].index[k]; ok {
			return resolve(e.Value)
		}
	}
	return nil
}
