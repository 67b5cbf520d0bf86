package campaigns

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Reason says why a number was suppressed.
type Reason string

// The reasons a number is put on the suppression list.
const (
	ReasonSMSKeyword     Reason = "sms_keyword"     // replied STOP, 退订, TD …
	ReasonSMSIntent      Reason = "sms_intent"      // wrote "please stop texting me" in other words
	ReasonVoiceKey       Reason = "voice_key"       // pressed the opt-out key on a call
	ReasonVoiceSpeech    Reason = "voice_speech"    // said "stop calling"
	ReasonCarrierOptOut  Reason = "carrier_opt_out" // the carrier refused to send: Twilio 21610
	ReasonWrongNumber    Reason = "wrong_number"    // the person answering is not the customer
	ReasonManual         Reason = "manual"          // added by a person in the console
	ReasonDoNotCallEntry Reason = "dnc_import"      // from an imported do-not-call list
)

// Suppressions is the list of numbers never to call or text again.
// Enrolment must skip the numbers on it and the dialer must consult it just
// before every attempt, so that an opt-out takes effect for the very next
// attempt whatever campaign or channel it is in.
type Suppressions struct {
	Pool *pgxpool.Pool
}

// Add puts a number on the list and records who did it and why. It reports
// whether the number was new to the list; adding it again keeps the first
// entry and changes nothing.
func (s *Suppressions) Add(ctx context.Context, phone string, reason Reason, source, actor string) (bool, error) {
	var added bool
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var err error
		added, err = Suppress(ctx, tx, phone, reason, source, actor)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("suppress: %w", err)
	}
	return added, nil
}

// Suppress is Add inside the caller's transaction, so an opt-out and the
// answer that asked for it commit together or not at all.
func Suppress(ctx context.Context, tx pgx.Tx, phone string, reason Reason, source, actor string) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO suppressions (phone_e164, reason, source) VALUES ($1, $2, $3)
		ON CONFLICT (phone_e164) DO NOTHING`, phone, string(reason), source)
	if err != nil {
		return false, err
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	return true, audit(ctx, tx, actor, "suppression.add", phone, map[string]string{"reason": string(reason), "source": source})
}

// Remove lifts a suppression — the customer texted START, or a person
// corrected a mistake — and records it. It reports whether the number was on
// the list.
func (s *Suppressions) Remove(ctx context.Context, phone, why, actor string) (bool, error) {
	var removed bool
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var err error
		removed, err = Unsuppress(ctx, tx, phone, why, actor)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("unsuppress: %w", err)
	}
	return removed, nil
}

// Unsuppress is Remove inside the caller's transaction.
func Unsuppress(ctx context.Context, tx pgx.Tx, phone, why, actor string) (bool, error) {
	tag, err := tx.Exec(ctx, `DELETE FROM suppressions WHERE phone_e164 = $1`, phone)
	if err != nil || tag.RowsAffected() == 0 {
		return false, err
	}
	return true, audit(ctx, tx, actor, "suppression.remove", phone, map[string]string{"why": why})
}

// Has reports whether a number is on the list.
func (s *Suppressions) Has(ctx context.Context, phone string) (bool, error) {
	var on bool
	err := s.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM suppressions WHERE phone_e164 = $1)`, phone).Scan(&on)
	return on, err
}

// audit appends to the audit log. The subject is the number itself; the log
// is an internal record, like the list it describes.
func audit(ctx context.Context, tx pgx.Tx, actor, action, phone string, details map[string]string) error {
	b, _ := json.Marshal(details)
	_, err := tx.Exec(ctx, `INSERT INTO audit_log (actor, action, subject_type, subject_id, details)
		VALUES ($1, $2, 'phone', $3, $4)`, actor, action, phone, b)
	return err
}
