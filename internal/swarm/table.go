package swarm

import (
	"io"
	"strings"
	"text/tabwriter"
)

// table writes aligned columns the way the docker CLI does.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer) *table { return &table{tw: tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)} }

func (t *table) row(cols ...string) { _, _ = io.WriteString(t.tw, strings.Join(cols, "\t")+"\n") }

func (t *table) flush() { _ = t.tw.Flush() }
