package twiliosim

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/huifang/huifang/workorders"
	"github.com/huifang/huifang/workorders/sample"
)

// SamplePersonas returns a persona for every customer phone number among
// jobs, each playing the ground truth (sample.Truth) of the jobs at that
// number: the map to pass as Options.Personas in tests and the demo.
func SamplePersonas(jobs []sample.Job) map[string]Persona {
	byPhone := map[string][]sample.Job{}
	var order []string
	for i := range jobs {
		phone := jobs[i].Order.Customer.Phone
		if phone == "" {
			continue
		}
		if _, ok := byPhone[phone]; !ok {
			order = append(order, phone)
		}
		byPhone[phone] = append(byPhone[phone], *jobs[i].Clone())
	}
	out := make(map[string]Persona, len(byPhone))
	for _, phone := range order {
		out[phone] = SamplePersona(byPhone[phone]...)
	}
	return out
}

// SamplePersona plays the customer of a sample job. It listens to what
// Huifang's surveys say, in English or Chinese, recognises each question
// by its words and answers from the job's Truth:
//
//   - the intro ("Press 1 to continue", "继续请按1"): 1;
//   - did a technician visit / install (上门, 安装): yes if Truth.Visited
//     (Installed for an install);
//   - was any part replaced (配件): yes if any part really was;
//   - was the {part} replaced (更换了{part}): yes only if that claimed part
//     is among Truth.ReplacedParts — the persona knows the plain names of
//     the job's claimed parts, so it hears which one is meant;
//   - did you pay / were you charged (收取, 费用): yes if Truth.PaidAmount
//     is above zero, then the amount in whole units and # when asked for it
//     (by SMS "50" or "50元", or "0");
//   - is the problem fixed / is it working (排除, 正常): Truth.Fixed /
//     Truth.Working;
//   - satisfaction 1–5 (满意): Truth.CSAT; recommend 0–10 (推荐): Truth.NPS
//     and #; what could we do better (改进, 意见): a short complaint, spoken into
//     a <Record> or texted;
//   - a read-back ("If that's right, press 1", "如果正确请按1"): confirms.
//
// Keys come from the prompt itself where it says them ("Press 1 for no, 2
// for yes", "没有请按1，有请按2", "回1是 2否"), otherwise 1 for yes and 2 for
// no. A prompt it does not recognise gets silence. Truth.Reach shapes the
// rest: never_answers lets it ring out and never texts back; busy is
// busy; voicemail lets a machine answer (texts are answered normally);
// hangs_up hangs up (or stops texting) after Truth.HangUpAfter questions;
// wrong_keys first presses a key that is no answer (7) or texts "ok" to
// every question, then answers properly when it is asked again; opts_out
// presses 9 at the first prompt and replies STOP (English) or 退订
// (Chinese) to the first text.
//
// jobs are the jobs whose customer has this phone number; usually one. Where
// several share it (the sample's phone of an accomplice), a part counts as
// replaced when it was replaced in any of them and the other answers come
// from the first.
func SamplePersona(jobs ...sample.Job) Persona {
	p := &samplePersona{answered: map[string]int{}}
	for i := range jobs {
		p.jobs = append(p.jobs, *jobs[i].Clone())
	}
	if len(p.jobs) == 0 {
		return unallocated{}
	}
	p.truth = p.jobs[0].Truth
	p.kind = p.jobs[0].Order.Kind
	p.currency = p.jobs[0].Order.Currency
	// Pick up after 3–7 seconds, the same for a number every time.
	sum := 0
	for _, r := range p.jobs[0].Order.Customer.Phone {
		sum += int(r)
	}
	p.ring = time.Duration(3+sum%5) * time.Second
	return p
}

type samplePersona struct {
	jobs     []sample.Job
	truth    sample.Truth
	kind     workorders.Kind
	currency string
	ring     time.Duration

	mu        sync.Mutex
	answered  map[string]int // questions answered, per call
	texted    int            // questions answered by SMS
	optedOut  bool
	lastWrong string // the SMS question last answered with a wrong reply
}

func (p *samplePersona) Answer(CallInfo) Pickup {
	switch p.truth.Reach {
	case sample.ReachNeverAnswers:
		return Pickup{By: NoAnswer}
	case sample.ReachBusy:
		return Pickup{By: Busy}
	case sample.ReachVoicemail:
		return Pickup{By: Machine}
	}
	return Pickup{By: Human, After: p.ring}
}

// question is what a prompt asks, as the persona understands it.
type question int

const (
	qUnknown question = iota
	qIntro
	qReadBack
	qVisit
	qAnyPart
	qPart
	qCharged
	qAmount
	qFixed
	qWorking
	qCSAT
	qNPS
	qComment
)

// survey reports whether answering q counts as answering a survey question
// (for hangs_up): the intro and read-backs do not.
func (q question) survey() bool { return q != qUnknown && q != qIntro && q != qReadBack }

func containsAny(s string, words ...string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// classify recognises a prompt (lower-cased) by its words. The order
// matters: an intro also names the job, an amount question also says
// "paid", a satisfaction question also says "install".
func (p *samplePersona) classify(text string) (question, string) {
	switch {
	case containsAny(text, "survey about", "售后"):
		return qUnknown, "" // a HELP reply describes the survey, it asks nothing
	case containsAny(text, "if that's right", "if that is right", "如果正确"):
		return qReadBack, ""
	case containsAny(text, "to continue", "继续请按"):
		return qIntro, ""
	case containsAny(text, "enter the amount", "amount you paid", "or the amount", "金额"):
		return qAmount, ""
	case containsAny(text, "do better", "改进", "说出您的意见"):
		return qComment, ""
	case containsAny(text, "recommend", "likely", "推荐", "0 to 10", "0-10", "0到10"):
		return qNPS, ""
	case containsAny(text, "satisf", "满意", "rate the", "打分"):
		return qCSAT, ""
	case containsAny(text, "pay the technician", "paid", "charged", "收取", "收费", "费用"):
		return qCharged, ""
	}
	if containsAny(text, "replace", "换") {
		if name := p.partNamed(text); name != "" {
			return qPart, name
		}
	}
	switch {
	case containsAny(text, "any part", "any new part", "配件"):
		return qAnyPart, ""
	case containsAny(text, "fixed", "problem", "排除", "恢复正常"):
		return qFixed, ""
	case containsAny(text, "working", "works", "正常"):
		return qWorking, ""
	case containsAny(text, "visit", "technician came", "install", "上门", "安装"):
		return qVisit, ""
	}
	return qUnknown, ""
}

// partNamed finds the longest claimed part name the prompt mentions.
func (p *samplePersona) partNamed(text string) string {
	best := ""
	for _, j := range p.jobs {
		for _, cp := range j.Order.Parts {
			for _, n := range []string{strings.ToLower(cp.NameEN), cp.NameZH} {
				if n != "" && len(n) > len(best) && strings.Contains(text, n) {
					best = n
				}
			}
		}
	}
	return best
}

// replaced says whether the part with this plain name was really replaced.
func (p *samplePersona) replaced(name string) bool {
	for _, j := range p.jobs {
		for _, cp := range j.Order.Parts {
			if (strings.ToLower(cp.NameEN) == name || cp.NameZH == name) && slices.Contains(j.Truth.ReplacedParts, cp.Code) {
				return true
			}
		}
	}
	return false
}

// truthOf is the true yes/no answer to a yes/no question.
func (p *samplePersona) truthOf(q question, part string) bool {
	t := p.truth
	switch q {
	case qVisit:
		if p.kind == workorders.Install {
			return t.Installed
		}
		return t.Visited
	case qAnyPart:
		return len(t.ReplacedParts) > 0
	case qPart:
		return p.replaced(part)
	case qCharged:
		return t.PaidAmount > 0
	case qFixed:
		return t.Fixed
	case qWorking:
		return t.Working
	}
	return true
}

var (
	enKeyFor   = regexp.MustCompile(`(\d)\s+for\s+(yes|no)\b`)
	enKeyEq    = regexp.MustCompile(`(\d)\s*=\s*(yes|no)\b`)
	zhKeyAfter = regexp.MustCompile(`(?:^|[，。；？！、：,.;?!\s])(是|否|有|没有|正常|不正常)请按(\d)`)
	zhKeyFirst = regexp.MustCompile(`(\d)(是|否|正常|不正常)`)
	readBackEN = regexp.MustCompile(`right, press (\d)`)
	readBackZH = regexp.MustCompile(`正确请按(\d)`)
)

// keyFor finds the key the prompt gives for yes or no; failing that, 1 for
// yes and 2 for no (the other way round for "were you charged", whose
// scripts put no first).
func keyFor(text string, yes bool, q question) string {
	want := map[bool][]string{true: {"yes", "是", "有", "正常"}, false: {"no", "否", "没有", "不正常"}}[yes]
	for _, re := range []*regexp.Regexp{enKeyFor, enKeyEq, zhKeyFirst} {
		for _, m := range re.FindAllStringSubmatch(text, -1) {
			if slices.Contains(want, m[2]) {
				return m[1]
			}
		}
	}
	for _, m := range zhKeyAfter.FindAllStringSubmatch(text, -1) {
		if slices.Contains(want, m[1]) {
			return m[2]
		}
	}
	if q == qCharged {
		yes = !yes
	}
	if yes {
		return "1"
	}
	return "2"
}

func isReprompt(text string) bool { return containsAny(text, "sorry", "抱歉") }

func hasHan(s string) bool {
	for _, r := range s {
		if r >= 0x4E00 && r <= 0x9FFF {
			return true
		}
	}
	return false
}

// wholeUnits is what the customer paid in yuan or dollars, rounded.
func (p *samplePersona) wholeUnits() int64 { return (int64(p.truth.PaidAmount) + 50) / 100 }

func (p *samplePersona) complaint(zh bool) string {
	if zh {
		return "师傅来得太晚了，也没有讲清楚修了什么。"
	}
	return "The technician was late and did not explain what was done."
}

// Respond answers a voice prompt.
func (p *samplePersona) Respond(pr Prompt) Response {
	text := strings.ToLower(pr.Text)
	q, part := p.classify(text)
	t := p.truth
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case t.Reach == sample.ReachOptsOut:
		return Response{Digits: "9"}
	case t.Reach == sample.ReachHangsUp && p.answered[pr.Call.CallSid] >= t.HangUpAfter:
		return Response{HangUp: true}
	case q == qUnknown:
		return Response{}
	}
	if pr.Kind == RecordPrompt || q == qComment {
		if pr.Kind == RecordPrompt {
			p.answered[pr.Call.CallSid]++
			return Response{Speech: p.complaint(hasHan(pr.Text)), Digits: "#"}
		}
		return Response{Speech: p.complaint(hasHan(pr.Text))}
	}
	if t.Reach == sample.ReachWrongKeys && !isReprompt(text) && q != qAmount {
		if q == qNPS {
			return Response{Digits: "77#"}
		}
		return Response{Digits: "7"}
	}
	if q.survey() {
		p.answered[pr.Call.CallSid]++
	}
	var keys string
	switch q {
	case qIntro:
		keys = "1"
	case qReadBack:
		keys = "1"
		for _, re := range []*regexp.Regexp{readBackEN, readBackZH} {
			if m := re.FindStringSubmatch(text); m != nil {
				keys = m[1]
			}
		}
	case qAmount:
		keys = strconv.FormatInt(p.wholeUnits(), 10) + "#"
	case qCSAT:
		keys = strconv.Itoa(t.CSAT)
	case qNPS:
		keys = strconv.Itoa(t.NPS) + "#"
	default:
		keys = keyFor(text, p.truthOf(q, part), q)
	}
	if !slices.Contains(pr.Input, "dtmf") && slices.Contains(pr.Input, "speech") {
		return Response{Speech: spoken(q, keys, p.truthOf(q, part), hasHan(pr.Text))}
	}
	return Response{Digits: keys}
}

// spoken is the answer said aloud, for a <Gather> that takes only speech.
func spoken(q question, keys string, yes, zh bool) string {
	switch q {
	case qAmount, qCSAT, qNPS:
		return strings.TrimSuffix(keys, "#")
	case qIntro, qReadBack:
		yes = true
	}
	switch {
	case zh && yes:
		return "是"
	case zh:
		return "不是"
	case yes:
		return "yes"
	}
	return "no"
}

// Reply answers a text.
func (p *samplePersona) Reply(msg SMS) (string, bool) {
	text := strings.ToLower(msg.Body)
	zh := hasHan(msg.Body)
	q, part := p.classify(text)
	t := p.truth
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.optedOut || q == qUnknown || q == qIntro || t.Reach == sample.ReachNeverAnswers:
		return "", false
	case t.Reach == sample.ReachOptsOut:
		p.optedOut = true
		if zh {
			return "退订", true
		}
		return "STOP", true
	case t.Reach == sample.ReachHangsUp && p.texted >= t.HangUpAfter:
		return "", false
	}
	clarification := containsAny(text, "please reply", "请回复", "请只回复")
	if t.Reach == sample.ReachWrongKeys && !clarification && p.lastWrong != text {
		p.lastWrong = text
		if zh {
			return "嗯", true
		}
		return "ok", true
	}
	if q.survey() {
		p.texted++
	}
	switch q {
	case qComment:
		return p.complaint(zh), true
	case qAmount, qCharged:
		if t.PaidAmount <= 0 {
			return "0", true
		}
		n := strconv.FormatInt(p.wholeUnits(), 10)
		if zh && p.currency == "CNY" {
			return n + "元", true
		}
		return n, true
	case qCSAT:
		return strconv.Itoa(t.CSAT), true
	case qNPS:
		return strconv.Itoa(t.NPS), true
	case qReadBack:
		return "1", true
	}
	return keyFor(text, p.truthOf(q, part), q), true
}
