package sdk

// Feature ids name the rows of the backend parity matrix a backend can
// declare in Manifest.Features. They are stable: new ones are added, none is
// renamed.
const (
	FeatureCreate         = "lifecycle.create"
	FeatureStart          = "lifecycle.start"
	FeatureStop           = "lifecycle.stop"
	FeatureRestart        = "lifecycle.restart"
	FeatureDelete         = "lifecycle.delete"
	FeatureStatus         = "lifecycle.status"
	FeatureReady          = "bootstrap.ready"
	FeatureConfigDelivery = "bootstrap.config_delivery"
	FeatureBootLog        = "bootstrap.boot_log"
	FeatureOrphans        = "orphans.list"
)

// Attribute keys with a meaning the matrix knows.
const (
	// AttrConfigDelivery is "sync" when config files are in place before
	// the workspace process starts, "async" when they arrive after.
	AttrConfigDelivery = "config_delivery"
)

// FeatureNeeds maps each known feature to the capabilities a backend must
// implement to declare it.
var FeatureNeeds = map[string][]Capability{
	FeatureCreate:         {CapStart, CapStatus},
	FeatureStart:          {CapStart},
	FeatureStop:           {CapStop, CapStatus},
	FeatureRestart:        {CapStop, CapStart},
	FeatureDelete:         {CapDestroy, CapListManaged},
	FeatureStatus:         {CapStatus},
	FeatureReady:          {CapStart},
	FeatureConfigDelivery: {CapStart},
	FeatureBootLog:        {CapLogs},
	FeatureOrphans:        {CapListManaged},
}
