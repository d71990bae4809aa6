package pluginmgr

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/hashicorp/go-plugin"
	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/pluginrpc"
)

// errVerify marks a launch refused because the binary no longer matches the
// lock file; such a plugin is never restarted.
var errVerify = errors.New("plugin binary failed verification")

// launch verifies the binary, starts the process, reads and validates the
// manifest, claims the backend name and configures the backend. On success
// the plugin is running with a new generation; on failure nothing is left
// running.
func (p *proc) launch(ctx context.Context) error {
	// go-plugin's SecureConfig digests the binary right before exec and
	// refuses a mismatch; hashing it here again would only add a second
	// read of the file to every launch (see bench/coldstart_test.go).
	sum, err := hex.DecodeString(p.sha)
	if err != nil {
		return fmt.Errorf("%w: %s: lock file digest %q is not hex", errVerify, p.file, p.sha)
	}
	cmd, err := p.command()
	if err != nil {
		return err
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginrpc.Handshake,
		VersionedPlugins: pluginrpc.VersionedPlugins(),
		Cmd:              cmd,
		SkipHostEnv:      true, // command() passes the host's environment itself
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SecureConfig:     &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()},
		// go-plugin names the stderr logger after the binary itself.
		Logger: p.m.log,
	})
	b, man, err := p.handshake(ctx, client)
	if err != nil {
		client.Kill()
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		go client.Kill()
		return fmt.Errorf("%s: plugin manager closed", p.file)
	}
	p.name, p.manifest, p.client, p.cmd, p.backend = man.Name, man, client, cmd, b
	p.pid = cmd.Process.Pid
	p.gen++
	p.setStateLocked(StateRunning, "")
	p.log.Info("plugin running", "backend", man.Name, "version", man.Version, "pid", p.pid)
	return nil
}

// mismatch describes a binary go-plugin refused: it names the file and
// both digests.
func (p *proc) mismatch() error {
	got, err := Digest(p.path)
	if err != nil {
		return fmt.Errorf("%w: %v", errVerify, err)
	}
	return fmt.Errorf("%w: %s: sha256 mismatch: lock file %s wants %s, file has %s",
		errVerify, p.file, p.m.cfg.LockFile, p.sha, got)
}

// handshake connects to the started client, then reads, checks and
// configures the backend.
func (p *proc) handshake(ctx context.Context, client *plugin.Client) (sdk.Backend, *sdk.Manifest, error) {
	if _, err := client.Client(); err != nil {
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			return nil, nil, p.mismatch()
		}
		return nil, nil, fmt.Errorf("launch %s: %w", p.file, err)
	}
	if v := client.NegotiatedVersion(); v != sdk.ProtocolVersion {
		return nil, nil, fmt.Errorf("%s negotiated protocol %d, want %d", p.file, v, sdk.ProtocolVersion)
	}
	b, err := pluginrpc.Dispense(client)
	if err != nil {
		return nil, nil, fmt.Errorf("dispense %s: %w", p.file, err)
	}
	man, err := b.Manifest(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("read manifest of %s: %w", p.file, err)
	}
	if man.ProtocolVersion != sdk.ProtocolVersion {
		return nil, nil, fmt.Errorf("%s speaks protocol %d, this host speaks %d", p.file, man.ProtocolVersion, sdk.ProtocolVersion)
	}
	if err := man.Validate(); err != nil {
		return nil, nil, fmt.Errorf("manifest of %s: %w", p.file, err)
	}
	if err := p.m.register(p, man.Name); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", p.file, err)
	}
	req := &sdk.ConfigureRequest{Config: p.m.cfg.Backends[man.Name]}
	if _, err := b.Configure(ctx, req); err != nil {
		return nil, nil, fmt.Errorf("configure backend %s: %w", man.Name, err)
	}
	return b, man, nil
}

// command builds the plugin's exec.Cmd: the host's environment with the
// plugin's own data directory, and a parent-death signal so the kernel
// kills the plugin when the host dies, even by SIGKILL.
func (p *proc) command() (*exec.Cmd, error) {
	env := make([]string, 0, len(os.Environ())+1)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, sdk.EnvDataDir+"=") {
			env = append(env, kv)
		}
	}
	if p.m.cfg.DataDir != "" {
		dir := filepath.Join(p.m.cfg.DataDir, p.file)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("data directory for %s: %w", p.file, err)
		}
		env = append(env, sdk.EnvDataDir+"="+dir)
	}
	cmd := exec.Command(p.path)
	cmd.Env = env
	cmd.SysProcAttr = deathSignal()
	return cmd, nil
}
