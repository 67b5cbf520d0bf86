package workorders_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/huifang/huifang/internal/leader"
	"github.com/huifang/huifang/workorders"
)

// The scheduler picks up a source added while it runs, pulls it on its cron
// schedule on the leading instance only, and stops when its context ends.
func TestSchedulerPullsSourcesOnTheLeader(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)
	f := setupHTTPPull(t, makeJobs(40, start), 100, "")
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	// Two instances; only the one holding the lock may pull.
	lead := leader.New(f.st.Pool, 4242, log)
	follower := leader.New(f.st.Pool, 4242, log)
	if !lead.IsLeader(ctx) || follower.IsLeader(ctx) {
		t.Fatal("could not set up one leader and one follower")
	}
	t.Cleanup(func() { lead.Resign(context.Background()); follower.Resign(context.Background()) })

	run := func(el *leader.Elector, done chan<- struct{}) {
		s := &workorders.Scheduler{Puller: f.puller, Leader: el, Log: log, Reload: 100 * time.Millisecond}
		go func() { s.Run(ctx); done <- struct{}{} }()
	}
	done := make(chan struct{}, 2)

	// The follower's scheduler alone: the source gets a schedule while it
	// runs, its ticks come, and it pulls nothing.
	run(follower, done)
	src, err := f.st.SourceByName(ctx, "erp")
	if err != nil {
		t.Fatal(err)
	}
	var cfg workorders.PullConfig
	if err := jsonUnmarshal(src.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.SavePullSource(ctx, "erp", "http", "@every 1s", src.Defaults, cfg); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond) // two ticks of @every 1s, after a reload
	f.up.mu.Lock()
	early := f.up.requests
	f.up.mu.Unlock()
	if early != 0 || len(storedIDs(t, f.st)) != 0 {
		t.Fatalf("a follower pulled: %d upstream requests", early)
	}

	// The leader's scheduler pulls on its schedule.
	run(lead, done)
	deadline := time.Now().Add(20 * time.Second)
	for len(storedIDs(t, f.st)) < 40 {
		if time.Now().After(deadline) {
			t.Fatalf("after 20 s the leader had pulled %d of 40 jobs", len(storedIDs(t, f.st)))
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	for range 2 {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("a scheduler did not stop after its context ended")
		}
	}
}
