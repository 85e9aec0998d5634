//go:build race

package bench

// The race detector slows TLS and the scheduler by an order of magnitude:
// on two shared cores, rate and latency assertions would judge the detector.
const raceEnabled = true
