package audit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/compose"
)

// genStack writes a realistic stack file with n services: a mix of hardened
// and laptop-style services, anchors, labels, ports and volumes.
func genStack(n int) string {
	var b strings.Builder
	b.WriteString("x-logging: &logging\n  driver: json-file\n  options:\n    max-size: 10m\n    max-file: \"3\"\n\nservices:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `  svc%d:
    image: registry.example.com/team/svc%d:${TAG_%d:-1.%d.0}
    user: "10001:10001"
    read_only: %v
    cap_drop: [ALL]
    environment:
      LOG_LEVEL: info
      DB_HOST: db%d
      API_TOKEN: tok-%08x
    healthcheck:
      test: ["CMD", "/app", "healthcheck"]
      interval: 10s
      timeout: 3s
      retries: 3
    logging: *logging
    ports:
      - "%d:8080"
    volumes:
      - data%d:/data
      - /var/run/docker.sock:/var/run/docker.sock:ro
    networks: [app]
    deploy:
      replicas: %d
      labels:
        traefik.enable: "true"
        traefik.http.routers.svc%d.rule: Host(`+"`svc%d.example.com`"+`)
        traefik.http.routers.svc%d.entrypoints: websecure
      resources:
        limits: {cpus: "0.5", memory: 256M}
      update_config: {parallelism: 1, order: start-first, failure_action: rollback, monitor: 30s}
`, i, i, i, i%9, i%2 == 0, i, i*7919, 10000+i, i, 1+i%3, i, i, i)
	}
	b.WriteString("networks:\n  app:\n    driver: overlay\nvolumes:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  data%d: {}\n", i)
	}
	return b.String()
}

func auditFile(b testing.TB, file string) *Report {
	p, err := compose.Load(context.Background(), compose.LoadOptions{Files: []string{file}, NoDotEnv: true})
	if err != nil {
		b.Fatal(err)
	}
	return Check(Input{Project: p}, Options{})
}

// BenchmarkCorpus audits 300 real-world-sized stack files (8 services, about
// 250 lines each): one op is the whole corpus.
func BenchmarkCorpus(b *testing.B) {
	dir := b.TempDir()
	var files []string
	for i := 0; i < 300; i++ {
		f := filepath.Join(dir, fmt.Sprintf("stack%03d.yml", i))
		if err := os.WriteFile(f, []byte(genStack(8)), 0o644); err != nil {
			b.Fatal(err)
		}
		files = append(files, f)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		// Files are independent projects: audit them on every core, as
		// berth audit does for a corpus.
		work := make(chan string)
		var wg sync.WaitGroup
		for w := 0; w < runtime.GOMAXPROCS(0); w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for f := range work {
					auditFile(b, f)
				}
			}()
		}
		for _, f := range files {
			work <- f
		}
		close(work)
		wg.Wait()
	}
	b.ReportMetric(float64(len(files)*b.N)/time.Since(start).Seconds(), "files/s")
}

// BenchmarkServices shows cost against file size: ns per service should stay
// flat from 10 to 2,000 services.
func BenchmarkServices(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 2000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			f := filepath.Join(b.TempDir(), "stack.yml")
			if err := os.WriteFile(f, []byte(genStack(n)), 0o644); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				auditFile(b, f)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/service")
		})
	}
}

// BenchmarkDockerfileRun parses and checks a Dockerfile whose RUN spans
// thousands of continuation lines.
func BenchmarkDockerfileRun(b *testing.B) {
	for _, n := range []int{500, 5000} {
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			var s strings.Builder
			s.WriteString("FROM debian:12\nRUN set -e \\\n")
			for i := 0; i < n; i++ {
				fmt.Fprintf(&s, "  && echo step-%d >> /log \\\n", i)
			}
			s.WriteString("  && true\nUSER 10001\n")
			data := []byte(s.String())
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				d, err := compose.ParseDockerfile("Dockerfile", data)
				if err != nil {
					b.Fatal(err)
				}
				Check(Input{Dockerfiles: []*compose.Dockerfile{d}}, Options{})
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/line")
		})
	}
}

// TestLinearCost keeps the per-service cost from growing with file size.
func TestLinearCost(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	perService := func(n int) float64 {
		f := filepath.Join(t.TempDir(), "stack.yml")
		if err := os.WriteFile(f, []byte(genStack(n)), 0o644); err != nil {
			t.Fatal(err)
		}
		best := time.Duration(1 << 62)
		for i := 0; i < 3; i++ {
			st := time.Now()
			auditFile(t, f)
			if d := time.Since(st); d < best {
				best = d
			}
		}
		return float64(best) / float64(n)
	}
	small, large := perService(40), perService(800)
	t.Logf("per service: %.0fns at 40 services, %.0fns at 800", small, large)
	if large > 3*small {
		t.Errorf("cost grows faster than linearly: %.0fns/service at 800 vs %.0fns at 40", large, small)
	}
}
