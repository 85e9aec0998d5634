package svc

import (
	"log/slog"
	"os"
	"time"
)

// Fault turns a build into a deliberately bad release, for proving that a
// deploy of it is rolled back: set at build time with
// -ldflags "-X github.com/berth-platform/berth/services/internal/svc.Fault=...".
//
//   - "unhealthy": startup never completes, so /healthz never passes;
//   - "crash": the process exits with status 3 a few seconds after startup
//     completed (after its health check passed once).
//
// Empty (the default) is a normal build.
var Fault = ""

// crashAfter is how long a "crash" build lives after startup: long enough
// for Swarm to count the task running, short enough to fall inside the
// update's monitor window.
var crashAfter = 6 * time.Second

// exit is os.Exit, swapped in tests.
var exit = os.Exit

// faultOnStart applies Fault when startup completes; it reports whether
// startup may be marked complete.
func faultOnStart(log *slog.Logger) bool {
	switch Fault {
	case "unhealthy":
		log.Warn("fault injection: this build never becomes healthy", "fault", Fault)
		return false
	case "crash":
		log.Warn("fault injection: this build crashes after startup", "fault", Fault, "after", crashAfter.String())
		time.AfterFunc(crashAfter, func() {
			log.Error("fault injection: crashing now", "fault", Fault)
			exit(3)
		})
	}
	return true
}
