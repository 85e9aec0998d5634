package audit

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var themeTitles = map[string]string{
	"health": "Health checks", "resources": "Resources", "updates": "Updates and rollbacks",
	"spread": "Replicas and placement", "secrets": "Secrets", "runtime": "Runtime security",
	"images": "Images", "mounts": "Host mounts", "networks": "Networks", "logging": "Logging",
	"ports": "Ports", "traefik": "Traefik labels", "daemon": "daemon.json", "observability": "Observability",
	"compose": "Compose format",
}

// renderRuleDocs writes docs/rules/<theme>.md from Rules, so every rule's
// page says exactly what the code checks.
func renderRuleDocs() map[string][]byte {
	out := map[string][]byte{}
	var themes []string
	byTheme := map[string][]*Rule{}
	for i := range Rules {
		r := &Rules[i]
		if byTheme[r.Theme] == nil {
			themes = append(themes, r.Theme)
		}
		byTheme[r.Theme] = append(byTheme[r.Theme], r)
	}
	var index bytes.Buffer
	index.WriteString("# berth audit rules\n\nGenerated from `internal/audit` by `go test ./internal/audit -run TestRuleDocs -update`; do not edit by hand.\n\n| theme | rules |\n|---|---|\n")
	for _, th := range themes {
		var b bytes.Buffer
		fmt.Fprintf(&b, "# %s\n\nGenerated from `internal/audit` (`go test ./internal/audit -run TestRuleDocs -update`); do not edit by hand.\n", themeTitles[th])
		for _, r := range byTheme[th] {
			fmt.Fprintf(&b, "\n## %s\n\n**%s**  \n", r.ID, r.Title)
			prof := []string{}
			for _, p := range ProfileNames {
				if s := r.SeverityIn(p); s != Off {
					prof = append(prof, fmt.Sprintf("%s: %s", p, s))
				}
			}
			fmt.Fprintf(&b, "Area: %s. Severity: %s.\n\n", r.Area, strings.Join(prof, ", "))
			fmt.Fprintf(&b, "Why it matters: %s\n\nFix: %s\n\nSuppress with a reason: `# berth:ignore %s <reason>` on or above the line.\n", r.Why, r.Fix, r.ID)
		}
		out[th+".md"] = b.Bytes()
		fmt.Fprintf(&index, "| [%s](%s.md) | %d |\n", themeTitles[th], th, len(byTheme[th]))
	}
	out["README.md"] = index.Bytes()
	return out
}

func TestRuleDocs(t *testing.T) {
	dir := filepath.Join("..", "..", "docs", "rules")
	for name, want := range renderRuleDocs() {
		p := filepath.Join(dir, name)
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is stale: go test ./internal/audit -run TestRuleDocs -update", p)
		}
	}
}

// TestRuleListComplete: every rule has an ID in a namespace, a theme with a
// docs page, a title, why, fix and exactly one check.
func TestRuleListComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules {
		checks := 0
		for _, c := range []bool{r.Service != nil, r.Project != nil, r.Dockerfile != nil, r.Daemon != nil} {
			if c {
				checks++
			}
		}
		if seen[r.ID] || !strings.Contains(r.ID, ".") || themeTitles[r.Theme] == "" || r.Title == "" || r.Why == "" || r.Fix == "" || checks != 1 {
			t.Errorf("rule %q is incomplete or duplicated", r.ID)
		}
		seen[r.ID] = true
	}
}
