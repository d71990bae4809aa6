// Command molecule-backend-docker is the Docker backend plugin: launched by
// a host through go-plugin from its plugin directory, never run by hand.
package main

import (
	"github.com/molecule-ai/molecule-host/plugins/docker"
	"github.com/molecule-ai/molecule-host/sdk/pluginrpc"
)

func main() {
	pluginrpc.Serve(docker.New())
}
