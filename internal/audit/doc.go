// Package audit owns berth's readiness rules for compose and stack files,
// Dockerfiles and daemon.json: the explicit list Rules, the profiles that
// select and weigh them, suppressions (inline and from a config file), the
// readiness score by area, and the reporters (text, JSON, SARIF 2.1.0).
//
// audit is pure: it judges models loaded by internal/compose and never
// talks to a Docker engine, reads the network, or imports internal/cli,
// internal/harden or any other berth package but internal/compose.
package audit
