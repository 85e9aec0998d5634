package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/services/internal/orders"
)

// fakeStore keeps orders in memory; err, when set, fails every call the
// way an unreachable database would.
type fakeStore struct {
	orders    []orders.Order
	err       error
	lastLimit int
}

func (f *fakeStore) Create(_ context.Context, item string, quantity int) (orders.Order, error) {
	if f.err != nil {
		return orders.Order{}, f.err
	}
	o := orders.Order{ID: int64(len(f.orders) + 1), Item: item, Quantity: quantity, Status: orders.StatusQueued, CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	f.orders = append(f.orders, o)
	return o, nil
}

func (f *fakeStore) List(_ context.Context, limit int) ([]orders.Order, error) {
	f.lastLimit = limit
	if f.err != nil {
		return nil, f.err
	}
	var out []orders.Order
	for i := len(f.orders) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, f.orders[i])
	}
	return out, nil
}

func (f *fakeStore) Get(_ context.Context, id int64) (orders.Order, error) {
	if f.err != nil {
		return orders.Order{}, f.err
	}
	for _, o := range f.orders {
		if o.ID == id {
			return o, nil
		}
	}
	return orders.Order{}, orders.ErrNotFound
}

// errDB looks like what pgx returns, with details that must not reach
// clients.
var errDB = errors.New(`failed to connect to user=shop database=shop: 10.0.9.4:5432 (postgres): password authentication failed`)

func serve(store orderStore, method, target, body string) *httptest.ResponseRecorder {
	mux := http.NewServeMux()
	newOrderAPI(store, slog.New(slog.DiscardHandler)).register(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(method, target, strings.NewReader(body)))
	return rec
}

func errorOf(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var body struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error == "" {
		t.Fatalf("body %q is not a JSON error: %v", rec.Body.String(), err)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	return body.Error
}

func TestCreateOrderValidation(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    int
		wantErr string // substring of the JSON error
	}{
		{name: "empty body", body: "", want: 400, wantErr: "request body is empty"},
		{name: "not JSON", body: "item=coffee", want: 400, wantErr: "must be a JSON object"},
		{name: "JSON array", body: `[1]`, want: 400, wantErr: "must be a JSON object"},
		{name: "truncated JSON", body: `{"item":"tea"`, want: 400, wantErr: "must be a JSON object"},
		{name: "two objects", body: `{"item":"tea","quantity":1}{}`, want: 400, wantErr: "trailing data"},
		{name: "unknown field", body: `{"item":"tea","quantity":1,"price":3}`, want: 400, wantErr: `unknown field "price"`},
		{name: "missing item", body: `{"quantity":1}`, want: 400, wantErr: "item is required"},
		{name: "empty item", body: `{"item":"","quantity":1}`, want: 400, wantErr: "item is required"},
		{name: "blank item", body: `{"item":"   ","quantity":1}`, want: 400, wantErr: "item is required"},
		{name: "item not a string", body: `{"item":5,"quantity":1}`, want: 400, wantErr: "item must be a string"},
		{name: "missing quantity", body: `{"item":"tea"}`, want: 400, wantErr: "quantity must be at least 1"},
		{name: "zero quantity", body: `{"item":"tea","quantity":0}`, want: 400, wantErr: "quantity must be at least 1"},
		{name: "negative quantity", body: `{"item":"tea","quantity":-2}`, want: 400, wantErr: "quantity must be at least 1"},
		{name: "fractional quantity", body: `{"item":"tea","quantity":1.5}`, want: 400, wantErr: "quantity must be a whole number"},
		{name: "quantity as string", body: `{"item":"tea","quantity":"2"}`, want: 400, wantErr: "quantity must be a whole number"},
		{name: "quantity too large", body: `{"item":"tea","quantity":1e30}`, want: 400, wantErr: "quantity must be a whole number"},
		{name: "body over 64KiB", body: `{"item":"` + strings.Repeat("x", 64<<10) + `","quantity":1}`, want: 400, wantErr: "larger than 64 KiB"},
		{name: "valid", body: `{"item":"  coffee ","quantity":2}`, want: 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &fakeStore{}
			rec := serve(store, http.MethodPost, "/api/orders", tt.body)
			if rec.Code != tt.want {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.want, rec.Body)
			}
			if tt.want != 201 {
				if got := errorOf(t, rec); !strings.Contains(got, tt.wantErr) {
					t.Errorf("error = %q, want it to contain %q", got, tt.wantErr)
				}
				if len(store.orders) != 0 {
					t.Errorf("invalid order was stored: %+v", store.orders)
				}
				return
			}
			var got map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"id": float64(1), "item": "coffee", "quantity": float64(2), "status": "queued", "created_at": "2025-01-02T03:04:05Z"}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
			if _, ok := got["processed_at"]; ok {
				t.Errorf("queued order has processed_at: %v", got)
			}
			if loc := rec.Header().Get("Location"); loc != "/api/orders/1" {
				t.Errorf("Location = %q", loc)
			}
		})
	}
}

func TestDatabaseErrorsAre503WithoutDetails(t *testing.T) {
	for _, req := range []struct{ method, target, body string }{
		{http.MethodPost, "/api/orders", `{"item":"tea","quantity":1}`},
		{http.MethodGet, "/api/orders", ""},
		{http.MethodGet, "/api/orders/1", ""},
	} {
		rec := serve(&fakeStore{err: errDB}, req.method, req.target, req.body)
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("%s %s: status = %d, want 503", req.method, req.target, rec.Code)
		}
		msg := errorOf(t, rec)
		for _, secret := range []string{"10.0.9.4", "shop", "password", "5432"} {
			if strings.Contains(msg, secret) {
				t.Errorf("%s %s: error %q leaks %q", req.method, req.target, msg, secret)
			}
		}
	}
}

func TestListOrders(t *testing.T) {
	store := &fakeStore{}
	for _, item := range []string{"a", "b", "c"} {
		_, _ = store.Create(context.Background(), item, 1)
	}
	tests := []struct {
		query     string
		want      int
		wantLimit int
		wantItems string
	}{
		{query: "", want: 200, wantLimit: 20, wantItems: "cba"},
		{query: "?limit=2", want: 200, wantLimit: 2, wantItems: "cb"},
		{query: "?limit=100", want: 200, wantLimit: 100, wantItems: "cba"},
		{query: "?limit=1000", want: 200, wantLimit: 100, wantItems: "cba"},
		{query: "?limit=0", want: 400},
		{query: "?limit=-1", want: 400},
		{query: "?limit=ten", want: 400},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			store.lastLimit = 0
			rec := serve(store, http.MethodGet, "/api/orders"+tt.query, "")
			if rec.Code != tt.want {
				t.Fatalf("status = %d, want %d", rec.Code, tt.want)
			}
			if tt.want != 200 {
				errorOf(t, rec)
				return
			}
			var body struct{ Orders []orders.Order }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			items := ""
			for _, o := range body.Orders {
				items += o.Item
			}
			if items != tt.wantItems || store.lastLimit != tt.wantLimit {
				t.Errorf("items %q with limit %d, want %q with limit %d", items, store.lastLimit, tt.wantItems, tt.wantLimit)
			}
		})
	}
	if rec := serve(&fakeStore{}, http.MethodGet, "/api/orders", ""); strings.TrimSpace(rec.Body.String()) != `{"orders":[]}` {
		t.Errorf("empty list = %s, want an empty array", rec.Body)
	}
}

func TestGetOrder(t *testing.T) {
	store := &fakeStore{}
	_, _ = store.Create(context.Background(), "tea", 3)
	tests := []struct {
		path string
		want int
	}{
		{"/api/orders/1", 200},
		{"/api/orders/2", 404},
		{"/api/orders/0", 404},
		{"/api/orders/abc", 404},
		{"/api/orders/99999999999999999999", 404},
	}
	for _, tt := range tests {
		rec := serve(store, http.MethodGet, tt.path, "")
		if rec.Code != tt.want {
			t.Errorf("GET %s = %d, want %d", tt.path, rec.Code, tt.want)
			continue
		}
		if tt.want == 404 {
			if msg := errorOf(t, rec); msg != "order not found" {
				t.Errorf("GET %s error = %q", tt.path, msg)
			}
			continue
		}
		var o orders.Order
		if err := json.Unmarshal(rec.Body.Bytes(), &o); err != nil || o.ID != 1 || o.Item != "tea" || o.Quantity != 3 {
			t.Errorf("GET %s = %s", tt.path, rec.Body)
		}
	}
}
