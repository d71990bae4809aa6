package fake

import (
	"context"
	"time"

	"github.com/molecule-ai/molecule-host/sdk"
)

// followPoll is how often a following Logs call re-reads the record.
const followPoll = 100 * time.Millisecond

// Logs sends the workspace's recorded boot lines (the last TailLines when
// set) and, with Follow, the new ones until ctx ends or the record is
// removed. Returns KindNotFound for a workspace with no record.
func (b *Backend) Logs(ctx context.Context, req *sdk.LogsRequest, send func(*sdk.LogChunk) error) error {
	st, err := b.begin(ctx, "logs")
	if err != nil {
		return err
	}
	if err := checkID("logs", req.WorkspaceID); err != nil {
		return err
	}
	r, err := st.read(req.WorkspaceID)
	if err != nil {
		return sdk.Wrap(sdk.KindInternal, "logs", err, "The workspace record cannot be read.")
	}
	if r == nil {
		return sdk.Errorf(sdk.KindNotFound, "logs", "Workspace %s has no record in the fake backend.", req.WorkspaceID)
	}
	lines := r.Logs
	if req.TailLines > 0 && len(lines) > req.TailLines {
		lines = lines[len(lines)-req.TailLines:]
	}
	last, err := sendLines(lines, 0, send)
	if err != nil || !req.Follow {
		return err
	}
	t := time.NewTicker(followPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		r, err := st.read(req.WorkspaceID)
		if err != nil || r == nil {
			return nil // removed (or being rewritten badly): the stream ends
		}
		if last, err = sendLines(r.Logs, last, send); err != nil {
			return err
		}
	}
}

// sendLines sends the lines numbered after last and returns the new last.
func sendLines(lines []logLine, last int64, send func(*sdk.LogChunk) error) (int64, error) {
	for _, l := range lines {
		if l.Seq <= last {
			continue
		}
		if err := send(&sdk.LogChunk{Data: []byte(l.Text + "\n"), Stream: "console", Time: l.Time}); err != nil {
			return last, err
		}
		last = l.Seq
	}
	return last, nil
}
