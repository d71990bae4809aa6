package sdk

// ConfigureRequest carries the backend's configuration as strings keyed by
// the names in Manifest.Config.
type ConfigureRequest struct {
	Config map[string]string
}

// ConfigureResponse is empty today; it exists so fields can be added.
type ConfigureResponse struct{}
