// Package images owns every container image the berth platform runs: the
// pinned official references, and how each is recreated locally when no
// registry answers (a Debian root file system by debootstrap, a Go build
// image with the toolchain from the Go module proxy, Traefik from its Go
// module, Debian-packaged Postgres and HAProxy, and the demo services from
// their Dockerfiles). Builds are cached by a hash of their inputs stored in
// an image label, so nothing is rebuilt unless an input changed.
//
// images talks to the engine through the docker CLI (builds stream their
// progress that way); it must not import cli, platform or swarm.
package images

import "fmt"

// Versions pinned by berth. Local builds use the same upstream versions.
const (
	GoVersion       = "1.26.8"
	TraefikVersion  = "v3.6.12"
	PostgresMajor   = "15"
	DebianSuite     = "bookworm"
	debianMirror    = "http://deb.debian.org/debian"
	inputsLabel     = "org.berth.inputs"
	localBuildLabel = "org.berth.local-build"
)

// Kind says how an image is recreated without a registry.
type Kind string

// Ways an image is recreated locally.
const (
	KindDebootstrap Kind = "debootstrap"        // Debian root fs imported as an image
	KindGoToolchain Kind = "go-toolchain"       // Debian base + golang.org/toolchain
	KindGoModule    Kind = "go-module"          // a Go program built from its module
	KindDebianPkg   Kind = "debian-packages"    // Dockerfile on the Debian base with apt
	KindService     Kind = "service-dockerfile" // berth's own services, multi-stage
)

// Image is one image the platform uses.
type Image struct {
	// Key is berth's short name for it (traefik, postgres, api, ...).
	Key string
	// Official is the upstream reference berth pins; empty for berth's own.
	Official string
	// Ref is the reference stacks and Dockerfiles use. For base images it is
	// the official tag itself, so standard Dockerfiles build unchanged.
	Ref string
	// Kind is how it is recreated locally.
	Kind Kind
	// Purpose is a short description for `berth images`.
	Purpose string
	// Deps are keys of images that must exist before this one builds.
	Deps []string
}

// Platform images, in build order: a dependency always comes first.
// Official images are referenced by tag: no registry can be reached from
// where this catalog was written, so their digests could not be read and
// are not invented; `berth images` says so.
func Catalog(serviceVersion string) []Image {
	svc := func(name, purpose string) Image {
		return Image{
			Key: name, Ref: fmt.Sprintf("berth.local/shop-%s:%s", name, serviceVersion),
			Kind: KindService, Purpose: purpose, Deps: []string{"golang"},
		}
	}
	return []Image{
		{Key: "debian", Official: "debian:bookworm-slim", Ref: "debian:bookworm-slim",
			Kind: KindDebootstrap, Purpose: "base for Debian-packaged images"},
		{Key: "golang", Official: "golang:1.26-bookworm", Ref: "golang:1.26-bookworm",
			Kind: KindGoToolchain, Purpose: "build stage of the demo services", Deps: []string{"debian"}},
		{Key: "traefik", Official: "traefik:" + TraefikVersion, Ref: "berth.local/traefik:" + TraefikVersion,
			Kind: KindGoModule, Purpose: "edge proxy"},
		{Key: "socket-proxy", Official: "tecnativa/docker-socket-proxy:v0.3.0", Ref: "berth.local/docker-socket-proxy:haproxy-2.6",
			Kind: KindDebianPkg, Purpose: "read-only Docker API for Traefik", Deps: []string{"debian"}},
		{Key: "postgres", Official: "postgres:15-bookworm", Ref: "berth.local/postgres:15-bookworm",
			Kind: KindDebianPkg, Purpose: "orders database", Deps: []string{"debian"}},
		svc("api", "demo JSON API"),
		svc("web", "demo HTML front end"),
		svc("worker", "demo order processor"),
	}
}

// Find returns the image with key from the catalog.
func Find(catalog []Image, key string) (Image, bool) {
	for _, im := range catalog {
		if im.Key == key {
			return im, true
		}
	}
	return Image{}, false
}
