// Command molecule-cp-local is the local control plane: it serves the API of
// docs/cp-api.md on a loopback address and runs each workspace instance as a
// molecule-agent process on its own loopback IP. Instances outlive it unless
// --kill-instances-on-exit is given.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/molecule-ai/molecule-host/internal/secretfile"
	"github.com/molecule-ai/molecule-host/plugins/cp/cplocal"
)

type options struct {
	listen, readyFile, pool    string
	uids                       string
	secretFile, adminTokenFile string
	kill                       bool
	cfg                        cplocal.Config
}

// removedFlags were value flags for secrets: a value on the command line is
// readable by every local user in /proc/<pid>/cmdline.
var removedFlags = map[string]string{"shared-secret": "MOLECULE_CP_SHARED_SECRET", "admin-token": "MOLECULE_CP_ADMIN_TOKEN"}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("molecule-cp-local", flag.ContinueOnError)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:0", "loopback address to serve on")
	fs.StringVar(&o.readyFile, "ready-file", "", `file to write {"url":"http://..."} to once serving`)
	fs.StringVar(&o.cfg.DataDir, "data-dir", os.Getenv("MOLECULE_CP_DATA_DIR"), "directory for state and instance disks (required)")
	fs.StringVar(&o.secretFile, "shared-secret-file", "", "file (mode 0600 or 0400) holding the bearer token of the workspace routes (or $MOLECULE_CP_SHARED_SECRET)")
	fs.StringVar(&o.adminTokenFile, "admin-token-file", "", "file (mode 0600 or 0400) holding the bearer token of the admin routes (or $MOLECULE_CP_ADMIN_TOKEN)")
	for name, env := range removedFlags {
		fs.Func(name, "removed: use --"+name+"-file or $"+env, func(string) error {
			return fmt.Errorf("a secret on the command line is readable by every local user: use --%s-file or $%s", name, env)
		})
	}
	fs.StringVar(&o.cfg.AgentPath, "agent", defaultAgent(), "molecule-agent binary every instance runs")
	fs.StringVar(&o.uids, "instance-uids", "", "range first-last of uids (and gids) no user has, from which each instance gets its own when the control plane runs as root (default "+cplocal.DefaultInstanceUIDs.String()+")")
	fs.StringVar(&o.cfg.InstanceUser, "instance-user", "", "instead of --instance-uids, one user name or uid:gid every instance runs as (weaker: instances can read each other's tokens); never root")
	fs.IntVar(&o.cfg.AgentPort, "agent-port", cplocal.DefaultAgentPort, "TCP port every instance's agent serves on, on the instance's own private IP")
	fs.StringVar(&o.pool, "address-pool", cplocal.DefaultAddressPool.String(), "loopback prefix instances' private IPs come from")
	fs.DurationVar(&o.cfg.StopGrace, "stop-grace", cplocal.DefaultStopGrace, "time between SIGTERM and SIGKILL when stopping an instance")
	fs.DurationVar(&o.cfg.Faults.Latency, "latency", 0, "fault: delay every workspace-route answer")
	fs.Float64Var(&o.cfg.Faults.ErrorRate, "error-rate", 0, "fault: fraction (0-1) of workspace-route answers that are 503")
	fs.StringVar(&o.cfg.Faults.FailBoot, "fail-boot", "", "fault: runtime name whose boots fail, or a rate 0-1")
	fs.BoolVar(&o.kill, "kill-instances-on-exit", false, "stop every instance when exiting")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var err error
	if o.cfg.SharedSecret, err = secret(o.secretFile, "MOLECULE_CP_SHARED_SECRET"); err != nil {
		return o, fmt.Errorf("--shared-secret-file: %w", err)
	}
	if o.cfg.AdminToken, err = secret(o.adminTokenFile, "MOLECULE_CP_ADMIN_TOKEN"); err != nil {
		return o, fmt.Errorf("--admin-token-file: %w", err)
	}
	if o.cfg.AgentPort < 1 || o.cfg.AgentPort > 65535 {
		return o, fmt.Errorf("--agent-port %d must be between 1 and 65535", o.cfg.AgentPort)
	}
	if o.uids != "" {
		if o.cfg.InstanceUIDs, err = cplocal.ParseUIDRange(o.uids); err != nil {
			return o, fmt.Errorf("--instance-uids: %w", err)
		}
	}
	pool, err := netip.ParsePrefix(o.pool)
	if err != nil {
		return o, fmt.Errorf("--address-pool %q is not a prefix such as 127.0.1.0/24", o.pool)
	}
	o.cfg.AddressPool = pool
	host, _, err := net.SplitHostPort(o.listen)
	if ip, perr := netip.ParseAddr(host); err != nil || perr != nil || !ip.IsLoopback() {
		return o, fmt.Errorf("--listen %q must be a loopback address with a port, such as 127.0.0.1:0", o.listen)
	}
	return o, nil
}

// secret reads the secret held in file (see secretfile.Read), or else the
// environment variable env.
func secret(file, env string) (string, error) {
	if file == "" {
		return os.Getenv(env), nil
	}
	return secretfile.Read(file)
}

// defaultAgent is molecule-agent next to this executable.
func defaultAgent() string {
	exe, err := os.Executable()
	if err != nil {
		return "molecule-agent"
	}
	return filepath.Join(filepath.Dir(exe), "molecule-agent")
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "molecule-cp-local:", err)
		os.Exit(1)
	}
}

func run() error {
	o, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	o.cfg.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	srv, err := cplocal.New(o.cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	if o.readyFile != "" {
		raw, _ := json.Marshal(map[string]string{"url": url})
		if err := os.WriteFile(o.readyFile, raw, 0o600); err != nil {
			return fmt.Errorf("ready file: %w", err)
		}
	}
	fmt.Println(url)
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if hs.Shutdown(sctx) != nil {
			_ = hs.Close() // followed consoles do not end by themselves
		}
	}()
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	srv.Close(o.kill)
	return nil
}
