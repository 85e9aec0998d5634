package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-platform/berth/internal/bench"
	"github.com/berth-platform/berth/internal/deploy"
	"github.com/berth-platform/berth/internal/images"
	"github.com/berth-platform/berth/internal/platform"
	"github.com/berth-platform/berth/internal/swarm"
)

func newBenchCommand(s *Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmarks that prove berth's claims on this machine",
	}
	cmd.AddCommand(newBenchRolloutCommand(s))
	return cmd
}

type benchRolloutOptions struct {
	rate          float64
	rounds        int
	warmup        time.Duration
	cooldown      time.Duration
	updateTimeout time.Duration
	freshShare    float64
	out           string
	source        string
	stateDir      string
	cacheDir      string
	httpsPort     int
	maxFailed     int
	p99Ratio      float64
	baseline      bool
	naivePort     int
}

func newBenchRolloutCommand(s *Streams) *cobra.Command {
	o := &benchRolloutOptions{}
	cmd := &cobra.Command{
		Use:   "rollout",
		Short: "Rolling updates of api and web under constant load: count every failed request",
		Long: `rollout sends an open-model load (constant arrival rate, half GET pages and
half POST orders, half on kept-alive and half on fresh connections) through
Traefik over HTTPS while it performs rounds of rolling updates of api and web
between two builds of the demo (versions bench-a and bench-b). Every request
is recorded: time, route, status or transport error, latency, and the version
that served it. At the end every order acknowledged with 2xx is looked up in
Postgres. It writes rollout.json and rollout.html (latency over time with the
update windows marked, errors, p50/p95/p99 steady vs during updates, update
durations) and exits 1 if a goal is missed: failed requests above
--max-failed, lost orders, or p99 during updates above --p99-ratio times the
steady p99. Afterwards api and web are returned to the images they ran.`,
		Example: `  berth bench rollout
  berth bench rollout --rate 100 --rounds 3 --out /tmp/rollout`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBenchRollout(cmd.Context(), s, o)
		},
	}
	f := cmd.Flags()
	f.Float64Var(&o.rate, "rate", 200, "requests per second (arrival rate)")
	f.IntVar(&o.rounds, "rounds", 5, "rounds; each round rolls api, then web, to the other version")
	f.DurationVar(&o.warmup, "warmup", 20*time.Second, "steady load before the first update")
	f.DurationVar(&o.cooldown, "cooldown", 20*time.Second, "steady load after the last update")
	f.DurationVar(&o.updateTimeout, "update-timeout", 5*time.Minute, "deadline for each rolling update")
	f.Float64Var(&o.freshShare, "fresh-share", 0.5, "share of requests on fresh connections (0..1)")
	f.StringVar(&o.out, "out", "", "directory for rollout.json and rollout.html (default bench-results/rollout-TIMESTAMP)")
	f.StringVar(&o.source, "source", ".", "repository root holding services/")
	f.StringVar(&o.stateDir, "state-dir", defaultStateDir(), "berth's state directory (for ca.crt)")
	f.StringVar(&o.cacheDir, "cache-dir", defaultCacheDir(), "image build cache")
	f.IntVar(&o.httpsPort, "https-port", 443, "Traefik's HTTPS port on this host")
	f.IntVar(&o.maxFailed, "max-failed", 0, "goal: failed requests allowed")
	f.Float64Var(&o.p99Ratio, "p99-ratio", 2, "goal: p99 during updates at most this times the steady p99")
	f.BoolVar(&o.baseline, "baseline", false, "also run the identical load against the naive configuration (30s health checks, no readiness split, no drain, Traefik's default 15s refresh), side by side in the report")
	f.IntVar(&o.naivePort, "baseline-port", 8444, "host port of the baseline's own Traefik")
	return cmd
}

func (o *benchRolloutOptions) validate() error {
	switch {
	case o.rate <= 0 || o.rate > 5000:
		return fmt.Errorf("--rate %v: between 0 and 5000 requests/s on this kind of machine", o.rate)
	case o.rounds < 1 || o.rounds > 50:
		return fmt.Errorf("--rounds %d: between 1 and 50", o.rounds)
	case o.warmup < 5*time.Second || o.cooldown < 5*time.Second:
		return errors.New("--warmup and --cooldown: at least 5s each, or there is no steady state to compare with")
	case o.freshShare < 0 || o.freshShare > 1:
		return fmt.Errorf("--fresh-share %v: between 0 and 1", o.freshShare)
	case o.updateTimeout <= 0:
		return errors.New("--update-timeout must be positive")
	}
	if _, err := os.Stat(filepath.Join(o.stateDir, "ca.crt")); err != nil {
		return fmt.Errorf("no CA certificate in %s: is the platform up (berth up)? %v", o.stateDir, err)
	}
	return nil
}

func runBenchRollout(ctx context.Context, s *Streams, o *benchRolloutOptions) error {
	if err := o.validate(); err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	eng, err := newEngine(ctx)
	if err != nil {
		return err
	}
	defer eng.Close()
	sts, err := swarm.Statuses(ctx, eng, "app")
	if err != nil {
		return err
	}
	original := map[string]string{}
	for _, st := range sts {
		if !st.Ready() {
			return &ExitError{Code: 2, Err: fmt.Errorf("service %s is not ready (%d/%d): bench a healthy platform", st.Name, st.Running, st.Desired)}
		}
		original[st.Name] = st.Image
	}
	if original["app_api"] == "" || original["app_web"] == "" {
		return &ExitError{Code: 2, Err: errors.New("the app stack is not deployed: run berth up first")}
	}
	if o.out == "" {
		o.out = filepath.Join("bench-results", "rollout-"+time.Now().Format("20060102-150405"))
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}

	fmt.Fprintln(s.Out, "==> building the two releases to roll between")
	b := &images.Builder{Run: images.ExecRunner{}, Progress: s.Out, SourceDir: o.source, CacheDir: o.cacheDir, Offline: true}
	releases := map[string][2]string{}
	for _, svc := range []string{"api", "web"} {
		var refs [2]string
		for i, v := range []string{"bench-a", "bench-b"} {
			if refs[i], err = b.BuildVariant(ctx, svc, v, ""); err != nil {
				return err
			}
		}
		releases["app_"+svc] = refs
	}

	berthRun, err := rolloutRun(ctx, s, o, eng, "berth", "https://shop.localhost", o.httpsPort,
		map[string]string{"app_api": original["app_api"], "app_web": original["app_web"]}, releases,
		map[string]string{"app_api": original["app_api"], "app_web": original["app_web"]})
	if err != nil {
		return err
	}
	runs := []*bench.Run{berthRun.run}
	failure := berthRun.failure
	if o.baseline {
		fmt.Fprintln(s.Out, "==> baseline: the naive configuration, same load, same releases")
		naive, err := deployBaseline(ctx, s, o, eng, releases)
		if err != nil {
			return err
		}
		base := map[string][2]string{"naive_api-naive": releases["app_api"], "naive_web-naive": releases["app_web"]}
		current := map[string]string{"naive_api-naive": releases["app_api"][0], "naive_web-naive": releases["app_web"][0]}
		baseRun, err := rolloutRun(ctx, s, o, eng, "baseline", "https://shop-naive.localhost", o.naivePort, current, base, nil)
		if rmErr := (swarm.CLIStackDeployer{}).Remove(ctx, naive); rmErr != nil {
			fmt.Fprintf(s.Err, "removing the baseline stack: %v\n", rmErr)
		}
		if err != nil {
			return err
		}
		runs = append(runs, baseRun.run)
	}

	rep := bench.NewReport("berth bench rollout", runs...)
	rep.Goals = bench.Goals{MaxFailed: o.maxFailed, P99Ratio: o.p99Ratio}
	if err := writeReport(o.out, rep); err != nil {
		return err
	}
	for _, r := range runs {
		fmt.Fprintf(s.Out, "\n[%s]", r.Name)
		printBenchSummary(s.Out, r.Summary())
	}
	fmt.Fprintf(s.Out, "report: %s\n", filepath.Join(o.out, "rollout.html"))
	if failure != nil {
		return &ExitError{Code: 1, Err: failure}
	}
	// Only berth's own run has to meet the goals; the baseline shows what
	// the naive configuration loses.
	if missed := berthRun.run.Summary().Check(o.maxFailed, o.p99Ratio); len(missed) > 0 {
		return &ExitError{Code: 1, Err: fmt.Errorf("goals missed:\n  %s", strings.Join(missed, "\n  "))}
	}
	return nil
}

type rolloutResult struct {
	run     *bench.Run
	failure error // an update that failed, or the run cut short
}

// rolloutRun runs the load against baseURL while rolling the services
// between their two releases, then verifies orders and, when restore is
// given, returns the services to those images.
func rolloutRun(ctx context.Context, s *Streams, o *benchRolloutOptions, eng swarm.Engine, name, baseURL string, port int,
	current map[string]string, releases map[string][2]string, restore map[string]string) (rolloutResult, error) {
	cfg := bench.DefaultConfig()
	cfg.Rate, cfg.FreshShare = o.rate, o.freshShare
	cfg.CAFile = filepath.Join(o.stateDir, "ca.crt")
	cfg.DialAddr = "127.0.0.1:" + strconv.Itoa(port)
	cfg.BaseURL = baseURL
	if port != 443 {
		cfg.BaseURL += ":" + strconv.Itoa(port)
	}
	// An upper bound only: the run is stopped gracefully after the cooldown.
	cfg.Duration = o.warmup + o.cooldown + time.Duration(2*o.rounds)*o.updateTimeout + time.Minute
	run, err := bench.NewRun(name, cfg)
	if err != nil {
		return rolloutResult{}, &ExitError{Code: 2, Err: err}
	}
	services := make([]string, 0, len(releases))
	for svc := range releases {
		services = append(services, svc)
	}
	sort.Strings(services) // api before web

	fmt.Fprintf(s.Out, "==> %s: %.0f req/s (%.0f%% fresh connections) to %s, %d rounds of %s\n",
		name, o.rate, 100*o.freshShare, cfg.BaseURL, o.rounds, strings.Join(services, " and "))
	attackDone := make(chan error, 1)
	go func() { attackDone <- run.Attack(ctx) }()
	svcs := swarm.Services{Engine: eng}
	var failure error
	if err := sleepCtx(ctx, o.warmup); err != nil {
		failure = err
	}
	for round := 1; round <= o.rounds && failure == nil; round++ {
		for _, svc := range services {
			// Alternate between the two releases: every round is a real
			// change of image, whatever the service ran before.
			target := releases[svc][0]
			if current[svc] == target {
				target = releases[svc][1]
			}
			start := time.Now()
			res, err := deploy.Run(ctx, svcs, deploy.RealClock{}, deploy.Request{
				Service: svc, Image: target, Deadline: o.updateTimeout, Interval: 500 * time.Millisecond,
			}, nil)
			end := time.Now()
			if err != nil {
				failure = err
				break
			}
			short := svc[strings.Index(svc, "_")+1:]
			run.MarkUpdate(short, deploy.Version(res.From), deploy.Version(res.To), start, end)
			fmt.Fprintf(s.Out, "round %d: %-16s %s → %s %s in %s\n", round, svc, deploy.Version(res.From), deploy.Version(res.To), res.Outcome, end.Sub(start).Round(100*time.Millisecond))
			if !res.OK() {
				failure = fmt.Errorf("update of %s: %s: %s", svc, res.Outcome, res.Reason)
				break
			}
			current[svc] = target
		}
	}
	if failure == nil {
		failure = sleepCtx(ctx, o.cooldown)
	}
	run.Stop()
	if err := <-attackDone; err != nil && failure == nil {
		failure = err
	}

	fmt.Fprintf(s.Out, "==> %s: checking every acknowledged order in Postgres\n", name)
	if err := run.VerifyOrders(postgresVerifier(ctx, cfg.ItemPrefix)); err != nil {
		fmt.Fprintf(s.Err, "order verification failed: %v\n", err)
	}
	for svc, image := range restore {
		res, err := deploy.Run(ctx, svcs, deploy.RealClock{}, deploy.Request{Service: svc, Image: image, Deadline: o.updateTimeout}, nil)
		if err != nil || !res.OK() {
			fmt.Fprintf(s.Err, "restoring %s to %s: %v %s\n", svc, image, err, res.Reason)
		}
	}
	return rolloutResult{run: run, failure: failure}, nil
}

// deployBaseline deploys the naive stack on the first release of each
// service and waits until it is ready.
func deployBaseline(ctx context.Context, s *Streams, o *benchRolloutOptions, eng swarm.Engine, releases map[string][2]string) (string, error) {
	caps := swarm.Inspect(ctx, eng, swarm.Host{}, nil, nil)
	traefik, _ := images.Find(images.Catalog(""), "traefik")
	v := platform.Values{
		Domain: "localhost", Profile: platform.ProfileLocal, EndpointMode: caps.EndpointMode(),
		Images:   map[string]string{"traefik": traefik.Ref, "api": releases["app_api"][0], "web": releases["app_web"][0]},
		HTTPPort: 80, HTTPSPort: o.httpsPort, NaivePort: o.naivePort,
	}
	rendered, err := platform.RenderStacks(v, []platform.Stack{platform.Baseline})
	if err != nil {
		return "", err
	}
	dirs, err := writeRendered(o.stateDir, rendered)
	if err != nil {
		return "", err
	}
	r := rendered[0]
	if err := validateStackFile(ctx, filepath.Join(dirs[r.Stack.Name], r.Stack.File)); err != nil {
		return "", err
	}
	if err := (swarm.CLIStackDeployer{Out: s.Out}).Deploy(ctx, r.Stack.Name, filepath.Join(dirs[r.Stack.Name], r.Stack.File), false); err != nil {
		return "", err
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if _, err := swarm.WaitReady(wctx, eng, []string{r.Stack.Name}, len(r.Services), time.Now().Add(-time.Minute), 2*time.Second, progressPrinter(s.Out)); err != nil {
		return r.Stack.Name, fmt.Errorf("baseline stack: %w", err)
	}
	// Its Traefik polls Swarm every 15 s: wait for it to route.
	if err := sleepCtx(ctx, 20*time.Second); err != nil {
		return r.Stack.Name, err
	}
	return r.Stack.Name, nil
}
func writeReport(dir string, rep *bench.Report) error {
	for name, write := range map[string]func(io.Writer) error{"rollout.json": rep.WriteJSON, "rollout.html": rep.WriteHTML} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if err := write(f); err != nil {
			f.Close()
			return fmt.Errorf("writing %s: %w", name, err)
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

func printBenchSummary(w io.Writer, s bench.Summary) {
	fmt.Fprintf(w, "\nrequests %d (%.1f/s achieved), failed %d\n", s.Requests, s.AchievedRate, s.Failed)
	fmt.Fprintf(w, "steady        p50 %6.1fms  p95 %6.1fms  p99 %6.1fms  (%d requests)\n", s.Steady.P50, s.Steady.P95, s.Steady.P99, s.SteadyRequests)
	fmt.Fprintf(w, "during update p50 %6.1fms  p95 %6.1fms  p99 %6.1fms  (%d requests)\n", s.DuringUpdate.P50, s.DuringUpdate.P95, s.DuringUpdate.P99, s.UpdateRequests)
	fmt.Fprintf(w, "orders acknowledged %d, checked %d, missing in Postgres %d\n", s.Orders.Acknowledged, s.Orders.Checked, len(s.Orders.Missing))
	for _, u := range s.Updates {
		fmt.Fprintf(w, "update %-4s %s → %s  %5.1fs  %d requests, %d failed, p99 %.1fms\n", u.Service, u.From, u.To, u.DurationS, u.Requests, u.Failed, u.P99)
	}
	for _, f := range s.Failures {
		fmt.Fprintf(w, "failure %s %s: %d (%d during updates)\n", f.Kind, f.What, f.Count, f.DuringUpdate)
	}
}

// postgresVerifier looks the acknowledged orders up in the platform's
// Postgres, through psql inside its container (local socket, no password
// leaves the container).
func postgresVerifier(ctx context.Context, prefix string) bench.OrderVerifier {
	return func(ids []int64) ([]int64, error) {
		out, err := exec.CommandContext(ctx, "docker", "ps", "-q", "--filter", "label=com.docker.swarm.service.name=data_postgres").Output()
		if err != nil || strings.TrimSpace(string(out)) == "" {
			return nil, fmt.Errorf("no running postgres container found: %v", err)
		}
		container := strings.Fields(string(out))[0]
		q := fmt.Sprintf("SELECT id FROM orders WHERE item LIKE '%s%%'", strings.ReplaceAll(prefix, "'", ""))
		rows, err := exec.CommandContext(ctx, "docker", "exec", container, "psql", "-U", "shop", "-d", "shop", "-At", "-c", q).Output()
		if err != nil {
			return nil, fmt.Errorf("querying orders: %w", err)
		}
		have := map[int64]bool{}
		for _, l := range strings.Fields(string(rows)) {
			if id, err := strconv.ParseInt(l, 10, 64); err == nil {
				have[id] = true
			}
		}
		var missing []int64
		for _, id := range ids {
			if !have[id] {
				missing = append(missing, id)
			}
		}
		return missing, nil
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	return deploy.RealClock{}.Sleep(ctx, d)
}
