// Package bench holds the benchmarks behind the design's targets. Each
// measures Molecule Host side by side with a baseline in the same run and
// reports the ratio, because absolute numbers on a shared 2-core machine
// move by a third from run to run. `make bench` runs them.
//
// The baselines are a bare go-plugin plugin (testdata/bareplugin: one
// unary and one server-streaming method, see bare.go) and, for Docker,
// `docker run` of the workspace image; Molecule's side runs the nop backend
// (testdata/molecule-backend-nop) through host/pluginmgr and host/dispatch,
// or a real molecule-host with the Docker backend. The Docker benchmark
// needs a reachable Docker engine and fails when there is none.
//
// bench is imported by its own test plugins only; it imports nothing of
// the host.
package bench
