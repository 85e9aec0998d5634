package compose

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// LoadError says why an input could not be loaded, and where.
type LoadError struct {
	File   string
	Line   int // 1-based; 0 when unknown
	Column int // 1-based; 0 when unknown
	Field  string
	Err    error
}

func (e *LoadError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *LoadError) Unwrap() error { return e.Err }

var yamlLineRe = regexp.MustCompile(`(?:yaml: )?line (\d+)(?:, column (\d+))?`)

// yamlErrorPosition extracts "line N[, column M]" from a YAML parser error.
func yamlErrorPosition(msg string) (line, col int) {
	m := yamlLineRe.FindStringSubmatch(msg)
	if m == nil {
		return 0, 0
	}
	line, _ = strconv.Atoi(m[1])
	if m[2] != "" {
		col, _ = strconv.Atoi(m[2])
	}
	return line, col
}

// offsetPosition turns a byte offset into a 1-based line and column.
func offsetPosition(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line, col = 1, 1
	for _, c := range data[:off] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}
