package twiliosim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
)

// How long a message takes, in simulated time.
const (
	smsAccept     = 200 * time.Millisecond // a Messaging Service picks a sender
	smsQueueDelay = time.Second            // queued until handed to the carrier
	smsDeliver    = 2 * time.Second        // sent until the handset reports
	smsReplyDelay = 10 * time.Second       // delivered until the customer's reply arrives
)

// message is one SMS, outbound or inbound. State is guarded by
// Simulator.mu.
type message struct {
	sid            string
	from, to, body string
	serviceSid     string
	direction      string // "outbound-api" or "inbound"
	statusCallback string
	validity       time.Duration
	segments       int
	persona        Persona

	status    string // accepted, queued, sent, delivered, undelivered, failed; received for inbound
	errorCode int
	created   time.Time
	updated   time.Time
	sent      time.Time
	replySid  string
	done      chan struct{}
}

// MessageRecord is a snapshot of a message.
type MessageRecord struct {
	Sid, From, To, Body string
	Direction           string // "outbound-api" or "inbound"
	Status              string
	MessagingServiceSid string
	ErrorCode           int
	Created, Sent       time.Time
	// ReplySid is, for an outbound message, the customer's reply to it.
	ReplySid string
}

func (m *message) recordLocked() MessageRecord {
	return MessageRecord{
		Sid: m.sid, From: m.from, To: m.to, Body: m.body, Direction: m.direction, Status: m.status,
		MessagingServiceSid: m.serviceSid, ErrorCode: m.errorCode, Created: m.created, Sent: m.sent,
		ReplySid: m.replySid,
	}
}

// Message returns a snapshot of the message with this SID.
func (s *Simulator) Message(sid string) (MessageRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.msgs[sid]
	if !ok {
		return MessageRecord{}, false
	}
	return m.recordLocked(), true
}

// Messages returns snapshots of every message, outbound and inbound,
// oldest first.
func (s *Simulator) Messages() []MessageRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]MessageRecord, len(s.msgList))
	for i, m := range s.msgList {
		out[i] = m.recordLocked()
	}
	return out
}

// WaitMessage waits until an outbound message has reached its final status
// and its callbacks and the customer's reply (if any) have been delivered.
func (s *Simulator) WaitMessage(ctx context.Context, sid string) (MessageRecord, error) {
	s.mu.Lock()
	m, ok := s.msgs[sid]
	s.mu.Unlock()
	if !ok {
		return MessageRecord{}, fmt.Errorf("twiliosim: no message %s", sid)
	}
	select {
	case <-m.done:
	case <-ctx.Done():
		return MessageRecord{}, ctx.Err()
	}
	r, _ := s.Message(sid)
	return r, nil
}

// OptedOut reports whether customer has opted out of messages from sender
// (one of our numbers).
func (s *Simulator) OptedOut(customer, sender string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.blocked[customer+"|"+sender]
}

func (s *Simulator) createMessage(r *http.Request) (int, any, *apiError) {
	f := r.PostForm
	m := &message{
		to: f.Get("To"), from: f.Get("From"), body: f.Get("Body"), serviceSid: f.Get("MessagingServiceSid"),
		direction: "outbound-api", done: make(chan struct{}),
	}
	switch {
	case m.to == "":
		return 0, nil, badRequest(21604, "A 'To' phone number is required.")
	case m.from == "" && m.serviceSid == "":
		return 0, nil, badRequest(21603, "A 'From' phone number is required.")
	case m.serviceSid != "" && !validSid(m.serviceSid, "MG"):
		return 0, nil, invalidParam("MessagingServiceSid", m.serviceSid, `"MG" and 32 hex digits`)
	case m.body == "" && f.Get("MediaUrl") == "" && f.Get("ContentSid") == "":
		return 0, nil, badRequest(21602, "Message body is required.")
	case len([]rune(m.body)) > 1600:
		return 0, nil, badRequest(21617, "The concatenated message body exceeds the 1600 character limit.")
	case !validE164(m.to):
		return 0, nil, badRequest(21211, "Invalid 'To' Phone Number: %s", m.to)
	case m.from != "" && !validE164(m.from):
		return 0, nil, badRequest(21212, "Invalid 'From' Phone Number: %s", m.from)
	}
	if m.from == "" {
		m.from = s.svcNumber
	}
	if m.from == m.to {
		return 0, nil, badRequest(21266, "'To' and 'From' number cannot be the same: %s", m.to)
	}
	var err *apiError
	if m.statusCallback, err = optionalURL(f, "StatusCallback", 21609); err != nil {
		return 0, nil, err
	}
	if v := f.Get("ValidityPeriod"); v != "" {
		n, convErr := strconv.Atoi(v)
		if convErr != nil || n < 1 || n > 36000 {
			return 0, nil, badRequest(21624, "Invalid validity period value: %s (whole seconds from 1 to 36000)", v)
		}
		m.validity = time.Duration(n) * time.Second
	}
	m.sid = newSid("SM")
	m.segments = segments(m.body)
	m.persona = s.persona(m.to)
	now := s.clock.Now()
	s.mu.Lock()
	if s.blocked[m.to+"|"+m.from] {
		s.mu.Unlock()
		return 0, nil, badRequest(21610, "Attempt to send to unsubscribed recipient")
	}
	if !s.beginLocked() {
		s.mu.Unlock()
		return 0, nil, statusError(http.StatusServiceUnavailable)
	}
	m.status, m.created, m.updated = "queued", now, now
	if m.serviceSid != "" && f.Get("From") == "" {
		m.status = "accepted"
	}
	s.msgs[m.sid] = m
	s.msgList = append(s.msgList, m)
	body := s.messageJSONLocked(m)
	s.mu.Unlock()
	s.log.Info("message created", "message", m.sid, "to", mask(m.to))
	go s.runMessage(m)
	return http.StatusCreated, body, nil
}

// runMessage takes a message through Twilio's statuses — accepted (with a
// Messaging Service), queued, sent, then delivered, undelivered or failed —
// posting a status callback for each, then lets the persona reply.
func (s *Simulator) runMessage(m *message) {
	defer s.finish()
	defer close(m.done)
	q := s.newHookQueue()
	defer func() { q.close(); <-q.done }()
	sleep := func(d time.Duration) bool { return s.clock.Sleep(s.ctx, d) == nil }
	if s.messageStatus(m) == "accepted" {
		if !sleep(smsAccept) {
			return
		}
	}
	s.setMessageStatus(m, q, "queued", 0)
	if !sleep(smsQueueDelay) {
		return
	}
	if m.validity > 0 && s.clock.Now().Sub(m.created) > m.validity {
		s.setMessageStatus(m, q, "failed", 30036) // validity period expired
		return
	}
	d := Delivery{Status: "delivered"}
	if dd, ok := m.persona.(DeliveryDecider); ok {
		d = dd.Deliver(SMS{MessageSid: m.sid, From: m.from, To: m.to, Body: m.body})
	}
	if d.Status == "failed" {
		s.setMessageStatus(m, q, "failed", cmp(d.ErrorCode, 30003))
		return
	}
	s.setMessageStatus(m, q, "sent", 0)
	if !sleep(smsDeliver) {
		return
	}
	if d.Status == "undelivered" {
		s.setMessageStatus(m, q, "undelivered", cmp(d.ErrorCode, 30003))
		return
	}
	s.setMessageStatus(m, q, "delivered", 0)
	reply, ok := m.persona.Reply(SMS{MessageSid: m.sid, From: m.from, To: m.to, Body: m.body})
	if !ok || !sleep(smsReplyDelay) {
		return
	}
	sid := s.receive(m.to, m.from, reply, m.serviceSid, q)
	s.mu.Lock()
	m.replySid = sid
	s.mu.Unlock()
}

// cmp returns code, or def when code is zero.
func cmp(code, def int) int {
	if code == 0 {
		return def
	}
	return code
}

func (s *Simulator) messageStatus(m *message) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return m.status
}

// setMessageStatus moves a message on and queues its status callback with
// Twilio's parameters.
func (s *Simulator) setMessageStatus(m *message, q *hookQueue, status string, errorCode int) {
	s.mu.Lock()
	now := s.clock.Now()
	m.status, m.errorCode, m.updated = status, errorCode, now
	if status == "sent" {
		m.sent = now
	}
	s.mu.Unlock()
	if m.statusCallback == "" {
		return
	}
	v := url.Values{}
	v.Set("AccountSid", s.accountSID)
	v.Set("ApiVersion", apiVersion)
	v.Set("From", m.from)
	v.Set("To", m.to)
	v.Set("MessageSid", m.sid)
	v.Set("SmsSid", m.sid)
	v.Set("MessageStatus", status)
	v.Set("SmsStatus", status)
	if m.serviceSid != "" {
		v.Set("MessagingServiceSid", m.serviceSid)
	}
	if errorCode != 0 {
		v.Set("ErrorCode", strconv.Itoa(errorCode))
	}
	q.push(hook{kind: HookMessageStatus, url: m.statusCallback, method: http.MethodPost, params: v, status: status, to: m.to})
}

// receive is a text from a customer to one of our numbers: it is stored as
// an inbound message, applies opt-out and opt-in words (blocking or
// unblocking that number's messages to the customer), and is posted, signed,
// to Options.SMSURL. It returns the message's SID.
func (s *Simulator) receive(customer, ours, body, serviceSid string, q *hookQueue) string {
	now := s.clock.Now()
	m := &message{
		sid: newSid("SM"), from: customer, to: ours, body: body, serviceSid: serviceSid,
		direction: "inbound", status: "received", created: now, updated: now, sent: now,
		segments: segments(body), done: make(chan struct{}),
	}
	close(m.done)
	word := foldKeyword(body)
	s.mu.Lock()
	s.msgs[m.sid] = m
	s.msgList = append(s.msgList, m)
	switch {
	case s.optOut[word]:
		s.blocked[customer+"|"+ours] = true
	case s.optIn[word]:
		delete(s.blocked, customer+"|"+ours)
	}
	s.mu.Unlock()
	if s.smsURL == "" {
		return m.sid
	}
	v := url.Values{}
	v.Set("AccountSid", s.accountSID)
	v.Set("ApiVersion", apiVersion)
	v.Set("MessageSid", m.sid)
	v.Set("SmsMessageSid", m.sid)
	v.Set("SmsSid", m.sid)
	v.Set("SmsStatus", "received")
	v.Set("From", customer)
	v.Set("To", ours)
	v.Set("Body", body)
	v.Set("NumMedia", "0")
	v.Set("NumSegments", strconv.Itoa(m.segments))
	if c := country(customer); c != "" {
		v.Set("FromCountry", c)
	}
	if c := country(ours); c != "" {
		v.Set("ToCountry", c)
	}
	if serviceSid != "" {
		v.Set("MessagingServiceSid", serviceSid)
	}
	if t, ok := twilioKeywords[word]; ok {
		v.Set("OptOutType", t)
	}
	q.push(hook{kind: HookIncomingSMS, url: s.smsURL, method: s.smsMethod, params: v, status: "received", to: customer})
	return m.sid
}

// Inbound delivers a text from customer to our number ours, as if the
// customer had typed it: it is stored, its opt-out or opt-in word (if it is
// one) takes effect, and it is posted signed to Options.SMSURL. Inbound
// returns once the webhook has been delivered (or dropped by a fault).
func (s *Simulator) Inbound(ctx context.Context, customer, ours, body string) (string, error) {
	if !validE164(customer) || !validE164(ours) {
		return "", errors.New("twiliosim: Inbound: both numbers must be E.164")
	}
	if body == "" {
		return "", errors.New("twiliosim: Inbound: empty body")
	}
	s.mu.Lock()
	if !s.beginLocked() {
		s.mu.Unlock()
		return "", errors.New("twiliosim: Inbound: simulator closed")
	}
	s.mu.Unlock()
	defer s.finish()
	q := s.newHookQueue()
	sid := s.receive(customer, ours, body, "", q)
	q.close()
	select {
	case <-q.done:
		return sid, nil
	case <-ctx.Done():
		return sid, ctx.Err()
	}
}

func (s *Simulator) fetchMessage(r *http.Request) (int, any, *apiError) {
	sid, err := resourceSid(r, "SM")
	if err != nil {
		return 0, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.msgs[sid]
	if !ok {
		return 0, nil, notFound(r.URL.Path)
	}
	return http.StatusOK, s.messageJSONLocked(m), nil
}

func (s *Simulator) listMessages(r *http.Request) (int, any, *apiError) {
	f := r.Form
	sent, err := parseTimeFilter(f, "DateSent")
	if err != nil {
		return 0, nil, err
	}
	filters := url.Values{}
	for _, k := range []string{"To", "From", "DateSent", "DateSent>", "DateSent<"} {
		if v := f.Get(k); v != "" {
			filters.Set(k, v)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var sids []string
	for i := len(s.msgList) - 1; i >= 0; i-- {
		m := s.msgList[i]
		if (filters.Get("To") != "" && m.to != filters.Get("To")) ||
			(filters.Get("From") != "" && m.from != filters.Get("From")) || !sent.match(m.sent) {
			continue
		}
		sids = append(sids, m.sid)
	}
	pg, sids, err := paginate(f, "/2010-04-01/Accounts/"+s.accountSID+"/Messages.json", filters, sids)
	if err != nil {
		return 0, nil, err
	}
	out := struct {
		Messages []messageJSON `json:"messages"`
		page
	}{Messages: make([]messageJSON, 0, len(sids)), page: pg}
	for _, sid := range sids {
		out.Messages = append(out.Messages, s.messageJSONLocked(s.msgs[sid]))
	}
	return http.StatusOK, out, nil
}

// messageJSON is a Message resource as Twilio's API returns it.
type messageJSON struct {
	AccountSid          string            `json:"account_sid"`
	APIVersion          string            `json:"api_version"`
	Body                string            `json:"body"`
	DateCreated         string            `json:"date_created"`
	DateSent            *string           `json:"date_sent"`
	DateUpdated         string            `json:"date_updated"`
	Direction           string            `json:"direction"`
	ErrorCode           *int              `json:"error_code"`
	ErrorMessage        *string           `json:"error_message"`
	From                *string           `json:"from"`
	MessagingServiceSid *string           `json:"messaging_service_sid"`
	NumMedia            string            `json:"num_media"`
	NumSegments         string            `json:"num_segments"`
	Price               *string           `json:"price"`
	PriceUnit           string            `json:"price_unit"`
	Sid                 string            `json:"sid"`
	Status              string            `json:"status"`
	SubresourceURIs     map[string]string `json:"subresource_uris"`
	To                  string            `json:"to"`
	URI                 string            `json:"uri"`
}

func (s *Simulator) messageJSONLocked(m *message) messageJSON {
	base := "/2010-04-01/Accounts/" + s.accountSID + "/Messages/" + m.sid
	j := messageJSON{
		AccountSid: s.accountSID, APIVersion: apiVersion, Body: m.body,
		DateCreated: rfc2822(m.created), DateSent: timep(m.sent), DateUpdated: rfc2822(m.updated),
		Direction: m.direction, From: strp(m.from), MessagingServiceSid: strp(m.serviceSid),
		NumMedia: "0", NumSegments: strconv.Itoa(m.segments), PriceUnit: "USD", Sid: m.sid,
		Status: m.status, To: m.to, URI: base + ".json",
		SubresourceURIs: map[string]string{"media": base + "/Media.json", "feedback": base + "/Feedback.json"},
	}
	if m.status == "accepted" {
		j.From = nil // the Messaging Service has not picked a sender yet
	}
	if m.errorCode != 0 {
		code := m.errorCode
		j.ErrorCode = &code
	}
	return j
}

// foldKeyword reduces a reply to the form keywords are matched in: trimmed
// of spaces and punctuation, full-width letters made ASCII, lower case,
// inner spaces collapsed. " Stop! " and "ＳＴＯＰ" both become "stop".
func foldKeyword(s string) string {
	s = strings.Map(func(r rune) rune {
		if r >= 0xFF01 && r <= 0xFF5E { // full-width ASCII
			r -= 0xFEE0
		}
		if r == 0x3000 {
			r = ' '
		}
		return unicode.ToLower(r)
	}, s)
	s = strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) })
	return strings.Join(strings.Fields(s), " ")
}

// gsm7 is the GSM 03.38 basic character set; gsm7ext the extension
// characters that cost two septets.
const (
	gsm7    = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsm7ext = "^{}\\[~]|€\f"
)

// segments counts the SMS segments of body as carriers do: GSM-7 text
// fits 160 characters in one segment and 153 per segment when split;
// anything else is UCS-2, 70 and 67.
func segments(body string) int {
	septets, gsm := 0, true
	for _, r := range body {
		switch {
		case strings.ContainsRune(gsm7, r):
			septets++
		case strings.ContainsRune(gsm7ext, r):
			septets += 2
		default:
			gsm = false
		}
	}
	if gsm {
		if septets <= 160 {
			return 1
		}
		return (septets + 152) / 153
	}
	units := len(utf16.Encode([]rune(body)))
	if units <= 70 {
		return 1
	}
	return (units + 66) / 67
}

// country is the ISO country of a number, for the few country codes the
// simulator knows; "" otherwise.
func country(number string) string {
	for _, p := range []struct{ prefix, iso string }{
		{"+1", "US"}, {"+86", "CN"}, {"+852", "HK"}, {"+853", "MO"}, {"+886", "TW"}, {"+44", "GB"},
		{"+65", "SG"}, {"+61", "AU"}, {"+81", "JP"}, {"+82", "KR"}, {"+49", "DE"}, {"+33", "FR"},
	} {
		if strings.HasPrefix(number, p.prefix) {
			return p.iso
		}
	}
	return ""
}
