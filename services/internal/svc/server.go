package svc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Info identifies a running build.
type Info struct {
	Service string `json:"service"`
	Version string `json:"version"`
}

// Config is the HTTP server's part of the environment.
//
// DrainDelay plus ShutdownTimeout must stay well below the service's
// stop_grace_period (30s in berth's stacks), or Swarm kills the task with
// SIGKILL mid-drain.
type Config struct {
	ListenAddr      string        // LISTEN_ADDR, default :8080
	DrainDelay      time.Duration // DRAIN_DELAY, default 5s
	ShutdownTimeout time.Duration // SHUTDOWN_TIMEOUT, default 10s
	LogLevel        string        // LOG_LEVEL, default info
}

// DefaultListenAddr is where every service listens unless LISTEN_ADDR says
// otherwise; the healthcheck subcommand derives its URL from the same rule.
const DefaultListenAddr = ":8080"

// LoadConfig reads the server settings from env.
func LoadConfig(env Env) (Config, error) {
	c := Config{
		ListenAddr: env.String("LISTEN_ADDR", DefaultListenAddr),
		LogLevel:   env.String("LOG_LEVEL", "info"),
	}
	var err, errs error
	c.DrainDelay, err = env.Duration("DRAIN_DELAY", 5*time.Second)
	errs = errors.Join(errs, err)
	c.ShutdownTimeout, err = env.Duration("SHUTDOWN_TIMEOUT", 10*time.Second)
	errs = errors.Join(errs, err)
	if _, _, err := net.SplitHostPort(c.ListenAddr); err != nil {
		errs = errors.Join(errs, fmt.Errorf("LISTEN_ADDR=%q is not host:port (example: :8080)", c.ListenAddr))
	}
	return c, errs
}

// Server is a service's HTTP server: the application's routes on Mux plus
// /healthz, /readyz, /metrics and /version, all instrumented, with a drain
// sequence on shutdown.
type Server struct {
	Mux     *http.ServeMux
	Health  *Health
	Metrics *Metrics

	cfg  Config
	info Info
	log  *slog.Logger
}

// NewServer builds a server whose readiness also requires ready (nil for
// none). Register application routes on Mux with Go 1.22 method and path
// patterns; the pattern becomes the route label of the metrics.
func NewServer(cfg Config, info Info, log *slog.Logger, ready Check) *Server {
	s := &Server{
		Mux:     http.NewServeMux(),
		Health:  NewHealth(ready, log),
		Metrics: NewMetrics(info),
		cfg:     cfg,
		info:    info,
		log:     log,
	}
	s.Mux.HandleFunc("GET /healthz", s.Health.ServeLiveness)
	s.Mux.HandleFunc("GET /readyz", s.Health.ServeReadiness)
	s.Mux.Handle("GET /metrics", s.Metrics.Handler())
	s.Mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, s.info)
	})
	return s
}

// Handler is the instrumented mux, as served. Tests call it directly.
func (s *Server) Handler() http.Handler {
	return instrument(s.Mux, s.Metrics, s.info.Version, s.log)
}

// Run listens on the configured address and serves until ctx is cancelled,
// then drains; see Serve.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.ListenAddr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx is cancelled (SIGTERM), then drains:
//
//  1. readiness fails at once and keep-alives stop, so the proxy's next
//     health check and Swarm's next poll take this task out of rotation and
//     clients open new connections elsewhere;
//  2. requests are still served normally for DrainDelay, because the proxy
//     learns about the change only on its next poll;
//  3. Shutdown stops accepting and waits up to ShutdownTimeout for
//     in-flight requests.
//
// It returns nil after a clean drain.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		// Longer than the proxy's idle timeout for backend connections
		// (Traefik: 90s), so the proxy closes idle connections first and
		// never sends a request on one the server is closing.
		IdleTimeout:    120 * time.Second,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	s.log.Info("listening", "addr", ln.Addr().String())

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	s.Health.StartDraining()
	srv.SetKeepAlivesEnabled(false)
	s.log.Info("drain started", "drain_delay", s.cfg.DrainDelay.String(), "shutdown_timeout", s.cfg.ShutdownTimeout.String())
	select {
	case <-time.After(s.cfg.DrainDelay):
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	}

	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		// Requests still running after the timeout are cut off; say so,
		// since their clients will see errors.
		_ = srv.Close()
		return fmt.Errorf("shutdown: in-flight requests did not finish within %s: %w", s.cfg.ShutdownTimeout, err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	s.log.Info("http server stopped")
	return nil
}
