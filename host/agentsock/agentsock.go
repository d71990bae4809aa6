// Package agentsock gives every workspace its agent directory: a directory
// on the host's machine, private to that workspace, in which the host serves
// the agent routes (register, heartbeat, boot events; nothing else) on the
// unix socket agentapi.HostSocket, and in which the workspace's agent serves
// A2A on agentapi.AgentSocket. A backend whose workspaces run on this
// machine mounts the directory into the workspace (sdk.StartRequest.AgentDir),
// so workspace code needs no network path to the host, and the host's admin
// API is unreachable from a workspace by construction.
//
// Layout and permissions: Root (mode 0700, owned by the host's user) holds
// one directory per workspace id. Only the host's user can traverse Root, so
// no other local user reaches any socket. A workspace's directory is mode
// 0777 so that the workspace's own (unprivileged, possibly remapped) user
// can create its agent socket in it once it is mounted; its sockets are 0666
// for the same reason. Every request served on a workspace's host socket
// carries that workspace's id in its context (WorkspaceID), and the agent
// routes refuse a token of any other workspace.
package agentsock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/molecule-ai/molecule-host/agentapi"
)

// idRE is what a workspace id must look like to name a directory.
var idRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// maxSocketPath is the longest unix socket path Linux accepts (sun_path is
// 108 bytes with its terminating NUL).
const maxSocketPath = 107

type ctxKey struct{}

// WorkspaceID returns the id of the workspace whose host socket the request
// arrived on, if it arrived on one.
func WorkspaceID(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(ctxKey{}).(string)
	return id, ok
}

// Server owns the agent directories under one root and the listeners on
// their host sockets.
type Server struct {
	root    string
	handler http.Handler
	log     *slog.Logger

	mu     sync.Mutex
	open   map[string]*socket
	closed bool
}

type socket struct {
	ln  net.Listener
	srv *http.Server
}

// New returns a Server for root, creating it with mode 0700 (and tightening
// an existing one to it). handler serves the agent routes, and must serve
// nothing else.
func New(root string, handler http.Handler, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("agent directories: %w", err)
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("agent directories: %w", err)
	}
	if err := os.Chmod(root, 0o700); err != nil {
		return nil, fmt.Errorf("agent directories: %w", err)
	}
	return &Server{root: root, handler: handler, log: log, open: map[string]*socket{}}, nil
}

// Root is the directory holding every workspace's agent directory.
func (s *Server) Root() string { return s.root }

// Dir returns the agent directory of workspace id (it may not exist).
func (s *Server) Dir(id string) string { return filepath.Join(s.root, id) }

// AgentSocket returns the path of the agent socket of workspace id.
func (s *Server) AgentSocket(id string) string {
	return filepath.Join(s.root, id, agentapi.AgentSocket)
}

// Open makes workspace id's agent directory and serves its host socket;
// idempotent (an open socket is kept). It returns the directory. A stale
// socket file left by an earlier host is replaced, so a workspace that kept
// running across a host restart reaches the new host at the same path.
func (s *Server) Open(id string) (string, error) {
	if !idRE.MatchString(id) {
		return "", fmt.Errorf("agent directory: %q is not a usable workspace id", id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", errors.New("agent directories: server closed")
	}
	dir := s.Dir(id)
	if s.open[id] != nil {
		return dir, nil
	}
	if n := len(s.AgentSocket(id)); n > maxSocketPath {
		return "", fmt.Errorf("agent directory of %s: socket path %s is %d bytes, over the %d a unix socket allows; choose a shorter agent directory root (molecule-host serve --agent-dir)", id, s.AgentSocket(id), n, maxSocketPath)
	}
	if err := os.Mkdir(dir, 0o777); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("agent directory of %s: %w", id, err)
	}
	if st, err := os.Lstat(dir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("agent directory of %s: %s is not a directory", id, dir)
	}
	if err := os.Chmod(dir, 0o777); err != nil { // umask-proof
		return "", fmt.Errorf("agent directory of %s: %w", id, err)
	}
	path := filepath.Join(dir, agentapi.HostSocket)
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return "", fmt.Errorf("agent directory of %s: %w", id, err)
	}
	// Closing must not unlink the path: by then it may be a newer socket
	// of the same workspace (the files are managed here, not by Close).
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return "", fmt.Errorf("agent directory of %s: %w", id, err)
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		BaseContext:       func(net.Listener) context.Context { return context.WithValue(context.Background(), ctxKey{}, id) },
	}
	s.open[id] = &socket{ln: ln, srv: srv}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Warn("agent socket stopped serving", "workspace", id, "err", err)
		}
	}()
	return dir, nil
}

// Remove stops serving workspace id's host socket and removes its agent
// directory; idempotent.
func (s *Server) Remove(id string) error {
	if !idRE.MatchString(id) {
		return fmt.Errorf("agent directory: %q is not a usable workspace id", id)
	}
	s.mu.Lock()
	sock := s.open[id]
	delete(s.open, id)
	s.mu.Unlock()
	if sock != nil {
		_ = sock.srv.Close()
	}
	if err := os.RemoveAll(s.Dir(id)); err != nil {
		return fmt.Errorf("agent directory of %s: %w", id, err)
	}
	return nil
}

// Existing lists the workspace ids that have an agent directory on disk.
func (s *Server) Existing() ([]string, error) {
	entries, err := os.ReadDir(s.root)
	if err != nil {
		return nil, fmt.Errorf("agent directories: %w", err)
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && idRE.MatchString(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// Close stops serving every host socket; the directories stay, so the next
// host serves them again.
func (s *Server) Close() error {
	s.mu.Lock()
	socks := s.open
	s.open, s.closed = map[string]*socket{}, true
	s.mu.Unlock()
	for _, sock := range socks {
		_ = sock.srv.Close()
	}
	return nil
}
