package svc

import (
	"log/slog"
	"net/http"
	"regexp"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// VersionHeader is set on every response so that a load test or a canary
// gate can attribute each request to the release that served it.
const VersionHeader = "X-Berth-Version"

// unmatchedRoute labels requests that matched no pattern (404s, 405s). The
// raw path is never used as a label: scanners would create a series each.
const unmatchedRoute = "unmatched"

// Metrics holds the service's Prometheus registry and the HTTP metrics every
// service exports. Each server has its own registry, not the global one, so
// tests can build many servers in one process.
type Metrics struct {
	Registry *prometheus.Registry

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

// NewMetrics registers the HTTP, build-info, Go runtime and process
// collectors in a new registry.
func NewMetrics(info Info) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests served, by method, route pattern and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time to serve HTTP requests, by method, route pattern and status code.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route", "code"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_requests_in_flight",
			Help: "HTTP requests being served now.",
		}),
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "berth_demo_build_info",
		Help: "Always 1; labels identify the running build.",
	}, []string{"service", "version", "goversion"})
	buildInfo.WithLabelValues(info.Service, info.Version, runtime.Version()).Set(1)
	reg.MustRegister(
		m.requests, m.duration, m.inFlight, buildInfo,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// knownMethods bounds the method label: anything else is "OTHER".
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// quietRoutes are polled every few seconds by health checks, the proxy and
// Prometheus; their access logs go to debug level so they do not bury real
// traffic. They are still counted in the metrics.
var quietRoutes = map[string]bool{
	"GET /healthz": true, "GET /readyz": true, "GET /metrics": true,
}

// instrument wraps the whole mux: it sets the version header, counts and
// times every request by the ServeMux pattern that matched, and writes one
// access log line per request. It wraps the mux rather than each handler so
// that 404s and 405s are counted too.
func instrument(next http.Handler, m *Metrics, version string, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		w.Header().Set(VersionHeader, version)
		m.inFlight.Inc()
		defer m.inFlight.Dec()

		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)

		// ServeMux sets r.Pattern on this same request before calling the
		// matched handler, so it is known here once the handler returned.
		route := r.Pattern
		if route == "" {
			route = unmatchedRoute
		}
		method := r.Method
		if !knownMethods[method] {
			method = "OTHER"
		}
		code := rec.status()
		elapsed := time.Since(start)
		codeLabel := strconv.Itoa(code)
		m.requests.WithLabelValues(method, route, codeLabel).Inc()
		m.duration.WithLabelValues(method, route, codeLabel).Observe(elapsed.Seconds())

		level := slog.LevelInfo
		if quietRoutes[route] {
			level = slog.LevelDebug
		}
		attrs := []slog.Attr{
			slog.String("method", method),
			slog.String("route", route),
			slog.Int("status", code),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
			slog.String("remote", r.RemoteAddr),
		}
		if id := TraceID(r.Header.Get("traceparent")); id != "" {
			attrs = append(attrs, slog.String("trace_id", id))
		}
		log.LogAttrs(r.Context(), level, "request", attrs...)
	})
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer (Flush,
// deadlines) through the recorder.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}

// traceparentRE is the W3C Trace Context header, version 00:
// version-traceid-parentid-flags in lowercase hex.
var traceparentRE = regexp.MustCompile(`^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$`)

// TraceID returns the trace ID of a W3C traceparent header, or "" when the
// header is absent or malformed (including the all-zero invalid ID). Only a
// validated ID is logged, so a client cannot inject arbitrary text.
func TraceID(traceparent string) string {
	m := traceparentRE.FindStringSubmatch(traceparent)
	if m == nil || m[1] == "00000000000000000000000000000000" {
		return ""
	}
	return m[1]
}
