// Package store owns Molecule Host's durable state in PostgreSQL: the
// schema (tern migrations embedded in the binary), workspaces and their one
// status writer (Transition), operations and the River queue that executes
// them, agent token digests, registry signals, events and the sweep
// queries. No pgx or River type leaves this package: callers see host
// domain types, small store types and *sdk.Error.
//
// It may import host, agentapi and sdk (for errors), never dispatch,
// pluginmgr, httpapi or any plugin.
package store
