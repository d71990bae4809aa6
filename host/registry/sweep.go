package registry

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/dispatch"
	"github.com/molecule-ai/molecule-host/sdk"
)

// SweepStore is what the sweeper needs from host/store.
type SweepStore interface {
	ListHeartbeatExpired(ctx context.Context, ttl time.Duration) ([]string, error)
	ListProvisionExpired(ctx context.Context) ([]string, error)
	ListBackendChecked(ctx context.Context) ([]*host.Workspace, error)
	GetWorkspace(ctx context.Context, id string) (*host.Workspace, error)
	Transition(ctx context.Context, id string, ch host.StatusChange) (host.Status, error)
	FailAbandonedOperations(ctx context.Context, minAge time.Duration) ([]string, error)
}

// abandonedEvery is how often the sweeper looks for abandoned operations
// (a query over the job table, so less often than the status sweeps).
const abandonedEvery = 30 * time.Second

// Boot-log tail used in the reason of a boot the backend reports failed.
const (
	bootTailLines   = 5
	bootTailTimeout = 5 * time.Second
	maxReason       = 2048
)

// Sweeper turns silence into status on a timer.
//
// The database sweeps (provision deadline, heartbeat TTL, abandoned
// operations) run in the sweep round itself and never wait on a plugin.
// Each backend's status sweep runs in a goroutine of its own, bounded by
// the dispatcher's Status deadline, and a backend whose previous sweep has
// not finished is skipped for the round: a hung plugin delays only its own
// workspaces.
type Sweeper struct {
	store         SweepStore
	dispatch      *dispatch.Dispatcher
	ttl           time.Duration
	log           *slog.Logger
	now           func() time.Time
	started       time.Time
	lastAbandoned time.Time

	mu   sync.Mutex
	busy map[string]bool // backends whose status sweep still runs
	wg   sync.WaitGroup
}

// NewSweeper returns a Sweeper with liveness TTL ttl. The TTL also counts
// from now: until one TTL has passed, liveness marks nothing offline, so
// the time the host was down never counts against an agent's heartbeats.
func NewSweeper(st SweepStore, d *dispatch.Dispatcher, ttl time.Duration, log *slog.Logger) *Sweeper {
	if log == nil {
		log = slog.Default()
	}
	s := &Sweeper{store: st, dispatch: d, ttl: ttl, log: log, now: time.Now, busy: map[string]bool{}}
	s.started = s.now()
	return s
}

// Run sweeps every interval until ctx ends, then waits for the backend
// sweeps it started.
func (s *Sweeper) Run(ctx context.Context, interval time.Duration) {
	defer s.Wait()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		s.Sweep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Wait waits for the backend status sweeps started so far to finish.
func (s *Sweeper) Wait() { s.wg.Wait() }

// Sweep runs one round: the provision deadline, the heartbeat TTL (after
// the start-up grace) and abandoned operations, then starts one batched
// backend status sweep per backend not still busy with the previous
// round's, and returns without waiting for them (see Wait).
func (s *Sweeper) Sweep(ctx context.Context) {
	ids, err := s.store.ListProvisionExpired(ctx)
	s.apply(ctx, ids, err, host.StatusChange{To: host.StatusFailed,
		Reason: "the agent did not register and apply its config before the provision deadline",
		From:   []host.Status{host.StatusProvisioning}})

	if s.now().Sub(s.started) >= s.ttl {
		ids, err = s.store.ListHeartbeatExpired(ctx, s.ttl)
		s.apply(ctx, ids, err, host.StatusChange{To: host.StatusOffline,
			Reason: fmt.Sprintf("no heartbeat for %s", s.ttl),
			From:   []host.Status{host.StatusOnline, host.StatusDegraded}})
	}

	if s.now().Sub(s.lastAbandoned) >= abandonedEvery {
		s.lastAbandoned = s.now()
		ids, err := s.store.FailAbandonedOperations(ctx, time.Minute)
		if err != nil && ctx.Err() == nil {
			s.log.Error("abandoned operations sweep", "err", err)
		}
		for _, id := range ids {
			s.log.Warn("operation abandoned by its job; failed it", "operation", id)
		}
	}

	s.startBackendSweeps(ctx)
}

func (s *Sweeper) apply(ctx context.Context, ids []string, err error, ch host.StatusChange) {
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("sweep query", "to", ch.To, "err", err)
		}
		return
	}
	for _, id := range ids {
		s.transition(ctx, id, ch)
	}
}

func (s *Sweeper) transition(ctx context.Context, id string, ch host.StatusChange) {
	if _, err := s.store.Transition(ctx, id, ch); err != nil {
		if ignoreStale(err) != nil && ctx.Err() == nil {
			s.log.Error("sweep transition", "workspace", id, "to", ch.To, "err", err)
		}
		return
	}
	s.log.Info("sweep", "workspace", id, "status", ch.To, "reason", ch.Reason)
}

// startBackendSweeps groups the workspaces to check by backend and sweeps
// each backend in its own goroutine, unless its previous sweep still runs.
func (s *Sweeper) startBackendSweeps(ctx context.Context) {
	wss, err := s.store.ListBackendChecked(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("status sweep query", "err", err)
		}
		return
	}
	groups := map[string][]*host.Workspace{}
	for _, ws := range wss {
		groups[ws.Backend] = append(groups[ws.Backend], ws)
	}
	for name, group := range groups {
		s.mu.Lock()
		busy := s.busy[name]
		s.busy[name] = true
		s.mu.Unlock()
		if busy {
			s.log.Debug("status sweep: the previous sweep of this backend still runs; skipped", "backend", name)
			continue
		}
		s.wg.Go(func() {
			defer func() {
				s.mu.Lock()
				delete(s.busy, name)
				s.mu.Unlock()
			}()
			s.sweepBackend(ctx, name, group)
		})
	}
}

// sweepBackend asks one backend about its workspaces (one batched call)
// and applies what it says. A backend that cannot answer, or answers
// unknown, changes nothing: unknown is not "not running".
//   - online or degraded, and not running: offline at once (a killed
//     container, a terminated instance), without waiting for the TTL;
//   - provisioning with its start returned, and stopped or missing: the
//     boot failed on the substrate; failed with the backend's detail and
//     the boot log's last lines, without waiting for the deadline;
//   - stopped, and running: stopped still, with a reason saying so (the
//     state machine allows stopped only to provisioning or removed, and a
//     same-status write refreshes the reason); the reason is put back once
//     the backend reports it not running.
func (s *Sweeper) sweepBackend(ctx context.Context, name string, wss []*host.Workspace) {
	states, err := s.dispatch.Status(ctx, wss)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("status sweep: backend did not answer", "backend", name, "err", err)
	}
	for _, ws := range wss {
		st, ok := states[ws.ID]
		if !ok || st.State == sdk.RunStateUnknown {
			continue
		}
		switch ws.Status {
		case host.StatusOnline, host.StatusDegraded:
			if !st.Running() {
				s.transition(ctx, ws.ID, host.StatusChange{To: host.StatusOffline,
					Reason: fmt.Sprintf("backend %s reports the workspace %s", ws.Backend, st.State),
					From:   []host.Status{host.StatusOnline, host.StatusDegraded}})
			}
		case host.StatusProvisioning:
			if !st.Running() {
				s.failBoot(ctx, ws, st)
			}
		case host.StatusStopped:
			s.checkStopped(ctx, ws, st)
		}
	}
}

// failBoot fails a provisioning workspace whose backend no longer runs it
// although its start returned. The row was read before the plugin call:
// a workspace changed since (a new start began) is left to the next round.
func (s *Sweeper) failBoot(ctx context.Context, ws *host.Workspace, st dispatch.RunState) {
	cur, err := s.store.GetWorkspace(ctx, ws.ID)
	if err != nil || cur.Status != host.StatusProvisioning || !cur.UpdatedAt.Equal(ws.UpdatedAt) {
		return
	}
	reason := fmt.Sprintf("Backend %s reports the workspace %s before it came online", ws.Backend, st.State)
	if st.Detail != "" {
		reason += ": " + st.Detail
	}
	if tail := s.bootLogTail(ctx, ws); tail != "" {
		reason += "; last boot log lines: " + tail
	}
	s.transition(ctx, ws.ID, host.StatusChange{To: host.StatusFailed, Reason: clipReason(reason),
		From: []host.Status{host.StatusProvisioning}})
}

// bootLogTail returns the last lines of the workspace's boot log, joined
// by " | ", or "" when the backend has none to give in time.
func (s *Sweeper) bootLogTail(ctx context.Context, ws *host.Workspace) string {
	ctx, cancel := context.WithTimeout(ctx, bootTailTimeout)
	defer cancel()
	var buf bytes.Buffer
	err := s.dispatch.Logs(ctx, ws, dispatch.LogsOptions{TailLines: bootTailLines}, func(b []byte) error {
		if buf.Len() < maxReason {
			buf.Write(b)
		}
		return nil
	})
	if err != nil {
		s.log.Debug("status sweep: no boot log for the reason", "workspace", ws.ID, "err", err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	lines = lines[max(0, len(lines)-bootTailLines):]
	return strings.TrimSpace(strings.Join(lines, " | "))
}

// stillRunning is the reason of a stopped workspace its backend reports
// running.
func stillRunning(backend string) string {
	return fmt.Sprintf("stopped, but backend %s reports the workspace still running: stop it again or delete it", backend)
}

func (s *Sweeper) checkStopped(ctx context.Context, ws *host.Workspace, st dispatch.RunState) {
	running := stillRunning(ws.Backend)
	var reason string
	switch {
	case st.Running() && ws.StatusReason != running:
		reason = running
	case !st.Running() && ws.StatusReason == running:
		reason = fmt.Sprintf("stopped; backend %s reports the workspace %s", ws.Backend, st.State)
	default:
		return
	}
	s.transition(ctx, ws.ID, host.StatusChange{To: host.StatusStopped, Reason: reason, From: []host.Status{host.StatusStopped}})
}

func clipReason(s string) string {
	if len(s) <= maxReason {
		return s
	}
	return strings.ToValidUTF8(s[:maxReason], "") + "..."
}
