package swarm

import (
	"context"
	"fmt"
	"strings"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
)

// Services adapts an Engine to what a deploy needs (deploy.Services).
type Services struct{ Engine Engine }

// Service returns a service by its full name.
func (s Services) Service(ctx context.Context, name string) (swarm.Service, error) {
	svc, _, err := s.Engine.ServiceInspectWithRaw(ctx, name, swarm.ServiceInspectOptions{})
	if err != nil {
		return svc, err
	}
	// Inspect also matches ID prefixes; a deploy names services exactly.
	if svc.Spec.Name != name {
		return swarm.Service{}, fmt.Errorf("no service named %s", name)
	}
	return svc, nil
}

// Tasks returns every task of a service, old ones included.
func (s Services) Tasks(ctx context.Context, serviceID string) ([]swarm.Task, error) {
	return s.Engine.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", serviceID))})
}

// Update applies spec, or asks Swarm to return to the previous spec.
func (s Services) Update(ctx context.Context, svc swarm.Service, spec swarm.ServiceSpec, rollback bool) error {
	opts := swarm.ServiceUpdateOptions{}
	if rollback {
		opts.Rollback = "previous"
	}
	resp, err := s.Engine.ServiceUpdate(ctx, svc.ID, svc.Version, spec, opts)
	if err != nil {
		return err
	}
	for _, w := range resp.Warnings {
		if strings.Contains(w, "digest") {
			continue // local images have no registry digest; expected offline
		}
		return fmt.Errorf("engine warning: %s", w)
	}
	return nil
}

// Diagnose reads the failed task's container (when it ran on this node):
// its last health check output, exit code, OOM kill or runtime error.
func (s Services) Diagnose(ctx context.Context, t swarm.Task) string {
	if t.Status.ContainerStatus == nil || t.Status.ContainerStatus.ContainerID == "" {
		return ""
	}
	c, err := s.Engine.ContainerInspect(ctx, t.Status.ContainerStatus.ContainerID)
	if err != nil || c.State == nil {
		return ""
	}
	var parts []string
	if h := c.State.Health; h != nil && len(h.Log) > 0 {
		last := h.Log[len(h.Log)-1]
		out := strings.TrimSpace(last.Output)
		if len(out) > 200 {
			out = out[:200] + "…"
		}
		parts = append(parts, fmt.Sprintf("container health %s after %d failed checks, the last exited %d: %s", h.Status, h.FailingStreak, last.ExitCode, out))
	}
	if c.State.OOMKilled {
		parts = append(parts, "killed: out of memory")
	}
	if c.State.Error != "" {
		parts = append(parts, c.State.Error)
	}
	return strings.Join(parts, "; ")
}

// ImageExists reports whether the engine has the image locally.
func ImageExists(ctx context.Context, e Engine, ref string) bool {
	_, _, err := e.ImageInspectWithRaw(ctx, ref)
	return err == nil
}
