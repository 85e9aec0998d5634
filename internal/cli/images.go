package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/berth-platform/berth/internal/images"
	"github.com/berth-platform/berth/internal/swarm"
)

type imagesOptions struct {
	output   string
	build    bool
	source   string
	cacheDir string
}

func newImagesCommand(s *Streams) *cobra.Command {
	o := &imagesOptions{}
	cmd := &cobra.Command{
		Use:   "images",
		Short: "List the platform's images and where each comes from; --build makes them",
		Long: `images lists every image the platform uses: the reference stacks use, the
official image berth pins, and where it comes from here: the registry when
one answers, otherwise a local build (debootstrap, the Go toolchain module,
Traefik's Go module, Debian packages, or the demo's own Dockerfiles).
--build builds or reuses them all, as berth up does first.`,
		Example: "  berth images\n  berth images --build",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runImages(cmd.Context(), s, o)
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	cmd.Flags().BoolVar(&o.build, "build", false, "build (or reuse) every image now")
	cmd.Flags().StringVar(&o.source, "source", ".", "repository root holding services/")
	cmd.Flags().StringVar(&o.cacheDir, "cache-dir", defaultCacheDir(), "where local builds keep sources and binaries")
	return cmd
}

type imageRow struct {
	images.Image
	Source  string `json:"source"`
	Present bool   `json:"present"`
	Size    string `json:"size,omitempty"`
}

func runImages(ctx context.Context, s *Streams, o *imagesOptions) error {
	if o.output != "table" && o.output != "json" {
		return &ExitError{Code: 2, Err: fmt.Errorf("--output %q: use table or json", o.output)}
	}
	version, err := images.ServiceVersion(o.source)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	catalog := images.Catalog(version)
	offline := swarm.Host{}.RegistryUnreachable()
	if o.build {
		if _, err := newEngine(ctx); err != nil {
			return err
		}
		b := &images.Builder{Run: images.ExecRunner{}, Progress: s.Out, SourceDir: o.source, CacheDir: o.cacheDir, Offline: offline}
		if _, err := b.Ensure(ctx, catalog); err != nil {
			return err
		}
	}
	var rows []imageRow
	for _, im := range catalog {
		r := imageRow{Image: im}
		switch {
		case im.Kind == images.KindService:
			r.Source = "built from services/" + im.Key
		case offline:
			r.Source = "local build (" + string(im.Kind) + ")"
		default:
			r.Source = "registry"
		}
		out, err := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Size}}", im.Ref).Output()
		if err == nil {
			r.Present = true
			var n int64
			if _, err := fmt.Sscan(strings.TrimSpace(string(out)), &n); err == nil {
				r.Size = fmt.Sprintf("%.1fMB", float64(n)/1e6)
			}
		}
		rows = append(rows, r)
	}
	if o.output == "json" {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(s.Out, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tREFERENCE\tOFFICIAL (PINNED)\tSOURCE\tSIZE")
	for _, r := range rows {
		official := r.Official
		if official == "" {
			official = "-"
		}
		size := r.Size
		if !r.Present {
			size = "missing"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Key, r.Ref, official, r.Source, size)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if offline {
		fmt.Fprintln(s.Out, "\nno registry answers: images are built locally; official references are pinned by tag (digests cannot be read offline)")
	}
	return nil
}
