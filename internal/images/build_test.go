package images

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a Runner that records commands and answers image inspects
// from a table of labels.
type recorder struct {
	labels map[string]string // ref -> labels JSON
	calls  []string
}

func (r *recorder) Run(_ context.Context, _ io.Writer, _ io.Reader, name string, args ...string) error {
	r.calls = append(r.calls, name+" "+strings.Join(args, " "))
	if name == "docker" && args[0] == "pull" {
		return fmt.Errorf("no such host")
	}
	return nil
}

func (r *recorder) Output(_ context.Context, name string, args ...string) (string, error) {
	if name == "docker" && len(args) > 4 && args[0] == "image" {
		if l, ok := r.labels[args[len(args)-1]]; ok {
			return l, nil
		}
		return "", fmt.Errorf("No such image")
	}
	return "", fmt.Errorf("unexpected %s %v", name, args)
}

func writeServices(t *testing.T, dir, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "services", "api"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "services", "VERSION"), []byte("0.1.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "services", "api", "main.go"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestServiceVersionFollowsSource(t *testing.T) {
	dir := t.TempDir()
	writeServices(t, dir, "package main // v1")
	v1, err := ServiceVersion(dir)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := ServiceVersion(dir)
	writeServices(t, dir, "package main // v2")
	v2, _ := ServiceVersion(dir)
	if !strings.HasPrefix(v1, "0.1.0-") || v1 != again || v1 == v2 {
		t.Fatalf("versions %q, %q, %q: want stable for the same source, new for a changed one", v1, again, v2)
	}
	if _, err := ServiceVersion(t.TempDir()); err == nil || !strings.Contains(err.Error(), "--source") {
		t.Fatalf("missing VERSION: %v", err)
	}
}

func TestEnsureReusesOnlyMatchingInputs(t *testing.T) {
	dir := t.TempDir()
	writeServices(t, dir, "package main")
	b := &Builder{SourceDir: dir, Progress: io.Discard, Offline: true}
	im := Image{Key: "api", Ref: "berth.local/shop-api:x", Kind: KindService, Deps: []string{"golang"}}
	hash, err := b.inputsHash(context.Background(), im)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		labels    map[string]string
		want      string
		wantBuild bool
	}{
		{"cached", map[string]string{im.Ref: fmt.Sprintf(`{%q:%q}`, inputsLabel, hash)}, "cached", false},
		{"inputs changed", map[string]string{im.Ref: fmt.Sprintf(`{%q:"old"}`, inputsLabel)}, "built", true},
		{"missing", nil, "built", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{labels: tc.labels}
			b.Run = r
			got, err := b.ensureOne(context.Background(), im, "[1/1]")
			if err != nil || got != tc.want {
				t.Fatalf("ensureOne = %q, %v; want %q", got, err, tc.want)
			}
			built := len(r.calls) > 0 && strings.HasPrefix(r.calls[len(r.calls)-1], "docker build")
			if built != tc.wantBuild {
				t.Fatalf("calls %v", r.calls)
			}
			if built && !strings.Contains(r.calls[len(r.calls)-1], inputsLabel+"="+hash) {
				t.Fatalf("build does not record its inputs: %s", r.calls[len(r.calls)-1])
			}
		})
	}
}

func TestOfficialBaseImageIsUsedAsIs(t *testing.T) {
	r := &recorder{labels: map[string]string{"debian:bookworm-slim": `{}`}}
	b := &Builder{Run: r, Progress: io.Discard, Offline: true}
	got, err := b.ensureOne(context.Background(), Image{Key: "debian", Ref: "debian:bookworm-slim", Kind: KindDebootstrap}, "[1/1]")
	if err != nil || got != "present" || len(r.calls) != 0 {
		t.Fatalf("ensureOne = %q, %v, calls %v; want the official image used as is", got, err, r.calls)
	}
}

func TestCatalogOrder(t *testing.T) {
	seen := map[string]bool{}
	for _, im := range Catalog("1") {
		for _, d := range im.Deps {
			if !seen[d] {
				t.Errorf("%s depends on %s, which comes later", im.Key, d)
			}
		}
		seen[im.Key] = true
	}
}

func TestLineFilter(t *testing.T) {
	var out bytes.Buffer
	w := (&Builder{Progress: &out}).stepWriter("api", "Step ")
	_, _ = io.WriteString(w, "Sending build context\nStep 1/3 : FROM x\r\n noise\nStep 2/3 : RU")
	_, _ = io.WriteString(w, "N go build\n")
	want := "       api          Step 1/3 : FROM x\n       api          Step 2/3 : RUN go build\n"
	if out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
}

func TestBuildVariant(t *testing.T) {
	dir := t.TempDir()
	writeServices(t, dir, "package main")
	r := &recorder{}
	b := &Builder{Run: r, Progress: io.Discard, SourceDir: dir}
	ref, err := b.BuildVariant(context.Background(), "api", "0.2.0", "crash")
	if err != nil || ref != "berth.local/shop-api:0.2.0-crash" {
		t.Fatalf("BuildVariant = %q, %v", ref, err)
	}
	last := r.calls[len(r.calls)-1]
	for _, want := range []string{"VERSION=0.2.0", "FAULT=crash", "-t berth.local/shop-api:0.2.0-crash"} {
		if !strings.Contains(last, want) {
			t.Errorf("build %q lacks %q", last, want)
		}
	}
	for _, bad := range [][2]string{{"db", ""}, {"api", "slow"}} {
		if _, err := b.BuildVariant(context.Background(), bad[0], "1", bad[1]); err == nil {
			t.Errorf("BuildVariant(%q, fault %q) accepted", bad[0], bad[1])
		}
	}
}
