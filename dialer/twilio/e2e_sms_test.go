package twilio_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/huifang/huifang/dialer/twiliosim"
	"github.com/huifang/huifang/surveys"
	"github.com/huifang/huifang/workorders"
	"github.com/huifang/huifang/workorders/sample"
)

// End-to-end tests of SMS surveys, on the same rig as the calls: the
// simulator delivers Huifang's texts to the customer's persona and posts
// the replies to the inbound webhook.

// twilioOptOutWords are the keywords real Twilio acts on (blocks the
// sender and confirms itself). The simulator by default also blocks on the
// Chinese carriers' words; these tests model a Twilio number, where 退订
// and TD reach Huifang as ordinary texts and Huifang must confirm them.
var twilioOptOutWords = []string{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT"}

// textInput is the input kind an SMS survey stores: a text, or none for a
// reminder that went unanswered.
func textInput(w turn) string {
	if w.Event == surveys.EventNoInput || w.Event == surveys.EventAbandon {
		return string(surveys.InputNone)
	}
	return string(surveys.InputText)
}

// checkRead checks each stored SMS answer against the texts as the
// customer's phone saw them: the row's prompt is the last text Huifang sent
// before the customer's reply, and its raw input the reply.
func checkRead(t *testing.T, msgs []twiliosim.MessageRecord, rows []answer) {
	t.Helper()
	var ex []exchange
	last := ""
	for _, m := range msgs {
		if m.Direction == "inbound" {
			ex = append(ex, exchange{heard: last, keys: m.Body})
		} else {
			last = m.Body
		}
	}
	if len(ex) != len(rows) {
		t.Fatalf("the customer sent %d replies, %d answers are stored", len(ex), len(rows))
	}
	for i, a := range rows {
		if a.Prompt != ex[i].heard || a.Raw != ex[i].keys {
			t.Errorf("answer %d (%s): stored prompt %q raw %q, but the customer read %q and replied %q",
				i, a.Question, a.Prompt, a.Raw, ex[i].heard, ex[i].keys)
		}
	}
}

// outbound returns the texts Huifang sent among msgs.
func outbound(msgs []twiliosim.MessageRecord) []twiliosim.MessageRecord {
	var out []twiliosim.MessageRecord
	for _, m := range msgs {
		if m.Direction != "inbound" {
			out = append(out, m)
		}
	}
	return out
}

// TestE2ESMSCompletes runs the verification survey by SMS with honest
// customers (a repair and an install) and one who paid for an install, in
// each language: every question goes out one text at a time, the stored
// answers and facts are exactly the customer's truthful replies, the
// prompts are the texts the customer read, and the survey ends with one
// thank-you in the customer's language.
func TestE2ESMSCompletes(t *testing.T) {
	t.Parallel()
	var jobs []sample.Job
	for _, lang := range []string{"en", "zh-CN"} {
		jobs = append(jobs,
			// Out of warranty with two parts: the part loop and an amount.
			pickJob(t, sample.PersonaHonest, lang, workorders.Repair, func(j sample.Job) bool {
				return j.Truth.PaidAmount > 0 && len(j.Order.Parts) == 2
			}),
			pickJob(t, sample.PersonaHonest, lang, workorders.Install),
			// An install the customer paid for, though under warranty.
			pickJob(t, sample.PersonaCharged, lang, workorders.Install))
	}
	r := newRig(t, rigOptions{jobs: jobs})
	for _, j := range jobs {
		t.Run(j.Persona+"/"+j.Truth.Lang+"/"+string(j.Order.Kind), func(t *testing.T) {
			defer r.use(t)()
			ctx := context.Background()
			phone := j.Order.Customer.Phone
			a, err := r.conv.Text(ctx, r.target(j))
			if err != nil {
				t.Fatal(err)
			}
			got := r.waitAttempt(a.ID)
			rows := r.answers(a.ID)
			want := truthTurns(j, surveys.SMS)
			checkTurns(t, rows, want, j.Truth.Lang, textInput)
			msgs := r.messageRecords(phone)
			checkRead(t, msgs, rows)
			checkFacts(t, r.facts(a.ID), wantFacts(want))
			if got.Outcome != "completed" {
				t.Errorf("attempt outcome %q, want completed", got.Outcome)
			}
			if s := r.session(a.ID); s.EndReason != "completed" {
				t.Errorf("session ended %q, want completed", s.EndReason)
			}
			out := outbound(msgs)
			if len(out) != len(want)+1 {
				t.Fatalf("%d texts sent, want %d questions and a thank-you", len(out), len(want))
			}
			for i, m := range out {
				if m.Status != "delivered" || !inLanguage(m.Body, j.Truth.Lang) {
					t.Errorf("text %d %q: status %s; want delivered, in %s", i, m.Body, m.Status, j.Truth.Lang)
				}
			}
			if last := msgs[len(msgs)-1]; last.Direction == "inbound" || !strings.Contains(last.Body, j.Order.Brand) {
				t.Errorf("the last text %q is not a thank-you from %s", last.Body, j.Order.Brand)
			}
		})
	}
}

// localTime is a wall-clock time in a zone.
func localTime(t *testing.T, zone, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	at, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// quietJob picks an honest job in lang whose customer's number implies no
// other zone than the address (so the calling window is that zone's), and
// lets the customer stay silent.
func quietJob(t *testing.T, lang string) sample.Job {
	t.Helper()
	return pickJob(t, sample.PersonaHonest, lang, workorders.Repair, oneZone, func(j sample.Job) bool {
		return len(j.Order.Parts) > 0
	})
}

// oneZone accepts a job whose customer's number implies no zone other than
// the address's: the calling window is then that one zone's.
func oneZone(j sample.Job) bool {
	p, err := workorders.NormalizePhone(j.Order.Customer.Phone, "US") // E.164: the region is not used
	return err == nil && (p.TimeZone == "" || p.TimeZone == j.Order.Customer.TimeZone)
}

// silentRig is a rig on a controlled clock whose only customer never
// replies on their own.
func silentRig(t *testing.T, j sample.Job, start time.Time) *rig {
	t.Helper()
	return newRig(t, rigOptions{jobs: []sample.Job{j}, clockNow: start, sim: twiliosim.Options{
		Personas: map[string]twiliosim.Persona{j.Order.Customer.Phone: &twiliosim.Script{}},
	}})
}

// sweepAt moves the rig's clock to at, sweeps the waiting SMS sessions and
// waits for whatever that sent.
func (r *rig) sweepAt(at time.Time) int {
	r.t.Helper()
	r.setNow(at)
	n, err := r.conv.Sweep(context.Background())
	if err != nil {
		r.t.Fatalf("sweep at %s: %v", at, err)
	}
	r.waitIdle()
	return n
}

// TestE2ESMSReminder leaves the first question unanswered. Before 24 hours
// nothing more is sent; at 24 hours exactly one reminder (the question
// again) goes out, inside the customer's calling window; 24 hours after the
// reminder the session ends as no_response and nothing more is ever sent.
func TestE2ESMSReminder(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"en", "zh-CN"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			j := quietJob(t, lang)
			zone, phone := j.Order.Customer.TimeZone, j.Order.Customer.Phone
			sent := localTime(t, zone, "2026-11-24 10:00") // a Tuesday morning
			r := silentRig(t, j, sent)
			a, err := r.conv.Text(ctx, r.target(j))
			if err != nil {
				t.Fatal(err)
			}
			r.waitIdle()
			question := r.messageRecords(phone)
			if len(question) != 1 {
				t.Fatalf("%d texts after the invite, want 1", len(question))
			}

			steps := []struct {
				after time.Duration
				texts int    // texts sent to the customer by then
				state string // session status
			}{
				{time.Hour, 1, "open"},
				{24*time.Hour - time.Second, 1, "open"},
				{24 * time.Hour, 2, "open"}, // the reminder
				{25 * time.Hour, 2, "open"},
				{48*time.Hour - time.Second, 2, "open"},
				{48 * time.Hour, 2, "ended"}, // no reply after the reminder
				{96 * time.Hour, 2, "ended"},
			}
			for _, st := range steps {
				r.sweepAt(sent.Add(st.after))
				msgs := r.messageRecords(phone)
				if len(msgs) != st.texts || r.session(a.ID).Status != st.state {
					t.Fatalf("after %v: %d texts, session %s; want %d, %s", st.after, len(msgs), r.session(a.ID).Status, st.texts, st.state)
				}
			}
			msgs := r.messageRecords(phone)
			if msgs[1].Body != question[0].Body || msgs[1].Status != "delivered" {
				t.Errorf("reminder %q (%s), want the question again %q, delivered", msgs[1].Body, msgs[1].Status, question[0].Body)
			}
			if n := len(r.createsTo(phone)); n != 2 {
				t.Errorf("%d texts attempted, want the invite and one reminder", n)
			}
			if got := r.attempt(a.ID); got.Outcome != "no_response" {
				t.Errorf("attempt outcome %q, want no_response", got.Outcome)
			}
			if s := r.session(a.ID); s.EndReason != "no_response" {
				t.Errorf("session ended %q, want no_response", s.EndReason)
			}
			q := truthTurns(j, surveys.SMS)[0].Question
			checkTurns(t, r.answers(a.ID), []turn{
				{Question: q, Event: surveys.EventNoInput}, // the reminder
				{Question: q, Event: surveys.EventNoInput},
				{Question: q, Event: surveys.EventAbandon},
			}, lang, textInput)
			for _, row := range r.answers(a.ID) {
				if row.Prompt != question[0].Body {
					t.Errorf("%s row: prompt %q, want the question the customer left unanswered", row.Event, row.Prompt)
				}
			}
			checkFacts(t, r.facts(a.ID), wantFacts(nil))
		})
	}
}

// TestE2ESMSStopsReplying: the sample's hangs_up customer answers the
// first HangUpAfter texts and then falls silent. The silent question gets
// its one reminder, the session ends 24 hours later, and the attempt is
// partial with exactly the answers given.
func TestE2ESMSStopsReplying(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"en", "zh-CN"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			j := pickJob(t, sample.PersonaHangsUp, lang, workorders.Repair, oneZone)
			sent := localTime(t, j.Order.Customer.TimeZone, "2026-11-24 10:00")
			r := newRig(t, rigOptions{jobs: []sample.Job{j}, clockNow: sent})
			a, err := r.conv.Text(ctx, r.target(j))
			if err != nil {
				t.Fatal(err)
			}
			r.waitIdle()
			honest := truthTurns(j, surveys.SMS)
			n := j.Truth.HangUpAfter
			if n >= len(honest) {
				t.Fatalf("the survey has %d questions, the customer stops after %d", len(honest), n)
			}
			silent := honest[n]
			want := append(slices.Clone(honest[:n]),
				turn{Question: silent.Question, Part: silent.Part, Event: surveys.EventNoInput}, // the reminder
				turn{Question: silent.Question, Part: silent.Part, Event: surveys.EventNoInput},
				turn{Question: silent.Question, Part: silent.Part, Event: surveys.EventAbandon})
			r.sweepAt(sent.Add(24 * time.Hour))
			r.sweepAt(sent.Add(48 * time.Hour))
			checkTurns(t, r.answers(a.ID), want, lang, textInput)
			checkFacts(t, r.facts(a.ID), wantFacts(honest[:n]))
			if got, s := r.attempt(a.ID), r.session(a.ID); got.Outcome != "partial" || s.EndReason != "no_response" {
				t.Errorf("attempt outcome %q, session ended %q: want partial, no_response", got.Outcome, s.EndReason)
			}
			// The questions answered, the silent one, and its one reminder.
			out := outbound(r.messageRecords(j.Order.Customer.Phone))
			if len(out) != n+2 || out[n+1].Body != out[n].Body {
				t.Errorf("%d texts sent, want %d questions and one reminder of the last", len(out), n+1)
			}
		})
	}
}

// TestE2ESMSReminderWaitsForWindow: a reminder that falls due when the
// customer's calling window is closed — at night, on a US Sunday, in
// China's lunch break — is not sent until the window opens, and the session
// is given up 24 hours after the reminder really went out.
func TestE2ESMSReminderWaitsForWindow(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, lang  string
		sent        string // local time of the invite
		closed      []string
		opens       string // when the reminder goes
		giveUpEarly string // just before the give-up
		giveUp      string
	}{
		{"night/en", "en", "2026-11-24 19:30", []string{"2026-11-25 20:00", "2026-11-25 23:30", "2026-11-26 08:59"},
			"2026-11-26 09:00", "2026-11-27 08:59", "2026-11-27 09:00"},
		{"night/zh-CN", "zh-CN", "2026-11-24 19:30", []string{"2026-11-25 20:00", "2026-11-26 03:00", "2026-11-26 08:59"},
			"2026-11-26 09:00", "2026-11-27 08:59", "2026-11-27 09:00"},
		{"sunday/en", "en", "2026-11-21 10:00", []string{"2026-11-22 10:00", "2026-11-22 19:00", "2026-11-23 08:59"},
			"2026-11-23 09:00", "2026-11-24 08:59", "2026-11-24 09:00"},
		{"lunch/zh-CN", "zh-CN", "2026-11-24 11:30", []string{"2026-11-25 12:00", "2026-11-25 13:59"},
			"2026-11-25 14:00", "2026-11-26 13:59", "2026-11-26 14:00"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			j := quietJob(t, c.lang)
			zone, phone := j.Order.Customer.TimeZone, j.Order.Customer.Phone
			r := silentRig(t, j, localTime(t, zone, c.sent))
			a, err := r.conv.Text(ctx, r.target(j))
			if err != nil {
				t.Fatal(err)
			}
			r.waitIdle()
			for _, at := range c.closed {
				r.sweepAt(localTime(t, zone, at))
				if n := len(r.messageRecords(phone)); n != 1 {
					t.Fatalf("at %s (%s, window closed): %d texts, want the invite alone", at, zone, n)
				}
			}
			r.sweepAt(localTime(t, zone, c.opens))
			msgs := r.messageRecords(phone)
			if len(msgs) != 2 || msgs[1].Body != msgs[0].Body {
				t.Fatalf("at %s (%s, window open): texts %d, want the invite and its reminder", c.opens, zone, len(msgs))
			}
			r.sweepAt(localTime(t, zone, c.giveUpEarly))
			if s := r.session(a.ID); s.Status != "open" {
				t.Fatalf("at %s, less than 24 hours after the reminder: session %s, want open", c.giveUpEarly, s.Status)
			}
			r.sweepAt(localTime(t, zone, c.giveUp))
			if s, got := r.session(a.ID), r.attempt(a.ID); s.EndReason != "no_response" || got.Outcome != "no_response" {
				t.Fatalf("at %s: session %+v, attempt outcome %q; want no_response", c.giveUp, s, got.Outcome)
			}
			if n := len(r.messageRecords(phone)); n != 2 {
				t.Errorf("%d texts in all, want the invite and one reminder", n)
			}
		})
	}
}

// TestE2ESMSReplyAfterReminder: a customer who answers after the reminder
// is answered as if on time: the reply is stored as the answer to the
// question reminded of, the next question goes out, and the session does
// not end when the first question's give-up time comes.
func TestE2ESMSReplyAfterReminder(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"en", "zh-CN"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			j := quietJob(t, lang)
			zone, phone := j.Order.Customer.TimeZone, j.Order.Customer.Phone
			sent := localTime(t, zone, "2026-11-24 10:00")
			r := silentRig(t, j, sent)
			a, err := r.conv.Text(ctx, r.target(j))
			if err != nil {
				t.Fatal(err)
			}
			r.waitIdle()
			r.sweepAt(sent.Add(24 * time.Hour))
			if n := len(r.messageRecords(phone)); n != 2 {
				t.Fatalf("%d texts, want the invite and its reminder", n)
			}
			r.setNow(sent.Add(30 * time.Hour))
			if _, err := r.sim.Inbound(ctx, phone, ourNumber, "1"); err != nil {
				t.Fatal(err)
			}
			r.waitIdle()
			honest := truthTurns(j, surveys.SMS)
			checkTurns(t, r.answers(a.ID), []turn{{Question: honest[0].Question, Event: surveys.EventNoInput}, honest[0]}, lang, textInput)
			msgs := r.messageRecords(phone)
			if len(msgs) != 4 || msgs[2].Direction != "inbound" || msgs[3].Direction == "inbound" {
				t.Fatalf("texts %+v: want invite, reminder, the reply, the next question", msgs)
			}
			next := msgs[3].Body
			r.sweepAt(sent.Add(48 * time.Hour))
			if s := r.session(a.ID); s.Status != "open" {
				t.Errorf("session %+v at the first question's give-up time, want open: the customer answered", s)
			}
			if n := len(r.messageRecords(phone)); n != 4 {
				t.Errorf("%d texts after the sweep, want none new", n)
			}
			rows := r.answers(a.ID)
			if rows[1].Prompt != msgs[0].Body || next == msgs[0].Body {
				t.Errorf("answer prompt %q, next text %q: want the answer to the reminded question and a new question", rows[1].Prompt, next)
			}
			// One reminder per survey (an invite and one reminder): the
			// next question, left unanswered, ends the session after the
			// reminder time without a second reminder.
			r.sweepAt(sent.Add(30*time.Hour + 24*time.Hour))
			if n := len(r.messageRecords(phone)); n != 4 {
				t.Errorf("%d texts after the second question went unanswered, want 4: no second reminder", n)
			}
			if s := r.session(a.ID); s.Status != "ended" || s.EndReason != "no_response" {
				t.Errorf("session %+v, want ended no_response", s)
			}
			if row := r.attempt(a.ID); row.State != "ended" || row.Outcome != "partial" {
				t.Errorf("attempt %+v, want ended partial: one answer was given", row)
			}
		})
	}
}

// TestE2ESMSOptOut: a customer texts an opt-out word in the middle of a
// survey. The number is on the suppression list as soon as the reply is
// handled, the session and attempt end opted_out, and exactly one
// confirmation reaches the customer: Twilio's own for its keywords (the
// inbound webhook carries OptOutType and Huifang sends nothing), Huifang's
// for 退订 and TD. A later call or text is never attempted; START outside a
// survey lifts the suppression.
func TestE2ESMSOptOut(t *testing.T) {
	t.Parallel()
	words := []struct {
		word, optOutType string
	}{{"STOP", "STOP"}, {"stop", "STOP"}, {"退订", ""}, {"TD", ""}}
	for _, lang := range []string{"en", "zh-CN"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			// One customer per word: an honest repair or install.
			jobs := map[string]sample.Job{}
			var all []sample.Job
			personas := map[string]twiliosim.Persona{}
			used := map[string]bool{}
			for i, w := range words {
				kind := []workorders.Kind{workorders.Repair, workorders.Install}[i%2]
				j := pickJob(t, sample.PersonaHonest, lang, kind, func(j sample.Job) bool { return !used[j.Order.ExternalID] })
				used[j.Order.ExternalID] = true
				jobs[w.word] = j
				all = append(all, j)
				// Yes to the first question, then the opt-out word.
				personas[j.Order.Customer.Phone] = &twiliosim.Script{Replies: []string{"1", w.word}}
			}
			r := newRig(t, rigOptions{jobs: all, sim: twiliosim.Options{Personas: personas, OptOutWords: twilioOptOutWords}})
			for _, w := range words {
				t.Run(w.word, func(t *testing.T) {
					defer r.use(t)()
					testSMSOptOut(t, r, jobs[w.word], w.word, w.optOutType)
				})
			}
		})
	}
}

func testSMSOptOut(t *testing.T, r *rig, j sample.Job, word, optOutType string) {
	ctx := context.Background()
	phone, lang := j.Order.Customer.Phone, j.Truth.Lang
	a, err := r.conv.Text(ctx, r.target(j))
	if err != nil {
		t.Fatal(err)
	}
	got := r.waitAttempt(a.ID)

	if reason := r.suppression(phone); reason != "sms_keyword" {
		t.Errorf("suppression reason %q, want sms_keyword", reason)
	}
	if s := r.session(a.ID); s.EndReason != "opted_out" || got.Outcome != "opted_out" {
		t.Errorf("session %+v, attempt outcome %q: want opted_out", s, got.Outcome)
	}
	honest := truthTurns(j, surveys.SMS)
	want := []turn{honest[0], {Question: honest[1].Question, Part: honest[1].Part, Event: surveys.EventOptOut, Raw: word}}
	rows := r.answers(a.ID)
	checkTurns(t, rows, want, lang, textInput)
	checkFacts(t, r.facts(a.ID), wantFacts(want))

	// The opt-out as Twilio delivered it, and what followed it.
	var hook *webhook
	for _, h := range r.webhooks("/twilio/sms/inbound") {
		if h.Form.Get("From") == phone && h.Form.Get("Body") == word {
			hook = &h
		}
	}
	if hook == nil {
		t.Fatalf("no inbound webhook with %q from the customer", word)
	}
	if hook.Form.Get("OptOutType") != optOutType {
		t.Errorf("inbound %q carried OptOutType %q, want %q", word, hook.Form.Get("OptOutType"), optOutType)
	}
	msgs := r.messageRecords(phone)
	at := slices.IndexFunc(msgs, func(m twiliosim.MessageRecord) bool { return m.Direction == "inbound" && m.Body == word })
	after := outbound(msgs[at+1:])
	creates := r.createsTo(phone)
	questions := 2 // the two questions asked before the opt-out
	switch optOutType {
	case "STOP":
		// Twilio blocks the number and confirms itself: Huifang sends nothing.
		if len(after) > 0 || len(creates) != questions {
			t.Errorf("after %q Huifang sent %d texts (%d attempted in all, %d questions): want none, Twilio confirms",
				word, len(after), len(creates), questions)
		}
	default:
		if len(after) != 1 || len(creates) != questions+1 {
			t.Fatalf("after %q %d texts went out (%d attempted in all): want exactly one confirmation", word, len(after), len(creates))
		}
		if c := after[0]; c.Status != "delivered" || !inLanguage(c.Body, lang) || !strings.Contains(c.Body, j.Order.Brand) {
			t.Errorf("confirmation %q (%s): want delivered, from %s, in %s", c.Body, c.Status, j.Order.Brand, lang)
		}
	}

	checkNeverContactedAgain(t, r, j)

	// START outside a survey: the customer is back on, and Twilio confirms.
	before := len(r.createsTo(phone))
	if _, err := r.sim.Inbound(ctx, phone, ourNumber, "START"); err != nil {
		t.Fatal(err)
	}
	r.waitIdle()
	if reason := r.suppression(phone); reason != "" {
		t.Fatalf("after START the number is still suppressed (%s)", reason)
	}
	if n := len(r.createsTo(phone)); n != before {
		t.Errorf("Huifang answered START with %d texts; Twilio confirms its own keyword", n-before)
	}
	b, err := r.conv.Text(ctx, r.target(j))
	if err != nil {
		t.Fatalf("text after START: %v", err)
	}
	r.waitIdle()
	if row := r.attempt(b.ID); row.State != "placed" || row.CarrierSID == "" {
		t.Errorf("text after START: attempt %+v, want placed", row)
	} else if m, ok := r.sim.Message(row.CarrierSID); !ok || m.To != phone || m.Status != "delivered" {
		t.Errorf("text after START: %+v, want delivered to the customer", m)
	}
}

// TestE2ESMSOptsOutPersona: the sample's opts_out customer answers the
// first text with STOP (English) or 退订 (Chinese); the survey stores that
// and nothing else, and the number is suppressed.
func TestE2ESMSOptsOutPersona(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"en", "zh-CN"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			j := pickJob(t, sample.PersonaOptsOut, lang, workorders.Install)
			r := newRig(t, rigOptions{jobs: []sample.Job{j}, sim: twiliosim.Options{OptOutWords: twilioOptOutWords}})
			a, err := r.conv.Text(ctx, r.target(j))
			if err != nil {
				t.Fatal(err)
			}
			got := r.waitAttempt(a.ID)
			word := map[string]string{"en": "STOP", "zh-CN": "退订"}[lang]
			want := []turn{{Question: truthTurns(j, surveys.SMS)[0].Question, Event: surveys.EventOptOut, Raw: word}}
			checkTurns(t, r.answers(a.ID), want, lang, textInput)
			if got.Outcome != "opted_out" || r.suppression(j.Order.Customer.Phone) != "sms_keyword" {
				t.Errorf("attempt outcome %q, suppression %q: want opted_out, sms_keyword", got.Outcome, r.suppression(j.Order.Customer.Phone))
			}
			checkNeverContactedAgain(t, r, j)
		})
	}
}
