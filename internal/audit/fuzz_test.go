package audit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/compose"
)

// The loaders and every rule must survive any input: either a project that
// the rules check without panicking, or a *LoadError naming the file.
func FuzzCompose(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/rules/*/*.txt")
	for _, s := range seeds {
		data, _ := os.ReadFile(s)
		fx := parseFixture(string(data))
		for _, sec := range fx.sections {
			if filepath.Ext(sec.name) == ".yml" || filepath.Ext(sec.name) == ".json" && sec.name != "daemon.json" {
				f.Add([]byte(unescape(sec.body)))
			}
		}
	}
	f.Add([]byte("services: {a: {image: x, ports: [22:22], <<: *nope}}"))
	f.Add([]byte("a: &a [*a]"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		defer watchdog(t, data)()
		file := filepath.Join(dir, "compose.yml")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := compose.Load(context.Background(), compose.LoadOptions{Files: []string{file}, NoDotEnv: true})
		if err != nil {
			var le *compose.LoadError
			if !errors.As(err, &le) || le.File == "" {
				t.Fatalf("load error without a file: %T %v", err, err)
			}
			return
		}
		for _, prof := range ProfileNames {
			Check(Input{Project: p}, Options{Profile: prof})
		}
	})
}

func FuzzDockerfile(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/rules/*/*.txt")
	for _, s := range seeds {
		data, _ := os.ReadFile(s)
		if b, ok := parseFixture(string(data)).get("Dockerfile"); ok {
			f.Add([]byte(b))
		}
	}
	f.Add([]byte("FROM a\nRUN <<EOF\nx\nEOF\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := compose.ParseDockerfile("Dockerfile", data)
		if err != nil {
			var le *compose.LoadError
			if !errors.As(err, &le) || le.Line < 1 {
				t.Fatalf("dockerfile error without a position: %v", err)
			}
			return
		}
		for _, prof := range ProfileNames {
			Check(Input{Dockerfiles: []*compose.Dockerfile{d}}, Options{Profile: prof})
		}
	})
}

func FuzzDaemon(f *testing.F) {
	f.Add([]byte(`{"icc": false, "log-opts": {"max-size": "10m"}}`))
	f.Add([]byte(`{"live-restore": true,}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := compose.ParseDaemon("daemon.json", data)
		if err != nil {
			var le *compose.LoadError
			if !errors.As(err, &le) {
				t.Fatalf("daemon error of type %T", err)
			}
			return
		}
		Check(Input{Daemon: d}, Options{})
	})
}

// watchdog fails the fuzz case when one input takes more than 5 seconds:
// a hang is a bug as much as a panic.
func watchdog(t *testing.T, data []byte) func() {
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			panic(fmt.Sprintf("input took more than 5s: %q", data))
		}
	}()
	return func() { close(done) }
}
