package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/molecule-ai/molecule-host/sdk"
)

// run runs the selected scenarios, then the leak check.
func (br *backendRun) run(ctx context.Context) *Results {
	res := &Results{Schema: Schema, Backend: BackendInfoOf(br.manifest), StartedAt: time.Now().UTC()}
	var selected []Scenario
	for _, s := range Scenarios() {
		if br.cfg.Filter == nil || br.cfg.Filter.MatchString(s.ID) {
			selected = append(selected, s)
		}
	}
	if err := br.prepare(ctx, selected); err != nil {
		// nothing can run: every selected scenario the backend declares fails
		for _, s := range selected {
			r := br.record(s, time.Now(), nil, "")
			if skipReason(s, br.manifest) == "" {
				r.Outcome, r.Error = OutcomeFail, "setup: "+err.Error()
			}
			res.Scenarios = append(res.Scenarios, r)
		}
		return res
	}
	for _, s := range selected {
		res.Scenarios = append(res.Scenarios, br.runOne(ctx, s))
	}
	res.Leaks = br.leaks(ctx)
	for _, l := range res.Leaks {
		fmt.Fprintf(br.cfg.Progress, "%-10s LEAK %s %s %v\n", br.manifest.Name, l.WorkspaceID, l.State, l.Resources)
	}
	return res
}

// prepare starts the host when a selected scenario needs one, then
// configures the direct plugin. The host goes first so that its plugin
// instance is the substrate's primary (a backend may let only one instance
// run agents) and the suite's instance observes.
func (br *backendRun) prepare(ctx context.Context, selected []Scenario) error {
	needHost := false
	for _, s := range selected {
		needHost = needHost || (!s.Direct && skipReason(s, br.manifest) == "")
	}
	if needHost {
		if err := br.startHost(ctx); err != nil {
			return err
		}
	}
	if _, err := br.plugin.Configure(ctx, &sdk.ConfigureRequest{Config: br.config}); err != nil {
		return fmt.Errorf("configure the plugin with the backend config: %w", err)
	}
	return nil
}

func (br *backendRun) startHost(ctx context.Context) error {
	if br.cfg.HostBinary == "" {
		return fmt.Errorf("no molecule-host binary (use --host)")
	}
	if err := lockPlugins(ctx, br.cfg.HostBinary, filepath.Dir(br.binary)); err != nil {
		return err
	}
	bc, err := json.Marshal(map[string]map[string]string{br.manifest.Name: br.config})
	if err != nil {
		return err
	}
	bcPath := filepath.Join(br.work, "backend-config.json")
	if err := os.WriteFile(bcPath, bc, 0o600); err != nil {
		return err
	}
	token := randomID()
	h, err := startHost(ctx, hostEnv{
		Binary: br.cfg.HostBinary, DataDir: br.dataDir, PluginDir: filepath.Dir(br.binary),
		BackendConfig: bcPath, Image: br.cfg.Image, Token: token,
		LogPath:   filepath.Join(br.cfg.OutDir, br.manifest.Name+"-host.log"),
		ReadyFile: filepath.Join(br.work, "host-ready.json"),
	})
	if err != nil {
		return err
	}
	br.host = h
	br.stops = append(br.stops, func() {
		if err := h.stop(); err != nil {
			br.logger.Error("stop host", "error", err)
		}
	})
	br.client = &Client{BaseURL: h.url, Token: token}
	return br.client.Healthz(ctx)
}

// runOne runs one scenario with its timeout and cleanup stack. Both are
// bounded even when the plugin ignores cancellation: a scenario that has
// not returned shortly after its timeout fails, naming the plugin verb it
// hung in, and the run moves on; its cleanup gets at most the scenario
// timeout (and never more than maxCleanup).
func (br *backendRun) runOne(ctx context.Context, s Scenario) ScenarioResult {
	start := time.Now()
	if why := skipReason(s, br.manifest); why != "" {
		r := br.record(s, start, nil, why)
		br.progress(r)
		return r
	}
	sctx, cancel := context.WithTimeout(ctx, br.cfg.Timeout)
	h := newHangs(sctx)
	t := &T{Backend: br.manifest.Name, Manifest: br.manifest, Plugin: watched{br.plugin, h}, Config: br.config,
		Image: br.cfg.Image, created: br.created, launch: br.launchFresh, hangs: h}
	if !s.Direct {
		t.Host = br.client
	}
	err := within(sctx, func() error { return safeRun(sctx, s, t) })
	if cutOff(sctx) && ctx.Err() == nil && err != nil {
		err = h.timedOut("scenario", br.cfg.Timeout, err)
	}
	cancel()
	limit := min(br.cfg.Timeout, maxCleanup)
	cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), limit)
	h.phase(cctx)
	cerr := within(cctx, func() error { return t.runCleanups(cctx) })
	if cutOff(cctx) && cerr != nil {
		cerr = h.timedOut("cleanup", limit, cerr)
	}
	if cerr != nil {
		err = joinErr(err, cerr)
	}
	ccancel()
	if logs := t.logLines(); err != nil && len(logs) > 0 {
		err = fmt.Errorf("%w\n%s", err, strings.Join(logs, "\n"))
	}
	r := br.record(s, start, err, "")
	br.progress(r)
	return r
}

func safeRun(ctx context.Context, s Scenario, t *T) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("scenario panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return s.Run(ctx, t)
}

func joinErr(err, cerr error) error {
	if err == nil {
		return cerr
	}
	return fmt.Errorf("%w; %v", err, cerr)
}

func (br *backendRun) record(s Scenario, start time.Time, err error, skip string) ScenarioResult {
	r := ScenarioResult{ID: s.ID, Area: s.Area, Title: s.Title, Feature: s.Feature,
		Outcome: OutcomePass, DurationMS: time.Since(start).Milliseconds()}
	switch {
	case skip != "":
		r.Outcome, r.Error, r.DurationMS = OutcomeSkip, skip, 0
	case err != nil:
		r.Outcome, r.Error = OutcomeFail, err.Error()
	}
	return r
}

func (br *backendRun) progress(r ScenarioResult) {
	line := fmt.Sprintf("%-10s %-28s %-17s %6.2fs", br.manifest.Name, r.ID, r.Outcome, float64(r.DurationMS)/1000)
	if r.Outcome == OutcomeFail {
		line += "  " + firstLine(r.Error)
	}
	fmt.Fprintln(br.cfg.Progress, line)
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// launchFresh launches another, unconfigured process of the plugin sharing
// the substrate's data dir.
func (br *backendRun) launchFresh(ctx context.Context) (sdk.Backend, func(), error) {
	return launchPlugin(ctx, br.binary, br.plugData, br.logger)
}

// leaks lists what the backend still holds for workspaces this run created.
func (br *backendRun) leaks(ctx context.Context) []Leak {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	lm, err := br.plugin.ListManaged(ctx, &sdk.ListManagedRequest{})
	if err != nil {
		return []Leak{{WorkspaceID: "*", State: "unknown", Resources: []string{"list managed failed: " + err.Error()}}}
	}
	var out []Leak
	for _, m := range lm.Workspaces {
		if br.created.has(m.WorkspaceID) {
			out = append(out, Leak{WorkspaceID: m.WorkspaceID, State: string(m.State), Resources: m.Resources})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].WorkspaceID < out[j].WorkspaceID })
	return out
}

func (br *backendRun) close() {
	for i := len(br.stops) - 1; i >= 0; i-- {
		br.stops[i]()
	}
	br.stops = nil
}

// expandConfig copies cfg with TmpPlaceholder replaced by dir.
func expandConfig(cfg map[string]string, dir string) map[string]string {
	out := make(map[string]string, len(cfg))
	for k, v := range cfg {
		out[k] = strings.ReplaceAll(v, TmpPlaceholder, dir)
	}
	return out
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("plugin binary: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy plugin binary: %w", err)
	}
	return out.Close()
}
