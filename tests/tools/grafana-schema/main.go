// Command grafana-schema checks Grafana dashboard JSON files against the dashboard schema of
// grafana-foundation-sdk (strict: unknown fields and wrong types are errors, then the schema's
// own constraints). A test tool only: built by .ci/install-grafana-schema, run by
// tests/test_dashboards_schema.py. Prints one line per error and exits 1 when there is any.
package main

import (
	"fmt"
	"os"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// The SDK returns a typed nil cog.BuildErrors on success: an error value that is not nil.
func failed(err error) bool {
	if be, ok := err.(cog.BuildErrors); ok {
		return len(be) > 0
	}
	return err != nil
}

func main() {
	plugins.RegisterDefaultPlugins()
	bad := 0
	for _, path := range os.Args[1:] {
		raw, err := os.ReadFile(path)
		if err != nil {
			fmt.Printf("%s: %v\n", path, err)
			bad++
			continue
		}
		var d dashboard.Dashboard
		if err := d.UnmarshalJSONStrict(raw); failed(err) {
			fmt.Printf("%s: %v\n", path, err)
			bad++
			continue
		}
		if err := d.Validate(); failed(err) {
			fmt.Printf("%s: %v\n", path, err)
			bad++
		}
	}
	if bad > 0 {
		os.Exit(1)
	}
}
