package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/molecule-ai/molecule-host/sdk"
)

// PluginPrefix is the file name prefix a host requires of plugin binaries.
const PluginPrefix = "molecule-backend-"

// TmpPlaceholder in a --backend-config value is replaced by the backend
// run's private temporary directory, e.g. {"fake":{"state_dir":
// "${CONFORMANCE_TMP}/fake"}}.
const TmpPlaceholder = "${CONFORMANCE_TMP}"

// Config is one invocation of the suite.
type Config struct {
	Plugins       []string                     // plugin binaries, each named molecule-backend-*
	HostBinary    string                       // molecule-host
	Filter        *regexp.Regexp               // scenario ids to run; nil runs all
	BackendConfig map[string]map[string]string // Configure values per backend name
	OutDir        string                       // results JSON, JUnit XML, logs
	Timeout       time.Duration                // per scenario; default 3m
	Image         string                       // workspace image; default molecule-workspace:dev
	Progress      io.Writer                    // one line per scenario; nil discards
}

// Run runs the suite against every plugin in turn, writes <backend>.json and
// <backend>.xml into OutDir, and returns the results. An error means a
// backend could not be tested at all; a failed scenario is in the results
// (see Results.Failed).
func Run(ctx context.Context, cfg Config) ([]*Results, error) {
	if len(cfg.Plugins) == 0 {
		return nil, errors.New("no --plugin given")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3 * time.Minute
	}
	if cfg.Image == "" {
		cfg.Image = "molecule-workspace:dev"
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("output dir: %w", err)
	}
	var all []*Results
	var errs []error
	for _, p := range cfg.Plugins {
		r, err := runBackend(ctx, cfg, p)
		if err != nil {
			errs = append(errs, fmt.Errorf("plugin %s: %w", p, err))
			continue
		}
		if err := writeOutputs(cfg.OutDir, r); err != nil {
			errs = append(errs, err)
		}
		all = append(all, r)
	}
	return all, errors.Join(errs...)
}

func writeOutputs(dir string, r *Results) error {
	if err := r.WriteFile(filepath.Join(dir, r.Backend.Name+".json")); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, r.Backend.Name+".xml"))
	if err != nil {
		return fmt.Errorf("junit output: %w", err)
	}
	defer f.Close()
	return WriteJUnit(f, r)
}

// backendRun is the state of one backend's run.
type backendRun struct {
	cfg      Config
	work     string // private temp dir, removed at the end
	binary   string // the plugin's copy in the plugin dir
	dataDir  string // the host's data dir
	plugData string // the plugin's sdk.EnvDataDir, shared with the host's instance
	logger   hclog.Logger
	manifest *sdk.Manifest
	config   map[string]string
	plugin   sdk.Backend
	host     *hostProc
	client   *Client
	created  *idSet
	stops    []func() // run in reverse by close
}

func runBackend(ctx context.Context, cfg Config, pluginPath string) (*Results, error) {
	base := filepath.Base(pluginPath)
	if !strings.HasPrefix(base, PluginPrefix) {
		return nil, fmt.Errorf("plugin file name %q must start with %q (the host only loads such files)", base, PluginPrefix)
	}
	work, err := os.MkdirTemp("", "mconf-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	// the embedded Postgres runs as the postgres user and must reach its dir
	if err := os.Chmod(work, 0o755); err != nil {
		return nil, err
	}
	br := &backendRun{cfg: cfg, work: work, created: newIDSet(),
		dataDir: filepath.Join(work, "data")}
	br.binary = filepath.Join(work, "plugins", base)
	br.plugData = filepath.Join(br.dataDir, "backends", base)
	logf, err := os.Create(filepath.Join(cfg.OutDir, strings.TrimPrefix(base, PluginPrefix)+"-plugin.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	br.logger = hclog.New(&hclog.LoggerOptions{Name: "conformance", Output: logf, Level: hclog.Info})
	defer br.close()
	if err := br.setup(ctx, pluginPath); err != nil {
		return nil, err
	}
	return br.run(ctx), nil
}

// setup copies the plugin, reads its manifest through a direct launch and
// prepares the backend configuration.
func (br *backendRun) setup(ctx context.Context, pluginPath string) error {
	for _, d := range []string{filepath.Dir(br.binary), br.plugData} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := copyFile(pluginPath, br.binary); err != nil {
		return err
	}
	b, stop, err := launchPlugin(ctx, br.binary, br.plugData, br.logger)
	if err != nil {
		return err
	}
	br.plugin = b
	br.stops = append(br.stops, stop)
	m, err := b.Manifest(ctx)
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	if err := m.Validate(); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	br.manifest = m
	br.config = expandConfig(br.cfg.BackendConfig[m.Name], br.work)
	return nil
}
