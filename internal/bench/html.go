package bench

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"time"
)

//go:embed report.html.tmpl
var reportTemplate string

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"f1":      func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"addf":    func(a, b float64) float64 { return a + b },
	"half":    func(a float64) float64 { return a / 2 },
	"times":   func(i int, k float64) float64 { return float64(i) * k },
	"percent": func(share float64) string { return fmt.Sprintf("%.0f %%", 100*share) },
	"pct": func(part, whole int) string {
		if whole == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f %%", 100*float64(part)/float64(whole))
	},
}).Parse(reportTemplate))

type htmlVersion struct {
	VersionCount
	Color string
}

type htmlRun struct {
	Name     string
	Start    string
	Config   configView
	Summary  Summary
	Verdict  []string
	Plot     plotData
	Versions []htmlVersion
}

type compareRow struct {
	Label  string
	Values []string
	// Bad marks the cells that miss a goal.
	Bad []bool
}

type htmlData struct {
	Title     string
	Generated string
	Goals     Goals
	Columns   int
	Runs      []htmlRun
	Compare   []compareRow
}

// WriteHTML writes one self-contained HTML file: no script, stylesheet or
// font from elsewhere. Per run: the latency-over-time plot (dots coloured by
// the version that served them, failures in red, update windows shaded and
// labelled), the goal verdict, latency steady against during updates,
// failures, updates, versions and connection styles; and a comparison of the
// runs side by side.
func (rep *Report) WriteHTML(w io.Writer) error {
	d := htmlData{Title: rep.Title, Goals: rep.Goals, Columns: max(1, len(rep.Runs))}
	if !rep.Generated.IsZero() {
		d.Generated = rep.Generated.UTC().Format(time.RFC3339)
	}
	var sums []Summary
	var verdicts [][]string
	for _, run := range rep.Runs {
		sum := run.Summary()
		verdict := sum.Check(rep.Goals.MaxFailed, rep.Goals.P99Ratio)
		colors := versionColors(sum.Versions)
		hr := htmlRun{Name: run.Name, Config: viewOf(run.Config), Summary: sum, Verdict: verdict,
			Plot: newPlot(run.Records(), sum, rep.LogScale)}
		if st := run.Start(); !st.IsZero() {
			hr.Start = st.UTC().Format(time.RFC3339)
		}
		for _, v := range sum.Versions {
			hr.Versions = append(hr.Versions, htmlVersion{v, colors[v.Version]})
		}
		d.Runs = append(d.Runs, hr)
		sums = append(sums, sum)
		verdicts = append(verdicts, verdict)
	}
	d.Compare = compare(sums, verdicts, rep.Goals)
	return reportTmpl.Execute(w, d)
}

// compare lays the runs' headline numbers side by side.
func compare(sums []Summary, verdicts [][]string, g Goals) []compareRow {
	row := func(label string, val func(i int, s Summary) (string, bool)) compareRow {
		r := compareRow{Label: label}
		for i, s := range sums {
			v, bad := val(i, s)
			r.Values = append(r.Values, v)
			r.Bad = append(r.Bad, bad)
		}
		return r
	}
	ms := func(v float64) string { return fmt.Sprintf("%.1f ms", v) }
	return []compareRow{
		row("verdict", func(i int, _ Summary) (string, bool) {
			if len(verdicts[i]) == 0 {
				return "pass", false
			}
			return fmt.Sprintf("fail (%d)", len(verdicts[i])), true
		}),
		row("requests", func(_ int, s Summary) (string, bool) { return fmt.Sprint(s.Requests), s.Requests == 0 }),
		row("rate (achieved / asked)", func(_ int, s Summary) (string, bool) {
			return fmt.Sprintf("%.1f / %g req/s", s.AchievedRate, s.Rate), false
		}),
		row("issued late (> 50 ms behind schedule)", func(_ int, s Summary) (string, bool) {
			return fmt.Sprintf("%d (max %.1f ms)", s.LateIssued, s.IssueLagMaxMS), s.LateIssued > 0
		}),
		row("failed", func(_ int, s Summary) (string, bool) { return fmt.Sprint(s.Failed), s.Failed > g.MaxFailed }),
		row("p99 steady", func(_ int, s Summary) (string, bool) { return ms(s.Steady.P99), false }),
		row("p99 during updates", func(_ int, s Summary) (string, bool) {
			return ms(s.DuringUpdate.P99), g.P99Ratio > 0 && s.DuringUpdate.P99 > g.P99Ratio*s.Steady.P99
		}),
		row("max latency", func(_ int, s Summary) (string, bool) { return ms(s.Overall.Max), false }),
		row("updates", func(_ int, s Summary) (string, bool) { return fmt.Sprint(len(s.Updates)), false }),
		row("acknowledged orders lost", func(_ int, s Summary) (string, bool) {
			switch {
			case len(s.Orders.Missing) > 0:
				return fmt.Sprint(len(s.Orders.Missing)), true
			case s.Orders.Verified:
				return "0", false
			case s.Orders.Acknowledged == 0:
				return "–", false
			}
			return "not verified", true
		}),
	}
}
