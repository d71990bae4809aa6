package store_test

import (
	"sync"
	"testing"

	"github.com/molecule-ai/molecule-host/host/store"
	"github.com/molecule-ai/molecule-host/host/store/storetest"
)

func TestMigrationsConcurrentAndIdempotent(t *testing.T) {
	t.Parallel()
	dsn := storetest.RawDSN(t)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() {
			s, err := store.Open(ctxT(t), dsn, store.Options{})
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open %d: %v", i, err)
		}
	}
	// Again, on the migrated database: nothing to do, no error.
	s, err := store.Open(ctxT(t), dsn, store.Options{})
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	s.Close()
	if n := count(t, dsn, `SELECT version FROM molecule_schema_version`); n != 1 {
		t.Errorf("schema version = %d, want 1", n)
	}
	if n := count(t, dsn, `SELECT count(*) FROM river_migration`); n < 1 {
		t.Errorf("river migrations applied = %d, want some", n)
	}
	for _, table := range []string{"workspaces", "operations", "agent_tokens", "events", "river_job"} {
		if n := count(t, dsn, `SELECT count(*) FROM pg_tables WHERE tablename = $1`, table); n != 1 {
			t.Errorf("table %s exists %d times", table, n)
		}
	}
}
