// Package cp is the control-plane backend (plugin binary
// molecule-backend-cp): it runs each workspace as an EC2-like instance of a
// control plane speaking the HTTP API of docs/cp-api.md, and delivers the
// workspace's environment and config asynchronously as user data.
//
// The backend is stateless: the instance id lives in the workspace's
// BackendState. Every HTTP status is checked; transport errors, 429 and 5xx
// are retried with exponential backoff and jitter; answers map to sdk error
// kinds. It imports sdk and agentapi only, never host/... or another plugin
// (plugins/cp/cplocal is reached over HTTP, never imported).
package cp
