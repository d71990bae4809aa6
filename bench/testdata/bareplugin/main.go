// Command bareplugin is the baseline of the dispatch, logs and cold-start
// benchmarks: a bare go-plugin gRPC plugin answering one unary call and one
// server stream.
package main

import (
	"context"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/molecule-ai/molecule-host/bench"
)

type bare struct{}

func (bare) Ping(_ context.Context, in []byte) ([]byte, error) { return in, nil }

func (bare) Stream(_ context.Context, total, chunk int, send func([]byte) error) error {
	return bench.SendChunks(total, make([]byte, chunk), send)
}

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: bench.BareHandshake,
		Plugins:         plugin.PluginSet{"bare": &bench.BarePlugin{Impl: bare{}}},
		GRPCServer:      plugin.DefaultGRPCServer,
		Logger:          hclog.New(&hclog.LoggerOptions{Level: hclog.Error, JSONFormat: true}),
	})
}
