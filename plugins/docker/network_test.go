package docker_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/moby/moby/client"
	"github.com/molecule-ai/molecule-host/plugins/docker"
	"github.com/molecule-ai/molecule-host/sdk"
)

// TestManagedNetwork starts a standalone workspace (no host URL: no
// traffic at all) on a network the backend creates, and checks the network
// is internal and labelled, and the address is the container's on it.
func TestManagedNetwork(t *testing.T) {
	cli := mustDocker(t)
	name := "molecule-test-" + newWorkspaceID(t)
	t.Cleanup(func() { cli.NetworkRemove(context.Background(), name, client.NetworkRemoveOptions{}) })
	id := newWorkspaceID(t) // registered after the network: removed before it
	b := mustBackend(t, map[string]string{"network": name})
	resp := mustStart(t, b, startRequest(id, "", nil))
	net, err := cli.NetworkInspect(context.Background(), name, client.NetworkInspectOptions{})
	if err != nil {
		t.Fatalf("network %s not created: %v", name, err)
	}
	if !net.Network.Internal || net.Network.Labels[docker.LabelManaged] != "true" {
		t.Fatalf("network internal=%v labels=%v, want internal and managed", net.Network.Internal, net.Network.Labels)
	}
	addr, err := netip.ParseAddr(resp.Address)
	if err != nil || len(net.Network.IPAM.Config) == 0 || !net.Network.IPAM.Config[0].Subnet.Contains(addr) {
		t.Fatalf("Address %q is not in the network's subnet %v", resp.Address, net.Network.IPAM.Config)
	}
	st, err := b.Status(context.Background(), &sdk.StatusRequest{Workspaces: []sdk.WorkspaceRef{{WorkspaceID: id}}})
	if err != nil || st.Statuses[0].Address != resp.Address {
		t.Fatalf("Status = %+v, %v; want address %s", st, err, resp.Address)
	}
	// A second Start joins the existing managed network; a foreign network is refused.
	mustStart(t, b, startRequest(id, "", nil))
	foreignNet := "molecule-foreign-" + newWorkspaceID(t)
	foreign := mustBackend(t, map[string]string{"network": foreignNet})
	if _, err := cli.NetworkCreate(context.Background(), foreignNet, client.NetworkCreateOptions{Internal: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.NetworkRemove(context.Background(), foreignNet, client.NetworkRemoveOptions{}) })
	if _, err := foreign.Start(context.Background(), startRequest(newWorkspaceID(t), "", nil)); !sdk.IsKind(err, sdk.KindConflict) {
		t.Fatalf("Start on an unmanaged network = %v, want conflict", err)
	}
}
