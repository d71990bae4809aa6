package sdk

// BackendState is a workspace's opaque state, owned by the backend and kept
// by the host. The host persists the last value a verb returned and passes
// it back on every call; the backend alone gives meaning to Data. Version is
// the backend's schema version for Data, so a newer plugin can read state an
// older one wrote.
type BackendState struct {
	Data    []byte
	Version int64
}

// IsZero reports whether the state is empty (a workspace never started).
func (s BackendState) IsZero() bool { return len(s.Data) == 0 && s.Version == 0 }
