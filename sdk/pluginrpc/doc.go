// Package pluginrpc is the go-plugin glue between Molecule Host and its
// backend plugins: the handshake and versioned plugin set, Serve for a
// plugin's main, Dispense for a host, and the mapping of *sdk.Error to gRPC
// status and back.
//
// The gRPC client and server halves are unexported adapters over the
// generated code in sdk/internal/backendv1; no proto type crosses this
// package's API. The server derives a manifest's capabilities from the
// interfaces a Backend implements, so a plugin cannot claim a verb its code
// lacks.
//
// It imports sdk and the go-plugin/gRPC libraries only, never host/...,
// plugins/... or conformance.
package pluginrpc
