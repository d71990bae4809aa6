package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// hostEnv is what a host process under test is started with.
type hostEnv struct {
	Binary        string
	DataDir       string
	PluginDir     string
	BackendConfig string // path of the JSON file
	Image         string
	Token         string
	LogPath       string
	ReadyFile     string
}

// hostProc is a running molecule-host serve process.
type hostProc struct {
	cmd     *exec.Cmd
	url     string
	logPath string
	done    chan struct{}
	waitErr error
}

// lockPlugins writes plugins.lock for dir with `molecule-host plugins lock`.
func lockPlugins(ctx context.Context, hostBin, dir string) error {
	out, err := exec.CommandContext(ctx, hostBin, "plugins", "lock", "--dir", dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("molecule-host plugins lock --dir %s: %w: %s", dir, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// startHost starts `molecule-host serve` and waits for its ready file.
func startHost(ctx context.Context, e hostEnv) (*hostProc, error) {
	logf, err := os.Create(e.LogPath)
	if err != nil {
		return nil, fmt.Errorf("host log: %w", err)
	}
	defer logf.Close()
	ready := e.ReadyFile
	cmd := exec.Command(e.Binary, "serve")
	cmd.Env = append(os.Environ(),
		"MOLECULE_DATA_DIR="+e.DataDir,
		"MOLECULE_LISTEN=127.0.0.1:0",
		"MOLECULE_PLUGIN_DIR="+e.PluginDir,
		"MOLECULE_ADMIN_TOKEN="+e.Token,
		"MOLECULE_READY_FILE="+ready,
		"MOLECULE_BACKEND_CONFIG="+e.BackendConfig,
		"MOLECULE_LIVENESS_TTL=3s",
		"MOLECULE_HEARTBEAT_INTERVAL=500ms",
		"MOLECULE_PROVISION_TIMEOUT=60s",
		"MOLECULE_RUNTIME_IMAGES=default="+e.Image,
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s serve: %w", e.Binary, err)
	}
	h := &hostProc{cmd: cmd, logPath: e.LogPath, done: make(chan struct{})}
	go func() { h.waitErr = cmd.Wait(); close(h.done) }()
	if err := h.waitReady(ctx, ready); err != nil {
		h.stop()
		return nil, err
	}
	return h, nil
}

// waitReady polls the ready file until it names the URL, failing early when
// the process exits.
func (h *hostProc) waitReady(ctx context.Context, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	return poll(ctx, "the host's ready file "+path, func() (bool, string, error) {
		select {
		case <-h.done:
			return false, "", fmt.Errorf("host exited before it was ready (%v); see %s:\n%s", h.waitErr, h.logPath, tail(h.logPath, 15))
		default:
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) || len(b) == 0 {
			return false, "no ready file yet", nil
		}
		var r struct {
			URL string `json:"url"`
		}
		if err := json.Unmarshal(b, &r); err != nil || r.URL == "" {
			return false, "ready file incomplete", nil
		}
		h.url = r.URL
		return true, "", nil
	})
}

// stop sends SIGTERM and waits for a clean exit, killing the host if it
// takes longer than 30 s.
func (h *hostProc) stop() error {
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.done:
	case <-time.After(30 * time.Second):
		_ = h.cmd.Process.Kill()
		<-h.done
		return fmt.Errorf("host did not stop within 30s of SIGTERM; killed")
	}
	var ee *exec.ExitError
	if h.waitErr != nil && !errors.As(h.waitErr, &ee) {
		return h.waitErr
	}
	return nil
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
