package conformance

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/pluginrpc"
)

// launchPlugin starts the plugin binary at path the way a host does
// (checksum-verified, AutoMTLS, gRPC only) with dataDir as its
// sdk.EnvDataDir, and returns its backend and a function that kills it.
func launchPlugin(ctx context.Context, path, dataDir string, logger hclog.Logger) (sdk.Backend, func(), error) {
	sum, err := fileSHA256(path)
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(path)
	cmd.Env = append(os.Environ(), sdk.EnvDataDir+"="+dataDir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginrpc.Handshake,
		VersionedPlugins: pluginrpc.VersionedPlugins(),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SecureConfig:     &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()},
		Logger:           logger,
	})
	b, err := pluginrpc.Dispense(client)
	if err != nil {
		client.Kill()
		return nil, nil, fmt.Errorf("launch plugin %s: %w", path, err)
	}
	if err := ctx.Err(); err != nil {
		client.Kill()
		return nil, nil, err
	}
	return b, client.Kill, nil
}

func fileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("plugin binary: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("plugin binary %s: %w", path, err)
	}
	return h.Sum(nil), nil
}
