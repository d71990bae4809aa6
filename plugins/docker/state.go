package docker

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/molecule-ai/molecule-host/sdk"
)

// stateVersion is the schema version of the BackendState Data this backend
// writes.
const stateVersion = 1

// state is what the backend returns as BackendState.Data (JSON).
type state struct {
	ContainerID string   `json:"container_id"`
	Volumes     []string `json:"volumes"`
	Network     string   `json:"network"`
}

func (st state) encode() sdk.BackendState {
	raw, _ := json.Marshal(st)
	return sdk.BackendState{Data: raw, Version: stateVersion}
}

// workspaceIDRE keeps derived Docker names valid.
var workspaceIDRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$`)

// containerName is the container of a workspace: derived from the full
// workspace id, so two ids never share a container.
func containerName(id string) string { return "molecule-ws-" + id }

// configVolume holds the workspace's config files, mounted at /configs.
// It is derived from the request and re-created with the container.
func configVolume(id string) string { return "molecule-ws-" + id + "-config" }

// dataVolume holds the workspace's own files, mounted at /workspace; it survives
// re-creation and is removed only by Destroy with RemoveVolumes.
func dataVolume(id string) string { return "molecule-ws-" + id + "-data" }

func labels(req *sdk.StartRequest, spec string) map[string]string {
	l := map[string]string{LabelManaged: "true", LabelWorkspaceID: req.WorkspaceID, LabelOrgID: req.OrgID}
	if spec != "" {
		l[LabelSpec] = spec
	}
	return l
}

// specHash is the sha256 of the request minus State and AgentToken, plus
// what of the configuration shapes the container (network, user) and the
// hardening version: equal hashes mean an existing container can be started
// as it is. The token is not part of the container (it is delivered as a
// file, writeToken), so a start with only a new token keeps the container.
func specHash(req *sdk.StartRequest, s *settings) string {
	r := *req
	r.State = sdk.BackendState{}
	r.AgentToken = ""
	raw, err := json.Marshal(struct {
		Request   *sdk.StartRequest
		Network   string
		User      string
		Hardening int
	}{&r, s.network, s.user, hardening})
	if err != nil {
		panic(fmt.Sprintf("docker: marshal start request: %v", err)) // plain data: cannot fail
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}
