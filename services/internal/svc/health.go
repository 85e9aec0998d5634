package svc

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Check reports whether a dependency is usable right now. It must return
// quickly and honour ctx; its error text is shown in /readyz responses, so it
// must not contain secrets.
type Check func(ctx context.Context) error

// State is where a service is in its life: it starts, becomes ready, and
// drains before it exits. It never goes back.
type State int32

const (
	Starting State = iota // dependencies not yet reached once
	Started               // startup complete; readiness depends on checks
	Draining              // shutting down; the proxy must stop routing here
)

func (s State) String() string {
	switch s {
	case Starting:
		return "starting"
	case Started:
		return "started"
	case Draining:
		return "draining"
	}
	return "unknown"
}

// readyTimeout bounds one readiness check so that a slow dependency makes the
// probe fail instead of piling up probe requests.
const readyTimeout = time.Second

// Health is the liveness and readiness state machine behind /healthz and
// /readyz. Liveness only answers "has startup finished and is the process
// serving?", so a database blip never gets a task killed by its health
// check; readiness also asks the dependencies, so the proxy routes around a
// task that cannot serve.
type Health struct {
	started  atomic.Bool
	draining atomic.Bool
	check    Check
	log      *slog.Logger

	mu        sync.Mutex
	lastReady *bool // last readiness verdict, to log changes only
}

// NewHealth returns a Health in the Starting state. check may be nil when
// readiness depends on nothing but the state.
func NewHealth(check Check, log *slog.Logger) *Health {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Health{check: check, log: log}
}

// State returns the current state.
func (h *Health) State() State {
	switch {
	case h.draining.Load():
		return Draining
	case h.started.Load():
		return Started
	}
	return Starting
}

// MarkStarted ends startup: liveness passes from now on. Readiness still
// fails if draining has begun, so a slow startup cannot make a stopping
// task look ready again.
func (h *Health) MarkStarted() {
	if h.started.Load() || !faultOnStart(h.log) {
		return
	}
	if !h.started.Swap(true) {
		h.log.Info("startup complete")
	}
}

// StartDraining makes readiness fail from now on. Liveness is unchanged:
// Swarm must not kill a task for draining.
func (h *Health) StartDraining() {
	if !h.draining.Swap(true) {
		h.log.Info("draining: readiness now fails")
	}
}

type healthBody struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// ServeLiveness answers /healthz.
func (h *Health) ServeLiveness(w http.ResponseWriter, r *http.Request) {
	if !h.started.Load() {
		WriteJSON(w, http.StatusServiceUnavailable, healthBody{Status: "starting", Reason: "startup not complete"})
		return
	}
	WriteJSON(w, http.StatusOK, healthBody{Status: "ok"})
}

// Ready runs the readiness verdict: started, not draining, and every
// dependency reachable now.
func (h *Health) Ready(ctx context.Context) (ok bool, status, reason string) {
	switch {
	case h.draining.Load():
		return false, "draining", "shutting down"
	case !h.started.Load():
		return false, "starting", "startup not complete"
	}
	if h.check != nil {
		ctx, cancel := context.WithTimeout(ctx, readyTimeout)
		defer cancel()
		if err := h.check(ctx); err != nil {
			h.noteReady(false, err)
			return false, "unavailable", err.Error()
		}
	}
	h.noteReady(true, nil)
	return true, "ready", ""
}

// noteReady logs readiness transitions rather than every probe: probes run
// every few seconds and would drown the log.
func (h *Health) noteReady(ok bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lastReady != nil && *h.lastReady == ok {
		return
	}
	h.lastReady = &ok
	if ok {
		h.log.Info("ready")
	} else {
		h.log.Warn("not ready", "err", err)
	}
}

// ServeReadiness answers /readyz.
func (h *Health) ServeReadiness(w http.ResponseWriter, r *http.Request) {
	ok, status, reason := h.Ready(r.Context())
	code := http.StatusOK
	if !ok {
		code = http.StatusServiceUnavailable
	}
	WriteJSON(w, code, healthBody{Status: status, Reason: reason})
}

// CachedCheck wraps check so that it runs at most once per ttl; callers in
// between get the last verdict. It keeps probes cheap when readiness means a
// network call to another service. Concurrent callers wait for the one call
// in flight rather than each making their own.
func CachedCheck(check Check, ttl time.Duration) Check {
	var (
		mu      sync.Mutex
		checked time.Time
		last    error
	)
	return func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if !checked.IsZero() && time.Since(checked) < ttl {
			return last
		}
		last = check(ctx)
		checked = time.Now()
		return last
	}
}

// WriteJSON writes v as a JSON response with the given status code.
// Encoding errors are ignored: by then the status line is sent and there is
// nothing better to tell the client.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
