package surveys

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// validate runs the checks that need the whole definition: ids, facts,
// branches, conditions on facts, placeholders, SMS length and reachability.
// It then prepares what the engine needs at run time.
func (p *parser) validate(d *Definition) {
	for _, q := range d.Questions {
		if q.ID == "" {
			continue // reported as missing
		}
		if prev := d.byID[q.ID]; prev != nil {
			p.errAt(q.idPos, RuleDuplicateID, "question id %q is already used by the question on line %d", q.ID, prev.pos.Line)
			continue
		}
		d.byID[q.ID] = q
	}
	p.validateFacts(d)
	for _, q := range d.Questions {
		p.validateNext(d, q)
		p.validateFactConditions(d, q)
	}
	p.validateTexts(d)
	if len(p.errs) == 0 {
		p.validateReachable(d)
	}
	for _, q := range d.Questions {
		q.prepare(d)
	}
}

// validateFacts checks fact names and kinds: a reserved fact keeps its kind,
// and two questions recording the same fact agree on its kind.
func (p *parser) validateFacts(d *Definition) {
	type seen struct {
		kind Kind
		q    *Question
	}
	facts := map[string]seen{}
	record := func(q *Question, name string, kind Kind, perPart bool, at Pos, field string) {
		switch {
		case name == "":
			return
		case !factRe.MatchString(name):
			p.errAt(at, RuleFact, "question %q: %s %q must be lower-case letters, digits and '_', starting with a letter", q.ID, field, truncateRunes(name, 40))
			return
		case name == FactOptedOut:
			p.errAt(at, RuleFact, "question %q: %s %q is reserved: the engine records opt-outs itself", q.ID, field, name)
			return
		}
		if wk, ok := wellKnownFacts[name]; ok {
			switch {
			case wk.kind != kind:
				p.errAt(at, RuleFact, "question %q: fact %q is %s, but a %s question records %s", q.ID, name, withArticle(wk.kind), q.Type, withArticle(kind))
				return
			case wk.perPart == 1 && !perPart:
				p.errAt(at, RuleFact, "question %q: fact %q is recorded per claimed part; the question needs each_part: true", q.ID, name)
				return
			case wk.perPart == 0 && perPart:
				p.errAt(at, RuleFact, "question %q: fact %q is recorded once per survey, not per part", q.ID, name)
				return
			}
			if name == FactCSAT && (q.Type != TypeRating || q.Min != 1 || q.Max != 5) {
				p.errAt(at, RuleFact, "question %q: csat is a rating from 1 to 5", q.ID)
				return
			}
			if name == FactNPS && q.Type != TypeNPS {
				p.errAt(at, RuleFact, "question %q: nps comes from an nps question (0 to 10)", q.ID)
				return
			}
		}
		key := name
		if perPart {
			key += "[]"
		}
		if s, ok := facts[key]; ok && s.kind != kind {
			p.errAt(at, RuleFact, "question %q records fact %q as %s; question %q records it as %s", q.ID, name, kind, s.q.ID, s.kind)
			return
		}
		facts[key] = seen{kind, q}
	}
	for _, q := range d.Questions {
		if !slices.Contains(questionTypes, q.Type) {
			continue
		}
		record(q, q.Fact, q.Type.factKind(), q.EachPart, q.factPos, "fact")
		if q.NonzeroFact != "" {
			if q.NonzeroFact == q.Fact {
				p.errAt(q.nzPos, RuleFact, "question %q: nonzero_fact must differ from fact", q.ID)
				continue
			}
			record(q, q.NonzeroFact, KindBool, q.EachPart, q.nzPos, "nonzero_fact")
		}
	}
}

// resolve returns the index a branch target names, or -1 (reported).
func (p *parser) resolve(d *Definition, q *Question, target string, at Pos) int {
	if target == "end" {
		return len(d.Questions)
	}
	t := d.byID[target]
	if t == nil {
		ids := make([]string, 0, len(d.Questions)+1)
		for _, x := range d.Questions {
			ids = append(ids, x.ID)
		}
		ids = append(ids, "end")
		p.errAt(at, RuleNextTarget, "question %q: next goes to %q, which is not a question%s", q.ID, truncateRunes(target, 40), didYouMean(target, ids))
		return -1
	}
	if t.index <= q.index {
		p.errAt(at, RuleNextBackward, "question %q: next goes back to %q: branches must go forward, so every call ends", q.ID, target)
		return -1
	}
	return t.index
}

func (p *parser) validateNext(d *Definition, q *Question) {
	if q.Next == nil {
		return
	}
	if q.Next.Always != "" {
		q.Next.alwaysIndex = p.resolve(d, q, q.Next.Always, q.Next.alwaysPos)
		return
	}
	for i := range q.Next.Branches {
		b := &q.Next.Branches[i]
		b.toIndex = p.resolve(d, q, b.To, b.pos)
	}
}

// validateFactConditions checks skip_if conditions on facts: the fact must
// come from an earlier question, and the value must be one it can take.
func (p *parser) validateFactConditions(d *Definition, q *Question) {
	for i := range q.SkipIf {
		c := &q.SkipIf[i]
		name, ok := strings.CutPrefix(c.Subject, "facts.")
		if !ok {
			continue
		}
		var src *Question
		kind := Kind("")
		for _, e := range d.Questions[:q.index] {
			switch {
			case e.EachPart:
			case e.Fact == name:
				src, kind = e, e.Type.factKind()
			case e.NonzeroFact == name:
				src, kind = e, KindBool
			}
		}
		if src == nil {
			p.errAt(c.pos, RuleCondition, "question %q: skip_if reads fact %q, which no earlier question records", q.ID, truncateRunes(name, 40))
			continue
		}
		equality := c.Op == "==" || c.Op == "!="
		var allowed []string
		switch kind {
		case KindBool:
			allowed = []string{"yes", "no"}
		case KindTri:
			allowed = []string{"yes", "no", "unsure"}
		case KindMoney:
			allowed = []string{"zero", "nonzero"}
		case KindDate:
			allowed = []string{"same", "different", "unsure"}
		case KindString:
			if src.Type == TypeChoice {
				allowed = src.labels()
			}
		case KindInt:
			n, err := parseSmallInt(c.Value)
			if err != nil || n < int64(src.Min) || n > int64(src.Max) {
				p.errAt(c.pos, RuleCondition, "question %q: %s is a score from %d to %d; %q is not", q.ID, name, src.Min, src.Max, truncateRunes(c.Value, 20))
			}
			c.num = n
			continue
		}
		if !equality {
			p.errAt(c.pos, RuleCondition, "question %q: %s compares with == or != only", q.ID, name)
			continue
		}
		if allowed != nil && !slices.Contains(allowed, c.Value) {
			p.errAt(c.pos, RuleCondition, "question %q: %s is %s, not %q", q.ID, name, strings.Join(allowed, " or "), truncateRunes(c.Value, 20))
		}
	}
}

func parseSmallInt(s string) (int64, error) {
	var n int64
	if s == "" || len(s) > 4 {
		return 0, fmt.Errorf("not a number")
	}
	for _, c := range []byte(s) {
		if !isDigit(c) {
			return 0, fmt.Errorf("not a number")
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

// textRef is one wording to check.
type textRef struct {
	what     string
	lang     string
	t        *Text
	part     bool // {part} is in scope
	channels []Channel
}

func (d *Definition) textRefs() []textRef {
	var out []textRef
	add := func(what string, l Localized, part bool, chs []Channel) {
		for _, lang := range d.Languages {
			if t := l[lang.Code]; t != nil {
				out = append(out, textRef{what, lang.Code, t, part, chs})
			}
		}
	}
	add("intro", d.Intro, false, []Channel{Voice})
	add("messages.no_input", d.Messages.NoInput, false, []Channel{Voice})
	add("messages.invalid", d.Messages.Invalid, false, []Channel{Voice})
	add("messages.opted_out", d.Messages.OptedOut, false, d.Channels)
	add("messages.help", d.Messages.Help, false, []Channel{SMS})
	add("closing", d.Closing, false, d.Channels)
	for _, q := range d.Questions {
		asked := q.Channels
		if len(asked) == 0 {
			asked = d.Channels
		}
		add(fmt.Sprintf("question %q prompt", q.ID), q.Prompt, q.EachPart, asked)
		add(fmt.Sprintf("question %q instructions", q.ID), q.Instructions, q.EachPart, asked)
		for _, label := range sortedKeys(q.ReadBack) {
			add(fmt.Sprintf("question %q read_back %s", q.ID, label), q.ReadBack[label], q.EachPart, []Channel{Voice})
		}
	}
	return out
}

// validateTexts checks placeholders in every wording, and that every SMS
// wording fits one segment with its placeholders filled at their budgets.
func (p *parser) validateTexts(d *Definition) {
	checked := map[*yaml.Node]bool{} // one wording may serve both channels
	for _, r := range d.textRefs() {
		for _, ch := range r.channels {
			if !d.HasChannel(ch) {
				continue
			}
			text, node := r.t.Voice, r.t.voiceNode
			if ch == SMS {
				text, node = r.t.SMS, r.t.smsNode
			}
			if node == nil {
				continue
			}
			problems := checkTemplate(text, r.part)
			if !checked[node] {
				checked[node] = true
				for _, pr := range problems {
					p.errAt(p.locate(node, pr.needle), RulePlaceholder, "%s in %s: %s", r.what, r.lang, pr.msg)
				}
			}
			if ch == SMS && len(problems) == 0 {
				f := budgetFillings(r.lang)
				if size := MeasureSMS(render(text, &f)); !size.OneSegment() {
					p.errAt(posOf(node), RuleSMSLength,
						"%s in %s is %d %s characters with its placeholders at their longest; one SMS segment holds %d",
						r.what, r.lang, size.Units, size.Encoding, size.Limit)
				}
			}
		}
	}
}

// locate finds needle in the source from node n onwards, so an error about a
// placeholder points at the placeholder, not at the start of the wording.
func (p *parser) locate(n *yaml.Node, needle string) Pos {
	start := n.Line - 1
	for li := start; li >= 0 && li < len(p.lines) && li < start+200; li++ {
		line := p.lines[li]
		from := 0
		if li == start {
			// Skip to the node's column (columns count characters).
			col := 0
			for i := range line {
				if col == n.Column-1 {
					from = i
					break
				}
				col++
				from = len(line)
			}
		}
		if idx := strings.Index(line[from:], needle); idx >= 0 {
			return Pos{Line: li + 1, Col: utf8.RuneCountInString(line[:from+idx]) + 1}
		}
	}
	return posOf(n)
}

// validateReachable reports questions no path reaches. A question that may
// not apply (channel, skip_if, no parts) passes the flow to the next one.
func (p *parser) validateReachable(d *Definition) {
	n := len(d.Questions)
	reached := make([]bool, n+1)
	todo := []int{0}
	reached[0] = true
	visit := func(i int) {
		if i >= 0 && i <= n && !reached[i] {
			reached[i] = true
			todo = append(todo, i)
		}
	}
	for len(todo) > 0 {
		i := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if i == n {
			continue
		}
		q := d.Questions[i]
		if len(q.Channels) > 0 && len(q.Channels) < len(d.Channels) || len(q.SkipIf) > 0 || q.EachPart {
			visit(i + 1)
		}
		switch {
		case q.Next == nil:
			visit(i + 1)
		case q.Next.Always != "":
			visit(q.Next.alwaysIndex)
		default:
			hasDefault := false
			for _, b := range q.Next.Branches {
				visit(b.toIndex)
				hasDefault = hasDefault || b.On == "default"
			}
			if !hasDefault {
				visit(i + 1)
			}
		}
	}
	for i, q := range d.Questions {
		if !reached[i] {
			p.errAt(q.pos, RuleUnreachable, "question %q can never be asked: no question before it leads here", q.ID)
		}
	}
}

// prepare builds what the engine reads on every input: the words that answer
// q (question words first, then the generic ones, longest first) and the
// speech hints per language.
func (q *Question) prepare(d *Definition) {
	var own []phrase
	switch q.Type {
	case TypeYesNo, TypeYesNoUnsure:
		for _, byLabel := range q.Words {
			for label, ws := range byLabel {
				for _, w := range ws {
					own = append(own, phrase{clean(w), label})
				}
			}
		}
		q.phrases, q.generic = newPhraseTable(own), yesNoPhrases
	case TypeChoice:
		for _, o := range q.Options {
			own = append(own, phrase{clean(o.Value), o.Value})
			for _, l := range o.Label {
				own = append(own, phrase{clean(l), o.Value})
			}
			for _, ws := range o.Words {
				for _, w := range ws {
					own = append(own, phrase{clean(w), o.Value})
				}
			}
		}
		q.phrases = newPhraseTable(own)
	}
	q.hints = map[string][]string{}
	for _, l := range d.Languages {
		var h []string
		zh := isChinese(l.Code)
		switch q.Type {
		case TypeYesNo, TypeYesNoUnsure:
			if zh {
				h = []string{"是", "不是"}
			} else {
				h = []string{"yes", "no"}
			}
			if q.Type == TypeYesNoUnsure {
				h = append(h, map[bool]string{true: "不确定", false: "not sure"}[zh])
			}
			for _, label := range []string{"yes", "no", "unsure"} {
				h = append(h, q.Words[l.Code][label]...)
			}
		case TypeChoice:
			for _, o := range q.Options {
				if s := o.Label[l.Code]; s != "" {
					h = append(h, s)
				}
				h = append(h, o.Words[l.Code]...)
			}
		case TypeDate:
			h = map[bool][]string{true: {"是", "对", "不确定"}, false: {"yes", "correct", "not sure"}}[zh]
		}
		q.hints[l.Code] = h
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// withArticle names a fact kind with its article: "an int", "a bool".
func withArticle(k Kind) string {
	if k == KindInt {
		return "an int"
	}
	return "a " + string(k)
}
