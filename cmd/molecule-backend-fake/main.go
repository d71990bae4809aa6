// Command molecule-backend-fake is the fake backend plugin: launched by a
// host through go-plugin, never run by hand.
package main

import (
	"github.com/molecule-ai/molecule-host/plugins/fake"
	"github.com/molecule-ai/molecule-host/sdk/pluginrpc"
)

func main() {
	pluginrpc.Serve(fake.New())
}
