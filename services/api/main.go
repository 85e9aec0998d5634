// Command api is the demo shop's JSON API: it stores orders in Postgres
// and creates the schema on start. See internal/svc for the behaviour it
// shares with web and worker (health, drain, metrics, logs).
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
		fmt.Fprintf(stderr, "usage: api [healthcheck [--url URL]]\n")
		return 2
	}

	info := svc.Info{Service: "api", Version: Version}
	cfg, cfgErr := svc.LoadConfig(env)
	log := svc.NewLogger(stdout, info, cfg.LogLevel)
	if cfgErr != nil {
		log.Error("invalid configuration", "err", cfgErr)
		return 1
	}
	dbcfg, err := orders.LoadDBConfig(env, "berth-demo-api")
	if err != nil {
		log.Error("invalid configuration", "err", err)
		return 1
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
	newOrderAPI(store, log).register(srv.Mux)
	log.Info("starting", "listen_addr", cfg.ListenAddr, "db", dbcfg)

	// Listen at once so /healthz can say "starting" while the database is
	// still coming up; startup completes once the schema is in place.
	started := make(chan struct{})
	go func() {
		defer close(started)
		err := svc.Retry(ctx, log, "database", svc.DefaultBackoff, func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			defer cancel()
			if err := store.Ping(ctx); err != nil {
				return err
			}
			return store.EnsureSchema(ctx)
		})
		if err == nil {
			log.Info("schema ready")
			srv.Health.MarkStarted()
		}
	}()

	err = srv.Run(ctx)
	stop()
	<-started
	pool.Close()
	if err != nil {
		log.Error("stopped with error", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}
