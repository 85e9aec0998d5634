package cli

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth-platform/berth/internal/swarm"
)

type doctorOptions struct {
	output    string
	httpPort  int
	httpsPort int
}

func newDoctorCommand(s *Streams) *cobra.Command {
	o := &doctorOptions{}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Show what the engine and kernel support and what berth does about it",
		Long: `doctor checks the Docker engine and the kernel it runs on: engine and API
version, swarm state and role, IPVS (VIP or DNSRR endpoints), ESP (encrypted
overlays), cgroups, the daemon's no-new-privileges default, free disk, ports
80/443, and whether a registry answers (offline mode). It exits non-zero only
when something blocks a deploy.`,
		Example: "  berth doctor\n  berth doctor --output json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDoctor(cmd, s, o)
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	cmd.Flags().IntVar(&o.httpPort, "http-port", 80, "HTTP port Traefik will publish")
	cmd.Flags().IntVar(&o.httpsPort, "https-port", 443, "HTTPS port Traefik will publish")
	return cmd
}

func runDoctor(cmd *cobra.Command, s *Streams, o *doctorOptions) error {
	if o.output != "table" && o.output != "json" {
		return &ExitError{Code: 2, Err: fmt.Errorf("--output %q: use table or json", o.output)}
	}
	ctx := cmd.Context()
	var caps swarm.Capabilities
	eng, err := newEngine(ctx)
	if err != nil {
		caps.Checks = []swarm.Check{{Name: "engine", Level: swarm.Blocker, Found: err.Error(), Action: "start the Docker engine or set DOCKER_HOST"}}
	} else {
		defer eng.Close()
		caps = swarm.Inspect(ctx, eng, swarm.Host{}, []int{o.httpPort, o.httpsPort}, edgeOwnsPort(ctx, eng))
	}
	if o.output == "json" {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(caps); err != nil {
			return err
		}
	} else {
		swarm.PrintChecks(s.Out, caps.Checks)
	}
	if b := caps.Blockers(); len(b) > 0 {
		return &ExitError{Code: 1, Err: errors.New(blockersMessage(b))}
	}
	return nil
}

func blockersMessage(b []swarm.Check) string {
	msg := fmt.Sprintf("%d blocker(s):", len(b))
	for _, c := range b {
		msg += fmt.Sprintf("\n  %s: %s; %s", c.Name, c.Found, c.Action)
	}
	return msg
}
