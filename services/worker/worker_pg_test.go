package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/berth-platform/berth/services/internal/orders"
	"github.com/berth-platform/berth/services/internal/orders/orderstest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestTwoWorkerLoopsOnPostgres runs two worker loops, each with its own
// pool as two replicas would, against a real queue, and checks that every
// order is processed exactly once and that the metrics agree with the
// table.
func TestTwoWorkerLoopsOnPostgres(t *testing.T) {
	db := orderstest.New(t)
	ctx := context.Background()
	api := orders.NewStore(db.Pool())
	if err := api.EnsureSchema(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := range n {
		if _, err := api.Create(ctx, "item", i%5+1); err != nil {
			t.Fatal(err)
		}
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	log := slog.New(slog.DiscardHandler)
	var workers []*worker
	done := make(chan struct{}, 2)
	for _, name := range []string{"replica-1", "replica-2"} {
		w := newWorker(orders.NewStore(db.Pool()), name, 10*time.Millisecond, log, prometheus.NewRegistry())
		workers = append(workers, w)
		go func() { w.run(runCtx); done <- struct{}{} }()
	}

	total := func() float64 {
		return testutil.ToFloat64(workers[0].processed) + testutil.ToFloat64(workers[1].processed)
	}
	deadline := time.Now().Add(20 * time.Second)
	for total() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %v of %d orders processed", total(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	<-done
	<-done

	if got := total(); got != n {
		t.Fatalf("workers counted %v processed orders, want exactly %d (an order processed twice?)", got, n)
	}
	rows, err := db.Pool().Query(ctx, `SELECT processed_by, count(*) FROM orders WHERE status = 'processed' GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	byWorker := map[string]float64{}
	for rows.Next() {
		var name string
		var c float64
		if err := rows.Scan(&name, &c); err != nil {
			t.Fatal(err)
		}
		byWorker[name] = c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, w := range workers {
		if got, want := byWorker[w.name], testutil.ToFloat64(w.processed); got != want {
			t.Errorf("%s: table says %v processed, metric says %v", w.name, got, want)
		}
		if testutil.ToFloat64(w.pollErrors) != 0 {
			t.Errorf("%s: poll errors", w.name)
		}
	}
	t.Logf("processed per worker: %v", byWorker)
}
