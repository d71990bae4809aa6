package docker

import (
	"context"

	"github.com/molecule-ai/molecule-host/sdk"
)

// Version is the Docker backend's version.
const Version = "0.1.0"

// Manifest describes the Docker backend. It does not depend on Configure.
func (b *Backend) Manifest(ctx context.Context) (*sdk.Manifest, error) {
	return &sdk.Manifest{
		Name:            "docker",
		Version:         Version,
		ProtocolVersion: sdk.ProtocolVersion,
		Description:     "Each workspace is a container of the workspace image on a Docker Engine, with no network path to the host: host and agent talk over unix sockets in a per-workspace directory.",
		Capabilities:    sdk.CapabilitiesOf(b),
		Features: map[string]sdk.Feature{
			sdk.FeatureCreate:  {Note: "container create + start; config copied before start; no network by default, non-root, no capabilities, read-only root; agent sockets in /run/molecule"},
			sdk.FeatureStart:   {Note: "docker start of the existing container when its spec is unchanged, else re-create (volumes kept)"},
			sdk.FeatureStop:    {Note: "docker stop with a 5 s grace period; a missing container is success"},
			sdk.FeatureRestart: {Note: "docker stop, then start from the full request"},
			sdk.FeatureDelete:  {Note: "container removed (force); volumes labelled with the workspace id removed when asked"},
			sdk.FeatureStatus:  {Note: "one container list per batch, filtered by the managed label"},
			sdk.FeatureReady:   {Note: "agent register + config hash boot event (hash of /configs as found in the container)"},
			sdk.FeatureConfigDelivery: {
				Note:       "config files copied into the config volume (/configs) before the container starts",
				Attributes: map[string]string{sdk.AttrConfigDelivery: "sync"},
			},
			sdk.FeatureBootLog: {Note: "container logs (docker logs), stdout/stderr demultiplexed, follow supported"},
			sdk.FeatureOrphans: {Note: "containers and volumes listed by the molecule.managed label, grouped by workspace id"},
		},
		Config: []sdk.ConfigField{
			{Name: "host", Type: sdk.ConfigString, Default: "$DOCKER_HOST or " + defaultHost,
				Description: "Docker Engine endpoint, e.g. unix:///var/run/docker.sock or tcp://127.0.0.1:2375."},
			{Name: "network", Type: sdk.ConfigString, Default: NetworkNone,
				Description: `"none" (the container's own network namespace with only loopback: no egress, no path to the host or to other workspaces), ` +
					`or the name of a network the backend creates and labels managed, for deployments whose runtimes need egress: a bridge with a route outward ` +
					`and inter-container traffic disabled, so workspaces cannot reach each other (they can reach the host's non-loopback addresses). "host" is refused: workspace code could reach the host's loopback services and sniff their traffic.`},
			{Name: "user", Type: sdk.ConfigString, Default: DefaultUser,
				Description: "uid:gid every workspace runs as; never 0. The workspace image's /workspace belongs to 65532:65532, so another user needs an image built for it."},
			{Name: "call_timeout", Type: sdk.ConfigDuration, Default: defaultCallTimeout.String(),
				Description: "Deadline of every Docker call; an unreachable daemon fails within it."},
		},
	}, nil
}
