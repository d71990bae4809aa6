package pluginmgr

import (
	"strings"

	"github.com/hashicorp/go-hclog"
)

// pluginEnvAllow is the allow list of the host's environment variables a
// plugin inherits: what a process needs to run and to reach its tools,
// certificates, proxies and the Docker engine (the Docker backend defaults
// its endpoint from DOCKER_HOST). Everything else stays in the host: the
// admin token, the database URL, every backend's configuration and any
// credential the host was started with; a plugin gets its own
// configuration through Configure only. An entry ending in "*" is a prefix.
//
// Besides these, a plugin's environment holds what the host sets on
// purpose (sdk.EnvDataDir and MOLECULE_LOG_LEVEL, see pluginEnv) and what
// go-plugin appends: the handshake's magic cookie, PLUGIN_MIN_PORT,
// PLUGIN_MAX_PORT, PLUGIN_PROTOCOL_VERSIONS and PLUGIN_CLIENT_CERT.
var pluginEnvAllow = []string{
	"PATH", "HOME", "TMPDIR", "TZ", "LANG", "LC_*",
	"DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY", "DOCKER_API_VERSION",
	"SSL_CERT_FILE", "SSL_CERT_DIR",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
}

// envLogLevel is the variable sdk/pluginrpc.Serve takes its log level from.
const envLogLevel = "MOLECULE_LOG_LEVEL"

// pluginEnv returns the allowed entries of environ (KEY=value pairs, as
// os.Environ returns them) and MOLECULE_LOG_LEVEL set to the host logger's
// level, so a plugin logs what the host would print.
func pluginEnv(environ []string, level hclog.Level) []string {
	env := make([]string, 0, len(pluginEnvAllow)+2)
	for _, kv := range environ {
		if key, _, ok := strings.Cut(kv, "="); ok && envAllowed(key) {
			env = append(env, kv)
		}
	}
	if level != hclog.NoLevel {
		env = append(env, envLogLevel+"="+level.String())
	}
	return env
}

func envAllowed(key string) bool {
	for _, a := range pluginEnvAllow {
		if prefix, ok := strings.CutSuffix(a, "*"); ok && strings.HasPrefix(key, prefix) || a == key {
			return true
		}
	}
	return false
}
