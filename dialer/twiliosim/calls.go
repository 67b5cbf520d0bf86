package twiliosim

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// call is one call's parameters, as CreateCall gave them, and its state.
// The state fields are guarded by Simulator.mu.
type call struct {
	sid  string
	from string
	to   string

	url, urlMethod   string
	twiml            string
	fallbackURL      string
	fallbackMethod   string
	statusCallback   string
	statusMethod     string
	events           map[string]bool // status callback events wanted
	timeout          time.Duration   // how long to ring
	machineDetection string          // "", "Enable" or "DetectMessageEnd"
	asyncAMD         bool
	amdCallback      string
	amdMethod        string
	timeLimit        time.Duration // the longest the call may last once answered
	record           bool
	recordingURL     string // RecordingStatusCallback of the call
	recordingMethod  string
	persona          Persona

	status     string // queued, ringing, in-progress, completed, busy, no-answer, failed, canceled
	created    time.Time
	updated    time.Time
	started    time.Time
	answered   time.Time
	ended      time.Time
	answeredBy string
	hungUpBy   string
	seq        int // SequenceNumber of the next status callback
	// Line time is the simulated time the call has spent: the sum of its
	// waits (rings, speech, pauses, timeouts). Durations come from it, not
	// from the clock, so they do not depend on how busy the machine running
	// the simulator is.
	lineTime     time.Duration
	answeredLine time.Duration // lineTime when the call was answered
	waiting      bool          // a wait is in progress, since waitStart, for waitLen
	waitStart    time.Time
	waitLen      time.Duration
	steps        []Step
	redirect     *target            // a REST update waiting to take over the call
	cancelStep   context.CancelFunc // interrupts what the call is doing now
	done         chan struct{}      // closed when the call and its callbacks are over
}

// Who ended a call (CallRecord.HungUpBy).
const (
	ByCustomer  = "customer"   // the persona hung up
	ByMachine   = "machine"    // voicemail hung up at its limit
	ByTwiML     = "twiml"      // <Hangup>, or the TwiML ran out of verbs
	ByAPI       = "api"        // a REST update set Status completed or canceled
	ByError     = "error"      // Twilio gave up on the TwiML (an application error)
	ByTimeLimit = "time-limit" // the call reached its TimeLimit (4 hours by default)
)

func (c *call) endedLocked() bool {
	switch c.status {
	case "completed", "busy", "no-answer", "failed", "canceled":
		return true
	}
	return false
}

// lineLocked is the call's line time now, counting a wait in progress.
func (c *call) lineLocked(now time.Time) time.Duration {
	d := c.lineTime
	if c.waiting {
		d += min(max(now.Sub(c.waitStart), 0), c.waitLen)
	}
	return d
}

// durationLocked is the billable length in whole seconds, from answer to
// hang-up (so far, while in progress), rounded up as Twilio rounds.
func (c *call) durationLocked() int {
	if c.answered.IsZero() {
		return 0
	}
	d := c.lineTime - c.answeredLine
	return int((d + time.Second - 1) / time.Second)
}

// Step is one thing that happened on a call's line, in order: what Twilio
// said or played, what the customer pressed or said, and what went wrong.
type Step struct {
	At time.Time
	// Verb is the TwiML verb ("Say", "Play", "Pause", "Gather", "Record",
	// "Dial", "Redirect", "Hangup"), or "Error" for a failure that ended
	// the call (Twilio's "application error"), or "Warning" for TwiML
	// Twilio would have flagged and skipped.
	Verb string
	// Text is what was said (Say), the URL played, fetched or redirected
	// to (Play, Redirect), the number dialled (Dial), or the message of an
	// Error or Warning.
	Text     string
	Voice    string
	Language string
	// Digits and Speech are the customer's input to a Gather or Record;
	// RecordingSid and Duration (seconds) describe a recording.
	Digits       string
	Speech       string
	RecordingSid string
	Duration     int
	// Code is Twilio's error or warning code (11200 HTTP retrieval
	// failure, 12100 document parse failure, 12200 schema warning …).
	Code int
}

// CallRecord is a snapshot of a call: its REST fields and every Step.
type CallRecord struct {
	Sid, From, To string
	Status        string
	AnsweredBy    string
	Created       time.Time
	Started       time.Time
	Answered      time.Time
	Ended         time.Time
	Duration      int    // seconds, answer to hang-up
	HungUpBy      string // ByCustomer, ByMachine, ByTwiML, ByAPI, ByError; "" if unanswered or running
	Steps         []Step
}

// Said lists the texts Twilio spoke on the call, in order.
func (r CallRecord) Said() []string {
	var out []string
	for _, st := range r.Steps {
		if st.Verb == "Say" {
			out = append(out, st.Text)
		}
	}
	return out
}

// Problems lists the call's Error and Warning steps: TwiML Twilio would
// have rejected or flagged. A healthy call has none.
func (r CallRecord) Problems() []Step {
	var out []Step
	for _, st := range r.Steps {
		if st.Verb == "Error" || st.Verb == "Warning" {
			out = append(out, st)
		}
	}
	return out
}

func (c *call) recordLocked() CallRecord {
	return CallRecord{
		Sid: c.sid, From: c.from, To: c.to, Status: c.status, AnsweredBy: c.answeredBy,
		Created: c.created, Started: c.started, Answered: c.answered, Ended: c.ended,
		Duration: c.durationLocked(), HungUpBy: c.hungUpBy, Steps: slices.Clone(c.steps),
	}
}

// Call returns a snapshot of the call with this SID.
func (s *Simulator) Call(sid string) (CallRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.calls[sid]
	if !ok {
		return CallRecord{}, false
	}
	return c.recordLocked(), true
}

// Calls returns snapshots of every call, oldest first.
func (s *Simulator) Calls() []CallRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]CallRecord, len(s.callList))
	for i, c := range s.callList {
		out[i] = c.recordLocked()
	}
	return out
}

// WaitCall waits until the call has ended and all its callbacks have been
// delivered (or given up), then returns its final snapshot.
func (s *Simulator) WaitCall(ctx context.Context, sid string) (CallRecord, error) {
	s.mu.Lock()
	c, ok := s.calls[sid]
	s.mu.Unlock()
	if !ok {
		return CallRecord{}, &apiError{Status: http.StatusNotFound, Code: 20404, Message: "no call " + sid}
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		return CallRecord{}, ctx.Err()
	}
	r, _ := s.Call(sid)
	return r, nil
}

// callEvents are the StatusCallbackEvent values Twilio knows.
var callEvents = map[string]bool{"initiated": true, "ringing": true, "answered": true, "completed": true}

func (s *Simulator) createCall(r *http.Request) (int, any, *apiError) {
	f := r.PostForm
	c := &call{to: f.Get("To"), from: f.Get("From"), twiml: f.Get("Twiml"), done: make(chan struct{})}
	var err *apiError
	switch {
	case c.to == "":
		return 0, nil, badRequest(21201, "No 'To' number is specified")
	case c.from == "":
		return 0, nil, badRequest(21213, "No 'From' number is specified")
	case !validE164(c.to):
		return 0, nil, badRequest(21211, "Invalid 'To' Phone Number: %s", c.to)
	case !validE164(c.from):
		return 0, nil, badRequest(21212, "Invalid 'From' Phone Number: %s", c.from)
	}
	if c.url, err = optionalURL(f, "Url", 21205); err != nil {
		return 0, nil, err
	}
	if c.url == "" && c.twiml == "" {
		return 0, nil, badRequest(21205, "Url parameter is required (or Twiml; the simulator has no applications for ApplicationSid)")
	}
	if c.url != "" {
		c.twiml = "" // Twilio ignores Twiml when Url is given
	}
	if len(c.twiml) > 4000 {
		return 0, nil, invalidParam("Twiml", fmt.Sprintf("(%d characters)", len(c.twiml)), "at most 4000 characters")
	}
	if c.urlMethod, err = method(f, "Method"); err != nil {
		return 0, nil, err
	}
	if c.fallbackURL, err = optionalURL(f, "FallbackUrl", 21205); err != nil {
		return 0, nil, err
	}
	if c.fallbackMethod, err = method(f, "FallbackMethod"); err != nil {
		return 0, nil, err
	}
	if c.statusCallback, err = optionalURL(f, "StatusCallback", 21205); err != nil {
		return 0, nil, err
	}
	if c.statusMethod, err = method(f, "StatusCallbackMethod"); err != nil {
		return 0, nil, err
	}
	c.events = map[string]bool{}
	for _, v := range f["StatusCallbackEvent"] {
		for _, ev := range strings.Fields(v) { // Twilio also takes them space-separated
			if !callEvents[ev] {
				return 0, nil, invalidParam("StatusCallbackEvent", ev, "initiated, ringing, answered or completed")
			}
			c.events[ev] = true
		}
	}
	if len(c.events) == 0 {
		c.events["completed"] = true
	}
	c.timeout = 60 * time.Second
	if v := f.Get("Timeout"); v != "" {
		n, convErr := strconv.Atoi(v)
		if convErr != nil || n < 1 {
			return 0, nil, invalidParam("Timeout", v, "whole seconds from 1 to 600")
		}
		c.timeout = time.Duration(min(n, 600)) * time.Second
	}
	c.timeLimit = 4 * time.Hour
	if v := f.Get("TimeLimit"); v != "" {
		n, convErr := strconv.Atoi(v)
		if convErr != nil || n < 1 {
			return 0, nil, invalidParam("TimeLimit", v, "whole seconds from 1")
		}
		c.timeLimit = time.Duration(min(n, 86400)) * time.Second
	}
	switch c.machineDetection = f.Get("MachineDetection"); c.machineDetection {
	case "", "Enable", "DetectMessageEnd":
	default:
		return 0, nil, invalidParam("MachineDetection", c.machineDetection, "Enable or DetectMessageEnd")
	}
	if c.asyncAMD, err = optionalBool(f, "AsyncAmd"); err != nil {
		return 0, nil, err
	}
	if c.amdCallback, err = optionalURL(f, "AsyncAmdStatusCallback", 21205); err != nil {
		return 0, nil, err
	}
	if c.amdMethod, err = method(f, "AsyncAmdStatusCallbackMethod"); err != nil {
		return 0, nil, err
	}
	if c.record, err = optionalBool(f, "Record"); err != nil {
		return 0, nil, err
	}
	if c.recordingURL, err = optionalURL(f, "RecordingStatusCallback", 21205); err != nil {
		return 0, nil, err
	}
	if c.recordingMethod, err = method(f, "RecordingStatusCallbackMethod"); err != nil {
		return 0, nil, err
	}

	c.sid = newSid("CA")
	c.persona = s.persona(c.to)
	now := s.clock.Now()
	s.mu.Lock()
	if !s.beginLocked() {
		s.mu.Unlock()
		return 0, nil, statusError(http.StatusServiceUnavailable)
	}
	c.status, c.created, c.updated = "queued", now, now
	s.calls[c.sid] = c
	s.callList = append(s.callList, c)
	body := s.callJSONLocked(c)
	s.mu.Unlock()
	s.log.Info("call created", "call", c.sid, "to", mask(c.to))
	go s.runCall(c)
	return http.StatusCreated, body, nil
}

func (s *Simulator) fetchCall(r *http.Request) (int, any, *apiError) {
	sid, err := resourceSid(r, "CA")
	if err != nil {
		return 0, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.calls[sid]
	if !ok {
		return 0, nil, notFound(r.URL.Path)
	}
	return http.StatusOK, s.callJSONLocked(c), nil
}

// updateCall ends or redirects a call: Status=completed hangs up a call in
// progress (and cancels one not yet answered), Status=canceled cancels a
// queued or ringing call, Url or Twiml replace the TwiML of a call in
// progress. Updating a call that has ended changes nothing.
func (s *Simulator) updateCall(r *http.Request) (int, any, *apiError) {
	sid, apiErr := resourceSid(r, "CA")
	if apiErr != nil {
		return 0, nil, apiErr
	}
	f := r.PostForm
	status := f.Get("Status")
	if status != "" && status != "completed" && status != "canceled" {
		return 0, nil, invalidParam("Status", status, "completed or canceled")
	}
	var t *target
	if u, err := optionalURL(f, "Url", 21205); err != nil {
		return 0, nil, err
	} else if u != "" || f.Get("Twiml") != "" {
		m, err := method(f, "Method")
		if err != nil {
			return 0, nil, err
		}
		t = &target{url: u, method: m}
		if u == "" {
			t.twiml = f.Get("Twiml")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.calls[sid]
	if !ok {
		return 0, nil, notFound(r.URL.Path)
	}
	if sc, err := optionalURL(f, "StatusCallback", 21205); err != nil {
		return 0, nil, err
	} else if sc != "" {
		c.statusCallback = sc
	}
	if f.Get("StatusCallbackMethod") != "" {
		m, err := method(f, "StatusCallbackMethod")
		if err != nil {
			return 0, nil, err
		}
		c.statusMethod = m
	}
	switch {
	case c.endedLocked():
		if t != nil && status == "" {
			return 0, nil, badRequest(21220, "Call is not in-progress. Cannot redirect.")
		}
	case status == "completed" || (status == "canceled" && c.status != "in-progress"):
		final := status
		if c.status != "in-progress" {
			final = "canceled"
		}
		s.endLocked(c, final, ByAPI)
	case t != nil:
		if c.status != "in-progress" {
			return 0, nil, badRequest(21220, "Call is not in-progress. Cannot redirect.")
		}
		c.redirect = t
		if c.cancelStep != nil {
			c.cancelStep()
		}
	}
	c.updated = s.clock.Now()
	return http.StatusOK, s.callJSONLocked(c), nil
}

// endLocked ends the call with its final status, once, and interrupts
// whatever its runner is doing. The runner sends the final callback.
func (s *Simulator) endLocked(c *call, status, by string) bool {
	if c.endedLocked() {
		return false
	}
	now := s.clock.Now()
	c.lineTime, c.waiting = c.lineLocked(now), false // the line goes quiet now
	c.status, c.ended, c.updated = status, now, now
	if !c.answered.IsZero() {
		c.hungUpBy = by
	}
	if c.cancelStep != nil {
		c.cancelStep()
	}
	return true
}

func (s *Simulator) listCalls(r *http.Request) (int, any, *apiError) {
	f := r.Form
	start, err := parseTimeFilter(f, "StartTime")
	if err != nil {
		return 0, nil, err
	}
	end, err := parseTimeFilter(f, "EndTime")
	if err != nil {
		return 0, nil, err
	}
	filters := url.Values{}
	for _, k := range []string{"To", "From", "Status", "ParentCallSid", "StartTime", "StartTime>", "StartTime<", "EndTime", "EndTime>", "EndTime<"} {
		if v := f.Get(k); v != "" {
			filters.Set(k, v)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var sids []string
	for i := len(s.callList) - 1; i >= 0; i-- { // newest first, as Twilio lists
		c := s.callList[i]
		if (filters.Get("To") != "" && c.to != filters.Get("To")) ||
			(filters.Get("From") != "" && c.from != filters.Get("From")) ||
			(filters.Get("Status") != "" && c.status != filters.Get("Status")) ||
			filters.Get("ParentCallSid") != "" ||
			!start.match(c.started) || !end.match(c.ended) {
			continue
		}
		sids = append(sids, c.sid)
	}
	pg, sids, err := paginate(f, "/2010-04-01/Accounts/"+s.accountSID+"/Calls.json", filters, sids)
	if err != nil {
		return 0, nil, err
	}
	out := struct {
		Calls []callJSON `json:"calls"`
		page
	}{Calls: make([]callJSON, 0, len(sids)), page: pg}
	for _, sid := range sids {
		out.Calls = append(out.Calls, s.callJSONLocked(s.calls[sid]))
	}
	return http.StatusOK, out, nil
}

// callJSON is a Call resource as Twilio's API returns it: every field
// present, null where Twilio has no value.
type callJSON struct {
	AccountSid      string            `json:"account_sid"`
	Annotation      *string           `json:"annotation"`
	AnsweredBy      *string           `json:"answered_by"`
	APIVersion      string            `json:"api_version"`
	CallerName      *string           `json:"caller_name"`
	DateCreated     string            `json:"date_created"`
	DateUpdated     string            `json:"date_updated"`
	Direction       string            `json:"direction"`
	Duration        *string           `json:"duration"`
	EndTime         *string           `json:"end_time"`
	ForwardedFrom   *string           `json:"forwarded_from"`
	From            string            `json:"from"`
	FromFormatted   string            `json:"from_formatted"`
	GroupSid        *string           `json:"group_sid"`
	ParentCallSid   *string           `json:"parent_call_sid"`
	PhoneNumberSid  *string           `json:"phone_number_sid"`
	Price           *string           `json:"price"`
	PriceUnit       string            `json:"price_unit"`
	QueueTime       string            `json:"queue_time"`
	Sid             string            `json:"sid"`
	StartTime       *string           `json:"start_time"`
	Status          string            `json:"status"`
	SubresourceURIs map[string]string `json:"subresource_uris"`
	To              string            `json:"to"`
	ToFormatted     string            `json:"to_formatted"`
	TrunkSid        *string           `json:"trunk_sid"`
	URI             string            `json:"uri"`
}

func (s *Simulator) callJSONLocked(c *call) callJSON {
	base := "/2010-04-01/Accounts/" + s.accountSID + "/Calls/" + c.sid
	j := callJSON{
		AccountSid: s.accountSID, AnsweredBy: strp(c.answeredBy), APIVersion: apiVersion,
		DateCreated: rfc2822(c.created), DateUpdated: rfc2822(c.updated), Direction: "outbound-api",
		EndTime: timep(c.ended), From: c.from, FromFormatted: formatted(c.from), PriceUnit: "USD",
		QueueTime: "0", Sid: c.sid, StartTime: timep(c.started), Status: c.status,
		To: c.to, ToFormatted: formatted(c.to), URI: base + ".json",
		SubresourceURIs: map[string]string{
			"events":                             base + "/Events.json",
			"notifications":                      base + "/Notifications.json",
			"recordings":                         base + "/Recordings.json",
			"payments":                           base + "/Payments.json",
			"siprec":                             base + "/Siprec.json",
			"streams":                            base + "/Streams.json",
			"transcriptions":                     base + "/Transcriptions.json",
			"user_defined_message_subscriptions": base + "/UserDefinedMessageSubscriptions.json",
			"user_defined_messages":              base + "/UserDefinedMessages.json",
		},
	}
	if c.endedLocked() {
		d := strconv.Itoa(c.durationLocked())
		j.Duration = &d
	}
	return j
}
