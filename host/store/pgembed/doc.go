// Package pgembed runs a PostgreSQL cluster from the machine's PostgreSQL
// install as a child process: initdb on first start, then `postgres` in the
// foreground on a unix socket only, dropping to the `postgres` user when
// run as root. The host uses it when no database URL is configured; tests
// use it (through storetest) for throwaway clusters.
//
// It uses the standard library and pgx only and must not import host or
// any other package of this module.
package pgembed
