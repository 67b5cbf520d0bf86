package pace

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/huifang/huifang/internal/testdb"
)

func TestSemaphoreNeverAdmitsMoreThanLimit(t *testing.T) {
	t.Parallel()
	rdb, prefix := testdb.Redis(t)
	const (
		limit      = 3
		acquirers  = 20
		perWorker  = 10
		leaseTTL   = 10 * time.Second
		holdFor    = 2 * time.Millisecond
		retryEvery = 200 * time.Microsecond
	)
	var inside, most atomic.Int64
	var wg sync.WaitGroup
	for w := range acquirers {
		sem := NewSemaphore(rdb, prefix) // one per "instance"
		wg.Go(func() {
			for i := range perWorker {
				holder := fmt.Sprintf("w%d:call%d", w, i)
				for {
					ok, err := sem.Acquire(t.Context(), "campaign-1", limit, holder, leaseTTL)
					if err != nil {
						t.Error(err)
						return
					}
					if ok {
						break
					}
					time.Sleep(retryEvery)
				}
				n := inside.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				if n > limit {
					t.Errorf("%d holders inside, limit %d", n, limit)
				}
				time.Sleep(holdFor) // the "call"
				inside.Add(-1)
				if err := sem.Release(t.Context(), "campaign-1", holder); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	t.Logf("at most %d of %d inside at once", most.Load(), limit)
	if most.Load() != limit {
		t.Errorf("at most %d inside at once; with %d contenders want the cap of %d reached", most.Load(), acquirers, limit)
	}
	if n, err := NewSemaphore(rdb, prefix).Count(t.Context(), "campaign-1"); err != nil || n != 0 {
		t.Errorf("Count after all released = %d, %v; want 0", n, err)
	}
}

func TestExpiredLeaseFreesItsSlot(t *testing.T) {
	t.Parallel()
	rdb, prefix := testdb.Redis(t)
	sem := NewSemaphore(rdb, prefix)
	ctx := t.Context()

	before := serverNow(t, rdb)
	if ok, err := sem.Acquire(ctx, "c", 1, "dead-instance:call1", 200*time.Millisecond); err != nil || !ok {
		t.Fatalf("Acquire = %v, %v; want true", ok, err)
	}
	if ok, err := sem.Acquire(ctx, "c", 1, "live:call2", time.Second); err != nil || ok {
		t.Fatalf("second Acquire = %v, %v; want false while the lease lives", ok, err)
	}
	// The dead instance never refreshes; poll until its slot frees.
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok, err := sem.Acquire(ctx, "c", 1, "live:call2", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("expired lease never freed its slot")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Measured on Redis's clock: the slot freed no sooner than the lease ran out.
	if waited := serverNow(t, rdb).Sub(before); waited < 200*time.Millisecond {
		t.Errorf("slot freed after %v, before the 200ms lease ran out", waited)
	}
	if ok, err := sem.Refresh(ctx, "c", "dead-instance:call1", time.Second); err != nil || ok {
		t.Errorf("Refresh of a lapsed lease = %v, %v; want false (never revived)", ok, err)
	}
	if n, err := sem.Count(ctx, "c"); err != nil || n != 1 {
		t.Errorf("Count = %d, %v; want 1", n, err)
	}
}

func TestReleaseOfAnotherHolderDoesNothing(t *testing.T) {
	t.Parallel()
	rdb, prefix := testdb.Redis(t)
	sem := NewSemaphore(rdb, prefix)
	ctx := t.Context()

	if ok, err := sem.Acquire(ctx, "c", 1, "a", time.Minute); err != nil || !ok {
		t.Fatalf("Acquire(a) = %v, %v", ok, err)
	}
	if err := sem.Release(ctx, "c", "b"); err != nil {
		t.Fatal(err)
	}
	if n, err := sem.Count(ctx, "c"); err != nil || n != 1 {
		t.Fatalf("Count after Release(b) = %d, %v; want 1", n, err)
	}
	if ok, err := sem.Acquire(ctx, "c", 1, "c", time.Minute); err != nil || ok {
		t.Fatalf("Acquire(c) = %v, %v; want false: a still holds the only slot", ok, err)
	}
	if err := sem.Release(ctx, "c", "a"); err != nil {
		t.Fatal(err)
	}
	if n, err := sem.Count(ctx, "c"); err != nil || n != 0 {
		t.Fatalf("Count after Release(a) = %d, %v; want 0", n, err)
	}
}

func TestRefreshExtendsOnlyTheHoldersLease(t *testing.T) {
	t.Parallel()
	rdb, prefix := testdb.Redis(t)
	sem := NewSemaphore(rdb, prefix)
	ctx := t.Context()

	if ok, err := sem.Acquire(ctx, "c", 2, "a", 200*time.Millisecond); err != nil || !ok {
		t.Fatalf("Acquire = %v, %v", ok, err)
	}
	if ok, err := sem.Acquire(ctx, "c", 2, "a", 200*time.Millisecond); err != nil || !ok {
		t.Fatalf("re-Acquire by the same holder = %v, %v; want true", ok, err)
	}
	if n, _ := sem.Count(ctx, "c"); n != 1 {
		t.Fatalf("re-Acquire took a second slot: Count = %d", n)
	}
	if ok, err := sem.Refresh(ctx, "c", "a", time.Minute); err != nil || !ok {
		t.Fatalf("Refresh = %v, %v; want true", ok, err)
	}
	if ok, err := sem.Refresh(ctx, "c", "stranger", time.Minute); err != nil || ok {
		t.Fatalf("Refresh of a non-holder = %v, %v; want false", ok, err)
	}
	key := semKey(prefix, "c")
	expiry, err := rdb.ZScore(ctx, key, "a").Result()
	if err != nil {
		t.Fatal(err)
	}
	left := time.UnixMicro(int64(expiry)).Sub(serverNow(t, rdb))
	if left < 50*time.Second || left > time.Minute {
		t.Errorf("lease ends in %v after Refresh(1m), want about a minute", left)
	}
	if ttl, err := rdb.PTTL(ctx, key).Result(); err != nil || ttl < 50*time.Second || ttl > time.Minute+time.Millisecond {
		t.Errorf("key TTL %v, %v; want the longest lease, about a minute", ttl, err)
	}
	if n, _ := rdb.ZCard(ctx, key).Result(); n != 1 {
		t.Errorf("Refresh of a non-holder added it: %d members", n)
	}
}

func TestSemaphoreRejectsBadArguments(t *testing.T) {
	t.Parallel()
	rdb, prefix := testdb.Redis(t)
	sem := NewSemaphore(rdb, prefix)
	ctx := t.Context()
	if ok, err := sem.Acquire(ctx, "c", 1, "", time.Second); ok || err == nil {
		t.Errorf("empty holder: %v, %v", ok, err)
	}
	if ok, err := sem.Acquire(ctx, "c", 1, "a", 0); ok || err == nil {
		t.Errorf("zero ttl: %v, %v", ok, err)
	}
	if ok, err := sem.Acquire(ctx, "c", -1, "a", time.Second); ok || err == nil {
		t.Errorf("negative limit: %v, %v", ok, err)
	}
	if ok, err := sem.Acquire(ctx, "c", 0, "a", time.Second); ok || err != nil {
		t.Errorf("limit 0 = %v, %v; want false, nil", ok, err)
	}
}
