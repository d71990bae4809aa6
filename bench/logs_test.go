package bench_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/bench"
	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/dispatch"
)

const (
	logsTotal = 64 << 20
	logsChunk = 256 << 10
)

// BenchmarkLogsStream measures the throughput of the Logs verb (dispatch ->
// pluginmgr handle -> pluginrpc -> the nop plugin streaming 64 MiB in
// 256 KiB chunks) against a bare go-plugin server stream of the same bytes
// and chunk size, one of each per iteration, alternating which goes first.
// Both run over AutoMTLS. Target (DESIGN.md section 9): logs/bare >= 0.8.
func BenchmarkLogsStream(b *testing.B) {
	dir := b.TempDir()
	d := mustStartNop(b, dir, map[string]string{"log_bytes": strconv.Itoa(logsTotal), "log_chunk": strconv.Itoa(logsChunk)})
	ping, kill := startBare(b, buildTo(b, dir, barePkg))
	defer kill()
	stream := ping.(bench.Streamer)
	ctx := context.Background()
	ws := &host.Workspace{ID: "00000000-0000-0000-0000-000000000001", Backend: "nop"}

	bare := func(recv func([]byte) error) error { return stream.Stream(ctx, logsTotal, logsChunk, recv) }
	logs := func(recv func([]byte) error) error { return d.Logs(ctx, ws, dispatch.LogsOptions{}, recv) }
	var bareLat, logsLat []time.Duration
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			bareLat = append(bareLat, mustTimeStream(b, "bare stream", bare))
			logsLat = append(logsLat, mustTimeStream(b, "logs", logs))
		} else {
			logsLat = append(logsLat, mustTimeStream(b, "logs", logs))
			bareLat = append(bareLat, mustTimeStream(b, "bare stream", bare))
		}
	}
	b.StopTimer()
	bareRate, logsRate := mibps(logsTotal, p50(bareLat)), mibps(logsTotal, p50(logsLat))
	b.ReportMetric(bareRate, "bare-MiB/s")
	b.ReportMetric(logsRate, "logs-MiB/s")
	b.ReportMetric(logsRate/bareRate, "logs/bare")
	if testing.Verbose() {
		fmt.Printf("logs stream %.0f MiB/s vs bare go-plugin stream %.0f MiB/s: ratio %.2f (target >= 0.8)\n",
			logsRate, bareRate, logsRate/bareRate)
	}
}

// mustTimeStream times one stream of logsTotal bytes, checking that every
// chunk but the last has logsChunk bytes and that all the bytes arrived.
func mustTimeStream(b *testing.B, what string, run func(recv func([]byte) error) error) time.Duration {
	b.Helper()
	n := 0
	recv := func(p []byte) error {
		if len(p) != logsChunk && n+len(p) != logsTotal {
			return fmt.Errorf("chunk of %d bytes at offset %d, want %d", len(p), n, logsChunk)
		}
		n += len(p)
		return nil
	}
	t0 := time.Now()
	if err := run(recv); err != nil {
		b.Fatalf("%s: %v", what, err)
	}
	d := time.Since(t0)
	if n != logsTotal {
		b.Fatalf("%s: got %d bytes, want %d", what, n, logsTotal)
	}
	return d
}

// mibps is the throughput of n bytes in d, in MiB/s.
func mibps(n int, d time.Duration) float64 { return float64(n) / (1 << 20) / d.Seconds() }
