package migrations_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/internal/testdb"
	"github.com/huifang/huifang/migrations"
)

func TestUpIsIdempotentAndListed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.New(t) // already migrated from the template
	applied, err := migrations.Up(ctx, pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 {
		t.Fatalf("second Up applied %v, want nothing", applied)
	}
	st, err := migrations.List(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) == 0 || st[0].Version != 1 {
		t.Fatalf("status = %+v, want migration 1 first", st)
	}
	for _, s := range st {
		if s.AppliedAt == "pending" {
			t.Errorf("migration %d pending after Up", s.Version)
		}
	}
}

func TestAuditLogIsAppendOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.New(t)
	if _, err := pool.Exec(ctx, `INSERT INTO audit_log (actor, action) VALUES ('test', 'created')`); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`UPDATE audit_log SET actor = 'someone else'`,
		`DELETE FROM audit_log`,
		`TRUNCATE audit_log`,
	} {
		_, err := pool.Exec(ctx, stmt)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want append-only refusal", stmt, err)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE actor = 'test'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("audit rows = %d (%v), want 1 untouched", n, err)
	}
}

// Concurrent instances starting at once must not race each other's migrations.
func TestConcurrentUpOnEmptyDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.New(t)
	// Start from an empty schema in the same database.
	if _, err := pool.Exec(ctx, `DROP SCHEMA public CASCADE; CREATE SCHEMA public`); err != nil {
		t.Fatal(err)
	}
	url := pool.Config().ConnString()
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			p, err := pgxpool.New(ctx, url)
			if err != nil {
				errs <- err
				return
			}
			defer p.Close()
			_, err = migrations.Up(ctx, p, nil)
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent Up: %v", err)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	st, _ := migrations.List(ctx, pool)
	if n != len(st) {
		t.Fatalf("goose_db_version has %d applied rows, want %d (one per migration)", n, len(st))
	}
}
