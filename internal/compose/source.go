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

// appendKey appends p's key to b: a lookup m[string(appendKey(buf[:0], p))]
// with a stack buffer allocates nothing.
func appendKey(b []byte, p Path) []byte {
	for i, seg := range p {
		if i > 0 {
			b = append(b, pathSep...)
		}
		b = append(b, seg...)
	}
	return b
}

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
	// spans maps a key line to the last line of its subtree, for
	// suppressions; 0 means no key starts on that line.
	spans []int
}

// maxIndexVisits bounds the work of indexing aliases (billion laughs).
const maxIndexVisits = 1 << 20

var errTooManyAliases = errors.New("document expands to too many nodes through aliases (alias bomb?)")

// ParseSource parses YAML content (one or more documents; JSON is YAML) and
// indexes every node by path.
func ParseSource(path string, content []byte) (*SourceFile, error) {
	content = bytes.TrimPrefix(content, []byte("\xef\xbb\xbf"))
	lines := bytes.Count(content, []byte("\n")) + 2
	// About one indexed node for 24 bytes of a typical stack file: sizing
	// the index up front spares rehashing a large map several times.
	f := &SourceFile{Path: path, Content: content, index: make(map[string]Entry, len(content)/24), spans: make([]int, lines)}
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
		if err := f.walk("", false, root, 0, &budget); err != nil {
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

// walk indexes n, at the path whose key is prefix (nonEmpty says whether
// that path has any segment: the root's key and that of [""] are both "").
// Keys are built as Path.key would build them, one concatenation a node.
func (f *SourceFile) walk(prefix string, nonEmpty bool, n *yaml.Node, depth int, budget *int) error {
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
	child := func(seg string) string {
		if nonEmpty {
			return prefix + pathSep + seg
		}
		return seg
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
			key := child(k.Value)
			f.index[key] = Entry{Key: k, Value: v}
			if err := f.walk(key, true, v, depth+1, budget); err != nil {
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
					key := child(k.Value)
					if _, ok := f.index[key]; ok {
						continue // explicit keys and earlier merges win
					}
					f.index[key] = Entry{Key: k, Value: v}
					if err := f.walk(key, true, v, depth+1, budget); err != nil {
						return err
					}
				}
			}
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			key := child(strconv.Itoa(i))
			f.index[key] = Entry{Value: item}
			if err := f.walk(key, true, item, depth+1, budget); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *SourceFile) setSpan(line, end int) {
	if line < 0 {
		return
	}
	for line >= len(f.spans) {
		f.spans = append(f.spans, 0)
	}
	if end > f.spans[line] {
		f.spans[line] = end
	}
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
			f.setSpan(k.Line, end)
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
			f.setSpan(item.Line, end)
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
		if line >= 0 && line < len(f.spans) && f.spans[line] != 0 {
			return f.spans[line]
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
	var buf [128]byte
	e, ok := f.index[string(appendKey(buf[:0], p))]
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
	// The key of p[:n] is a prefix of p's key: one key for all ancestors.
	var buf [128]byte
	full := appendKey(buf[:0], p)
	size := len(full)
	for n := len(p); n >= 0; n-- {
		if n < len(p) {
			size -= len(p[n])
			if n > 0 {
				size -= len(pathSep)
			}
		}
		k := full[:size]
		for i := len(files) - 1; i >= 0; i-- {
			if e, ok := files[i].index[string(k)]; ok {
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
	var buf [128]byte
	k := appendKey(buf[:0], p)
	for i := len(files) - 1; i >= 0; i-- {
		if e, ok := files[i].index[string(k)]; ok {
			return resolve(e.Value)
		}
	}
	return nil
}
