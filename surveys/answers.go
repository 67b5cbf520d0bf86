package surveys

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// InputKind says what arrived from the customer.
type InputKind string

// The inputs the engine understands.
const (
	InputDigits    InputKind = "digits"    // keys pressed on a call (Twilio's Digits)
	InputSpeech    InputKind = "speech"    // a speech transcript on a call (Twilio's SpeechResult)
	InputText      InputKind = "text"      // an SMS reply body
	InputRecording InputKind = "recording" // a recording's URL on a call
	InputNone      InputKind = "none"      // nothing: the Gather timed out, or no SMS reply came
)

// Input is one raw input. At is when it was received; it lets "yesterday"
// and "昨天" resolve in a date question and may be zero.
type Input struct {
	Kind InputKind
	Text string
	At   time.Time
}

// Reason says why an input is not an answer. The engine records it with the
// failed attempt; the wording the customer hears comes from the survey.
type Reason string

// The reasons an input can be invalid.
const (
	ReasonEmpty         Reason = "empty"          // nothing but spaces and punctuation
	ReasonNotAChoice    Reason = "not_a_choice"   // a key or number the question does not offer
	ReasonAmbiguous     Reason = "ambiguous"      // more than one answer in one reply ("1 no", "50 or 60")
	ReasonNotUnderstood Reason = "not_understood" // no answer found in the words
	ReasonNotANumber    Reason = "not_a_number"   // a score or amount question got no number
	ReasonOutOfRange    Reason = "out_of_range"   // a score or amount outside the allowed range
	ReasonNotWhole      Reason = "not_whole"      // "4.5" for a score
	ReasonNegative      Reason = "negative"       // "-50" for an amount
	ReasonTooPrecise    Reason = "too_precise"    // "50.555" for an amount in yuan
	ReasonAmountNeeded  Reason = "amount_needed"  // "yes" to "how much did you pay?"
	ReasonNotADate      Reason = "not_a_date"     // no date found, or an impossible one (2/30)
	ReasonDateNeeded    Reason = "date_needed"    // "no" to a date confirmation without the right date
	ReasonTooLong       Reason = "too_long"       // free text longer than max_length
	ReasonWrongInput    Reason = "wrong_input"    // an input kind the step does not take (a recording for a rating)
	ReasonNoInput       Reason = "no_input"       // nothing was pressed, said or sent (recorded on skips)
)

// InvalidAnswer says why an input was not accepted, with a short detail for
// logs and the review screen.
type InvalidAnswer struct {
	Reason Reason
	Detail string
}

func (e *InvalidAnswer) Error() string {
	if e.Detail == "" {
		return string(e.Reason)
	}
	return string(e.Reason) + ": " + e.Detail
}

func invalid(r Reason, format string, args ...any) *InvalidAnswer {
	return &InvalidAnswer{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// ReplyKind is what one input amounts to at one step.
type ReplyKind string

// The kinds of reply.
const (
	ReplyAnswer  ReplyKind = "answer"
	ReplyNone    ReplyKind = "none" // silence
	ReplyInvalid ReplyKind = "invalid"
	ReplyOptOut  ReplyKind = "opt_out"
	ReplyHelp    ReplyKind = "help"
)

// Reply is the meaning of one input at one question.
type Reply struct {
	Kind    ReplyKind
	Value   Value          // for ReplyAnswer
	Invalid *InvalidAnswer // for ReplyInvalid
	Intent  bool           // for ReplyOptOut: read from a longer message; send to review as well
}

// phrase is a word or words that mean one answer label.
type phrase struct {
	text  string
	label string // yes, no, unsure, an option value, or "" for words that mean nothing here
}

// The answer words of every language, always all of them: a customer with a
// Chinese survey may well type "ok" or "Y".
var (
	genericYesNo = []phrase{
		// Not sure first: "not sure" and "不确定" must not read as "no".
		{"not sure", "unsure"}, {"unsure", "unsure"}, {"don't know", "unsure"}, {"dont know", "unsure"},
		{"do not know", "unsure"}, {"dunno", "unsure"}, {"idk", "unsure"}, {"no idea", "unsure"},
		{"not certain", "unsure"}, {"uncertain", "unsure"}, {"maybe", "unsure"}, {"perhaps", "unsure"},
		{"can't remember", "unsure"}, {"cant remember", "unsure"}, {"don't remember", "unsure"},
		{"dont remember", "unsure"}, {"do not remember", "unsure"}, {"can't recall", "unsure"},
		{"cant recall", "unsure"}, {"don't recall", "unsure"}, {"dont recall", "unsure"},
		{"not too sure", "unsure"}, {"not really sure", "unsure"}, {"no clue", "unsure"}, {"forgot", "unsure"},
		{"不确定", "unsure"}, {"不清楚", "unsure"}, {"不知道", "unsure"}, {"不记得", "unsure"}, {"记不清", "unsure"},
		{"记不得", "unsure"}, {"说不清", "unsure"}, {"不太清楚", "unsure"}, {"不太确定", "unsure"}, {"忘了", "unsure"},
		{"忘记了", "unsure"}, {"不好说", "unsure"}, {"不一定", "unsure"}, {"也许", "unsure"}, {"可能", "unsure"},
		{"不晓得", "unsure"}, {"不懂", "unsure"},
		// Idioms that contain a negation but mean yes.
		{"no problem", "yes"}, {"no problems", "yes"}, {"no issue", "yes"}, {"no issues", "yes"},
		{"of course", "yes"}, {"that's right", "yes"}, {"thats right", "yes"}, {"all good", "yes"},
		{"没问题", "yes"}, {"没毛病", "yes"}, {"不错", "yes"},
		// Words that look like answers but are not.
		{"好像", ""}, {"你好", ""}, {"您好", ""}, {"是否", ""}, {"有没有", ""}, {"是不是", ""}, {"对不对", ""},
		// Yes.
		{"yes", "yes"}, {"y", "yes"}, {"ye", "yes"}, {"yeah", "yes"}, {"yea", "yes"}, {"ya", "yes"},
		{"yah", "yes"}, {"yep", "yes"}, {"yup", "yes"}, {"yes's", "yes"}, {"sure", "yes"}, {"correct", "yes"},
		{"right", "yes"}, {"ok", "yes"}, {"okay", "yes"}, {"k", "yes"}, {"kk", "yes"}, {"true", "yes"},
		{"affirmative", "yes"}, {"absolutely", "yes"}, {"definitely", "yes"}, {"certainly", "yes"},
		{"indeed", "yes"}, {"confirmed", "yes"}, {"confirm", "yes"},
		{"是的", "yes"}, {"是啊", "yes"}, {"对的", "yes"}, {"对啊", "yes"}, {"有的", "yes"}, {"好的", "yes"},
		{"可以", "yes"}, {"正确", "yes"}, {"确认", "yes"}, {"确定", "yes"}, {"嗯", "yes"}, {"恩", "yes"},
		{"行", "yes"}, {"好", "yes"}, {"是", "yes"}, {"对", "yes"}, {"有", "yes"},
		// No.
		{"no", "no"}, {"n", "no"}, {"nope", "no"}, {"nah", "no"}, {"na", "no"}, {"not", "no"}, {"never", "no"},
		{"none", "no"}, {"nobody", "no"}, {"no one", "no"}, {"nothing", "no"}, {"wrong", "no"},
		{"incorrect", "no"}, {"false", "no"}, {"negative", "no"}, {"didn't", "no"}, {"didnt", "no"},
		{"don't", "no"}, {"dont", "no"}, {"doesn't", "no"}, {"doesnt", "no"}, {"isn't", "no"}, {"isnt", "no"},
		{"wasn't", "no"}, {"wasnt", "no"}, {"weren't", "no"}, {"werent", "no"}, {"haven't", "no"},
		{"havent", "no"}, {"hasn't", "no"}, {"hasnt", "no"}, {"hadn't", "no"}, {"won't", "no"}, {"wont", "no"},
		{"can't", "no"}, {"cant", "no"}, {"ain't", "no"},
		{"不是", "no"}, {"不对", "no"}, {"没有", "no"}, {"没", "no"}, {"不", "no"}, {"否", "no"}, {"无", "no"},
		{"未", "no"}, {"非", "no"}, {"错", "no"}, {"别", "no"},
	}
	// continueWords answer "press 1 to continue" and read-backs ("if that's right, press 1").
	continueWords = []phrase{{"continue", "yes"}, {"go ahead", "yes"}, {"go on", "yes"}, {"继续", "yes"}}
)

// phraseTable holds answer words by their first byte, longest first within
// each, so "不是" is tried before "是" and "not sure" before "not", and a
// position of a reply is only compared with the words that can start there.
type phraseTable struct {
	byFirst [256][]phrase
}

func newPhraseTable(ps []phrase) *phraseTable {
	out := slices.Clone(ps)
	slices.SortStableFunc(out, func(a, b phrase) int { return len(b.text) - len(a.text) })
	t := &phraseTable{}
	for _, p := range out {
		if p.text == "" {
			continue // a word that folds to nothing would match everywhere
		}
		t.byFirst[p.text[0]] = append(t.byFirst[p.text[0]], p)
	}
	return t
}

// longest returns the longest phrase of t standing as a whole word at s[i:].
func (t *phraseTable) longest(s string, i int) (phrase, bool) {
	if t == nil {
		return phrase{}, false
	}
	for _, p := range t.byFirst[s[i]] {
		if strings.HasPrefix(s[i:], p.text) && boundaryAt(s, i, i+len(p.text), p.text) {
			return p, true
		}
	}
	return phrase{}, false
}

var (
	yesNoPhrases   = newPhraseTable(genericYesNo)
	confirmPhrases = newPhraseTable(append(slices.Clone(genericYesNo), continueWords...))
)

// labels is a small set of answer labels, in the order found.
type labels []string

func (l labels) add(s string) labels {
	for _, x := range l {
		if x == s {
			return l
		}
	}
	return append(l, s)
}

// match reads the answer words in s (folded). Digits are looked up in keys;
// every other word in the question's own words and the generic ones, the
// longest match first (the question's own on a tie), as whole words in
// English and anywhere in Chinese. Within one clause a negation wins over a yes ("没修好",
// "not working") and not-sure wins over both, when negate is set (yes/no
// questions). It returns the labels found and the first digit run that is no
// key.
func match(s string, own, generic *phraseTable, keys map[string]string, negate bool) (found labels, badDigit string) {
	var clause labels
	flush := func() {
		if len(clause) == 0 {
			return
		}
		if negate {
			switch {
			case containsLabel(clause, "unsure"):
				clause = labels{"unsure"}
			case containsLabel(clause, "no"):
				clause = labels{"no"}
			}
		}
		for _, l := range clause {
			found = found.add(l)
		}
		clause = clause[:0]
	}
	for i := 0; i < len(s); {
		c := s[i]
		if isDigit(c) {
			j := i
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			run := s[i:j]
			if l, ok := keys[run]; ok {
				found = found.add(l)
			} else if badDigit == "" {
				badDigit = run
			}
			i = j
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if isClauseBreak(r) || r == ' ' && negate && clauseWordBreak(s, i) {
			flush()
			i += size
			continue
		}
		p, ok := own.longest(s, i)
		if g, gok := generic.longest(s, i); gok && (!ok || len(g.text) > len(p.text)) {
			p, ok = g, true
		}
		if ok {
			if p.label != "" {
				clause = clause.add(p.label)
			}
			i += len(p.text)
			continue
		}
		if isWordRune(r) && !isCJK(r) {
			for i < len(s) {
				r2, sz := utf8.DecodeRuneInString(s[i:])
				if !isWordRune(r2) || isCJK(r2) {
					break
				}
				i += sz
			}
			continue
		}
		i += size
	}
	flush()
	return found, badDigit
}

// clauseWordBreak treats "but" as a clause break: "no but it works now".
func clauseWordBreak(s string, i int) bool {
	return strings.HasPrefix(s[i:], " but ") || strings.HasPrefix(s[i:], " 但")
}

func containsLabel(l labels, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// interpret reads one raw input at question q: silence, an opt-out (the
// opt-out key when it is live, an opt-out word, or a longer message that asks
// to stop), a help request (SMS), or an answer to q.
func (d *Definition) interpret(q *Question, in Input, job *Job) Reply {
	switch in.Kind {
	case InputNone:
		return Reply{Kind: ReplyNone}
	case InputDigits:
		digits := strings.TrimRight(strings.TrimSpace(in.Text), "#")
		if digits == "" {
			return Reply{Kind: ReplyNone}
		}
		if d.optOutKeyLive(q) && digits == d.OptOutKey {
			return Reply{Kind: ReplyOptOut}
		}
		if q.Type == TypeFreeText {
			return Reply{Kind: ReplyInvalid, Invalid: invalid(ReasonWrongInput, "this question takes a recording")}
		}
		v, bad := q.parseDigits(digits, job)
		return answerOrInvalid(v, bad)
	case InputRecording:
		if q.Type != TypeFreeText {
			return Reply{Kind: ReplyInvalid, Invalid: invalid(ReasonWrongInput, "a recording does not answer a %s question", q.Type)}
		}
		url := strings.TrimSpace(in.Text)
		if url == "" {
			return Reply{Kind: ReplyNone}
		}
		return Reply{Kind: ReplyAnswer, Value: Value{Kind: KindString, Str: url}}
	case InputSpeech, InputText:
		switch ClassifyKeyword(in.Text) {
		case KeywordOptOut:
			return Reply{Kind: ReplyOptOut}
		case KeywordOptOutIntent:
			return Reply{Kind: ReplyOptOut, Intent: true}
		case KeywordHelp:
			if in.Kind == InputText {
				return Reply{Kind: ReplyHelp}
			}
		}
		if in.Kind == InputSpeech && strings.TrimSpace(in.Text) == "" {
			return Reply{Kind: ReplyNone}
		}
		v, bad := q.parseText(in.Text, in.At, job)
		return answerOrInvalid(v, bad)
	}
	return Reply{Kind: ReplyInvalid, Invalid: invalid(ReasonWrongInput, "unknown input kind %q", in.Kind)}
}

func answerOrInvalid(v Value, bad *InvalidAnswer) Reply {
	if bad != nil {
		return Reply{Kind: ReplyInvalid, Invalid: bad}
	}
	return Reply{Kind: ReplyAnswer, Value: v}
}

// optOutKeyLive reports whether pressing the opt-out key opts out at q. It
// does not where the key is an answer: a score of 9, an amount, a date. q is
// nil at the intro and at read-backs, where it is always live.
func (d *Definition) optOutKeyLive(q *Question) bool {
	if q == nil {
		return true
	}
	switch q.Type {
	case TypeAmount, TypeNPS, TypeDate, TypeFreeText:
		return false
	case TypeRating:
		k, _ := strconv.Atoi(d.OptOutKey)
		return k < q.Min || k > q.Max
	}
	_, isKey := q.keyLabel[d.OptOutKey]
	return !isKey
}

// ParseReply reads one raw input to question id of d as the engine does —
// the opt-out key and words and the SMS help words first, then the answer —
// without a run around it. The engine's Apply is what a conversation uses;
// this is for tools and tests that ask "what does this reply mean here?".
func (d *Definition) ParseReply(id string, in Input, job *Job) (Reply, error) {
	q := d.byID[id]
	if q == nil {
		return Reply{}, fmt.Errorf("survey %s has no question %q", d.Name, id)
	}
	return d.interpret(q, in, job), nil
}

// parseDigits reads keys pressed at q.
func (q *Question) parseDigits(digits string, job *Job) (Value, *InvalidAnswer) {
	for _, c := range []byte(digits) {
		if !isDigit(c) && c != '*' {
			return Value{}, invalid(ReasonNotAChoice, "%q is not a key sequence", truncateRunes(digits, 20))
		}
	}
	switch q.Type {
	case TypeYesNo, TypeYesNoUnsure, TypeChoice:
		l, ok := q.keyLabel[digits]
		if !ok {
			return Value{}, invalid(ReasonNotAChoice, "key %s is not one of %s", digits, q.keyList())
		}
		return q.valueFor(l), nil
	case TypeRating, TypeNPS:
		if strings.Contains(digits, "*") {
			return Value{}, invalid(ReasonNotAChoice, "%s is not a score", digits)
		}
		n, err := strconv.Atoi(digits)
		if err != nil || len(digits) > 2 {
			return Value{}, invalid(ReasonOutOfRange, "%s is not from %d to %d", digits, q.Min, q.Max)
		}
		return q.score(int64(n), digits)
	case TypeAmount:
		// '*' is the decimal point on a keypad: 50*5 is 50.5.
		whole, frac, _ := strings.Cut(digits, "*")
		if strings.Contains(frac, "*") || whole == "" && frac == "" {
			return Value{}, invalid(ReasonNotANumber, "%s is not an amount", digits)
		}
		if whole == "" {
			whole = "0"
		}
		return q.amount(number{whole: whole, frac: frac}, job)
	case TypeDate:
		return q.dateFromKeys(digits, job)
	}
	return Value{}, invalid(ReasonWrongInput, "keys do not answer a %s question", q.Type)
}

func (q *Question) keyList() string {
	keys := make([]string, 0, len(q.keyLabel))
	for k := range q.keyLabel {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

// valueFor turns an answer label of a yes/no or choice question into its value.
func (q *Question) valueFor(label string) Value {
	switch q.Type {
	case TypeYesNo:
		return Value{Kind: KindBool, Bool: label == "yes"}
	case TypeYesNoUnsure:
		return Value{Kind: KindTri, Tri: Tri(label)}
	}
	return Value{Kind: KindString, Str: label}
}

// parseText reads an SMS body or a speech transcript at q.
func (q *Question) parseText(text string, at time.Time, job *Job) (Value, *InvalidAnswer) {
	s := clean(text)
	if s == "" {
		return Value{}, invalid(ReasonEmpty, "no answer in %q", truncateRunes(text, 20))
	}
	if q.Type != TypeFreeText && utf8.RuneCountInString(s) > 200 {
		return Value{}, invalid(ReasonTooLong, "%d characters is too long for an answer", utf8.RuneCountInString(s))
	}
	switch q.Type {
	case TypeYesNo, TypeYesNoUnsure, TypeChoice:
		found, bad := match(s, q.phrases, q.generic, q.keyLabel, q.Type != TypeChoice)
		switch {
		case bad != "":
			return Value{}, invalid(ReasonNotAChoice, "%s is not one of %s", bad, q.keyList())
		case len(found) > 1:
			return Value{}, invalid(ReasonAmbiguous, "%q reads as %s", truncateRunes(s, 30), strings.Join(found, " and "))
		case len(found) == 0:
			return Value{}, invalid(ReasonNotUnderstood, "no answer in %q", truncateRunes(s, 30))
		case found[0] == "unsure" && q.Type == TypeYesNo:
			return Value{}, invalid(ReasonNotAChoice, "this question takes yes or no")
		}
		return q.valueFor(found[0]), nil
	case TypeRating, TypeNPS:
		return q.scoreFromText(s)
	case TypeAmount:
		return q.amountFromText(s, job)
	case TypeDate:
		return q.dateFromText(s, at, job)
	case TypeFreeText:
		text = strings.TrimSpace(text)
		if n := utf8.RuneCountInString(text); n > q.MaxLength {
			return Value{}, invalid(ReasonTooLong, "%d characters; at most %d", n, q.MaxLength)
		}
		return Value{Kind: KindString, Str: text}, nil
	}
	return Value{}, invalid(ReasonWrongInput, "unknown question type %s", q.Type)
}

func (q *Question) score(n int64, raw string) (Value, *InvalidAnswer) {
	if n < int64(q.Min) || n > int64(q.Max) {
		return Value{}, invalid(ReasonOutOfRange, "%s is not from %d to %d", raw, q.Min, q.Max)
	}
	return Value{Kind: KindInt, Int: n}, nil
}

var (
	ratingTop    = []string{"very satisfied", "extremely satisfied", "非常满意", "十分满意", "特别满意", "很满意"}
	ratingBottom = []string{"very dissatisfied", "very unsatisfied", "extremely dissatisfied", "非常不满意", "十分不满意", "特别不满意", "很不满意"}
)

// scoreFromText reads "5", "5分", "五星", "4/5", "4 out of 5", "ten", and the
// scale's anchors ("非常满意" for the top of a rating).
func (q *Question) scoreFromText(s string) (Value, *InvalidAnswer) {
	nums := findNumbers(s)
	if len(nums) == 2 && nums[1].isWhole() {
		// A denominator: "4/5", "4 out of 5", "8分(满分10分)" is too clever; "8/10" is not.
		between := strings.TrimSpace(s[nums[0].end:nums[1].start])
		if den, _ := nums[1].value(); den == int64(q.Max) && (between == "/" || between == "out of" || between == "of") {
			nums = nums[:1]
		}
	}
	if len(nums) == 0 && q.Type == TypeRating {
		// Anchors, bottom first: "非常不满意" contains "满意".
		for _, w := range ratingBottom {
			if containsPhrase(s, w) {
				return Value{Kind: KindInt, Int: int64(q.Min)}, nil
			}
		}
		for _, w := range ratingTop {
			if containsPhrase(s, w) {
				return Value{Kind: KindInt, Int: int64(q.Max)}, nil
			}
		}
	}
	switch {
	case len(nums) == 0:
		return Value{}, invalid(ReasonNotANumber, "no score from %d to %d in %q", q.Min, q.Max, truncateRunes(s, 30))
	case len(nums) > 1:
		return Value{}, invalid(ReasonAmbiguous, "more than one number in %q", truncateRunes(s, 30))
	case !nums[0].isWhole():
		return Value{}, invalid(ReasonNotWhole, "%s.%s is not a whole score", nums[0].whole, nums[0].frac)
	case nums[0].neg:
		return Value{}, invalid(ReasonOutOfRange, "-%s is not from %d to %d", nums[0].whole, q.Min, q.Max)
	}
	n, ok := nums[0].value()
	if !ok || len(nums[0].whole) > 3 {
		return Value{}, invalid(ReasonOutOfRange, "%s is not from %d to %d", truncateRunes(nums[0].whole, 10), q.Min, q.Max)
	}
	return q.score(n, nums[0].whole)
}

var (
	// amountZeroWords mean "nothing" to "how much did you pay? reply 0 or the amount".
	amountZeroWords = []string{"no", "none", "nothing", "free", "nope", "nil", "n", "didn't", "didnt", "not", "no charge",
		"没有", "没收", "没花", "不收", "未收", "免费", "无", "没", "不要钱", "没给", "未付", "没付"}
	// currencyWords are markers removed before reading the number.
	currencyWords = []string{"us$", "usd", "rmb", "cny", "dollars", "dollar", "bucks", "yuan", "块钱", "人民币",
		"¥", "$", "€", "£", "元", "圆", "块", "钱", "大概", "大约", "左右", "约", "about", "around", "approx", "roughly"}
)

// amountFromText reads "50", "50元", "¥50", "$50.00", "1,200", "五十", "一百五",
// "3块5", and "0"/"没有"/"none" for nothing.
func (q *Question) amountFromText(s string, job *Job) (Value, *InvalidAnswer) {
	// Chinese numerals and number words become digits, so "三块五" and "3块5"
	// are both 3.5, and "50元5角" is 50.5.
	s = digitsForNumbers(s)
	s = jiaoPattern.ReplaceAllString(s, "$1.$2")
	for _, w := range currencyWords {
		s = strings.ReplaceAll(s, w, " ")
	}
	s = strings.TrimSpace(s)
	nums := findNumbers(s)
	switch {
	case len(nums) == 0:
		found, _ := match(s, nil, yesNoPhrases, nil, true)
		for _, w := range amountZeroWords {
			if s == w || containsPhrase(s, w) && !containsLabel(found, "unsure") {
				return Value{Kind: KindMoney, Int: 0, Currency: job.Currency}, nil
			}
		}
		if containsLabel(found, "yes") {
			return Value{}, invalid(ReasonAmountNeeded, "reply with the amount paid")
		}
		return Value{}, invalid(ReasonNotANumber, "no amount in %q", truncateRunes(s, 30))
	case len(nums) > 1:
		return Value{}, invalid(ReasonAmbiguous, "more than one amount in %q", truncateRunes(s, 30))
	}
	return q.amount(nums[0], job)
}

var jiaoPattern = regexp.MustCompile(`([0-9]+)\s*[块元]\s*([0-9])\s*[毛角]?$`)

// amount converts a number to minor units of the job's currency.
func (q *Question) amount(n number, job *Job) (Value, *InvalidAnswer) {
	if n.neg {
		return Value{}, invalid(ReasonNegative, "-%s is negative", n.whole)
	}
	exp := currencyExponent(job.Currency)
	frac := strings.TrimRight(n.frac, "0")
	if len(frac) > exp {
		return Value{}, invalid(ReasonTooPrecise, "%s.%s has more than %d decimals", n.whole, n.frac, exp)
	}
	whole, ok := n.value()
	if !ok || whole > q.MaxAmount {
		return Value{}, invalid(ReasonOutOfRange, "%s is more than %d", truncateRunes(n.whole, 20), q.MaxAmount)
	}
	minor, limit := whole, q.MaxAmount
	for i := 0; i < exp; i++ {
		minor *= 10
		limit *= 10
		if i < len(frac) {
			minor += int64(frac[i] - '0')
		}
	}
	if minor > limit { // 100000.5 when the most is 100000
		return Value{}, invalid(ReasonOutOfRange, "%s.%s is more than %d", truncateRunes(n.whole, 20), frac, q.MaxAmount)
	}
	return Value{Kind: KindMoney, Int: minor, Currency: job.Currency}, nil
}

// dateFromKeys reads 1 (the job's date is right), 3 (not sure) or MMDD.
func (q *Question) dateFromKeys(digits string, job *Job) (Value, *InvalidAnswer) {
	switch {
	case digits == "1":
		return Value{Kind: KindDate, Str: job.LocalDate().Format("2006-01-02")}, nil
	case digits == "3":
		return Value{Kind: KindDate}, nil
	case len(digits) == 4 && !strings.Contains(digits, "*"):
		m, _ := strconv.Atoi(digits[:2])
		d, _ := strconv.Atoi(digits[2:])
		return dateNear(m, d, 0, job)
	case digits == "2":
		return Value{}, invalid(ReasonDateNeeded, "enter the date as four digits, month then day")
	}
	return Value{}, invalid(ReasonNotADate, "%s is not 1, 3 or a month and day", digits)
}

var (
	isoDate   = regexp.MustCompile(`(?:^|[^0-9])(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})`)
	zhDate    = regexp.MustCompile(`(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?`)
	zhDayOnly = regexp.MustCompile(`^(?:上个月)?(\d{1,2})\s*[日号]$`)
	mdDate    = regexp.MustCompile(`(?:^|[^0-9])(\d{1,2})\s*[/\-.]\s*(\d{1,2})(?:$|[^0-9])`)
	enDate    = regexp.MustCompile(`\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b|\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b`)
	months    = map[string]int{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12}
)

// dateFromText reads a date confirmation by SMS or speech: yes/1 (the job's
// date), not sure/3, a date ("3/14" month first, "2025-03-14", "3月14日",
// "14号", "March 14", "14th of March"), or today/yesterday/今天/昨天/前天
// when the input's time is known. A bare "no" asks for the date.
func (q *Question) dateFromText(s string, at time.Time, job *Job) (Value, *InvalidAnswer) {
	ymd := func(y, m, d string) (Value, *InvalidAnswer) {
		yy, _ := strconv.Atoi(y)
		mm, _ := strconv.Atoi(m)
		dd, _ := strconv.Atoi(d)
		return dateNear(mm, dd, yy, job)
	}
	if m := isoDate.FindStringSubmatch(s); m != nil {
		return ymd(m[1], m[2], m[3])
	}
	if m := zhDate.FindStringSubmatch(s); m != nil {
		return ymd("0", m[1], m[2])
	}
	if m := zhDayOnly.FindStringSubmatch(s); m != nil {
		month := int(job.LocalDate().Month())
		if strings.HasPrefix(s, "上个月") {
			month--
		}
		dd, _ := strconv.Atoi(m[1])
		return dateNear(month, dd, 0, job)
	}
	if m := enDate.FindStringSubmatch(s); m != nil {
		if m[1] != "" {
			return ymd("0", strconv.Itoa(months[m[1]]), m[2])
		}
		return ymd("0", strconv.Itoa(months[m[4]]), m[3])
	}
	if m := mdDate.FindStringSubmatch(s); m != nil {
		return ymd("0", m[1], m[2])
	}
	for _, rel := range []struct {
		words []string
		days  int
	}{
		{[]string{"day before yesterday", "前天"}, -2},
		{[]string{"yesterday", "昨天"}, -1},
		{[]string{"today", "今天"}, 0},
	} {
		for _, w := range rel.words {
			if containsPhrase(s, w) {
				if at.IsZero() {
					return Value{}, invalid(ReasonNotADate, "%q needs the day it was sent", w)
				}
				t := at.In(Location(job.TimeZone)).AddDate(0, 0, rel.days)
				return Value{Kind: KindDate, Str: t.Format("2006-01-02")}, nil
			}
		}
	}
	switch s {
	case "1":
		return Value{Kind: KindDate, Str: job.LocalDate().Format("2006-01-02")}, nil
	case "3":
		return Value{Kind: KindDate}, nil
	}
	found, _ := match(s, nil, yesNoPhrases, nil, true)
	if len(found) == 1 {
		switch found[0] {
		case "yes":
			return Value{Kind: KindDate, Str: job.LocalDate().Format("2006-01-02")}, nil
		case "unsure":
			return Value{Kind: KindDate}, nil
		case "no":
			return Value{}, invalid(ReasonDateNeeded, "reply with the date of the visit")
		}
	}
	return Value{}, invalid(ReasonNotADate, "no date in %q", truncateRunes(s, 30))
}

// dateNear builds month/day (and year, when given) into a date; without a
// year it takes the one that puts the date nearest the job's date.
func dateNear(month, day, year int, job *Job) (Value, *InvalidAnswer) {
	if month < 1 || month > 12 || day < 1 || day > 31 {
		return Value{}, invalid(ReasonNotADate, "%d/%d is not a date", month, day)
	}
	ref := job.LocalDate()
	y := year
	if y == 0 {
		y = ref.Year()
	}
	if y < 1900 || y > 9999 {
		return Value{}, invalid(ReasonNotADate, "%d is not a year", y)
	}
	t := time.Date(y, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if t.Day() != day {
		return Value{}, invalid(ReasonNotADate, "%d/%d is not a date", month, day)
	}
	if year == 0 {
		switch {
		case t.Sub(ref) > 183*24*time.Hour:
			t = t.AddDate(-1, 0, 0)
		case ref.Sub(t) > 183*24*time.Hour:
			t = t.AddDate(1, 0, 0)
		}
		if t.Day() != day { // 2/29 moved into a common year
			return Value{}, invalid(ReasonNotADate, "%d/%d is not a date", month, day)
		}
	}
	return Value{Kind: KindDate, Str: t.Format("2006-01-02")}, nil
}
