package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// RuntimeFile is the config file that names the runtime:
// {"runtime":"echo"}. It overrides $MOLECULE_RUNTIME.
const RuntimeFile = "runtime.json"

// RuntimeEcho is the built-in runtime; "" and "default" mean it too.
const RuntimeEcho = "echo"

// ErrUnknownRuntime is wrapped by StartRuntime's error when the config names
// a runtime this agent does not have.
var ErrUnknownRuntime = errors.New("unknown runtime")

// ErrBadMessage is wrapped by Runtime.Send's error when the message has no
// text to act on.
var ErrBadMessage = errors.New("bad message")

// Runtime is what answers the workspace's A2A messages.
type Runtime interface {
	// Name is the runtime's name, e.g. "echo".
	Name() string
	// Send handles one message and returns the reply. The reply and the
	// message share a ContextID, generated when the message has none.
	Send(ctx context.Context, msg Message) (Message, error)
	// History returns the messages of one context, oldest first.
	History(contextID string) []Message
}

// Message is an A2A message (trimmed to what the agent uses).
type Message struct {
	Kind      string `json:"kind"`
	Role      string `json:"role"`
	Parts     []Part `json:"parts"`
	MessageID string `json:"messageId,omitempty"`
	ContextID string `json:"contextId,omitempty"`
}

// Part is one part of a message; only text parts are understood.
type Part struct {
	Kind string `json:"kind"`
	Text string `json:"text,omitempty"`
}

// Text returns the concatenated text of m's text parts.
func (m Message) Text() string {
	var b strings.Builder
	for _, p := range m.Parts {
		if p.Kind == "text" || p.Kind == "" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// RuntimeName returns the runtime the config files name in runtime.json, or
// env when there is none. It fails when runtime.json is malformed.
func RuntimeName(files map[string][]byte, env string) (string, error) {
	raw, ok := files[RuntimeFile]
	if !ok {
		return env, nil
	}
	var rf struct {
		Runtime string `json:"runtime"`
	}
	if err := json.Unmarshal(raw, &rf); err != nil {
		return "", fmt.Errorf("%s is not valid JSON such as {\"runtime\":\"echo\"}: %w", RuntimeFile, err)
	}
	return rf.Runtime, nil
}

// StartRuntime starts the runtime called name. An unknown name returns an
// error wrapping ErrUnknownRuntime.
func StartRuntime(name string) (Runtime, error) {
	switch name {
	case "", "default", RuntimeEcho:
		return &echoRuntime{history: map[string][]Message{}}, nil
	}
	return nil, fmt.Errorf("%w %q: this agent has only %q", ErrUnknownRuntime, name, RuntimeEcho)
}

// echoRuntime replies with the text it was sent and keeps every context's
// history in memory.
type echoRuntime struct {
	mu      sync.Mutex
	history map[string][]Message
}

func (r *echoRuntime) Name() string { return RuntimeEcho }

func (r *echoRuntime) Send(ctx context.Context, msg Message) (Message, error) {
	if err := ctx.Err(); err != nil {
		return Message{}, err
	}
	if len(msg.Parts) == 0 {
		return Message{}, fmt.Errorf("%w: message has no parts", ErrBadMessage)
	}
	if msg.ContextID == "" {
		msg.ContextID = newID()
	}
	if msg.MessageID == "" {
		msg.MessageID = newID()
	}
	msg.Kind, msg.Role = "message", "user"
	reply := Message{
		Kind:      "message",
		Role:      "agent",
		Parts:     []Part{{Kind: "text", Text: msg.Text()}},
		MessageID: newID(),
		ContextID: msg.ContextID,
	}
	r.mu.Lock()
	r.history[msg.ContextID] = append(r.history[msg.ContextID], msg, reply)
	r.mu.Unlock()
	return reply, nil
}

func (r *echoRuntime) History(contextID string) []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Message{}, r.history[contextID]...)
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
