// Package docker is the Docker backend: each workspace is one container of
// the workspace image on a Docker Engine, with its config files copied into
// a labelled config volume before the container starts (sync config
// delivery). It talks to the engine through github.com/moby/moby/client with
// API version negotiation, and every Docker call carries a deadline.
//
// A workspace has no network path to the host: its container has a network
// namespace of its own (Docker's none network by default, or a managed
// egress network without inter-container traffic), and the host's
// per-workspace agent directory is mounted at /run/molecule, where the host
// serves the agent routes on host.sock and the agent serves A2A on
// agent.sock. The container runs as a non-root user with every capability
// dropped, no-new-privileges, a pids limit, and a read-only root filesystem
// whose only writable places are the workspace volume (/workspace) and a
// tmpfs /tmp; the config volume (/configs) is written by the backend before
// start and belongs to root.
//
// Everything it creates carries the label molecule.managed=true plus the
// workspace and org ids, so Status and ListManaged are single list calls and
// the orphan sweep sees every leftover.
//
// It implements sdk.Backend and sdk.LogStreamer. It imports sdk and agentapi
// only from this module: never host/..., conformance or another plugin.
package docker
