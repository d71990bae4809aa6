package agent_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/molecule-ai/molecule-host/agent"
	"github.com/molecule-ai/molecule-host/agentapi"
)

// mustUserData writes ud to a file and returns an environment naming it and
// the config directory dir.
func mustUserData(tb testing.TB, ud agentapi.UserData, dir string) map[string]string {
	tb.Helper()
	file := filepath.Join(tb.TempDir(), "user-data.json")
	raw, err := json.Marshal(ud)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		tb.Fatal(err)
	}
	return map[string]string{agentapi.EnvUserDataFile: file, agentapi.EnvConfigDir: dir}
}

func apply(env map[string]string) (bool, error) {
	return agent.ApplyUserData(func(k string) string { return env[k] }, func(k, v string) error { env[k] = v; return nil })
}

func TestApplyUserData(t *testing.T) {
	dir := t.TempDir()
	ud := agentapi.UserData{
		Env:         map[string]string{"GREETING": "hi", agentapi.EnvTier: "2"},
		ConfigFiles: map[string][]byte{"a.txt": []byte("A"), "sub/b.txt": []byte("B")},
	}
	env := mustUserData(t, ud, dir)
	applied, err := apply(env)
	if err != nil || !applied {
		t.Fatalf("ApplyUserData = %v, %v", applied, err)
	}
	if env["GREETING"] != "hi" || env[agentapi.EnvTier] != "2" {
		t.Fatalf("env not applied: %v", env)
	}
	got, err := agent.ReadConfigDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if agentapi.ConfigHash(got) != agentapi.ConfigHash(ud.ConfigFiles) {
		t.Fatalf("config dir holds %q, want %q", got, ud.ConfigFiles)
	}
}

// TestApplyUserDataRefusesLauncherEnv: user data that sets a variable the
// launcher owns is refused by name, and nothing is set or written, not even
// the files of the directory the variable names.
func TestApplyUserDataRefusesLauncherEnv(t *testing.T) {
	t.Parallel()
	for _, name := range []string{
		agentapi.EnvConfigDir, agentapi.EnvListenAddr, agentapi.EnvUserDataFile, agentapi.EnvWorkspaceID,
		agentapi.EnvHostURL, agentapi.EnvToken, agentapi.EnvHeartbeatInterval, agentapi.EnvRuntime,
		agentapi.EnvAdvertiseHost, "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "MOLECULE_ANYTHING_NEW",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir, target := t.TempDir(), filepath.Join(t.TempDir(), "target")
			ud := agentapi.UserData{
				Env:         map[string]string{name: target, "GREETING": "hi"},
				ConfigFiles: map[string][]byte{"a.txt": []byte("A")},
			}
			env := mustUserData(t, ud, dir)
			applied, err := apply(env)
			if err == nil || applied || !strings.Contains(err.Error(), name) {
				t.Fatalf("ApplyUserData = %v, %v; want an error naming %s", applied, err, name)
			}
			if env["GREETING"] != "" || env[name] == target {
				t.Errorf("env changed by refused user data: %v", env)
			}
			for _, d := range []string{dir, target} {
				if got, _ := agent.ReadConfigDir(d); len(got) != 0 {
					t.Errorf("%s holds %q after refused user data", d, got)
				}
			}
		})
	}
}

// TestWriteConfigDirRefusesSymlinks: a link planted in the config directory,
// as a file or as a parent directory, does not redirect a write.
func TestWriteConfigDirRefusesSymlinks(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct{ link, write string }{
		"file":      {link: "a.txt", write: "a.txt"},
		"directory": {link: "sub", write: "sub/a.txt"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir, outside := t.TempDir(), t.TempDir()
			target := filepath.Join(outside, "a.txt")
			if name == "directory" {
				target = outside
			}
			if err := os.Symlink(target, filepath.Join(dir, c.link)); err != nil {
				t.Fatal(err)
			}
			err := agent.WriteConfigDir(dir, map[string][]byte{c.write: []byte("X")})
			if err == nil || !strings.Contains(err.Error(), "symlink") {
				t.Errorf("WriteConfigDir through a link = %v, want an error saying so", err)
			}
			if entries, _ := os.ReadDir(outside); len(entries) != 0 {
				t.Errorf("the write went through the link: %s holds %v", outside, entries)
			}
		})
	}
}
