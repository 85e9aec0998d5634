package cli

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/berth-platform/berth/internal/audit"
	"github.com/berth-platform/berth/internal/compose"
	"github.com/berth-platform/berth/internal/platform"
)

// stackValues are the two shapes berth renders its stacks in: a local
// single-node swarm and a production one with ACME and encrypted overlays.
func stackValues() map[string]platform.Values {
	local := platform.Values{
		Domain: "localhost", Profile: platform.ProfileLocal,
		Images: map[string]string{
			"traefik": "berth.local/traefik:v3.6.12", "socket-proxy": "berth.local/docker-socket-proxy:haproxy-2.6",
			"postgres": "berth.local/postgres:15-bookworm", "api": "berth.local/shop-api:0.1.0-abc",
			"web": "berth.local/shop-web:0.1.0-abc", "worker": "berth.local/shop-worker:0.1.0-abc",
		},
		DockerGID: 105, EndpointMode: "dnsrr", HTTPPort: 80, HTTPSPort: 443,
	}
	prod := local
	prod.Profile, prod.ACMEEmail, prod.Domain = platform.ProfileProduction, "ops@example.com", "example.com"
	prod.EndpointMode, prod.EncryptedOverlay, prod.StartInterval = "vip", true, true
	return map[string]platform.Values{"local": local, "production": prod}
}

// TestBerthStacksPassAudit keeps berth's own stacks free of findings at
// warning level or above in the swarm-production profile. Exceptions are
// suppressed in the stack files with a reason (# berth:ignore RULE reason).
func TestBerthStacksPassAudit(t *testing.T) {
	logrus.SetOutput(io.Discard)
	for name, v := range stackValues() {
		t.Run(name, func(t *testing.T) {
			rendered, err := platform.Render(v)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rendered {
				dir := t.TempDir()
				for f, data := range r.Files {
					if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				p, err := compose.Load(context.Background(), compose.LoadOptions{Files: []string{filepath.Join(dir, r.Stack.File)}, NoDotEnv: true})
				if err != nil {
					t.Errorf("stack %s does not load: %v", r.Stack.Name, err)
					continue
				}
				rep := audit.Check(audit.Input{Project: p}, audit.Options{BaseDir: dir})
				for _, f := range rep.Findings {
					if f.Severity >= audit.Warning {
						t.Errorf("stack %s: %s:%d %s %s: %s", r.Stack.Name, f.File, f.Line, f.Severity, f.Rule, f.Message)
					}
				}
			}
		})
	}
}
