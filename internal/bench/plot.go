package bench

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxPlotPoints bounds the dots of one plot; failures are always drawn.
const maxPlotPoints = 5000

// Plot geometry, in SVG user units.
const (
	plotW, plotH           = 960.0, 360.0
	padLeft, padRight      = 60.0, 16.0
	padTop, padBottom      = 52.0, 36.0
	innerW, innerH         = plotW - padLeft - padRight, plotH - padTop - padBottom
	failColor, noneColor   = "#d62728", "#9e9e9e"
	windowFill, marginFill = "#ffbf47", "#ffe7b3"
)

// palette colours versions in order of first appearance; red is kept for
// failures.
var palette = []string{"#1f77b4", "#2ca02c", "#9467bd", "#17becf", "#8c564b", "#bcbd22", "#e377c2", "#ff7f0e"}

type tick struct {
	Pos   float64
	Label string
}

type plotWindow struct {
	X, W, MarginW float64
	LabelY        float64
	Label         string
}

type plotMarker struct {
	X      float64
	LabelY float64
	Label  string
}

type plotSeries struct {
	Label, Color string
	// Path draws each point as a zero-length segment with round caps:
	// one element per series instead of one per point.
	Path  string
	Count int
}

type plotData struct {
	W, H, Left, Top, InnerW, InnerH, Right, Bottom float64
	XTicks, YTicks                                 []tick
	Windows                                        []plotWindow
	Markers                                        []plotMarker
	Series                                         []plotSeries
	Failures                                       plotSeries
	P99Line                                        string
	Shown, Total                                   int
	Log                                            bool
	YLabel                                         string
}

// versionColors assigns palette colours by first appearance.
func versionColors(versions []VersionCount) map[string]string {
	colors := map[string]string{}
	i := 0
	for _, v := range versions {
		if v.Version == "(none)" {
			colors[v.Version] = noneColor
			continue
		}
		colors[v.Version] = palette[i%len(palette)]
		i++
	}
	return colors
}

// newPlot lays out the latency-over-time plot of one run.
func newPlot(recs []Record, sum Summary, logScale bool) plotData {
	p := plotData{W: plotW, H: plotH, Left: padLeft, Top: padTop, InnerW: innerW, InnerH: innerH,
		Right: padLeft + innerW, Bottom: padTop + innerH, Total: len(recs), Log: logScale, YLabel: "latency (ms)"}

	// Axes span every record, window and marker.
	xMax := 1.0
	minLat, maxLat := math.Inf(1), 0.0
	for _, r := range recs {
		xMax = max(xMax, r.Start.Seconds())
		l := ms(r.Latency)
		minLat, maxLat = min(minLat, l), max(maxLat, l)
	}
	for _, u := range sum.Updates {
		xMax = max(xMax, u.EndS)
	}
	for _, m := range sum.Markers {
		xMax = max(xMax, m.AtS)
	}
	xStep := niceStep(xMax / 10)
	xMax = math.Ceil(xMax/xStep) * xStep
	x := func(s float64) float64 { return padLeft + max(0, min(s, xMax))/xMax*innerW }
	for v := 0.0; v <= xMax+xStep/2; v += xStep {
		p.XTicks = append(p.XTicks, tick{x(v), trimFloat(v) + "s"})
	}

	var y func(msv float64) float64
	if logScale {
		lo := math.Pow(10, math.Floor(math.Log10(max(0.1, min(minLat, 1e9)))))
		hi := math.Pow(10, math.Ceil(math.Log10(max(lo*10, maxLat))))
		if len(recs) == 0 {
			lo, hi = 1, 1000
		}
		y = func(v float64) float64 {
			v = max(lo, min(v, hi))
			return padTop + innerH - (math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))*innerH
		}
		for v := lo; v <= hi*1.001; v *= 10 {
			p.YTicks = append(p.YTicks, tick{y(v), trimFloat(v)})
		}
		p.YLabel = "latency (ms, log)"
	} else {
		step := niceStep(max(maxLat, 1) / 5)
		hi := math.Ceil(max(maxLat, 1)/step) * step
		y = func(v float64) float64 { return padTop + innerH - max(0, min(v, hi))/hi*innerH }
		for v := 0.0; v <= hi+step/2; v += step {
			p.YTicks = append(p.YTicks, tick{y(v), trimFloat(v)})
		}
	}

	for i, u := range sum.Updates {
		margin := sum.UpdateMarginS
		p.Windows = append(p.Windows, plotWindow{
			X: x(u.StartS), W: max(1, x(u.EndS)-x(u.StartS)), MarginW: x(u.EndS+margin) - x(u.EndS),
			LabelY: padTop - 30 + float64(i%3)*11,
			Label:  fmt.Sprintf("%s %s → %s", u.Service, u.From, u.To),
		})
	}
	for i, m := range sum.Markers {
		p.Markers = append(p.Markers, plotMarker{X: x(m.AtS), LabelY: padTop + 12 + float64(i%3)*11, Label: m.Label})
	}

	// Downsample successes by a fixed stride; keep every failure.
	failed := 0
	for _, r := range recs {
		if !r.OK() {
			failed++
		}
	}
	stride := 1
	if budget := maxPlotPoints - failed; len(recs)-failed > budget {
		stride = int(math.Ceil(float64(len(recs)-failed) / float64(max(1, budget))))
	}
	colors := versionColors(sum.Versions)
	paths := map[string]*strings.Builder{}
	counts := map[string]int{}
	var fails strings.Builder
	okSeen := 0
	for _, r := range recs {
		pt := fmt.Sprintf("M%.1f %.1fh0", x(r.Start.Seconds()), y(ms(r.Latency)))
		if !r.OK() {
			fails.WriteString(pt)
			p.Failures.Count++
			continue
		}
		okSeen++
		if (okSeen-1)%stride != 0 {
			continue
		}
		v := r.Version
		if v == "" {
			v = "(none)"
		}
		if paths[v] == nil {
			paths[v] = &strings.Builder{}
		}
		paths[v].WriteString(pt)
		counts[v]++
	}
	for _, v := range sum.Versions {
		if counts[v.Version] == 0 {
			continue
		}
		p.Series = append(p.Series, plotSeries{Label: v.Version, Color: colors[v.Version], Path: paths[v.Version].String(), Count: counts[v.Version]})
		p.Shown += counts[v.Version]
	}
	p.Failures.Label, p.Failures.Color, p.Failures.Path = "failed", failColor, fails.String()
	p.Shown += p.Failures.Count

	// p99 per second, as a line over the dots.
	buckets := map[int][]time.Duration{}
	for _, r := range recs {
		s := int(r.Start / time.Second)
		buckets[s] = append(buckets[s], r.Latency)
	}
	secs := make([]int, 0, len(buckets))
	for s := range buckets {
		secs = append(secs, s)
	}
	slices.Sort(secs)
	var line []string
	for _, s := range secs {
		line = append(line, fmt.Sprintf("%.1f,%.1f", x(float64(s)+0.5), y(percentiles(buckets[s]).P99)))
	}
	p.P99Line = strings.Join(line, " ")
	return p
}

// niceStep rounds raw up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*pow >= raw {
			return m * pow
		}
	}
	return 10 * pow
}

func trimFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
