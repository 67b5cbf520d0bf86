package surveys

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

const (
	// MaxSourceBytes bounds a survey file. Real ones are a few kilobytes.
	MaxSourceBytes = 256 << 10
	maxErrors      = 50
	maxDepth       = 32
)

var (
	nameRe      = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	idRe        = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)
	factRe      = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	langRe      = regexp.MustCompile(`^[a-z]{2,3}(-[A-Z][a-z]{3})?(-[A-Z]{2})?$`)
	valueRe     = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)
	syntaxErrRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

// reservedIDs cannot name a question: they are branch targets or answers.
var reservedIDs = []string{"end", "intro", "default", "skipped"}

var topFields = []string{"name", "title", "description", "kind", "channels", "languages", "default_language",
	"reprompts", "timeout", "opt_out_key", "intro", "messages", "closing", "questions"}

var questionFields = []string{"id", "type", "fact", "nonzero_fact", "channels", "prompt", "instructions", "read_back",
	"keys", "words", "options", "min", "max", "max_amount", "max_length", "max_seconds", "each_part", "max_parts",
	"skip_if", "next"}

// typeFields lists the fields only some question types take.
var typeFields = map[string][]QuestionType{
	"keys":         {TypeYesNo, TypeYesNoUnsure},
	"words":        {TypeYesNo, TypeYesNoUnsure},
	"read_back":    {TypeYesNo, TypeYesNoUnsure, TypeChoice},
	"options":      {TypeChoice},
	"min":          {TypeRating},
	"max":          {TypeRating},
	"max_amount":   {TypeAmount},
	"nonzero_fact": {TypeAmount},
	"max_length":   {TypeFreeText},
	"max_seconds":  {TypeFreeText},
}

// ParseDefinition reads a survey definition from YAML and validates it. file
// names the source in errors. On failure the error is an Errors listing every
// problem found (up to 50), each with its line, column and rule; a
// definition is returned only when there are none.
func ParseDefinition(file string, src []byte) (*Definition, error) {
	p := &parser{file: file, src: src}
	d := p.parse()
	if len(p.errs) > 0 {
		p.errs.Sort()
		return nil, p.errs
	}
	return d, nil
}

// parser collects the errors of one file.
type parser struct {
	file  string
	src   []byte
	lines []string
	errs  Errors
}

func (p *parser) errAt(pos Pos, rule, format string, args ...any) {
	if len(p.errs) == maxErrors {
		p.errs = append(p.errs, &Error{File: p.file, Pos: pos, Rule: RuleTooManyErrors, Msg: "too many errors; stopping here"})
	}
	if len(p.errs) > maxErrors {
		return
	}
	p.errs = append(p.errs, &Error{File: p.file, Pos: pos, Rule: rule, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) errf(n *yaml.Node, rule, format string, args ...any) {
	p.errAt(posOf(n), rule, format, args...)
}

func posOf(n *yaml.Node) Pos {
	if n == nil {
		return Pos{Line: 1, Col: 1}
	}
	return Pos{Line: n.Line, Col: n.Column}
}

func (p *parser) parse() *Definition {
	if len(p.src) > MaxSourceBytes {
		p.errAt(Pos{Line: 1, Col: 1}, RuleEncoding, "the file is %d bytes; a survey must be under %d", len(p.src), MaxSourceBytes)
		return nil
	}
	if !utf8.Valid(p.src) {
		i := 0
		for i < len(p.src) {
			r, size := utf8.DecodeRune(p.src[i:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			i += size
		}
		p.errAt(p.posOfOffset(i), RuleEncoding, "the file is not UTF-8 (byte 0x%02x); save it as UTF-8", p.src[i])
		return nil
	}
	p.lines = strings.Split(string(p.src), "\n")
	dec := yaml.NewDecoder(bytes.NewReader(p.src))
	var doc yaml.Node
	if err := decode(dec, &doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.errAt(Pos{Line: 1, Col: 1}, RuleRequired, "the file is empty: a survey needs at least name, languages, messages, closing and questions")
			return nil
		}
		p.syntaxError(err)
		return nil
	}
	var extra yaml.Node
	switch err := decode(dec, &extra); {
	case err == nil:
		p.errf(&extra, RuleSyntax, "a survey file holds one YAML document; a second one starts here")
	case !errors.Is(err, io.EOF):
		p.syntaxError(err)
	}
	if len(p.errs) > 0 || doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		if len(p.errs) == 0 {
			p.errAt(Pos{Line: 1, Col: 1}, RuleSyntax, "not a YAML document")
		}
		return nil
	}
	root := doc.Content[0]
	p.checkTree(root, 0)
	if len(p.errs) > 0 {
		return nil
	}
	return p.definition(root)
}

// decode reads one YAML document. The YAML library is not ours: should it
// panic on some input, that comes back as an error naming the file rather
// than taking the process down. Only this call is guarded, so a panic in our
// own code still surfaces in tests and fuzzing.
func decode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: the YAML parser failed: %v", r)
		}
	}()
	return dec.Decode(n)
}

// posOfOffset converts a byte offset of the source to a line and column.
func (p *parser) posOfOffset(off int) Pos {
	line, col := 1, 1
	for _, r := range string(p.src[:off]) {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return Pos{Line: line, Col: col}
}

// syntaxError reports a YAML syntax error. The library gives only a line, so
// the column points at the line's first character that is not a space.
func (p *parser) syntaxError(err error) {
	msg := err.Error()
	m := syntaxErrRe.FindStringSubmatch(msg)
	if m == nil {
		p.errAt(Pos{Line: 1, Col: 1}, RuleSyntax, "%s", strings.TrimPrefix(msg, "yaml: "))
		return
	}
	line, _ := strconv.Atoi(m[1])
	col := 1
	if line >= 1 && line <= len(p.lines) {
		text := p.lines[line-1]
		col = utf8.RuneCountInString(text) - utf8.RuneCountInString(strings.TrimLeft(text, " \t")) + 1
	}
	p.errAt(Pos{Line: line, Col: col}, RuleSyntax, "%s", m[2])
}

// checkTree rejects what this format does not support before anything reads
// the tree: anchors, aliases, merge keys, and absurd nesting.
func (p *parser) checkTree(n *yaml.Node, depth int) {
	if depth > maxDepth {
		p.errf(n, RuleType, "nested more than %d levels deep", maxDepth)
		return
	}
	switch {
	case n.Kind == yaml.AliasNode:
		p.errf(n, RuleAlias, "aliases (*%s) are not supported: write the value out in full", n.Value)
		return
	case n.Anchor != "":
		p.errf(n, RuleAlias, "anchors (&%s) are not supported: write each value out in full", n.Anchor)
	case n.Tag == "!!merge":
		p.errf(n, RuleAlias, "merge keys (<<) are not supported")
	}
	for _, c := range n.Content {
		p.checkTree(c, depth+1)
	}
}

// mapping is one YAML mapping being read field by field.
type mapping struct {
	p    *parser
	node *yaml.Node
	what string
	keys []*yaml.Node
	vals []*yaml.Node
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "nothing"
		}
		return fmt.Sprintf("the value %q", truncateRunes(n.Value, 30))
	}
	return "something else"
}

// mapping checks that n is a mapping without repeated keys and, when allowed
// is not nil, without unknown ones.
func (p *parser) mapping(n *yaml.Node, what string, allowed []string) *mapping {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		if isNull(n) {
			p.errf(n, RuleRequired, "%s is empty", what)
		} else {
			p.errf(n, RuleType, "%s must be a mapping (key: value lines), not %s", what, describe(n))
		}
		return nil
	}
	m := &mapping{p: p, node: n, what: what}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errf(k, RuleType, "keys in %s must be plain words, not %s", what, describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.errf(k, RuleDuplicateKey, "%q is given twice in %s (first on line %d)", k.Value, what, first.Line)
			continue
		}
		seen[k.Value] = k
		if allowed != nil && !slices.Contains(allowed, k.Value) {
			p.errf(k, RuleUnknownField, "unknown field %q in %s%s", k.Value, what, didYouMean(k.Value, allowed))
			continue
		}
		m.keys = append(m.keys, k)
		m.vals = append(m.vals, v)
	}
	return m
}

func (m *mapping) get(key string) (k, v *yaml.Node) {
	if m == nil {
		return nil, nil
	}
	for i, kn := range m.keys {
		if kn.Value == key {
			return kn, m.vals[i]
		}
	}
	return nil, nil
}

func (m *mapping) has(key string) bool { _, v := m.get(key); return v != nil }

// str reads a single value. A required value that is missing or empty is an
// error at the field (or, when the field is absent, at the mapping).
func (m *mapping) str(key string, required bool) (string, *yaml.Node) {
	if m == nil {
		return "", nil
	}
	k, v := m.get(key)
	if v == nil || isNull(v) {
		if required {
			at := m.node
			if k != nil {
				at = k
			}
			m.p.errf(at, RuleRequired, "%s needs %s", m.what, key)
		}
		return "", nil
	}
	if v.Kind != yaml.ScalarNode {
		m.p.errf(v, RuleType, "%s of %s must be a single value, not %s", key, m.what, describe(v))
		return "", nil
	}
	if required && strings.TrimSpace(v.Value) == "" {
		m.p.errf(v, RuleRequired, "%s of %s must not be empty", key, m.what)
		return "", nil
	}
	return v.Value, v
}

// int reads a whole number in [lo, hi], or def when the field is absent.
func (m *mapping) int(key string, def, lo, hi int) int {
	s, v := m.str(key, false)
	if v == nil {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < lo || n > hi {
		m.p.errf(v, RuleValue, "%s of %s must be a whole number from %d to %d, not %q", key, m.what, lo, hi, truncateRunes(s, 20))
		return def
	}
	return n
}

// bool reads true or false.
func (m *mapping) bool(key string) bool {
	s, v := m.str(key, false)
	if v == nil {
		return false
	}
	switch s {
	case "true":
		return true
	case "false":
		return false
	}
	m.p.errf(v, RuleValue, "%s of %s must be true or false, not %q", key, m.what, truncateRunes(s, 20))
	return false
}

// list reads a list of single values; a single value reads as a list of one.
func (p *parser) list(n *yaml.Node, what string) ([]string, []*yaml.Node) {
	if n == nil || isNull(n) {
		return nil, nil
	}
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	var out []string
	var nodes []*yaml.Node
	for _, it := range items {
		if it.Kind != yaml.ScalarNode || isNull(it) {
			p.errf(it, RuleType, "%s must be a list of single values; this is %s", what, describe(it))
			continue
		}
		out = append(out, it.Value)
		nodes = append(nodes, it)
	}
	return out, nodes
}

// didYouMean suggests the allowed word nearest a misspelt one.
func didYouMean(got string, allowed []string) string {
	best, bestD := "", 3
	for _, a := range allowed {
		if d := editDistance(got, a); d < bestD {
			best, bestD = a, d
		}
	}
	if best == "" {
		return " (allowed: " + strings.Join(allowed, ", ") + ")"
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		return 99
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func (d *Definition) langList() string {
	codes := make([]string, len(d.Languages))
	for i, l := range d.Languages {
		codes[i] = l.Code
	}
	return strings.Join(codes, ", ")
}

func (p *parser) definition(root *yaml.Node) *Definition {
	m := p.mapping(root, "the survey", topFields)
	if m == nil {
		return nil
	}
	d := &Definition{File: p.file, Source: p.src, byID: map[string]*Question{}}

	var n *yaml.Node
	if d.Name, n = m.str("name", true); n != nil && d.Name != "" && !nameRe.MatchString(d.Name) {
		p.errf(n, RuleValue, "name %q must be lower-case letters, digits, '-' and '_' (at most 63), starting with a letter or digit", truncateRunes(d.Name, 40))
	}
	d.Title, _ = m.str("title", false)
	d.Description, _ = m.str("description", false)
	d.Kind = "any"
	if s, n := m.str("kind", false); n != nil {
		if s != "install" && s != "repair" && s != "any" {
			p.errf(n, RuleValue, "kind must be install, repair or any, not %q", truncateRunes(s, 20))
		} else {
			d.Kind = s
		}
	}

	d.Channels = []Channel{Voice, SMS}
	if _, v := m.get("channels"); v != nil {
		d.Channels = p.channels(v, "channels of the survey", nil)
		if len(d.Channels) == 0 {
			p.errf(v, RuleRequired, "a survey needs at least one channel: voice, sms")
		}
	}

	p.languages(d, m)
	if s, n := m.str("default_language", false); n != nil {
		if d.Language(s) == nil {
			p.errf(n, RuleLanguage, "default_language %q is not declared under languages (%s)", truncateRunes(s, 20), d.langList())
		}
		d.DefaultLanguage = s
	} else if len(d.Languages) > 0 {
		d.DefaultLanguage = d.Languages[0].Code
	}

	d.Reprompts = Reprompts{Voice: 2, SMS: 1}
	if _, v := m.get("reprompts"); v != nil {
		rm := p.mapping(v, "reprompts", []string{"voice", "sms"})
		d.Reprompts.Voice = rm.int("voice", 2, 0, 3)
		d.Reprompts.SMS = rm.int("sms", 1, 0, 2)
	}
	d.TimeoutSeconds = m.int("timeout", 6, 2, 30)
	d.OptOutKey = "9"
	if s, n := m.str("opt_out_key", false); n != nil {
		if len(s) != 1 || !isDigit(s[0]) {
			p.errf(n, RuleKeys, "opt_out_key must be one digit, not %q", truncateRunes(s, 10))
		} else {
			d.OptOutKey = s
		}
	}

	voice := d.HasChannel(Voice)
	if _, v := m.get("intro"); v != nil {
		if !voice {
			p.errf(v, RuleValue, "intro is said at the start of a call, and this survey has no voice channel")
		}
		d.Intro = p.localized(d, v, "intro", []Channel{Voice})
	}

	_, mv := m.get("messages")
	if mv == nil {
		p.errf(root, RuleRequired, "the survey needs messages (no_input, invalid, opted_out, help)")
	}
	mm := p.mapping(mv, "messages", []string{"no_input", "invalid", "opted_out", "help"})
	d.Messages.NoInput = p.localizedField(d, mm, "no_input", "messages.no_input", []Channel{Voice}, voice)
	d.Messages.Invalid = p.localizedField(d, mm, "invalid", "messages.invalid", []Channel{Voice}, voice)
	d.Messages.OptedOut = p.localizedField(d, mm, "opted_out", "messages.opted_out", d.Channels, true)
	d.Messages.Help = p.localizedField(d, mm, "help", "messages.help", []Channel{SMS}, d.HasChannel(SMS))
	d.Closing = p.localizedField(d, m, "closing", "closing", d.Channels, true)

	_, qv := m.get("questions")
	switch {
	case qv == nil:
		p.errf(root, RuleRequired, "the survey needs questions")
	case qv.Kind != yaml.SequenceNode:
		p.errf(qv, RuleType, "questions must be a list (lines starting with -), not %s", describe(qv))
	case len(qv.Content) == 0:
		p.errf(qv, RuleRequired, "questions is empty: a survey asks at least one question")
	default:
		for i, qn := range qv.Content {
			if q := p.question(d, qn, i); q != nil {
				d.Questions = append(d.Questions, q)
			}
		}
	}
	// The checks across questions run even when fields had errors, so one
	// pass reports as much as it can; what they need from a broken field
	// they find empty.
	p.validate(d)
	return d
}

// channels reads a list of channels; within (when not nil) limits them.
func (p *parser) channels(v *yaml.Node, what string, within []Channel) []Channel {
	vals, nodes := p.list(v, what)
	var out []Channel
	for i, s := range vals {
		ch := Channel(s)
		switch {
		case ch != Voice && ch != SMS:
			p.errf(nodes[i], RuleValue, "%s: %q is not a channel (voice, sms)", what, truncateRunes(s, 20))
		case slices.Contains(out, ch):
			p.errf(nodes[i], RuleDuplicateKey, "%s: %s is listed twice", what, s)
		case within != nil && !slices.Contains(within, ch):
			p.errf(nodes[i], RuleValue, "%s: the survey does not run on %s", what, s)
		default:
			out = append(out, ch)
		}
	}
	return out
}

func (p *parser) languages(d *Definition, m *mapping) {
	k, v := m.get("languages")
	if v == nil {
		at := m.node
		if k != nil {
			at = k
		}
		p.errf(at, RuleRequired, "the survey needs languages (for example en and zh-CN)")
		return
	}
	lm := p.mapping(v, "languages", nil)
	if lm == nil {
		return
	}
	if len(lm.keys) == 0 {
		p.errf(v, RuleRequired, "languages is empty")
	}
	for i, kn := range lm.keys {
		code := kn.Value
		if !langRe.MatchString(code) {
			p.errf(kn, RuleLanguage, "%q is not a language tag such as en, zh-CN or zh-Hans-CN", truncateRunes(code, 20))
			continue
		}
		what := "language " + code
		l := Language{Code: code}
		sm := p.mapping(lm.vals[i], what, []string{"voice", "tts_language", "speech_language"})
		needVoice := d.HasChannel(Voice)
		l.Voice, _ = sm.str("voice", needVoice)
		l.TTSLanguage, _ = sm.str("tts_language", needVoice)
		l.SpeechLanguage, _ = sm.str("speech_language", false)
		d.Languages = append(d.Languages, l)
	}
}

// localizedField reads an optional or required wording field of m.
func (p *parser) localizedField(d *Definition, m *mapping, key, what string, need []Channel, required bool) Localized {
	if m == nil {
		return nil
	}
	k, v := m.get(key)
	if v == nil {
		if required {
			at := m.node
			if k != nil {
				at = k
			}
			p.errf(at, RuleRequired, "%s needs %s", m.what, key)
		}
		return nil
	}
	return p.localized(d, v, what, need)
}

// localized reads wording by language: each declared language must be there,
// with wording for every channel in need.
func (p *parser) localized(d *Definition, n *yaml.Node, what string, need []Channel) Localized {
	m := p.mapping(n, what, nil)
	if m == nil {
		return nil
	}
	l := Localized{}
	nodes := map[string]*yaml.Node{}
	for i, k := range m.keys {
		v := m.vals[i]
		lang := k.Value
		if d.Language(lang) == nil {
			p.errf(k, RuleLanguage, "%s has wording for %q, which is not declared under languages (%s)", what, truncateRunes(lang, 20), d.langList())
			continue
		}
		t := &Text{}
		switch {
		case v.Kind == yaml.ScalarNode && !isNull(v):
			if strings.TrimSpace(v.Value) == "" {
				p.errf(v, RuleRequired, "%s in %s is empty", what, lang)
			}
			t.Voice, t.SMS, t.voiceNode, t.smsNode = v.Value, v.Value, v, v
		case v.Kind == yaml.MappingNode:
			tm := p.mapping(v, what+" in "+lang, []string{"voice", "sms"})
			t.Voice, t.voiceNode = tm.str("voice", false)
			t.SMS, t.smsNode = tm.str("sms", false)
			for _, c := range [][2]any{{t.Voice, t.voiceNode}, {t.SMS, t.smsNode}} {
				if nn := c[1].(*yaml.Node); nn != nil && strings.TrimSpace(c[0].(string)) == "" {
					p.errf(nn, RuleRequired, "%s in %s is empty", what, lang)
				}
			}
		default:
			p.errf(v, RuleType, "%s in %s must be the wording, or voice: and sms: wordings, not %s", what, lang, describe(v))
			continue
		}
		l[lang] = t
		nodes[lang] = v
	}
	for _, lang := range d.Languages {
		t := l[lang.Code]
		if t == nil {
			if _, declaredHere := nodes[lang.Code]; !declaredHere {
				p.errf(n, RuleMissingText, "%s has no %s wording", what, lang.Code)
			}
			continue
		}
		for _, ch := range need {
			if d.HasChannel(ch) && t.For(ch) == "" {
				p.errf(nodes[lang.Code], RuleMissingText, "%s in %s has no %s wording", what, lang.Code, ch)
			}
		}
	}
	return l
}

// question reads one question; the checks that need every question (ids,
// branches, facts across questions) come later in validate.
func (p *parser) question(d *Definition, n *yaml.Node, index int) *Question {
	what := fmt.Sprintf("question %d", index+1)
	if n.Kind == yaml.MappingNode {
		// Name the question by its id from the first error on.
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k, v := n.Content[i], n.Content[i+1]; k.Value == "id" && v.Kind == yaml.ScalarNode && idRe.MatchString(v.Value) {
				what = fmt.Sprintf("question %q", v.Value)
				break
			}
		}
	}
	m := p.mapping(n, what, questionFields)
	if m == nil {
		return nil
	}
	q := &Question{pos: posOf(n), index: index}
	var idNode *yaml.Node
	if q.ID, idNode = m.str("id", true); q.ID != "" {
		q.idPos = posOf(idNode)
		what = fmt.Sprintf("question %q", q.ID)
		m.what = what
		if !idRe.MatchString(q.ID) {
			p.errf(idNode, RuleValue, "question id %q must be lower-case letters, digits and '_' (at most 40), starting with a letter", truncateRunes(q.ID, 40))
		} else if slices.Contains(reservedIDs, q.ID) {
			p.errf(idNode, RuleValue, "%q cannot be a question id: it is reserved (%s)", q.ID, strings.Join(reservedIDs, ", "))
		}
	}

	t, tn := m.str("type", true)
	q.Type = QuestionType(t)
	typeOK := slices.Contains(questionTypes, q.Type)
	if tn != nil && !typeOK {
		names := make([]string, len(questionTypes))
		for i, qt := range questionTypes {
			names[i] = string(qt)
		}
		p.errf(tn, RuleQuestionType, "%s: unknown type %q (types: %s)", what, truncateRunes(t, 20), strings.Join(names, ", "))
	}
	if typeOK {
		for i, k := range m.keys {
			if types, only := typeFields[k.Value]; only && !slices.Contains(types, q.Type) {
				p.errf(k, RuleQuestionType, "%s: a %s question takes no %s", what, q.Type, k.Value)
				m.vals[i] = nil // ignore it from here on
			}
		}
	}

	var fn *yaml.Node
	if q.Fact, fn = m.str("fact", true); fn != nil {
		q.factPos = posOf(fn)
	}
	if q.NonzeroFact, fn = m.str("nonzero_fact", false); fn != nil {
		q.nzPos = posOf(fn)
	}

	if _, v := m.get("channels"); v != nil {
		before := len(p.errs)
		q.Channels = p.channels(v, what+" channels", d.Channels)
		if len(q.Channels) == 0 && len(p.errs) == before {
			p.errf(v, RuleRequired, "%s: channels is empty; leave it out to ask on every channel", what)
		}
	}
	asked := q.Channels
	if len(asked) == 0 {
		asked = d.Channels
	}

	if _, v := m.get("prompt"); v != nil {
		q.Prompt = p.localized(d, v, what+" prompt", asked)
	} else {
		m.str("prompt", true)
	}
	if _, v := m.get("instructions"); v != nil {
		q.Instructions = p.localized(d, v, what+" instructions", nil)
	}

	if _, v := m.get("read_back"); v != nil {
		if !slices.Contains(asked, Voice) {
			p.errf(v, RuleValue, "%s: read_back is said on calls, and this question is not asked on calls", what)
		}
		rm := p.mapping(v, what+" read_back", nil)
		if rm != nil {
			q.ReadBack = map[string]Localized{}
			for i, k := range rm.keys {
				if !slices.Contains(q.labels(), k.Value) {
					p.errf(k, RuleNextKey, "%s: read_back for %q, which a %s question cannot answer (%s)", what, truncateRunes(k.Value, 20), q.Type, q.labelList())
					continue
				}
				q.ReadBack[k.Value] = p.localized(d, rm.vals[i], what+" read_back "+k.Value, []Channel{Voice})
			}
		}
	}

	p.questionKeys(d, q, m, what)

	switch q.Type {
	case TypeRating:
		q.Min = m.int("min", 1, 0, 9)
		q.Max = m.int("max", 5, 1, 10)
		if q.Min >= q.Max {
			_, v := m.get("max")
			if v == nil {
				v = n
			}
			p.errf(v, RuleValue, "%s: max (%d) must be above min (%d)", what, q.Max, q.Min)
		}
	case TypeNPS:
		q.Min, q.Max = 0, 10
	case TypeAmount:
		q.MaxAmount = int64(m.int("max_amount", 100000, 1, 10000000))
	case TypeFreeText:
		q.MaxLength = m.int("max_length", 1000, 1, 1600)
		if slices.Contains(asked, Voice) {
			q.MaxSeconds = m.int("max_seconds", 60, 5, 300)
		}
	}

	q.EachPart = m.bool("each_part")
	if _, v := m.get("max_parts"); v != nil {
		if !q.EachPart {
			p.errf(v, RuleEachPart, "%s: max_parts needs each_part: true", what)
		}
	}
	if q.EachPart {
		q.MaxParts = m.int("max_parts", 3, 1, 5)
	}

	if _, v := m.get("skip_if"); v != nil {
		exprs, nodes := p.list(v, what+" skip_if")
		for i, e := range exprs {
			if c, ok := p.condition(d, e, nodes[i], what); ok {
				q.SkipIf = append(q.SkipIf, c)
			}
		}
	}
	if _, v := m.get("next"); v != nil {
		q.Next = p.next(q, v, what)
	}
	return q
}

// questionKeys reads keys, words and options: how a question is answered.
func (p *parser) questionKeys(d *Definition, q *Question, m *mapping, what string) {
	q.keyLabel = map[string]string{}
	keyNode := map[string]*yaml.Node{}
	setKey := func(label, key string, at *yaml.Node) {
		switch {
		case len(key) != 1 || !isDigit(key[0]):
			p.errf(at, RuleKeys, "%s: the key for %s must be one digit, not %q", what, label, truncateRunes(key, 10))
		case key == d.OptOutKey:
			p.errf(at, RuleKeys, "%s: key %s is the opt-out key and cannot answer %s", what, key, label)
		case q.keyLabel[key] != "":
			p.errf(at, RuleKeys, "%s: key %s answers both %s and %s", what, key, q.keyLabel[key], label)
		default:
			q.keyLabel[key] = label
			keyNode[label] = at
		}
	}
	switch q.Type {
	case TypeYesNo, TypeYesNoUnsure:
		q.Keys = map[string]string{"yes": "1", "no": "2"}
		if q.Type == TypeYesNoUnsure {
			q.Keys["unsure"] = "3"
		}
		if _, v := m.get("keys"); v != nil {
			km := p.mapping(v, what+" keys", nil)
			if km != nil {
				for i, k := range km.keys {
					if _, ok := q.Keys[k.Value]; !ok {
						p.errf(k, RuleKeys, "%s: %q is not an answer of a %s question (%s)", what, truncateRunes(k.Value, 20), q.Type, q.labelList())
						continue
					}
					vn := km.vals[i]
					if vn.Kind != yaml.ScalarNode {
						p.errf(vn, RuleType, "%s: the key for %s must be one digit", what, k.Value)
						continue
					}
					q.Keys[k.Value] = vn.Value
					keyNode[k.Value] = vn
				}
			}
		}
		for _, label := range []string{"yes", "no", "unsure"} {
			if key, ok := q.Keys[label]; ok {
				at := keyNode[label]
				if at == nil {
					at = m.node
				}
				setKey(label, key, at)
			}
		}
		if _, v := m.get("words"); v != nil {
			q.Words = p.words(d, v, what, func(label string) bool { _, ok := q.Keys[label]; return ok }, q.labelList())
		}
	case TypeChoice:
		_, v := m.get("options")
		if v == nil {
			p.errf(m.node, RuleRequired, "%s: a choice question needs options", what)
			return
		}
		if v.Kind != yaml.SequenceNode || len(v.Content) < 2 || len(v.Content) > 9 {
			p.errf(v, RuleValue, "%s: options must be a list of 2 to 9 options", what)
			return
		}
		for _, on := range v.Content {
			om := p.mapping(on, what+" option", []string{"value", "key", "label", "words"})
			if om == nil {
				continue
			}
			var o Option
			var vn *yaml.Node
			o.Value, vn = om.str("value", true)
			if vn != nil && o.Value != "" {
				if !valueRe.MatchString(o.Value) || o.Value == "default" || o.Value == "skipped" {
					p.errf(vn, RuleValue, "%s: option value %q must be lower-case letters, digits, '-' and '_', and not default or skipped", what, truncateRunes(o.Value, 20))
				}
				for _, prev := range q.Options {
					if prev.Value == o.Value {
						p.errf(vn, RuleDuplicateKey, "%s: option %q is listed twice", what, o.Value)
					}
				}
			}
			key, kn := om.str("key", true)
			if kn != nil {
				setKey(o.Value, key, kn)
			}
			o.Key = key
			if _, lv := om.get("label"); lv != nil {
				lm := p.mapping(lv, what+" option label", nil)
				if lm != nil {
					o.Label = map[string]string{}
					for i, k := range lm.keys {
						if d.Language(k.Value) == nil {
							p.errf(k, RuleLanguage, "%s: label in %q, which is not declared under languages (%s)", what, truncateRunes(k.Value, 20), d.langList())
							continue
						}
						if lm.vals[i].Kind != yaml.ScalarNode {
							p.errf(lm.vals[i], RuleType, "%s: a label is a single value", what)
							continue
						}
						if clean(lm.vals[i].Value) == "" {
							p.errf(lm.vals[i], RuleValue, "%s: label %q has no letters or digits to match a reply with", what, truncateRunes(lm.vals[i].Value, 20))
							continue
						}
						o.Label[k.Value] = lm.vals[i].Value
					}
				}
			}
			if _, wv := om.get("words"); wv != nil {
				wm := p.mapping(wv, what+" option words", nil)
				if wm != nil {
					o.Words = map[string][]string{}
					for i, k := range wm.keys {
						if d.Language(k.Value) == nil {
							p.errf(k, RuleLanguage, "%s: words in %q, which is not declared under languages (%s)", what, truncateRunes(k.Value, 20), d.langList())
							continue
						}
						ws, nodes := p.list(wm.vals[i], what+" option words")
						for x, w := range ws {
							if clean(w) == "" {
								p.errf(nodes[x], RuleValue, "%s: %q has no letters or digits to match a reply with", what, truncateRunes(w, 20))
							}
						}
						o.Words[k.Value] = ws
					}
				}
			}
			q.Options = append(q.Options, o)
		}
	}
}

// words reads extra answer words: language → answer → list of words.
func (p *parser) words(d *Definition, v *yaml.Node, what string, labelOK func(string) bool, labels string) map[string]map[string][]string {
	wm := p.mapping(v, what+" words", nil)
	if wm == nil {
		return nil
	}
	out := map[string]map[string][]string{}
	for i, k := range wm.keys {
		if d.Language(k.Value) == nil {
			p.errf(k, RuleLanguage, "%s: words in %q, which is not declared under languages (%s)", what, truncateRunes(k.Value, 20), d.langList())
			continue
		}
		lm := p.mapping(wm.vals[i], what+" words in "+k.Value, nil)
		if lm == nil {
			continue
		}
		out[k.Value] = map[string][]string{}
		for j, lk := range lm.keys {
			if !labelOK(lk.Value) {
				p.errf(lk, RuleNextKey, "%s: words for %q, which is not an answer here (%s)", what, truncateRunes(lk.Value, 20), labels)
				continue
			}
			ws, nodes := p.list(lm.vals[j], what+" words")
			for x, w := range ws {
				if clean(w) == "" {
					p.errf(nodes[x], RuleValue, "%s: %q has no letters or digits to match a reply with", what, truncateRunes(w, 20))
				}
			}
			out[k.Value][lk.Value] = ws
		}
	}
	return out
}

// labels are the answers of q that branches and read-backs may name:
// yes/no/unsure, an option's value, zero/nonzero, same/different/unsure, the
// NPS groups. Scores and ranges of scores are checked separately.
func (q *Question) labels() []string {
	switch q.Type {
	case TypeYesNo:
		return []string{"yes", "no"}
	case TypeYesNoUnsure:
		return []string{"yes", "no", "unsure"}
	case TypeAmount:
		return []string{"zero", "nonzero"}
	case TypeDate:
		return []string{"same", "different", "unsure"}
	case TypeChoice:
		out := make([]string, 0, len(q.Options))
		for _, o := range q.Options {
			out = append(out, o.Value)
		}
		return out
	case TypeNPS:
		return []string{"promoter", "passive", "detractor"}
	}
	return nil
}

func (q *Question) labelList() string {
	l := q.labels()
	if q.Type == TypeRating || q.Type == TypeNPS {
		l = append(l, fmt.Sprintf("a score or range of scores from %d to %d such as %d-%d", q.Min, q.Max, q.Min, q.Min+1))
	}
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}

// condition parses one skip_if test: "subject op value".
func (p *parser) condition(d *Definition, expr string, n *yaml.Node, what string) (Condition, bool) {
	f := strings.Fields(expr)
	if len(f) != 3 {
		p.errf(n, RuleCondition, "%s: skip_if %q must read subject op value, such as claimed_parts == 0", what, truncateRunes(expr, 40))
		return Condition{}, false
	}
	c := Condition{Subject: f[0], Op: f[1], Value: f[2], source: strings.Join(f, " "), pos: posOf(n)}
	if !slices.Contains([]string{"==", "!=", "<", "<=", ">", ">="}, c.Op) {
		p.errf(n, RuleCondition, "%s: %q is not an operator (==, !=, <, <=, >, >=)", what, c.Op)
		return c, false
	}
	equality := c.Op == "==" || c.Op == "!="
	switch {
	case c.Subject == "claimed_parts":
		v, err := strconv.Atoi(c.Value)
		if err != nil || v < 0 || v > 1000 {
			p.errf(n, RuleCondition, "%s: claimed_parts compares with a whole number, not %q", what, truncateRunes(c.Value, 20))
			return c, false
		}
		c.num = int64(v)
	case c.Subject == "kind" || c.Subject == "channel" || c.Subject == "lang" || c.Subject == "product":
		if !equality {
			p.errf(n, RuleCondition, "%s: %s compares with == or != only", what, c.Subject)
			return c, false
		}
		switch {
		case c.Subject == "kind" && c.Value != "install" && c.Value != "repair":
			p.errf(n, RuleCondition, "%s: kind is install or repair, not %q", what, truncateRunes(c.Value, 20))
			return c, false
		case c.Subject == "channel" && c.Value != "voice" && c.Value != "sms":
			p.errf(n, RuleCondition, "%s: channel is voice or sms, not %q", what, truncateRunes(c.Value, 20))
			return c, false
		case c.Subject == "lang" && d.Language(c.Value) == nil:
			p.errf(n, RuleCondition, "%s: lang %q is not declared under languages (%s)", what, truncateRunes(c.Value, 20), d.langList())
			return c, false
		}
	case strings.HasPrefix(c.Subject, "facts."):
		// Checked in validate, once every question is known.
	default:
		p.errf(n, RuleCondition, "%s: unknown subject %q (claimed_parts, kind, channel, lang, product, facts.<name>)", what, truncateRunes(c.Subject, 30))
		return c, false
	}
	return c, true
}

// next reads where the flow goes after q: a question id or end, or a mapping
// from answers to those.
func (p *parser) next(q *Question, v *yaml.Node, what string) *Next {
	switch v.Kind {
	case yaml.ScalarNode:
		if isNull(v) || strings.TrimSpace(v.Value) == "" {
			p.errf(v, RuleRequired, "%s: next is empty", what)
			return nil
		}
		return &Next{Always: v.Value, alwaysPos: posOf(v)}
	case yaml.MappingNode:
		if q.EachPart {
			p.errf(v, RuleEachPart, "%s: a per-part question is asked once per part and cannot branch by answer; give next a single question id", what)
			return nil
		}
		nm := p.mapping(v, what+" next", nil)
		if nm == nil {
			return nil
		}
		out := &Next{}
		for i, k := range nm.keys {
			tv := nm.vals[i]
			if tv.Kind != yaml.ScalarNode || isNull(tv) {
				p.errf(tv, RuleType, "%s: next for %q must be a question id or end", what, truncateRunes(k.Value, 20))
				continue
			}
			b := Branch{On: k.Value, To: tv.Value, pos: posOf(tv), keyPos: posOf(k)}
			if !p.branchKey(q, &b, out.Branches) {
				p.errf(k, RuleNextKey, "%s: %q is not an answer of this %s question (%s, default, skipped)", what, truncateRunes(k.Value, 20), q.Type, q.labelList())
				continue
			}
			out.Branches = append(out.Branches, b)
		}
		return out
	}
	p.errf(v, RuleType, "%s: next must be a question id, end, or a mapping from answers to those; not %s", what, describe(v))
	return nil
}

var rangeRe = regexp.MustCompile(`^(\d{1,2})(?:-(\d{1,2}))?$`)

// branchKey checks a branch's answer and, for scores, reads its range.
// Overlapping score ranges are rejected here.
func (p *parser) branchKey(q *Question, b *Branch, earlier []Branch) bool {
	if b.On == "default" || b.On == "skipped" {
		return true
	}
	if q.Type == TypeRating || q.Type == TypeNPS {
		lo, hi := -1, -1
		switch b.On {
		case "promoter":
			lo, hi = 9, 10
		case "passive":
			lo, hi = 7, 8
		case "detractor":
			lo, hi = 0, 6
		default:
			m := rangeRe.FindStringSubmatch(b.On)
			if m == nil {
				return false
			}
			lo, _ = strconv.Atoi(m[1])
			hi = lo
			if m[2] != "" {
				hi, _ = strconv.Atoi(m[2])
			}
		}
		if q.Type == TypeRating && (b.On == "promoter" || b.On == "passive" || b.On == "detractor") {
			return false
		}
		min, max := q.Min, q.Max
		if q.Type == TypeNPS {
			min, max = 0, 10
		}
		if lo > hi || lo < min || hi > max {
			return false
		}
		for _, e := range earlier {
			if e.isRange && lo <= e.hi && e.lo <= hi {
				p.errAt(b.keyPos, RuleNextKey, "question %q: scores %s overlap %s", q.ID, b.On, e.On)
				return true // reported; do not report it twice
			}
		}
		b.lo, b.hi, b.isRange = lo, hi, true
		return true
	}
	return slices.Contains(q.labels(), b.On)
}
