package agent

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/molecule-ai/molecule-host/agentapi"
)

// Defaults for the agent's environment.
const (
	DefaultConfigDir  = "/configs"
	DefaultListenAddr = "127.0.0.1:0"
)

// Config is the agent's settings, normally read from the environment with
// ConfigFromEnv.
type Config struct {
	WorkspaceID       string
	HostURL           string // empty: run standalone, make no host calls
	Token             string
	TokenFile         string // where Token was read from; read again when the host refuses it
	ConfigDir         string
	ListenAddr        string
	AdvertiseHost     string
	HeartbeatInterval time.Duration
	// Runtime is the runtime named by the environment; a runtime.json in
	// the config directory overrides it (see RuntimeName).
	Runtime string
	// Out receives the boot log, one line per step (os.Stdout in the
	// binary).
	Out io.Writer
	// RetryBase and RetryMax bound the backoff between host call attempts.
	RetryBase, RetryMax time.Duration
	// FailFlushTimeout bounds how long a failing agent tries to deliver its
	// "failed" boot event before it exits.
	FailFlushTimeout time.Duration
}

// ConfigFromEnv reads the agentapi environment variables through getenv and
// fills defaults. It returns an error naming the variable when a value is
// malformed. With $MOLECULE_AGENT_TOKEN_FILE the token is read from that
// file (it must not be empty) and $MOLECULE_AGENT_TOKEN is ignored.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		WorkspaceID:       getenv(agentapi.EnvWorkspaceID),
		HostURL:           strings.TrimRight(getenv(agentapi.EnvHostURL), "/"),
		Token:             getenv(agentapi.EnvToken),
		ConfigDir:         getenv(agentapi.EnvConfigDir),
		ListenAddr:        getenv(agentapi.EnvListenAddr),
		AdvertiseHost:     getenv(agentapi.EnvAdvertiseHost),
		Runtime:           getenv(agentapi.EnvRuntime),
		HeartbeatInterval: agentapi.DefaultHeartbeatInterval,
	}
	if c.ConfigDir == "" {
		c.ConfigDir = DefaultConfigDir
	}
	if c.ListenAddr == "" {
		c.ListenAddr = DefaultListenAddr
	}
	if f := getenv(agentapi.EnvTokenFile); f != "" {
		tok, err := readTokenFile(f)
		if err != nil {
			return c, fmt.Errorf("%s: %w", agentapi.EnvTokenFile, err)
		}
		c.Token, c.TokenFile = tok, f
	}
	if s := getenv(agentapi.EnvHeartbeatInterval); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("%s=%q is not a positive Go duration such as 10s", agentapi.EnvHeartbeatInterval, s)
		}
		c.HeartbeatInterval = d
	}
	return c, nil
}

// readTokenFile returns the token in file path, without surrounding
// white space, and removes the file: the token then lives only in the
// agent's (non-dumpable) memory, out of reach of other processes of the
// workspace's user; the backend writes the file again on every start. An
// empty file is an error: a missing token must not turn off A2A
// authentication (standalone mode).
func readTokenFile(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read the agent token: %w", err)
	}
	tok := strings.TrimSpace(string(raw))
	if tok == "" {
		return "", fmt.Errorf("the agent token file %s is empty", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("remove the agent token file once read: %w", err)
	}
	return tok, nil
}

func (c *Config) fillDefaults() {
	if c.ConfigDir == "" {
		c.ConfigDir = DefaultConfigDir
	}
	if c.ListenAddr == "" {
		c.ListenAddr = DefaultListenAddr
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = agentapi.DefaultHeartbeatInterval
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.RetryBase <= 0 {
		c.RetryBase = 200 * time.Millisecond
	}
	if c.RetryMax <= 0 {
		c.RetryMax = 5 * time.Second
	}
	if c.FailFlushTimeout <= 0 {
		c.FailFlushTimeout = 30 * time.Second
	}
}

// ReadConfigDir returns every file under dir keyed by its slash-separated
// path relative to dir (directories are skipped, symlinks followed). A
// missing dir is an empty config.
func ReadConfigDir(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return nil // a symlink to a directory
		}
		content, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = content
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read config directory %s: %w", dir, err)
	}
	return files, nil
}
