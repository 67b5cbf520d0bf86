package dialer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/huifang/huifang/campaigns"
	"github.com/huifang/huifang/surveys"
	"github.com/huifang/huifang/workorders"
)

// outMessage is a text written to sms_messages before it is handed to the
// carrier.
type outMessage struct {
	id   int64
	body string
}

// queueText writes an outgoing text of the session, to be sent after the
// transaction commits.
func queueText(ctx context.Context, tx pgx.Tx, s *session, body string, now time.Time) (outMessage, error) {
	m := outMessage{body: body}
	err := tx.QueryRow(ctx, `
INSERT INTO sms_messages (session_id, attempt_id, direction, phone_e164, body, status, created_at, updated_at)
VALUES ($1, $2, 'out', $3, $4, 'sending', $5, $5)
RETURNING id`, s.id, s.attemptID, s.phone, body, now).Scan(&m.id)
	return m, err
}

// Text starts an SMS survey: the attempt, the session and its first
// question are written, then the question is sent. One SMS survey at a time
// may be open with a number (ErrSessionOpen), since replies are matched by
// the customer's number.
func (c *Conversations) Text(ctx context.Context, t Target) (Attempt, error) {
	t.Channel = surveys.SMS
	s, err := c.begin(ctx, t)
	if err != nil {
		if s != nil {
			return Attempt{ID: s.attemptID, State: "ended", Outcome: "suppressed"}, err
		}
		return Attempt{}, err
	}
	step, err := s.def.Next(s.job, &s.state)
	if err != nil {
		return Attempt{}, err
	}
	now := c.now()
	var m outMessage
	err = pgx.BeginFunc(ctx, c.Pool, func(tx pgx.Tx) error {
		var err error
		if m, err = queueText(ctx, tx, s, step.Prompt, now); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE survey_sessions SET last_sent_at = $2, next_check_at = $3 WHERE id = $1`,
			s.id, now, now.Add(orDefault(c.SMSReminderAfter, 24*time.Hour)))
		return err
	})
	if err != nil {
		return Attempt{}, fmt.Errorf("start SMS attempt %d: %w", s.attemptID, err)
	}
	requested, err := c.pace(ctx, s, t)
	if err != nil {
		_, _ = c.Pool.Exec(context.WithoutCancel(ctx), `UPDATE sms_messages SET status = 'unsent' WHERE id = $1`, m.id)
		return Attempt{ID: s.attemptID, SessionID: s.id, State: "ended", Outcome: "not_placed"}, err
	}
	sid, serr := c.sendText(ctx, s, m)
	return c.settlePlaced(ctx, s, requested, sid, serr)
}

// sendText hands one queued text to the carrier and records its answer.
func (c *Conversations) sendText(ctx context.Context, s *session, m outMessage) (string, error) {
	sid, err := c.Carrier.SendSMS(ctx, SMSRequest{
		To: s.phone, From: s.from, Body: m.body,
		StatusCallback: c.Hooks.SMSStatusURL(s.attemptID, m.id),
		ValidFor:       orDefault(c.SMSValidFor, time.Hour),
	})
	status, code := "queued", 0
	switch {
	case err == nil:
	case KindOf(err) == Ambiguous:
		status = "in_doubt"
	case KindOf(err) == Retryable:
		status = "unsent"
	default:
		status = "failed"
		var ce *CarrierError
		if errors.As(err, &ce) {
			code = ce.Code
		}
	}
	_, uerr := c.Pool.Exec(ctx, `
UPDATE sms_messages SET sid = COALESCE(sid, NULLIF($2, '')), error_code = NULLIF($4, 0), updated_at = $5,
       status = CASE WHEN status_rank = 0 THEN $3 ELSE status END
WHERE id = $1`, m.id, sid, status, code, c.now())
	if uerr != nil {
		c.log().Error("record sent text", "message", m.id, "err", uerr)
	}
	return sid, err
}

// sendQueued sends texts queued in a committed transaction. A permanent
// refusal ends the session; Twilio's 21610 (the customer texted STOP to
// this sender) also puts the number on the suppression list.
func (c *Conversations) sendQueued(ctx context.Context, s *session, msgs []outMessage) error {
	for _, m := range msgs {
		_, err := c.sendText(ctx, s, m)
		if err == nil || KindOf(err) != Permanent {
			if err != nil {
				c.log().Warn("text not sent", "attempt", s.attemptID, "err", err)
			}
			continue
		}
		reason := "failed"
		if IsOptOut(err) {
			reason = "opted_out"
		}
		return c.endSession(ctx, s, reason, IsOptOut(err))
	}
	return nil
}

// endSession ends an SMS session from outside the engine (the carrier
// refused a text) and settles its attempt.
func (c *Conversations) endSession(ctx context.Context, s *session, reason string, carrierOptOut bool) error {
	now := c.now()
	return pgx.BeginFunc(ctx, c.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
UPDATE survey_sessions SET status = 'ended', end_reason = $2, ended_at = $3, updated_at = $3
WHERE id = $1 AND status = 'open'`, s.id, reason, now)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		if carrierOptOut {
			if _, err := campaigns.Suppress(ctx, tx, s.phone, campaigns.ReasonCarrierOptOut,
				fmt.Sprintf("attempt %d", s.attemptID), "carrier"); err != nil {
				return err
			}
		}
		return endSMSAttempt(ctx, tx, s.attemptID, now)
	})
}

// endSMSAttempt ends an SMS attempt whose session has ended and sets its
// outcome from how far the survey got.
func endSMSAttempt(ctx context.Context, tx pgx.Tx, attemptID int64, now time.Time) error {
	_, err := tx.Exec(ctx, `
UPDATE attempts a SET state = 'ended', ended_at = COALESCE(a.ended_at, $2), outcome = CASE
    WHEN s.end_reason IN ('completed', 'opted_out') THEN s.end_reason
    WHEN EXISTS (SELECT 1 FROM survey_answers x
                 WHERE x.session_id = s.id AND x.event = 'answer' AND x.question <> 'intro') THEN 'partial'
    WHEN s.end_reason = 'failed' THEN 'undelivered'
    ELSE 'no_response' END
FROM survey_sessions s
WHERE s.attempt_id = a.id AND a.id = $1 AND s.status = 'ended'`, attemptID, now)
	return err
}

// InboundSMS is a text a customer sent us.
type InboundSMS struct {
	MessageSid string
	From, To   string // E.164
	Body       string
	// OptOutType is set by Twilio when it acted on one of its own keywords
	// (STOP, START, HELP): it has blocked or unblocked the number and sent
	// its own confirmation, so Huifang must not send another.
	OptOutType string
	At         time.Time
}

// TextIn handles a customer's text. It is stored once (a repeated delivery
// of the same message changes nothing); inside an open survey it is the
// answer to the question last sent, and the next question, the thanks or
// the help text go back; outside one, opt-out words put the number on the
// suppression list, opt-in words lift it and HELP gets the help text. An
// opt-out is confirmed once — by Twilio for its own keywords, by Huifang
// for the others (退订, TD …).
func (c *Conversations) TextIn(ctx context.Context, in InboundSMS) error {
	if in.At.IsZero() {
		in.At = c.now()
	}
	var (
		s    *session
		msgs []outMessage
	)
	err := pgx.BeginFunc(ctx, c.Pool, func(tx pgx.Tx) error {
		var msgID int64
		err := tx.QueryRow(ctx, `
INSERT INTO sms_messages (direction, phone_e164, sid, body, status, status_rank, created_at, updated_at)
VALUES ('in', $1, $2, $3, 'received', 5, $4, $4)
ON CONFLICT (sid) DO NOTHING
RETURNING id`, in.From, in.MessageSid, in.Body, in.At).Scan(&msgID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // a repeated delivery
		}
		if err != nil {
			return err
		}
		s, err = c.scanSession(ctx, tx.QueryRow(ctx, `SELECT `+sessionColumns+`
FROM survey_sessions s JOIN attempts a ON a.id = s.attempt_id
WHERE s.phone_e164 = $1 AND s.status = 'open' AND s.channel = 'sms'
FOR UPDATE OF s`, in.From))
		if errors.Is(err, pgx.ErrNoRows) {
			s = nil
			msgs, err = c.textOutsideSurvey(ctx, tx, in)
			return err
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE sms_messages SET session_id = $2, attempt_id = $3 WHERE id = $1`,
			msgID, s.id, s.attemptID); err != nil {
			return err
		}
		msgs, err = c.replyInSurvey(ctx, tx, s, in)
		return err
	})
	if err != nil {
		return fmt.Errorf("text from %s: %w", workorders.MaskPhone(in.From), err)
	}
	if s == nil {
		s = &session{phone: in.From, from: in.To}
	}
	return c.sendQueued(ctx, s, msgs)
}

// replyInSurvey applies a reply to the open session and queues what goes
// back.
func (c *Conversations) replyInSurvey(ctx context.Context, tx pgx.Tx, s *session, in InboundSMS) ([]outMessage, error) {
	heard, err := s.def.Next(s.job, &s.state)
	if err != nil {
		return nil, err
	}
	input := surveys.Input{Kind: surveys.InputText, Text: in.Body, At: in.At}
	out, err := s.def.Apply(s.job, s.state, input)
	if errors.Is(err, surveys.ErrEnded) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if _, err := c.storeTx(ctx, tx, s, heard.Prompt, input, out); err != nil {
		return nil, err
	}
	var bodies []string
	if out.Notice != "" && in.OptOutType == "" {
		// (Twilio answers its own HELP keyword when it sets OptOutType.)
		bodies = append(bodies, out.Notice)
	}
	optedOut := out.Step.End == surveys.EndOptedOut
	if out.Step.Prompt != "" && !(optedOut && in.OptOutType != "") {
		bodies = append(bodies, out.Step.Prompt)
	}
	now := c.now()
	var msgs []outMessage
	for _, b := range bodies {
		m, err := queueText(ctx, tx, s, b, now)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	if s.status == "open" {
		_, err = tx.Exec(ctx, `UPDATE survey_sessions SET last_sent_at = $2, next_check_at = $3 WHERE id = $1`,
			s.id, now, now.Add(orDefault(c.SMSReminderAfter, 24*time.Hour)))
	}
	return msgs, err
}

// textOutsideSurvey handles a text with no survey open: the keywords of
// DOMAIN.md act, anything else is kept and answered with nothing.
func (c *Conversations) textOutsideSurvey(ctx context.Context, tx pgx.Tx, in InboundSMS) ([]outMessage, error) {
	kw := surveys.ClassifyKeyword(in.Body)
	if kw == surveys.KeywordNone {
		return nil, nil
	}
	// The customer's last survey, if any, gives the language and wording.
	var versionID int64
	var lang string
	var attemptID int64
	err := tx.QueryRow(ctx, `
SELECT survey_version_id, lang, attempt_id FROM survey_sessions WHERE phone_e164 = $1 ORDER BY id DESC LIMIT 1`,
		in.From).Scan(&versionID, &lang, &attemptID)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, err
	}
	if lang == "" {
		lang = "en"
		if strings.HasPrefix(in.From, "+86") {
			lang = "zh-CN"
		}
	}
	var def *surveys.Definition
	if versionID != 0 {
		if def, err = c.definition(ctx, versionID); err != nil {
			return nil, err
		}
	}
	var reply string
	switch kw {
	case surveys.KeywordOptOut, surveys.KeywordOptOutIntent:
		reason := campaigns.ReasonSMSKeyword
		if kw == surveys.KeywordOptOutIntent {
			reason = campaigns.ReasonSMSIntent
		}
		added, err := campaigns.Suppress(ctx, tx, in.From, reason, "inbound text", "customer")
		if err != nil {
			return nil, err
		}
		if added && in.OptOutType == "" {
			reply = keywordReply(def, lang, "opted_out")
		}
	case surveys.KeywordOptIn:
		removed, err := campaigns.Unsuppress(ctx, tx, in.From, "texted "+strings.ToUpper(strings.TrimSpace(in.Body)), "customer")
		if err != nil {
			return nil, err
		}
		if removed && in.OptOutType == "" {
			reply = keywordReply(def, lang, "opted_in")
		}
	case surveys.KeywordHelp:
		if in.OptOutType == "" {
			reply = keywordReply(def, lang, "help")
		}
	}
	if reply == "" {
		return nil, nil
	}
	var m outMessage
	err = tx.QueryRow(ctx, `
INSERT INTO sms_messages (attempt_id, direction, phone_e164, body, status, created_at, updated_at)
VALUES (NULLIF($1, 0), 'out', $2, $3, 'sending', $4, $4)
RETURNING id`, attemptID, in.From, reply, c.now()).Scan(&m.id)
	m.body = reply
	return []outMessage{m}, err
}

// keywordReply is the answer to a keyword outside a survey, in the words of
// the customer's last survey where it has them.
func keywordReply(def *surveys.Definition, lang, what string) string {
	zh := strings.HasPrefix(lang, "zh")
	if def != nil {
		var l surveys.Localized
		switch what {
		case "opted_out":
			l = def.Messages.OptedOut
		case "help":
			l = def.Messages.Help
		}
		if t := l[lang]; t != nil && t.SMS != "" && !strings.Contains(t.SMS, "{") {
			return t.SMS
		}
	}
	switch {
	case what == "opted_out" && zh:
		return "您已退订,我们不会再给您发送回访短信。"
	case what == "opted_out":
		return "You are unsubscribed and will receive no more survey messages. Reply START to resubscribe."
	case what == "opted_in" && zh:
		return "您已重新订阅回访短信。回TD退订。"
	case what == "opted_in":
		return "You are resubscribed to service follow-up messages. Reply STOP to opt out."
	case zh:
		return "这是售后服务回访短信。回TD退订。"
	}
	return "Service follow-up messages. Reply STOP to opt out."
}

// MessageEvent is one message status callback.
type MessageEvent struct {
	MessageSid string
	Status     string // accepted, queued, sending, sent, delivered, undelivered, failed, read, canceled
	ErrorCode  int
}

var messageStatusRank = map[string]int{
	"accepted": 1, "scheduled": 1, "queued": 2, "sending": 3, "sent": 4,
	"delivered": 5, "undelivered": 5, "failed": 5, "canceled": 5, "read": 6,
}

// IsMessageStatus reports whether s is a message status Twilio sends.
func IsMessageStatus(s string) bool { return messageStatusRank[s] > 0 }

// ErrUnknownMessage: the message is not one of this attempt's (404).
var ErrUnknownMessage = errors.New("unknown message")

// TextStatus records a message status callback for message messageID of an
// attempt. Statuses only move forward. A text that could not be delivered
// ends its survey (the customer cannot answer it); error 21610 puts the
// number on the suppression list.
func (c *Conversations) TextStatus(ctx context.Context, attemptID, messageID int64, ev MessageEvent) error {
	rank := messageStatusRank[ev.Status]
	if rank == 0 {
		return fmt.Errorf("TextStatus: %q is not a message status", ev.Status)
	}
	now := c.now()
	var sessionID *int64
	var sid string
	err := c.Pool.QueryRow(ctx, `SELECT session_id, COALESCE(sid, '') FROM sms_messages
WHERE id = $1 AND attempt_id = $2 AND direction = 'out'`, messageID, attemptID).Scan(&sessionID, &sid)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && sid != "" && sid != ev.MessageSid) || ev.MessageSid == "" {
		return ErrUnknownMessage
	}
	if err != nil {
		return err
	}
	tag, err := c.Pool.Exec(ctx, `
UPDATE sms_messages SET sid = COALESCE(sid, $2), status = $3, status_rank = $4, error_code = COALESCE(NULLIF($5, 0), error_code),
       updated_at = $6
WHERE id = $1 AND status_rank < $4`, messageID, ev.MessageSid, ev.Status, rank, ev.ErrorCode, now)
	if isUniqueViolation(err, "sms_messages_sid_key") {
		return ErrUnknownMessage
	}
	if err != nil || tag.RowsAffected() == 0 || sessionID == nil {
		return err
	}
	if _, err := c.Pool.Exec(ctx, `
UPDATE attempts SET carrier_status = $2, placed_at = COALESCE(placed_at, $3),
       state = CASE WHEN state IN ('pending', 'in_doubt') THEN 'placed' ELSE state END
WHERE id = $1 AND carrier_sid = $4 AND state <> 'ended'`, attemptID, ev.Status, now, ev.MessageSid); err != nil {
		return err
	}
	if ev.Status != "undelivered" && ev.Status != "failed" {
		return nil
	}
	s := &session{id: *sessionID, attemptID: attemptID}
	if err := c.Pool.QueryRow(ctx, `SELECT phone_e164 FROM survey_sessions WHERE id = $1`, s.id).Scan(&s.phone); err != nil {
		return err
	}
	reason := "failed"
	if ev.ErrorCode == CodeUnsubscribed {
		reason = "opted_out"
	}
	return c.endSession(ctx, s, reason, ev.ErrorCode == CodeUnsubscribed)
}

// Sweep moves SMS surveys that wait for a reply: after SMSReminderAfter the
// question is sent again as the one reminder, after SMSGiveUpAfter more the
// session ends unanswered. A reminder due outside the recipient's calling
// window waits for it to open. It returns how many sessions it moved.
func (c *Conversations) Sweep(ctx context.Context) (int, error) {
	moved := 0
	for {
		n, err := c.sweepBatch(ctx, 50)
		moved += n
		if err != nil || n < 50 {
			return moved, err
		}
	}
}

func (c *Conversations) sweepBatch(ctx context.Context, limit int) (int, error) {
	now := c.now()
	type send struct {
		s    *session
		msgs []outMessage
	}
	var sends []send
	n := 0
	err := pgx.BeginFunc(ctx, c.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+sessionColumns+`
FROM survey_sessions s JOIN attempts a ON a.id = s.attempt_id
WHERE s.status = 'open' AND s.channel = 'sms' AND s.next_check_at <= $1
ORDER BY s.next_check_at
LIMIT $2
FOR UPDATE OF s SKIP LOCKED`, now, limit)
		if err != nil {
			return err
		}
		var due []*session
		for rows.Next() {
			s, err := c.scanSession(ctx, rows)
			if err != nil {
				rows.Close()
				return err
			}
			due = append(due, s)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		n = len(due)
		for _, s := range due {
			if open, next := c.windowFor(s, now); !open {
				if _, err := tx.Exec(ctx, `UPDATE survey_sessions SET next_check_at = $2 WHERE id = $1`, s.id, next); err != nil {
					return err
				}
				continue
			}
			heard, err := s.def.Next(s.job, &s.state)
			if err != nil {
				return err
			}
			input := surveys.Input{Kind: surveys.InputNone, At: now}
			var out surveys.Outcome
			if s.reminders >= c.smsReminders() && heard.Kind != surveys.StepEnd && !remindedAt(s, heard) {
				// The session's reminder has been spent on an earlier
				// question: this silence ends it.
				out = abandonAt(s, heard)
			} else if out, err = s.def.Apply(s.job, s.state, input); err != nil {
				return fmt.Errorf("session %d: %w", s.id, err)
			}
			if _, err := c.storeTx(ctx, tx, s, heard.Prompt, input, out); err != nil {
				return err
			}
			if s.status != "open" {
				continue // no reply after the reminder: ended as unanswered
			}
			m, err := queueText(ctx, tx, s, out.Step.Prompt, now)
			if err != nil {
				return err
			}
			sends = append(sends, send{s, []outMessage{m}})
			if _, err := tx.Exec(ctx, `
UPDATE survey_sessions SET last_sent_at = $2, next_check_at = $3, reminders = reminders + 1 WHERE id = $1`,
				s.id, now, now.Add(orDefault(c.SMSGiveUpAfter, 24*time.Hour))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sweep SMS sessions: %w", err)
	}
	for _, sd := range sends {
		if err := c.sendQueued(ctx, sd.s, sd.msgs); err != nil {
			c.log().Error("send reminder", "attempt", sd.s.attemptID, "err", err)
		}
	}
	return n, nil
}

func (c *Conversations) smsReminders() int {
	if c.SMSReminders > 0 {
		return c.SMSReminders
	}
	return 1
}

// remindedAt reports whether step is the question the session's last
// reminder repeated: its silence is the engine's to end.
func remindedAt(s *session, step surveys.Step) bool {
	es := s.state.Entries
	if len(es) == 0 {
		return false
	}
	last, part := es[len(es)-1], ""
	if step.Part != nil {
		part = step.Part.Code
	}
	return last.Event == surveys.EventNoInput && last.Question == step.Question && last.Part == part
}

// abandonAt is the outcome of silence at step with no reminder left: the
// run ends unanswered, as the engine ends it after a question's own
// reminder.
func abandonAt(s *session, step surveys.Step) surveys.Outcome {
	e := surveys.Entry{Question: step.Question, Event: surveys.EventAbandon, Reason: surveys.ReasonNoInput}
	if e.Question == "" {
		e.Question = "intro"
	}
	if step.Part != nil {
		e.Part = step.Part.Code
	}
	st := s.state
	st.Entries = append(st.Entries[:len(st.Entries):len(st.Entries)], e)
	return surveys.Outcome{State: st, Added: []surveys.Entry{e}}
}

// windowFor reports whether the session's recipient may be texted now, and
// if not, when.
func (c *Conversations) windowFor(s *session, now time.Time) (bool, time.Time) {
	w := c.window(s.state.Lang)
	var locs []*time.Location
	for _, z := range s.zones {
		if l, err := time.LoadLocation(z); err == nil {
			locs = append(locs, l)
		}
	}
	if len(locs) == 0 {
		// Intake validates every zone; if one no longer loads, wait
		// rather than guess the recipient's time.
		return false, now.Add(time.Hour)
	}
	if w.Open(now, locs...) {
		return true, now
	}
	next, ok := w.NextOpen(now, locs...)
	if !ok {
		next = now.Add(24 * time.Hour)
	}
	return false, next
}
