package dispatch

import "time"

// Info describes one dispatcher: the verb it routes, where it lives, what it
// does when no usable backend answers, and its retry rule. The conformance
// matrix renders this table, so it is the code's own account of itself.
type Info struct {
	Verb       string
	Dispatcher string
	Fallback   string
	Retry      string
}

// Table returns every dispatcher, in verb order.
func Table() []Info {
	t := DefaultTimeouts
	retried := func(limit time.Duration) string {
		return "transient errors retried with backoff (3 tries) within a " + limit.String() + " deadline (past it: transient); others returned at once"
	}
	return []Info{
		{"Start", "dispatch.Start", "workspace marked failed with the reason (no plugin call)", retried(t.Start)},
		{"Stop", "dispatch.Stop", "no-op, logged, only when no such backend is loaded (or it is not configured) and the workspace was never placed; otherwise error (transient): the stop is retried", retried(t.Stop)},
		{"Destroy", "dispatch.Destroy", "error (transient): the delete operation is retried so nothing leaks", retried(t.Destroy)},
		{"Status", "dispatch.Status", "every workspace reported unknown (left as it is), with the reason; ids not asked about are dropped", retried(t.Status)},
		{"ListManaged", "dispatch.ListManaged", "backend skipped in the orphan listing, with the reason", retried(t.ListManaged)},
		{"Logs", "dispatch.Logs", "not_implemented (501) when the manifest lacks logs; error when the backend is gone", "not retried (a stream); a read without follow has a " + t.Logs.String() + " deadline"},
	}
}
