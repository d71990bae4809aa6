// Package conformance owns the backend conformance suite: the scenario
// registry (one file per matrix area), the runner that drives a real
// molecule-host process and the plugin under test, the versioned results
// schema, and the renderer that turns results into the generated parity
// matrix (docs/backends.md).
//
// It talks to the host only through its HTTP API and to plugins only through
// sdk and sdk/pluginrpc. It must never import host/... or plugins/...: the
// suite has to judge any backend, ours or a third party's, by the same
// public contract.
package conformance
