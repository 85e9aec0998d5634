// Command berth deploys and operates microservices on Docker Swarm.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/berth-platform/berth/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.StdStreams())
	stop()
	os.Exit(code)
}
