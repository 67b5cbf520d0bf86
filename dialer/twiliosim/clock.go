package twiliosim

import (
	"context"
	"time"
)

// Clock is the simulator's sense of time. Every ring, prompt, pause, gather
// timeout and delivery delay waits on it, and every timestamp the simulator
// reports (date_created, start_time, Timestamp, CallDuration …) is read from
// it, so a faster clock shortens a whole call without changing what Huifang
// sees in it: a call that "lasts" 90 seconds still reports CallDuration 90.
type Clock interface {
	// Now is the current simulated time.
	Now() time.Time
	// Sleep waits for d of simulated time. It returns ctx.Err() early if ctx
	// ends first, and nil otherwise.
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock: a simulated minute is a real minute. Use it
// for the demo and for load tests that should pace like Twilio.
func RealClock() Clock { return Accelerated(1) }

// Accelerated returns a clock that runs speed times faster than the wall
// clock, starting at the wall clock's now: with speed 1000 a 60-second ring
// takes 60 ms and Now moves 1000 seconds per real second. speed must be
// positive; values below 1 slow time down.
func Accelerated(speed float64) Clock { return AcceleratedFrom(time.Now(), speed) }

// AcceleratedFrom is Accelerated with Now starting at from instead of the
// wall clock's now: the demo starts its day at 09:30 in China, whatever the
// hour it is run.
func AcceleratedFrom(from time.Time, speed float64) Clock {
	if speed <= 0 {
		speed = 1
	}
	return &scaledClock{from: from.UTC(), start: time.Now(), speed: speed}
}

type scaledClock struct {
	from  time.Time // the simulated time at start
	start time.Time // carries the monotonic reading time.Since uses
	speed float64
}

func (c *scaledClock) Now() time.Time {
	elapsed := time.Since(c.start)
	return c.from.Add(time.Duration(float64(elapsed) * c.speed))
}

func (c *scaledClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	real := time.Duration(float64(d) / c.speed)
	if real <= 0 {
		return nil
	}
	t := time.NewTimer(real)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
