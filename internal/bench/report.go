package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Goals are what a run must show to pass: see Summary.Check.
type Goals struct {
	// MaxFailed is the most failed requests allowed.
	MaxFailed int `json:"max_failed"`
	// P99Ratio bounds the p99 during updates as a multiple of the steady
	// p99; 0 skips that goal.
	P99Ratio float64 `json:"p99_ratio"`
}

// DefaultGoals: no failed request, and updates at most triple the p99.
func DefaultGoals() Goals { return Goals{MaxFailed: 0, P99Ratio: 3} }

// Report is one or more named runs, e.g. "berth" and "baseline", shown
// side by side.
type Report struct {
	Title string
	// Generated is printed in the report; set it for reproducible output.
	Generated time.Time
	Goals     Goals
	// LogScale draws latency on a logarithmic axis.
	LogScale bool
	Runs     []*Run
}

// NewReport returns a report of runs with the default goals and a log axis.
func NewReport(title string, runs ...*Run) *Report {
	return &Report{Title: title, Generated: time.Now(), Goals: DefaultGoals(), LogScale: true, Runs: runs}
}

// configView is Config as people read it.
type configView struct {
	BaseURL      string   `json:"base_url"`
	DialAddr     string   `json:"dial_addr,omitempty"`
	Rate         float64  `json:"rate"`
	Duration     string   `json:"duration"`
	Mix          []Weight `json:"mix"`
	FreshShare   float64  `json:"fresh_share"`
	Timeout      string   `json:"timeout"`
	MaxInFlight  int      `json:"max_in_flight"`
	UpdateMargin string   `json:"update_margin"`
	ItemPrefix   string   `json:"item_prefix,omitempty"`
}

func viewOf(c Config) configView {
	return configView{
		BaseURL: c.BaseURL, DialAddr: c.DialAddr, Rate: c.Rate, Duration: c.Duration.String(),
		Mix: c.Mix, FreshShare: c.FreshShare, Timeout: c.Timeout.String(), MaxInFlight: c.maxInFlight(),
		UpdateMargin: c.UpdateMargin.String(), ItemPrefix: c.ItemPrefix,
	}
}

func (v configView) config() (Config, error) {
	c := Config{BaseURL: v.BaseURL, DialAddr: v.DialAddr, Rate: v.Rate, Mix: v.Mix, FreshShare: v.FreshShare,
		MaxInFlight: v.MaxInFlight, ItemPrefix: v.ItemPrefix}
	var err error
	for _, d := range []struct {
		s   string
		dst *time.Duration
	}{{v.Duration, &c.Duration}, {v.Timeout, &c.Timeout}, {v.UpdateMargin, &c.UpdateMargin}} {
		if *d.dst, err = time.ParseDuration(d.s); err != nil {
			return c, err
		}
	}
	return c, nil
}

// jsonRecord is a Record in the JSON output: times in microseconds.
type jsonRecord struct {
	StartUS   int64  `json:"t_us"`
	LatencyUS int64  `json:"lat_us"`
	Route     Route  `json:"route"`
	Style     Style  `json:"conn"`
	Code      uint16 `json:"code"`
	Version   string `json:"version,omitempty"`
	OrderID   int64  `json:"order_id,omitempty"`
	Error     string `json:"error,omitempty"`
}

type jsonUpdate struct {
	Service string    `json:"service"`
	From    string    `json:"from"`
	To      string    `json:"to"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
}

type jsonMarker struct {
	Label string    `json:"label"`
	At    time.Time `json:"at"`
}

// jsonRun is a run without its records, which are written one per line.
type jsonRun struct {
	Name    string           `json:"name"`
	Start   time.Time        `json:"start"`
	Config  configView       `json:"config"`
	Verdict []string         `json:"verdict"`
	Summary Summary          `json:"summary"`
	Updates []jsonUpdate     `json:"updates"`
	Markers []jsonMarker     `json:"markers"`
	Orders  *OrderCheck      `json:"order_check,omitempty"`
	Dials   [numStyles]int64 `json:"dials"`
	Records []jsonRecord     `json:"records,omitempty"`
}

type jsonReport struct {
	Title     string    `json:"title"`
	Generated time.Time `json:"generated"`
	Goals     Goals     `json:"goals"`
	LogScale  bool      `json:"log_scale"`
	Runs      []jsonRun `json:"runs"`
}

func (r *Run) jsonRun(g Goals) jsonRun {
	sum := r.Summary()
	verdict := sum.Check(g.MaxFailed, g.P99Ratio)
	if verdict == nil {
		verdict = []string{}
	}
	r.mu.Lock()
	jr := jsonRun{Name: r.Name, Start: r.start, Config: viewOf(r.Config), Verdict: verdict, Summary: sum, Dials: r.dials,
		Updates: []jsonUpdate{}, Markers: []jsonMarker{}}
	if r.orders != nil {
		c := *r.orders
		jr.Orders = &c
	}
	r.mu.Unlock()
	for _, u := range r.Updates() {
		jr.Updates = append(jr.Updates, jsonUpdate(u))
	}
	for _, m := range r.Markers() {
		jr.Markers = append(jr.Markers, jsonMarker(m))
	}
	return jr
}

// WriteJSON writes the report with every run's config, summary, verdict,
// windows, markers and records. The summary is indented; records are one
// compact object per line so that 10⁵ of them stay greppable and small.
func (rep *Report) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriter(w)
	head, err := json.MarshalIndent(jsonReport{Title: rep.Title, Generated: rep.Generated, Goals: rep.Goals, LogScale: rep.LogScale, Runs: []jsonRun{}}, "", "  ")
	if err != nil {
		return err
	}
	// Everything up to the empty runs list, then the runs by hand.
	head = head[:len(head)-len("[]\n}")]
	bw.Write(head)
	bw.WriteString("[")
	for i, run := range rep.Runs {
		if i > 0 {
			bw.WriteString(",")
		}
		b, err := json.MarshalIndent(run.jsonRun(rep.Goals), "    ", "  ")
		if err != nil {
			return err
		}
		bw.WriteString("\n    ")
		bw.Write(b[:len(b)-len("\n    }")])
		bw.WriteString(",\n      \"records\": [")
		for j, rec := range run.Records() {
			if j > 0 {
				bw.WriteString(",")
			}
			line, err := json.Marshal(jsonRecord{
				StartUS: rec.Start.Microseconds(), LatencyUS: rec.Latency.Microseconds(), Route: rec.Route, Style: rec.Style,
				Code: rec.Code, Version: rec.Version, OrderID: rec.OrderID, Error: rec.Error,
			})
			if err != nil {
				return err
			}
			bw.WriteString("\n        ")
			bw.Write(line)
		}
		bw.WriteString("\n      ]\n    }")
	}
	bw.WriteString("\n  ]\n}\n")
	return bw.Flush()
}

// ReadJSON reads a report written by WriteJSON, e.g. to draw its HTML
// again or to set a stored baseline beside a new run.
func ReadJSON(r io.Reader) (*Report, error) {
	var jr jsonReport
	if err := json.NewDecoder(r).Decode(&jr); err != nil {
		return nil, fmt.Errorf("read bench report: %w", err)
	}
	rep := &Report{Title: jr.Title, Generated: jr.Generated, Goals: jr.Goals, LogScale: jr.LogScale}
	for _, j := range jr.Runs {
		cfg, err := j.Config.config()
		if err != nil {
			return nil, fmt.Errorf("read bench report: run %s: config: %w", j.Name, err)
		}
		lag := issueLag{Max: time.Duration(j.Summary.IssueLagMaxMS * float64(time.Millisecond)), Late: j.Summary.LateIssued}
		run := &Run{Name: j.Name, Config: cfg, start: j.Start, dials: j.Dials, aborted: j.Summary.Aborted, orders: j.Orders, lag: lag,
			intern: map[string]string{}}
		for _, u := range j.Updates {
			run.updates = append(run.updates, Update(u))
		}
		for _, m := range j.Markers {
			run.markers = append(run.markers, Marker(m))
		}
		for _, rec := range j.Records {
			run.addLocked(Record{
				Start: time.Duration(rec.StartUS) * time.Microsecond, Latency: time.Duration(rec.LatencyUS) * time.Microsecond,
				Route: rec.Route, Style: rec.Style, Code: rec.Code, Version: rec.Version, OrderID: rec.OrderID, Error: rec.Error,
			})
		}
		rep.Runs = append(rep.Runs, run)
	}
	return rep, nil
}
