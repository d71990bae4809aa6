// Package agent is the workspace agent's logic (the molecule-agent binary):
// it applies user data, reads and hashes the workspace's config directory,
// starts the runtime, serves A2A JSON-RPC and /health, and reports its boot
// steps, registration and heartbeats to Molecule Host through the registry
// contract in agentapi.
//
// It runs inside every workspace, so it stays small and static: it imports
// the standard library and agentapi only, never host/..., sdk/... or
// plugins/....
package agent
