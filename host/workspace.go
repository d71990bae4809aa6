package host

import "time"

// Workspace is an agent's home on one backend, as the host stores it.
type Workspace struct {
	ID      string
	Name    string
	OrgID   string
	Backend string
	Runtime string
	Tier    int
	// Config maps config file paths (relative to the workspace's config
	// root) to their content. It is the only source of a workspace's
	// configuration: restart reads it from the database, never from the
	// substrate.
	Config map[string]string
	// ConfigHash is agentapi.ConfigHash(Config), stored beside it.
	ConfigHash string

	Status       Status
	StatusReason string

	// URL is the agent's A2A URL as registered; empty until it registers.
	URL string
	// Address is where the backend placed the workspace's agent, as
	// checked by dispatch: "unix:" + the agent socket path in the
	// workspace's agent directory, or "host:port", the exact endpoint the
	// A2A proxy dials; or, from a backend that reports no endpoint, a bare
	// host the agent's registered URL must be on.
	Address string

	// BackendState is the backend's opaque state; never exposed by the API.
	BackendState        []byte
	BackendStateVersion int64

	// ProvisionDeadline is when a workspace still provisioning is failed.
	ProvisionDeadline *time.Time
	LastHeartbeatAt   *time.Time
	// RegisteredAt and ConfigAppliedHash record this boot's readiness
	// signals; both are cleared when a start begins.
	RegisteredAt      *time.Time
	ConfigAppliedHash string

	CreatedAt time.Time
	UpdatedAt time.Time
}
