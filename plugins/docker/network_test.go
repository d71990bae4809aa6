package docker_test

import (
	"context"
	"testing"

	"github.com/moby/moby/client"
	"github.com/molecule-ai/molecule-host/plugins/docker"
	"github.com/molecule-ai/molecule-host/sdk"
)

// iccOption is the bridge option that lets containers on a network reach
// each other unless "false".
const iccOption = "com.docker.network.bridge.enable_icc"

// mustNetworkName returns a unique network name removed at cleanup (after
// the workspaces registered later, which cleanup removes first).
func mustNetworkName(tb testing.TB, prefix string) string {
	tb.Helper()
	cli := mustDocker(tb)
	name := prefix + newWorkspaceID(tb)
	tb.Cleanup(func() { cli.NetworkRemove(context.Background(), name, client.NetworkRemoveOptions{}) })
	return name
}

// TestManagedNetwork starts a workspace on an egress network the backend
// creates and checks the network is managed, not internal (the runtime has
// egress), and without inter-container traffic; the workspace is still
// reached only at its socket. No traffic is sent on the network.
func TestManagedNetwork(t *testing.T) {
	cli := mustDocker(t)
	name := mustNetworkName(t, "molecule-test-")
	id := newWorkspaceID(t)
	b := mustBackend(t, map[string]string{"network": name})
	dir := mustAgentDir(t)
	resp := mustStart(t, b, startRequest(id, dir, nil))
	net, err := cli.NetworkInspect(context.Background(), name, client.NetworkInspectOptions{})
	if err != nil {
		t.Fatalf("network %s not created: %v", name, err)
	}
	if n := net.Network; n.Internal || n.Options[iccOption] != "false" || n.Labels[docker.LabelManaged] != "true" {
		t.Fatalf("network internal=%v options=%v labels=%v, want egress, %s=false, managed", n.Internal, n.Options, n.Labels, iccOption)
	}
	ins, err := cli.ContainerInspect(context.Background(), containerOf(t, resp), client.ContainerInspectOptions{})
	if err != nil || string(ins.Container.HostConfig.NetworkMode) != name {
		t.Fatalf("container network = %v, %v; want %s", ins.Container.HostConfig.NetworkMode, err, name)
	}
	if resp.Endpoint != "unix:"+dir+"/agent.sock" || resp.Address != "" {
		t.Fatalf("Endpoint, Address = %q, %q; want the agent socket and no address", resp.Endpoint, resp.Address)
	}
	// A second Start joins the existing managed network; a foreign network is refused.
	mustStart(t, b, startRequest(id, dir, nil))
	foreignNet := mustNetworkName(t, "molecule-foreign-")
	foreign := mustBackend(t, map[string]string{"network": foreignNet})
	if _, err := cli.NetworkCreate(context.Background(), foreignNet, client.NetworkCreateOptions{Internal: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := foreign.Start(context.Background(), startRequest(newWorkspaceID(t), mustAgentDir(t), nil)); !sdk.IsKind(err, sdk.KindConflict) {
		t.Fatalf("Start on an unmanaged network = %v, want conflict", err)
	}
}

// TestOutdatedManagedNetworkReplaced: a managed network as the previous
// version made it (internal, containers on it reach each other) is not
// reused: unused, it is replaced by one without inter-container traffic.
func TestOutdatedManagedNetworkReplaced(t *testing.T) {
	cli := mustDocker(t)
	name := mustNetworkName(t, "molecule-old-")
	if _, err := cli.NetworkCreate(context.Background(), name, client.NetworkCreateOptions{
		Internal: true, Labels: map[string]string{docker.LabelManaged: "true"},
	}); err != nil {
		t.Fatal(err)
	}
	b := mustBackend(t, map[string]string{"network": name})
	mustStart(t, b, startRequest(newWorkspaceID(t), mustAgentDir(t), nil))
	net, err := cli.NetworkInspect(context.Background(), name, client.NetworkInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := net.Network; n.Internal || n.Options[iccOption] != "false" {
		t.Fatalf("network internal=%v options=%v after Start, want it replaced: egress, %s=false", n.Internal, n.Options, iccOption)
	}
}
