// Package bench holds the benchmarks behind the design's targets. Each
// measures Molecule Host side by side with a baseline in the same run and
// reports the ratio, because absolute numbers on a shared 2-core machine
// move by a third from run to run. `make bench` runs them.
package bench
