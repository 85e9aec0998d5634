package audit

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// fileVariantImages maps image names to the _FILE convention they support.
var fileVariantImages = []struct {
	re     literalRe
	suffix string
}{
	{newLiteralRe(`(?i)(^|/)(postgres|postgis|timescaledb|mysql|mariadb|mongo|wordpress|nextcloud|minio|influxdb|rabbitmq|bitnami/[a-z-]+)([:@]|$)`,
		"postgres", "postgis", "timescaledb", "mysql", "mariadb", "mongo", "wordpress", "nextcloud", "minio", "influxdb", "rabbitmq", "bitnami/"), "_FILE"},
	{newLiteralRe(`(?i)(^|/)grafana([:@/-]|$)`, "grafana"), "__FILE"},
}

var secretFileRe = regexp.MustCompile(`(?i)(^id_(rsa|dsa|ecdsa|ed25519)$|\.(pem|key|p12|pfx|jks|keystore|ppk|kdbx)$|^\.htpasswd$|^\.npmrc$|^\.pypirc$|^\.netrc$|^credentials(\.json)?$|^\.env(\.[a-z]+)?$|(^|[_.-])secrets?([_.-]|$)|password)`)

// envValue returns the env value and whether it is written as a literal
// (not interpolated from the deploy environment).
func (s *Svc) envRaw(name string) (raw string, written bool) {
	n := s.Raw("environment", name)
	if n == nil {
		// list form: "- NAME=value"
		if seq := s.Raw("environment"); seq != nil {
			for _, item := range seq.Content {
				if k, v, ok := strings.Cut(item.Value, "="); ok && k == name {
					return v, true
				}
			}
		}
		return "", false
	}
	return n.Value, true
}

func (s *Svc) envPath(name string) []string {
	if s.Raw("environment", name) != nil {
		return []string{"environment", name}
	}
	if seq := s.Raw("environment"); seq != nil {
		for i, item := range seq.Content {
			if k, _, ok := strings.Cut(item.Value, "="); ok && k == name {
				return []string{"environment", itoa(i)}
			}
		}
	}
	return []string{"environment"}
}

func interpolated(raw string) bool { return strings.Contains(raw, "${") || strings.HasPrefix(raw, "$") }

var secretRules = []Rule{
	{
		ID: "secrets.env.literal", Theme: "secrets", Area: AreaSecrets, Severity: Error, DevSeverity: Warning,
		Title: "Secret written as a literal in environment",
		Why:   "A literal in the stack file is in version control, in docker inspect, in every crash dump and child process: it is not a secret any more.",
		Fix:   "Create a Docker secret (printf %s \"$VALUE\" | docker secret create NAME -), list it under secrets:, and point the app at /run/secrets/NAME (the NAME_FILE convention).",
		Service: func(c *Ctx, s *Svc) {
			for _, k := range s.EnvKeys() {
				v := s.Environment[k]
				if v == nil {
					continue
				}
				raw, written := s.envRaw(k)
				if !written || interpolated(raw) {
					continue
				}
				if c.run.secretName(k) && literalSecret(*v) {
					c.At(s.Path(s.envPath(k)...), "service %s: %s holds a literal secret", s.Name, k)
				} else if m := urlCredRe.FindStringSubmatch(*v); m != nil && literalSecret(m[1]) {
					c.At(s.Path(s.envPath(k)...), "service %s: %s embeds a password in a URL", s.Name, k)
				}
			}
		},
	},
	{
		ID: "secrets.env.interpolated", Theme: "secrets", Area: AreaSecrets, Severity: Warning, DevSeverity: Info,
		Title: "Secret passed through environment",
		Why:   "Even when interpolated from the deploy environment, a secret in environment: is stored in the service spec: docker inspect and docker service inspect show it in clear.",
		Fix:   "Pass it as a Docker secret mounted under /run/secrets and read it from the file (NAME_FILE).",
		Service: func(c *Ctx, s *Svc) {
			for _, k := range s.EnvKeys() {
				raw, written := s.envRaw(k)
				if written && interpolated(raw) && c.run.secretName(k) {
					c.At(s.Path(s.envPath(k)...), "service %s: %s is a secret passed through the environment (visible in docker inspect)", s.Name, k)
				}
			}
		},
	},
	{
		ID: "secrets.env.entropy", Theme: "secrets", Area: AreaSecrets, Severity: Warning, Dev: true,
		Title: "High-entropy literal in environment",
		Why:   "A long random-looking value is almost always a key or token, whatever its variable is called.",
		Fix:   "Move the value to a Docker secret; if it is not secret, suppress with a reason.",
		Service: func(c *Ctx, s *Svc) {
			for _, k := range s.EnvKeys() {
				v := s.Environment[k]
				raw, written := s.envRaw(k)
				if v == nil || !written || interpolated(raw) || c.run.secretName(k) {
					continue
				}
				if highEntropy(*v) {
					c.At(s.Path(s.envPath(k)...), "service %s: %s looks like a key or token (high entropy)", s.Name, k)
				}
			}
		},
	},
	{
		ID: "secrets.build-arg", Theme: "secrets", Area: AreaSecrets, Severity: Error, Dev: true,
		Title: "Secret passed as a build argument",
		Why:   "Build arguments are recorded in the image history (docker history) and in provenance: anyone who can pull the image can read them.",
		Fix:   "Use build secrets: build.secrets: [name] and RUN --mount=type=secret,id=name in the Dockerfile.",
		Service: func(c *Ctx, s *Svc) {
			if s.Build == nil {
				return
			}
			for _, k := range sortedKeys(s.Build.Args) {
				v := s.Build.Args[k]
				if c.run.secretName(k) && (v == nil || literalSecret(*v) || interpolated(*v)) {
					c.At(s.Path("build", "args", k), "service %s: build arg %s carries a secret into the image history", s.Name, k)
				}
			}
		},
	},
	{
		ID: "secrets.file-variant", Theme: "secrets", Area: AreaSecrets, Severity: Warning, Dev: true,
		Title: "_FILE variant available but unused",
		Why:   "This image can read the secret from a file (NAME_FILE): the value need not be in the environment at all.",
		Fix:   "Replace NAME with NAME_FILE: /run/secrets/<secret> and mount the Docker secret.",
		Service: func(c *Ctx, s *Svc) {
			suffix := ""
			for _, fv := range fileVariantImages {
				if fv.re.MatchString(s.Image) {
					suffix = fv.suffix
				}
			}
			if suffix == "" {
				return
			}
			for _, k := range s.EnvKeys() {
				if !c.run.secretName(k) || strings.HasSuffix(k, "_FILE") {
					continue
				}
				if _, ok := s.Environment[k+suffix]; ok {
					continue
				}
				c.At(s.Path(s.envPath(k)...), "service %s: image %s reads %s%s; use it with a Docker secret instead of %s", s.Name, s.Image, k, suffix, k)
			}
		},
	},
	{
		ID: "secrets.files.committed", Theme: "secrets", Area: AreaSecrets, Severity: Warning, Dev: true,
		Title: "Secret file next to the stack",
		Why:   "Key and password files in the stack's directory end up in the repository and in every copy of it; file: secrets also require the file on the deploying machine.",
		Fix:   "Keep secret files out of the repository (.gitignore) and create secrets with docker secret create, referenced as external: true.",
		Project: func(c *Ctx) {
			p := c.In.Project
			ignored := gitignored(p.WorkingDir)
			referenced := map[string]bool{}
			for _, sec := range p.Model.Secrets {
				referenced[sec.File] = true
			}
			for _, name := range sortedKeys(p.Model.Secrets) {
				sec := p.Model.Secrets[name]
				if sec.File == "" || bool(sec.External) {
					continue
				}
				if r, err := filepath.Rel(p.WorkingDir, sec.File); err == nil && !strings.HasPrefix(r, "..") && !ignored(r) {
					if _, err := os.Stat(sec.File); err == nil {
						c.At(pathOf("secrets", name, "file"), "secret %s is read from %s, a file next to the stack", name, r)
					}
				}
			}
			entries, _ := os.ReadDir(p.WorkingDir)
			var loose []string
			for _, e := range entries {
				if !e.IsDir() && secretFileRe.MatchString(e.Name()) && !ignored(e.Name()) && e.Name() != ".env" && !referenced[filepath.Join(p.WorkingDir, e.Name())] {
					loose = append(loose, e.Name())
				}
			}
			sort.Strings(loose)
			for _, n := range loose {
				c.At(pathOf(), "%s next to the stack looks like a key or credential file", n)
			}
		},
	},
	{
		ID: "secrets.dockerfile.arg-env", Theme: "secrets", Area: AreaSecrets, Severity: Error, Dev: true,
		Title: "Secret in Dockerfile ARG or ENV",
		Why:   "ARG values used in RUN and every ENV value are stored in the image config and history: every puller can read them.",
		Fix:   "Use RUN --mount=type=secret,id=NAME and pass it with docker build --secret; provide runtime secrets as files under /run/secrets.",
		Dockerfile: func(c *Ctx, d *DF) {
			check := func(in *dfInstruction) {
				// BuildKit's parser gives ARG as "K" or "K=V", ENV as
				// (key, value, separator) triples.
				type kv struct{ k, v string }
				var pairs []kv
				if in.Cmd == "env" {
					for i := 0; i+1 < len(in.Args); i += 3 {
						pairs = append(pairs, kv{in.Args[i], in.Args[i+1]})
					}
				} else {
					for _, a := range in.Args {
						k, v, _ := strings.Cut(a, "=")
						pairs = append(pairs, kv{k, v})
					}
				}
				for _, p := range pairs {
					if !c.run.secretName(p.k) {
						continue
					}
					if in.Cmd == "env" && !literalSecret(p.v) && !strings.HasPrefix(p.v, "$") {
						continue
					}
					c.AtLine(d.Dockerfile, in.Line, "%s %s puts a secret into the image", strings.ToUpper(in.Cmd), p.k)
				}
			}
			for _, in := range d.GlobalArgs {
				check(in)
			}
			for _, st := range d.Stages {
				for _, in := range st.Instructions {
					if in.Cmd == "arg" || in.Cmd == "env" {
						check(in)
					}
				}
			}
		},
	},
	{
		ID: "secrets.dockerfile.copy", Theme: "secrets", Area: AreaSecrets, Severity: Error, Dev: true,
		Title: "Key or credential file copied into the image",
		Why:   "A COPY or ADD of a key puts it in an image layer forever, even if a later step deletes it.",
		Fix:   "Mount it at build time (RUN --mount=type=secret or --mount=type=ssh) and add it to .dockerignore.",
		Dockerfile: func(c *Ctx, d *DF) {
			for _, st := range d.Stages {
				for _, in := range st.Instructions {
					if in.Cmd != "copy" && in.Cmd != "add" || len(in.Args) < 2 {
						continue
					}
					for _, src := range in.Args[:len(in.Args)-1] {
						base := filepath.Base(strings.TrimSuffix(src, "/"))
						if secretFileRe.MatchString(base) && !strings.HasPrefix(src, "--") {
							c.AtLine(d.Dockerfile, in.Line, "%s %s copies a key or credential file into a layer", strings.ToUpper(in.Cmd), src)
						}
					}
				}
			}
		},
	},
}

// gitignored returns a crude matcher of names listed in dir/.gitignore.
func gitignored(dir string) func(string) bool {
	data, err := os.ReadFile(filepath.Join(dir, ".gitignore"))
	if err != nil {
		return func(string) bool { return false }
	}
	var pats []string
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "!") {
			pats = append(pats, strings.TrimSuffix(strings.TrimPrefix(l, "/"), "/"))
		}
	}
	return func(name string) bool {
		name = filepath.ToSlash(name)
		for _, p := range pats {
			first, _, _ := strings.Cut(name, "/")
			if ok, _ := filepath.Match(p, name); ok || p == first {
				return true
			}
			if ok, _ := filepath.Match(p, filepath.Base(name)); ok {
				return true
			}
		}
		return false
	}
}
