package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// TextOptions tune the human report.
type TextOptions struct {
	Color bool
	// Verbose adds the why and the fix under each finding.
	Verbose bool
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
	ansiGreen  = "\x1b[32m"
)

// WriteText writes findings grouped by service, then the score table.
func WriteText(w io.Writer, r *Report, o TextOptions) error {
	paint := func(code, s string) string {
		if !o.Color {
			return s
		}
		return code + s + ansiReset
	}
	sevColor := map[Severity]string{Error: ansiRed, Warning: ansiYellow, Info: ansiCyan}
	var b strings.Builder
	groups := map[string][]Finding{}
	for _, f := range r.Findings {
		g := f.Service
		if g == "" {
			g = f.File
		}
		groups[g] = append(groups[g], f)
	}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	for _, g := range names {
		fs := groups[g]
		label := g
		if fs[0].Service != "" {
			label = "service " + g
		}
		fmt.Fprintf(&b, "%s\n", paint(ansiBold, label))
		for _, f := range fs {
			fmt.Fprintf(&b, "  %s:%d:%d  %s  %s  %s\n", f.File, f.Line, f.Column,
				paint(sevColor[f.Severity], fmt.Sprintf("%-7s", f.Severity)), paint(ansiDim, f.Rule), f.Message)
			if o.Verbose {
				if rule := RuleByID(f.Rule); rule != nil {
					fmt.Fprintf(&b, "      why: %s\n", rule.Why)
				}
				fmt.Fprintf(&b, "      fix: %s\n      see: %s\n", f.Fix, f.Docs)
			} else {
				fmt.Fprintf(&b, "      fix: %s\n", f.Fix)
			}
		}
		b.WriteByte('\n')
	}
	if len(r.Suppressed) > 0 {
		fmt.Fprintf(&b, "%s\n", paint(ansiBold, "suppressed"))
		for _, s := range r.Suppressed {
			fmt.Fprintf(&b, "  %s:%d  %s  %s (by %s)\n", s.File, s.Line, s.Rule, s.Reason, s.By)
		}
		b.WriteByte('\n')
	}
	writeScores(&b, r, paint)
	counts := map[Severity]int{}
	for _, f := range r.Findings {
		counts[f.Severity]++
	}
	summary := fmt.Sprintf("%d errors, %d warnings, %d info, %d suppressed (profile %s)", counts[Error], counts[Warning], counts[Info], len(r.Suppressed), r.Profile)
	if len(r.Findings) == 0 {
		summary = paint(ansiGreen, "no findings") + fmt.Sprintf(", %d suppressed (profile %s)", len(r.Suppressed), r.Profile)
	}
	fmt.Fprintln(&b, summary)
	if len(r.Unset) > 0 {
		fmt.Fprintf(&b, "note: variables not set at audit time (their default, or \"\", was used as Docker does): %s\n", strings.Join(r.Unset, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeScores(b *strings.Builder, r *Report, paint func(string, string) string) {
	fmt.Fprintf(b, "%s\n", paint(ansiBold, "readiness by area"))
	fmt.Fprintf(b, "  %-14s %6s %6s  %s\n", "area", "checks", "passed", "score")
	for _, s := range r.Scores {
		bar := strings.Repeat("#", s.Score/10) + strings.Repeat(".", 10-s.Score/10)
		color := ansiGreen
		switch {
		case s.Score < 50:
			color = ansiRed
		case s.Score < 90:
			color = ansiYellow
		}
		score := "   -"
		if s.Checks > 0 {
			score = fmt.Sprintf("%3d%%", s.Score)
		}
		fmt.Fprintf(b, "  %-14s %6d %6d  %s %s\n", s.Area, s.Checks, s.Passed, paint(color, score), paint(color, bar))
	}
	b.WriteByte('\n')
}
