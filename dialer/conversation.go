package dialer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/campaigns"
	"github.com/huifang/huifang/surveys"
)

// Conversations runs the survey of each attempt: it writes the attempt and
// its session before asking the carrier, answers the carrier's webhooks
// (the next step of a call, a reply to a text, status changes) from what is
// in Postgres, stores every answer as it arrives, and puts a customer who
// opts out on the suppression list in the same transaction as the answer
// that asked for it. It keeps nothing between requests but immutable survey
// versions, so any number of instances can serve the same calls.
type Conversations struct {
	Pool    *pgxpool.Pool
	Carrier Carrier
	Surveys *surveys.Store
	Hooks   Webhooks
	Log     *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// Window decides when an SMS reminder may go out, given the session's
	// language and zones; nil means DefaultWindow.
	Window func(lang string) *campaigns.CallingWindow
	// SMSReminderAfter is how long an SMS question waits for a reply before
	// the reminder (DOMAIN.md: 24 h); SMSGiveUpAfter how long after the
	// reminder the session ends as unanswered. Zero means 24 h each. A
	// session gets one reminder in all (SMSReminders, default 1): a later
	// question left unanswered ends it without another.
	SMSReminderAfter time.Duration
	SMSGiveUpAfter   time.Duration
	SMSReminders     int
	// SMSValidFor bounds how long the carrier may hold a text in its queue
	// (zero: one hour); a reply that cannot go out soon should not go out.
	SMSValidFor time.Duration

	defs sync.Map // survey_versions.id → *surveys.Definition
}

// Webhooks builds the URLs the carrier calls back for an attempt.
type Webhooks interface {
	CallURLs(attemptID int64) CallURLs
	SMSStatusURL(attemptID, messageID int64) string
}

// CallURLs are the webhooks of one call.
type CallURLs struct {
	Answer, Status, AMD, Recording string
}

// DefaultWindow is the calling window for reminders when none is set:
// China's default for Chinese-language sessions, the US default otherwise.
func DefaultWindow(lang string) *campaigns.CallingWindow {
	if strings.HasPrefix(lang, "zh") {
		return campaigns.DefaultChina()
	}
	return campaigns.DefaultUS()
}

// Errors the webhook layer turns into HTTP statuses.
var (
	// ErrUnknownCall: no attempt has that id, or the carrier SID does not
	// belong to it (404).
	ErrUnknownCall = errors.New("unknown call")
	// ErrSuppressed: the number is on the suppression list; nothing was sent.
	ErrSuppressed = errors.New("number is on the suppression list")
	// ErrSessionOpen: an SMS survey is already open with this number; a
	// second would make replies ambiguous.
	ErrSessionOpen = errors.New("an SMS survey with this number is already open")
)

// Target is one attempt to make: which job, which survey version, which
// channel, from which number.
type Target struct {
	WorkOrderID     int64
	SurveyVersionID int64
	Channel         surveys.Channel
	From            string // E.164, one of our numbers
	// MachineAction says what to do when a machine answers a call:
	// "voicemail" leaves the short message (brand and callback number, at
	// most one per job), "hangup" (the default) ends the call.
	MachineAction string
	// Record records the whole call; the survey's intro announces it.
	Record bool
	// Ring is how long a call may ring (default 25 s: at least the 15 s
	// DOMAIN.md asks for, short of most voicemail pick-ups).
	Ring time.Duration
	// ContactID is the campaign contact this attempt is for (0: none). The
	// attempt is attached to it in the transaction that writes it.
	ContactID int64
	// Pace, if set, is called after the attempt is written and just before
	// the carrier is asked: dispatch waits there for the shared limiter's
	// permit, so the pace holds where it matters, at the carrier. It
	// returns the moment the request was let go by the limiter's clock,
	// recorded as the attempt's requested_at (zero: this instance's clock).
	// An error ends the attempt as not placed (it is retried, uncounted).
	Pace func(ctx context.Context) (time.Time, error)
}

// Attempt is the outcome of starting one.
type Attempt struct {
	ID         int64
	SessionID  int64
	State      string // pending, in_doubt, placed, ended
	Outcome    string // set when ended
	CarrierSID string
}

func (c *Conversations) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Conversations) log() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (c *Conversations) window(lang string) *campaigns.CallingWindow {
	if c.Window != nil {
		return c.Window(lang)
	}
	return DefaultWindow(lang)
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// definition returns a survey version, cached: versions never change.
func (c *Conversations) definition(ctx context.Context, id int64) (*surveys.Definition, error) {
	if d, ok := c.defs.Load(id); ok {
		return d.(*surveys.Definition), nil
	}
	d, err := c.Surveys.ByID(ctx, id)
	if err != nil {
		return nil, err
	}
	c.defs.Store(id, d)
	return d, nil
}

// recipient is who a job's survey goes to.
type recipient struct {
	phone string
	zones []string
	lang  string
}

func (c *Conversations) recipientOf(ctx context.Context, workOrderID int64) (recipient, error) {
	var r recipient
	var phoneTZ *string
	var tz string
	err := c.Pool.QueryRow(ctx, `
SELECT c.phone_e164, c.tz, c.phone_tz, c.lang
FROM work_orders w JOIN customers c ON c.id = w.customer_id
WHERE w.id = $1`, workOrderID).Scan(&r.phone, &tz, &phoneTZ, &r.lang)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("work order %d: %w", workOrderID, surveys.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("work order %d: %w", workOrderID, err)
	}
	r.zones = []string{tz}
	if phoneTZ != nil && *phoneTZ != "" && *phoneTZ != tz {
		r.zones = append(r.zones, *phoneTZ)
	}
	return r, nil
}

// begin writes the attempt and its session, before the carrier is asked.
// A suppressed number gets an attempt ended as "suppressed" and
// ErrSuppressed, so the dialer sees why the contact stopped.
func (c *Conversations) begin(ctx context.Context, t Target) (*session, error) {
	if t.Channel != surveys.Voice && t.Channel != surveys.SMS {
		return nil, fmt.Errorf("start attempt: channel %q is neither voice nor sms", t.Channel)
	}
	if t.MachineAction == "" {
		t.MachineAction = "hangup"
	}
	def, err := c.definition(ctx, t.SurveyVersionID)
	if err != nil {
		return nil, fmt.Errorf("start attempt: %w", err)
	}
	job, err := surveys.LoadJob(ctx, c.Pool, fmt.Sprint(t.WorkOrderID))
	if err != nil {
		return nil, fmt.Errorf("start attempt: %w", err)
	}
	rcpt, err := c.recipientOf(ctx, t.WorkOrderID)
	if err != nil {
		return nil, fmt.Errorf("start attempt: %w", err)
	}
	st, err := def.Start(job, t.Channel, rcpt.lang)
	if err != nil {
		return nil, fmt.Errorf("start attempt: %w", err)
	}
	jobJSON, err := json.Marshal(job)
	if err != nil {
		return nil, err
	}
	s := &session{def: def, job: job, state: st, attemptID: 0, phone: rcpt.phone, zones: rcpt.zones,
		from: t.From, channel: t.Channel, machineAction: t.MachineAction, status: "open"}
	now := c.now()
	err = pgx.BeginFunc(ctx, c.Pool, func(tx pgx.Tx) error {
		var suppressed bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM suppressions WHERE phone_e164 = $1)`,
			rcpt.phone).Scan(&suppressed); err != nil {
			return err
		}
		if suppressed {
			s.status = "suppressed"
			if err := tx.QueryRow(ctx, `
INSERT INTO attempts (work_order_id, contact_id, channel, to_e164, from_e164, state, outcome, machine_action,
                      created_at, ended_at)
VALUES ($1, NULLIF($7, 0), $2, $3, $4, 'ended', 'suppressed', $5, $6, $6)
RETURNING id`, t.WorkOrderID, string(t.Channel), rcpt.phone, t.From, t.MachineAction, now, t.ContactID).Scan(&s.attemptID); err != nil {
				return err
			}
			return attach(ctx, tx, t.ContactID, s.attemptID)
		}
		if err := tx.QueryRow(ctx, `
INSERT INTO attempts (work_order_id, contact_id, channel, to_e164, from_e164, machine_action, created_at)
VALUES ($1, NULLIF($7, 0), $2, $3, $4, $5, $6)
RETURNING id`, t.WorkOrderID, string(t.Channel), rcpt.phone, t.From, t.MachineAction, now, t.ContactID).Scan(&s.attemptID); err != nil {
			return err
		}
		if err := attach(ctx, tx, t.ContactID, s.attemptID); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `
INSERT INTO survey_sessions (attempt_id, work_order_id, survey_version_id, channel, lang, phone_e164, zones, job,
                             opened_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
RETURNING id`, s.attemptID, t.WorkOrderID, t.SurveyVersionID, string(t.Channel), st.Lang, rcpt.phone,
			rcpt.zones, jobJSON, now).Scan(&s.id)
		if isUniqueViolation(err, "survey_sessions_open_sms_idx") {
			return ErrSessionOpen
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("start attempt for work order %d: %w", t.WorkOrderID, err)
	}
	if s.status == "suppressed" {
		return s, ErrSuppressed
	}
	return s, nil
}

// Open writes an attempt and its session without asking the carrier: the
// first half of Call, for a caller that hands the call to the carrier
// itself (and for load tests of the webhooks). The attempt stays pending;
// the first webhook carrying a CallSid adopts it.
func (c *Conversations) Open(ctx context.Context, t Target) (Attempt, error) {
	s, err := c.begin(ctx, t)
	if err != nil {
		if s != nil {
			return Attempt{ID: s.attemptID, State: "ended", Outcome: "suppressed"}, err
		}
		return Attempt{}, err
	}
	return Attempt{ID: s.attemptID, SessionID: s.id, State: "pending"}, nil
}

// pace waits for the target's permit and returns when the request was let
// go; without a permit the attempt ends as not placed.
func (c *Conversations) pace(ctx context.Context, s *session, t Target) (time.Time, error) {
	if t.Pace == nil {
		return c.now(), nil
	}
	at, err := t.Pace(ctx)
	if err == nil {
		if at.IsZero() {
			at = c.now()
		}
		return at, nil
	}
	if aerr := c.abandon(context.WithoutCancel(ctx), s.attemptID, "not_placed", "no pace permit: "+err.Error()); aerr != nil {
		return time.Time{}, errors.Join(err, aerr)
	}
	return time.Time{}, fmt.Errorf("attempt %d not placed: %w", s.attemptID, err)
}

func attach(ctx context.Context, tx pgx.Tx, contactID, attemptID int64) error {
	if contactID == 0 {
		return nil
	}
	return campaigns.AttachAttempt(ctx, tx, contactID, attemptID)
}

// Call starts a survey call: the attempt and its session are written, then
// the carrier is asked to ring the customer. The carrier's answer settles
// the attempt: placed; in doubt when the answer was lost (never retry it —
// the reconciler asks the carrier); ended when the carrier refused.
func (c *Conversations) Call(ctx context.Context, t Target) (Attempt, error) {
	t.Channel = surveys.Voice
	s, err := c.begin(ctx, t)
	if err != nil {
		if s != nil {
			return Attempt{ID: s.attemptID, State: "ended", Outcome: "suppressed"}, err
		}
		return Attempt{}, err
	}
	urls := c.Hooks.CallURLs(s.attemptID)
	req := CallRequest{
		To: s.phone, From: t.From, URL: urls.Answer, StatusCallback: urls.Status,
		AMDCallback: urls.AMD, AMDWaitForBeep: t.MachineAction == "voicemail",
		Ring: orDefault(t.Ring, 25*time.Second),
	}
	if t.Record {
		req.RecordingCallback = urls.Recording
	}
	requested, err := c.pace(ctx, s, t)
	if err != nil {
		return Attempt{ID: s.attemptID, SessionID: s.id, State: "ended", Outcome: "not_placed"}, err
	}
	sid, perr := c.Carrier.PlaceCall(ctx, req)
	return c.settlePlaced(ctx, s, requested, sid, perr)
}

// settlePlaced records the carrier's answer to a create that was sent at
// requested.
func (c *Conversations) settlePlaced(ctx context.Context, s *session, requested time.Time, sid string, perr error) (Attempt, error) {
	a := Attempt{ID: s.attemptID, SessionID: s.id}
	now := c.now()
	// A webhook may have arrived (and adopted the SID) before the create
	// returned, and even moved the attempt on; only a pending one changes.
	if perr == nil {
		a.State, a.CarrierSID = "placed", sid
		_, err := c.Pool.Exec(ctx, `
UPDATE attempts SET carrier_sid = COALESCE(carrier_sid, $2), placed_at = COALESCE(placed_at, $3),
       requested_at = $4, state = CASE WHEN state = 'pending' THEN 'placed' ELSE state END
WHERE id = $1`, s.attemptID, sid, now, requested)
		return a, err
	}
	var ce *CarrierError
	errors.As(perr, &ce)
	code, msg := 0, perr.Error()
	if ce != nil {
		code = ce.Code
	}
	switch KindOf(perr) {
	case Ambiguous:
		a.State = "in_doubt"
		_, err := c.Pool.Exec(ctx, `
UPDATE attempts SET state = 'in_doubt', error_message = $2, requested_at = $3 WHERE id = $1 AND state = 'pending'`,
			s.attemptID, msg, requested)
		c.log().Warn("attempt in doubt", "attempt", s.attemptID, "err", perr)
		return a, errors.Join(perr, err)
	default:
		outcome := "failed"
		if KindOf(perr) == Retryable {
			outcome = "not_placed"
		}
		if IsOptOut(perr) {
			outcome = "opted_out"
		}
		a.State, a.Outcome = "ended", outcome
		err := pgx.BeginFunc(ctx, c.Pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `
UPDATE attempts SET state = 'ended', outcome = $2, error_code = NULLIF($3, 0), error_message = $4, ended_at = $5,
       requested_at = $6
WHERE id = $1 AND state = 'pending'`, s.attemptID, outcome, code, msg, now, requested); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `
UPDATE survey_sessions SET status = 'ended', end_reason = 'failed', ended_at = $2, updated_at = $2
WHERE id = $1 AND status = 'open'`, s.id, now); err != nil {
				return err
			}
			if IsOptOut(perr) {
				_, err := campaigns.Suppress(ctx, tx, s.phone, campaigns.ReasonCarrierOptOut,
					fmt.Sprintf("attempt %d", s.attemptID), "carrier")
				return err
			}
			return nil
		})
		return a, errors.Join(perr, err)
	}
}

// session is a survey session as loaded for one webhook.
type session struct {
	id, attemptID int64
	def           *surveys.Definition
	job           *surveys.Job
	state         surveys.State
	n             int
	status        string // open, ended (or "suppressed" in begin)
	endReason     string
	channel       surveys.Channel
	phone         string
	zones         []string
	from          string
	carrierSID    string
	attemptState  string
	machineAction string
	answeredBy    string
	reminders     int // SMS reminders sent so far
}

const sessionColumns = `
s.id, s.attempt_id, s.survey_version_id, s.channel, s.lang, s.phone_e164, s.zones, s.job, s.entries,
s.n_entries, s.status, COALESCE(s.end_reason, ''), COALESCE(a.carrier_sid, ''), a.state, a.from_e164,
a.machine_action, a.answered_by, s.reminders`

func (c *Conversations) scanSession(ctx context.Context, row pgx.Row) (*session, error) {
	var (
		s         session
		versionID int64
		channel   string
		jobJSON   []byte
		entries   []byte
	)
	if err := row.Scan(&s.id, &s.attemptID, &versionID, &channel, &s.state.Lang, &s.phone, &s.zones, &jobJSON,
		&entries, &s.n, &s.status, &s.endReason, &s.carrierSID, &s.attemptState, &s.from, &s.machineAction,
		&s.answeredBy, &s.reminders); err != nil {
		return nil, err
	}
	s.channel = surveys.Channel(channel)
	s.job = new(surveys.Job)
	if err := json.Unmarshal(jobJSON, s.job); err != nil {
		return nil, fmt.Errorf("session %d: job: %w", s.id, err)
	}
	if err := json.Unmarshal(entries, &s.state.Entries); err != nil {
		return nil, fmt.Errorf("session %d: entries: %w", s.id, err)
	}
	def, err := c.definition(ctx, versionID)
	if err != nil {
		return nil, fmt.Errorf("session %d: %w", s.id, err)
	}
	s.def = def
	s.state.Survey, s.state.Version, s.state.Channel = def.Name, def.Version, s.channel
	return &s, nil
}

// callSession loads the session of a call attempt and checks that callSid
// is the attempt's call. The first webhook of a call may arrive before the
// create returned its SID to us; it adopts the SID.
func (c *Conversations) callSession(ctx context.Context, attemptID int64, callSid string) (*session, error) {
	if callSid == "" {
		return nil, ErrUnknownCall
	}
	s, err := c.scanSession(ctx, c.Pool.QueryRow(ctx, `SELECT `+sessionColumns+`
FROM survey_sessions s JOIN attempts a ON a.id = s.attempt_id
WHERE s.attempt_id = $1 AND a.channel = 'voice'`, attemptID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrUnknownCall
	}
	if err != nil {
		return nil, err
	}
	if err := c.adoptSID(ctx, s.attemptID, s.carrierSID, callSid); err != nil {
		return nil, err
	}
	return s, nil
}

func (c *Conversations) adoptSID(ctx context.Context, attemptID int64, have, got string) error {
	if have == got {
		return nil
	}
	if have != "" {
		return ErrUnknownCall
	}
	var stored string
	err := c.Pool.QueryRow(ctx, `
UPDATE attempts SET carrier_sid = COALESCE(carrier_sid, $2) WHERE id = $1 RETURNING carrier_sid`,
		attemptID, got).Scan(&stored)
	if isUniqueViolation(err, "attempts_carrier_sid_key") {
		return ErrUnknownCall
	}
	if err != nil {
		return err
	}
	if stored != got {
		return ErrUnknownCall
	}
	return nil
}

// Turn is what a call does next: the step to render and the number of
// entries it follows, which the action URL carries so that a repeated post
// of the same input is recognised and applied once.
type Turn struct {
	Step surveys.Step
	Seq  int
	// Voicemail, when set, replaces the step: the call reached a machine and
	// the message is to be left.
	Voicemail *Voicemail
}

// Voicemail is the short message left on an answering machine: the brand
// and the number to call back, nothing about the job.
type Voicemail struct {
	Text     string
	Language string // BCP 47, for <Say language>
	Voice    string
}

// VoiceStart answers the call's first fetch: the intro, or wherever the
// session stands if the carrier fetches it again.
func (c *Conversations) VoiceStart(ctx context.Context, attemptID int64, callSid string) (Turn, error) {
	s, err := c.callSession(ctx, attemptID, callSid)
	if err != nil {
		return Turn{}, err
	}
	step, err := s.def.Next(s.job, &s.state)
	if err != nil {
		return Turn{}, err
	}
	return Turn{Step: step, Seq: s.n}, nil
}

// VoiceInput applies what the customer pressed or said at step seq (the
// count of entries when that step was rendered) and returns the next step.
// A post whose seq is not the session's count is a repeat of an input
// already applied (or one overtaken by it): nothing changes and the
// current step is returned, which is what the carrier should run.
func (c *Conversations) VoiceInput(ctx context.Context, attemptID int64, callSid string, seq int, in surveys.Input) (Turn, error) {
	s, err := c.callSession(ctx, attemptID, callSid)
	if err != nil {
		return Turn{}, err
	}
	// An answer that arrives after the hang-up was already recorded (the
	// status callback overtook the action) is still the customer's answer.
	live := s.status == "open" || s.endReason == "hung_up"
	if seq != s.n || !live {
		step, err := s.def.Next(s.job, &s.state)
		return Turn{Step: step, Seq: s.n}, err
	}
	if in.At.IsZero() {
		in.At = c.now()
	}
	heard, err := s.def.Next(s.job, &s.state)
	if err != nil {
		return Turn{}, err
	}
	out, err := s.def.Apply(s.job, s.state, in)
	if errors.Is(err, surveys.ErrEnded) {
		return Turn{Step: out.Step, Seq: s.n}, nil
	}
	if err != nil {
		return Turn{}, err
	}
	seq0 := s.n
	applied, err := c.store(ctx, s, heard.Prompt, in, out)
	if err != nil {
		return Turn{}, err
	}
	if !applied {
		// Another delivery of the same input won the race: answer with
		// what it stored.
		return c.VoiceStart(ctx, attemptID, callSid)
	}
	return Turn{Step: out.Step, Seq: seq0 + len(out.Added)}, nil
}

// store appends an outcome's entries to the session if it still has the
// entries it was read with, ends the session if the engine ended it and
// puts an opted-out customer on the suppression list, all or nothing. It
// reports false when another writer got there first. The common case — an
// answer that neither ends nor opts out — is one statement.
func (c *Conversations) store(ctx context.Context, s *session, prompt string, in surveys.Input, out surveys.Outcome) (bool, error) {
	if len(out.Added) == 0 {
		return true, nil
	}
	// An answer to a call whose final status came first (the session ended
	// as hung_up) also settles the call's outcome again: not the one
	// statement.
	if _, ended := s.def.Ended(s.job, &out.State); !ended && s.status == "open" {
		simple := true
		for _, e := range out.Added {
			simple = simple && e.Event != surveys.EventOptOut
		}
		if simple {
			applied, err := c.appendEntries(ctx, c.Pool, s, prompt, in, out.Added, "")
			if err == nil && applied && s.status != "open" && s.channel == surveys.Voice {
				// The hang-up was recorded while this answer was on its
				// way: settle the call's outcome with the answer in it.
				err = pgx.BeginFunc(ctx, c.Pool, func(tx pgx.Tx) error { return settleEndedCall(ctx, tx, s.attemptID) })
			}
			if err != nil {
				return false, fmt.Errorf("session %d: store answer: %w", s.id, err)
			}
			return applied, nil
		}
	}
	var applied bool
	err := pgx.BeginFunc(ctx, c.Pool, func(tx pgx.Tx) error {
		var err error
		applied, err = c.storeTx(ctx, tx, s, prompt, in, out)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("session %d: store answer: %w", s.id, err)
	}
	return applied, nil
}

// storeTx is store inside the caller's transaction.
func (c *Conversations) storeTx(ctx context.Context, tx pgx.Tx, s *session, prompt string, in surveys.Input, out surveys.Outcome) (bool, error) {
	if len(out.Added) == 0 {
		return true, nil
	}
	endReason := ""
	if r, ended := s.def.Ended(s.job, &out.State); ended {
		endReason = string(r)
	}
	late := s.status != "open" // the call's final status came first
	applied, err := c.appendEntries(ctx, tx, s, prompt, in, out.Added, endReason)
	if err != nil || !applied {
		return applied, err
	}
	for _, e := range out.Added {
		if e.Event != surveys.EventOptOut {
			continue
		}
		reason := campaigns.ReasonVoiceKey
		switch {
		case s.channel == surveys.SMS && e.Intent:
			reason = campaigns.ReasonSMSIntent
		case s.channel == surveys.SMS:
			reason = campaigns.ReasonSMSKeyword
		case in.Kind == surveys.InputSpeech:
			reason = campaigns.ReasonVoiceSpeech
		}
		if _, err := campaigns.Suppress(ctx, tx, s.phone, reason, fmt.Sprintf("attempt %d", s.attemptID), "customer"); err != nil {
			return false, err
		}
	}
	switch {
	case endReason != "" && s.channel == surveys.SMS:
		return true, endSMSAttempt(ctx, tx, s.attemptID, c.now())
	case endReason != "" || (late && s.channel == surveys.Voice):
		// A call whose final status came first is settled again now that
		// the survey has ended or a late answer has arrived.
		return true, settleEndedCall(ctx, tx, s.attemptID)
	}
	return true, nil
}

func (c *Conversations) appendEntries(ctx context.Context, q querier, s *session, prompt string, in surveys.Input,
	added []surveys.Entry, endReason string) (bool, error) {
	args := answerArgs(added)
	var (
		inserted          int
		status, endStored string
	)
	err := q.QueryRow(ctx, storeSQL, s.id, args.entries, s.n, endReason, c.now(), args.question, args.part,
		args.event, args.fact, args.value, args.raw, args.reason, args.intent, string(in.Kind), prompt).
		Scan(&inserted, &status, &endStored)
	if err != nil {
		return false, err
	}
	if inserted == len(added) {
		s.n += len(added)
		s.state.Entries = append(s.state.Entries, added...)
		// status is as stored: the call's final status may have ended the
		// session between our read and this write.
		s.status, s.endReason = status, endStored
		return true, nil
	}
	return false, nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// storeSQL appends entries and their answer rows in one statement. The
// UPDATE matches only while the session still has the count of entries the
// caller read, so of two deliveries of the same input one applies.
const storeSQL = `
WITH s AS (
    UPDATE survey_sessions
    SET entries = entries || $2::jsonb, n_entries = n_entries + jsonb_array_length($2::jsonb), updated_at = $5,
        status = CASE WHEN $4 <> '' THEN 'ended' ELSE status END,
        end_reason = CASE WHEN $4 <> '' THEN $4 ELSE end_reason END,
        ended_at = CASE WHEN $4 <> '' THEN COALESCE(ended_at, $5) ELSE ended_at END
    WHERE id = $1 AND n_entries = $3 AND (status = 'open' OR end_reason = 'hung_up')
    RETURNING id, survey_version_id, status, COALESCE(end_reason, '') AS end_reason
), ins AS (
    INSERT INTO survey_answers (session_id, seq, survey_version_id, question, part, event, fact, value, raw,
                                reason, intent, prompt, input_kind, received_at)
    SELECT s.id, $3 + a.ord - 1, s.survey_version_id, a.question, a.part, a.event, a.fact, NULLIF(a.value, '')::jsonb, a.raw,
           a.reason, a.intent, $15, $14, $5
    FROM s, unnest($6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bool[])
         WITH ORDINALITY AS a(question, part, event, fact, value, raw, reason, intent, ord)
    RETURNING 1
)
SELECT (SELECT count(*) FROM ins), COALESCE((SELECT status FROM s), ''), COALESCE((SELECT end_reason FROM s), '')`

type answerRows struct {
	entries                                  []byte
	question, part, event, fact, raw, reason []string
	value                                    []string
	intent                                   []bool
}

func answerArgs(added []surveys.Entry) answerRows {
	var a answerRows
	a.entries, _ = json.Marshal(added)
	for _, e := range added {
		a.question = append(a.question, e.Question)
		a.part = append(a.part, e.Part)
		a.event = append(a.event, string(e.Event))
		a.fact = append(a.fact, e.Fact)
		var v []byte
		if e.Value != nil {
			v, _ = json.Marshal(e.Value)
		}
		a.value = append(a.value, string(v))
		a.raw = append(a.raw, e.Raw)
		a.reason = append(a.reason, string(e.Reason))
		a.intent = append(a.intent, e.Intent)
	}
	return a
}
