package svc

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

func TestRetry(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	fast := Backoff{Initial: time.Millisecond, Max: 4 * time.Millisecond}

	calls := 0
	err := Retry(context.Background(), log, "db", fast, func(context.Context) error {
		calls++
		if calls < 4 {
			return errors.New("refused")
		}
		return nil
	})
	if err != nil || calls != 4 {
		t.Fatalf("Retry = %v after %d calls, want nil after 4", err, calls)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = Retry(ctx, log, "db", fast, func(context.Context) error { return errors.New("refused") })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Retry = %v, want the context's error once it is done", err)
	}
}

func TestBackoffDelayIsCapped(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second}
	for attempt, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 60: time.Second} {
		got := b.delay(attempt)
		if got < want*8/10 || got > want*12/10 {
			t.Errorf("delay(%d) = %v, want %v ±20%%", attempt, got, want)
		}
	}
}
