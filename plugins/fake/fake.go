// Package fake is an in-memory-model backend for host logic tests that is
// nonetheless a faithful substrate: each workspace is a JSON record on disk
// (so a plugin crash or restart loses nothing), Start runs the real
// workspace agent (package agent) in the plugin process, which registers,
// reports its applied config and heartbeats exactly as in a container, and
// faults (fail, hang, crash, slow)
// are injected per verb from a file re-read on every call.
//
// The records live in <state_dir>/workspace-<id>.json. Only the instance
// holding <state_dir>/agents.lock runs the agents; another instance
// sharing the state dir (a conformance observer) serves every verb from the
// records on disk.
//
// It imports sdk, sdk/pluginrpc, agent and agentapi only, never host/...,
// conformance or another plugin.
package fake

import (
	"context"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/pluginrpc"
)

// Name and Version identify the fake in its manifest.
const (
	Name    = "fake"
	Version = "0.1.0"
)

// Backend is the fake backend. The zero value is not usable; call New.
type Backend struct {
	log hclog.Logger

	mu     sync.Mutex
	cfg    *config              // nil until Configure succeeds
	lock   *dirLock             // agents.lock, held when this instance runs agents
	agents map[string]*simAgent // running agents by workspace id
	store  *store
}

var (
	_ sdk.Backend     = (*Backend)(nil)
	_ sdk.LogStreamer = (*Backend)(nil)
)

// New returns an unconfigured fake backend.
func New() *Backend {
	return &Backend{log: pluginrpc.Logger().Named(Name), agents: map[string]*simAgent{}}
}

// Manifest describes the fake; it never fails and needs no Configure.
func (b *Backend) Manifest(context.Context) (*sdk.Manifest, error) {
	return &sdk.Manifest{
		Name:            Name,
		Version:         Version,
		ProtocolVersion: sdk.ProtocolVersion,
		Description:     "An in-memory-model substrate for host tests: JSON records on disk and the real workspace agent, in-process, per workspace.",
		Features: map[string]sdk.Feature{
			sdk.FeatureCreate:         {Note: "writes the workspace record and runs the workspace agent in the plugin process"},
			sdk.FeatureStart:          {Note: "marks the record running and runs the workspace agent again"},
			sdk.FeatureStop:           {Note: "stops the agent and marks the record stopped"},
			sdk.FeatureRestart:        {Note: "stop then start; the agent boots with the config files of the new request"},
			sdk.FeatureDelete:         {Note: "stops the agent and removes the workspace record"},
			sdk.FeatureStatus:         {Note: "reads the workspace records from disk in one batch"},
			sdk.FeatureReady:          {Note: "agent register + config hash boot event (hash of the files written for it)"},
			sdk.FeatureConfigDelivery: {Note: "config files written to the agent's config dir before it starts", Attributes: map[string]string{sdk.AttrConfigDelivery: "sync"}},
			sdk.FeatureBootLog:        {Note: "the agent's boot log, recorded in the workspace record and followed by polling it"},
			sdk.FeatureOrphans:        {Note: "lists the workspace records in the state dir"},
		},
		Config: []sdk.ConfigField{
			{Name: keyStateDir, Type: sdk.ConfigString, Default: "$" + sdk.EnvDataDir, Description: "Directory holding the fake substrate: one JSON record per workspace (workspace-<id>.json); required when the host sets no " + sdk.EnvDataDir + "."},
			{Name: keyFaultFile, Type: sdk.ConfigString, Default: "<state_dir>/faults.json", Description: "Fault-injection rules, re-read on every verb call."},
		},
	}, nil
}

// configured returns the config and store, or the not-configured error.
func (b *Backend) configured(op string) (*config, *store, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cfg == nil {
		return nil, nil, sdk.NotConfigured(op)
	}
	return b.cfg, b.store, nil
}

// begin is how every verb but Manifest and Configure starts: the config
// check, then the fault rules for the verb.
func (b *Backend) begin(ctx context.Context, op string) (*store, error) {
	cfg, st, err := b.configured(op)
	if err != nil {
		return nil, err
	}
	if err := injectFault(ctx, cfg.faultFile, op, b.log); err != nil {
		return nil, err
	}
	return st, nil
}

// Close stops this instance's agents and releases the agents
// lock, as a plugin process exit would; the records stay. The Backend is
// unconfigured afterwards.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopAgentsLocked()
	b.lock.release()
	b.lock, b.cfg, b.store = nil, nil, nil
	return nil
}
