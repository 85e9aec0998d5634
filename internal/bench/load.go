package bench

import (
	"context"
	"crypto/tls"
	"encoding/json"

	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// VersionHeader names the release of the task that served a response.
const VersionHeader = "X-Berth-Version"

// maxBody is how much of a response body is kept: enough for an order's
// JSON; the rest of a page is read and dropped.
const maxBody = 16 << 10

// DialTo returns a dial function that connects to addr whatever address it
// is asked for: *.localhost names must reach 127.0.0.1 even where the
// resolver does not know them, and the TLS layer above still checks the
// certificate against the URL's host.
func DialTo(addr string, d *net.Dialer) func(ctx context.Context, network, _ string) (net.Conn, error) {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
}

// Attack runs the configured load until Config.Duration has passed or ctx
// is cancelled, whichever comes first, and appends one record per request.
// It waits for requests in flight (each bounded by Config.Timeout; cancelled
// with ctx). It returns ctx's error when cancelled: the records so far stay
// and the summary says the run was aborted.
func (r *Run) Attack(ctx context.Context) error {
	cfg := r.Config
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("run %s: %w", r.Name, err)
	}
	tlsCfg, err := cfg.tlsConfig()
	if err != nil {
		return fmt.Errorf("run %s: %w", r.Name, err)
	}
	base, _ := url.Parse(cfg.BaseURL) // checked by Validate
	base.Path = strings.TrimSuffix(base.Path, "/")

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	start := time.Now()
	r.SetStart(start)
	prefix := cfg.ItemPrefix

	var (
		seq      atomic.Uint64
		ids      idRing
		wg       sync.WaitGroup
		shares   = [numStyles]float64{KeepAlive: 1 - cfg.FreshShare, Fresh: cfg.FreshShare}
		inFlight = cfg.maxInFlight()
		stops    []func() bool
		dials    [numStyles]atomic.Int64
	)
	for style := range numStyles {
		rate := cfg.Rate * shares[style]
		if rate <= 0 {
			continue
		}
		maxWorkers := uint64(math.Max(1, math.Round(float64(inFlight)*shares[style])))
		client, closeIdle := newClient(ctx, cfg, tlsCfg, style, &dials[style])
		defer closeIdle()
		atk := vegeta.NewAttacker(
			vegeta.Client(client),
			vegeta.Workers(min(maxWorkers, uint64(math.Ceil(rate/10))+1)),
			vegeta.MaxWorkers(maxWorkers),
			vegeta.MaxBody(maxBody),
		)
		stops = append(stops, atk.Stop)
		r.mu.Lock()
		r.stops = append(r.stops, atk.Stop)
		if r.stopped {
			atk.Stop()
		}
		r.mu.Unlock()
		tr := targeter(base, prefix, newMixer(cfg.Mix), &seq, &ids)
		// Freq 1 per 1/rate: ConstantPacer takes whole hits per period, and
		// this keeps fractional rates exact to the nanosecond.
		pace := vegeta.ConstantPacer{Freq: 1, Per: time.Duration(float64(time.Second) / rate)}
		results := atk.Attack(tr, pace, cfg.Duration, r.Name+"/"+style.String())
		wg.Add(1)
		go func() {
			defer wg.Done()
			for res := range results {
				rec := toRecord(res, start, style)
				if rec.OrderID > 0 {
					ids.add(rec.OrderID)
				}
				// vegeta numbers hits in schedule order from 0; the n-th
				// was due at n periods after the attack began.
				lag := rec.Start - time.Duration(res.Seq)*pace.Per
				r.mu.Lock()
				r.addLocked(rec)
				r.lag.add(max(0, lag))
				r.mu.Unlock()
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			for _, stop := range stops {
				stop()
			}
		case <-done:
		}
	}()
	wg.Wait()
	close(done)

	r.mu.Lock()
	for s := range numStyles {
		r.dials[s] += dials[s].Load()
	}
	r.aborted = ctx.Err() != nil
	r.mu.Unlock()
	return context.Cause(ctx)
}

// newClient builds the HTTP/1.1 client of one connection style. It counts
// the connections it dials, and aborts requests in flight when ctx ends.
func newClient(ctx context.Context, cfg Config, tlsCfg *tls.Config, style Style, dials *atomic.Int64) (*http.Client, func()) {
	d := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
	dial := d.DialContext
	if cfg.DialAddr != "" {
		dial = DialTo(cfg.DialAddr, d)
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return dial(ctx, network, addr)
		},
		TLSClientConfig:     tlsCfg.Clone(),
		TLSHandshakeTimeout: cfg.Timeout,
		// As vegeta.KeepAlive(false) does.
		DisableKeepAlives:   style == Fresh,
		MaxIdleConnsPerHost: cfg.maxInFlight(),
		IdleConnTimeout:     90 * time.Second,
		// HTTP/1.1 only: no multiplexing that would blur the two styles.
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	client := &http.Client{
		Transport: ctxTransport{ctx: ctx, next: tr},
		Timeout:   cfg.Timeout,
		// A redirect is an answer: record it, do not follow it.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return client, tr.CloseIdleConnections
}

// ctxTransport ties every request to the run's context as well as its own,
// since vegeta builds requests without one. http.Client.Timeout lives in the
// request's context, so that one is kept and only joined with the run's.
type ctxTransport struct {
	ctx  context.Context
	next http.RoundTripper
}

func (t ctxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	stop := context.AfterFunc(t.ctx, func() { cancel(context.Cause(t.ctx)) })
	release := func() { stop(); cancel(nil) }
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		release()
		return nil, err
	}
	resp.Body = &releaseBody{ReadCloser: resp.Body, release: release}
	return resp, nil
}

type releaseBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

// targeter builds the requests of the mix. Each POST carries an item name
// unique to this run and request, so the order can be found again.
func targeter(base *url.URL, prefix string, mix *mixer, seq *atomic.Uint64, ids *idRing) vegeta.Targeter {
	page := base.String() + "/"
	orders := base.String() + "/api/orders"
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	return func(t *vegeta.Target) error {
		if t == nil {
			return vegeta.ErrNilTarget
		}
		route := mix.next()
		if route == RouteGetOrder {
			id, ok := ids.pick()
			if !ok {
				route = RoutePage // no order acknowledged yet
			} else {
				*t = vegeta.Target{Method: http.MethodGet, URL: orders + "/" + strconv.FormatInt(id, 10)}
				return nil
			}
		}
		switch route {
		case RouteCreateOrder:
			item := prefix + "-" + strconv.FormatUint(seq.Add(1), 10)
			body, err := json.Marshal(struct {
				Item     string `json:"item"`
				Quantity int    `json:"quantity"`
			}{item, 1})
			if err != nil {
				return err
			}
			*t = vegeta.Target{Method: http.MethodPost, URL: orders, Body: body, Header: jsonHeader}
		default:
			*t = vegeta.Target{Method: http.MethodGet, URL: page}
		}
		return nil
	}
}

// toRecord keeps what the report needs of a vegeta result and drops the
// body and headers.
func toRecord(res *vegeta.Result, start time.Time, style Style) Record {
	rec := Record{
		Start:   res.Timestamp.Sub(start),
		Latency: res.Latency,
		Code:    res.Code,
		Route:   routeOf(res.Method, res.URL),
		Style:   style,
	}
	if res.Headers != nil {
		rec.Version = res.Headers.Get(VersionHeader)
	}
	if rec.Code == 0 {
		rec.Error = normalizeError(res.Error)
		if rec.Error == "" {
			rec.Error = "no response"
		}
	}
	if rec.Route == RouteCreateOrder && rec.Code >= 200 && rec.Code < 300 {
		var o struct {
			ID int64 `json:"id"`
		}
		if json.Unmarshal(res.Body, &o) == nil {
			rec.OrderID = o.ID
		}
	}
	return rec
}

func routeOf(method, rawURL string) Route {
	path := rawURL
	if u, err := url.Parse(rawURL); err == nil {
		path = u.Path
	}
	switch {
	case method == http.MethodPost && strings.HasSuffix(path, "/api/orders"):
		return RouteCreateOrder
	case method == http.MethodGet && strings.Contains(path, "/api/orders/"):
		return RouteGetOrder
	}
	return RoutePage
}

// mixer picks routes by smooth weighted round robin (as nginx balances
// upstreams): exact shares over any window, without long runs of one route.
type mixer struct {
	mu      sync.Mutex
	routes  []Route
	weights []int
	current []int
	total   int
}

func newMixer(mix []Weight) *mixer {
	m := &mixer{}
	for _, w := range mix {
		if w.Weight > 0 {
			m.routes = append(m.routes, w.Route)
			m.weights = append(m.weights, w.Weight)
			m.total += w.Weight
		}
	}
	m.current = make([]int, len(m.routes))
	return m
}

func (m *mixer) next() Route {
	m.mu.Lock()
	defer m.mu.Unlock()
	best := 0
	for i := range m.current {
		m.current[i] += m.weights[i]
		if m.current[i] > m.current[best] {
			best = i
		}
	}
	m.current[best] -= m.total
	return m.routes[best]
}

// idRing keeps the last acknowledged order ids for GET /api/orders/{id}.
type idRing struct {
	mu   sync.Mutex
	ids  [256]int64
	n    int
	next int
}

func (r *idRing) add(id int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids[(r.n)%len(r.ids)] = id
	r.n++
}

// pick cycles through the kept ids.
func (r *idRing) pick() (int64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == 0 {
		return 0, false
	}
	size := min(r.n, len(r.ids))
	id := r.ids[r.next%size]
	r.next++
	return id, true
}
