package audit

import (
	"math/rand"
	"strings"
	"testing"
)

// referencedIn must agree with the definition it replaces: a scan of every
// unset variable for $V, ${V}, ${V:? and ${V?.
func TestUnsetVarsReferencedIn(t *testing.T) {
	naive := func(names []string, value string) bool {
		for _, v := range names {
			if strings.Contains(value, "${"+v+"}") || strings.Contains(value, "$"+v) || strings.Contains(value, "${"+v+":?") || strings.Contains(value, "${"+v+"?") {
				return true
			}
		}
		return false
	}
	rng := rand.New(rand.NewSource(1))
	alphabet := []string{"$", "{", "}", ":", "?", "-", "A", "B", "_", "AB", "TAG", "x"}
	word := func(n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteString(alphabet[rng.Intn(len(alphabet))])
		}
		return b.String()
	}
	for i := 0; i < 100000; i++ {
		var names []string
		for j := rng.Intn(4); j > 0; j-- {
			names = append(names, strings.Trim(word(1+rng.Intn(3)), "${}:?-"))
		}
		value := word(rng.Intn(12))
		if got, want := newUnsetVars(names).referencedIn(value), naive(names, value); got != want {
			t.Fatalf("names %q, value %q: got %v, want %v", names, value, got, want)
		}
	}
}

// A literalRe must match exactly what its regexp matches.
func TestLiteralRe(t *testing.T) {
	res := []literalRe{statefulImageRe, edgeImageRe, socketProxyRe, drainEnvRe, fileVariantImages[0].re, fileVariantImages[1].re}
	rng := rand.New(rand.NewSource(2))
	parts := []string{"", "/", ":", "@", "-", "_", "Postgres", "postgres", "NGINX", "nginx", "bitnami/", "Bitnami/Redis", "grafana", "victoria-metrics", "socket-proxy", "DockerProxy",
		"SHUTDOWN", "_TIMEOUT", "timeout", "drain", "graceful", "registry.example.com", "1.2", "kong", "\u212a", "ſ", "a", "é", "library"}
	for i := 0; i < 200000; i++ {
		var b strings.Builder
		for j := rng.Intn(5); j >= 0; j-- {
			b.WriteString(parts[rng.Intn(len(parts))])
		}
		s := b.String()
		for _, r := range res {
			if got, want := r.MatchString(s), r.re.MatchString(s); got != want {
				t.Fatalf("%s on %q: %v, want %v", r.re, s, got, want)
			}
		}
	}
}

func TestPermute(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for n := 0; n < 50; n++ {
		fs := make([]Finding, n)
		for i := range fs {
			fs[i].Line = i
		}
		order := rng.Perm(n)
		want := make([]int, n)
		copy(want, order)
		permute(fs, order)
		for i := range fs {
			if fs[i].Line != want[i] {
				t.Fatalf("n=%d: fs[%d] is %d, want %d", n, i, fs[i].Line, want[i])
			}
		}
	}
}
