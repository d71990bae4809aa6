// Command molecule-backend-cp is the control-plane backend plugin; the host
// launches it from its plugin directory.
package main

import (
	"github.com/molecule-ai/molecule-host/plugins/cp"
	"github.com/molecule-ai/molecule-host/sdk/pluginrpc"
)

func main() { pluginrpc.Serve(cp.New()) }
