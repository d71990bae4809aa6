package host

import (
	"fmt"
	"net/netip"
	"strings"
)

// UnixEndpointPrefix starts a Workspace.Address that is a unix socket path
// (the agent socket in the workspace's agent directory).
const UnixEndpointPrefix = "unix:"

// metadataAddrs are cloud metadata services outside the link-local ranges
// (which are refused whole): AWS's IPv6 endpoint and Alibaba Cloud's.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("fd00:ec2::254"),
	netip.MustParseAddr("100.100.100.200"),
}

// CheckAgentHost refuses a host the A2A proxy must never reach, whatever a
// backend reports: link-local addresses (169.254.0.0/16 holds the cloud
// metadata service), cloud metadata addresses, multicast and unspecified
// addresses. A name (not an IP) passes here; the proxy checks the address it
// resolves to when it dials.
func CheckAgentHost(h string) error {
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if h == "" {
		return fmt.Errorf("the address is empty")
	}
	ip, err := netip.ParseAddr(h)
	if err != nil {
		return nil
	}
	return CheckAgentIP(ip)
}

// CheckAgentIP is CheckAgentHost for an IP address.
func CheckAgentIP(ip netip.Addr) error {
	ip = ip.Unmap()
	switch {
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return fmt.Errorf("%s is link-local (cloud metadata services live there)", ip)
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return fmt.Errorf("%s is a multicast address", ip)
	case ip.IsUnspecified():
		return fmt.Errorf("%s is unspecified", ip)
	}
	for _, m := range metadataAddrs {
		if ip == m {
			return fmt.Errorf("%s is a cloud metadata address", ip)
		}
	}
	return nil
}
