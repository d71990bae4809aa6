package cp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/agentapi"
	"github.com/molecule-ai/molecule-host/plugins/cp/cplocal"
	"github.com/molecule-ai/molecule-host/sdk"
)

const nobody = 65534

func mustRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root: the attack runs as another user and instances drop to nobody")
	}
}

// asNobody runs name args as uid and gid 65534 and returns its output.
func asNobody(tb testing.TB, name string, args ...string) (string, error) {
	tb.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestLocalUserCannotReadCPSecrets starts molecule-cp-local as a test
// harness or run.sh does (shared secret in a file, admin token in its
// environment) and attacks it as user nobody: neither secret is on its
// command line, nor readable in the secret file or its environment, nor in
// the environment of an instance it runs.
func TestLocalUserCannotReadCPSecrets(t *testing.T) {
	mustRoot(t)
	secretDir := t.TempDir()
	file := filepath.Join(secretDir, "shared-secret")
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(secretDir, 0o755); err != nil { // the file's own mode is what protects it
		t.Fatal(err)
	}
	dataDir, host := mustDataDir(t), mustFakeHost(t)
	ready := filepath.Join(t.TempDir(), "ready.json")
	cmd := exec.Command(filepath.Join(binDir, "molecule-cp-local"), "--data-dir", dataDir, "--ready-file", ready,
		"--shared-secret-file", file, "--kill-instances-on-exit")
	cmd.Env = append(os.Environ(), "MOLECULE_CP_ADMIN_TOKEN="+adminToken)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	var r struct{ URL string }
	waitFor(t, 20*time.Second, "the ready file", func() bool {
		raw, err := os.ReadFile(ready)
		return err == nil && json.Unmarshal(raw, &r) == nil && r.URL != ""
	})
	b := mustBackend(t, r.URL, nil)
	st, err := b.Start(context.Background(), startRequest(host, "ws-secrets", filesA))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	id := stateOf(t, st.State).InstanceID
	waitFor(t, 20*time.Second, "agent running", func() bool { return len(agentPIDs(t, id)) == 1 })
	proc := "/proc/" + strconv.Itoa(cmd.Process.Pid)
	instProc := "/proc/" + strconv.Itoa(agentPIDs(t, id)[0])

	cmdline, err := os.ReadFile(proc + "/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	seen, err := asNobody(t, "cat", proc+"/cmdline")
	if err != nil || !strings.Contains(seen, "--data-dir") {
		t.Fatalf("nobody could not read the command line at all (%v: %q): the check below would prove nothing", err, seen)
	}
	for _, s := range []string{secret, adminToken} {
		if bytes.Contains(cmdline, []byte(s)) || strings.Contains(seen, s) {
			t.Errorf("the command line %q holds a secret", cmdline)
		}
	}
	for _, f := range []string{file, proc + "/environ"} {
		if out, err := asNobody(t, "cat", f); err == nil || strings.Contains(out, secret) || strings.Contains(out, adminToken) {
			t.Errorf("nobody read %s: %v %q", f, err, out)
		}
	}
	// The instance runs as nobody: its environment is nobody's to read, so
	// it must hold nothing of the control plane's.
	environ, err := os.ReadFile(instProc + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(environ, []byte(adminToken)) || bytes.Contains(environ, []byte(secret)) {
		t.Errorf("the instance inherited the control plane's secrets: %q", environ)
	}
}

// TestCPLocalRefusesSecretFlagsAndOpenFiles: a secret given as a flag
// value, or in a file others can read, is refused with a message saying
// what to do.
func TestCPLocalRefusesSecretFlagsAndOpenFiles(t *testing.T) {
	t.Parallel()
	open := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(open, []byte("s3cret"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"shared secret value": {[]string{"--shared-secret", "s3cret"}, "--shared-secret-file"},
		"admin token value":   {[]string{"--admin-token", "s3cret"}, "--admin-token-file"},
		"readable file":       {[]string{"--shared-secret-file", open}, open + " has mode 0644"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// A binary that accepts the flag serves until killed: bound the wait.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, filepath.Join(binDir, "molecule-cp-local"), append([]string{"--data-dir", t.TempDir()}, c.args...)...)
			cmd.Env = []string{"MOLECULE_CP_ADMIN_TOKEN=a", "MOLECULE_CP_SHARED_SECRET=s"}
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), c.want) {
				t.Fatalf("molecule-cp-local %q = %v, %q; want a failure naming %s", c.args, err, out, c.want)
			}
		})
	}
}

// provisionRaw sends a provision call straight to the control plane, as
// any holder of the shared secret could.
func provisionRaw(tb testing.TB, url string, req cplocal.ProvisionRequest) cplocal.Instance {
	tb.Helper()
	raw, _ := json.Marshal(req)
	hr, _ := http.NewRequest("POST", url+"/cp/workspaces/provision", bytes.NewReader(raw))
	hr.Header.Set("Authorization", "Bearer "+secret)
	hr.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var in cplocal.Instance
	if resp.StatusCode/100 != 2 || json.NewDecoder(resp.Body).Decode(&in) != nil {
		tb.Fatalf("provision: status %d", resp.StatusCode)
	}
	return in
}

// TestUserDataCannotRedirectTheAgent: user data that sets the config
// directory (or preloads a library) does not boot; nothing is written
// where it points, and the console names the variable.
func TestUserDataCannotRedirectTheAgent(t *testing.T) {
	env := mustCP(t, "", cplocal.Faults{})
	for _, name := range []string{agentapi.EnvConfigDir, "LD_PRELOAD"} {
		t.Run(name, func(t *testing.T) {
			target := filepath.Join(mustDataDir(t), "target")
			ud, _ := json.Marshal(agentapi.UserData{Env: map[string]string{name: target},
				ConfigFiles: map[string][]byte{"pwned.txt": []byte("x")}})
			ws := "ws-" + strings.ToLower(strings.ReplaceAll(name, "_", "-"))
			in := provisionRaw(t, env.ts.URL, cplocal.ProvisionRequest{OrgID: "local", WorkspaceID: ws, Runtime: "default", UserData: string(ud)})
			var got cplocal.Instance
			waitFor(t, 20*time.Second, "the instance to stop", func() bool {
				for _, i := range env.srv.Instances() {
					if i.WorkspaceID == ws && i.State == cplocal.StateStopped {
						got = i
						return true
					}
				}
				return false
			})
			console, _ := os.ReadFile(filepath.Join(env.dataDir, "instances", in.InstanceID, "console.log"))
			if !strings.Contains(string(console), "may not set "+name) || !strings.Contains(got.StateReason, "exited") {
				t.Errorf("instance %+v, console %q: want a failed boot naming %s", got, console, name)
			}
			if _, err := os.Stat(filepath.Join(target, "pwned.txt")); err == nil {
				t.Errorf("user data wrote %s", filepath.Join(target, "pwned.txt"))
			}
		})
	}
}

// TestInstancesRunAsNobody: a control plane running as root runs its
// instances as nobody, and what they write is not root's.
func TestInstancesRunAsNobody(t *testing.T) {
	mustRoot(t)
	env, host := mustCP(t, "", cplocal.Faults{}), mustFakeHost(t)
	b := mustBackend(t, env.ts.URL, nil)
	st, err := b.Start(context.Background(), startRequest(host, "ws-nobody", filesA))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	id := stateOf(t, st.State).InstanceID
	waitFor(t, 20*time.Second, "config applied", func() bool { return host.applied("ws-nobody", agentapi.ConfigHash(filesA)) > 0 })
	pids := agentPIDs(t, id)
	if len(pids) != 1 {
		t.Fatalf("agent pids = %v", pids)
	}
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pids[0]) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(status), "\nUid:\t65534\t65534\t65534\t65534\n") {
		t.Errorf("instance process status:\n%s\nwant uid 65534", status)
	}
	fi, err := os.Stat(filepath.Join(env.dataDir, "instances", id, "configs", "prompt.md"))
	if err != nil {
		t.Fatal(err)
	}
	if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != nobody {
		t.Errorf("a config file the instance wrote is owned by %d, want %d", uid, nobody)
	}
	if _, err := b.Destroy(context.Background(), &sdk.DestroyRequest{WorkspaceID: "ws-nobody"}); err != nil {
		t.Fatal(err)
	}
}
