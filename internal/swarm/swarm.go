// Package swarm is berth's one user of the Docker Engine API for Swarm: a
// narrow Engine interface, what the engine and kernel support, swarm
// initialisation, networks, secrets, stack deploys and waiting for services
// to converge. It must not import cli; it may import platform for names.
package swarm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/api/types/volume"
)

// Engine is the part of the Docker API berth uses; *client.Client has it.
type Engine interface {
	Ping(ctx context.Context) (types.Ping, error)
	Info(ctx context.Context) (system.Info, error)
	ServerVersion(ctx context.Context) (types.Version, error)
	ClientVersion() string
	SwarmInit(ctx context.Context, req swarm.InitRequest) (string, error)
	NodeInspectWithRaw(ctx context.Context, nodeID string) (swarm.Node, []byte, error)
	NodeList(ctx context.Context, options swarm.NodeListOptions) ([]swarm.Node, error)
	NodeUpdate(ctx context.Context, nodeID string, version swarm.Version, node swarm.NodeSpec) error
	NetworkList(ctx context.Context, options network.ListOptions) ([]network.Summary, error)
	NetworkCreate(ctx context.Context, name string, options network.CreateOptions) (network.CreateResponse, error)
	NetworkRemove(ctx context.Context, networkID string) error
	SecretList(ctx context.Context, options swarm.SecretListOptions) ([]swarm.Secret, error)
	SecretCreate(ctx context.Context, secret swarm.SecretSpec) (swarm.SecretCreateResponse, error)
	SecretRemove(ctx context.Context, id string) error
	ConfigList(ctx context.Context, options swarm.ConfigListOptions) ([]swarm.Config, error)
	ConfigRemove(ctx context.Context, id string) error
	ServiceList(ctx context.Context, options swarm.ServiceListOptions) ([]swarm.Service, error)
	ServiceInspectWithRaw(ctx context.Context, serviceID string, opts swarm.ServiceInspectOptions) (swarm.Service, []byte, error)
	ServiceUpdate(ctx context.Context, serviceID string, version swarm.Version, service swarm.ServiceSpec, options swarm.ServiceUpdateOptions) (swarm.ServiceUpdateResponse, error)
	ContainerInspect(ctx context.Context, containerID string) (container.InspectResponse, error)
	ImageInspectWithRaw(ctx context.Context, imageID string) (image.InspectResponse, []byte, error)
	TaskList(ctx context.Context, options swarm.TaskListOptions) ([]swarm.Task, error)
	ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error)
	VolumeList(ctx context.Context, options volume.ListOptions) (volume.ListResponse, error)
	VolumeRemove(ctx context.Context, volumeID string, force bool) error
}

// ManagedLabel marks every resource berth creates.
const ManagedLabel = "org.berth.managed"

// StackLabel is the label docker stack deploy puts on stack resources.
const StackLabel = "com.docker.stack.namespace"

// ErrNoEngine means the Docker engine did not answer.
var ErrNoEngine = errors.New("the Docker engine is not reachable")

// State is the local engine's place in a swarm.
type State struct {
	// LocalNodeState is inactive, pending, active, error or locked.
	LocalNodeState string
	Manager        bool
	NodeID         string
	Nodes          int
	Managers       int
}

// CurrentState reads the local node's swarm state.
func CurrentState(ctx context.Context, e Engine) (State, system.Info, error) {
	info, err := e.Info(ctx)
	if err != nil {
		return State{}, info, fmt.Errorf("%w: %v", ErrNoEngine, err)
	}
	s := State{
		LocalNodeState: string(info.Swarm.LocalNodeState),
		Manager:        info.Swarm.ControlAvailable,
		NodeID:         info.Swarm.NodeID,
		Nodes:          info.Swarm.Nodes,
		Managers:       info.Swarm.Managers,
	}
	return s, info, nil
}

// CheckUsable returns an error saying what to do when the engine cannot
// take a berth deploy: a worker node, or a swarm in a broken state.
func (s State) CheckUsable() error {
	switch s.LocalNodeState {
	case "inactive", "":
		return nil // berth initialises a single-node swarm
	case "active":
		if !s.Manager {
			return errors.New("this engine is a swarm worker: deploys must run against a manager (run berth on a manager node, or set DOCKER_HOST to one)")
		}
		return nil
	case "locked":
		return errors.New("the swarm is locked: run `docker swarm unlock` first")
	default:
		return fmt.Errorf("the swarm is in state %q: fix it with `docker info` / `docker swarm` before deploying", s.LocalNodeState)
	}
}

// EnsureSwarm initialises a single-node swarm if the engine is in none.
// It reports whether it did.
func EnsureSwarm(ctx context.Context, e Engine, advertise string) (bool, error) {
	st, _, err := CurrentState(ctx, e)
	if err != nil {
		return false, err
	}
	if err := st.CheckUsable(); err != nil {
		return false, err
	}
	if st.LocalNodeState == "active" {
		return false, nil
	}
	req := swarm.InitRequest{ListenAddr: "0.0.0.0:2377", AdvertiseAddr: advertise}
	if _, err := e.SwarmInit(ctx, req); err != nil {
		return false, fmt.Errorf("docker swarm init: %w", err)
	}
	return true, nil
}

// LabelNode sets a label on a node unless it is already set.
func LabelNode(ctx context.Context, e Engine, nodeID, key, value string) error {
	n, _, err := e.NodeInspectWithRaw(ctx, nodeID)
	if err != nil {
		return fmt.Errorf("inspecting node %s: %w", nodeID, err)
	}
	if n.Spec.Labels[key] == value {
		return nil
	}
	spec := n.Spec
	if spec.Labels == nil {
		spec.Labels = map[string]string{}
	}
	spec.Labels[key] = value
	return e.NodeUpdate(ctx, n.ID, n.Version, spec)
}

// NetworkSpec is an overlay network berth creates.
type NetworkSpec struct {
	Name      string
	Internal  bool
	Encrypted bool
}

// EnsureNetwork creates an overlay network unless one with that name exists.
func EnsureNetwork(ctx context.Context, e Engine, n NetworkSpec) (bool, error) {
	existing, err := e.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("name", n.Name))})
	if err != nil {
		return false, err
	}
	for _, x := range existing {
		if x.Name == n.Name {
			if x.Driver != "overlay" || x.Scope != "swarm" {
				return false, fmt.Errorf("network %s exists but is a %s/%s network, not a swarm overlay: remove it (docker network rm %s)", n.Name, x.Driver, x.Scope, n.Name)
			}
			return false, nil
		}
	}
	opts := map[string]string{}
	if n.Encrypted {
		opts["encrypted"] = "true"
	}
	_, err = e.NetworkCreate(ctx, n.Name, network.CreateOptions{
		Driver: "overlay", Scope: "swarm", Internal: n.Internal, Options: opts,
		Labels: map[string]string{ManagedLabel: "true"},
	})
	if err != nil {
		return false, fmt.Errorf("creating network %s: %w", n.Name, err)
	}
	return true, nil
}

// SecretExists says whether a swarm secret with that exact name exists.
func SecretExists(ctx context.Context, e Engine, name string) (bool, error) {
	list, err := e.SecretList(ctx, swarm.SecretListOptions{Filters: filters.NewArgs(filters.Arg("name", name))})
	if err != nil {
		return false, err
	}
	for _, s := range list {
		if s.Spec.Name == name {
			return true, nil
		}
	}
	return false, nil
}

// CreateSecret creates a swarm secret labelled as berth's.
func CreateSecret(ctx context.Context, e Engine, name string, data []byte) error {
	_, err := e.SecretCreate(ctx, swarm.SecretSpec{
		Annotations: swarm.Annotations{Name: name, Labels: map[string]string{ManagedLabel: "true"}},
		Data:        data,
	})
	if err != nil {
		return fmt.Errorf("creating secret %s: %w", name, err)
	}
	return nil
}

// ServiceStatus is one service's state for `berth status` and waits.
type ServiceStatus struct {
	Stack   string `json:"stack"`
	Name    string `json:"name"`
	Image   string `json:"image"`
	Version string `json:"version"`
	Desired uint64 `json:"desired"`
	Running uint64 `json:"running"`
	// Health summarises the tasks: healthy, starting, unhealthy, none.
	Health string `json:"health"`
	// Update is the update state (updating, rollback_completed, ...) or "".
	Update        string    `json:"update,omitempty"`
	UpdateMessage string    `json:"update_message,omitempty"`
	UpdateStarted time.Time `json:"-"`
	// LastError is the most recent task error, for failed waits.
	LastError string `json:"last_error,omitempty"`
}

// Ready reports whether every desired replica is running (and healthy,
// where a health check exists: Swarm marks such tasks running only once
// healthy).
func (s ServiceStatus) Ready() bool {
	return s.Running == s.Desired && s.Desired > 0 &&
		s.Update != string(swarm.UpdateStateUpdating) && s.Update != string(swarm.UpdateStateRollbackStarted)
}

// Statuses returns the state of every service in the given stacks (all
// stacks when none are given), sorted by stack then name.
func Statuses(ctx context.Context, e Engine, stacks ...string) ([]ServiceStatus, error) {
	services, err := e.ServiceList(ctx, swarm.ServiceListOptions{})
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, s := range stacks {
		want[s] = true
	}
	var out []ServiceStatus
	for _, svc := range services {
		stack := svc.Spec.Labels[StackLabel]
		if len(want) > 0 && !want[stack] {
			continue
		}
		st, err := serviceStatus(ctx, e, svc)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Stack != out[j].Stack {
			return out[i].Stack < out[j].Stack
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

func serviceStatus(ctx context.Context, e Engine, svc swarm.Service) (ServiceStatus, error) {
	image := svc.Spec.TaskTemplate.ContainerSpec.Image
	if i := strings.Index(image, "@sha256:"); i > 0 {
		image = image[:i]
	}
	st := ServiceStatus{
		Stack: svc.Spec.Labels[StackLabel],
		Name:  svc.Spec.Name,
		Image: image,
	}
	if i := strings.LastIndex(image, ":"); i > 0 && !strings.Contains(image[i:], "/") {
		st.Version = image[i+1:]
	}
	global := svc.Spec.Mode.Global != nil
	if svc.Spec.Mode.Replicated != nil && svc.Spec.Mode.Replicated.Replicas != nil {
		st.Desired = *svc.Spec.Mode.Replicated.Replicas
	}
	if svc.UpdateStatus != nil {
		st.Update = string(svc.UpdateStatus.State)
		st.UpdateMessage = svc.UpdateStatus.Message
		if svc.UpdateStatus.StartedAt != nil {
			st.UpdateStarted = *svc.UpdateStatus.StartedAt
		}
	}
	tasks, err := e.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", svc.ID))})
	if err != nil {
		return st, err
	}
	hasHealth := svc.Spec.TaskTemplate.ContainerSpec.Healthcheck != nil &&
		(len(svc.Spec.TaskTemplate.ContainerSpec.Healthcheck.Test) == 0 || svc.Spec.TaskTemplate.ContainerSpec.Healthcheck.Test[0] != "NONE")
	starting := 0
	var newest time.Time
	for _, t := range tasks {
		if global && t.DesiredState == swarm.TaskStateRunning {
			// A global service wants one task per eligible node: the
			// orchestrator's running-desired tasks are that count.
			st.Desired++
		}
		if t.DesiredState != swarm.TaskStateRunning {
			if t.Status.Err != "" && t.Status.Timestamp.After(newest) {
				newest = t.Status.Timestamp
				st.LastError = fmt.Sprintf("task %s: %s", shortID(t.ID), t.Status.Err)
			}
			continue
		}
		switch t.Status.State {
		case swarm.TaskStateRunning:
			// With start-first updates, old and new tasks run side by side;
			// count only tasks of the current spec.
			if t.Spec.ContainerSpec != nil && t.Spec.ContainerSpec.Image != svc.Spec.TaskTemplate.ContainerSpec.Image {
				continue
			}
			st.Running++
		case swarm.TaskStateStarting:
			starting++
		}
	}
	switch {
	case !hasHealth:
		st.Health = "none"
	case st.Running == st.Desired && st.Desired > 0:
		st.Health = "healthy"
	case starting > 0:
		st.Health = "starting"
	case st.LastError != "":
		st.Health = "failing"
	default:
		st.Health = "pending"
	}
	return st, nil
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// WaitReady polls until every service of the stacks is ready, the context
// ends, or an update that started after since rolls back or pauses (an
// older update's outcome is history, not this wait's failure). onTick sees
// every poll's statuses.
func WaitReady(ctx context.Context, e Engine, stacks []string, expect int, since time.Time, interval time.Duration, onTick func([]ServiceStatus)) ([]ServiceStatus, error) {
	for {
		sts, err := Statuses(ctx, e, stacks...)
		if err != nil {
			return nil, err
		}
		if onTick != nil {
			onTick(sts)
		}
		ready := len(sts) >= expect
		for _, s := range sts {
			switch swarm.UpdateState(s.Update) {
			case swarm.UpdateStateRollbackCompleted, swarm.UpdateStateRollbackPaused, swarm.UpdateStatePaused:
				if !s.UpdateStarted.Before(since) {
					return sts, fmt.Errorf("service %s: update %s: %s", s.Name, s.Update, s.UpdateMessage)
				}
			}
			if !s.Ready() {
				ready = false
			}
		}
		if ready {
			return sts, nil
		}
		select {
		case <-ctx.Done():
			var waiting []string
			for _, s := range sts {
				if !s.Ready() {
					msg := fmt.Sprintf("%s %d/%d", s.Name, s.Running, s.Desired)
					if s.LastError != "" {
						msg += " (" + s.LastError + ")"
					}
					waiting = append(waiting, msg)
				}
			}
			return sts, fmt.Errorf("timed out waiting for services: %s", strings.Join(waiting, ", "))
		case <-time.After(interval):
		}
	}
}

// PrintStatuses writes a docker-style table of sts.
func PrintStatuses(w io.Writer, sts []ServiceStatus) {
	tw := newTable(w)
	tw.row("NAME", "REPLICAS", "HEALTH", "IMAGE", "VERSION")
	for _, s := range sts {
		health := s.Health
		if s.Update != "" && s.Update != string(swarm.UpdateStateCompleted) {
			health += " (" + s.Update + ")"
		}
		tw.row(s.Name, fmt.Sprintf("%d/%d", s.Running, s.Desired), health, s.Image, s.Version)
	}
	tw.flush()
}
