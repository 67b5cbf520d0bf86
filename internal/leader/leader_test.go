package leader_test

import (
	"context"
	"testing"
	"time"

	"github.com/huifang/huifang/internal/leader"
	"github.com/huifang/huifang/internal/testdb"
)

func TestOneLeaderAtATimeAndTakeover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.New(t)
	a := leader.New(pool, 42, nil)
	b := leader.New(pool, 42, nil)
	t.Cleanup(func() { a.Resign(ctx); b.Resign(ctx) })
	if !a.IsLeader(ctx) {
		t.Fatal("first elector did not become leader")
	}
	if b.IsLeader(ctx) {
		t.Fatal("second elector became leader while the first holds the lock")
	}
	if !a.IsLeader(ctx) {
		t.Fatal("leader lost the lock without resigning")
	}
	a.Resign(ctx)
	if !b.IsLeader(ctx) {
		t.Fatal("second elector did not take over after the first resigned")
	}
	if a.IsLeader(ctx) {
		t.Fatal("two leaders at once")
	}
	// A different key is a different duty.
	c := leader.New(pool, 43, nil)
	if !c.IsLeader(ctx) {
		t.Fatal("a different key should be free")
	}
	c.Resign(ctx)
	b.Resign(ctx)
}

func TestLeaderWhoseConnectionDiesIsReplaced(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.New(t)
	a := leader.New(pool, 7, nil)
	b := leader.New(pool, 7, nil)
	t.Cleanup(func() { a.Resign(ctx); b.Resign(ctx) })
	if !a.IsLeader(ctx) {
		t.Fatal("no leader")
	}
	// Kill the leader's backend as a crashed instance would lose it.
	if _, err := pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND objid = 7 AND granted`); err != nil {
		t.Fatal(err)
	}
	// pg_terminate_backend only signals; wait for the backend to be gone.
	deadline := time.Now().Add(10 * time.Second)
	for !b.IsLeader(ctx) {
		if time.Now().After(deadline) {
			t.Fatal("the lock was not freed when the leader's connection died")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if a.IsLeader(ctx) {
		t.Fatal("the old leader still believes it leads")
	}
	b.Resign(ctx)
}
