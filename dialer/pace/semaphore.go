package pace

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Semaphore caps the calls in progress for a key (a campaign) across every
// instance. Each slot is a lease held by a named holder (for example
// "instance-id:attempt-id") that lapses ttl after it was last acquired or
// refreshed, by Redis TIME; so an instance that dies, or loses Redis, frees
// its slots by itself once their leases run out.
//
// The slots are a sorted set: member = holder, score = lease expiry in
// microseconds of Redis TIME. Each script first purges lapsed leases, then
// counts and reserves in the same step.
type Semaphore struct {
	rdb    redis.Scripter
	prefix string
}

// NewSemaphore returns a semaphore whose keys start with prefix.
func NewSemaphore(rdb redis.Scripter, prefix string) *Semaphore {
	return &Semaphore{rdb: rdb, prefix: prefix}
}

// semKey is the Redis key of one concurrent-call cap.
func semKey(prefix, key string) string {
	return prefix + "sem:{" + key + "}"
}

// leaseTail is the end shared by the scripts that write a lease: the key
// lives as long as its longest lease, then expires by itself.
const leaseTail = `
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then
  redis.call('PEXPIRE', KEYS[1], math.ceil((tonumber(last[2]) - now) / 1000) + 1)
end
`

// acquireScript reserves a slot if one is free.
//
// KEYS[1]  the semaphore sorted set (member holder, score lease expiry µs).
// ARGV[1]  limit: slots in all.
// ARGV[2]  holder.
// ARGV[3]  ttl in µs.
//
// Returns 1 if holder now holds a slot (a holder that already held one has
// its lease renewed), else 0.
var acquireScript = redis.NewScript(serverTime + `
local limit = tonumber(ARGV[1])
local expiry = string.format('%.0f', now + tonumber(ARGV[3]))
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  if redis.call('ZCARD', KEYS[1]) >= limit then
    return 0
  end
end
redis.call('ZADD', KEYS[1], expiry, ARGV[2])
` + leaseTail + `
return 1
`)

// refreshScript renews a lease that has not lapsed.
//
// KEYS[1]  the semaphore sorted set.
// ARGV[1]  holder.
// ARGV[2]  ttl in µs.
//
// Returns 1 if renewed, 0 if holder held no live lease. A lapsed lease is
// never revived: its slot may already belong to someone else.
var refreshScript = redis.NewScript(serverTime + `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], 'XX', string.format('%.0f', now + tonumber(ARGV[2])), ARGV[1])
` + leaseTail + `
return 1
`)

// releaseScript frees a slot. (One command, but a script keeps Semaphore
// needing nothing beyond redis.Scripter.)
//
// KEYS[1]  the semaphore sorted set.
// ARGV[1]  holder.
//
// Returns 1 if holder held a slot, else 0.
var releaseScript = redis.NewScript(`
return redis.call('ZREM', KEYS[1], ARGV[1])
`)

// countScript counts live leases without writing.
//
// KEYS[1]  the semaphore sorted set.
//
// Returns the number of leases expiring after now.
var countScript = redis.NewScript(serverTime + `
return redis.call('ZCOUNT', KEYS[1], '(' .. string.format('%.0f', now), '+inf')
`)

// Acquire reserves one of limit slots for holder for ttl, and reports whether
// it got one. Acquiring a slot the holder already has renews its lease. A
// limit of 0 admits nobody. On any Redis failure Acquire reports false and an
// error wrapping ErrUnavailable.
//
// Refresh the lease well within ttl (say every ttl/3) while the call lasts,
// and Release it when the call ends.
func (s *Semaphore) Acquire(ctx context.Context, key string, limit int, holder string, ttl time.Duration) (ok bool, err error) {
	if err := checkLease(key, holder, ttl); err != nil {
		return false, err
	}
	if limit < 0 {
		return false, fmt.Errorf("pace: acquire %q: limit %d is negative", key, limit)
	}
	got, err := acquireScript.Run(ctx, s.rdb, []string{semKey(s.prefix, key)}, limit, holder, ttl.Microseconds()).Int()
	if err != nil {
		return false, interpretError("acquire", key, err)
	}
	return got == 1, nil
}

// Refresh extends holder's lease to ttl from now and reports whether it still
// held one. false means the lease lapsed (and the slot may be someone
// else's): the call it guarded is no longer counted.
func (s *Semaphore) Refresh(ctx context.Context, key, holder string, ttl time.Duration) (ok bool, err error) {
	if err := checkLease(key, holder, ttl); err != nil {
		return false, err
	}
	got, err := refreshScript.Run(ctx, s.rdb, []string{semKey(s.prefix, key)}, holder, ttl.Microseconds()).Int()
	if err != nil {
		return false, interpretError("refresh", key, err)
	}
	return got == 1, nil
}

// Release frees holder's slot. Releasing a holder that holds nothing (never
// acquired, already released, lapsed) does nothing, and touches no one
// else's slot.
func (s *Semaphore) Release(ctx context.Context, key, holder string) error {
	if err := releaseScript.Run(ctx, s.rdb, []string{semKey(s.prefix, key)}, holder).Err(); err != nil {
		return interpretError("release", key, err)
	}
	return nil
}

// Count returns how many live leases key has.
func (s *Semaphore) Count(ctx context.Context, key string) (int, error) {
	n, err := countScript.Run(ctx, s.rdb, []string{semKey(s.prefix, key)}).Int()
	if err != nil {
		return 0, interpretError("count", key, err)
	}
	return n, nil
}

func checkLease(key, holder string, ttl time.Duration) error {
	switch {
	case holder == "":
		return fmt.Errorf("pace: semaphore %q: empty holder", key)
	case ttl < time.Millisecond:
		return fmt.Errorf("pace: semaphore %q: ttl %v is below 1ms", key, ttl)
	}
	return nil
}
