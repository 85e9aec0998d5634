package svc

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Env reads configuration from environment variables. It is a function
// rather than os.Getenv directly so tests can hand in a map without touching
// the process environment.
type Env func(key string) string

// String returns the variable's value, or def when it is unset or empty.
func (e Env) String(key, def string) string {
	if v := strings.TrimSpace(e(key)); v != "" {
		return v
	}
	return def
}

// Duration parses a Go duration such as "5s" or "500ms", or returns def when
// the variable is unset. Negative values are rejected: every duration the
// services read is a delay or a timeout.
func (e Env) Duration(key string, def time.Duration) (time.Duration, error) {
	v := strings.TrimSpace(e(key))
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q is not a Go duration (examples: 500ms, 5s, 1m)", key, v)
	}
	if d < 0 {
		return 0, fmt.Errorf("%s=%q must not be negative", key, v)
	}
	return d, nil
}

// Port parses a TCP port number, or returns def when the variable is unset.
func (e Env) Port(key string, def int) (int, error) {
	v := strings.TrimSpace(e(key))
	if v == "" {
		return def, nil
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("%s=%q is not a TCP port (1-65535)", key, v)
	}
	return p, nil
}

// ReadSecretFile returns the content of a secret file such as a Docker
// secret mounted under /run/secrets. Trailing newlines are removed because
// `echo pw | docker secret create` and most editors add one, and a password
// with a stray "\n" fails authentication in a way that is hard to see.
// Errors name the file but never include its content.
func ReadSecretFile(path string) (string, error) {
	if path == "" {
		return "", errors.New("secret file path is empty")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read secret: %w (mount it as a Docker secret or point the *_FILE variable at it)", err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("secret file %s is empty", path)
	}
	return s, nil
}
