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
		tb.Skip("needs root: the attack runs as another user and instances drop to uids of their own")
	}
}

// asNobody runs name args as uid and gid 65534 and returns its output.
func asNobody(tb testing.TB, name string, args ...string) (string, error) {
	tb.Helper()
	return asUser(tb, &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}, name, args...)
}

// asUser runs name args as cred and returns its output.
func asUser(tb testing.TB, cred *syscall.Credential, name string, args ...string) (string, error) {
	tb.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
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
		"--shared-secret-file", file, "--kill-instances-on-exit", "--address-pool", poolFor(dataDir).String())
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
	// The instance runs as a uid of its own: its environment is that uid's
	// to read, so it must hold nothing of the control plane's.
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

// TestInstancesRunAsUIDsOfTheirOwn: a control plane running as root runs
// each instance as a uid (and gid) of its own from the range, never shared
// and never a user's: code running as one instance's uid can read neither
// the environment of another instance's processes (its agent token, the
// secrets its code holds) nor its user data. An
// instance keeps its uid across a restart of the control plane and a reboot,
// and what it writes is its uid's.
func TestInstancesRunAsUIDsOfTheirOwn(t *testing.T) {
	mustRoot(t)
	env, host := mustCP(t, "", cplocal.Faults{}), mustFakeHost(t)
	b, ctx := mustBackend(t, env.ts.URL, nil), context.Background()
	ids := map[string]string{}
	for _, ws := range []string{"ws-a", "ws-b"} {
		st, err := b.Start(ctx, startRequest(host, ws, filesA))
		if err != nil {
			t.Fatalf("start %s: %v", ws, err)
		}
		ids[ws] = stateOf(t, st.State).InstanceID
		waitFor(t, 20*time.Second, ws+" config applied", func() bool { return host.applied(ws, agentapi.ConfigHash(filesA)) > 0 })
	}
	pid := func(ws string) int {
		t.Helper()
		pids := agentPIDs(t, ids[ws])
		if len(pids) != 1 {
			t.Fatalf("agent pids of %s = %v, want one", ws, pids)
		}
		return pids[0]
	}
	uid := func(ws string) uint32 {
		t.Helper()
		u := uidOf(t, pid(ws))
		if u[0] != u[1] || u[0] != u[2] || u[0] != u[3] || !(cplocal.DefaultInstanceUIDs.First <= u[0] && u[0] <= cplocal.DefaultInstanceUIDs.Last) {
			t.Fatalf("%s runs as uids %v, want one uid of %s", ws, u, cplocal.DefaultInstanceUIDs)
		}
		return u[0]
	}
	uidA, uidB := uid("ws-a"), uid("ws-b")
	if uidA == uidB {
		t.Fatalf("ws-a and ws-b both run as uid %d", uidA)
	}
	disk := func(ws string) string { return filepath.Join(env.dataDir, "instances", ids[ws]) }
	fi, err := os.Stat(filepath.Join(disk("ws-a"), "configs", "prompt.md"))
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Sys().(*syscall.Stat_t).Uid; got != uidA {
		t.Errorf("a config file ws-a wrote is owned by %d, want %d", got, uidA)
	}
	// As ws-a's uid: its own user data is readable (so the refusals below
	// are about the other instance, not the attack itself).
	asA := &syscall.Credential{Uid: uidA, Gid: uidA, Groups: []uint32{}}
	asB := &syscall.Credential{Uid: uidB, Gid: uidB, Groups: []uint32{}}
	if out, err := asUser(t, asA, "cat", filepath.Join(disk("ws-a"), "user-data.json")); err != nil || !strings.Contains(out, "config_files") {
		t.Fatalf("ws-a's uid cannot read its own user data (%v: %q): the checks below would prove nothing", err, out)
	}
	// Code ws-b runs holds ws-b's environment (its secrets) in a process of
	// ws-b's uid, dumpable unlike the agent.
	code := exec.Command("sleep", "600")
	code.Env = []string{"WORKSPACE_SECRET=ws-b-secret"}
	code.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: asB}
	if err := code.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = code.Process.Kill(); _ = code.Wait() })
	codeEnv := "/proc/" + strconv.Itoa(code.Process.Pid) + "/environ"
	if out, err := asUser(t, asB, "cat", codeEnv); err != nil || !strings.Contains(out, "ws-b-secret") {
		t.Fatalf("ws-b's uid cannot read its own code's environment (%v: %q): the checks below would prove nothing", err, out)
	}
	for _, f := range []string{codeEnv, "/proc/" + strconv.Itoa(pid("ws-b")) + "/environ", filepath.Join(disk("ws-b"), "user-data.json")} {
		if out, err := asUser(t, asA, "cat", f); err == nil || strings.Contains(out, agentToken) || strings.Contains(out, "ws-b-secret") || strings.Contains(out, "config_files") {
			t.Errorf("ws-a's uid read ws-b's %s: %v %q", f, err, out)
		}
	}

	env.close(false) // instances outlive the control plane and are re-adopted
	env2 := mustCP(t, env.dataDir, cplocal.Faults{})
	b2 := mustBackend(t, env2.ts.URL, nil)
	if got := uid("ws-a"); got != uidA {
		t.Fatalf("ws-a runs as %d after the restart, want %d", got, uidA)
	}
	if _, err := b2.Stop(ctx, &sdk.StopRequest{WorkspaceID: "ws-a"}); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if _, err := b2.Start(ctx, startRequest(host, "ws-a", filesA)); err != nil {
		t.Fatalf("start again: %v", err)
	}
	waitFor(t, 20*time.Second, "ws-a booted again", func() bool { return host.applied("ws-a", agentapi.ConfigHash(filesA)) == 2 })
	if got := uid("ws-a"); got != uidA {
		t.Errorf("ws-a runs as %d after a reboot under the restarted control plane, want its own %d", got, uidA)
	}
	st, err := b2.Start(ctx, startRequest(host, "ws-c", filesA))
	if err != nil {
		t.Fatalf("start ws-c: %v", err)
	}
	ids["ws-c"] = stateOf(t, st.State).InstanceID
	waitFor(t, 20*time.Second, "ws-c running", func() bool { return len(agentPIDs(t, ids["ws-c"])) == 1 })
	if got := uid("ws-c"); got == uidA || got == uidB {
		t.Errorf("ws-c was given uid %d, which a live instance holds (ws-a %d, ws-b %d)", got, uidA, uidB)
	}
}

// TestStopKillsEveryProcessOfTheInstanceUID: a process of an instance's uid
// that left the agent's session (as workspace code may) does not outlive
// the instance's stop, so it can neither keep running nor meet whoever gets
// the uid next.
func TestStopKillsEveryProcessOfTheInstanceUID(t *testing.T) {
	mustRoot(t)
	env, host := mustCP(t, "", cplocal.Faults{}), mustFakeHost(t)
	b, ctx := mustBackend(t, env.ts.URL, nil), context.Background()
	st, err := b.Start(ctx, startRequest(host, "ws-stray", filesA))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	id := stateOf(t, st.State).InstanceID
	waitFor(t, 20*time.Second, "agent running", func() bool { return len(agentPIDs(t, id)) == 1 })
	u := uidOf(t, agentPIDs(t, id)[0])
	stray := exec.Command("sleep", "600")
	stray.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: &syscall.Credential{Uid: u[0], Gid: u[0], Groups: []uint32{}}}
	if err := stray.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- stray.Wait() }()
	t.Cleanup(func() { _ = stray.Process.Kill(); <-done })
	if _, err := b.Stop(ctx, &sdk.StopRequest{WorkspaceID: "ws-stray"}); err != nil {
		t.Fatalf("stop: %v", err)
	}
	select {
	case err := <-done:
		done <- err // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatalf("a process of the instance's uid %d outlived the instance's stop", u[0])
	}
}
