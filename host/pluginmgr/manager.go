package pluginmgr

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/pluginrpc"
)

// Plugin states reported in Info.State.
const (
	StateRunning     = "running"
	StateRestarting  = "restarting"
	StateUnavailable = "unavailable"
)

// Config says where the plugins are and how they are supervised. Zero
// durations and limits take the documented defaults.
type Config struct {
	Dir      string                       // plugin directory: executables named molecule-backend-*
	LockFile string                       // default Dir/plugins.lock, sha256sum format "<hex>  <file name>"
	DataDir  string                       // each plugin gets DataDir/<backend binary name> as $MOLECULE_BACKEND_DATA_DIR (sdk.EnvDataDir)
	Backends map[string]map[string]string // Configure values per backend name
	Logger   hclog.Logger                 // plugin stderr lines appear under the plugin's name

	RestartBackoff  time.Duration // first restart delay (default 100ms), doubling to MaxBackoff
	MaxBackoff      time.Duration // longest restart delay (default 5s)
	CrashLoopLimit  int           // this many crashes within CrashLoopWindow -> unavailable (default 5)
	CrashLoopWindow time.Duration // default 1m

	// LaunchTimeout bounds every launch, the first as well as a relaunch:
	// handshake, Manifest and Configure (default 30s). A plugin that does
	// not answer in time is unavailable with the step that hung as reason.
	LaunchTimeout time.Duration
	// CoolDown is how long an unavailable plugin (crash loop or failed
	// launch) waits before one more launch attempt (default 30s); each
	// failed attempt doubles it, up to MaxCoolDown (default 10m, never less
	// than CoolDown). A plugin refused for its binary or its manifest is
	// never retried.
	CoolDown    time.Duration
	MaxCoolDown time.Duration
}

// ErrPluginExited is wrapped (errors.Is) by a handle's error when the
// plugin process was lost during the call and the call was not completed
// on a restarted process: the retry once failed too, or the restart ended
// in unavailable. It is pluginrpc.ErrPluginUnavailable, exported here for
// host packages that may not import sdk/pluginrpc.
var ErrPluginExited = pluginrpc.ErrPluginUnavailable

// Info describes one plugin binary and its process, for status pages and
// `molecule-host plugins`. Name is the manifest's backend name, or the
// binary's name without its prefix when no manifest was read.
type Info struct {
	Name, Path, SHA256 string
	Manifest           *sdk.Manifest
	State              string // running, restarting or unavailable
	Reason             string // why the plugin is unavailable or restarting
	Restarts           int
	PID                int
}

// Manager launches and supervises the backend plugins. It is safe for
// concurrent use. Create it with New, call Start once, Close at shutdown.
type Manager struct {
	cfg    Config
	log    hclog.Logger
	ctx    context.Context // canceled by Close; ends the supervisors
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	procs  []*proc          // every binary found, in file name order
	byName map[string]*proc // backend name -> its plugin
}

// New returns a Manager for cfg, filling defaults. It starts nothing.
func New(cfg Config) *Manager {
	if cfg.LockFile == "" {
		cfg.LockFile = filepath.Join(cfg.Dir, DefaultLockName)
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.Default()
	}
	if cfg.RestartBackoff <= 0 {
		cfg.RestartBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	if cfg.CrashLoopLimit <= 0 {
		cfg.CrashLoopLimit = 5
	}
	if cfg.CrashLoopWindow <= 0 {
		cfg.CrashLoopWindow = time.Minute
	}
	if cfg.LaunchTimeout <= 0 {
		cfg.LaunchTimeout = 30 * time.Second
	}
	if cfg.CoolDown <= 0 {
		cfg.CoolDown = 30 * time.Second
	}
	if cfg.MaxCoolDown <= 0 {
		cfg.MaxCoolDown = 10 * time.Minute
	}
	cfg.MaxCoolDown = max(cfg.MaxCoolDown, cfg.CoolDown)
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{cfg: cfg, log: cfg.Logger, ctx: ctx, cancel: cancel, byName: make(map[string]*proc)}
}

// Start discovers every plugin in Dir, verifies each against the lock file
// before launching it, launches, negotiates, reads and validates its
// manifest, and configures it from Backends[name]; then it supervises each.
// Plugins launch concurrently, each bounded by LaunchTimeout, so Start
// returns within about LaunchTimeout however the plugins behave. A plugin
// that fails verification, launch, manifest or Configure is recorded
// unavailable with the reason (see Infos) and the others still load; one
// that failed to launch or hung is tried again after CoolDown. Start
// returns an error, joining the reasons, only when the lock file cannot be
// read or a binary failed verification: the host must refuse to run with
// unverified code in its plugin directory.
func (m *Manager) Start(ctx context.Context) error {
	checks, files, verr := verify(m.cfg.Dir, m.cfg.LockFile)
	if checks == nil && verr != nil {
		return verr
	}
	var launches sync.WaitGroup
	for _, c := range checks {
		if c.Got == "" && c.Want != "" && !c.OK {
			continue // a lock entry with no file: nothing to record
		}
		p := m.newProc(c)
		m.mu.Lock()
		m.procs = append(m.procs, p)
		m.mu.Unlock()
		if !c.OK {
			p.setUnavailable(c.Problem)
			m.log.Error("plugin refused", "file", c.File, "reason", c.Problem)
			continue
		}
		launches.Add(1)
		go func() {
			defer launches.Done()
			p.firstLaunch(ctx, files[c.File])
		}()
	}
	launches.Wait()
	return verr
}

// firstLaunch launches p from the verified bin, bounded by LaunchTimeout
// and by ctx, and starts its supervisor: watching the process, or, after a
// failure that another attempt may fix, cooling down before the next.
func (p *proc) firstLaunch(ctx context.Context, bin *os.File) {
	lctx, cancel := context.WithTimeout(p.m.ctx, p.m.cfg.LaunchTimeout)
	stop := context.AfterFunc(ctx, cancel)
	err := p.launch(lctx, bin)
	stop()
	cancel()
	if err != nil {
		p.m.log.Error("plugin failed to load", "file", p.file, "error", err)
		if !p.giveUp(err.Error(), err) {
			return
		}
	}
	p.m.wg.Add(1)
	go p.supervise(err == nil)
}

// register claims the backend name for p, refusing a second plugin with the
// same name.
func (m *Manager) register(p *proc, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if other, ok := m.byName[name]; ok && other != p {
		return fmt.Errorf("backend name %q is already served by %s", name, other.file)
	}
	m.byName[name] = p
	p.mu.Lock()
	p.name = name
	p.mu.Unlock()
	return nil
}

// Backend returns a handle for the named backend and its manifest. The
// handle implements sdk.Backend, sdk.Filer, sdk.Execer and sdk.LogStreamer
// by forwarding to the current plugin process (consult the manifest's
// Capabilities before calling an optional verb). A call that fails because
// the process is gone waits, bounded by its ctx, for the restart and is
// retried once. Errors: KindNotFound when no backend has that name,
// KindTransient (with the reason) when it is unavailable.
func (m *Manager) Backend(name string) (sdk.Backend, *sdk.Manifest, error) {
	m.mu.Lock()
	p, ok := m.byName[name]
	if !ok {
		for _, q := range m.procs {
			if q.fallbackName() == name {
				p, ok = q, true
			}
		}
	}
	m.mu.Unlock()
	if !ok {
		return nil, nil, sdk.Errorf(sdk.KindNotFound, "backend", "no backend named %s", name)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == StateUnavailable {
		return nil, nil, p.unavailableErr()
	}
	return &handle{p: p}, p.manifest, nil
}

// Infos describes every plugin binary found, sorted by name.
func (m *Manager) Infos() []Info {
	m.mu.Lock()
	procs := append([]*proc(nil), m.procs...)
	m.mu.Unlock()
	out := make([]Info, 0, len(procs))
	for _, p := range procs {
		out = append(out, p.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Close stops supervision and kills every plugin process, waiting for each
// to exit. Handles return KindTransient afterwards.
func (m *Manager) Close() {
	m.cancel()
	m.wg.Wait()
	m.mu.Lock()
	procs := append([]*proc(nil), m.procs...)
	m.mu.Unlock()
	for _, p := range procs {
		p.shutdown()
	}
}
