package audit

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	sarif "github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// sarifModule carries the OASIS SARIF 2.1.0 schema (errata 01) verbatim, as
// an unexported constant; it is public domain. The tests read it from the
// module's source so that berth's SARIF is checked against the complete
// official schema, not a trimmed copy.
const sarifModule = "github.com/owenrumney/go-sarif/v3"

func officialSARIFSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", sarifModule).Output()
	if err != nil {
		t.Fatalf("locating %s: %v", sarifModule, err)
	}
	file := filepath.Join(strings.TrimSpace(string(out)), "pkg", "report", "v210", "sarif", "schema.go")
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var text string
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok && len(vs.Names) == 1 && vs.Names[0].Name == "schema" {
			if lit, ok := vs.Values[0].(*ast.BasicLit); ok {
				text, _ = strconv.Unquote(lit.Value)
			}
		}
		return text == ""
	})
	if !strings.Contains(text, `"Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"`) {
		t.Fatalf("%s does not hold the SARIF 2.1.0 schema", file)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	const url = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// TestSARIFOfficialSchema validates berth's SARIF output, byte for byte as
// it is written, against the official schema, and reads it back with an
// independent SARIF library.
func TestSARIFOfficialSchema(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go command not on PATH")
	}
	sch := officialSARIFSchema(t)
	var b bytes.Buffer
	if err := WriteSARIF(&b, goldenReport(t), "test"); err != nil {
		t.Fatal(err)
	}
	empty := func() []byte {
		var e bytes.Buffer
		if err := WriteSARIF(&e, &Report{Findings: []Finding{}}, "test"); err != nil {
			t.Fatal(err)
		}
		return e.Bytes()
	}()
	for name, doc := range map[string][]byte{"golden": b.Bytes(), "empty": empty} {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("%s SARIF is not valid against the official SARIF 2.1.0 schema: %v", name, err)
		}
		// An independent SARIF reader sees the same results. (go-sarif's
		// own Validate re-marshals its structs with null arrays, so it
		// cannot judge a document it read; the schema check above does.)
		var r sarif.Report
		if err := json.Unmarshal(doc, &r); err != nil {
			t.Fatalf("%s SARIF does not read back: %v", name, err)
		}
		var raw struct {
			Runs []struct {
				Results []json.RawMessage `json:"results"`
			} `json:"runs"`
		}
		_ = json.Unmarshal(doc, &raw)
		if len(r.Runs) != 1 || len(raw.Runs) != 1 || len(r.Runs[0].Results) != len(raw.Runs[0].Results) {
			t.Errorf("%s SARIF: go-sarif reads %d runs, want 1 with %d results", name, len(r.Runs), len(raw.Runs[0].Results))
		}
	}
	// The schema is strict enough to matter: a wrong level is refused.
	bad := strings.Replace(b.String(), `"level": "error"`, `"level": "fatal"`, 1)
	if bad == b.String() {
		bad = strings.Replace(b.String(), `"level": "warning"`, `"level": "fatal"`, 1)
	}
	if bad == b.String() {
		t.Fatal("the golden SARIF has no result level to corrupt")
	}
	inst, _ := jsonschema.UnmarshalJSON(strings.NewReader(bad))
	if sch.Validate(inst) == nil {
		t.Error("the official schema accepted a result with level \"fatal\"")
	}
}
