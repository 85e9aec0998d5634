package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/docker/docker/client"
	"golang.org/x/term"

	"github.com/berth-platform/berth/internal/swarm"
)

// newEngine connects to the engine DOCKER_HOST (or the default socket)
// points at, negotiating the API version down to what the engine speaks.
func newEngine(ctx context.Context) (*client.Client, error) {
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", swarm.ErrNoEngine, err)
	}
	if _, err := c.Ping(ctx); err != nil {
		_ = c.Close()
		return nil, &ExitError{Code: 1, Err: fmt.Errorf("%w at %s: %v\n  start it (e.g. `sudo service docker start`) or point DOCKER_HOST at one", swarm.ErrNoEngine, c.DaemonHost(), err)}
	}
	return c, nil
}

// isTerminal reports whether w is a terminal (live redraws and colour are
// only used there).
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// defaultDir returns $XDG_<kind>_HOME/berth or ~/.local/<fallback>/berth.
func defaultDir(env, fallback string) string {
	if d := os.Getenv(env); d != "" {
		return filepath.Join(d, "berth")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "berth")
	}
	return filepath.Join(home, fallback, "berth")
}

// defaultStateDir is BERTH_STATE_DIR when set, else the XDG state dir.
func defaultStateDir() string {
	if d := os.Getenv("BERTH_STATE_DIR"); d != "" {
		return d
	}
	return defaultDir("XDG_STATE_HOME", ".local/state")
}
func defaultCacheDir() string { return defaultDir("XDG_CACHE_HOME", ".cache") }
