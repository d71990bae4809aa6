package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/agentsock"
	"github.com/molecule-ai/molecule-host/host/dispatch"
	"github.com/molecule-ai/molecule-host/host/httpapi"
	"github.com/molecule-ai/molecule-host/host/lifecycle"
	"github.com/molecule-ai/molecule-host/host/pluginmgr"
	"github.com/molecule-ai/molecule-host/host/registry"
	"github.com/molecule-ai/molecule-host/host/store"
	"github.com/molecule-ai/molecule-host/host/store/pgembed"
	"github.com/molecule-ai/molecule-host/sdk"
)

// maxAttempts is how many times an operation is tried before it fails.
const maxAttempts = 5

// serve runs the host until ctx ends, then shuts down in reverse order:
// HTTP, sweeps, operation workers, plugins, store, embedded Postgres.
func serve(ctx context.Context, cfg *config) error {
	log := newLogger(cfg.LogLevel)
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return err
	}
	token, err := cfg.adminToken()
	if err != nil {
		return err
	}
	st, stopDB, dbFatal, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer stopDB()
	defer st.Close()

	bcfg, err := cfg.backendConfig()
	if err != nil {
		return err
	}
	mgr := pluginmgr.New(pluginmgr.Config{
		Dir: cfg.PluginDir, LockFile: cfg.LockFile, DataDir: filepath.Join(cfg.DataDir, "backends"),
		Backends: bcfg, Logger: hclogFor(cfg.LogLevel),
	})
	defer mgr.Close()
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("plugins: %w", err)
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	url := cfg.PublicURL
	if url == "" {
		url = "http://" + ln.Addr().String()
	}
	images, _ := cfg.images()
	disp := dispatch.New(mgr, log, dispatch.DefaultRetry)
	// Each workspace's host socket serves the API's agent routes only; the
	// API is built below, after the lifecycle that needs the sockets.
	var api *httpapi.Server
	socks, err := agentsock.New(cfg.agentDir(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.AgentHandler().ServeHTTP(w, r)
	}), log)
	if err != nil {
		return err
	}
	defer socks.Close()
	svc := lifecycle.New(st, disp, lifecycle.Config{
		HostURL: url, Images: images, ProvisionTimeout: cfg.ProvisionTimeout,
		HeartbeatInterval: cfg.HeartbeatInterval, MaxAttempts: maxAttempts, AgentDirs: socks,
	}, log)
	reg := registry.New(st, log)
	api = httpapi.New(httpapi.Deps{Lifecycle: svc, Store: st, Registry: reg, Logs: disp,
		Backends: backendList{mgr}, AdminToken: token, Logger: log, AgentSocket: socks.AgentSocket})
	if err := reopenAgentDirs(ctx, st, socks, log); err != nil {
		return err
	}

	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	if err := st.RunOperations(runCtx, svc.Run); err != nil {
		return err
	}
	sweepDone := make(chan struct{})
	go func() {
		defer close(sweepDone)
		registry.NewSweeper(st, disp, cfg.LivenessTTL, log).Run(runCtx, cfg.SweepInterval)
	}()

	srv := httpapi.NewHTTPServer(api)
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ln) }()
	log.Info("molecule host serving", "url", url, "data_dir", cfg.DataDir, "plugins", cfg.PluginDir)
	if cfg.ReadyFile != "" {
		if err := writeReady(cfg.ReadyFile, url); err != nil {
			return err
		}
	}

	var exitErr error
	select {
	case <-ctx.Done():
	case err := <-srvErr:
		return err
	case exitErr = <-dbFatal:
		log.Error("database lost", "err", exitErr)
	}
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutCtx)
	cancelRun()
	<-sweepDone
	if err := st.StopOperations(shutCtx); err != nil {
		log.Warn("stopping operation workers", "err", err)
	}
	return exitErr
}

// openStore connects to MOLECULE_DATABASE_URL or starts the embedded
// cluster (supervised until ctx ends), then opens (and migrates) the store.
// The returned channel reports a failure the host cannot recover from.
func openStore(ctx context.Context, cfg *config, log *slog.Logger) (*store.Store, func(), <-chan error, error) {
	dsn, stop, fatal := cfg.DatabaseURL, func() {}, make(<-chan error)
	if dsn == "" {
		pg, err := startEmbedded(ctx, pgembed.Config{DataDir: filepath.Join(cfg.DataDir, "postgres"), Logger: log}, log)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("embedded postgres: %w", err)
		}
		superviseCtx, cancel := context.WithCancel(ctx)
		go pg.supervise(superviseCtx)
		dsn, fatal = pg.url(), pg.fail
		stop = func() {
			cancel()
			<-pg.done
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := pg.stop(sctx); err != nil {
				log.Warn("stopping embedded postgres", "err", err)
			}
		}
	}
	st, err := store.Open(ctx, dsn, store.Options{Logger: log, RescueAfter: cfg.OperationRescue, MaxAttempts: maxAttempts})
	if err != nil {
		stop()
		return nil, nil, nil, fmt.Errorf("store: %w", err)
	}
	return st, stop, fatal, nil
}

func migrate(ctx context.Context, cfg *config) error {
	log := newLogger(cfg.LogLevel)
	st, stop, _, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	st.Close()
	stop()
	fmt.Println("migrations applied")
	return nil
}

func writeReady(path, url string) error {
	b, _ := json.Marshal(map[string]string{"url": url})
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

func hclogFor(level string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "plugin", Level: hclog.LevelFromString(level), Output: os.Stderr})
}

// backendList adapts the plugin manager to the API's backend listing.
type backendList struct{ m *pluginmgr.Manager }

func (b backendList) Backends() []httpapi.BackendInfo {
	var out []httpapi.BackendInfo
	for _, in := range b.m.Infos() {
		bi := httpapi.BackendInfo{Name: in.Name, State: in.State, Reason: in.Reason, Path: in.Path,
			SHA256: in.SHA256, Restarts: in.Restarts, PID: in.PID, Features: map[string]httpapi.FeatureDTO{}}
		if m := in.Manifest; m != nil {
			bi.Version, bi.ProtocolVersion, bi.Description = m.Version, m.ProtocolVersion, m.Description
			for _, c := range m.Capabilities {
				bi.Capabilities = append(bi.Capabilities, string(c))
			}
			for id, f := range m.Features {
				bi.Features[id] = httpapi.FeatureDTO{Note: f.Note, Attributes: f.Attributes}
			}
		}
		out = append(out, bi)
	}
	return out
}

func pluginsVerify(cfg *config) error {
	checks, err := pluginmgr.Verify(cfg.PluginDir, cfg.LockFile)
	if err != nil {
		return err
	}
	bad := 0
	for _, c := range checks {
		status := "ok"
		if !c.OK {
			status, bad = "REFUSED: "+c.Problem, bad+1
		}
		fmt.Printf("%s  %s  %s\n", c.Got, c.File, status)
	}
	if bad > 0 {
		return errors.New(fmt.Sprint(bad, " plugin(s) fail verification against ", cfg.LockFile))
	}
	return nil
}

func pluginsLock(cfg *config) error {
	if err := pluginmgr.WriteLock(cfg.PluginDir, cfg.LockFile); err != nil {
		return err
	}
	fmt.Println("wrote", cfg.LockFile)
	return nil
}

// reopenAgentDirs serves again the host socket of every workspace that has
// an agent directory and is not removed (its agent keeps running across a
// host restart and redials the same path), and removes the directories of
// removed or unknown workspaces.
func reopenAgentDirs(ctx context.Context, st *store.Store, socks *agentsock.Server, log *slog.Logger) error {
	ids, err := socks.Existing()
	if err != nil {
		return err
	}
	for _, id := range ids {
		ws, err := st.GetWorkspace(ctx, id)
		switch {
		case err == nil && ws.Status != host.StatusRemoved:
			if _, err := socks.Open(id); err != nil {
				log.Warn("serving a workspace's agent socket again", "workspace", id, "err", err)
			}
		case err == nil || sdk.IsKind(err, sdk.KindNotFound):
			if err := socks.Remove(id); err != nil {
				log.Warn("removing a stale agent directory", "workspace", id, "err", err)
			}
		default:
			return fmt.Errorf("agent directories: %w", err)
		}
	}
	return nil
}
