package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth-platform/berth/internal/audit"
	"github.com/berth-platform/berth/internal/compose"
	"github.com/berth-platform/berth/internal/harden"
)

type hardenOptions struct {
	in      string
	out     string
	stack   string
	profile string
}

func newHardenCommand(s *Streams) *cobra.Command {
	o := &hardenOptions{}
	cmd := &cobra.Command{
		Use:   "harden IN [-o OUT]",
		Short: "Write missing production defaults into a compose or stack file",
		Long: `berth harden adds what berth audit asks for to a compose or stack file: health
checks (a marked placeholder where the image's probe is unknown), resources,
update/rollback and restart policies, spread, cap_drop and a read-only root, log
rotation, Docker secrets instead of literal secret values (with the commands to
create them), encrypted overlays, and Traefik labels from a short x-berth block:

  x-berth: {host: api.example.com, port: 8080, path: /api, certresolver: le}

It keeps comments and key order, never removes a setting you wrote, and running
it twice gives the same file. It then audits the result and lists what needs a
human. Without -o the hardened file goes to standard output.`,
		Example: `  berth harden compose.yml -o stack.yml
  berth harden stack.yml -o stack.yml --stack shop`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.in = args[0]
			return runHarden(cmd, s, o)
		},
	}
	cmd.Flags().StringVarP(&o.out, "output", "o", "", "write the hardened file here (may be IN itself)")
	cmd.Flags().StringVar(&o.stack, "stack", "", "stack name, to name secrets as docker stack deploy does (<stack>_<name>)")
	cmd.Flags().StringVar(&o.profile, "profile", audit.ProfileSwarm, "audit profile for the check of the result")
	return cmd
}

func runHarden(cmd *cobra.Command, s *Streams, o *hardenOptions) error {
	src, err := os.ReadFile(o.in)
	if err != nil {
		return loadFailure(err)
	}
	res, err := harden.Harden(o.in, src, harden.Options{Stack: o.stack})
	if err != nil {
		return loadFailure(err)
	}
	target := o.out
	if target == "" {
		if _, err := s.Out.Write(res.Output); err != nil {
			return err
		}
		// Audit a copy next to IN so relative paths resolve as they will.
		f, err := os.CreateTemp(filepath.Dir(o.in), ".berth-harden-*.yml")
		if err != nil {
			return err
		}
		target = f.Name()
		defer os.Remove(target)
		if _, err := f.Write(res.Output); err != nil {
			f.Close()
			return err
		}
		f.Close()
	} else if err := os.WriteFile(o.out, res.Output, 0o644); err != nil {
		return err
	}

	fmt.Fprintf(s.Err, "berth harden: %d defaults added\n", len(res.Added))
	if len(res.Commands) > 0 {
		fmt.Fprintln(s.Err, "\nrun before deploying:")
		for _, c := range res.Commands {
			fmt.Fprintln(s.Err, "  "+c)
		}
	}
	if len(res.Human) > 0 {
		fmt.Fprintln(s.Err, "\nneeds a human:")
		for _, h := range res.Human {
			fmt.Fprintf(s.Err, "  %s: %s\n", h.Path, h.What)
		}
	}
	p, err := compose.Load(cmd.Context(), compose.LoadOptions{Files: []string{target}, WorkingDir: filepath.Dir(o.in), Dockerfiles: true})
	if err != nil {
		return loadFailure(fmt.Errorf("the hardened file does not load: %w", err))
	}
	rep := audit.Check(audit.Input{Project: p}, audit.Options{Profile: o.profile})
	if n := rep.Count(audit.Warning); n > 0 {
		fmt.Fprintf(s.Err, "\nberth audit still reports %d findings at warning or above, for a human:\n", n)
		for _, f := range rep.Findings {
			if f.Severity >= audit.Warning {
				fmt.Fprintf(s.Err, "  %s:%d  %s  %s\n", strings.TrimPrefix(f.File, filepath.Dir(target)+"/"), f.Line, f.Rule, f.Message)
			}
		}
	}
	return nil
}
