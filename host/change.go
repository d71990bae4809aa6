package host

import "time"

// StatusChange is one request to move a workspace to another status. It is
// the only way a status is written (store.Transition applies it in one
// transaction, checked against the transition table).
type StatusChange struct {
	To     Status
	Reason string
	// From, when non-empty, is a guard: the change applies only if the
	// current status is one of these, otherwise the store reports it stale.
	From []Status
	// ProvisionDeadline is set when entering provisioning; the deadline is
	// cleared on any other status.
	ProvisionDeadline *time.Time
	// ClearBoot forgets this boot's readiness signals (registered_at,
	// config_applied_hash, url): a new boot begins.
	ClearBoot bool
}
