package docker

import (
	"context"
	"sync"
	"time"

	"github.com/moby/moby/client"
	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/pluginrpc"
)

// Labels every resource the backend creates carries.
const (
	LabelManaged     = "molecule.managed"
	LabelWorkspaceID = "molecule.workspace-id"
	LabelOrgID       = "molecule.org-id"
	LabelSpec        = "molecule.spec"
)

// logger is the plugin's logger; its lines reach the host log under the
// plugin's name.
var logger = pluginrpc.Logger()

// NetworkNone is the default network: Docker's none network, a network
// namespace of the container's own with only loopback in it. The agent
// reaches the host, and the host the agent, only through the unix sockets
// in the workspace's agent directory.
const NetworkNone = "none"

// DefaultUser is the uid:gid every workspace runs as unless configured: not
// root, and the owner of /workspace in the workspace image.
const DefaultUser = "65532:65532"

// Backend is the Docker backend. The zero value is not usable; call New.
// It keeps no per-workspace state: everything it needs is in the labels of
// what it created and in the BackendState the host passes back.
type Backend struct {
	mu  sync.RWMutex
	cfg *settings // nil until Configure succeeds
}

// settings is a validated configuration with its client.
type settings struct {
	host        string
	network     string
	user        string
	callTimeout time.Duration
	cli         *client.Client
}

// New returns an unconfigured Docker backend: every verb but Manifest and
// Configure answers sdk.NotConfigured until Configure succeeds.
func New() *Backend { return &Backend{} }

// Interface guards.
var (
	_ sdk.Backend     = (*Backend)(nil)
	_ sdk.LogStreamer = (*Backend)(nil)
)

// settings returns the current configuration or the not-configured error
// for op.
func (b *Backend) settings(op string) (*settings, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.cfg == nil || b.cfg.cli == nil {
		return nil, sdk.NotConfigured(op)
	}
	return b.cfg, nil
}

// call runs fn with a context bounded by the call timeout and maps its
// error to an *sdk.Error.
func (s *settings) call(ctx context.Context, op, what string, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.callTimeout)
	defer cancel()
	start := time.Now()
	err := fn(ctx)
	logger.Debug("docker call", "op", op, "what", what, "dur", time.Since(start), "err", err)
	return s.mapErr(ctx, op, what, err)
}
