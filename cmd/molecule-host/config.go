package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/molecule-ai/molecule-host/internal/secretfile"
)

// config is the host's configuration. Every setting has a flag and an
// environment variable; the flag wins.
type config struct {
	DataDir           string
	DatabaseURL       string
	Listen            string
	PublicURL         string
	PluginDir         string
	LockFile          string
	AdminToken        string
	ReadyFile         string
	BackendConfig     string
	RuntimeImages     string
	LivenessTTL       time.Duration
	HeartbeatInterval time.Duration
	ProvisionTimeout  time.Duration
	SweepInterval     time.Duration
	OperationRescue   time.Duration
	LogLevel          string
	AgentDir          string
}

// setting describes one flag and its environment variable, for --help.
type setting struct {
	flag, env, def, usage string
}

var settings = []setting{
	{"data-dir", "MOLECULE_DATA_DIR", ".molecule", "directory for the embedded Postgres cluster, plugin data and the generated admin token"},
	{"database-url", "MOLECULE_DATABASE_URL", "", "Postgres URL; empty runs an embedded cluster from the machine's PostgreSQL install in the data dir"},
	{"listen", "MOLECULE_LISTEN", "127.0.0.1:8080", "address the HTTP API listens on (port 0 picks a free one)"},
	{"public-url", "MOLECULE_PUBLIC_URL", "", "URL workspace agents reach the host at (default http://<listen address>)"},
	{"plugin-dir", "MOLECULE_PLUGIN_DIR", "bin/plugins", "directory holding molecule-backend-* plugin binaries"},
	{"lock-file", "MOLECULE_PLUGIN_LOCK", "", "SHA-256 lock file for the plugins (default <plugin-dir>/plugins.lock)"},
	{"admin-token-file", "MOLECULE_ADMIN_TOKEN_FILE", "", "file (mode 0600 or 0400) holding the admin bearer token, or the token itself in $MOLECULE_ADMIN_TOKEN (default: generated once and kept in <data-dir>/admin-token)"},
	{"agent-dir", "MOLECULE_AGENT_DIR", "", "directory of the workspaces' agent directories, where agents and host talk over unix sockets (default <data-dir>/agents; keep it short: a socket path is at most 107 bytes)"},
	{"ready-file", "MOLECULE_READY_FILE", "", "file the host writes {\"url\":...} to once it serves"},
	{"backend-config", "MOLECULE_BACKEND_CONFIG", "", "JSON file {\"<backend>\":{\"key\":\"value\"}} passed to each backend's Configure"},
	{"runtime-images", "MOLECULE_RUNTIME_IMAGES", "default=molecule-workspace:dev", "runtime=image pairs, comma-separated; \"default\" serves unlisted runtimes"},
	{"liveness-ttl", "MOLECULE_LIVENESS_TTL", "30s", "a workspace with no heartbeat for this long goes offline"},
	{"heartbeat-interval", "MOLECULE_HEARTBEAT_INTERVAL", "10s", "heartbeat interval given to agents"},
	{"provision-timeout", "MOLECULE_PROVISION_TIMEOUT", "5m", "a workspace not online this long after a start is failed"},
	{"sweep-interval", "MOLECULE_SWEEP_INTERVAL", "", "how often liveness and deadlines are checked (default liveness-ttl/3)"},
	{"operation-rescue", "MOLECULE_OPERATION_RESCUE", "30s", "an operation left running by a dead host is run again after this long"},
	{"log-level", "MOLECULE_LOG_LEVEL", "info", "debug, info, warn or error"},
}

func parseConfig(fs *flag.FlagSet, args []string) (*config, error) {
	vals := map[string]*string{}
	for _, s := range settings {
		def := s.def
		if v, ok := os.LookupEnv(s.env); ok {
			def = v
		}
		vals[s.flag] = fs.String(s.flag, def, s.usage+" ($"+s.env+")")
	}
	fs.Func("admin-token", "removed: use --admin-token-file or $MOLECULE_ADMIN_TOKEN", func(string) error {
		return errors.New("a token on the command line is readable by every local user: use --admin-token-file or $MOLECULE_ADMIN_TOKEN")
	})
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	c := &config{
		DataDir: *vals["data-dir"], DatabaseURL: *vals["database-url"], Listen: *vals["listen"],
		PublicURL: *vals["public-url"], PluginDir: *vals["plugin-dir"], LockFile: *vals["lock-file"],
		AdminToken: os.Getenv("MOLECULE_ADMIN_TOKEN"), ReadyFile: *vals["ready-file"], BackendConfig: *vals["backend-config"],
		RuntimeImages: *vals["runtime-images"], LogLevel: *vals["log-level"], AgentDir: *vals["agent-dir"],
	}
	var errs []error
	dur := func(name string, dst *time.Duration) {
		v := *vals[name]
		if v == "" {
			return
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("--%s: %q is not a positive duration", name, v))
			return
		}
		*dst = d
	}
	dur("liveness-ttl", &c.LivenessTTL)
	dur("heartbeat-interval", &c.HeartbeatInterval)
	dur("provision-timeout", &c.ProvisionTimeout)
	dur("sweep-interval", &c.SweepInterval)
	dur("operation-rescue", &c.OperationRescue)
	if c.SweepInterval == 0 {
		c.SweepInterval = max(c.LivenessTTL/3, 100*time.Millisecond)
	}
	if f := *vals["admin-token-file"]; f != "" {
		tok, err := secretfile.Read(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("--admin-token-file: %w", err))
		}
		c.AdminToken = tok
	}
	if c.LockFile == "" {
		c.LockFile = filepath.Join(c.PluginDir, "plugins.lock")
	}
	if _, err := c.images(); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// images parses RuntimeImages.
func (c *config) images() (map[string]string, error) {
	out := map[string]string{}
	for _, pair := range strings.Split(c.RuntimeImages, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("--runtime-images: %q is not runtime=image", pair)
		}
		out[k] = v
	}
	return out, nil
}

// backendConfig reads the per-backend Configure values.
func (c *config) backendConfig() (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	if c.BackendConfig == "" {
		return out, nil
	}
	st, err := os.Stat(c.BackendConfig)
	if err != nil {
		return nil, fmt.Errorf("backend config: %w", err)
	}
	// It holds the backends' secrets (the CP's shared secret and admin
	// token among them).
	if perm := st.Mode().Perm(); perm&0o022 != 0 {
		return nil, fmt.Errorf("backend config %s has mode %04o: others may change it; chmod 600 %s", c.BackendConfig, perm, c.BackendConfig)
	} else if perm&0o044 != 0 {
		warnf("backend config %s has mode %04o: others may read the secrets in it; chmod 600 %s", c.BackendConfig, perm, c.BackendConfig)
	}
	b, err := os.ReadFile(c.BackendConfig)
	if err != nil {
		return nil, fmt.Errorf("backend config: %w", err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("backend config %s: %w (want {\"backend\":{\"key\":\"value\"}})", c.BackendConfig, err)
	}
	return out, nil
}

// adminToken returns the configured token, or the one kept in the data
// dir, generating it on first use. It first secures the data dir (see
// secureDataDir), which holds the token.
func (c *config) adminToken() (string, error) {
	if err := c.secureDataDir(); err != nil {
		return "", err
	}
	if c.AdminToken != "" {
		return c.AdminToken, nil
	}
	path := filepath.Join(c.DataDir, "admin-token")
	switch tok, err := secretfile.Read(path); {
	case err == nil:
		return tok, nil
	case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, secretfile.ErrEmpty):
		return "", err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	tok := base64.RawURLEncoding.EncodeToString(raw[:])
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing admin token: %w", err)
	}
	return tok, nil
}

// agentDir is the root of the workspaces' agent directories.
func (c *config) agentDir() string {
	if c.AgentDir != "" {
		return c.AgentDir
	}
	return filepath.Join(c.DataDir, "agents")
}

// secureDataDir refuses a data dir other users may write in (they could
// replace the admin token, the cluster or the plugins' data) and removes
// their read access to it. Search access stays: the embedded Postgres runs
// as the postgres user when the host runs as root and reaches its cluster
// through the data dir.
func (c *config) secureDataDir() error {
	st, err := os.Stat(c.DataDir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	perm := st.Mode().Perm()
	if perm&0o022 != 0 {
		return fmt.Errorf("data dir %s has mode %04o: others may write in it; chmod go-w %s", c.DataDir, perm, c.DataDir)
	}
	if perm&0o044 != 0 {
		if err := os.Chmod(c.DataDir, perm&^0o044); err != nil {
			return fmt.Errorf("data dir: %w", err)
		}
	}
	return nil
}

// warnf reports a problem that does not stop the host, on stderr before its
// logger exists.
func warnf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "molecule-host: warning: "+format+"\n", args...)
}
