package fake

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/molecule-ai/molecule-host/agent"
	"github.com/molecule-ai/molecule-host/agentapi"
)

// simAgent is the workspace agent of one running fake workspace: the real
// molecule-agent code (package agent), run in this plugin process instead
// of a container, on a free loopback port, with the workspace's config
// files in a directory of the state dir. So the fake's workspaces boot,
// register, heartbeat and answer A2A exactly like real ones.
type simAgent struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (a *simAgent) alive() bool {
	select {
	case <-a.done:
		return false
	default:
		return true
	}
}

// configDir is where the agent of id finds its config files.
func (s *store) configDir(id string) string { return filepath.Join(s.dir, "agents", id, "configs") }

// startAgentLocked (re)starts the agent of r when this instance holds the
// agents lock; an observer instance runs none. b.mu must be held.
func (b *Backend) startAgentLocked(r *record) {
	if b.lock == nil {
		return
	}
	b.stopAgentLocked(r.ID)
	dir := b.store.configDir(r.ID)
	_ = os.RemoveAll(dir) // exactly the request's files, nothing stale
	if err := agent.WriteConfigDir(dir, r.ConfigFiles); err != nil {
		b.log.Error("cannot write the agent's config", "workspace_id", r.ID, "error", err)
		_ = b.store.appendLog(r.ID, "agent failed: "+err.Error())
		return
	}
	interval := agentapi.DefaultHeartbeatInterval
	if d, err := time.ParseDuration(r.Env[agentapi.EnvHeartbeatInterval]); err == nil && d > 0 {
		interval = d
	}
	cfg := agent.Config{
		WorkspaceID: r.ID, HostURL: r.HostURL, Token: r.Token, ConfigDir: dir,
		ListenAddr: address + ":0", HeartbeatInterval: interval, Runtime: r.Env[agentapi.EnvRuntime],
		Out: &bootLog{store: b.store, id: r.ID},
	}
	if r.AgentDir != "" { // the host's agent directory: unix sockets, as in a container
		cfg.HostURL = agentapi.UnixURLScheme + filepath.Join(r.AgentDir, agentapi.HostSocket)
		cfg.ListenAddr = agentapi.UnixAddrPrefix + filepath.Join(r.AgentDir, agentapi.AgentSocket)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &simAgent{cancel: cancel, done: make(chan struct{})}
	b.agents[r.ID] = a
	log := b.log.With("workspace_id", r.ID)
	go func() {
		defer close(a.done)
		if err := agent.New(cfg).Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			log.Warn("agent exited", "error", err)
		}
	}()
}

// stopAgentLocked stops the agent of id, if any, and waits for it. b.mu
// must be held.
func (b *Backend) stopAgentLocked(id string) {
	if a := b.agents[id]; a != nil {
		delete(b.agents, id)
		a.cancel()
		<-a.done
	}
}

func (b *Backend) stopAgentsLocked() {
	for id := range b.agents {
		b.stopAgentLocked(id)
	}
}

// resumeAgentsLocked starts the agents of workspaces recorded running that
// have none in this process (after a plugin restart). b.mu must be held.
func (b *Backend) resumeAgentsLocked() {
	ids, err := b.store.ids()
	if err != nil {
		b.log.Error("cannot list workspace records to resume agents", "error", err)
		return
	}
	for _, id := range ids {
		r, err := b.store.read(id)
		if err != nil || r == nil || r.State != "running" {
			continue
		}
		if a := b.agents[id]; a == nil || !a.alive() {
			b.log.Info("resuming agent", "workspace_id", id)
			b.startAgentLocked(r)
		}
	}
}

// bootLog records the agent's boot log lines in the workspace record, where
// the Logs verb reads them.
type bootLog struct {
	mu      sync.Mutex
	store   *store
	id      string
	partial []byte
}

func (l *bootLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		if err := l.store.appendLog(l.id, string(l.partial[:i])); err != nil {
			return 0, err
		}
		l.partial = l.partial[i+1:]
	}
}
