package agent

import (
	"context"
	"fmt"
)

// Smoke checks, without any network, that the runtime the config directory
// names can start and answer one message. It returns an *ExitError with
// Code 2 when the runtime cannot start (unknown runtime, malformed
// runtime.json) and Code 1 when the config directory cannot be read.
func Smoke(ctx context.Context, configDir, envRuntime string) (Runtime, error) {
	files, err := ReadConfigDir(configDir)
	if err != nil {
		return nil, &ExitError{Code: 1, Err: err}
	}
	rt, err := startFromFiles(files, envRuntime)
	if err != nil {
		return nil, &ExitError{Code: 2, Err: err}
	}
	reply, err := rt.Send(ctx, Message{Role: "user", Parts: []Part{{Kind: "text", Text: "smoke"}}})
	if err != nil || reply.Text() == "" {
		return nil, &ExitError{Code: 2, Err: fmt.Errorf("runtime %s did not answer a test message: %v", rt.Name(), err)}
	}
	return rt, nil
}
