package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/huifang/huifang/dialer/pace"
)

// benchPace measures how closely several instances sharing one Redis limiter
// hold a pace: each "instance" has its own Redis connection and asks for one
// permit at a time, sleeping as long as the limiter says, as a dispatch
// worker does. The error is granted permits against rate × duration (plus
// the burst), and the worst one-second window against the rate.
func benchPace(ctx context.Context, c *cli, redisURL string, instances int, rate float64, seconds int) error {
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return fmt.Errorf("bench pace: REDIS_URL: %w", err)
	}
	b := make([]byte, 4)
	rand.Read(b)
	prefix := "bench:" + hex.EncodeToString(b) + ":"
	const burst = 1
	dur := time.Duration(seconds) * time.Second
	start := time.Now()
	end := start.Add(dur)
	var (
		mu     sync.Mutex
		grants []time.Duration // since start
		wg     sync.WaitGroup
		errs   = make(chan error, instances)
	)
	for range instances {
		rdb := redis.NewClient(opt)
		defer rdb.Close()
		lim := pace.NewLimiter(rdb, prefix)
		wg.Go(func() {
			for time.Now().Before(end) {
				got, wait, err := lim.Take(ctx, "campaign", rate, burst, 1)
				if err != nil {
					errs <- err
					return
				}
				if got > 0 {
					at := time.Since(start)
					mu.Lock()
					grants = append(grants, at)
					mu.Unlock()
					continue
				}
				if wait <= 0 {
					wait = time.Millisecond
				}
				select {
				case <-time.After(wait):
				case <-ctx.Done():
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return fmt.Errorf("bench pace: %w", err)
	}
	sort.Slice(grants, func(i, j int) bool { return grants[i] < grants[j] })
	n := 0
	for _, g := range grants {
		if g < dur {
			n++
		}
	}
	want := rate*dur.Seconds() + burst
	worst := 0
	for i, j := 0, 0; i < len(grants); i++ { // sliding one-second window
		for grants[i]-grants[j] >= time.Second {
			j++
		}
		worst = max(worst, i-j+1)
	}
	fmt.Fprintf(c.stdout, "%d instances at %.0f/s for %s: %d permits granted, %.0f expected (error %+.2f%%); busiest one-second window %d (rate %.0f + burst %d)\n",
		instances, rate, dur, n, want, 100*(float64(n)-want)/want, worst, rate, burst)
	return nil
}
