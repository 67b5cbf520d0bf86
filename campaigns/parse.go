package campaigns

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/huifang/huifang/internal/srcerr"
	"gopkg.in/yaml.v3"
)

// More rules a campaign definition can break, beside those of the calling
// window (calendar.go).
const (
	RuleJSONSyntax = "json-syntax" // a JSON body that does not parse
	RuleAlias      = "yaml-alias"  // anchors, aliases and merge keys are not supported
	RuleSize       = "size"        // a file too large, or nested too deep
	RuleValue      = "value"       // a number, word or list outside what the field allows
	RuleName       = "name"        // a campaign or survey name that breaks the naming pattern
	RuleDuration   = "duration"    // a duration that does not parse ("3x", "5", "")
	RuleSchedule   = "schedule"    // a cron expression that does not parse or never runs
	RuleTimeZone   = "time-zone"   // a time zone that does not load
	RulePhone      = "phone"       // a caller ID that is not E.164
)

// MaxDefinitionBytes bounds a definition file or API body. Real ones are
// about a kilobyte.
const MaxDefinitionBytes = 64 << 10

const maxDefinitionDepth = 32

// FieldError is one problem in a definition sent as JSON: the JSON pointer
// (RFC 6901) of the value at fault, the rule it breaks and what is wrong.
// Its text reads "/attempts/max: must be between 1 and 10".
type FieldError struct {
	Pointer string
	Rule    string
	Msg     string
}

func (e *FieldError) Error() string {
	p := e.Pointer
	if p == "" {
		p = "(root)"
	}
	return p + ": " + e.Msg
}

// FieldErrors is every problem found in one JSON definition, in document
// order.
type FieldErrors []*FieldError

func (es FieldErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// DefaultDefinition returns a definition with every default of DOMAIN.md
// filled in and nothing else: name, survey, schedule and from are empty.
// The parsers start from it, so a field left out keeps its default.
func DefaultDefinition() *Definition {
	return &Definition{
		Targeting: Targeting{CompletedWithinDays: 5},
		Sampling:  Sampling{Rate: 1, RiskyProviders: 1},
		Channel:   ChannelVoice,
		Trigger:   Trigger{After: Duration(2 * time.Hour), Within: Duration(120 * time.Hour)},
		Attempts: AttemptPolicy{
			Max:    3,
			PerDay: 2,
			Spacing: Spacing{
				NoAnswer: Duration(3 * time.Hour),
				Busy:     Duration(30 * time.Minute),
				Machine:  Duration(3 * time.Hour),
				Failed:   Duration(time.Hour),
				Partial:  Duration(3 * time.Hour),
			},
			Rotate: true,
			Ring:   Duration(25 * time.Second),
		},
		FrequencyCap:  Duration(720 * time.Hour),
		Pace:          1,
		MaxConcurrent: 10,
	}
}

// ParseDefinition reads a campaign definition from YAML, fills in the
// defaults of what it leaves out, and validates it. file names the source in
// errors. On failure the error is an Errors listing every problem found (up
// to 50), each naming line:col and the rule broken; a definition is returned
// only when there are none.
//
// The keys are the JSON names of Definition's fields; window takes the
// syntax of ParseCallingWindow; durations are written "30m", "3h", "2h30m"
// or "5d".
func ParseDefinition(file string, src []byte) (*Definition, error) {
	p := newDefParser(file, false)
	if len(src) > MaxDefinitionBytes {
		p.add(issue{pos: srcerr.Pos{Line: 1, Col: 1}, rule: RuleSize,
			msg: fmt.Sprintf("the file is %d bytes; a campaign definition must be under %d", len(src), MaxDefinitionBytes)})
		return nil, p.fileErrors()
	}
	root := p.yamlRoot(src)
	if root == nil {
		return nil, p.fileErrors()
	}
	d := p.definition(root)
	p.validate(d)
	if len(p.issues) > 0 {
		return nil, p.fileErrors()
	}
	return d, nil
}

// ParseDefinitionJSON reads a campaign definition sent as JSON to the API:
// the same keys, defaults and rules as ParseDefinition, strictly (unknown
// and repeated keys are errors, and each value must have its JSON type:
// numbers as numbers, durations as strings). On failure the error is a
// FieldErrors, each naming the JSON pointer of the value at fault.
func ParseDefinitionJSON(data []byte) (*Definition, error) {
	d, p := decodeJSON(data)
	if d != nil {
		p.validate(d)
	}
	if len(p.issues) > 0 {
		return nil, p.fieldErrors()
	}
	return d, nil
}

// UnmarshalJSON reads a definition as Canonical writes it (the form stored
// in campaigns.definition), with the defaults of anything left out. It
// checks the shape of every value but not the rules (see Validate), so a
// stored definition still loads after a rule is tightened.
func (d *Definition) UnmarshalJSON(data []byte) error {
	def, p := decodeJSON(data)
	if def == nil || len(p.issues) > 0 {
		return p.fieldErrors()
	}
	*d = *def
	return nil
}

// MarshalJSON writes the definition with its window in the syntax of
// ParseCallingWindow, so what it writes reads back with ParseDefinitionJSON.
func (d Definition) MarshalJSON() ([]byte, error) {
	type plain Definition // without these methods
	out := struct {
		plain
		Window *windowJSON `json:"window,omitempty"`
	}{plain: plain(d), Window: (*windowJSON)(d.Window)}
	return json.Marshal(out)
}

// Canonical returns the definition as canonical JSON: every field, defaults
// included, in a fixed order, so two sources that differ only in layout,
// comments, key order or spelled-out defaults give the same bytes.
func (d *Definition) Canonical() ([]byte, error) {
	b, err := d.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("campaign %s: canonical JSON: %w", d.Name, err)
	}
	return b, nil
}

// Validate checks a definition against every rule of the format, as the
// parsers do; use it for a definition built in code. The error is a
// FieldErrors naming the JSON pointer of each value at fault.
func (d *Definition) Validate() error {
	var es FieldErrors
	for _, pr := range d.problems() {
		es = append(es, &FieldError{Pointer: pr.path, Rule: pr.rule, Msg: pr.msg})
	}
	if len(es) > 0 {
		return es
	}
	return nil
}

// windowJSON writes a calling window the way ParseCallingWindow reads it:
// {"hours": {"mon-fri": ["09:00-12:00", "14:00-20:00"], "sat": […]},
// "holidays": ["2026-10-01"]}, runs of days with the same hours joined.
type windowJSON CallingWindow

func (w *windowJSON) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"hours":{`)
	week := []int{1, 2, 3, 4, 5, 6, 0} // Monday first, as the keys read
	names := []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
	first := true
	for i := 0; i < len(week); {
		day := week[i]
		j := i + 1
		for j < len(week) && slices.Equal(w.Hours[week[j]], w.Hours[day]) {
			j++
		}
		if len(w.Hours[day]) > 0 {
			if !first {
				b.WriteByte(',')
			}
			first = false
			key := names[day]
			if j-i > 1 {
				key += "-" + names[week[j-1]]
			}
			ranges := make([]string, len(w.Hours[day]))
			for k, r := range w.Hours[day] {
				ranges[k] = r.String()
			}
			kb, _ := json.Marshal(key)
			rb, _ := json.Marshal(ranges)
			b.Write(kb)
			b.WriteByte(':')
			b.Write(rb)
		}
		i = j
	}
	b.WriteByte('}')
	if len(w.Holidays) > 0 {
		days := make([]string, len(w.Holidays))
		for i, h := range w.Holidays {
			days[i] = h.String()
		}
		hb, _ := json.Marshal(days)
		b.WriteString(`,"holidays":`)
		b.Write(hb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// issue is one problem found while reading a definition: where (a position
// in the file; in a JSON body, a synthetic line naming one value), the JSON
// pointer of the field it concerns, the rule, and the message. A YAML file
// shows it as "file:line:col: field: message [rule]", a JSON body as
// "pointer: message".
type issue struct {
	pos  srcerr.Pos
	path string
	rule string
	msg  string
	// bare issues come from the calling-window parser: their message names
	// its own subject and their path is found from pos.
	bare bool
}

// defParser reads one definition, from YAML or from JSON turned into the
// same node tree, collecting every problem.
type defParser struct {
	file   string
	json   bool
	issues []issue
	root   *yaml.Node
	// nodes holds the node of each field read, by JSON pointer, so a rule
	// broken by a value (or a default standing for a missing one) is
	// reported where the value is, or where it would go.
	nodes map[string]*yaml.Node
	// bad holds the pointers whose values did not decode: rules about them
	// are not checked again, which would only repeat the problem.
	bad map[string]bool
	// paths maps a JSON body's synthetic line numbers to pointers.
	paths map[int]string
}

func newDefParser(file string, isJSON bool) *defParser {
	return &defParser{file: file, json: isJSON, nodes: map[string]*yaml.Node{}, bad: map[string]bool{}, paths: map[int]string{}}
}

func (p *defParser) add(is issue) {
	if len(p.issues) > maxErrors {
		return
	}
	if len(p.issues) == maxErrors {
		is = issue{pos: is.pos, path: is.path, rule: RuleTooManyErrs, msg: "too many errors; stopping here"}
	}
	p.issues = append(p.issues, is)
}

// errf reports a problem with the value at n, the field at path.
func (p *defParser) errf(n *yaml.Node, path, rule, format string, args ...any) {
	p.bad[path] = true
	p.add(issue{pos: srcerr.Pos{Line: n.Line, Col: n.Column}, path: path, rule: rule, msg: fmt.Sprintf(format, args...)})
}

func (p *defParser) sorted() []issue {
	out := slices.Clone(p.issues)
	slices.SortStableFunc(out, func(a, b issue) int {
		if a.pos.Line != b.pos.Line {
			return a.pos.Line - b.pos.Line
		}
		return a.pos.Col - b.pos.Col
	})
	return out
}

// fileErrors renders the issues of a YAML file.
func (p *defParser) fileErrors() Errors {
	var es Errors
	for _, is := range p.sorted() {
		msg := is.msg
		if !is.bare && is.path != "" {
			msg = fieldLabel(is.path) + ": " + msg
		}
		pos := is.pos
		if pos.Line < 1 {
			pos.Line = 1
		}
		if pos.Col < 1 {
			pos.Col = 1
		}
		es = append(es, &Error{File: p.file, Pos: pos, Rule: is.rule, Msg: msg})
	}
	return es
}

// fieldErrors renders the issues of a JSON body.
func (p *defParser) fieldErrors() FieldErrors {
	var es FieldErrors
	for _, is := range p.sorted() {
		path := is.path
		if is.bare {
			path = p.paths[is.pos.Line]
		}
		es = append(es, &FieldError{Pointer: path, Rule: is.rule, Msg: is.msg})
	}
	return es
}

// fieldLabel turns a JSON pointer into the field name a YAML reader knows:
// "/attempts/spacing/busy" is attempts.spacing.busy, "/from/1" is from[1].
func fieldLabel(path string) string {
	var b strings.Builder
	for i, seg := range strings.Split(path, "/")[1:] {
		seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
		if _, err := strconv.Atoi(seg); err == nil && i > 0 {
			b.WriteString("[" + seg + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(seg)
	}
	return b.String()
}

// childPointer is the JSON pointer of a member of path.
func childPointer(path, key string) string {
	return path + "/" + strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}

// yamlRoot reads the one document of src and returns its root node, or nil
// after reporting why there is none.
func (p *defParser) yamlRoot(src []byte) *yaml.Node {
	var doc yaml.Node
	err := decodeDefinitionYAML(src, &doc)
	switch {
	case errors.Is(err, io.EOF):
		p.add(issue{pos: srcerr.Pos{Line: 1, Col: 1}, rule: RuleRequired,
			msg: "the file is empty: a campaign needs at least name, survey, schedule and from"})
		return nil
	case err != nil:
		wp := &windowParser{file: p.file}
		wp.syntaxError(src, err)
		p.takeWindowErrors(wp)
		p.hintQuotes(src)
		return nil
	case doc.Kind != yaml.DocumentNode || len(doc.Content) != 1:
		p.add(issue{pos: srcerr.Pos{Line: 1, Col: 1}, rule: RuleSyntax, msg: "not a YAML document"})
		return nil
	}
	root := doc.Content[0]
	p.checkTree(root, 0)
	if len(p.issues) > 0 {
		return nil
	}
	return root
}

// hintQuotes explains the syntax error YAML gives for an unquoted value
// starting with @ or ` — schedule: @hourly — and points at that character.
func (p *defParser) hintQuotes(src []byte) {
	if len(p.issues) != 1 || !strings.Contains(p.issues[0].msg, "cannot start any token") {
		return
	}
	is := &p.issues[0]
	lines := strings.Split(string(src), "\n")
	if is.pos.Line < 1 || is.pos.Line > len(lines) {
		return
	}
	text := lines[is.pos.Line-1]
	for _, c := range []string{": @", ": `", "- @", "- `"} {
		if i := strings.Index(text, c); i >= 0 {
			is.pos.Col = utf8.RuneCountInString(text[:i+2]) + 1
			is.msg += fmt.Sprintf("; a value starting with %c must be quoted, e.g. schedule: \"@hourly\"", c[2])
			return
		}
	}
}

// decodeDefinitionYAML reads the one document of src. The YAML library is
// not ours: should it panic on some input, that comes back as an error.
func decodeDefinitionYAML(src []byte, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: the YAML parser failed: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(n); err != nil {
		return err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return err
		}
		return fmt.Errorf("yaml: line %d: a campaign definition is one YAML document; a second one starts here", extra.Line)
	}
	return nil
}

// checkTree rejects what the format does not support before anything reads
// the tree: anchors, aliases, merge keys, and absurd nesting.
func (p *defParser) checkTree(n *yaml.Node, depth int) {
	at := srcerr.Pos{Line: n.Line, Col: n.Column}
	if depth > maxDefinitionDepth {
		p.add(issue{pos: at, rule: RuleSize, msg: fmt.Sprintf("nested more than %d levels deep", maxDefinitionDepth)})
		return
	}
	switch {
	case n.Kind == yaml.AliasNode:
		p.add(issue{pos: at, rule: RuleAlias, msg: fmt.Sprintf("aliases (*%s) are not supported: write the value out in full", n.Value)})
		return
	case n.Anchor != "":
		p.add(issue{pos: at, rule: RuleAlias, msg: fmt.Sprintf("anchors (&%s) are not supported: write each value out in full", n.Anchor)})
	case n.Tag == "!!merge":
		p.add(issue{pos: at, rule: RuleAlias, msg: "merge keys (<<) are not supported"})
	}
	for _, c := range n.Content {
		p.checkTree(c, depth+1)
	}
}

func (p *defParser) takeWindowErrors(wp *windowParser) {
	for _, e := range wp.errs {
		p.add(issue{pos: e.Pos, rule: e.Rule, msg: e.Msg, bare: true})
	}
}

// The keys of each mapping, in the order of Definition's fields.
var (
	definitionKeys = []string{"name", "description", "survey", "survey_version", "targeting", "sampling", "channel",
		"schedule", "time_zone", "trigger", "window", "attempts", "frequency_cap", "from", "pace", "max_concurrent"}
	targetingKeys = []string{"kinds", "product_categories", "regions", "providers", "completed_within_days",
		"min_claim_value", "only_with_parts"}
	samplingKeys = []string{"rate", "always_above", "risky_providers"}
	triggerKeys  = []string{"after", "within"}
	attemptsKeys = []string{"max", "per_day", "spacing", "rotate", "voicemail", "ring", "record"}
	spacingKeys  = []string{"no_answer", "busy", "machine", "failed", "partial"}
)

// definition reads the root mapping into a definition that starts from the
// defaults.
func (p *defParser) definition(root *yaml.Node) *Definition {
	p.root = root
	d := DefaultDefinition()
	if root.Kind != yaml.MappingNode {
		p.errf(root, "", RuleType, "a campaign definition is %s of keys (name, survey, schedule, …), not %s", p.mappingWord(), p.describe(root))
		return d
	}
	p.nodes[""] = root
	p.fields(root, "", definitionKeys, func(key string, v *yaml.Node, path string) {
		switch key {
		case "name":
			p.str(v, path, &d.Name)
		case "description":
			p.str(v, path, &d.Description)
		case "survey":
			p.str(v, path, &d.Survey)
		case "survey_version":
			p.integer(v, path, &d.SurveyVersion)
		case "targeting":
			p.targeting(v, path, &d.Targeting)
		case "sampling":
			p.fields(v, path, samplingKeys, func(key string, v *yaml.Node, path string) {
				switch key {
				case "rate":
					p.number(v, path, &d.Sampling.Rate)
				case "always_above":
					p.number(v, path, &d.Sampling.AlwaysAbove)
				case "risky_providers":
					p.number(v, path, &d.Sampling.RiskyProviders)
				}
			})
		case "channel":
			var s string
			if p.str(v, path, &s) {
				d.Channel = ChannelPolicy(s)
			}
		case "schedule":
			p.str(v, path, &d.Schedule)
		case "time_zone":
			p.str(v, path, &d.TimeZone)
		case "trigger":
			p.fields(v, path, triggerKeys, func(key string, v *yaml.Node, path string) {
				switch key {
				case "after":
					p.duration(v, path, &d.Trigger.After)
				case "within":
					p.duration(v, path, &d.Trigger.Within)
				}
			})
		case "window":
			d.Window = p.window(v, path)
		case "attempts":
			p.attempts(v, path, &d.Attempts)
		case "frequency_cap":
			p.duration(v, path, &d.FrequencyCap)
		case "from":
			p.strings(v, path, &d.From)
		case "pace":
			p.number(v, path, &d.Pace)
		case "max_concurrent":
			p.integer(v, path, &d.MaxConcurrent)
		}
	})
	return d
}

func (p *defParser) targeting(n *yaml.Node, path string, t *Targeting) {
	p.fields(n, path, targetingKeys, func(key string, v *yaml.Node, path string) {
		switch key {
		case "kinds":
			p.strings(v, path, &t.Kinds)
		case "product_categories":
			p.strings(v, path, &t.ProductCategories)
		case "regions":
			p.strings(v, path, &t.Regions)
		case "providers":
			p.strings(v, path, &t.Providers)
		case "completed_within_days":
			p.integer(v, path, &t.CompletedWithinDays)
		case "min_claim_value":
			p.number(v, path, &t.MinClaimValue)
		case "only_with_parts":
			p.boolean(v, path, &t.OnlyWithParts)
		}
	})
}

func (p *defParser) attempts(n *yaml.Node, path string, a *AttemptPolicy) {
	p.fields(n, path, attemptsKeys, func(key string, v *yaml.Node, path string) {
		switch key {
		case "max":
			p.integer(v, path, &a.Max)
		case "per_day":
			p.integer(v, path, &a.PerDay)
		case "spacing":
			p.fields(v, path, spacingKeys, func(key string, v *yaml.Node, path string) {
				switch key {
				case "no_answer":
					p.duration(v, path, &a.Spacing.NoAnswer)
				case "busy":
					p.duration(v, path, &a.Spacing.Busy)
				case "machine":
					p.duration(v, path, &a.Spacing.Machine)
				case "failed":
					p.duration(v, path, &a.Spacing.Failed)
				case "partial":
					p.duration(v, path, &a.Spacing.Partial)
				}
			})
		case "rotate":
			p.boolean(v, path, &a.Rotate)
		case "voicemail":
			p.boolean(v, path, &a.Voicemail)
		case "ring":
			p.duration(v, path, &a.Ring)
		case "record":
			p.boolean(v, path, &a.Record)
		}
	})
}

// window reads the window key with the calling-window parser, so it takes
// exactly the syntax of a calling-window file.
func (p *defParser) window(n *yaml.Node, path string) *CallingWindow {
	wp := &windowParser{file: p.file}
	w := wp.window(n)
	if len(wp.errs) > 0 {
		p.bad[path] = true
		p.takeWindowErrors(wp)
		return nil
	}
	for d := range w.Hours {
		if len(w.Hours[d]) == 0 {
			w.Hours[d] = nil // "sun: []" and leaving sun out say the same
		}
	}
	return w
}

func truncateText(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

func isNullNode(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func (p *defParser) mappingWord() string {
	if p.json {
		return "an object"
	}
	return "a mapping"
}

func (p *defParser) listWord() string {
	if p.json {
		return "an array"
	}
	return "a list"
}

func (p *defParser) describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return p.mappingWord()
	case yaml.SequenceNode:
		return p.listWord()
	case yaml.ScalarNode:
		switch {
		case isNullNode(n):
			return "nothing"
		case p.json && n.Tag == "!!str":
			return "the string " + strconv.Quote(truncateText(n.Value, 30))
		case p.json:
			return n.Value
		}
		return strconv.Quote(truncateText(n.Value, 30))
	}
	return "something else"
}

// fields walks a mapping, reporting repeated and unknown keys and handing
// each known key with a value to f. A key given as null (a YAML key with
// nothing after it) counts as left out: its default stands.
func (p *defParser) fields(n *yaml.Node, path string, known []string, f func(key string, v *yaml.Node, path string)) {
	p.nodes[path] = n
	if n.Kind != yaml.MappingNode {
		p.errf(n, path, RuleType, "must be %s with the keys %s, not %s", p.mappingWord(), strings.Join(known, ", "), p.describe(n))
		return
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || isNullNode(k) {
			p.add(issue{pos: srcerr.Pos{Line: k.Line, Col: k.Column}, path: path, rule: RuleType,
				msg: "keys must be plain words, not " + p.describe(k)})
			continue
		}
		at := childPointer(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			if p.json {
				p.errf(k, at, RuleDuplicate, "is given twice")
			} else {
				p.errf(k, at, RuleDuplicate, "is given twice (first on line %d)", first.Line)
			}
			continue
		}
		seen[k.Value] = k
		if !slices.Contains(known, k.Value) {
			p.errf(k, at, RuleUnknownKey, "unknown key%s", nearestKey(k.Value, known))
			continue
		}
		if isNullNode(v) {
			p.nodes[at] = k
			continue
		}
		p.nodes[at] = v
		f(k.Value, v, at)
	}
}

// nearestKey suggests the known key nearest a misspelt one, or lists them
// all when none is near.
func nearestKey(got string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := keyDistance(strings.ToLower(got), k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return " (known keys: " + strings.Join(known, ", ") + ")"
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func keyDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		return math.MaxInt32
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

// str reads a single value as text. In YAML any single value will do
// (name: 2026 is the text "2026"); in JSON it must be a string.
func (p *defParser) str(v *yaml.Node, path string, out *string) bool {
	if v.Kind != yaml.ScalarNode || p.json && v.Tag != "!!str" {
		p.errf(v, path, RuleType, "must be a string, not %s", p.describe(v))
		return false
	}
	*out = v.Value
	return true
}

func (p *defParser) integer(v *yaml.Node, path string, out *int) {
	var n int64
	var err error
	switch {
	case v.Kind != yaml.ScalarNode || v.Tag != "!!int":
		err = errors.New("not an integer")
	case p.json:
		n, err = strconv.ParseInt(v.Value, 10, 64)
	default:
		err = v.Decode(&n)
	}
	if err != nil || n < math.MinInt32 || n > math.MaxInt32 {
		p.errf(v, path, RuleType, "must be a whole number, not %s", p.describe(v))
		return
	}
	*out = int(n)
}

func (p *defParser) number(v *yaml.Node, path string, out *float64) {
	var f float64
	var err error
	switch {
	case v.Kind != yaml.ScalarNode || v.Tag != "!!int" && v.Tag != "!!float":
		err = errors.New("not a number")
	case p.json:
		f, err = strconv.ParseFloat(v.Value, 64)
	default:
		err = v.Decode(&f)
	}
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		p.errf(v, path, RuleType, "must be a number, not %s", p.describe(v))
		return
	}
	*out = f
}

func (p *defParser) boolean(v *yaml.Node, path string, out *bool) {
	var b bool
	var err error
	switch {
	case v.Kind != yaml.ScalarNode || v.Tag != "!!bool":
		err = errors.New("not a bool")
	case p.json:
		b = v.Value == "true"
	default:
		err = v.Decode(&b)
	}
	if err != nil {
		p.errf(v, path, RuleType, "must be true or false, not %s", p.describe(v))
		return
	}
	*out = b
}

func (p *defParser) duration(v *yaml.Node, path string, out *Duration) {
	if v.Kind != yaml.ScalarNode || v.Tag != "!!str" {
		p.errf(v, path, RuleDuration, "must be a duration with a unit, such as \"30m\", \"3h\" or \"5d\", not %s", p.describe(v))
		return
	}
	d, err := ParseDuration(v.Value)
	if err != nil {
		p.errf(v, path, RuleDuration, "%v", err)
		return
	}
	*out = d
}

// strings reads a list of single values; an empty list reads as none.
func (p *defParser) strings(v *yaml.Node, path string, out *[]string) {
	if v.Kind != yaml.SequenceNode {
		p.errf(v, path, RuleType, "must be %s of strings, not %s", p.listWord(), p.describe(v))
		return
	}
	var list []string
	for i, item := range v.Content {
		at := childPointer(path, strconv.Itoa(i))
		p.nodes[at] = item
		var s string
		if isNullNode(item) {
			p.errf(item, at, RuleType, "must be a string, not nothing")
		} else {
			p.str(item, at, &s) // a bad item stays "", keeping the others' indices
		}
		list = append(list, s)
	}
	*out = list
}

// validate checks the rules and reports each broken one at its value, or,
// for a value left to its default, where the field would go.
func (p *defParser) validate(d *Definition) {
	for _, pr := range d.problems() {
		if p.isBad(pr.path) || slices.ContainsFunc(pr.also, p.isBad) {
			continue
		}
		n := p.locate(pr.path)
		p.add(issue{pos: srcerr.Pos{Line: n.Line, Col: n.Column}, path: pr.path, rule: pr.rule, msg: pr.msg})
	}
}

// isBad reports whether the value at path, or one holding it, did not
// decode.
func (p *defParser) isBad(path string) bool {
	for {
		if p.bad[path] {
			return true
		}
		i := strings.LastIndexByte(path, '/')
		if i < 0 {
			return false
		}
		path = path[:i]
	}
}

// locate finds the node of path, or of the nearest field holding it.
func (p *defParser) locate(path string) *yaml.Node {
	for {
		if n, ok := p.nodes[path]; ok {
			return n
		}
		i := strings.LastIndexByte(path, '/')
		if i < 0 {
			if p.root != nil {
				return p.root
			}
			return &yaml.Node{Line: 1, Column: 1}
		}
		path = path[:i]
	}
}

// decodeJSON turns a JSON body into the node tree the YAML reader walks and
// reads it: one reader for both, with the JSON's own types kept in the
// nodes' tags so the reader can be strict about them. Each node gets a
// synthetic line number (its order in the body) that maps back to its JSON
// pointer; the calling-window parser, which knows only positions, reports
// through it.
func decodeJSON(data []byte) (*Definition, *defParser) {
	p := newDefParser("", true)
	if len(data) > MaxDefinitionBytes {
		p.add(issue{pos: srcerr.Pos{Line: 1, Col: 1}, rule: RuleSize,
			msg: fmt.Sprintf("the body is %d bytes; a campaign definition must be under %d", len(data), MaxDefinitionBytes)})
		return nil, p
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	jt := &jsonTree{dec: dec, p: p}
	root, err := jt.value("", 0)
	if err == nil {
		if _, extra := dec.Token(); !errors.Is(extra, io.EOF) {
			err = jsonError{path: "", msg: "there is more after the definition's closing }"}
		}
	}
	if err != nil {
		var je jsonError
		switch {
		case errors.As(err, &je):
		case errors.Is(err, io.EOF) && root == nil && len(bytes.TrimSpace(data)) == 0:
			je = jsonError{rule: RuleRequired, msg: "the body is empty: a campaign needs at least name, survey, schedule and from"}
		default:
			je = jsonError{path: jt.at, msg: jsonSyntaxMessage(err, dec)}
		}
		if je.rule == "" {
			je.rule = RuleJSONSyntax
		}
		p.add(issue{pos: srcerr.Pos{Line: 1, Col: 1}, path: je.path, rule: je.rule, msg: je.msg})
		return nil, p
	}
	return p.definition(root), p
}

type jsonError struct {
	path, rule, msg string
}

func (e jsonError) Error() string { return e.msg }

func jsonSyntaxMessage(err error, dec *json.Decoder) string {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("not valid JSON at offset %d: %s", se.Offset, se.Error())
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("the JSON ends too early, at offset %d", dec.InputOffset())
	}
	return "not valid JSON: " + err.Error()
}

// jsonTree builds yaml nodes from JSON tokens.
type jsonTree struct {
	dec  *json.Decoder
	p    *defParser
	line int
	at   string // the pointer being read, for syntax errors
}

func (t *jsonTree) node(kind yaml.Kind, tag, value, path string) *yaml.Node {
	t.line++
	t.p.paths[t.line] = path
	return &yaml.Node{Kind: kind, Tag: tag, Value: value, Line: t.line, Column: 1}
}

func (t *jsonTree) value(path string, depth int) (*yaml.Node, error) {
	t.at = path
	if depth > maxDefinitionDepth {
		return nil, jsonError{path: path, rule: RuleSize, msg: fmt.Sprintf("nested more than %d levels deep", maxDefinitionDepth)}
	}
	tok, err := t.dec.Token()
	if err != nil {
		return nil, err
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			n := t.node(yaml.MappingNode, "!!map", "", path)
			for t.dec.More() {
				kt, err := t.dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := kt.(string)
				at := childPointer(path, key)
				k := t.node(yaml.ScalarNode, "!!str", key, at)
				val, err := t.value(at, depth+1)
				if err != nil {
					return nil, err
				}
				t.at = path
				n.Content = append(n.Content, k, val)
			}
			t.at = path
			if _, err := t.dec.Token(); err != nil { // the closing }
				return nil, err
			}
			return n, nil
		case '[':
			n := t.node(yaml.SequenceNode, "!!seq", "", path)
			for i := 0; t.dec.More(); i++ {
				val, err := t.value(childPointer(path, strconv.Itoa(i)), depth+1)
				if err != nil {
					return nil, err
				}
				t.at = path
				n.Content = append(n.Content, val)
			}
			t.at = path
			if _, err := t.dec.Token(); err != nil { // the closing ]
				return nil, err
			}
			return n, nil
		}
	case string:
		return t.node(yaml.ScalarNode, "!!str", v, path), nil
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(string(v), ".eE") {
			tag = "!!float"
		}
		return t.node(yaml.ScalarNode, tag, string(v), path), nil
	case bool:
		return t.node(yaml.ScalarNode, "!!bool", strconv.FormatBool(v), path), nil
	case nil:
		return t.node(yaml.ScalarNode, "!!null", "null", path), nil
	}
	return nil, jsonError{path: path, msg: fmt.Sprintf("unexpected %v", tok)}
}

// problem is one rule a definition breaks, at the JSON pointer path. also
// lists other fields the rule reads: when one of them did not decode, the
// rule is not judged.
type problem struct {
	path string
	also []string
	rule string
	msg  string
}

var (
	campaignNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	e164Re         = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	regionRe       = regexp.MustCompile(`^[A-Z]{2}(-[A-Z0-9]{1,3})?$`)
)

// The limits the rules enforce.
const (
	maxAttemptsLimit   = 10
	minRing            = Duration(15 * time.Second) // DOMAIN.md: ring at least 15 s
	maxRing            = Duration(60 * time.Second)
	minSpacing         = Duration(time.Minute)
	maxPace            = 100.0 // attempts started per second
	maxConcurrentLimit = 1000
	maxCompletedDays   = 365
)

// problems checks every rule of the format. Both parsers and Validate use
// it, so YAML files, JSON bodies and definitions built in code obey the
// same rules.
func (d *Definition) problems() []problem {
	var ps []problem
	bad := func(path, rule, format string, args ...any) {
		ps = append(ps, problem{path: path, rule: rule, msg: fmt.Sprintf(format, args...)})
	}
	badWith := func(path string, also []string, rule, format string, args ...any) {
		ps = append(ps, problem{path: path, also: also, rule: rule, msg: fmt.Sprintf(format, args...)})
	}

	switch {
	case d.Name == "":
		bad("/name", RuleRequired, "is required")
	case !campaignNameRe.MatchString(d.Name):
		bad("/name", RuleName, "must be 1 to 63 lowercase letters, digits, - or _, starting with a letter or digit, not %q", truncateText(d.Name, 70))
	}
	switch {
	case d.Survey == "":
		bad("/survey", RuleRequired, "is required: name a published survey, e.g. repair-parts-verification")
	case !campaignNameRe.MatchString(d.Survey):
		bad("/survey", RuleName, "must be a survey's name (lowercase letters, digits, - or _), not %q", truncateText(d.Survey, 70))
	}
	if d.SurveyVersion < 0 {
		bad("/survey_version", RuleValue, "must be a version number, or 0 for the latest when the campaign is activated")
	}

	t := d.Targeting
	listed := func(path string, items []string, check func(path, item string)) {
		seen := map[string]int{}
		for i, it := range items {
			at := childPointer(path, strconv.Itoa(i))
			if j, dup := seen[it]; dup {
				bad(at, RuleDuplicate, "%q is already listed (item %d)", truncateText(it, 40), j)
				continue
			}
			seen[it] = i
			if strings.TrimSpace(it) == "" {
				bad(at, RuleValue, "must not be empty")
				continue
			}
			if check != nil {
				check(at, it)
			}
		}
	}
	listed("/targeting/kinds", t.Kinds, func(at, k string) {
		if k != "install" && k != "repair" {
			bad(at, RuleValue, "must be install or repair, not %q", truncateText(k, 40))
		}
	})
	listed("/targeting/product_categories", t.ProductCategories, nil)
	listed("/targeting/regions", t.Regions, func(at, r string) {
		if !regionRe.MatchString(r) {
			bad(at, RuleValue, "must be a country code such as CN or a region code such as CN-GD, not %q", truncateText(r, 40))
		}
	})
	listed("/targeting/providers", t.Providers, nil)
	if t.CompletedWithinDays < 1 || t.CompletedWithinDays > maxCompletedDays {
		bad("/targeting/completed_within_days", RuleValue, "must be between 1 and %d", maxCompletedDays)
	}
	if !(t.MinClaimValue >= 0) || math.IsInf(t.MinClaimValue, 0) {
		bad("/targeting/min_claim_value", RuleValue, "must be 0 or more")
	}

	s := d.Sampling
	if !(s.Rate >= 0 && s.Rate <= 1) {
		bad("/sampling/rate", RuleValue, "must be between 0 and 1")
	}
	if !(s.AlwaysAbove >= 0) || math.IsInf(s.AlwaysAbove, 0) {
		bad("/sampling/always_above", RuleValue, "must be 0 or more")
	}
	if !(s.RiskyProviders >= 0 && s.RiskyProviders <= 1) {
		bad("/sampling/risky_providers", RuleValue, "must be between 0 and 1")
	}

	switch d.Channel {
	case ChannelVoice, ChannelSMS, ChannelVoiceThenSMS:
	default:
		bad("/channel", RuleValue, "must be one of voice, sms, voice_then_sms, not %q", truncateText(string(d.Channel), 40))
	}

	if d.Schedule == "" {
		bad("/schedule", RuleRequired, "is required: a cron expression such as \"0 9 * * *\" or \"@hourly\"")
	} else if _, err := parseSchedule(d.Schedule, time.UTC); err != nil {
		bad("/schedule", RuleSchedule, "%v", err)
	}
	if _, err := loadZone(d.TimeZone); err != nil {
		bad("/time_zone", RuleTimeZone, "%v", err)
	}

	tr := d.Trigger
	if tr.After < 0 {
		bad("/trigger/after", RuleValue, "must not be negative")
	} else if tr.Within <= tr.After {
		badWith("/trigger/within", []string{"/trigger/after"}, RuleValue, "must be longer than after (%s)", tr.After)
	}

	if d.Window != nil {
		if err := d.Window.Validate(); err != nil {
			bad("/window", RuleValue, "%v", err)
		} else if err := wholeMinutes(d.Window); err != nil {
			bad("/window", RuleTime, "%v", err)
		}
	}

	a := d.Attempts
	if a.Max < 1 || a.Max > maxAttemptsLimit {
		bad("/attempts/max", RuleValue, "must be between 1 and %d", maxAttemptsLimit)
	} else if a.PerDay < 1 || a.PerDay > a.Max {
		badWith("/attempts/per_day", []string{"/attempts/max"}, RuleValue, "must be between 1 and max (%d)", a.Max)
	}
	for _, sp := range []struct {
		key string
		d   Duration
	}{{"no_answer", a.Spacing.NoAnswer}, {"busy", a.Spacing.Busy}, {"machine", a.Spacing.Machine},
		{"failed", a.Spacing.Failed}, {"partial", a.Spacing.Partial}} {
		if sp.d < minSpacing {
			bad("/attempts/spacing/"+sp.key, RuleValue, "must be at least %s", minSpacing)
		}
	}
	if a.Ring < minRing || a.Ring > maxRing {
		bad("/attempts/ring", RuleValue, "must be between %s and %s", minRing, maxRing)
	}

	if d.FrequencyCap < 0 {
		bad("/frequency_cap", RuleValue, "must not be negative")
	}

	if len(d.From) == 0 {
		bad("/from", RuleRequired, "needs at least one number to call and text from")
	}
	listed("/from", d.From, func(at, n string) {
		if !e164Re.MatchString(n) {
			bad(at, RulePhone, "must be an E.164 number such as +8613800138000, not %q", truncateText(n, 40))
		}
	})

	if !(d.Pace > 0 && d.Pace <= maxPace) {
		bad("/pace", RuleValue, "must be more than 0 and at most %g attempts a second", maxPace)
	}
	if d.MaxConcurrent < 1 || d.MaxConcurrent > maxConcurrentLimit {
		bad("/max_concurrent", RuleValue, "must be between 1 and %d", maxConcurrentLimit)
	}
	return ps
}

// wholeMinutes rejects a window built in code with a time of day that is
// not a whole minute: its canonical form (HH:MM) could not say it.
func wholeMinutes(w *CallingWindow) error {
	for d, rs := range w.Hours {
		for _, r := range rs {
			if r.Start%60 != 0 || r.End%60 != 0 {
				return fmt.Errorf("%s range %s: times must be whole minutes", time.Weekday(d), r)
			}
		}
	}
	return nil
}
