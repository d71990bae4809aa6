package fake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/molecule-ai/molecule-host/agentapi"
)

// Registry retry backoff bounds.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// agent is the simulated molecule-agent of one running workspace: it serves
// /health and a JSON-RPC echo on a loopback port, reports config_applied,
// registers and heartbeats to the host with the workspace's token.
type agent struct {
	id, hostURL, token, configHash string
	interval                       time.Duration

	log    hclog.Logger
	store  *store
	client *http.Client

	cancel  context.CancelFunc
	done    chan struct{}
	again   chan struct{} // re-announce request, buffered 1
	started time.Time
}

func newAgent(log hclog.Logger, st *store, r *record) *agent {
	interval := agentapi.DefaultHeartbeatInterval
	if d, err := time.ParseDuration(r.Env[agentapi.EnvHeartbeatInterval]); err == nil && d > 0 {
		interval = d
	}
	return &agent{
		id: r.ID, hostURL: r.HostURL, token: r.Token, configHash: r.ConfigHash, interval: interval,
		log: log.With("workspace_id", r.ID), store: st, client: &http.Client{Timeout: 5 * time.Second},
		done: make(chan struct{}), again: make(chan struct{}, 1),
	}
}

// startAgentLocked (re)starts the agent of r when this instance holds the
// agents lock; an observer instance runs none. b.mu must be held.
func (b *Backend) startAgentLocked(r *record) {
	if b.lock == nil {
		return
	}
	b.stopAgentLocked(r.ID)
	a := newAgent(b.log, b.store, r)
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	b.agents[r.ID] = a
	go a.run(ctx)
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
			b.log.Info("resuming simulated agent", "workspace_id", id)
			b.startAgentLocked(r)
		}
	}
}

func (a *agent) alive() bool {
	select {
	case <-a.done:
		return false
	default:
		return true
	}
}

// reannounce asks the running agent to report config_applied and register
// again, as after a boot.
func (a *agent) reannounce() {
	select {
	case a.again <- struct{}{}:
	default:
	}
}

func (a *agent) run(ctx context.Context) {
	defer close(a.done)
	a.started = time.Now()
	ln, err := net.Listen("tcp", net.JoinHostPort(address, "0"))
	if err != nil {
		a.log.Error("simulated agent cannot listen", "error", err)
		_ = a.store.appendLog(a.id, "agent failed: "+err.Error())
		return
	}
	srv := &http.Server{Handler: a.handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	url := "http://" + ln.Addr().String()

	_ = a.store.appendLog(a.id, "config applied hash="+a.configHash)
	if !a.announce(ctx, url, true) {
		return
	}
	t := time.NewTicker(a.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.again:
			if !a.announce(ctx, url, false) {
				return
			}
		case <-t.C:
			a.heartbeat(ctx)
		}
	}
}

// announce reports config_applied, registers url and sends a first
// heartbeat, retrying each until it succeeds; false means ctx ended.
func (a *agent) announce(ctx context.Context, url string, logIt bool) bool {
	ev := agentapi.BootEvent{WorkspaceID: a.id, Phase: agentapi.PhaseConfigApplied, ConfigHash: a.configHash}
	if !a.postRetry(ctx, agentapi.PathBootEvent, ev) {
		return false
	}
	reg := agentapi.RegisterRequest{WorkspaceID: a.id, URL: url, AgentCard: agentapi.AgentCard{
		Name: "fake-agent-" + a.id, Description: "Simulated agent of the fake backend.", Version: Version, URL: url,
	}}
	if !a.postRetry(ctx, agentapi.PathRegister, reg) {
		return false
	}
	if logIt {
		_ = a.store.appendLog(a.id, "agent registered")
	}
	a.heartbeat(ctx)
	return true
}

func (a *agent) heartbeat(ctx context.Context) {
	hb := agentapi.HeartbeatRequest{WorkspaceID: a.id, UptimeSeconds: int64(time.Since(a.started).Seconds()), ConfigHash: a.configHash}
	if err := a.post(ctx, agentapi.PathHeartbeat, hb); err != nil && ctx.Err() == nil {
		a.log.Warn("heartbeat failed", "error", err)
	}
}

// postRetry posts body until the host accepts it, backing off between
// attempts; registry failures are never fatal. false means ctx ended.
func (a *agent) postRetry(ctx context.Context, path string, body any) bool {
	wait := minBackoff
	for {
		err := a.post(ctx, path, body)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		a.log.Warn("registry call failed; retrying", "path", path, "error", err, "backoff", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		wait = min(2*wait, maxBackoff)
	}
}

func (a *agent) post(ctx context.Context, path string, body any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.hostURL+path, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("POST %s: %s: %s", path, resp.Status, bytes.TrimSpace(msg))
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}
