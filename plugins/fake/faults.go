package fake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/molecule-ai/molecule-host/sdk"
)

// Fault actions.
const (
	actionFail  = "fail"
	actionHang  = "hang"
	actionCrash = "crash"
	actionSlow  = "slow"
	actionPanic = "panic"
)

// crashExitCode is the exit status of an injected crash.
const crashExitCode = 3

// faultRule is one entry of the fault file. Count > 0 fires that many more
// times, -1 forever, 0 never.
type faultRule struct {
	Verb    string `json:"verb"`
	Action  string `json:"action"`
	Kind    string `json:"kind,omitempty"`
	Message string `json:"message,omitempty"`
	Delay   string `json:"delay,omitempty"`
	Count   int    `json:"count"`
}

// exit is os.Exit; a variable only so the crash path reads plainly.
var exit = os.Exit

// injectFault re-reads the fault file and acts on the first live rule for
// op. A rule's count is decremented and the file rewritten before the
// fault acts, so a "crash once" rule survives the crash. A missing file
// means no faults; an unreadable one is a KindInvalid error naming it.
func injectFault(ctx context.Context, path, op string, log hclog.Logger) error {
	rule, err := takeFault(path, op)
	if err != nil || rule == nil {
		return err
	}
	log.Info("injecting fault", "verb", op, "action", rule.Action)
	switch rule.Action {
	case actionCrash:
		exit(crashExitCode)
		return nil
	case actionPanic:
		panic(fmt.Sprintf("injected %s panic", op))
	case actionHang:
		<-ctx.Done()
		return ctx.Err()
	case actionSlow:
		d, _ := time.ParseDuration(rule.Delay) // checked by takeFault
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	default: // actionFail
		msg := rule.Message
		if msg == "" {
			msg = fmt.Sprintf("Injected %s fault.", op)
		}
		return &sdk.Error{Kind: sdk.ParseKind(rule.Kind), Op: op, Message: msg}
	}
}

// takeFault returns the first live rule for op, after decrementing its
// count on disk, under a lock shared with other instances.
func takeFault(path, op string) (*faultRule, error) {
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return nil, sdk.Wrap(sdk.KindInternal, op, err, "The fault file cannot be locked.")
	}
	defer unlock()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, faultFileErr(op, path, err)
	}
	var rules []faultRule
	if err := json.Unmarshal(data, &rules); err != nil {
		return nil, faultFileErr(op, path, err)
	}
	for i := range rules {
		r := &rules[i]
		if r.Verb != op || r.Count == 0 {
			continue
		}
		if err := checkRule(r); err != nil {
			return nil, faultFileErr(op, path, fmt.Errorf("rule %d: %w", i, err))
		}
		if r.Count > 0 {
			r.Count--
			out, _ := json.MarshalIndent(rules, "", "  ")
			if err := writeFileAtomic(path, out); err != nil {
				return nil, sdk.Wrap(sdk.KindInternal, op, err, "The fault file cannot be rewritten.")
			}
		}
		rule := *r
		return &rule, nil
	}
	return nil, nil
}

func checkRule(r *faultRule) error {
	switch r.Action {
	case actionFail:
		if r.Kind != "" && sdk.ParseKind(r.Kind).String() != r.Kind {
			return fmt.Errorf("kind %q is not an sdk error kind such as \"transient\"", r.Kind)
		}
		return nil
	case actionHang, actionCrash, actionPanic:
		return nil
	case actionSlow:
		if _, err := time.ParseDuration(r.Delay); err != nil {
			return fmt.Errorf("slow needs a delay such as \"2s\": %w", err)
		}
		return nil
	}
	return fmt.Errorf("action %q is not one of fail, hang, crash, slow, panic", r.Action)
}

func faultFileErr(op, path string, err error) error {
	return sdk.Invalid(op, "The fault file is invalid.", sdk.FieldError{Path: keyFaultFile, Message: fmt.Sprintf("%s: %v", path, err)})
}
