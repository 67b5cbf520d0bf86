package surveys

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// wantFacts compares the facts of a run with want (fact → Value.String()).
func wantFacts(t *testing.T, d *Definition, st *State, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for k, v := range d.Facts(st) {
		got[k] = v.String()
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("facts:\n got %v\nwant %v", got, want)
	}
}

// Every question type, on both channels, through the engine.
func TestEveryQuestionType(t *testing.T) {
	t.Parallel()
	d := parseFile(t, "all_types.yaml")
	job := SampleJob(JobRepair)
	t.Run("sms", func(t *testing.T) {
		st, step := run(t, d, job, SMS, "en",
			text("1"), text("yes it works"), text("3/15"), text("app"), text("¥80"), text("Y"), text("5"), text("10"))
		if step.Kind != StepEnd || step.End != EndCompleted || step.Prompt != "Thanks." {
			t.Fatalf("step = %+v, want the completed end", step)
		}
		wantFacts(t, d, &st, map[string]string{
			"visit_confirmed": "yes", "working": "yes", "visit_date": "2025-03-15", "booked_via": `"app"`,
			"customer_paid_amount": "CNY 80.00", "customer_charged": "yes", "receipt_given": "yes",
			"effort": "5", "nps": "10", "opted_out": "no",
		})
	})
	t.Run("voice", func(t *testing.T) {
		st, step := run(t, d, job, Voice, "zh-CN",
			keys("1"), keys("2"), keys("0315"), keys("1"), keys("0"), keys("1"), recording("https://rec/1"))
		if step.End != EndCompleted || step.Prompt != "谢谢。" {
			t.Fatalf("step = %+v, want the completed end in Chinese", step)
		}
		wantFacts(t, d, &st, map[string]string{
			"visit_confirmed": "yes", "working": "no", "visit_date": "2025-03-15", "booked_via": `"phone"`,
			"customer_paid_amount": "CNY 0.00", "customer_charged": "no", "effort": "1",
			"comment": `"https://rec/1"`, "opted_out": "no",
		})
	})
}

func TestBranching(t *testing.T) {
	t.Parallel()
	d := parseFile(t, "all_types.yaml")
	job := SampleJob(JobRepair)
	cases := []struct {
		name    string
		replies []string
		asked   []string
		end     EndReason // "" when the run is still open
	}{
		{"no visit ends the survey", []string{"2"}, []string{"visited"}, EndCompleted},
		{"not sure jumps to the date", []string{"3", "1"}, []string{"visited", "when"}, ""},
		{"booked in a store jumps to the rating", []string{"1", "1", "1", "3", "6"}, []string{"visited", "working", "when", "booked", "rate"}, ""},
		{"paid nothing skips the receipt (skip_if on a fact)", []string{"1", "1", "1", "1", "0", "6"}, []string{"visited", "working", "when", "booked", "paid", "rate"}, ""},
		{"paid something asks for the receipt", []string{"1", "1", "1", "1", "20", "1"}, []string{"visited", "working", "when", "booked", "paid", "receipt"}, ""},
		{"a score in a range branches", []string{"1", "1", "1", "3", "2", "slow"}, []string{"visited", "working", "when", "booked", "rate", "comment"}, EndCompleted},
		{"a passive falls through", []string{"1", "1", "1", "3", "6", "7", "ok"}, []string{"visited", "working", "when", "booked", "rate", "recommend", "comment"}, EndCompleted},
		{"a promoter ends", []string{"1", "1", "1", "3", "6", "9"}, []string{"visited", "working", "when", "booked", "rate", "recommend"}, EndCompleted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inputs := make([]Input, len(c.replies))
			for i, r := range c.replies {
				inputs[i] = text(r)
			}
			st, step := run(t, d, job, SMS, "en", inputs...)
			if got := questionsAsked(st); !slices.Equal(got, c.asked) {
				t.Errorf("asked %v, want %v", got, c.asked)
			}
			if step.End != c.end {
				t.Errorf("end = %q, want %q (step %s %s)", step.End, c.end, step.Kind, step.Question)
			}
		})
	}
}

// The per-part question is asked once per distinct claimed part, the most
// expensive first, at most max_parts times; "no part replaced" and "no parts
// claimed" skip it.
func TestPerPartLoop(t *testing.T) {
	t.Parallel()
	d := shippedScript(t, "repair-parts-verification")
	many := SampleJob(JobRepair)
	many.Parts = []Part{
		{Code: "TH-02", NameEN: "thermostat", Quantity: 1, UnitCost: 6500},
		{Code: "HE-01", NameEN: "heating element", Quantity: 1, UnitCost: 18000},
		{Code: "GS-05", NameEN: "door gasket", Quantity: 1, UnitCost: 900},
		{Code: "TH-02", NameEN: "thermostat", Quantity: 1, UnitCost: 6500}, // a second line of the same part
		{Code: "PCB-9", NameEN: "control board", Quantity: 1, UnitCost: 42000},
	}
	none := SampleJob(JobRepair)
	none.Parts = nil

	t.Run("capped, most expensive first", func(t *testing.T) {
		st, step := run(t, d, many, SMS, "en", text("1"), text("1"))
		if step.Question != "which_part" || step.Part == nil || step.Part.Code != "PCB-9" ||
			step.Fact != "part_confirmed[PCB-9]" || !strings.Contains(step.Prompt, "control board") {
			t.Fatalf("first per-part step = %+v, want the control board", step)
		}
		st, step = run(t, d, many, SMS, "en", text("1"), text("1"), text("1"), text("2"), text("不清楚"), text("0"), text("1"), text("5"))
		if step.End != EndCompleted {
			t.Fatalf("not completed: %+v", step)
		}
		if got, want := questionsAsked(st), []string{"visit", "any_part", "which_part[PCB-9]", "which_part[HE-01]", "which_part[TH-02]", "paid", "fixed", "satisfaction"}; !slices.Equal(got, want) {
			t.Fatalf("asked %v, want %v", got, want)
		}
		wantFacts(t, d, &st, map[string]string{
			"visit_confirmed": "yes", "part_replaced": "yes", "part_confirmed[PCB-9]": "yes",
			"part_confirmed[HE-01]": "no", "part_confirmed[TH-02]": "unsure", "customer_paid_amount": "CNY 0.00",
			"customer_charged": "no", "fixed": "yes", "csat": "5", "opted_out": "no",
		})
	})
	t.Run("no part replaced skips the loop", func(t *testing.T) {
		st, _ := run(t, d, many, SMS, "en", text("1"), text("2"), text("0"))
		if got, want := questionsAsked(st), []string{"visit", "any_part", "paid"}; !slices.Equal(got, want) {
			t.Fatalf("asked %v, want %v", got, want)
		}
	})
	t.Run("no claimed parts skips both part questions", func(t *testing.T) {
		st, step := run(t, d, none, Voice, "en", keys("1"), keys("1"))
		if step.Question != "charged" {
			t.Fatalf("after the visit the call asks %q, want charged (asked %v)", step.Question, questionsAsked(st))
		}
	})
}

// Silence and invalid input re-ask: the prompt after "Sorry", then the full
// instructions, then the question is skipped and the flow moves on.
func TestRepromptThenSkip(t *testing.T) {
	t.Parallel()
	d := shippedScript(t, "repair-parts-verification")
	job := SampleJob(JobRepair)
	visit := d.Question("visit")

	t.Run("voice", func(t *testing.T) {
		st, step := run(t, d, job, Voice, "en", keys("1"))
		steps := []struct {
			in         Input
			level      int
			wantPrompt string
		}{
			// After silence: the no-input apology and the prompt again.
			{silence, 1, d.Messages.NoInput.Get("en", Voice) + " " + render(visit.Prompt.Get("en", Voice), ptr(fillingsFor(job, "en", nil)))},
			// After an invalid key: the invalid-input apology and the full instructions.
			{keys("7"), 2, d.Messages.Invalid.Get("en", Voice) + " " + render(visit.Instructions.Get("en", Voice), ptr(fillingsFor(job, "en", nil)))},
		}
		for i, s := range steps {
			o, err := d.Apply(job, st, s.in)
			if err != nil {
				t.Fatal(err)
			}
			st, step = o.State, o.Step
			if step.Question != "visit" || step.Level != s.level || step.Prompt != s.wantPrompt {
				t.Fatalf("re-ask %d = level %d %q, want level %d %q", i+1, step.Level, step.Prompt, s.level, s.wantPrompt)
			}
		}
		o, err := d.Apply(job, st, say("purple"))
		if err != nil {
			t.Fatal(err)
		}
		if o.Invalid == nil || o.Invalid.Reason != ReasonNotUnderstood {
			t.Fatalf("invalid = %v, want not_understood", o.Invalid)
		}
		if len(o.Added) != 2 || o.Added[0].Event != EventInvalid || o.Added[1].Event != EventSkip || o.Added[1].Reason != ReasonNotUnderstood {
			t.Fatalf("added %+v, want invalid then skip", o.Added)
		}
		if o.Step.Question != "any_part" || o.Step.Level != 0 {
			t.Fatalf("after the skip: %+v, want any_part, first ask", o.Step)
		}
		if _, ok := d.Facts(&o.State)[FactVisitConfirmed]; ok {
			t.Fatal("a skipped question recorded its fact")
		}
	})
	t.Run("voice, an answer after a re-ask", func(t *testing.T) {
		st, step := run(t, d, job, Voice, "en", keys("1"), silence, keys("1"))
		if step.Question != "any_part" || step.Level != 0 {
			t.Fatalf("step = %s level %d, want any_part level 0", step.Question, step.Level)
		}
		wantFacts(t, d, &st, map[string]string{"visit_confirmed": "yes", "opted_out": "no"})
	})
	t.Run("sms invalid: clarification, then skip", func(t *testing.T) {
		st, step := run(t, d, job, SMS, "zh-CN", text("你好"))
		if step.Level != 1 || step.Prompt != visit.Instructions.Get("zh-CN", SMS) {
			t.Fatalf("clarification = %q, want the instructions", step.Prompt)
		}
		st, step = run(t, d, job, SMS, "zh-CN", text("你好"), text("嗯？？不是吧是"))
		if step.Question != "any_part" {
			t.Fatalf("after two invalid replies: %s, want any_part", step.Question)
		}
		if e := st.Entries[len(st.Entries)-1]; e.Event != EventSkip || e.Question != "visit" {
			t.Fatalf("last entry %+v, want the skip of visit", e)
		}
	})
	t.Run("sms silence: reminder, then the run ends", func(t *testing.T) {
		st, step := run(t, d, job, SMS, "en", text("1"), silence)
		if step.Question != "any_part" || step.Level != 1 || step.Prompt != d.Question("any_part").Prompt.Get("en", SMS) {
			t.Fatalf("reminder = %+v, want any_part's prompt again", step)
		}
		st, step = run(t, d, job, SMS, "en", text("1"), silence, silence)
		if step.Kind != StepEnd || step.End != EndNoResponse || step.Prompt != "" {
			t.Fatalf("step = %+v, want a silent no_response end", step)
		}
		wantFacts(t, d, &st, map[string]string{"visit_confirmed": "yes", "opted_out": "no"})
	})
	t.Run("nobody at the intro", func(t *testing.T) {
		_, step := run(t, d, job, Voice, "en", silence, keys("5"), silence)
		if step.End != EndNoResponse {
			t.Fatalf("step = %+v, want no_response", step)
		}
	})
}

func ptr[T any](v T) *T { return &v }

// happyPaths answer every question of each shipped script.
var happyPaths = map[string]map[Channel][]Input{
	"install-verification": {
		Voice: {keys("1"), keys("1"), keys("1"), keys("2"), keys("50"), keys("5")},
		SMS:   {text("1"), text("1"), text("50"), text("5")},
	},
	"repair-parts-verification": {
		Voice: {keys("1"), keys("1"), keys("1"), keys("1"), keys("2"), keys("1"), keys("1"), keys("4")},
		SMS:   {text("1"), text("1"), text("1"), text("2"), text("0"), text("1"), text("4")},
	},
	"satisfaction": {
		Voice: {keys("1"), keys("2"), keys("3"), recording("https://rec/2")},
		SMS:   {text("2"), text("3"), text("too slow")},
	},
}

// A customer can opt out at every step of every shipped script, on both
// channels and in both languages: the run ends at once with the
// confirmation, the number is marked opted out, and the answers given before
// are kept.
func TestOptOutAtEveryStep(t *testing.T) {
	t.Parallel()
	smsWords := []string{"STOP", "退订", "TD", "unsubscribe", "Stop.", "ＳＴＯＰ", "取消", "T"}
	for name, byChannel := range happyPaths {
		d := shippedScript(t, name)
		kind := JobRepair
		if d.Kind == "install" {
			kind = JobInstall
		}
		job := SampleJob(kind)
		for ch, path := range byChannel {
			for _, lang := range []string{"en", "zh-CN"} {
				// The happy path itself completes.
				_, end := run(t, d, job, ch, lang, path...)
				if end.End != EndCompleted {
					t.Fatalf("%s %s %s: happy path ends %+v", name, ch, lang, end)
				}
				for k := 0; k < len(path); k++ {
					t.Run(fmt.Sprintf("%s/%s/%s/step%d", name, ch, lang, k), func(t *testing.T) {
						st, step := run(t, d, job, ch, lang, path[:k]...)
						before := d.Facts(&st)
						var in Input
						switch {
						case ch == SMS:
							in = text(smsWords[k%len(smsWords)])
						case step.Expect.OptOutKey != "":
							in = keys(step.Expect.OptOutKey)
						case step.Expect.Input == ExpectRecording:
							if step.Expect.OptOutKey != "" {
								t.Fatalf("a recording step offers opt-out key %s", step.Expect.OptOutKey)
							}
							t.Skip("a key ends a recording rather than opting out; the customer hangs up instead")
						default:
							in = say(map[bool]string{true: "不要再打了", false: "stop calling"}[isChinese(lang)])
						}
						o, err := d.Apply(job, st, in)
						if err != nil {
							t.Fatal(err)
						}
						if o.Step.Kind != StepEnd || o.Step.End != EndOptedOut {
							t.Fatalf("after %q at %s: step %+v, want the opted-out end", in.Text, step.Question, o.Step)
						}
						if want := render(d.Messages.OptedOut.Get(lang, ch), ptr(fillingsFor(job, lang, nil))); o.Step.Prompt != want {
							t.Fatalf("confirmation %q, want %q", o.Step.Prompt, want)
						}
						after := d.Facts(&o.State)
						if v, _ := after.Bool(FactOptedOut); !v {
							t.Fatal("opted_out is not set")
						}
						for f, v := range before {
							if f != FactOptedOut && after[f] != v {
								t.Fatalf("fact %s changed from %v to %v", f, v, after[f])
							}
						}
						if _, err := d.Apply(job, o.State, in); !errors.Is(err, ErrEnded) {
							t.Fatalf("Apply after the end: %v, want ErrEnded", err)
						}
					})
				}
			}
		}
	}
}

// A critical "no" is read back on a call: 1 confirms it, 2 asks again, and
// silence twice lets it stand.
func TestReadBack(t *testing.T) {
	t.Parallel()
	d := shippedScript(t, "repair-parts-verification")
	job := SampleJob(JobRepair)
	_, step := run(t, d, job, Voice, "en", keys("1"), keys("2"))
	if step.Kind != StepReadBack || step.Question != "visit" || !strings.HasPrefix(step.Prompt, "You said no technician came") || step.Expect.NumDigits != 1 {
		t.Fatalf("step = %+v, want the read-back", step)
	}
	cases := []struct {
		name   string
		inputs []Input
		want   string // the next question, or the end reason
		fact   string
	}{
		{"confirmed", []Input{keys("1")}, "completed", "no"},
		{"confirmed by speech", []Input{say("yes, that's right")}, "completed", "no"},
		{"answered again", []Input{keys("2"), keys("1")}, "any_part", "yes"},
		{"silence twice keeps the answer", []Input{silence, silence}, "completed", "no"},
		{"opt-out at the read-back", []Input{keys("9")}, "opted_out", "no"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, step := run(t, d, job, Voice, "en", append([]Input{keys("1"), keys("2")}, c.inputs...)...)
			got := step.Question
			if step.Kind == StepEnd {
				got = string(step.End)
			}
			if got != c.want {
				t.Fatalf("next = %s, want %s", got, c.want)
			}
			if v, _ := d.Facts(&st).Tri(FactVisitConfirmed); string(v) != c.fact {
				t.Fatalf("visit_confirmed = %s, want %s", v, c.fact)
			}
		})
	}
	t.Run("no read-back by SMS", func(t *testing.T) {
		_, step := run(t, d, job, SMS, "en", text("2"))
		if step.End != EndCompleted {
			t.Fatalf("step = %+v, want the end", step)
		}
	})
}

// A run's state survives JSON, so handlers can store it between webhooks.
func TestStateSurvivesJSON(t *testing.T) {
	t.Parallel()
	d := shippedScript(t, "repair-parts-verification")
	job := SampleJob(JobRepair)
	st, step := run(t, d, job, Voice, "zh-CN", keys("1"), keys("1"), silence, keys("1"), keys("3"))
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var back State
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	again, err := d.Next(job, &back)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, step) {
		t.Fatalf("after JSON: %+v\nbefore: %+v", again, step)
	}
	if !reflect.DeepEqual(d.Facts(&back), d.Facts(&st)) {
		t.Fatal("facts differ after JSON")
	}
}

// Apply returns a new state and leaves the one it was given alone, even when
// the entries slice has spare capacity.
func TestApplyDoesNotModifyItsInput(t *testing.T) {
	t.Parallel()
	d := shippedScript(t, "install-verification")
	job := SampleJob(JobInstall)
	st, _ := run(t, d, job, SMS, "en")
	st.Entries = make([]Entry, 0, 10)
	a, err := d.Apply(job, st, text("1"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.Apply(job, st, text("2"))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Entries) != 0 || a.State.Entries[0].Value.Tri != Yes || b.State.Entries[0].Value.Tri != No {
		t.Fatalf("states share entries: %+v / %+v", a.State.Entries, b.State.Entries)
	}
}

func TestStateMustMatch(t *testing.T) {
	t.Parallel()
	d := shippedScript(t, "install-verification")
	job := SampleJob(JobInstall)
	st, _ := run(t, d, job, SMS, "en")
	cases := []struct {
		name  string
		edit  func(*State)
		input Input
	}{
		{"another version", func(s *State) { s.Version = 7 }, text("1")},
		{"another survey", func(s *State) { s.Survey = "satisfaction" }, text("1")},
		{"an unknown channel", func(s *State) { s.Channel = "fax" }, text("1")},
		{"an undeclared language", func(s *State) { s.Lang = "fr" }, text("1")},
		{"an entry for a question this version lacks", func(s *State) { s.Entries = []Entry{{Question: "gone", Event: EventAnswer}} }, text("1")},
		{"keys on an SMS run", func(s *State) {}, keys("1")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := st
			c.edit(&s)
			if _, err := d.Apply(job, s, c.input); err == nil {
				t.Fatal("Apply accepted it")
			}
		})
	}
	if _, err := d.Start(SampleJob(JobRepair), SMS, ""); err == nil {
		t.Fatal("an install survey started on a repair job")
	}
}

func TestHelpKeepsTheQuestionOpen(t *testing.T) {
	t.Parallel()
	d := shippedScript(t, "repair-parts-verification")
	job := SampleJob(JobRepair)
	st, _ := run(t, d, job, SMS, "zh-CN", text("1"))
	o, err := d.Apply(job, st, text("帮助"))
	if err != nil {
		t.Fatal(err)
	}
	if o.Notice != "【Acme】售后维修回访。请回复答案前的数字，回TD退订。" || len(o.Added) != 0 {
		t.Fatalf("notice %q, added %v", o.Notice, o.Added)
	}
	if o.Step.Question != "any_part" || o.Step.Level != 0 {
		t.Fatalf("step = %s level %d, want any_part asked as before", o.Step.Question, o.Step.Level)
	}
}

// Each step says what TwiML needs: how many keys, which key ends, the
// timeout, speech and its language, and whether 9 opts out.
func TestExpectForTwiML(t *testing.T) {
	t.Parallel()
	all := parseFile(t, "all_types.yaml")
	sat := shippedScript(t, "satisfaction")
	job := SampleJob(JobRepair)
	stepAt := func(d *Definition, lang, id string) Step {
		st, _ := d.Start(job, Voice, lang)
		q := d.Question(id)
		return d.step(position{kind: StepQuestion, q: q}, job, &st)
	}
	cases := []struct {
		name      string
		step      Step
		numDigits int
		finish    string
		timeout   int
		optOut    string
		speech    string
		input     ExpectInput
	}{
		{"yes/no/unsure", stepAt(all, "en", "visited"), 1, "#", 6, "9", "en-US", ExpectKeys},
		{"choice", stepAt(all, "en", "booked"), 1, "#", 6, "9", "en-US", ExpectKeys},
		{"date", stepAt(all, "en", "when"), 4, "#", 8, "", "en-US", ExpectKeys},
		{"amount", stepAt(all, "en", "paid"), 0, "#", 10, "", "en-US", ExpectKeys},
		{"rating 1–7", stepAt(all, "en", "rate"), 1, "#", 6, "9", "en-US", ExpectKeys},
		{"nps", stepAt(all, "en", "recommend"), 2, "#", 6, "", "en-US", ExpectKeys},
		{"recording", stepAt(all, "en", "comment"), 0, "#", 6, "", "", ExpectRecording},
		{"a language without speech", stepAt(all, "zh-CN", "visited"), 1, "#", 6, "9", "", ExpectKeys},
		{"nps in Chinese", stepAt(sat, "zh-CN", "recommend"), 2, "#", 6, "", "cmn-Hans-CN", ExpectKeys},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := c.step.Expect
			if e.Input != c.input || e.NumDigits != c.numDigits || e.FinishOnKey != c.finish || e.TimeoutSeconds != c.timeout ||
				e.OptOutKey != c.optOut || e.SpeechLanguage != c.speech || e.Speech != (c.speech != "") {
				t.Fatalf("expect = %+v", e)
			}
		})
	}
	if s := stepAt(sat, "zh-CN", "satisfaction"); s.Say != (Say{Voice: "Polly.Zhiyu", Language: "cmn-CN"}) {
		t.Fatalf("say = %+v", s.Say)
	}
	if h := stepAt(all, "en", "booked").Expect.Hints; !slices.Contains(h, "phone") || !slices.Contains(h, "call") {
		t.Fatalf("choice hints = %v, want the labels and words", h)
	}
	if s := stepAt(all, "en", "comment"); s.Expect.MaxLength != 60 {
		t.Fatalf("recording max length = %d, want 60", s.Expect.MaxLength)
	}
}

func TestStartPicksTheLanguage(t *testing.T) {
	t.Parallel()
	d := parseFile(t, "all_types.yaml")
	job := SampleJob(JobRepair) // a zh-CN customer
	for lang, want := range map[string]string{"": "zh-CN", "en": "en", "zh": "zh-CN", "zh-TW": "zh-CN", "fr": "en"} {
		st, err := d.Start(job, SMS, lang)
		if err != nil {
			t.Fatal(err)
		}
		if st.Lang != want {
			t.Errorf("Start(lang %q) = %s, want %s", lang, st.Lang, want)
		}
	}
}

// Every SMS prompt of every shipped script fits one segment for the sample jobs.
func TestShippedSMSFitOneSegment(t *testing.T) {
	t.Parallel()
	for name, byChannel := range happyPaths {
		d := shippedScript(t, name)
		kind := JobRepair
		if d.Kind == "install" {
			kind = JobInstall
		}
		for _, lang := range []string{"en", "zh-CN"} {
			inputs := byChannel[SMS]
			for k := 0; k <= len(inputs); k++ {
				_, step := run(t, d, SampleJob(kind), SMS, lang, inputs[:k]...)
				if step.Prompt != "" && !step.SMS.OneSegment() {
					t.Errorf("%s %s step %d: %q is %d segments", name, lang, k, step.Prompt, step.SMS.Segments)
				}
			}
		}
	}
}
