// Package host holds Molecule Host's domain types: Workspace, Status and its
// transition table, Operation and Verb. It uses the standard library only;
// the subpackages adapt it to Postgres (store), plugins (dispatch,
// pluginmgr) and HTTP (httpapi).
package host
