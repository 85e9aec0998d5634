package svc

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

type runningServer struct {
	s    *Server
	base string
	done chan struct{} // closed when Serve returned
	err  error         // Serve's result, valid after done
	stop context.CancelFunc
}

func startServer(t *testing.T, cfg Config, routes func(*http.ServeMux)) *runningServer {
	t.Helper()
	s := NewServer(cfg, Info{Service: "api", Version: "9"}, slog.New(slog.DiscardHandler), nil)
	routes(s.Mux)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rs := &runningServer{s: s, base: "http://" + ln.Addr().String(), done: make(chan struct{}), stop: cancel}
	go func() { rs.err = s.Serve(ctx, ln); close(rs.done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-rs.done:
		case <-time.After(10 * time.Second):
			t.Error("server did not stop")
		}
	})
	return rs
}

// get makes a request on a fresh connection and reports whether the
// server asked to close it afterwards.
func get(t *testing.T, url string) (code int, closing bool) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Close
}

// TestDrainSequence follows a SIGTERM: readiness fails at once, requests
// are still served for the drain delay, then in-flight requests finish and
// the server stops accepting.
func TestDrainSequence(t *testing.T) {
	const drain = 400 * time.Millisecond
	release := make(chan struct{})
	rs := startServer(t, Config{DrainDelay: drain, ShutdownTimeout: 5 * time.Second}, func(m *http.ServeMux) {
		m.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
			<-release
			_, _ = io.WriteString(w, "done")
		})
	})

	if code, _ := get(t, rs.base+"/healthz"); code != 503 {
		t.Fatalf("/healthz before startup = %d, want 503", code)
	}
	rs.s.Health.MarkStarted()
	if code, closing := get(t, rs.base+"/readyz"); code != 200 || closing {
		t.Fatalf("/readyz after startup = %d (closing %v), want 200 with keep-alive", code, closing)
	}

	slow := make(chan int, 1)
	go func() {
		resp, err := http.Get(rs.base + "/slow")
		if err != nil {
			t.Errorf("in-flight request failed during shutdown: %v", err)
			slow <- 0
			return
		}
		resp.Body.Close()
		slow <- resp.StatusCode
	}()
	// Wait until the slow request is in flight before stopping.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(metricsText(t, rs.base), "http_requests_in_flight 2") {
		if time.Now().After(deadline) {
			t.Fatal("slow request never arrived")
		}
		time.Sleep(10 * time.Millisecond)
	}

	stopped := time.Now()
	rs.stop() // SIGTERM

	// During the drain delay: not ready, alive, and still serving, with
	// keep-alives off so clients reconnect elsewhere.
	if code, _ := get(t, rs.base+"/readyz"); code != 503 {
		t.Errorf("/readyz while draining = %d, want 503", code)
	}
	if code, _ := get(t, rs.base+"/healthz"); code != 200 {
		t.Errorf("/healthz while draining = %d, want 200", code)
	}
	code, closing := get(t, rs.base+"/version")
	if code != 200 {
		t.Errorf("/version while draining = %d, want 200", code)
	}
	if !closing {
		t.Error("response while draining keeps the connection alive, want Connection: close")
	}

	// After the drain delay the server waits for the in-flight request
	// rather than returning.
	select {
	case <-rs.done:
		t.Fatalf("Serve returned %v after %v with a request in flight", rs.err, time.Since(stopped))
	case <-time.After(drain + 200*time.Millisecond):
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(rs.base, "http://"), time.Second); err == nil {
		t.Error("server still accepts connections after the drain delay")
	}
	close(release)
	select {
	case <-rs.done:
		if rs.err != nil {
			t.Fatalf("Serve = %v, want nil after a clean drain", rs.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after the in-flight request finished")
	}
	if code := <-slow; code != 200 {
		t.Errorf("in-flight request = %d, want 200", code)
	}
	if d := time.Since(stopped); d < drain {
		t.Errorf("stopped after %v, before the drain delay %v", d, drain)
	}
}

func TestShutdownTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	rs := startServer(t, Config{DrainDelay: 0, ShutdownTimeout: 200 * time.Millisecond}, func(m *http.ServeMux) {
		m.HandleFunc("GET /stuck", func(w http.ResponseWriter, r *http.Request) { <-release })
	})
	go func() {
		if resp, err := http.Get(rs.base + "/stuck"); err == nil {
			resp.Body.Close()
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(metricsText(t, rs.base), "http_requests_in_flight 2") {
		if time.Now().After(deadline) {
			t.Fatal("stuck request never arrived")
		}
		time.Sleep(10 * time.Millisecond)
	}
	rs.stop()
	select {
	case <-rs.done:
		if rs.err == nil || !strings.Contains(rs.err.Error(), "did not finish within 200ms") {
			t.Fatalf("Serve = %v, want a shutdown timeout error", rs.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not give up after the shutdown timeout")
	}
}

func metricsText(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
