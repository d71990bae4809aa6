package agent_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/molecule-ai/molecule-host/agent"
	"github.com/molecule-ai/molecule-host/agentapi"
)

func TestReadConfigDir(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755)
	os.MkdirAll(filepath.Join(dir, "empty"), 0o755)
	os.WriteFile(filepath.Join(dir, "top.txt"), []byte("1"), 0o644)
	os.WriteFile(filepath.Join(dir, "a", "b", "deep.json"), []byte("{}"), 0o644)
	got, err := agent.ReadConfigDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{"top.txt": []byte("1"), "a/b/deep.json": []byte("{}")}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("ReadConfigDir (-want +got):\n%s", d)
	}
	missing, err := agent.ReadConfigDir(filepath.Join(dir, "nope"))
	if err != nil || len(missing) != 0 {
		t.Fatalf("missing dir = %v, %v; want empty, nil", missing, err)
	}
}

func TestWriteConfigDirRefusesEscapes(t *testing.T) {
	for _, p := range []string{"../x", "/etc/passwd", "a/../../x", "", "."} {
		err := agent.WriteConfigDir(t.TempDir(), map[string][]byte{p: []byte("x")})
		if err == nil || !strings.Contains(err.Error(), "must be relative") {
			t.Errorf("WriteConfigDir(%q) = %v, want an error naming the path", p, err)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{agentapi.EnvHeartbeatInterval: "250ms", agentapi.EnvHostURL: "http://127.0.0.1:1/"}
	cfg, err := agent.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HeartbeatInterval != 250*time.Millisecond || cfg.ConfigDir != "/configs" || cfg.ListenAddr != "127.0.0.1:0" || cfg.HostURL != "http://127.0.0.1:1" {
		t.Fatalf("ConfigFromEnv = %+v", cfg)
	}
	env[agentapi.EnvHeartbeatInterval] = "soon"
	if _, err := agent.ConfigFromEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), agentapi.EnvHeartbeatInterval) {
		t.Fatalf("bad interval error = %v, want one naming %s", err, agentapi.EnvHeartbeatInterval)
	}
}

func TestSmoke(t *testing.T) {
	tests := map[string]struct {
		files    map[string][]byte
		env      string
		wantCode int
	}{
		"default echo":      {},
		"runtime.json echo": {files: map[string][]byte{"runtime.json": []byte(`{"runtime":"echo"}`)}},
		"env default":       {env: "default"},
		"unknown in file":   {files: map[string][]byte{"runtime.json": []byte(`{"runtime":"wedge"}`)}, wantCode: 2},
		"unknown in env":    {env: "wedge", wantCode: 2},
		"malformed file":    {files: map[string][]byte{"runtime.json": []byte(`{runtime`)}, wantCode: 2},
		"file wins on env":  {files: map[string][]byte{"runtime.json": []byte(`{"runtime":"echo"}`)}, env: "wedge"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := agent.Smoke(t.Context(), mustConfigDir(t, tc.files), tc.env)
			code := 0
			var ee *agent.ExitError
			if errors.As(err, &ee) {
				code = ee.Code
			} else if err != nil {
				t.Fatalf("Smoke = %v, want an *ExitError", err)
			}
			if code != tc.wantCode {
				t.Fatalf("Smoke exit code = %d (%v), want %d", code, err, tc.wantCode)
			}
		})
	}
}
