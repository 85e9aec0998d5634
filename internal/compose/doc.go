// Package compose loads the inputs berth audits and hardens, exactly as Docker
// reads them: compose and stack files through compose-go (interpolation, .env,
// anchors and merge keys, extends, include, several -f files), Dockerfiles
// through BuildKit's parser, and daemon.json as JSON. Alongside each resolved
// model it keeps the raw YAML nodes, so any YAML path
// (services.web.deploy.resources) maps back to a file, line and column.
//
// compose owns loading and positions only. It judges nothing (that is
// internal/audit) and must not import any other berth package, nor the Docker
// engine client.
package compose
