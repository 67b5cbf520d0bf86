package twiliosim

import (
	"net/url"
	"testing"

	"github.com/twilio/twilio-go/client"
)

// The vector of twilio-go's own request validator tests.
func TestSignatureMatchesTwilioGoTestVector(t *testing.T) {
	t.Parallel()
	params := url.Values{
		"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"},
		"Caller": {"+14158675309"}, "From": {"+14158675309"}, "ReasonConferenceEnded": {"test"}, "Reason": {"Participant"},
	}
	const u = "https://mycompany.com/myapp.php?foo=1&bar=2"
	if got := Signature("12345", u, params); got != "vOEb5UThFn24KEfnOFLQY2AE5FY=" {
		t.Errorf("Signature = %s, want vOEb5UThFn24KEfnOFLQY2AE5FY=", got)
	}
	rv := client.NewRequestValidator("12345")
	flat := map[string]string{}
	for k := range params {
		flat[k] = params.Get(k)
	}
	if !rv.Validate(u, flat, Signature("12345", u, params)) {
		t.Error("twilio-go rejects the simulator's signature")
	}
	flat["Digits"] = "1235"
	if rv.Validate(u, flat, Signature("12345", u, params)) {
		t.Error("twilio-go accepts the signature with a tampered parameter")
	}
	if rv.Validate("https://mycompany.com/other.php?foo=1&bar=2", flat, Signature("12345", u, params)) {
		t.Error("twilio-go accepts the signature for another URL")
	}
	get := u + "&Digits=1234"
	if !rv.Validate(get, map[string]string{}, Signature("12345", get, nil)) {
		t.Error("twilio-go rejects a GET signature")
	}
}

// Every kind of webhook the simulator sends passes twilio-go's
// RequestValidator: the app of newApp answers 403 to, and the test fails
// on, any that does not.
func TestEveryWebhookIsSignedAsTwilioSigns(t *testing.T) {
	t.Parallel()
	token := newToken()
	a := newApp(t, token)
	persona := &Script{Pickup: Pickup{By: Human}, Responses: []Response{{Digits: "1"}, {Speech: "fine", Digits: "#"}}, Replies: []string{"TD"}}
	sim, rc := setup(t, Options{AuthToken: token, SMSURL: a.URL("/sms"), SMSMethod: "GET", Personas: map[string]Persona{customer: persona}})
	a.twiml("/voice", `<Response><Gather action="/g?x=1&amp;y=2" method="GET"><Say>Press 1.</Say></Gather></Response>`)
	a.twiml("/g", `<Response><Record action="/r" recordingStatusCallback="/rs" recordingStatusCallbackMethod="GET"/></Response>`)
	a.twiml("/r", `<Response/>`)
	p := callParams(customer, a.URL("/voice"))
	p.SetStatusCallback(a.URL("/status?campaign=7"))
	p.SetStatusCallbackEvent(allEvents)
	p.SetMachineDetection("Enable")
	p.SetAsyncAmd("true")
	p.SetAsyncAmdStatusCallback(a.URL("/amd"))
	p.SetAsyncAmdStatusCallbackMethod("GET")
	placeCall(t, sim, rc, p)
	m, err := sendSMS(t, rc, customer, "Reply 1=Yes 2=No", a.URL("/sms-status"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.WaitMessage(ctxT(t), *m.Sid); err != nil {
		t.Fatal(err)
	}
	for path, n := range map[string]int{"/voice": 1, "/g": 1, "/r": 1, "/rs": 1, "/status": 4, "/amd": 1, "/sms-status": 3, "/sms": 1} {
		if got := len(a.Requests(path)); got != n {
			t.Errorf("%s: %d signed requests, want %d", path, got, n)
		}
	}
	if g := a.Requests("/g"); len(g) == 1 && (g[0].Form.Get("x") != "1" || g[0].Form.Get("Digits") != "1") {
		t.Errorf("GET action kept its own query and added Twilio's: %v", g[0].Form)
	}
	if len(a.Forged()) != 0 {
		t.Errorf("forged: %v", a.Forged())
	}
}
