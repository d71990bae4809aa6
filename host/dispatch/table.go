package dispatch

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
	const transient = "transient errors retried with backoff (3 tries); others returned at once"
	return []Info{
		{"Start", "dispatch.Start", "workspace marked failed with the reason (no plugin call)", transient},
		{"Stop", "dispatch.Stop", "no-op, logged: nothing can run on a backend that is gone", transient},
		{"Destroy", "dispatch.Destroy", "error (transient): the delete operation is retried so nothing leaks", transient},
		{"Status", "dispatch.Status", "every workspace reported unknown (not running), with the reason", transient},
		{"ListManaged", "dispatch.ListManaged", "backend skipped in the orphan listing, with the reason", transient},
		{"Logs", "dispatch.Logs", "not_implemented (501) when the manifest lacks logs; error when the backend is gone", "not retried (a stream)"},
	}
}
