package pluginmgr

import (
	"context"
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
)

// supervise runs until the manager closes or the plugin is refused for
// good. While the plugin runs it watches the process and relaunches it
// when it exits; after a crash loop or a failed launch the plugin is
// unavailable and, once CoolDown has passed, gets one launch attempt
// (half-open): success makes it running again, failure doubles the
// cool-down. running says whether the plugin runs when supervise starts.
func (p *proc) supervise(running bool) {
	defer p.m.wg.Done()
	for {
		if running {
			if !p.watch() {
				return
			}
			if running = p.restart(); running {
				continue
			}
		}
		if !p.retrying() {
			return
		}
		running = p.halfOpen()
	}
}

// watch returns true once the running process exited (or was killed as
// hung after a call found it unreachable), false when the manager closed.
func (p *proc) watch() bool {
	tick := time.NewTicker(exitPoll)
	defer tick.Stop()
	var killAt time.Time // set when a call reported the plugin unreachable
	for {
		select {
		case <-p.m.ctx.Done():
			return false
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
		return true
	}
}

// retrying reports whether an unavailable plugin gets another attempt.
func (p *proc) retrying() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.refused && !p.closed && p.m.ctx.Err() == nil
}

// halfOpen waits out the cool-down, then launches the plugin once. It
// returns true when the plugin runs again.
func (p *proc) halfOpen() bool {
	p.mu.Lock()
	d := p.coolDownLocked()
	p.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.m.ctx.Done():
		return false
	case <-t.C:
	}
	p.log.Info("cool-down over; trying one launch", "cool_down", d)
	ctx, cancel := context.WithTimeout(p.m.ctx, p.m.cfg.LaunchTimeout)
	err := p.launch(ctx, nil)
	cancel()
	p.mu.Lock()
	if err == nil {
		p.restarts++
		p.mu.Unlock()
		return true
	}
	p.coolDowns++
	p.mu.Unlock()
	p.log.Error("plugin launch after cool-down failed", "error", err)
	p.giveUp(err.Error(), err)
	return false
}

// giveUp marks the plugin unavailable with reason. A plugin whose launch
// failed with a permanent error (verification, its manifest) or whose
// manager closed is never tried again; any other is, after the cool-down
// the reason announces. It reports whether another attempt will follow.
func (p *proc) giveUp(reason string, err error) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	retry := !permanent(err) && !p.closed && p.m.ctx.Err() == nil
	p.refused = p.refused || permanent(err)
	if retry {
		reason = fmt.Sprintf("%s; next attempt in %s", reason, p.coolDownLocked())
	}
	p.setStateLocked(StateUnavailable, reason)
	return retry
}

// coolDownLocked is the wait before the next half-open attempt: CoolDown
// doubled once per failed attempt, capped at MaxCoolDown.
func (p *proc) coolDownLocked() time.Duration {
	d := p.m.cfg.CoolDown
	for i := 0; i < p.coolDowns && d < p.m.cfg.MaxCoolDown; i++ {
		d *= 2
	}
	return min(d, p.m.cfg.MaxCoolDown)
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
			p.log.Error("plugin crash loop, giving up until the cool-down is over", "crashes", n, "last", reason)
			p.giveUp(fmt.Sprintf("crashed %d times in %s: %s", n, p.m.cfg.CrashLoopWindow, reason), nil)
			return false
		}
		p.log.Warn("plugin exited, restarting", "reason", reason, "crashes", n)
		select {
		case <-p.m.ctx.Done():
			return false
		case <-time.After(p.backoff(n)):
		}
		ctx, cancel := context.WithTimeout(p.m.ctx, p.m.cfg.LaunchTimeout)
		err := p.launch(ctx, nil)
		cancel()
		if err == nil {
			p.mu.Lock()
			p.restarts++
			p.mu.Unlock()
			return true
		}
		if permanent(err) || p.m.ctx.Err() != nil {
			p.log.Error("plugin not restarted", "error", err)
			p.giveUp(err.Error(), err)
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
	if len(p.crashes) == 1 {
		p.coolDowns = 0 // stable for a whole window: start the cool-downs over
	}
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
