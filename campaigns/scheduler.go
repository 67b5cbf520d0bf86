package campaigns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Leader says whether this instance holds the cluster-wide scheduler role.
type Leader interface {
	IsLeader(ctx context.Context) bool
}

// Scheduler enrols contacts on each active campaign's cron schedule. Only
// the leader enrols; a campaign just activated is enrolled at once, then on
// its schedule.
type Scheduler struct {
	Pool   *pgxpool.Pool
	Leader Leader
	Log    *slog.Logger
	Now    func() time.Time
	// Every is how often due schedules are looked for (default 5 s).
	Every time.Duration
}

func (s *Scheduler) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Run enrols until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	every := s.Every
	if every <= 0 {
		every = 5 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if s.Leader == nil || s.Leader.IsLeader(ctx) {
			res, err := EnrolDue(ctx, s.Pool, s.now())
			if err != nil && ctx.Err() == nil && s.Log != nil {
				s.Log.Warn("enrolment", "err", err)
			}
			for name, r := range res {
				if s.Log != nil {
					s.Log.Info("enrolled", "campaign", name, "contacts", r.Enrolled, "deferred_to_window", r.Deferred)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// EnrolDue runs the enrolment of every active campaign whose schedule has
// come due since its last run (or that has never enrolled), each in its own
// transaction with its campaign row locked, and returns what each did.
func EnrolDue(ctx context.Context, pool *pgxpool.Pool, now time.Time) (map[string]EnrolResult, error) {
	rows, err := pool.Query(ctx, `SELECT id FROM campaigns WHERE state = 'active' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("enrolment: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("enrolment: %w", err)
	}
	out := map[string]EnrolResult{}
	var errs error
	for _, id := range ids {
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			var (
				name    string
				defJSON []byte
				last    *time.Time
				state   string
			)
			err := tx.QueryRow(ctx, `SELECT name, definition, last_enrolled_at, state FROM campaigns WHERE id = $1 FOR UPDATE`, id).
				Scan(&name, &defJSON, &last, &state)
			if err != nil || state != "active" {
				return err
			}
			def := new(Definition)
			if err := json.Unmarshal(defJSON, def); err != nil {
				return fmt.Errorf("campaign %s: stored definition: %w", name, err)
			}
			if last != nil {
				next, err := def.NextRuns(*last, 1)
				if err != nil {
					return fmt.Errorf("campaign %s: %w", name, err)
				}
				if len(next) == 0 || next[0].After(now) {
					return nil
				}
			}
			res, err := Enrol(ctx, tx, id, def, now)
			if err != nil {
				return err
			}
			out[name] = res
			_, err = tx.Exec(ctx, `UPDATE campaigns SET last_enrolled_at = $2 WHERE id = $1`, id, now)
			return err
		})
		errs = errors.Join(errs, err)
	}
	return out, errs
}
