package pluginmgr

import (
	"context"
	"errors"
	"fmt"
	"time"
)

const (
	// exitPoll is how often a supervisor checks whether its process exited.
	exitPoll = 20 * time.Millisecond
	// kickGrace is how long a supervisor waits, after a call found the
	// plugin unreachable, for the process to exit on its own before it
	// kills it as hung.
	kickGrace = time.Second
	// relaunchTimeout bounds one relaunch: handshake, manifest, Configure.
	relaunchTimeout = 30 * time.Second
)

// supervise watches the plugin's process until the manager closes,
// relaunching it when it exits and giving up after a crash loop.
func (p *proc) supervise() {
	defer p.m.wg.Done()
	tick := time.NewTicker(exitPoll)
	defer tick.Stop()
	var killAt time.Time // set when a call reported the plugin unreachable
	for {
		select {
		case <-p.m.ctx.Done():
			return
		case gen := <-p.kick:
			if gen == p.generation() && killAt.IsZero() {
				killAt = time.Now().Add(kickGrace)
			}
		case <-tick.C:
		}
		if !p.exited() {
			if killAt.IsZero() || time.Now().Before(killAt) {
				continue
			}
			p.log.Warn("plugin unreachable but still running; killing it")
			p.killClient()
		}
		killAt = time.Time{}
		if !p.restart() {
			return
		}
	}
}

func (p *proc) generation() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gen
}

func (p *proc) exited() bool {
	p.mu.Lock()
	c := p.client
	p.mu.Unlock()
	return c != nil && c.Exited()
}

func (p *proc) killClient() {
	p.mu.Lock()
	c := p.client
	p.mu.Unlock()
	if c != nil {
		c.Kill()
	}
}

// restart records the crash and relaunches with backoff until a launch
// succeeds (true) or the plugin becomes unavailable or the manager closes
// (false). Crashes are counted within CrashLoopWindow; a failed relaunch
// counts as one too.
func (p *proc) restart() bool {
	p.killClient() // reap the old client's goroutines; the process is gone
	p.mu.Lock()
	reason := p.exitReasonLocked()
	p.mu.Unlock()
	for {
		n := p.recordCrash(reason)
		if n >= p.m.cfg.CrashLoopLimit {
			p.setUnavailable(fmt.Sprintf("crashed %d times in %s: %s", n, p.m.cfg.CrashLoopWindow, reason))
			p.log.Error("plugin crash loop, giving up", "crashes", n, "last", reason)
			return false
		}
		p.log.Warn("plugin exited, restarting", "reason", reason, "crashes", n)
		select {
		case <-p.m.ctx.Done():
			return false
		case <-time.After(p.backoff(n)):
		}
		ctx, cancel := context.WithTimeout(p.m.ctx, relaunchTimeout)
		err := p.launch(ctx, nil)
		cancel()
		if err == nil {
			p.mu.Lock()
			p.restarts++
			p.mu.Unlock()
			return true
		}
		if errors.Is(err, errVerify) || p.m.ctx.Err() != nil {
			p.setUnavailable(err.Error())
			p.log.Error("plugin not restarted", "error", err)
			return false
		}
		reason = err.Error()
	}
}

// recordCrash notes a crash now, forgets those older than the window, marks
// the plugin restarting and returns the number of crashes in the window.
func (p *proc) recordCrash(reason string) int {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	kept := p.crashes[:0]
	for _, t := range p.crashes {
		if now.Sub(t) < p.m.cfg.CrashLoopWindow {
			kept = append(kept, t)
		}
	}
	p.crashes = append(kept, now)
	if p.state != StateUnavailable {
		p.setStateLocked(StateRestarting, reason)
	}
	return len(p.crashes)
}

// backoff is the delay before the relaunch after the n-th crash in the
// window: RestartBackoff doubled n-1 times, capped at MaxBackoff.
func (p *proc) backoff(n int) time.Duration {
	d := p.m.cfg.RestartBackoff
	for i := 1; i < n && d < p.m.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, p.m.cfg.MaxBackoff)
}
