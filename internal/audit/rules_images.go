package audit

import (
	"regexp"
	"strings"
)

var defaultRe = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}`)

// resolveDockerfileBase resolves $VAR / ${VAR} in a FROM from ARG defaults.
func resolveDockerfileBase(d *dfFile, base string) (string, bool) {
	if !strings.Contains(base, "$") {
		return base, true
	}
	out := base
	for _, a := range d.GlobalArgs {
		for _, kv := range a.Args {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				continue
			}
			v = strings.Trim(v, `"'`)
			out = strings.ReplaceAll(out, "${"+k+"}", v)
			out = strings.ReplaceAll(out, "$"+k, v)
		}
	}
	return out, !strings.Contains(out, "$")
}

func stageRef(d *dfFile, st *dfStage, base string) bool {
	b := strings.ToLower(base)
	if b == "scratch" {
		return true
	}
	for _, prev := range d.Stages {
		if prev == st {
			break
		}
		if prev.Name != "" && prev.Name == b {
			return true
		}
	}
	return false
}

// tagProblem says what is wrong with an image reference's tag, if anything.
func tagProblem(ref string) string {
	_, tag, digest := imageRef(ref)
	switch {
	case digest != "":
		return ""
	case tag == "":
		return "no tag (means latest)"
	case tag == "latest":
		return "the latest tag"
	}
	return ""
}

var imageRules = []Rule{
	{
		ID: "images.tag.missing", Theme: "images", Area: AreaImages, Severity: Error, DevSeverity: Warning,
		Title: "Image without a tag",
		Why:   "An untagged image means :latest: each node may pull a different build, and a rollback goes to whatever latest is today.",
		Fix:   "Pin a version tag, and in production a digest: image: repo:1.2.3@sha256:...",
		Service: func(c *Ctx, s *Svc) {
			if s.Image == "" || s.unresolved("image") {
				return
			}
			if _, tag, digest := imageRef(s.Image); tag == "" && digest == "" {
				c.At(s.Path("image"), "service %s: image %s has no tag", s.Name, s.Image)
			}
		},
	},
	{
		ID: "images.tag.latest", Theme: "images", Area: AreaImages, Severity: Error, DevSeverity: Warning,
		Title: "Image uses the latest tag",
		Why:   "latest moves: deploys are not reproducible, nodes drift apart, and rollbacks do not go back.",
		Fix:   "Pin a version tag, and in production a digest.",
		Service: func(c *Ctx, s *Svc) {
			if _, tag, digest := imageRef(s.Image); tag == "latest" && digest == "" {
				c.At(s.Path("image"), "service %s: image %s uses latest", s.Name, s.Image)
			}
		},
	},
	{
		ID: "images.tag.default-latest", Theme: "images", Area: AreaImages, Severity: Warning, Dev: true,
		Title: "Interpolation default resolves to latest",
		Why:   "${IMAGE:-repo} or ${TAG:-latest} looks pinned where the variable is set, but any deploy without it silently runs latest.",
		Fix:   "Give the default a version tag, or make the variable required: ${IMAGE:?set IMAGE}.",
		Service: func(c *Ctx, s *Svc) {
			raw, ok := scalarString(s.Raw("image"))
			if !ok {
				return
			}
			for _, m := range defaultRe.FindAllStringSubmatch(raw, -1) {
				full := defaultRe.ReplaceAllStringFunc(raw, func(x string) string { return defaultRe.FindStringSubmatch(x)[1] })
				if p := tagProblem(full); p != "" || m[1] == "latest" {
					c.At(s.Path("image"), "service %s: image %q falls back to %s when its variable is unset", s.Name, raw, full)
					return
				}
			}
		},
	},
	{
		ID: "images.digest", Theme: "images", Area: AreaImages, Severity: Warning, StrictOnly: true,
		Title: "Image not pinned by digest",
		Why:   "A tag can be moved or overwritten in the registry; only a digest guarantees every node runs the bytes that were scanned and signed.",
		Fix:   "Append the digest: image: repo:1.2.3@sha256:<digest> (docker buildx imagetools inspect repo:1.2.3).",
		Service: func(c *Ctx, s *Svc) {
			if s.Image == "" || s.unresolved("image") {
				return
			}
			if _, _, digest := imageRef(s.Image); digest == "" {
				c.At(s.Path("image"), "service %s: image %s is not pinned by digest", s.Name, s.Image)
			}
		},
	},
	{
		ID: "images.build-only", Theme: "images", Area: AreaImages, Severity: Error,
		Title: "Service has build: but no image: in a stack",
		Why:   "docker stack deploy ignores build:; without image: the service cannot be deployed, and with a local tag only the building node has it.",
		Fix:   "Build and push the image in CI, and set image: registry/name:version@sha256:... .",
		Service: func(c *Ctx, s *Svc) {
			if s.Build != nil && !s.Has("image") {
				c.At(s.Path("build"), "service %s is built but names no image: docker stack deploy cannot deploy it", s.Name)
			}
		},
	},
	{
		ID: "images.dockerfile.base-tag", Theme: "images", Area: AreaImages, Severity: Warning, Dev: true,
		Title: "Dockerfile base image without tag or with latest",
		Why:   "An unpinned base makes every build different: yesterday's passing image and today's are not the same code.",
		Fix:   "Pin FROM image:version, and in production FROM image:version@sha256:... .",
		Dockerfile: func(c *Ctx, d *DF) {
			for _, st := range d.Stages {
				base, ok := resolveDockerfileBase(d.Dockerfile, st.Base)
				if !ok || stageRef(d.Dockerfile, st, base) {
					continue
				}
				if p := tagProblem(base); p != "" {
					c.AtLine(d.Dockerfile, st.From.Line, "FROM %s uses %s", base, p)
				}
			}
		},
	},
	{
		ID: "images.dockerfile.base-digest", Theme: "images", Area: AreaImages, Severity: Warning, StrictOnly: true,
		Title: "Dockerfile base image not pinned by digest",
		Why:   "A base tag can move; pinning by digest makes builds reproducible and the SBOM true.",
		Fix:   "FROM image:version@sha256:<digest>.",
		Dockerfile: func(c *Ctx, d *DF) {
			for _, st := range d.Stages {
				base, ok := resolveDockerfileBase(d.Dockerfile, st.Base)
				if !ok || stageRef(d.Dockerfile, st, base) {
					continue
				}
				if _, _, digest := imageRef(base); digest == "" {
					c.AtLine(d.Dockerfile, st.From.Line, "FROM %s is not pinned by digest", base)
				}
			}
		},
	},
}
