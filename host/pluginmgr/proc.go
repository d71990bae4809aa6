package pluginmgr

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/molecule-ai/molecule-host/sdk"
)

// proc is one plugin binary and, while it runs, its process. Every field
// below mu is guarded by it; changed is closed and replaced on every state
// change so handles can wait for a restart.
type proc struct {
	m    *Manager
	file string // binary file name, e.g. molecule-backend-fake
	path string
	sha  string // digest from the lock file ("" when unlisted)
	log  hclog.Logger
	kick chan uint64 // a handle saw generation n fail with ErrPluginUnavailable

	mu        sync.Mutex
	name      string // backend name from the manifest, once known
	manifest  *sdk.Manifest
	client    *plugin.Client
	cmd       *exec.Cmd
	backend   sdk.Backend
	state     string
	reason    string
	restarts  int
	pid       int
	gen       uint64 // incremented on every successful launch
	changed   chan struct{}
	closed    bool
	crashes   []time.Time // crash times within CrashLoopWindow
	refused   bool        // refused for good (verification, manifest): never launched again
	coolDowns int         // failed half-open attempts since the last stable window
}

func (m *Manager) newProc(c Check) *proc {
	return &proc{
		m:       m,
		file:    c.File,
		path:    filepath.Join(m.cfg.Dir, c.File),
		sha:     c.Want,
		log:     m.log.Named(c.File),
		kick:    make(chan uint64, 1),
		state:   StateRestarting,
		reason:  "starting",
		changed: make(chan struct{}),
	}
}

// fallbackName is the name a plugin is known by before its manifest is read.
func (p *proc) fallbackName() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.name != "" {
		return p.name
	}
	return strings.TrimPrefix(p.file, BinaryPrefix)
}

// setStateLocked records a state change and wakes every waiter.
func (p *proc) setStateLocked(state, reason string) {
	p.state, p.reason = state, reason
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *proc) setUnavailable(reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.setStateLocked(StateUnavailable, reason)
}

// unavailableErr is the error handles return for an unavailable plugin.
// Callers hold p.mu.
func (p *proc) unavailableErr() error {
	name := p.name
	if name == "" {
		name = strings.TrimPrefix(p.file, BinaryPrefix)
	}
	return sdk.Errorf(sdk.KindTransient, "backend", "backend %s is unavailable: %s", name, p.reason)
}

func (p *proc) info() Info {
	p.mu.Lock()
	defer p.mu.Unlock()
	name := p.name
	if name == "" {
		name = strings.TrimPrefix(p.file, BinaryPrefix)
	}
	return Info{Name: name, Path: p.path, SHA256: p.sha, Manifest: p.manifest,
		State: p.state, Reason: p.reason, Restarts: p.restarts, PID: p.pid}
}

// current returns the backend of the running process whose generation is
// newer than after, waiting (bounded by ctx) while the plugin restarts.
func (p *proc) current(ctx context.Context, op string, after uint64) (sdk.Backend, uint64, error) {
	for {
		p.mu.Lock()
		if p.state == StateUnavailable {
			err := p.unavailableErr()
			p.mu.Unlock()
			return nil, 0, err
		}
		if p.state == StateRunning && p.gen > after {
			b, gen := p.backend, p.gen
			p.mu.Unlock()
			return b, gen, nil
		}
		ch, name := p.changed, p.name
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, 0, &sdk.Error{Kind: sdk.KindTransient, Op: op,
				Message: fmt.Sprintf("backend %s is restarting", name), Err: ctx.Err()}
		}
	}
}

// failed tells the supervisor that a call on generation gen found the
// plugin unreachable, so it need not wait for the next poll.
func (p *proc) failed(gen uint64) {
	select {
	case p.kick <- gen:
	default:
	}
}

// shutdown kills the process for good; used by Manager.Close.
func (p *proc) shutdown() {
	p.mu.Lock()
	c := p.client
	p.closed = true
	if p.state != StateUnavailable {
		p.setStateLocked(StateUnavailable, "plugin manager closed")
	}
	p.mu.Unlock()
	if c != nil {
		c.Kill()
	}
}

// exitReason describes how the last process ended. Callers hold p.mu.
func (p *proc) exitReasonLocked() string {
	if p.cmd != nil && p.cmd.ProcessState != nil {
		return p.cmd.ProcessState.String()
	}
	return "connection to plugin lost"
}
