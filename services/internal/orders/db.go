package orders

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/berth-platform/berth/services/internal/svc"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultPasswordFile is where Swarm mounts the db_password secret.
const DefaultPasswordFile = "/run/secrets/db_password"

// DBConfig is how to reach Postgres. Password comes only from a file: an
// environment variable would show up in `docker inspect`, in /proc and in
// crash dumps.
type DBConfig struct {
	Host     string
	Port     int
	Name     string
	User     string
	Password string
	SSLMode  string
	AppName  string // shown in pg_stat_activity
}

var sslModes = map[string]bool{
	"disable": true, "allow": true, "prefer": true, "require": true, "verify-ca": true, "verify-full": true,
}

// LoadDBConfig reads DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_SSLMODE and the
// password from the file named by DB_PASSWORD_FILE. A DB_PASSWORD variable,
// if set, is ignored on purpose.
func LoadDBConfig(env svc.Env, appName string) (DBConfig, error) {
	c := DBConfig{
		Host:    env.String("DB_HOST", "postgres"),
		Name:    env.String("DB_NAME", "shop"),
		User:    env.String("DB_USER", "shop"),
		SSLMode: env.String("DB_SSLMODE", "disable"),
		AppName: appName,
	}
	port, err := env.Port("DB_PORT", 5432)
	if err != nil {
		return DBConfig{}, err
	}
	c.Port = port
	if !sslModes[c.SSLMode] {
		return DBConfig{}, fmt.Errorf("DB_SSLMODE=%q is not a libpq sslmode (disable, allow, prefer, require, verify-ca, verify-full)", c.SSLMode)
	}
	pw, err := svc.ReadSecretFile(env.String("DB_PASSWORD_FILE", DefaultPasswordFile))
	if err != nil {
		return DBConfig{}, fmt.Errorf("database password (DB_PASSWORD_FILE): %w", err)
	}
	c.Password = pw
	return c, nil
}

// LogValue keeps the password out of logs even when the whole config is
// logged.
func (c DBConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("host", c.Host), slog.Int("port", c.Port), slog.String("name", c.Name),
		slog.String("user", c.User), slog.String("sslmode", c.SSLMode),
	)
}

// PoolConfig builds the pgx pool configuration. The password is set on the
// parsed config rather than written into the connection string, so no
// string that might end up in an error or a log ever contains it; it also
// overrides any PGPASSWORD that pgx would otherwise pick up from the
// environment.
func (c DBConfig) PoolConfig() (*pgxpool.Config, error) {
	u := url.URL{
		Scheme: "postgres",
		User:   url.User(c.User),
		Host:   net.JoinHostPort(c.Host, strconv.Itoa(c.Port)),
		Path:   "/" + c.Name,
	}
	q := url.Values{}
	q.Set("sslmode", c.SSLMode)
	q.Set("connect_timeout", "5")
	if c.AppName != "" {
		q.Set("application_name", c.AppName)
	}
	u.RawQuery = q.Encode()
	cfg, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		return nil, fmt.Errorf("database settings: %w", err)
	}
	cfg.ConnConfig.Password = c.Password
	cfg.MaxConns = 10
	cfg.MaxConnIdleTime = 5 * time.Minute
	return cfg, nil
}

// NewPool returns a pool that connects lazily: it fails only on bad
// settings, never because the database is down, so the service can start
// serving /healthz (503) while it waits for the database.
func NewPool(ctx context.Context, c DBConfig) (*pgxpool.Pool, error) {
	cfg, err := c.PoolConfig()
	if err != nil {
		return nil, err
	}
	return pgxpool.NewWithConfig(ctx, cfg)
}
