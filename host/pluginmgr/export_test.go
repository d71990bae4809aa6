package pluginmgr

// SetTestHookVerified makes every launch call hook with the binary's path
// after verification and right before execution, until the returned
// function restores the default. Tests using it must not run in parallel.
func SetTestHookVerified(hook func(path string)) (restore func()) {
	testHookVerified = hook
	return func() { testHookVerified = nil }
}

// PluginEnvAllow is the allow list of the plugin environment.
var PluginEnvAllow = pluginEnvAllow
