// Package lifecycle runs the workspace lifecycle verbs (create, start, stop,
// restart, delete) as durable operations: a request validates, persists the
// workspace change and an operation row in one transaction, and answers at
// once; the store's job queue then calls Run, which drives the verb through
// host/dispatch. A host killed mid-operation runs it again after restart;
// every verb is idempotent, so that is safe.
//
// lifecycle must not import host/httpapi, host/pluginmgr or sdk/pluginrpc.
package lifecycle

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"time"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/dispatch"
	"github.com/molecule-ai/molecule-host/host/store"
	"github.com/molecule-ai/molecule-host/sdk"
)

// Store is what lifecycle needs from host/store: its workspaces and its
// operations.
type Store interface {
	workspaceStore
	operationStore
}

type workspaceStore interface {
	CreateWorkspace(ctx context.Context, ws *host.Workspace, op *host.Operation) error
	GetWorkspace(ctx context.Context, id string) (*host.Workspace, error)
	Transition(ctx context.Context, id string, ch host.StatusChange) (host.Status, error)
	SaveBackendState(ctx context.Context, id string, data []byte, version int64, address string) error
	SetAgentToken(ctx context.Context, workspaceID string, digest []byte) error
	RevokeAgentToken(ctx context.Context, workspaceID string) error
}

type operationStore interface {
	EnqueueOperationWith(ctx context.Context, op *host.Operation, opts store.EnqueueOptions) (*host.Workspace, error)
	GetOperation(ctx context.Context, id string) (*host.Operation, error)
	UpdateOperation(ctx context.Context, op *host.Operation) error
}

// Config holds the host settings the lifecycle needs.
type Config struct {
	// HostURL is the address agents reach the host at.
	HostURL string
	// Images maps a runtime to its workspace image; "default" is the
	// fallback for runtimes not listed.
	Images map[string]string
	// ProvisionTimeout bounds how long a workspace may stay provisioning.
	ProvisionTimeout time.Duration
	// HeartbeatInterval is passed to agents.
	HeartbeatInterval time.Duration
	// MaxAttempts is the job queue's attempt limit: the last attempt fails
	// the operation instead of asking for a retry.
	MaxAttempts int
	OrgID       string
	// AgentDirs gives each workspace its agent directory before every
	// start and removes it on delete; nil serves none (backends then get
	// only HostURL).
	AgentDirs AgentDirs
}

// AgentDirs owns the workspaces' agent directories (host/agentsock).
type AgentDirs interface {
	// Open makes the directory and serves the host socket in it;
	// idempotent. It returns the directory.
	Open(id string) (string, error)
	// Remove stops serving and removes the directory; idempotent.
	Remove(id string) error
}

// Service runs lifecycle verbs.
type Service struct {
	store    Store
	dispatch *dispatch.Dispatcher
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
}

// New returns a Service.
func New(st Store, d *dispatch.Dispatcher, cfg Config, log *slog.Logger) *Service {
	if cfg.ProvisionTimeout <= 0 {
		cfg.ProvisionTimeout = 5 * time.Minute
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = agentapi.DefaultHeartbeatInterval
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.OrgID == "" {
		cfg.OrgID = "local"
	}
	if log == nil {
		log = slog.Default()
	}
	return &Service{store: st, dispatch: d, cfg: cfg, log: log, now: time.Now}
}

// imageFor returns the image for runtime, or "" when none is configured.
func (s *Service) imageFor(runtime string) string {
	if img, ok := s.cfg.Images[runtime]; ok {
		return img
	}
	return s.cfg.Images["default"]
}

// mintToken returns a new agent token and its SHA-256 digest.
func mintToken() (string, []byte, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, err
	}
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(tok))
	return tok, sum[:], nil
}

// TokenDigest returns the digest under which a token is stored.
func TokenDigest(tok string) []byte {
	sum := sha256.Sum256([]byte(tok))
	return sum[:]
}

// retryable reports whether a failed attempt should be retried by the
// job queue: transient backend errors and interrupted calls are; anything
// the backend or the host rejected is not, and neither is a call during
// which the plugin exited (the request may be what crashed it).
func retryable(err error) bool {
	if pluginExited(err) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	return sdk.IsKind(err, sdk.KindTransient)
}

// pluginExited reports whether the backend's plugin process exited during
// the call (dispatch.PluginExited). A backend that was already unavailable
// before the call ("backend X is unavailable") is not this: the request did
// not reach it, and a retry is safe.
func pluginExited(err error) bool { return dispatch.PluginExited(err) }
