// Package docker is the Docker backend: each workspace is one container of
// the workspace image on a Docker Engine, with its config files copied into
// a labelled config volume before the container starts (sync config
// delivery). It talks to the engine through github.com/moby/moby/client with
// API version negotiation, and every Docker call carries a deadline.
//
// Everything it creates carries the label molecule.managed=true plus the
// workspace and org ids, so Status and ListManaged are single list calls and
// the orphan sweep sees every leftover.
//
// It implements sdk.Backend and sdk.LogStreamer. It imports sdk and agentapi
// only from this module: never host/..., conformance or another plugin.
package docker
