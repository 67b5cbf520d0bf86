// Package migrations holds Huifang's Postgres schema as numbered SQL files,
// embedded in the binary and applied by `huifang migrate up` and at start-up.
//
// Files follow goose's format (`-- +goose Up` / `-- +goose Down`). A session
// advisory lock serialises concurrent runs, so any number of instances may
// start at once against the same database and only one applies a migration.
// Each package adds the tables it owns by a new file; a file that has shipped
// is never edited.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed *.sql
var files embed.FS

// FS returns the embedded migration files, for tools that need the raw SQL
// (the test template builder hashes them to know when to rebuild).
func FS() fs.FS { return files }

// lockID is the advisory-lock key migrations hold while they run: "huifang" in
// ASCII, so it cannot collide with goose's default or our scheduler's lock.
const lockID = 0x68756966616e67

func provider(db *sql.DB, log *slog.Logger) (*goose.Provider, error) {
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockID))
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true)}
	if log != nil {
		opts = append(opts, goose.WithSlog(log))
	}
	return goose.NewProvider(goose.DialectPostgres, db, files, opts...)
}

// Up applies every pending migration and returns the versions it applied.
func Up(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) ([]int64, error) {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := provider(db, log)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations: up: %w", err)
	}
	applied := make([]int64, 0, len(results))
	for _, r := range results {
		applied = append(applied, r.Source.Version)
	}
	return applied, nil
}

// Status describes one migration: its version, file and when it was applied
// (zero if pending).
type Status struct {
	Version   int64
	File      string
	AppliedAt string
}

// List reports every embedded migration and whether it has been applied.
func List(ctx context.Context, pool *pgxpool.Pool) ([]Status, error) {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := provider(db, nil)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations: status: %w", err)
	}
	out := make([]Status, 0, len(st))
	for _, s := range st {
		applied := "pending"
		if s.State == goose.StateApplied {
			applied = s.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
		}
		out = append(out, Status{Version: s.Source.Version, File: s.Source.Path, AppliedAt: applied})
	}
	return out, nil
}

// Down rolls back the most recent migration (for development only).
func Down(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) (int64, error) {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := provider(db, log)
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	r, err := p.Down(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrations: down: %w", err)
	}
	return r.Source.Version, nil
}
