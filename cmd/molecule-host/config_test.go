package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func parse(t *testing.T, args ...string) (*config, error) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return parseConfig(fs, args)
}

// TestAdminTokenNeverOnTheCommandLine: --admin-token with a value is
// refused (every local user can read a command line); the token comes from
// a file only its owner can read.
func TestAdminTokenNeverOnTheCommandLine(t *testing.T) {
	if _, err := parse(t, "--admin-token", "s3cret"); err == nil || !strings.Contains(err.Error(), "--admin-token-file") {
		t.Errorf("--admin-token s3cret: %v, want a refusal pointing to --admin-token-file", err)
	}
	dir := t.TempDir()
	private, open := filepath.Join(dir, "private"), filepath.Join(dir, "open")
	for f, mode := range map[string]os.FileMode{private: 0o600, open: 0o640} {
		if err := os.WriteFile(f, []byte("tok-"+filepath.Base(f)+"\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	c, err := parse(t, "--admin-token-file", private)
	if err != nil || c.AdminToken != "tok-private" {
		t.Errorf("--admin-token-file %s: %+v, %v; want token tok-private", private, c, err)
	}
	if _, err := parse(t, "--admin-token-file", open); err == nil || !strings.Contains(err.Error(), open+" has mode 0640") {
		t.Errorf("--admin-token-file %s (0640): %v, want a refusal naming the file and its mode", open, err)
	}
}

// TestDataDirAndBackendConfigPermissions: a data dir others may write in
// is refused and one they may read is tightened; a backend config others
// may write is refused.
func TestDataDirAndBackendConfigPermissions(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o757); err != nil {
		t.Fatal(err)
	}
	c := &config{DataDir: dir}
	if _, err := c.adminToken(); err == nil || !strings.Contains(err.Error(), "others may write") {
		t.Errorf("adminToken with a world-writable data dir: %v, want a refusal", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := c.adminToken(); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o711 {
		t.Errorf("data dir mode %04o after start, want 0711", st.Mode().Perm())
	}
	bc := filepath.Join(dir, "backends.json")
	if err := os.WriteFile(bc, []byte(`{}`), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(bc, 0o666); err != nil {
		t.Fatal(err)
	}
	c.BackendConfig = bc
	if _, err := c.backendConfig(); err == nil || !strings.Contains(err.Error(), "others may change it") {
		t.Errorf("backendConfig of a 0666 file: %v, want a refusal", err)
	}
}
