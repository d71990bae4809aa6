package conformance

import (
	"context"
	"fmt"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/sdk"
)

func init() {
	register(
		Scenario{ID: "lifecycle.create", Area: "lifecycle", Title: "Create", Feature: sdk.FeatureCreate,
			Needs: []sdk.Capability{sdk.CapStart, sdk.CapStatus}, Run: createScenario},
		Scenario{ID: "lifecycle.start", Area: "lifecycle", Title: "Start (after stop)", Feature: sdk.FeatureStart,
			Needs: []sdk.Capability{sdk.CapStart, sdk.CapStop}, Run: startScenario},
		Scenario{ID: "lifecycle.stop", Area: "lifecycle", Title: "Stop", Feature: sdk.FeatureStop,
			Needs: []sdk.Capability{sdk.CapStop, sdk.CapStatus}, Run: stopScenario},
		Scenario{ID: "lifecycle.restart", Area: "lifecycle", Title: "Restart picks up a config change", Feature: sdk.FeatureRestart,
			Needs: []sdk.Capability{sdk.CapStop, sdk.CapStart}, Run: restartScenario},
		Scenario{ID: "lifecycle.delete", Area: "lifecycle", Title: "Delete leaves nothing on the substrate", Feature: sdk.FeatureDelete,
			Needs: []sdk.Capability{sdk.CapDestroy, sdk.CapListManaged}, Run: deleteScenario},
		Scenario{ID: "lifecycle.status", Area: "lifecycle", Title: "Status and liveness", Feature: sdk.FeatureStatus,
			Needs: []sdk.Capability{sdk.CapStatus, sdk.CapStop}, Run: statusScenario},
	)
}

// createScenario: a created workspace reaches online and runs on the
// substrate.
func createScenario(ctx context.Context, t *T) error {
	w, err := t.online(ctx, "create", map[string]string{"agent.yaml": "name: create\n"})
	if err != nil {
		return err
	}
	if w.Backend != t.Backend {
		return fmt.Errorf("workspace backend %q, want %q", w.Backend, t.Backend)
	}
	s, err := t.substrate(ctx, w.ID)
	if err != nil {
		return err
	}
	if s != sdk.RunStateRunning {
		return fmt.Errorf("host says online but the substrate reports %s", s)
	}
	return nil
}

// startScenario: a stopped workspace starts again and comes back online.
func startScenario(ctx context.Context, t *T) error {
	w, err := t.online(ctx, "start", nil)
	if err != nil {
		return err
	}
	if err := t.verbTo(ctx, w.ID, "stop", "stopped"); err != nil {
		return err
	}
	if err := t.verbTo(ctx, w.ID, "start", "online"); err != nil {
		return err
	}
	return t.waitSubstrate(ctx, w.ID, sdk.RunStateRunning)
}

// stopScenario: after stop the backend reports the workspace not running
// and the status follows.
func stopScenario(ctx context.Context, t *T) error {
	w, err := t.online(ctx, "stop", nil)
	if err != nil {
		return err
	}
	if err := t.verbTo(ctx, w.ID, "stop", "stopped"); err != nil {
		return err
	}
	s, err := t.substrate(ctx, w.ID)
	if err != nil {
		return err
	}
	if s == sdk.RunStateRunning {
		return fmt.Errorf("host says stopped but the substrate reports running")
	}
	return nil
}

// restartScenario: a config changed through PATCH takes effect at restart,
// read from the database (drift risk 3), and the agent comes back online
// with the new config hash.
func restartScenario(ctx context.Context, t *T) error {
	oldCfg := map[string]string{"agent.yaml": "model: old\n"}
	newCfg := map[string]string{"agent.yaml": "model: new\n", "extra.txt": "added by patch\n"}
	w, err := t.online(ctx, "restart", oldCfg)
	if err != nil {
		return err
	}
	if want := hashOf(oldCfg); w.ConfigHash != want {
		return fmt.Errorf("online with config hash %s, want %s", w.ConfigHash, want)
	}
	pw, err := t.Host.PatchConfig(ctx, w.ID, newCfg)
	if err != nil {
		return fmt.Errorf("patch config: %w", err)
	}
	if want := hashOf(newCfg); pw.ConfigHash != want {
		return fmt.Errorf("after PATCH the config hash is %s, want %s", pw.ConfigHash, want)
	}
	if err := t.verb(ctx, w.ID, "restart"); err != nil {
		return err
	}
	w, err = t.waitStatus(ctx, w.ID, "online")
	if err != nil {
		return err
	}
	if want := hashOf(newCfg); w.ConfigHash != want {
		return fmt.Errorf("back online with config hash %s, want the new %s", w.ConfigHash, want)
	}
	return t.oneManaged(ctx, w.ID)
}

// oneManaged checks that the substrate holds exactly one entry for id.
func (t *T) oneManaged(ctx context.Context, id string) error {
	lm, err := t.Plugin.ListManaged(ctx, &sdk.ListManagedRequest{})
	if err != nil {
		return fmt.Errorf("list managed through the plugin: %w", err)
	}
	n := 0
	for _, m := range lm.Workspaces {
		if m.WorkspaceID == id {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("the substrate lists workspace %s %d times, want once", id, n)
	}
	return nil
}

// deleteScenario: delete ends `removed` and the substrate holds nothing.
func deleteScenario(ctx context.Context, t *T) error {
	w, err := t.online(ctx, "delete", nil)
	if err != nil {
		return err
	}
	var a *Accepted
	if err := retryConflict(ctx, func() error { a, err = t.Host.Delete(ctx, w.ID); return err }); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if a.Operation.Verb != "delete" {
		return fmt.Errorf("delete: operation verb %q", a.Operation.Verb)
	}
	if _, err := t.waitOperation(ctx, a.Operation.ID); err != nil {
		return err
	}
	if _, err := t.waitStatus(ctx, w.ID, "removed"); err != nil {
		return err
	}
	m, err := t.managed(ctx, w.ID)
	if err != nil {
		return err
	}
	if m != nil {
		return fmt.Errorf("workspace removed but the substrate still holds %v", m.Resources)
	}
	return nil
}

// statusScenario: an online workspace heartbeats; when its substrate stops
// behind the host's back it goes offline within the liveness TTL.
func statusScenario(ctx context.Context, t *T) error {
	w, err := t.online(ctx, "status", nil)
	if err != nil {
		return err
	}
	if w.LastHeartbeatAt == nil {
		return fmt.Errorf("online workspace has no last_heartbeat_at")
	}
	first := *w.LastHeartbeatAt
	err = poll(ctx, "last_heartbeat_at to advance", func() (bool, string, error) {
		w, err := t.Host.Get(ctx, w.ID)
		if err != nil || w.LastHeartbeatAt == nil {
			return false, "no heartbeat", err
		}
		return w.LastHeartbeatAt.After(first), w.LastHeartbeatAt.String(), nil
	})
	if err != nil {
		return err
	}
	if _, err := t.Plugin.Stop(ctx, &sdk.StopRequest{WorkspaceID: w.ID}); err != nil {
		return fmt.Errorf("stop through the plugin behind the host's back: %w", err)
	}
	_, err = t.waitStatus(ctx, w.ID, "offline", "stopped")
	return err
}

// hashOf is the config hash of an API config map.
func hashOf(cfg map[string]string) string {
	files := make(map[string][]byte, len(cfg))
	for k, v := range cfg {
		files[k] = []byte(v)
	}
	return agentapi.ConfigHash(files)
}
