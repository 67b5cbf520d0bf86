package dialer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/nyaruka/phonenumbers"
)

// CallEvent is one status callback of a call.
type CallEvent struct {
	CallSid    string
	Status     string // queued, initiated, ringing, in-progress, completed, busy, no-answer, failed, canceled
	AnsweredBy string // human, machine_start, machine_end_beep, … once known
	Duration   int    // seconds, on the final callback
	ErrorCode  int
	At         time.Time
}

// callStatusRank orders a call's statuses; a callback moves an attempt only
// forward, so a late "ringing" after "completed" changes nothing.
var callStatusRank = map[string]int{
	"queued": 1, "initiated": 2, "ringing": 3, "in-progress": 4, "answered": 4,
	"completed": 5, "busy": 5, "no-answer": 5, "failed": 5, "canceled": 5,
}

// IsCallStatus reports whether s is a call status Twilio sends.
func IsCallStatus(s string) bool { return callStatusRank[s] > 0 }

// CallStatus records a status callback. Callbacks may come out of order,
// twice, or not at all: the attempt only moves forward, and the final one
// ends the attempt, ends the session if the customer hung up mid-survey
// (its answers stay) and settles the outcome.
func (c *Conversations) CallStatus(ctx context.Context, attemptID int64, ev CallEvent) error {
	rank := callStatusRank[ev.Status]
	if rank == 0 {
		return fmt.Errorf("CallStatus: %q is not a call status", ev.Status)
	}
	if err := c.checkCall(ctx, attemptID, ev.CallSid); err != nil {
		return err
	}
	if ev.At.IsZero() {
		ev.At = c.now()
	}
	final := rank == 5
	status := ev.Status
	if status == "answered" {
		status = "in-progress"
	}
	return pgx.BeginFunc(ctx, c.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
UPDATE attempts SET
    carrier_status = $2, status_rank = $3,
    state = CASE WHEN $4 THEN 'ended' WHEN state IN ('pending', 'in_doubt') THEN 'placed' ELSE state END,
    placed_at = COALESCE(placed_at, $5),
    answered_at = CASE WHEN $2 = 'in-progress' THEN COALESCE(answered_at, $5) ELSE answered_at END,
    answered_by = CASE WHEN answered_by = '' THEN $6 ELSE answered_by END,
    duration_s = CASE WHEN $4 THEN $7 ELSE duration_s END,
    error_code = COALESCE(error_code, NULLIF($8, 0)),
    ended_at = CASE WHEN $4 THEN COALESCE(ended_at, $5) ELSE ended_at END
WHERE id = $1 AND status_rank < $3`, attemptID, status, rank, final, ev.At, ev.AnsweredBy, ev.Duration, ev.ErrorCode)
		if err != nil || tag.RowsAffected() == 0 || !final {
			return err
		}
		if _, err := tx.Exec(ctx, `
UPDATE survey_sessions SET status = 'ended', end_reason = 'hung_up', ended_at = $2, updated_at = $2
WHERE attempt_id = $1 AND status = 'open'`, attemptID, ev.At); err != nil {
			return err
		}
		return settleEndedCall(ctx, tx, attemptID)
	})
}

// checkCall checks that callSid is the call of a voice attempt, adopting it
// if the attempt has none yet.
func (c *Conversations) checkCall(ctx context.Context, attemptID int64, callSid string) error {
	if callSid == "" {
		return ErrUnknownCall
	}
	var have string
	err := c.Pool.QueryRow(ctx, `SELECT COALESCE(carrier_sid, '') FROM attempts WHERE id = $1 AND channel = 'voice'`,
		attemptID).Scan(&have)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrUnknownCall
	}
	if err != nil {
		return err
	}
	return c.adoptSID(ctx, attemptID, have, callSid)
}

// settleEndedCall sets the outcome of an ended call from its final status,
// who answered and how far the survey got. A survey that was completed or
// opted out counts over a machine verdict: a person pressed keys.
func settleEndedCall(ctx context.Context, tx pgx.Tx, attemptID int64) error {
	_, err := tx.Exec(ctx, `
UPDATE attempts a SET outcome = CASE
    WHEN a.carrier_status = 'busy' THEN 'busy'
    WHEN a.carrier_status = 'no-answer' THEN 'no_answer'
    WHEN a.carrier_status = 'failed' THEN 'failed'
    WHEN a.carrier_status = 'canceled' THEN 'canceled'
    WHEN s.end_reason IN ('completed', 'opted_out') THEN s.end_reason
    WHEN a.answered_by LIKE 'machine%' OR a.answered_by = 'fax' THEN 'machine'
    WHEN EXISTS (SELECT 1 FROM survey_answers x
                 WHERE x.session_id = s.id AND x.event = 'answer' AND x.question <> 'intro') THEN 'partial'
    WHEN s.end_reason = 'no_response' THEN 'no_response'
    ELSE 'hung_up' END
FROM survey_sessions s
WHERE s.attempt_id = a.id AND a.id = $1 AND a.state = 'ended'`, attemptID)
	return err
}

// MachineAction is what to do with a call a machine answered.
type MachineAction struct {
	Hangup    bool
	Voicemail *Voicemail // leave this message, then hang up
}

// MachineDetected records the answering-machine verdict and says what to do
// with the call: nothing for a person; for a machine, leave the voicemail
// when the attempt asks for one, the greeting has ended and no voicemail
// was left for this job before (at most one per job), else hang up. A
// repeated callback changes nothing and asks for nothing.
func (c *Conversations) MachineDetected(ctx context.Context, attemptID int64, callSid, answeredBy string) (MachineAction, error) {
	s, err := c.callSession(ctx, attemptID, callSid)
	if err != nil {
		return MachineAction{}, err
	}
	var action string
	err = c.Pool.QueryRow(ctx, `
UPDATE attempts SET answered_by = $2 WHERE id = $1 AND answered_by = '' RETURNING machine_action`,
		attemptID, answeredBy).Scan(&action)
	if errors.Is(err, pgx.ErrNoRows) {
		return MachineAction{}, nil // already known: a repeat
	}
	if err != nil {
		return MachineAction{}, err
	}
	if !strings.HasPrefix(answeredBy, "machine") && answeredBy != "fax" {
		return MachineAction{}, nil
	}
	if action != "voicemail" || !strings.HasPrefix(answeredBy, "machine_end") {
		return MachineAction{Hangup: true}, nil
	}
	tag, err := c.Pool.Exec(ctx, `
UPDATE attempts a SET voicemail_left = true
WHERE a.id = $1 AND NOT EXISTS (
    SELECT 1 FROM attempts o WHERE o.work_order_id = a.work_order_id AND o.voicemail_left)`, attemptID)
	if err != nil {
		return MachineAction{}, err
	}
	if tag.RowsAffected() == 0 {
		return MachineAction{Hangup: true}, nil
	}
	step, err := s.def.Next(s.job, &s.state)
	if err != nil {
		return MachineAction{}, err
	}
	vm := VoicemailFor(s.job.Brand, s.state.Lang, s.from)
	vm.Language, vm.Voice = step.Say.Language, step.Say.Voice
	return MachineAction{Voicemail: &vm}, nil
}

// VoicemailFor is the default voicemail: who is calling and the number to
// call back, in the customer's language, and nothing about the job — a
// machine may be heard by anyone in the house.
func VoicemailFor(brand, lang, callback string) Voicemail {
	num := SpokenNumber(callback)
	if strings.HasPrefix(lang, "zh") {
		if brand == "" {
			brand = "售后"
		}
		return Voicemail{Text: fmt.Sprintf("您好，这里是%s客服，就您近期的服务做一个简短回访。请回电 %s。谢谢。", brand, num)}
	}
	who := "customer service"
	if brand != "" {
		who = brand + " customer service"
	}
	return Voicemail{Text: fmt.Sprintf("Hello, this is %s with a short follow-up on your recent service. Please call us back at %s. Thank you.", who, num)}
}

// SpokenNumber writes a number as a speech engine should read it: digit by
// digit in its national format, a pause between groups ("4 0 0, 8 8 8,
// 1 2 3 4"), rather than "four hundred million …".
func SpokenNumber(e164 string) string {
	national := e164
	if n, err := phonenumbers.Parse(e164, ""); err == nil {
		national = phonenumbers.Format(n, phonenumbers.NATIONAL)
	}
	var groups []string
	var cur []string
	for _, r := range national {
		if r >= '0' && r <= '9' {
			cur = append(cur, string(r))
			continue
		}
		if len(cur) > 0 {
			groups = append(groups, strings.Join(cur, " "))
			cur = nil
		}
	}
	if len(cur) > 0 {
		groups = append(groups, strings.Join(cur, " "))
	}
	return strings.Join(groups, ", ")
}

// RecordingEvent is one recording status callback.
type RecordingEvent struct {
	CallSid, RecordingSid, URL, Status string
	Duration                           int
}

// Recording stores the call's recording once it is ready (Twilio's
// recording status callback; the URL is not ready at the action callback).
// A repeat, or a status other than completed, changes nothing.
func (c *Conversations) Recording(ctx context.Context, attemptID int64, ev RecordingEvent) error {
	if err := c.checkCall(ctx, attemptID, ev.CallSid); err != nil {
		return err
	}
	if ev.Status != "completed" || ev.RecordingSid == "" {
		return nil
	}
	_, err := c.Pool.Exec(ctx, `
UPDATE attempts SET recording_sid = $2, recording_url = $3, recording_duration_s = $4
WHERE id = $1 AND (recording_sid IS NULL OR recording_sid = $2)`, attemptID, ev.RecordingSid, ev.URL, ev.Duration)
	return err
}

func isUniqueViolation(err error, constraint string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && (constraint == "" || pe.ConstraintName == constraint)
}
