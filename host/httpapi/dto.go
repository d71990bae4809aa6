package httpapi

import (
	"time"

	"github.com/molecule-ai/molecule-host/host"
)

type workspaceDTO struct {
	ID                string            `json:"id"`
	Name              string            `json:"name"`
	Backend           string            `json:"backend"`
	Runtime           string            `json:"runtime"`
	Tier              int               `json:"tier"`
	Status            host.Status       `json:"status"`
	StatusReason      string            `json:"status_reason"`
	URL               string            `json:"url"`
	ConfigHash        string            `json:"config_hash"`
	Config            map[string]string `json:"config"`
	ProvisionDeadline *time.Time        `json:"provision_deadline"`
	LastHeartbeatAt   *time.Time        `json:"last_heartbeat_at"`
	CreatedAt         time.Time         `json:"created_at"`
	UpdatedAt         time.Time         `json:"updated_at"`
}

func toWorkspace(ws *host.Workspace) workspaceDTO {
	cfg := ws.Config
	if cfg == nil {
		cfg = map[string]string{}
	}
	return workspaceDTO{
		ID: ws.ID, Name: ws.Name, Backend: ws.Backend, Runtime: ws.Runtime, Tier: ws.Tier,
		Status: ws.Status, StatusReason: ws.StatusReason, URL: ws.URL, ConfigHash: ws.ConfigHash,
		Config: cfg, ProvisionDeadline: ws.ProvisionDeadline, LastHeartbeatAt: ws.LastHeartbeatAt,
		CreatedAt: ws.CreatedAt, UpdatedAt: ws.UpdatedAt,
	}
}

type operationDTO struct {
	ID          string              `json:"id"`
	WorkspaceID string              `json:"workspace_id"`
	Verb        host.Verb           `json:"verb"`
	State       host.OperationState `json:"state"`
	Step        string              `json:"step"`
	Attempts    int                 `json:"attempts"`
	Error       *opErrorDTO         `json:"error"`
	CreatedAt   time.Time           `json:"created_at"`
	UpdatedAt   time.Time           `json:"updated_at"`
	FinishedAt  *time.Time          `json:"finished_at"`
}

type opErrorDTO struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func toOperation(op *host.Operation) operationDTO {
	d := operationDTO{ID: op.ID, WorkspaceID: op.WorkspaceID, Verb: op.Verb, State: op.State, Step: op.Step,
		Attempts: op.Attempts, CreatedAt: op.CreatedAt, UpdatedAt: op.UpdatedAt, FinishedAt: op.FinishedAt}
	if op.State == host.OpFailed {
		code := op.ErrorKind
		if ks, ok := kindByName[code]; ok {
			code = ks
		}
		d.Error = &opErrorDTO{Code: code, Message: op.ErrorMessage}
	}
	return d
}

// kindByName maps sdk kind names to API codes where they differ.
var kindByName = map[string]string{"unsupported": "not_implemented"}

type acceptedDTO struct {
	Workspace workspaceDTO `json:"workspace"`
	Operation operationDTO `json:"operation"`
}
