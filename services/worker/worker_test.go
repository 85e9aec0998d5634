package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// scriptedStore answers ProcessBatch from a script of results, then with
// empty batches, and records each call.
type scriptedStore struct {
	mu     sync.Mutex
	script []result
	calls  []time.Time
	block  chan struct{} // if set, each call waits on it
	ctxErr []error       // the batch context's error when each call returned
}

type result struct {
	n   int
	err error
}

func (s *scriptedStore) ProcessBatch(ctx context.Context, worker string, limit int) ([]int64, error) {
	if s.block != nil {
		<-s.block
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, time.Now())
	s.ctxErr = append(s.ctxErr, ctx.Err())
	if worker != "w1" || limit != batchSize {
		return nil, errors.New("unexpected arguments")
	}
	if len(s.script) == 0 {
		return nil, nil
	}
	r := s.script[0]
	s.script = s.script[1:]
	ids := make([]int64, r.n)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	return ids, r.err
}

func (s *scriptedStore) callCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

func newTestWorker(store batchProcessor, interval time.Duration) *worker {
	return newWorker(store, "w1", interval, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWorkerDrainsBacklogThenWaits(t *testing.T) {
	store := &scriptedStore{script: []result{{n: 10}, {n: 10}, {n: 3}}}
	w := newTestWorker(store, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.run(ctx); close(done) }()

	// Full batches are followed at once by another poll; the short one
	// means the queue is empty, so the worker waits its interval.
	waitFor(t, "three polls", func() bool { return store.callCount() >= 3 })
	time.Sleep(50 * time.Millisecond)
	if n := store.callCount(); n != 3 {
		t.Fatalf("%d polls, want 3 before the interval elapses", n)
	}
	if got := testutil.ToFloat64(w.processed); got != 23 {
		t.Fatalf("worker_orders_processed_total = %v, want 23", got)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("worker did not stop while waiting for its interval")
	}
}

func TestWorkerCountsErrorsAndBacksOff(t *testing.T) {
	down := errors.New("connection refused")
	store := &scriptedStore{script: []result{{err: down}, {err: down}, {err: down}, {n: 1}}}
	w := newTestWorker(store, 20*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.run(ctx)

	waitFor(t, "recovery", func() bool { return testutil.ToFloat64(w.processed) == 1 })
	if got := testutil.ToFloat64(w.pollErrors); got != 3 {
		t.Fatalf("worker_poll_errors_total = %v, want 3", got)
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	// Waits after the errors double: 40ms, 80ms, 160ms (jitter-free).
	if gap := store.calls[3].Sub(store.calls[2]); gap < 150*time.Millisecond {
		t.Errorf("third retry came after %v, want a growing backoff (~160ms)", gap)
	}
}

// TestWorkerFinishesBatchOnStop cancels the loop (SIGTERM) while a batch is
// running: the batch must complete with a live context, and no new batch
// may start.
func TestWorkerFinishesBatchOnStop(t *testing.T) {
	store := &scriptedStore{script: []result{{n: 10}, {n: 10}}, block: make(chan struct{})}
	w := newTestWorker(store, time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.run(ctx); close(done) }()

	time.Sleep(20 * time.Millisecond) // the first batch is now blocked
	cancel()
	select {
	case <-done:
		t.Fatal("worker returned in the middle of a batch")
	case <-time.After(50 * time.Millisecond):
	}
	close(store.block)
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("worker did not stop after its batch")
	}
	if n := store.callCount(); n != 1 {
		t.Fatalf("%d batches ran, want 1: no new batch after stop, even with a backlog", n)
	}
	if err := store.ctxErr[0]; err != nil {
		t.Fatalf("batch context was cancelled (%v): the batch would have been aborted", err)
	}
	if got := testutil.ToFloat64(w.processed); got != 10 {
		t.Fatalf("worker_orders_processed_total = %v, want 10", got)
	}
}
