package pace

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// MaxRate is the fastest pace a Limiter keeps exactly: its clock is Redis
// TIME, in microseconds, so one permit per microsecond is the finest step.
const MaxRate = 1e6

// Limiter is a GCRA (generic cell rate algorithm) limiter held in Redis and
// shared by every instance: one permit per call or SMS started, at rate
// permits per second, with up to burst permits at once after a quiet spell.
//
// GCRA keeps a single number per key, the theoretical arrival time (TAT): the
// moment the bucket would be empty again if nobody asked meanwhile. A request
// is allowed while TAT − now ≤ burst × interval. Unlike a fixed window it
// never lets two windows' worth through at a window edge, and unlike a token
// bucket it needs no refill writes.
type Limiter struct {
	rdb    redis.Scripter
	prefix string
}

// NewLimiter returns a limiter whose keys start with prefix (for example
// "huifang:"). rdb may be a client, a cluster client or a ring: every script
// touches one key.
func NewLimiter(rdb redis.Scripter, prefix string) *Limiter {
	return &Limiter{rdb: rdb, prefix: prefix}
}

// paceKey is the Redis key of one pace, for example a campaign's ID.
func paceKey(prefix, key string) string {
	return prefix + "pace:{" + key + "}"
}

// currentTAT is the Lua fragment both scripts share: the theoretical
// arrival time tat as of now at the current interval. A changed rate
// carries the outstanding debt over, counted in permits.
const currentTAT = `
local tat = now
local st = redis.call('HMGET', KEYS[1], 'tat', 'interval')
if st[1] and st[2] then
  local old_tat = tonumber(st[1])
  local old_interval = tonumber(st[2])
  if old_tat > now then
    if old_interval == interval then
      tat = old_tat
    else
      tat = now + (old_tat - now) / old_interval * interval
    end
  end
end
`

// takeScript grants up to n permits at once.
//
// KEYS[1]  the pace hash: field tat is the theoretical arrival time (µs of
// Redis TIME), field interval the µs per permit tat was computed with.
// ARGV[1]  interval: µs per permit now (1e6 / rate), a decimal string.
// ARGV[2]  burst: permits that may be taken at once after a quiet spell (≥ 1).
// ARGV[3]  n: permits wanted (≥ 1).
//
// Returns {granted, retry_after_µs, now_µs}: retry_after is how long until
// one more permit frees, 0 when all n were granted; now is the Redis TIME the
// decision was made at (tests measure pace with it).
//
// A changed rate takes effect at once: the outstanding debt, counted in
// permits, is carried over and then repaid at the new interval. Without this
// a pace cut from 100/s to 1/s would still allow calls at 100/s until the old
// TAT passed, and a raise would make the queue wait out the old, slow TAT.
//
// The key expires when TAT passes, when its state equals "never asked".
var takeScript = redis.NewScript(serverTime + `
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
` + currentTAT + `
-- Permits still owed, and how many of the n fit under the burst. The
-- epsilon keeps float noise from refusing a permit that is exactly due.
local debt = (tat - now) / interval
local granted = math.floor(burst - debt + 1e-9)
if granted < 0 then granted = 0 end
if granted > n then granted = n end
tat = tat + granted * interval

local retry = 0
if granted < n then
  -- The next permit is due when tat - now falls to (burst - 1) intervals.
  retry = math.ceil((tat - now) - (burst - 1) * interval)
  if retry < 1 then retry = 1 end
end

if tat > now then
  redis.call('HSET', KEYS[1], 'tat', string.format('%.17g', tat), 'interval', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], math.ceil((tat - now) / 1000) + 1)
end
return {granted, retry, now}
`)

// reserveScript books the next single permit, now or in the future.
//
// KEYS[1]  the pace hash, as takeScript's.
// ARGV[1]  interval: µs per permit now (1e6 / rate).
// ARGV[2]  horizon: the furthest ahead a permit may be booked, µs.
//
// Returns {wait_µs, now_µs}: the permit is the caller's at now + wait; a
// wait of -1 books nothing (the next free permit is past the horizon).
var reserveScript = redis.NewScript(serverTime + `
local interval = tonumber(ARGV[1])
local horizon = tonumber(ARGV[2])
` + currentTAT + `if tat - now > horizon then
  return {-1, now}
end
local wait = tat - now
tat = tat + interval
redis.call('HSET', KEYS[1], 'tat', string.format('%.17g', tat), 'interval', ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.ceil((tat - now) / 1000) + 1)
return {math.floor(wait), now}
`)

// Reserve books the next permit for key at rate per second and says how
// long to wait for it: the caller sleeps that long and then acts. Booking
// rather than polling spaces permits exactly one interval apart however
// late each waiter wakes, and many waiters across instances each get their
// own slot. A permit further ahead than horizon is not booked (ok false):
// ask again later. Reserve and Take share their state, with a burst of one.
func (l *Limiter) Reserve(ctx context.Context, key string, rate float64, horizon time.Duration) (wait time.Duration, ok bool, err error) {
	wait, ok, _, err = l.reserve(ctx, key, rate, horizon)
	return wait, ok, err
}

// reserve is Reserve that also returns the Redis TIME of the booking.
func (l *Limiter) reserve(ctx context.Context, key string, rate float64, horizon time.Duration) (time.Duration, bool, time.Time, error) {
	if math.IsNaN(rate) || rate <= 0 || rate > MaxRate {
		return 0, false, time.Time{}, fmt.Errorf("pace: reserve %q: rate %v per second is outside (0, %v]", key, rate, MaxRate)
	}
	interval := strconv.FormatFloat(1e6/rate, 'g', -1, 64)
	res, err := reserveScript.Run(ctx, l.rdb, []string{paceKey(l.prefix, key)}, interval, horizon.Microseconds()).Int64Slice()
	if err != nil {
		return 0, false, time.Time{}, interpretError("reserve", key, err)
	}
	if len(res) != 2 {
		return 0, false, time.Time{}, fmt.Errorf("pace: reserve %q: script returned %d values, want 2", key, len(res))
	}
	now := time.UnixMicro(res[1])
	if res[0] < 0 {
		return 0, false, now, nil
	}
	return time.Duration(res[0]) * time.Microsecond, true, now, nil
}

// Take grants up to n permits for key at rate permits per second with the
// given burst, and returns how many it granted. A worker asks "how many calls
// may I start now?" and starts exactly granted of them; permits are not
// returned, so ask for what you can use.
//
// When fewer than n are granted, retryAfter is how long until the next
// permit frees (with many instances asking, another may take it first). When
// all n are granted retryAfter is 0.
//
// rate and burst are read on every call, so an edited pace applies at once.
// On any Redis failure Take grants nothing and the error wraps
// ErrUnavailable.
func (l *Limiter) Take(ctx context.Context, key string, rate float64, burst, n int) (granted int, retryAfter time.Duration, err error) {
	granted, retryAfter, _, err = l.take(ctx, key, rate, burst, n)
	return granted, retryAfter, err
}

// take is Take that also returns the Redis TIME of the decision.
func (l *Limiter) take(ctx context.Context, key string, rate float64, burst, n int) (int, time.Duration, time.Time, error) {
	switch {
	case math.IsNaN(rate) || rate <= 0 || rate > MaxRate:
		return 0, 0, time.Time{}, fmt.Errorf("pace: take %q: rate %v per second is outside (0, %v]", key, rate, MaxRate)
	case burst < 1:
		return 0, 0, time.Time{}, fmt.Errorf("pace: take %q: burst %d is below 1", key, burst)
	case n < 0:
		return 0, 0, time.Time{}, fmt.Errorf("pace: take %q: n %d is negative", key, n)
	case n == 0:
		return 0, 0, time.Time{}, nil
	}
	interval := strconv.FormatFloat(1e6/rate, 'g', -1, 64)
	res, err := takeScript.Run(ctx, l.rdb, []string{paceKey(l.prefix, key)}, interval, burst, n).Int64Slice()
	if err != nil {
		return 0, 0, time.Time{}, interpretError("take", key, err)
	}
	if len(res) != 3 {
		return 0, 0, time.Time{}, fmt.Errorf("pace: take %q: script returned %d values, want 3", key, len(res))
	}
	return int(res[0]), time.Duration(res[1]) * time.Microsecond, time.UnixMicro(res[2]), nil
}
