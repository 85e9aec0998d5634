// Package bench owns berth's load generator and its reports: an open-model
// (constant arrival rate) HTTP load against the demo shop, one compact record
// per request, update windows and markers that the caller sets while the load
// runs, the summary and goal verdicts drawn from the records, and the JSON and
// self-contained HTML reports of one or more named runs side by side.
//
// # Load engine
//
// The load is driven by github.com/tsenart/vegeta/v12 used as a library.
// vegeta's Result keeps the response headers and body, so X-Berth-Version and
// the id of a created order are read from it; no own generator was needed.
// Two attackers run at once over the same duration: one that keeps
// connections alive and one that opens a fresh connection per request, each
// at its share of the total rate. Each gets its own *http.Client through
// vegeta.Client: vegeta.KeepAlive(false) sets DisableKeepAlives on the
// transport but also swaps the dialer back to vegeta's own, which would lose
// the dial override that sends *.localhost to 127.0.0.1 and the dial counter;
// so the transport is built here with DisableKeepAlives set the same way.
// The transport speaks HTTP/1.1 only, so that "keep-alive" means one request
// at a time per reused connection, as in a browser without HTTP/2.
//
// vegeta's pacer is open-model: a request is issued when the schedule says,
// whether or not earlier ones have answered, and new workers are spawned when
// all are busy, up to Config.MaxInFlight. Past that bound the pacer waits and
// then catches up in a burst. vegeta numbers hits in schedule order, so each
// record's lag behind its schedule is known: Summary.LateIssued and
// IssueLagMaxMS show when the open model did not hold.
//
// bench never talks to Docker, Postgres or any berth package: the caller
// (the bench command) performs the updates, marks them with Run.MarkUpdate,
// and verifies acknowledged orders through an OrderVerifier it supplies.
// bench must not import internal/cli, internal/swarm or internal/deploy.
package bench
