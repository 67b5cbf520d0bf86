package surveys

import (
	"errors"
	"fmt"
	"strings"
)

// Event is what one entry of a State records.
type Event string

// The events of a survey run. Apply appends them; nothing ever rewrites one.
const (
	EventAnswer  Event = "answer"   // an accepted answer (and, at the intro, "continue")
	EventNoInput Event = "no_input" // nothing was pressed, said or sent
	EventInvalid Event = "invalid"  // an input that was not an answer; Reason says why
	EventSkip    Event = "skip"     // re-asked as often as the policy allows: the flow moves on
	EventConfirm Event = "confirm"  // the customer confirmed an answer read back to them
	EventRetract Event = "retract"  // after a read-back the customer chose to answer again
	EventOptOut  Event = "opt_out"  // the customer asked not to be contacted again
	EventAbandon Event = "abandon"  // no one there (intro) or no SMS reply after the reminder: the run ends
)

// introID names the intro in entries ("press 1 to continue").
const introID = "intro"

// Entry is one event of a survey run, stored as it happens. The list of
// entries is the whole state of a run: an answer, a failed attempt and the
// re-ask count are all entries, so the engine can be a pure function of
// (definition, job, entries).
type Entry struct {
	Question string `json:"q"`              // the question id, or "intro"
	Part     string `json:"part,omitempty"` // the claimed part a per-part question asked about
	Event    Event  `json:"event"`
	Fact     string `json:"fact,omitempty"`   // the fact an answer records: csat, part_confirmed[HE-01]
	Value    *Value `json:"value,omitempty"`  // the answer
	Raw      string `json:"raw,omitempty"`    // what was pressed, said or typed, as received (at most 500 characters)
	Reason   Reason `json:"reason,omitempty"` // why an input was invalid, or why a question was skipped
	Intent   bool   `json:"intent,omitempty"` // an opt-out read from a longer message: suppress, and review
}

// State is one run of one survey version with one customer on one channel.
// It serialises to JSON as is; callers store it, or store its entries one per
// row and rebuild it, and hand it back on the next input.
type State struct {
	Survey  string  `json:"survey"`
	Version int     `json:"version"`
	Channel Channel `json:"channel"`
	Lang    string  `json:"lang"`
	Entries []Entry `json:"entries"`
}

// StepKind says what a Step is.
type StepKind string

// The kinds of step.
const (
	StepIntro    StepKind = "intro"     // the call's opening: press 1 to continue
	StepQuestion StepKind = "question"  // a question
	StepReadBack StepKind = "read_back" // an answer read back for confirmation (calls)
	StepEnd      StepKind = "end"       // nothing more to ask; Prompt is the closing words, if any
)

// EndReason says why a run ended.
type EndReason string

// The ways a run ends.
const (
	EndCompleted  EndReason = "completed"   // every applicable question was answered or skipped
	EndOptedOut   EndReason = "opted_out"   // the customer opted out; add the number to the do-not-contact list
	EndNoResponse EndReason = "no_response" // no one continued past the intro, or an SMS went unanswered after the reminder
)

// Step is what to do next: what to say or send and what input to wait for.
type Step struct {
	Kind     StepKind
	Question string       // the question id; "" at the intro and the end
	Type     QuestionType // the question's type
	Part     *Part        // the claimed part a per-part question is about
	Fact     string       // the fact the answer will record
	Prompt   string       // filled, in the customer's language; "" when there is nothing to say
	Level    int          // 0 on the first ask, then one more per failed input
	Expect   Expect
	Say      Say       // how to speak Prompt on a call
	SMS      SMSSize   // the size of Prompt as a text message (SMS runs)
	End      EndReason // for StepEnd
}

// Say is the text-to-speech voice and language of <Say>.
type Say struct {
	Voice    string
	Language string
}

// ExpectInput is the kind of input a step waits for.
type ExpectInput string

// The kinds of input a step can wait for.
const (
	ExpectKeys      ExpectInput = "keys"      // <Gather>, keys and, when Speech is set, speech
	ExpectText      ExpectInput = "text"      // an SMS reply
	ExpectRecording ExpectInput = "recording" // <Record>
	ExpectNothing   ExpectInput = "nothing"   // the end: say Prompt and hang up, or send it
)

// Expect describes the input a step waits for, in the terms TwiML needs.
type Expect struct {
	Input          ExpectInput
	NumDigits      int      // <Gather numDigits>: stop after this many keys; 0 leaves it unset
	FinishOnKey    string   // <Gather finishOnKey>: "#" ends variable-length input such as amounts
	TimeoutSeconds int      // <Gather timeout> / <Record timeout>
	Speech         bool     // add "speech" to <Gather input>
	SpeechLanguage string   // <Gather language>
	Hints          []string // <Gather hints>: the words this step expects
	OptOutKey      string   // the key that opts out at this step; "" where that key is an answer
	MaxLength      int      // <Record maxLength> in seconds, or the longest SMS text accepted
}

// Outcome is the result of applying one input.
type Outcome struct {
	State   State          // the state with Added appended (the input state is not modified)
	Added   []Entry        // what this input added, in order: store these
	Step    Step           // what to do next
	Notice  string         // a reply to send before Step (the SMS help text), or ""
	Invalid *InvalidAnswer // why the input was not accepted, or nil
}

// ErrEnded is returned by Apply when the run has already ended.
var ErrEnded = errors.New("survey run has ended")

// Start begins a run of d for job on ch. lang "" takes the customer's
// language; a language the survey lacks falls back to one with the same
// primary subtag, then to the survey's default language.
func (d *Definition) Start(job *Job, ch Channel, lang string) (State, error) {
	if !d.HasChannel(ch) {
		return State{}, fmt.Errorf("survey %s does not run on %s (channels: %s)", d.Name, ch, joinChannels(d.Channels))
	}
	if d.Kind != "any" && string(job.Kind) != d.Kind {
		return State{}, fmt.Errorf("survey %s is for %s jobs; job %s is a %s", d.Name, d.Kind, job.ID, job.Kind)
	}
	if lang == "" {
		lang = job.Lang
	}
	return State{Survey: d.Name, Version: d.Version, Channel: ch, Lang: d.resolveLang(lang), Entries: []Entry{}}, nil
}

func (d *Definition) resolveLang(lang string) string {
	if d.Language(lang) != nil {
		return lang
	}
	primary, _, _ := strings.Cut(lang, "-")
	for _, l := range d.Languages {
		if p, _, _ := strings.Cut(l.Code, "-"); p != "" && p == primary {
			return l.Code
		}
	}
	return d.DefaultLanguage
}

func joinChannels(cs []Channel) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

// check rejects a state that belongs to another survey or version, or names
// things this version does not have.
func (d *Definition) check(st *State) error {
	if st.Survey != d.Name || st.Version != d.Version {
		return fmt.Errorf("state is for survey %s version %d, not %s version %d", st.Survey, st.Version, d.Name, d.Version)
	}
	if !d.HasChannel(st.Channel) {
		return fmt.Errorf("state channel %q is not a channel of survey %s", st.Channel, d.Name)
	}
	if d.Language(st.Lang) == nil {
		return fmt.Errorf("state language %q is not a language of survey %s", st.Lang, d.Name)
	}
	for i := range st.Entries {
		if q := st.Entries[i].Question; q != introID && d.byID[q] == nil {
			return fmt.Errorf("state entry %d names question %q, which version %d of %s does not have", i, q, d.Version, d.Name)
		}
	}
	return nil
}

// slot is the fold of the entries of one question (and part).
type slot struct {
	answered   bool
	skipped    bool
	value      Value
	failures   int   // failed inputs since the question was last asked afresh
	last       Event // the latest failure: no_input or invalid
	readBack   int   // 0 none, 1 waiting for confirmation, 2 confirmed
	rbFailures int
	rbLast     Event
}

// open reports whether the question still waits for input.
func (s *slot) open() bool { return !s.answered && !s.skipped || s.readBack == 1 }

func (d *Definition) slotOf(st *State, id, part string, q *Question, job *Job) slot {
	var s slot
	for i := range st.Entries {
		e := &st.Entries[i]
		if e.Question != id || e.Part != part {
			continue
		}
		switch e.Event {
		case EventAnswer:
			s = slot{answered: true}
			if e.Value != nil {
				s.value = *e.Value
			}
			if q != nil && st.Channel == Voice && q.ReadBack[q.Label(s.value, job)] != nil {
				s.readBack = 1
			}
		case EventNoInput, EventInvalid:
			if s.readBack == 1 {
				s.rbFailures++
				s.rbLast = e.Event
			} else {
				s.failures++
				s.last = e.Event
			}
		case EventSkip:
			s.skipped = true
		case EventConfirm:
			s.readBack = 2
		case EventRetract:
			s = slot{}
		}
	}
	return s
}

// position is where a run stands.
type position struct {
	kind StepKind
	q    *Question
	part *Part
	slot slot
	end  EndReason
}

// locate walks the flow from the first question, passing over questions that
// do not apply and following answered ones by their branches, to the first
// question still open. Branches only go forward, so the walk ends.
func (d *Definition) locate(job *Job, st *State) position {
	for i := range st.Entries {
		switch st.Entries[i].Event {
		case EventOptOut:
			return position{kind: StepEnd, end: EndOptedOut}
		case EventAbandon:
			return position{kind: StepEnd, end: EndNoResponse}
		}
	}
	if st.Channel == Voice && len(d.Intro) > 0 {
		if s := d.slotOf(st, introID, "", nil, job); s.open() {
			return position{kind: StepIntro, slot: s}
		}
	}
	for i := 0; i < len(d.Questions); {
		q := d.Questions[i]
		if !d.applies(q, job, st) {
			i++
			continue
		}
		if q.EachPart {
			for _, p := range job.PartsToAsk(q.MaxParts) {
				if s := d.slotOf(st, q.ID, p.Code, q, job); s.open() {
					p := p
					return position{kind: q.stepKind(&s), q: q, part: &p, slot: s}
				}
			}
			i = q.after(i, nil, job)
			continue
		}
		s := d.slotOf(st, q.ID, "", q, job)
		if s.open() {
			return position{kind: q.stepKind(&s), q: q, slot: s}
		}
		i = q.after(i, &s, job)
	}
	return position{kind: StepEnd, end: EndCompleted}
}

func (q *Question) stepKind(s *slot) StepKind {
	if s.readBack == 1 {
		return StepReadBack
	}
	return StepQuestion
}

// after returns the index of the question that follows q (at index i) given
// its outcome s (nil for a per-part loop); len(questions) means the end.
func (q *Question) after(i int, s *slot, job *Job) int {
	n := q.Next
	if n == nil {
		return i + 1
	}
	if n.Always != "" {
		return n.alwaysIndex
	}
	if s != nil {
		label := "skipped"
		if s.answered {
			label = q.Label(s.value, job)
		}
		for _, b := range n.Branches {
			switch {
			case b.isRange:
				if s.answered && s.value.Kind == KindInt && s.value.Int >= int64(b.lo) && s.value.Int <= int64(b.hi) {
					return b.toIndex
				}
			case b.On == label:
				return b.toIndex
			}
		}
	}
	for _, b := range n.Branches {
		if b.On == "default" {
			return b.toIndex
		}
	}
	return i + 1
}

// applies reports whether q is asked in this run: on this channel, and with no
// skip_if condition holding.
func (d *Definition) applies(q *Question, job *Job, st *State) bool {
	if !q.asksOn(st.Channel) {
		return false
	}
	for i := range q.SkipIf {
		if d.holds(&q.SkipIf[i], job, st) {
			return false
		}
	}
	return true
}

// holds evaluates one condition. A condition on a fact that has no answer is
// false, whatever its operator.
func (d *Definition) holds(c *Condition, job *Job, st *State) bool {
	var have string
	var num int64
	numeric := false
	switch {
	case c.Subject == "claimed_parts":
		num, numeric = int64(job.distinctParts()), true
	case c.Subject == "kind":
		have = string(job.Kind)
	case c.Subject == "channel":
		have = string(st.Channel)
	case c.Subject == "lang":
		have = st.Lang
	case c.Subject == "product":
		have = job.ProductCategory
	case strings.HasPrefix(c.Subject, "facts."):
		v, ok := d.factValue(st, strings.TrimPrefix(c.Subject, "facts."))
		if !ok {
			return false
		}
		if v.Kind == KindInt {
			num, numeric = v.Int, true
		} else {
			have = valueLabel(v, job)
		}
	}
	if numeric {
		want := c.num
		switch c.Op {
		case "==":
			return num == want
		case "!=":
			return num != want
		case "<":
			return num < want
		case "<=":
			return num <= want
		case ">":
			return num > want
		case ">=":
			return num >= want
		}
		return false
	}
	if c.Op == "!=" {
		return have != c.Value
	}
	return have == c.Value
}

// factValue is the current value of one fact in st.
func (d *Definition) factValue(st *State, name string) (Value, bool) {
	var v Value
	ok := false
	for i := range st.Entries {
		e := &st.Entries[i]
		switch e.Event {
		case EventAnswer:
			if e.Value == nil {
				continue
			}
			if e.Fact == name {
				v, ok = *e.Value, true
			} else if q := d.byID[e.Question]; q != nil && q.NonzeroFact == name && e.Value.Kind == KindMoney {
				v, ok = Value{Kind: KindBool, Bool: e.Value.Int > 0}, true
			}
		case EventRetract:
			if e.Fact == name {
				ok = false
			}
		}
	}
	return v, ok
}

// Facts returns what a run has established, by fact name: the latest answer
// of each answered question (per part for per-part questions), the bool an
// amount implies through nonzero_fact, and opted_out. A skipped question
// leaves its fact absent.
func (d *Definition) Facts(st *State) Facts {
	f := Facts{FactOptedOut: {Kind: KindBool}}
	for i := range st.Entries {
		e := &st.Entries[i]
		switch e.Event {
		case EventAnswer:
			if e.Fact == "" || e.Value == nil {
				continue
			}
			f[e.Fact] = *e.Value
			if q := d.byID[e.Question]; q != nil && q.NonzeroFact != "" && e.Value.Kind == KindMoney {
				f[q.NonzeroFact] = Value{Kind: KindBool, Bool: e.Value.Int > 0}
			}
		case EventRetract:
			delete(f, e.Fact)
			if q := d.byID[e.Question]; q != nil && q.NonzeroFact != "" {
				delete(f, q.NonzeroFact)
			}
		case EventOptOut:
			f[FactOptedOut] = Value{Kind: KindBool, Bool: true}
		}
	}
	return f
}

// Next returns the step a run is at: the question to ask (again), an answer to
// read back, or the end. It reads st and does not change it.
func (d *Definition) Next(job *Job, st *State) (Step, error) {
	if err := d.check(st); err != nil {
		return Step{}, err
	}
	return d.step(d.locate(job, st), job, st), nil
}

// step turns a position into what to say and what to expect.
func (d *Definition) step(pos position, job *Job, st *State) Step {
	ch, lang := st.Channel, st.Lang
	f := fillingsFor(job, lang, pos.part)
	s := Step{Kind: pos.kind}
	if l := d.Language(lang); l != nil {
		s.Say = Say{Voice: l.Voice, Language: l.TTSLanguage}
	}
	switch pos.kind {
	case StepEnd:
		s.End = pos.end
		s.Expect = Expect{Input: ExpectNothing}
		switch pos.end {
		case EndCompleted:
			s.Prompt = render(d.Closing.Get(lang, ch), &f)
		case EndOptedOut:
			s.Prompt = render(d.Messages.OptedOut.Get(lang, ch), &f)
		}
	case StepIntro:
		s.Level = pos.slot.failures
		s.Prompt = d.voiceReask(lang, pos.slot.failures, pos.slot.last, d.Intro.Get(lang, Voice), d.Intro.Get(lang, Voice), &f)
		s.Expect = d.keysExpect(lang, 1, "#", d.TimeoutSeconds, d.OptOutKey, hintsConfirm(lang))
	case StepReadBack:
		q := pos.q
		s.Question, s.Type, s.Part, s.Fact = q.ID, q.Type, pos.part, q.factFor(pos.part)
		s.Level = pos.slot.rbFailures
		text := q.ReadBack[q.Label(pos.slot.value, job)].Get(lang, Voice)
		s.Prompt = d.voiceReask(lang, pos.slot.rbFailures, pos.slot.rbLast, text, text, &f)
		s.Expect = d.keysExpect(lang, 1, "#", d.TimeoutSeconds, d.OptOutKey, hintsConfirm(lang))
	case StepQuestion:
		q := pos.q
		s.Question, s.Type, s.Part, s.Fact = q.ID, q.Type, pos.part, q.factFor(pos.part)
		s.Level = pos.slot.failures
		prompt := q.Prompt.Get(lang, ch)
		instructions := q.Instructions.Get(lang, ch)
		if instructions == "" {
			instructions = prompt
		}
		if ch == SMS {
			text := prompt
			if s.Level > 0 && pos.slot.last == EventInvalid {
				text = instructions // the clarification
			}
			s.Prompt = render(text, &f)
			s.Expect = Expect{Input: ExpectText, MaxLength: q.MaxLength}
		} else {
			s.Prompt = d.voiceReask(lang, s.Level, pos.slot.last, prompt, instructions, &f)
			s.Expect = d.voiceExpect(q, lang)
		}
	}
	if ch == SMS && s.Prompt != "" {
		s.SMS = MeasureSMS(s.Prompt)
	}
	return s
}

// voiceReask composes what a call says at re-ask level n: the prompt first,
// then "Sorry…" and the prompt again, then "Sorry…" and the full instructions.
func (d *Definition) voiceReask(lang string, n int, last Event, prompt, instructions string, f *fillings) string {
	if n == 0 {
		return render(prompt, f)
	}
	body := prompt
	if n >= 2 {
		body = instructions
	}
	prefix := d.Messages.Invalid.Get(lang, Voice)
	if last == EventNoInput {
		prefix = d.Messages.NoInput.Get(lang, Voice)
	}
	return render(joinSentences(lang, prefix, body), f)
}

// joinSentences puts two sentences together: with a space in English,
// without one in Chinese.
func joinSentences(lang, a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	case isChinese(lang):
		return a + b
	}
	return a + " " + b
}

func (q *Question) factFor(part *Part) string {
	if part != nil {
		return PartFact(q.Fact, part.Code)
	}
	return q.Fact
}

func (d *Definition) keysExpect(lang string, numDigits int, finish string, timeout int, optOut string, hints []string) Expect {
	e := Expect{Input: ExpectKeys, NumDigits: numDigits, FinishOnKey: finish, TimeoutSeconds: timeout, OptOutKey: optOut}
	if l := d.Language(lang); l != nil && l.SpeechLanguage != "" {
		e.Speech, e.SpeechLanguage, e.Hints = true, l.SpeechLanguage, hints
	}
	return e
}

// voiceExpect is the <Gather> (or <Record>) a question needs.
func (d *Definition) voiceExpect(q *Question, lang string) Expect {
	optOut := ""
	if d.optOutKeyLive(q) {
		optOut = d.OptOutKey
	}
	hints := q.hints[lang]
	switch q.Type {
	case TypeRating:
		return d.keysExpect(lang, len(itoa(int64(q.Max))), "#", d.TimeoutSeconds, optOut, hints)
	case TypeNPS:
		return d.keysExpect(lang, 2, "#", d.TimeoutSeconds, optOut, hints)
	case TypeAmount:
		return d.keysExpect(lang, 0, "#", max(d.TimeoutSeconds, 10), optOut, hints)
	case TypeDate:
		return d.keysExpect(lang, 4, "#", max(d.TimeoutSeconds, 8), optOut, hints)
	case TypeFreeText:
		return Expect{Input: ExpectRecording, FinishOnKey: "#", TimeoutSeconds: d.TimeoutSeconds, MaxLength: q.MaxSeconds}
	}
	return d.keysExpect(lang, 1, "#", d.TimeoutSeconds, optOut, hints)
}

func hintsConfirm(lang string) []string {
	if isChinese(lang) {
		return []string{"是", "对", "继续", "不是"}
	}
	return []string{"yes", "continue", "no"}
}

// maxRaw bounds what an entry keeps of the raw input.
const maxRaw = 500

// Apply applies one input to a run: it reads the input at the open step,
// returns the entries it adds (an answer; or a failed attempt, and the skip
// when the re-ask policy is spent; or an opt-out) and the step after. The
// input state is not modified.
//
// The re-ask policy: silence or an invalid input re-asks the question up to
// Reprompts times for the channel, then skips it and the flow moves on — but
// an SMS run that gets no reply after its reminder ends as no_response rather
// than texting the next question, and a call where nobody presses 1 at the
// intro ends the same way. A read-back is re-asked once, then the answer
// stands.
func (d *Definition) Apply(job *Job, st State, in Input) (Outcome, error) {
	if err := d.check(&st); err != nil {
		return Outcome{}, err
	}
	switch {
	case st.Channel == SMS && in.Kind != InputText && in.Kind != InputNone,
		st.Channel == Voice && in.Kind == InputText:
		return Outcome{}, fmt.Errorf("a %s input does not belong to a %s run", in.Kind, st.Channel)
	}
	pos := d.locate(job, &st)
	if pos.kind == StepEnd {
		return Outcome{State: st, Step: d.step(pos, job, &st)}, ErrEnded
	}
	base := Entry{Question: introID, Raw: truncateRunes(in.Text, maxRaw)}
	if pos.q != nil {
		base.Question = pos.q.ID
	}
	if pos.part != nil {
		base.Part = pos.part.Code
	}
	var reply Reply
	switch pos.kind {
	case StepIntro, StepReadBack:
		reply = d.interpretConfirm(in, pos.kind == StepReadBack)
	default:
		reply = d.interpret(pos.q, in, job)
	}
	var out Outcome
	add := func(e Entry) { out.Added = append(out.Added, e) }
	switch reply.Kind {
	case ReplyOptOut:
		e := base
		e.Event, e.Intent = EventOptOut, reply.Intent
		add(e)
	case ReplyHelp:
		f := fillingsFor(job, st.Lang, pos.part)
		out.Notice = render(d.Messages.Help.Get(st.Lang, SMS), &f)
	case ReplyAnswer:
		e := base
		switch pos.kind {
		case StepIntro:
			e.Event, e.Value = EventAnswer, &Value{Kind: KindBool, Bool: true}
		case StepReadBack:
			e.Event = EventConfirm
			if !reply.Value.Bool {
				e.Event, e.Fact = EventRetract, pos.q.factFor(pos.part)
			}
		default:
			v := reply.Value
			e.Event, e.Fact, e.Value = EventAnswer, pos.q.factFor(pos.part), &v
		}
		add(e)
	case ReplyNone, ReplyInvalid:
		e := base
		e.Event = EventNoInput
		if reply.Kind == ReplyInvalid {
			e.Event, e.Reason = EventInvalid, reply.Invalid.Reason
			out.Invalid = reply.Invalid
		}
		add(e)
		failures, limit := pos.slot.failures+1, d.Reprompts.Voice
		if st.Channel == SMS {
			limit = d.Reprompts.SMS
		}
		if pos.kind == StepReadBack {
			failures, limit = pos.slot.rbFailures+1, 1
		}
		if failures > limit {
			end := base
			end.Raw, end.Reason = "", e.Reason
			if end.Reason == "" {
				end.Reason = ReasonNoInput
			}
			switch {
			case pos.kind == StepReadBack:
				end.Event = EventConfirm // the answer stands
			case pos.kind == StepIntro, st.Channel == SMS && reply.Kind == ReplyNone:
				end.Event = EventAbandon
			default:
				end.Event = EventSkip
			}
			add(end)
		}
	}
	out.State = st
	out.State.Entries = append(st.Entries[:len(st.Entries):len(st.Entries)], out.Added...)
	out.Step = d.step(d.locate(job, &out.State), job, &out.State)
	return out, nil
}

var confirmKeys = map[string]string{"1": "yes", "2": "no"}

// interpretConfirm reads the answer to "press 1 to continue" or to a
// read-back ("if that's right press 1, to answer again press 2").
func (d *Definition) interpretConfirm(in Input, readBack bool) Reply {
	switch in.Kind {
	case InputNone, InputRecording:
		return Reply{Kind: ReplyNone}
	case InputDigits:
		k := strings.TrimRight(strings.TrimSpace(in.Text), "#")
		switch {
		case k == "":
			return Reply{Kind: ReplyNone}
		case k == d.OptOutKey:
			return Reply{Kind: ReplyOptOut}
		case k == "1":
			return Reply{Kind: ReplyAnswer, Value: Value{Kind: KindBool, Bool: true}}
		case k == "2" && readBack:
			return Reply{Kind: ReplyAnswer, Value: Value{Kind: KindBool, Bool: false}}
		}
		return Reply{Kind: ReplyInvalid, Invalid: invalid(ReasonNotAChoice, "key %s is not offered here", truncateRunes(k, 10))}
	}
	switch ClassifyKeyword(in.Text) {
	case KeywordOptOut:
		return Reply{Kind: ReplyOptOut}
	case KeywordOptOutIntent:
		return Reply{Kind: ReplyOptOut, Intent: true}
	}
	s := clean(in.Text)
	if s == "" {
		return Reply{Kind: ReplyNone}
	}
	found, _ := match(s, nil, confirmPhrases, confirmKeys, true)
	if len(found) == 1 && (found[0] == "yes" || found[0] == "no" && readBack) {
		return Reply{Kind: ReplyAnswer, Value: Value{Kind: KindBool, Bool: found[0] == "yes"}}
	}
	return Reply{Kind: ReplyInvalid, Invalid: invalid(ReasonNotUnderstood, "no answer in %q", truncateRunes(s, 30))}
}

// Ended reports whether a run has ended, and how.
func (d *Definition) Ended(job *Job, st *State) (EndReason, bool) {
	pos := d.locate(job, st)
	return pos.end, pos.kind == StepEnd
}
