package pluginrpc

import (
	"fmt"

	"github.com/hashicorp/go-plugin"

	"github.com/molecule-ai/molecule-host/sdk"
)

// Dispense returns the sdk.Backend served by a started go-plugin client
// (launching the plugin if it is not running yet). The returned value
// implements sdk.Backend and also sdk.Filer, sdk.Execer and sdk.LogStreamer:
// callers must consult the manifest's Capabilities before calling an
// optional verb; calling one the plugin lacks returns a KindUnsupported
// *sdk.Error naming the backend and the verb.
func Dispense(c *plugin.Client) (sdk.Backend, error) {
	rpc, err := c.Client()
	if err != nil {
		return nil, fmt.Errorf("connect to backend plugin: %w", err)
	}
	raw, err := rpc.Dispense(PluginName)
	if err != nil {
		return nil, fmt.Errorf("dispense backend plugin: %w", err)
	}
	b, ok := raw.(sdk.Backend)
	if !ok {
		return nil, fmt.Errorf("dispense backend plugin: got %T, not a backend", raw)
	}
	return b, nil
}
