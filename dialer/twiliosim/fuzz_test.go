package twiliosim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	api "github.com/twilio/twilio-go/rest/api/v2010"
)

var twimlSeeds = []string{
	`<Response><Say>Hi</Say></Response>`,
	`<?xml version="1.0"?><Response><Gather numDigits="1" action="https://app.example.com/a"><Say loop="3">Press</Say></Gather></Response>`,
	`<Response><Say loop="0">forever</Say><Pause length="99999999"/></Response>`,
	`<Response><Gather timeout="99999" input="speech"><Play loop="1000000">https://x.example.com/a.mp3</Play></Gather></Response>`,
	`<Response><Record maxLength="-1" timeout="x" finishOnKey=""/><Redirect>rel</Redirect></Response>`,
	`<Response><Dial><Number>+14155550123</Number></Dial><Hangup/></Response>`,
	`<Response><Say><prosody rate="slow">慢慢说</prosody><break/>好</Say></Response>`,
	`<Response>`, `<Reply/>`, ``, `<Response/><Response/>`, `text`, `<Response><Say>&bogus;</Say></Response>`,
}

func FuzzParseTwiML(f *testing.F) {
	for _, s := range twimlSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		verbs, err := parseTwiML([]byte(doc))
		if err == nil && !strings.Contains(doc, "Response") {
			t.Errorf("accepted %q without a <Response>: %+v", doc, verbs)
		}
	})
}

// refuseAll is a webhook transport that fails every request: fuzzed TwiML
// must never make the simulator reach a real host.
type refuseAll struct{}

func (refuseAll) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("no network in fuzz tests")
}

// Whatever TwiML a call is given, the simulator runs it to an end without
// panicking, within the call's TimeLimit.
func FuzzInlineTwiML(f *testing.F) {
	for _, s := range twimlSeeds {
		f.Add(s, "1")
	}
	sim, err := New(Options{
		Speed:         10000,
		Personas:      map[string]Persona{customer: &Script{Responses: []Response{{Digits: "1"}, {Speech: "yes"}, {Digits: "12#", Speech: "x"}, {HangUp: true}}}},
		WebhookClient: &http.Client{Transport: refuseAll{}},
	})
	if err != nil {
		f.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	f.Cleanup(srv.Close)
	f.Cleanup(func() { sim.Close() })
	rc, err := NewRestClient(srv.URL, sim.AccountSID(), sim.AuthToken())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, doc, keys string) {
		p := &api.CreateCallParams{}
		p.SetTo(customer)
		p.SetFrom(ourNumber)
		p.SetTwiml(doc)
		p.SetTimeLimit(600)
		c, err := rc.Api.CreateCall(p)
		if err != nil {
			return // refused at the API: empty or too long
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rec, err := sim.WaitCall(ctx, *c.Sid)
		if err != nil {
			t.Fatalf("call did not end: %v", err)
		}
		if rec.Status != "completed" || rec.Duration > 601 {
			t.Errorf("call ended %s after %d s", rec.Status, rec.Duration)
		}
	})
}

// Whatever form a create request carries, the answer is a success or a
// Twilio-shaped 4xx error, never a 5xx or a panic.
func FuzzCreateForms(f *testing.F) {
	f.Add("To=%2B14155550100&From=%2B15017122661&Url=https%3A%2F%2Fa.example.com%2Fv")
	f.Add("To=%2B14155550100&From=%2B15017122661&Body=hi&ValidityPeriod=99")
	f.Add("To=&From=x&Url=%%&Timeout=-1&StatusCallbackEvent=answered+x")
	f.Add("MessagingServiceSid=MG123&To=%2B1&Body=" + strings.Repeat("%E5%A5%BD", 50))
	sim, err := New(Options{Speed: 10000, WebhookClient: &http.Client{Transport: refuseAll{}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { sim.Close() })
	f.Fuzz(func(t *testing.T, form string) {
		for _, res := range []string{"Calls.json", "Messages.json"} {
			req := httptest.NewRequest(http.MethodPost, "/2010-04-01/Accounts/"+sim.AccountSID()+"/"+res, strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(sim.AccountSID(), sim.AuthToken())
			w := httptest.NewRecorder()
			sim.ServeHTTP(w, req)
			if w.Code >= 500 {
				t.Fatalf("%s %q: %d %s", res, form, w.Code, w.Body)
			}
			var body map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("%s %q: answer is not JSON: %s", res, form, w.Body)
			}
			if w.Code >= 400 && (body["code"] == nil || body["message"] == nil || body["more_info"] == nil) {
				t.Errorf("%s %q: error %s lacks Twilio's fields", res, form, w.Body)
			}
		}
	})
}

func TestValuesParseLikeTwilio(t *testing.T) {
	t.Parallel()
	// twilio-go sends StartTime> as its own key; a date or a time is fine.
	for _, q := range []string{"StartTime%3E=2025-03-14", "StartTime%3E=2025-03-14T08:00:00Z", "StartTime=2025-03-14&StartTime%3C=2025-03-15"} {
		form, _ := url.ParseQuery(q)
		if _, err := parseTimeFilter(form, "StartTime"); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
	form, _ := url.ParseQuery("StartTime%3E=yesterday")
	if _, err := parseTimeFilter(form, "StartTime"); err == nil || !strings.Contains(err.Message, "StartTime>") {
		t.Errorf("a bad date: %v", err)
	}
}
