package pluginrpc

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/molecule-ai/molecule-host/sdk"
	pb "github.com/molecule-ai/molecule-host/sdk/internal/backendv1"
)

// ErrPluginUnavailable is wrapped (errors.Is) by the client's error when the
// plugin process cannot be reached (exited, crashed, connection lost): the
// *sdk.Error has KindTransient and Err = ErrPluginUnavailable, so a host can
// restart the plugin and retry once. It is sdk.ErrPluginUnavailable, so a
// host package that may not import this one can test for it.
var ErrPluginUnavailable = sdk.ErrPluginUnavailable

// kindCodes is the kind -> gRPC code column of the table in DESIGN.md §6.
var kindCodes = map[sdk.Kind]codes.Code{
	sdk.KindInvalid:     codes.InvalidArgument,
	sdk.KindNotFound:    codes.NotFound,
	sdk.KindConflict:    codes.FailedPrecondition,
	sdk.KindUnsupported: codes.Unimplemented,
	sdk.KindQuota:       codes.ResourceExhausted,
	sdk.KindTransient:   codes.Unavailable,
	sdk.KindInternal:    codes.Internal,
}

// toStatus turns a backend's error into a gRPC status error carrying an
// ErrorDetail. A context error becomes the matching bare code; any error that
// is not an *sdk.Error becomes KindInternal with the verb as its op. The
// error is cut to the error size limits (capError).
func toStatus(op string, err error) error {
	if err == nil {
		return nil
	}
	var se *sdk.Error
	if !errors.As(err, &se) {
		switch {
		case errors.Is(err, context.Canceled):
			return status.Error(codes.Canceled, err.Error())
		case errors.Is(err, context.DeadlineExceeded):
			return status.Error(codes.DeadlineExceeded, err.Error())
		}
		se = &sdk.Error{Kind: sdk.KindInternal, Op: op, Message: err.Error()}
	}
	se = capError(se)
	code, ok := kindCodes[se.Kind]
	if !ok {
		code = codes.Unknown
	}
	st, derr := status.New(code, truncate(se.Error(), MaxErrorMessage)).WithDetails(errorDetail(se))
	if derr != nil {
		return status.Error(codes.Internal, fmt.Sprintf("%s: attach error detail: %v", se.Error(), derr))
	}
	return st.Err()
}

func errorDetail(e *sdk.Error) *pb.ErrorDetail {
	d := &pb.ErrorDetail{Kind: e.Kind.String(), Op: e.Op, Message: e.Message}
	for _, f := range e.Fields {
		d.Fields = append(d.Fields, &pb.FieldError{Path: f.Path, Message: f.Message})
	}
	return d
}

// fromStatus rebuilds the *sdk.Error a plugin returned from a gRPC error,
// following the client rules of the pluginrpc contract: the ErrorDetail
// when present, cut to the error size limits; otherwise a local context
// error wraps ctx.Err(), a lost connection is KindTransient wrapping
// ErrPluginUnavailable, a reply over op's size limit is KindInternal
// wrapping ErrReplyTooLarge and naming backend name (when known), and
// anything else is KindInternal.
func fromStatus(ctx context.Context, name, op string, err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if ok {
		for _, d := range st.Details() {
			if ed, ok := d.(*pb.ErrorDetail); ok {
				return capError(fromDetail(ed))
			}
		}
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return &sdk.Error{Kind: sdk.KindTransient, Op: op, Message: "The call was canceled or timed out.", Err: ctxErr}
	}
	msg := truncate(st.Message(), MaxErrorMessage)
	switch st.Code() {
	case codes.Unavailable, codes.Canceled:
		// Canceled without a local cancel means the client connection is closing.
		return &sdk.Error{Kind: sdk.KindTransient, Op: op, Message: "The backend plugin is unavailable: " + msg, Err: ErrPluginUnavailable}
	case codes.DeadlineExceeded:
		return &sdk.Error{Kind: sdk.KindTransient, Op: op, Message: msg, Err: context.DeadlineExceeded}
	case codes.ResourceExhausted:
		if isTooLarge(msg) {
			return tooLarge(name, op, msg)
		}
	}
	return &sdk.Error{Kind: sdk.KindInternal, Op: op, Message: msg, Err: errors.New(msg)}
}

func fromDetail(d *pb.ErrorDetail) *sdk.Error {
	e := &sdk.Error{Kind: sdk.ParseKind(d.GetKind()), Op: d.GetOp(), Message: d.GetMessage()}
	for _, f := range d.GetFields() {
		e.Fields = append(e.Fields, sdk.FieldError{Path: f.GetPath(), Message: f.GetMessage()})
	}
	return e
}

// unsupported is the error for an optional verb the backend lacks.
func unsupported(name, op, verb string) error {
	return &sdk.Error{Kind: sdk.KindUnsupported, Op: op, Message: fmt.Sprintf("backend %q does not implement %s", name, verb)}
}
