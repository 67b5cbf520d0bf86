// Package leader elects one instance among many to run work that must happen
// once per cluster — campaign enrolment ticks, upstream pulls — using a
// Postgres session advisory lock. The lock lives as long as the connection
// that holds it: if the leader dies or loses its connection, Postgres frees
// the lock and another instance takes over at its next check.
package leader

import (
	"context"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Elector holds (or tries to hold) one named advisory lock.
type Elector struct {
	pool *pgxpool.Pool
	key  int64
	log  *slog.Logger

	mu   sync.Mutex
	conn *pgxpool.Conn // the connection holding the lock, nil when not leader
}

// New returns an Elector for the lock key. Different duties may use
// different keys so that they can be led by different instances.
func New(pool *pgxpool.Pool, key int64, log *slog.Logger) *Elector {
	if log == nil {
		log = slog.Default()
	}
	return &Elector{pool: pool, key: key, log: log}
}

// IsLeader reports whether this instance holds the lock, trying to take it
// if it does not and checking that the holding connection is still alive if
// it does. Call it before each unit of leader-only work.
func (e *Elector) IsLeader(ctx context.Context) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.conn != nil {
		if err := e.conn.Ping(ctx); err == nil {
			return true
		}
		e.log.Warn("leader: lost the connection holding the lock", "key", e.key)
		e.conn.Conn().Close(context.Background())
		e.conn.Release()
		e.conn = nil
	}
	conn, err := e.pool.Acquire(ctx)
	if err != nil {
		return false
	}
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, e.key).Scan(&ok); err != nil || !ok {
		conn.Release()
		return false
	}
	e.log.Info("leader: this instance now leads", "key", e.key)
	e.conn = conn
	return true
}

// Resign releases the lock, if held.
func (e *Elector) Resign(ctx context.Context) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.conn == nil {
		return
	}
	e.conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, e.key) //nolint:errcheck // closing frees it anyway
	e.conn.Release()
	e.conn = nil
}
