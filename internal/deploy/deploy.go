package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// Services is what a deploy needs from the engine.
type Services interface {
	// Service returns a service by name.
	Service(ctx context.Context, name string) (swarm.Service, error)
	// Tasks returns the tasks of a service, old ones included.
	Tasks(ctx context.Context, serviceID string) ([]swarm.Task, error)
	// Update applies spec to the service (rollback asks Swarm for the
	// previous spec instead).
	Update(ctx context.Context, svc swarm.Service, spec swarm.ServiceSpec, rollback bool) error
	// Diagnose returns what explains a failed task beyond its status, e.g.
	// the last health check output of its container ("" when unknown).
	Diagnose(ctx context.Context, t swarm.Task) string
}

// Clock is time, injected so tests need not wait.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now implements Clock.
func (RealClock) Now() time.Time { return time.Now() }

// Sleep implements Clock.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Request is one deploy of one service.
type Request struct {
	Service string
	// Image is the new image; empty with Rollback.
	Image    string
	Rollback bool
	Deadline time.Duration
	Interval time.Duration
}

// Result is how a deploy ended, also the --output json document.
type Result struct {
	Service  string        `json:"service"`
	From     string        `json:"from"`
	To       string        `json:"to"`
	Outcome  Outcome       `json:"outcome"`
	Reason   string        `json:"reason,omitempty"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`
	Events   []Event       `json:"events"`
}

// OK reports whether the new version is fully live.
func (r Result) OK() bool { return r.Outcome == Updated || r.Outcome == Unchanged }

// ErrInvalid marks errors found before anything was changed.
var ErrInvalid = errors.New("invalid deploy")

// Run applies the request and follows the rollout until it ends. onEvent
// sees every event as it happens (the live display).
func Run(ctx context.Context, svcs Services, clock Clock, req Request, onEvent func(Event)) (Result, error) {
	svc, err := svcs.Service(ctx, req.Service)
	if err != nil {
		return Result{}, fmt.Errorf("%w: service %s: %v", ErrInvalid, req.Service, err)
	}
	from := stripDigest(svc.Spec.TaskTemplate.ContainerSpec.Image)
	res := Result{Service: req.Service, From: from, To: req.Image, Started: clock.Now()}
	spec := svc.Spec
	if req.Rollback {
		if svc.PreviousSpec == nil {
			return res, fmt.Errorf("%w: service %s has no previous spec to return to", ErrInvalid, req.Service)
		}
		res.To = stripDigest(svc.PreviousSpec.TaskTemplate.ContainerSpec.Image)
	} else {
		if from == req.Image {
			res.Outcome = Unchanged
			return res, nil
		}
		cs := *spec.TaskTemplate.ContainerSpec
		cs.Image = req.Image
		spec.TaskTemplate.ContainerSpec = &cs
	}
	if req.Interval == 0 {
		req.Interval = time.Second
	}
	f := &Follower{Target: res.To, Previous: from, Since: res.Started, Rollback: req.Rollback}
	if err := svcs.Update(ctx, svc, spec, req.Rollback); err != nil {
		return res, fmt.Errorf("updating %s: %w", req.Service, err)
	}
	deadline := res.Started.Add(req.Deadline)
	for {
		cur, err := svcs.Service(ctx, req.Service)
		if err != nil {
			return res, err
		}
		tasks, err := svcs.Tasks(ctx, cur.ID)
		if err != nil {
			return res, err
		}
		events, outcome, done := f.Observe(cur, tasks)
		for _, e := range events {
			res.Events = append(res.Events, e)
			if onEvent != nil {
				onEvent(e)
			}
		}
		if done {
			res.Outcome = outcome
			if outcome != Updated {
				if t, ok := FailingTask(res.To, tasks); ok {
					if d := svcs.Diagnose(ctx, t); d != "" {
						f.SetReason(f.Reason() + "; " + d)
					}
				}
				res.Reason = f.Reason()
			}
			res.Duration = clock.Now().Sub(res.Started)
			return res, nil
		}
		if clock.Now().After(deadline) {
			res.Outcome = Timeout
			res.Reason = fmt.Sprintf("the update did not finish within %s", req.Deadline)
			if r := f.Reason(); r != "" {
				res.Reason += "; last failure: " + r
			}
			res.Duration = clock.Now().Sub(res.Started)
			return res, nil
		}
		if err := clock.Sleep(ctx, req.Interval); err != nil {
			return res, err
		}
	}
}
