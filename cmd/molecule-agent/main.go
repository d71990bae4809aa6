// Command molecule-agent is the workspace agent: it runs inside every
// workspace (the Docker image's entrypoint, or a CP instance's process).
//
//	molecule-agent          boot, register with the host, serve A2A
//	molecule-agent smoke    start the runtime without network; exit 0, or
//	                        2 with the reason when it cannot start
//
// Exit status: 0 on SIGTERM/SIGINT, 2 when the runtime cannot start, 1 for
// any other failure. See package agent for the environment it reads.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/molecule-ai/molecule-host/agent"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := hideFromSameUser(); err != nil {
		return fail(fmt.Errorf("cannot make the agent non-dumpable: %w", err))
	}
	applied, err := agent.ApplyUserData(os.Getenv, os.Setenv)
	if err != nil {
		return fail(err)
	}
	if applied {
		fmt.Println("molecule-agent: user data applied from", os.Getenv("MOLECULE_USER_DATA"))
	}
	cfg, err := agent.ConfigFromEnv(os.Getenv)
	if err != nil {
		return fail(err)
	}
	switch {
	case len(args) == 1 && args[0] == "smoke":
		rt, err := agent.Smoke(ctx, cfg.ConfigDir, cfg.Runtime)
		if err != nil {
			return fail(err)
		}
		fmt.Printf("molecule-agent smoke: runtime %s ok\n", rt.Name())
		return 0
	case len(args) > 0:
		return fail(fmt.Errorf("unknown arguments %q: usage: molecule-agent [smoke]", args))
	}
	cfg.Out = os.Stdout
	return fail(agent.New(cfg).Run(ctx))
}

// fail prints err on stderr and returns the exit status it calls for.
func fail(err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(os.Stderr, "molecule-agent:", err)
	var ee *agent.ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return 1
}
