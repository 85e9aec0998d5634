package compose

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"

	"gopkg.in/yaml.v3"
)

// Daemon is a Docker daemon.json: its decoded settings and, for positions,
// its nodes (JSON is YAML, so the YAML index serves both).
type Daemon struct {
	Path     string
	Settings map[string]any
	source   *SourceFile
}

// LoadDaemon reads and parses a daemon.json.
func LoadDaemon(path string) (*Daemon, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &LoadError{File: path, Err: err}
	}
	return ParseDaemon(path, data)
}

// ParseDaemon parses daemon.json content; dockerd rejects invalid JSON, and
// so does this, with the line and column of the error.
func ParseDaemon(path string, data []byte) (*Daemon, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	d := &Daemon{Path: path}
	if err := json.Unmarshal(data, &d.Settings); err != nil {
		le := &LoadError{File: path, Err: err}
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			le.Line, le.Column = offsetPosition(data, se.Offset)
		case errors.As(err, &te):
			le.Line, le.Column = offsetPosition(data, te.Offset)
			le.Err = errors.New("daemon.json must be a JSON object")
		}
		return nil, le
	}
	if d.Settings == nil {
		return nil, &LoadError{File: path, Line: 1, Column: 1, Err: errors.New("daemon.json must be a JSON object, not null")}
	}
	if sf, err := ParseSource(path, data); err == nil {
		d.source = sf
	}
	return d, nil
}

// Locate maps a key path to its position (line 1 when unknown).
func (d *Daemon) Locate(path Path) Location {
	if d.source == nil {
		return Location{File: d.Path, Line: 1, Column: 1, Path: path.String()}
	}
	return locate([]*SourceFile{d.source}, path)
}

// Raw returns the node at path, or nil.
func (d *Daemon) Raw(path Path) *yaml.Node {
	if d.source == nil {
		return nil
	}
	return rawNode([]*SourceFile{d.source}, path)
}
