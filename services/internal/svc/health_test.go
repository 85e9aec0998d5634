package svc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

type probeResult struct {
	code   int
	status string
	reason string
}

func probe(t *testing.T, h http.HandlerFunc) probeResult {
	t.Helper()
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	var body healthBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("probe body %q is not JSON: %v", rec.Body.String(), err)
	}
	return probeResult{rec.Code, body.Status, body.Reason}
}

// TestHealthStateMachine walks a task through its life and checks both
// probes at every step: liveness must only depend on startup having
// finished, readiness on state and dependencies.
func TestHealthStateMachine(t *testing.T) {
	var depErr atomic.Pointer[error]
	h := NewHealth(func(context.Context) error {
		if p := depErr.Load(); p != nil {
			return *p
		}
		return nil
	}, nil)
	down := errors.New("database: connection refused")

	steps := []struct {
		name      string
		do        func()
		live      int
		ready     int
		readyWhy  string
		wantState State
	}{
		{name: "starting", do: func() {}, live: 503, ready: 503, readyWhy: "startup not complete", wantState: Starting},
		{name: "dependency down while starting stays starting", do: func() { depErr.Store(&down) }, live: 503, ready: 503, readyWhy: "startup not complete", wantState: Starting},
		{name: "started with dependency up", do: func() { depErr.Store(nil); h.MarkStarted() }, live: 200, ready: 200, wantState: Started},
		{name: "dependency blip: not ready but alive", do: func() { depErr.Store(&down) }, live: 200, ready: 503, readyWhy: down.Error(), wantState: Started},
		{name: "dependency back", do: func() { depErr.Store(nil) }, live: 200, ready: 200, wantState: Started},
		{name: "draining: not ready, still alive", do: h.StartDraining, live: 200, ready: 503, readyWhy: "shutting down", wantState: Draining},
		{name: "late startup cannot undo draining", do: h.MarkStarted, live: 200, ready: 503, readyWhy: "shutting down", wantState: Draining},
	}
	for _, s := range steps {
		s.do()
		if got := h.State(); got != s.wantState {
			t.Errorf("%s: state = %v, want %v", s.name, got, s.wantState)
		}
		if got := probe(t, h.ServeLiveness); got.code != s.live {
			t.Errorf("%s: /healthz = %d, want %d", s.name, got.code, s.live)
		}
		got := probe(t, h.ServeReadiness)
		if got.code != s.ready || got.reason != s.readyWhy {
			t.Errorf("%s: /readyz = %d %q, want %d %q", s.name, got.code, got.reason, s.ready, s.readyWhy)
		}
	}
}

func TestDrainingBeforeStartupStaysNotLive(t *testing.T) {
	h := NewHealth(nil, nil)
	h.StartDraining()
	// A task stopped before it ever started must not claim to be alive.
	if got := probe(t, h.ServeLiveness); got.code != 503 {
		t.Fatalf("/healthz = %d, want 503", got.code)
	}
	if got := probe(t, h.ServeReadiness); got.code != 503 || got.status != "draining" {
		t.Fatalf("/readyz = %d %q, want 503 draining", got.code, got.status)
	}
}

func TestReadinessCheckIsBounded(t *testing.T) {
	h := NewHealth(func(ctx context.Context) error {
		<-ctx.Done() // a dependency that never answers
		return ctx.Err()
	}, nil)
	h.MarkStarted()
	start := time.Now()
	got := probe(t, h.ServeReadiness)
	if got.code != 503 {
		t.Fatalf("/readyz = %d, want 503", got.code)
	}
	if d := time.Since(start); d > 3*readyTimeout {
		t.Fatalf("probe took %v, want about %v", d, readyTimeout)
	}
}

func TestCachedCheck(t *testing.T) {
	var calls atomic.Int32
	fail := atomic.Bool{}
	c := CachedCheck(func(context.Context) error {
		calls.Add(1)
		if fail.Load() {
			return errors.New("down")
		}
		return nil
	}, 100*time.Millisecond)

	for range 5 {
		if err := c(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("check ran %d times within the TTL, want 1", n)
	}
	fail.Store(true)
	if err := c(context.Background()); err != nil {
		t.Fatalf("cached verdict changed before the TTL: %v", err)
	}
	time.Sleep(150 * time.Millisecond)
	if err := c(context.Background()); err == nil {
		t.Fatal("verdict not refreshed after the TTL")
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("check ran %d times, want 2", n)
	}
}
