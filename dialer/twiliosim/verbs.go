package twiliosim

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// This file runs the TwiML verbs of a call: what each one says, plays,
// waits for and posts, with Twilio's attributes and defaults.

// runVerbs runs one document's verbs. It returns the TwiML to go to next, or
// nil when the call should hang up (a <Hangup>, or no verbs left).
func (r *callRun) runVerbs(verbs []element, docURL string) (*target, error) {
	for _, v := range verbs {
		var next *target
		var err error
		switch v.name {
		case "Say":
			err = r.say(v)
		case "Play":
			err = r.play(v)
		case "Pause":
			err = r.pause(v)
		case "Dial":
			err = r.dial(v)
		case "Gather":
			next, err = r.gather(v, docURL)
		case "Record":
			next, err = r.record(v, docURL)
		case "Redirect":
			next, err = r.redirect(v, docURL)
			if next == nil && err == nil {
				continue
			}
		case "Hangup":
			r.addStep(Step{Verb: "Hangup"})
			return nil, nil
		case "Reject":
			r.warn(12200, "<Reject> only answers incoming calls; the call hangs up")
			return nil, nil
		default:
			r.warn(12200, "<%s> is not a verb the simulator runs; skipped", v.name)
		}
		if err != nil || next != nil {
			return next, err
		}
	}
	return nil, nil
}

// maxLoops bounds a loop attribute.
const maxLoops = 100

// loops reads a loop attribute: how many times to repeat, 1 by default. 0
// means "until the call ends" in Twilio; the simulator repeats 10 times,
// and at most maxLoops times whatever the attribute says.
func (r *callRun) loops(v element) int {
	s, ok := v.attr("loop")
	if !ok {
		return 1
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		r.warn(12200, "<%s loop=%q>: not a whole number; played once", v.name, s)
		return 1
	}
	if n == 0 {
		return 10
	}
	if n > maxLoops {
		r.warn(12200, "<%s loop=%q>: the simulator plays it %d times", v.name, s, maxLoops)
		return maxLoops
	}
	return n
}

func (r *callRun) say(v element) error {
	if v.text == "" {
		r.warn(13520, "<Say> has no text; skipped")
		return nil
	}
	voice, lang := v.attrs["voice"], v.attrs["language"]
	for range r.loops(v) {
		r.addStep(Step{Verb: "Say", Text: v.text, Voice: voice, Language: lang})
		r.heard = append(r.heard, v.text)
		if lang != "" {
			r.lang = lang
		}
		if err := r.wait(speakTime(v.text)); err != nil {
			return err
		}
	}
	return nil
}

func (r *callRun) play(v element) error {
	if v.text == "" {
		if _, ok := v.attr("digits"); ok {
			r.addStep(Step{Verb: "Play", Digits: v.attrs["digits"]})
			return r.wait(keyGap * time.Duration(len(v.attrs["digits"])))
		}
		r.warn(13221, "<Play> has no URL; skipped")
		return nil
	}
	for range r.loops(v) {
		r.addStep(Step{Verb: "Play", Text: v.text})
		r.played = append(r.played, v.text)
		if err := r.wait(playLength); err != nil {
			return err
		}
	}
	return nil
}

func (r *callRun) pause(v element) error {
	length := r.seconds(v, "length", 1)
	r.addStep(Step{Verb: "Pause", Duration: int(length / time.Second)})
	return r.wait(length)
}

func (r *callRun) dial(v element) error {
	number := v.text
	if len(v.children) > 0 {
		number = v.children[0].text
	}
	r.addStep(Step{Verb: "Dial", Text: number})
	return r.wait(dialLength)
}

// seconds reads a whole-seconds attribute, with def when absent or invalid.
func (r *callRun) seconds(v element, name string, def int) time.Duration {
	s, ok := v.attr(name)
	if !ok {
		return time.Duration(def) * time.Second
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		r.warn(12200, "<%s %s=%q>: not whole seconds; using %d", v.name, name, s, def)
		return time.Duration(def) * time.Second
	}
	return time.Duration(n) * time.Second
}

// methodAttr reads a method attribute: POST by default.
func (r *callRun) methodAttr(v element, name string) string {
	m, ok := v.attr(name)
	if !ok || m == "" {
		return http.MethodPost
	}
	switch u := strings.ToUpper(m); u {
	case http.MethodGet, http.MethodPost:
		return u
	}
	r.warn(12200, "<%s %s=%q>: not GET or POST; using POST", v.name, name, m)
	return http.MethodPost
}

// resolve makes ref absolute against the current document, as Twilio does
// for action and <Redirect> URLs; an empty ref is the document itself.
func resolve(docURL, ref string) (string, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		if docURL == "" {
			return "", errors.New("no URL, and the TwiML was not fetched from one")
		}
		return docURL, nil
	}
	u, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("%q is not a URL", ref)
	}
	if !u.IsAbs() {
		if docURL == "" {
			return "", fmt.Errorf("relative URL %q in TwiML that was not fetched from a URL", ref)
		}
		base, err := url.Parse(docURL)
		if err != nil {
			return "", err
		}
		u = base.ResolveReference(u)
	}
	if err := checkWebhookURL(u.String()); err != nil {
		return "", err
	}
	return u.String(), nil
}

// inputs reads a <Gather>'s input attribute: "dtmf" by default.
func (r *callRun) inputs(v element) (dtmf, speech bool, list []string) {
	s, ok := v.attr("input")
	if !ok || strings.TrimSpace(s) == "" {
		return true, false, []string{"dtmf"}
	}
	for _, in := range strings.Fields(s) {
		switch in {
		case "dtmf":
			dtmf = true
		case "speech":
			speech = true
		default:
			r.warn(12200, "<Gather input=%q>: %q is not dtmf or speech", s, in)
			continue
		}
		list = append(list, in)
	}
	if !dtmf && !speech {
		return true, false, []string{"dtmf"}
	}
	return dtmf, speech, list
}

func (r *callRun) prompt(kind PromptKind) Prompt {
	r.prompts++
	return Prompt{
		Call: r.info, Kind: kind, Number: r.prompts,
		Text: strings.Join(r.heard, " "), Language: r.lang, Played: append([]string(nil), r.played...),
	}
}

// respond asks the persona, unless a machine is on the line: it hears
// everything and says nothing.
func (r *callRun) respond(p Prompt) Response {
	r.heard, r.played = nil, nil
	if r.machine {
		return Response{}
	}
	return r.c.persona.Respond(p)
}

func (r *callRun) gather(v element, docURL string) (*target, error) {
	action, err := resolve(docURL, v.attrs["action"])
	if err != nil {
		return nil, r.fail(11100, "<Gather action>: %v", err)
	}
	method := r.methodAttr(v, "method")
	timeout := r.seconds(v, "timeout", 5)
	finishOnKey := "#"
	if k, ok := v.attr("finishOnKey"); ok {
		if strings.Trim(k, "0123456789*#") != "" || len(k) > 1 {
			r.warn(13310, "<Gather finishOnKey=%q>: not one key; using #", k)
		} else {
			finishOnKey = k
		}
	}
	numDigits := 0
	if s, ok := v.attr("numDigits"); ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			r.warn(13313, "<Gather numDigits=%q>: not a whole number from 1", s)
		} else {
			numDigits = n
		}
	}
	dtmf, speech, input := r.inputs(v)
	onEmpty := v.attrs["actionOnEmptyResult"] == "true"
	for _, child := range v.children {
		switch child.name {
		case "Say":
			err = r.say(child)
		case "Play":
			err = r.play(child)
		case "Pause":
			err = r.pause(child)
		default:
			r.warn(12200, "<%s> cannot be nested in <Gather>; skipped", child.name)
		}
		if err != nil {
			return nil, err
		}
	}
	p := r.prompt(GatherPrompt)
	p.Input, p.NumDigits, p.FinishOnKey, p.Timeout = input, numDigits, finishOnKey, timeout
	resp := r.respond(p)
	delay := resp.Delay
	if delay <= 0 {
		delay = thinkTime
	}
	if resp.HangUp {
		if err := r.wait(delay); err != nil {
			return nil, err
		}
		r.addStep(Step{Verb: "Gather", Text: "hung up"})
		return nil, hangUp{ByCustomer}
	}
	keys := keysOnly(resp.Digits)
	said := strings.TrimSpace(resp.Speech)
	if !dtmf {
		keys = ""
	}
	if !speech {
		said = ""
	}
	extra := url.Values{}
	extra.Set("msg", "Gather End")
	switch {
	case (keys == "" && said == "") || delay >= timeout:
		if err := r.wait(timeout); err != nil {
			return nil, err
		}
	case keys != "":
		got, finished, complete := collectDigits(keys, numDigits, finishOnKey)
		pressed := len(got) + len(finished)
		if err := r.wait(delay + keyGap*time.Duration(max(pressed-1, 0))); err != nil {
			return nil, err
		}
		if !complete {
			// Twilio waits timeout after the last key for more.
			if err := r.wait(timeout); err != nil {
				return nil, err
			}
		}
		if got != "" {
			extra.Set("Digits", got)
			extra.Set("FinishedOnKey", finished)
		}
	default:
		if err := r.wait(delay + speakTime(said)); err != nil {
			return nil, err
		}
		conf := resp.Confidence
		if conf <= 0 || conf > 1 {
			conf = 0.92
		}
		extra.Set("SpeechResult", said)
		extra.Set("Confidence", strconv.FormatFloat(conf, 'f', -1, 64))
	}
	r.addStep(Step{Verb: "Gather", Digits: extra.Get("Digits"), Speech: extra.Get("SpeechResult")})
	if extra.Get("Digits") == "" && extra.Get("SpeechResult") == "" {
		if !onEmpty {
			return nil, nil // no input: on to the verb after the <Gather>
		}
		if dtmf {
			extra.Set("Digits", "")
		}
	}
	return &target{url: action, method: method, extra: extra}, nil
}

// collectDigits applies a <Gather>'s numDigits and finishOnKey to the keys
// pressed: it returns the digits Twilio reports, the finishing key if one
// ended the input, and whether input ended before the timeout.
func collectDigits(keys string, numDigits int, finishOnKey string) (digits, finished string, complete bool) {
	var b strings.Builder
	for _, k := range keys {
		if finishOnKey != "" && strings.ContainsRune(finishOnKey, k) {
			return b.String(), string(k), true
		}
		b.WriteRune(k)
		if numDigits > 0 && b.Len() == numDigits {
			return b.String(), "", true
		}
	}
	return b.String(), "", false
}

// keysOnly keeps the characters a keypad has.
func keysOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if (r >= '0' && r <= '9') || r == '*' || r == '#' {
			return r
		}
		return -1
	}, s)
}

func (r *callRun) record(v element, docURL string) (*target, error) {
	action, err := resolve(docURL, v.attrs["action"])
	if err != nil {
		return nil, r.fail(11100, "<Record action>: %v", err)
	}
	method := r.methodAttr(v, "method")
	timeout := r.seconds(v, "timeout", 5)
	maxLength := r.seconds(v, "maxLength", 3600)
	finishOnKey := "1234567890*#"
	if k, ok := v.attr("finishOnKey"); ok {
		finishOnKey = k
	}
	var statusHook *hook
	if cb, ok := v.attr("recordingStatusCallback"); ok {
		u, err := resolve(docURL, cb)
		if err != nil {
			r.warn(12200, "<Record recordingStatusCallback>: %v; no recording callback", err)
		} else {
			statusHook = &hook{kind: HookRecordingStatus, url: u, method: r.methodAttr(v, "recordingStatusCallbackMethod"), status: "completed", to: r.c.to}
		}
	}
	if v.attrs["playBeep"] != "false" {
		r.addStep(Step{Verb: "Play", Text: "beep"})
	}
	p := r.prompt(RecordPrompt)
	p.FinishOnKey, p.Timeout = finishOnKey, timeout
	resp := r.respond(p)
	delay := resp.Delay
	if delay <= 0 {
		delay = thinkTime
	}
	said := strings.TrimSpace(resp.Speech)
	if said == "" {
		if resp.HangUp {
			if err := r.wait(delay); err != nil {
				return nil, err
			}
			r.addStep(Step{Verb: "Record", Text: "hung up"})
			return nil, hangUp{ByCustomer}
		}
		// Nothing recorded: Twilio requests no action and goes on.
		if err := r.wait(timeout); err != nil {
			return nil, err
		}
		r.addStep(Step{Verb: "Record"})
		return nil, nil
	}
	length := min(speakTime(said), maxLength)
	if err := r.wait(delay + length); err != nil {
		return nil, err
	}
	finished := ""
	for _, k := range keysOnly(resp.Digits) {
		if strings.ContainsRune(finishOnKey, k) {
			finished = string(k)
			break
		}
	}
	switch {
	case resp.HangUp:
		finished = "hangup"
	case finished == "":
		if err := r.wait(min(timeout, maxLength-length)); err != nil {
			return nil, err
		}
	}
	sid := newSid("RE")
	secs := max(int((length+time.Second-1)/time.Second), 1)
	r.addStep(Step{Verb: "Record", Speech: said, Digits: finished, RecordingSid: sid, Duration: secs})
	r.s.addRecording(recording{sid: sid, callSid: r.c.sid, seconds: secs, created: r.s.clock.Now().Add(-length), source: "RecordVerb"})
	recURL := "https://api.twilio.com/2010-04-01/Accounts/" + r.s.accountSID + "/Recordings/" + sid
	extra := url.Values{}
	extra.Set("RecordingUrl", recURL)
	extra.Set("RecordingDuration", strconv.Itoa(secs))
	extra.Set("RecordingSid", sid)
	extra.Set("Digits", finished)
	t := &target{url: action, method: method, extra: extra}
	if resp.HangUp {
		t.hangUpBy = ByCustomer
	}
	if statusHook != nil {
		statusHook.params = r.recordingParams(sid, recURL, secs, r.s.clock.Now().Add(-length), "RecordVerb")
		t.after = statusHook
	}
	return t, nil
}

func (r *callRun) recordingParams(sid, recURL string, secs int, started time.Time, source string) url.Values {
	v := url.Values{}
	v.Set("AccountSid", r.s.accountSID)
	v.Set("CallSid", r.c.sid)
	v.Set("RecordingSid", sid)
	v.Set("RecordingUrl", recURL)
	v.Set("RecordingStatus", "completed")
	v.Set("RecordingDuration", strconv.Itoa(secs))
	v.Set("RecordingChannels", "1")
	v.Set("RecordingStartTime", rfc2822(started))
	v.Set("RecordingSource", source)
	v.Set("RecordingTrack", "both")
	return v
}

func (r *callRun) redirect(v element, docURL string) (*target, error) {
	u, err := resolve(docURL, v.text)
	if err != nil {
		return nil, r.fail(11100, "<Redirect>: %v", err)
	}
	r.addStep(Step{Verb: "Redirect", Text: u})
	return &target{url: u, method: r.methodAttr(v, "method")}, nil
}

// speakTime is how long text-to-speech takes to say text: about 2.5 words
// a second for alphabetic languages, 4 characters a second for Chinese.
func speakTime(text string) time.Duration {
	var words, han int
	inWord := false
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Han, r):
			han++
			inWord = false
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if !inWord {
				words++
			}
			inWord = true
		default:
			inWord = false
		}
	}
	return max(time.Duration(words)*400*time.Millisecond+time.Duration(han)*250*time.Millisecond, 500*time.Millisecond)
}
