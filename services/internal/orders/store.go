package orders

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// schemaLockKey is the advisory lock that serialises schema creation. Two
// api replicas starting together would otherwise both run CREATE TABLE IF
// NOT EXISTS and one could fail on the catalog's unique index.
const schemaLockKey int64 = 0x62657274680001 // "berth" + 1

// schema is idempotent: it runs on every api start.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS orders (
		id           bigserial PRIMARY KEY,
		item         text        NOT NULL,
		quantity     integer     NOT NULL CHECK (quantity > 0),
		status       text        NOT NULL DEFAULT 'queued',
		created_at   timestamptz NOT NULL DEFAULT now(),
		processed_at timestamptz,
		processed_by text
	)`,
	// The worker looks for queued orders in id order: (status, id) serves
	// both the filter and the ORDER BY.
	`CREATE INDEX IF NOT EXISTS orders_status_id_idx ON orders (status, id)`,
}

// ErrNoSchema means the orders table does not exist yet: the api has not
// created it.
var ErrNoSchema = errors.New("orders table does not exist yet (the api creates it on start)")

// Store runs the order queries on a pool.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Ping checks that the database answers now.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	return nil
}

// EnsureSchema creates the table and index if they are missing, holding a
// transaction-scoped advisory lock so that concurrent starters take turns.
// DDL is transactional in Postgres, so a failure leaves nothing half made.
func (s *Store) EnsureSchema(ctx context.Context) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, schemaLockKey); err != nil {
			return fmt.Errorf("lock schema: %w", err)
		}
		for _, stmt := range schema {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("create schema: %w", err)
			}
		}
		return nil
	})
}

// SchemaReady returns ErrNoSchema until the orders table exists. It follows
// the connection's search_path, as the queries do.
func (s *Store) SchemaReady(ctx context.Context) error {
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass('orders') IS NOT NULL`).Scan(&exists); err != nil {
		return fmt.Errorf("look for orders table: %w", err)
	}
	if !exists {
		return ErrNoSchema
	}
	return nil
}

const orderColumns = `id, item, quantity, status, created_at, processed_at, processed_by`

func scanOrder(row pgx.Row) (Order, error) {
	var (
		o  Order
		at *time.Time
		by *string
	)
	if err := row.Scan(&o.ID, &o.Item, &o.Quantity, &o.Status, &o.CreatedAt, &at, &by); err != nil {
		return Order{}, err
	}
	o.ProcessedAt = at
	if by != nil {
		o.ProcessedBy = *by
	}
	return o, nil
}

// Create stores a new queued order. Callers validate first; the table's
// constraints are a second line of defence.
func (s *Store) Create(ctx context.Context, item string, quantity int) (Order, error) {
	o, err := scanOrder(s.pool.QueryRow(ctx,
		`INSERT INTO orders (item, quantity) VALUES ($1, $2) RETURNING `+orderColumns, item, quantity))
	if err != nil {
		return Order{}, fmt.Errorf("create order: %w", err)
	}
	return o, nil
}

// List returns up to limit orders, newest first.
func (s *Store) List(ctx context.Context, limit int) ([]Order, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+orderColumns+` FROM orders ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list orders: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Order, error) { return scanOrder(r) })
	if err != nil {
		return nil, fmt.Errorf("list orders: %w", err)
	}
	return list, nil
}

// Get returns one order, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id int64) (Order, error) {
	o, err := scanOrder(s.pool.QueryRow(ctx, `SELECT `+orderColumns+` FROM orders WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Order{}, ErrNotFound
	}
	if err != nil {
		return Order{}, fmt.Errorf("get order %d: %w", id, err)
	}
	return o, nil
}

// ProcessBatch claims up to limit queued orders and marks them processed by
// worker, in one transaction, and returns their IDs. FOR UPDATE SKIP LOCKED
// lets any number of workers poll at once: each skips the rows another has
// claimed instead of waiting for them or processing them twice.
func (s *Store) ProcessBatch(ctx context.Context, worker string, limit int) ([]int64, error) {
	var ids []int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if ids, err = claimQueued(ctx, tx, limit); err != nil || len(ids) == 0 {
			return err
		}
		return markProcessed(ctx, tx, ids, worker)
	})
	if err != nil {
		return nil, fmt.Errorf("process batch: %w", err)
	}
	return ids, nil
}

func claimQueued(ctx context.Context, tx pgx.Tx, limit int) ([]int64, error) {
	rows, err := tx.Query(ctx,
		`SELECT id FROM orders WHERE status = 'queued' ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

func markProcessed(ctx context.Context, tx pgx.Tx, ids []int64, worker string) error {
	_, err := tx.Exec(ctx,
		`UPDATE orders SET status = 'processed', processed_at = now(), processed_by = $2 WHERE id = ANY($1)`,
		ids, worker)
	return err
}
