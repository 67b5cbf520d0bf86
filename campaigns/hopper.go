package campaigns

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Hopper is the dial queue — the contacts table — as dispatch works it from
// any number of instances: due contacts are taken with FOR UPDATE SKIP
// LOCKED and re-checked before they are dialled, and a contact whose
// attempt has ended is moved on by the campaign's policy.
type Hopper struct {
	Pool *pgxpool.Pool
}

// Live is an active campaign as dispatch needs it.
type Live struct {
	ID              int64
	Name            string
	Def             *Definition
	SurveyVersionID int64
}

// Active lists the active campaigns. Dispatch reads it every tick, so a
// pause takes effect at the next one.
func (h *Hopper) Active(ctx context.Context) ([]Live, error) {
	rows, err := h.Pool.Query(ctx, `
SELECT id, name, definition, survey_version_id FROM campaigns
WHERE state = 'active' AND survey_version_id IS NOT NULL
ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("active campaigns: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Live, error) {
		var l Live
		var def []byte
		if err := r.Scan(&l.ID, &l.Name, &def, &l.SurveyVersionID); err != nil {
			return l, err
		}
		l.Def = new(Definition)
		if err := json.Unmarshal(def, l.Def); err != nil {
			return l, fmt.Errorf("campaign %s: stored definition: %w", l.Name, err)
		}
		return l, nil
	})
}

// Due reports whether a campaign has a contact due at now.
func (h *Hopper) Due(ctx context.Context, campaignID int64, now time.Time) (bool, error) {
	var due bool
	err := h.Pool.QueryRow(ctx, `
SELECT EXISTS (SELECT 1 FROM contacts WHERE campaign_id = $1 AND state = 'queued' AND next_at <= $2)`,
		campaignID, now).Scan(&due)
	return due, err
}

// QueueDepth counts a campaign's contacts due at now.
func (h *Hopper) QueueDepth(ctx context.Context, campaignID int64, now time.Time) (int, error) {
	var n int
	err := h.Pool.QueryRow(ctx, `
SELECT count(*) FROM contacts WHERE campaign_id = $1 AND state = 'queued' AND next_at <= $2`,
		campaignID, now).Scan(&n)
	return n, err
}

const contactColumns = `k.id, k.campaign_id, k.work_order_id, k.phone_e164, k.zones, k.lang, k.channel,
k.attempts, k.voice_attempts, k.sms_attempts, k.next_at, k.expires_at, COALESCE(k.last_attempt_id, 0)`

func scanContact(r pgx.Row, extra ...any) (Contact, error) {
	var c Contact
	dest := append([]any{&c.ID, &c.CampaignID, &c.WorkOrderID, &c.Phone, &c.Zones, &c.Lang, &c.Channel,
		&c.Attempts, &c.VoiceAttempts, &c.SMSAttempts, &c.NextAt, &c.ExpiresAt, &c.LastAttemptID}, extra...)
	return c, r.Scan(dest...)
}

// Take claims up to n contacts of campaign l that are due at now, for
// dialling. Each is checked again under its row lock: a number suppressed
// since enrolment ends the contact, a contact past its deadline expires,
// one whose calling window has closed while it waited is moved to when the
// window opens. The rest are marked dialling — their attempt counted, a
// lease until now+lease after which a contact with no attempt goes back to
// the queue — and returned.
func (h *Hopper) Take(ctx context.Context, l Live, n int, now time.Time, lease time.Duration) ([]Contact, error) {
	if n <= 0 {
		return nil, nil
	}
	var out []Contact
	err := pgx.BeginFunc(ctx, h.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
SELECT `+contactColumns+`, EXISTS (SELECT 1 FROM suppressions s WHERE s.phone_e164 = k.phone_e164)
FROM contacts k
WHERE k.campaign_id = $1 AND k.state = 'queued' AND k.next_at <= $2
ORDER BY k.next_at, k.id
LIMIT $3
FOR UPDATE SKIP LOCKED`, l.ID, now, n)
		if err != nil {
			return err
		}
		type taken struct {
			c          Contact
			suppressed bool
		}
		var cs []taken
		for rows.Next() {
			var t taken
			if t.c, err = scanContact(rows, &t.suppressed); err != nil {
				rows.Close()
				return err
			}
			cs = append(cs, t)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var (
			dial               []int64
			endIDs             []int64
			endOutcomes        []string
			deferIDs           []int64
			deferTo            []time.Time
			dialVoice, dialSMS []bool
			contactsForDial    []Contact
		)
		for _, t := range cs {
			c := t.c
			switch {
			case t.suppressed:
				endIDs, endOutcomes = append(endIDs, c.ID), append(endOutcomes, "suppressed")
				continue
			case !now.Before(c.ExpiresAt):
				endIDs, endOutcomes = append(endIDs, c.ID), append(endOutcomes, "expired")
				continue
			}
			locs := Locations(c.Zones)
			w := l.Def.WindowFor(c.Lang)
			if !w.Open(now, locs...) {
				next, ok := w.NextOpen(now, locs...)
				if !ok || !next.Before(c.ExpiresAt) {
					endIDs, endOutcomes = append(endIDs, c.ID), append(endOutcomes, "expired")
					continue
				}
				deferIDs, deferTo = append(deferIDs, c.ID), append(deferTo, next)
				continue
			}
			dial = append(dial, c.ID)
			dialVoice, dialSMS = append(dialVoice, c.Channel == "voice"), append(dialSMS, c.Channel == "sms")
			c.Attempts++
			if c.Channel == "voice" {
				c.VoiceAttempts++
			} else {
				c.SMSAttempts++
			}
			c.LastAttemptID = 0
			contactsForDial = append(contactsForDial, c)
		}
		if len(endIDs) > 0 {
			if _, err := tx.Exec(ctx, `
UPDATE contacts k SET state = 'done', outcome = e.outcome, ended_at = $3, updated_at = $3
FROM unnest($1::bigint[], $2::text[]) AS e(id, outcome)
WHERE k.id = e.id`, endIDs, endOutcomes, now); err != nil {
				return err
			}
		}
		if len(deferIDs) > 0 {
			if _, err := tx.Exec(ctx, `
UPDATE contacts k SET next_at = d.at, updated_at = $3
FROM unnest($1::bigint[], $2::timestamptz[]) AS d(id, at)
WHERE k.id = d.id`, deferIDs, deferTo, now); err != nil {
				return err
			}
		}
		if len(dial) > 0 {
			if _, err := tx.Exec(ctx, `
UPDATE contacts k SET state = 'dialing', attempts = attempts + 1,
       voice_attempts = voice_attempts + d.voice::int, sms_attempts = sms_attempts + d.sms::int,
       last_attempt_id = NULL, lease_until = $4, updated_at = $5
FROM unnest($1::bigint[], $2::bool[], $3::bool[]) AS d(id, voice, sms)
WHERE k.id = d.id`, dial, dialVoice, dialSMS, now.Add(lease), now); err != nil {
				return err
			}
		}
		out = contactsForDial
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("take contacts of campaign %s: %w", l.Name, err)
	}
	return out, nil
}

// AttachAttempt records a contact's attempt, in the transaction that
// writes the attempt.
func AttachAttempt(ctx context.Context, tx pgx.Tx, contactID, attemptID int64) error {
	tag, err := tx.Exec(ctx, `
UPDATE contacts SET last_attempt_id = $2 WHERE id = $1 AND state = 'dialing' AND last_attempt_id IS NULL`,
		contactID, attemptID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("contact %d is not waiting for an attempt", contactID)
	}
	return nil
}

// Release puts a taken contact back in the queue without an attempt (it
// could not be dialled now: the concurrent-call cap was reached, or a survey
// with the number is still open), due again at next.
func (h *Hopper) Release(ctx context.Context, contactID int64, next time.Time) error {
	_, err := h.Pool.Exec(ctx, `
UPDATE contacts SET state = 'queued', attempts = attempts - 1,
       voice_attempts = voice_attempts - (channel = 'voice')::int, sms_attempts = sms_attempts - (channel = 'sms')::int,
       next_at = $2, lease_until = NULL, updated_at = now()
WHERE id = $1 AND state = 'dialing' AND last_attempt_id IS NULL`, contactID, next)
	return err
}

// Settled is one contact moved on after its attempt ended.
type Settled struct {
	Contact      Contact
	Campaign     int64
	CampaignName string
	Attempt      int64
	Result       Result
	Decision     Decision
}

// Settle moves on up to limit contacts whose attempt has ended, by their
// campaign's policy: done (completed, exhausted, opted out …) or queued for
// the next attempt. It also returns to the queue the contacts taken for
// dialling whose lease ran out before an attempt was written (the instance
// died in between). Any instance may run it; rows are taken SKIP LOCKED,
// so each ended attempt is settled exactly once.
func (h *Hopper) Settle(ctx context.Context, now time.Time, limit int) ([]Settled, error) {
	var out []Settled
	err := pgx.BeginFunc(ctx, h.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
UPDATE contacts SET state = 'queued', attempts = attempts - 1,
       voice_attempts = voice_attempts - (channel = 'voice')::int, sms_attempts = sms_attempts - (channel = 'sms')::int,
       next_at = $1, lease_until = NULL, updated_at = $1
WHERE state = 'dialing' AND last_attempt_id IS NULL AND lease_until < $1`, now); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
SELECT `+contactColumns+`, c.name, c.definition, a.outcome, a.channel, a.created_at,
       (a.outcome = 'failed' AND a.placed_at IS NULL AND a.error_code IS NOT NULL),
       (SELECT array_agg(x.created_at ORDER BY x.id) FROM attempts x
        WHERE x.contact_id = k.id AND x.outcome IS DISTINCT FROM 'not_placed' AND x.outcome IS DISTINCT FROM 'suppressed')
FROM contacts k
JOIN attempts a ON a.id = k.last_attempt_id
JOIN campaigns c ON c.id = k.campaign_id
WHERE k.state = 'dialing' AND a.state = 'ended'
ORDER BY k.id
LIMIT $1
FOR UPDATE OF k SKIP LOCKED`, limit)
		if err != nil {
			return err
		}
		defs := map[int64]*Definition{}
		for rows.Next() {
			var (
				s       Settled
				defJSON []byte
				earlier []time.Time
			)
			s.Contact, err = scanContact(rows, &s.CampaignName, &defJSON, &s.Result.Outcome, &s.Result.Channel, &s.Result.At,
				&s.Result.Permanent, &earlier)
			if err != nil {
				rows.Close()
				return err
			}
			s.Campaign, s.Attempt = s.Contact.CampaignID, s.Contact.LastAttemptID
			def := defs[s.Campaign]
			if def == nil {
				def = new(Definition)
				if err := json.Unmarshal(defJSON, def); err != nil {
					rows.Close()
					return fmt.Errorf("campaign %d: stored definition: %w", s.Campaign, err)
				}
				defs[s.Campaign] = def
			}
			s.Decision = def.Next(s.Contact, s.Result, earlier, now)
			out = append(out, s)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, s := range out {
			d := s.Decision
			var err error
			if d.Done {
				_, err = tx.Exec(ctx, `
UPDATE contacts SET state = 'done', outcome = $2, ended_at = $3, lease_until = NULL, updated_at = $3 WHERE id = $1`,
					s.Contact.ID, d.Outcome, now)
			} else {
				_, err = tx.Exec(ctx, `
UPDATE contacts SET state = 'queued', next_at = $2, channel = $3, lease_until = NULL, updated_at = $4,
       attempts = attempts - ($5::bool)::int,
       voice_attempts = voice_attempts - ($5::bool AND $6 = 'voice')::int,
       sms_attempts = sms_attempts - ($5::bool AND $6 = 'sms')::int
WHERE id = $1`, s.Contact.ID, d.NextAt, d.Channel, now, d.Uncount, s.Result.Channel)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("settle contacts: %w", err)
	}
	return out, nil
}
