package bench

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// Route is one kind of request of the load mix.
type Route uint8

// The routes of the demo shop that the load can send.
const (
	RoutePage        Route = iota // GET /: the web front page.
	RouteCreateOrder              // POST /api/orders with a unique item.
	RouteGetOrder                 // GET /api/orders/{id} of an order this run created.
	numRoutes
)

var routeNames = [numRoutes]string{"GET /", "POST /api/orders", "GET /api/orders/{id}"}

func (r Route) String() string {
	if r < numRoutes {
		return routeNames[r]
	}
	return fmt.Sprintf("route(%d)", uint8(r))
}

// MarshalText writes the route as "METHOD /path".
func (r Route) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads a route written by MarshalText.
func (r *Route) UnmarshalText(b []byte) error {
	for i, n := range routeNames {
		if n == string(b) {
			*r = Route(i)
			return nil
		}
	}
	return fmt.Errorf("unknown route %q: want one of %s", b, strings.Join(routeNames[:], ", "))
}

// Style is how a request got its connection.
type Style uint8

// The two connection styles, run side by side.
const (
	KeepAlive Style = iota // reuses idle connections
	Fresh                  // a new TCP+TLS connection per request
	numStyles
)

var styleNames = [numStyles]string{"keepalive", "fresh"}

func (s Style) String() string {
	if s < numStyles {
		return styleNames[s]
	}
	return fmt.Sprintf("style(%d)", uint8(s))
}

// MarshalText writes "keepalive" or "fresh".
func (s Style) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a style written by MarshalText.
func (s *Style) UnmarshalText(b []byte) error {
	for i, n := range styleNames {
		if n == string(b) {
			*s = Style(i)
			return nil
		}
	}
	return fmt.Errorf("unknown connection style %q: want keepalive or fresh", b)
}

// Weight gives a route its share of the mix.
type Weight struct {
	Route  Route `json:"route"`
	Weight int   `json:"weight"`
}

// Config is the load of one run. Start from DefaultConfig.
type Config struct {
	// BaseURL is where the shop answers, e.g. https://shop.localhost.
	BaseURL string
	// DialAddr, when set, is the host:port every connection is dialled at,
	// whatever the URL's host; TLS still verifies the URL's host name.
	DialAddr string
	// CAFile is a PEM file of the CA that signed the shop's certificate;
	// empty means the system roots.
	CAFile string
	// Rate is the arrival rate in requests per second, both styles together.
	Rate float64
	// Duration bounds the time during which requests are issued.
	Duration time.Duration
	// Mix weighs the routes; a route missing or at 0 is never sent.
	Mix []Weight
	// FreshShare is the share of the rate sent on fresh connections, 0..1;
	// the rest goes over keep-alive connections.
	FreshShare float64
	// Timeout bounds one request, from dial to the last body byte.
	Timeout time.Duration
	// MaxInFlight bounds requests in flight, both styles together; 0 means
	// Rate × Timeout, enough never to hold back the schedule.
	MaxInFlight int
	// UpdateMargin extends every update window when classifying requests,
	// for effects that show once the orchestrator says it is done.
	UpdateMargin time.Duration
	// ItemPrefix starts the item name of every order; a unique suffix is
	// added per request. NewRun turns empty into "bench-<unix seconds>".
	ItemPrefix string
}

// DefaultConfig is 200 req/s for a minute, half front page and half new
// orders, half the requests on fresh connections.
func DefaultConfig() Config {
	return Config{
		BaseURL:      "https://shop.localhost",
		DialAddr:     "127.0.0.1:443",
		Rate:         200,
		Duration:     time.Minute,
		Mix:          []Weight{{RoutePage, 50}, {RouteCreateOrder, 50}},
		FreshShare:   0.5,
		Timeout:      10 * time.Second,
		UpdateMargin: 2 * time.Second,
	}
}

// maxRate and maxDuration keep a mistyped flag from turning a bench into a
// flood: the machine this runs on has two cores.
const (
	maxRate     = 20000
	maxDuration = 24 * time.Hour
)

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	u, err := url.Parse(c.BaseURL)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("base URL %q: %v", c.BaseURL, err))
	case u.Scheme != "https" && u.Scheme != "http" || u.Host == "":
		errs = append(errs, fmt.Errorf("base URL %q must be http(s)://host[:port]", c.BaseURL))
	}
	if !(c.Rate > 0 && c.Rate <= maxRate) {
		errs = append(errs, fmt.Errorf("rate %v req/s must be above 0 and at most %d", c.Rate, maxRate))
	}
	if c.Duration <= 0 || c.Duration > maxDuration {
		errs = append(errs, fmt.Errorf("duration %v must be above 0 and at most %v", c.Duration, maxDuration))
	}
	if !(c.FreshShare >= 0 && c.FreshShare <= 1) {
		errs = append(errs, fmt.Errorf("fresh-connection share %v must be between 0 and 1", c.FreshShare))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout %v must be above 0", c.Timeout))
	}
	if c.MaxInFlight < 0 {
		errs = append(errs, fmt.Errorf("max in-flight %d must not be negative", c.MaxInFlight))
	}
	if c.UpdateMargin < 0 {
		errs = append(errs, fmt.Errorf("update margin %v must not be negative", c.UpdateMargin))
	}
	total := 0
	for _, w := range c.Mix {
		if w.Route >= numRoutes {
			errs = append(errs, fmt.Errorf("mix: unknown route %d", w.Route))
		}
		if w.Weight < 0 {
			errs = append(errs, fmt.Errorf("mix: weight %d of %s must not be negative", w.Weight, w.Route))
		}
		total += w.Weight
	}
	if total <= 0 {
		errs = append(errs, errors.New("mix: give at least one route a positive weight"))
	}
	return errors.Join(errs...)
}

// maxInFlight is the in-flight bound actually used.
func (c Config) maxInFlight() int {
	if c.MaxInFlight > 0 {
		return c.MaxInFlight
	}
	return int(c.Rate*c.Timeout.Seconds()) + 10
}

// tlsConfig trusts the CA of CAFile, or the system roots.
func (c Config) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CAFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", c.CAFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}
