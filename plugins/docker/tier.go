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
	pids     int64  // processes and threads in the container
	tmpSize  string // size of the /tmp tmpfs (counts against memory)
}{
	1: {256 << 20, 500_000_000, 256, "64m"},
	2: {512 << 20, 1_000_000_000, 512, "128m"},
	3: {1 << 30, 2_000_000_000, 1024, "256m"},
	4: {2 << 30, 2_000_000_000, 2048, "512m"},
}

// DefaultTier is used when a request's Tier is 0.
const DefaultTier = 2

// hardening is the version of the isolation every container gets
// (hostConfig, the user, the mounts). It is part of the spec label, so a
// container created under an older version is re-created on its next Start.
const hardening = 2

// hostConfig returns the container's host config for a tier. Whatever the
// tier: memory, CPU and pids limits; every capability dropped and
// no-new-privileges; a read-only root filesystem with a tmpfs /tmp (the
// volumes are the only other writable places); never privileged, no Docker
// socket, no restart policy; and the network mode given ("none" unless the
// deployment chose an egress network).
func hostConfig(tier int, network string, mounts []mount.Mount) (*container.HostConfig, error) {
	if tier == 0 {
		tier = DefaultTier
	}
	lim, ok := tierLimits[tier]
	if !ok {
		return nil, fmt.Errorf("tier %d is not one of 1, 2, 3, 4", tier)
	}
	pids := lim.pids
	return &container.HostConfig{
		Mounts:         mounts,
		NetworkMode:    container.NetworkMode(network),
		RestartPolicy:  container.RestartPolicy{Name: container.RestartPolicyDisabled},
		ReadonlyRootfs: true,
		Tmpfs:          map[string]string{"/tmp": "rw,nosuid,nodev,size=" + lim.tmpSize + ",mode=1777"},
		CapDrop:        []string{"ALL"},
		SecurityOpt:    []string{"no-new-privileges:true"},
		Privileged:     false,
		Resources:      container.Resources{Memory: lim.memory, NanoCPUs: lim.nanoCPUs, PidsLimit: &pids},
	}, nil
}
