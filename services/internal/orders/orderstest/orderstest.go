// Package orderstest gives tests a Postgres database of their own: a fresh
// schema on the server named by PG_TEST_DSN, dropped when the test ends.
// Tests that use it are skipped when PG_TEST_DSN is unset, so `go test
// ./...` passes on a machine without Postgres.
package orderstest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DSNVar names the environment variable with the test server's DSN.
const DSNVar = "PG_TEST_DSN"

// DB is a schema reserved for one test.
type DB struct {
	t      testing.TB
	dsn    string
	Schema string

	mu    sync.Mutex
	pools []*pgxpool.Pool
}

// New creates the schema, or skips the test without PG_TEST_DSN.
func New(t testing.TB) *DB {
	t.Helper()
	dsn := os.Getenv(DSNVar)
	if dsn == "" {
		t.Skip(DSNVar + " not set; e.g. postgres://shop:pw@127.0.0.1:55432/shop?sslmode=disable")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to %s: %v", DSNVar, err)
	}
	db := &DB{t: t, dsn: dsn, Schema: fmt.Sprintf("test_%d_%d", time.Now().UnixNano(), rand.IntN(1e6))}
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+db.Schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.mu.Lock()
		for _, p := range db.pools {
			p.Close()
		}
		db.mu.Unlock()
		if _, err := admin.Exec(ctx, "DROP SCHEMA "+db.Schema+" CASCADE"); err != nil {
			t.Errorf("drop test schema: %v", err)
		}
		admin.Close(ctx)
	})
	return db
}

// Pool opens a new pool whose search_path is the test's schema. Each call
// gives a separate pool, as separate processes would have; all are closed
// when the test ends.
func (db *DB) Pool() *pgxpool.Pool {
	db.t.Helper()
	cfg, err := pgxpool.ParseConfig(db.dsn)
	if err != nil {
		db.t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = db.Schema
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		db.t.Fatal(err)
	}
	db.mu.Lock()
	db.pools = append(db.pools, p)
	db.mu.Unlock()
	return p
}
