package bench

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// BareHandshake is the handshake of the baseline plugin: a bare go-plugin
// gRPC service with one unary and one server-streaming method and no
// Molecule layers.
var BareHandshake = plugin.HandshakeConfig{ProtocolVersion: 1, MagicCookieKey: "MOLECULE_BENCH_BARE", MagicCookieValue: "bare"}

// Pinger is the baseline plugin's interface.
type Pinger interface {
	Ping(ctx context.Context, in []byte) ([]byte, error)
}

// BarePlugin is the go-plugin plugin of the baseline. Its client (from
// GRPCClient) implements both Pinger and Streamer.
type BarePlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl interface {
		Pinger
		Streamer
	}
}

const pingMethod = "/bench.Bare/Ping"

var bareDesc = grpc.ServiceDesc{
	ServiceName: "bench.Bare",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{MethodName: "Ping", Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
		in := new(wrapperspb.BytesValue)
		if err := dec(in); err != nil {
			return nil, err
		}
		out, err := srv.(Pinger).Ping(ctx, in.Value)
		return wrapperspb.Bytes(out), err
	}}},
	Streams: []grpc.StreamDesc{bareStreamDesc},
}

// GRPCServer registers the baseline service.
func (p *BarePlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	s.RegisterService(&bareDesc, p.Impl)
	return nil
}

// GRPCClient returns the baseline client.
func (p *BarePlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return bareClient{c}, nil
}

type bareClient struct{ c *grpc.ClientConn }

func (b bareClient) Ping(ctx context.Context, in []byte) ([]byte, error) {
	out := new(wrapperspb.BytesValue)
	err := b.c.Invoke(ctx, pingMethod, wrapperspb.Bytes(in), out)
	return out.GetValue(), err
}
