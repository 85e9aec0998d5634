package compose

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/consts"
	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"
)

// LoadOptions say which files make one project and with which environment.
type LoadOptions struct {
	// Files are merged in order, like `docker compose -f a -f b` or
	// `docker stack deploy -c a -c b`.
	Files []string
	// WorkingDir defaults to the directory of the first file.
	WorkingDir string
	// Env is the process environment used for interpolation; nil means none.
	Env map[string]string
	// EnvFiles are read after Env; when empty, WorkingDir/.env is read if it
	// exists, as docker compose does.
	EnvFiles []string
	// NoDotEnv disables the implicit .env file.
	NoDotEnv bool
	// Dockerfiles, when set, also loads the Dockerfile of every service built
	// from a local context.
	Dockerfiles bool
}

// Project is a compose project as Docker resolves it, plus the raw files it
// came from, for positions and for rules about how things are written.
type Project struct {
	Model      *types.Project
	Files      []*SourceFile // the -f files first, then included/extended files
	WorkingDir string
	Env        map[string]string
	// Unset lists variables referenced without a value or default; Docker
	// substitutes an empty string for them.
	Unset []string
	// Dockerfiles maps a service name to its parsed Dockerfile.
	Dockerfiles map[string]*Dockerfile
}

// Locate maps a YAML path to the file, line and column that defines it, or
// to its nearest existing ancestor.
func (p *Project) Locate(path Path) Location { return locate(p.Files, path) }

// Raw returns the raw (uninterpolated, as written) node at path, aliases
// resolved, or nil.
func (p *Project) Raw(path Path) *yaml.Node { return rawNode(p.Files, path) }

// ServiceNames returns service names sorted.
func (p *Project) ServiceNames() []string {
	names := make([]string, 0, len(p.Model.Services))
	for n := range p.Model.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Ignores returns every inline suppression of every file.
func (p *Project) Ignores() []Ignore {
	var out []Ignore
	for _, f := range p.Files {
		out = append(out, f.Ignores...)
	}
	for _, d := range p.Dockerfiles {
		out = append(out, d.Ignores...)
	}
	return out
}

// Load reads compose files the way docker compose and docker stack deploy
// do, and indexes their raw YAML for positions. Errors are *LoadError.
func Load(ctx context.Context, o LoadOptions) (p *Project, err error) {
	return load(ctx, o, true)
}

// load is Load; fast=false always uses compose-go's loader (the tests
// compare the two).
func load(ctx context.Context, o LoadOptions, fast bool) (p *Project, err error) {
	defer func() {
		// A hostile file must give exit 2 with the file name, never a crash.
		if r := recover(); r != nil {
			name := "-"
			if len(o.Files) > 0 {
				name = o.Files[0]
			}
			p, err = nil, &LoadError{File: name, Err: fmt.Errorf("compose loader failed on this input: %v", r)}
		}
	}()
	if len(o.Files) == 0 {
		return nil, &LoadError{File: "-", Err: errors.New("no compose file given")}
	}
	wd := o.WorkingDir
	if wd == "" {
		wd = filepath.Dir(o.Files[0])
	}
	wd, _ = filepath.Abs(wd)
	p = &Project{WorkingDir: wd, Env: map[string]string{}}
	for k, v := range o.Env {
		p.Env[k] = v
	}

	seen := map[string]bool{}
	var configs []types.ConfigFile
	for _, name := range o.Files {
		sf, err := readSource(name)
		if err != nil {
			return nil, err
		}
		if err := checkLegacy(sf); err != nil {
			return nil, err
		}
		p.Files = append(p.Files, sf)
		seen[absPath(name)] = true
		configs = append(configs, types.ConfigFile{Filename: absPath(name), Content: sf.Content})
	}
	// Included and extended files: parsed for positions only; compose-go
	// loads them itself.
	for i := 0; i < len(p.Files) && i < 64; i++ {
		for _, ref := range referencedFiles(p.Files[i]) {
			a := absPath(ref)
			if seen[a] {
				continue
			}
			seen[a] = true
			if sf, err := readSource(ref); err == nil {
				p.Files = append(p.Files, sf)
			}
		}
	}

	envFiles := o.EnvFiles
	if len(envFiles) == 0 && !o.NoDotEnv {
		if st, err := os.Stat(filepath.Join(wd, ".env")); err == nil && !st.IsDir() {
			envFiles = []string{filepath.Join(wd, ".env")}
		}
	}
	if len(envFiles) > 0 {
		m, err := dotenv.GetEnvFromFile(p.Env, envFiles)
		if err != nil {
			return nil, &LoadError{File: strings.Join(envFiles, ","), Err: err}
		}
		for k, v := range m {
			p.Env[k] = v
		}
	}

	// Interpolation of a file without any '$' is the identity; skipping it
	// spares compose-go's per-node type-cast pattern matching, its main cost.
	noDollar := true
	for _, f := range p.Files {
		if bytes.IndexByte(f.Content, '$') >= 0 {
			noDollar = false
		}
	}
	unset := map[string]bool{}
	name := loader.NormalizeProjectName(filepath.Base(wd))
	if name == "" {
		name = "stack"
	}
	// compose-go adds the project name to the environment before loading.
	p.Env[consts.ComposeProjectName] = name
	if fast && len(o.Files) == 1 && len(p.Files) == 1 {
		if model, fastUnset, ok, _ := fastLoad(p.Files[0], name, wd, p.Env, !noDollar); ok {
			return p.finish(model, fastUnset, o)
		}
	}
	model, err := loader.LoadWithContext(ctx, types.ConfigDetails{
		WorkingDir:  wd,
		ConfigFiles: configs,
		Environment: types.Mapping(p.Env),
	}, func(lo *loader.Options) {
		lo.SetProjectName(name, true)
		// Undefined networks, volumes and secrets are reported by berth
		// with positions instead.
		lo.SkipConsistencyCheck = true
		lo.Profiles = []string{"*"}
		// compose-go's path resolution walks every node against every path
		// pattern; berth resolves the few paths it reads itself.
		lo.ResolvePaths = false
		lo.SkipInterpolation = noDollar
		lookup := lo.Interpolate.LookupValue
		lo.Interpolate.LookupValue = func(key string) (string, bool) {
			v, ok := lookup(key)
			if !ok {
				unset[key] = true
			}
			return v, ok
		}
	})
	if err != nil {
		return nil, p.loadError(err)
	}
	return p.finish(model, unset, o)
}

// finish completes a project from its model.
func (p *Project) finish(model *types.Project, unset map[string]bool, o LoadOptions) (*Project, error) {
	p.Model = model
	p.resolvePaths()
	for k := range unset {
		p.Unset = append(p.Unset, k)
	}
	sort.Strings(p.Unset)
	if err := p.checkReferences(); err != nil {
		return nil, err
	}
	if o.Dockerfiles {
		p.loadDockerfiles()
	}
	return p, nil
}

func absPath(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

func readSource(name string) (*SourceFile, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, &LoadError{File: name, Err: err}
	}
	return ParseSource(name, data)
}

// checkLegacy rejects Compose file format v1 (services at the top level)
// with a message saying what to do, instead of compose-go's schema error.
func checkLegacy(sf *SourceFile) error {
	for _, doc := range sf.Docs {
		if len(doc.Content) == 0 {
			continue
		}
		root := resolve(doc.Content[0])
		if root.Kind != yaml.MappingNode {
			return &LoadError{File: sf.Path, Line: root.Line, Column: root.Column,
				Err: errors.New("top-level value must be a mapping (services:, networks:, ...)")}
		}
		var hasServices bool
		var legacy *yaml.Node
		for i := 0; i+1 < len(root.Content); i += 2 {
			k, v := root.Content[i], resolve(root.Content[i+1])
			switch k.Value {
			case "services", "include", "networks", "volumes", "secrets", "configs", "version", "name", "models":
				if k.Value == "services" {
					hasServices = true
				}
				continue
			}
			if strings.HasPrefix(k.Value, "x-") || v == nil || v.Kind != yaml.MappingNode {
				continue
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				if s := v.Content[j].Value; (s == "image" || s == "build") && legacy == nil {
					legacy = k
				}
			}
		}
		if !hasServices && legacy != nil {
			return &LoadError{File: sf.Path, Line: legacy.Line, Column: legacy.Column, Field: legacy.Value,
				Err: errors.New("legacy Compose file format v1 (services at the top level) is not read by docker compose v2 nor docker stack deploy: move every service under a top-level services: key")}
		}
	}
	return nil
}

// referencedFiles lists files named by include: and extends.file, resolved
// against the referencing file's directory; interpolated names are skipped.
func referencedFiles(sf *SourceFile) []string {
	dir := filepath.Dir(sf.Path)
	var out []string
	add := func(n *yaml.Node) {
		n = resolve(n)
		if n == nil || n.Kind != yaml.ScalarNode || n.Value == "" || strings.Contains(n.Value, "$") {
			return
		}
		p := n.Value
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		out = append(out, p)
	}
	if inc := rawNode([]*SourceFile{sf}, P("include")); inc != nil && inc.Kind == yaml.SequenceNode {
		for _, item := range inc.Content {
			item = resolve(item)
			if item.Kind == yaml.ScalarNode {
				add(item)
				continue
			}
			if item.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(item.Content); i += 2 {
					if item.Content[i].Value != "path" {
						continue
					}
					v := resolve(item.Content[i+1])
					if v.Kind == yaml.SequenceNode {
						for _, x := range v.Content {
							add(x)
						}
					} else {
						add(v)
					}
				}
			}
		}
	}
	if svcs := rawNode([]*SourceFile{sf}, P("services")); svcs != nil && svcs.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(svcs.Content); i += 2 {
			if f := rawNode([]*SourceFile{sf}, P("services", svcs.Content[i].Value, "extends", "file")); f != nil {
				add(f)
			}
		}
	}
	return out
}

var (
	fileInErrRe = regexp.MustCompile(`(/[^\s:"']+\.(?:ya?ml|json))`)
	fieldRe     = regexp.MustCompile(`[A-Za-z0-9_\-]+(?:[.\[][A-Za-z0-9_\-\]"]+)+|services\.[A-Za-z0-9_\-]+`)
)

// loadError turns a compose-go error into a LoadError with the best position
// the message allows: the longest dotted path in it that exists in a file.
func (p *Project) loadError(err error) error {
	var le *LoadError
	if errors.As(err, &le) {
		return le
	}
	msg := err.Error()
	files := p.Files
	if m := fileInErrRe.FindString(msg); m != "" {
		for _, f := range p.Files {
			if absPath(f.Path) == m {
				files = []*SourceFile{f}
			}
		}
		msg = strings.ReplaceAll(msg, m, filepath.Base(m))
	}
	best := Location{}
	for _, cand := range fieldRe.FindAllString(msg, -1) {
		path := parseDotted(cand)
		loc := locate(files, path)
		if len(path) > 1 && loc.Line > 0 && (best.Path == "" || len(cand) > len(best.Path)) {
			best = loc
			best.Path = path.String()
		}
	}
	if best.File == "" && len(files) > 0 {
		best = Location{File: files[0].Path}
		if line, col := yamlErrorPosition(msg); line > 0 {
			best.Line, best.Column = line, col
		}
	}
	return &LoadError{File: best.File, Line: best.Line, Column: best.Column, Field: best.Path, Err: errors.New(msg)}
}

// parseDotted splits "services.web.ports.0" or "services.web.ports[0]".
func parseDotted(s string) Path {
	s = strings.NewReplacer("[", ".", "]", "", `"`, "").Replace(s)
	var out Path
	for _, seg := range strings.Split(s, ".") {
		if seg != "" {
			out = append(out, seg)
		}
	}
	return out
}

// checkReferences reports services that use networks, volumes, secrets or
// configs the project does not declare, with the position of the use.
func (p *Project) checkReferences() error {
	for _, name := range p.ServiceNames() {
		s := p.Model.Services[name]
		// In name order, so that the same file always gives the same error.
		nets := make([]string, 0, len(s.Networks))
		for n := range s.Networks {
			nets = append(nets, n)
		}
		sort.Strings(nets)
		for _, n := range nets {
			if _, ok := p.Model.Networks[n]; !ok && n != "default" {
				return p.refError(P("services", name, "networks", n), fmt.Sprintf("service %q uses network %q, which is not declared under the top-level networks:", name, n))
			}
		}
		for i, v := range s.Volumes {
			if v.Type == types.VolumeTypeVolume && v.Source != "" {
				if _, ok := p.Model.Volumes[v.Source]; !ok {
					return p.refError(P("services", name, "volumes", fmt.Sprint(i)), fmt.Sprintf("service %q mounts volume %q, which is not declared under the top-level volumes:", name, v.Source))
				}
			}
		}
		for i, sec := range s.Secrets {
			if _, ok := p.Model.Secrets[sec.Source]; !ok {
				return p.refError(P("services", name, "secrets", fmt.Sprint(i)), fmt.Sprintf("service %q uses secret %q, which is not declared under the top-level secrets:", name, sec.Source))
			}
		}
		for i, c := range s.Configs {
			if _, ok := p.Model.Configs[c.Source]; !ok {
				return p.refError(P("services", name, "configs", fmt.Sprint(i)), fmt.Sprintf("service %q uses config %q, which is not declared under the top-level configs:", name, c.Source))
			}
		}
	}
	return nil
}

func (p *Project) refError(path Path, msg string) error {
	loc := p.Locate(path)
	return &LoadError{File: loc.File, Line: loc.Line, Column: loc.Column, Field: path.String(), Err: errors.New(msg)}
}

// resolvePaths makes the paths berth reads (build contexts, secret and
// config files, bind sources) absolute against the working directory, as
// compose-go's ResolvePaths would.
func (p *Project) resolvePaths() {
	abs := func(s string) string {
		if s == "" || filepath.IsAbs(s) || strings.Contains(s, "://") {
			return s
		}
		if strings.HasPrefix(s, "~") {
			if home, err := os.UserHomeDir(); err == nil {
				return filepath.Join(home, s[1:])
			}
			return s
		}
		return filepath.Join(p.WorkingDir, s)
	}
	for name, s := range p.Model.Services {
		if s.Build != nil {
			b := *s.Build
			b.Context = abs(b.Context)
			s.Build = &b
		}
		vols := make([]types.ServiceVolumeConfig, len(s.Volumes))
		copy(vols, s.Volumes)
		for i, v := range vols {
			if v.Type == types.VolumeTypeBind && (strings.HasPrefix(v.Source, ".") || strings.HasPrefix(v.Source, "~")) {
				vols[i].Source = abs(v.Source)
			}
		}
		s.Volumes = vols
		p.Model.Services[name] = s
	}
	for name, sec := range p.Model.Secrets {
		sec.File = abs(sec.File)
		p.Model.Secrets[name] = sec
	}
	for name, c := range p.Model.Configs {
		c.File = abs(c.File)
		p.Model.Configs[name] = c
	}
}
