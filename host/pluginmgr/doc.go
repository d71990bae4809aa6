// Package pluginmgr owns the host's backend plugin processes: it discovers
// the molecule-backend-* executables in the plugin directory, verifies each
// against the SHA-256 lock file before it ever runs, launches it with
// go-plugin (gRPC over AutoMTLS), reads and validates its manifest,
// configures it, and supervises it: a plugin that exits is relaunched with
// backoff (and verified again), and one that keeps crashing is marked
// unavailable, then tried again after a cool-down. Every launch is bounded
// in time, and the file molecule-backend-<name> may serve backend <name>
// only. Callers get an sdk.Backend handle that always talks to the
// current process and retries a call once across a restart.
//
// What runs is what was verified: the binary is opened once, checked (no
// one but root or the host's user may be able to change it, its directory
// or the lock file) and hashed, and that open file is executed. A plugin's
// environment is an allow list (pluginEnvAllow), never the host's secrets.
//
// It must not import host/httpapi, host/store or any plugins/... package;
// host/dispatch is its only intended caller besides cmd/molecule-host.
package pluginmgr
