package pluginmgr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/pluginrpc"
)

// errVerify marks a launch refused because the binary no longer matches the
// lock file; such a plugin is never restarted.
var errVerify = errors.New("plugin binary failed verification")

// errRefused marks a launch refused for what the verified binary declares
// (its manifest, its name, its protocol): launching the same file again
// cannot fix it, so such a plugin is never retried either.
var errRefused = errors.New("plugin refused")

// permanent reports whether a launch error rules out any later attempt.
func permanent(err error) bool { return errors.Is(err, errVerify) || errors.Is(err, errRefused) }

// testHookVerified, when a test sets it, runs after the binary passed
// verification and right before it is executed, with its path.
var testHookVerified func(path string)

// launch starts the plugin from bin, the binary opened and verified by
// Verify (nil on a relaunch: launch then opens and verifies it itself),
// reads and validates the manifest, claims the backend name and
// configures the backend. On success the plugin is running with a new
// generation; on failure nothing is left running. bin is closed.
//
// The host executes the very file it hashed, through its open descriptor
// (/proc/self/fd/N), not the path again: replacing the file at the path
// after the check cannot change what runs, and the file is read once per
// launch. The alternative, a private root-only copy, would write every
// binary once per launch and fail on a noexec data dir.
func (p *proc) launch(ctx context.Context, bin *os.File) error {
	if bin == nil {
		var err error
		if bin, err = p.open(); err != nil {
			return err
		}
	}
	defer bin.Close() // the child has its own reference once started
	if testHookVerified != nil {
		testHookVerified(p.path)
	}
	cmd, err := p.command(bin)
	if err != nil {
		return err
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginrpc.Handshake,
		VersionedPlugins: pluginrpc.VersionedPlugins(),
		Cmd:              cmd,
		SkipHostEnv:      true, // command() sets the plugin's whole environment
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		StartTimeout:     p.m.cfg.LaunchTimeout,
		GRPCDialOptions:  pluginrpc.DialOptions(), // per-verb reply limits, not go-plugin's 2 GiB
		// No SecureConfig: it would hash cmd.Path, a second read of the
		// descriptor open() or Verify already hashed.
		Logger: &stderrLogger{Logger: p.m.log, fdName: filepath.Base(cmd.Path), file: p.file},
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

// open opens the binary for a relaunch and verifies what it opened against
// the lock file's digest. A binary that no longer matches, or that a user
// other than root or the host's own could change, fails with errVerify.
func (p *proc) open() (*os.File, error) {
	f, got, err := openBinary(p.path)
	var uerr *unsafeError
	switch {
	case errors.As(err, &uerr):
		return nil, fmt.Errorf("%w: %s: %v", errVerify, p.file, err)
	case err != nil:
		return nil, fmt.Errorf("launch %s: %w", p.file, err)
	case got != p.sha:
		f.Close()
		return nil, p.mismatch(got)
	}
	return f, nil
}

// mismatch describes a binary whose digest is not the lock file's: it
// names the file and both digests.
func (p *proc) mismatch(got string) error {
	return fmt.Errorf("%w: %s: sha256 mismatch: lock file %s wants %s, file has %s",
		errVerify, p.file, p.m.cfg.LockFile, p.sha, got)
}

// stderrLogger is the logger go-plugin gets. go-plugin names the plugin's
// stderr lines after the base name of Cmd.Path, here a descriptor number
// (see command); stderrLogger names them after the binary instead.
type stderrLogger struct {
	hclog.Logger
	fdName, file string
}

func (l *stderrLogger) Named(name string) hclog.Logger {
	if name == l.fdName {
		name = l.file
	}
	return l.Logger.Named(name)
}

// handshake connects to the started client, then reads, checks and
// configures the backend. A step cut short by ctx's deadline fails with
// "<step> did not answer within <LaunchTimeout>".
func (p *proc) handshake(ctx context.Context, client *plugin.Client) (sdk.Backend, *sdk.Manifest, error) {
	if _, err := client.Client(); err != nil {
		return nil, nil, fmt.Errorf("launch %s: %w", p.file, err)
	}
	if v := client.NegotiatedVersion(); v != sdk.ProtocolVersion {
		return nil, nil, fmt.Errorf("%w: %s negotiated protocol %d, want %d", errRefused, p.file, v, sdk.ProtocolVersion)
	}
	b, err := pluginrpc.Dispense(client)
	if err != nil {
		return nil, nil, fmt.Errorf("dispense %s: %w", p.file, err)
	}
	man, err := b.Manifest(ctx)
	if err != nil {
		return nil, nil, p.stepErr(ctx, "Manifest", fmt.Errorf("read manifest of %s: %w", p.file, err))
	}
	if err := p.checkManifest(man); err != nil {
		return nil, nil, err
	}
	if err := p.m.register(p, man.Name); err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", errRefused, p.file, err)
	}
	req := &sdk.ConfigureRequest{Config: p.m.cfg.Backends[man.Name]}
	if _, err := b.Configure(ctx, req); err != nil {
		return nil, nil, p.stepErr(ctx, "Configure", fmt.Errorf("configure backend %s: %w", man.Name, err))
	}
	return b, man, nil
}

// checkManifest refuses a manifest of another protocol, an invalid one
// (sdk.Manifest.Validate: unknown capabilities among others) and one whose
// name is not the binary's: the file molecule-backend-<name> may serve
// backend <name> only, so the lock file entry that verified the file also
// fixes which backend it is, and no binary can claim another's name.
func (p *proc) checkManifest(man *sdk.Manifest) error {
	if man.ProtocolVersion != sdk.ProtocolVersion {
		return fmt.Errorf("%w: %s speaks protocol %d, this host speaks %d", errRefused, p.file, man.ProtocolVersion, sdk.ProtocolVersion)
	}
	if err := man.Validate(); err != nil {
		return fmt.Errorf("%w: manifest of %s: %w", errRefused, p.file, err)
	}
	if want := strings.TrimPrefix(p.file, BinaryPrefix); man.Name != want {
		return fmt.Errorf("%w: %s declares backend %q, but its file name binds it to backend %q (a file %s<name> may serve backend <name> only)",
			errRefused, p.file, man.Name, want, BinaryPrefix)
	}
	return nil
}

// stepErr is err, or, when ctx's deadline cut the step short, an error
// saying which step did not answer in time. gRPC may report the deadline a
// moment before ctx itself is done, hence the slack.
func (p *proc) stepErr(ctx context.Context, step string, err error) error {
	d, ok := ctx.Deadline()
	if ok && (errors.Is(ctx.Err(), context.DeadlineExceeded) ||
		errors.Is(err, context.DeadlineExceeded) && time.Until(d) < 100*time.Millisecond) {
		return fmt.Errorf("%s: %s did not answer within %s", p.file, step, p.m.cfg.LaunchTimeout)
	}
	return err
}

// command builds the plugin's exec.Cmd: it executes bin through its
// descriptor, with an environment built from the allow list (see
// pluginEnv) plus the plugin's own data directory, and a parent-death
// signal so the kernel kills the plugin when the host dies, even by
// SIGKILL. argv[0] stays the binary's path, for ps and the plugin itself.
func (p *proc) command(bin *os.File) (*exec.Cmd, error) {
	env := pluginEnv(os.Environ(), p.m.log.GetLevel())
	if p.m.cfg.DataDir != "" {
		dir := filepath.Join(p.m.cfg.DataDir, p.file)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("data directory for %s: %w", p.file, err)
		}
		env = append(env, sdk.EnvDataDir+"="+dir)
	}
	cmd := exec.Command(fdPath(bin))
	cmd.Args[0] = p.path
	cmd.Env = env
	cmd.SysProcAttr = deathSignal()
	return cmd, nil
}
