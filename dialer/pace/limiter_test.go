package pace

import (
	"context"
	"errors"
	"math"
	"net"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/huifang/huifang/internal/testdb"
)

// serverNow is Redis TIME, the clock the limiter and semaphore decide by.
func serverNow(t testing.TB, rdb *redis.Client) time.Time {
	t.Helper()
	now, err := rdb.Time(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return now
}

type grant struct {
	at time.Time // Redis TIME of the decision
	n  int
}

// drive asks lim for up to batch permits in a loop, as a dispatch worker
// would, until Redis TIME passes until; it returns what it was granted before
// then. rate may change while it runs.
func drive(t *testing.T, lim *Limiter, key string, rate func(time.Time) float64, burst, batch int, until time.Time) []grant {
	var out []grant
	at := time.Time{}
	for {
		g, retry, now, err := lim.take(t.Context(), key, rate(at), burst, batch)
		if err != nil {
			t.Error(err)
			return out
		}
		at = now
		if !now.Before(until) {
			return out
		}
		if g > 0 {
			out = append(out, grant{now, g})
		}
		if g < batch {
			time.Sleep(retry) // a worker waits as told; nothing is asserted on it
		}
	}
}

func total(gs []grant) int {
	sum := 0
	for _, g := range gs {
		sum += g.n
	}
	return sum
}

// maxInWindow is the most permits granted in any closed window of length w.
func maxInWindow(gs []grant, w time.Duration) int {
	sort.Slice(gs, func(i, j int) bool { return gs[i].at.Before(gs[j].at) })
	most, sum, lo := 0, 0, 0
	for hi := range gs {
		sum += gs[hi].n
		for gs[hi].at.Sub(gs[lo].at) > w {
			sum -= gs[lo].n
			lo++
		}
		most = max(most, sum)
	}
	return most
}

func TestLimiterPacesThreeInstances(t *testing.T) {
	t.Parallel()
	rdb, prefix := testdb.Redis(t)
	const (
		rate      = 50.0
		burst     = 10
		instances = 3
		run       = 2 * time.Second
	)
	start := serverNow(t, rdb)
	until := start.Add(run)

	var (
		mu     sync.Mutex
		grants []grant
		wg     sync.WaitGroup
	)
	for range instances {
		lim := NewLimiter(rdb, prefix) // one limiter per "instance", one Redis
		wg.Go(func() {
			gs := drive(t, lim, "campaign-1", func(time.Time) float64 { return rate }, burst, 4, until)
			mu.Lock()
			defer mu.Unlock()
			grants = append(grants, gs...)
			t.Logf("instance granted %d", total(gs))
		})
	}
	wg.Wait()

	got := total(grants)
	want := rate*run.Seconds() + burst
	t.Logf("granted %d in %v at %v/s burst %d: want %.0f, error %+.1f%%; steady pace %.2f/s",
		got, run, rate, burst, want, 100*(float64(got)-want)/want, float64(got-burst)/run.Seconds())
	// Never more than the pace allows; and not starved. Only the upper
	// bound is the contract: a loaded machine may make workers ask late.
	if float64(got) > want+1 || float64(got) < 0.7*want {
		t.Errorf("granted %d, want at most %.0f and not far below it", got, want)
	}
	if most, limit := maxInWindow(grants, time.Second), int(rate)+burst; most > limit {
		t.Errorf("%d permits in one second, want at most rate+burst = %d", most, limit)
	}
}

func TestTakeGrantsSeveralAtOnce(t *testing.T) {
	t.Parallel()
	rdb, prefix := testdb.Redis(t)
	lim := NewLimiter(rdb, prefix)
	ctx := t.Context()

	// Rate 1/s so the few microseconds between calls refill nothing.
	steps := []struct {
		n, want int
	}{
		{n: 4, want: 4},
		{n: 10, want: 6}, // only the rest of the burst of 10
		{n: 3, want: 0},
	}
	for _, s := range steps {
		g, retry, err := lim.Take(ctx, "c", 1, 10, s.n)
		if err != nil {
			t.Fatal(err)
		}
		if g != s.want {
			t.Fatalf("Take(n=%d) granted %d, want %d", s.n, g, s.want)
		}
		switch {
		case g == s.n && retry != 0:
			t.Errorf("Take(n=%d) granted all with retryAfter %v, want 0", s.n, retry)
		case g < s.n && (retry < 500*time.Millisecond || retry > time.Second):
			t.Errorf("Take(n=%d) retryAfter %v, want just under 1s (one interval)", s.n, retry)
		}
	}
}

func TestRetryAfterIsWhenTheNextPermitFrees(t *testing.T) {
	t.Parallel()
	rdb, prefix := testdb.Redis(t)
	lim := NewLimiter(rdb, prefix)
	ctx := t.Context()

	if g, _, err := lim.Take(ctx, "c", 5, 1, 1); err != nil || g != 1 {
		t.Fatalf("first Take = %d, %v; want 1", g, err)
	}
	g, retry, err := lim.Take(ctx, "c", 5, 1, 1)
	if err != nil || g != 0 {
		t.Fatalf("second Take = %d, %v; want 0", g, err)
	}
	if retry <= 100*time.Millisecond || retry > 200*time.Millisecond {
		t.Fatalf("retryAfter %v, want just under the 200ms interval", retry)
	}
	time.Sleep(retry) // as a worker would; the assertion is on what Redis says next
	if g, _, err := lim.Take(ctx, "c", 5, 1, 1); err != nil || g != 1 {
		t.Fatalf("Take after retryAfter = %d, %v; want 1", g, err)
	}
}

func TestRateChangeTakesEffectAtOnce(t *testing.T) {
	t.Parallel()
	rdb, prefix := testdb.Redis(t)
	lim := NewLimiter(rdb, prefix)
	ctx := t.Context()

	t.Run("raised", func(t *testing.T) {
		if g, _, err := lim.Take(ctx, "up", 1, 1, 1); err != nil || g != 1 {
			t.Fatalf("Take = %d, %v; want 1", g, err)
		}
		if _, retry, _ := lim.Take(ctx, "up", 1, 1, 1); retry < 500*time.Millisecond {
			t.Fatalf("at 1/s retryAfter %v, want about 1s", retry)
		}
		// At 100/s the permit owed is repaid in 10ms, not the old 1s.
		if _, retry, _ := lim.Take(ctx, "up", 100, 1, 1); retry > 10*time.Millisecond {
			t.Fatalf("raised to 100/s, retryAfter %v, want ≤ 10ms", retry)
		}
	})
	t.Run("lowered", func(t *testing.T) {
		if g, _, err := lim.Take(ctx, "down", 100, 10, 10); err != nil || g != 10 {
			t.Fatalf("Take = %d, %v; want 10", g, err)
		}
		// Ten permits owed at 1/s: the next frees in about 1s, not 10ms.
		g, retry, err := lim.Take(ctx, "down", 1, 10, 1)
		if err != nil || g != 0 || retry < 500*time.Millisecond {
			t.Fatalf("lowered to 1/s: Take = %d, %v, %v; want 0 and about 1s", g, retry, err)
		}
	})
	t.Run("while running", func(t *testing.T) {
		const phase = 600 * time.Millisecond
		start := serverNow(t, rdb)
		switchAt := start.Add(phase)
		rate := func(now time.Time) float64 {
			if now.Before(switchAt) {
				return 40
			}
			return 200
		}
		// A burst of 5 absorbs the worker's own lateness (sleep slack,
		// round trips), so what is measured is the limiter's pace.
		gs := drive(t, lim, "running", rate, 5, 5, start.Add(2*phase))
		var slow, fast int
		for _, g := range gs {
			if g.at.Before(switchAt) {
				slow += g.n
			} else {
				fast += g.n
			}
		}
		wantSlow, wantFast := 40*phase.Seconds()+5, 200*phase.Seconds()
		t.Logf("40/s phase %d (want %.0f), 200/s phase %d (want %.0f)", slow, wantSlow, fast, wantFast)
		// At most each phase's pace (plus a permit at the boundary), and the
		// fast phase clearly faster: the new rate took effect at once.
		if float64(slow) > wantSlow+1 || float64(fast) > wantFast+6 || float64(fast) < 0.6*wantFast || slow < 1 {
			t.Errorf("phases granted %d and %d, want at most %.0f and %.0f, the second well above the first", slow, fast, wantSlow, wantFast)
		}
	})
}

func TestLimiterKeyExpiresWhenIdle(t *testing.T) {
	t.Parallel()
	rdb, prefix := testdb.Redis(t)
	lim := NewLimiter(rdb, prefix)
	if _, _, err := lim.Take(t.Context(), "c", 10, 5, 5); err != nil {
		t.Fatal(err)
	}
	ttl, err := rdb.PTTL(t.Context(), paceKey(prefix, "c")).Result()
	if err != nil {
		t.Fatal(err)
	}
	// Five permits at 10/s are repaid in 500ms; then the key means nothing.
	if ttl <= 0 || ttl > 501*time.Millisecond {
		t.Fatalf("pace key TTL %v, want (0, 501ms]", ttl)
	}
}

func TestTakeRejectsBadArguments(t *testing.T) {
	t.Parallel()
	rdb, prefix := testdb.Redis(t)
	lim := NewLimiter(rdb, prefix)
	cases := []struct {
		name     string
		rate     float64
		burst, n int
	}{
		{"zero rate", 0, 1, 1},
		{"negative rate", -1, 1, 1},
		{"NaN rate", math.NaN(), 1, 1},
		{"infinite rate", math.Inf(1), 1, 1},
		{"zero burst", 1, 0, 1},
		{"negative n", 1, 1, -1},
	}
	for _, c := range cases {
		if g, _, err := lim.Take(t.Context(), "c", c.rate, c.burst, c.n); err == nil || g != 0 {
			t.Errorf("%s: Take = %d, %v; want 0 and an error", c.name, g, err)
		}
	}
}

// deadRedis is a client on a port nobody listens on.
func deadRedis(t *testing.T) *redis.Client {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func TestRedisDownGrantsNothing(t *testing.T) {
	t.Parallel()
	rdb := deadRedis(t)
	ctx := t.Context()

	g, _, err := NewLimiter(rdb, "x:").Take(ctx, "c", 50, 10, 5)
	if !errors.Is(err, ErrUnavailable) || g != 0 {
		t.Errorf("Take = %d, %v; want 0 and ErrUnavailable", g, err)
	}
	sem := NewSemaphore(rdb, "x:")
	if ok, err := sem.Acquire(ctx, "c", 5, "h", time.Second); ok || !errors.Is(err, ErrUnavailable) {
		t.Errorf("Acquire = %v, %v; want false and ErrUnavailable", ok, err)
	}
	if ok, err := sem.Refresh(ctx, "c", "h", time.Second); ok || !errors.Is(err, ErrUnavailable) {
		t.Errorf("Refresh = %v, %v; want false and ErrUnavailable", ok, err)
	}
	if err := sem.Release(ctx, "c", "h"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Release = %v; want ErrUnavailable", err)
	}
	if _, err := sem.Count(ctx, "c"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Count = %v; want ErrUnavailable", err)
	}
}

func TestWrongKeyTypeIsAnErrorButNotUnavailable(t *testing.T) {
	t.Parallel()
	rdb, prefix := testdb.Redis(t)
	if err := rdb.Set(t.Context(), paceKey(prefix, "c"), "junk", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	g, _, err := NewLimiter(rdb, prefix).Take(t.Context(), "c", 50, 10, 5)
	if err == nil || errors.Is(err, ErrUnavailable) || g != 0 {
		t.Fatalf("Take on a string key = %d, %v; want 0 and an error that is not ErrUnavailable", g, err)
	}
}

func BenchmarkTake(b *testing.B) {
	rdb, prefix := testdb.Redis(b)
	lim := NewLimiter(rdb, prefix)
	ctx := context.Background()
	for b.Loop() {
		if _, _, err := lim.Take(ctx, "bench", MaxRate, 1000000, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTakeParallel(b *testing.B) {
	rdb, prefix := testdb.Redis(b)
	lim := NewLimiter(rdb, prefix)
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := lim.Take(ctx, "bench", MaxRate, 1000000, 1); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// Reserve books permits exactly one interval apart, however many
// instances ask and however late they wake: three instances, each with two
// waiters, booking at 40/s for 2 s get their permits due 25 ms apart, no
// two alike, and as many as the pace allows.
func TestReserveSpacesPermitsExactly(t *testing.T) {
	t.Parallel()
	rdb, prefix := testdb.Redis(t)
	const rate = 40.0
	start := serverNow(t, rdb)
	until := start.Add(2 * time.Second)
	var (
		mu  sync.Mutex
		due []time.Time
		wg  sync.WaitGroup
	)
	for range 3 {
		lim := NewLimiter(rdb, prefix)
		for range 2 {
			wg.Go(func() {
				for {
					wait, ok, now, err := lim.reserve(context.Background(), "campaign-r", rate, time.Second)
					if err != nil {
						t.Error(err)
						return
					}
					if !ok {
						time.Sleep(50 * time.Millisecond)
						continue
					}
					at := now.Add(wait)
					if at.After(until) {
						return
					}
					mu.Lock()
					due = append(due, at)
					mu.Unlock()
					time.Sleep(wait)
				}
			})
		}
	}
	wg.Wait()
	sort.Slice(due, func(i, j int) bool { return due[i].Before(due[j]) })
	interval := time.Duration(float64(time.Second) / rate)
	for i := 1; i < len(due); i++ {
		// Due times are Redis TIME at booking plus the wait, both from the
		// script: exact to the microsecond it rounds to.
		if gap := due[i].Sub(due[i-1]); gap < interval-2*time.Microsecond {
			t.Fatalf("permits %d and %d due %v apart, want %v", i-1, i, gap, interval)
		}
	}
	// Never more than the pace; fewer only if every waiter slept through
	// a slot, which a loaded machine may make happen now and then.
	if want := int(rate * 2); len(due) < want*9/10 || len(due) > want+1 {
		t.Errorf("%d permits booked in 2 s at %v/s, want about %d and never more", len(due), rate, want)
	}
}

func TestReserveRefusesBeyondTheHorizon(t *testing.T) {
	t.Parallel()
	rdb, prefix := testdb.Redis(t)
	lim := NewLimiter(rdb, prefix)
	ctx := context.Background()
	booked := 0
	for range 20 {
		_, ok, err := lim.Reserve(ctx, "campaign-h", 10, 500*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			booked++
		}
	}
	// At 10/s, permits due now, +100 ms … +500 ms fit a 500 ms horizon.
	if booked != 6 {
		t.Errorf("booked %d permits within a 500 ms horizon at 10/s, want 6", booked)
	}
	if _, _, err := lim.Reserve(ctx, "campaign-h", 0, time.Second); err == nil {
		t.Error("a rate of 0 was accepted")
	}
}
