// Package cplocal is molecule-cp-local, the local control plane: an HTTP
// server implementing docs/cp-api.md whose "instances" are molecule-agent
// processes on loopback addresses, booted asynchronously from user data, with
// console output, fault injection and state that survives a restart of the
// server. It is the cp backend's substrate for development and tests.
//
// It uses the standard library and agentapi only; it must never import
// host/..., sdk/... or another plugin (in particular not plugins/cp: the two
// sides meet only through the documented HTTP contract).
package cplocal
