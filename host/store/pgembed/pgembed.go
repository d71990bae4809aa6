package pgembed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Database is the database Start creates on first start; URL names it.
const Database = "molecule"

// maxSocketPath is the longest socket directory we use: a unix socket path
// is limited to ~107 bytes and postgres appends "/.s.PGSQL.5432".
const maxSocketPath = 90

// Config says where a cluster lives and how to run it.
type Config struct {
	// DataDir holds the cluster (DataDir/pgdata), its socket directory
	// (DataDir/run, or a short directory under os.TempDir when that path
	// is too long for a unix socket) and its log (DataDir/postgres.log).
	DataDir string
	// BinDir holds initdb and postgres; default: the newest
	// /usr/lib/postgresql/*/bin, else the directory of `postgres` on PATH.
	BinDir string
	Logger *slog.Logger
	// Fast turns durability off (fsync, synchronous_commit,
	// full_page_writes) for tests.
	Fast bool
	// StartTimeout bounds initdb plus start-up (default 2m).
	StartTimeout time.Duration
}

// Server is a running cluster started by Start.
type Server struct {
	cfg     Config
	bin     string
	pgdata  string
	sockDir string
	tempDir string // sockDir when it was created under os.TempDir
	cmd     *exec.Cmd
	done    chan struct{} // closed when postgres exited
	waitErr error
}

// Start initialises the cluster on first start, starts postgres and waits
// until it accepts connections, then creates database Database if missing.
// A postmaster.pid left by a killed previous run does not block it.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("pgembed: data dir is empty")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()
	bin, err := findBinDir(cfg.BinDir)
	if err != nil {
		return nil, err
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("pgembed: data dir: %w", err)
	}
	cfg.DataDir = dataDir
	s := &Server{cfg: cfg, bin: bin, pgdata: filepath.Join(dataDir, "pgdata"), done: make(chan struct{})}
	cred, err := prepareDirs(s)
	if err != nil {
		return nil, err
	}
	if err := s.initdb(ctx, cred); err != nil {
		return nil, err
	}
	// The backends of a killed postmaster outlive it for a moment (each
	// runs in a session of its own) and keep its shared memory attached,
	// which a new postmaster refuses to share; they exit once they notice
	// the postmaster is gone, so start again until they have.
	deadline := time.Now().Add(staleWait)
	for {
		if err := s.launch(cred); err != nil {
			return nil, err
		}
		err := s.waitReady(ctx)
		if err == nil {
			return s, nil
		}
		s.kill()
		if !strings.Contains(err.Error(), "pre-existing shared memory block") || time.Now().After(deadline) || ctx.Err() != nil {
			return nil, err
		}
		cfg.Logger.Info("a killed postgres's backends still hold its shared memory; starting again", "data", s.pgdata)
		s.done = make(chan struct{})
		time.Sleep(100 * time.Millisecond) // processes we did not start: nothing to wait on
	}
}

// URL returns the pgx DSN of database Database.
func (s *Server) URL() string { return s.DSN(Database) }

// DSN returns the pgx DSN of the named database on this cluster.
func (s *Server) DSN(dbname string) string {
	return fmt.Sprintf("host=%s user=postgres dbname=%s sslmode=disable", s.sockDir, dbname)
}

// Stop shuts postgres down (SIGINT, a fast shutdown) and waits for it to
// exit; when ctx ends first, the process group is killed.
func (s *Server) Stop(ctx context.Context) error {
	select {
	case <-s.done:
		return s.cleanup()
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("pgembed: stop: %w", err)
	}
	select {
	case <-s.done:
		return s.cleanup()
	case <-ctx.Done():
		s.kill()
		s.cleanup()
		return fmt.Errorf("pgembed: postgres did not stop in time, killed it: %w", ctx.Err())
	}
}

// Done is closed when the postgres process has exited.
func (s *Server) Done() <-chan struct{} { return s.done }

func (s *Server) cleanup() error {
	if s.tempDir != "" {
		return os.RemoveAll(s.tempDir)
	}
	return nil
}

// kill kills postgres and its backends, and waits for the postmaster.
func (s *Server) kill() {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
}

// launch runs postgres in the foreground as a child that dies with us.
func (s *Server) launch(cred *syscall.Credential) error {
	if err := removeStalePID(s.pgdata); err != nil {
		return err
	}
	removeStaleSocketLocks(s.sockDir)
	logf, err := os.OpenFile(filepath.Join(s.cfg.DataDir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgembed: log: %w", err)
	}
	defer logf.Close()
	args := []string{"-D", s.pgdata, "-k", s.sockDir, "-c", "listen_addresses=", "-c", "unix_socket_permissions=0770"}
	if s.cfg.Fast {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	s.cmd = exec.Command(filepath.Join(s.bin, "postgres"), args...)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	s.cmd.Env = childEnv(s.cfg.DataDir)
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("pgembed: start postgres: %w", err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.done)
	}()
	s.cfg.Logger.Info("postgres started", "pid", s.cmd.Process.Pid, "data", s.pgdata, "socket", s.sockDir)
	return nil
}

// waitReady polls until postgres accepts a connection, then creates the
// Database database if it does not exist.
func (s *Server) waitReady(ctx context.Context) error {
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		conn, err := pgx.Connect(ctx, s.DSN("postgres"))
		if err == nil {
			defer conn.Close(context.WithoutCancel(ctx))
			return createDatabase(ctx, conn)
		}
		last = err
		select {
		case <-s.done:
			return fmt.Errorf("pgembed: postgres exited during start-up (%v); log tail: %s", s.waitErr, s.logTail())
		case <-ctx.Done():
			return fmt.Errorf("pgembed: postgres not ready: %w (last: %v); log tail: %s", ctx.Err(), last, s.logTail())
		case <-tick.C:
		}
	}
}

func createDatabase(ctx context.Context, conn *pgx.Conn) error {
	var exists bool
	err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", Database).Scan(&exists)
	if err == nil && !exists {
		_, err = conn.Exec(ctx, "CREATE DATABASE "+Database)
	}
	if err != nil {
		return fmt.Errorf("pgembed: create database %s: %w", Database, err)
	}
	return nil
}

// logTail returns the last lines of the server log, for errors.
func (s *Server) logTail() string {
	data, _ := os.ReadFile(filepath.Join(s.cfg.DataDir, "postgres.log"))
	if len(data) > 1500 {
		data = data[len(data)-1500:]
	}
	return strings.TrimSpace(string(bytes.ToValidUTF8(data, nil)))
}
