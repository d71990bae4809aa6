package pluginrpc

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/molecule-ai/molecule-host/sdk"
	pb "github.com/molecule-ai/molecule-host/sdk/internal/backendv1"
)

// PluginName is the go-plugin plugin-set key.
const PluginName = "backend"

// Handshake is the go-plugin handshake every Molecule backend plugin and
// host share. It is a safety check that a binary is a backend plugin, not
// authentication (AutoMTLS and the checksum are).
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  sdk.ProtocolVersion,
	MagicCookieKey:   "MOLECULE_BACKEND_PLUGIN",
	MagicCookieValue: "5f1d3c0e-molecule-backend-b8a2e7d4",
}

// VersionedPlugins is the versioned plugin set {1: {"backend": ...}} for
// ClientConfig.VersionedPlugins.
func VersionedPlugins() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{sdk.ProtocolVersion: {PluginName: &backendPlugin{}}}
}

// backendPlugin is the go-plugin plugin: gRPC only; impl is set on the
// plugin side.
type backendPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl sdk.Backend
}

var _ plugin.GRPCPlugin = (*backendPlugin)(nil)

func (p *backendPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterBackendServiceServer(s, newServer(p.impl))
	return nil
}

func (p *backendPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return newClient(c), nil
}
