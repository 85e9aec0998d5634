package bench

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Failure kinds, from the request's point of view.
const (
	KindStatus    = "status"    // a response with a status outside 2xx/3xx
	KindTimeout   = "timeout"   // no complete answer within Config.Timeout
	KindTransport = "transport" // connection refused, reset, TLS, EOF ...
)

// Latency holds exact percentiles of one set of requests, in milliseconds.
// Failed requests count too: a timeout is a latency a user waited.
type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// FailureCount is how often one cause failed a request.
type FailureCount struct {
	Kind string `json:"kind"`
	// What is the status code or the normalized error message.
	What         string `json:"what"`
	Count        int    `json:"count"`
	DuringUpdate int    `json:"during_update"`
}

// VersionCount is how many requests one release served, and when.
type VersionCount struct {
	Version  string  `json:"version"`
	Requests int     `json:"requests"`
	FirstS   float64 `json:"first_s"`
	LastS    float64 `json:"last_s"`
}

// GroupCount counts the requests of one route or connection style.
type GroupCount struct {
	Name     string `json:"name"`
	Requests int    `json:"requests"`
	Failed   int    `json:"failed"`
	// Connections is the number of connections dialled (styles only).
	Connections int64 `json:"connections,omitempty"`
}

// UpdateSummary is one update window and the requests issued in it (margin
// included).
type UpdateSummary struct {
	Service   string  `json:"service"`
	From      string  `json:"from"`
	To        string  `json:"to"`
	StartS    float64 `json:"start_s"`
	EndS      float64 `json:"end_s"`
	DurationS float64 `json:"duration_s"`
	Requests  int     `json:"requests"`
	Failed    int     `json:"failed"`
	P99       float64 `json:"p99_ms"`
}

// MarkerSummary is a marker placed on the run's time axis.
type MarkerSummary struct {
	Label string  `json:"label"`
	AtS   float64 `json:"at_s"`
}

// OrderSummary says whether acknowledged orders survived.
type OrderSummary struct {
	// Acknowledged counts POST /api/orders answered 2xx.
	Acknowledged int `json:"acknowledged"`
	// WithoutID counts acknowledgements whose body held no order id.
	WithoutID int `json:"without_id"`
	// Verified is true once a verifier answered without error.
	Verified bool    `json:"verified"`
	Checked  int     `json:"checked"`
	Missing  []int64 `json:"missing"`
	Error    string  `json:"error,omitempty"`
}

// Summary is what a run showed.
type Summary struct {
	Name string `json:"name"`
	// Aborted is true when the run was cancelled before its duration.
	Aborted      bool    `json:"aborted"`
	DurationS    float64 `json:"duration_s"`
	Rate         float64 `json:"rate"`
	AchievedRate float64 `json:"achieved_rate"`
	Requests     int     `json:"requests"`
	Succeeded    int     `json:"succeeded"`
	Failed       int     `json:"failed"`
	// SteadyRequests and UpdateRequests split Requests by start time.
	SteadyRequests int `json:"steady_requests"`
	UpdateRequests int `json:"update_requests"`
	// IssueLagMaxMS is the most a request was issued behind its schedule,
	// and LateIssued how many were more than 50 ms behind: large values
	// mean the generator could not keep the open model (in-flight bound
	// reached, or CPU starved), and latencies understate what users saw.
	IssueLagMaxMS float64 `json:"issue_lag_max_ms"`
	LateIssued    int     `json:"late_issued"`
	// UpdateMarginS is how long after each update window requests still
	// count as during the update.
	UpdateMarginS float64         `json:"update_margin_s"`
	Failures      []FailureCount  `json:"failures"`
	Overall       Latency         `json:"latency_overall"`
	Steady        Latency         `json:"latency_steady"`
	DuringUpdate  Latency         `json:"latency_during_update"`
	Routes        []GroupCount    `json:"routes"`
	Styles        []GroupCount    `json:"styles"`
	Versions      []VersionCount  `json:"versions"`
	Updates       []UpdateSummary `json:"updates"`
	Markers       []MarkerSummary `json:"markers"`
	Orders        OrderSummary    `json:"orders"`
}

// window is an update window as offsets, margin included.
type window struct{ from, to time.Duration }

func (r *Run) windows() []window {
	start := r.Start()
	var ws []window
	for _, u := range r.Updates() {
		ws = append(ws, window{u.Start.Sub(start), u.End.Sub(start) + r.Config.UpdateMargin})
	}
	return ws
}

func inAny(ws []window, t time.Duration) bool {
	for _, w := range ws {
		if t >= w.from && t <= w.to {
			return true
		}
	}
	return false
}

// DuringUpdate reports whether rec was issued in an update window or within
// Config.UpdateMargin after one.
func (r *Run) DuringUpdate(rec Record) bool { return inAny(r.windows(), rec.Start) }

// Summary computes the summary of the records so far.
func (r *Run) Summary() Summary {
	recs := r.Records()
	start := r.Start()
	ws := r.windows()
	r.mu.Lock()
	s := Summary{Name: r.Name, Aborted: r.aborted, Rate: r.Config.Rate, UpdateMarginS: seconds(r.Config.UpdateMargin)}
	dials := r.dials
	s.IssueLagMaxMS, s.LateIssued = ms(r.lag.Max), r.lag.Late
	var orders *OrderCheck
	if r.orders != nil {
		c := *r.orders
		orders = &c
	}
	r.mu.Unlock()

	s.Failures, s.Routes, s.Styles, s.Versions = []FailureCount{}, []GroupCount{}, []GroupCount{}, []VersionCount{}
	s.Updates, s.Markers = []UpdateSummary{}, []MarkerSummary{}
	var all, steady, during []time.Duration
	failures := map[[2]string]*FailureCount{}
	routes := make([]GroupCount, numRoutes)
	styles := make([]GroupCount, numStyles)
	versions := map[string]*VersionCount{}
	var end time.Duration
	for _, rec := range recs {
		s.Requests++
		end = max(end, rec.Start+rec.Latency)
		all = append(all, rec.Latency)
		upd := inAny(ws, rec.Start)
		if upd {
			s.UpdateRequests++
			during = append(during, rec.Latency)
		} else {
			s.SteadyRequests++
			steady = append(steady, rec.Latency)
		}
		routes[rec.Route%numRoutes].Requests++
		styles[rec.Style%numStyles].Requests++
		if rec.OK() {
			s.Succeeded++
		} else {
			s.Failed++
			routes[rec.Route%numRoutes].Failed++
			styles[rec.Style%numStyles].Failed++
			kind, what := failureOf(rec)
			f := failures[[2]string{kind, what}]
			if f == nil {
				f = &FailureCount{Kind: kind, What: what}
				failures[[2]string{kind, what}] = f
			}
			f.Count++
			if upd {
				f.DuringUpdate++
			}
		}
		if rec.Route == RouteCreateOrder && rec.Code >= 200 && rec.Code < 300 {
			s.Orders.Acknowledged++
			if rec.OrderID <= 0 {
				s.Orders.WithoutID++
			}
		}
		if rec.Code != 0 {
			name := rec.Version
			if name == "" {
				name = "(none)"
			}
			v := versions[name]
			if v == nil {
				v = &VersionCount{Version: name, FirstS: seconds(rec.Start)}
				versions[name] = v
			}
			v.Requests++
			v.LastS = seconds(rec.Start)
		}
	}
	s.DurationS = seconds(end)
	// The issue rate: intervals between the first and last start, so that a
	// slow last answer does not dilute it.
	if n := len(recs); n > 1 && recs[n-1].Start > recs[0].Start {
		s.AchievedRate = round3(float64(n-1) / (recs[n-1].Start - recs[0].Start).Seconds())
	}
	s.Overall, s.Steady, s.DuringUpdate = percentiles(all), percentiles(steady), percentiles(during)

	for _, f := range failures {
		s.Failures = append(s.Failures, *f)
	}
	slices.SortFunc(s.Failures, func(a, b FailureCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.What, b.What))
	})
	for i := range routes {
		routes[i].Name = Route(i).String()
		if routes[i].Requests > 0 {
			s.Routes = append(s.Routes, routes[i])
		}
	}
	for i := range styles {
		styles[i].Name = Style(i).String()
		styles[i].Connections = dials[i]
		if styles[i].Requests > 0 || dials[i] > 0 {
			s.Styles = append(s.Styles, styles[i])
		}
	}
	for _, v := range versions {
		s.Versions = append(s.Versions, *v)
	}
	slices.SortFunc(s.Versions, func(a, b VersionCount) int {
		return cmp.Or(cmp.Compare(a.FirstS, b.FirstS), cmp.Compare(a.Version, b.Version))
	})

	for i, u := range r.Updates() {
		us := UpdateSummary{
			Service: u.Service, From: u.From, To: u.To,
			StartS: seconds(u.Start.Sub(start)), EndS: seconds(u.End.Sub(start)),
			DurationS: seconds(u.End.Sub(u.Start)),
		}
		var lat []time.Duration
		for _, rec := range recs {
			if rec.Start >= ws[i].from && rec.Start <= ws[i].to {
				us.Requests++
				if !rec.OK() {
					us.Failed++
				}
				lat = append(lat, rec.Latency)
			}
		}
		us.P99 = percentiles(lat).P99
		s.Updates = append(s.Updates, us)
	}
	for _, m := range r.Markers() {
		s.Markers = append(s.Markers, MarkerSummary{Label: m.Label, AtS: seconds(m.At.Sub(start))})
	}
	s.Orders.Missing = []int64{}
	if orders != nil {
		s.Orders.Checked = orders.Checked
		s.Orders.Error = orders.Err
		s.Orders.Verified = orders.Err == ""
		if orders.Missing != nil {
			s.Orders.Missing = orders.Missing
		}
	}
	return s
}

// failureOf names the kind and cause of a failed request.
func failureOf(rec Record) (kind, what string) {
	if rec.Code != 0 {
		return KindStatus, strconv.Itoa(int(rec.Code))
	}
	if isTimeout(rec.Error) {
		return KindTimeout, rec.Error
	}
	return KindTransport, rec.Error
}

// isTimeout recognizes the timeouts of net/http and net as vegeta passes
// them on: only their text survives.
func isTimeout(msg string) bool {
	for _, s := range []string{"Client.Timeout", "deadline exceeded", "i/o timeout", "TLS handshake timeout", "timeout awaiting"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// percentiles are exact (nearest rank) over the sorted latencies: at 10⁵
// records sorting is cheap and no histogram bucket error creeps in.
func percentiles(lat []time.Duration) Latency {
	if len(lat) == 0 {
		return Latency{}
	}
	sorted := slices.Clone(lat)
	slices.Sort(sorted)
	rank := func(p float64) float64 {
		i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
		return ms(sorted[max(0, min(i, len(sorted)-1))])
	}
	return Latency{Count: len(sorted), P50: rank(50), P95: rank(95), P99: rank(99), Max: ms(sorted[len(sorted)-1])}
}

func ms(d time.Duration) float64      { return round3(float64(d) / float64(time.Millisecond)) }
func seconds(d time.Duration) float64 { return round3(d.Seconds()) }
func round3(f float64) float64        { return math.Round(f*1000) / 1000 }

// Check lists the goals the run missed, empty when it met them all:
// at most maxFailed failed requests; a p99 latency during updates at most
// p99Ratio times the steady p99 (skipped when p99Ratio <= 0); and no
// acknowledged order lost. Goals that cannot be judged are listed too: an
// unverified order check, acknowledgements without an id, or a p99 goal with
// no request in an update window or none outside one.
func (s Summary) Check(maxFailed int, p99Ratio float64) []string {
	var v []string
	if s.Requests == 0 {
		v = append(v, "no request was recorded")
	}
	if s.Aborted {
		v = append(v, "the run was aborted before its duration")
	}
	if s.Failed > maxFailed {
		v = append(v, fmt.Sprintf("%d failed requests, goal at most %d", s.Failed, maxFailed))
	}
	if p99Ratio > 0 {
		switch {
		case s.DuringUpdate.Count == 0:
			v = append(v, "no request during an update window: the p99 goal cannot be judged")
		case s.Steady.Count == 0:
			v = append(v, "no request in steady state: the p99 goal cannot be judged")
		case s.DuringUpdate.P99 > p99Ratio*s.Steady.P99:
			v = append(v, fmt.Sprintf("p99 during updates %.1f ms is above %g × steady p99 %.1f ms = %.1f ms",
				s.DuringUpdate.P99, p99Ratio, s.Steady.P99, p99Ratio*s.Steady.P99))
		}
	}
	switch o := s.Orders; {
	case len(o.Missing) > 0:
		v = append(v, fmt.Sprintf("%d acknowledged orders lost (ids %s)", len(o.Missing), idList(o.Missing, 10)))
	case o.Acknowledged > 0 && o.Error != "":
		v = append(v, "acknowledged orders not verified: "+o.Error)
	case o.Acknowledged > 0 && !o.Verified:
		v = append(v, fmt.Sprintf("%d acknowledged orders not verified", o.Acknowledged))
	}
	if s.Orders.WithoutID > 0 {
		v = append(v, fmt.Sprintf("%d orders acknowledged without an id in the body: they cannot be verified", s.Orders.WithoutID))
	}
	return v
}

func idList(ids []int64, limit int) string {
	var b strings.Builder
	for i, id := range ids {
		if i == limit {
			fmt.Fprintf(&b, ", … %d more", len(ids)-limit)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	return b.String()
}
