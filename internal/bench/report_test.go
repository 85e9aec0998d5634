package bench

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// syntheticRun is 10 req/s for 20 s with an api update from 8 s to 11 s.
// In "baseline" the update drops requests; in "berth" it only slows them.
func syntheticRun(t *testing.T, name string, lossy bool) *Run {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Rate = 10
	cfg.Duration = 20 * time.Second
	cfg.ItemPrefix = "bench-golden"
	run, err := NewRun(name, cfg)
	if err != nil {
		t.Fatal(err)
	}
	run.SetStart(t0)
	var id int64
	for i := range 200 {
		at := time.Duration(i) * 100 * time.Millisecond
		rec := Record{
			Start:   at,
			Latency: time.Duration(3+i%7)*time.Millisecond + time.Duration(i%3)*100*time.Microsecond,
			Code:    200,
			Route:   Route(i % 2),
			Style:   Style(i / 2 % 2),
			Version: "1.0.0",
		}
		if at >= 10*time.Second {
			rec.Version = "1.1.0"
		}
		if at >= 8*time.Second && at < 13*time.Second {
			rec.Latency *= 2
			if lossy {
				rec.Latency *= 2
			}
		}
		if lossy && at >= 9*time.Second && at < 10*time.Second {
			switch i % 3 {
			case 0:
				rec.Code, rec.Version = 502, ""
			case 1:
				rec.Code, rec.Version, rec.Error = 0, "", "read tcp 127.0.0.1:443: read: connection reset by peer"
			}
		}
		if lossy && i == 150 {
			rec.Code, rec.Version, rec.Error, rec.Latency = 0, "", "context deadline exceeded (Client.Timeout exceeded while awaiting headers)", 10*time.Second
		}
		if rec.Route == RouteCreateOrder && rec.OK() {
			rec.Code = 201
			id++
			rec.OrderID = id
		}
		run.AddRecord(rec)
	}
	run.MarkUpdate("api", "1.0.0", "1.1.0", t0.Add(8*time.Second), t0.Add(11*time.Second))
	run.Mark("rollout started", t0.Add(7500*time.Millisecond))
	missing := []int64{}
	if lossy {
		missing = []int64{41, 44}
	}
	if err := run.VerifyOrders(func([]int64) ([]int64, error) { return missing, nil }); err != nil {
		t.Fatal(err)
	}
	return run
}

func goldenReport(t *testing.T) *Report {
	rep := NewReport("berth bench rollout", syntheticRun(t, "berth", false), syntheticRun(t, "baseline", true))
	rep.Generated = t0.Add(time.Minute)
	return rep
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; run go test ./internal/bench -run %s -update and review the diff", path, t.Name())
	}
}

func TestReportJSONGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := goldenReport(t).WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.golden.json", buf.Bytes())

	// What was written reads back to the same report.
	back, err := ReadJSON(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := back.WriteJSON(&again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("ReadJSON then WriteJSON does not reproduce the report")
	}
}

func TestReportHTMLGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := goldenReport(t).WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	golden(t, "report.golden.html", buf.Bytes())

	// Self-contained: nothing is loaded from elsewhere.
	if m := regexp.MustCompile(`(?i)(src|href)=|<script|@import|url\(`).FindString(html); m != "" {
		t.Errorf("report loads something from elsewhere: %q", m)
	}
	for _, want := range []string{
		`id="run-berth"`, `id="run-baseline"`,
		"api 1.0.0 → 1.1.0",                            // the update window's label
		`data-version="1.0.0"`, `data-version="1.1.0"`, // dots coloured by version
		`class="failed"`, // failures drawn (baseline)
		`class="p99"`, "rollout started",
		"<td>transport</td><td class=\"text\">read tcp 127.0.0.1:443: read: connection reset by peer</td>",
		"<td>status</td><td class=\"text\">502</td>",
		"PASS: every goal met.", "2 acknowledged orders lost",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if n := strings.Count(html, `<path class="failed"`); n != 1 {
		t.Errorf("%d failure paths, want 1 (baseline only)", n)
	}
}

func TestPlotDownsamplesButKeepsFailures(t *testing.T) {
	var recs []Record
	failed := 0
	for i := range 20000 {
		r := Record{Start: time.Duration(i) * time.Millisecond, Latency: time.Millisecond, Code: 200, Version: "1"}
		if i%97 == 0 {
			r.Code = 503
			failed++
		}
		recs = append(recs, r)
	}
	sum := Summary{Versions: []VersionCount{{Version: "1"}}}
	p := newPlot(recs, sum, true)
	if p.Failures.Count != failed {
		t.Errorf("plot kept %d failures, want all %d", p.Failures.Count, failed)
	}
	if p.Shown > maxPlotPoints || p.Shown < maxPlotPoints/2 {
		t.Errorf("plot shows %d points, want at most %d and not far fewer", p.Shown, maxPlotPoints)
	}
	if got := strings.Count(p.Series[0].Path, "M") + strings.Count(p.Failures.Path, "M"); got != p.Shown {
		t.Errorf("paths hold %d points, plot says %d", got, p.Shown)
	}
}
