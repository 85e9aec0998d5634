package audit

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/berth-platform/berth/internal/compose"
	"github.com/berth-platform/berth/internal/compose/composetest"
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
	p, err := compose.Load(context.Background(), compose.LoadOptions{Files: []string{file}, NoDotEnv: true, Dockerfiles: true})
	if err != nil {
		b.Fatal(err)
	}
	return Check(Input{Project: p}, Options{})
}

func auditDockerfile(b testing.TB, file string) *Report {
	d, err := compose.LoadDockerfile(file)
	if err != nil {
		b.Fatal(err)
	}
	return Check(Input{Dockerfiles: []*compose.Dockerfile{d}}, Options{})
}

// corpus writes n stack files of size(rng) services each (about 25 lines
// per service: anchors merged with <<, variables with defaults, environment
// as maps and lists, Traefik labels, healthchecks, deploy blocks, secrets,
// configs), each in its own directory with the Dockerfile some of its
// services build from, plus n/5 standalone Dockerfiles. It returns the
// stack files, the Dockerfiles, and the total number of services.
func corpus(b testing.TB, n int, size func(*rand.Rand) int) (stacks, dockerfiles []string, services int) {
	rng := rand.New(rand.NewSource(42))
	dir := b.TempDir()
	write := func(path, content string) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		s := size(rng)
		services += s
		f := filepath.Join(dir, fmt.Sprintf("stack%03d", i), "stack.yml")
		write(f, composetest.Stack(rng, s))
		write(filepath.Join(filepath.Dir(f), composetest.BuildContext, "Dockerfile"), composetest.Dockerfile(rng))
		stacks = append(stacks, f)
	}
	for i := 0; i < n/5; i++ {
		f := filepath.Join(dir, fmt.Sprintf("image%03d", i), "Dockerfile")
		write(f, composetest.Dockerfile(rng))
		dockerfiles = append(dockerfiles, f)
	}
	return stacks, dockerfiles, services
}

// Corpus shapes: "large" is 10 to 40 services per file, uniformly (about
// 7,500 services); "typical" is skewed to small files the way most compose
// files are, an assumed log-normal of median 5 services (90 % of files at
// most 13), from 1 to 40 (about 1,900 services).
var corpusShapes = []struct {
	name string
	size func(*rand.Rand) int
}{
	{"typical", func(rng *rand.Rand) int {
		return min(40, max(1, int(math.Round(5*math.Exp(0.75*rng.NormFloat64())))))
	}},
	{"large", func(rng *rand.Rand) int { return 10 + rng.Intn(31) }},
}

// BenchmarkCorpus audits a corpus of 300 stack files and 60 Dockerfiles,
// on every core, as berth audit would audit them one by one: one op is the
// whole corpus.
func BenchmarkCorpus(b *testing.B) {
	for _, shape := range corpusShapes {
		b.Run(shape.name, func(b *testing.B) {
			stacks, dockerfiles, services := corpus(b, 300, shape.size)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				work := make(chan func())
				var wg sync.WaitGroup
				for w := 0; w < runtime.GOMAXPROCS(0); w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for job := range work {
							job()
						}
					}()
				}
				for _, f := range stacks {
					work <- func() { auditFile(b, f) }
				}
				for _, f := range dockerfiles {
					work <- func() { auditDockerfile(b, f) }
				}
				close(work)
				wg.Wait()
			}
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64((len(stacks)+len(dockerfiles))*b.N)/sec, "files/s")
			b.ReportMetric(float64(services*b.N)/sec, "services/s")
			b.ReportMetric(float64(services), "services")
		})
	}
}

// BenchmarkServices shows cost against file size: ns per service should stay
// flat from a hundred services to thousands. (compose-go, like docker
// compose, refuses a document of more than 100,000 nodes: about 2,200 of
// these services.)
func BenchmarkServices(b *testing.B) {
	benchServices(b, []int{100, 1000, 2000}, func(n int) string { return composetest.Stack(rand.New(rand.NewSource(7)), n) })
}

// BenchmarkDenseServices is the same with every service dense (30 lines,
// each attribute set), the linearity test's file.
func BenchmarkDenseServices(b *testing.B) {
	benchServices(b, []int{100, 2000}, genStack)
}

// benchServices audits one file of n services made by gen, for each n, and
// reports the time per service.
func benchServices(b *testing.B, sizes []int, gen func(n int) string) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			f := filepath.Join(b.TempDir(), "stack.yml")
			if err := os.WriteFile(f, []byte(gen(n)), 0o644); err != nil {
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
	// Allocations, not time: they are the same on a busy CI machine, so the
	// check cannot flake; the benchmarks above report the time per service.
	perService := func(n int) float64 {
		f := filepath.Join(t.TempDir(), "stack.yml")
		if err := os.WriteFile(f, []byte(genStack(n)), 0o644); err != nil {
			t.Fatal(err)
		}
		return testing.AllocsPerRun(2, func() { auditFile(t, f) }) / float64(n)
	}
	small, large := perService(40), perService(800)
	t.Logf("allocations per service: %.0f at 40 services, %.0f at 800", small, large)
	if large > 1.5*small {
		t.Errorf("work grows faster than linearly: %.0f allocations/service at 800 vs %.0f at 40", large, small)
	}
}
