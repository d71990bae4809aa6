package pluginmgr_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/molecule-ai/molecule-host/host/pluginmgr"
	"github.com/molecule-ai/molecule-host/sdk"
	"github.com/molecule-ai/molecule-host/sdk/pluginrpc"
)

const nobody = 65534 // uid and gid of the unprivileged user nobody

// TestRefusesPathsOthersCanChange: a plugin directory (or a directory above
// it), a lock file or a plugin binary that a user other than root or the
// host's own could change is refused with a message naming it and its mode
// or owner, and nothing from it runs.
func TestRefusesPathsOthersCanChange(t *testing.T) {
	tests := map[string]struct {
		change func(t *testing.T, env pluginEnv) string // returns the path the error must name
		want   string                                   // also in the error
		// binary: only that plugin is refused (recorded unavailable), the
		// host still starts the others; otherwise nothing is loaded.
		binary bool
	}{
		"world-writable plugin dir":  {change: chmod(".", 0o777), want: "writable by group or others (mode drwxrwxrwx 0777)"},
		"group-writable plugin dir":  {change: chmod(".", 0o775), want: "(mode drwxrwxr-x 0775)"},
		"plugin dir owned by nobody": {change: chown("."), want: "plugin directory %s is owned by uid 65534"},
		"world-writable dir above":   {change: chmod("..", 0o777), want: "directory %s (above plugin directory"},
		"world-writable lock file":   {change: chmod("plugins.lock", 0o666), want: "lock file %s is writable by group or others (mode -rw-rw-rw- 0666)"},
		"lock file owned by nobody":  {change: chown("plugins.lock"), want: "lock file %s is owned by uid 65534"},
		"group-writable binary": {change: chmod("molecule-backend-fake", 0o775),
			want: "plugin binary %s is writable by group or others (mode -rwxrwxr-x 0775)", binary: true},
		"world-writable binary": {change: chmod("molecule-backend-fake", 0o757),
			want: "(mode -rwxr-xrwx 0757)", binary: true},
		"binary owned by nobody": {change: chown("molecule-backend-fake"),
			want: "plugin binary %s is owned by uid 65534", binary: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			env := mustNestedPluginDir(t)
			path := tc.change(t, env)
			want := strings.Replace(tc.want, "%s", path, 1)
			m := pluginmgr.New(env.config(nil))
			t.Cleanup(m.Close)
			err := m.Start(context.Background())
			if err == nil {
				t.Fatalf("Start = nil, want a refusal naming %s", path)
			}
			if e := contains(err.Error(), path, want); e != nil {
				t.Errorf("Start error: %v", e)
			}
			if _, verr := pluginmgr.Verify(env.dir, ""); verr == nil || !strings.Contains(verr.Error(), want) {
				t.Errorf("Verify error = %v, want one containing %q", verr, want)
			}
			if !tc.binary {
				if infos := m.Infos(); len(infos) != 0 {
					t.Errorf("Infos = %+v, want nothing loaded", infos)
				}
				return
			}
			in := infoOf(t, m, "fake")
			if in.State != pluginmgr.StateUnavailable || in.PID != 0 || !strings.Contains(in.Reason, want) {
				t.Errorf("Info = %+v, want unavailable, never started, reason containing %q", in, want)
			}
		})
	}
}

func TestStickyWorldWritableDirAboveIsAccepted(t *testing.T) {
	env := mustNestedPluginDir(t)
	chmod("..", 0o777|os.ModeSticky)(t, env) // like /tmp
	m := mustStart(t, env.config(nil))
	if in := infoOf(t, m, "fake"); in.State != pluginmgr.StateRunning {
		t.Errorf("Info = %+v, want running below a sticky directory", in)
	}
}

// mustNestedPluginDir is mustPluginDir one level down (dir/plugins), so
// that tests can change the directory above it.
func mustNestedPluginDir(tb testing.TB) pluginEnv {
	tb.Helper()
	env := mustPluginDir(tb, "molecule-backend-fake")
	nested := filepath.Join(env.dir, "plugins")
	if err := os.Mkdir(nested, 0o755); err != nil {
		tb.Fatal(err)
	}
	for _, n := range []string{"molecule-backend-fake", "plugins.lock"} {
		if err := os.Rename(filepath.Join(env.dir, n), filepath.Join(nested, n)); err != nil {
			tb.Fatal(err)
		}
	}
	env.dir = nested
	return env
}

// chmod returns a change that sets the mode of rel (relative to the plugin
// directory) and returns its path.
func chmod(rel string, mode os.FileMode) func(*testing.T, pluginEnv) string {
	return func(t *testing.T, env pluginEnv) string {
		path := filepath.Clean(filepath.Join(env.dir, rel))
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		return path
	}
}

// chown returns a change that gives rel to nobody and returns its path.
func chown(rel string) func(*testing.T, pluginEnv) string {
	return func(t *testing.T, env pluginEnv) string {
		mustRoot(t)
		path := filepath.Clean(filepath.Join(env.dir, rel))
		if err := os.Chown(path, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		return path
	}
}

func mustRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to act as another user")
	}
}

// TestSwapAfterVerifyRunsTheVerifiedBinary replaces the plugin binary at its
// listed path right after the host verified it and before it executes it:
// the process that runs must be the verified binary, and the replacement
// must never run.
func TestSwapAfterVerifyRunsTheVerifiedBinary(t *testing.T) {
	env := mustPluginDir(t, "molecule-backend-fake")
	path := filepath.Join(env.dir, "molecule-backend-fake")
	listed := mustDigest(t, path)
	marker := filepath.Join(t.TempDir(), "evil-ran")
	swaps := 0
	t.Cleanup(pluginmgr.SetTestHookVerified(func(p string) {
		if p != path || swaps > 0 {
			return
		}
		swaps++
		tmp := filepath.Join(env.dir, ".swap")
		mustWrite(t, tmp, evilScript(marker), 0o755)
		if err := os.Rename(tmp, path); err != nil {
			t.Error(err)
		}
	}))
	m := mustStart(t, env.config(nil))
	if swaps != 1 {
		t.Fatalf("the verification hook ran %d times, want 1", swaps)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatalf("marker %s exists (stat err %v): the binary swapped in after verification was executed", marker, err)
	}
	in := infoOf(t, m, "fake")
	if in.State != pluginmgr.StateRunning || in.PID <= 0 {
		t.Fatalf("Info = %+v, want the verified binary running", in)
	}
	if got := sha256File(t, filepath.Join("/proc", itoa(in.PID), "exe")); got != listed {
		t.Errorf("the running plugin's executable has sha256 %s, want the listed %s", got, listed)
	}
}

func sha256File(tb testing.TB, path string) string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestUnprivilegedUserCannotChangePlugins acts as the unprivileged user
// nobody. Against a plugin directory laid out as `make build` does (0755
// directory, 0755 binaries, 0644 lock file, all root's), every write is
// denied. When the directory is writable by nobody, nobody can swap in a
// binary of their own together with a lock file listing it, and the host
// must refuse to load anything from that directory rather than run it.
func TestUnprivilegedUserCannotChangePlugins(t *testing.T) {
	mustRoot(t)
	env := mustPluginDir(t, "molecule-backend-fake")
	if err := os.Chmod(filepath.Dir(env.dir), 0o755); err != nil { // the test's own temp root
		t.Fatal(err)
	}
	if err := os.Chmod(env.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "evil-ran") // not reachable by nobody, only by root
	evil := evilScript(marker)
	if out, err := asNobody(env.dir, evil, "cat plugins.lock molecule-backend-fake >/dev/null"); err != nil {
		t.Fatalf("nobody cannot even read the plugin dir (%v: %s): the denials below would prove nothing", err, out)
	}
	denied := map[string]string{
		"create a binary":    "printf '%s' \"$EVIL\" > molecule-backend-evil",
		"overwrite a binary": "printf '%s' \"$EVIL\" > molecule-backend-fake",
		"rename over binary": "mv plugins.lock molecule-backend-fake",
		"write the lock":     ": > plugins.lock",
		"remove the lock":    "rm -f plugins.lock",
	}
	for what, script := range denied {
		out, err := asNobody(env.dir, evil, script)
		if err == nil || !strings.Contains(out, "Permission denied") {
			t.Errorf("nobody could %s (%q): err %v, output %q", what, script, err, out)
		}
	}
	m := mustStart(t, env.config(nil))
	if in := infoOf(t, m, "fake"); in.State != pluginmgr.StateRunning {
		t.Fatalf("Info = %+v, want running from a root-only dir", in)
	}
	m.Close()

	// Now a directory nobody can write: nobody swaps in a plugin of their
	// own and relocks it, so that every digest matches.
	if err := os.Chmod(env.dir, 0o777); err != nil {
		t.Fatal(err)
	}
	attack := "printf '%s' \"$EVIL\" > .evil && chmod 755 .evil && mv .evil molecule-backend-fake && " +
		"sha256sum molecule-backend-fake > .lock && mv .lock plugins.lock"
	if out, err := asNobody(env.dir, evil, attack); err != nil {
		t.Fatalf("attack as nobody on a world-writable dir: %v: %s", err, out)
	}
	m = pluginmgr.New(env.config(nil))
	t.Cleanup(m.Close)
	err := m.Start(context.Background())
	if err == nil {
		t.Error("Start = nil, want a refusal of the world-writable plugin dir")
	} else if e := contains(err.Error(), "plugin directory "+env.dir, "0777"); e != nil {
		t.Errorf("Start error: %v", e)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("marker %s exists (stat err %v): a plugin planted by nobody ran as root", marker, err)
	}
}

// asNobody runs script with sh in dir as uid/gid nobody, with evil (a
// plugin of nobody's) in $EVIL, and returns its combined output.
func asNobody(dir, evil, script string) (string, error) {
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "EVIL=" + evil}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestPluginEnvironmentIsAllowListed starts a plugin with the host's
// secrets in the environment and reads the plugin process's environment
// back from /proc: it holds what the allow list lets through and what the
// host and go-plugin set, and none of the secrets.
func TestPluginEnvironmentIsAllowListed(t *testing.T) {
	secrets := map[string]string{
		"MOLECULE_ADMIN_TOKEN":    "admin-token-secret",
		"MOLECULE_DATABASE_URL":   "postgres://molecule:db-secret@db.example/molecule",
		"MOLECULE_BACKEND_CONFIG": `{"cp":{"shared_secret":"backend-secret"}}`,
		"CP_SHARED_SECRET":        "cp-secret",
		"AWS_SECRET_ACCESS_KEY":   "aws-secret",
	}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	passed := map[string]string{
		"DOCKER_HOST":        "unix:///run/molecule-test/docker.sock",
		"DOCKER_CERT_PATH":   "/etc/molecule-test/docker-certs",
		"LC_TIME":            "C.UTF-8",
		"https_proxy":        "http://proxy.example:3128",
		"PATH":               os.Getenv("PATH"),
		"MOLECULE_LOG_LEVEL": "DEBUG", // the host sets the plugin's own from its logger
	}
	for k, v := range passed {
		t.Setenv(k, v)
	}
	env := mustPluginDir(t, "molecule-backend-fake")
	m := mustStart(t, env.config(hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: io.Discard})))
	pid := infoOf(t, m, "fake").PID
	raw, err := os.ReadFile(filepath.Join("/proc", itoa(pid), "environ"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, kv := range strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00") {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = v
	}
	for k, v := range secrets {
		if _, ok := got[k]; ok || strings.Contains(string(raw), v) {
			t.Errorf("the plugin inherited %s", k)
		}
	}
	passed[sdk.EnvDataDir] = filepath.Join(env.data, "molecule-backend-fake")
	passed["MOLECULE_LOG_LEVEL"] = "warn"
	for k, v := range passed {
		if got[k] != v {
			t.Errorf("plugin environment %s = %q, want %q", k, got[k], v)
		}
	}
	for k := range got {
		_, ok := passed[k]
		ok = ok || k == pluginrpc.Handshake.MagicCookieKey // set by go-plugin
		if strings.HasPrefix(k, "MOLECULE_") && !ok {
			t.Errorf("plugin environment holds %s, which the host did not set on purpose", k)
		}
		if !ok && !strings.HasPrefix(k, "PLUGIN_") && !allowListed(k) {
			t.Errorf("plugin environment holds %s, which is not in the allow list", k)
		}
	}
}

func allowListed(key string) bool {
	for _, a := range pluginmgr.PluginEnvAllow {
		if p, ok := strings.CutSuffix(a, "*"); key == a || ok && strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}
