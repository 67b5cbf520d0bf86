package pace

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/huifang/huifang/internal/testdb"
)

// Admit lets at most limit events into any window: the sixth of five per
// second waits until the first leaves the window, and no more.
func TestAdmitCapsASlidingWindow(t *testing.T) {
	t.Parallel()
	rdb, prefix := testdb.Redis(t)
	lim := NewLimiter(rdb, prefix)
	ctx := context.Background()
	var first, prev time.Time
	for i := range 5 {
		wait, at, err := lim.Admit(ctx, "c", 5, time.Second, fmt.Sprint("m", i))
		if err != nil || wait != 0 {
			t.Fatalf("event %d: wait %v, err %v; want admitted", i, wait, err)
		}
		// at is Redis TIME: on this machine within a second of ours, and
		// never going back.
		if d := time.Since(at); d < -time.Second || d > time.Second || at.Before(prev) {
			t.Fatalf("event %d admitted at %v, %v from now, after %v", i, at, d, prev)
		}
		if i == 0 {
			first = at
		}
		prev = at
	}
	wait, at, err := lim.Admit(ctx, "c", 5, time.Second, "m5")
	if err != nil {
		t.Fatal(err)
	}
	// Exactly until the first event leaves the window, by Redis TIME.
	if want := first.Add(time.Second).Sub(at) + time.Microsecond; wait != want {
		t.Fatalf("sixth event at %v: wait %v, want %v (until the first, at %v, leaves the 1 s window)", at, wait, want, first)
	}
	if wait2, _, err := lim.Admit(ctx, "c", 5, time.Second, "m6"); err != nil || wait2 == 0 {
		t.Fatalf("seventh event at once: wait %v, err %v; want refused", wait2, err)
	}
	if w, _, err := lim.Admit(ctx, "other", 5, time.Second, "m0"); err != nil || w != 0 {
		t.Fatalf("another key: wait %v, err %v; want admitted (windows are per key)", w, err)
	}
	// Once the first event has left the window there is room again.
	time.Sleep(wait)
	if wait, _, err := lim.Admit(ctx, "c", 5, time.Second, "m5"); err != nil || wait != 0 {
		t.Fatalf("after waiting: wait %v, err %v; want admitted", wait, err)
	}
	if _, _, err := lim.Admit(ctx, "c", 0, time.Second, "x"); err == nil {
		t.Error("a limit of 0 was accepted")
	}
}
