package agent

import (
	"context"
	"time"

	"github.com/molecule-ai/molecule-host/agentapi"
)

// outbox delivers the agent's host calls in order, from one goroutine, each
// retried until the host accepts it, so boot never waits on the host.
type outbox struct {
	a      *Agent
	jobs   chan func(ctx context.Context)
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

func newOutbox(ctx context.Context, a *Agent) *outbox {
	o := &outbox{a: a, jobs: make(chan func(context.Context), 16), done: make(chan struct{})}
	o.ctx, o.cancel = context.WithCancel(ctx)
	if a.cfg.HostURL == "" {
		a.log.printf("no %s: running standalone, no host calls", agentapi.EnvHostURL)
	}
	go o.run()
	return o
}

func (o *outbox) run() {
	defer close(o.done)
	for {
		select {
		case <-o.ctx.Done():
			return
		case job := <-o.jobs:
			job(o.ctx)
		}
	}
}

// close stops delivery and waits for the worker to return.
func (o *outbox) close() {
	o.cancel()
	<-o.done
}

func (o *outbox) enqueue(what, path string, body any) {
	if o.a.cfg.HostURL == "" {
		return
	}
	o.jobs <- func(ctx context.Context) { o.a.host.deliver(ctx, what, path, body) }
}

func (o *outbox) bootEvent(phase, detail string) {
	ev := agentapi.BootEvent{WorkspaceID: o.a.cfg.WorkspaceID, Phase: phase, Detail: detail}
	if phase == agentapi.PhaseConfigApplied {
		ev.ConfigHash = o.a.hash
	}
	o.enqueue("boot event "+phase, agentapi.PathBootEvent, ev)
}

func (o *outbox) register(req agentapi.RegisterRequest) {
	o.enqueue("register", agentapi.PathRegister, req)
}

// flush waits until every job enqueued so far has run, or ctx ends.
func (o *outbox) flush(ctx context.Context) {
	flushed := make(chan struct{})
	select {
	case o.jobs <- func(context.Context) { close(flushed) }:
	case <-ctx.Done():
		return
	}
	select {
	case <-flushed:
	case <-ctx.Done():
	}
}

// heartbeats queues the heartbeat loop: one heartbeat at once, then one
// every HeartbeatInterval until the agent stops. A failed heartbeat is
// logged; the next tick is its retry.
func (o *outbox) heartbeats() {
	if o.a.cfg.HostURL == "" {
		return
	}
	o.jobs <- func(ctx context.Context) {
		o.a.log.printf("heartbeating every %s", o.a.cfg.HeartbeatInterval)
		t := time.NewTicker(o.a.cfg.HeartbeatInterval)
		defer t.Stop()
		failing := false
		for {
			err := o.a.host.post(ctx, agentapi.PathHeartbeat, o.a.heartbeat())
			if err != nil && !failing && ctx.Err() == nil {
				o.a.log.printf("heartbeat failed (logged once until it recovers): %v", err)
			} else if err == nil && failing {
				o.a.log.printf("heartbeat recovered")
			}
			failing = err != nil
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}
}
