// Command worker processes queued orders: it polls Postgres for them and
// marks them processed, any number of replicas side by side. It serves
// only /healthz, /readyz, /metrics and /version.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/berth-platform/berth/services/internal/orders"
	"github.com/berth-platform/berth/services/internal/svc"
)

// Version is set at build time: go build -ldflags "-X main.Version=1.2.3".
var Version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	env := svc.Env(getenv)
	if len(args) > 0 {
		if args[0] == "healthcheck" {
			return svc.Healthcheck(args[1:], env, stderr)
		}
		fmt.Fprintf(stderr, "usage: worker [healthcheck [--url URL]]\n")
		return 2
	}

	info := svc.Info{Service: "worker", Version: Version}
	cfg, cfgErr := svc.LoadConfig(env)
	log := svc.NewLogger(stdout, info, cfg.LogLevel)
	if cfgErr != nil {
		log.Error("invalid configuration", "err", cfgErr)
		return 1
	}
	interval, err := env.Duration("POLL_INTERVAL", 500*time.Millisecond)
	if err == nil && interval == 0 {
		err = fmt.Errorf("POLL_INTERVAL must be greater than 0")
	}
	if err != nil {
		log.Error("invalid configuration", "err", err)
		return 1
	}
	dbcfg, err := orders.LoadDBConfig(env, "berth-demo-worker")
	if err != nil {
		log.Error("invalid configuration", "err", err)
		return 1
	}
	// In Swarm the hostname is the task's container ID unless the stack
	// sets one, which is what processed_by should point at.
	name, err := os.Hostname()
	if err != nil {
		name = "worker"
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	pool, err := orders.NewPool(ctx, dbcfg)
	if err != nil {
		log.Error("invalid configuration", "err", err)
		return 1
	}
	defer pool.Close()
	store := orders.NewStore(pool)

	srv := svc.NewServer(cfg, info, log, store.Ping)
	w := newWorker(store, name, interval, log, srv.Metrics.Registry)
	log.Info("starting", "listen_addr", cfg.ListenAddr, "db", dbcfg, "worker", name, "poll_interval", interval.String())

	// The api owns the schema; the worker waits for it rather than racing
	// to create it, and only then counts as started.
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		err := svc.Retry(ctx, log, "orders table", svc.DefaultBackoff, func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := store.Ping(ctx); err != nil {
				return err
			}
			return store.SchemaReady(ctx)
		})
		if err != nil {
			return // stopped before startup completed
		}
		srv.Health.MarkStarted()
		w.run(ctx)
	}()

	err = srv.Run(ctx)
	stop()
	<-loopDone
	pool.Close()
	if err != nil {
		log.Error("stopped with error", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}
