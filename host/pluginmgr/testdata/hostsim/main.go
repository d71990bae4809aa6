// Command hostsim is a stand-in host for pluginmgr's tests: it starts a
// Manager on a plugin directory, prints the PID of the "fake" backend's
// plugin process on stdout, and blocks until it is killed.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/molecule-ai/molecule-host/host/pluginmgr"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: hostsim <plugin dir> <data dir>")
		os.Exit(2)
	}
	m := pluginmgr.New(pluginmgr.Config{
		Dir:     os.Args[1],
		DataDir: os.Args[2],
		Logger:  hclog.New(&hclog.LoggerOptions{Name: "hostsim", Output: os.Stderr, Level: hclog.Info}),
	})
	if err := m.Start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "hostsim:", err)
		os.Exit(1)
	}
	for _, in := range m.Infos() {
		if in.Name == "fake" && in.State == pluginmgr.StateRunning {
			fmt.Println(in.PID)
			select {} // the test kills this process
		}
	}
	fmt.Fprintf(os.Stderr, "hostsim: the fake backend is not running: %+v\n", m.Infos())
	os.Exit(1)
}
