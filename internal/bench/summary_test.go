package bench

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPercentilesExact(t *testing.T) {
	var lat []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	got := percentiles(lat)
	want := Latency{Count: 100, P50: 50, P95: 95, P99: 99, Max: 100}
	if got != want {
		t.Errorf("percentiles = %+v, want %+v", got, want)
	}
	if got := percentiles(nil); got != (Latency{}) {
		t.Errorf("percentiles(nil) = %+v", got)
	}
	if got := percentiles([]time.Duration{7 * time.Millisecond}); got.P50 != 7 || got.P99 != 7 {
		t.Errorf("one latency: %+v", got)
	}
}

func TestClassificationSteadyOrDuringUpdate(t *testing.T) {
	cfg := DefaultConfig()
	cfg.UpdateMargin = 2 * time.Second
	run, _ := NewRun("berth", cfg)
	run.SetStart(t0)
	run.MarkUpdate("web", "1", "2", t0.Add(10*time.Second), t0.Add(15*time.Second))
	run.MarkUpdate("api", "1", "2", t0.Add(30*time.Second), t0.Add(31*time.Second))
	for _, tc := range []struct {
		at     time.Duration
		during bool
	}{
		{9999 * time.Millisecond, false},
		{10 * time.Second, true},
		{15 * time.Second, true},
		{17 * time.Second, true}, // margin end is inclusive
		{17*time.Second + time.Millisecond, false},
		{25 * time.Second, false},
		{30500 * time.Millisecond, true},
		{33500 * time.Millisecond, false},
	} {
		rec := Record{Start: tc.at, Latency: time.Duration(tc.at.Seconds()) * time.Millisecond, Code: 200}
		if got := run.DuringUpdate(rec); got != tc.during {
			t.Errorf("request at %v: during update = %v, want %v", tc.at, got, tc.during)
		}
		run.AddRecord(rec)
	}
	s := run.Summary()
	if s.SteadyRequests != 4 || s.UpdateRequests != 4 || s.Steady.Count != 4 || s.DuringUpdate.Count != 4 {
		t.Errorf("steady %d/%d, during %d/%d, want 4 each", s.SteadyRequests, s.Steady.Count, s.UpdateRequests, s.DuringUpdate.Count)
	}
	if len(s.Updates) != 2 || s.Updates[0].DurationS != 5 || s.Updates[0].Requests != 3 || s.Updates[1].Requests != 1 {
		t.Errorf("updates = %+v", s.Updates)
	}
	if s.Steady.Max != 33 || s.DuringUpdate.Max != 30 {
		t.Errorf("steady max %v, during max %v: records went to the wrong side", s.Steady.Max, s.DuringUpdate.Max)
	}
}

func TestFailuresByKind(t *testing.T) {
	run, _ := NewRun("berth", DefaultConfig())
	run.SetStart(t0)
	for _, r := range []Record{
		{Code: 200}, {Code: 302}, {Code: 502}, {Code: 502}, {Code: 404},
		{Error: "EOF"}, {Error: "EOF"},
		{Error: "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"},
		{Error: "dial tcp 127.0.0.1:443: i/o timeout"},
	} {
		run.AddRecord(r)
	}
	s := run.Summary()
	if s.Succeeded != 2 || s.Failed != 7 {
		t.Errorf("succeeded %d failed %d, want 2 and 7 (3xx is a success)", s.Succeeded, s.Failed)
	}
	got := map[string]int{}
	for _, f := range s.Failures {
		got[f.Kind+" "+f.What] = f.Count
	}
	want := map[string]int{
		"status 502": 2, "status 404": 1, "transport EOF": 2,
		"timeout context deadline exceeded (Client.Timeout exceeded while awaiting headers)": 1,
		"timeout dial tcp 127.0.0.1:443: i/o timeout":                                        1,
	}
	if len(got) != len(want) {
		t.Errorf("failures = %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("failures[%q] = %d, want %d", k, got[k], n)
		}
	}
	if s.Failures[0].Count != 2 {
		t.Errorf("failures not sorted by count: %+v", s.Failures)
	}
}

func TestNormalizeError(t *testing.T) {
	for in, want := range map[string]string{
		`Post "https://shop.localhost/api/orders": EOF`: "EOF",
		`Get "https://shop.localhost/api/orders/123": read tcp 127.0.0.1:51234->127.0.0.1:443: read: connection reset by peer`: "read tcp 127.0.0.1:443: read: connection reset by peer",
		`Get "https://shop.localhost/": dial tcp 127.0.0.1:443: connect: connection refused`:                                   "dial tcp 127.0.0.1:443: connect: connection refused",
		"no response": "no response",
	} {
		if got := normalizeError(in); got != want {
			t.Errorf("normalizeError(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMixerKeepsSharesWithoutLongRuns(t *testing.T) {
	m := newMixer([]Weight{{RoutePage, 3}, {RouteCreateOrder, 1}, {RouteGetOrder, 0}})
	counts := map[Route]int{}
	run, longest := 0, 0
	prev := Route(255)
	for range 400 {
		r := m.next()
		counts[r]++
		if r == prev {
			run++
		} else {
			run = 1
		}
		prev = r
		longest = max(longest, run)
	}
	if counts[RoutePage] != 300 || counts[RouteCreateOrder] != 100 || counts[RouteGetOrder] != 0 {
		t.Errorf("counts = %v, want 300/100/0", counts)
	}
	if longest > 3 {
		t.Errorf("longest run of one route = %d, want at most 3", longest)
	}
}

func TestCheck(t *testing.T) {
	base := Summary{
		Requests: 1000, Succeeded: 1000,
		Steady:       Latency{Count: 800, P99: 10},
		DuringUpdate: Latency{Count: 200, P99: 25},
		Orders:       OrderSummary{Acknowledged: 500, Verified: true, Checked: 500},
	}
	for _, tc := range []struct {
		name      string
		edit      func(*Summary)
		maxFailed int
		ratio     float64
		want      []string // substrings, one per violation, in order
	}{
		{"all goals met", func(*Summary) {}, 0, 3, nil},
		{"too many failures", func(s *Summary) { s.Failed = 2 }, 1, 3, []string{"2 failed requests, goal at most 1"}},
		{"failures within budget", func(s *Summary) { s.Failed = 1 }, 1, 3, nil},
		{"p99 ratio exceeded", func(s *Summary) { s.DuringUpdate.P99 = 31 }, 0, 3, []string{"p99 during updates 31.0 ms is above 3 × steady p99 10.0 ms"}},
		{"p99 exactly at ratio", func(s *Summary) { s.DuringUpdate.P99 = 30 }, 0, 3, nil},
		{"ratio 0 skips p99", func(s *Summary) { s.DuringUpdate.P99 = 1e6 }, 0, 0, nil},
		{"no update window", func(s *Summary) { s.DuringUpdate = Latency{} }, 0, 3, []string{"no request during an update window"}},
		{"no steady request", func(s *Summary) { s.Steady = Latency{} }, 0, 3, []string{"no request in steady state"}},
		{"lost orders", func(s *Summary) { s.Orders.Missing = []int64{7, 9} }, 0, 3, []string{"2 acknowledged orders lost (ids 7, 9)"}},
		{"orders not verified", func(s *Summary) { s.Orders.Verified = false }, 0, 3, []string{"500 acknowledged orders not verified"}},
		{"verifier failed", func(s *Summary) { s.Orders.Verified, s.Orders.Error = false, "db down" }, 0, 3, []string{"not verified: db down"}},
		{"no orders, nothing to verify", func(s *Summary) { s.Orders = OrderSummary{} }, 0, 3, nil},
		{"ack without id", func(s *Summary) { s.Orders.WithoutID = 3 }, 0, 3, []string{"3 orders acknowledged without an id"}},
		{"aborted", func(s *Summary) { s.Aborted = true }, 0, 3, []string{"aborted"}},
		{"empty run", func(s *Summary) { *s = Summary{} }, 0, 0, []string{"no request was recorded"}},
		{"everything wrong", func(s *Summary) {
			s.Failed, s.DuringUpdate.P99, s.Orders.Missing = 5, 100, []int64{1}
		}, 0, 2, []string{"5 failed", "p99 during updates", "1 acknowledged orders lost"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base
			s.Orders.Missing = nil
			tc.edit(&s)
			got := s.Check(tc.maxFailed, tc.ratio)
			if len(got) != len(tc.want) {
				t.Fatalf("Check = %q, want %d violations like %q", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("violation %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}

func TestIDListLimits(t *testing.T) {
	ids := make([]int64, 25)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	if got := idList(ids, 10); !strings.HasSuffix(got, "10, … 15 more") {
		t.Errorf("idList = %q", got)
	}
	if !slices.Equal(ids[:2], []int64{1, 2}) {
		t.Fatal("idList changed its input")
	}
}
