package httpapi

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults of the per-workspace limit on registry calls. A normal boot is a
// register, three boot events and a heartbeat, then a heartbeat per interval
// (10 s by default, 500 ms in the e2e tests); a register may be retried while
// the backend has not reported the workspace's address yet.
const (
	defaultAgentRate  = 5  // calls per second, sustained
	defaultAgentBurst = 40 // calls at once
)

// pruneAt is the number of tracked workspaces past which idle buckets are
// dropped. Only authenticated workspace ids are tracked, so the map is
// bounded by the workspaces with a live token anyway.
const pruneAt = 1024

// agentLimits is a token bucket per workspace id.
type agentLimits struct {
	every rate.Limit
	burst int
	mu    sync.Mutex
	by    map[string]*rate.Limiter
}

func newAgentLimits(perSecond float64, burst int) *agentLimits {
	if perSecond <= 0 {
		perSecond = defaultAgentRate
	}
	if burst <= 0 {
		burst = defaultAgentBurst
	}
	return &agentLimits{every: rate.Limit(perSecond), burst: burst, by: map[string]*rate.Limiter{}}
}

// allow takes a token from the workspace's bucket; when there is none it
// reports false and how long until there will be.
func (l *agentLimits) allow(id string) (time.Duration, bool) {
	now := time.Now()
	l.mu.Lock()
	lim, ok := l.by[id]
	if !ok {
		if len(l.by) >= pruneAt {
			l.pruneLocked(now)
		}
		lim = rate.NewLimiter(l.every, l.burst)
		l.by[id] = lim
	}
	l.mu.Unlock()
	if lim.AllowN(now, 1) {
		return 0, true
	}
	res := lim.ReserveN(now, 1)
	defer res.CancelAt(now)
	return res.DelayFrom(now), false
}

// pruneLocked drops the buckets that are full: a new bucket is the same.
func (l *agentLimits) pruneLocked(now time.Time) {
	for id, lim := range l.by {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.by, id)
		}
	}
}
