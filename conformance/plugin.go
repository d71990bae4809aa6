package conformance

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/molecule-ai/molecule-host/sdk"
)

func init() {
	register(
		Scenario{ID: "plugin.not_configured", Area: "plugin", Title: "Every verb before Configure: conflict \"backend not configured\"",
			Direct: true, Run: notConfiguredScenario},
		Scenario{ID: "plugin.idempotent", Area: "plugin", Title: "Start, Stop and Destroy twice are idempotent",
			Direct: true, Needs: []sdk.Capability{sdk.CapStart, sdk.CapStop, sdk.CapDestroy, sdk.CapListManaged}, Run: idempotentScenario},
		Scenario{ID: "plugin.error_kinds", Area: "plugin", Title: "Error kinds as documented",
			Direct: true, Run: errorKindsScenario},
	)
}

// notConfiguredScenario: a fresh plugin process answers every verb with
// KindConflict "backend not configured", never a panic (drift risk 6).
func notConfiguredScenario(ctx context.Context, t *T) error {
	b, err := t.LaunchPlugin(ctx)
	if err != nil {
		return err
	}
	id := randomID()
	ref := sdk.WorkspaceRef{WorkspaceID: id}
	calls := []struct {
		verb string
		need sdk.Capability
		call func() error
	}{
		{"start", sdk.CapStart, func() error { _, err := b.Start(ctx, t.startRequest(id)); return err }},
		{"stop", sdk.CapStop, func() error { _, err := b.Stop(ctx, &sdk.StopRequest{WorkspaceID: id}); return err }},
		{"destroy", sdk.CapDestroy, func() error { _, err := b.Destroy(ctx, &sdk.DestroyRequest{WorkspaceID: id}); return err }},
		{"status", sdk.CapStatus, func() error {
			_, err := b.Status(ctx, &sdk.StatusRequest{Workspaces: []sdk.WorkspaceRef{ref}})
			return err
		}},
		{"list_managed", sdk.CapListManaged, func() error { _, err := b.ListManaged(ctx, &sdk.ListManagedRequest{}); return err }},
		{"files", sdk.CapFiles, func() error { return listFiles(ctx, b, id) }},
		{"logs", sdk.CapLogs, func() error { return logs(ctx, b, id) }},
	}
	var problems []string
	for _, c := range calls {
		if !sdk.HasCapability(t.Manifest.Capabilities, c.need) {
			continue
		}
		if p := notConfiguredProblem(c.call()); p != "" {
			problems = append(problems, c.verb+": "+p)
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func notConfiguredProblem(err error) string {
	var e *sdk.Error
	switch {
	case err == nil:
		return "succeeded, want conflict \"backend not configured\""
	case !errors.As(err, &e):
		return fmt.Sprintf("error without a kind: %v", err)
	case e.Kind != sdk.KindConflict || !strings.Contains(e.Message, sdk.NotConfiguredMessage):
		return fmt.Sprintf("got %s %q, want conflict %q", e.Kind, e.Message, sdk.NotConfiguredMessage)
	}
	return ""
}

func listFiles(ctx context.Context, b sdk.Backend, id string) error {
	f, ok := b.(sdk.Filer)
	if !ok {
		return fmt.Errorf("client does not implement files")
	}
	_, err := f.ListFiles(ctx, &sdk.ListFilesRequest{WorkspaceID: id, Path: "."})
	return err
}

func logs(ctx context.Context, b sdk.Backend, id string) error {
	l, ok := b.(sdk.LogStreamer)
	if !ok {
		return fmt.Errorf("client does not implement logs")
	}
	return l.Logs(ctx, &sdk.LogsRequest{WorkspaceID: id}, func(*sdk.LogChunk) error { return nil })
}

// idempotentScenario: every verb repeated converges on the same substrate.
func idempotentScenario(ctx context.Context, t *T) error {
	id := randomID()
	t.Track(id)
	t.Cleanup(func(ctx context.Context) error {
		_, err := t.Plugin.Destroy(ctx, &sdk.DestroyRequest{WorkspaceID: id, RemoveVolumes: true})
		return err
	})
	req := t.startRequest(id)
	r1, err := t.Plugin.Start(ctx, req)
	if err != nil {
		return fmt.Errorf("first start: %w", err)
	}
	req.State = r1.State
	if _, err := t.Plugin.Start(ctx, req); err != nil {
		return fmt.Errorf("second start: %w", err)
	}
	if err := t.oneManaged(ctx, id); err != nil {
		return fmt.Errorf("after two starts: %w", err)
	}
	for i := 1; i <= 2; i++ {
		if _, err := t.Plugin.Stop(ctx, &sdk.StopRequest{WorkspaceID: id, State: r1.State}); err != nil {
			return fmt.Errorf("stop #%d: %w", i, err)
		}
	}
	if s, err := t.substrate(ctx, id); err != nil || s == sdk.RunStateRunning {
		return fmt.Errorf("after two stops the substrate reports %q (%v)", s, err)
	}
	for i := 1; i <= 2; i++ {
		_, err := t.Plugin.Destroy(ctx, &sdk.DestroyRequest{WorkspaceID: id, State: r1.State, RemoveVolumes: true})
		if err != nil {
			return fmt.Errorf("destroy #%d: %w", i, err)
		}
	}
	m, err := t.managed(ctx, id)
	if err != nil {
		return err
	}
	if m != nil {
		return fmt.Errorf("after two destroys the substrate still holds %v", m.Resources)
	}
	return nil
}

// errorKindsScenario: unknown ids are not errors for Stop, Destroy and
// Status; a bad configuration is KindInvalid with field paths.
func errorKindsScenario(ctx context.Context, t *T) error {
	id := randomID()
	if _, err := t.Plugin.Stop(ctx, &sdk.StopRequest{WorkspaceID: id}); err != nil {
		return fmt.Errorf("stop of an unknown id must succeed: %w", err)
	}
	if _, err := t.Plugin.Destroy(ctx, &sdk.DestroyRequest{WorkspaceID: id}); err != nil {
		return fmt.Errorf("destroy of an unknown id must succeed: %w", err)
	}
	st, err := t.Plugin.Status(ctx, &sdk.StatusRequest{Workspaces: []sdk.WorkspaceRef{{WorkspaceID: id}}})
	if err != nil {
		return fmt.Errorf("status of an unknown id must succeed: %w", err)
	}
	if len(st.Statuses) != 1 || st.Statuses[0].State != sdk.RunStateMissing {
		return fmt.Errorf("status of an unknown id: got %+v, want one entry, missing", st.Statuses)
	}
	return t.badConfig(ctx)
}

// badConfig configures a fresh plugin process with an invalid
// configuration and expects KindInvalid naming the field.
func (t *T) badConfig(ctx context.Context) error {
	b, err := t.LaunchPlugin(ctx)
	if err != nil {
		return err
	}
	cfg, field := invalidConfig(t.Manifest, t.Config)
	_, err = b.Configure(ctx, &sdk.ConfigureRequest{Config: cfg})
	var e *sdk.Error
	if !errors.As(err, &e) || e.Kind != sdk.KindInvalid {
		return fmt.Errorf("configure with a bad %q: got %v, want an invalid error", field, err)
	}
	for _, f := range e.Fields {
		if f.Path == field || strings.HasSuffix(f.Path, "."+field) {
			return nil
		}
	}
	return fmt.Errorf("configure with a bad %q: invalid error %q names fields %+v, not %q", field, e.Message, e.Fields, field)
}

// invalidConfig derives a configuration the manifest's schema rejects: a
// typed value that does not parse, else a missing required key, else an
// unknown key. It returns the offending key.
func invalidConfig(m *sdk.Manifest, good map[string]string) (map[string]string, string) {
	cfg := make(map[string]string, len(good)+1)
	for k, v := range good {
		cfg[k] = v
	}
	for _, f := range m.Config {
		switch f.Type {
		case sdk.ConfigInt, sdk.ConfigBool, sdk.ConfigDuration, sdk.ConfigURL:
			cfg[f.Name] = "%not-a-" + string(f.Type) + "%"
			return cfg, f.Name
		}
	}
	for _, f := range m.Config {
		if f.Required {
			delete(cfg, f.Name)
			return cfg, f.Name
		}
	}
	cfg["conformance_unknown_key"] = "x"
	return cfg, "conformance_unknown_key"
}
