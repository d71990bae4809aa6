package docker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/molecule-ai/molecule-host/sdk"
)

// mapErr turns a Docker client error into an *sdk.Error: an unreachable
// daemon or a call past its deadline is KindTransient naming the daemon's
// address; Docker's not-found, conflict and invalid-argument errors keep
// their meaning; anything else is KindInternal. ctx is the call's context.
func (s *settings) mapErr(ctx context.Context, op, what string, err error) error {
	if err == nil {
		return nil
	}
	var se *sdk.Error
	if errors.As(err, &se) {
		return err
	}
	switch {
	case unreachable(err) || ctx.Err() != nil:
		return &sdk.Error{Kind: sdk.KindTransient, Op: op, Err: err,
			Message: fmt.Sprintf("Docker daemon at %s is unreachable: %s", s.host, firstLine(err))}
	case cerrdefs.IsNotFound(err):
		return &sdk.Error{Kind: sdk.KindNotFound, Op: op, Err: err, Message: fmt.Sprintf("%s: %s", what, firstLine(err))}
	case cerrdefs.IsConflict(err):
		return &sdk.Error{Kind: sdk.KindConflict, Op: op, Err: err, Message: fmt.Sprintf("%s: %s", what, firstLine(err))}
	case cerrdefs.IsInvalidArgument(err):
		return &sdk.Error{Kind: sdk.KindInvalid, Op: op, Err: err, Message: fmt.Sprintf("%s: %s", what, firstLine(err))}
	case cerrdefs.IsUnavailable(err):
		return &sdk.Error{Kind: sdk.KindTransient, Op: op, Err: err, Message: fmt.Sprintf("%s: %s", what, firstLine(err))}
	}
	return &sdk.Error{Kind: sdk.KindInternal, Op: op, Err: err, Message: fmt.Sprintf("%s failed: %s", what, firstLine(err))}
}

func unreachable(err error) bool {
	var ne net.Error
	return client.IsErrConnectionFailed(err) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &ne)
}

// firstLine is the first line of err's message without the client's
// "Error response from daemon: " prefix, which tells a user nothing.
func firstLine(err error) string {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return strings.TrimPrefix(msg, "Error response from daemon: ")
}

// imageMissing is the error of a start whose image the engine lacks, said
// so that the operator knows what to do.
func imageMissing(image string, err error) error {
	return &sdk.Error{Kind: sdk.KindNotFound, Op: "start", Err: err, Message: fmt.Sprintf(
		"image %s is not on this Docker engine; build it (make image) or set --runtime-images", image)}
}

func isNotFound(err error) bool { return sdk.IsKind(err, sdk.KindNotFound) }
