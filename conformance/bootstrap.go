package conformance

import (
	"context"
	"fmt"
	"strings"

	"github.com/molecule-ai/molecule-host/sdk"
)

func init() {
	register(
		Scenario{ID: "bootstrap.ready", Area: "bootstrap", Title: "Ready detection (register + config hash)", Feature: sdk.FeatureReady,
			Needs: []sdk.Capability{sdk.CapStart}, Run: readyScenario},
		Scenario{ID: "bootstrap.config_delivery", Area: "bootstrap", Title: "Config delivery at provision", Feature: sdk.FeatureConfigDelivery,
			Needs: []sdk.Capability{sdk.CapStart}, Run: configDeliveryScenario},
		Scenario{ID: "bootstrap.boot_log", Area: "bootstrap", Title: "Boot log (GET boot-log)", Feature: sdk.FeatureBootLog,
			Needs: []sdk.Capability{sdk.CapLogs}, Run: bootLogScenario},
	)
}

// readyScenario: a new workspace goes provisioning -> online and nothing
// else, and is online only with a heartbeat and the database's config hash.
func readyScenario(ctx context.Context, t *T) error {
	cfg := map[string]string{"agent.yaml": "ready: true\n"}
	a, err := t.createWorkspace(ctx, "ready", cfg)
	if err != nil {
		return err
	}
	if a.Workspace.Status != "provisioning" {
		return fmt.Errorf("create answered status %q, want provisioning", a.Workspace.Status)
	}
	var seen []string
	var w *Workspace
	err = poll(ctx, "workspace to come online", func() (bool, string, error) {
		w, err = t.Host.Get(ctx, a.Workspace.ID)
		if err != nil {
			return false, "", err
		}
		if len(seen) == 0 || seen[len(seen)-1] != w.Status {
			seen = append(seen, w.Status)
		}
		if w.Status != "provisioning" && w.Status != "online" {
			return false, "", fmt.Errorf("status went %s (%s)", strings.Join(seen, " -> "), w.StatusReason)
		}
		return w.Status == "online", strings.Join(seen, " -> "), nil
	})
	if err != nil {
		return err
	}
	if w.LastHeartbeatAt == nil {
		return fmt.Errorf("online without a registered agent: last_heartbeat_at is null")
	}
	if want := hashOf(cfg); w.ConfigHash != want {
		return fmt.Errorf("online with config hash %s, want %s", w.ConfigHash, want)
	}
	if w.URL == "" {
		return fmt.Errorf("online without the agent's registered url")
	}
	return nil
}

// configDeliveryScenario: several config files reach the agent, which
// reports their exact hash before the workspace counts as online.
func configDeliveryScenario(ctx context.Context, t *T) error {
	cfg := map[string]string{
		"agent.yaml":         "model: conformance\n",
		"prompts/system.md":  "You are a conformance check.\n",
		"skills/empty.txt":   "",
		"nested/deep/a.json": `{"a":1}`,
	}
	w, err := t.online(ctx, "config", cfg)
	if err != nil {
		return err
	}
	if want := hashOf(cfg); w.ConfigHash != want {
		return fmt.Errorf("online with config hash %s, want %s (the agent applied other files)", w.ConfigHash, want)
	}
	for p, c := range cfg {
		if w.Config[p] != c {
			return fmt.Errorf("GET returns config[%q] = %q, want %q", p, w.Config[p], c)
		}
	}
	return nil
}

// bootLogScenario: the unified boot log of an online workspace has lines.
func bootLogScenario(ctx context.Context, t *T) error {
	w, err := t.online(ctx, "bootlog", nil)
	if err != nil {
		return err
	}
	var text string
	err = poll(ctx, "boot log lines", func() (bool, string, error) {
		text, err = t.Host.BootLog(ctx, w.ID, 200)
		if err != nil {
			return false, "", err
		}
		return strings.TrimSpace(text) != "", fmt.Sprintf("%d bytes", len(text)), nil
	})
	if err != nil {
		return err
	}
	t.Logf("boot log: %d lines", strings.Count(text, "\n"))
	return nil
}
