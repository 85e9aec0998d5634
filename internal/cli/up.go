package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	dockerswarm "github.com/docker/docker/api/types/swarm"
	"github.com/spf13/cobra"

	"github.com/berth-platform/berth/internal/images"
	"github.com/berth-platform/berth/internal/platform"
	"github.com/berth-platform/berth/internal/swarm"
)

type upOptions struct {
	domain         string
	profile        string
	acmeEmail      string
	httpPort       int
	httpsPort      int
	source         string
	stateDir       string
	cacheDir       string
	timeout        time.Duration
	dbPasswordFile string
	advertiseAddr  string
}

func newUpCommand(s *Streams) *cobra.Command {
	o := &upOptions{}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Bring the platform up on this engine's swarm",
		Long: `up takes a Docker engine to a running platform: it checks the engine (see
berth doctor), builds or reuses every image (locally when no registry
answers), initialises a single-node swarm if the engine is in none, creates
the tier networks and the secrets (database password, local CA, dashboard
credentials), deploys the edge, data and app stacks in that order, and waits
until every service has all replicas running and healthy.

Everything is validated before anything changes: a bad flag, a blocker found
by the doctor or a stack file that fails to load stops up with nothing done.
Run twice, the second run changes nothing.`,
		Example: `  berth up
  berth up --domain example.com --profile production --acme-email ops@example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runUp(cmd.Context(), s, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.domain, "domain", "localhost", "domain the platform answers on (shop.DOMAIN, traefik.DOMAIN)")
	f.StringVar(&o.profile, "profile", platform.ProfileLocal, "TLS profile: local (berth's own CA) or production (Let's Encrypt)")
	f.StringVar(&o.acmeEmail, "acme-email", "", "e-mail for Let's Encrypt registration (production profile)")
	f.IntVar(&o.httpPort, "http-port", 80, "host port for HTTP (redirects to HTTPS)")
	f.IntVar(&o.httpsPort, "https-port", 443, "host port for HTTPS")
	f.StringVar(&o.source, "source", ".", "repository root holding services/ (the demo's source)")
	f.StringVar(&o.stateDir, "state-dir", defaultStateDir(), "where rendered stacks, the CA certificate and the dashboard password are kept")
	f.StringVar(&o.cacheDir, "cache-dir", defaultCacheDir(), "where local image builds keep their sources and binaries")
	f.DurationVar(&o.timeout, "timeout", 15*time.Minute, "deadline for every service to become ready, per stack")
	f.StringVar(&o.dbPasswordFile, "db-password-file", "", "file holding the database password to use when its secret does not exist yet (default: a random one)")
	f.StringVar(&o.advertiseAddr, "advertise-addr", "", "address for `docker swarm init` when one is needed (default: the engine chooses)")
	return cmd
}

// upPlan is everything up will do, computed before any change.
type upPlan struct {
	caps     swarm.Capabilities
	catalog  []images.Image
	values   platform.Values
	rendered []platform.Rendered
	dirs     map[string]string // stack name -> rendered directory
}

// validate checks the flags alone, before any engine is contacted.
func (o *upOptions) validate() error {
	v := platform.Values{Domain: o.domain, Profile: o.profile, ACMEEmail: o.acmeEmail,
		EndpointMode: "dnsrr", HTTPPort: o.httpPort, HTTPSPort: o.httpsPort}
	if err := v.Validate(); err != nil {
		return err
	}
	if o.dbPasswordFile != "" {
		if st, err := os.Stat(o.dbPasswordFile); err != nil || st.Size() == 0 {
			return fmt.Errorf("--db-password-file %s: missing or empty", o.dbPasswordFile)
		}
	}
	if o.timeout <= 0 {
		return fmt.Errorf("--timeout %s: must be positive", o.timeout)
	}
	if _, err := images.ServiceVersion(o.source); err != nil {
		return err
	}
	if _, err := exec.LookPath("docker"); err != nil {
		return errors.New("the docker CLI is not on PATH: berth uses `docker stack deploy` and `docker build`")
	}
	return nil
}

func runUp(ctx context.Context, s *Streams, o *upOptions) error {
	start := time.Now()
	if err := o.validate(); err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	eng, err := newEngine(ctx)
	if err != nil {
		return err
	}
	defer eng.Close()

	plan, err := planUp(ctx, s, o, eng)
	if err != nil {
		return err
	}

	fmt.Fprintln(s.Out, "==> images")
	b := &images.Builder{Run: images.ExecRunner{}, Progress: s.Out, SourceDir: o.source,
		CacheDir: o.cacheDir, Offline: plan.caps.Offline}
	if _, err := b.Ensure(ctx, plan.catalog); err != nil {
		return err
	}

	fmt.Fprintln(s.Out, "==> swarm")
	initialised, err := swarm.EnsureSwarm(ctx, eng, o.advertiseAddr)
	if err != nil {
		return err
	}
	st, _, err := swarm.CurrentState(ctx, eng)
	if err != nil {
		return err
	}
	if initialised {
		fmt.Fprintln(s.Out, "initialised a single-node swarm (this engine was in none); this node is its manager")
	} else {
		fmt.Fprintf(s.Out, "using the existing swarm (%d node(s), this one a manager)\n", st.Nodes)
	}
	if err := ensureRoleLabels(ctx, eng, st.NodeID); err != nil {
		return err
	}
	for _, n := range platform.Networks {
		created, err := swarm.EnsureNetwork(ctx, eng, swarm.NetworkSpec{Name: n.Name, Internal: n.Internal, Encrypted: plan.caps.ESP})
		if err != nil {
			return err
		}
		if created {
			fmt.Fprintf(s.Out, "created network %s (%s)\n", n.Name, n.Purpose)
		}
	}
	if err := ensureSecrets(ctx, s.Out, eng, o); err != nil {
		return err
	}

	for _, r := range plan.rendered {
		name := r.Stack.Name
		fmt.Fprintf(s.Out, "==> stack %s\n", name)
		file := filepath.Join(plan.dirs[name], r.Stack.File)
		hash := stackHash(r)
		deployStart := time.Now()
		current, err := deployedHash(ctx, eng, name)
		if err != nil {
			return err
		}
		if current == hash {
			fmt.Fprintf(s.Out, "%s: unchanged\n", name)
		} else {
			d := swarm.CLIStackDeployer{Out: s.Out}
			if err := d.Deploy(ctx, name, file, !plan.caps.Offline); err != nil {
				return err
			}
		}
		wctx, cancel := context.WithTimeout(ctx, o.timeout)
		_, err = swarm.WaitReady(wctx, eng, []string{name}, len(r.Services), deployStart, 2*time.Second, progressPrinter(s.Out))
		cancel()
		if err != nil {
			return fmt.Errorf("stack %s: %w\n  see `docker service ps --no-trunc %s_<service>` and `docker service logs`", name, err, name)
		}
	}

	printAccess(s.Out, o, time.Since(start))
	return nil
}

// planUp validates every input and renders every stack; it changes nothing.
func planUp(ctx context.Context, s *Streams, o *upOptions, eng swarm.Engine) (*upPlan, error) {
	invalid := func(err error) error { return &ExitError{Code: 2, Err: err} }
	version, err := images.ServiceVersion(o.source)
	if err != nil {
		return nil, invalid(err)
	}

	fmt.Fprintln(s.Out, "==> checks")
	caps := swarm.Inspect(ctx, eng, swarm.Host{}, []int{o.httpPort, o.httpsPort}, edgeOwnsPort(ctx, eng))
	for _, c := range caps.Checks {
		if c.Level != swarm.OK {
			fmt.Fprintf(s.Out, "%-22s %-7s %s: %s\n", c.Name, c.Level, c.Found, c.Action)
		}
	}
	if b := caps.Blockers(); len(b) > 0 {
		return nil, &ExitError{Code: 1, Err: errors.New(blockersMessage(b) + "\nnothing was changed")}
	}

	catalog := images.Catalog(version)
	refs := map[string]string{}
	for _, im := range catalog {
		refs[im.Key] = im.Ref
	}
	values := platform.Values{
		Domain: o.domain, Profile: o.profile, ACMEEmail: o.acmeEmail,
		Images: refs, DockerGID: caps.DockerGID, EndpointMode: caps.EndpointMode(),
		EncryptedOverlay: caps.ESP, StartInterval: caps.StartInterval,
		HTTPPort: o.httpPort, HTTPSPort: o.httpsPort,
	}
	rendered, err := platform.Render(values)
	if err != nil {
		return nil, invalid(err)
	}
	dirs, err := writeRendered(o.stateDir, rendered)
	if err != nil {
		return nil, err
	}
	// Docker's own loader validates each stack file before anything is
	// deployed: a file it cannot load stops up here.
	for _, r := range rendered {
		if err := validateStackFile(ctx, filepath.Join(dirs[r.Stack.Name], r.Stack.File)); err != nil {
			return nil, invalid(err)
		}
	}
	return &upPlan{caps: caps, catalog: catalog, values: values, rendered: rendered, dirs: dirs}, nil
}

// validateStackFile loads a stack file with the docker CLI's compose
// loader, without deploying anything; options the stack deploy would drop
// are refused too.
func validateStackFile(ctx context.Context, file string) error {
	_, err := swarm.LoadStackFile(ctx, file)
	return err
}

func writeRendered(stateDir string, rendered []platform.Rendered) (map[string]string, error) {
	dirs := map[string]string{}
	for _, r := range rendered {
		dir := filepath.Join(stateDir, "stacks", r.Stack.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("state directory: %w", err)
		}
		for name, data := range r.Files {
			if name == r.Stack.File {
				data = []byte(strings.ReplaceAll(string(data), platform.StackHashPlaceholder, stackHash(r)))
			}
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				return nil, err
			}
		}
		dirs[r.Stack.Name] = dir
	}
	return dirs, nil
}

// stackHash identifies a rendered stack with its configs; services carry it
// as a label so an unchanged stack is not redeployed.
func stackHash(r platform.Rendered) string {
	h := sha256.New()
	for _, name := range r.SortedFiles() {
		fmt.Fprintf(h, "%s\x00", name)
		h.Write(r.Files[name])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// deployedHash returns the stack hash every service of the stack carries,
// or "" when they differ or the stack is not deployed.
func deployedHash(ctx context.Context, eng swarm.Engine, stack string) (string, error) {
	svcs, err := eng.ServiceList(ctx, dockerswarm.ServiceListOptions{})
	if err != nil {
		return "", err
	}
	hash := ""
	for _, svc := range svcs {
		if svc.Spec.Labels[swarm.StackLabel] != stack {
			continue
		}
		h := svc.Spec.Labels[platform.StackHashLabel]
		if h == "" || (hash != "" && h != hash) {
			return "", nil
		}
		hash = h
	}
	return hash, nil
}

// ensureRoleLabels labels this node as the edge node (runs Traefik) and
// the data node (holds the stateful services' volumes), for each role no
// node has yet: on a single node it takes both; on a cluster an operator's
// own labels stand.
func ensureRoleLabels(ctx context.Context, eng swarm.Engine, self string) error {
	nodes, err := eng.NodeList(ctx, dockerswarm.NodeListOptions{})
	if err != nil {
		return err
	}
	for _, label := range []string{"berth.edge", "berth.data"} {
		taken := false
		for _, n := range nodes {
			if n.Spec.Labels[label] == "true" {
				taken = true
			}
		}
		if !taken {
			if err := swarm.LabelNode(ctx, eng, self, label, "true"); err != nil {
				return err
			}
		}
	}
	return nil
}

// ensureSecrets creates the secrets the stacks expect; existing ones are
// kept (rotation is a separate, deliberate act).
func ensureSecrets(ctx context.Context, out io.Writer, eng swarm.Engine, o *upOptions) error {
	if err := os.MkdirAll(o.stateDir, 0o700); err != nil {
		return err
	}
	create := func(name string, gen func() ([]byte, error)) error {
		ok, err := swarm.SecretExists(ctx, eng, name)
		if err != nil || ok {
			return err
		}
		data, err := gen()
		if err != nil {
			return fmt.Errorf("generating %s: %w", name, err)
		}
		if err := swarm.CreateSecret(ctx, eng, name, data); err != nil {
			return err
		}
		fmt.Fprintf(out, "created secret %s\n", name)
		return nil
	}
	err := create(platform.SecretDBPassword, func() ([]byte, error) {
		if o.dbPasswordFile != "" {
			b, err := os.ReadFile(o.dbPasswordFile)
			return []byte(strings.TrimRight(string(b), "\r\n")), err
		}
		p, err := platform.RandomPassword(24)
		return []byte(p), err
	})
	if err != nil {
		return err
	}
	certOK, err := swarm.SecretExists(ctx, eng, platform.SecretTLSCert)
	if err != nil {
		return err
	}
	keyOK, err := swarm.SecretExists(ctx, eng, platform.SecretTLSKey)
	if err != nil {
		return err
	}
	if !certOK || !keyOK {
		if err := swarm.RemoveSecrets(ctx, eng, []string{platform.SecretTLSCert, platform.SecretTLSKey}); err != nil {
			return err
		}
		tls, err := platform.NewLocalTLS(o.domain, time.Now())
		if err != nil {
			return err
		}
		if err := swarm.CreateSecret(ctx, eng, platform.SecretTLSCert, tls.Cert); err != nil {
			return err
		}
		if err := swarm.CreateSecret(ctx, eng, platform.SecretTLSKey, tls.Key); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(o.stateDir, "ca.crt"), tls.CACert, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "created a local CA and a certificate for *.%s (valid until %s)\n", o.domain, tls.NotAfter.Format("2006-01-02"))
	}
	return create(platform.SecretDashboardUsers, func() ([]byte, error) {
		pw, err := platform.RandomPassword(18)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(o.stateDir, "dashboard-password"), []byte(pw+"\n"), 0o600); err != nil {
			return nil, err
		}
		return platform.HtpasswdLine("admin", pw)
	})
}

// progressPrinter shows service progress: a redrawn table on a terminal,
// one line per change otherwise (CI logs stay readable).
func progressPrinter(w io.Writer) func([]swarm.ServiceStatus) {
	tty := isTerminal(w)
	last := map[string]string{}
	drawn := 0
	return func(sts []swarm.ServiceStatus) {
		if tty {
			if drawn > 0 {
				fmt.Fprintf(w, "\033[%dA\033[J", drawn)
			}
			var sb strings.Builder
			swarm.PrintStatuses(&sb, sts)
			fmt.Fprint(w, sb.String())
			drawn = strings.Count(sb.String(), "\n")
			return
		}
		for _, st := range sts {
			line := fmt.Sprintf("%d/%d %s", st.Running, st.Desired, st.Health)
			if st.Update != "" {
				line += " " + st.Update
			}
			if last[st.Name] != line {
				fmt.Fprintf(w, "%-20s %s\n", st.Name, line)
				last[st.Name] = line
			}
		}
	}
}

// edgeOwnsPort reports whether a port is published by berth's Traefik, so
// a second `berth up` is not blocked by the first one's edge.
func edgeOwnsPort(ctx context.Context, eng swarm.Engine) swarm.PortOwner {
	return func(port int) bool {
		svcs, err := eng.ServiceList(ctx, dockerswarm.ServiceListOptions{})
		if err != nil {
			return false
		}
		for _, svc := range svcs {
			if svc.Spec.Labels[swarm.StackLabel] != "edge" || svc.Spec.EndpointSpec == nil {
				continue
			}
			for _, p := range svc.Spec.EndpointSpec.Ports {
				if int(p.PublishedPort) == port {
					return true
				}
			}
		}
		return false
	}
}

func printAccess(w io.Writer, o *upOptions, took time.Duration) {
	port := ""
	if o.httpsPort != 443 {
		port = fmt.Sprintf(":%d", o.httpsPort)
	}
	fmt.Fprintf(w, "\nberth is up (%s).\n\n", took.Round(time.Second))
	fmt.Fprintf(w, "  shop       https://shop.%s%s/\n", o.domain, port)
	fmt.Fprintf(w, "  api        https://shop.%s%s/api/orders\n", o.domain, port)
	fmt.Fprintf(w, "  dashboard  https://traefik.%s%s/dashboard/  (user admin, password in %s)\n",
		o.domain, port, filepath.Join(o.stateDir, "dashboard-password"))
	if o.profile == platform.ProfileLocal {
		fmt.Fprintf(w, "\n  TLS comes from berth's local CA: trust %s in your browser,\n  or use curl --cacert %s\n",
			filepath.Join(o.stateDir, "ca.crt"), filepath.Join(o.stateDir, "ca.crt"))
	}
}
