package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/berth-platform/berth/internal/platform"
)

type daemonConfigOptions struct {
	merge string
}

func newDaemonConfigCommand(s *Streams) *cobra.Command {
	o := &daemonConfigOptions{}
	cmd := &cobra.Command{
		Use:   "daemon-config",
		Short: "Print the daemon.json berth recommends for a swarm node",
		Long: `daemon-config prints daemon.json with berth's defaults for a swarm node (log
rotation, no-new-privileges by default, icc off), merged into an existing
file with --merge: a user's settings are kept, except live-restore, which
dockerd refuses in swarm mode. What changed, and why, goes to stderr.
Restart dockerd after installing the file.`,
		Example: `  berth daemon-config --merge /etc/docker/daemon.json > daemon.json.new`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var existing []byte
			if o.merge != "" {
				b, err := os.ReadFile(o.merge)
				if err != nil && !os.IsNotExist(err) {
					return &ExitError{Code: 2, Err: err}
				}
				existing = b
			}
			out, changes, err := platform.MergeDaemonConfig(existing)
			if err != nil {
				return &ExitError{Code: 2, Err: fmt.Errorf("%s: %w", o.merge, err)}
			}
			for _, c := range changes {
				fmt.Fprintln(s.Err, "daemon.json:", c)
			}
			_, err = s.Out.Write(out)
			return err
		},
	}
	cmd.Flags().StringVar(&o.merge, "merge", "", "existing daemon.json to merge into (a missing file counts as empty)")
	return cmd
}
