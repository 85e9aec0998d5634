package deploy

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

const (
	v1 = "berth.local/shop-api:1"
	v2 = "berth.local/shop-api:2"
)

// fakeClock advances only when slept.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	c.now = c.now.Add(d)
	return nil
}

// step is what the engine shows at one poll.
type step struct {
	update *swarm.UpdateState
	msg    string
	tasks  []swarm.Task
}

// fakeServices replays steps, one per poll, repeating the last one.
type fakeServices struct {
	clock    *fakeClock
	image    string
	prev     *string
	steps    []step
	poll     int
	updated  *swarm.ServiceSpec
	rollback bool
	diagnose string
}

func (f *fakeServices) Service(_ context.Context, name string) (swarm.Service, error) {
	if name != "app_api" {
		return swarm.Service{}, errors.New("no such service")
	}
	s := swarm.Service{ID: "svc"}
	s.Spec.Name = name
	n := uint64(2)
	s.Spec.Mode.Replicated = &swarm.ReplicatedService{Replicas: &n}
	image := f.image
	if f.updated != nil {
		image = f.updated.TaskTemplate.ContainerSpec.Image
	}
	if f.rollback && f.prev != nil {
		image = *f.prev
	}
	s.Spec.TaskTemplate.ContainerSpec = &swarm.ContainerSpec{Image: image}
	if f.prev != nil {
		ps := s.Spec
		ps.TaskTemplate.ContainerSpec = &swarm.ContainerSpec{Image: *f.prev}
		s.PreviousSpec = &ps
	}
	if f.updated != nil || f.rollback {
		st := f.steps[min(f.poll, len(f.steps)-1)]
		if st.update != nil {
			started := f.clock.now
			s.UpdateStatus = &swarm.UpdateStatus{State: *st.update, Message: st.msg, StartedAt: &started}
		}
	}
	return s, nil
}

func (f *fakeServices) Tasks(context.Context, string) ([]swarm.Task, error) {
	st := f.steps[min(f.poll, len(f.steps)-1)]
	f.poll++
	return st.tasks, nil
}

func (f *fakeServices) Update(_ context.Context, _ swarm.Service, spec swarm.ServiceSpec, rollback bool) error {
	if rollback {
		f.rollback = true
		return nil
	}
	f.updated = &spec
	return nil
}

func (f *fakeServices) Diagnose(context.Context, swarm.Task) string { return f.diagnose }

func us(s swarm.UpdateState) *swarm.UpdateState { return &s }

func tk(id string, slot int, image string, state swarm.TaskState, errMsg string, exit int) swarm.Task {
	t := swarm.Task{ID: id + "-0123456789abcdef", Slot: slot, DesiredState: swarm.TaskStateRunning}
	if state == swarm.TaskStateShutdown || state == swarm.TaskStateFailed || state == swarm.TaskStateComplete {
		t.DesiredState = swarm.TaskStateShutdown
	}
	t.Spec.ContainerSpec = &swarm.ContainerSpec{Image: image}
	t.Status.State, t.Status.Err = state, errMsg
	t.Status.ContainerStatus = &swarm.ContainerStatus{ExitCode: exit}
	// Tasks a and b existed before the deploy; the others are created by it.
	t.CreatedAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if id != "a" && id != "b" {
		t.CreatedAt = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return t
}

func TestRun(t *testing.T) {
	running, starting, shutdown, failed := swarm.TaskStateRunning, swarm.TaskStateStarting, swarm.TaskStateShutdown, swarm.TaskStateFailed
	oldTasks := []swarm.Task{tk("a", 1, v1, running, "", 0), tk("b", 2, v1, running, "", 0)}
	done := []swarm.Task{tk("a", 1, v1, shutdown, "", 0), tk("b", 2, v1, shutdown, "", 0), tk("c", 1, v2, running, "", 0), tk("d", 2, v2, running, "", 0)}
	v1p := v1
	tests := []struct {
		name        string
		req         Request
		prev        *string
		steps       []step
		diagnose    string
		want        Outcome
		wantReason  string
		wantEvents  []string // substrings, in order
		notInEvents string
		wantInvalid bool
	}{
		{
			name: "rolls out task by task",
			req:  Request{Service: "app_api", Image: v2},
			steps: []step{
				{update: us(swarm.UpdateStateUpdating), tasks: append(oldTasks, tk("c", 1, v2, starting, "", 0))},
				{update: us(swarm.UpdateStateUpdating), tasks: []swarm.Task{tk("a", 1, v1, shutdown, "", 0), tk("b", 2, v1, running, "", 0), tk("c", 1, v2, running, "", 0), tk("d", 2, v2, starting, "", 0)}},
				{update: us(swarm.UpdateStateCompleted), tasks: done},
			},
			want:       Updated,
			wantEvents: []string{"slot 1  2", "starting", "slot 1  1", "shutdown", "slot 1  2", "running"},
		},
		{
			name: "completed but a replica still starting is not done",
			req:  Request{Service: "app_api", Image: v2, Deadline: 3 * time.Second, Interval: time.Second},
			steps: []step{
				{update: us(swarm.UpdateStateCompleted), tasks: []swarm.Task{tk("c", 1, v2, running, "", 0), tk("d", 2, v2, starting, "", 0)}},
			},
			want: Timeout, wantReason: "did not finish within 3s",
		},
		{
			name: "unhealthy release rolls back",
			req:  Request{Service: "app_api", Image: v2},
			steps: []step{
				{update: us(swarm.UpdateStateUpdating), tasks: append(oldTasks, tk("c", 1, v2, starting, "", 0))},
				{update: us(swarm.UpdateStateRollbackStarted), msg: "update rolled back due to failure or early termination of task c", tasks: append(oldTasks, tk("c", 1, v2, failed, "task: unhealthy container", 0))},
				{update: us(swarm.UpdateStateRollbackCompleted), msg: "rollback completed", tasks: append(oldTasks, tk("c", 1, v2, failed, "task: unhealthy container", 0))},
			},
			diagnose:   "last health check: 503 not started",
			want:       RolledBack,
			wantReason: "unhealthy container; last health check: 503 not started",
		},
		{
			name: "crashing release rolls back with its exit code",
			req:  Request{Service: "app_api", Image: v2},
			steps: []step{
				{update: us(swarm.UpdateStateRollbackStarted), tasks: append(oldTasks, tk("c", 1, v2, failed, "task: non-zero exit (3)", 3))},
				{update: us(swarm.UpdateStateRollbackCompleted), tasks: append(oldTasks, tk("c", 1, v2, failed, "task: non-zero exit (3)", 3))},
			},
			want:       RolledBack,
			wantReason: "exit code 3",
		},
		{
			name: "a task stopped by the engine as unhealthy exits 0 and still fails the deploy",
			req:  Request{Service: "app_api", Image: v2},
			steps: []step{
				{update: us(swarm.UpdateStateUpdating), tasks: append(oldTasks, tk("c", 1, v2, starting, "", 0))},
				{update: us(swarm.UpdateStateRollbackStarted), tasks: append(oldTasks, tk("c", 1, v2, swarm.TaskStateComplete, "", 0))},
				{update: us(swarm.UpdateStateRollbackCompleted), tasks: append(oldTasks, tk("c", 1, v2, swarm.TaskStateComplete, "", 0))},
			},
			diagnose:   "container health unhealthy after 3 failed checks",
			want:       RolledBack,
			wantReason: "exited before the update finished; container health unhealthy",
		},
		{
			name: "history from earlier deploys is not reported",
			req:  Request{Service: "app_api", Image: v2},
			steps: []step{
				{update: us(swarm.UpdateStateCompleted), tasks: append(done, tk("a", 1, v1, shutdown, "task: non-zero exit (1)", 1))},
			},
			want:        Updated,
			notInEvents: "non-zero exit (1)",
		},
		{
			name: "paused update is a failure",
			req:  Request{Service: "app_api", Image: v2},
			steps: []step{
				{update: us(swarm.UpdateStatePaused), msg: "update paused due to failure or early termination of task c", tasks: oldTasks},
			},
			want: Paused, wantReason: "update paused",
		},
		{
			name: "a flapping task that recovers still converges",
			req:  Request{Service: "app_api", Image: v2},
			steps: []step{
				{update: us(swarm.UpdateStateUpdating), tasks: append(oldTasks, tk("c", 1, v2, starting, "", 0))},
				{update: us(swarm.UpdateStateUpdating), tasks: append(oldTasks, tk("c", 1, v2, failed, "task: non-zero exit (1)", 1), tk("e", 1, v2, starting, "", 0))},
				{update: us(swarm.UpdateStateUpdating), tasks: append(oldTasks, tk("c", 1, v2, failed, "task: non-zero exit (1)", 1), tk("e", 1, v2, running, "", 0))},
				{update: us(swarm.UpdateStateCompleted), tasks: done},
			},
			want:       Updated,
			wantEvents: []string{"starting", "failed", "exit code 1", "starting", "running"},
		},
		{
			name:  "deadline passes while updating",
			req:   Request{Service: "app_api", Image: v2, Deadline: 5 * time.Second, Interval: time.Second},
			steps: []step{{update: us(swarm.UpdateStateUpdating), tasks: append(oldTasks, tk("c", 1, v2, starting, "", 0))}},
			want:  Timeout, wantReason: "within 5s",
		},
		{
			name: "an earlier update's status is not this one's",
			req:  Request{Service: "app_api", Image: v2, Deadline: 2 * time.Second, Interval: time.Second},
			// No UpdateStatus at all: the update never started.
			steps: []step{{tasks: oldTasks}},
			want:  Timeout,
		},
		{
			name:  "same image is unchanged",
			req:   Request{Service: "app_api", Image: v1},
			steps: []step{{tasks: oldTasks}},
			want:  Unchanged,
		},
		{
			name: "deliberate rollback converges on the previous spec",
			req:  Request{Service: "app_api", Rollback: true},
			prev: &v1p,
			steps: []step{
				{update: us(swarm.UpdateStateRollbackStarted), tasks: []swarm.Task{tk("c", 1, v2, running, "", 0), tk("f", 1, v1, starting, "", 0)}},
				{update: us(swarm.UpdateStateRollbackCompleted), tasks: []swarm.Task{tk("f", 1, v1, running, "", 0), tk("g", 2, v1, running, "", 0)}},
			},
			want: Updated,
		},
		{
			name:        "rollback without a previous spec is refused",
			req:         Request{Service: "app_api", Rollback: true},
			steps:       []step{{tasks: oldTasks}},
			wantInvalid: true,
		},
		{
			name:        "unknown service is refused",
			req:         Request{Service: "app_nope", Image: v2},
			steps:       []step{{tasks: oldTasks}},
			wantInvalid: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{now: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
			image := v1
			if tc.req.Rollback {
				image = v2
			}
			f := &fakeServices{clock: clock, image: image, prev: tc.prev, steps: tc.steps, diagnose: tc.diagnose}
			if tc.req.Deadline == 0 {
				tc.req.Deadline = time.Minute
			}
			var events []string
			res, err := Run(context.Background(), f, clock, tc.req, func(e Event) { events = append(events, e.String()) })
			if tc.wantInvalid {
				if !errors.Is(err, ErrInvalid) || f.updated != nil || f.rollback {
					t.Fatalf("err %v, updated %v: want ErrInvalid and no change", err, f.updated != nil || f.rollback)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != tc.want {
				t.Fatalf("outcome %s (reason %q), want %s; events:\n%s", res.Outcome, res.Reason, tc.want, strings.Join(events, "\n"))
			}
			if res.OK() != (tc.want == Updated || tc.want == Unchanged) {
				t.Errorf("OK() = %v", res.OK())
			}
			if !strings.Contains(res.Reason, tc.wantReason) {
				t.Errorf("reason %q, want it to contain %q", res.Reason, tc.wantReason)
			}
			joined := strings.Join(events, "\n")
			if tc.notInEvents != "" && strings.Contains(joined, tc.notInEvents) {
				t.Errorf("events report %q from before the deploy:\n%s", tc.notInEvents, joined)
			}
			pos := 0
			for _, w := range tc.wantEvents {
				i := strings.Index(joined[pos:], w)
				if i < 0 {
					t.Fatalf("events lack %q after position %d:\n%s", w, pos, joined)
				}
				pos += i + len(w)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	for in, want := range map[string]string{
		"berth.local/shop-api:0.1.0-ab": "0.1.0-ab",
		"registry:5000/api":             "latest",
		"api:2@sha256:abcd":             "2",
		"localhost:5000/api:3":          "3",
	} {
		if got := Version(in); got != want {
			t.Errorf("Version(%q) = %q, want %q", in, got, want)
		}
	}
}
