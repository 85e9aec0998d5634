package orders

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/services/internal/orders/orderstest"
	"github.com/jackc/pgx/v5/pgxpool"
)

// testPool returns a pool on a schema of the test's own, and a function
// that opens more pools on it.
func testPool(t *testing.T) (*pgxpool.Pool, func() *pgxpool.Pool) {
	t.Helper()
	db := orderstest.New(t)
	return db.Pool(), db.Pool
}

func testStore(t *testing.T) *Store {
	t.Helper()
	pool, _ := testPool(t)
	s := NewStore(pool)
	if err := s.EnsureSchema(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStoreSchema(t *testing.T) {
	pool, open := testPool(t)
	ctx := context.Background()
	s := NewStore(pool)
	if err := s.SchemaReady(ctx); !errors.Is(err, ErrNoSchema) {
		t.Fatalf("SchemaReady before creation = %v, want ErrNoSchema", err)
	}
	// Replicas starting together: every EnsureSchema must succeed.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		replica := NewStore(open())
		wg.Go(func() { errs <- replica.EnsureSchema(ctx) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent EnsureSchema: %v", err)
		}
	}
	if err := s.EnsureSchema(ctx); err != nil {
		t.Fatalf("EnsureSchema again: %v", err)
	}
	if err := s.SchemaReady(ctx); err != nil {
		t.Fatalf("SchemaReady after creation = %v", err)
	}
	// The table's own constraint backs up the api's validation.
	if _, err := s.Create(ctx, "tea", 0); err == nil {
		t.Fatal("database accepted quantity 0")
	}
}

func TestStoreCreateListGet(t *testing.T) {
	s := testStore(t)
	ctx := context.Background()
	if list, err := s.List(ctx, 20); err != nil || len(list) != 0 {
		t.Fatalf("List on empty table = %v, %v", list, err)
	}
	var created []Order
	for i, item := range []string{"coffee", "tea", "cake"} {
		o, err := s.Create(ctx, item, i+1)
		if err != nil {
			t.Fatal(err)
		}
		if o.ID == 0 || o.Item != item || o.Quantity != i+1 || o.Status != StatusQueued || o.CreatedAt.IsZero() || o.ProcessedAt != nil {
			t.Fatalf("Create returned %+v", o)
		}
		created = append(created, o)
	}

	list, err := s.List(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != created[2].ID || list[1].ID != created[1].ID {
		t.Fatalf("List(2) = %+v, want the two newest, newest first", list)
	}

	got, err := s.Get(ctx, created[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != created[0].ID || got.Item != "coffee" || !got.CreatedAt.Equal(created[0].CreatedAt) {
		t.Fatalf("Get = %+v, want %+v", got, created[0])
	}
	if _, err := s.Get(ctx, created[2].ID+1000); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(missing) = %v, want ErrNotFound", err)
	}

	ids, err := s.ProcessBatch(ctx, "worker-a", 10)
	if err != nil || len(ids) != 3 {
		t.Fatalf("ProcessBatch = %v, %v; want all 3", ids, err)
	}
	got, err = s.Get(ctx, created[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusProcessed || got.ProcessedBy != "worker-a" || got.ProcessedAt == nil || got.ProcessedAt.Before(got.CreatedAt) {
		t.Fatalf("processed order = %+v", got)
	}
	if ids, err := s.ProcessBatch(ctx, "worker-a", 10); err != nil || len(ids) != 0 {
		t.Fatalf("ProcessBatch with nothing queued = %v, %v", ids, err)
	}
}

func createOrders(t *testing.T, s *Store, n int) []int64 {
	t.Helper()
	ids := make([]int64, 0, n)
	for i := range n {
		o, err := s.Create(context.Background(), fmt.Sprintf("item-%d", i), 1)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.ID)
	}
	return ids
}

// TestProcessBatchSkipsLockedRows holds one worker's batch open and checks
// that a second worker takes the next orders instead of waiting or taking
// the same ones.
func TestProcessBatchSkipsLockedRows(t *testing.T) {
	pool, open := testPool(t)
	s := NewStore(pool)
	ctx := context.Background()
	if err := s.EnsureSchema(ctx); err != nil {
		t.Fatal(err)
	}
	all := createOrders(t, s, 15)

	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	first, err := claimQueued(ctx, tx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(first, all[:10]) {
		t.Fatalf("first worker claimed %v, want the 10 oldest %v", first, all[:10])
	}

	other := NewStore(open())
	waitCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	second, err := other.ProcessBatch(waitCtx, "worker-b", 10)
	if err != nil {
		t.Fatalf("second worker: %v (blocked on the first worker's locks?)", err)
	}
	if !slices.Equal(second, all[10:]) {
		t.Fatalf("second worker processed %v, want the 5 unlocked %v", second, all[10:])
	}

	if err := markProcessed(ctx, tx, first, "worker-a"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	assertProcessedBy(t, pool, map[string]int{"worker-a": 10, "worker-b": 5})
}

// TestTwoWorkersNeverProcessSameOrder runs two workers, each with its own
// pool as separate processes would, until the queue is empty, and checks
// that every order was processed exactly once.
func TestTwoWorkersNeverProcessSameOrder(t *testing.T) {
	pool, open := testPool(t)
	s := NewStore(pool)
	ctx := context.Background()
	if err := s.EnsureSchema(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 500
	all := createOrders(t, s, n)

	workers := []string{"worker-a", "worker-b"}
	got := make([][]int64, len(workers))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, name := range workers {
		pool := open()
		// Connect before the start line, so that neither worker drains
		// the queue while the other is still dialling.
		if err := pool.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		w := NewStore(pool)
		wg.Go(func() {
			<-start
			for {
				ids, err := w.ProcessBatch(ctx, name, 10)
				if err != nil {
					t.Errorf("%s: %v", name, err)
					return
				}
				if len(ids) == 0 {
					return
				}
				got[i] = append(got[i], ids...)
			}
		})
	}
	close(start)
	wg.Wait()

	seen := map[int64]string{}
	for i, ids := range got {
		for _, id := range ids {
			if prev, dup := seen[id]; dup {
				t.Fatalf("order %d processed by both %s and %s", id, prev, workers[i])
			}
			seen[id] = workers[i]
		}
	}
	if len(seen) != n {
		t.Fatalf("%d orders processed, want %d", len(seen), n)
	}
	for _, id := range all {
		if _, ok := seen[id]; !ok {
			t.Fatalf("order %d never processed", id)
		}
	}
	assertProcessedBy(t, pool, map[string]int{"worker-a": len(got[0]), "worker-b": len(got[1])})
	t.Logf("worker-a processed %d, worker-b %d", len(got[0]), len(got[1]))
	if len(got[0]) == 0 || len(got[1]) == 0 {
		t.Fatal("one worker processed everything: the workers never ran concurrently, so this run proved nothing")
	}
}

// assertProcessedBy checks the table agrees with what the workers reported
// and that nothing is left queued.
func assertProcessedBy(t *testing.T, pool *pgxpool.Pool, want map[string]int) {
	t.Helper()
	rows, err := pool.Query(context.Background(),
		`SELECT coalesce(processed_by, status), count(*) FROM orders GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for rows.Next() {
		var by string
		var n int
		if err := rows.Scan(&by, &n); err != nil {
			t.Fatal(err)
		}
		got[by] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for k, v := range want {
		if v == 0 {
			delete(want, k)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("orders by processed_by = %v, want %v", got, want)
	}
}
