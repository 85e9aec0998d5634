// Command web is the demo shop's HTML front end: it lists the latest
// orders and takes new ones, reading and writing everything through the
// api. It has no database and no state of its own.
package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

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
		fmt.Fprintf(stderr, "usage: web [healthcheck [--url URL]]\n")
		return 2
	}

	info := svc.Info{Service: "web", Version: Version}
	cfg, cfgErr := svc.LoadConfig(env)
	log := svc.NewLogger(stdout, info, cfg.LogLevel)
	if cfgErr != nil {
		log.Error("invalid configuration", "err", cfgErr)
		return 1
	}
	apiURL, err := parseAPIURL(env.String("API_URL", "http://api:8080"))
	if err != nil {
		log.Error("invalid configuration", "err", err)
		return 1
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	api := newAPIClient(apiURL)
	// Probes come every few seconds from Docker, the proxy and maybe
	// Prometheus; one call to the api per second is enough for all.
	srv := svc.NewServer(cfg, info, log, svc.CachedCheck(api.Ready, time.Second))
	(&shop{api: api, version: Version, log: log}).register(srv.Mux)
	log.Info("starting", "listen_addr", cfg.ListenAddr, "api_url", apiURL)

	started := make(chan struct{})
	go func() {
		defer close(started)
		if err := svc.Retry(ctx, log, "api", svc.DefaultBackoff, api.Ready); err == nil {
			srv.Health.MarkStarted()
		}
	}()

	err = srv.Run(ctx)
	stop()
	<-started
	if err != nil {
		log.Error("stopped with error", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

// parseAPIURL accepts an http(s) base URL without credentials, query or
// fragment: it is logged, and paths are appended to it.
func parseAPIURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("API_URL=%q must be a base URL like http://api:8080", raw)
	}
	return u.String(), nil
}
