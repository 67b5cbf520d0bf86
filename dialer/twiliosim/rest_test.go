package twiliosim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"
)

// restError unwraps the error twilio-go returns for a Twilio error body.
func restError(t *testing.T, err error) *client.TwilioRestError {
	t.Helper()
	var re *client.TwilioRestError
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T) is not a *client.TwilioRestError", err, err)
	}
	return re
}

func TestTwilioGoCreatesFetchesAndListsCalls(t *testing.T) {
	t.Parallel()
	sim, rc := setup(t, Options{Personas: map[string]Persona{customer: &Script{}}})
	a := newApp(t, sim.AuthToken())
	a.twiml("/voice", `<Response><Say>Hello</Say></Response>`)
	before := sim.Clock().Now().Add(-time.Second)

	p := callParams(customer, a.URL("/voice"))
	p.SetStatusCallback(a.URL("/status"))
	c, err := rc.Api.CreateCall(p)
	if err != nil {
		t.Fatalf("CreateCall: %v", err)
	}
	if !validSid(deref(c.Sid), "CA") {
		t.Errorf("sid %q is not CA + 32 hex digits", deref(c.Sid))
	}
	for name, got := range map[string]*string{
		"status": c.Status, "to": c.To, "from": c.From, "direction": c.Direction,
		"api_version": c.ApiVersion, "account_sid": c.AccountSid, "to_formatted": c.ToFormatted,
	} {
		want := map[string]string{
			"status": "queued", "to": customer, "from": ourNumber, "direction": "outbound-api",
			"api_version": "2010-04-01", "account_sid": sim.AccountSID(), "to_formatted": "(415) 555-0100",
		}[name]
		if deref(got) != want {
			t.Errorf("created call %s = %q, want %q", name, deref(got), want)
		}
	}
	if _, err := time.Parse(time.RFC1123Z, deref(c.DateCreated)); err != nil {
		t.Errorf("date_created %q is not RFC 2822: %v", deref(c.DateCreated), err)
	}

	rec, err := sim.WaitCall(ctxT(t), *c.Sid)
	if err != nil {
		t.Fatal(err)
	}
	got, err := rc.Api.FetchCall(*c.Sid, nil)
	if err != nil {
		t.Fatalf("FetchCall: %v", err)
	}
	if deref(got.Status) != "completed" || deref(got.Duration) != fmt.Sprint(rec.Duration) || got.StartTime == nil || got.EndTime == nil {
		t.Errorf("fetched call: status %s duration %s start %s end %s; want completed, %d s, both times",
			deref(got.Status), deref(got.Duration), deref(got.StartTime), deref(got.EndTime), rec.Duration)
	}

	// The reconciler's question: calls to this number since the attempt began.
	lp := &api.ListCallParams{}
	lp.SetTo(customer)
	lp.SetStartTimeAfter(before)
	calls, err := rc.Api.ListCall(lp)
	if err != nil {
		t.Fatalf("ListCall: %v", err)
	}
	if len(calls) != 1 || deref(calls[0].Sid) != *c.Sid {
		t.Errorf("ListCall(To, StartTime>) = %d calls, want the one placed", len(calls))
	}
	lp.SetStartTimeAfter(sim.Clock().Now().Add(time.Hour))
	if calls, err := rc.Api.ListCall(lp); err != nil || len(calls) != 0 {
		t.Errorf("ListCall(StartTime> an hour ahead) = %d calls, %v; want none", len(calls), err)
	}
	other := &api.ListCallParams{}
	other.SetTo("+14155550199")
	if calls, err := rc.Api.ListCall(other); err != nil || len(calls) != 0 {
		t.Errorf("ListCall(another To) = %d calls, %v; want none", len(calls), err)
	}
}

func TestListCallsPagesLikeTwilio(t *testing.T) {
	t.Parallel()
	sim, rc := setup(t, Options{}) // no personas: every call fails fast
	var sids []string
	for i := range 5 {
		c, err := rc.Api.CreateCall(callParams(fmt.Sprintf("+1415555020%d", i), "https://app.example.com/voice"))
		if err != nil {
			t.Fatal(err)
		}
		sids = append(sids, *c.Sid)
	}
	if err := sim.Idle(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	lp := &api.ListCallParams{}
	lp.SetPageSize(2)
	calls, err := rc.Api.ListCall(lp) // twilio-go follows next_page_uri through three pages
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range calls {
		got = append(got, *c.Sid)
		if deref(c.Status) != "failed" {
			t.Errorf("call to an unallocated number: status %s, want failed", deref(c.Status))
		}
	}
	want := []string{sids[4], sids[3], sids[2], sids[1], sids[0]} // newest first
	equal(t, "paged call SIDs", got, want)

	page, err := rc.Api.PageCall(lp, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if page.PageSize != 2 || len(page.Calls) != 2 || page.NextPageUri == nil || !strings.Contains(*page.NextPageUri, "PageToken=PA") {
		t.Errorf("first page: size %d, %d calls, next %s", page.PageSize, len(page.Calls), deref(page.NextPageUri))
	}
}

func TestTwilioGoCreatesFetchesAndListsMessages(t *testing.T) {
	t.Parallel()
	sim, rc := setup(t, Options{Personas: map[string]Persona{customer: &Script{}}})
	p := &api.CreateMessageParams{}
	p.SetTo(customer)
	p.SetFrom(ourNumber)
	p.SetBody("Was the technician on time? Reply 1=Yes 2=No")
	m, err := rc.Api.CreateMessage(p)
	if err != nil {
		t.Fatalf("CreateMessage: %v", err)
	}
	if !validSid(deref(m.Sid), "SM") || deref(m.Status) != "queued" || deref(m.NumSegments) != "1" || deref(m.Direction) != "outbound-api" {
		t.Errorf("created message: sid %s status %s segments %s direction %s", deref(m.Sid), deref(m.Status), deref(m.NumSegments), deref(m.Direction))
	}
	if _, err := sim.WaitMessage(ctxT(t), *m.Sid); err != nil {
		t.Fatal(err)
	}
	got, err := rc.Api.FetchMessage(*m.Sid, nil)
	if err != nil {
		t.Fatalf("FetchMessage: %v", err)
	}
	if deref(got.Status) != "delivered" || got.DateSent == nil || deref(got.Body) != *p.Body {
		t.Errorf("fetched message: status %s date_sent %s body %q", deref(got.Status), deref(got.DateSent), deref(got.Body))
	}
	lp := &api.ListMessageParams{}
	lp.SetTo(customer)
	msgs, err := rc.Api.ListMessage(lp)
	if err != nil {
		t.Fatalf("ListMessage: %v", err)
	}
	if len(msgs) != 1 || deref(msgs[0].Sid) != *m.Sid {
		t.Errorf("ListMessage(To) = %d messages, want the one sent", len(msgs))
	}

	svc := &api.CreateMessageParams{}
	svc.SetTo(customer)
	svc.SetMessagingServiceSid("MG" + strings.Repeat("0", 32))
	svc.SetBody("您对本次维修满意吗？回1-5")
	sm, err := rc.Api.CreateMessage(svc)
	if err != nil {
		t.Fatalf("CreateMessage with a Messaging Service: %v", err)
	}
	if deref(sm.Status) != "accepted" || sm.From != nil || deref(sm.MessagingServiceSid) != *svc.MessagingServiceSid {
		t.Errorf("service message: status %s from %s service %s; want accepted, null, the service", deref(sm.Status), deref(sm.From), deref(sm.MessagingServiceSid))
	}
}

func TestWrongCredentialsGet401(t *testing.T) {
	t.Parallel()
	good, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { good.Close() })
	rc, err := NewRestClient(good.URL(), good.AccountSID(), "0123456789abcdef0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	_, err = rc.Api.CreateCall(callParams(customer, "https://app.example.com/voice"))
	re := restError(t, err)
	if re.Status != 401 || re.Code != 20003 || re.MoreInfo != "https://www.twilio.com/docs/errors/20003" {
		t.Errorf("wrong token: %+v, want 401 / 20003", re)
	}

	// Without credentials at all, the raw answer carries Twilio's challenge.
	resp, err := http.Get(good.URL() + "/2010-04-01/Accounts/" + good.AccountSID() + "/Calls.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Errorf("no credentials: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

func TestCreateRejectsBadParametersWithTwilioCodes(t *testing.T) {
	t.Parallel()
	sim, rc := setup(t, Options{})
	call := func(mod func(p *api.CreateCallParams)) error {
		p := callParams(customer, "https://app.example.com/voice")
		mod(p)
		_, err := rc.Api.CreateCall(p)
		return err
	}
	msg := func(mod func(p *api.CreateMessageParams)) error {
		p := &api.CreateMessageParams{}
		p.SetTo(customer)
		p.SetFrom(ourNumber)
		p.SetBody("hi")
		mod(p)
		_, err := rc.Api.CreateMessage(p)
		return err
	}
	cases := []struct {
		name string
		err  error
		code int
		in   string // a word the message must contain
	}{
		{"call without To", call(func(p *api.CreateCallParams) { p.To = nil }), 21201, "To"},
		{"call without From", call(func(p *api.CreateCallParams) { p.From = nil }), 21213, "From"},
		{"call to a bad number", call(func(p *api.CreateCallParams) { p.SetTo("0415 555 0100") }), 21211, "To"},
		{"call from a bad number", call(func(p *api.CreateCallParams) { p.SetFrom("12") }), 21212, "From"},
		{"call without Url", call(func(p *api.CreateCallParams) { p.Url = nil }), 21205, "Url"},
		{"call with a relative Url", call(func(p *api.CreateCallParams) { p.SetUrl("/voice") }), 21205, "Url"},
		{"call with Method PUT", call(func(p *api.CreateCallParams) { p.SetMethod("PUT") }), 20001, "Method"},
		{"call with an unknown event", call(func(p *api.CreateCallParams) { p.SetStatusCallbackEvent([]string{"answered", "hungup"}) }), 20001, "StatusCallbackEvent"},
		{"call with Timeout 0", call(func(p *api.CreateCallParams) { p.SetTimeout(0) }), 20001, "Timeout"},
		{"call with MachineDetection on", call(func(p *api.CreateCallParams) { p.SetMachineDetection("on") }), 20001, "MachineDetection"},
		{"message without To", msg(func(p *api.CreateMessageParams) { p.To = nil }), 21604, "To"},
		{"message without From", msg(func(p *api.CreateMessageParams) { p.From = nil }), 21603, "From"},
		{"message without Body", msg(func(p *api.CreateMessageParams) { p.Body = nil }), 21602, "body"},
		{"message of 1601 characters", msg(func(p *api.CreateMessageParams) { p.SetBody(strings.Repeat("a", 1601)) }), 21617, "1600"},
		{"message to itself", msg(func(p *api.CreateMessageParams) { p.SetTo(ourNumber) }), 21266, "same"},
		{"message with ValidityPeriod 0", msg(func(p *api.CreateMessageParams) { p.SetValidityPeriod(0) }), 21624, "validity"},
		{"message with ValidityPeriod 36001", msg(func(p *api.CreateMessageParams) { p.SetValidityPeriod(36001) }), 21624, "validity"},
	}
	for _, tc := range cases {
		re := restError(t, tc.err)
		if re.Status != 400 || re.Code != tc.code || !strings.Contains(re.Message, tc.in) {
			t.Errorf("%s: %d %d %q, want 400 %d mentioning %q", tc.name, re.Status, re.Code, re.Message, tc.code, tc.in)
		}
	}
	if n := len(sim.Calls()) + len(sim.Messages()); n != 0 {
		t.Errorf("rejected requests created %d resources", n)
	}
}

func TestUnknownResourcesAndMethods(t *testing.T) {
	t.Parallel()
	sim, rc := setup(t, Options{})
	_, err := rc.Api.FetchCall("CA"+strings.Repeat("a", 32), nil)
	if re := restError(t, err); re.Status != 404 || re.Code != 20404 {
		t.Errorf("unknown call: %+v", re)
	}
	_, err = rc.Api.FetchMessage("not-a-sid", nil)
	if re := restError(t, err); re.Status != 404 || re.Code != 20404 {
		t.Errorf("malformed message SID: %+v", re)
	}
	other := &api.FetchCallParams{}
	other.SetPathAccountSid("AC" + strings.Repeat("b", 32))
	_, err = rc.Api.FetchCall("CA"+strings.Repeat("a", 32), other)
	if re := restError(t, err); re.Status != 404 {
		t.Errorf("another account's path: %+v", re)
	}
	err = rc.Api.DeleteCall("CA"+strings.Repeat("a", 32), nil)
	if re := restError(t, err); re.Status != 405 || re.Code != 20004 {
		t.Errorf("DELETE: %+v", re)
	}
	_ = sim
}

func TestErrorBodyIsTwilioShaped(t *testing.T) {
	t.Parallel()
	sim, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	req, _ := http.NewRequest(http.MethodPost, sim.URL()+"/2010-04-01/Accounts/"+sim.AccountSID()+"/Calls.json",
		strings.NewReader(url.Values{"From": {ourNumber}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(sim.AccountSID(), sim.AuthToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"code": 21201.0, "message": "No 'To' number is specified",
		"more_info": "https://www.twilio.com/docs/errors/21201", "status": 400.0}
	if fmt.Sprint(body) != fmt.Sprint(want) || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("error body %v (%s), want %v", body, resp.Header.Get("Content-Type"), want)
	}
}

func TestUpdateCallHangsUpAndRedirects(t *testing.T) {
	t.Parallel()
	sim, rc := setup(t, Options{Personas: map[string]Persona{customer: &Script{}}})
	a := newApp(t, sim.AuthToken())
	a.twiml("/hold", `<Response><Say>Please hold.</Say><Pause length="3600"/></Response>`)
	a.twiml("/moved", `<Response><Say>You were moved.</Say></Response>`)

	// Hang up a call in progress.
	c, err := rc.Api.CreateCall(callParams(customer, a.URL("/hold")))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { r, _ := sim.Call(*c.Sid); return contains(r.Said(), "Please hold") })
	up := &api.UpdateCallParams{}
	up.SetStatus("completed")
	got, err := rc.Api.UpdateCall(*c.Sid, up)
	if err != nil {
		t.Fatalf("UpdateCall: %v", err)
	}
	if deref(got.Status) != "completed" {
		t.Errorf("UpdateCall answered status %s, want completed", deref(got.Status))
	}
	rec, _ := sim.WaitCall(ctxT(t), *c.Sid)
	if rec.HungUpBy != ByAPI || rec.Duration >= 3600 {
		t.Errorf("hung up call: by %q after %d s, want api before the pause ends", rec.HungUpBy, rec.Duration)
	}
	if _, err := rc.Api.UpdateCall(*c.Sid, up); err != nil {
		t.Errorf("hanging up an ended call again: %v, want no error", err)
	}
	redirect := &api.UpdateCallParams{}
	redirect.SetUrl(a.URL("/moved"))
	_, err = rc.Api.UpdateCall(*c.Sid, redirect)
	if re := restError(t, err); re.Code != 21220 {
		t.Errorf("redirecting an ended call: %+v, want 21220", re)
	}

	// Redirect a call in progress to other TwiML.
	c, err = rc.Api.CreateCall(callParams(customer, a.URL("/hold")))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { r, _ := sim.Call(*c.Sid); return contains(r.Said(), "Please hold") })
	if _, err := rc.Api.UpdateCall(*c.Sid, redirect); err != nil {
		t.Fatalf("UpdateCall(Url): %v", err)
	}
	rec, _ = sim.WaitCall(ctxT(t), *c.Sid)
	equal(t, "said after the redirect", rec.Said(), []string{"Please hold.", "You were moved."})
	if rec.HungUpBy != ByTwiML {
		t.Errorf("redirected call ended by %q, want twiml", rec.HungUpBy)
	}
}

// waitFor polls cond until it holds: for states only the simulator's own
// progress reaches (a call in the middle of its TwiML).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestTransportSendsOnlyTwilioHostsToTheSimulator(t *testing.T) {
	t.Parallel()
	sim, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	hc, err := NewHTTPClient(sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"https://api.twilio.com/2010-04-01/Nowhere.json", "https://api.sydney.au1.twilio.com/2010-04-01/Nowhere.json"} {
		resp, err := hc.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 { // reached the simulator, which wants credentials
			t.Errorf("GET %s: %d, want the simulator's 401", u, resp.StatusCode)
		}
	}
	if _, err := hc.Get("https://example.com/"); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("GET example.com: %v, want a refusal", err)
	}
	for _, bad := range []string{"", "api.twilio.com", "ftp://x", "http://127.0.0.1:1/prefix"} {
		if _, err := NewTransport(bad, nil); err == nil {
			t.Errorf("NewTransport(%q) accepted", bad)
		}
	}
}
