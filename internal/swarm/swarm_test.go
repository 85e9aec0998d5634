package swarm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"
)

// fakeEngine embeds Engine; tests override only what they use.
type fakeEngine struct {
	Engine
	info     system.Info
	version  types.Version
	services []swarm.Service
	// tasks returns the tasks for one poll; polls counts calls.
	tasks func(poll int) []swarm.Task
	polls int
}

func (f *fakeEngine) Info(context.Context) (system.Info, error) { return f.info, nil }
func (f *fakeEngine) ServerVersion(context.Context) (types.Version, error) {
	if f.version.APIVersion == "" {
		return types.Version{}, errors.New("Cannot connect to the Docker daemon")
	}
	return f.version, nil
}
func (f *fakeEngine) ClientVersion() string { return "1.41" }
func (f *fakeEngine) ServiceList(context.Context, swarm.ServiceListOptions) ([]swarm.Service, error) {
	f.polls++
	return f.services, nil
}
func (f *fakeEngine) TaskList(context.Context, swarm.TaskListOptions) ([]swarm.Task, error) {
	return f.tasks(f.polls), nil
}

func replicas(n uint64) *uint64 { return &n }

func service(image string, n uint64, update *swarm.UpdateStatus) swarm.Service {
	s := swarm.Service{ID: "svc1", UpdateStatus: update}
	s.Spec.Name = "app_api"
	s.Spec.Labels = map[string]string{StackLabel: "app"}
	s.Spec.Mode.Replicated = &swarm.ReplicatedService{Replicas: replicas(n)}
	s.Spec.TaskTemplate.ContainerSpec = &swarm.ContainerSpec{Image: image, Healthcheck: &container.HealthConfig{Test: []string{"CMD", "/api", "healthcheck"}}}
	return s
}

func task(image string, state swarm.TaskState, desired swarm.TaskState, errMsg string) swarm.Task {
	t := swarm.Task{ID: "task0123456789", DesiredState: desired}
	t.Spec.ContainerSpec = &swarm.ContainerSpec{Image: image}
	t.Status.State, t.Status.Err, t.Status.Timestamp = state, errMsg, time.Now()
	return t
}

func TestWaitReady(t *testing.T) {
	const img = "berth.local/shop-api:2"
	running, starting, shutdown := swarm.TaskStateRunning, swarm.TaskStateStarting, swarm.TaskStateShutdown
	tests := []struct {
		name    string
		svc     swarm.Service
		tasks   func(int) []swarm.Task
		wantErr string
	}{
		{"converges after starting", service(img, 2, nil), func(p int) []swarm.Task {
			if p < 3 {
				return []swarm.Task{task(img, running, running, ""), task(img, starting, running, "")}
			}
			return []swarm.Task{task(img, running, running, ""), task(img, running, running, "")}
		}, ""},
		{"old image tasks do not count", service(img, 1, nil), func(int) []swarm.Task {
			return []swarm.Task{task("berth.local/shop-api:1", running, running, "")}
		}, "timed out"},
		{"rollback is a failure", service(img, 1, &swarm.UpdateStatus{State: swarm.UpdateStateRollbackCompleted, Message: "rollback completed"}),
			func(int) []swarm.Task { return []swarm.Task{task(img, running, running, "")} }, "rollback_completed"},
		{"paused update is a failure", service(img, 1, &swarm.UpdateStatus{State: swarm.UpdateStatePaused, Message: "update paused due to failure"}),
			func(int) []swarm.Task { return []swarm.Task{task(img, running, running, "")} }, "paused"},
		{"global service: one task per node", func() swarm.Service {
			s := service(img, 0, nil)
			s.Spec.Mode = swarm.ServiceMode{Global: &swarm.GlobalService{}}
			return s
		}(), func(p int) []swarm.Task {
			if p < 2 {
				return []swarm.Task{task(img, starting, running, "")}
			}
			return []swarm.Task{task(img, running, running, ""), task(img, shutdown, shutdown, "")}
		}, ""},
		{"timeout names the failing task", service(img, 1, nil), func(int) []swarm.Task {
			return []swarm.Task{task(img, swarm.TaskStateFailed, shutdown, "task: non-zero exit (1)")}
		}, "non-zero exit (1)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeEngine{services: []swarm.Service{tc.svc}, tasks: tc.tasks}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			_, err := WaitReady(ctx, f, []string{"app"}, 1, time.Time{}, 5*time.Millisecond, nil)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestCheckUsable(t *testing.T) {
	tests := []struct {
		st   State
		want string
	}{
		{State{LocalNodeState: "inactive"}, ""},
		{State{LocalNodeState: "active", Manager: true}, ""},
		{State{LocalNodeState: "active", Manager: false}, "swarm worker"},
		{State{LocalNodeState: "locked"}, "docker swarm unlock"},
		{State{LocalNodeState: "error"}, `state "error"`},
	}
	for _, tc := range tests {
		err := tc.st.CheckUsable()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: error %v, want %q", tc.st, err, tc.want)
		}
	}
}

func TestInspect(t *testing.T) {
	unreachable := func(string, time.Duration) error { return errors.New("no such host") }
	free := func(int) error { return nil }
	taken := func(int) error { return errors.New("address already in use") }
	engine := func(state swarm.LocalNodeState, manager bool) *fakeEngine {
		f := &fakeEngine{version: types.Version{Version: "20.10.24", APIVersion: "1.41"}}
		f.info.Swarm.LocalNodeState, f.info.Swarm.ControlAvailable = state, manager
		return f
	}
	find := func(c Capabilities, name string) Check {
		for _, ch := range c.Checks {
			if ch.Name == name {
				return ch
			}
		}
		t.Fatalf("no check %q in %+v", name, c.Checks)
		return Check{}
	}

	t.Run("kernel with IPVS and ESP", func(t *testing.T) {
		c := Inspect(context.Background(), engine("inactive", false), Host{Root: "testdata/host-ipvs", Dial: unreachable, Listen: free}, []int{80, 443}, nil)
		if !c.IPVS || !c.ESP || c.EndpointMode() != "vip" || !c.NoNewPrivileges || !c.Offline {
			t.Fatalf("capabilities %+v", c)
		}
		if len(c.Blockers()) != 0 {
			t.Fatalf("blockers %+v", c.Blockers())
		}
	})
	t.Run("bare kernel, live-restore, ports taken, worker", func(t *testing.T) {
		c := Inspect(context.Background(), engine("active", false), Host{Root: "testdata/host-bare", Dial: unreachable, Listen: taken}, []int{80, 443}, nil)
		if c.IPVS || c.ESP || c.EndpointMode() != "dnsrr" {
			t.Fatalf("capabilities %+v", c)
		}
		for _, name := range []string{"swarm", "live-restore", "port 80", "port 443"} {
			if find(c, name).Level != Blocker {
				t.Errorf("%s: %+v, want a blocker", name, find(c, name))
			}
		}
	})
	t.Run("ports held by berth's own edge", func(t *testing.T) {
		c := Inspect(context.Background(), engine("active", true), Host{Root: "testdata/host-ipvs", Dial: unreachable, Listen: taken}, []int{80}, func(int) bool { return true })
		if got := find(c, "port 80"); got.Level != OK {
			t.Fatalf("port 80: %+v", got)
		}
	})
	t.Run("no engine", func(t *testing.T) {
		c := Inspect(context.Background(), &fakeEngine{}, Host{}, nil, nil)
		if b := c.Blockers(); len(b) != 1 || b[0].Name != "engine" {
			t.Fatalf("blockers %+v", b)
		}
	})
}

func TestAPIAtLeast(t *testing.T) {
	for _, tc := range []struct {
		have, want string
		ok         bool
	}{{"1.41", "1.44", false}, {"1.44", "1.44", true}, {"1.50", "1.44", true}, {"2.0", "1.44", true}, {"x", "1.44", false}} {
		if got := APIAtLeast(tc.have, tc.want); got != tc.ok {
			t.Errorf("APIAtLeast(%s, %s) = %v", tc.have, tc.want, got)
		}
	}
}
