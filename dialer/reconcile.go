package dialer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Reconciler settles attempts left in doubt. An attempt is written before
// the carrier is asked; if the process died before asking, or the
// carrier's answer was lost (a timeout, a 5xx), nobody knows whether the
// customer's phone rang. Resending would risk a second call, so the
// reconciler asks the carrier instead: it lists the calls (or texts) to the
// number since the attempt began, and adopts the one it finds — or, finding
// none, ends the attempt as not placed, which the campaign's policy then
// retries without counting it. It also settles calls whose final status
// callback never came. One instance runs it at a time.
type Reconciler struct {
	Conv *Conversations
	Log  *slog.Logger
	Now  func() time.Time
	// PendingAfter: a pending attempt older than this was never handed to
	// the carrier by a live process (default 1 min, beyond the carrier
	// client's 15 s timeout). InDoubtAfter: how long the carrier gets to
	// show a call it may have placed (default 15 s). StaleAfter: a placed
	// call with no final status after this is looked up (default 30 min).
	PendingAfter, InDoubtAfter, StaleAfter time.Duration
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Reconciler) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.New(slog.DiscardHandler)
}

type doubtful struct {
	id        int64
	channel   string
	to        string
	state     string
	sid       string
	createdAt time.Time
	body      string // SMS: the first text
	msgID     int64
}

// Once reconciles what is due and reports how many attempts it settled.
func (r *Reconciler) Once(ctx context.Context) (int, error) {
	c := r.Conv
	now := r.now()
	rows, err := c.Pool.Query(ctx, `
SELECT a.id, a.channel, a.to_e164, a.state, COALESCE(a.carrier_sid, ''), a.created_at,
       COALESCE(m.body, ''), COALESCE(m.id, 0)
FROM attempts a
LEFT JOIN LATERAL (SELECT id, body FROM sms_messages m WHERE m.attempt_id = a.id AND m.direction = 'out'
                   ORDER BY m.id LIMIT 1) m ON a.channel = 'sms'
WHERE (a.state = 'pending' AND a.created_at < $1) OR (a.state = 'in_doubt' AND a.created_at < $2)
   OR (a.state = 'placed' AND a.channel = 'voice' AND a.placed_at < $3)
ORDER BY a.id
LIMIT 100`, now.Add(-orDefault(r.PendingAfter, time.Minute)), now.Add(-orDefault(r.InDoubtAfter, 15*time.Second)),
		now.Add(-orDefault(r.StaleAfter, 30*time.Minute)))
	if err != nil {
		return 0, fmt.Errorf("reconcile: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (doubtful, error) {
		var d doubtful
		return d, row.Scan(&d.id, &d.channel, &d.to, &d.state, &d.sid, &d.createdAt, &d.body, &d.msgID)
	})
	if err != nil {
		return 0, fmt.Errorf("reconcile: %w", err)
	}
	settled := 0
	var errs error
	for _, d := range list {
		var ok bool
		var err error
		if d.channel == "voice" {
			ok, err = r.call(ctx, d)
		} else {
			ok, err = r.text(ctx, d)
		}
		if err != nil {
			errs = errors.Join(errs, fmt.Errorf("attempt %d: %w", d.id, err))
			continue
		}
		if ok {
			settled++
		}
	}
	return settled, errs
}

// call settles a voice attempt from the carrier's list of calls.
func (r *Reconciler) call(ctx context.Context, d doubtful) (bool, error) {
	c := r.Conv
	calls, err := c.Carrier.CallsTo(ctx, d.to, d.createdAt.Add(-2*time.Second))
	if err != nil {
		return false, err
	}
	var found *CarrierCall
	for i := range calls {
		cl := &calls[i]
		if d.sid != "" && cl.SID == d.sid {
			found = cl
			break
		}
		if d.sid == "" {
			var taken bool
			if err := c.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM attempts WHERE carrier_sid = $1)`,
				cl.SID).Scan(&taken); err != nil {
				return false, err
			}
			if !taken && (found == nil || cl.CreatedAt.Before(found.CreatedAt)) {
				found = cl
			}
		}
	}
	if found == nil {
		if d.state == "placed" {
			return false, nil // the carrier does not list it (yet); look again next time
		}
		r.log().Info("attempt was never placed", "attempt", d.id)
		return true, c.abandon(ctx, d.id, "not_placed", "reconciled: the carrier has no such call")
	}
	if d.sid == "" {
		if err := c.adoptSID(ctx, d.id, "", found.SID); err != nil {
			return false, err
		}
	}
	if _, err := c.Pool.Exec(ctx, `
UPDATE attempts SET state = 'placed', placed_at = COALESCE(placed_at, created_at)
WHERE id = $1 AND state IN ('pending', 'in_doubt')`, d.id); err != nil {
		return false, err
	}
	if callStatusRank[found.Status] == 5 {
		// Its final callback was lost (or went to an instance that died).
		return true, c.CallStatus(ctx, d.id, CallEvent{CallSid: found.SID, Status: found.Status, At: r.now()})
	}
	return d.state != "placed", nil
}

// text settles an SMS attempt whose first text is in doubt.
func (r *Reconciler) text(ctx context.Context, d doubtful) (bool, error) {
	c := r.Conv
	msgs, err := c.Carrier.MessagesTo(ctx, d.to, d.createdAt.Add(-2*time.Second))
	if err != nil {
		return false, err
	}
	for _, m := range msgs {
		if m.Body != d.body {
			continue
		}
		var taken bool
		if err := c.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sms_messages WHERE sid = $1)`, m.SID).Scan(&taken); err != nil {
			return false, err
		}
		if taken {
			continue
		}
		err := pgx.BeginFunc(ctx, c.Pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `UPDATE sms_messages SET sid = $2, status = 'queued' WHERE id = $1 AND sid IS NULL`,
				d.msgID, m.SID); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `
UPDATE attempts SET carrier_sid = COALESCE(carrier_sid, $2), state = 'placed', placed_at = COALESCE(placed_at, created_at)
WHERE id = $1 AND state IN ('pending', 'in_doubt')`, d.id, m.SID)
			return err
		})
		return err == nil, err
	}
	r.log().Info("text was never sent", "attempt", d.id)
	return true, c.abandon(ctx, d.id, "not_placed", "reconciled: the carrier has no such message")
}

// abandon ends an attempt that never reached the customer, and its session.
func (c *Conversations) abandon(ctx context.Context, attemptID int64, outcome, msg string) error {
	now := c.now()
	return pgx.BeginFunc(ctx, c.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
UPDATE attempts SET state = 'ended', outcome = $2, error_message = $3, ended_at = $4
WHERE id = $1 AND state IN ('pending', 'in_doubt')`, attemptID, outcome, msg, now)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		_, err = tx.Exec(ctx, `
UPDATE survey_sessions SET status = 'ended', end_reason = 'failed', ended_at = $2, updated_at = $2
WHERE attempt_id = $1 AND status = 'open'`, attemptID, now)
		return err
	})
}
