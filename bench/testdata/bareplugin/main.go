// Command bareplugin is the baseline of the dispatch benchmark: a bare
// go-plugin gRPC plugin answering one unary call.
package main

import (
	"context"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/molecule-ai/molecule-host/bench"
)

type pinger struct{}

func (pinger) Ping(_ context.Context, in []byte) ([]byte, error) { return in, nil }

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: bench.BareHandshake,
		Plugins:         plugin.PluginSet{"bare": &bench.BarePlugin{Impl: pinger{}}},
		GRPCServer:      plugin.DefaultGRPCServer,
		Logger:          hclog.New(&hclog.LoggerOptions{Level: hclog.Error, JSONFormat: true}),
	})
}
