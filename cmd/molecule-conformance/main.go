// Command molecule-conformance runs the backend conformance suite against
// plugin binaries (run), renders the parity matrix from the results
// (matrix) and checks that a committed matrix is current (check).
//
// It wires the conformance package to the host's dispatch table; it is the
// only place in the suite that imports host/... code.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"syscall"
	"time"

	"github.com/molecule-ai/molecule-host/conformance"
	"github.com/molecule-ai/molecule-host/host/dispatch"
)

const usage = `usage:
  molecule-conformance run --plugin PATH [--plugin PATH ...] [--run REGEX] [--backend-config FILE]
                           [--out DIR] [--host PATH] [--timeout D] [--image IMAGE]
  molecule-conformance matrix --results DIR --out FILE
  molecule-conformance check --results DIR --file FILE
`

// Exit codes: a failed declared scenario or leak is 1; bad usage or a
// backend that could not be tested at all is 2.
const (
	exitFail  = 1
	exitUsage = 2
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(exitUsage)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var code int
	switch os.Args[1] {
	case "run":
		code = runCmd(ctx, os.Args[2:], os.Stdout, os.Stderr)
	case "matrix":
		code = matrixCmd(os.Args[2:], os.Stderr)
	case "check":
		code = checkCmd(os.Args[2:], os.Stderr)
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n%s", os.Args[1], usage)
		code = exitUsage
	}
	stop()
	os.Exit(code)
}

// multiFlag collects a repeated flag.
type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var plugins multiFlag
	fs.Var(&plugins, "plugin", "plugin binary to test (molecule-backend-*); repeat for several")
	filter := fs.String("run", "", "regular expression selecting scenario ids")
	bcFile := fs.String("backend-config", "", `JSON file {"<backend>":{"key":"value"}}; "${CONFORMANCE_TMP}" expands to the run's temp dir`)
	out := fs.String("out", "conformance-results", "directory for <backend>.json, <backend>.xml and logs")
	hostBin := fs.String("host", "", "molecule-host binary (default: next to this executable)")
	timeout := fs.Duration("timeout", 3*time.Minute, "time limit per scenario")
	image := fs.String("image", "molecule-workspace:dev", "workspace image for the default runtime")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	cfg, err := runConfig(plugins, *filter, *bcFile, *out, *hostBin, *timeout, *image)
	if err != nil {
		fmt.Fprintln(stderr, "molecule-conformance run:", err)
		return exitUsage
	}
	cfg.Progress = stdout
	results, err := conformance.Run(ctx, cfg)
	code := 0
	for _, r := range results {
		if r.Failed() {
			fmt.Fprintf(stdout, "%s: FAIL (a declared scenario failed or the leak check found something)\n", r.Backend.Name)
			code = exitFail
		} else {
			fmt.Fprintf(stdout, "%s: ok\n", r.Backend.Name)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "molecule-conformance run:", err)
		code = exitUsage
	}
	fmt.Fprintf(stdout, "results in %s\n", cfg.OutDir)
	return code
}

func runConfig(plugins []string, filter, bcFile, out, hostBin string, timeout time.Duration, image string) (conformance.Config, error) {
	cfg := conformance.Config{Plugins: plugins, OutDir: out, Timeout: timeout, Image: image}
	if len(plugins) == 0 {
		return cfg, errors.New("--plugin is required")
	}
	for i, p := range plugins {
		abs, err := filepath.Abs(p)
		if err != nil {
			return cfg, err
		}
		if _, err := os.Stat(abs); err != nil {
			return cfg, fmt.Errorf("--plugin %s: %w", p, err)
		}
		cfg.Plugins[i] = abs
	}
	if filter != "" {
		re, err := regexp.Compile(filter)
		if err != nil {
			return cfg, fmt.Errorf("--run: %w", err)
		}
		cfg.Filter = re
	}
	if bcFile != "" {
		b, err := os.ReadFile(bcFile)
		if err != nil {
			return cfg, fmt.Errorf("--backend-config: %w", err)
		}
		if err := json.Unmarshal(b, &cfg.BackendConfig); err != nil {
			return cfg, fmt.Errorf("--backend-config %s: %w (want {\"backend\":{\"key\":\"value\"}})", bcFile, err)
		}
	}
	h, err := hostBinary(hostBin)
	if err != nil {
		return cfg, err
	}
	cfg.HostBinary = h
	return cfg, nil
}

// hostBinary resolves --host, defaulting to molecule-host next to this
// executable.
func hostBinary(flagValue string) (string, error) {
	p := flagValue
	if p == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("find molecule-host: %w (use --host)", err)
		}
		p = filepath.Join(filepath.Dir(exe), "molecule-host")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(abs); err != nil {
		return "", fmt.Errorf("molecule-host binary: %w (use --host PATH)", err)
	}
	return abs, nil
}

func matrixCmd(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("matrix", flag.ContinueOnError)
	fs.SetOutput(stderr)
	results := fs.String("results", "conformance-results", "directory of <backend>.json results")
	out := fs.String("out", "docs/backends.md", "file to write")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	b, err := render(*results)
	if err == nil {
		err = os.WriteFile(*out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(stderr, "molecule-conformance matrix:", err)
		return exitUsage
	}
	return 0
}

func checkCmd(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	results := fs.String("results", "conformance-results", "directory of <backend>.json results")
	file := fs.String("file", "docs/backends.md", "committed matrix to compare")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	b, err := render(*results)
	if err != nil {
		fmt.Fprintln(stderr, "molecule-conformance check:", err)
		return exitUsage
	}
	committed, err := os.ReadFile(*file)
	if err != nil {
		fmt.Fprintln(stderr, "molecule-conformance check:", err)
		return exitUsage
	}
	if err := conformance.Check(committed, b); err != nil {
		fmt.Fprintf(stderr, "molecule-conformance check: %s: %v\n", *file, err)
		return exitFail
	}
	return 0
}

// render reads the results and renders the matrix with the host's dispatch
// table.
func render(dir string) ([]byte, error) {
	results, err := conformance.ReadResultsDir(dir)
	if err != nil {
		return nil, err
	}
	var rows []conformance.DispatchRow
	for _, d := range dispatch.Table() {
		rows = append(rows, conformance.DispatchRow{Verb: d.Verb, Dispatcher: d.Dispatcher, Fallback: d.Fallback, Retry: d.Retry})
	}
	return conformance.Matrix{Results: results, Dispatch: rows}.Render()
}
