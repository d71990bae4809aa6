// Command molecule-backend-nologs is the fake backend without the logs
// verb, named "nologs": a backend whose manifest does not declare a verb.
package main

import (
	"context"

	"github.com/molecule-ai/molecule-host/plugins/fake"
	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/pluginrpc"
)

// nologs hides every optional verb of the fake by embedding only the
// Backend interface.
type nologs struct{ sdk.Backend }

func (n nologs) Manifest(ctx context.Context) (*sdk.Manifest, error) {
	m, err := n.Backend.Manifest(ctx)
	if err != nil {
		return nil, err
	}
	m.Name = "nologs"
	delete(m.Features, sdk.FeatureBootLog)
	return m, nil
}

func main() { pluginrpc.Serve(nologs{fake.New()}) }
