package twiliosim

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// How long things take on a simulated line, in simulated time.
const (
	queueDelay    = 500 * time.Millisecond // queued until Twilio dials
	busyAfter     = 2 * time.Second        // until the busy signal ends the call
	humanRing     = 4 * time.Second        // default ring before a person picks up
	machineRing   = 20 * time.Second       // default ring before voicemail picks up
	thinkTime     = time.Second            // default pause before a customer answers
	keyGap        = 300 * time.Millisecond // between two key presses
	playLength    = 3 * time.Second        // an audio file of unknown length
	dialLength    = time.Second            // a <Dial> as the simulator plays it
	voicemailMax  = 2 * time.Minute        // voicemail hangs up after this
	humanDetect   = 2400 * time.Millisecond
	machineDetect = 4 * time.Second
	beepDetect    = 12 * time.Second // greeting and beep, for DetectMessageEnd
	maxDocuments  = 200              // TwiML documents per call before the simulator calls it a loop
)

// applicationError is what Twilio plays when it gives up on a call's TwiML.
const applicationError = "We're sorry, an application error has occurred. Goodbye."

// target is the next TwiML to run: a URL to request with the standard call
// parameters plus extra, or inline TwiML.
type target struct {
	url, method string
	twiml       string
	extra       url.Values
	fallback    bool   // the call's Url: on failure, try FallbackUrl
	after       *hook  // a callback to queue once the request has been made
	hangUpBy    string // the caller has hung up: make the request, ignore its TwiML
}

var errInterrupted = errors.New("interrupted") // a REST update, or the simulator closing

// hangUp ends a call from the called side.
type hangUp struct{ by string }

func (h hangUp) Error() string { return "hung up by " + h.by }

// appError ends a call the way Twilio does when TwiML cannot be had or run.
type appError struct {
	code int
	msg  string
}

func (e *appError) Error() string { return fmt.Sprintf("%d %s", e.code, e.msg) }

// callRun drives one call from queued to its final callback.
type callRun struct {
	s       *Simulator
	c       *call
	q       *hookQueue
	info    CallInfo
	machine bool
	// limit is the line time at which an answered call ends by itself: its
	// TimeLimit, or sooner voicemail's limit; limitBy says which.
	limit     time.Duration
	limitBy   string
	heard     []string // <Say> texts since the customer's last input
	played    []string
	lang      string
	prompts   int
	amdCancel context.CancelFunc
	amdDone   chan struct{}
}

func (s *Simulator) runCall(c *call) {
	defer s.finish()
	defer close(c.done)
	r := &callRun{s: s, c: c, q: s.newHookQueue(), info: CallInfo{CallSid: c.sid, From: c.from, To: c.to}}
	r.run()
	if r.amdDone != nil {
		r.amdCancel()
		<-r.amdDone
	}
	if s.ctx.Err() == nil {
		r.final()
	}
	r.q.close()
	<-r.q.done
	s.mu.Lock()
	status := c.status
	s.mu.Unlock()
	s.log.Info("call ended", "call", c.sid, "to", mask(c.to), "status", status)
}

func (r *callRun) run() {
	c := r.c
	if r.wait(queueDelay) != nil {
		return
	}
	if !r.transition("", "initiated") {
		return
	}
	p := c.persona.Answer(r.info)
	switch p.By {
	case Unreachable:
		r.end("failed", "")
		return
	case Busy:
		if r.wait(busyAfter) == nil {
			r.end("busy", "")
		}
		return
	}
	if !r.transition("ringing", "ringing") {
		return
	}
	ring := p.After
	if ring <= 0 {
		ring = humanRing
		if p.By == Machine {
			ring = machineRing
		}
	}
	if (p.By != Human && p.By != Machine) || ring >= c.timeout {
		if r.wait(c.timeout) == nil {
			r.end("no-answer", "")
		}
		return
	}
	if r.wait(ring) != nil {
		return
	}
	r.machine = p.By == Machine
	if !r.transition("in-progress", "answered") {
		return
	}
	r.s.mu.Lock()
	r.limit, r.limitBy = c.answeredLine+c.timeLimit, ByTimeLimit
	if r.machine && voicemailMax < c.timeLimit {
		r.limit, r.limitBy = c.answeredLine+voicemailMax, ByMachine
	}
	r.s.mu.Unlock()
	if c.machineDetection != "" {
		by, after := r.detect()
		if c.asyncAMD {
			r.detectInBackground(by, after)
		} else {
			if err := r.wait(after); err != nil {
				r.stop(err)
				return
			}
			r.s.mu.Lock()
			c.answeredBy = by
			r.s.mu.Unlock()
		}
	}
	r.stop(r.execute(target{url: c.url, method: c.urlMethod, twiml: c.twiml, fallback: true}))
}

// transition moves a call on: status is its new REST status ("" keeps it),
// event the status callback event it fires. false if the call has ended.
func (r *callRun) transition(status, event string) bool {
	s, c := r.s, r.c
	s.mu.Lock()
	if c.endedLocked() {
		s.mu.Unlock()
		return false
	}
	now := s.clock.Now()
	c.updated = now
	switch event {
	case "initiated":
		c.started = now
	case "answered":
		c.answered, c.answeredLine = now, c.lineTime
	}
	if status != "" {
		c.status = status
	}
	s.mu.Unlock()
	callStatus := event
	if event == "answered" {
		callStatus = "in-progress"
	}
	r.event(event, callStatus, nil)
	return true
}

// end sets the call's final status unless it already has one.
func (r *callRun) end(status, by string) {
	r.s.mu.Lock()
	r.s.endLocked(r.c, status, by)
	r.s.mu.Unlock()
}

// stop ends the call after its TwiML stopped for the reason err gives.
func (r *callRun) stop(err error) {
	var h hangUp
	var a *appError
	switch {
	case err == nil:
		r.end("completed", ByTwiML)
	case errors.As(err, &h):
		r.end("completed", h.by)
	case errors.As(err, &a):
		r.end("completed", ByError)
	}
	// errInterrupted: a REST update ended the call, or the simulator closed.
}

// step returns the context for what the call does next; a REST update
// cancels it to hang up or redirect.
func (r *callRun) step() (context.Context, context.CancelFunc) {
	s, c := r.s, r.c
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx, cancel := context.WithCancel(s.ctx)
	if c.endedLocked() || c.redirect != nil {
		cancel()
	}
	c.cancelStep = cancel
	return ctx, cancel
}

// wait lets d of simulated time pass on the line. It fails with
// errInterrupted when a REST update or the simulator's closing cuts in, and
// with hangUp when the call's TimeLimit or voicemail's limit comes first.
func (r *callRun) wait(d time.Duration) error {
	ctx, cancel := r.step()
	defer cancel()
	s, c := r.s, r.c
	var limit error
	s.mu.Lock()
	if r.limit > 0 {
		if left := r.limit - c.lineTime; d >= left {
			d, limit = max(left, 0), hangUp{r.limitBy}
		}
	}
	if !c.endedLocked() {
		c.waiting, c.waitStart, c.waitLen = true, s.clock.Now(), d
	}
	s.mu.Unlock()
	err := s.clock.Sleep(ctx, d)
	s.mu.Lock()
	if c.waiting { // not already counted by the call's end
		if err == nil {
			c.lineTime += d
		} else {
			c.lineTime = c.lineLocked(s.clock.Now())
		}
		c.waiting = false
	}
	s.mu.Unlock()
	if err != nil {
		return errInterrupted
	}
	return limit
}

func (r *callRun) addStep(st Step) {
	r.s.mu.Lock()
	st.At = r.s.clock.Now()
	r.c.steps = append(r.c.steps, st)
	r.s.mu.Unlock()
}

func (r *callRun) warn(code int, format string, args ...any) {
	r.addStep(Step{Verb: "Warning", Code: code, Text: fmt.Sprintf(format, args...)})
}

// fail records why Twilio gives up on the call and plays its apology.
func (r *callRun) fail(code int, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	r.addStep(Step{Verb: "Error", Code: code, Text: msg})
	r.addStep(Step{Verb: "Say", Text: applicationError, Language: "en-US"})
	r.s.log.Warn("call TwiML failed", "call", r.c.sid, "code", code)
	_ = r.wait(speakTime(applicationError))
	return &appError{code: code, msg: msg}
}

// execute runs TwiML from t until the call ends: it fetches a document,
// runs its verbs, and follows the action or redirect they end with.
func (r *callRun) execute(t target) error {
	for docs := 0; ; docs++ {
		if docs == maxDocuments {
			return r.fail(12100, "more than %d TwiML documents on one call: a redirect or action loop", maxDocuments)
		}
		verbs, docURL, err := r.fetch(t)
		var next *target
		if err == nil && t.hangUpBy != "" {
			return hangUp{t.hangUpBy}
		}
		if err == nil {
			next, err = r.runVerbs(verbs, docURL)
			if err == nil && next == nil {
				return nil
			}
		}
		if errors.Is(err, errInterrupted) {
			if red := r.takeRedirect(); red != nil {
				r.heard, r.played = nil, nil
				t = *red
				continue
			}
		}
		if err != nil {
			return err
		}
		t = *next
	}
}

func (r *callRun) takeRedirect() *target {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if r.c.endedLocked() || r.s.ctx.Err() != nil {
		return nil
	}
	t := r.c.redirect
	r.c.redirect = nil
	return t
}

// voiceParams are the parameters of every request Twilio makes about a
// call: the TwiML fetch, a <Gather> or <Record> action, a <Redirect>.
func (r *callRun) voiceParams() url.Values {
	s, c := r.s, r.c
	s.mu.Lock()
	status, answeredBy := c.status, c.answeredBy
	s.mu.Unlock()
	v := url.Values{}
	v.Set("AccountSid", s.accountSID)
	v.Set("ApiVersion", apiVersion)
	v.Set("CallSid", c.sid)
	v.Set("CallStatus", status)
	v.Set("Called", c.to)
	v.Set("Caller", c.from)
	v.Set("Direction", "outbound-api")
	v.Set("From", c.from)
	v.Set("To", c.to)
	if answeredBy != "" && !c.asyncAMD {
		v.Set("AnsweredBy", answeredBy)
	}
	return v
}

// fetch gets the TwiML of t. It returns the verbs and the document's URL
// (against which relative URLs in it resolve).
func (r *callRun) fetch(t target) ([]element, string, error) {
	if t.twiml != "" {
		verbs, err := parseTwiML([]byte(t.twiml))
		if err != nil {
			return nil, "", r.fail(12100, "Document parse failure: %v", err)
		}
		return verbs, "", nil
	}
	params := r.voiceParams()
	for k, v := range t.extra {
		params[k] = v
	}
	ctx, cancel := r.step()
	rep, err := r.s.send(ctx, hook{kind: hookTwiML, url: t.url, method: t.method, params: params})
	interrupted := ctx.Err() != nil
	cancel()
	if t.after != nil {
		r.q.push(*t.after) // recordings are ready only after the action was requested
	}
	if interrupted {
		return nil, "", errInterrupted
	}
	if t.hangUpBy != "" {
		return nil, t.url, nil // the call is over: Twilio ignores the answer
	}
	code, problem := 0, ""
	switch {
	case err != nil:
		code, problem = 11200, "HTTP retrieval failure: "+err.Error()
	case rep.status < 200 || rep.status > 299:
		code, problem = 11200, fmt.Sprintf("HTTP retrieval failure: %s answered %d", where(t.url), rep.status)
	}
	if code != 0 {
		if t.fallback && r.c.fallbackURL != "" {
			fb := target{url: r.c.fallbackURL, method: r.c.fallbackMethod, extra: url.Values{}}
			fb.extra.Set("ErrorCode", strconv.Itoa(code))
			fb.extra.Set("ErrorUrl", t.url)
			r.warn(code, "%s; trying FallbackUrl", problem)
			return r.fetch(fb)
		}
		return nil, "", r.fail(code, "%s", problem)
	}
	mediaType, _, _ := mime.ParseMediaType(rep.contentType)
	switch {
	case mediaType == "" || mediaType == "text/xml" || mediaType == "application/xml" || mediaType == "text/html":
		verbs, err := parseTwiML(rep.body)
		if err != nil {
			return nil, "", r.fail(12100, "Document parse failure: %v", err)
		}
		return verbs, t.url, nil
	case mediaType == "text/plain":
		return []element{{name: "Say", text: strings.TrimSpace(string(rep.body)), attrs: map[string]string{}}}, t.url, nil
	case strings.HasPrefix(mediaType, "audio/"):
		return []element{{name: "Play", text: t.url, attrs: map[string]string{}}}, t.url, nil
	default:
		return nil, "", r.fail(12300, "Invalid Content-Type: %s", rep.contentType)
	}
}

// detect is what answering machine detection concludes, and after how long.
func (r *callRun) detect() (answeredBy string, after time.Duration) {
	switch {
	case !r.machine:
		return "human", humanDetect
	case r.c.machineDetection == "DetectMessageEnd":
		return "machine_end_beep", beepDetect
	default:
		return "machine_start", machineDetect
	}
}

// detectInBackground posts the AsyncAmdStatusCallback once detection is
// done, while the TwiML runs; nothing is posted if the call ends first.
func (r *callRun) detectInBackground(by string, after time.Duration) {
	ctx, cancel := context.WithCancel(r.s.ctx)
	r.amdCancel, r.amdDone = cancel, make(chan struct{})
	go func() {
		defer close(r.amdDone)
		if r.s.clock.Sleep(ctx, after) != nil {
			return
		}
		s, c := r.s, r.c
		s.mu.Lock()
		if c.endedLocked() {
			s.mu.Unlock()
			return
		}
		c.answeredBy = by
		s.mu.Unlock()
		if c.amdCallback == "" {
			return
		}
		v := url.Values{}
		v.Set("AccountSid", s.accountSID)
		v.Set("CallSid", c.sid)
		v.Set("AnsweredBy", by)
		v.Set("MachineDetectionDuration", strconv.Itoa(int(after/time.Millisecond)))
		r.q.push(hook{kind: HookAMD, url: c.amdCallback, method: c.amdMethod, params: v, status: by, to: c.to})
	}()
}

// event queues a status callback if the call asked for this event, with
// Twilio's parameters: the call's, plus Timestamp, SequenceNumber and
// CallbackSource, plus extra.
func (r *callRun) event(event, callStatus string, extra url.Values) {
	s, c := r.s, r.c
	if !c.events[event] {
		return
	}
	v := r.voiceParams()
	v.Set("CallStatus", callStatus)
	s.mu.Lock()
	callback, method := c.statusCallback, c.statusMethod // a REST update may change them
	if callback == "" {
		s.mu.Unlock()
		return
	}
	v.Set("Timestamp", rfc2822(s.clock.Now()))
	v.Set("SequenceNumber", strconv.Itoa(c.seq))
	c.seq++
	if c.answeredBy != "" {
		v.Set("AnsweredBy", c.answeredBy)
	}
	s.mu.Unlock()
	v.Set("CallbackSource", "call-progress-events")
	for k, vs := range extra {
		v[k] = vs
	}
	r.q.push(hook{kind: HookCallStatus, url: callback, method: method, params: v, status: callStatus, to: c.to})
}

// final queues the completed event and, for a call created with
// Record=true, the recording's callback.
func (r *callRun) final() {
	s, c := r.s, r.c
	s.mu.Lock()
	status, secs, answered := c.status, c.durationLocked(), c.answered
	s.mu.Unlock()
	extra := url.Values{}
	extra.Set("CallDuration", strconv.Itoa(secs))
	extra.Set("Duration", strconv.Itoa((secs+59)/60))
	var rec *hook
	if c.record && !answered.IsZero() {
		sid := newSid("RE")
		recURL := "https://api.twilio.com/2010-04-01/Accounts/" + s.accountSID + "/Recordings/" + sid
		extra.Set("RecordingUrl", recURL)
		extra.Set("RecordingSid", sid)
		extra.Set("RecordingDuration", strconv.Itoa(secs))
		s.addRecording(recording{sid: sid, callSid: c.sid, seconds: secs, created: answered, source: "OutboundAPI"})
		if c.recordingURL != "" {
			rec = &hook{kind: HookRecordingStatus, url: c.recordingURL, method: c.recordingMethod, status: "completed", to: c.to,
				params: r.recordingParams(sid, recURL, secs, answered, "OutboundAPI")}
		}
	}
	r.event("completed", status, extra)
	if rec != nil {
		r.q.push(*rec)
	}
}
