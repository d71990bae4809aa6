package bench_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/dispatch"
	"github.com/molecule-ai/molecule-host/sdk"
)

const sweepSize = 10000

// BenchmarkStatusSweep10k measures one dispatch.Status call for 10,000
// workspaces of the nop backend through pluginmgr and pluginrpc, against a
// bare go-plugin unary call carrying as many bytes as the 10,000 ids, the
// two interleaved in one loop. The nop plugin numbers its Status calls, so
// the benchmark proves each sweep took exactly one plugin call. Targets
// (DESIGN.md section 9): one batched call per backend, under 1 s.
func BenchmarkStatusSweep10k(b *testing.B) {
	dir := b.TempDir()
	d := mustStartNop(b, dir, nil)
	ping, kill := startBare(b, buildTo(b, dir, barePkg))
	defer kill()
	ctx := context.Background()
	wss := make([]*host.Workspace, sweepSize)
	for i := range wss {
		wss[i] = &host.Workspace{ID: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i), Backend: "nop"}
	}
	payload := make([]byte, sweepSize*len(wss[0].ID))
	prev := mustSweep(b, ctx, d, wss) // warm up; its call number is the base

	var bareLat, sweepLat []time.Duration
	maxCalls := 0
	for b.Loop() {
		t0 := time.Now()
		out, err := ping.Ping(ctx, payload)
		if err != nil || len(out) != len(payload) {
			b.Fatalf("bare ping of %d bytes: got %d bytes, %v", len(payload), len(out), err)
		}
		t1 := time.Now()
		call := mustSweep(b, ctx, d, wss)
		t2 := time.Now()
		bareLat, sweepLat = append(bareLat, t1.Sub(t0)), append(sweepLat, t2.Sub(t1))
		maxCalls, prev = max(maxCalls, call-prev), call
	}
	b.StopTimer()
	if maxCalls != 1 {
		b.Fatalf("a sweep of %d workspaces took %d plugin calls, want 1", sweepSize, maxCalls)
	}
	pb, ps := p50(bareLat), p50(sweepLat)
	b.ReportMetric(ms(ps), "sweep-p50-ms")
	b.ReportMetric(ms(pb), "bare-p50-ms")
	b.ReportMetric(float64(ps)/float64(pb), "sweep/bare-p50")
	b.ReportMetric(float64(maxCalls), "calls/sweep")
	if testing.Verbose() {
		fmt.Printf("status sweep of %d: p50 %v (target < 1s), %d plugin call(s) per sweep; bare call of %d B p50 %v\n",
			sweepSize, ps, maxCalls, len(payload), pb)
	}
}

// mustSweep runs one status sweep, checks that every workspace is reported
// running by one and the same plugin call that saw the whole batch, and
// returns that call's number.
func mustSweep(b *testing.B, ctx context.Context, d *dispatch.Dispatcher, wss []*host.Workspace) int {
	out, err := d.Status(ctx, wss)
	if err != nil {
		b.Fatalf("status sweep: %v", err)
	}
	if len(out) != len(wss) {
		b.Fatalf("status sweep answered %d workspaces, want %d", len(out), len(wss))
	}
	detail := out[wss[0].ID].Detail
	for _, ws := range wss {
		if rs := out[ws.ID]; rs.State != sdk.RunStateRunning || rs.Detail != detail {
			b.Fatalf("workspace %s: %s %q, want running %q (one call for the whole sweep)", ws.ID, rs.State, rs.Detail, detail)
		}
	}
	var call, batch int
	if _, err := fmt.Sscanf(detail, "call=%d batch=%d", &call, &batch); err != nil || batch != len(wss) {
		b.Fatalf("nop backend detail %q: want call=<n> batch=%d (%v)", detail, len(wss), err)
	}
	return call
}
