package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

//go:embed build
var buildFiles embed.FS

// hostCABundle is the host's trust store (Debian's path), copied into the
// images that make TLS connections at build or run time.
const hostCABundle = "/etc/ssl/certs/ca-certificates.crt"

// Runner runs an external command, streaming its combined output to out.
// The real one is ExecRunner; tests may record calls instead.
type Runner interface {
	Run(ctx context.Context, out io.Writer, stdin io.Reader, name string, args ...string) error
	Output(ctx context.Context, name string, args ...string) (string, error)
}

// ExecRunner runs commands with os/exec.
type ExecRunner struct{ Env []string }

// Run implements Runner.
func (r ExecRunner) Run(ctx context.Context, out io.Writer, stdin io.Reader, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr, cmd.Stdin = out, out, stdin
	if r.Env != nil {
		cmd.Env = append(os.Environ(), r.Env...)
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

// Output implements Runner.
func (r ExecRunner) Output(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return string(b), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(b), nil
}

// Builder makes sure every catalog image exists locally.
type Builder struct {
	Run Runner
	// Progress receives one line per step and the condensed build output.
	Progress io.Writer
	// SourceDir is the repository root holding services/.
	SourceDir string
	// CacheDir keeps the Traefik source copy and binary between runs.
	CacheDir string
	// Offline skips pull attempts (no registry answers).
	Offline bool
}

// Outcome says what Ensure did for one image.
type Outcome struct {
	Key      string        `json:"key"`
	Ref      string        `json:"ref"`
	Action   string        `json:"action"` // cached, pulled, built
	Duration time.Duration `json:"duration_ns"`
}

// Ensure builds or reuses every image in catalog, in order.
func (b *Builder) Ensure(ctx context.Context, catalog []Image) ([]Outcome, error) {
	var outs []Outcome
	for i, im := range catalog {
		start := time.Now()
		action, err := b.ensureOne(ctx, im, fmt.Sprintf("[%d/%d]", i+1, len(catalog)))
		if err != nil {
			return outs, fmt.Errorf("image %s (%s): %w", im.Key, im.Ref, err)
		}
		o := Outcome{Key: im.Key, Ref: im.Ref, Action: action, Duration: time.Since(start)}
		outs = append(outs, o)
		fmt.Fprintf(b.Progress, "%s %-12s %-8s %s (%s)\n", fmt.Sprintf("[%d/%d]", i+1, len(catalog)), im.Key, action, im.Ref, o.Duration.Round(100*time.Millisecond))
	}
	return outs, nil
}

func (b *Builder) ensureOne(ctx context.Context, im Image, step string) (string, error) {
	inputs, err := b.inputsHash(ctx, im)
	if err != nil {
		return "", err
	}
	if have, _ := b.label(ctx, im.Ref, inputsLabel); have == inputs {
		return "cached", nil
	}
	// A real official image (pulled or loaded by the user) carries no berth
	// label; for base images that is exactly what we want to use.
	if im.Kind == KindDebootstrap || im.Kind == KindGoToolchain {
		if ok, _ := b.exists(ctx, im.Ref); ok {
			if local, _ := b.label(ctx, im.Ref, localBuildLabel); local == "" {
				return "present", nil
			}
		}
	}
	if !b.Offline && im.Official != "" && im.Kind != KindService {
		if err := b.Run.Run(ctx, io.Discard, nil, "docker", "pull", "--quiet", im.Official); err == nil {
			if im.Official != im.Ref {
				if err := b.Run.Run(ctx, io.Discard, nil, "docker", "tag", im.Official, im.Ref); err != nil {
					return "", err
				}
			}
			return "pulled", nil
		}
	}
	fmt.Fprintf(b.Progress, "%s %-12s building locally (%s)\n", step, im.Key, im.Kind)
	switch im.Kind {
	case KindDebootstrap:
		return "built", b.buildDebian(ctx, im, inputs)
	case KindGoToolchain:
		return "built", b.buildGolang(ctx, im, inputs)
	case KindGoModule:
		return "built", b.buildTraefik(ctx, im, inputs)
	case KindDebianPkg:
		return "built", b.buildEmbedded(ctx, im, inputs)
	case KindService:
		return "built", b.buildService(ctx, im, inputs)
	}
	return "", fmt.Errorf("unknown image kind %q", im.Kind)
}

// inputsHash identifies everything a build depends on; equal hashes mean
// the existing image can be reused.
func (b *Builder) inputsHash(ctx context.Context, im Image) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", im.Key, im.Ref, im.Kind)
	switch im.Kind {
	case KindDebootstrap:
		fmt.Fprintf(h, "%s minbase", DebianSuite)
	case KindGoToolchain:
		fmt.Fprintf(h, "go%s", GoVersion)
		if ca, err := os.ReadFile(hostCABundle); err == nil {
			_, _ = h.Write(ca)
		}
		if err := hashFS(h, buildFiles, "build/golang"); err != nil {
			return "", err
		}
	case KindGoModule:
		fmt.Fprintf(h, "traefik %s", TraefikVersion)
		for _, dir := range []string{"build/traefik", "build/traefik-webui"} {
			if err := hashFS(h, buildFiles, dir); err != nil {
				return "", err
			}
		}
	case KindDebianPkg:
		if err := hashFS(h, buildFiles, "build/"+im.Key); err != nil {
			return "", err
		}
	case KindService:
		if err := hashFS(h, os.DirFS(filepath.Join(b.SourceDir, "services")), "."); err != nil {
			return "", fmt.Errorf("reading services source in %s: %w", b.SourceDir, err)
		}
	}
	// A dependency rebuilt means this one must be rebuilt too.
	for _, d := range im.Deps {
		fmt.Fprintf(h, "dep:%s", d)
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// ServiceVersion derives the demo services' version from their source: the
// release in services/VERSION plus a content hash, so a changed source gives
// a new tag and Swarm sees a new spec.
func ServiceVersion(sourceDir string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(sourceDir, "services", "VERSION"))
	if err != nil {
		return "", fmt.Errorf("reading the demo services' version: %w (run berth from the repository root or pass --source)", err)
	}
	h := sha256.New()
	if err := hashFS(h, os.DirFS(filepath.Join(sourceDir, "services")), "."); err != nil {
		return "", err
	}
	return strings.TrimSpace(string(raw)) + "-" + hex.EncodeToString(h.Sum(nil))[:8], nil
}

func hashFS(w io.Writer, fsys fs.FS, root string) error {
	var paths []string
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && !strings.HasSuffix(p, "_test.go") {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(paths)
	for _, p := range paths {
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s\x00%d\x00", p, len(data))
		_, _ = w.Write(data)
	}
	return nil
}

func (b *Builder) exists(ctx context.Context, ref string) (bool, error) {
	_, err := b.Run.Output(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", ref)
	return err == nil, err
}

func (b *Builder) label(ctx context.Context, ref, key string) (string, error) {
	out, err := b.Run.Output(ctx, "docker", "image", "inspect", "--format", "{{json .Config.Labels}}", ref)
	if err != nil {
		return "", err
	}
	var labels map[string]string
	if err := json.Unmarshal([]byte(out), &labels); err != nil {
		return "", nil
	}
	return labels[key], nil
}

// buildDebian makes the Debian base from a minbase debootstrap.
func (b *Builder) buildDebian(ctx context.Context, im Image, inputs string) error {
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return errors.New("debootstrap is not installed: run `apt-get install -y debootstrap` (Debian) and try again")
	}
	dir, err := os.MkdirTemp("", "berth-debootstrap-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	root := filepath.Join(dir, "rootfs")
	if err := b.Run.Run(ctx, b.stepWriter(im.Key, "I: Retrieving", "I: Installing", "I: Configuring", "I: Base system"), nil,
		"debootstrap", "--variant=minbase", DebianSuite, root, debianMirror); err != nil {
		return err
	}
	// Trim what the official slim image trims too.
	for _, p := range []string{"var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info"} {
		_ = os.RemoveAll(filepath.Join(root, p))
		_ = os.MkdirAll(filepath.Join(root, p), 0o755)
	}
	pr, pw := io.Pipe()
	go func() {
		err := b.Run.Run(ctx, pw, nil, "tar", "-C", root, "-c", ".")
		pw.CloseWithError(err)
	}()
	return b.Run.Run(ctx, io.Discard, pr, "docker", "import",
		"--change", `CMD ["bash"]`,
		"--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"--change", "LABEL "+inputsLabel+"="+inputs+" "+localBuildLabel+"=debootstrap",
		"-", im.Ref)
}

// buildGolang makes the Go build image from the toolchain module.
func (b *Builder) buildGolang(ctx context.Context, im Image, inputs string) error {
	dir, err := goModDir(ctx, b.Run, "golang.org/toolchain@v0.0.1-go"+GoVersion+".linux-amd64")
	if err != nil {
		return fmt.Errorf("fetching the Go %s toolchain from the module proxy: %w", GoVersion, err)
	}
	ctxDir, err := b.extract("build/golang")
	if err != nil {
		return err
	}
	defer os.RemoveAll(ctxDir)
	// The toolchain becomes ./go in the context; a hard copy because the
	// module cache is read-only and Docker needs regular files.
	goroot := filepath.Join(ctxDir, "go")
	if err := b.Run.Run(ctx, io.Discard, nil, "cp", "-r", dir, goroot); err != nil {
		return err
	}
	// Module zips carry no file modes: the go command makes a toolchain's
	// programs executable when it unpacks one, and so must we.
	if err := makeToolchainExecutable(goroot); err != nil {
		return err
	}
	if err := copyFile(hostCABundle, filepath.Join(ctxDir, "host-ca-certificates.crt"), 0o644); err != nil {
		return fmt.Errorf("the host's CA bundle: %w (install ca-certificates)", err)
	}
	return b.dockerBuild(ctx, im, inputs, ctxDir, "go-toolchain")
}

// buildTraefik builds Traefik from its module on the host (the Go build
// cache makes rebuilds fast), then wraps the static binary in an image.
func (b *Builder) buildTraefik(ctx context.Context, im Image, inputs string) error {
	// The binary's name carries the inputs hash: a changed dashboard page
	// means a new binary (the Go build cache keeps that rebuild short).
	bin := filepath.Join(b.CacheDir, "traefik-"+TraefikVersion, "traefik-"+inputs[:12])
	if _, err := os.Stat(bin); err != nil {
		mod, err := goModDir(ctx, b.Run, "github.com/traefik/traefik/v3@"+TraefikVersion)
		if err != nil {
			return fmt.Errorf("fetching Traefik %s from the module proxy: %w", TraefikVersion, err)
		}
		src := filepath.Join(b.CacheDir, "traefik-"+TraefikVersion, "src")
		_ = os.RemoveAll(src)
		if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
			return err
		}
		// Traefik's go.mod has replace directives, so `go install` refuses
		// it: build from a writable copy of the module instead.
		if err := b.Run.Run(ctx, io.Discard, nil, "cp", "-r", mod, src); err != nil {
			return err
		}
		if err := b.Run.Run(ctx, io.Discard, nil, "chmod", "-R", "u+w", src); err != nil {
			return err
		}
		// The module's webui/static holds no UI (it is built with npm):
		// embed berth's small page that reads the same API instead.
		page, err := buildFiles.ReadFile("build/traefik-webui/index.html")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(src, "webui", "static", "index.html"), page, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(b.Progress, "       %-12s go build ./cmd/traefik (%s): takes minutes on 2 cores the first time\n", im.Key, TraefikVersion)
		build := exec.CommandContext(ctx, "go", "build", "-trimpath",
			"-ldflags", "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version="+TraefikVersion,
			"-o", bin, "./cmd/traefik")
		build.Dir = src
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
		if out, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("go build traefik: %w\n%s", err, tail(string(out), 20))
		}
	}
	ctxDir, err := b.extract("build/traefik")
	if err != nil {
		return err
	}
	defer os.RemoveAll(ctxDir)
	if err := copyFile(bin, filepath.Join(ctxDir, "traefik"), 0o755); err != nil {
		return err
	}
	if err := copyFile(hostCABundle, filepath.Join(ctxDir, "ca-certificates.crt"), 0o644); err != nil {
		return fmt.Errorf("the host's CA bundle is needed for ACME: %w (install ca-certificates)", err)
	}
	return b.dockerBuild(ctx, im, inputs, ctxDir, "go-module")
}

func (b *Builder) buildEmbedded(ctx context.Context, im Image, inputs string) error {
	ctxDir, err := b.extract("build/" + im.Key)
	if err != nil {
		return err
	}
	defer os.RemoveAll(ctxDir)
	return b.dockerBuild(ctx, im, inputs, ctxDir, "debian-packages")
}

func (b *Builder) buildService(ctx context.Context, im Image, inputs string) error {
	version := im.Ref[strings.LastIndex(im.Ref, ":")+1:]
	return b.buildServiceRef(ctx, im.Key, im.Ref, version, "", inputs)
}

// Faults a demo build can carry (see services/internal/svc/fault.go).
var Faults = []string{"unhealthy", "crash"}

// BuildVariant builds a demo service image with another version string and,
// optionally, a deliberate fault: the releases rollout benchmarks and
// rollback tests deploy. It returns the image reference.
func (b *Builder) BuildVariant(ctx context.Context, key, version, fault string) (string, error) {
	if key != "api" && key != "web" && key != "worker" {
		return "", fmt.Errorf("no demo service %q (api, web, worker)", key)
	}
	if fault != "" && fault != Faults[0] && fault != Faults[1] {
		return "", fmt.Errorf("unknown fault %q (unhealthy, crash)", fault)
	}
	tag := version
	if fault != "" {
		tag += "-" + fault
	}
	ref := fmt.Sprintf("berth.local/shop-%s:%s", key, tag)
	h := sha256.New()
	fmt.Fprintf(h, "variant\x00%s\x00%s\x00%s\x00", key, version, fault)
	if err := hashFS(h, os.DirFS(filepath.Join(b.SourceDir, "services")), "."); err != nil {
		return "", err
	}
	inputs := hex.EncodeToString(h.Sum(nil))[:32]
	if have, _ := b.label(ctx, ref, inputsLabel); have == inputs {
		return ref, nil
	}
	return ref, b.buildServiceRef(ctx, key, ref, version, fault, inputs)
}

func (b *Builder) buildServiceRef(ctx context.Context, key, ref, version, fault, inputs string) error {
	ctxDir := filepath.Join(b.SourceDir, "services")
	return b.run(ctx, key, "docker", "build",
		"-f", filepath.Join(ctxDir, key, "Dockerfile"),
		"--build-arg", "VERSION="+version,
		"--build-arg", "FAULT="+fault,
		"--label", inputsLabel+"="+inputs,
		"--label", "org.opencontainers.image.version="+version,
		"-t", ref, ctxDir)
}

func (b *Builder) dockerBuild(ctx context.Context, im Image, inputs, ctxDir, how string) error {
	return b.run(ctx, im.Key, "docker", "build",
		"--label", inputsLabel+"="+inputs,
		"--label", localBuildLabel+"="+how,
		"-t", im.Ref, ctxDir)
}

// run runs a build and shows its steps, keeping the full log for errors.
func (b *Builder) run(ctx context.Context, key string, name string, args ...string) error {
	var full strings.Builder
	w := io.MultiWriter(&full, b.stepWriter(key, "Step "))
	if err := b.Run.Run(ctx, w, nil, name, args...); err != nil {
		return fmt.Errorf("%w\n%s", err, tail(full.String(), 25))
	}
	return nil
}

// stepWriter forwards only lines with one of prefixes, so progress stays
// readable on a plain terminal and in CI logs.
func (b *Builder) stepWriter(key string, prefixes ...string) io.Writer {
	return &lineFilter{out: b.Progress, key: key, prefixes: prefixes}
}

type lineFilter struct {
	out      io.Writer
	key      string
	prefixes []string
	buf      []byte
}

func (f *lineFilter) Write(p []byte) (int, error) {
	f.buf = append(f.buf, p...)
	for {
		i := bytes.IndexByte(f.buf, '\n')
		if i < 0 {
			break
		}
		line := string(bytes.TrimRight(f.buf[:i], "\r"))
		f.buf = f.buf[i+1:]
		for _, pre := range f.prefixes {
			if strings.HasPrefix(line, pre) {
				fmt.Fprintf(f.out, "       %-12s %s\n", f.key, truncate(line, 100))
				break
			}
		}
	}
	return len(p), nil
}

// extract writes an embedded build directory to a fresh temporary dir.
func (b *Builder) extract(root string) (string, error) {
	dir, err := os.MkdirTemp("", "berth-build-")
	if err != nil {
		return "", err
	}
	err = fs.WalkDir(buildFiles, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := buildFiles.ReadFile(p)
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if strings.HasSuffix(p, ".sh") {
			mode = 0o755
		}
		return os.WriteFile(filepath.Join(dir, strings.TrimPrefix(p, root+"/")), data, mode)
	})
	if err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

func goModDir(ctx context.Context, r Runner, modVersion string) (string, error) {
	out, err := r.Output(ctx, "go", "mod", "download", "-json", modVersion)
	if err != nil {
		return "", err
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		return "", fmt.Errorf("reading go mod download output: %w", err)
	}
	if info.Error != "" {
		return "", errors.New(info.Error)
	}
	return info.Dir, nil
}

func makeToolchainExecutable(goroot string) error {
	return filepath.WalkDir(goroot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(goroot, p)
		mode := fs.FileMode(0o644)
		if d.IsDir() {
			mode = 0o755
		} else if strings.HasPrefix(rel, "bin/") || strings.HasPrefix(rel, "pkg/tool/") {
			mode = 0o755
		}
		return os.Chmod(p, mode)
	})
}

func copyFile(src, dst string, mode fs.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, mode)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
