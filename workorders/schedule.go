package workorders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/robfig/cron/v3"
)

// Leader says whether this instance may run once-per-cluster work now.
type Leader interface {
	IsLeader(ctx context.Context) bool
}

// cronParser reads five-field cron expressions and descriptors such as
// "@every 5m" or "@hourly".
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule checks a cron expression and returns its next n run times
// after from, so operators can see what they scheduled.
func ParseSchedule(expr string, from time.Time, n int) ([]time.Time, error) {
	sched, err := cronParser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", expr, err)
	}
	out := make([]time.Time, 0, n)
	for t := from; len(out) < n; {
		t = sched.Next(t)
		if t.IsZero() {
			break
		}
		out = append(out, t)
	}
	return out, nil
}

// Scheduler runs every enabled pull source on its cron schedule, on the one
// instance that leads. It re-reads the sources periodically, so a source
// added or changed with `huifang source add` is picked up without a restart.
type Scheduler struct {
	Puller *Puller
	Leader Leader
	Log    *slog.Logger
	// Reload is how often sources are re-read (default 30 s).
	Reload time.Duration
}

// Run schedules pulls until ctx ends, then waits for running pulls to stop.
func (s *Scheduler) Run(ctx context.Context) error {
	if s.Reload == 0 {
		s.Reload = 30 * time.Second
	}
	c := cron.New(cron.WithParser(cronParser), cron.WithLocation(time.UTC),
		cron.WithChain(cron.Recover(cron.DiscardLogger)))
	type entry struct {
		schedule string
		id       cron.EntryID
	}
	entries := map[string]entry{}
	sync := func() {
		srcs, err := s.Puller.Store.Sources(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.Log.Warn("pull scheduler: cannot read sources", "err", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, src := range srcs {
			if !src.Enabled || src.Schedule == "" || (src.Kind != "sql" && src.Kind != "http") {
				continue
			}
			seen[src.Name] = true
			if e, ok := entries[src.Name]; ok && e.schedule == src.Schedule {
				continue
			} else if ok {
				c.Remove(e.id)
			}
			name := src.Name
			id, err := c.AddJob(src.Schedule, cron.NewChain(cron.SkipIfStillRunning(cron.DiscardLogger)).Then(cron.FuncJob(func() {
				s.pull(ctx, name)
			})))
			if err != nil {
				s.Log.Warn("pull scheduler: bad schedule", "source", name, "schedule", src.Schedule, "err", err)
				continue
			}
			entries[name] = entry{src.Schedule, id}
		}
		for name, e := range entries {
			if !seen[name] {
				c.Remove(e.id)
				delete(entries, name)
			}
		}
	}
	sync()
	c.Start()
	t := time.NewTicker(s.Reload)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			<-c.Stop().Done()
			return nil
		case <-t.C:
			sync()
		}
	}
}

func (s *Scheduler) pull(ctx context.Context, name string) {
	if ctx.Err() != nil || !s.Leader.IsLeader(ctx) {
		return
	}
	start := time.Now()
	res, err := s.Puller.Pull(ctx, name)
	switch {
	case errors.Is(err, ErrBusy):
		s.Log.Info("pull skipped: already running", "source", name)
	case err != nil:
		s.Log.Error("pull failed", "source", name, "pages", res.Pages, "rows", res.Rows, "err", err)
	default:
		s.Log.Info("pull done", "source", name, "pages", res.Pages, "rows", res.Rows, "inserted", res.Inserted,
			"updated", res.Updated, "rejected", res.Rejected, "took", time.Since(start).Round(time.Millisecond))
	}
}
