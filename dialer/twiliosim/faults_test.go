package twiliosim

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	api "github.com/twilio/twilio-go/rest/api/v2010"
)

func TestRESTFaultsReachTheClient(t *testing.T) {
	t.Parallel()
	sim, rc := setup(t, Options{RESTFaults: []RESTFault{{Op: OpCreateCall, Status: 429, Times: 1}}})
	_, err := rc.Api.CreateCall(callParams(customer, "https://app.example.com/voice"))
	if re := restError(t, err); re.Status != 429 || re.Code != 20429 || re.Message != "Too Many Requests" {
		t.Errorf("first create: %+v, want 429 / 20429", re)
	}
	if len(sim.Calls()) != 0 {
		t.Error("a refused create placed a call")
	}
	if _, err := rc.Api.CreateCall(callParams(customer, "https://app.example.com/voice")); err != nil {
		t.Errorf("second create (fault used up): %v", err)
	}

	if err := sim.InjectREST(RESTFault{Op: OpListCalls, Status: 500}); err != nil {
		t.Fatal(err)
	}
	_, err = rc.Api.ListCall(nil)
	if re := restError(t, err); re.Status != 500 || re.Code != 20500 {
		t.Errorf("list: %+v, want 500 / 20500", re)
	}
	if err := sim.InjectREST(RESTFault{Op: OpCreateMessage, To: cnNumber, Status: 503}); err != nil {
		t.Fatal(err)
	}
	if _, err := sendSMS(t, rc, customer, "hi", ""); err != nil {
		t.Errorf("a fault for another number hit: %v", err)
	}
	_, err = sendSMS(t, rc, cnNumber, "hi", "")
	if re := restError(t, err); re.Status != 503 || re.Code != 20503 {
		t.Errorf("message to the faulted number: %+v", re)
	}
}

// The ambiguous create: the call is placed but the client times out. The
// reconciler finds it by listing calls to the number since the attempt
// began, and never places a second one.
func TestHungCreateThatPlacedTheCall(t *testing.T) {
	t.Parallel()
	sim, rc := setup(t, Options{
		Personas:   map[string]Persona{customer: &Script{}},
		RESTFaults: []RESTFault{{Op: OpCreateCall, Hang: true, Applied: true, Times: 1}},
	})
	rc.SetTimeout(150 * time.Millisecond)
	began := sim.Clock().Now()
	start := time.Now()
	_, err := rc.Api.CreateCall(callParams(customer, "https://app.example.com/voice"))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("hung create: %v, want the client's timeout", err)
	}
	if took := time.Since(start); took < 150*time.Millisecond || took > 5*time.Second {
		t.Errorf("the client gave up after %v", took)
	}
	rc.SetTimeout(10 * time.Second)
	lp := &api.ListCallParams{}
	lp.SetTo(customer)
	lp.SetStartTimeAfter(began.Add(-time.Second).Truncate(time.Second))
	calls, err := rc.Api.ListCall(lp)
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 1 || len(sim.Calls()) != 1 {
		t.Fatalf("listed %d calls, simulator has %d; want the one the hung request placed", len(calls), len(sim.Calls()))
	}
}

func TestLatencyDelaysEveryResponse(t *testing.T) {
	t.Parallel()
	_, rc := setup(t, Options{Latency: 60 * time.Millisecond})
	start := time.Now()
	if _, err := rc.Api.ListCall(nil); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 60*time.Millisecond {
		t.Errorf("answered after %v, want at least the 60 ms latency", took)
	}
	rc.SetTimeout(20 * time.Millisecond)
	if _, err := rc.Api.ListCall(nil); err == nil {
		t.Error("a client with a timeout below the latency got an answer")
	}
}

// statusCallbacksWith places a call with every status event and the given
// callback faults, and returns the status callbacks the app received.
func statusCallbacksWith(t *testing.T, faults ...CallbackFault) []request {
	t.Helper()
	sim, rc := setup(t, Options{Personas: map[string]Persona{customer: &Script{}}, CallbackFaults: faults})
	a := newApp(t, sim.AuthToken())
	a.twiml("/voice", `<Response><Say>Hello.</Say></Response>`)
	p := callParams(customer, a.URL("/voice"))
	p.SetStatusCallback(a.URL("/status"))
	p.SetStatusCallbackEvent(allEvents)
	placeCall(t, sim, rc, p)
	return a.Requests("/status")
}

func TestDuplicatedCallbackArrivesTwiceIdentically(t *testing.T) {
	t.Parallel()
	st := statusCallbacksWith(t, CallbackFault{Hook: HookCallStatus, Status: "completed", Action: Duplicate})
	equal(t, "CallStatus", values(st, "CallStatus"), []string{"initiated", "ringing", "in-progress", "completed", "completed"})
	a, b := st[3], st[4]
	if a.Body != b.Body || a.Header.Get("X-Twilio-Signature") != b.Header.Get("X-Twilio-Signature") ||
		a.Header.Get("I-Twilio-Idempotency-Token") != b.Header.Get("I-Twilio-Idempotency-Token") {
		t.Errorf("the two deliveries differ:\n%s %v\n%s %v", a.Body, a.Header, b.Body, b.Header)
	}
	if st[2].Header.Get("I-Twilio-Idempotency-Token") == a.Header.Get("I-Twilio-Idempotency-Token") {
		t.Error("different callbacks share an idempotency token")
	}
}

func TestDroppedCallbackNeverArrives(t *testing.T) {
	t.Parallel()
	st := statusCallbacksWith(t, CallbackFault{Status: "completed", Action: Drop})
	equal(t, "CallStatus", values(st, "CallStatus"), []string{"initiated", "ringing", "in-progress"})
	equal(t, "SequenceNumber", values(st, "SequenceNumber"), []string{"0", "1", "2"})
}

func TestLateCallbackArrivesAfterTheFinalOne(t *testing.T) {
	t.Parallel()
	st := statusCallbacksWith(t, CallbackFault{Hook: HookCallStatus, Status: "in-progress", Action: Late})
	equal(t, "CallStatus", values(st, "CallStatus"), []string{"initiated", "ringing", "completed", "in-progress"})
	equal(t, "SequenceNumber", values(st, "SequenceNumber"), []string{"0", "1", "3", "2"})

	sim, rc := setup(t, Options{Personas: map[string]Persona{customer: &Script{}},
		CallbackFaults: []CallbackFault{{Hook: HookMessageStatus, Status: "sent", Action: Late}}})
	a := newApp(t, sim.AuthToken())
	m, err := sendSMS(t, rc, customer, "hi", a.URL("/st"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.WaitMessage(ctxT(t), *m.Sid); err != nil {
		t.Fatal(err)
	}
	equal(t, "MessageStatus", values(a.Requests("/st"), "MessageStatus"), []string{"queued", "delivered", "sent"})
}

func TestFaultsAreChecked(t *testing.T) {
	t.Parallel()
	bad := []Options{
		{RESTFaults: []RESTFault{{Status: 200}}},
		{RESTFaults: []RESTFault{{Status: 429, Times: -1}}},
		{CallbackFaults: []CallbackFault{{Action: "explode"}}},
		{CallbackFaults: []CallbackFault{{Action: Drop, Hook: "twiml"}}},
		{AccountSID: "AC123"},
		{AuthToken: "secret-with-dashes"},
		{Speed: -1},
		{Latency: -time.Second},
		{SMSURL: "/relative"},
		{SMSMethod: "PUT"},
		{MessagingServiceNumber: "555"},
		{Personas: map[string]Persona{"0415": &Script{}}},
		{Personas: map[string]Persona{customer: nil}},
	}
	for _, o := range bad {
		if _, err := New(o); err == nil || !strings.HasPrefix(err.Error(), "twiliosim: ") {
			t.Errorf("New(%+v) = %v, want a twiliosim error", o, err)
		}
	}
	sim, _ := setup(t, Options{})
	if err := sim.InjectCallback(CallbackFault{Action: "later"}); err == nil {
		t.Error("InjectCallback accepted an unknown action")
	}
	if err := sim.SetPersona("12345", &Script{}); err == nil {
		t.Error("SetPersona accepted a non-E.164 number")
	}
}
