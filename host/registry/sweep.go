package registry

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/dispatch"
	"github.com/molecule-ai/molecule-host/host/store"
)

// SweepStore is what the sweeper needs from host/store.
type SweepStore interface {
	ListHeartbeatExpired(ctx context.Context, ttl time.Duration) ([]string, error)
	ListProvisionExpired(ctx context.Context) ([]string, error)
	ListWorkspaces(ctx context.Context, f store.ListFilter) ([]*host.Workspace, error)
	Transition(ctx context.Context, id string, ch host.StatusChange) (host.Status, error)
	FailAbandonedOperations(ctx context.Context, minAge time.Duration) ([]string, error)
}

// abandonedEvery is how often the sweeper looks for abandoned operations
// (a query over the job table, so less often than the status sweeps).
const abandonedEvery = 30 * time.Second

// Sweeper turns silence into status on a timer.
type Sweeper struct {
	store         SweepStore
	dispatch      *dispatch.Dispatcher
	ttl           time.Duration
	log           *slog.Logger
	lastAbandoned time.Time
}

// NewSweeper returns a Sweeper with liveness TTL ttl.
func NewSweeper(st SweepStore, d *dispatch.Dispatcher, ttl time.Duration, log *slog.Logger) *Sweeper {
	if log == nil {
		log = slog.Default()
	}
	return &Sweeper{store: st, dispatch: d, ttl: ttl, log: log}
}

// Run sweeps every interval until ctx ends.
func (s *Sweeper) Run(ctx context.Context, interval time.Duration) {
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

// Sweep runs each sweep once: provision deadline, heartbeat TTL, and one
// batched backend status call per backend for the workspaces believed live.
func (s *Sweeper) Sweep(ctx context.Context) {
	ids, err := s.store.ListProvisionExpired(ctx)
	s.apply(ctx, ids, err, host.StatusChange{To: host.StatusFailed,
		Reason: "the agent did not register and apply its config before the provision deadline",
		From:   []host.Status{host.StatusProvisioning}})

	ids, err = s.store.ListHeartbeatExpired(ctx, s.ttl)
	s.apply(ctx, ids, err, host.StatusChange{To: host.StatusOffline,
		Reason: fmt.Sprintf("no heartbeat for %s", s.ttl),
		From:   []host.Status{host.StatusOnline, host.StatusDegraded}})

	s.sweepBackends(ctx)

	if time.Since(s.lastAbandoned) >= abandonedEvery {
		s.lastAbandoned = time.Now()
		ids, err := s.store.FailAbandonedOperations(ctx, time.Minute)
		if err != nil && ctx.Err() == nil {
			s.log.Error("abandoned operations sweep", "err", err)
		}
		for _, id := range ids {
			s.log.Warn("operation abandoned by its job; failed it", "operation", id)
		}
	}
}

func (s *Sweeper) apply(ctx context.Context, ids []string, err error, ch host.StatusChange) {
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("sweep query", "to", ch.To, "err", err)
		}
		return
	}
	for _, id := range ids {
		if _, err := s.store.Transition(ctx, id, ch); err != nil && ignoreStale(err) != nil {
			s.log.Error("sweep transition", "workspace", id, "to", ch.To, "err", err)
			continue
		}
		s.log.Info("sweep", "workspace", id, "status", ch.To, "reason", ch.Reason)
	}
}

// sweepBackends marks offline the live workspaces whose backend says they
// are not running (a killed container, a terminated instance), without
// waiting for the heartbeat TTL. A backend that cannot answer changes
// nothing: unknown is not "not running".
func (s *Sweeper) sweepBackends(ctx context.Context) {
	wss, err := s.store.ListWorkspaces(ctx, store.ListFilter{Statuses: []host.Status{host.StatusOnline, host.StatusDegraded}})
	if err != nil || len(wss) == 0 {
		return
	}
	states, err := s.dispatch.Status(ctx, wss)
	if err != nil {
		s.log.Warn("status sweep: backend did not answer", "err", err)
	}
	for _, ws := range wss {
		st, ok := states[ws.ID]
		if !ok || st.Running() || st.State == "unknown" {
			continue
		}
		ch := host.StatusChange{To: host.StatusOffline, Reason: fmt.Sprintf("backend %s reports the workspace %s", ws.Backend, st.State),
			From: []host.Status{host.StatusOnline, host.StatusDegraded}}
		if _, err := s.store.Transition(ctx, ws.ID, ch); err != nil && ignoreStale(err) != nil {
			s.log.Error("status sweep transition", "workspace", ws.ID, "err", err)
		}
	}
}
