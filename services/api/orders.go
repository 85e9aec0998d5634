package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"

	"github.com/berth-platform/berth/services/internal/orders"
	"github.com/berth-platform/berth/services/internal/svc"
)

// maxBody caps request bodies: an order is a few dozen bytes.
const maxBody = 64 << 10

// List limits for GET /api/orders.
const (
	defaultLimit = 20
	maxLimit     = 100
)

// orderStore is what the handlers need from orders.Store; tests fake it.
type orderStore interface {
	Create(ctx context.Context, item string, quantity int) (orders.Order, error)
	List(ctx context.Context, limit int) ([]orders.Order, error)
	Get(ctx context.Context, id int64) (orders.Order, error)
}

type orderAPI struct {
	store orderStore
	log   *slog.Logger
}

func newOrderAPI(store orderStore, log *slog.Logger) *orderAPI {
	return &orderAPI{store: store, log: log}
}

func (a *orderAPI) register(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/orders", a.create)
	mux.HandleFunc("GET /api/orders", a.list)
	mux.HandleFunc("GET /api/orders/{id}", a.get)
}

type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	svc.WriteJSON(w, code, errorBody{Error: msg})
}

// storeFailed answers a database error with 503: the client may retry, and
// a replica that cannot reach the database is also failing readiness. The
// error itself is logged, never sent: it can name hosts and users.
func (a *orderAPI) storeFailed(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		// The client went away; nobody reads the answer.
		a.log.Debug("request cancelled", "route", r.Pattern, "err", err)
	} else {
		a.log.Error("database error", "route", r.Pattern, "err", err)
	}
	writeError(w, http.StatusServiceUnavailable, "database unavailable, try again")
}

type createRequest struct {
	Item     string `json:"item"`
	Quantity int    `json:"quantity"`
}

func (a *orderAPI) create(w http.ResponseWriter, r *http.Request) {
	in, err := decodeCreate(w, r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	item := orders.NormalizeItem(in.Item)
	if err := orders.Validate(item, in.Quantity); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	o, err := a.store.Create(r.Context(), item, in.Quantity)
	if err != nil {
		a.storeFailed(w, r, err)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/api/orders/%d", o.ID))
	svc.WriteJSON(w, http.StatusCreated, o)
}

// decodeCreate reads exactly one JSON object of known fields, at most
// maxBody bytes, and turns decoder errors into messages a client can act
// on.
func decodeCreate(w http.ResponseWriter, r *http.Request) (createRequest, error) {
	var in createRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(&in)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("trailing data after the JSON object")
	}
	var (
		tooBig  *http.MaxBytesError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case err == nil:
		return in, nil
	case errors.As(err, &tooBig):
		return in, fmt.Errorf("request body is larger than %d KiB", maxBody>>10)
	case errors.As(err, &typeErr) && typeErr.Field != "":
		want := "whole number"
		if typeErr.Type.Kind() == reflect.String {
			want = "string"
		}
		return in, fmt.Errorf("%s must be a %s", typeErr.Field, want)
	case errors.Is(err, io.EOF):
		return in, errors.New(`request body is empty; send {"item":"coffee","quantity":1}`)
	}
	return in, fmt.Errorf(`request body must be a JSON object like {"item":"coffee","quantity":1}: %v`, err)
}

type listResponse struct {
	Orders []orders.Order `json:"orders"`
}

func (a *orderAPI) list(w http.ResponseWriter, r *http.Request) {
	limit := defaultLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "limit must be a positive whole number")
			return
		}
		limit = min(n, maxLimit)
	}
	list, err := a.store.List(r.Context(), limit)
	if err != nil {
		a.storeFailed(w, r, err)
		return
	}
	if list == nil {
		list = []orders.Order{} // [] rather than null for clients
	}
	svc.WriteJSON(w, http.StatusOK, listResponse{Orders: list})
}

func (a *orderAPI) get(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		// No order can have this ID; to the client it is just not there.
		writeError(w, http.StatusNotFound, orders.ErrNotFound.Error())
		return
	}
	o, err := a.store.Get(r.Context(), id)
	if errors.Is(err, orders.ErrNotFound) {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	if err != nil {
		a.storeFailed(w, r, err)
		return
	}
	svc.WriteJSON(w, http.StatusOK, o)
}
