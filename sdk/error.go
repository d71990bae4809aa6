package sdk

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error so that every layer (gRPC, HTTP, the dispatcher's
// retry rule) treats it the same way. Kinds are append-only on the wire.
type Kind uint8

// Error kinds. The zero value is KindInternal, so an error whose kind was
// never set is treated as a bug, not as something to retry.
const (
	KindInternal    Kind = iota // a bug or an unexpected failure; not retried
	KindInvalid                 // the request is malformed; Fields say where
	KindNotFound                // the thing named does not exist
	KindConflict                // the request conflicts with current state (incl. "backend not configured")
	KindUnsupported             // the backend does not implement this
	KindQuota                   // a limit was reached
	KindTransient               // try again later; the dispatcher retries with backoff
)

// ErrPluginUnavailable is wrapped (errors.Is) by the error a host's plugin
// client (sdk/pluginrpc) returns when the plugin process could not be
// reached or exited during the call. Backends never return it.
var ErrPluginUnavailable = errors.New("plugin unavailable")

var kindNames = [...]string{"internal", "invalid", "not_found", "conflict", "unsupported", "quota", "transient"}

// String returns the kind's stable wire name, e.g. "not_found".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ParseKind returns the kind named s, or KindInternal if s names none.
func ParseKind(s string) Kind {
	for i, n := range kindNames {
		if n == s {
			return Kind(i)
		}
	}
	return KindInternal
}

// Error is the one error type that crosses the plugin boundary. Message is a
// sentence safe to show users; Err, when set, is the underlying cause, kept
// for logs and never sent over the wire.
type Error struct {
	Kind    Kind
	Op      string // the verb or operation that failed, e.g. "start"
	Message string
	Fields  []FieldError
	Err     error
}

// FieldError names one offending field of a request or configuration by
// its path ("config.network", "tier").
type FieldError struct {
	Path    string
	Message string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(e.Kind.String())
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s: %s", f.Path, f.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of the given kind whose Message is formatted.
func Errorf(kind Kind, op, format string, args ...any) *Error {
	return &Error{Kind: kind, Op: op, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error of the given kind carrying err as its cause. If err
// already is an *Error, it is returned unchanged so the innermost kind wins.
func Wrap(kind Kind, op string, err error, message string) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Kind: kind, Op: op, Message: message, Err: err}
}

// KindOf returns the kind of err: the Kind of the first *Error in its chain,
// or KindInternal for any other non-nil error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// IsKind reports whether err carries kind k.
func IsKind(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// NotConfiguredMessage is the message every verb returns before Configure.
const NotConfiguredMessage = "backend not configured"

// NotConfigured returns the KindConflict error a Backend returns from any
// verb called before Configure has succeeded.
func NotConfigured(op string) *Error {
	return &Error{Kind: KindConflict, Op: op, Message: NotConfiguredMessage}
}

// Invalid returns a KindInvalid error listing the offending fields.
func Invalid(op, message string, fields ...FieldError) *Error {
	return &Error{Kind: KindInvalid, Op: op, Message: message, Fields: fields}
}
