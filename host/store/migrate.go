package store

import (
	"context"
	"embed"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// versionTable is tern's bookkeeping table for the host's schema.
const versionTable = "molecule_schema_version"

// migrateLockKey is the advisory lock held while both migration sets run,
// so two hosts opening the same database at once apply each set once.
const migrateLockKey = 0x6d6f6c6563756c65 // "molecule"

// applyMigrations applies the host's tern migrations, then River's, on one
// connection holding migrateLockKey.
func applyMigrations(ctx context.Context, pool *pgxpool.Pool) error {
	const op = "store.migrate"
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return dbError(op, err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(migrateLockKey)); err != nil {
		return dbError(op, err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(migrateLockKey))

	if err := migrateSchema(ctx, conn.Conn()); err != nil {
		return internal(op, err)
	}
	if err := migrateRiver(ctx, pool); err != nil {
		return internal(op, err)
	}
	return nil
}

func migrateSchema(ctx context.Context, conn *pgx.Conn) error {
	m, err := migrate.NewMigrator(ctx, conn, versionTable)
	if err != nil {
		return err
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	if err := m.LoadMigrations(sub); err != nil {
		return err
	}
	return m.Migrate(ctx)
}

// migrateRiver applies River's migrations. River runs each version in its
// own transaction (one adds an enum value a later statement uses, which
// cannot share a transaction), on pool connections; the caller's advisory
// lock still keeps two hosts from migrating at once.
func migrateRiver(ctx context.Context, pool *pgxpool.Pool) error {
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}
