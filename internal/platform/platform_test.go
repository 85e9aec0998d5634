package platform

import (
	"crypto/x509"
	"encoding/pem"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite golden files")

func testValues() Values {
	return Values{
		Domain: "localhost", Profile: ProfileLocal,
		Images: map[string]string{
			"traefik": "berth.local/traefik:v3.6.12", "socket-proxy": "berth.local/docker-socket-proxy:haproxy-2.6",
			"postgres": "berth.local/postgres:15-bookworm", "api": "berth.local/shop-api:0.1.0-abc",
			"web": "berth.local/shop-web:0.1.0-abc", "worker": "berth.local/shop-worker:0.1.0-abc",
		},
		DockerGID: 105, EndpointMode: "dnsrr", HTTPPort: 80, HTTPSPort: 443,
	}
}

// TestRenderGolden pins the generated stack files; refresh with -update.
func TestRenderGolden(t *testing.T) {
	prod := testValues()
	prod.Profile, prod.ACMEEmail, prod.Domain = ProfileProduction, "ops@example.com", "example.com"
	prod.EndpointMode, prod.EncryptedOverlay, prod.StartInterval = "vip", true, true
	cases := map[string]Values{"local": testValues(), "production": prod}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			v.NaivePort = 8444
			rendered, err := RenderStacks(v, append(Stacks, Baseline))
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rendered {
				for file, got := range r.Files {
					path := filepath.Join("testdata", "golden", name, r.Stack.Name, file)
					if *update {
						if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
							t.Fatal(err)
						}
						if err := os.WriteFile(path, got, 0o644); err != nil {
							t.Fatal(err)
						}
						continue
					}
					want, err := os.ReadFile(path)
					if err != nil {
						t.Fatalf("%v (run go test ./internal/platform -update)", err)
					}
					if string(got) != string(want) {
						t.Errorf("%s differs from golden file; run with -update and review the diff", path)
					}
				}
			}
		})
	}
}

// TestRenderedStacksHaveProductionDefaults checks every service of every
// stack carries the settings berth promises, independently of the goldens.
func TestRenderedStacksHaveProductionDefaults(t *testing.T) {
	rendered, err := Render(testValues())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rendered {
		var doc struct {
			Services map[string]struct {
				User        string         `yaml:"user"`
				ReadOnly    bool           `yaml:"read_only"`
				CapDrop     []string       `yaml:"cap_drop"`
				CapAdd      []string       `yaml:"cap_add"`
				Healthcheck map[string]any `yaml:"healthcheck"`
				Logging     struct {
					Driver  string            `yaml:"driver"`
					Options map[string]string `yaml:"options"`
				} `yaml:"logging"`
				Environment map[string]string `yaml:"environment"`
				Deploy      struct {
					EndpointMode string `yaml:"endpoint_mode"`
					Resources    struct {
						Limits       map[string]any `yaml:"limits"`
						Reservations map[string]any `yaml:"reservations"`
					} `yaml:"resources"`
					UpdateConfig   map[string]any    `yaml:"update_config"`
					RollbackConfig map[string]any    `yaml:"rollback_config"`
					RestartPolicy  map[string]any    `yaml:"restart_policy"`
					Labels         map[string]string `yaml:"labels"`
				} `yaml:"deploy"`
				Networks []string `yaml:"networks"`
				Image    string   `yaml:"image"`
			} `yaml:"services"`
		}
		if err := yaml.Unmarshal(r.Files[r.Stack.File], &doc); err != nil {
			t.Fatalf("%s: %v", r.Stack.File, err)
		}
		if len(doc.Services) == 0 {
			t.Fatalf("%s: no services", r.Stack.File)
		}
		for name, s := range doc.Services {
			where := r.Stack.Name + "/" + name
			if s.User == "" || strings.HasPrefix(s.User, "0") || strings.HasPrefix(s.User, "root") {
				t.Errorf("%s: user %q is not a numeric non-root user", where, s.User)
			}
			if !s.ReadOnly {
				t.Errorf("%s: read_only not set", where)
			}
			if len(s.CapDrop) != 1 || s.CapDrop[0] != "ALL" || len(s.CapAdd) != 0 {
				t.Errorf("%s: cap_drop %v cap_add %v, want [ALL] and none", where, s.CapDrop, s.CapAdd)
			}
			if s.Healthcheck["test"] == nil || s.Healthcheck["start_period"] == nil {
				t.Errorf("%s: health check without test or start_period", where)
			}
			if s.Logging.Driver != "json-file" || s.Logging.Options["max-size"] == "" || s.Logging.Options["max-file"] == "" {
				t.Errorf("%s: no json-file log rotation", where)
			}
			if s.Deploy.EndpointMode != "dnsrr" {
				t.Errorf("%s: endpoint_mode %q, want dnsrr on a kernel without IPVS", where, s.Deploy.EndpointMode)
			}
			if s.Deploy.Resources.Limits["memory"] == nil || s.Deploy.Resources.Limits["cpus"] == nil ||
				s.Deploy.Resources.Reservations["memory"] == nil || s.Deploy.Resources.Reservations["cpus"] == nil {
				t.Errorf("%s: missing cpu/memory limits or reservations", where)
			}
			if s.Deploy.UpdateConfig["failure_action"] != "rollback" || s.Deploy.UpdateConfig["monitor"] == nil || s.Deploy.UpdateConfig["order"] == nil {
				t.Errorf("%s: update_config %v lacks failure_action rollback, monitor or order", where, s.Deploy.UpdateConfig)
			}
			if s.Deploy.RollbackConfig == nil || s.Deploy.RestartPolicy == nil {
				t.Errorf("%s: no rollback_config or restart_policy", where)
			}
			if s.Deploy.Labels[StackHashLabel] != StackHashPlaceholder {
				t.Errorf("%s: no %s label", where, StackHashLabel)
			}
			for k, v := range s.Environment {
				if strings.Contains(strings.ToUpper(k), "PASSWORD") && !strings.HasSuffix(k, "_FILE") {
					t.Errorf("%s: %s=%s: a password in the environment", where, k, v)
				}
			}
			if name == "postgres" {
				for _, n := range s.Networks {
					if n != "data" {
						t.Errorf("postgres joins network %s: the database must be on the data tier only", n)
					}
				}
			}
			if name == "traefik" {
				for _, n := range s.Networks {
					if n == "data" || n == "app" {
						t.Errorf("traefik joins %s: the edge must not reach other tiers' networks", n)
					}
				}
			}
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Values)
		want string
	}{
		{"ok", func(*Values) {}, ""},
		{"bad domain", func(v *Values) { v.Domain = "not a domain" }, "not a valid DNS name"},
		{"unknown profile", func(v *Values) { v.Profile = "staging" }, "unknown profile"},
		{"production without email", func(v *Values) { v.Profile = ProfileProduction }, "--acme-email"},
		{"same ports", func(v *Values) { v.HTTPSPort = 80 }, "must differ"},
		{"port out of range", func(v *Values) { v.HTTPPort = 70000 }, "out of range"},
		{"endpoint mode", func(v *Values) { v.EndpointMode = "ingress" }, "endpoint mode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := testValues()
			tc.mod(&v)
			err := v.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestRenderMissingImageFails(t *testing.T) {
	v := testValues()
	delete(v.Images, "postgres")
	if _, err := Render(v); err == nil || !strings.Contains(err.Error(), `no image reference for "postgres"`) {
		t.Fatalf("Render without a postgres image: %v", err)
	}
}

func TestLocalTLS(t *testing.T) {
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	tls, err := NewLocalTLS("localhost", now)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(tls.CACert) {
		t.Fatal("CA PEM does not parse")
	}
	block, _ := pem.Decode(tls.Cert)
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"shop.localhost", "traefik.localhost"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: roots, CurrentTime: now}); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "shop.example.com", Roots: roots, CurrentTime: now}); err == nil {
		t.Error("certificate verifies for a name outside the domain")
	}
	if k, _ := pem.Decode(tls.Key); k == nil || k.Type != "PRIVATE KEY" {
		t.Error("key is not a PKCS#8 PEM block")
	}
}

func TestHtpasswdLine(t *testing.T) {
	line, err := HtpasswdLine("admin", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	user, hash, ok := strings.Cut(strings.TrimSpace(string(line)), ":")
	if !ok || user != "admin" {
		t.Fatalf("line %q", line)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte("s3cret")) != nil {
		t.Error("hash does not match the password")
	}
	if strings.Contains(string(line), "s3cret") {
		t.Error("plain password in the users file")
	}
}
