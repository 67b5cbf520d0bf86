package surveys

import "strings"

// Keyword is what a message means on its own, whatever question is open.
type Keyword string

// The keywords of the compliance table in DOMAIN.md: the carrier-standard
// opt-out words in English and Chinese, the opt-back-in words and the help
// words. Outside a survey the SMS handler uses ClassifyKeyword directly; inside
// one the engine checks opt-out and help before it reads an answer.
const (
	KeywordNone         Keyword = ""
	KeywordOptOut       Keyword = "opt_out"        // the whole message is an opt-out word: STOP, 退订, TD, …
	KeywordOptOutIntent Keyword = "opt_out_intent" // a longer message asking to stop: suppress, and send to review
	KeywordOptIn        Keyword = "opt_in"         // START, YES, UNSTOP (only meaningful outside a survey)
	KeywordHelp         Keyword = "help"           // HELP, INFO, 帮助
)

// optOutWords match the whole message after folding and trimming, as
// carriers do: "STOP", " stop. ", "Ｓｔｏｐ", "退订" and "TD" all opt out.
var optOutWords = map[string]bool{
	"stop": true, "stopall": true, "unsubscribe": true, "cancel": true, "end": true,
	"quit": true, "revoke": true, "optout": true, "opt out": true, "opt-out": true,
	"td": true, "t": true, "退订": true, "退出": true, "取消": true, "拒收": true, "不要再发": true,
}

var optInWords = map[string]bool{"start": true, "yes": true, "unstop": true}

var helpWords = map[string]bool{"help": true, "info": true, "帮助": true}

// optOutIntent are phrases that, anywhere in a longer message or a speech
// transcript, ask not to be contacted again. Plain "stop" is not among them:
// "the leak didn't stop" is an answer, not an opt-out.
var optOutIntent = []string{
	"stop calling", "stop texting", "stop messaging", "stop sending", "stop contacting", "stop the calls",
	"stop these calls", "stop these messages", "stop call", "stop text",
	"unsubscribe", "opt out", "optout", "opt-out",
	"don't call", "dont call", "do not call", "don't text", "dont text", "do not text",
	"don't contact", "dont contact", "do not contact", "don't message", "do not message",
	"remove me", "take me off", "no more calls", "no more texts", "no more messages",
	"退订", "不要再发", "别再发", "不要再打", "别再打", "拒收", "别打了", "别发了", "不要打了",
	"不要发了", "不用再打", "不用再发", "不要再联系", "别再联系", "不要再来电",
}

// leadingStopWords make a short message an opt-out when they start or end it:
// "stop please", "please stop", "STOP!!!".
var leadingStopWords = map[string]bool{"stop": true, "stopall": true, "unsubscribe": true, "optout": true}

// ClassifyKeyword says whether text is an opt-out, opt-in or help keyword. It
// accepts what people type: any case, full-width letters, surrounding spaces
// and punctuation.
func ClassifyKeyword(text string) Keyword {
	s := clean(text)
	if s == "" {
		return KeywordNone
	}
	switch {
	case optOutWords[s]:
		return KeywordOptOut
	case helpWords[s]:
		return KeywordHelp
	case optInWords[s]:
		return KeywordOptIn
	}
	if hasOptOutIntent(s) {
		return KeywordOptOutIntent
	}
	return KeywordNone
}

func hasOptOutIntent(s string) bool {
	for _, p := range optOutIntent {
		if containsPhrase(s, p) {
			return true
		}
	}
	toks := words(s)
	if len(toks) > 0 && len(toks) <= 3 && (leadingStopWords[toks[0]] || leadingStopWords[toks[len(toks)-1]]) {
		return true
	}
	return false
}

// containsPhrase reports whether phrase occurs in s; an ASCII phrase must
// start and end on word boundaries ("stop call" is not in "nonstop caller").
func containsPhrase(s, phrase string) bool {
	for from := 0; from <= len(s)-len(phrase); {
		i := strings.Index(s[from:], phrase)
		if i < 0 {
			return false
		}
		i += from
		if boundaryAt(s, i, i+len(phrase), phrase) {
			return true
		}
		from = i + 1
	}
	return false
}

// boundaryAt reports whether s[i:j] (which equals phrase) stands as whole
// words. Phrases that start or end with a Han character need no boundary.
func boundaryAt(s string, i, j int, phrase string) bool {
	first, _ := firstRune(phrase)
	last, _ := lastRune(phrase)
	if !isCJK(first) && i > 0 {
		if r, _ := lastRune(s[:i]); isWordRune(r) {
			return false
		}
	}
	if !isCJK(last) && j < len(s) {
		if r, _ := firstRune(s[j:]); isWordRune(r) {
			return false
		}
	}
	return true
}

// words splits s into English word tokens.
func words(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !isWordRune(r) })
}
