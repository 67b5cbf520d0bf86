// Package testdb gives each test its own real Postgres database and its own
// Redis key prefix, so packages and tests run in parallel against the
// machine's real services.
//
// The first call in a test process builds (or finds) a template database with
// every migration applied; each test then clones it with CREATE DATABASE …
// TEMPLATE, which takes tens of milliseconds, and drops its clone when it
// ends. The template's name carries a hash of the migration files, so editing
// a migration builds a new template instead of reusing a stale one.
//
// TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) names
// the maintenance database to connect to; TEST_REDIS_URL (default
// redis://127.0.0.1:6379/0) names Redis.
package testdb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/huifang/huifang/migrations"
)

// AdminURL is the maintenance database tests connect to in order to create
// their own databases.
func AdminURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// RedisURL is the Redis server tests use.
func RedisURL() string {
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// templateLock is the advisory-lock key that serialises template builds
// across test processes ("hftpl").
const templateLock = 0x686674706c

func migrationsHash() (string, error) {
	h := sha256.New()
	var names []string
	err := fs.WalkDir(migrations.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := fs.ReadFile(migrations.FS(), n)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// withDatabase returns url with its database name replaced.
func withDatabase(raw, db string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("testdb: bad URL: %w", err)
	}
	u.Path = "/" + db
	return u.String(), nil
}

func buildTemplate(ctx context.Context) (string, error) {
	sum, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := "huifang_tpl_" + sum
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		return "", fmt.Errorf("testdb: connect to %s: %w (is Postgres running? see .ci/run)", AdminURL(), err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock($1)", templateLock); err != nil {
		return "", err
	}
	defer admin.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", templateLock) //nolint:errcheck

	var isTemplate *bool
	err = admin.QueryRow(ctx, "SELECT datistemplate FROM pg_database WHERE datname = $1", name).Scan(&isTemplate)
	switch {
	case err == nil && isTemplate != nil && *isTemplate:
		return name, nil // built by an earlier or a concurrent process
	case err == nil:
		// A build that died half-way: start again.
		if _, err := admin.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			return "", err
		}
	case err != pgx.ErrNoRows:
		return "", err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("testdb: create template: %w", err)
	}
	tplURL, err := withDatabase(AdminURL(), name)
	if err != nil {
		return "", err
	}
	pool, err := pgxpool.New(ctx, tplURL)
	if err != nil {
		return "", err
	}
	_, err = migrations.Up(ctx, pool, nil)
	pool.Close()
	if err != nil {
		return "", fmt.Errorf("testdb: migrate template: %w", err)
	}
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" IS_TEMPLATE true"); err != nil {
		return "", err
	}
	return name, nil
}

func randomSuffix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// NewURL creates a fresh, migrated database for this test and returns its
// URL; the database is dropped when the test ends. Use it when the code under
// test opens its own pool (a subprocess, a command).
func NewURL(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	templateOnce.Do(func() { templateName, templateErr = buildTemplate(ctx) })
	if templateErr != nil {
		t.Fatal(templateErr)
	}
	name := "huifang_test_" + randomSuffix()
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		t.Fatalf("testdb: connect: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s",
		pgx.Identifier{name}.Sanitize(), pgx.Identifier{templateName}.Sanitize())); err != nil {
		t.Fatalf("testdb: clone template: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, AdminURL())
		if err != nil {
			t.Errorf("testdb: drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("testdb: drop %s: %v", name, err)
		}
	})
	u, err := withDatabase(AdminURL(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// New creates a fresh, migrated database for this test and returns a pool on
// it; the pool is closed and the database dropped when the test ends.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	u := NewURL(t)
	pool, err := pgxpool.New(context.Background(), u)
	if err != nil {
		t.Fatalf("testdb: open pool: %v", err)
	}
	t.Cleanup(pool.Close) // runs before the drop registered by NewURL
	return pool
}

// Redis returns a client on the test Redis server and a key prefix unique to
// this test; keys under the prefix are deleted when the test ends.
func Redis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	opt, err := redis.ParseURL(RedisURL())
	if err != nil {
		t.Fatalf("testdb: redis URL: %v", err)
	}
	rdb := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("testdb: redis at %s: %v (is Redis running? see .ci/run)", RedisURL(), err)
	}
	prefix := "test:" + randomSuffix() + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := rdb.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		rdb.Close()
	})
	return rdb, prefix
}

// BusiestSecond returns the most calls requested of the carrier in any one
// second (attempts.requested_at, by the pace limiter's clock) and how many
// attempts reached the carrier without a requested_at.
func BusiestSecond(t testing.TB, pool *pgxpool.Pool) (busiest, unstamped int) {
	t.Helper()
	err := pool.QueryRow(context.Background(), `
SELECT COALESCE(max(n), 0), (SELECT count(*) FROM attempts WHERE carrier_sid IS NOT NULL AND requested_at IS NULL)
FROM (SELECT count(*) OVER (ORDER BY requested_at RANGE BETWEEN CURRENT ROW AND '999999 microseconds' FOLLOWING) AS n
      FROM attempts WHERE carrier_sid IS NOT NULL AND requested_at IS NOT NULL) w`).Scan(&busiest, &unstamped)
	if err != nil {
		t.Fatal(err)
	}
	return busiest, unstamped
}
