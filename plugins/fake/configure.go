package fake

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/molecule-ai/molecule-host/sdk"
)

// Configuration keys.
const (
	keyStateDir  = "state_dir"
	keyFaultFile = "fault_file"
)

type config struct {
	stateDir  string
	faultFile string
}

// Configure applies state_dir and fault_file, takes the agents lock when it
// is free and, holding it, restarts the agents of workspaces
// recorded running (after a plugin restart). Returns KindInvalid naming
// each bad key.
func (b *Backend) Configure(ctx context.Context, req *sdk.ConfigureRequest) (*sdk.ConfigureResponse, error) {
	cfg, err := parseConfig(req.Config)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.stateDir, 0o755); err != nil {
		return nil, sdk.Invalid("configure", "The state directory cannot be created.",
			sdk.FieldError{Path: keyStateDir, Message: err.Error()})
	}
	if err := injectFault(ctx, cfg.faultFile, "configure", b.log); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cfg != nil && b.cfg.stateDir != cfg.stateDir {
		b.stopAgentsLocked()
		b.lock.release()
		b.lock = nil
	}
	b.cfg, b.store = cfg, newStore(cfg.stateDir)
	if b.lock == nil {
		lock, err := tryLock(filepath.Join(cfg.stateDir, "agents.lock"))
		if err != nil {
			return nil, sdk.Wrap(sdk.KindInternal, "configure", err, "The agents lock cannot be opened.")
		}
		b.lock = lock // nil: another instance runs the agents; this one observes
	}
	if b.lock != nil {
		b.resumeAgentsLocked()
	} else {
		b.log.Info("agents lock held by another instance; serving as an observer", "state_dir", cfg.stateDir)
	}
	return &sdk.ConfigureResponse{}, nil
}

func parseConfig(in map[string]string) (*config, error) {
	var fields []sdk.FieldError
	var unknown []string
	for k := range in {
		if k != keyStateDir && k != keyFaultFile {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		fields = append(fields, sdk.FieldError{Path: k, Message: fmt.Sprintf("unknown key %q; the fake accepts %s and %s", k, keyStateDir, keyFaultFile)})
	}
	cfg := &config{stateDir: in[keyStateDir], faultFile: in[keyFaultFile]}
	if cfg.stateDir == "" {
		cfg.stateDir = os.Getenv(sdk.EnvDataDir)
	}
	switch {
	case cfg.stateDir == "":
		fields = append(fields, sdk.FieldError{Path: keyStateDir, Message: "state_dir is required when the host sets no " + sdk.EnvDataDir})
	case !filepath.IsAbs(cfg.stateDir):
		fields = append(fields, sdk.FieldError{Path: keyStateDir, Message: fmt.Sprintf("%q is not an absolute path", cfg.stateDir)})
	}
	if cfg.faultFile == "" {
		cfg.faultFile = filepath.Join(cfg.stateDir, "faults.json")
	}
	if len(fields) > 0 {
		return nil, sdk.Invalid("configure", "The fake backend's configuration is invalid.", fields...)
	}
	return cfg, nil
}
