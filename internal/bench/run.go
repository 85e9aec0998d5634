package bench

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Record is one request. Times are offsets from the run's start so that a
// record stays small (about 64 bytes) and its JSON short.
type Record struct {
	// Start is when the request was issued, since Run.Start.
	Start time.Duration
	// Latency is from issue to the last byte of the body, or to the error.
	Latency time.Duration
	// OrderID is the id a POST /api/orders got back, 0 otherwise.
	OrderID int64
	// Code is the HTTP status, 0 when no response came.
	Code uint16
	// Route and Style say what was sent and how.
	Route Route
	Style Style
	// Version is the X-Berth-Version header of the response.
	Version string
	// Error is the transport error, without the per-request parts (method,
	// URL, local port), so that equal causes group together; empty when a
	// response came.
	Error string
}

// OK reports a response with status 2xx or 3xx.
func (r Record) OK() bool { return r.Code >= 200 && r.Code < 400 }

// Update is one service update the caller performed during the run.
type Update struct {
	Service    string
	From, To   string
	Start, End time.Time
}

// Marker is a labelled instant, e.g. "rollback started".
type Marker struct {
	Label string
	At    time.Time
}

// OrderVerifier is given the ids of acknowledged orders and returns those
// that the store does not have.
type OrderVerifier func(ids []int64) (missing []int64, err error)

// OrderCheck is the outcome of VerifyOrders.
type OrderCheck struct {
	// Checked is the number of ids handed to the verifier.
	Checked int
	Missing []int64
	// Err is the verifier's error; the check did not conclude.
	Err string
}

// Run is one named load run: its config, records, update windows, markers
// and order check. Its methods are safe for concurrent use, so the caller
// marks updates while Attack runs.
type Run struct {
	Name   string
	Config Config

	mu      sync.Mutex
	start   time.Time
	records []Record
	updates []Update
	markers []Marker
	orders  *OrderCheck
	dials   [numStyles]int64
	lag     issueLag
	aborted bool
	intern  map[string]string
	stops   []func() bool // the attackers' Stop, for a graceful end
	stopped bool
}

// Stop ends the load gracefully: no new request is issued, requests in
// flight complete and are recorded, and Attack returns. Unlike cancelling
// Attack's context it aborts nothing, so it is how a caller ends a run whose
// length it could not know in advance (e.g. after the last update).
func (r *Run) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	for _, stop := range r.stops {
		stop()
	}
}

// NewRun checks cfg and returns an empty run. An empty Config.ItemPrefix
// becomes "bench-<unix seconds now>". Config must not change once Attack
// runs.
func NewRun(name string, cfg Config) (*Run, error) {
	if name == "" {
		return nil, fmt.Errorf("run needs a name, e.g. %q", "berth")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("run %s: %w", name, err)
	}
	if cfg.ItemPrefix == "" {
		cfg.ItemPrefix = "bench-" + strconv.FormatInt(time.Now().Unix(), 10)
	}
	return &Run{Name: name, Config: cfg, intern: map[string]string{}}, nil
}

// SetStart sets the instant record offsets count from. Attack sets it; runs
// built from stored or synthetic records set it themselves.
func (r *Run) SetStart(t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.start = t
}

// Start is the instant record offsets count from.
func (r *Run) Start() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.start
}

// AddRecord appends one record, e.g. when reading a stored run back.
func (r *Run) AddRecord(rec Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addLocked(rec)
}

func (r *Run) addLocked(rec Record) {
	rec.Version = r.internLocked(rec.Version)
	rec.Error = r.internLocked(rec.Error)
	r.records = append(r.records, rec)
}

// internLocked shares one copy of each version and error string among
// records: there are few distinct ones and up to 10⁵ records.
func (r *Run) internLocked(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := r.intern[s]; ok {
		return v
	}
	if r.intern == nil {
		r.intern = map[string]string{}
	}
	r.intern[s] = s
	return s
}

// Records returns a copy of the records in start order.
func (r *Run) Records() []Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.records)
	slices.SortStableFunc(out, func(a, b Record) int { return compareDur(a.Start, b.Start) })
	return out
}

func compareDur(a, b time.Duration) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// MarkUpdate records that service went from fromVersion to toVersion
// between start and end. Requests issued in that window, or within
// Config.UpdateMargin after it, count as "during update".
func (r *Run) MarkUpdate(service, fromVersion, toVersion string, start, end time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.updates = append(r.updates, Update{Service: service, From: fromVersion, To: toVersion, Start: start, End: end})
}

// Mark records a labelled instant, drawn as a line on the plot.
func (r *Run) Mark(label string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.markers = append(r.markers, Marker{Label: label, At: at})
}

// Updates returns the marked update windows in the order they were marked.
func (r *Run) Updates() []Update {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.updates)
}

// Markers returns the labelled instants in the order they were marked.
func (r *Run) Markers() []Marker {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.markers)
}

// AcknowledgedOrders returns the ids of orders created with a 2xx answer,
// in request order.
func (r *Run) AcknowledgedOrders() []int64 {
	var ids []int64
	for _, rec := range r.Records() {
		if rec.Route == RouteCreateOrder && rec.Code >= 200 && rec.Code < 300 && rec.OrderID > 0 {
			ids = append(ids, rec.OrderID)
		}
	}
	return ids
}

// VerifyOrders hands every acknowledged order id to verify and keeps the
// ids it reports missing. A verifier error is kept too and returned.
func (r *Run) VerifyOrders(verify OrderVerifier) error {
	ids := r.AcknowledgedOrders()
	check := &OrderCheck{Checked: len(ids)}
	missing, err := verify(ids)
	if err != nil {
		check.Err = err.Error()
		err = fmt.Errorf("run %s: verify %d acknowledged orders: %w", r.Name, len(ids), err)
	} else {
		check.Missing = slices.Clone(missing)
		slices.Sort(check.Missing)
	}
	r.mu.Lock()
	r.orders = check
	r.mu.Unlock()
	return err
}

// SetOrderCheck stores an order check made elsewhere, e.g. read back from
// JSON.
func (r *Run) SetOrderCheck(c *OrderCheck) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.orders = c
}

// lateIssue is how far behind its schedule a request may be issued before
// it counts as late.
const lateIssue = 50 * time.Millisecond

// issueLag measures how far the load fell behind its schedule: the open
// model holds only while this stays small.
type issueLag struct {
	Max  time.Duration
	Late int // requests issued more than lateIssue behind schedule
}

func (l *issueLag) add(d time.Duration) {
	l.Max = max(l.Max, d)
	if d > lateIssue {
		l.Late++
	}
}

var (
	// `Post "https://shop.localhost/api/orders": ` says nothing the record
	// does not, and ids in URLs would split one cause into many rows.
	errURLPrefix = regexp.MustCompile(`^[A-Za-z]+ "[^"]*": `)
	// "127.0.0.1:53422->" differs per connection.
	errLocalAddr = regexp.MustCompile(`[^\s>]+->`)
)

// normalizeError strips the per-request parts of a transport error.
func normalizeError(msg string) string {
	msg = errURLPrefix.ReplaceAllString(msg, "")
	msg = errLocalAddr.ReplaceAllString(msg, "")
	return strings.TrimSpace(msg)
}
