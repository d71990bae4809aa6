package dispatch_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/host/dispatch"
	"github.com/molecule-ai/molecule-host/sdk"
)

// placer is a backend whose Start answers with a fixed placement.
type placer struct{ resp sdk.StartResponse }

func (p *placer) Manifest(context.Context) (*sdk.Manifest, error) {
	return &sdk.Manifest{Name: "placer", ProtocolVersion: sdk.ProtocolVersion, Capabilities: sdk.CapabilitiesOf(p)}, nil
}
func (p *placer) Configure(context.Context, *sdk.ConfigureRequest) (*sdk.ConfigureResponse, error) {
	return &sdk.ConfigureResponse{}, nil
}
func (p *placer) Start(context.Context, *sdk.StartRequest) (*sdk.StartResponse, error) {
	r := p.resp
	return &r, nil
}
func (p *placer) Stop(context.Context, *sdk.StopRequest) (*sdk.StopResponse, error) {
	return &sdk.StopResponse{}, nil
}
func (p *placer) Destroy(context.Context, *sdk.DestroyRequest) (*sdk.DestroyResponse, error) {
	return &sdk.DestroyResponse{}, nil
}
func (p *placer) Status(context.Context, *sdk.StatusRequest) (*sdk.StatusResponse, error) {
	return &sdk.StatusResponse{}, nil
}
func (p *placer) ListManaged(context.Context, *sdk.ListManagedRequest) (*sdk.ListManagedResponse, error) {
	return &sdk.ListManagedResponse{}, nil
}

type one struct{ b *placer }

func (o one) Backend(string) (sdk.Backend, *sdk.Manifest, error) {
	m, _ := o.b.Manifest(context.Background())
	return o.b, m, nil
}

// TestStartChecksPlacement: a backend cannot make the host record (and so
// the A2A proxy dial) a unix socket other than the workspace's own agent
// socket, a link-local or metadata address, or a malformed endpoint.
func TestStartChecksPlacement(t *testing.T) {
	const dir = "/srv/molecule/agents/ws-1"
	tests := map[string]struct {
		resp    sdk.StartResponse
		want    string // the recorded address; "" means refused
		wantErr string
	}{
		"own agent socket":         {resp: sdk.StartResponse{Endpoint: "unix:" + dir + "/agent.sock"}, want: "unix:" + dir + "/agent.sock"},
		"host and port":            {resp: sdk.StartResponse{Endpoint: "127.0.1.7:8000"}, want: "127.0.1.7:8000"},
		"legacy bare address":      {resp: sdk.StartResponse{Address: "127.0.0.1"}, want: "127.0.0.1"},
		"docker's socket":          {resp: sdk.StartResponse{Endpoint: "unix:/var/run/docker.sock"}, wantErr: "is not this workspace's agent socket"},
		"another workspace socket": {resp: sdk.StartResponse{Endpoint: "unix:/srv/molecule/agents/ws-2/agent.sock"}, wantErr: "is not this workspace's agent socket"},
		"escaping path":            {resp: sdk.StartResponse{Endpoint: "unix:" + dir + "/../ws-2/agent.sock"}, wantErr: "is not this workspace's agent socket"},
		"metadata endpoint":        {resp: sdk.StartResponse{Endpoint: "169.254.169.254:80"}, wantErr: "link-local"},
		"metadata v6":              {resp: sdk.StartResponse{Endpoint: "[fd00:ec2::254]:80"}, wantErr: "metadata"},
		"metadata address":         {resp: sdk.StartResponse{Address: "169.254.169.254"}, wantErr: "link-local"},
		"unspecified":              {resp: sdk.StartResponse{Endpoint: "0.0.0.0:8000"}, wantErr: "unspecified"},
		"no port":                  {resp: sdk.StartResponse{Endpoint: "127.0.0.1"}, wantErr: "neither host:port"},
		"port zero":                {resp: sdk.StartResponse{Endpoint: "127.0.0.1:0"}, wantErr: "neither host:port"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d := dispatch.New(one{&placer{resp: tc.resp}}, slog.New(slog.DiscardHandler), dispatch.DefaultRetry)
			p, err := d.Start(context.Background(), dispatch.StartSpec{
				Workspace: &host.Workspace{ID: "ws-1", Backend: "placer"}, AgentDir: dir,
			})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !sdk.IsKind(err, sdk.KindInternal) {
					t.Fatalf("Start = %+v, %v; want an internal error containing %q", p, err, tc.wantErr)
				}
				return
			}
			if err != nil || p.Address != tc.want {
				t.Fatalf("Start = %+v, %v; want address %q", p, err, tc.want)
			}
		})
	}
}

// failing is a backend whose Start fails with err, counting calls.
type failing struct {
	placer
	err   error
	calls int
}

func (f *failing) Start(context.Context, *sdk.StartRequest) (*sdk.StartResponse, error) {
	f.calls++
	return nil, f.err
}

type oneFailing struct{ b *failing }

func (o oneFailing) Backend(string) (sdk.Backend, *sdk.Manifest, error) {
	m, _ := o.b.placer.Manifest(context.Background())
	return o.b, m, nil
}

// TestPluginExitNotResent: a transient error is retried, but not one during
// which the plugin exited: that request may be what kills the plugin.
func TestPluginExitNotResent(t *testing.T) {
	for name, tc := range map[string]struct {
		err       error
		wantCalls int
	}{
		"transient":     {sdk.Errorf(sdk.KindTransient, "start", "busy"), 3},
		"plugin exited": {&sdk.Error{Kind: sdk.KindTransient, Op: "start", Message: "The backend plugin exited during the call.", Err: sdk.ErrPluginUnavailable}, 1},
	} {
		t.Run(name, func(t *testing.T) {
			b := &failing{err: tc.err}
			d := dispatch.New(oneFailing{b}, slog.New(slog.DiscardHandler), dispatch.RetryPolicy{Attempts: 3, Initial: time.Millisecond, Max: time.Millisecond})
			_, err := d.Start(context.Background(), dispatch.StartSpec{Workspace: &host.Workspace{ID: "ws-1", Backend: "placer"}})
			if err == nil || b.calls != tc.wantCalls {
				t.Fatalf("Start = %v after %d calls, want an error after %d", err, b.calls, tc.wantCalls)
			}
			if got := dispatch.PluginExited(err); got != (tc.wantCalls == 1) {
				t.Fatalf("PluginExited = %v", got)
			}
		})
	}
}
