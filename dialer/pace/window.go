package pace

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

func windowKey(prefix, key string) string { return prefix + "window:{" + key + "}" }

// admitScript admits one event into a sliding window of at most limit
// events.
//
// KEYS[1]  a sorted set of admitted events scored by Redis TIME in µs.
// ARGV[1]  limit: events allowed in any window.
// ARGV[2]  window, µs.
// ARGV[3]  a member unique to this request.
//
// Returns {wait_µs, now_µs}: 0 when admitted (and recorded), otherwise how
// long until the oldest event in the window leaves it.
var admitScript = redis.NewScript(serverTime + `
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3] .. ':' .. now)
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1)
  return {0, now}
end
local oldest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
local wait = oldest + window - now + 1
if wait < 1 then wait = 1 end
return {wait, now}
`)

// Admit records one event for key if fewer than limit were admitted in the
// window before it, by Redis TIME; otherwise it records nothing and says
// how long to wait before asking again. Dispatch asks it at the last moment
// before a call goes to the carrier, behind the limiter's booked permit: the
// permit keeps the pace, and Admit makes sure that a waiter that woke late
// (a busy machine, an instance starting) never lets more than the pace
// through in any one window.
//
// at is the Redis TIME of the check, to the microsecond: one clock for
// every instance, so the moments admitted by all of them can be compared.
func (l *Limiter) Admit(ctx context.Context, key string, limit int, window time.Duration, member string) (wait time.Duration, at time.Time, err error) {
	if limit < 1 || window <= 0 {
		return 0, time.Time{}, fmt.Errorf("pace: admit %q: limit %d and window %v must be positive", key, limit, window)
	}
	res, err := admitScript.Run(ctx, l.rdb, []string{windowKey(l.prefix, key)}, limit, window.Microseconds(), member).Int64Slice()
	if err != nil {
		return 0, time.Time{}, interpretError("admit", key, err)
	}
	if len(res) != 2 {
		return 0, time.Time{}, fmt.Errorf("pace: admit %q: script returned %d values, want 2", key, len(res))
	}
	return time.Duration(res[0]) * time.Microsecond, time.UnixMicro(res[1]), nil
}
