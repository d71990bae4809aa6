package docker

import (
	"os"
	"path/filepath"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/sdk"
)

// tokenInWorkspace is where the agent finds its token file in the
// container (agentapi.EnvTokenFile).
const tokenInWorkspace = agentapi.AgentDirInWorkspace + "/" + agentapi.TokenFile

// writeToken puts the agent token in the workspace's agent directory as
// agentapi.TokenFile, replacing the previous one atomically. The token is
// delivered as a file, not in the container's environment, so that a new
// token never requires a new container: the agent re-reads the file when
// the host refuses its old token. The directory is writable by the
// container, so the file is first created exclusively under a fresh name
// (never through a link the workspace planted) and then renamed over the
// old one (rename replaces a link, it does not follow it). Mode 0644: the
// container's user must read it; the directory's 0700 parent keeps every
// other local user out. Returns KindInternal when the directory cannot be
// written.
func writeToken(dir, token string) error {
	f, err := os.CreateTemp(dir, ".token-*")
	if err != nil {
		return tokenError(dir, err)
	}
	tmp := f.Name()
	_, err = f.WriteString(token)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, agentapi.TokenFile))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return tokenError(dir, err)
	}
	return nil
}

func tokenError(dir string, err error) error {
	return &sdk.Error{Kind: sdk.KindInternal, Op: "start", Err: err,
		Message: "The agent token could not be written into the workspace's agent directory " + dir + ": " + err.Error()}
}
