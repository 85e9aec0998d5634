package orders

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func envFrom(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func writeSecret(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "db_password")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadDBConfigDefaults(t *testing.T) {
	c, err := LoadDBConfig(envFrom(map[string]string{"DB_PASSWORD_FILE": writeSecret(t, "pw\n")}), "api")
	if err != nil {
		t.Fatal(err)
	}
	want := DBConfig{Host: "postgres", Port: 5432, Name: "shop", User: "shop", Password: "pw", SSLMode: "disable", AppName: "api"}
	if c != want {
		t.Fatalf("config = %+v, want %+v", c, want)
	}
}

// TestPasswordNeverFromEnv sets every variable a password could come from
// and checks that only the file counts.
func TestPasswordNeverFromEnv(t *testing.T) {
	t.Setenv("PGPASSWORD", "from-pgpassword") // pgx itself would read this one
	env := map[string]string{"DB_PASSWORD": "from-env", "DB_PASSWORD_FILE": filepath.Join(t.TempDir(), "missing")}

	if _, err := LoadDBConfig(envFrom(env), "api"); err == nil || !strings.Contains(err.Error(), "DB_PASSWORD_FILE") {
		t.Fatalf("err = %v, want a missing-file error naming DB_PASSWORD_FILE even though DB_PASSWORD is set", err)
	}

	env["DB_PASSWORD_FILE"] = writeSecret(t, "from-file\n")
	c, err := LoadDBConfig(envFrom(env), "api")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := c.PoolConfig()
	if err != nil {
		t.Fatal(err)
	}
	if got := pc.ConnConfig.Password; got != "from-file" {
		t.Fatalf("pool password = %q, want the file's content", got)
	}
	if s := pc.ConnString(); strings.Contains(s, "from-") {
		t.Fatalf("connection string %q carries a password", s)
	}
}

func TestLoadDBConfigErrors(t *testing.T) {
	pw := writeSecret(t, "pw")
	tests := map[string]map[string]string{
		"DB_PORT":    {"DB_PASSWORD_FILE": pw, "DB_PORT": "postgres"},
		"DB_SSLMODE": {"DB_PASSWORD_FILE": pw, "DB_SSLMODE": "on"},
		"is empty":   {"DB_PASSWORD_FILE": writeSecret(t, "\n")},
	}
	for want, env := range tests {
		if _, err := LoadDBConfig(envFrom(env), "api"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to mention %q", err, want)
		}
	}
}

func TestDBConfigLogValueHidesPassword(t *testing.T) {
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("db", "db", DBConfig{Host: "pg", User: "shop", Password: "hunter2"})
	if strings.Contains(buf.String(), "hunter2") || !strings.Contains(buf.String(), `"host":"pg"`) {
		t.Fatalf("log line = %s", buf.String())
	}
}
