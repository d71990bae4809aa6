// Package backendtest is a harness for backend authors: it serves a
// Backend over in-memory gRPC with the same server and client adapters a
// real plugin uses, so every call in a test is really serialized and errors
// cross the boundary exactly as they would from a plugin process.
//
// It imports sdk and sdk/pluginrpc only, never host/..., plugins/... or
// conformance.
package backendtest

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/pluginrpc"
)

// bufSize is the in-memory connection's buffer; large enough for 1 MiB
// stream chunks.
const bufSize = 4 << 20

// Serve serves b over in-memory gRPC (bufconn) and returns the client-side
// sdk.Backend, which also implements sdk.Filer, sdk.Execer and
// sdk.LogStreamer (optional verbs b lacks fail with KindUnsupported). The
// server and connection are closed by tb.Cleanup.
func Serve(tb testing.TB, b sdk.Backend) sdk.Backend {
	tb.Helper()
	lis := bufconn.Listen(bufSize)
	srv := pluginrpc.NewGRPCServer(b)
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	)
	if err != nil {
		srv.Stop()
		tb.Fatalf("backendtest: dial in-memory server: %v", err)
	}
	tb.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
	})
	return pluginrpc.NewGRPCClient(conn)
}
