package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/distribution/reference"
	dockerswarm "github.com/docker/docker/api/types/swarm"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/berth-platform/berth/internal/deploy"
	"github.com/berth-platform/berth/internal/swarm"
)

type deployOptions struct {
	stack   string
	images  []string
	file    string
	timeout time.Duration
	output  string
}

func newDeployCommand(s *Streams) *cobra.Command {
	o := &deployOptions{}
	cmd := &cobra.Command{
		Use:   "deploy [STACK] --image SERVICE=REF [--image SERVICE=REF ...]",
		Short: "Roll out new images and follow the update until it is live or rolled back",
		Long: `deploy validates every change first (the stack is deployed, each service exists
in it, each image reference parses and is present on this node), then updates
the services one after another, following each rolling update task by task:
replica slot, version, state. It ends when the service has converged on the
new version (exit 0), or Swarm rolled it back or paused it, or the deadline
passed (exit 1, with the failing task's error, exit code or last health
check output). Invalid input exits 2 and changes nothing.`,
		Example: `  berth deploy app --image api=berth.local/shop-api:0.2.0
  berth deploy app -f app.yml
  berth deploy --image api=berth.local/shop-api:0.2.0 --image web=berth.local/shop-web:0.2.0 --output json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.stack = args[0]
			}
			return runDeploy(cmd.Context(), s, o)
		},
	}
	cmd.Flags().StringArrayVar(&o.images, "image", nil, "SERVICE=REF: the new image of a service of the stack (repeatable)")
	cmd.Flags().StringVarP(&o.file, "file", "f", "", "compose file: deploy it as the stack (docker stack deploy) and follow every service whose image changes")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 10*time.Minute, "deadline for each service's update")
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	o.stack = "app"
	return cmd
}

// change is one validated service update.
type change struct {
	service string // full name, STACK_SERVICE
	image   string
}

func parseImageFlags(stack string, flags []string) ([]change, error) {
	if len(flags) == 0 {
		return nil, errors.New("nothing to deploy: give at least one --image SERVICE=REF")
	}
	seen := map[string]bool{}
	var out []change
	for _, f := range flags {
		svc, ref, ok := strings.Cut(f, "=")
		if !ok || svc == "" || ref == "" {
			return nil, fmt.Errorf("--image %q: want SERVICE=REF, e.g. api=berth.local/shop-api:0.2.0", f)
		}
		if _, err := reference.ParseNormalizedNamed(ref); err != nil {
			return nil, fmt.Errorf("--image %s: %q is not a valid image reference: %v", svc, ref, err)
		}
		full := svc
		if !strings.HasPrefix(svc, stack+"_") {
			full = stack + "_" + svc
		}
		if seen[full] {
			return nil, fmt.Errorf("--image: service %s given twice", svc)
		}
		seen[full] = true
		out = append(out, change{service: full, image: ref})
	}
	return out, nil
}

func runDeploy(ctx context.Context, s *Streams, o *deployOptions) error {
	invalid := func(err error) error { return &ExitError{Code: 2, Err: err} }
	if o.output != "text" && o.output != "json" {
		return invalid(fmt.Errorf("--output %q: use text or json", o.output))
	}
	if o.timeout <= 0 {
		return invalid(fmt.Errorf("--timeout %s: must be positive", o.timeout))
	}
	var changes []change
	var err error
	switch {
	case o.file != "" && len(o.images) > 0:
		return invalid(errors.New("give either -f FILE or --image flags, not both"))
	case o.file != "":
		// Docker's own loader first: a file it cannot load changes nothing.
		if err := validateStackFile(ctx, o.file); err != nil {
			return invalid(err)
		}
	default:
		if changes, err = parseImageFlags(o.stack, o.images); err != nil {
			return invalid(err)
		}
	}
	eng, err := newEngine(ctx)
	if err != nil {
		return err
	}
	defer eng.Close()
	st, _, err := swarm.CurrentState(ctx, eng)
	if err != nil {
		return err
	}
	if st.LocalNodeState != "active" {
		return invalid(errors.New("this engine is in no swarm: run berth up first"))
	}
	if err := st.CheckUsable(); err != nil {
		return err
	}
	engineSvcs := swarm.Services{Engine: eng}
	var svcs deploy.Services = engineSvcs
	if o.file != "" {
		if err := validateChanges(ctx, eng, o.stack, nil); err != nil {
			return invalid(err)
		}
		if changes, err = fileChanges(ctx, eng, o.stack, o.file); err != nil {
			return invalid(err)
		}
		if err := validateChanges(ctx, eng, o.stack, changes); err != nil {
			return invalid(err)
		}
		// The stack deploy applies every change at once; the followers
		// then watch each service whose image it changed.
		sa := &stackApply{Services: engineSvcs, apply: func(ctx context.Context) error {
			return swarm.CLIStackDeployer{Out: s.Err}.Deploy(ctx, o.stack, o.file, false)
		}}
		svcs = sa
		if len(changes) == 0 {
			if err := sa.applyOnce(ctx); err != nil {
				return err
			}
			fmt.Fprintln(s.Out, "no image changed: the stack file is deployed, there is no rollout to follow")
			return nil
		}
	} else if err := validateChanges(ctx, eng, o.stack, changes); err != nil {
		return invalid(err)
	}

	var results []deploy.Result
	failed := false
	for _, c := range changes {
		display := eventPrinter(s.Out, c.service, o.output == "text")
		if o.output == "text" {
			fmt.Fprintf(s.Out, "==> %s → %s\n", c.service, deploy.Version(c.image))
		}
		res, err := deploy.Run(ctx, svcs, deploy.RealClock{}, deploy.Request{
			Service: c.service, Image: c.image, Deadline: o.timeout, Interval: time.Second,
		}, display)
		if err != nil {
			return err
		}
		results = append(results, res)
		if o.output == "text" {
			printResult(s.Out, res)
		}
		if !res.OK() {
			failed = true
			break // later services keep their current version
		}
	}
	if o.output == "json" {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return err
		}
	}
	if failed {
		last := results[len(results)-1]
		return &ExitError{Code: 1, Err: fmt.Errorf("deploy of %s failed: %s: %s", last.Service, last.Outcome, last.Reason)}
	}
	return nil
}

// stackApply is a deploy.Services whose first Update deploys the whole
// compose file; later Updates only follow.
type stackApply struct {
	swarm.Services
	apply   func(context.Context) error
	applied bool
}

func (a *stackApply) applyOnce(ctx context.Context) error {
	if a.applied {
		return nil
	}
	a.applied = true
	return a.apply(ctx)
}

// Update implements deploy.Services.
func (a *stackApply) Update(ctx context.Context, _ dockerswarm.Service, _ dockerswarm.ServiceSpec, _ bool) error {
	return a.applyOnce(ctx)
}

// fileChanges reads the images a compose file gives its services, as
// Docker's loader resolves them, and returns those that differ from what
// the deployed stack runs.
func fileChanges(ctx context.Context, eng swarm.Engine, stack, file string) ([]change, error) {
	out, err := swarm.LoadStackFile(ctx, file)
	if err != nil {
		return nil, err
	}
	images, err := composeImages(out)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	sts, err := swarm.Statuses(ctx, eng, stack)
	if err != nil {
		return nil, err
	}
	current := map[string]string{}
	for _, st := range sts {
		current[st.Name] = st.Image
	}
	var changes []change
	for _, svc := range sortedKeys(images) {
		full := stack + "_" + svc
		if cur, ok := current[full]; ok && cur != images[svc] {
			changes = append(changes, change{service: full, image: images[svc]})
		}
	}
	return changes, nil
}

// composeImages maps each service of a loaded compose file to its image.
func composeImages(loaded []byte) (map[string]string, error) {
	var doc struct {
		Services map[string]struct {
			Image string `yaml:"image"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(loaded, &doc); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for name, s := range doc.Services {
		if s.Image == "" {
			return nil, fmt.Errorf("services.%s.image: missing (berth deploys images, it does not build)", name)
		}
		if _, err := reference.ParseNormalizedNamed(s.Image); err != nil {
			return nil, fmt.Errorf("services.%s.image: %q is not a valid image reference: %v", name, s.Image, err)
		}
		out[name] = s.Image
	}
	return out, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// validateChanges checks everything against the cluster before any change.
func validateChanges(ctx context.Context, eng swarm.Engine, stack string, changes []change) error {
	names, err := swarm.StackNames(ctx, eng)
	if err != nil {
		return err
	}
	if names[stack] == 0 {
		var known []string
		for n := range names {
			known = append(known, n)
		}
		sort.Strings(known)
		return fmt.Errorf("stack %q is not deployed (deployed: %s)", stack, strings.Join(known, ", "))
	}
	sts, err := swarm.Statuses(ctx, eng, stack)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	var list []string
	for _, st := range sts {
		have[st.Name] = true
		list = append(list, strings.TrimPrefix(st.Name, stack+"_"))
	}
	for _, c := range changes {
		if !have[c.service] {
			return fmt.Errorf("stack %s has no service %s (services: %s)", stack, strings.TrimPrefix(c.service, stack+"_"), strings.Join(list, ", "))
		}
		if !swarm.ImageExists(ctx, eng, c.image) {
			return fmt.Errorf("image %s is not on this node: build or load it first (no registry is used for it)", c.image)
		}
	}
	return nil
}

func eventPrinter(w io.Writer, service string, enabled bool) func(deploy.Event) {
	return func(e deploy.Event) {
		if enabled {
			fmt.Fprintf(w, "  %s  %s\n", service, e)
		}
	}
}

func printResult(w io.Writer, r deploy.Result) {
	switch r.Outcome {
	case deploy.Updated:
		fmt.Fprintf(w, "%s: %s → %s live (%s)\n", r.Service, deploy.Version(r.From), deploy.Version(r.To), r.Duration.Round(100*time.Millisecond))
	case deploy.Unchanged:
		fmt.Fprintf(w, "%s: already at %s\n", r.Service, deploy.Version(r.To))
	default:
		fmt.Fprintf(w, "%s: %s after %s: %s\n", r.Service, r.Outcome, r.Duration.Round(100*time.Millisecond), r.Reason)
	}
}

type rollbackOptions struct {
	stack   string
	timeout time.Duration
	output  string
}

func newRollbackCommand(s *Streams) *cobra.Command {
	o := &rollbackOptions{}
	cmd := &cobra.Command{
		Use:   "rollback SERVICE",
		Short: "Return a service to its previous spec on purpose, and follow it",
		Long: `rollback asks Swarm to return SERVICE to its previous spec (what it ran before
the last update), with the service's rollback_config, and follows it like
deploy does. SERVICE is the name within the stack (api) or the full name
(app_api).`,
		Example: "  berth rollback api\n  berth rollback app_web --output json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRollback(cmd.Context(), s, o, args[0])
		},
	}
	cmd.Flags().StringVar(&o.stack, "stack", "app", "stack the service belongs to")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 10*time.Minute, "deadline for the rollback")
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	return cmd
}

func runRollback(ctx context.Context, s *Streams, o *rollbackOptions, service string) error {
	if o.output != "text" && o.output != "json" {
		return &ExitError{Code: 2, Err: fmt.Errorf("--output %q: use text or json", o.output)}
	}
	full := service
	if !strings.HasPrefix(service, o.stack+"_") {
		full = o.stack + "_" + service
	}
	eng, err := newEngine(ctx)
	if err != nil {
		return err
	}
	defer eng.Close()
	res, err := deploy.Run(ctx, swarm.Services{Engine: eng}, deploy.RealClock{}, deploy.Request{
		Service: full, Rollback: true, Deadline: o.timeout, Interval: time.Second,
	}, eventPrinter(s.Out, full, o.output == "text"))
	if errors.Is(err, deploy.ErrInvalid) {
		return &ExitError{Code: 2, Err: err}
	}
	if err != nil {
		return err
	}
	if o.output == "json" {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		printResult(s.Out, res)
	}
	if !res.OK() {
		return &ExitError{Code: 1, Err: fmt.Errorf("rollback of %s: %s: %s", full, res.Outcome, res.Reason)}
	}
	return nil
}
