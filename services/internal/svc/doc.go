// Package svc is the runtime shared by berth's demo services (api, web,
// worker): configuration from the environment and secret files, the JSON
// logger, the HTTP server with its health state machine (starting, ready,
// draining), request metrics and access logs, and the `healthcheck`
// subcommand that scratch images use in place of curl.
//
// It owns process plumbing only, never business logic, so every service
// behaves the same way during a rolling update. It must not import berth's
// own internal packages: the services are a separate module so that their
// image builds stay small.
package svc
