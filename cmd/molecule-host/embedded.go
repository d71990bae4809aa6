package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/molecule-ai/molecule-host/host/store/pgembed"
)

// embeddedPG runs the embedded cluster and starts it again when it dies
// under a running host (killed, OOM), so the host recovers by itself: the
// socket path is the same, the pool reconnects, and every change the store
// made was committed or rolled back as a whole.
type embeddedPG struct {
	cfg  pgembed.Config
	log  *slog.Logger
	mu   sync.Mutex
	srv  *pgembed.Server
	done chan struct{} // closed when supervise returns
	fail chan error    // a restart that cannot keep the DSN
}

func startEmbedded(ctx context.Context, cfg pgembed.Config, log *slog.Logger) (*embeddedPG, error) {
	srv, err := pgembed.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &embeddedPG{cfg: cfg, log: log, srv: srv, done: make(chan struct{}), fail: make(chan error, 1)}, nil
}

func (e *embeddedPG) url() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.srv.URL()
}

// supervise restarts the server whenever it exits, with backoff, until ctx
// ends.
func (e *embeddedPG) supervise(ctx context.Context) {
	defer close(e.done)
	wait := time.Second
	for {
		e.mu.Lock()
		srv := e.srv
		e.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-srv.Done():
		}
		e.log.Error("embedded postgres exited; starting it again", "data", e.cfg.DataDir)
		for {
			next, err := pgembed.Start(ctx, e.cfg)
			if err == nil {
				if next.URL() != srv.URL() {
					e.fail <- fmt.Errorf("embedded postgres came back on another socket (%s); restart the host", next.URL())
					_ = next.Stop(context.Background())
					return
				}
				e.mu.Lock()
				e.srv = next
				e.mu.Unlock()
				e.log.Info("embedded postgres is back")
				wait = time.Second
				break
			}
			e.log.Error("restarting embedded postgres", "err", err, "retry_in", wait)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(wait*2, 30*time.Second)
		}
	}
}

// stop shuts the current server down.
func (e *embeddedPG) stop(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.srv.Stop(ctx)
}
