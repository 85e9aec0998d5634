package svc

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Backoff is a capped exponential backoff between retries.
type Backoff struct {
	Initial time.Duration // first delay
	Max     time.Duration // delays never exceed this
}

// DefaultBackoff suits waiting for a dependency at startup: fast at first
// (the usual case is a database that is seconds away from accepting), then
// once every few seconds so that a long outage does not flood the logs.
var DefaultBackoff = Backoff{Initial: 250 * time.Millisecond, Max: 5 * time.Second}

// delay returns the wait after the given failed attempt (1-based), with
// ±20% jitter so that replicas restarted together do not retry in lockstep.
func (b Backoff) delay(attempt int) time.Duration {
	d := b.Initial
	for i := 1; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	jitter := time.Duration(float64(d) * (rand.Float64()*0.4 - 0.2))
	return d + jitter
}

// Retry calls fn until it succeeds or ctx is done, waiting according to b
// between attempts and logging each failure with what is being waited for.
// It returns nil on success and ctx's error otherwise.
func Retry(ctx context.Context, log *slog.Logger, what string, b Backoff, fn func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			if attempt > 1 {
				log.Info("dependency ready", "what", what, "attempts", attempt)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d := b.delay(attempt)
		log.Warn("waiting for dependency", "what", what, "attempt", attempt, "retry_in", d.Round(time.Millisecond).String(), "err", err)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
