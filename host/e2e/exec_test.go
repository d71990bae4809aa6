package e2e_test

import (
	"os/exec"
	"path/filepath"
	"testing"
)

func runHost(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(filepath.Join(bin, "molecule-host"), args...).CombinedOutput()
	return string(out), err
}
