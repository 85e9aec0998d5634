package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/berth-platform/berth/internal/audit"
	"github.com/berth-platform/berth/internal/compose"
)

type auditOptions struct {
	files      []string // -f: compose files merged into one project
	args       []string // positional: compose files, Dockerfiles, daemon.json
	daemon     string
	profile    string
	output     string
	failOn     string
	config     string
	envFiles   []string
	noColor    bool
	verbose    bool
	noBuildDfs bool
}

func newAuditCommand(s *Streams) *cobra.Command {
	o := &auditOptions{}
	cmd := &cobra.Command{
		Use:   "audit [FILE...]",
		Short: "Check compose/stack files, Dockerfiles and daemon.json for production readiness on Swarm",
		Long: `berth audit loads compose and stack files exactly as Docker does (interpolation,
.env, anchors, extends, include, several files merged), Dockerfiles with BuildKit's
parser and daemon.json, and reports what stands between them and production on
Docker Swarm: every finding with file, line, YAML path, why it matters and the fix.

Files named *Dockerfile*/*Containerfile* are Dockerfiles, daemon.json is a daemon
config, anything else is a compose file; all compose files form one project, merged
in order like -f. With no files, compose.yaml / docker-compose.yml in the current
directory is used.

Exit status: 0 no finding at or above --fail-on, 1 findings, 2 an input could not
be loaded.`,
		Example: `  berth audit stack.yml
  berth audit -f compose.yml -f compose.prod.yml --output sarif > audit.sarif
  berth audit --profile compose-dev compose.yml Dockerfile /etc/docker/daemon.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.args = args
			return runAudit(cmd, s, o)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.files, "file", "f", nil, "compose file (repeatable, merged in order)")
	f.StringVar(&o.daemon, "daemon", "", "daemon.json to audit")
	f.StringVar(&o.profile, "profile", "", "rule profile: swarm-production (default), compose-dev, swarm-strict")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text, json, sarif")
	f.StringVar(&o.failOn, "fail-on", "", "lowest severity that makes the exit status 1: info, warning (default), error, none")
	f.StringVar(&o.config, "config", "", "config file (default ./"+audit.ConfigFileName+" when present)")
	f.StringArrayVar(&o.envFiles, "env-file", nil, "env file for interpolation (default .env next to the first compose file)")
	f.BoolVar(&o.noColor, "no-color", false, "never colour the text output")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "explain why each finding matters")
	f.BoolVar(&o.noBuildDfs, "no-build-dockerfiles", false, "do not audit the Dockerfiles of services built from a local context")
	return cmd
}

// loadFailure is exit status 2: an input could not be loaded.
func loadFailure(err error) error { return &ExitError{Code: 2, Err: err} }

// auditInputs sorts the command line into compose files, Dockerfiles and a
// daemon.json, and loads them.
func auditInputs(cmd *cobra.Command, o *auditOptions) (audit.Input, error) {
	var in audit.Input
	composeFiles := append([]string(nil), o.files...)
	daemon := o.daemon
	for _, a := range o.args {
		base := strings.ToLower(filepath.Base(a))
		switch {
		case strings.Contains(base, "dockerfile") || strings.Contains(base, "containerfile"):
			d, err := compose.LoadDockerfile(a)
			if err != nil {
				return in, err
			}
			in.Dockerfiles = append(in.Dockerfiles, d)
		case base == "daemon.json":
			daemon = a
		default:
			composeFiles = append(composeFiles, a)
		}
	}
	if len(composeFiles) == 0 && len(in.Dockerfiles) == 0 && daemon == "" {
		for _, n := range []string{"compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"} {
			if _, err := os.Stat(n); err == nil {
				composeFiles = []string{n}
				break
			}
		}
		if len(composeFiles) == 0 {
			return in, errors.New("no file to audit: give a compose file, Dockerfile or daemon.json (no compose.yaml or docker-compose.yml here)")
		}
	}
	if len(composeFiles) > 0 {
		env := map[string]string{}
		for _, kv := range os.Environ() {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = v
			}
		}
		p, err := compose.Load(cmd.Context(), compose.LoadOptions{
			Files: composeFiles, Env: env, EnvFiles: o.envFiles, Dockerfiles: !o.noBuildDfs,
		})
		if err != nil {
			return in, err
		}
		in.Project = p
	}
	if daemon != "" {
		d, err := compose.LoadDaemon(daemon)
		if err != nil {
			return in, err
		}
		in.Daemon = d
	}
	return in, nil
}

func loadAuditConfig(path string) (*audit.Config, error) {
	if path == "" {
		if _, err := os.Stat(audit.ConfigFileName); err != nil {
			return &audit.Config{}, nil
		}
		path = audit.ConfigFileName
	}
	return audit.LoadConfig(path)
}

func runAudit(cmd *cobra.Command, s *Streams, o *auditOptions) error {
	// compose-go warns (unset variables, obsolete version:) through logrus,
	// as docker compose does: send that to the command's error stream.
	logrus.SetOutput(s.Err)
	cfg, err := loadAuditConfig(o.config)
	if err != nil {
		return loadFailure(err)
	}
	profile := firstNonEmpty(o.profile, cfg.Profile, audit.ProfileSwarm)
	if !validProfile(profile) {
		return loadFailure(fmt.Errorf("--profile: unknown profile %q (want %s)", profile, strings.Join(audit.ProfileNames, ", ")))
	}
	failOn, err := audit.ParseSeverity(firstNonEmpty(o.failOn, cfg.FailOn, "warning"))
	if err != nil {
		return loadFailure(fmt.Errorf("--fail-on: %w", err))
	}
	switch o.output {
	case "text", "json", "sarif":
	default:
		return loadFailure(fmt.Errorf("--output: unknown format %q (want text, json or sarif)", o.output))
	}
	in, err := auditInputs(cmd, o)
	if err != nil {
		return loadFailure(err)
	}
	cwd, _ := os.Getwd()
	rep := audit.Check(in, audit.Options{Profile: profile, Config: cfg, BaseDir: cwd})
	switch o.output {
	case "json":
		err = audit.WriteJSON(s.Out, rep)
	case "sarif":
		err = audit.WriteSARIF(s.Out, rep, Version)
	default:
		err = audit.WriteText(s.Out, rep, audit.TextOptions{Color: colorOK(s, o.noColor), Verbose: o.verbose})
	}
	if err != nil {
		return err
	}
	if failOn != audit.Off && rep.Count(failOn) > 0 {
		return &ExitError{Code: 1}
	}
	return nil
}

func validProfile(p string) bool {
	for _, n := range audit.ProfileNames {
		if n == p {
			return true
		}
	}
	return false
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// colorOK says whether to colour output: only on a terminal, never with
// NO_COLOR or --no-color.
func colorOK(s *Streams, noColor bool) bool {
	if noColor || os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := s.Out.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}
