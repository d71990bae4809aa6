package conformance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/sdk"
)

func init() {
	register(
		Scenario{ID: "orphans.list", Area: "orphans", Title: "Detect resources the store does not own", Feature: sdk.FeatureOrphans,
			Needs: []sdk.Capability{sdk.CapListManaged, sdk.CapStart, sdk.CapDestroy}, Run: orphansScenario},
	)
}

// orphansScenario: a workspace started through the plugin behind the host's
// back shows up in GET /orphans, and disappears once destroyed.
func orphansScenario(ctx context.Context, t *T) error {
	if err := t.orphansUnknownToHost(ctx); err != nil {
		return fmt.Errorf("before the check: %w", err)
	}
	id := randomID()
	t.Track(id)
	t.Cleanup(func(ctx context.Context) error {
		_, err := t.Plugin.Destroy(ctx, &sdk.DestroyRequest{WorkspaceID: id, RemoveVolumes: true})
		return err
	})
	if _, err := t.Plugin.Start(ctx, t.startRequest(id)); err != nil {
		return fmt.Errorf("start through the plugin behind the host's back: %w", err)
	}
	err := poll(ctx, "GET /orphans to list "+id, func() (bool, string, error) {
		os, err := t.Host.Orphans(ctx)
		if err != nil {
			return false, "", err
		}
		for _, o := range os {
			if o.WorkspaceID == id && o.Backend == t.Backend {
				return true, "", nil
			}
		}
		return false, fmt.Sprintf("%d orphans", len(os)), nil
	})
	if err != nil {
		return err
	}
	if _, err := t.Plugin.Destroy(ctx, &sdk.DestroyRequest{WorkspaceID: id, RemoveVolumes: true}); err != nil {
		return fmt.Errorf("destroy through the plugin: %w", err)
	}
	return t.noOrphans(ctx, id)
}

// orphansUnknownToHost checks that no orphan GET /orphans lists for the
// backend is a live workspace of the host: what the host owns is never
// reported as a leak. (The substrate may be shared with other users, so
// orphans the host knows nothing of are allowed here.)
func (t *T) orphansUnknownToHost(ctx context.Context) error {
	os, err := t.Host.Orphans(ctx)
	if err != nil {
		return err
	}
	live, err := t.Host.List(ctx, t.Backend, "")
	if err != nil {
		return err
	}
	owned := map[string]bool{}
	for _, w := range live {
		owned[w.ID] = true
	}
	for _, o := range os {
		if o.Backend == t.Backend && owned[o.WorkspaceID] {
			return fmt.Errorf("GET /orphans lists %s, a live workspace of the host", o.WorkspaceID)
		}
	}
	return nil
}

// noOrphans waits until GET /orphans lists nothing for the backend (only
// nothing for id, when id is set: other scenarios' workspaces may be
// between states).
func (t *T) noOrphans(ctx context.Context, id string) error {
	return poll(ctx, "GET /orphans to list nothing for "+t.Backend, func() (bool, string, error) {
		os, err := t.Host.Orphans(ctx)
		if err != nil {
			return false, "", err
		}
		for _, o := range os {
			if o.Backend == t.Backend && (id == "" || o.WorkspaceID == id) {
				return false, fmt.Sprintf("orphan %s %v", o.WorkspaceID, o.Resources), nil
			}
		}
		return true, "", nil
	})
}

// startRequest is a full StartRequest for a workspace the host does not
// know. Its agent cannot register (no token the host issued), which is fine:
// only the substrate is checked.
func (t *T) startRequest(id string) *sdk.StartRequest {
	files := map[string][]byte{"agent.yaml": []byte("direct: true\n")}
	return &sdk.StartRequest{
		WorkspaceID: id, Name: "conf-direct", Runtime: "default", Tier: 2,
		Image:       t.Image,
		Env:         map[string]string{},
		ConfigFiles: files,
		ConfigHash:  agentapi.ConfigHash(files),
		AgentToken:  "conformance-direct-token",
		HostURL:     t.hostURL(),
		AgentDir:    t.agentDir(id),
	}
}

// agentDir makes an agent directory for a workspace the scenario starts on
// the plugin directly, as a host would (mode 0777, in a private temporary
// directory removed after the scenario). No host serves its socket: such a
// workspace never registers, which the direct scenarios do not need.
func (t *T) agentDir(id string) string {
	if dir, ok := t.agentDirs[id]; ok {
		return dir // the same request every time, as a host sends it
	}
	root, err := os.MkdirTemp("", "mhconf")
	if err != nil {
		t.Logf("agent directory: %v", err)
		return ""
	}
	t.Cleanup(func(context.Context) error { return os.RemoveAll(root) })
	dir := filepath.Join(root, id)
	if err := os.Mkdir(dir, 0o777); err != nil || os.Chmod(dir, 0o777) != nil {
		t.Logf("agent directory: %v", err)
	}
	if t.agentDirs == nil {
		t.agentDirs = map[string]string{}
	}
	t.agentDirs[id] = dir
	return dir
}

func (t *T) hostURL() string {
	if t.Host != nil {
		return t.Host.BaseURL
	}
	return "http://127.0.0.1:9"
}
