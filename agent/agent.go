package agent

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	a.host = newHostClient(cfg, a.log)
	a.host.renewed = a.announce
	return a
}

// announce tells the host about this running agent again, as its boot did:
// config applied (with its hash), runtime started, registered, ready. The
// host calls for it after a start of a workspace whose agent kept running
// (Docker keeps a running container, and hands the agent a new token in
// its token file): the start cleared what the host knew of this boot.
func (a *Agent) announce(ctx context.Context) {
	select {
	case <-a.ready: // rt, url and hash are set; boot has queued its own calls
	default:
		return // still booting: the boot's own calls carry the new token
	}
	a.log.printf("new agent token: announcing this agent to the host again")
	ev := func(phase, detail string) agentapi.BootEvent {
		return agentapi.BootEvent{WorkspaceID: a.cfg.WorkspaceID, Phase: phase, Detail: detail}
	}
	applied := ev(agentapi.PhaseConfigApplied, "")
	applied.ConfigHash = a.hash
	a.host.deliver(ctx, "boot event "+agentapi.PhaseConfigApplied, agentapi.PathBootEvent, applied)
	a.host.deliver(ctx, "boot event "+agentapi.PhaseRuntimeStarted, agentapi.PathBootEvent, ev(agentapi.PhaseRuntimeStarted, a.rt.Name()))
	a.host.deliver(ctx, "register", agentapi.PathRegister, a.registerRequest())
	a.host.deliver(ctx, "boot event "+agentapi.PhaseReady, agentapi.PathBootEvent, ev(agentapi.PhaseReady, a.url))
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
	ln, err := listen(a.cfg.ListenAddr)
	if err != nil {
		return a.fail(out, 1, err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok {
		a.addr = ln.Addr().String()
		a.url = "http://" + net.JoinHostPort(a.advertiseHost(tcp), strconv.Itoa(tcp.Port))
	} else {
		a.addr = a.cfg.ListenAddr
		a.url = agentapi.UnixURLScheme + ln.Addr().String()
	}
	srv := &http.Server{Handler: a.handler(), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
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

// listen opens the A2A listener: "unix:/path" is a unix socket (a stale
// socket file is replaced; the socket is made connectable by any user, the
// directory holding it decides who can reach it), anything else a TCP
// address.
func listen(addr string) (net.Listener, error) {
	path, ok := strings.CutPrefix(addr, agentapi.UnixAddrPrefix)
	if !ok {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
		return ln, nil
	}
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("%s=%q: a unix socket path must be absolute", agentapi.EnvListenAddr, addr)
	}
	if st, err := os.Lstat(path); err == nil && st.Mode()&os.ModeSocket != 0 {
		_ = os.Remove(path) // left by a previous run of this workspace
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

func (a *Agent) handler() http.Handler {
	h := &handler{
		rt: a.rt, hash: a.hash, wsID: a.cfg.WorkspaceID, stats: &a.stats,
		card:    func() any { return a.card() },
		healthy: func() string { return "ok" },
	}
	if a.cfg.Token == "" {
		a.log.printf("WARNING: no agent token: A2A is served without authentication (standalone mode)")
		return h
	}
	// The credential follows the current token, which a token file renews.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, cred := a.host.current()
		requireCredential(cred, h).ServeHTTP(w, r)
	})
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
func (a *Agent) advertiseHost(addr *net.TCPAddr) string {
	if a.cfg.AdvertiseHost != "" {
		return a.cfg.AdvertiseHost
	}
	ip := addr.IP
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
