package registry

import (
	"fmt"
	"regexp"
	"unicode/utf8"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/sdk"
)

// MaxBootDetail is the most bytes of a boot event's detail the host keeps.
// A longer detail is truncated, not refused: the agent treats a 4xx as
// final, and a failed event whose error message is long must still fail
// the workspace at once instead of at its provision deadline. The request
// body cap of the registry routes bounds what an agent can send at all.
const MaxBootDetail = 4 << 10

// truncatedMark ends a detail that was cut to MaxBootDetail.
const truncatedMark = " [truncated]"

// configHashRE is the shape of agentapi.ConfigHash: a lowercase hex SHA-256.
var configHashRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// CheckBootEvent validates a boot event before anything of it is stored: the
// phase must be known, config_applied needs a config hash, and a hash, when
// given, must be a lowercase hex SHA-256. It truncates a detail longer than
// MaxBootDetail in place. Errors: KindInvalid naming the field.
func CheckBootEvent(ev *agentapi.BootEvent) error {
	const op = "boot-event"
	switch ev.Phase {
	case agentapi.PhaseConfigApplied, agentapi.PhaseRuntimeStarted, agentapi.PhaseReady, agentapi.PhaseFailed:
	default:
		return sdk.Invalid(op, "Unknown boot phase.", sdk.FieldError{Path: "phase",
			Message: fmt.Sprintf("%.64q is not a boot phase", ev.Phase)})
	}
	if ev.Phase == agentapi.PhaseConfigApplied && ev.ConfigHash == "" {
		return sdk.Invalid(op, "A config_applied event needs the config hash.", sdk.FieldError{Path: "config_hash", Message: "is required"})
	}
	if ev.ConfigHash != "" && !configHashRE.MatchString(ev.ConfigHash) {
		return sdk.Invalid(op, "The config hash is malformed.", sdk.FieldError{Path: "config_hash",
			Message: "must be a lowercase hex SHA-256 (64 characters)"})
	}
	ev.Detail = truncate(ev.Detail, MaxBootDetail)
	return nil
}

// truncate cuts s to at most max bytes, on a rune boundary, marking the cut.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len(truncatedMark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + truncatedMark
}
