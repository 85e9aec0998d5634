package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth-platform/berth/internal/platform"
	"github.com/berth-platform/berth/internal/swarm"
)

type statusOptions struct{ output string }

func newStatusCommand(s *Streams) *cobra.Command {
	o := &statusOptions{}
	cmd := &cobra.Command{
		Use:     "status",
		Short:   "Show each platform service: replicas, health, image, version",
		Example: "  berth status\n  berth status --output json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runStatus(cmd.Context(), s, o)
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	return cmd
}

func runStatus(ctx context.Context, s *Streams, o *statusOptions) error {
	if o.output != "table" && o.output != "json" {
		return &ExitError{Code: 2, Err: fmt.Errorf("--output %q: use table or json", o.output)}
	}
	eng, err := newEngine(ctx)
	if err != nil {
		return err
	}
	defer eng.Close()
	var stacks []string
	for _, st := range platform.Stacks {
		stacks = append(stacks, st.Name)
	}
	sts, err := swarm.Statuses(ctx, eng, stacks...)
	if err != nil {
		return err
	}
	if o.output == "json" {
		if sts == nil {
			sts = []swarm.ServiceStatus{}
		}
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(sts)
	}
	if len(sts) == 0 {
		fmt.Fprintln(s.Out, "the platform is not deployed (berth up)")
		return nil
	}
	swarm.PrintStatuses(s.Out, sts)
	return nil
}
