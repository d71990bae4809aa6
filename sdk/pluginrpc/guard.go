package pluginrpc

import (
	"context"
	"fmt"
	"path"
	"runtime/debug"
	"strings"
	"unicode"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"

	"github.com/molecule-ai/molecule-host/sdk"
)

// guardOptions are the server options that keep one bad request from
// killing the plugin: a panic in any verb (unary or streaming) becomes a
// KindInternal error naming the verb, and the stack goes to log. A panic in
// a goroutine the backend starts itself cannot be caught here and still
// ends the process.
func guardOptions(log hclog.Logger) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
			defer func() {
				if r := recover(); r != nil {
					resp, err = nil, panicked(log, info.FullMethod, r)
				}
			}()
			return h(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = panicked(log, info.FullMethod, r)
				}
			}()
			return h(srv, ss)
		}),
	}
}

// panicked logs a recovered panic with its stack and returns the status
// error the host sees: "backend panicked in Start: ...".
func panicked(log hclog.Logger, method string, r any) error {
	verb := path.Base(method)
	op := opName(verb)
	log.Error("backend panicked", "verb", verb, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	return toStatus(op, &sdk.Error{Kind: sdk.KindInternal, Op: op, Message: fmt.Sprintf("backend panicked in %s: %v", verb, r)})
}

// noReply is the error for a verb that returned neither a reply nor an
// error: a backend bug, reported instead of dereferencing nil.
func noReply(op, verb string) error {
	return toStatus(op, &sdk.Error{Kind: sdk.KindInternal, Op: op,
		Message: fmt.Sprintf("backend returned neither a reply nor an error from %s", verb)})
}

// opName turns a gRPC method name into the op errors carry: "ListManaged"
// -> "list_managed".
func opName(verb string) string {
	var b strings.Builder
	for i, r := range verb {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
