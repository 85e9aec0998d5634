package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// fakeAPI is an httptest api with canned answers that records what web
// sent it.
type fakeAPI struct {
	*httptest.Server

	mu        sync.Mutex
	ordersErr int // status for GET /api/orders, 0 for success
	createErr int // status for POST /api/orders, 0 for success
	created   []string
	traces    []string // traceparent of every request
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/orders", func(w http.ResponseWriter, r *http.Request) {
		if f.ordersErr != 0 {
			http.Error(w, `{"error":"database unavailable, try again"}`, f.ordersErr)
			return
		}
		if r.URL.Query().Get("limit") != "20" {
			t.Errorf("web asked for limit %q, want 20", r.URL.Query().Get("limit"))
		}
		processed := time.Date(2025, 3, 4, 5, 6, 8, 0, time.UTC)
		writeJSON(w, 200, map[string]any{"orders": []order{
			{ID: 2, Item: "<script>alert(1)</script>", Quantity: 1, Status: "queued", CreatedAt: time.Date(2025, 3, 4, 5, 6, 9, 0, time.UTC)},
			{ID: 1, Item: "flat white", Quantity: 2, Status: "processed", CreatedAt: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC), ProcessedAt: &processed, ProcessedBy: "worker-7f3"},
		}})
	})
	mux.HandleFunc("POST /api/orders", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.created = append(f.created, string(b))
		f.mu.Unlock()
		switch f.createErr {
		case 0:
			writeJSON(w, 201, order{ID: 3, Item: "tea", Quantity: 2, Status: "queued"})
		case 400:
			writeJSON(w, 400, map[string]string{"error": "item is required"})
		default:
			writeJSON(w, f.createErr, map[string]string{"error": "database unavailable, try again"})
		}
	})
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"service": "api", "version": "2.0.0-rc1"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"status": "ready"})
	})
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.traces = append(f.traces, r.Header.Get("traceparent"))
		f.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func newShop(apiURL string) http.Handler {
	mux := http.NewServeMux()
	(&shop{api: newAPIClient(apiURL), version: "1.4.0", log: slog.New(slog.DiscardHandler)}).register(mux)
	return mux
}

func request(h http.Handler, method, target string, form url.Values, header http.Header) *httptest.ResponseRecorder {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestIndexListsOrders(t *testing.T) {
	api := newFakeAPI(t)
	rec := request(newShop(api.URL), http.MethodGet, "/", nil, http.Header{"Traceparent": {trace}})
	if rec.Code != http.StatusOK {
		t.Fatalf("GET / = %d: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	page := rec.Body.String()
	for _, want := range []string{
		"<title>berth shop</title>",
		"flat white", `class="status status-processed">processed<`, "worker-7f3", "2025-03-04 05:06:07 UTC",
		`class="status status-queued">queued<`,
		"&lt;script&gt;alert(1)&lt;/script&gt;", // escaped, not executed
		`<form method="post" action="/orders">`, `name="item"`, `name="quantity"`,
		"web 1.4.0 · api 2.0.0-rc1",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>alert") {
		t.Error("page contains an unescaped item")
	}
	if strings.Index(page, "&lt;script") > strings.Index(page, "flat white") {
		t.Error("orders are not listed newest first as the api returned them")
	}
	for _, got := range api.traces {
		if got != trace {
			t.Errorf("api call carried traceparent %q, want %q", got, trace)
		}
	}
	if len(api.traces) != 2 {
		t.Errorf("web made %d api calls for one page, want 2 (orders, version)", len(api.traces))
	}
}

func TestIndexWhenAPIFails(t *testing.T) {
	api := newFakeAPI(t)
	api.ordersErr = http.StatusServiceUnavailable
	rec := request(newShop(api.URL), http.MethodGet, "/", nil, nil)
	if rec.Code != http.StatusBadGateway {
		t.Fatalf("GET / with a failing api = %d, want 502", rec.Code)
	}
	if !strings.Contains(rec.Body.String(), "could not be loaded") {
		t.Errorf("page does not explain the failure: %s", rec.Body)
	}

	api.Close()
	if rec := request(newShop(api.URL), http.MethodGet, "/", nil, nil); rec.Code != http.StatusBadGateway {
		t.Fatalf("GET / with the api down = %d, want 502", rec.Code)
	}
}

func TestCreateOrder(t *testing.T) {
	tests := []struct {
		name       string
		form       url.Values
		header     http.Header
		apiStatus  int
		want       int
		wantPage   string
		wantCreate string // body the api received, "" for no call
	}{
		{name: "created", form: url.Values{"item": {" tea "}, "quantity": {"2"}}, header: http.Header{"Traceparent": {trace}},
			want: 303, wantCreate: `{"item":"tea","quantity":2}`},
		{name: "api refuses", form: url.Values{"item": {""}, "quantity": {"1"}}, apiStatus: 400,
			want: 400, wantPage: "The order was refused: item is required.", wantCreate: `{"item":"","quantity":1}`},
		{name: "api failing", form: url.Values{"item": {"tea"}, "quantity": {"1"}}, apiStatus: 503,
			want: 502, wantPage: "could not take the order", wantCreate: `{"item":"tea","quantity":1}`},
		{name: "quantity not a number", form: url.Values{"item": {"tea"}, "quantity": {"two"}},
			want: 400, wantPage: "Quantity must be a whole number."},
		{name: "cross-site post", form: url.Values{"item": {"tea"}, "quantity": {"1"}}, header: http.Header{"Sec-Fetch-Site": {"cross-site"}},
			want: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t)
			api.createErr = tt.apiStatus
			rec := request(newShop(api.URL), http.MethodPost, "/orders", tt.form, tt.header)
			if rec.Code != tt.want {
				t.Fatalf("POST /orders = %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if tt.want == 303 && rec.Header().Get("Location") != "/" {
				t.Errorf("Location = %q, want /", rec.Header().Get("Location"))
			}
			if !strings.Contains(rec.Body.String(), tt.wantPage) {
				t.Errorf("page lacks %q: %s", tt.wantPage, rec.Body)
			}
			var got string
			if len(api.created) > 0 {
				got = strings.TrimSpace(api.created[0])
			}
			if got != tt.wantCreate {
				t.Errorf("api received %q, want %q", got, tt.wantCreate)
			}
			if tt.header.Get("Traceparent") != "" && (len(api.traces) == 0 || api.traces[0] != trace) {
				t.Errorf("traceparent not propagated: %v", api.traces)
			}
		})
	}
}

func TestAPIIsNotProxied(t *testing.T) {
	api := newFakeAPI(t)
	h := newShop(api.URL)
	for _, target := range []string{"/api/orders", "/api/orders/1", "/version.txt"} {
		if rec := request(h, http.MethodGet, target, nil, nil); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s on web = %d, want 404", target, rec.Code)
		}
	}
	if len(api.traces) != 0 {
		t.Errorf("web called the api for paths it must not serve: %d calls", len(api.traces))
	}
}

func TestAPIReadiness(t *testing.T) {
	ready := true
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			t.Errorf("readiness called %s", r.URL.Path)
		}
		if !ready {
			writeJSON(w, 503, map[string]string{"status": "unavailable", "reason": "database unreachable"})
			return
		}
		writeJSON(w, 200, map[string]string{"status": "ready"})
	}))
	defer api.Close()
	c := newAPIClient(api.URL)
	if err := c.Ready(t.Context()); err != nil {
		t.Fatalf("Ready = %v", err)
	}
	ready = false
	err := c.Ready(t.Context())
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "database unreachable") {
		t.Fatalf("Ready = %v, want the api's status and reason", err)
	}
}

func TestParseAPIURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"http://api:8080": true, "https://api.internal/": true,
		"api:8080": false, "ftp://api": false, "http://user:pw@api:8080": false, "http://api:8080/?x=1": false,
	} {
		if _, err := parseAPIURL(raw); (err == nil) != ok {
			t.Errorf("parseAPIURL(%q) = %v, want ok=%v", raw, err, ok)
		}
	}
}
