// Package deploy owns how berth changes a running service and decides
// whether the change is live: it applies a new spec (or a rollback) and
// follows Swarm's rolling update task by task until the service converged
// on the new spec, rolled back, paused, or a deadline passed. It works
// against the small Services interface it declares, with an injected
// clock; it must not import cli.
package deploy

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// Outcome is how a deploy ended.
type Outcome string

// Outcomes. Only Updated means the new version is fully live.
const (
	Updated    Outcome = "updated"
	Unchanged  Outcome = "unchanged"
	RolledBack Outcome = "rolled_back"
	Paused     Outcome = "paused"
	Timeout    Outcome = "timeout"
)

// Event is one change a follower noticed, for the live display.
type Event struct {
	At      time.Time `json:"at"`
	Slot    int       `json:"slot"`
	TaskID  string    `json:"task_id"`
	Version string    `json:"version"`
	State   string    `json:"state"`
	Message string    `json:"message,omitempty"`
}

func (e Event) String() string {
	s := fmt.Sprintf("slot %d  %-14s %-10s", e.Slot, e.Version, e.State)
	if e.Message != "" {
		s += "  " + e.Message
	}
	return s
}

// Follower turns successive snapshots of one service into events and, at
// the end, an outcome. It is pure: the caller polls and feeds it.
type Follower struct {
	// Target is the image the update moves to; Previous the one it leaves.
	Target, Previous string
	// Since is when berth applied the change: an UpdateStatus that started
	// before it belongs to an earlier update.
	Since time.Time
	// Rollback is true when following a deliberate rollback.
	Rollback bool

	seen        map[string]string // task ID -> last reported state
	rollingBack bool
	reason      string
}

// Observe takes one snapshot and returns the new events and, when the
// update is over, its outcome (done is then true).
func (f *Follower) Observe(svc swarm.Service, tasks []swarm.Task) (events []Event, outcome Outcome, done bool) {
	if f.seen == nil {
		f.seen = map[string]string{}
	}
	sort.Slice(tasks, func(i, j int) bool {
		if tasks[i].Slot != tasks[j].Slot {
			return tasks[i].Slot < tasks[j].Slot
		}
		return tasks[i].CreatedAt.Before(tasks[j].CreatedAt)
	})
	for _, t := range tasks {
		// Tasks from before this deploy (earlier updates' history, the old
		// version's replicas) are noted silently; only their changes from
		// now on are events.
		if _, known := f.seen[t.ID]; !known && t.CreatedAt.Before(f.Since.Add(-time.Second)) {
			f.seen[t.ID] = string(t.Status.State)
			continue
		}
		state := string(t.Status.State)
		if f.seen[t.ID] == state {
			continue
		}
		f.seen[t.ID] = state
		msg := t.Status.Err
		if t.Status.ContainerStatus != nil && t.Status.ContainerStatus.ExitCode != 0 {
			msg = strings.TrimSpace(fmt.Sprintf("%s (exit code %d)", msg, t.Status.ContainerStatus.ExitCode))
		}
		events = append(events, Event{At: t.Status.Timestamp, Slot: t.Slot, TaskID: shortID(t.ID),
			Version: Version(imageOf(t)), State: state, Message: msg})
		if imageOf(t) == f.Target && isFailure(t) {
			f.reason = fmt.Sprintf("task %s (%s) %s", shortID(t.ID), Version(f.Target), describeFailure(t))
		}
	}

	us := svc.UpdateStatus
	current := us != nil && us.StartedAt != nil && !us.StartedAt.Before(f.Since.Add(-time.Second))
	if !current {
		return events, "", false
	}
	switch us.State {
	case swarm.UpdateStateRollbackStarted:
		if !f.rollingBack && !f.Rollback {
			f.rollingBack = true
			if f.reason == "" {
				f.reason = us.Message
			}
		}
	case swarm.UpdateStateCompleted:
		if f.converged(svc, tasks) {
			return events, Updated, true
		}
	case swarm.UpdateStateRollbackCompleted:
		if f.Rollback {
			if f.converged(svc, tasks) {
				return events, Updated, true
			}
			return events, "", false
		}
		return events, RolledBack, true
	case swarm.UpdateStatePaused, swarm.UpdateStateRollbackPaused:
		if f.reason == "" {
			f.reason = us.Message
		}
		return events, Paused, true
	}
	return events, "", false
}

// Reason says why an update failed: the failing task's error or exit code,
// else Swarm's update message.
func (f *Follower) Reason() string { return f.reason }

// SetReason replaces the reason with a richer one (e.g. the failing
// container's last health check output).
func (f *Follower) SetReason(r string) { f.reason = r }

// converged reports whether every desired replica runs the service's
// current image.
func (f *Follower) converged(svc swarm.Service, tasks []swarm.Task) bool {
	want := uint64(0)
	if svc.Spec.Mode.Replicated != nil && svc.Spec.Mode.Replicated.Replicas != nil {
		want = *svc.Spec.Mode.Replicated.Replicas
	}
	image := svc.Spec.TaskTemplate.ContainerSpec.Image
	var running uint64
	for _, t := range tasks {
		if t.DesiredState != swarm.TaskStateRunning {
			continue
		}
		if svc.Spec.Mode.Global != nil {
			want++ // one task per eligible node
		}
		if t.Status.State == swarm.TaskStateRunning && imageOf(t) == image {
			running++
		}
	}
	return running >= want
}

// FailingTask returns the most recent failed task of the target image, for
// callers that can read its container's health log.
func FailingTask(target string, tasks []swarm.Task) (swarm.Task, bool) {
	var best swarm.Task
	found := false
	for _, t := range tasks {
		if imageOf(t) == target && isFailure(t) && (!found || t.Status.Timestamp.After(best.Status.Timestamp)) {
			best, found = t, true
		}
	}
	return best, found
}

func isFailure(t swarm.Task) bool {
	switch t.Status.State {
	case swarm.TaskStateFailed, swarm.TaskStateRejected:
		return true
	case swarm.TaskStateComplete:
		// A service's task never completes on purpose: it exited by itself
		// (or was stopped by the engine, e.g. as unhealthy).
		return true
	case swarm.TaskStateShutdown:
		return t.Status.Err != "" || (t.Status.ContainerStatus != nil && t.Status.ContainerStatus.ExitCode != 0)
	}
	return false
}

func describeFailure(t swarm.Task) string {
	state := string(t.Status.State)
	if t.Status.State == swarm.TaskStateComplete {
		state = "exited before the update finished"
	}
	parts := []string{state}
	if t.Status.Err != "" {
		parts = append(parts, t.Status.Err)
	}
	if t.Status.ContainerStatus != nil && t.Status.ContainerStatus.ExitCode != 0 {
		parts = append(parts, fmt.Sprintf("exit code %d", t.Status.ContainerStatus.ExitCode))
	}
	return strings.Join(parts, ": ")
}

func imageOf(t swarm.Task) string {
	if t.Spec.ContainerSpec == nil {
		return ""
	}
	return stripDigest(t.Spec.ContainerSpec.Image)
}

func stripDigest(image string) string {
	if i := strings.Index(image, "@sha256:"); i > 0 {
		return image[:i]
	}
	return image
}

// Version is the tag of an image reference ("latest" when it has none).
func Version(image string) string {
	image = stripDigest(image)
	if i := strings.LastIndex(image, ":"); i > 0 && !strings.Contains(image[i:], "/") {
		return image[i+1:]
	}
	return "latest"
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
