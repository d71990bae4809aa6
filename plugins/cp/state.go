package cp

import (
	"encoding/json"

	"github.com/molecule-ai/molecule-host/sdk"
)

// instance is the control plane's instance object (docs/cp-api.md).
type instance struct {
	InstanceID  string `json:"instance_id"`
	WorkspaceID string `json:"workspace_id"`
	OrgID       string `json:"org_id,omitempty"`
	Runtime     string `json:"runtime,omitempty"`
	State       string `json:"state"`
	StateReason string `json:"state_reason,omitempty"`
	PrivateIP   string `json:"private_ip,omitempty"`
	// AgentPort is where the agent serves A2A at PrivateIP; 0 from a
	// control plane that does not report it.
	AgentPort int `json:"agent_port,omitempty"`
}

// instanceList is the answer of the batch status and list routes.
type instanceList struct {
	Workspaces []instance `json:"workspaces"`
}

// StateVersion is the version of the BackendState this backend writes.
const StateVersion = 1

// State is the backend state of a workspace: the instance the control
// plane reported last. Calls address the CP by workspace id, so a stale or
// missing State never leads to a second instance or a leaked one.
type State struct {
	InstanceID string `json:"instance_id"`
	PrivateIP  string `json:"private_ip"`
}

func encodeState(in instance) sdk.BackendState {
	raw, _ := json.Marshal(State{InstanceID: in.InstanceID, PrivateIP: in.PrivateIP}) // cannot fail
	return sdk.BackendState{Data: raw, Version: StateVersion}
}

// DecodeState reads a BackendState this backend wrote; the zero state is a
// zero State. It returns KindInvalid for another version or bad JSON.
func DecodeState(s sdk.BackendState) (State, error) {
	var st State
	if s.IsZero() {
		return st, nil
	}
	if s.Version != StateVersion {
		return st, sdk.Errorf(sdk.KindInvalid, "state", "The workspace's backend state has version %d; this cp backend reads version %d.", s.Version, StateVersion)
	}
	if err := json.Unmarshal(s.Data, &st); err != nil {
		return st, sdk.Wrap(sdk.KindInvalid, "state", err, "The workspace's backend state is not valid JSON.")
	}
	return st, nil
}
