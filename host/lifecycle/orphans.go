package lifecycle

import (
	"context"
	"sort"

	"github.com/molecule-ai/molecule-host/host"
	"github.com/molecule-ai/molecule-host/sdk"
)

// Orphan is something a backend holds for a workspace the store has no live
// row for: a leak.
type Orphan struct {
	Backend     string
	WorkspaceID string
	Resources   []string
}

// OrphanReport is the result of an orphan listing: the orphans found and,
// per backend that could not be asked, why.
type OrphanReport struct {
	Orphans []Orphan
	Skipped map[string]string
}

// Orphans asks each named backend what it holds (one ListManaged call each)
// and returns what no live workspace accounts for.
func (s *Service) Orphans(ctx context.Context, backends []string) (*OrphanReport, error) {
	rep := &OrphanReport{Skipped: map[string]string{}}
	for _, name := range backends {
		held, err := s.dispatch.ListManaged(ctx, name)
		if err != nil {
			rep.Skipped[name] = userMessage(err)
			continue
		}
		for _, m := range held {
			ws, err := s.store.GetWorkspace(ctx, m.WorkspaceID)
			switch {
			case sdk.IsKind(err, sdk.KindNotFound):
			case err != nil:
				return nil, err
			case ws.Status != host.StatusRemoved && ws.Backend == name:
				continue // accounted for
			}
			rep.Orphans = append(rep.Orphans, Orphan{Backend: name, WorkspaceID: m.WorkspaceID, Resources: m.Resources})
		}
	}
	sort.Slice(rep.Orphans, func(i, j int) bool {
		a, b := rep.Orphans[i], rep.Orphans[j]
		return a.Backend+a.WorkspaceID < b.Backend+b.WorkspaceID
	})
	return rep, nil
}
