// Package agentapi is the contract between Molecule Host and the workspace
// agent (molecule-agent): the environment a backend gives the agent, the
// registry calls the agent makes, and the config hash both sides compute.
// Backends use it to build the agent's environment; it uses the standard
// library only and imports nothing of this module.
package agentapi

import (
	"crypto/hmac"
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

// Token delivery through a file. A backend that starts the agent once and
// may hand it a new token later (Docker, where a running container is kept
// across starts) writes the token to a file and sets EnvTokenFile to its
// path instead of EnvToken. The agent reads the token from that file when
// it starts and again whenever the host refuses its token (401), so a new
// token takes effect without restarting the agent. TokenFile is the file's
// name in the agent directory.
const (
	EnvTokenFile = "MOLECULE_AGENT_TOKEN_FILE"
	TokenFile    = "token"
)

// The agent directory: a per-workspace directory the host creates on its
// machine (sdk.StartRequest.AgentDir). The host serves the agent routes, and
// nothing else, on HostSocket in it; the agent serves A2A on AgentSocket in
// it. A container gets the directory mounted at AgentDirInWorkspace and has
// no network path to the host at all.
const (
	AgentDirInWorkspace = "/run/molecule"
	HostSocket          = "host.sock"
	AgentSocket         = "agent.sock"
)

// Unix socket addresses. MOLECULE_HOST_URL may be "unix://" + an absolute
// socket path (the agent then speaks HTTP over that socket), and
// MOLECULE_LISTEN_ADDR may be "unix:" + an absolute socket path.
const (
	UnixURLScheme  = "unix://"
	UnixAddrPrefix = "unix:"
)

// A2A authentication: every call the host makes to the agent's A2A listener
// carries "Authorization: Bearer <A2ACredential>", and the agent refuses any
// other caller with 401. The credential is derived from the workspace's
// agent token, so the agent computes it from its token and the host from the
// token's digest it stores (a token is never stored): a new token per start
// is a new credential, and nothing else needs to be delivered or kept.

// TokenDigest is the SHA-256 of an agent token, the form the host stores.
func TokenDigest(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// A2ACredential is the bearer credential for the agent's A2A listener of the
// workspace whose agent token has this digest: hex HMAC-SHA256 keyed by the
// digest over a fixed label.
func A2ACredential(tokenDigest []byte) string {
	m := hmac.New(sha256.New, tokenDigest)
	m.Write([]byte("molecule a2a credential v1"))
	return hex.EncodeToString(m.Sum(nil))
}

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

// What user data may set. The launcher (a backend, on the process or
// container environment) owns the variables that identify and authenticate
// the workspace, place its files and listener, and steer the dynamic
// loader; user data (EnvUserDataFile) carries only what the workspace's
// owner controls, so the agent refuses user data that sets a launcher
// variable: every MOLECULE_ name but UserDataEnvAllowed, and every LD_
// name (LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT, ...).
const (
	// EnvTier is the workspace's tier, information for the runtime only.
	EnvTier = "MOLECULE_TIER"
)

// UserDataEnvAllowed are the MOLECULE_ names user data may set.
var UserDataEnvAllowed = []string{EnvTier}

// UserDataEnvRefused reports whether user data may not set the variable
// name (see UserDataEnvAllowed).
func UserDataEnvRefused(name string) bool {
	hasPrefix := func(p string) bool { return len(name) >= len(p) && name[:len(p)] == p }
	if hasPrefix("LD_") {
		return true
	}
	if !hasPrefix("MOLECULE_") {
		return false
	}
	for _, a := range UserDataEnvAllowed {
		if name == a {
			return false
		}
	}
	return true
}
