package pluginrpc

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/molecule-ai/molecule-host/sdk"
)

// ServeOption configures Serve.
type ServeOption func(*serveConfig)

type serveConfig struct {
	logger hclog.Logger
}

// WithLogger makes Serve log through l instead of Logger().
func WithLogger(l hclog.Logger) ServeOption {
	return func(c *serveConfig) { c.logger = l }
}

// Logger returns the hclog logger a plugin should use: JSON on stderr, so
// the host re-emits each line under the plugin's name, named "backend". The
// level comes from MOLECULE_LOG_LEVEL (default info).
func Logger() hclog.Logger {
	level := hclog.LevelFromString(os.Getenv("MOLECULE_LOG_LEVEL"))
	if level == hclog.NoLevel {
		level = hclog.Info
	}
	return hclog.New(&hclog.LoggerOptions{Name: PluginName, Level: level, Output: os.Stderr, JSONFormat: true})
}

// Serve runs b as a plugin; call it from a plugin's main. It never returns
// normally. It derives the manifest's Capabilities from the interfaces b
// implements, validates the manifest and exits with status 1 and a clear
// message on stderr if it is invalid, serves gRPC only, and exits when its
// parent process dies so that no plugin outlives its host. A panic in a
// verb, or a nil reply without an error, is answered with a KindInternal
// error naming the verb and the plugin keeps serving.
func Serve(b sdk.Backend, opts ...ServeOption) {
	cfg := serveConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = Logger()
	}
	if err := checkManifest(b); err != nil {
		fmt.Fprintf(os.Stderr, "molecule backend plugin: %v\n", err)
		os.Exit(1)
	}
	go watchParent(cfg.logger, os.Getppid())
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{sdk.ProtocolVersion: {PluginName: &backendPlugin{impl: b}}},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return plugin.DefaultGRPCServer(append(guardOptions(cfg.logger), opts...))
		},
		Logger: cfg.logger,
	})
	os.Exit(0)
}

// checkManifest validates b's manifest with the derived capabilities.
func checkManifest(b sdk.Backend) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := b.Manifest(ctx)
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	if m == nil {
		return fmt.Errorf("manifest: Manifest returned neither a manifest nor an error")
	}
	withCaps := *m
	withCaps.Capabilities = sdk.CapabilitiesOf(b)
	if err := withCaps.Validate(); err != nil {
		return fmt.Errorf("invalid manifest: %w", err)
	}
	return nil
}

// watchParent exits the process once its parent is gone (the process is
// re-parented, so its parent pid changes): belt and braces next to the
// host's Pdeathsig.
func watchParent(log hclog.Logger, ppid int) {
	if ppid <= 1 {
		return
	}
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for range t.C {
		if os.Getppid() != ppid {
			log.Warn("parent process exited; plugin exiting", "parent_pid", ppid)
			os.Exit(0)
		}
	}
}
