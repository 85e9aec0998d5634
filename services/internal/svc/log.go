package svc

import (
	"io"
	"log/slog"
	"strings"
)

// NewLogger returns a JSON logger whose every line carries the service name
// and version, so that a log store can tell releases apart during a rolling
// update. level is LOG_LEVEL's value: debug, info (default), warn or error.
func NewLogger(w io.Writer, info Info, level string) *slog.Logger {
	var l slog.Level
	switch strings.ToLower(strings.TrimSpace(level)) {
	case "debug":
		l = slog.LevelDebug
	case "warn", "warning":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})
	return slog.New(h).With("service", info.Service, "version", info.Version)
}
