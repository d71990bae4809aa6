package sdk

import (
	"fmt"
	"regexp"
	"sort"
)

// Manifest is how a backend declares itself to the host and to the
// conformance harness. It is read once after the plugin is launched.
type Manifest struct {
	// Name is the backend's name as users and workspaces refer to it:
	// lowercase letters, digits and dashes ("docker", "cp", "acme-vm").
	Name string
	// Version is the plugin's own version, free-form (semver preferred).
	Version string
	// ProtocolVersion is the plugin protocol the backend speaks.
	ProtocolVersion int
	// Description is one sentence about the substrate.
	Description string
	// Capabilities lists the verbs the backend implements. The plugin glue
	// fills it from the implemented interfaces; a value set by the backend
	// is overwritten.
	Capabilities []Capability
	// Features holds, per feature id (see the Feature* constants), the
	// backend's one-line note on how it implements the feature and its
	// semantic attributes. A feature missing here is not declared: the
	// conformance harness does not run it and the matrix shows it missing.
	Features map[string]Feature
	// Config describes the keys Configure accepts.
	Config []ConfigField
}

// Feature is a backend's declaration of one matrix feature.
type Feature struct {
	// Note says in one line how the backend implements the feature, e.g.
	// "container create + start, config copied before start".
	Note string
	// Attributes are semantic facts the matrix compares across backends,
	// e.g. {"config_delivery": "async"}. A value that differs between
	// backends makes the row divergent.
	Attributes map[string]string
}

// ConfigField describes one key of a backend's configuration.
type ConfigField struct {
	Name        string
	Type        ConfigType
	Required    bool
	Default     string
	Description string
	// Secret marks values that must never be logged or shown.
	Secret bool
}

// ConfigType is the type of a configuration value; every value travels as a
// string and is parsed by the backend.
type ConfigType string

// Configuration value types.
const (
	ConfigString   ConfigType = "string"
	ConfigInt      ConfigType = "int"
	ConfigBool     ConfigType = "bool"
	ConfigDuration ConfigType = "duration"
	ConfigURL      ConfigType = "url"
)

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// Validate checks the manifest for what a host relies on: a valid name, the
// protocol version, only known capabilities (KnownCapabilities) and, for
// each declared feature this host knows, the capabilities it needs. It
// returns a KindInvalid *Error naming each problem.
func (m *Manifest) Validate() error {
	var fields []FieldError
	if !nameRE.MatchString(m.Name) {
		fields = append(fields, FieldError{Path: "name", Message: fmt.Sprintf("%q is not a valid backend name (lowercase letters, digits and dashes, starting with a letter)", m.Name)})
	}
	if m.ProtocolVersion != ProtocolVersion {
		fields = append(fields, FieldError{Path: "protocol_version", Message: fmt.Sprintf("protocol %d is not supported, want %d", m.ProtocolVersion, ProtocolVersion)})
	}
	for i, c := range m.Capabilities {
		if !HasCapability(KnownCapabilities, c) {
			fields = append(fields, FieldError{Path: fmt.Sprintf("capabilities[%d]", i), Message: fmt.Sprintf("%.64q is not a capability this host knows (%v)", string(c), KnownCapabilities)})
		}
	}
	ids := make([]string, 0, len(m.Features))
	for id := range m.Features {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		need, known := FeatureNeeds[id]
		if !known {
			continue // a feature this host does not know is carried, not checked
		}
		for _, c := range need {
			if !HasCapability(m.Capabilities, c) {
				fields = append(fields, FieldError{Path: "features." + id, Message: fmt.Sprintf("feature %s needs capability %s, which the backend does not implement", id, c)})
			}
		}
	}
	if len(fields) > 0 {
		return &Error{Kind: KindInvalid, Op: "manifest", Message: "The backend's manifest is invalid.", Fields: fields}
	}
	return nil
}
