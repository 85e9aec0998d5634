package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// order is the api's order as the page shows it. web keeps its own copy of
// the shape rather than importing the api's package, which would pull the
// Postgres driver into this binary.
type order struct {
	ID          int64      `json:"id"`
	Item        string     `json:"item"`
	Quantity    int        `json:"quantity"`
	Status      string     `json:"status"`
	CreatedAt   time.Time  `json:"created_at"`
	ProcessedAt *time.Time `json:"processed_at"`
	ProcessedBy string     `json:"processed_by"`
}

// apiError is a non-2xx answer from the api, with the message from its
// JSON error body when there is one.
type apiError struct {
	Status  int
	Message string
}

func (e *apiError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("api answered %d", e.Status)
	}
	return fmt.Sprintf("api answered %d: %s", e.Status, e.Message)
}

// apiClient calls the api over plain HTTP inside the cluster.
type apiClient struct {
	base string
	http *http.Client
}

func newAPIClient(base string) *apiClient {
	transport := &http.Transport{
		// In-cluster calls never go through a proxy from the environment.
		Proxy: nil,
		DialContext: (&net.Dialer{
			Timeout:   2 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		// Every page view makes two or three calls to the same host; the
		// default of 2 idle connections per host would make most of them
		// open a new connection under load.
		MaxIdleConns:        100,
		MaxIdleConnsPerHost: 32,
		// Shorter than the api's IdleTimeout (120s), so this side closes
		// idle connections first and never writes to one being closed.
		IdleConnTimeout:       60 * time.Second,
		ResponseHeaderTimeout: 5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &apiClient{
		base: strings.TrimRight(base, "/"),
		http: &http.Client{Transport: transport, Timeout: 10 * time.Second},
	}
}

// traceHeaders are propagated from the browser's request to the api, so
// that both access logs carry the same trace_id.
var traceHeaders = []string{"traceparent", "tracestate"}

func (c *apiClient) do(ctx context.Context, from http.Header, method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	for _, h := range traceHeaders {
		if v := from.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	// Bodies are small; the limit only guards against a runaway answer.
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e struct {
			Error  string `json:"error"`
			Reason string `json:"reason"`
		}
		_ = json.Unmarshal(data, &e)
		return &apiError{Status: resp.StatusCode, Message: e.Error + e.Reason}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: unexpected answer: %w", method, path, err)
	}
	return nil
}

// Ready asks the api's /readyz.
func (c *apiClient) Ready(ctx context.Context) error {
	if err := c.do(ctx, nil, http.MethodGet, "/readyz", nil, nil); err != nil {
		return fmt.Errorf("api not ready: %w", err)
	}
	return nil
}

func (c *apiClient) ListOrders(ctx context.Context, from http.Header, limit int) ([]order, error) {
	var out struct {
		Orders []order `json:"orders"`
	}
	err := c.do(ctx, from, http.MethodGet, fmt.Sprintf("/api/orders?limit=%d", limit), nil, &out)
	return out.Orders, err
}

func (c *apiClient) CreateOrder(ctx context.Context, from http.Header, item string, quantity int) (order, error) {
	var out order
	in := struct {
		Item     string `json:"item"`
		Quantity int    `json:"quantity"`
	}{item, quantity}
	err := c.do(ctx, from, http.MethodPost, "/api/orders", in, &out)
	return out, err
}

// Version returns the version of the api replica that answered.
func (c *apiClient) Version(ctx context.Context, from http.Header) (string, error) {
	var out struct {
		Version string `json:"version"`
	}
	if err := c.do(ctx, from, http.MethodGet, "/version", nil, &out); err != nil {
		return "", err
	}
	if out.Version == "" {
		return "", errors.New("api /version has no version")
	}
	return out.Version, nil
}
