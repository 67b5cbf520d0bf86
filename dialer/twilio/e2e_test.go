package twilio_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/huifang/huifang/dialer"
	"github.com/huifang/huifang/dialer/twiliosim"
	"github.com/huifang/huifang/surveys"
	"github.com/huifang/huifang/workorders"
	"github.com/huifang/huifang/workorders/sample"
)

// End-to-end tests of survey calls: a generated sample job is imported, a
// call is placed through Conversations.Call, the simulator plays the job's
// customer from its ground truth (sample.Truth), and what Huifang stored is
// compared with what that truth implies. The expectations below are written
// from the truth and the shipped scripts' flow, never from what the code
// under test stored.

// e2eSample is the generated sample every end-to-end test picks from: the
// same seed always yields the same jobs, and 3,000 hold every persona in
// both languages and both kinds of job.
var e2eSample = sync.OnceValues(func() ([]sample.Job, error) {
	return sample.Jobs(sample.Config{Seed: 7, Jobs: 3000, Now: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)})
})

// reachOf is how a persona's customer behaves: the answer-based personas
// (the planted mismatches) are picked among customers who answer, so the
// story is told in full.
func reachOf(persona string) string {
	switch persona {
	case sample.PersonaNeverAnswers, sample.PersonaBusy, sample.PersonaVoicemail, sample.PersonaHangsUp,
		sample.PersonaWrongKeys, sample.PersonaOptsOut:
		return persona // the Reach* constants have the same names
	}
	return sample.ReachAnswers
}

// pickJob returns the first sample job of a persona, language and kind
// whose answers a test can predict exactly: its own phone (not the shared
// phone of V13), at most three claimed parts, each claimed once (so every
// part is asked about), and a paid amount in whole units (the keypad takes
// whole yuan or dollars).
func pickJob(t *testing.T, persona, lang string, kind workorders.Kind, accept ...func(sample.Job) bool) sample.Job {
	t.Helper()
	jobs, err := e2eSample()
	if err != nil {
		t.Fatal(err)
	}
next:
	for i := range jobs {
		j := &jobs[i]
		if j.Persona != persona || j.Truth.Lang != lang || j.Order.Kind != kind || j.Truth.Reach != reachOf(persona) ||
			j.Order.Customer.Phone == "" || j.Order.Brand == "" || j.HasPlanted("V13") ||
			len(j.Order.Parts) > 3 || j.Truth.PaidAmount%100 != 0 {
			continue
		}
		seen := map[string]bool{}
		for _, p := range j.Order.Parts {
			if seen[p.Code] {
				continue next
			}
			seen[p.Code] = true
		}
		for _, ok := range accept {
			if !ok(*j) {
				continue next
			}
		}
		return *j.Clone()
	}
	t.Fatalf("no sample job with persona %s, language %s, kind %s", persona, lang, kind)
	return sample.Job{}
}

// turn is one answer row a test expects: at which question (and part) the
// customer did what, and what it records.
type turn struct {
	Question, Part string
	Event          surveys.Event
	Fact           string
	Raw            string
	Value          *surveys.Value
}

func (w turn) String() string {
	s := w.Question
	if w.Part != "" {
		s += "[" + w.Part + "]"
	}
	s += fmt.Sprintf(" %s raw=%q", w.Event, w.Raw)
	if w.Fact != "" {
		s += " " + w.Fact
	}
	if w.Value != nil {
		s += fmt.Sprintf("=%s:%s", w.Value.Kind, w.Value)
	}
	return s
}

func boolValue(b bool) *surveys.Value { return &surveys.Value{Kind: surveys.KindBool, Bool: b} }

func triValue(b bool) *surveys.Value {
	if b {
		return &surveys.Value{Kind: surveys.KindTri, Tri: surveys.Yes}
	}
	return &surveys.Value{Kind: surveys.KindTri, Tri: surveys.No}
}

// yesKey is the key or reply for yes and no in the shipped scripts: 1 and 2
// (the voice "were you charged" question alone puts no first).
func yesKey(yes bool) string {
	if yes {
		return "1"
	}
	return "2"
}

// truthTurns are the answers of a customer who tells the truth at the first
// ask of every question of the job's verification survey on ch, in the
// order the shipped scripts ask them (DOMAIN.md (2)): the intro on a call;
// did the visit or install happen (a "no" is read back on a call, and
// confirmed, and ends the survey); for a repair with claimed parts, was any
// part replaced and, after a yes, each claimed part, the dearest first; was
// the customer charged and how much (on a call a yes/no, then the amount
// after a yes; by SMS one reply, 0 or the amount); is it working or fixed;
// satisfaction 1–5.
func truthTurns(j sample.Job, ch surveys.Channel) []turn {
	t := j.Truth
	var out []turn
	add := func(w turn) { out = append(out, w) }
	if ch == surveys.Voice {
		add(turn{Question: "intro", Event: surveys.EventAnswer, Raw: "1", Value: boolValue(true)})
	}
	happened, q, fact := t.Visited, "visit", surveys.FactVisitConfirmed
	if j.Order.Kind == workorders.Install {
		happened, q, fact = t.Installed, "installed", surveys.FactInstallConfirmed
	}
	add(turn{Question: q, Event: surveys.EventAnswer, Fact: fact, Raw: yesKey(happened), Value: triValue(happened)})
	if !happened {
		if ch == surveys.Voice {
			add(turn{Question: q, Event: surveys.EventConfirm, Raw: "1"})
		}
		return out
	}
	if j.Order.Kind == workorders.Install {
		add(turn{Question: "working", Event: surveys.EventAnswer, Fact: surveys.FactWorking, Raw: yesKey(t.Working), Value: boolValue(t.Working)})
	} else if len(j.Order.Parts) > 0 {
		replaced := len(t.ReplacedParts) > 0
		add(turn{Question: "any_part", Event: surveys.EventAnswer, Fact: surveys.FactPartReplaced, Raw: yesKey(replaced), Value: triValue(replaced)})
		if replaced {
			parts := slices.Clone(j.Order.Parts)
			slices.SortStableFunc(parts, func(a, b workorders.ClaimedPart) int { return int(b.UnitCost - a.UnitCost) })
			for _, p := range parts {
				yes := slices.Contains(t.ReplacedParts, p.Code)
				add(turn{Question: "which_part", Part: p.Code, Event: surveys.EventAnswer,
					Fact: surveys.PartFact(surveys.FactPartConfirmed, p.Code), Raw: yesKey(yes), Value: triValue(yes)})
			}
		}
	}
	paid := t.PaidAmount > 0
	amount := &surveys.Value{Kind: surveys.KindMoney, Int: int64(t.PaidAmount), Currency: j.Order.Currency}
	units := strconv.FormatInt(int64(t.PaidAmount)/100, 10)
	if ch == surveys.Voice {
		add(turn{Question: "charged", Event: surveys.EventAnswer, Fact: surveys.FactCustomerCharged, Raw: yesKey(!paid), Value: boolValue(paid)})
		if paid {
			add(turn{Question: "amount", Event: surveys.EventAnswer, Fact: surveys.FactCustomerPaidAmount, Raw: units, Value: amount})
		}
	} else {
		raw := units
		if paid && t.Lang == "zh-CN" && j.Order.Currency == "CNY" {
			raw += "元" // as a Chinese customer writes an amount
		}
		add(turn{Question: "paid", Event: surveys.EventAnswer, Fact: surveys.FactCustomerPaidAmount, Raw: raw, Value: amount})
	}
	if j.Order.Kind == workorders.Repair {
		add(turn{Question: "fixed", Event: surveys.EventAnswer, Fact: surveys.FactFixed, Raw: yesKey(t.Fixed), Value: boolValue(t.Fixed)})
	}
	add(turn{Question: "satisfaction", Event: surveys.EventAnswer, Fact: surveys.FactCSAT, Raw: strconv.Itoa(t.CSAT),
		Value: &surveys.Value{Kind: surveys.KindInt, Int: int64(t.CSAT)}})
	return out
}

// isQuestion reports whether a turn answers a survey question: not the
// intro, not a read-back.
func isQuestion(w turn) bool { return w.Question != "intro" && w.Event == surveys.EventAnswer }

// wantFacts are the facts the turns establish: each answer's fact, whether
// the customer paid anything when an SMS survey asks only the amount, and
// opted_out.
func wantFacts(turns []turn) surveys.Facts {
	f := surveys.Facts{surveys.FactOptedOut: {Kind: surveys.KindBool}}
	for _, w := range turns {
		switch {
		case w.Event == surveys.EventOptOut:
			f[surveys.FactOptedOut] = surveys.Value{Kind: surveys.KindBool, Bool: true}
		case w.Event == surveys.EventAnswer && w.Fact != "":
			f[w.Fact] = *w.Value
			if w.Question == "paid" {
				f[surveys.FactCustomerCharged] = *boolValue(w.Value.Int > 0)
			}
		}
	}
	return f
}

// checkTurns compares the stored answer rows with the expected turns, and
// checks that each row keeps a prompt in the session's language and the
// input kind of its channel.
func checkTurns(t *testing.T, got []answer, want []turn, lang string, inputKind func(turn) string) {
	t.Helper()
	var gotS, wantS []string
	for _, a := range got {
		gotS = append(gotS, turn{Question: a.Question, Part: a.Part, Event: surveys.Event(a.Event), Fact: a.Fact, Raw: a.Raw, Value: a.Value}.String())
	}
	for _, w := range want {
		wantS = append(wantS, w.String())
	}
	if !slices.Equal(gotS, wantS) {
		t.Fatalf("stored answers:\n  %s\nwant:\n  %s", strings.Join(gotS, "\n  "), strings.Join(wantS, "\n  "))
	}
	for i, a := range got {
		if !inLanguage(a.Prompt, lang) {
			t.Errorf("answer %d (%s): prompt %q is not in %s", i, a.Question, a.Prompt, lang)
		}
		if k := inputKind(want[i]); a.InputKind != k {
			t.Errorf("answer %d (%s): input kind %q, want %q", i, a.Question, a.InputKind, k)
		}
	}
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// inLanguage reports whether a prompt is plausibly in lang: Chinese text
// for zh-CN, Latin text and no Chinese for en.
func inLanguage(s, lang string) bool {
	if strings.TrimSpace(s) == "" {
		return false
	}
	if strings.HasPrefix(lang, "zh") {
		return hasHan(s)
	}
	return !hasHan(s) && strings.IndexFunc(s, unicode.IsLetter) >= 0
}

func checkFacts(t *testing.T, got, want surveys.Facts) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Errorf("facts:\n%swant:\n%s", got, want)
	}
}

// exchange is one <Gather> of a call as the customer lived it: the words
// spoken just before it and the keys pressed ("" for silence).
type exchange struct{ heard, keys string }

func exchanges(c twiliosim.CallRecord) []exchange {
	var out []exchange
	last := ""
	for _, st := range c.Steps {
		switch st.Verb {
		case "Say":
			last = st.Text
		case "Gather":
			if st.Text == "hung up" { // the customer hung up: nothing was posted
				continue
			}
			out = append(out, exchange{heard: last, keys: st.Digits})
			last = ""
		}
	}
	return out
}

// checkHeard checks each stored answer against the call as the simulator
// saw it: the row's prompt is what was said right before the keys, and its
// raw input the keys pressed. A skip or abandon row follows the input that
// caused it, with the same prompt.
func checkHeard(t *testing.T, c twiliosim.CallRecord, rows []answer) {
	t.Helper()
	ex := exchanges(c)
	k := 0
	for i, a := range rows {
		if a.Event == string(surveys.EventSkip) || a.Event == string(surveys.EventAbandon) {
			if i == 0 || a.Prompt != rows[i-1].Prompt {
				t.Errorf("answer %d (%s %s): prompt %q, want the prompt of the input before it", i, a.Question, a.Event, a.Prompt)
			}
			continue
		}
		if k >= len(ex) {
			t.Errorf("answer %d (%s %s raw %q): the call had no input for it (%d gathers)", i, a.Question, a.Event, a.Raw, len(ex))
			continue
		}
		if a.Prompt != ex[k].heard {
			t.Errorf("answer %d (%s): stored prompt %q, but the customer heard %q", i, a.Question, a.Prompt, ex[k].heard)
		}
		if a.Raw != ex[k].keys {
			t.Errorf("answer %d (%s): stored raw %q, but the customer pressed %q", i, a.Question, a.Raw, ex[k].keys)
		}
		k++
	}
	// A call Huifang hung up through the API may end while the simulator
	// posts the last input, as on Twilio: that one post is cut off.
	if k != len(ex) && !(k == len(ex)-1 && c.HungUpBy == twiliosim.ByAPI) {
		t.Errorf("the call had %d inputs, %d of them stored", len(ex), k)
	}
}

// digitsInput is the input kind a call stores: keys, or none for silence.
func digitsInput(w turn) string {
	if w.Event == surveys.EventNoInput {
		return string(surveys.InputNone)
	}
	return string(surveys.InputDigits)
}

// spokenCallback is ourNumber as a voicemail must say it, digit by digit
// in groups: (415) 555-0100.
const spokenCallback = "4 1 5, 5 5 5, 0 1 0 0"

// saidWith returns the texts said on a call that contain sub.
func saidWith(c twiliosim.CallRecord, sub string) []string {
	var out []string
	for _, s := range c.Said() {
		if strings.Contains(s, sub) {
			out = append(out, s)
		}
	}
	return out
}

// simSpeed is how fast simulated time runs for a persona's calls. A
// machine's call races answering-machine detection (a webhook to Huifang,
// then Huifang's hang-up or voicemail through the REST API, all in wall
// time) against the intro timing out on the machine's silence (simulated
// time): a tenth of the rig's speed keeps that race as lopsided as it is on
// Twilio.
func simSpeed(persona string) float64 {
	if persona == sample.PersonaVoicemail {
		return 200
	}
	return 0 // the rig's default
}

var voicePersonas = []string{
	sample.PersonaHonest, sample.PersonaNoVisit, sample.PersonaPartNotReplaced, sample.PersonaOtherPart,
	sample.PersonaCharged, sample.PersonaNotFixed, sample.PersonaNeverAnswers, sample.PersonaBusy,
	sample.PersonaVoicemail, sample.PersonaHangsUp, sample.PersonaWrongKeys, sample.PersonaOptsOut,
}

// TestE2EVoicePersonas places one call per persona, language and kind of job
// (parts personas: repairs only) and checks what was stored against the
// job's truth: the answer rows (question, event, raw keys, value) with the
// prompt the customer heard, the facts, the attempt's outcome and, per
// persona, how the call ended.
func TestE2EVoicePersonas(t *testing.T) {
	t.Parallel()
	for _, persona := range voicePersonas {
		t.Run(persona, func(t *testing.T) {
			t.Parallel()
			// One rig per persona, its jobs called one after the other.
			var jobs []sample.Job
			phones := map[string]bool{}
			for _, lang := range []string{"en", "zh-CN"} {
				for _, kind := range []workorders.Kind{workorders.Repair, workorders.Install} {
					if kind == workorders.Install && (persona == sample.PersonaPartNotReplaced || persona == sample.PersonaOtherPart) {
						continue // an install claims no replaced part to deny
					}
					j := pickJob(t, persona, lang, kind)
					if phones[j.Order.Customer.Phone] {
						t.Fatalf("two picked jobs share the number %s", j.Order.Customer.Phone)
					}
					phones[j.Order.Customer.Phone] = true
					jobs = append(jobs, j)
				}
			}
			r := newRig(t, rigOptions{jobs: jobs, sim: twiliosim.Options{Speed: simSpeed(persona)}})
			for _, j := range jobs {
				t.Run(j.Truth.Lang+"/"+string(j.Order.Kind), func(t *testing.T) {
					defer r.use(t)()
					testVoicePersona(t, r, j)
				})
			}
		})
	}
}

func testVoicePersona(t *testing.T, r *rig, j sample.Job) {
	ctx := context.Background()
	phone, truth := j.Order.Customer.Phone, j.Truth
	a, err := r.conv.Call(ctx, r.target(j))
	if err != nil {
		t.Fatal(err)
	}
	got := r.waitAttempt(a.ID)
	rows := r.answers(a.ID)
	calls := r.callRecords(phone)
	if len(calls) != 1 {
		t.Fatalf("%d calls to the customer, want 1", len(calls))
	}
	call := calls[0]
	if p := call.Problems(); len(p) > 0 {
		t.Errorf("the call had TwiML problems: %+v", p)
	}

	honest := truthTurns(j, surveys.Voice)
	var want []turn
	outcome := ""
	switch truth.Reach {
	case sample.ReachAnswers:
		want, outcome = honest, "completed"
	case sample.ReachNeverAnswers:
		outcome = "no_answer"
	case sample.ReachBusy:
		outcome = "busy"
	case sample.ReachVoicemail:
		// A machine says nothing: the intro may time out before Huifang's
		// hang-up reaches the line, and that silence is all it may store.
		for _, a := range rows {
			if a.Question != "intro" || a.Event != string(surveys.EventNoInput) {
				break
			}
			want = append(want, turn{Question: "intro", Event: surveys.EventNoInput})
		}
		outcome = "machine"
	case sample.ReachHangsUp:
		// The intro and the first HangUpAfter questions, then the line goes dead.
		n := 0
		for _, w := range honest {
			if isQuestion(w) && n == truth.HangUpAfter {
				break
			}
			if isQuestion(w) {
				n++
			}
			want = append(want, w)
		}
		if n != truth.HangUpAfter {
			t.Fatalf("the survey has %d questions, the customer hangs up after %d", n, truth.HangUpAfter)
		}
		outcome = "partial"
	case sample.ReachWrongKeys:
		// A key that is no answer first (the keypad's amount excepted), then
		// the right one when asked again.
		for _, w := range honest {
			if w.Question != "amount" {
				want = append(want, turn{Question: w.Question, Part: w.Part, Event: surveys.EventInvalid, Raw: "7"})
			}
			want = append(want, w)
		}
		outcome = "completed"
	case sample.ReachOptsOut:
		want = []turn{{Question: "intro", Event: surveys.EventOptOut, Raw: "9"}}
		outcome = "opted_out"
	default:
		t.Fatalf("reach %q has no expectation", truth.Reach)
	}

	checkTurns(t, rows, want, truth.Lang, digitsInput)
	checkHeard(t, call, rows)
	checkFacts(t, r.facts(a.ID), wantFacts(want))
	if got.Outcome != outcome {
		t.Errorf("attempt outcome %q, want %q", got.Outcome, outcome)
	}
	if got.VoicemailLeft || len(saidWith(call, spokenCallback)) > 0 {
		t.Errorf("a voicemail was left (voicemail_left %v; said %q) though the attempt asked to hang up on machines",
			got.VoicemailLeft, saidWith(call, spokenCallback))
	}

	switch truth.Reach {
	case sample.ReachAnswers, sample.ReachWrongKeys:
		if call.HungUpBy != twiliosim.ByTwiML {
			t.Errorf("call hung up by %q, want Huifang's TwiML after the closing", call.HungUpBy)
		}
		if said := call.Said(); len(said) == 0 || !inLanguage(said[len(said)-1], truth.Lang) {
			t.Errorf("the call's last words %q are not a closing in %s", said, truth.Lang)
		}
	case sample.ReachNeverAnswers:
		if call.Status != "no-answer" || len(call.Said()) > 0 {
			t.Errorf("call status %q, said %q: want no-answer, nothing said", call.Status, call.Said())
		}
	case sample.ReachBusy:
		if call.Status != "busy" {
			t.Errorf("call status %q, want busy", call.Status)
		}
	case sample.ReachVoicemail:
		if got.AnsweredBy != "machine_start" || call.HungUpBy != twiliosim.ByAPI {
			t.Errorf("answered by %q, hung up by %q: want machine_start, hung up by Huifang through the API", got.AnsweredBy, call.HungUpBy)
		}
	case sample.ReachHangsUp:
		if call.HungUpBy != twiliosim.ByCustomer {
			t.Errorf("call hung up by %q, want the customer", call.HungUpBy)
		}
		if s := r.session(a.ID); s.EndReason != "hung_up" {
			t.Errorf("session ended %q, want hung_up", s.EndReason)
		}
	case sample.ReachOptsOut:
		if reason := r.suppression(phone); reason != "voice_key" {
			t.Errorf("suppression reason %q, want voice_key", reason)
		}
		if said := call.Said(); len(said) < 2 || !inLanguage(said[len(said)-1], truth.Lang) || call.HungUpBy != twiliosim.ByTwiML {
			t.Errorf("after the opt-out the call said %q and was hung up by %q: want a goodbye in %s, then Huifang's hang-up",
				said, call.HungUpBy, truth.Lang)
		}
		checkNeverContactedAgain(t, r, j)
	}
}

// checkNeverContactedAgain tries a call and a text to an opted-out
// customer: both must refuse with ErrSuppressed, record an attempt ended as
// suppressed, and leave no trace at the carrier.
func checkNeverContactedAgain(t *testing.T, r *rig, j sample.Job) {
	t.Helper()
	ctx := context.Background()
	phone := j.Order.Customer.Phone
	before := len(r.createsTo(phone))
	calls, msgs := len(r.callRecords(phone)), len(r.messageRecords(phone))
	for name, send := range map[string]func(context.Context, dialer.Target) (dialer.Attempt, error){
		"call": r.conv.Call, "text": r.conv.Text,
	} {
		a, err := send(ctx, r.target(j))
		if !errors.Is(err, dialer.ErrSuppressed) {
			t.Errorf("%s to an opted-out number: err %v, want ErrSuppressed", name, err)
			continue
		}
		if row := r.attempt(a.ID); row.State != "ended" || row.Outcome != "suppressed" || row.CarrierSID != "" {
			t.Errorf("%s to an opted-out number: attempt %+v, want ended as suppressed with no carrier SID", name, row)
		}
	}
	r.waitIdle()
	if n := len(r.createsTo(phone)); n != before {
		t.Errorf("%d requests to Twilio for the opted-out number after the opt-out: %+v", n-before, r.createsTo(phone)[before:])
	}
	if len(r.callRecords(phone)) != calls || len(r.messageRecords(phone)) != msgs {
		t.Errorf("the simulator saw new calls or messages to the opted-out number")
	}
}

// TestE2EVoicemailOncePerJob asks for a voicemail on machines: the first call to a
// voicemail customer leaves the short message — the brand and our number
// to call back, in the customer's language, nothing about the job — and
// records it; a second attempt at the same job hangs up on the machine, so
// a job gets at most one voicemail.
func TestE2EVoicemailOncePerJob(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"en", "zh-CN"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			j := pickJob(t, sample.PersonaVoicemail, lang, workorders.Repair)
			r := newRig(t, rigOptions{jobs: []sample.Job{j}, sim: twiliosim.Options{Speed: simSpeed(j.Persona)}})
			phone := j.Order.Customer.Phone
			target := r.target(j)
			target.MachineAction = "voicemail"

			var attempts []attemptRow
			for range 2 {
				a, err := r.conv.Call(ctx, target)
				if err != nil {
					t.Fatal(err)
				}
				attempts = append(attempts, r.waitAttempt(a.ID))
				for _, row := range r.answers(a.ID) {
					if row.Event == string(surveys.EventAnswer) {
						t.Errorf("attempt %d stored an answer from a machine: %+v", a.ID, row)
					}
				}
			}
			calls := r.callRecords(phone)
			if len(calls) != 2 {
				t.Fatalf("%d calls, want 2", len(calls))
			}
			for i, a := range attempts {
				if a.Outcome != "machine" || a.AnsweredBy != "machine_end_beep" {
					t.Errorf("attempt %d: outcome %q answered by %q, want machine, machine_end_beep", i+1, a.Outcome, a.AnsweredBy)
				}
			}

			first := saidWith(calls[0], spokenCallback)
			if len(first) != 1 || !attempts[0].VoicemailLeft {
				t.Fatalf("first call: voicemail_left %v, voicemails said %q: want one, recorded", attempts[0].VoicemailLeft, first)
			}
			vm := first[0]
			if !strings.Contains(vm, j.Order.Brand) || !inLanguage(vm, lang) {
				t.Errorf("voicemail %q does not name the brand %s in %s", vm, j.Order.Brand, lang)
			}
			service := map[string]string{"en": "repair", "zh-CN": "维修"}[lang]
			category := strings.ReplaceAll(j.Order.ProductCategory, "_", " ")
			for _, secret := range []string{j.Order.ProductModel, j.Order.SerialNumber, j.Order.Customer.Name, category, service} {
				if secret != "" && strings.Contains(vm, secret) {
					t.Errorf("voicemail %q tells a machine about the job (%q)", vm, secret)
				}
			}
			if s := calls[0].Said(); s[len(s)-1] != vm || calls[0].HungUpBy != twiliosim.ByTwiML {
				t.Errorf("first call said %q and was hung up by %q: want the voicemail last, then hang-up", s, calls[0].HungUpBy)
			}
			// Spoken in the voice of the customer's language (the scripts' tts_language).
			tts := map[string]string{"en": "en-US", "zh-CN": "cmn-CN"}[lang]
			for _, st := range calls[0].Steps {
				if st.Verb == "Say" && st.Text == vm && st.Language != tts {
					t.Errorf("voicemail spoken in %q, want %q", st.Language, tts)
				}
			}

			if second := saidWith(calls[1], spokenCallback); len(second) > 0 || attempts[1].VoicemailLeft {
				t.Errorf("second call: voicemail_left %v, voicemails said %q: want none, one per job", attempts[1].VoicemailLeft, second)
			}
			if calls[1].HungUpBy != twiliosim.ByAPI {
				t.Errorf("second call hung up by %q, want Huifang hanging up on the machine", calls[1].HungUpBy)
			}
		})
	}
}

// TestE2EVoiceInvalidKeysUntilSkipped presses a key that is no answer three
// times at the first question: the engine re-asks with an apology, then
// with the full instructions, then skips the question (DOMAIN.md (2): re-
// prompt, full instructions, skip), leaves its fact unknown, and the survey
// goes on to completion.
func TestE2EVoiceInvalidKeysUntilSkipped(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"en", "zh-CN"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			j := pickJob(t, sample.PersonaHonest, lang, workorders.Repair, func(j sample.Job) bool {
				return len(j.Order.Parts) == 1 && j.Truth.PaidAmount == 0
			})
			part := j.Order.Parts[0].Code
			keys := []string{"1", "7", "7", "7", "1", "1", "1", "1", "4"} // intro, visit ×3, any part, which, charged (no), fixed, csat
			script := &twiliosim.Script{}
			for _, k := range keys {
				script.Responses = append(script.Responses, twiliosim.Response{Digits: k})
			}
			r := newRig(t, rigOptions{jobs: []sample.Job{j}, sim: twiliosim.Options{
				Personas: map[string]twiliosim.Persona{j.Order.Customer.Phone: script},
			}})
			a, err := r.conv.Call(ctx, r.target(j))
			if err != nil {
				t.Fatal(err)
			}
			got := r.waitAttempt(a.ID)
			rows := r.answers(a.ID)
			want := []turn{
				{Question: "intro", Event: surveys.EventAnswer, Raw: "1", Value: boolValue(true)},
				{Question: "visit", Event: surveys.EventInvalid, Raw: "7"},
				{Question: "visit", Event: surveys.EventInvalid, Raw: "7"},
				{Question: "visit", Event: surveys.EventInvalid, Raw: "7"},
				{Question: "visit", Event: surveys.EventSkip},
				{Question: "any_part", Event: surveys.EventAnswer, Fact: surveys.FactPartReplaced, Raw: "1", Value: triValue(true)},
				{Question: "which_part", Part: part, Event: surveys.EventAnswer, Fact: surveys.PartFact(surveys.FactPartConfirmed, part), Raw: "1", Value: triValue(true)},
				{Question: "charged", Event: surveys.EventAnswer, Fact: surveys.FactCustomerCharged, Raw: "1", Value: boolValue(false)},
				{Question: "fixed", Event: surveys.EventAnswer, Fact: surveys.FactFixed, Raw: "1", Value: boolValue(true)},
				{Question: "satisfaction", Event: surveys.EventAnswer, Fact: surveys.FactCSAT, Raw: "4", Value: &surveys.Value{Kind: surveys.KindInt, Int: 4}},
			}
			// The skip is stored with the third invalid key that caused it.
			checkTurns(t, rows, want, lang, digitsInput)
			calls := r.callRecords(j.Order.Customer.Phone)
			checkHeard(t, calls[0], rows)
			checkFacts(t, r.facts(a.ID), wantFacts(want))
			if got.Outcome != "completed" {
				t.Errorf("attempt outcome %q, want completed", got.Outcome)
			}

			// The three asks of the visit question: plain, sorry + question,
			// sorry + the full instructions (different words from the question).
			sorry := map[string]string{"en": "Sorry", "zh-CN": "抱歉"}[lang]
			asks := []string{rows[1].Prompt, rows[2].Prompt, rows[3].Prompt}
			if strings.Contains(asks[0], sorry) || !strings.HasPrefix(asks[1], sorry) || !strings.HasPrefix(asks[2], sorry) {
				t.Errorf("asks of the visit question %q: want the question, then two apologies", asks)
			}
			if !strings.HasSuffix(asks[1], asks[0]) || strings.HasSuffix(asks[2], asks[0]) {
				t.Errorf("asks of the visit question %q: want the question again, then the full instructions", asks)
			}
		})
	}
}

// TestE2EVoiceWrongKeysReprompt checks what the wrong_keys persona hears: each
// invalid key is followed by the same question with an apology first, and
// the answer given then is stored.
func TestE2EVoiceWrongKeysReprompt(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"en", "zh-CN"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			j := pickJob(t, sample.PersonaWrongKeys, lang, workorders.Install)
			r := newRig(t, rigOptions{jobs: []sample.Job{j}})
			a, err := r.conv.Call(ctx, r.target(j))
			if err != nil {
				t.Fatal(err)
			}
			r.waitAttempt(a.ID)
			rows := r.answers(a.ID)
			sorry := map[string]string{"en": "Sorry", "zh-CN": "抱歉"}[lang]
			invalid := 0
			for i, a := range rows {
				if a.Event != string(surveys.EventInvalid) {
					continue
				}
				invalid++
				if i+1 >= len(rows) || rows[i+1].Question != a.Question || rows[i+1].Event != string(surveys.EventAnswer) {
					t.Errorf("invalid key at %s is not followed by an answer to it", a.Question)
					continue
				}
				if next := rows[i+1].Prompt; !strings.HasPrefix(next, sorry) || !strings.HasSuffix(next, a.Prompt) {
					t.Errorf("after an invalid key at %s the customer heard %q, want an apology and %q", a.Question, next, a.Prompt)
				}
			}
			if invalid == 0 {
				t.Errorf("no invalid key recorded for the wrong_keys persona")
			}
		})
	}
}
