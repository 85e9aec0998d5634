package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

func newHardenCommand(s *Streams) *cobra.Command {
	return &cobra.Command{
		Use:    "harden IN [-o OUT]",
		Short:  "Write missing production defaults into a compose file",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("harden: not implemented yet")
		},
	}
}
