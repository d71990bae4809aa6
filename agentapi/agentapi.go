// Package agentapi is the contract between Molecule Host and the workspace
// agent (molecule-agent): the environment a backend gives the agent, the
// registry calls the agent makes, and the config hash both sides compute.
// Backends use it to build the agent's environment; it uses the standard
// library only and imports nothing of this module.
package agentapi

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"sort"
	"time"
)

// Environment variables every backend sets for the agent.
const (
	EnvWorkspaceID = "MOLECULE_WORKSPACE_ID"
	EnvHostURL     = "MOLECULE_HOST_URL"
	EnvToken       = "MOLECULE_AGENT_TOKEN"
	// EnvConfigDir is the directory holding the workspace's config files
	// ("/configs" in a container).
	EnvConfigDir = "MOLECULE_CONFIG_DIR"
	// EnvListenAddr is the address the agent's A2A server binds,
	// "127.0.0.1:0" by default (a free loopback port).
	EnvListenAddr = "MOLECULE_LISTEN_ADDR"
	// EnvAdvertiseHost, when set, is the host the agent puts in the URL it
	// registers instead of the listener's IP.
	EnvAdvertiseHost = "MOLECULE_ADVERTISE_HOST"
	// EnvHeartbeatInterval is a Go duration; default DefaultHeartbeatInterval.
	EnvHeartbeatInterval = "MOLECULE_HEARTBEAT_INTERVAL"
	EnvRuntime           = "MOLECULE_RUNTIME"
)

// DefaultHeartbeatInterval is how often the agent heartbeats by default.
const DefaultHeartbeatInterval = 10 * time.Second

// Registry paths on the host; every call carries "Authorization: Bearer
// <token>".
const (
	PathRegister  = "/registry/register"
	PathHeartbeat = "/registry/heartbeat"
	PathBootEvent = "/registry/boot-event"
)

// RegisterRequest is the agent's register call body.
type RegisterRequest struct {
	WorkspaceID string    `json:"workspace_id"`
	URL         string    `json:"url"`
	AgentCard   AgentCard `json:"agent_card"`
}

// AgentCard describes the agent to its peers (A2A agent card, trimmed).
type AgentCard struct {
	Name        string  `json:"name"`
	Description string  `json:"description,omitempty"`
	Version     string  `json:"version,omitempty"`
	URL         string  `json:"url"`
	Skills      []Skill `json:"skills,omitempty"`
}

// Skill is one thing an agent can do.
type Skill struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// HeartbeatRequest is the agent's periodic liveness report.
type HeartbeatRequest struct {
	WorkspaceID   string  `json:"workspace_id"`
	UptimeSeconds int64   `json:"uptime_seconds"`
	ActiveTasks   int     `json:"active_tasks"`
	ErrorRate     float64 `json:"error_rate"`
	// RuntimeState is "" when healthy or "wedged".
	RuntimeState string `json:"runtime_state,omitempty"`
	ConfigHash   string `json:"config_hash"`
}

// Boot phases the agent reports, in order.
const (
	PhaseConfigApplied  = "config_applied"
	PhaseRuntimeStarted = "runtime_started"
	PhaseReady          = "ready"
	PhaseFailed         = "failed"
)

// BootEvent reports one step of the agent's boot.
type BootEvent struct {
	WorkspaceID string `json:"workspace_id"`
	Phase       string `json:"phase"`
	// ConfigHash is the hash of the config the agent applied
	// (PhaseConfigApplied).
	ConfigHash string `json:"config_hash,omitempty"`
	Detail     string `json:"detail,omitempty"`
}

// ConfigHash returns the hex SHA-256 of a set of config files, independent
// of map order: for each path in sorted order, the length-prefixed path then
// the length-prefixed content. The host hashes what it sends; the agent
// hashes what it finds in its config directory; equal hashes mean the agent
// runs the config the database holds.
func ConfigHash(files map[string][]byte) string {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h := sha256.New()
	var n [8]byte
	for _, p := range paths {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
		binary.BigEndian.PutUint64(n[:], uint64(len(files[p])))
		h.Write(n[:])
		h.Write(files[p])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// EnvUserDataFile, when set, names a JSON file holding UserData that the
// agent applies before anything else, like cloud-init: it sets the
// environment and writes the config files into its config directory. This
// is how config reaches a workspace asynchronously (the CP backend).
const EnvUserDataFile = "MOLECULE_USER_DATA"

// UserData is the boot payload of a workspace whose config is delivered
// asynchronously.
type UserData struct {
	Env         map[string]string `json:"env"`
	ConfigFiles map[string][]byte `json:"config_files"`
}
