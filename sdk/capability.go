package sdk

import "sort"

// Capability names one verb a backend implements. The core verbs are always
// present; the optional ones are present when the Backend implements the
// matching interface.
type Capability string

// Capabilities, append-only on the wire.
const (
	CapConfigure   Capability = "configure"
	CapStart       Capability = "start"
	CapStop        Capability = "stop"
	CapDestroy     Capability = "destroy"
	CapStatus      Capability = "status"
	CapListManaged Capability = "list_managed"
	CapFiles       Capability = "files"
	CapExec        Capability = "exec"
	CapLogs        Capability = "logs"
)

// CoreCapabilities are the verbs every Backend has.
var CoreCapabilities = []Capability{CapConfigure, CapStart, CapStop, CapDestroy, CapStatus, CapListManaged}

// KnownCapabilities are every capability this version of the contract
// defines. A manifest naming any other is invalid (Manifest.Validate): a
// host must not list, or route to, a verb it does not know.
var KnownCapabilities = append(append([]Capability(nil), CoreCapabilities...), CapFiles, CapExec, CapLogs)

// CapabilitiesOf derives the capabilities of b from the interfaces it
// implements, sorted. This is the only source of a manifest's capabilities.
func CapabilitiesOf(b Backend) []Capability {
	caps := append([]Capability(nil), CoreCapabilities...)
	if _, ok := b.(Filer); ok {
		caps = append(caps, CapFiles)
	}
	if _, ok := b.(Execer); ok {
		caps = append(caps, CapExec)
	}
	if _, ok := b.(LogStreamer); ok {
		caps = append(caps, CapLogs)
	}
	sort.Slice(caps, func(i, j int) bool { return caps[i] < caps[j] })
	return caps
}

// HasCapability reports whether caps contains c.
func HasCapability(caps []Capability, c Capability) bool {
	for _, x := range caps {
		if x == c {
			return true
		}
	}
	return false
}
