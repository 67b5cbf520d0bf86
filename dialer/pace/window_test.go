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
	start := time.Now()
	for i := range 5 {
		wait, err := lim.Admit(ctx, "c", 5, time.Second, fmt.Sprint("m", i))
		if err != nil || wait != 0 {
			t.Fatalf("event %d: wait %v, err %v; want admitted", i, wait, err)
		}
	}
	wait, err := lim.Admit(ctx, "c", 5, time.Second, "m5")
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); wait <= 0 || wait > time.Second-elapsed+10*time.Millisecond {
		t.Fatalf("sixth event: wait %v after %v, want until the first leaves the 1 s window", wait, elapsed)
	}
	if wait2, err := lim.Admit(ctx, "c", 5, time.Second, "m6"); err != nil || wait2 == 0 {
		t.Fatalf("seventh event at once: wait %v, err %v; want refused", wait2, err)
	}
	if w, err := lim.Admit(ctx, "other", 5, time.Second, "m0"); err != nil || w != 0 {
		t.Fatalf("another key: wait %v, err %v; want admitted (windows are per key)", w, err)
	}
	// Once the first event has left the window there is room again.
	time.Sleep(wait)
	if wait, err := lim.Admit(ctx, "c", 5, time.Second, "m5"); err != nil || wait != 0 {
		t.Fatalf("after waiting: wait %v, err %v; want admitted", wait, err)
	}
	if _, err := lim.Admit(ctx, "c", 0, time.Second, "x"); err == nil {
		t.Error("a limit of 0 was accepted")
	}
}
