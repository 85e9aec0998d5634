package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// batchSize is how many orders one transaction claims: small enough that a
// stopping worker finishes its batch quickly, large enough to amortise the
// round trips.
const batchSize = 10

// maxErrorDelay caps the wait between polls while the database fails, so a
// long outage neither floods the log nor delays recovery by much.
const maxErrorDelay = 10 * time.Second

// batchProcessor is what the loop needs from orders.Store; tests fake it.
type batchProcessor interface {
	ProcessBatch(ctx context.Context, worker string, limit int) ([]int64, error)
}

type worker struct {
	store    batchProcessor
	name     string        // recorded as processed_by
	interval time.Duration // wait between polls that found less than a full batch
	timeout  time.Duration // bound on one batch
	log      *slog.Logger

	processed  prometheus.Counter
	pollErrors prometheus.Counter
}

func newWorker(store batchProcessor, name string, interval time.Duration, log *slog.Logger, reg prometheus.Registerer) *worker {
	w := &worker{
		store: store, name: name, interval: interval, timeout: 10 * time.Second, log: log,
		processed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "worker_orders_processed_total",
			Help: "Orders this worker marked processed.",
		}),
		pollErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "worker_poll_errors_total",
			Help: "Polls that failed, typically because the database was unreachable.",
		}),
	}
	reg.MustRegister(w.processed, w.pollErrors)
	return w
}

// run polls until ctx is done. Cancelling ctx stops it from starting a new
// batch; a batch already running finishes, because it runs on a context
// detached from ctx. Orders would be safe either way (an aborted
// transaction rolls back), but finishing avoids redoing the work.
func (w *worker) run(ctx context.Context) {
	failures := 0
	for ctx.Err() == nil {
		n, err := w.poll(ctx)
		wait := w.interval
		switch {
		case err != nil:
			failures++
			wait = min(w.interval<<min(failures, 10), maxErrorDelay)
		case n == batchSize:
			failures = 0
			continue // a full batch means a backlog: poll again at once
		default:
			failures = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
	w.log.Info("worker loop stopped")
}

func (w *worker) poll(ctx context.Context) (int, error) {
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.timeout)
	defer cancel()
	ids, err := w.store.ProcessBatch(bctx, w.name, batchSize)
	if err != nil {
		w.pollErrors.Inc()
		w.log.Warn("poll failed", "err", err)
		return 0, err
	}
	if len(ids) > 0 {
		w.processed.Add(float64(len(ids)))
		w.log.Info("processed batch", "count", len(ids), "first_id", ids[0], "last_id", ids[len(ids)-1])
	}
	return len(ids), nil
}
