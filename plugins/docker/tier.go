package docker

import (
	"fmt"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
)

// tierLimits are the resources of each tier.
var tierLimits = map[int]struct {
	memory   int64 // bytes
	nanoCPUs int64
	readOnly bool
}{
	1: {256 << 20, 500_000_000, true},
	2: {512 << 20, 1_000_000_000, false},
	3: {1 << 30, 2_000_000_000, false},
	4: {2 << 30, 2_000_000_000, false},
}

// DefaultTier is used when a request's Tier is 0.
const DefaultTier = 2

// hostConfig returns the container's host config for a tier: memory and
// CPU limits, a read-only root filesystem (tier 1, with a tmpfs /tmp),
// never privileged, no Docker socket, no restart policy.
func hostConfig(tier int, network string, mounts []mount.Mount) (*container.HostConfig, error) {
	if tier == 0 {
		tier = DefaultTier
	}
	lim, ok := tierLimits[tier]
	if !ok {
		return nil, fmt.Errorf("tier %d is not one of 1, 2, 3, 4", tier)
	}
	hc := &container.HostConfig{
		Mounts:         mounts,
		NetworkMode:    container.NetworkMode(network),
		RestartPolicy:  container.RestartPolicy{Name: container.RestartPolicyDisabled},
		ReadonlyRootfs: lim.readOnly,
		Privileged:     false,
		Resources:      container.Resources{Memory: lim.memory, NanoCPUs: lim.nanoCPUs},
	}
	if lim.readOnly {
		hc.Tmpfs = map[string]string{"/tmp": "rw,nosuid,nodev,size=64m"}
	}
	return hc, nil
}
