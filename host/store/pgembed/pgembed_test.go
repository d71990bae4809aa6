package pgembed_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/molecule-ai/molecule-host/host/store/pgembed"
)

func mustStart(tb testing.TB, dir string) *pgembed.Server {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := pgembed.Start(ctx, pgembed.Config{DataDir: dir, Fast: true})
	if err != nil {
		tb.Fatalf("Start: %v", err)
	}
	return s
}

func mustStop(tb testing.TB, s *pgembed.Server) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		tb.Fatalf("Stop: %v", err)
	}
}

func query(tb testing.TB, dsn, sql string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatalf("connect %s: %v", dsn, err)
	}
	defer conn.Close(ctx)
	var out string
	if err := conn.QueryRow(ctx, sql).Scan(&out); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	return out
}

func execSQL(tb testing.TB, dsn, sql string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatalf("connect %s: %v", dsn, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}

func TestStartQueryStopRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pg")
	s := mustStart(t, dir)
	if got := query(t, s.URL(), "SELECT current_database()"); got != pgembed.Database {
		t.Fatalf("current_database() = %q, want %q", got, pgembed.Database)
	}
	execSQL(t, s.URL(), "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('survives')")
	mustStop(t, s)
	select {
	case <-s.Done():
	default:
		t.Fatal("postgres still runs after Stop")
	}
	if _, err := os.Stat(filepath.Join(dir, "postgres.log")); err != nil {
		t.Errorf("no server log: %v", err)
	}

	s2 := mustStart(t, dir)
	defer mustStop(t, s2)
	if got := query(t, s2.URL(), "SELECT v FROM kept"); got != "survives" {
		t.Fatalf("after restart: kept.v = %q, want survives", got)
	}
}

func TestStartAfterKill(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pg")
	s := mustStart(t, dir)
	pid := query(t, s.URL(), "SELECT pg_backend_pid()::text") // proves it serves
	if pid == "" {
		t.Fatal("no backend pid")
	}
	// Kill the postmaster alone, as a crash would; its pid file stays.
	pidFile := filepath.Join(dir, "pgdata", "postmaster.pid")
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("read pid file: %v", err)
	}
	var pm int
	if _, err := fmt.Sscan(strings.SplitN(string(data), "\n", 2)[0], &pm); err != nil {
		t.Fatalf("parse pid file: %v", err)
	}
	if err := syscall.Kill(pm, syscall.SIGKILL); err != nil {
		t.Fatalf("kill: %v", err)
	}
	<-s.Done()
	if _, err := os.Stat(pidFile); err != nil {
		t.Fatalf("pid file should survive a kill: %v", err)
	}
	s2 := mustStart(t, dir)
	defer mustStop(t, s2)
	if got := query(t, s2.URL(), "SELECT 'up'"); got != "up" {
		t.Fatalf("after kill: %q", got)
	}
}

func TestMissingBinaries(t *testing.T) {
	t.Parallel()
	_, err := pgembed.Start(context.Background(), pgembed.Config{DataDir: t.TempDir(), BinDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "initdb not found") {
		t.Fatalf("Start with an empty bin dir = %v, want an error naming initdb", err)
	}
}

func TestLongDataDirUsesShortSocket(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("e", 40))
	s := mustStart(t, dir)
	defer mustStop(t, s)
	if strings.Contains(s.URL(), dir) {
		t.Fatalf("socket dir inside a long data dir: %s", s.URL())
	}
	if got := query(t, s.URL(), "SELECT 'ok'"); got != "ok" {
		t.Fatalf("query: %q", got)
	}
}

// TestChildEnvironmentHoldsNoHostSecrets starts postgres with the host's
// secrets in the environment and reads the postmaster's environment back
// from /proc: none of the host's MOLECULE_* variables may be there.
func TestChildEnvironmentHoldsNoHostSecrets(t *testing.T) {
	secrets := map[string]string{
		"MOLECULE_ADMIN_TOKEN":    "admin-token-secret",
		"MOLECULE_DATABASE_URL":   "postgres://molecule:db-secret@db.example/molecule",
		"MOLECULE_BACKEND_CONFIG": `{"cp":{"shared_secret":"backend-secret"}}`,
		"AWS_SECRET_ACCESS_KEY":   "aws-secret",
	}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	dir := filepath.Join(t.TempDir(), "pg")
	s := mustStart(t, dir)
	defer mustStop(t, s)
	data, err := os.ReadFile(filepath.Join(dir, "pgdata", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _, _ := strings.Cut(string(data), "\n")
	environ, err := os.ReadFile(filepath.Join("/proc", strings.TrimSpace(pid), "environ"))
	if err != nil {
		t.Fatal(err)
	}
	vars := strings.Split(strings.TrimRight(string(environ), "\x00"), "\x00")
	if !slices.ContainsFunc(vars, func(kv string) bool { return strings.HasPrefix(kv, "PATH=") }) {
		t.Fatalf("postgres environment %q has no PATH: not an environment?", vars)
	}
	for _, kv := range vars {
		if strings.HasPrefix(kv, "MOLECULE_") || strings.HasPrefix(kv, "AWS_") {
			t.Errorf("postgres inherited %s", kv)
		}
	}
	for k, v := range secrets {
		if strings.Contains(string(environ), v) {
			t.Errorf("the value of %s reached postgres's environment", k)
		}
	}
}
