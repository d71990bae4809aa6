package store

import "sync"

// watchers wakes the callers waiting for a workspace's status to change.
// It is in-process: a status changed by another host replica is seen at
// the waiter's next periodic recheck instead.
type watchers struct {
	mu sync.Mutex
	m  map[string]map[chan struct{}]struct{}
}

// WatchStatus returns a channel that receives a signal after each status
// change of workspace id made through this store, and a function that
// stops the watch. Signals coalesce: a waiter re-reads the workspace.
func (s *Store) WatchStatus(id string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	w := &s.watch
	w.mu.Lock()
	if w.m == nil {
		w.m = map[string]map[chan struct{}]struct{}{}
	}
	if w.m[id] == nil {
		w.m[id] = map[chan struct{}]struct{}{}
	}
	w.m[id][ch] = struct{}{}
	w.mu.Unlock()
	return ch, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(w.m[id], ch)
		if len(w.m[id]) == 0 {
			delete(w.m, id)
		}
	}
}

func (w *watchers) notify(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.m[id] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
