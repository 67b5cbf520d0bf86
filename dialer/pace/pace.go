// Package pace holds the two shared brakes on dispatch: a GCRA rate limiter
// (a campaign's calls per second) and a concurrent-call semaphore (its cap on
// calls in progress). Both live in Redis so that every instance dispatching
// for a campaign obeys one pace and one cap together.
//
// Every decision is one Lua script that reads Redis server TIME, so instances
// with skewed clocks agree, and that checks and reserves in the same step, so
// two workers can never both pass a check that only one of them should.
//
// When Redis cannot be reached, Take and Acquire grant nothing and return an
// error wrapping ErrUnavailable: dispatch pauses until Redis answers again.
// Nothing here is the system of record, so losing Redis loses no data; at
// worst a restarted, empty Redis forgets a campaign's recent pace (it starts
// with a fresh burst) and its leases: Refresh then reports false for calls
// still in progress, which are no longer counted against the cap.
//
// Keys are built in one function per key type and carry a {hash tag} around
// the caller's key, so each script touches a single Redis Cluster slot. The
// tag must be the first braces in the key: a prefix must not contain "{".
package pace

import (
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// ErrUnavailable means Redis could not be asked, or could not answer (down,
// loading, read-only replica, cluster down). Callers treat it as "dispatch
// nothing now, try again shortly", never as permission.
var ErrUnavailable = errors.New("pace: redis unavailable")

// interpretError wraps err with ErrUnavailable unless Redis answered with an
// error that says the request itself was wrong (a wrong-type key, a script
// bug), which retrying will not fix. Either way the caller must not proceed.
func interpretError(op, key string, err error) error {
	if err == nil {
		return nil
	}
	var rerr redis.Error
	if errors.As(err, &rerr) && !unavailableReply(err) {
		return fmt.Errorf("pace: %s %q: %w", op, key, err)
	}
	return fmt.Errorf("pace: %s %q: %w: %w", op, key, ErrUnavailable, err)
}

// unavailableReply reports Redis replies that mean "not now" rather than
// "never".
func unavailableReply(err error) bool {
	return redis.IsLoadingError(err) || redis.IsReadOnlyError(err) ||
		redis.IsClusterDownError(err) || redis.IsTryAgainError(err) ||
		redis.IsMasterDownError(err) || redis.HasErrorPrefix(err, "BUSY")
}

// serverTime is the Lua fragment every script starts with: Redis server time
// in microseconds. Redis 7 replicates script effects, not the script, so a
// script may read TIME and then write.
const serverTime = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
`
