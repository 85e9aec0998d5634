// amtime answers, with Alertmanager's own time interval code, whether named time intervals
// of a configuration are active at given instants. Built by .ci/install-tools inside a copy
// of the Alertmanager module (so it uses exactly the targeted version's code and go.sum).
//
// Usage: amtime alertmanager.yml < queries, one "<interval name> <RFC 3339 instant>" per
// line; prints "true" or "false" per line.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/config"
)

func main() {
	cfg, err := config.LoadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	intervals := map[string]config.TimeInterval{}
	for _, ti := range cfg.TimeIntervals {
		intervals[ti.Name] = ti
	}
	scanner := bufio.NewScanner(os.Stdin)
	for scanner.Scan() {
		name, instant, _ := strings.Cut(strings.TrimSpace(scanner.Text()), " ")
		ti, ok := intervals[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "no time interval %q\n", name)
			os.Exit(2)
		}
		t, err := time.Parse(time.RFC3339, instant)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		active := false
		for _, r := range ti.TimeIntervals {
			active = active || r.ContainsTime(t)
		}
		fmt.Println(active)
	}
}
