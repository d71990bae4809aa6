package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
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
	{"admin-token", "MOLECULE_ADMIN_TOKEN", "", "admin bearer token (default: generated once and kept in <data-dir>/admin-token)"},
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
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	c := &config{
		DataDir: *vals["data-dir"], DatabaseURL: *vals["database-url"], Listen: *vals["listen"],
		PublicURL: *vals["public-url"], PluginDir: *vals["plugin-dir"], LockFile: *vals["lock-file"],
		AdminToken: *vals["admin-token"], ReadyFile: *vals["ready-file"], BackendConfig: *vals["backend-config"],
		RuntimeImages: *vals["runtime-images"], LogLevel: *vals["log-level"],
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
// dir, generating it on first use.
func (c *config) adminToken() (string, error) {
	if c.AdminToken != "" {
		return c.AdminToken, nil
	}
	path := filepath.Join(c.DataDir, "admin-token")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
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
