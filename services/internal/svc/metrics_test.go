package svc

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func newTestServer(t *testing.T, logs io.Writer) *Server {
	t.Helper()
	if logs == nil {
		logs = io.Discard
	}
	log := NewLogger(logs, Info{Service: "api", Version: "1.2.3"}, "debug")
	s := NewServer(Config{}, Info{Service: "api", Version: "1.2.3"}, log, nil)
	s.Mux.HandleFunc("GET /api/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "404" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, "order")
	})
	return s
}

func do(h http.Handler, method, target string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestRouteLabelsArePatterns checks that the route label is the ServeMux
// pattern, not the path: one series per route however many IDs are
// requested.
func TestRouteLabelsArePatterns(t *testing.T) {
	s := newTestServer(t, nil)
	h := s.Handler()
	for _, id := range []string{"1", "2", "3", "404"} {
		do(h, http.MethodGet, "/api/orders/"+id, nil)
	}
	do(h, http.MethodGet, "/no/such/path", nil)
	do(h, http.MethodDelete, "/api/orders/1", nil) // 405: matched no pattern for DELETE
	do(h, "BREW", "/api/orders/1", nil)

	tests := []struct {
		method, route, code string
		want                float64
	}{
		{"GET", "GET /api/orders/{id}", "200", 3},
		{"GET", "GET /api/orders/{id}", "404", 1},
		{"GET", unmatchedRoute, "404", 1},
		{"DELETE", unmatchedRoute, "405", 1},
		{"OTHER", unmatchedRoute, "405", 1},
	}
	for _, tt := range tests {
		got := testutil.ToFloat64(s.Metrics.requests.WithLabelValues(tt.method, tt.route, tt.code))
		if got != tt.want {
			t.Errorf("http_requests_total{method=%q,route=%q,code=%q} = %v, want %v", tt.method, tt.route, tt.code, got, tt.want)
		}
	}
	if n := testutil.CollectAndCount(s.Metrics.requests); n != len(tests) {
		t.Errorf("http_requests_total has %d series, want %d (raw paths leaking into labels?)", n, len(tests))
	}
	if n := testutil.CollectAndCount(s.Metrics.duration); n != len(tests) {
		t.Errorf("http_request_duration_seconds has %d series, want %d", n, len(tests))
	}
	if got := testutil.ToFloat64(s.Metrics.inFlight); got != 0 {
		t.Errorf("http_requests_in_flight = %v after all requests ended, want 0", got)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	s := newTestServer(t, nil)
	h := s.Handler()
	do(h, http.MethodGet, "/api/orders/7", nil)
	rec := do(h, http.MethodGet, "/metrics", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics = %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`http_requests_total{code="200",method="GET",route="GET /api/orders/{id}"} 1`,
		`http_request_duration_seconds_bucket{code="200",method="GET",route="GET /api/orders/{id}",le="+Inf"} 1`,
		`http_requests_in_flight 1`, // the /metrics request itself
		`berth_demo_build_info{goversion="go`,
		`service="api",version="1.2.3"} 1`,
		`go_goroutines `,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestVersionHeaderAndEndpoint(t *testing.T) {
	h := newTestServer(t, nil).Handler()
	for _, target := range []string{"/version", "/healthz", "/api/orders/1", "/nowhere"} {
		rec := do(h, http.MethodGet, target, nil)
		if got := rec.Header().Get(VersionHeader); got != "1.2.3" {
			t.Errorf("GET %s: %s = %q, want 1.2.3", target, VersionHeader, got)
		}
	}
	rec := do(h, http.MethodGet, "/version", nil)
	var got Info
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got != (Info{Service: "api", Version: "1.2.3"}) {
		t.Fatalf("/version = %+v", got)
	}
}

func TestAccessLog(t *testing.T) {
	var logs bytes.Buffer
	h := newTestServer(t, &logs).Handler()
	do(h, http.MethodGet, "/api/orders/42?secret=x", http.Header{
		"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
	})
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(logs.Bytes()), &line); err != nil {
		t.Fatalf("want exactly one JSON line, got %q: %v", logs.String(), err)
	}
	want := map[string]any{
		"msg": "request", "service": "api", "version": "1.2.3", "method": "GET",
		"route": "GET /api/orders/{id}", "status": float64(200), "remote": "192.0.2.1:1234",
		"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("log %s = %v, want %v", k, line[k], v)
		}
	}
	if _, ok := line["duration_ms"].(float64); !ok {
		t.Errorf("log lacks a numeric duration_ms: %v", line)
	}
	if strings.Contains(logs.String(), "secret=x") {
		t.Errorf("access log contains the query string: %s", logs.String())
	}
}

func TestProbesLogAtDebug(t *testing.T) {
	var logs bytes.Buffer
	s := NewServer(Config{}, Info{Service: "api"}, slog.New(slog.NewJSONHandler(&logs, nil)), nil)
	do(s.Handler(), http.MethodGet, "/healthz", nil)
	if logs.Len() != 0 {
		t.Fatalf("probe logged at info level: %s", logs.String())
	}
}

func TestTraceID(t *testing.T) {
	tests := map[string]string{
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01": "4bf92f3577b34da6a3ce929d0e0e4736",
		"":        "",
		"garbage": "",
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01":                 "",
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01":                 "",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\n{\"forged\":1}": "",
	}
	for in, want := range tests {
		if got := TraceID(in); got != want {
			t.Errorf("TraceID(%q) = %q, want %q", in, got, want)
		}
	}
}
