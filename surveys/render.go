package surveys

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
)

// RenderScript writes every wording a customer on ch in lang could meet for
// job — the intro, each question at each re-ask level with what it expects,
// the read-backs, the help reply and the endings — through the same code
// the engine uses. It is what reviewers read to approve a script, and what
// the golden tests compare.
func (d *Definition) RenderScript(w io.Writer, job *Job, ch Channel, lang string) error {
	st, err := d.Start(job, ch, lang)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "survey %s version %d · %s · %s\n", d.Name, d.Version, ch, st.Lang)
	fmt.Fprintf(bw, "job %s\n", describeJob(job))
	if ch == Voice {
		l := d.Language(st.Lang)
		fmt.Fprintf(bw, "say with %s (%s)", l.Voice, l.TTSLanguage)
		if l.SpeechLanguage != "" {
			fmt.Fprintf(bw, "; speech recognised as %s", l.SpeechLanguage)
		}
		fmt.Fprintln(bw)
	}
	show := func(label string, s Step) {
		fmt.Fprintf(bw, "  %-19s %s\n", label+":", s.Prompt)
		if ch == SMS && s.Prompt != "" {
			fmt.Fprintf(bw, "  %-19s %s\n", "", describeSize(s.SMS))
		}
	}
	levels := func(pos position) {
		pos.slot = slot{}
		show("ask", d.step(pos, job, &st))
		if ch == SMS {
			pos.slot = slot{failures: 1, last: EventInvalid}
			if pos.kind == StepQuestion {
				show("clarification", d.step(pos, job, &st))
			}
			pos.slot = slot{failures: 1, last: EventNoInput}
			show("reminder", d.step(pos, job, &st))
			return
		}
		pos.slot = slot{failures: 1, last: EventNoInput}
		if pos.kind == StepReadBack {
			pos.slot = slot{answered: true, value: pos.slot.value, readBack: 1, rbFailures: 1, rbLast: EventNoInput}
		}
		show("after no input", d.step(pos, job, &st))
		pos.slot.last, pos.slot.rbLast = EventInvalid, EventInvalid
		show("after invalid", d.step(pos, job, &st))
		if pos.kind == StepQuestion && d.Reprompts.Voice >= 2 {
			pos.slot = slot{failures: 2, last: EventInvalid}
			show("full instructions", d.step(pos, job, &st))
		}
		fmt.Fprintf(bw, "  %-19s %s\n", "expect:", describeExpect(d.step(pos, job, &st).Expect))
	}
	if ch == Voice && len(d.Intro) > 0 {
		fmt.Fprintln(bw, "\n== intro")
		levels(position{kind: StepIntro})
	}
	for _, q := range d.Questions {
		if !q.asksOn(ch) {
			continue
		}
		var parts []*Part
		if q.EachPart {
			for _, p := range job.PartsToAsk(q.MaxParts) {
				parts = append(parts, &p)
			}
			if len(parts) == 0 {
				fmt.Fprintf(bw, "\n== question %s (%s → %s[<code>], one per claimed part): not asked, the job claims no parts\n", q.ID, q.Type, q.Fact)
				continue
			}
		} else {
			parts = []*Part{nil}
		}
		for _, part := range parts {
			fact := q.factFor(part)
			if q.NonzeroFact != "" {
				fact += ", " + q.NonzeroFact
			}
			fmt.Fprintf(bw, "\n== question %s (%s → %s)", q.ID, q.Type, fact)
			if len(q.SkipIf) > 0 {
				conds := make([]string, len(q.SkipIf))
				for i, c := range q.SkipIf {
					conds[i] = c.String()
				}
				fmt.Fprintf(bw, " skipped when %s", strings.Join(conds, " or "))
			}
			fmt.Fprintln(bw)
			levels(position{kind: StepQuestion, q: q, part: part})
			if ch == Voice {
				for _, label := range sortedKeys(q.ReadBack) {
					fmt.Fprintf(bw, "  read back %q:\n", label)
					pos := position{kind: StepReadBack, q: q, part: part, slot: slot{answered: true, readBack: 1}}
					pos.slot.value = q.valueFor(label)
					show("  ask", d.step(pos, job, &st))
				}
			}
		}
	}
	f := fillingsFor(job, st.Lang, nil)
	if ch == SMS {
		fmt.Fprintln(bw, "\n== reply to HELP")
		show("send", Step{Prompt: render(d.Messages.Help.Get(st.Lang, SMS), &f), SMS: MeasureSMS(render(d.Messages.Help.Get(st.Lang, SMS), &f))})
	}
	for _, end := range []EndReason{EndCompleted, EndOptedOut} {
		fmt.Fprintf(bw, "\n== end: %s\n", end)
		show("say", d.step(position{kind: StepEnd, end: end}, job, &st))
	}
	return bw.Flush()
}

func describeJob(j *Job) string {
	var parts []string
	for _, p := range j.Parts {
		parts = append(parts, fmt.Sprintf("%s ×%d", p.Code, p.Quantity))
	}
	s := fmt.Sprintf("%s: %s of %s %s %s, completed %s (%s)", j.ID, j.Kind, j.Brand, j.ProductName("en"), j.Model,
		j.CompletedAt.In(Location(j.TimeZone)).Format("2006-01-02 15:04"), j.TimeZone)
	if len(parts) > 0 {
		s += ", claimed parts " + strings.Join(parts, ", ")
	}
	return s
}

func describeSize(s SMSSize) string {
	seg := "1 segment"
	if s.Segments != 1 {
		seg = fmt.Sprintf("%d segments", s.Segments)
	}
	return fmt.Sprintf("[%s, %s %d/%d]", seg, s.Encoding, s.Units, s.Limit)
}

func describeExpect(e Expect) string {
	var b []string
	switch e.Input {
	case ExpectRecording:
		b = append(b, fmt.Sprintf("a recording of up to %d s", e.MaxLength))
	case ExpectText:
		return "a text reply"
	case ExpectNothing:
		return "nothing"
	default:
		if e.NumDigits > 0 {
			b = append(b, fmt.Sprintf("%d key(s)", e.NumDigits))
		} else {
			b = append(b, "keys")
		}
	}
	if e.FinishOnKey != "" {
		b = append(b, e.FinishOnKey+" ends")
	}
	b = append(b, fmt.Sprintf("%d s timeout", e.TimeoutSeconds))
	if e.OptOutKey != "" {
		b = append(b, e.OptOutKey+" opts out")
	}
	if e.Speech {
		s := "speech (" + e.SpeechLanguage + ")"
		if len(e.Hints) > 0 {
			s += " hints: " + strings.Join(e.Hints, ", ")
		}
		b = append(b, s)
	}
	return strings.Join(b, " · ")
}

// Preview runs d for job on ch as the customer would experience it: it
// writes each prompt to out and reads the customer's inputs from in, one per
// line. On a call a line of digits (and * or #) is keys, an empty line is
// silence, and any other line is speech; at a recording any line stands for
// the recording. By SMS a line is the reply and an empty line is no reply
// (the reminder follows). It returns the final state; the facts are printed
// at the end.
func (d *Definition) Preview(ctx context.Context, in io.Reader, out io.Writer, job *Job, ch Channel, lang string) (State, error) {
	st, err := d.Start(job, ch, lang)
	if err != nil {
		return st, err
	}
	w := bufio.NewWriter(out)
	defer w.Flush()
	fmt.Fprintf(w, "Previewing %s version %d on %s in %s for job %s\n", d.Name, d.Version, ch, st.Lang, describeJob(job))
	if ch == Voice {
		fmt.Fprintln(w, "Type keys and press Enter; an empty line is silence; words are speech.")
	} else {
		fmt.Fprintln(w, "Type each reply and press Enter; an empty line is no reply.")
	}
	lines := bufio.NewScanner(in)
	step, err := d.Next(job, &st)
	if err != nil {
		return st, err
	}
	for {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		printStep(w, step, ch)
		if step.Kind == StepEnd {
			fmt.Fprintf(w, "(%s)\n", step.End)
			break
		}
		fmt.Fprint(w, "> ")
		w.Flush()
		if !lines.Scan() {
			if ch == Voice {
				fmt.Fprintln(w, "\n(the customer hung up)")
			} else {
				fmt.Fprintln(w, "\n(no more replies)")
			}
			break
		}
		line := strings.TrimRight(lines.Text(), "\r")
		input := Input{Kind: InputText, Text: line}
		switch {
		case line == "":
			input = Input{Kind: InputNone}
		case ch == SMS:
		case step.Expect.Input == ExpectRecording:
			input = Input{Kind: InputRecording, Text: "preview:" + line}
		case strings.Trim(line, "0123456789*#") == "":
			input = Input{Kind: InputDigits, Text: line}
		default:
			input = Input{Kind: InputSpeech, Text: line}
		}
		fmt.Fprintf(w, "%s\n", describeInput(input, ch))
		o, err := d.Apply(job, st, input)
		if err != nil {
			return st, err
		}
		st = o.State
		for _, e := range o.Added {
			switch e.Event {
			case EventInvalid:
				fmt.Fprintf(w, "  (not accepted: %s)\n", o.Invalid)
			case EventSkip:
				fmt.Fprintf(w, "  (question %s skipped)\n", e.Question)
			case EventAnswer:
				if e.Fact != "" {
					fmt.Fprintf(w, "  (%s = %s)\n", e.Fact, e.Value)
				}
			case EventRetract:
				fmt.Fprintf(w, "  (answer withdrawn; asking again)\n")
			case EventOptOut:
				if e.Intent {
					fmt.Fprintf(w, "  (opt-out read from the message: suppress the number and send to review)\n")
				}
			}
		}
		if o.Notice != "" {
			fmt.Fprintf(w, "← %s\n", o.Notice)
		}
		step = o.Step
	}
	fmt.Fprintln(w, "facts:")
	for _, l := range strings.Split(strings.TrimRight(d.Facts(&st).String(), "\n"), "\n") {
		fmt.Fprintf(w, "  %s\n", l)
	}
	return st, nil
}

func printStep(w io.Writer, s Step, ch Channel) {
	if s.Prompt == "" {
		return
	}
	if ch == SMS {
		fmt.Fprintf(w, "← %s\n  %s\n", s.Prompt, describeSize(s.SMS))
		return
	}
	fmt.Fprintf(w, "☎ %s\n", s.Prompt)
	if s.Kind != StepEnd {
		fmt.Fprintf(w, "  [%s]\n", describeExpect(s.Expect))
	}
}

func describeInput(in Input, ch Channel) string {
	switch {
	case in.Kind == InputNone && ch == SMS:
		return "  (no reply; the reminder goes out)"
	case in.Kind == InputText:
		return "  (replied " + fmt.Sprintf("%q", in.Text) + ")"
	}
	switch in.Kind {
	case InputNone:
		return "  (silence)"
	case InputDigits:
		return "  (keys " + in.Text + ")"
	case InputRecording:
		return "  (recorded)"
	}
	return "  (said " + fmt.Sprintf("%q", in.Text) + ")"
}
