package audit

import (
	"fmt"
	"sort"

	"github.com/berth-platform/berth/internal/compose"
)

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sprint(v any) string { return fmt.Sprint(v) }

func itoa(i int) string { return fmt.Sprint(i) }

func pathOf(segs ...string) compose.Path { return compose.P(segs...) }

type dfInstruction = compose.Instruction

type (
	dfFile  = compose.Dockerfile
	dfStage = compose.Stage
)

func locationOf(file string, line, col int, path string) compose.Location {
	return compose.Location{File: file, Line: line, Column: col, Path: path, Exact: true}
}
