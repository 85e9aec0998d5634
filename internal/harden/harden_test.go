package harden

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/berth-platform/berth/internal/audit"
	"github.com/berth-platform/berth/internal/compose"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestMain(m *testing.M) {
	flag.Parse()
	logrus.SetOutput(io.Discard)
	os.Exit(m.Run())
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update to accept)\ngot:\n%s", name, got)
	}
}

func summary(r *Result) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "added %d\n", len(r.Added))
	for _, c := range r.Commands {
		fmt.Fprintf(&b, "command: %s\n", c)
	}
	for _, h := range r.Human {
		fmt.Fprintf(&b, "human: %s: %s\n", h.Path, h.What)
	}
	return b.Bytes()
}

func TestHardenGoldenAndIdempotent(t *testing.T) {
	src, err := os.ReadFile("testdata/laptop.yml")
	if err != nil {
		t.Fatal(err)
	}
	once, err := Harden("laptop.yml", src, Options{Stack: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "laptop.hardened.yml", once.Output)
	golden(t, "laptop.summary.txt", summary(once))

	twice, err := Harden("laptop.yml", once.Output, Options{Stack: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(once.Output, twice.Output) {
		t.Errorf("harden is not idempotent; second pass:\n%s", twice.Output)
	}
	if len(twice.Added) != 0 {
		t.Errorf("second pass added %d defaults: %+v", len(twice.Added), twice.Added)
	}

	// Comments and user settings survive.
	out := string(once.Output)
	for _, keep := range []string{"# The shop, as it runs on a laptop.", "# pinned by CI", "failure_action: pause # keep: we page on failed updates", "memory: 64M", "interval: 15s", "replicas: 3", "<<: *env"} {
		if !strings.Contains(out, keep) {
			t.Errorf("hardened output lost %q", keep)
		}
	}
	if strings.Contains(out, "hunter2hunter2") || strings.Contains(out, "9f8e7d6c5b4a39281706f5e4d3c2b1a0") {
		t.Error("a literal secret survived hardening")
	}
}

// TestHardenedAuditsClean: what remains at warning or above after harden is
// only what harden reports as needing a human.
func TestHardenedAuditsClean(t *testing.T) {
	src, _ := os.ReadFile("testdata/laptop.yml")
	res, err := Harden("laptop.yml", src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := filepath.Join(dir, "stack.yml")
	if err := os.WriteFile(f, res.Output, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := compose.Load(context.Background(), compose.LoadOptions{Files: []string{f}, NoDotEnv: true})
	if err != nil {
		t.Fatalf("hardened file does not load: %v", err)
	}
	rep := audit.Check(audit.Input{Project: p}, audit.Options{BaseDir: dir})
	human := map[string]bool{
		"security.user":                true, // harden cannot know the image's users
		"deploy.update.failure-action": true, // the user chose pause
		"deploy.placement.stateful":    true, // needs the node that holds the volume
		"ports.edge-ingress":           true, // changing publish mode changes the file's meaning
		"ports.published":              true,
		"networks.single":              true, // tiers are an architecture decision
	}
	for _, fd := range rep.Findings {
		if fd.Severity >= audit.Warning && !human[fd.Rule] {
			t.Errorf("after harden: %s:%d %s %s", fd.File, fd.Line, fd.Rule, fd.Message)
		}
	}
}

func TestHardenErrors(t *testing.T) {
	for _, src := range []string{"services: [", "a: 1\n---\nb: 2\n", "- x\n", "version: '3'\n"} {
		if _, err := Harden("x.yml", []byte(src), Options{}); err == nil {
			t.Errorf("Harden(%q) succeeded", src)
		}
	}
}
