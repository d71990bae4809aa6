package store

import (
	"context"
	"encoding/json"

	"github.com/molecule-ai/molecule-host/sdk"
)

// Heartbeat is what an agent's heartbeat records.
type Heartbeat struct {
	UptimeSeconds int64
	ActiveTasks   int
	ErrorRate     float64
	// RuntimeState is "" when healthy, or e.g. "wedged".
	RuntimeState string
}

// RecordRegister records an agent's register call: its URL, its agent card
// (JSON; may be empty) and now as both registered_at and last_heartbeat_at.
// It does not change the status. Errors: KindInvalid when card is not
// JSON; KindNotFound.
func (s *Store) RecordRegister(ctx context.Context, id, url string, card []byte) error {
	const name = "store.record_register"
	var cardArg any
	if len(card) > 0 {
		if !json.Valid(card) {
			return sdk.Invalid(name, "the agent card is not JSON", sdk.FieldError{Path: "agent_card", Message: "invalid JSON"})
		}
		cardArg = string(card)
	}
	return s.execOne(ctx, name, id, `UPDATE workspaces SET url = $2, agent_card = $3::jsonb,
		registered_at = now(), last_heartbeat_at = now(), updated_at = now() WHERE id = $1`,
		id, url, cardArg)
}

// RecordConfigApplied records the hash of the config the agent reports it
// applied in this boot. It does not change the status. Errors: KindNotFound.
func (s *Store) RecordConfigApplied(ctx context.Context, id, hash string) error {
	return s.execOne(ctx, "store.record_config_applied", id, `UPDATE workspaces
		SET config_applied_hash = $2, updated_at = now() WHERE id = $1`, id, hash)
}

// RecordHeartbeat records an agent heartbeat at the database's now. It does
// not change the status. Errors: KindNotFound.
func (s *Store) RecordHeartbeat(ctx context.Context, id string, hb Heartbeat) error {
	return s.execOne(ctx, "store.record_heartbeat", id, `UPDATE workspaces SET last_heartbeat_at = now(),
		uptime_seconds = $2, active_tasks = $3, error_rate = $4, runtime_state = $5 WHERE id = $1`,
		id, hb.UptimeSeconds, hb.ActiveTasks, hb.ErrorRate, hb.RuntimeState)
}
