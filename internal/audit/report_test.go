package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/berth-platform/berth/internal/compose"
)

func goldenReport(t *testing.T) *Report {
	t.Helper()
	dir, _ := filepath.Abs("testdata/golden")
	p, err := compose.Load(context.Background(), compose.LoadOptions{Files: []string{filepath.Join(dir, "stack.yml")}, Dockerfiles: true, NoDotEnv: true})
	if err != nil {
		t.Fatal(err)
	}
	d, err := compose.LoadDaemon(filepath.Join(dir, "daemon.json"))
	if err != nil {
		t.Fatal(err)
	}
	return Check(Input{Project: p, Daemon: d}, Options{BaseDir: dir})
}

// golden compares got with testdata/golden/name, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update to accept):\n%s", name, firstDiff(string(got), string(want)))
	}
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + itoa(i+1) + ":\n got: " + gl + "\nwant: " + wl
		}
	}
	return ""
}

func TestGoldenText(t *testing.T) {
	r := goldenReport(t)
	var b bytes.Buffer
	if err := WriteText(&b, r, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.txt", b.Bytes())
	b.Reset()
	if err := WriteText(&b, r, TextOptions{Color: true, Verbose: true}); err != nil {
		t.Fatal(err)
	}
	golden(t, "report-color-verbose.txt", b.Bytes())
}

func TestGoldenJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, goldenReport(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.json", b.Bytes())
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatalf("JSON report does not read back: %v", err)
	}
}

func TestGoldenSARIF(t *testing.T) {
	var b bytes.Buffer
	if err := WriteSARIF(&b, goldenReport(t), "test"); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.sarif", b.Bytes())
	validateSARIF(t, b.Bytes())
}

func validateSARIF(t *testing.T, doc []byte) {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	sch, err := c.Compile("testdata/sarif-2.1.0-trimmed.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("SARIF output is not valid SARIF 2.1.0: %v", err)
	}
}

func TestSARIFSchemaRejectsBadLogs(t *testing.T) {
	c := jsonschema.NewCompiler()
	sch, err := c.Compile("testdata/sarif-2.1.0-trimmed.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		`{"version":"2.0.0","runs":[]}`,
		`{"version":"2.1.0","runs":[{"tool":{"driver":{}}}]}`,
		`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"message":{"text":"m"},"level":"fatal"}]}]}`,
		`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"message":{"text":"m"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"a"},"region":{"startLine":0}}}]}]}]}`,
	} {
		inst, _ := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if sch.Validate(inst) == nil {
			t.Errorf("schema accepted an invalid log: %s", bad)
		}
	}
}

func TestSARIFEmptyReport(t *testing.T) {
	var b bytes.Buffer
	if err := WriteSARIF(&b, &Report{Findings: []Finding{}}, "test"); err != nil {
		t.Fatal(err)
	}
	validateSARIF(t, b.Bytes())
}
