package svc

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Healthcheck is the `healthcheck` subcommand: it GETs the service's own
// /healthz and returns the process exit code, 0 on 200 and 1 otherwise.
// Images built FROM scratch have no curl or wget, so the binary checks
// itself for Docker's HEALTHCHECK.
func Healthcheck(args []string, env Env, stderr io.Writer) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", HealthcheckURL(env.String("LISTEN_ADDR", DefaultListenAddr)), "URL to check")
	timeout := fs.Duration("timeout", 2*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return 1
	}
	// A bare transport: no proxy from the environment, no connection reuse
	// (the process exits right after).
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "healthcheck: %s: %s\n", *url, resp.Status)
		return 1
	}
	return 0
}

// HealthcheckURL is the /healthz URL for a listen address: the loopback
// address for a wildcard host (":8080", "0.0.0.0:8080", "[::]:8080"), else
// the host itself.
func HealthcheckURL(listenAddr string) string {
	host, port, err := net.SplitHostPort(listenAddr)
	if err != nil {
		host, port = "", "8080"
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz"
}
