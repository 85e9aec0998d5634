package svc

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestFault(t *testing.T) {
	defer func(f string, d time.Duration, e func(int)) { Fault, crashAfter, exit = f, d, e }(Fault, crashAfter, exit)
	var code atomic.Int32
	exit = func(c int) { code.Store(int32(c)) }
	crashAfter = 10 * time.Millisecond

	Fault = ""
	h := NewHealth(nil, nil)
	h.MarkStarted()
	if h.State() != Started {
		t.Fatalf("normal build: state %v", h.State())
	}

	Fault = "unhealthy"
	h = NewHealth(nil, nil)
	h.MarkStarted()
	if h.State() != Starting {
		t.Fatalf("unhealthy build: state %v, want Starting forever", h.State())
	}

	Fault = "crash"
	h = NewHealth(nil, nil)
	h.MarkStarted()
	if h.State() != Started {
		t.Fatalf("crash build: state %v, want Started first", h.State())
	}
	deadline := time.Now().Add(2 * time.Second)
	for code.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if code.Load() != 3 {
		t.Fatalf("crash build exited with %d, want 3", code.Load())
	}
}
