// Package registry owns what workspace agents tell the host (register,
// heartbeat, boot events) and the sweeps that turn silence into status:
// liveness (heartbeat TTL in Postgres), the provision deadline, and a
// batched backend status sweep.
//
// The readiness rule lives here, once, for every backend: a workspace is
// online only after its agent registered AND reported a config_applied boot
// event whose hash equals the config hash the database holds. Docker's
// synchronous and a control plane's asynchronous config delivery therefore
// look the same to users.
//
// registry must not import host/httpapi, host/pluginmgr or sdk/pluginrpc.
package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/store"
	"github.com/molecule-ai/molecule-host/sdk"
)

// Store is what the registry needs from host/store.
type Store interface {
	GetWorkspace(ctx context.Context, id string) (*host.Workspace, error)
	WorkspaceByToken(ctx context.Context, digest []byte) (string, error)
	RecordRegister(ctx context.Context, id, url string, card []byte) error
	RecordConfigApplied(ctx context.Context, id, hash string) error
	RecordHeartbeat(ctx context.Context, id string, hb store.Heartbeat) error
	AppendEvent(ctx context.Context, workspaceID, typ string, payload any) error
	Transition(ctx context.Context, id string, ch host.StatusChange) (host.Status, error)
}

// Registry handles agent calls.
type Registry struct {
	store Store
	log   *slog.Logger
}

// New returns a Registry.
func New(st Store, log *slog.Logger) *Registry {
	if log == nil {
		log = slog.Default()
	}
	return &Registry{store: st, log: log}
}

// agentStatuses are the statuses in which a workspace's agent may call the
// registry. A token is revoked when its workspace stops or is removed; this
// check also shuts out agents of failed, paused or hibernated workspaces,
// whose calls could change nothing but would still be stored.
var agentStatuses = []host.Status{host.StatusProvisioning, host.StatusOnline, host.StatusOffline, host.StatusDegraded}

// Authenticate resolves an agent token digest to its workspace. KindNotFound
// (401 at the API) when the token is unknown, revoked, or its workspace is
// not in a status an agent runs in. The caller checks any workspace id the
// request names against the returned workspace.
func (r *Registry) Authenticate(ctx context.Context, digest []byte) (*host.Workspace, error) {
	id, err := r.store.WorkspaceByToken(ctx, digest)
	if err != nil {
		return nil, err
	}
	ws, err := r.store.GetWorkspace(ctx, id)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(agentStatuses, ws.Status) {
		return nil, sdk.Errorf(sdk.KindNotFound, "authenticate", "workspace %s is %s: its agent token is no longer valid", ws.ID, ws.Status)
	}
	return ws, nil
}

// Register records an agent's URL and card. The URL's host must be the
// address the backend placed the workspace at, so an agent cannot make the
// host forward traffic elsewhere.
func (r *Registry) Register(ctx context.Context, ws *host.Workspace, req *agentapi.RegisterRequest) error {
	if err := checkAgentURL(req.URL, ws.Address); err != nil {
		return err
	}
	card, err := json.Marshal(req.AgentCard)
	if err != nil {
		return sdk.Invalid("register", "The agent card is invalid.", sdk.FieldError{Path: "agent_card", Message: err.Error()})
	}
	if err := r.store.RecordRegister(ctx, ws.ID, req.URL, card); err != nil {
		return err
	}
	_ = r.store.AppendEvent(ctx, ws.ID, "agent.registered", map[string]string{"url": req.URL})
	return r.maybeOnline(ctx, ws.ID)
}

// BootEvent records one boot step; config_applied may complete readiness,
// failed fails a provisioning workspace with the agent's reason. The event
// is validated before anything is stored (see CheckBootEvent). Errors:
// KindInvalid, and the store's kinds.
func (r *Registry) BootEvent(ctx context.Context, ws *host.Workspace, ev *agentapi.BootEvent) error {
	if err := CheckBootEvent(ev); err != nil {
		return err
	}
	_ = r.store.AppendEvent(ctx, ws.ID, "boot."+ev.Phase, ev)
	switch ev.Phase {
	case agentapi.PhaseConfigApplied:
		if err := r.store.RecordConfigApplied(ctx, ws.ID, ev.ConfigHash); err != nil {
			return err
		}
		return r.maybeOnline(ctx, ws.ID)
	case agentapi.PhaseFailed:
		_, err := r.store.Transition(ctx, ws.ID, host.StatusChange{To: host.StatusFailed,
			Reason: "agent failed to boot: " + ev.Detail, From: []host.Status{host.StatusProvisioning}})
		return ignoreStale(err)
	}
	return nil
}

// Heartbeat records liveness; a workspace that went offline only because
// heartbeats stopped comes back online when they resume, provided this
// boot's readiness signals are in place.
func (r *Registry) Heartbeat(ctx context.Context, ws *host.Workspace, hb *agentapi.HeartbeatRequest) error {
	if err := r.store.RecordHeartbeat(ctx, ws.ID, store.Heartbeat{UptimeSeconds: hb.UptimeSeconds,
		ActiveTasks: hb.ActiveTasks, ErrorRate: hb.ErrorRate, RuntimeState: hb.RuntimeState}); err != nil {
		return err
	}
	if hb.RuntimeState == "wedged" {
		_, err := r.store.Transition(ctx, ws.ID, host.StatusChange{To: host.StatusDegraded, Reason: "agent reports its runtime wedged",
			From: []host.Status{host.StatusOnline}})
		return ignoreStale(err)
	}
	return r.maybeOnline(ctx, ws.ID)
}

// maybeOnline applies the readiness rule.
func (r *Registry) maybeOnline(ctx context.Context, id string) error {
	ws, err := r.store.GetWorkspace(ctx, id)
	if err != nil {
		return err
	}
	if ws.RegisteredAt == nil || ws.ConfigAppliedHash == "" {
		return nil
	}
	if ws.ConfigAppliedHash != ws.ConfigHash && ws.Status == host.StatusProvisioning {
		r.log.Warn("agent applied a config other than the database's", "workspace", id,
			"applied", ws.ConfigAppliedHash, "want", ws.ConfigHash)
		return nil
	}
	_, err = r.store.Transition(ctx, id, host.StatusChange{To: host.StatusOnline,
		Reason: "agent registered and applied config " + shortHash(ws.ConfigAppliedHash),
		From:   []host.Status{host.StatusProvisioning, host.StatusOffline, host.StatusDegraded}})
	return ignoreStale(err)
}

// checkAgentURL checks the URL an agent registers against where its backend
// placed it (host.Workspace.Address). For a unix endpoint the agent names
// its socket as it sees it (inside a container the path differs), so only
// the scheme is checked; for "host:port" the URL must be on exactly that
// host and port; for a bare host, on that host. The A2A proxy dials the
// placed address, never this URL; the check keeps what agents report
// honest.
func checkAgentURL(raw, address string) error {
	u, err := url.Parse(raw)
	bad := func(msg string) error {
		return sdk.Invalid("register", "The agent URL is not acceptable.", sdk.FieldError{Path: "url", Message: msg})
	}
	if address == "" {
		// The agent can boot before the backend's Start has returned its
		// placement: ask it to retry rather than refusing it.
		return sdk.Errorf(sdk.KindTransient, "register", "The backend has not reported this workspace's address yet; retry shortly.")
	}
	if strings.HasPrefix(address, host.UnixEndpointPrefix) {
		if err != nil || u.Scheme != "unix" || !strings.HasPrefix(u.Path, "/") || u.Host != "" {
			return bad("must be unix:///<socket path>: this workspace's agent serves on a unix socket")
		}
		return nil
	}
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad("must be an absolute http(s) URL")
	}
	if h, port, perr := net.SplitHostPort(address); perr == nil {
		if (u.Hostname() != h && !sameIP(u.Hostname(), h)) || u.Port() != port {
			return bad(fmt.Sprintf("%q is not the workspace's endpoint %q", u.Host, address))
		}
		return nil
	}
	if h := u.Hostname(); h != address && !sameIP(h, address) {
		return bad(fmt.Sprintf("host %q is not the workspace's address %q", h, address))
	}
	return nil
}

func sameIP(a, b string) bool {
	ia, ib := net.ParseIP(a), net.ParseIP(b)
	return ia != nil && ib != nil && ia.Equal(ib)
}

func ignoreStale(err error) error {
	if sdk.IsKind(err, sdk.KindConflict) {
		return nil // the workspace moved on (stopped, removed): the signal is moot
	}
	return err
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
