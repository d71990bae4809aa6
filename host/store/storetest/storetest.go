// Package storetest gives tests a real, isolated Postgres-backed
// store.Store: one throwaway cluster per test package (pgembed, Fast,
// started lazily), and a fresh database per call, copied from a migrated
// template. Call Main from TestMain so the cluster stops at exit.
//
// It is a test helper: only _test.go files import it. It must not import
// dispatch, httpapi, pluginmgr or any plugin.
package storetest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/molecule-ai/molecule-host/host/store"
	"github.com/molecule-ai/molecule-host/host/store/pgembed"
)

const template = "storetest_template"

var (
	once    sync.Once
	srv     *pgembed.Server
	dir     string
	initErr error
	mu      sync.Mutex // serialises CREATE DATABASE
	seq     atomic.Int64
)

// Main runs the package's tests, then stops the cluster and removes its
// directory. Use it as `func TestMain(m *testing.M) { storetest.Main(m) }`.
func Main(m *testing.M) {
	code := m.Run()
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = srv.Stop(ctx)
		cancel()
	}
	if dir != "" {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// New returns a store with default options on a fresh migrated database,
// closed when the test ends. Tests of rescue want Open with a short
// RescueAfter (which also caps OperationTimeout).
func New(tb testing.TB) *store.Store {
	tb.Helper()
	return Open(tb, store.Options{})
}

// Open returns a store with opts on a fresh migrated database, closed when
// the test ends.
func Open(tb testing.TB, opts store.Options) *store.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	s, err := store.Open(ctx, DSN(tb), opts)
	if err != nil {
		tb.Fatalf("storetest: open store: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// DSN returns the DSN of a fresh database holding the migrated schema.
func DSN(tb testing.TB) string {
	tb.Helper()
	once.Do(start)
	if initErr != nil {
		tb.Fatalf("storetest: %v", initErr)
	}
	name := fmt.Sprintf("t%d_%d", os.Getpid(), seq.Add(1))
	if err := createDatabase(name, template); err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	return srv.DSN(name)
}

// RawDSN returns the DSN of a fresh, empty database (no migrations), for
// tests of the migrations themselves.
func RawDSN(tb testing.TB) string {
	tb.Helper()
	once.Do(start)
	if initErr != nil {
		tb.Fatalf("storetest: %v", initErr)
	}
	name := fmt.Sprintf("r%d_%d", os.Getpid(), seq.Add(1))
	if err := createDatabase(name, "template0"); err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	return srv.DSN(name)
}

// start starts the cluster and builds the migrated template database.
func start() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir, initErr = os.MkdirTemp("", "pgt")
	if initErr != nil {
		return
	}
	srv, initErr = pgembed.Start(ctx, pgembed.Config{DataDir: dir, Fast: true})
	if initErr != nil {
		return
	}
	if initErr = createDatabase(template, "template0"); initErr != nil {
		return
	}
	s, err := store.Open(ctx, srv.DSN(template), store.Options{})
	if err != nil {
		initErr = fmt.Errorf("migrate template: %w", err)
		return
	}
	s.Close()
}

func createDatabase(name, from string) error {
	mu.Lock()
	defer mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, srv.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, from)); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// testWriter sends log output to the test's log.
type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Helper()
	w.tb.Log(string(p))
	return len(p), nil
}
