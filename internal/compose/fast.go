package compose

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/compose-spec/compose-go/v2/format"
	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/sirupsen/logrus"
	"gopkg.in/yaml.v3"
)

// The fast loader builds the model of a single-file project straight from
// the YAML nodes berth has already parsed for positions, for the subset of
// the Compose specification that real stack files use, and gives up
// (ok=false) on anything else, which compose-go then loads as before.
//
// Why: compose-go matches every node of the document against dozens of path
// patterns in several passes (interpolation casts, canonical forms, default
// values, uniqueness, extensions), each match splitting both paths into new
// slices, validates the whole document against the JSON schema after a JSON
// round trip, and decodes it with reflection: about 3 ms per service, which
// is 95% of an audit.
//
// What it must produce: exactly the *types.Project compose-go produces for
// the same input, options and environment (reflect.DeepEqual; the tests in
// fast_test.go check it on every fixture, a generated corpus and a fuzzer),
// the same unset variables and the same warnings. Each field below follows
// compose-go's pipeline for that field: interpolation and type casts,
// canonical form, defaults, normalisation, decoding. Where an input could
// be invalid, or where following compose-go would need more than a few
// lines, the fast loader gives up rather than guess: errors and their
// messages always come from compose-go.

// gaveUp is the panic value that abandons the fast path.
type gaveUp struct{ why string }

type fastLoader struct {
	// interp is false when no file has a '$': Load then skips compose-go's
	// interpolation, which also skips its type casts.
	interp bool
	env    types.Mapping
	unset  map[string]bool
	// relog lists interpolated strings that looked up an unset variable:
	// they are substituted again with logging once the fast path succeeds,
	// so compose-go's "variable is not set" warnings are given exactly.
	relog []string
	// projectName names top-level resources that have no name.
	projectName string
	hasVersion  bool
}

func (f *fastLoader) fail(format string, args ...any) {
	panic(gaveUp{fmt.Sprintf(format, args...)})
}

// fastLoad returns the model of the single file sf, or ok=false.
func fastLoad(sf *SourceFile, name, wd string, env map[string]string, interp bool) (model *types.Project, unset map[string]bool, ok bool, why string) {
	f := &fastLoader{interp: interp, env: types.Mapping(env), unset: map[string]bool{}, projectName: name}
	defer func() {
		if r := recover(); r != nil {
			// A bug or an unsupported input: either way compose-go decides.
			model, unset, ok = nil, nil, false
			if g, isGaveUp := r.(gaveUp); isGaveUp {
				why = g.why
			} else {
				why = fmt.Sprint("panic: ", r)
			}
		}
	}()
	if len(sf.Docs) != 1 || len(sf.Docs[0].Content) != 1 {
		f.fail("not exactly one YAML document")
	}
	root := sf.Docs[0].Content[0]
	f.sizeLimits(root)
	model = f.project(root, name, wd)
	// compose-go's warnings, in its order: interpolation, then validation.
	for _, s := range f.relog {
		_, _ = template.Substitute(s, func(k string) (string, bool) { v, ok := f.env[k]; return v, ok })
	}
	if f.hasVersion {
		warnObsoleteVersion(sf.Path)
	}
	return model, f.unset, true, ""
}

var (
	versionWarned   = map[string]bool{}
	versionWarnedMu sync.Mutex
)

// warnObsoleteVersion gives compose-go's warning about `version`, once per
// file, as compose-go does.
func warnObsoleteVersion(file string) {
	file = absPath(file)
	versionWarnedMu.Lock()
	defer versionWarnedMu.Unlock()
	if !versionWarned[file] {
		versionWarned[file] = true
		logrus.Warning(fmt.Sprintf("%s: the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion", file))
	}
}

// sizeLimits gives up on documents compose-go refuses for their size, so
// that compose-go reports them: its !reset resolver visits at most 100,000
// nodes of a document (each alias once, not expanded), and go-yaml v4 will
// not construct a document whose nodes come mostly from alias expansions.
func (f *fastLoader) sizeLimits(root *yaml.Node) {
	// compose-go's ResetProcessor.resolveReset: every value and sequence
	// item, alias targets and containers resolved once.
	const maxNodeVisits = 100_000
	visits := 0
	done := map[*yaml.Node]bool{}
	var resolve func(n *yaml.Node)
	resolve = func(n *yaml.Node) {
		visits++
		if visits > maxNodeVisits {
			f.fail("more than %d nodes", maxNodeVisits)
		}
		t := n
		if n.Kind == yaml.AliasNode {
			t = n.Alias
		} else if n.Kind != yaml.SequenceNode && n.Kind != yaml.MappingNode {
			return
		}
		if t.Anchor != "" { // only anchored nodes can be reached twice
			if done[t] {
				return
			}
			done[t] = true
		}
		switch t.Kind {
		case yaml.SequenceNode:
			for _, c := range t.Content {
				resolve(c)
			}
		case yaml.MappingNode:
			for i := 1; i < len(t.Content); i += 2 {
				resolve(t.Content[i])
			}
		}
	}
	resolve(root)

	// go-yaml v4 constructing the resolved document into map[string]any:
	// it counts every node constructed, and those under an alias, and
	// fails once more than 100 of over 1,000 come from aliases in a
	// proportion above allowedAliasRatio. The resolver has replaced the
	// aliases under merge keys with their targets.
	total, aliased, depth := 0, 0, 0
	var construct func(n *yaml.Node, merged map[string]bool)
	var mapping func(n *yaml.Node, merged map[string]bool)
	construct = func(n *yaml.Node, merged map[string]bool) {
		total++
		if depth > 0 {
			aliased++
		}
		if aliased > 100 && total > 1000 && float64(aliased)/float64(total) > allowedAliasRatio(total) {
			f.fail("excessive aliasing")
		}
		switch n.Kind {
		case yaml.AliasNode:
			depth++
			construct(n.Alias, merged)
			depth--
		case yaml.SequenceNode:
			for _, c := range n.Content {
				construct(c, nil)
			}
		case yaml.MappingNode:
			mapping(n, merged)
		}
	}
	mapping = func(n *yaml.Node, merged map[string]bool) {
		var merge *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				merge = v
				if merge.Kind == yaml.AliasNode {
					merge = merge.Alias
				}
				continue
			}
			construct(k, nil)
			if merged != nil {
				if merged[k.Value] {
					continue
				}
				merged[k.Value] = true
			}
			construct(v, nil)
		}
		if merge == nil {
			return
		}
		if merged == nil {
			merged = map[string]bool{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				construct(n.Content[i], nil)
				merged[n.Content[i].Value] = true
			}
		}
		if merge.Kind == yaml.SequenceNode {
			for _, c := range merge.Content {
				construct(c, merged)
			}
			return
		}
		construct(merge, merged)
	}
	construct(root, nil)
}

// allowedAliasRatio is go-yaml v4's.
func allowedAliasRatio(count int) float64 {
	const low, high = 400_000, 4_000_000
	switch {
	case count <= low:
		return 0.99
	case count >= high:
		return 0.10
	default:
		return 0.99 - 0.89*(float64(count-low)/float64(high-low))
	}
}

// ---------------------------------------------------------------------------
// YAML nodes, read the way go-yaml decodes them into map[string]any.

func (f *fastLoader) deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > 64 {
			f.fail("alias chain")
		}
		n = n.Alias
	}
	if n == nil {
		f.fail("nil node")
	}
	if n.Style&yaml.TaggedStyle != 0 {
		f.fail("explicit tag %s", n.Tag) // !reset, !override, !!str...
	}
	return n
}

// each calls fn for every entry of a mapping as go-yaml decodes it: the
// explicit keys, then the keys of the mappings merged with <<, explicit
// keys and earlier merges winning.
func (f *fastLoader) each(n *yaml.Node, fn func(k string, v *yaml.Node)) {
	n = f.deref(n)
	if n.Kind != yaml.MappingNode || n.Tag != "!!map" {
		f.fail("not a mapping at line %d", n.Line)
	}
	var merge *yaml.Node
	entries := len(n.Content) / 2
	var seen map[string]bool
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind != yaml.ScalarNode || k.Style&yaml.TaggedStyle != 0 {
			f.fail("key at line %d", k.Line)
		}
		if k.Tag == "!!merge" {
			if merge != nil {
				f.fail("two merge keys")
			}
			merge = n.Content[i+1]
			continue
		}
		if k.Tag != "!!str" {
			f.fail("non-string key at line %d", k.Line)
		}
		// Duplicate keys are an error for compose-go.
		if entries > 8 {
			if seen == nil {
				seen = make(map[string]bool, entries)
			}
			if seen[k.Value] {
				f.fail("duplicate key")
			}
			seen[k.Value] = true
		} else {
			for j := 0; j < i; j += 2 {
				if o := n.Content[j]; o.Tag == "!!str" && o.Value == k.Value {
					f.fail("duplicate key")
				}
			}
		}
	}
	if merge == nil {
		for i := 0; i+1 < len(n.Content); i += 2 {
			fn(n.Content[i].Value, n.Content[i+1])
		}
		return
	}
	if seen == nil {
		seen = map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			seen[n.Content[i].Value] = true
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Tag != "!!merge" {
			fn(n.Content[i].Value, n.Content[i+1])
		}
	}
	var srcs []*yaml.Node
	switch merge.Kind {
	case yaml.AliasNode, yaml.MappingNode:
		srcs = []*yaml.Node{merge}
	case yaml.SequenceNode:
		if merge.Style&yaml.TaggedStyle != 0 {
			f.fail("tagged merge")
		}
		srcs = merge.Content
	default:
		f.fail("merge of a scalar")
	}
	for _, src := range srcs {
		m := f.deref(src)
		if m.Kind != yaml.MappingNode || m.Tag != "!!map" {
			f.fail("merge of a non-mapping")
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			k := m.Content[i]
			if k.Kind != yaml.ScalarNode || k.Tag != "!!str" || k.Style&yaml.TaggedStyle != 0 {
				f.fail("nested merge or odd key")
			}
			if seen[k.Value] {
				continue
			}
			seen[k.Value] = true
			fn(k.Value, m.Content[i+1])
		}
	}
}

// seq returns the items of a sequence.
func (f *fastLoader) seq(n *yaml.Node) []*yaml.Node {
	n = f.deref(n)
	if n.Kind != yaml.SequenceNode || n.Tag != "!!seq" {
		f.fail("not a sequence at line %d", n.Line)
	}
	return n.Content
}

type scalarKind int

const (
	kStr scalarKind = iota
	kInt
	kFloat
	kBool
	kNull
	kMap
	kSeq
)

// digits counts the leading ASCII digits of s.
func digits(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// plainInt matches -?(0|[1-9][0-9]{0,17}): decimal, no sign but -, no
// leading zero, no underscore, within int64.
func plainInt(s string) bool {
	s = strings.TrimPrefix(s, "-")
	n := digits(s)
	return n == len(s) && n > 0 && n <= 18 && (s[0] != '0' || n == 1)
}

// plainFloat matches -?(0|[1-9][0-9]{0,15})\.[0-9]{1,15}.
func plainFloat(s string) bool {
	s = strings.TrimPrefix(s, "-")
	n := digits(s)
	if n == 0 || n > 16 || s[0] == '0' && n > 1 || n >= len(s) || s[n] != '.' {
		return false
	}
	f := digits(s[n+1:])
	return f > 0 && f <= 15 && n+1+f == len(s)
}

// timestampish says whether go-yaml might read s as a timestamp
// (^[0-9]{4}-[0-9]): such strings are left to compose-go.
func timestampish(s string) bool {
	return len(s) >= 6 && digits(s) == 4 && s[4] == '-' && s[5] >= '0' && s[5] <= '9'
}

// kind classifies a node, refusing scalars whose reading by go-yaml v3
// (berth) and v4 (compose-go) might differ: only plain decimal numbers,
// lowercase booleans and the common null spellings are accepted.
func (f *fastLoader) kind(n *yaml.Node) scalarKind {
	switch n.Kind {
	case yaml.MappingNode:
		return kMap
	case yaml.SequenceNode:
		return kSeq
	case yaml.ScalarNode:
	default:
		f.fail("node kind")
	}
	switch n.Tag {
	case "!!str":
		if n.Style == 0 && timestampish(n.Value) {
			f.fail("timestamp-like string")
		}
		return kStr
	case "!!int":
		if !plainInt(n.Value) {
			f.fail("integer %q", n.Value)
		}
		return kInt
	case "!!float":
		if !plainFloat(n.Value) {
			f.fail("float %q", n.Value)
		}
		return kFloat
	case "!!bool":
		if n.Value != "true" && n.Value != "false" {
			f.fail("boolean %q", n.Value)
		}
		return kBool
	case "!!null":
		if n.Value != "" && n.Value != "~" && n.Value != "null" {
			f.fail("null %q", n.Value)
		}
		return kNull
	}
	f.fail("tag %s", n.Tag)
	return 0
}

// lookup is compose-go's LookupValue as Load wraps it: misses are recorded
// as unset variables.
func (f *fastLoader) lookup(k string) (string, bool) {
	v, ok := f.env[k]
	if !ok {
		f.unset[k] = true
	}
	return v, ok
}

// sub interpolates s as compose-go does, without its warnings (given later
// by fastLoad, once the fast path is sure to succeed).
func (f *fastLoader) sub(s string) string {
	if !f.interp || strings.IndexByte(s, '$') < 0 {
		return s
	}
	if f.nestedWarning(s) {
		f.fail("nested interpolation of an unset variable")
	}
	missed := false
	out, err := template.SubstituteWithOptions(s, func(k string) (string, bool) {
		v, ok := f.lookup(k)
		if !ok {
			missed = true
		}
		return v, ok
	}, template.WithoutLogging)
	if err != nil {
		f.fail("interpolation: %v", err)
	}
	if missed {
		f.relog = append(f.relog, s)
	}
	return out
}

// nestedWarning says whether substituting s could warn from inside
// compose-go's template package even without logging: after a ${VAR:-...}
// style reference, compose-go substitutes the default and the rest of the
// match with logging on, which warns for every plain $VAR or ${VAR} left
// unset there.
func (f *fastLoader) nestedWarning(s string) bool {
	modifier := false
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			continue
		}
		if s[i+1] == '$' {
			i++
			continue
		}
		braced := s[i+1] == '{'
		j := i + 1
		if braced {
			j++
		}
		k := j
		for k < len(s) && (s[k] == '_' || s[k] >= 'a' && s[k] <= 'z' || s[k] >= 'A' && s[k] <= 'Z' || s[k] >= '0' && s[k] <= '9') {
			k++
		}
		if k == j {
			continue
		}
		hasMod := braced && k < len(s) && strings.IndexByte(":-+?", s[k]) >= 0
		if modifier && !hasMod {
			if _, ok := f.env[s[j:k]]; !ok {
				return true
			}
		}
		if hasMod {
			modifier = true
		}
	}
	return false
}

// str reads a string.
func (f *fastLoader) str(n *yaml.Node) string {
	n = f.deref(n)
	if f.kind(n) != kStr {
		f.fail("not a string at line %d", n.Line)
	}
	return f.sub(n.Value)
}

// value reads any node as compose-go holds it after interpolation: maps
// map[string]any, sequences []any (never nil), int, float64, bool, nil.
func (f *fastLoader) value(n *yaml.Node) any {
	n = f.deref(n)
	switch f.kind(n) {
	case kStr:
		return f.sub(n.Value)
	case kInt:
		i, err := strconv.Atoi(n.Value)
		if err != nil {
			f.fail("int")
		}
		return i
	case kFloat:
		v, err := strconv.ParseFloat(n.Value, 64)
		if err != nil {
			f.fail("float")
		}
		return v
	case kBool:
		return n.Value == "true"
	case kNull:
		return nil
	case kMap:
		m := map[string]any{}
		f.each(n, func(k string, v *yaml.Node) { m[k] = f.value(v) })
		return m
	default:
		items := f.seq(n)
		out := make([]any, len(items))
		for i, it := range items {
			out[i] = f.value(it)
		}
		return out
	}
}

// scalarString reads a string, integer or boolean as a string the way
// compose-go's list_or_dict decoders do (fmt.Sprint); null gives nil.
func (f *fastLoader) scalarString(n *yaml.Node) *string {
	n = f.deref(n)
	var s string
	switch f.kind(n) {
	case kStr:
		s = f.sub(n.Value)
	case kInt, kBool:
		s = n.Value
	case kNull:
		return nil
	default:
		f.fail("not a scalar at line %d", n.Line)
	}
	return &s
}

// strings reads a list of strings distinct by their part before any '=',
// a key coarser than any of compose-go's uniqueness keys for string lists.
func (f *fastLoader) strings(n *yaml.Node) []string {
	return f.stringList(n, keyBeforeEquals)
}

// stringList reads a list of strings distinct by key.
func (f *fastLoader) stringList(n *yaml.Node, key func(string) string) []string {
	items := f.seq(n)
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = f.str(it)
	}
	f.distinct(out, key)
	return out
}

func identity(s string) string { return s }

// distinct gives up when two items have the same key: compose-go would
// either drop one (its uniqueness rules) or reject the file (uniqueItems).
func (f *fastLoader) distinct(items []string, key func(string) string) {
	if len(items) < 2 {
		return
	}
	if len(items) <= 8 {
		for i := range items {
			for j := 0; j < i; j++ {
				if key(items[i]) == key(items[j]) {
					f.fail("duplicate item %q", items[i])
				}
			}
		}
		return
	}
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		k := key(it)
		if seen[k] {
			f.fail("duplicate item %q", it)
		}
		seen[k] = true
	}
}

func keyBeforeEquals(s string) string {
	k, _, _ := strings.Cut(s, "=")
	return k
}

// A typed scalar is read from a YAML scalar of its type; a string is
// accepted only where compose-go casts it the same way whether or not it
// interpolates (castAlways), or, when it interpolates, at the paths of its
// interpolation casts (castInterp).
type castRule int

const (
	castNever castRule = iota
	castInterp
	castAlways
)

func (f *fastLoader) castString(n *yaml.Node, rule castRule) (string, bool) {
	if n.Tag != "!!str" {
		return "", false
	}
	if rule == castAlways || rule == castInterp && f.interp {
		return f.sub(n.Value), true
	}
	f.fail("string for a typed value at line %d", n.Line)
	return "", false
}

// boolean reads a boolean; strings are cast with compose-go's toBoolean,
// minus the YAML 1.1 spellings it warns about.
func (f *fastLoader) boolean(n *yaml.Node, rule castRule) bool {
	n = f.deref(n)
	k := f.kind(n)
	if s, ok := f.castString(n, rule); ok {
		switch strings.ToLower(s) {
		case "true":
			return true
		case "false":
			return false
		}
		f.fail("boolean string %q", s)
	}
	if k != kBool {
		f.fail("not a boolean at line %d", n.Line)
	}
	return n.Value == "true"
}

// integer reads an integer within [min, max]; strings are cast with
// strconv.Atoi (compose-go's toInt, and its toInt64 on 64-bit platforms).
func (f *fastLoader) integer(n *yaml.Node, rule castRule, min, max int64) int64 {
	n = f.deref(n)
	s := n.Value
	switch f.kind(n) {
	case kInt:
	case kStr:
		s, _ = f.castString(n, rule)
	default:
		f.fail("not an integer at line %d", n.Line)
	}
	i, err := strconv.Atoi(s)
	if err != nil || int64(i) < min || int64(i) > max {
		f.fail("integer %q", s)
	}
	return int64(i)
}

const maxInt = int64(^uint(0) >> 1)

// duration reads a duration as compose-go's schema (time.ParseDuration)
// and decoder (types.Duration) do.
func (f *fastLoader) duration(n *yaml.Node) types.Duration {
	s := f.str(n)
	if _, err := time.ParseDuration(s); err != nil {
		f.fail("duration %q", s)
	}
	var d types.Duration
	if err := d.DecodeMapstructure(s); err != nil {
		f.fail("duration %q", s)
	}
	return d
}

func (f *fastLoader) durationp(n *yaml.Node) *types.Duration {
	d := f.duration(n)
	return &d
}

// unitBytes reads a size: an integer, or a string with a unit.
func (f *fastLoader) unitBytes(n *yaml.Node, allowInt bool) types.UnitBytes {
	n = f.deref(n)
	var v any
	switch f.kind(n) {
	case kStr:
		v = f.sub(n.Value)
	case kInt:
		if !allowInt {
			f.fail("integer size")
		}
		v = int(f.integer(n, castNever, 0, maxInt))
	default:
		f.fail("size at line %d", n.Line)
	}
	var u types.UnitBytes
	if err := u.DecodeMapstructure(v); err != nil {
		f.fail("size: %v", err)
	}
	return u
}

// labels reads a list_or_dict into Labels.
func (f *fastLoader) labels(n *yaml.Node) types.Labels { return listOrDict[types.Labels](f, n) }

// listOrDict reads a list_or_dict ("K=V" items, or a mapping whose null
// values are empty strings) into a string map.
func listOrDict[M ~map[string]string](f *fastLoader, n *yaml.Node) M {
	n = f.deref(n)
	if n.Kind == yaml.SequenceNode {
		items := f.strings(n)
		out := make(M, len(items))
		for _, s := range items {
			k, v, _ := strings.Cut(s, "=")
			out[k] = v
		}
		return out
	}
	out := M{}
	f.each(n, func(k string, v *yaml.Node) {
		f.userKey(k)
		if s := f.scalarString(v); s != nil {
			out[k] = *s
		} else {
			out[k] = ""
		}
	})
	return out
}

// options reads driver or logging options: string or number values, and
// null ones where the schema allows them.
func (f *fastLoader) options(n *yaml.Node, allowNull bool) types.Options {
	out := types.Options{}
	f.each(n, func(k string, v *yaml.Node) {
		f.userKey(k)
		v = f.deref(v)
		switch f.kind(v) {
		case kStr:
			out[k] = f.sub(v.Value)
		case kInt:
			out[k] = v.Value
		case kNull:
			if !allowNull {
				f.fail("null option")
			}
			out[k] = ""
		default:
			f.fail("option value at line %d", v.Line)
		}
	})
	return out
}

// userKey refuses keys starting with x- in maps of user-chosen keys:
// compose-go moves them out as extensions, with odd results.
func (f *fastLoader) userKey(k string) {
	if strings.HasPrefix(k, "x-") {
		f.fail("user key %s", k)
	}
}

// resourceName refuses names outside the schema's ^[a-zA-Z0-9._-]+$.
func (f *fastLoader) resourceName(k string) {
	if k == "" {
		f.fail("empty name")
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '.' && c != '_' && c != '-' {
			f.fail("name %q", k)
		}
	}
}

// ---------------------------------------------------------------------------
// The project.

func (f *fastLoader) project(root *yaml.Node, name, wd string) *types.Project {
	p := &types.Project{
		Name:             name,
		WorkingDir:       wd,
		Environment:      f.env,
		DisabledServices: types.Services{},
		Profiles:         []string{"*"},
	}
	var services, networks, volumes, secrets, configs *yaml.Node
	f.each(root, func(k string, v *yaml.Node) {
		switch k {
		case "services":
			services = v
		case "networks":
			networks = v
		case "volumes":
			volumes = v
		case "secrets":
			secrets = v
		case "configs":
			configs = v
		case "version":
			f.str(v) // interpolated, then ignored
			f.hasVersion = true
		default:
			if !strings.HasPrefix(k, "x-") {
				f.fail("top-level key %s", k)
			}
			if p.Extensions == nil {
				p.Extensions = types.Extensions{}
			}
			p.Extensions[k] = f.value(v)
		}
	})
	if services == nil {
		f.fail("no services")
	}
	p.Services = types.Services{}
	usesDefault := false
	f.each(services, func(k string, v *yaml.Node) {
		f.resourceName(k)
		s := f.service(k, v)
		if _, ok := s.Networks["default"]; ok {
			usesDefault = true
		}
		p.Services[k] = s
	})
	if networks != nil {
		p.Networks = types.Networks{}
		f.each(networks, func(k string, v *yaml.Node) {
			f.resourceName(k)
			p.Networks[k] = f.network(k, v)
		})
	}
	if usesDefault {
		if p.Networks == nil {
			p.Networks = types.Networks{}
		}
		if _, ok := p.Networks["default"]; !ok {
			p.Networks["default"] = types.NetworkConfig{Name: name + "_default"}
		}
	}
	if volumes != nil {
		p.Volumes = types.Volumes{}
		f.each(volumes, func(k string, v *yaml.Node) {
			f.resourceName(k)
			p.Volumes[k] = f.volume(k, v)
		})
	}
	if secrets != nil {
		p.Secrets = types.Secrets{}
		f.each(secrets, func(k string, v *yaml.Node) {
			f.resourceName(k)
			p.Secrets[k] = types.SecretConfig(f.fileObject(k, v, false))
		})
	}
	if configs != nil {
		p.Configs = types.Configs{}
		f.each(configs, func(k string, v *yaml.Node) {
			f.resourceName(k)
			p.Configs[k] = types.ConfigObjConfig(f.fileObject(k, v, true))
		})
	}
	return p
}

// external reads external:, as a boolean or a string both of compose-go's
// readings (toBoolean for the value, strconv.ParseBool for the name) agree on.
func (f *fastLoader) external(n *yaml.Node) types.External {
	n = f.deref(n)
	if n.Tag == "!!str" {
		switch f.sub(n.Value) {
		case "true", "True", "TRUE":
			return true
		case "false", "False", "FALSE":
			return false
		}
		f.fail("external")
	}
	return types.External(f.boolean(n, castNever))
}

// defaultName names a top-level resource by its key when it has no
// name, as compose-go's setNameFromKey does.
func (f *fastLoader) defaultName(key string, name string, hasName, external bool) string {
	if hasName {
		return name
	}
	if external {
		return key
	}
	return f.projectName + "_" + key
}

func (f *fastLoader) network(key string, n *yaml.Node) types.NetworkConfig {
	var c types.NetworkConfig
	hasName := false
	if f.kind(f.deref(n)) == kNull {
		c.Name = f.defaultName(key, "", false, false)
		return c
	}
	f.each(n, func(k string, v *yaml.Node) {
		switch k {
		case "name":
			c.Name, hasName = f.str(v), true
		case "driver":
			c.Driver = f.str(v)
		case "driver_opts":
			c.DriverOpts = f.options(v, false)
		case "external":
			c.External = f.external(v)
		case "internal":
			c.Internal = f.boolean(v, castAlways)
		case "attachable":
			c.Attachable = f.boolean(v, castAlways)
		case "enable_ipv4":
			b := f.boolean(v, castAlways)
			c.EnableIPv4 = &b
		case "enable_ipv6":
			b := f.boolean(v, castAlways)
			c.EnableIPv6 = &b
		case "labels":
			c.Labels = f.labels(v)
		default:
			c.Extensions = f.extension(c.Extensions, k, v)
		}
	})
	c.Name = f.defaultName(key, c.Name, hasName, bool(c.External))
	return c
}

func (f *fastLoader) volume(key string, n *yaml.Node) types.VolumeConfig {
	var c types.VolumeConfig
	hasName := false
	if f.kind(f.deref(n)) == kNull {
		c.Name = f.defaultName(key, "", false, false)
		return c
	}
	f.each(n, func(k string, v *yaml.Node) {
		switch k {
		case "name":
			c.Name, hasName = f.str(v), true
		case "driver":
			c.Driver = f.str(v)
		case "driver_opts":
			c.DriverOpts = f.options(v, false)
		case "external":
			c.External = f.external(v)
		case "labels":
			c.Labels = f.labels(v)
		default:
			c.Extensions = f.extension(c.Extensions, k, v)
		}
	})
	c.Name = f.defaultName(key, c.Name, hasName, bool(c.External))
	return c
}

func (f *fastLoader) fileObject(key string, n *yaml.Node, config bool) types.FileObjectConfig {
	var c types.FileObjectConfig
	hasName := false
	f.each(n, func(k string, v *yaml.Node) {
		switch k {
		case "name":
			c.Name, hasName = f.str(v), true
		case "file":
			c.File = f.str(v)
		case "external":
			c.External = f.external(v)
		case "labels":
			c.Labels = f.labels(v)
		case "content":
			if !config {
				f.fail("secret content")
			}
			c.Content = f.str(v)
		default:
			c.Extensions = f.extension(c.Extensions, k, v)
		}
	})
	c.Name = f.defaultName(key, c.Name, hasName, bool(c.External))
	return c
}

// extension records an x- key, or gives up on any other key.
func (f *fastLoader) extension(ext types.Extensions, k string, v *yaml.Node) types.Extensions {
	if !strings.HasPrefix(k, "x-") {
		f.fail("unsupported key %s", k)
	}
	if ext == nil {
		ext = types.Extensions{}
	}
	ext[k] = f.value(v)
	return ext
}

// ---------------------------------------------------------------------------
// Services.

var containerNameRe = regexp.MustCompile(`[a-zA-Z0-9][a-zA-Z0-9_.-]+`)

func (f *fastLoader) service(name string, n *yaml.Node) types.ServiceConfig {
	s := types.ServiceConfig{Name: name}
	hasNetworkMode := false
	f.each(n, func(k string, v *yaml.Node) {
		switch k {
		case "image":
			s.Image = f.str(v)
		case "build":
			s.Build = f.build(v)
		case "command":
			s.Command = f.command(v)
		case "entrypoint":
			s.Entrypoint = f.command(v)
		case "container_name":
			s.ContainerName = f.str(v)
			if !containerNameRe.MatchString(s.ContainerName) {
				f.fail("container_name")
			}
		case "hostname":
			s.Hostname = f.str(v)
		case "domainname":
			s.DomainName = f.str(v)
		case "user":
			s.User = f.str(v)
		case "working_dir":
			s.WorkingDir = f.str(v)
		case "restart":
			s.Restart = f.str(v)
		case "stop_signal":
			s.StopSignal = f.str(v)
		case "platform":
			s.Platform = f.str(v)
		case "runtime":
			s.Runtime = f.str(v)
		case "isolation":
			s.Isolation = f.str(v)
		case "mac_address":
			s.MacAddress = f.str(v)
		case "userns_mode":
			s.UserNSMode = f.str(v)
		case "cgroup_parent":
			s.CgroupParent = f.str(v)
		case "network_mode":
			s.NetworkMode, hasNetworkMode = f.namespace(v), true
		case "ipc":
			s.Ipc = f.namespace(v)
		case "pid":
			s.Pid = f.namespace(v)
		case "uts":
			s.Uts = f.namespace(v)
		case "pull_policy":
			s.PullPolicy = f.str(v)
			switch s.PullPolicy {
			case "always", "never", "build", "missing":
			case "if_not_present":
				s.PullPolicy = "missing"
			default:
				f.fail("pull_policy")
			}
		case "init":
			b := f.boolean(v, castAlways)
			s.Init = &b
		case "privileged":
			s.Privileged = f.boolean(v, castAlways)
		case "read_only":
			s.ReadOnly = f.boolean(v, castAlways)
		case "oom_kill_disable":
			s.OomKillDisable = f.boolean(v, castAlways)
		case "tty":
			s.Tty = f.boolean(v, castAlways)
		case "stdin_open":
			s.StdinOpen = f.boolean(v, castAlways)
		case "pids_limit":
			s.PidsLimit = f.integer(v, castAlways, -1, maxInt)
		case "mem_limit":
			s.MemLimit = f.unitBytes(v, true)
		case "mem_reservation":
			s.MemReservation = f.unitBytes(v, true)
		case "memswap_limit":
			s.MemSwapLimit = f.unitBytes(v, true)
		case "shm_size":
			s.ShmSize = f.unitBytes(v, true)
		case "cpus":
			s.CPUS = f.float32(v)
		case "cap_add":
			s.CapAdd = f.strings(v)
		case "cap_drop":
			s.CapDrop = f.strings(v)
		case "security_opt":
			s.SecurityOpt = f.stringList(v, identity)
		case "dns_opt":
			s.DNSOpts = f.strings(v)
		case "profiles":
			s.Profiles = f.strings(v)
		case "group_add":
			s.GroupAdd = f.strings(v)
		case "tmpfs":
			s.Tmpfs = f.stringOrList(v, keyBeforeEquals)
		case "dns_search":
			s.DNSSearch = f.stringOrList(v, identity)
		case "expose":
			s.Expose = f.expose(v)
		case "labels":
			s.Labels = f.labels(v)
		case "environment":
			s.Environment = f.environment(v)
		case "sysctls":
			s.Sysctls = f.mapping(v)
		case "extra_hosts":
			s.ExtraHosts = f.extraHosts(v)
		case "healthcheck":
			s.HealthCheck = f.healthcheck(v)
		case "logging":
			s.Logging = f.logging(v)
		case "stop_grace_period":
			s.StopGracePeriod = f.durationp(v)
		case "ports":
			s.Ports = f.ports(v)
		case "volumes":
			s.Volumes = f.serviceVolumes(v)
		case "networks":
			s.Networks = f.serviceNetworks(v)
		case "secrets":
			mounts := f.fileMounts(v, true)
			s.Secrets = make([]types.ServiceSecretConfig, len(mounts))
			for i, m := range mounts {
				s.Secrets[i] = types.ServiceSecretConfig(m)
			}
		case "configs":
			mounts := f.fileMounts(v, false)
			s.Configs = make([]types.ServiceConfigObjConfig, len(mounts))
			for i, m := range mounts {
				s.Configs[i] = types.ServiceConfigObjConfig(m)
			}
		case "depends_on":
			s.DependsOn = f.dependsOn(v)
		case "ulimits":
			s.Ulimits = f.ulimits(v)
		case "deploy":
			s.Deploy = f.deploy(v)
		default:
			s.Extensions = f.extension(s.Extensions, k, v)
		}
	})
	// Without networks, a service is on the project's default network.
	if hasNetworkMode {
		if f.hasKey(n, "networks") {
			f.fail("network_mode and networks")
		}
	} else if s.Networks == nil {
		s.Networks = map[string]*types.ServiceNetworkConfig{"default": nil}
	}
	// compose-go resolves the environment against the project's once the
	// model is decoded (WithServicesEnvironmentResolved, no env_file here).
	env := s.Environment.Resolve(f.env.Resolve)
	s.Environment = env.ToMapping().ToMappingWithEquals().OverrideBy(env)
	return s
}

// namespace reads network_mode, ipc, pid or uts; service: references make
// compose-go add a dependency.
func (f *fastLoader) namespace(n *yaml.Node) string {
	s := f.str(n)
	if strings.HasPrefix(s, types.ServicePrefix) {
		f.fail("service: namespace")
	}
	return s
}

// float32 reads a service-level cpus: numbers as go-yaml and mapstructure
// convert them (float64, then float32), strings as compose-go's toFloat32.
func (f *fastLoader) float32(n *yaml.Node) float32 {
	n = f.deref(n)
	bits := 64
	s := n.Value
	switch f.kind(n) {
	case kInt, kFloat:
	case kStr:
		s, _ = f.castString(n, castAlways)
		bits = 32
	default:
		f.fail("not a number at line %d", n.Line)
	}
	v, err := strconv.ParseFloat(s, bits)
	if err != nil {
		f.fail("float %q", s)
	}
	return float32(v)
}

func (f *fastLoader) command(n *yaml.Node) types.ShellCommand {
	n = f.deref(n)
	var v any
	switch f.kind(n) {
	case kStr:
		v = f.sub(n.Value)
	case kSeq:
		items := f.seq(n)
		l := make([]any, len(items))
		for i, it := range items {
			l[i] = f.str(it)
		}
		v = l
	default:
		f.fail("command at line %d", n.Line)
	}
	var c types.ShellCommand
	if err := c.DecodeMapstructure(v); err != nil {
		f.fail("command: %v", err)
	}
	return c
}

func (f *fastLoader) stringOrList(n *yaml.Node, key func(string) string) types.StringList {
	n = f.deref(n)
	if f.kind(n) == kStr {
		return types.StringList{f.sub(n.Value)}
	}
	l := f.strings(n)
	f.distinct(l, key)
	return types.StringList(l)
}

func (f *fastLoader) expose(n *yaml.Node) types.StringOrNumberList {
	items := f.seq(n)
	out := make(types.StringOrNumberList, len(items))
	for i, it := range items {
		it = f.deref(it)
		switch f.kind(it) {
		case kStr:
			out[i] = f.sub(it.Value)
		case kInt:
			out[i] = strconv.Itoa(int(f.integer(it, castNever, 0, maxInt)))
		default:
			f.fail("expose item")
		}
	}
	f.distinct(out, identity)
	return out
}

func (f *fastLoader) mapping(n *yaml.Node) types.Mapping { return listOrDict[types.Mapping](f, n) }

func (f *fastLoader) extraHosts(n *yaml.Node) types.HostsList {
	n = f.deref(n)
	var v any
	if n.Kind == yaml.SequenceNode {
		l := f.strings(n)
		a := make([]any, len(l))
		for i, s := range l {
			a[i] = s
		}
		v = a
	} else {
		m := map[string]any{}
		f.each(n, func(k string, x *yaml.Node) { f.userKey(k); m[k] = f.str(x) })
		v = m
	}
	var h types.HostsList
	if err := h.DecodeMapstructure(v); err != nil {
		f.fail("extra_hosts: %v", err)
	}
	return h
}

// environment reads a list_or_dict and resolves it as compose-go does:
// entries without a value take the project environment's, if set.
func (f *fastLoader) environment(n *yaml.Node) types.MappingWithEquals {
	n = f.deref(n)
	if n.Kind == yaml.SequenceNode {
		items := f.strings(n)
		out := make(types.MappingWithEquals, len(items))
		for _, s := range items {
			k, v, ok := strings.Cut(s, "=")
			f.envKey(k)
			if !ok {
				if val, found := f.env[s]; found {
					out[k] = &val
				} else {
					out[k] = nil
				}
				continue
			}
			out[k] = &v
		}
		return out
	}
	out := types.MappingWithEquals{}
	f.each(n, func(k string, v *yaml.Node) {
		f.userKey(k)
		s := f.scalarString(v)
		if s == nil {
			if val, found := f.env[k]; found {
				s = &val
			}
		}
		out[k] = s
	})
	return out
}

// envKey refuses what compose-go's MappingWithEquals decoder refuses: a
// list entry whose key ends with a space (its last byte read as a rune).
func (f *fastLoader) envKey(k string) {
	if k != "" && unicode.IsSpace(rune(k[len(k)-1])) {
		f.fail("key with a trailing space")
	}
}

func (f *fastLoader) build(n *yaml.Node) *types.BuildConfig {
	n = f.deref(n)
	b := &types.BuildConfig{}
	if f.kind(n) == kStr {
		b.Context = f.sub(n.Value)
		b.Dockerfile = "Dockerfile"
		return b
	}
	hasContext, hasDockerfile := false, false
	f.each(n, func(k string, v *yaml.Node) {
		switch k {
		case "context":
			b.Context, hasContext = f.str(v), true
		case "dockerfile":
			b.Dockerfile, hasDockerfile = f.str(v), true
		case "target":
			b.Target = f.str(v)
		case "network":
			b.Network = f.str(v)
		case "args":
			b.Args = f.buildArgs(v)
		case "labels":
			b.Labels = f.labels(v)
		case "cache_from":
			b.CacheFrom = types.StringList(f.strings(v))
		case "platforms":
			b.Platforms = types.StringList(f.strings(v))
		default:
			b.Extensions = f.extension(b.Extensions, k, v)
		}
	})
	if !hasContext {
		b.Context = "."
	}
	if !hasDockerfile {
		b.Dockerfile = "Dockerfile"
	}
	return b
}

// buildArgs reads build args; entries without a value take the project
// environment's or are dropped.
func (f *fastLoader) buildArgs(n *yaml.Node) types.MappingWithEquals {
	n = f.deref(n)
	out := types.MappingWithEquals{}
	if n.Kind == yaml.SequenceNode {
		for _, s := range f.strings(n) {
			k, v, ok := strings.Cut(s, "=")
			f.envKey(k)
			if !ok {
				val, found := f.env[s]
				if !found {
					continue
				}
				v = val
			}
			out[k] = &v
		}
		return out
	}
	f.each(n, func(k string, v *yaml.Node) {
		f.userKey(k)
		s := f.scalarString(v)
		if s == nil {
			val, found := f.env[k]
			if !found {
				return
			}
			s = &val
		}
		out[k] = s
	})
	return out
}

func (f *fastLoader) healthcheck(n *yaml.Node) *types.HealthCheckConfig {
	h := &types.HealthCheckConfig{}
	f.each(n, func(k string, v *yaml.Node) {
		switch k {
		case "test":
			v = f.deref(v)
			var t any
			if f.kind(v) == kStr {
				t = f.sub(v.Value)
			} else {
				items := f.seq(v)
				l := make([]any, len(items))
				for i, it := range items {
					l[i] = f.str(it)
				}
				t = l
			}
			if err := h.Test.DecodeMapstructure(t); err != nil {
				f.fail("healthcheck test: %v", err)
			}
		case "interval":
			h.Interval = f.durationp(v)
		case "timeout":
			h.Timeout = f.durationp(v)
		case "start_period":
			h.StartPeriod = f.durationp(v)
		case "start_interval":
			h.StartInterval = f.durationp(v)
		case "retries":
			r := uint64(f.integer(v, castInterp, 0, maxInt))
			h.Retries = &r
		case "disable":
			h.Disable = f.boolean(v, castAlways)
		default:
			h.Extensions = f.extension(h.Extensions, k, v)
		}
	})
	return h
}

func (f *fastLoader) logging(n *yaml.Node) *types.LoggingConfig {
	l := &types.LoggingConfig{}
	f.each(n, func(k string, v *yaml.Node) {
		switch k {
		case "driver":
			l.Driver = f.str(v)
		case "options":
			l.Options = f.options(v, true)
		default:
			l.Extensions = f.extension(l.Extensions, k, v)
		}
	})
	return l
}

// ports reads ports, expanding short syntax with types.ParsePortConfig as
// compose-go's canonical form does.
func (f *fastLoader) ports(n *yaml.Node) []types.ServicePortConfig {
	items := f.seq(n)
	out := make([]types.ServicePortConfig, 0, len(items))
	for _, it := range items {
		it = f.deref(it)
		switch f.kind(it) {
		case kInt:
			i := f.integer(it, castNever, 0, 65535)
			out = append(out, f.parsePort(strconv.Itoa(int(i)))...)
		case kStr:
			out = append(out, f.parsePort(f.sub(it.Value))...)
		case kMap:
			out = append(out, f.portMapping(it))
		default:
			f.fail("port item")
		}
	}
	// compose-go drops redefinitions, keyed as written and then in canonical
	// form (host, published, target, protocol); this key is coarser than
	// both, and any redefinition is left to compose-go.
	if len(out) > 1 {
		keys := make([]string, len(out))
		for i, pc := range out {
			host, proto := pc.HostIP, pc.Protocol
			if host == "" {
				host = "0.0.0.0"
			}
			keys[i] = host + "|" + pc.Published + "|" + strconv.Itoa(int(pc.Target)) + "|" + proto
		}
		f.distinct(keys, identity)
	}
	return out
}

func (f *fastLoader) portMapping(n *yaml.Node) types.ServicePortConfig {
	var pc types.ServicePortConfig
	hasTarget := false
	f.each(n, func(k string, v *yaml.Node) {
		switch k {
		case "target":
			pc.Target, hasTarget = uint32(f.integer(v, castInterp, 0, 65535)), true
		case "published":
			v = f.deref(v)
			switch f.kind(v) {
			case kStr:
				pc.Published = f.sub(v.Value)
			case kInt:
				pc.Published = strconv.Itoa(int(f.integer(v, castNever, 0, 65535)))
			default:
				f.fail("published")
			}
		case "host_ip":
			pc.HostIP = f.str(v)
		case "protocol":
			pc.Protocol = f.str(v)
		case "mode":
			pc.Mode = f.str(v)
		case "name":
			pc.Name = f.str(v)
		case "app_protocol":
			pc.AppProtocol = f.str(v)
		default:
			f.fail("port key %s", k)
		}
	})
	if !hasTarget || pc.HostIP == "" && f.hasKey(n, "host_ip") || pc.Protocol == "" && f.hasKey(n, "protocol") {
		f.fail("port mapping")
	}
	// compose-go's defaults for ports.
	if pc.Protocol == "" {
		pc.Protocol = "tcp"
	}
	if pc.Mode == "" {
		pc.Mode = "ingress"
	}
	return pc
}

// hasKey says whether a mapping has the key, merges included.
func (f *fastLoader) hasKey(n *yaml.Node, key string) bool {
	found := false
	f.each(n, func(k string, _ *yaml.Node) {
		if k == key {
			found = true
		}
	})
	return found
}

func (f *fastLoader) parsePort(s string) []types.ServicePortConfig {
	pcs, err := types.ParsePortConfig(s)
	if err != nil {
		f.fail("port %q: %v", s, err)
	}
	return pcs
}

func (f *fastLoader) serviceVolumes(n *yaml.Node) []types.ServiceVolumeConfig {
	items := f.seq(n)
	out := make([]types.ServiceVolumeConfig, 0, len(items))
	for _, it := range items {
		it = f.deref(it)
		var v types.ServiceVolumeConfig
		switch f.kind(it) {
		case kStr:
			s := f.sub(it.Value)
			var err error
			v, err = format.ParseVolume(s)
			if err != nil {
				f.fail("volume %q: %v", s, err)
			}
		case kMap:
			v = f.volumeMount(it)
		default:
			f.fail("volume item")
		}
		if v.Target == "" {
			f.fail("volume without target")
		}
		v.Target = path.Clean(v.Target)
		out = append(out, v)
	}
	// compose-go drops redefinitions of a target, before and after cleaning
	// it; any is left to compose-go.
	if len(out) > 1 {
		keys := make([]string, len(out))
		for i, v := range out {
			keys[i] = v.Target
		}
		f.distinct(keys, identity)
	}
	return out
}

func (f *fastLoader) volumeMount(n *yaml.Node) types.ServiceVolumeConfig {
	var v types.ServiceVolumeConfig
	hasTarget := false
	f.each(n, func(k string, x *yaml.Node) {
		switch k {
		case "type":
			v.Type = f.str(x)
			switch v.Type {
			case "bind", "volume", "tmpfs", "npipe", "cluster", "image":
			default:
				f.fail("volume type")
			}
		case "source":
			v.Source = f.str(x)
		case "target":
			v.Target, hasTarget = f.str(x), true
		case "read_only":
			v.ReadOnly = f.boolean(x, castAlways)
		case "consistency":
			v.Consistency = f.str(x)
		case "bind":
			b := &types.ServiceVolumeBind{CreateHostPath: true}
			f.each(x, func(k string, y *yaml.Node) {
				switch k {
				case "propagation":
					b.Propagation = f.str(y)
				case "create_host_path":
					b.CreateHostPath = types.OptOut(f.boolean(y, castAlways))
				case "selinux":
					b.SELinux = f.str(y)
					if b.SELinux != "z" && b.SELinux != "Z" {
						f.fail("selinux")
					}
				default:
					f.fail("bind key %s", k)
				}
			})
			v.Bind = b
		case "volume":
			vv := &types.ServiceVolumeVolume{}
			f.each(x, func(k string, y *yaml.Node) {
				switch k {
				case "nocopy":
					vv.NoCopy = f.boolean(y, castAlways)
				case "subpath":
					vv.Subpath = f.str(y)
				default:
					f.fail("volume key %s", k)
				}
			})
			v.Volume = vv
		case "tmpfs":
			t := &types.ServiceVolumeTmpfs{}
			f.each(x, func(k string, y *yaml.Node) {
				switch k {
				case "size":
					t.Size = f.unitBytes(y, true)
				default:
					f.fail("tmpfs key %s", k)
				}
			})
			v.Tmpfs = t
		default:
			f.fail("volume key %s", k)
		}
	})
	if v.Type == "" || !hasTarget || v.Target == "" {
		f.fail("volume without type or target")
	}
	return v
}

// serviceNetworks reads a service's networks; nil means none is named,
// and compose-go then connects the service to the default network.
func (f *fastLoader) serviceNetworks(n *yaml.Node) map[string]*types.ServiceNetworkConfig {
	n = f.deref(n)
	out := map[string]*types.ServiceNetworkConfig{}
	if n.Kind == yaml.SequenceNode {
		for _, s := range f.strings(n) {
			f.resourceName(s)
			f.userKey(s)
			out[s] = nil
		}
	} else {
		f.each(n, func(k string, v *yaml.Node) {
			f.resourceName(k)
			f.userKey(k)
			v = f.deref(v)
			if f.kind(v) == kNull {
				out[k] = nil
				return
			}
			c := &types.ServiceNetworkConfig{}
			f.each(v, func(k string, x *yaml.Node) {
				switch k {
				case "aliases":
					c.Aliases = f.strings(x)
				case "ipv4_address":
					c.Ipv4Address = f.str(x)
				case "ipv6_address":
					c.Ipv6Address = f.str(x)
				default:
					f.fail("network key %s", k)
				}
			})
			out[k] = c
		})
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// fileMounts reads a service's secrets or configs; secrets default their
// target to /run/secrets/<source>.
func (f *fastLoader) fileMounts(n *yaml.Node, secrets bool) []types.FileReferenceConfig {
	items := f.seq(n)
	out := make([]types.FileReferenceConfig, 0, len(items))
	keys := make([]string, 0, len(items))
	for _, it := range items {
		it = f.deref(it)
		var m types.FileReferenceConfig
		hasTarget := false
		switch f.kind(it) {
		case kStr:
			m.Source = f.sub(it.Value)
		case kMap:
			f.each(it, func(k string, v *yaml.Node) {
				switch k {
				case "source":
					m.Source = f.str(v)
				case "target":
					m.Target, hasTarget = f.str(v), true
				case "uid":
					m.UID = f.str(v)
				case "gid":
					m.GID = f.str(v)
				default:
					f.fail("mount key %s", k)
				}
			})
		default:
			f.fail("mount item")
		}
		if m.Source == "" {
			f.fail("mount without source")
		}
		key := "/" + m.Source
		if secrets {
			key = "/run/secrets/" + m.Source
		}
		if hasTarget {
			key = m.Target
		} else if secrets {
			m.Target = key
		}
		keys = append(keys, key)
		out = append(out, m)
	}
	f.distinct(keys, identity)
	return out
}

func (f *fastLoader) dependsOn(n *yaml.Node) types.DependsOnConfig {
	n = f.deref(n)
	out := types.DependsOnConfig{}
	if n.Kind == yaml.SequenceNode {
		for _, s := range f.strings(n) {
			out[s] = types.ServiceDependency{Condition: types.ServiceConditionStarted, Required: true}
		}
	} else {
		f.each(n, func(k string, v *yaml.Node) {
			f.resourceName(k)
			d := types.ServiceDependency{Required: true}
			f.each(v, func(k string, x *yaml.Node) {
				switch k {
				case "condition":
					d.Condition = f.str(x)
					switch d.Condition {
					case types.ServiceConditionStarted, types.ServiceConditionHealthy, types.ServiceConditionCompletedSuccessfully:
					default:
						f.fail("condition")
					}
				case "restart":
					d.Restart = f.boolean(x, castAlways)
				case "required":
					d.Required = f.boolean(x, castInterp)
				default:
					f.fail("depends_on key %s", k)
				}
			})
			if d.Condition == "" {
				f.fail("depends_on without condition") // required by the schema
			}
			out[k] = d
		})
	}
	if len(out) == 0 {
		f.fail("empty depends_on")
	}
	return out
}

var ulimitNameRe = regexp.MustCompile(`^[a-z]+$`)

func (f *fastLoader) ulimits(n *yaml.Node) map[string]*types.UlimitsConfig {
	out := map[string]*types.UlimitsConfig{}
	f.each(n, func(k string, v *yaml.Node) {
		if !ulimitNameRe.MatchString(k) {
			f.fail("ulimit name")
		}
		v = f.deref(v)
		u := &types.UlimitsConfig{}
		if f.kind(v) == kInt {
			u.Single = int(f.integer(v, castNever, -1, maxInt))
		} else {
			hasSoft, hasHard := false, false
			f.each(v, func(k string, x *yaml.Node) {
				switch k {
				case "soft":
					u.Soft, hasSoft = int(f.integer(x, castNever, -1, maxInt)), true
				case "hard":
					u.Hard, hasHard = int(f.integer(x, castNever, -1, maxInt)), true
				default:
					f.fail("ulimit key %s", k)
				}
			})
			if !hasSoft || !hasHard {
				f.fail("ulimit needs soft and hard")
			}
		}
		out[k] = u
	})
	return out
}

func (f *fastLoader) deploy(n *yaml.Node) *types.DeployConfig {
	d := &types.DeployConfig{}
	f.each(n, func(k string, v *yaml.Node) {
		switch k {
		case "mode":
			d.Mode = f.str(v)
		case "endpoint_mode":
			d.EndpointMode = f.str(v)
		case "replicas":
			r := int(f.integer(v, castAlways, 0, maxInt))
			d.Replicas = &r
		case "labels":
			d.Labels = f.labels(v)
		case "update_config":
			d.UpdateConfig = f.updateConfig(v)
		case "rollback_config":
			d.RollbackConfig = f.updateConfig(v)
		case "restart_policy":
			rp := &types.RestartPolicy{}
			f.each(v, func(k string, x *yaml.Node) {
				switch k {
				case "condition":
					rp.Condition = f.str(x)
				case "delay":
					rp.Delay = f.durationp(x)
				case "window":
					rp.Window = f.durationp(x)
				case "max_attempts":
					m := uint64(f.integer(x, castInterp, 0, maxInt))
					rp.MaxAttempts = &m
				default:
					f.fail("restart_policy key %s", k)
				}
			})
			d.RestartPolicy = rp
		case "placement":
			f.each(v, func(k string, x *yaml.Node) {
				switch k {
				case "constraints":
					d.Placement.Constraints = f.stringList(x, identity)
				case "preferences":
					items := f.seq(x)
					d.Placement.Preferences = make([]types.PlacementPreferences, len(items))
					for i, it := range items {
						f.each(it, func(k string, y *yaml.Node) {
							if k != "spread" {
								f.fail("preference key %s", k)
							}
							d.Placement.Preferences[i].Spread = f.str(y)
						})
					}
				case "max_replicas_per_node":
					d.Placement.MaxReplicas = uint64(f.integer(x, castInterp, 0, maxInt))
				default:
					f.fail("placement key %s", k)
				}
			})
		case "resources":
			f.each(v, func(k string, x *yaml.Node) {
				switch k {
				case "limits":
					d.Resources.Limits = f.resource(x, true)
				case "reservations":
					d.Resources.Reservations = f.resource(x, false)
				default:
					f.fail("resources key %s", k)
				}
			})
		default:
			f.fail("deploy key %s", k)
		}
	})
	return d
}

func (f *fastLoader) resource(n *yaml.Node, limits bool) *types.Resource {
	r := &types.Resource{}
	f.each(n, func(k string, v *yaml.Node) {
		switch k {
		case "cpus":
			v = f.deref(v)
			var x any
			switch f.kind(v) {
			case kStr:
				x = f.sub(v.Value)
			case kInt:
				x = int(f.integer(v, castNever, 0, maxInt))
			case kFloat:
				fv, _ := strconv.ParseFloat(v.Value, 64)
				x = fv
			default:
				f.fail("cpus")
			}
			if err := r.NanoCPUs.DecodeMapstructure(x); err != nil {
				f.fail("cpus: %v", err)
			}
		case "memory":
			r.MemoryBytes = f.unitBytes(v, false)
		case "pids":
			if !limits {
				f.fail("pids reservation")
			}
			r.Pids = f.integer(v, castNever, 0, maxInt)
		default:
			f.fail("resource key %s", k)
		}
	})
	return r
}

func (f *fastLoader) updateConfig(n *yaml.Node) *types.UpdateConfig {
	u := &types.UpdateConfig{}
	f.each(n, func(k string, v *yaml.Node) {
		switch k {
		case "parallelism":
			p := uint64(f.integer(v, castInterp, 0, maxInt))
			u.Parallelism = &p
		case "delay":
			u.Delay = f.duration(v)
		case "monitor":
			u.Monitor = f.duration(v)
		case "failure_action":
			u.FailureAction = f.str(v)
		case "order":
			u.Order = f.str(v)
			if u.Order != "start-first" && u.Order != "stop-first" {
				f.fail("order")
			}
		case "max_failure_ratio":
			v = f.deref(v)
			switch f.kind(v) {
			case kInt, kFloat:
				x, _ := strconv.ParseFloat(v.Value, 64)
				u.MaxFailureRatio = float32(x)
			default:
				f.fail("max_failure_ratio")
			}
		default:
			f.fail("update_config key %s", k)
		}
	})
	return u
}
