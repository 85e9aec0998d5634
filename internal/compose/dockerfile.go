package compose

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Dockerfile is a Dockerfile parsed by BuildKit's parser (heredocs,
// RUN --mount flags, parser directives and escape characters as BuildKit
// reads them), grouped into build stages.
type Dockerfile struct {
	Path string
	// GlobalArgs are the ARG instructions before the first FROM.
	GlobalArgs []*Instruction
	Stages     []*Stage
	Ignores    []Ignore
}

// Stage is one FROM and the instructions after it.
type Stage struct {
	Index        int
	Name         string // AS name, lowercased; "" when unnamed
	Base         string // image or earlier stage named by FROM
	From         *Instruction
	Instructions []*Instruction
}

// Instruction is one Dockerfile instruction.
type Instruction struct {
	Cmd      string   // lowercase: run, copy, user...
	Args     []string // parsed arguments, flags excluded
	Flags    []string // --mount=..., --from=..., --chown=...
	Original string
	Line     int
	EndLine  int
	Heredocs []parser.Heredoc
}

// Final returns the last stage, the one an untargeted build produces.
func (d *Dockerfile) Final() *Stage {
	if len(d.Stages) == 0 {
		return nil
	}
	return d.Stages[len(d.Stages)-1]
}

// StageNamed returns the stage called name (case-insensitive) or nil.
func (d *Dockerfile) StageNamed(name string) *Stage {
	name = strings.ToLower(name)
	if i, err := strconv.Atoi(name); err == nil && i >= 0 && i < len(d.Stages) {
		return d.Stages[i]
	}
	for _, s := range d.Stages {
		if s.Name != "" && s.Name == name {
			return s
		}
	}
	return nil
}

// LoadDockerfile reads and parses a Dockerfile.
func LoadDockerfile(path string) (*Dockerfile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &LoadError{File: path, Err: err}
	}
	return ParseDockerfile(path, data)
}

var dfLineRe = regexp.MustCompile(`line (\d+)`)

// ParseDockerfile parses Dockerfile content.
func ParseDockerfile(path string, data []byte) (d *Dockerfile, err error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	defer func() {
		// The parser is robust, but a panic on a hostile file must become
		// an error with the file name, never a crash.
		if r := recover(); r != nil {
			d, err = nil, &LoadError{File: path, Err: errors.New("dockerfile parser failed on this input")}
		}
	}()
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		le := &LoadError{File: path, Err: err}
		if m := dfLineRe.FindStringSubmatch(err.Error()); m != nil {
			le.Line, _ = strconv.Atoi(m[1])
		}
		var loc interface{ Location() []parser.Range }
		if errors.As(err, &loc) && len(loc.Location()) > 0 {
			le.Line = loc.Location()[0].Start.Line
		}
		if le.Line == 0 {
			// Directive errors carry no position: point at the directive.
			le.Line = 1
			for i, l := range strings.Split(string(data), "\n") {
				if strings.Contains(err.Error(), "escape") && strings.Contains(l, "escape=") {
					le.Line = i + 1
					break
				}
			}
		}
		return nil, le
	}
	d = &Dockerfile{Path: path}
	var cur *Stage
	for _, n := range res.AST.Children {
		in := &Instruction{
			Cmd: strings.ToLower(n.Value), Flags: n.Flags, Original: n.Original,
			Line: n.StartLine, EndLine: n.EndLine, Heredocs: n.Heredocs,
		}
		for a := n.Next; a != nil; a = a.Next {
			in.Args = append(in.Args, a.Value)
		}
		if in.Cmd == "from" {
			cur = &Stage{Index: len(d.Stages), From: in}
			if len(in.Args) > 0 {
				cur.Base = in.Args[0]
			}
			if len(in.Args) >= 3 && strings.EqualFold(in.Args[1], "as") {
				cur.Name = strings.ToLower(in.Args[2])
			}
			d.Stages = append(d.Stages, cur)
			continue
		}
		if cur == nil {
			if in.Cmd == "arg" {
				d.GlobalArgs = append(d.GlobalArgs, in)
			}
			continue
		}
		cur.Instructions = append(cur.Instructions, in)
	}
	ends := map[int]int{}
	for _, s := range d.Stages {
		ends[s.From.Line] = s.From.EndLine
		for _, in := range s.Instructions {
			ends[in.Line] = in.EndLine
		}
	}
	d.Ignores = parseIgnoreLines(path, data, func(l int) int {
		if e, ok := ends[l]; ok {
			return e
		}
		return l
	})
	return d, nil
}

// loadDockerfiles parses the Dockerfile of each service built from a local
// context; unreadable ones are skipped (the build is not berth's to run).
func (p *Project) loadDockerfiles() {
	p.Dockerfiles = map[string]*Dockerfile{}
	for name, s := range p.Model.Services {
		if s.Build == nil || s.Build.DockerfileInline != "" || strings.Contains(s.Build.Context, "://") {
			continue
		}
		df := s.Build.Dockerfile
		if df == "" {
			df = "Dockerfile"
		}
		if !filepath.IsAbs(df) {
			df = filepath.Join(s.Build.Context, df)
		}
		if d, err := LoadDockerfile(df); err == nil {
			p.Dockerfiles[name] = d
		}
	}
}
