// Command molecule-host runs Molecule Host: the HTTP API, the Postgres
// store (embedded by default), the backend plugins and the operation
// workers.
//
//	molecule-host serve            run the host
//	molecule-host migrate          apply database migrations and exit
//	molecule-host plugins verify   print plugin digests and check the lock file
//	molecule-host plugins lock     write the lock file for the plugins present
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

const usage = `usage: molecule-host <command> [flags]

commands:
  serve            run the host (HTTP API, store, plugins, operation workers)
  migrate          apply database migrations and exit
  plugins verify   print each plugin's SHA-256 and check it against the lock file
  plugins lock     write the lock file for the plugins in the plugin dir

Run "molecule-host <command> --help" for the flags; each flag can also be set
through the environment variable named in its help.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "molecule-host:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Print(usage)
		return nil
	}
	cmd, rest := args[0], args[1:]
	if cmd == "plugins" {
		if len(rest) == 0 {
			return fmt.Errorf("plugins: want verify or lock\n\n%s", usage)
		}
		cmd, rest = "plugins "+rest[0], rest[1:]
	}
	fs := flag.NewFlagSet("molecule-host "+cmd, flag.ContinueOnError)
	dir := new(string)
	if strings.HasPrefix(cmd, "plugins ") {
		dir = fs.String("dir", "", "plugin directory (same as --plugin-dir)")
	}
	cfg, err := parseConfig(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if *dir != "" {
		if cfg.LockFile == filepath.Join(cfg.PluginDir, "plugins.lock") {
			cfg.LockFile = filepath.Join(*dir, "plugins.lock")
		}
		cfg.PluginDir = *dir
	}
	switch cmd {
	case "serve":
		return serve(ctx, cfg)
	case "migrate":
		return migrate(ctx, cfg)
	case "plugins verify":
		return pluginsVerify(cfg)
	case "plugins lock":
		return pluginsLock(cfg)
	}
	return fmt.Errorf("unknown command %q\n\n%s", cmd, usage)
}
