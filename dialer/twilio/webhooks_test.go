package twilio_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huifang/huifang/dialer"
	"github.com/huifang/huifang/dialer/twilio"
	"github.com/huifang/huifang/dialer/twiliosim"
	"github.com/huifang/huifang/surveys"
	"github.com/huifang/huifang/workorders/sample"
)

// The tests in this file post webhooks to the rig's server the way Twilio
// delivers them: to the URL Huifang gave Twilio (or the <Gather> action of
// the TwiML it answered), with the form parameters Twilio sends, signed with
// the account's auth token by twiliosim.Signature, which reproduces the
// example in Twilio's security documentation (see
// TestWebhooksAcceptTwiliosDocumentedExample).

// newSID is a Twilio SID: its two-letter prefix and 32 lower-case hex digits.
func newSID(prefix string) string {
	b := make([]byte, 16)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// countryOf is the ISO country Twilio reports for a number (FromCountry …).
func countryOf(e164 string) string {
	if strings.HasPrefix(e164, "+86") {
		return "CN"
	}
	return "US"
}

// with returns a copy of v with the name/value pairs of kv set.
func with(v url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Set(kv[i], kv[i+1])
	}
	return out
}

// without returns a copy of v without the named parameters.
func without(v url.Values, names ...string) url.Values {
	out := with(v)
	for _, n := range names {
		out.Del(n)
	}
	return out
}

// voiceForm is what Twilio posts with every request about an outbound-api
// call (the TwiML fetch, a <Gather> action, a status callback), plus kv.
func voiceForm(account, callSid, customer, status string, kv ...string) url.Values {
	return with(url.Values{
		"AccountSid":    {account},
		"ApiVersion":    {"2010-04-01"},
		"CallSid":       {callSid},
		"CallStatus":    {status},
		"Called":        {customer},
		"CalledCountry": {countryOf(customer)},
		"Caller":        {ourNumber},
		"CallerCountry": {"US"},
		"Direction":     {"outbound-api"},
		"From":          {ourNumber},
		"FromCountry":   {"US"},
		"To":            {customer},
		"ToCountry":     {countryOf(customer)},
	}, kv...)
}

// statusForm is a call status callback: the call's parameters plus
// CallbackSource, SequenceNumber and Timestamp.
func statusForm(account, callSid, customer, status string, seq int, kv ...string) url.Values {
	v := voiceForm(account, callSid, customer, status,
		"CallbackSource", "call-progress-events",
		"SequenceNumber", strconv.Itoa(seq),
		"Timestamp", time.Now().UTC().Format(time.RFC1123Z))
	return with(v, kv...)
}

// amdForm is an AsyncAmdStatusCallback.
func amdForm(account, callSid, answeredBy string) url.Values {
	return url.Values{
		"AccountSid": {account}, "CallSid": {callSid}, "AnsweredBy": {answeredBy},
		"MachineDetectionDuration": {"2150"},
	}
}

// recordingForm is a recording status callback for a completed recording.
func recordingForm(account, callSid string) url.Values {
	rec := newSID("RE")
	return url.Values{
		"AccountSid":         {account},
		"CallSid":            {callSid},
		"RecordingSid":       {rec},
		"RecordingUrl":       {"https://api.twilio.com/2010-04-01/Accounts/" + account + "/Recordings/" + rec},
		"RecordingStatus":    {"completed"},
		"RecordingDuration":  {"37"},
		"RecordingChannels":  {"1"},
		"RecordingStartTime": {time.Now().UTC().Format(time.RFC1123Z)},
		"RecordingSource":    {"OutboundAPI"},
		"RecordingTrack":     {"both"},
	}
}

// inboundForm is a customer's text to our number as Twilio posts it to the
// "a message comes in" webhook.
func inboundForm(account, messageSid, customer, body string) url.Values {
	return url.Values{
		"AccountSid":    {account},
		"ApiVersion":    {"2010-04-01"},
		"MessageSid":    {messageSid},
		"SmsMessageSid": {messageSid},
		"SmsSid":        {messageSid},
		"SmsStatus":     {"received"},
		"From":          {customer},
		"FromCountry":   {countryOf(customer)},
		"To":            {ourNumber},
		"ToCountry":     {"US"},
		"Body":          {body},
		"NumMedia":      {"0"},
		"NumSegments":   {"1"},
	}
}

// messageStatusForm is a message status callback.
func messageStatusForm(account, messageSid, customer, status string, kv ...string) url.Values {
	return with(url.Values{
		"AccountSid":    {account},
		"ApiVersion":    {"2010-04-01"},
		"From":          {ourNumber},
		"To":            {customer},
		"MessageSid":    {messageSid},
		"SmsSid":        {messageSid},
		"MessageStatus": {status},
		"SmsStatus":     {status},
	}, kv...)
}

// post sends one request as Twilio would: body as a form, signature as
// X-Twilio-Signature ("" sends none). It returns the status and body.
func post(t testing.TB, method, u, body, signature string) (int, string) {
	t.Helper()
	code, b, err := tryPost(method, u, body, signature)
	if err != nil {
		t.Fatal(err)
	}
	return code, b
}

// tryPost is post for a goroutine other than the test's.
func tryPost(method, u, body, signature string) (int, string, error) {
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("I-Twilio-Idempotency-Token", newSID("")) // Twilio's; Huifang does not rely on it
	if signature != "" {
		req.Header.Set("X-Twilio-Signature", signature)
	}
	resp, err := webhookClient.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("%s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// webhookClient gives up as Twilio does, after 15 seconds.
var webhookClient = &http.Client{Timeout: 15 * time.Second}

// deliver posts form to u signed with the rig's auth token.
func (r *rig) deliver(t testing.TB, u string, form url.Values) (int, string) {
	t.Helper()
	return post(t, http.MethodPost, u, form.Encode(), twiliosim.Signature(r.sim.AuthToken(), u, form))
}

// snapshot is every row a webhook could change, as JSON, one string per
// table, to compare before and after a request that must change nothing.
func (r *rig) snapshot(t testing.TB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for table, order := range map[string]string{
		"attempts": "x.id", "survey_sessions": "x.id", "survey_answers": "x.session_id, x.seq",
		"sms_messages": "x.id", "suppressions": "x.phone_e164", "audit_log": "x.id",
	} {
		var s string
		err := r.pool.QueryRow(context.Background(),
			`SELECT COALESCE(jsonb_agg(to_jsonb(x) ORDER BY `+order+`), '[]')::text FROM `+table+` x`).Scan(&s)
		if err != nil {
			t.Fatal(err)
		}
		out[table] = s
	}
	out["simulator messages"] = strconv.Itoa(len(r.sim.Messages()))
	return out
}

func requireUnchanged(t testing.TB, before, after map[string]string) {
	t.Helper()
	for k, b := range before {
		if after[k] != b {
			t.Errorf("%s changed:\nbefore %s\nafter  %s", k, b, after[k])
		}
	}
}

// sampleJobs are the jobs the tests draw from, generated once.
var sampleJobs = sync.OnceValues(func() ([]sample.Job, error) {
	return sample.Jobs(sample.Config{Seed: 7, Jobs: 200, Now: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)})
})

// silentJobs returns n jobs whose customers (each a different number) never
// pick up or reply, so that nothing but the test posts webhooks about them.
func silentJobs(t testing.TB, n int) []sample.Job {
	t.Helper()
	jobs, err := sampleJobs()
	if err != nil {
		t.Fatal(err)
	}
	var out []sample.Job
	phones := map[string]bool{}
	for _, j := range jobs {
		if j.Truth.Reach == sample.ReachNeverAnswers && !phones[j.Order.Customer.Phone] && len(out) < n {
			phones[j.Order.Customer.Phone] = true
			out = append(out, *j.Clone())
		}
	}
	if len(out) < n {
		t.Fatalf("only %d silent jobs in the sample", len(out))
	}
	return out
}

// liveCall is a voice attempt as Twilio runs it. It is opened without
// placing a call (Conversations.Open) and adopted by its first TwiML fetch,
// as when Twilio's answer webhook overtakes the create's response.
type liveCall struct {
	r        *rig
	attempt  int64
	sid      string
	customer string
	urls     dialer.CallURLs
	first    string // the TwiML answering the first fetch
}

func (r *rig) openCall(t testing.TB, j sample.Job, machineAction string) *liveCall {
	t.Helper()
	tg := r.target(j)
	tg.Channel, tg.MachineAction = surveys.Voice, machineAction
	a, err := r.conv.Open(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	c := &liveCall{r: r, attempt: a.ID, sid: newSID("CA"), customer: j.Order.Customer.Phone, urls: r.hooks.CallURLs(a.ID)}
	code, body := r.deliver(t, c.urls.Answer, c.voice("in-progress"))
	if code != http.StatusOK {
		t.Fatalf("first TwiML fetch: %d %s", code, body)
	}
	c.first = body
	return c
}

func (c *liveCall) voice(status string, kv ...string) url.Values {
	return voiceForm(c.r.sim.AccountSID(), c.sid, c.customer, status, kv...)
}

func (c *liveCall) status(status string, seq int, kv ...string) url.Values {
	return statusForm(c.r.sim.AccountSID(), c.sid, c.customer, status, seq, kv...)
}

// gather posts what the customer pressed to a <Gather> action.
func (c *liveCall) gather(t testing.TB, action, digits string) (int, string) {
	t.Helper()
	return c.r.deliver(t, action, c.voice("in-progress", "Digits", digits, "FinishedOnKey", "", "msg", "Gather End"))
}

// tryGather is gather for a goroutine other than the test's.
func (c *liveCall) tryGather(action, digits string) (int, string, error) {
	form := c.voice("in-progress", "Digits", digits, "FinishedOnKey", "", "msg", "Gather End")
	return tryPost(http.MethodPost, action, form.Encode(), twiliosim.Signature(c.r.sim.AuthToken(), action, form))
}

// mustGather is gather expecting the next step's TwiML.
func (c *liveCall) mustGather(t testing.TB, action, digits string) string {
	t.Helper()
	code, body := c.gather(t, action, digits)
	if code != http.StatusOK {
		t.Fatalf("gather %q at %s: %d %s", digits, action, code, body)
	}
	return body
}

// mustStatus posts a status callback expecting 204.
func (c *liveCall) mustStatus(t testing.TB, status string, seq int, kv ...string) {
	t.Helper()
	if code, body := c.r.deliver(t, c.urls.Status, c.status(status, seq, kv...)); code != http.StatusNoContent {
		t.Fatalf("status %s: %d %s", status, code, body)
	}
}

// actionOf is the URL Twilio posts to next: the action of the TwiML's
// <Gather> or <Record>, or its <Redirect>.
func actionOf(t testing.TB, twiml string) string {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(twiml))
	redirect := false
	for {
		tok, err := d.Token()
		if err != nil {
			t.Fatalf("no action in TwiML (%v):\n%s", err, twiml)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			redirect = e.Name.Local == "Redirect"
			for _, a := range e.Attr {
				if a.Name.Local == "action" {
					return a.Value
				}
			}
		case xml.CharData:
			if redirect {
				return strings.TrimSpace(string(e))
			}
		}
	}
}

// liveText is an SMS survey whose first question has been delivered.
type liveText struct {
	attempt  int64
	msg      int64  // the question's sms_messages id
	sid      string // its MessageSid
	customer string
}

func (r *rig) openText(t testing.TB, j sample.Job) liveText {
	t.Helper()
	ctx := context.Background()
	a, err := r.conv.Text(ctx, r.target(j))
	if err != nil {
		t.Fatal(err)
	}
	r.idle(t)
	x := liveText{attempt: a.ID, customer: j.Order.Customer.Phone}
	err = r.pool.QueryRow(ctx, `SELECT id, sid FROM sms_messages WHERE attempt_id = $1 AND direction = 'out' ORDER BY id LIMIT 1`,
		a.ID).Scan(&x.msg, &x.sid)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// idle waits until the simulator has delivered every callback it owes.
func (r *rig) idle(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.sim.Idle(ctx); err != nil {
		t.Fatal(err)
	}
}

// textsTo counts the texts the simulator carried to a customer.
func (r *rig) textsTo(customer string) int {
	n := 0
	for _, m := range r.sim.Messages() {
		if m.Direction == "outbound-api" && m.To == customer {
			n++
		}
	}
	return n
}

// count runs a SELECT count(*) … query.
func (r *rig) count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := r.pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWebhooksAcceptTwiliosDocumentedExample: the signature example of
// Twilio's security documentation is what the tests' signer produces, and
// it passes the verifier in front of the real routes — /myapp.php is no
// route of ours, so the mux, not the verifier, answers (404) and nothing
// changes — while the same request tampered with is refused.
func TestWebhooksAcceptTwiliosDocumentedExample(t *testing.T) {
	t.Parallel()
	if got := twiliosim.Signature(docToken, docBase+docPath, docParams); got != docSignature {
		t.Fatalf("twiliosim.Signature of Twilio's example = %s, want %s", got, docSignature)
	}
	r := newRig(t, rigOptions{jobs: silentJobs(t, 1)})
	v, err := twilio.NewVerifier(docToken, docBase)
	if err != nil {
		t.Fatal(err)
	}
	hooks := &twilio.Webhooks{Conv: r.conv, Verifier: v, Carrier: r.hooks.Carrier, BaseURL: docBase}
	srv := httptest.NewServer(hooks.Handler())
	defer srv.Close()
	before := r.snapshot(t)
	for _, tc := range []struct {
		name, path string
		form       url.Values
		signature  string
		want       int
		wantBody   string
	}{
		{"the documented request", docPath, docParams, docSignature, http.StatusNotFound, "404 page not found"},
		{"Digits tampered", docPath, with(docParams, "Digits", "1235"), docSignature, http.StatusForbidden, "invalid X-Twilio-Signature"},
		{"the query changed", "/myapp.php?foo=1&bar=3", docParams, docSignature, http.StatusForbidden, "invalid X-Twilio-Signature"},
		{"unsigned", docPath, docParams, "", http.StatusForbidden, "missing X-Twilio-Signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := post(t, http.MethodPost, srv.URL+tc.path, tc.form.Encode(), tc.signature)
			if code != tc.want || !strings.Contains(body, tc.wantBody) {
				t.Fatalf("got %d %q, want %d %q", code, body, tc.want, tc.wantBody)
			}
		})
	}
	requireUnchanged(t, before, r.snapshot(t))
}

// TestWebhookSignatures: on every route, a request that is unsigned, signed
// with another token, tampered with or signed for another URL gets 403 and
// changes nothing; the same request signed as Twilio signs it reaches the
// handler.
func TestWebhookSignatures(t *testing.T) {
	t.Parallel()
	jobs := silentJobs(t, 3)
	r := newRig(t, rigOptions{jobs: jobs})
	account := r.sim.AccountSID()
	c := r.openCall(t, jobs[0], "hangup")
	gatherURL := actionOf(t, c.first)
	sms := r.openText(t, jobs[1])

	routes := []struct {
		name   string
		url    string
		form   url.Values
		tamper []string // a parameter and the value a forger would change it to
		want   int      // the handler's answer when the signature is right
	}{
		{"TwiML fetch", c.urls.Answer, c.voice("in-progress"), []string{"CallSid", newSID("CA")}, http.StatusOK},
		{"gather action", gatherURL, c.voice("in-progress", "Digits", "1", "FinishedOnKey", "", "msg", "Gather End"),
			[]string{"Digits", "9"}, http.StatusOK},
		{"call status", c.urls.Status, c.status("ringing", 1), []string{"CallStatus", "completed"}, http.StatusNoContent},
		{"AMD", c.urls.AMD, amdForm(account, c.sid, "human"), []string{"AnsweredBy", "machine_start"}, http.StatusNoContent},
		{"recording", c.urls.Recording, recordingForm(account, c.sid),
			[]string{"RecordingUrl", "https://evil.example.com/r.mp3"}, http.StatusNoContent},
		{"inbound SMS", r.hooks.InboundSMSURL(), with(inboundForm(account, newSID("SM"), jobs[2].Order.Customer.Phone, "STOP"), "OptOutType", "STOP"),
			[]string{"From", sms.customer}, http.StatusOK},
		{"message status", r.hooks.SMSStatusURL(sms.attempt, sms.msg),
			messageStatusForm(account, sms.sid, sms.customer, "delivered"),
			[]string{"MessageStatus", "undelivered"}, http.StatusNoContent},
	}
	token := r.sim.AuthToken()
	sign := func(u string, form url.Values) string { return twiliosim.Signature(token, u, form) }
	// Each forgery returns the URL the request goes to, its form and its
	// X-Twilio-Signature.
	forgeries := []struct {
		name  string
		forge func(u string, form url.Values, tamper []string) (string, url.Values, string)
	}{
		{"unsigned", func(u string, form url.Values, _ []string) (string, url.Values, string) {
			return u, form, ""
		}},
		{"signed with another account's token", func(u string, form url.Values, _ []string) (string, url.Values, string) {
			return u, form, twiliosim.Signature("0123456789abcdef0123456789abcdef", u, form)
		}},
		{"not base64", func(u string, form url.Values, _ []string) (string, url.Values, string) {
			return u, form, "not a signature!"
		}},
		{"a tampered parameter", func(u string, form url.Values, tamper []string) (string, url.Values, string) {
			return u, with(form, tamper...), sign(u, form)
		}},
		{"an added parameter", func(u string, form url.Values, _ []string) (string, url.Values, string) {
			return u, with(form, "ErrorCode", "21610"), sign(u, form)
		}},
		{"a removed parameter", func(u string, form url.Values, _ []string) (string, url.Values, string) {
			return u, without(form, "AccountSid"), sign(u, form)
		}},
		{"signed for another host", func(u string, form url.Values, _ []string) (string, url.Values, string) {
			return u, form, sign(strings.Replace(u, "127.0.0.1", "huifang.example.com", 1), form)
		}},
		{"signed for another port", func(u string, form url.Values, _ []string) (string, url.Values, string) {
			p, _ := url.Parse(u)
			port, _ := strconv.Atoi(p.Port())
			p.Host = p.Hostname() + ":" + strconv.Itoa(port+1)
			return u, form, sign(p.String(), form)
		}},
		{"signed for https", func(u string, form url.Values, _ []string) (string, url.Values, string) {
			return u, form, sign(strings.Replace(u, "http://", "https://", 1), form)
		}},
		{"signed for another path", func(u string, form url.Values, _ []string) (string, url.Values, string) {
			p, _ := url.Parse(u)
			p.Path += "/"
			return u, form, sign(p.String(), form)
		}},
		{"signed for another query", func(u string, form url.Values, _ []string) (string, url.Values, string) {
			p, _ := url.Parse(u)
			q := p.Query()
			q.Set("attempt", "999")
			p.RawQuery = q.Encode()
			return u, form, sign(p.String(), form)
		}},
		{"signed for the same URL without its query", func(u string, form url.Values, _ []string) (string, url.Values, string) {
			p, _ := url.Parse(u)
			if p.RawQuery == "" {
				return u, form, sign(u+"?attempt=1", form)
			}
			p.RawQuery = ""
			return u, form, sign(p.String(), form)
		}},
		{"sent to another route", func(u string, form url.Values, _ []string) (string, url.Values, string) {
			other := c.urls.Status
			if u == other {
				other = c.urls.AMD
			}
			return other, form, sign(u, form)
		}},
		{"a signed GET's signature on a POST", func(u string, form url.Values, _ []string) (string, url.Values, string) {
			return u, form, sign(u, nil)
		}},
	}
	for _, rt := range routes {
		for _, f := range forgeries {
			t.Run(rt.name+"/"+f.name, func(t *testing.T) {
				u, form, sig := f.forge(rt.url, rt.form, rt.tamper)
				before := r.snapshot(t)
				code, body := post(t, http.MethodPost, u, form.Encode(), sig)
				if code != http.StatusForbidden || !strings.Contains(body, "X-Twilio-Signature") {
					t.Fatalf("got %d %q, want 403 naming X-Twilio-Signature", code, body)
				}
				requireUnchanged(t, before, r.snapshot(t))
			})
		}
	}
	for _, rt := range routes {
		t.Run(rt.name+"/signed by Twilio", func(t *testing.T) {
			if code, body := r.deliver(t, rt.url, rt.form); code != rt.want {
				t.Fatalf("got %d %q, want %d", code, body, rt.want)
			}
		})
	}
	// What the signed requests did, so that "reached the handler" means it.
	if got := r.attempt(c.attempt); got.State != "placed" || got.CarrierStatus != "ringing" || got.AnsweredBy != "human" {
		t.Errorf("attempt after the signed callbacks: %+v", got)
	}
	if got := r.answers(c.attempt); len(got) != 1 || got[0].Question != "intro" || got[0].Raw != "1" {
		t.Errorf("answers after the signed gather: %+v", got)
	}
	if n := r.count(t, `SELECT count(*) FROM suppressions WHERE phone_e164 = $1`, jobs[2].Order.Customer.Phone); n != 1 {
		t.Errorf("the signed STOP suppressed %d numbers, want 1", n)
	}
	if n := r.count(t, `SELECT count(*) FROM attempts WHERE id = $1 AND recording_sid IS NOT NULL`, c.attempt); n != 1 {
		t.Error("the signed recording callback stored no recording")
	}
}

// TestWebhooksDuplicateDeliveryAppliedOnce: Twilio retries a webhook it
// thinks failed; the same delivery twice is applied once.
func TestWebhooksDuplicateDeliveryAppliedOnce(t *testing.T) {
	t.Parallel()
	t.Run("gather action", func(t *testing.T) {
		t.Parallel()
		jobs := silentJobs(t, 1)
		r := newRig(t, rigOptions{jobs: jobs})
		c := r.openCall(t, jobs[0], "hangup")
		action := actionOf(t, c.first)
		first := c.mustGather(t, action, "1")
		again := c.mustGather(t, action, "1")
		if again != first {
			t.Errorf("the repeat answered\n%s\nthe first\n%s", again, first)
		}
		if actionOf(t, first) == action {
			t.Errorf("the answer did not move the call on: %s", first)
		}
		if got := r.answers(c.attempt); len(got) != 1 || got[0].Question != "intro" {
			t.Errorf("answers: %+v, want the intro once", got)
		}
	})
	t.Run("gather action delivered concurrently", func(t *testing.T) {
		t.Parallel()
		jobs := silentJobs(t, 1)
		r := newRig(t, rigOptions{jobs: jobs})
		c := r.openCall(t, jobs[0], "hangup")
		visit := actionOf(t, c.mustGather(t, actionOf(t, c.first), "1"))
		const n = 8
		bodies := make([]string, n)
		codes := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				var err error
				codes[i], bodies[i], err = c.tryGather(visit, "2")
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		for i := range n {
			if codes[i] != http.StatusOK || bodies[i] != bodies[0] {
				t.Errorf("delivery %d: %d\n%s\nwant 200 and\n%s", i, codes[i], bodies[i], bodies[0])
			}
		}
		got := r.answers(c.attempt)
		if len(got) != 2 || got[1].Question != "visit" || got[1].Raw != "2" {
			t.Errorf("answers: %+v, want the intro and one visit answer", got)
		}
	})
	t.Run("final status callback", func(t *testing.T) {
		t.Parallel()
		jobs := silentJobs(t, 1)
		r := newRig(t, rigOptions{jobs: jobs})
		c := r.openCall(t, jobs[0], "hangup")
		c.mustGather(t, actionOf(t, c.mustGather(t, actionOf(t, c.first), "1")), "1")
		c.mustStatus(t, "completed", 3, "CallDuration", "48", "Duration", "1", "SipResponseCode", "200")
		after := r.snapshot(t)
		c.mustStatus(t, "completed", 3, "CallDuration", "48", "Duration", "1", "SipResponseCode", "200")
		requireUnchanged(t, after, r.snapshot(t))
		if got := r.attempt(c.attempt); got.State != "ended" || got.CarrierStatus != "completed" || got.Outcome != "partial" {
			t.Errorf("attempt %+v, want ended, completed, partial", got)
		}
	})
	t.Run("inbound SMS", func(t *testing.T) {
		t.Parallel()
		jobs := silentJobs(t, 1)
		r := newRig(t, rigOptions{jobs: jobs})
		x := r.openText(t, jobs[0])
		if n := r.textsTo(x.customer); n != 1 {
			t.Fatalf("%d texts before the reply, want the question", n)
		}
		reply := inboundForm(r.sim.AccountSID(), newSID("SM"), x.customer, "1")
		for range 2 {
			if code, body := r.deliver(t, r.hooks.InboundSMSURL(), reply); code != http.StatusOK || !strings.Contains(body, "<Response>") {
				t.Fatalf("inbound: %d %s", code, body)
			}
		}
		r.idle(t)
		if n := r.count(t, `SELECT count(*) FROM sms_messages WHERE direction = 'in' AND sid = $1`, reply.Get("MessageSid")); n != 1 {
			t.Errorf("%d inbound rows, want 1", n)
		}
		if n := r.textsTo(x.customer); n != 2 {
			t.Errorf("%d texts sent, want the question and one next question", n)
		}
		if got := r.answers(x.attempt); len(got) != 1 || got[0].Raw != "1" {
			t.Errorf("answers: %+v, want one", got)
		}
	})
	t.Run("AMD callback", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name, action string
			verdicts     []string
			wantUpdates  []string // what the carrier asked of the call, in order
			wantVM       bool
		}{
			{"a machine, hang up", "hangup", []string{"machine_start", "machine_start"}, []string{"hang up"}, false},
			{"a machine, leave a voicemail", "voicemail", []string{"machine_end_beep", "machine_end_beep"}, []string{"voicemail"}, true},
			{"a machine, then another verdict", "voicemail", []string{"machine_end_silence", "machine_end_beep"}, []string{"voicemail"}, true},
			{"a person", "voicemail", []string{"human", "human"}, nil, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				jobs := silentJobs(t, 1)
				r := newRig(t, rigOptions{jobs: jobs})
				c := r.openCall(t, jobs[0], tc.action)
				hooks, updates := r.recordingCarrier(t)
				for _, by := range tc.verdicts {
					code, body := r.deliver(t, hooks.CallURLs(c.attempt).AMD, amdForm(r.sim.AccountSID(), c.sid, by))
					if code != http.StatusNoContent {
						t.Fatalf("AMD %s: %d %s", by, code, body)
					}
				}
				var got []string
				for _, u := range updates() {
					switch {
					case u.Get("Status") == "completed" && u.Get("Twiml") == "":
						got = append(got, "hang up")
					case u.Get("Status") == "" && strings.Contains(u.Get("Twiml"), "<Say") && strings.Contains(u.Get("Twiml"), "<Hangup"):
						got = append(got, "voicemail")
					default:
						got = append(got, u.Encode())
					}
				}
				if strings.Join(got, ",") != strings.Join(tc.wantUpdates, ",") {
					t.Errorf("the carrier asked %q of the call, want %q", got, tc.wantUpdates)
				}
				if a := r.attempt(c.attempt); a.VoicemailLeft != tc.wantVM || a.AnsweredBy != tc.verdicts[0] {
					t.Errorf("attempt %+v, want voicemail_left %v, answered_by %s", a, tc.wantVM, tc.verdicts[0])
				}
			})
		}
	})
}

// recordingCarrier serves the webhooks again, on the rig's database, behind
// a second server whose carrier records each call update (hang-up,
// redirect) it sends the simulator. It returns those webhooks, to build
// URLs on that server, and a function listing the updates' forms.
func (r *rig) recordingCarrier(t testing.TB) (*twilio.Webhooks, func() []url.Values) {
	t.Helper()
	next, err := twiliosim.NewTransport(r.sim.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var updates []url.Values
	rt := roundTripper(func(req *http.Request) (*http.Response, error) {
		if req.Method == http.MethodPost && strings.Contains(req.URL.Path, "/Calls/CA") {
			b, err := io.ReadAll(req.Body)
			if err != nil {
				return nil, err
			}
			req.Body = io.NopCloser(bytes.NewReader(b))
			form, err := url.ParseQuery(string(b))
			if err != nil {
				return nil, err
			}
			mu.Lock()
			updates = append(updates, form)
			mu.Unlock()
		}
		return next.RoundTrip(req)
	})
	carrier := twilio.New(twilio.Config{AccountSID: r.sim.AccountSID(), AuthToken: r.sim.AuthToken(),
		HTTP: &http.Client{Transport: rt, Timeout: 10 * time.Second}})
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	v, err := twilio.NewVerifier(r.sim.AuthToken(), base)
	if err != nil {
		t.Fatal(err)
	}
	hooks := &twilio.Webhooks{Conv: r.conv, Verifier: v, Carrier: carrier, BaseURL: base}
	srv.Config.Handler = hooks.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return hooks, func() []url.Values {
		mu.Lock()
		defer mu.Unlock()
		return append([]url.Values(nil), updates...)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// TestWebhooksOutOfOrderStatusCallbacks: Twilio's status callbacks may
// arrive in any order, and a <Gather> action may arrive after the final
// one; the attempt only moves forward and late answers are still kept.
func TestWebhooksOutOfOrderStatusCallbacks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// run delivers the webhooks; first is the TwiML of the call's first fetch.
		run         func(t *testing.T, c *liveCall)
		wantOutcome string
		wantStatus  string
		wantAnswers []string // questions answered
		wantSecs    int
	}{
		{"completed before initiated, ringing and in-progress", func(t *testing.T, c *liveCall) {
			c.mustStatus(t, "completed", 3, "CallDuration", "41", "Duration", "1")
			c.mustStatus(t, "in-progress", 2)
			c.mustStatus(t, "ringing", 1)
			c.mustStatus(t, "initiated", 0)
		}, "hung_up", "completed", nil, 41},
		{"completed after two answers, then a late ringing", func(t *testing.T, c *liveCall) {
			c.mustStatus(t, "initiated", 0)
			c.mustGather(t, actionOf(t, c.mustGather(t, actionOf(t, c.first), "1")), "1")
			c.mustStatus(t, "completed", 3, "CallDuration", "30", "Duration", "1")
			c.mustStatus(t, "ringing", 1)
			c.mustStatus(t, "in-progress", 2)
		}, "partial", "completed", []string{"intro", "visit"}, 30},
		{"busy, then a late ringing", func(t *testing.T, c *liveCall) {
			c.mustStatus(t, "busy", 2, "CallDuration", "0", "Duration", "0")
			c.mustStatus(t, "ringing", 1)
		}, "busy", "busy", nil, 0},
		{"the first gather action after completed", func(t *testing.T, c *liveCall) {
			c.mustStatus(t, "completed", 3, "CallDuration", "12", "Duration", "1")
			c.mustGather(t, actionOf(t, c.first), "1")
		}, "hung_up", "completed", []string{"intro"}, 12},
		{"a gather action after completed", func(t *testing.T, c *liveCall) {
			visit := actionOf(t, c.mustGather(t, actionOf(t, c.first), "1"))
			c.mustStatus(t, "completed", 3, "CallDuration", "20", "Duration", "1")
			c.mustStatus(t, "in-progress", 2)
			c.mustGather(t, visit, "1")
		}, "partial", "completed", []string{"intro", "visit"}, 20},
		{"an opt-out after completed", func(t *testing.T, c *liveCall) {
			visit := actionOf(t, c.mustGather(t, actionOf(t, c.first), "1"))
			c.mustStatus(t, "completed", 3, "CallDuration", "20", "Duration", "1")
			c.mustGather(t, visit, "9")
		}, "opted_out", "completed", []string{"intro", "visit"}, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			jobs := silentJobs(t, 1)
			r := newRig(t, rigOptions{jobs: jobs})
			c := r.openCall(t, jobs[0], "hangup")
			tc.run(t, c)
			got := r.attempt(c.attempt)
			if got.State != "ended" || got.CarrierStatus != tc.wantStatus || got.Outcome != tc.wantOutcome {
				t.Errorf("attempt %+v, want ended, %s, %s", got, tc.wantStatus, tc.wantOutcome)
			}
			if n := r.count(t, `SELECT count(*) FROM attempts WHERE id = $1 AND duration_s = $2`, c.attempt, tc.wantSecs); n != 1 {
				t.Errorf("duration is not the final callback's %d s", tc.wantSecs)
			}
			var questions []string
			for _, a := range r.answers(c.attempt) {
				questions = append(questions, a.Question)
			}
			if strings.Join(questions, ",") != strings.Join(tc.wantAnswers, ",") {
				t.Errorf("answered %q, want %q", questions, tc.wantAnswers)
			}
		})
	}
}

// TestWebhooksUnknownCallOrMessage: a signed webhook about an attempt that
// does not exist, or that names a call or message that is not the
// attempt's, gets 404 and changes nothing.
func TestWebhooksUnknownCallOrMessage(t *testing.T) {
	t.Parallel()
	jobs := silentJobs(t, 3)
	r := newRig(t, rigOptions{jobs: jobs})
	account := r.sim.AccountSID()
	c := r.openCall(t, jobs[0], "hangup")
	gatherURL := actionOf(t, c.first)
	sms := r.openText(t, jobs[1])
	other := r.openText(t, jobs[2])
	stranger := newSID("CA")
	none := r.hooks.CallURLs(1 << 40)
	noneGather := strings.Replace(gatherURL, "attempt="+strconv.FormatInt(c.attempt, 10), "attempt=1099511627776", 1)
	smsCall := r.hooks.CallURLs(sms.attempt)
	for _, tc := range []struct {
		name     string
		url      string
		form     url.Values
		wantBody string
	}{
		{"TwiML fetch, no such attempt", none.Answer, voiceForm(account, stranger, c.customer, "in-progress"), "unknown call"},
		{"gather action, no such attempt", noneGather, voiceForm(account, stranger, c.customer, "in-progress", "Digits", "1"), "unknown call"},
		{"status, no such attempt", none.Status, statusForm(account, stranger, c.customer, "completed", 3, "CallDuration", "5"), "unknown call"},
		{"AMD, no such attempt", none.AMD, amdForm(account, stranger, "machine_start"), "unknown call"},
		{"recording, no such attempt", none.Recording, recordingForm(account, stranger), "unknown call"},
		{"TwiML fetch, another call's SID", c.urls.Answer, voiceForm(account, stranger, c.customer, "in-progress"), "unknown call"},
		{"gather action, another call's SID", gatherURL, voiceForm(account, stranger, c.customer, "in-progress", "Digits", "1"), "unknown call"},
		{"status, another call's SID", c.urls.Status, statusForm(account, stranger, c.customer, "completed", 3, "CallDuration", "5"), "unknown call"},
		{"AMD, another call's SID", c.urls.AMD, amdForm(account, stranger, "machine_start"), "unknown call"},
		{"recording, another call's SID", c.urls.Recording, recordingForm(account, stranger), "unknown call"},
		{"call status about an SMS attempt", smsCall.Status, statusForm(account, stranger, sms.customer, "completed", 3), "unknown call"},
		{"TwiML fetch for an SMS attempt", smsCall.Answer, voiceForm(account, stranger, sms.customer, "in-progress"), "unknown call"},
		{"message status, another MessageSid", r.hooks.SMSStatusURL(sms.attempt, sms.msg),
			messageStatusForm(account, newSID("SM"), sms.customer, "undelivered", "ErrorCode", "30003"), "unknown message"},
		{"message status, another survey's MessageSid", r.hooks.SMSStatusURL(sms.attempt, sms.msg),
			messageStatusForm(account, other.sid, sms.customer, "undelivered", "ErrorCode", "30003"), "unknown message"},
		{"message status, the message of another attempt", r.hooks.SMSStatusURL(other.attempt, sms.msg),
			messageStatusForm(account, sms.sid, sms.customer, "undelivered", "ErrorCode", "30003"), "unknown message"},
		{"message status, no such message", r.hooks.SMSStatusURL(sms.attempt, 1<<40),
			messageStatusForm(account, newSID("SM"), sms.customer, "failed", "ErrorCode", "30008"), "unknown message"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := r.snapshot(t)
			code, body := r.deliver(t, tc.url, tc.form)
			if code != http.StatusNotFound || !strings.Contains(body, tc.wantBody) {
				t.Fatalf("got %d %q, want 404 %q", code, body, tc.wantBody)
			}
			requireUnchanged(t, before, r.snapshot(t))
		})
	}
}

// TestWebhooksRejectMalformedRequests: a signed request Twilio would never
// send gets 4xx — 400 naming the parameter — never 5xx, and changes
// nothing.
func TestWebhooksRejectMalformedRequests(t *testing.T) {
	t.Parallel()
	jobs := silentJobs(t, 2)
	r := newRig(t, rigOptions{jobs: jobs})
	account := r.sim.AccountSID()
	c := r.openCall(t, jobs[0], "hangup")
	sms := r.openText(t, jobs[1])
	gatherURL := actionOf(t, c.first)
	gatherAt := func(query string) string {
		p, _ := url.Parse(gatherURL)
		p.RawQuery = query
		return p.String()
	}
	statusAt := func(query string) string {
		p, _ := url.Parse(c.urls.Status)
		p.RawQuery = query
		return p.String()
	}
	answerAt := func(query string) string {
		p, _ := url.Parse(c.urls.Answer)
		p.RawQuery = query
		return p.String()
	}
	id := strconv.FormatInt(c.attempt, 10)
	digits := func(d string) url.Values {
		return c.voice("in-progress", "Digits", d, "FinishedOnKey", "", "msg", "Gather End")
	}
	ringing := c.status("ringing", 1)
	completed := c.status("completed", 3, "CallDuration", "41", "Duration", "1")
	inbound := inboundForm(account, newSID("SM"), sms.customer, "1")
	msgStatus := messageStatusForm(account, sms.sid, sms.customer, "undelivered", "ErrorCode", "30003")
	smsStatusURL := r.hooks.SMSStatusURL(sms.attempt, sms.msg)
	type row struct {
		name     string
		method   string
		url      string
		body     string // sent as is, signed over its parameters
		want     int
		wantBody string
	}
	form := func(name, u string, v url.Values, want int, wantBody string) row {
		return row{name, http.MethodPost, u, v.Encode(), want, wantBody}
	}
	rows := []row{
		form("TwiML fetch without CallSid", c.urls.Answer, without(c.voice("in-progress"), "CallSid"), 400, "form parameter CallSid: missing"),
		form("TwiML fetch, CallSid not a SID", c.urls.Answer, c.voice("in-progress", "CallSid", "CA1234567890ABCDE"), 400, "form parameter CallSid"),
		form("TwiML fetch, a message SID as CallSid", c.urls.Answer, c.voice("in-progress", "CallSid", sms.sid), 400, "form parameter CallSid"),
		form("TwiML fetch without attempt", answerAt(""), c.voice("in-progress"), 400, "query parameter attempt: missing"),
		form("gather without attempt", gatherAt("seq=0"), digits("1"), 400, "query parameter attempt: missing"),
		form("gather, negative attempt", gatherAt("attempt=-"+id+"&seq=0"), digits("1"), 400, "query parameter attempt"),
		form("gather, attempt zero", gatherAt("attempt=0&seq=0"), digits("1"), 400, "query parameter attempt"),
		form("gather, attempt not a number", gatherAt("attempt=one&seq=0"), digits("1"), 400, "query parameter attempt"),
		form("gather, attempt beyond int64", gatherAt("attempt=99999999999999999999&seq=0"), digits("1"), 400, "query parameter attempt"),
		form("gather without seq", gatherAt("attempt="+id), digits("1"), 400, "query parameter seq"),
		form("gather, negative seq", gatherAt("attempt="+id+"&seq=-1"), digits("1"), 400, "query parameter seq"),
		form("gather, seq not a number", gatherAt("attempt="+id+"&seq=x"), digits("1"), 400, "query parameter seq"),
		form("gather, Digits with letters", gatherURL, digits("1a"), 400, "form parameter Digits"),
		form("gather, Digits too long", gatherURL, digits(strings.Repeat("1", 65)), 400, "form parameter Digits"),
		form("gather, RecordingUrl not a URL", gatherURL, c.voice("in-progress", "RecordingUrl", "/Recordings/RE1"), 400, "form parameter RecordingUrl"),
		form("gather without CallSid", gatherURL, without(digits("1"), "CallSid"), 400, "form parameter CallSid"),
		form("status without CallSid", c.urls.Status, without(ringing, "CallSid"), 400, "form parameter CallSid"),
		form("status, unknown CallStatus", c.urls.Status, with(ringing, "CallStatus", "answered-by-fax"), 400, "form parameter CallStatus"),
		form("status without CallStatus", c.urls.Status, without(ringing, "CallStatus"), 400, "form parameter CallStatus"),
		form("status, CallDuration not a number", c.urls.Status, with(completed, "CallDuration", "41s"), 400, "form parameter CallDuration"),
		form("status, negative CallDuration", c.urls.Status, with(completed, "CallDuration", "-41"), 400, "form parameter CallDuration"),
		form("status, CallDuration beyond int32", c.urls.Status, with(completed, "CallDuration", "4294967296"), 400, "form parameter CallDuration"),
		form("status, ErrorCode not a number", c.urls.Status, with(completed, "CallStatus", "failed", "ErrorCode", "E31005"), 400, "form parameter ErrorCode"),
		form("status, Timestamp not RFC 1123", c.urls.Status, with(completed, "Timestamp", "2026-11-20T10:00:00Z"), 400, "form parameter Timestamp"),
		form("status, bad AnsweredBy", c.urls.Status, with(completed, "AnsweredBy", "robot"), 400, "form parameter AnsweredBy"),
		form("status, attempt not a number", statusAt("attempt=%31x"), completed, 400, "query parameter attempt"),
		form("AMD, bad AnsweredBy", c.urls.AMD, amdForm(account, c.sid, "robot"), 400, "form parameter AnsweredBy"),
		form("AMD without AnsweredBy", c.urls.AMD, without(amdForm(account, c.sid, "human"), "AnsweredBy"), 400, "form parameter AnsweredBy"),
		form("AMD without CallSid", c.urls.AMD, without(amdForm(account, c.sid, "human"), "CallSid"), 400, "form parameter CallSid"),
		form("recording, RecordingSid not a SID", c.urls.Recording, with(recordingForm(account, c.sid), "RecordingSid", "RE123"), 400, "form parameter RecordingSid"),
		form("recording, RecordingUrl not absolute", c.urls.Recording, with(recordingForm(account, c.sid), "RecordingUrl", "Recordings/RE1"), 400, "form parameter RecordingUrl"),
		form("recording, RecordingDuration not a number", c.urls.Recording, with(recordingForm(account, c.sid), "RecordingDuration", "-1"), 400, "form parameter RecordingDuration"),
		form("inbound SMS without From", r.hooks.InboundSMSURL(), without(inbound, "From"), 400, "form parameter From: missing"),
		form("inbound SMS, From not E.164", r.hooks.InboundSMSURL(), with(inbound, "From", strings.TrimPrefix(sms.customer, "+")), 400, "form parameter From"),
		form("inbound SMS, To not E.164", r.hooks.InboundSMSURL(), with(inbound, "To", "(415) 555-0100"), 400, "form parameter To"),
		form("inbound SMS without MessageSid", r.hooks.InboundSMSURL(), without(inbound, "MessageSid"), 400, "form parameter MessageSid: missing"),
		form("inbound SMS, MessageSid a call SID", r.hooks.InboundSMSURL(), with(inbound, "MessageSid", c.sid), 400, "form parameter MessageSid"),
		form("inbound SMS, Body with a NUL", r.hooks.InboundSMSURL(), with(inbound, "Body", "1\x00"), 400, "form parameter Body"),
		form("inbound SMS, Body not UTF-8", r.hooks.InboundSMSURL(), with(inbound, "Body", "\xff1"), 400, "form parameter Body"),
		form("message status without msg", strings.Replace(smsStatusURL, "&msg=", "&m=", 1), msgStatus, 400, "query parameter msg"),
		form("message status, unknown MessageStatus", smsStatusURL, with(msgStatus, "MessageStatus", "lost", "SmsStatus", "lost"), 400, "form parameter MessageStatus"),
		form("message status without a status", smsStatusURL, without(msgStatus, "MessageStatus", "SmsStatus"), 400, "form parameter MessageStatus"),
		form("message status, ErrorCode not a number", smsStatusURL, with(msgStatus, "ErrorCode", "thirty"), 400, "form parameter ErrorCode"),
		form("message status without MessageSid", smsStatusURL, without(msgStatus, "MessageSid"), 400, "form parameter MessageSid"),
		{"bad percent-encoding in the body", http.MethodPost, gatherURL, digits("1").Encode() + "&Digits=%zz", 400, "malformed form body"},
		{"a semicolon separator in the body", http.MethodPost, c.urls.Status, "CallSid=" + c.sid + ";CallStatus=completed", 400, "malformed form body"},
		{"bad percent-encoding in the query", http.MethodPost, statusAt("attempt=%zz"), ringing.Encode(), 400, "malformed form body"},
		{"a body over 64 KiB", http.MethodPost, r.hooks.InboundSMSURL(), with(inbound, "Body", strings.Repeat("1", 65<<10)).Encode(), 413, "too large"},
		{"GET", http.MethodGet, c.urls.Status + "&" + ringing.Encode(), "", 405, "Method Not Allowed"},
		{"PUT", http.MethodPut, c.urls.Status, ringing.Encode(), 405, "Method Not Allowed"},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			params, _ := url.ParseQuery(tc.body)
			if tc.method == http.MethodGet {
				params = nil // a GET is signed over its URL alone
			}
			before := r.snapshot(t)
			code, body := post(t, tc.method, tc.url, tc.body, twiliosim.Signature(r.sim.AuthToken(), tc.url, firstValues(params)))
			if code != tc.want || !strings.Contains(body, tc.wantBody) {
				t.Fatalf("got %d %q, want %d %q", code, body, tc.want, tc.wantBody)
			}
			requireUnchanged(t, before, r.snapshot(t))
		})
	}
}

// firstValues keeps the first value of each parameter, which is what the
// verifier (twilio-go's RequestValidator) signs over.
func firstValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		if len(vs) > 0 {
			out.Set(k, vs[0])
		}
	}
	return out
}
