package swarm

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/volume"
)

// StackDeployer applies a compose file as a stack. The real one runs
// `docker stack deploy`, whose compose-to-service conversion (defaults,
// aliases, labels, pruning) is what users get by hand too.
type StackDeployer interface {
	Deploy(ctx context.Context, stack, composeFile string, resolveImages bool) error
	Remove(ctx context.Context, stack string) error
}

// CLIStackDeployer runs the docker CLI found on PATH.
type CLIStackDeployer struct{ Out io.Writer }

// Deploy implements StackDeployer.
func (d CLIStackDeployer) Deploy(ctx context.Context, stack, composeFile string, resolveImages bool) error {
	resolve := "never"
	if resolveImages {
		resolve = "always"
	}
	// --detach: berth waits itself, with its own progress and deadline.
	return d.run(ctx, "stack", "deploy", "--detach=true", "--prune", "--resolve-image", resolve, "-c", composeFile, stack)
}

// Remove implements StackDeployer.
func (d CLIStackDeployer) Remove(ctx context.Context, stack string) error {
	return d.run(ctx, "stack", "rm", stack)
}

func (d CLIStackDeployer) run(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "docker", args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("docker %s: %w\n%s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	if d.Out != nil {
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			// The CLI's chatter about --detach and unsupported options is
			// noise here except for "Ignoring unsupported options", which
			// says a setting did not reach the engine.
			if strings.Contains(line, "Ignoring") {
				fmt.Fprintln(d.Out, "  docker:", line)
			}
		}
	}
	return nil
}

// StackNames lists the stacks that have services.
func StackNames(ctx context.Context, e Engine) (map[string]int, error) {
	services, err := e.ServiceList(ctx, swarm.ServiceListOptions{})
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, s := range services {
		if ns := s.Spec.Labels[StackLabel]; ns != "" {
			out[ns]++
		}
	}
	return out, nil
}

// WaitGone polls until no service, container or network of the stacks is
// left, so volumes and shared networks can be removed after it.
func WaitGone(ctx context.Context, e Engine, stacks []string, interval time.Duration) error {
	for {
		left, err := leftovers(ctx, e, stacks)
		if err != nil {
			return err
		}
		if len(left) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out waiting for removal of: %s", strings.Join(left, ", "))
		case <-time.After(interval):
		}
	}
}

func leftovers(ctx context.Context, e Engine, stacks []string) ([]string, error) {
	var left []string
	for _, st := range stacks {
		f := filters.NewArgs(filters.Arg("label", StackLabel+"="+st))
		svcs, err := e.ServiceList(ctx, swarm.ServiceListOptions{Filters: f})
		if err != nil {
			return nil, err
		}
		for _, s := range svcs {
			left = append(left, "service "+s.Spec.Name)
		}
		tasks, err := e.TaskList(ctx, swarm.TaskListOptions{Filters: f})
		if err != nil {
			return nil, err
		}
		for _, t := range tasks {
			if t.Status.State == swarm.TaskStateRunning || t.Status.State == swarm.TaskStateStarting {
				left = append(left, "task "+shortID(t.ID))
			}
		}
		nets, err := e.NetworkList(ctx, network.ListOptions{Filters: f})
		if err != nil {
			return nil, err
		}
		for _, n := range nets {
			left = append(left, "network "+n.Name)
		}
	}
	return left, nil
}

// RemoveNetworks removes the named networks if they exist.
func RemoveNetworks(ctx context.Context, e Engine, names []string) error {
	for _, name := range names {
		nets, err := e.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("name", name))})
		if err != nil {
			return err
		}
		for _, n := range nets {
			if n.Name != name {
				continue
			}
			if err := removeWithRetry(ctx, func() error { return e.NetworkRemove(ctx, n.ID) }); err != nil {
				return fmt.Errorf("removing network %s: %w", name, err)
			}
		}
	}
	return nil
}

// RemoveStackVolumes removes the named volumes of the stacks.
func RemoveStackVolumes(ctx context.Context, e Engine, stacks []string) ([]string, error) {
	var removed []string
	for _, st := range stacks {
		vols, err := e.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", StackLabel+"="+st))})
		if err != nil {
			return removed, err
		}
		for _, v := range vols.Volumes {
			if err := removeWithRetry(ctx, func() error { return e.VolumeRemove(ctx, v.Name, false) }); err != nil {
				return removed, fmt.Errorf("removing volume %s: %w", v.Name, err)
			}
			removed = append(removed, v.Name)
		}
	}
	return removed, nil
}

// RemoveSecrets removes the named secrets if they exist.
func RemoveSecrets(ctx context.Context, e Engine, names []string) error {
	for _, name := range names {
		list, err := e.SecretList(ctx, swarm.SecretListOptions{Filters: filters.NewArgs(filters.Arg("name", name))})
		if err != nil {
			return err
		}
		for _, s := range list {
			if s.Spec.Name == name {
				if err := removeWithRetry(ctx, func() error { return e.SecretRemove(ctx, s.ID) }); err != nil {
					return fmt.Errorf("removing secret %s: %w", name, err)
				}
			}
		}
	}
	return nil
}

// RemoveConfigs removes configs whose name starts with prefix; stack rm
// removes the stack's own, this catches ones a failed deploy left behind.
func RemoveConfigs(ctx context.Context, e Engine, prefix string) error {
	list, err := e.ConfigList(ctx, swarm.ConfigListOptions{Filters: filters.NewArgs(filters.Arg("name", prefix))})
	if err != nil {
		return err
	}
	for _, c := range list {
		if strings.HasPrefix(c.Spec.Name, prefix) {
			if err := removeWithRetry(ctx, func() error { return e.ConfigRemove(ctx, c.ID) }); err != nil {
				return fmt.Errorf("removing config %s: %w", c.Spec.Name, err)
			}
		}
	}
	return nil
}

// removeWithRetry retries a removal that races with task shutdown ("in
// use") for a short while.
func removeWithRetry(ctx context.Context, f func() error) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := f()
		if err == nil || strings.Contains(err.Error(), "not found") || strings.Contains(strings.ToLower(err.Error()), "no such") {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Second):
		}
	}
}
