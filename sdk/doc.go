// Package sdk is the published contract between Molecule Host and its backend
// plugins: the Backend interface and its optional verb interfaces, one
// Request/Response pair per verb, the Manifest a plugin declares itself with,
// and the one error type that crosses the plugin boundary.
//
// A backend implements only the few verbs that touch its substrate; every
// user-visible feature is composed by the host from those verbs. The plugin
// glue in sdk/pluginrpc derives the manifest's capabilities from the
// interfaces a Backend implements, so a plugin cannot claim a verb its code
// lacks.
//
// The package uses the standard library only and must never import
// host/..., plugins/... or conformance.
package sdk
