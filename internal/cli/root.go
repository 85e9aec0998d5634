// Package cli holds berth's cobra commands, one file per command. It is the
// only place where real clients (Docker engine, HTTP) are built; nothing
// imports cli.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Streams are the standard streams a command writes to; tests swap them.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// StdStreams returns the process's standard streams.
func StdStreams() *Streams { return &Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr} }

// ExitError carries a specific exit code out of a command.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Run executes berth with args and returns the process exit code.
func Run(ctx context.Context, args []string, s *Streams) int {
	root := newRootCommand(s)
	root.SetArgs(args)
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintln(s.Err, "berth:", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintln(s.Err, "berth:", err)
	return 1
}

func newRootCommand(s *Streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "berth",
		Short: "Deploy and operate microservices on Docker Swarm, with proof",
		Long: `berth deploys and operates microservices on Docker Swarm: a Traefik edge with
TLS, secrets, health-gated rolling deploys, hardening and a readiness audit.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newUpCommand(s),
		newDownCommand(s),
		newStatusCommand(s),
		newDeployCommand(s),
		newRollbackCommand(s),
		newBenchCommand(s),
		newDoctorCommand(s),
		newImagesCommand(s),
		newDaemonConfigCommand(s),
		newVersionCommand(s),
		newAuditCommand(s),
		newHardenCommand(s),
	)
	return root
}
