package cplocal

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/molecule-ai/molecule-host/agentapi"
)

// EnvInstanceID is set in every instance's environment; with the agent path
// in /proc/<pid>/cmdline it identifies an instance's process after a restart
// of the control plane (a reused pid never matches both).
const EnvInstanceID = "MOLECULE_CP_INSTANCE_ID"

// Files on an instance's disk.
const (
	userDataFile = "user-data.json"
	launchFile   = "launch.json"
	consoleFile  = "console.log"
	configsDir   = "configs"
	homeDir      = "home"
)

// spawn starts the instance's agent in its own session, as the instance
// user, with the instance's environment and nothing of the CP's (its
// secrets stay out), its stdout and stderr appended to the console file.
// onExit runs when the process ends.
func (s *Server) spawn(in Instance, onExit func(pid int, err error)) (int, error) {
	dir := s.instanceDir(in.InstanceID)
	cred, err := s.credFor(in)
	if err != nil {
		return 0, err
	}
	l, err := s.readLaunch(in.InstanceID)
	if err != nil {
		return 0, fmt.Errorf("read launch values: %w", err)
	}
	console, err := os.OpenFile(filepath.Join(dir, consoleFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, fmt.Errorf("open console: %w", err)
	}
	defer console.Close()
	cmd := exec.Command(s.cfg.AgentPath)
	cmd.Dir = filepath.Join(dir, homeDir)
	cmd.Env = []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + cmd.Dir,
		agentapi.EnvUserDataFile + "=" + filepath.Join(dir, userDataFile),
		agentapi.EnvConfigDir + "=" + filepath.Join(dir, configsDir),
		agentapi.EnvListenAddr + "=" + net.JoinHostPort(in.PrivateIP, strconv.Itoa(in.AgentPort)),
		EnvInstanceID + "=" + in.InstanceID,
		agentapi.EnvWorkspaceID + "=" + in.WorkspaceID,
		agentapi.EnvRuntime + "=" + in.Runtime,
	}
	for k, v := range map[string]string{agentapi.EnvHostURL: l.HostURL, agentapi.EnvToken: l.AgentToken, agentapi.EnvHeartbeatInterval: l.HeartbeatInterval} {
		if v != "" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	cmd.Stdout, cmd.Stderr = console, console
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: cred}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", s.cfg.AgentPath, err)
	}
	pid := cmd.Process.Pid
	go func() { onExit(pid, cmd.Wait()) }()
	return pid, nil
}

// alive reports whether pid is the agent process of instance id: it runs
// the configured agent binary and carries the instance id in its
// environment. A zombie or a reused pid is not alive.
func (s *Server) alive(pid int, id string) bool {
	if pid <= 0 {
		return false
	}
	proc := "/proc/" + strconv.Itoa(pid)
	cmdline, err := os.ReadFile(proc + "/cmdline")
	if err != nil || len(cmdline) == 0 {
		return false
	}
	argv0, _, _ := bytes.Cut(cmdline, []byte{0})
	if string(argv0) != s.cfg.AgentPath {
		return false
	}
	environ, err := os.ReadFile(proc + "/environ")
	if err != nil {
		return false
	}
	want := []byte(EnvInstanceID + "=" + id)
	for _, kv := range bytes.Split(environ, []byte{0}) {
		if bytes.Equal(kv, want) {
			return true
		}
	}
	return false
}

// kill stops the instance's process group: SIGTERM, then SIGKILL after the
// grace period. It returns once the process is gone.
func (s *Server) kill(pid int, id string) error {
	if !s.alive(pid, id) {
		return nil
	}
	_ = syscall.Kill(-pid, syscall.SIGTERM) // the agent leads its own session and group
	if s.waitGone(pid, id, s.cfg.StopGrace) {
		return nil
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	if s.waitGone(pid, id, 5*time.Second) {
		return nil
	}
	return errors.New("instance process " + strconv.Itoa(pid) + " survived SIGKILL")
}

// waitGone polls until the process is gone or d elapsed.
func (s *Server) waitGone(pid int, id string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if !s.alive(pid, id) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond) // polling the process table; there is no event for a non-child
	}
}

// consoleLine appends one control-plane line to the instance's console.
func (s *Server) consoleLine(id, format string, args ...any) {
	f, err := os.OpenFile(filepath.Join(s.instanceDir(id), consoleFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "[cp] %s "+format+"\n", append([]any{time.Now().UTC().Format(time.RFC3339)}, args...)...)
}
