package agent

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/molecule-ai/molecule-host/agentapi"
)

// Version is the agent's version, reported in its agent card.
const Version = "0.1.0"

// ExitError is returned by Run and Smoke when the agent must exit with a
// specific status: 2 when the runtime cannot start.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Agent is one run of the workspace agent.
type Agent struct {
	cfg     Config
	log     *bootLog
	host    *hostClient
	stats   stats
	started time.Time
	hash    string
	url     string
	rt      Runtime
	// Ready is closed once the agent serves A2A; Addr is valid then.
	ready chan struct{}
	addr  string
}

// New returns an agent for cfg (defaults filled for zero fields).
func New(cfg Config) *Agent {
	cfg.fillDefaults()
	a := &Agent{cfg: cfg, log: &bootLog{out: cfg.Out}, started: time.Now(), ready: make(chan struct{})}
	a.host = &hostClient{
		base: cfg.HostURL, token: cfg.Token, hc: &http.Client{},
		retryBase: cfg.RetryBase, retryMax: cfg.RetryMax, log: a.log,
	}
	return a
}

// Ready is closed once the agent listens; Addr then returns its address.
func (a *Agent) Ready() <-chan struct{} { return a.ready }

// Addr is the address the agent's A2A server listens on (after Ready).
func (a *Agent) Addr() string { return a.addr }

// Run boots the agent and serves until ctx ends (a clean exit, nil). Boot
// order: read and hash the config directory (boot event config_applied),
// start the runtime (runtime_started), listen, register, ready, then
// heartbeat. Host calls are delivered in that order by one goroutine and
// retried while the host is unreachable, so they never block serving. A
// runtime that cannot start reports boot event failed and returns an
// *ExitError with Code 2.
func (a *Agent) Run(ctx context.Context) error {
	a.log.printf("starting: workspace=%s host=%s config_dir=%s", a.cfg.WorkspaceID, a.cfg.HostURL, a.cfg.ConfigDir)
	out := newOutbox(ctx, a)
	defer out.close()
	files, err := ReadConfigDir(a.cfg.ConfigDir)
	if err != nil {
		return a.fail(out, 1, err)
	}
	a.hash = agentapi.ConfigHash(files)
	a.log.printf("config applied: %d files, hash %s", len(files), a.hash)
	out.bootEvent(agentapi.PhaseConfigApplied, "")
	a.rt, err = startFromFiles(files, a.cfg.Runtime)
	if err != nil {
		return a.fail(out, 2, err)
	}
	a.log.printf("runtime started: %s", a.rt.Name())
	out.bootEvent(agentapi.PhaseRuntimeStarted, a.rt.Name())
	ln, err := net.Listen("tcp", a.cfg.ListenAddr)
	if err != nil {
		return a.fail(out, 1, fmt.Errorf("listen on %s: %w", a.cfg.ListenAddr, err))
	}
	a.addr = ln.Addr().String()
	a.url = "http://" + net.JoinHostPort(a.advertiseHost(ln.Addr()), strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	srv := &http.Server{Handler: a.handler(), ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	a.log.printf("listening on %s (advertised %s)", a.addr, a.url)
	close(a.ready)
	out.register(a.registerRequest())
	out.bootEvent(agentapi.PhaseReady, a.url)
	out.heartbeats()
	select {
	case <-ctx.Done():
		a.log.printf("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return nil
	case err := <-serveErr:
		return fmt.Errorf("serve A2A: %w", err)
	}
}

// fail logs err, reports boot event failed (waiting at most
// FailFlushTimeout for the host) and returns an *ExitError.
func (a *Agent) fail(out *outbox, code int, err error) error {
	a.log.printf("boot failed: %v", err)
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.FailFlushTimeout)
	defer cancel()
	out.bootEvent(agentapi.PhaseFailed, err.Error())
	out.flush(ctx)
	return &ExitError{Code: code, Err: err}
}

func startFromFiles(files map[string][]byte, env string) (Runtime, error) {
	name, err := RuntimeName(files, env)
	if err != nil {
		return nil, err
	}
	return StartRuntime(name)
}

func (a *Agent) handler() http.Handler {
	return &handler{
		rt: a.rt, hash: a.hash, wsID: a.cfg.WorkspaceID, stats: &a.stats,
		card:    func() any { return a.card() },
		healthy: func() string { return "ok" },
	}
}

func (a *Agent) card() agentapi.AgentCard {
	return agentapi.AgentCard{
		Name:        "molecule-agent",
		Description: "Molecule workspace agent (" + a.rt.Name() + " runtime)",
		Version:     Version,
		URL:         a.url,
		Skills:      []agentapi.Skill{{ID: a.rt.Name(), Name: a.rt.Name(), Description: "replies to message/send"}},
	}
}

func (a *Agent) registerRequest() agentapi.RegisterRequest {
	return agentapi.RegisterRequest{WorkspaceID: a.cfg.WorkspaceID, URL: a.url, AgentCard: a.card()}
}

// advertiseHost is $MOLECULE_ADVERTISE_HOST, else the listener's IP, else
// (a wildcard listener) the first non-loopback IPv4 address, else loopback.
func (a *Agent) advertiseHost(addr net.Addr) string {
	if a.cfg.AdvertiseHost != "" {
		return a.cfg.AdvertiseHost
	}
	ip := addr.(*net.TCPAddr).IP
	if !ip.IsUnspecified() {
		return ip.String()
	}
	addrs, _ := net.InterfaceAddrs()
	for _, ad := range addrs {
		if n, ok := ad.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return "127.0.0.1"
}

func (a *Agent) heartbeat() agentapi.HeartbeatRequest {
	return agentapi.HeartbeatRequest{
		WorkspaceID:   a.cfg.WorkspaceID,
		UptimeSeconds: int64(time.Since(a.started) / time.Second),
		ActiveTasks:   int(a.stats.active.Load()),
		ErrorRate:     a.stats.errorRate(),
		ConfigHash:    a.hash,
	}
}
