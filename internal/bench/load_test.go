package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// shop is a stand-in for the demo shop behind Traefik, with the server-side
// counts the tests judge the load by.
type shop struct {
	srv     *httptest.Server
	version atomic.Value // string
	nextID  atomic.Int64
	newConn atomic.Int64

	mu       sync.Mutex
	requests map[string]int // "METHOD path-pattern"
	closeReq int            // requests that asked to close the connection
	kaAddrs  map[string]bool
	frAddrs  map[string]bool
	items    map[int64]string

	// delay, when set, is slept before answering the n-th request (from 0).
	delay func(n int64) time.Duration
	seen  atomic.Int64
}

func newShop(t *testing.T) *shop {
	t.Helper()
	s := &shop{requests: map[string]int{}, kaAddrs: map[string]bool{}, frAddrs: map[string]bool{}, items: map[int64]string{}}
	s.version.Store("1.0.0")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s.note(r, "GET /")
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<!doctype html><title>shop</title>"+strings.Repeat("<p>coffee</p>", 100))
	})
	mux.HandleFunc("POST /api/orders", func(w http.ResponseWriter, r *http.Request) {
		s.note(r, "POST /api/orders")
		var in struct {
			Item     string `json:"item"`
			Quantity int    `json:"quantity"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Item == "" || in.Quantity != 1 {
			http.Error(w, "bad order", http.StatusBadRequest)
			return
		}
		id := s.nextID.Add(1)
		s.mu.Lock()
		s.items[id] = in.Item
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "item": in.Item, "quantity": 1, "status": "queued"})
	})
	mux.HandleFunc("GET /api/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.note(r, "GET /api/orders/{id}")
		fmt.Fprintf(w, `{"id":%s,"status":"queued"}`, r.PathValue("id"))
	})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.seen.Add(1) - 1
		if s.delay != nil {
			time.Sleep(s.delay(n))
		}
		w.Header().Set(VersionHeader, s.version.Load().(string))
		mux.ServeHTTP(w, r)
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.newConn.Add(1)
		}
	}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{testCert(t)}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	s.srv = srv
	return s
}

// testCert is a self-signed ECDSA certificate for example.com: cheaper
// handshakes than httptest's RSA one, since every fresh connection makes one
// on a small shared machine.
func testCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "bench test CA"},
		DNSNames:              []string{"example.com"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func (s *shop) note(r *http.Request, route string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[route]++
	if r.Close {
		s.closeReq++
		s.frAddrs[r.RemoteAddr] = true
	} else {
		s.kaAddrs[r.RemoteAddr] = true
	}
}

// config aims at the shop by the name its certificate carries, dialled at
// the listener: the same override that sends shop.localhost to 127.0.0.1.
func (s *shop) config(t *testing.T) Config {
	t.Helper()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.BaseURL = "https://example.com"
	cfg.DialAddr = s.srv.Listener.Addr().String()
	cfg.CAFile = ca
	return cfg
}

// skipUnderRace skips tests that judge rates and latencies.
func skipUnderRace(t *testing.T) {
	if raceEnabled {
		t.Skip("load timing is not judged under the race detector")
	}
}

func within(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %v, want %v ± %v", what, got, want, tol)
	}
}

// TestAttackAgainstShop runs 100 req/s for 2 s, half on fresh connections,
// while the shop moves from 1.0.0 to 1.1.0 one second in.
func TestAttackAgainstShop(t *testing.T) {
	skipUnderRace(t)
	s := newShop(t)
	cfg := s.config(t)
	cfg.Rate = 100
	cfg.Duration = 2 * time.Second
	cfg.UpdateMargin = 100 * time.Millisecond
	run, err := NewRun("berth", cfg)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(900 * time.Millisecond)
		from := time.Now()
		time.Sleep(100 * time.Millisecond)
		s.version.Store("1.1.0")
		time.Sleep(100 * time.Millisecond)
		run.MarkUpdate("api", "1.0.0", "1.1.0", from, time.Now())
	}()
	if err := run.Attack(context.Background()); err != nil {
		t.Fatal(err)
	}
	sum := run.Summary()
	recs := run.Records()

	// Rate: 200 ± 10 %, and the server saw every one.
	within(t, "requests", float64(sum.Requests), 200, 20)
	if got := int(s.seen.Load()); got != sum.Requests {
		t.Errorf("server saw %d requests, records say %d", got, sum.Requests)
	}
	if sum.Failed != 0 {
		t.Errorf("failed = %d, want 0: %+v", sum.Failed, sum.Failures)
	}
	if sum.IssueLagMaxMS > 1000 {
		t.Errorf("issued up to %.1f ms behind schedule", sum.IssueLagMaxMS)
	}
	t.Logf("issue lag: max %.1f ms, %d late", sum.IssueLagMaxMS, sum.LateIssued)

	// Styles: the fresh half opens one connection per request, and the
	// keep-alive half reuses a few.
	var fresh, ka int
	for _, r := range recs {
		if r.Style == Fresh {
			fresh++
		} else {
			ka++
		}
	}
	within(t, "fresh share", float64(fresh)/float64(sum.Requests), 0.5, 0.05)
	s.mu.Lock()
	closeReq, frConns, kaConns := s.closeReq, len(s.frAddrs), len(s.kaAddrs)
	s.mu.Unlock()
	if closeReq != fresh || frConns != fresh {
		t.Errorf("server: %d requests asked to close over %d connections, want %d fresh requests each on its own", closeReq, frConns, fresh)
	}
	if kaConns < 1 || kaConns > ka/4 {
		t.Errorf("keep-alive requests (%d) came over %d connections, want 1..%d", ka, kaConns, ka/4)
	}
	within(t, "server connections", float64(s.newConn.Load()), float64(fresh+kaConns), 2)
	for _, st := range sum.Styles {
		switch st.Name {
		case "fresh":
			within(t, "fresh dials", float64(st.Connections), float64(fresh), 1)
		case "keepalive":
			if st.Connections > int64(ka/4) {
				t.Errorf("keep-alive dialled %d connections", st.Connections)
			}
		}
	}

	// Mix: 50/50 per style, so overall too.
	s.mu.Lock()
	gets, posts := s.requests["GET /"], s.requests["POST /api/orders"]
	s.mu.Unlock()
	within(t, "GET share", float64(gets)/float64(gets+posts), 0.5, 0.02)

	// Versions, order ids and classification.
	ids := map[int64]bool{}
	var during int
	for _, r := range recs {
		if r.Version != "1.0.0" && r.Version != "1.1.0" {
			t.Fatalf("record without the version header: %+v", r)
		}
		if r.Route == RouteCreateOrder {
			if r.OrderID <= 0 || ids[r.OrderID] {
				t.Fatalf("POST without a fresh order id: %+v", r)
			}
			ids[r.OrderID] = true
		}
		if run.DuringUpdate(r) {
			during++
		}
	}
	if len(ids) != posts {
		t.Errorf("%d order ids captured, server created %d", len(ids), posts)
	}
	if len(sum.Versions) != 2 || sum.Versions[0].Version != "1.0.0" || sum.Versions[1].Version != "1.1.0" {
		t.Errorf("versions = %+v, want 1.0.0 then 1.1.0", sum.Versions)
	}
	// The window is 0.2 s plus 0.1 s margin: about 30 requests.
	if during < 15 || during > 45 || sum.UpdateRequests != during {
		t.Errorf("%d requests during the update (summary %d), want about 30", during, sum.UpdateRequests)
	}
	if sum.Orders.Acknowledged != posts {
		t.Errorf("acknowledged = %d, want %d", sum.Orders.Acknowledged, posts)
	}

	// Item names are unique per request and carry the run's prefix.
	s.mu.Lock()
	seenItems := map[string]bool{}
	for _, item := range s.items {
		if !strings.HasPrefix(item, run.Config.ItemPrefix+"-") || seenItems[item] {
			t.Errorf("item %q: not unique or without prefix %q", item, run.Config.ItemPrefix)
		}
		seenItems[item] = true
	}
	s.mu.Unlock()
}

func TestVerifyOrdersWiring(t *testing.T) {
	skipUnderRace(t)
	s := newShop(t)
	cfg := s.config(t)
	cfg.Rate = 50
	cfg.Duration = 400 * time.Millisecond
	run, _ := NewRun("berth", cfg)
	if err := run.Attack(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []int64
	err := run.VerifyOrders(func(ids []int64) ([]int64, error) {
		got = ids
		s.mu.Lock()
		defer s.mu.Unlock()
		var missing []int64
		for _, id := range ids {
			if _, ok := s.items[id]; !ok || id%2 == 0 { // pretend evens were lost
				missing = append(missing, id)
			}
		}
		return missing, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sum := run.Summary()
	if len(got) == 0 || len(got) != sum.Orders.Acknowledged || sum.Orders.Checked != len(got) {
		t.Fatalf("verifier got %d ids, acknowledged %d, checked %d", len(got), sum.Orders.Acknowledged, sum.Orders.Checked)
	}
	if want := len(got) / 2; len(sum.Orders.Missing) != want || !sum.Orders.Verified {
		t.Errorf("missing = %v (verified %v), want %d even ids", sum.Orders.Missing, sum.Orders.Verified, want)
	}
	if v := sum.Check(0, 0); len(v) != 1 || !strings.Contains(v[0], "acknowledged orders lost") {
		t.Errorf("Check = %q, want one lost-orders violation", v)
	}

	boom := errors.New("postgres: connection refused")
	if err := run.VerifyOrders(func([]int64) ([]int64, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("VerifyOrders error = %v, want it to wrap %v", err, boom)
	}
	sum = run.Summary()
	if sum.Orders.Verified || sum.Orders.Error != boom.Error() {
		t.Errorf("orders after a failed check = %+v", sum.Orders)
	}
}

// TestTransportErrorsRecorded hijacks and drops every third request, and
// stops answering in time on some, so that resets and timeouts show.
func TestTransportErrorsRecorded(t *testing.T) {
	skipUnderRace(t)
	var n atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) % 6 {
		case 0:
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		case 3:
			time.Sleep(2 * time.Second) // past the timeout
		case 1:
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.Header().Set(VersionHeader, "2.0.0")
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{testCert(t)}}
	srv.StartTLS()
	defer srv.Close()
	s := &shop{srv: srv}
	cfg := s.config(t)
	cfg.Rate = 60
	cfg.Duration = 500 * time.Millisecond
	cfg.Timeout = time.Second
	run, _ := NewRun("berth", cfg)
	if err := run.Attack(context.Background()); err != nil {
		t.Fatal(err)
	}
	sum := run.Summary()
	kinds := map[string]int{}
	for _, f := range sum.Failures {
		kinds[f.Kind] += f.Count
		if f.Kind != KindStatus && (strings.Contains(f.What, "example.com") || strings.Contains(f.What, "->")) {
			t.Errorf("error message keeps per-request parts: %q", f.What)
		}
	}
	third := float64(sum.Requests) / 6
	within(t, "transport errors", float64(kinds[KindTransport]), third, third/2+1)
	within(t, "timeouts", float64(kinds[KindTimeout]), third, third/2+1)
	within(t, "502s", float64(kinds[KindStatus]), third, third/2+1)
	if sum.Failed != kinds[KindTransport]+kinds[KindTimeout]+kinds[KindStatus] {
		t.Errorf("failed %d != sum of kinds %v", sum.Failed, kinds)
	}
	for _, r := range run.Records() {
		if r.Code == 0 && r.Error == "" {
			t.Errorf("record without response nor error: %+v", r)
		}
		if r.Code == 0 && r.Version != "" {
			t.Errorf("version without response: %+v", r)
		}
	}
	t.Logf("failures: %+v", sum.Failures)
}

// TestLatencyPercentilesFromServer: every tenth request takes 300 ms more.
func TestLatencyPercentilesFromServer(t *testing.T) {
	skipUnderRace(t)
	s := newShop(t)
	s.delay = func(n int64) time.Duration {
		if n%10 == 9 {
			return 300 * time.Millisecond
		}
		return 0
	}
	cfg := s.config(t)
	cfg.Rate = 100
	cfg.Duration = time.Second
	cfg.Mix = []Weight{{RoutePage, 1}}
	run, _ := NewRun("berth", cfg)
	if err := run.Attack(context.Background()); err != nil {
		t.Fatal(err)
	}
	l := run.Summary().Overall
	if l.P50 >= 300 || l.P95 < 300 || l.P99 < 300 || l.Max < 300 || l.Max > 2000 {
		t.Errorf("latency %+v: want p50 under 300 ms, p95/p99/max at 300 ms or more", l)
	}
}

func TestAttackStopsOnCancel(t *testing.T) {
	skipUnderRace(t)
	s := newShop(t)
	cfg := s.config(t)
	cfg.Rate = 50
	cfg.Duration = time.Minute
	run, _ := NewRun("berth", cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	began := time.Now()
	err := run.Attack(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Attack = %v, want the context's error", err)
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("Attack took %v after cancel", took)
	}
	sum := run.Summary()
	if !sum.Aborted || sum.Requests == 0 || sum.Requests > 30 {
		t.Errorf("aborted=%v requests=%d, want aborted with about 15", sum.Aborted, sum.Requests)
	}
}

// TestStopIsGraceful: Stop ends the run without aborting any request, even
// slow ones in flight.
func TestStopIsGraceful(t *testing.T) {
	skipUnderRace(t)
	s := newShop(t)
	s.delay = func(int64) time.Duration { return 200 * time.Millisecond }
	cfg := s.config(t)
	cfg.Rate = 50
	cfg.Duration = time.Minute
	run, _ := NewRun("berth", cfg)
	time.AfterFunc(500*time.Millisecond, run.Stop)
	began := time.Now()
	if err := run.Attack(context.Background()); err != nil {
		t.Fatalf("Attack after Stop = %v, want nil", err)
	}
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("Attack took %v after Stop", took)
	}
	sum := run.Summary()
	if sum.Aborted || sum.Requests < 10 || sum.Failed != 0 {
		t.Errorf("aborted=%v requests=%d failed=%d: want a clean end with every request completed", sum.Aborted, sum.Requests, sum.Failed)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	bad := DefaultConfig()
	bad.BaseURL = "shop.localhost"
	bad.Rate = 0
	bad.Duration = 0
	bad.FreshShare = 1.5
	bad.Mix = []Weight{{RoutePage, 0}}
	err := bad.Validate()
	for _, want := range []string{"base URL", "rate", "duration", "fresh-connection share", "mix"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %q", err, want)
		}
	}
	if _, err := NewRun("", DefaultConfig()); err == nil {
		t.Error("NewRun accepted an empty name")
	}
}

// TestAttackConcurrentUse marks, reads and summarizes while the load runs:
// under -race it checks the locking, so it judges no timing.
func TestAttackConcurrentUse(t *testing.T) {
	s := newShop(t)
	cfg := s.config(t)
	cfg.Rate = 20
	cfg.Duration = 500 * time.Millisecond
	cfg.Mix = []Weight{{RoutePage, 1}, {RouteCreateOrder, 1}, {RouteGetOrder, 1}}
	run, _ := NewRun("berth", cfg)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 20; i++ {
			now := time.Now()
			run.MarkUpdate("api", "1", "2", now, now)
			run.Mark("tick", now)
			_ = run.Summary()
			_ = NewReport("live", run).WriteJSON(io.Discard)
			time.Sleep(20 * time.Millisecond)
		}
	}()
	if err := run.Attack(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-done
	sum := run.Summary()
	if sum.Requests == 0 || len(sum.Updates) != 20 {
		t.Errorf("requests %d, updates %d", sum.Requests, len(sum.Updates))
	}
	for _, r := range sum.Routes {
		if r.Name == RouteGetOrder.String() && r.Requests == 0 && !raceEnabled {
			t.Errorf("no GET /api/orders/{id} was sent: %+v", sum.Routes)
		}
	}
}

// TestInFlightBoundShowsAsLateIssue: with one request in flight per style
// and 100 ms answers, 40 req/s cannot be kept; the summary must say so.
func TestInFlightBoundShowsAsLateIssue(t *testing.T) {
	skipUnderRace(t)
	s := newShop(t)
	var inFlight, peak atomic.Int64
	s.delay = func(int64) time.Duration {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(100 * time.Millisecond)
		return 0
	}
	cfg := s.config(t)
	cfg.Rate = 40
	cfg.Duration = time.Second
	cfg.MaxInFlight = 2
	run, _ := NewRun("berth", cfg)
	if err := run.Attack(context.Background()); err != nil {
		t.Fatal(err)
	}
	sum := run.Summary()
	if p := peak.Load(); p > 2 {
		t.Errorf("server saw %d requests at once, bound is 2", p)
	}
	if sum.Requests > 25 || sum.LateIssued == 0 || sum.IssueLagMaxMS < 100 {
		t.Errorf("requests %d, late %d, max lag %.1f ms: want at most ~20 sent, and lateness reported", sum.Requests, sum.LateIssued, sum.IssueLagMaxMS)
	}
}
