package pluginrpc

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"google.golang.org/grpc"

	"github.com/molecule-ai/molecule-host/sdk"
)

// Reply size limits the client enforces, so a plugin cannot make the host
// buffer an arbitrarily large message (go-plugin's own limit is 2 GiB).
const (
	// MaxReply bounds a unary reply and one stream message (stream chunks
	// are at most 1 MiB of data).
	MaxReply = 4 << 20
	// MaxBatchReply bounds the replies that grow with the number of
	// workspaces or files: Status, ListManaged and ListFiles.
	MaxBatchReply = 64 << 20
)

// Error size limits, applied on both sides of the boundary: a backend's
// error is cut before it is sent, and again when the host receives it, so a
// huge error can neither exceed the reply limit nor be stored by the host.
const (
	// MaxErrorMessage bounds an error's Message and each field's Message,
	// in bytes; a longer one is cut and ends with a marker saying how much
	// was cut.
	MaxErrorMessage = 4 << 10
	// MaxErrorFields bounds the number of an error's Fields; past it, the
	// last one is replaced by a field saying how many were cut.
	MaxErrorFields = 32
	maxErrorOp     = 64
	maxFieldPath   = 256
)

// ErrReplyTooLarge is wrapped (errors.Is) by the client's KindInternal
// error when a plugin's reply exceeds the limit for its verb: a plugin
// fault, not to be retried.
var ErrReplyTooLarge = errors.New("plugin reply too large")

// DialOptions are the gRPC dial options a host passes to go-plugin
// (ClientConfig.GRPCDialOptions): they set the default reply limit to
// MaxReply. The client raises it per call for the batch verbs.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxReply))}
}

// replyLimit returns the call option bounding op's reply.
func replyLimit(op string) grpc.CallOption { return grpc.MaxCallRecvMsgSize(limitOf(op)) }

// limitOf is the reply limit of op in bytes.
func limitOf(op string) int {
	switch op {
	case "status", "list_managed", "list_files":
		return MaxBatchReply
	}
	return MaxReply
}

// tooLarge is the error for a reply over op's limit from backend name.
func tooLarge(name, op, cause string) *sdk.Error {
	who := "The backend plugin"
	if name != "" {
		who = fmt.Sprintf("Backend %q", name)
	}
	return &sdk.Error{Kind: sdk.KindInternal, Op: op,
		Message: fmt.Sprintf("%s sent a %s reply larger than the %d MiB limit; the host refused it.", who, op, limitOf(op)>>20),
		Err:     fmt.Errorf("%w: %s", ErrReplyTooLarge, cause)}
}

// truncate cuts s, on a rune boundary, to at most limit bytes including a
// marker saying how many bytes were cut. A cut string is not cut again.
func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	const markerRoom = 48 // " [... N bytes truncated]" for any int N
	cut := max(0, limit-markerRoom)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf(" [... %d bytes truncated]", len(s)-cut)
}

// capError returns e with its op, message and fields cut to the limits
// above; e itself is not changed. An error within the limits is returned
// as is.
func capError(e *sdk.Error) *sdk.Error {
	if len(e.Op) <= maxErrorOp && len(e.Message) <= MaxErrorMessage && len(e.Fields) <= MaxErrorFields && fieldsFit(e.Fields) {
		return e
	}
	out := *e
	out.Op = truncate(e.Op, maxErrorOp)
	out.Message = truncate(e.Message, MaxErrorMessage)
	n := len(e.Fields)
	if n > MaxErrorFields {
		n = MaxErrorFields - 1 // room for the marker field
	}
	out.Fields = make([]sdk.FieldError, 0, n+1)
	for _, f := range e.Fields[:n] {
		out.Fields = append(out.Fields, sdk.FieldError{Path: truncate(f.Path, maxFieldPath), Message: truncate(f.Message, MaxErrorMessage)})
	}
	if more := len(e.Fields) - n; more > 0 {
		out.Fields = append(out.Fields, sdk.FieldError{Path: "...", Message: fmt.Sprintf("%d more fields truncated", more)})
	}
	if len(out.Fields) == 0 {
		out.Fields = e.Fields // keep nil as nil
	}
	return &out
}

func fieldsFit(fs []sdk.FieldError) bool {
	for _, f := range fs {
		if len(f.Path) > maxFieldPath || len(f.Message) > MaxErrorMessage {
			return false
		}
	}
	return true
}

// isTooLarge reports whether a gRPC status message is the client's own
// refusal of an oversized reply.
func isTooLarge(msg string) bool {
	return strings.Contains(msg, "received message larger than max")
}
