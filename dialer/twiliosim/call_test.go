package twiliosim

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	api "github.com/twilio/twilio-go/rest/api/v2010"
)

var allEvents = []string{"initiated", "ringing", "answered", "completed"}

// survey serves a small three-question IVR the way Huifang's webhooks do:
// each question a <Gather> whose action is the next step.
func survey(a *app) {
	a.twiml("/voice", `<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Gather input="dtmf" numDigits="1" timeout="6" action="/q/visit">
    <Say voice="Polly.Joanna" language="en-US">Acme service, about your water heater repair. Press 1 to continue.</Say>
  </Gather>
  <Say>Sorry, I didn't hear a key press. Goodbye.</Say>
</Response>`)
	a.twiml("/q/visit", `<Response>
  <Gather numDigits="1" action="rate"><Say language="en-US">Did a technician visit? Press 1 for yes, 2 for no.</Say></Gather>
</Response>`)
	a.twiml("/q/rate", `<Response>
  <Gather numDigits="1" action="/q/amount"><Say>How satisfied are you, from 1 to 5?</Say><Pause length="1"/></Gather>
</Response>`)
	a.twiml("/q/amount", `<Response>
  <Gather finishOnKey="#" timeout="10" action="/q/done" method="GET"><Say>Enter the amount you paid, then press pound.</Say></Gather>
</Response>`)
	a.twiml("/q/done", `<Response><Say>Thank you. Goodbye.</Say></Response>`)
}

func TestFullCallThroughAMultiGatherFlow(t *testing.T) {
	t.Parallel()
	persona := &Script{Responses: []Response{{Digits: "1"}, {Digits: "1"}, {Digits: "4"}, {Digits: "120#"}}}
	sim, rc := setup(t, Options{Personas: map[string]Persona{customer: persona}})
	a := newApp(t, sim.AuthToken())
	survey(a)

	p := callParams(customer, a.URL("/voice"))
	p.SetStatusCallback(a.URL("/status"))
	p.SetStatusCallbackEvent(allEvents)
	p.SetTimeout(30)
	rec := placeCall(t, sim, rc, p)

	if rec.Status != "completed" || rec.HungUpBy != ByTwiML || len(rec.Problems()) != 0 {
		t.Errorf("call ended %s by %q with problems %+v", rec.Status, rec.HungUpBy, rec.Problems())
	}
	// Each answer reaches the next step's action as Twilio posts it.
	for path, want := range map[string]string{"/q/visit": "1", "/q/rate": "1", "/q/amount": "4", "/q/done": "120"} {
		reqs := a.Requests(path)
		if len(reqs) != 1 {
			t.Fatalf("%s requested %d times, want once", path, len(reqs))
		}
		f := reqs[0].Form
		if f.Get("Digits") != want || f.Get("CallSid") != rec.Sid || f.Get("CallStatus") != "in-progress" ||
			f.Get("To") != customer || f.Get("From") != ourNumber || f.Get("Direction") != "outbound-api" ||
			f.Get("AccountSid") != sim.AccountSID() || f.Get("ApiVersion") != "2010-04-01" {
			t.Errorf("%s got %v, want Digits %s and the call's parameters", path, f, want)
		}
	}
	if r := a.Requests("/q/done")[0]; r.Method != "GET" || r.Form.Get("FinishedOnKey") != "#" || r.Body != "" {
		t.Errorf("GET action: method %s FinishedOnKey %q body %q", r.Method, r.Form.Get("FinishedOnKey"), r.Body)
	}
	equal(t, "what the customer heard", rec.Said(), []string{
		"Acme service, about your water heater repair. Press 1 to continue.",
		"Did a technician visit? Press 1 for yes, 2 for no.",
		"How satisfied are you, from 1 to 5?",
		"Enter the amount you paid, then press pound.",
		"Thank you. Goodbye.",
	})

	// Status callbacks: every event asked for, in order, numbered from 0.
	st := a.Requests("/status")
	equal(t, "CallStatus", values(st, "CallStatus"), []string{"initiated", "ringing", "in-progress", "completed"})
	equal(t, "SequenceNumber", values(st, "SequenceNumber"), []string{"0", "1", "2", "3"})
	for _, r := range st {
		f := r.Form
		if f.Get("CallbackSource") != "call-progress-events" || f.Get("CallSid") != rec.Sid || f.Get("Direction") != "outbound-api" {
			t.Errorf("status callback %v lacks Twilio's parameters", f)
		}
		if _, err := time.Parse(time.RFC1123Z, f.Get("Timestamp")); err != nil {
			t.Errorf("Timestamp %q: %v", f.Get("Timestamp"), err)
		}
		if r.Header.Get("I-Twilio-Idempotency-Token") == "" || r.Header.Get("User-Agent") != "TwilioProxy/1.1" {
			t.Errorf("status callback headers %v", r.Header)
		}
	}
	last := st[len(st)-1].Form
	if last.Get("CallDuration") != strconv.Itoa(rec.Duration) || rec.Duration < 20 || rec.Duration > 60 || last.Get("Duration") != "1" {
		t.Errorf("completed: CallDuration %s Duration %s, call lasted %d s", last.Get("CallDuration"), last.Get("Duration"), rec.Duration)
	}
	if st[0].Form.Has("CallDuration") {
		t.Error("initiated carries CallDuration")
	}
}

func TestOnlyCompletedIsPostedWhenNoEventIsAsked(t *testing.T) {
	t.Parallel()
	sim, rc := setup(t, Options{Personas: map[string]Persona{customer: &Script{}}})
	a := newApp(t, sim.AuthToken())
	a.twiml("/voice", `<Response><Say>Hi</Say></Response>`)
	p := callParams(customer, a.URL("/voice"))
	p.SetStatusCallback(a.URL("/status"))
	placeCall(t, sim, rc, p)
	st := a.Requests("/status")
	equal(t, "CallStatus", values(st, "CallStatus"), []string{"completed"})
	equal(t, "SequenceNumber", values(st, "SequenceNumber"), []string{"0"})

	// Only the events asked for.
	p.SetStatusCallback(a.URL("/answered"))
	p.SetStatusCallbackEvent([]string{"answered"})
	placeCall(t, sim, rc, p)
	equal(t, "CallStatus of answered only", values(a.Requests("/answered"), "CallStatus"), []string{"in-progress"})
}

func TestHowCallsEnd(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		persona  Persona
		amd      string // MachineDetection
		async    bool
		statuses []string
		status   string
		by       string
	}{
		{"busy", &Script{Pickup: Pickup{By: Busy}}, "", false, []string{"initiated", "busy"}, "busy", ""},
		{"rings out", &Script{Pickup: Pickup{By: NoAnswer}}, "", false, []string{"initiated", "ringing", "no-answer"}, "no-answer", ""},
		{"picks up too late", &Script{Pickup: Pickup{By: Human, After: 45 * time.Second}}, "", false, []string{"initiated", "ringing", "no-answer"}, "no-answer", ""},
		{"unreachable", &Script{Pickup: Pickup{By: Unreachable}}, "", false, []string{"initiated", "failed"}, "failed", ""},
		{"hangs up mid-survey", &Script{Responses: []Response{{Digits: "1"}, {HangUp: true}}}, "", false,
			[]string{"initiated", "ringing", "in-progress", "completed"}, "completed", ByCustomer},
		{"voicemail, async AMD", &Script{Pickup: Pickup{By: Machine}}, "Enable", true,
			[]string{"initiated", "ringing", "in-progress", "completed"}, "completed", ByTwiML},
		{"voicemail, AMD waits for the beep", &Script{Pickup: Pickup{By: Machine}}, "DetectMessageEnd", false,
			[]string{"initiated", "ringing", "in-progress", "completed"}, "completed", ByTwiML},
		{"person, AMD", &Script{Responses: []Response{{Digits: "1"}, {Digits: "2"}}}, "Enable", false,
			[]string{"initiated", "ringing", "in-progress", "completed"}, "completed", ByTwiML},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim, rc := setup(t, Options{Personas: map[string]Persona{customer: tc.persona}})
			a := newApp(t, sim.AuthToken())
			survey(a)
			p := callParams(customer, a.URL("/voice"))
			p.SetStatusCallback(a.URL("/status"))
			p.SetStatusCallbackEvent(allEvents)
			p.SetTimeout(30)
			if tc.amd != "" {
				p.SetMachineDetection(tc.amd)
				if tc.async {
					p.SetAsyncAmd("true")
					p.SetAsyncAmdStatusCallback(a.URL("/amd"))
				}
			}
			rec := placeCall(t, sim, rc, p)
			equal(t, "CallStatus", values(a.Requests("/status"), "CallStatus"), tc.statuses)
			if rec.Status != tc.status || rec.HungUpBy != tc.by {
				t.Errorf("ended %s by %q, want %s by %q", rec.Status, rec.HungUpBy, tc.status, tc.by)
			}
			final := a.Requests("/status")[len(tc.statuses)-1].Form
			answered := tc.status == "completed"
			if (final.Get("CallDuration") != "0") == !answered {
				t.Errorf("CallDuration %s for a call answered=%v", final.Get("CallDuration"), answered)
			}
			if !answered && len(a.Requests("/voice")) != 0 {
				t.Error("the TwiML was fetched for a call nobody answered")
			}
			voice := a.Requests("/voice")
			switch {
			case tc.amd != "" && tc.async:
				amd := a.Requests("/amd")
				if len(amd) != 1 || amd[0].Form.Get("AnsweredBy") != "machine_start" || amd[0].Form.Get("MachineDetectionDuration") == "" {
					t.Fatalf("async AMD callbacks %v, want one machine_start", amd)
				}
				if voice[0].Form.Has("AnsweredBy") {
					t.Error("with AsyncAmd the TwiML request carries AnsweredBy")
				}
				if final.Get("AnsweredBy") != "machine_start" {
					t.Errorf("completed AnsweredBy %q", final.Get("AnsweredBy"))
				}
			case tc.amd == "DetectMessageEnd":
				if voice[0].Form.Get("AnsweredBy") != "machine_end_beep" {
					t.Errorf("TwiML request AnsweredBy %q, want machine_end_beep", voice[0].Form.Get("AnsweredBy"))
				}
			case tc.amd != "":
				if voice[0].Form.Get("AnsweredBy") != "human" {
					t.Errorf("TwiML request AnsweredBy %q, want human", voice[0].Form.Get("AnsweredBy"))
				}
			}
			if tc.by == ByCustomer && len(a.Requests("/q/rate")) != 0 {
				t.Error("a customer who hung up at the second question still answered it")
			}
			if tc.persona.(*Script).Pickup.By == Machine {
				// A machine hears the greeting and answers nothing: the
				// TwiML falls through to its goodbye.
				if len(a.Requests("/q/visit")) != 0 || !contains(rec.Said(), "Goodbye") {
					t.Errorf("voicemail answered a Gather: %v", rec.Said())
				}
			}
		})
	}
}

func TestVoicemailHangsUpAtItsLimit(t *testing.T) {
	t.Parallel()
	sim, rc := setup(t, Options{Personas: map[string]Persona{customer: &Script{Pickup: Pickup{By: Machine}}}})
	a := newApp(t, sim.AuthToken())
	a.twiml("/voice", `<Response><Gather timeout="30"><Say>Hello?</Say></Gather><Redirect/></Response>`)
	rec := placeCall(t, sim, rc, callParams(customer, a.URL("/voice")))
	if rec.HungUpBy != ByMachine || rec.Duration != 120 {
		t.Errorf("voicemail call ended by %q after %d s, want the machine after 120 s", rec.HungUpBy, rec.Duration)
	}
}

func TestGatherWithoutInput(t *testing.T) {
	t.Parallel()
	sim, rc := setup(t, Options{Personas: map[string]Persona{customer: &Script{Responses: []Response{{}, {Digits: "5", Delay: 9 * time.Second}}}}})
	a := newApp(t, sim.AuthToken())
	a.twiml("/voice", `<Response>
  <Gather action="/never"><Say>First try.</Say></Gather>
  <Gather action="/empty" actionOnEmptyResult="true" timeout="3"><Say>Second try.</Say></Gather>
</Response>`)
	a.twiml("/empty", `<Response><Say>Nothing again.</Say></Response>`)
	rec := placeCall(t, sim, rc, callParams(customer, a.URL("/voice")))
	if len(a.Requests("/never")) != 0 {
		t.Error("a Gather without input requested its action")
	}
	empty := a.Requests("/empty")
	if len(empty) != 1 || !empty[0].Form.Has("Digits") || empty[0].Form.Get("Digits") != "" {
		t.Fatalf("actionOnEmptyResult: %v, want one request with empty Digits", empty)
	}
	equal(t, "said", rec.Said(), []string{"First try.", "Second try.", "Nothing again."})
}

func TestSpeechGather(t *testing.T) {
	t.Parallel()
	sim, rc := setup(t, Options{Personas: map[string]Persona{customer: &Script{Responses: []Response{{Speech: "yes it was fixed", Confidence: 0.81}}}}})
	a := newApp(t, sim.AuthToken())
	a.twiml("/voice", `<Response><Gather input="speech dtmf" action="/heard" language="en-US"><Say>Is it fixed?</Say></Gather></Response>`)
	placeCall(t, sim, rc, callParams(customer, a.URL("/voice")))
	heard := a.Requests("/heard")
	if len(heard) != 1 || heard[0].Form.Get("SpeechResult") != "yes it was fixed" || heard[0].Form.Get("Confidence") != "0.81" || heard[0].Form.Has("Digits") {
		t.Errorf("speech result %v", heard)
	}
}

func TestRecordPostsItsActionBeforeTheRecordingCallback(t *testing.T) {
	t.Parallel()
	words := "The technician was late."
	sim, rc := setup(t, Options{Personas: map[string]Persona{customer: &Script{Responses: []Response{{Speech: words, Digits: "#"}}}}})
	a := newApp(t, sim.AuthToken())
	a.twiml("/voice", `<Response><Say>Tell us after the tone.</Say>
  <Record action="/recorded" maxLength="60" finishOnKey="#" recordingStatusCallback="/recording"/></Response>`)
	a.twiml("/recorded", `<Response><Say>Thanks.</Say></Response>`)
	rec := placeCall(t, sim, rc, callParams(customer, a.URL("/voice")))
	action, cb := a.Requests("/recorded"), a.Requests("/recording")
	if len(action) != 1 || len(cb) != 1 {
		t.Fatalf("%d actions and %d recording callbacks, want one each", len(action), len(cb))
	}
	f, g := action[0].Form, cb[0].Form
	if f.Get("Digits") != "#" || !validSid(f.Get("RecordingSid"), "RE") || f.Get("RecordingDuration") == "" ||
		!strings.HasSuffix(f.Get("RecordingUrl"), "/Recordings/"+f.Get("RecordingSid")) {
		t.Errorf("record action %v", f)
	}
	if g.Get("RecordingSid") != f.Get("RecordingSid") || g.Get("RecordingStatus") != "completed" || g.Get("RecordingSource") != "RecordVerb" {
		t.Errorf("recording callback %v", g)
	}
	var steps []string
	for _, st := range rec.Steps {
		if st.Verb == "Record" {
			steps = append(steps, st.Speech)
		}
	}
	equal(t, "recorded", steps, []string{words})
	equal(t, "said", rec.Said(), []string{"Tell us after the tone.", "Thanks."})
}

// A recording's media is fetched as Twilio serves it: with the account's
// credentials, as WAV with no extension or .wav (Range requests answered
// with 206), its metadata with .json; without credentials, 401.
func TestRecordingMediaIsFetchedWithTheAccountsCredentials(t *testing.T) {
	t.Parallel()
	sim, rc, base := setupAt(t, Options{Personas: map[string]Persona{customer: &Script{Responses: []Response{{Speech: "It leaks.", Digits: "#"}}}}})
	a := newApp(t, sim.AuthToken())
	a.twiml("/voice", `<Response><Record action="/recorded" maxLength="60" finishOnKey="#"/></Response>`)
	a.twiml("/recorded", `<Response><Hangup/></Response>`)
	placeCall(t, sim, rc, callParams(customer, a.URL("/voice")))
	action := a.Requests("/recorded")
	if len(action) != 1 {
		t.Fatalf("%d record actions, want 1", len(action))
	}
	recURL, secs := action[0].Form.Get("RecordingUrl"), action[0].Form.Get("RecordingDuration")
	get := func(url string, headers map[string]interface{}) (*http.Response, []byte) {
		t.Helper()
		resp, err := rc.RequestHandler.Client.SendRequest(http.MethodGet, url, nil, headers)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	n, _ := strconv.Atoi(secs)
	wantLen := 44 + n*8000*2
	for _, u := range []string{recURL, recURL + ".wav"} {
		resp, body := get(u, nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "audio/x-wav" || len(body) != wantLen ||
			string(body[:4]) != "RIFF" || string(body[8:16]) != "WAVEfmt " || binary.LittleEndian.Uint32(body[24:28]) != 8000 {
			t.Errorf("GET %s: %d %s, %d bytes (want %d: %d s at 8 kHz, 16-bit)", u, resp.StatusCode, resp.Header.Get("Content-Type"), len(body), wantLen, n)
		}
	}
	resp, body := get(recURL+".wav", map[string]interface{}{"Range": "bytes=0-43"})
	if resp.StatusCode != http.StatusPartialContent || len(body) != 44 || resp.Header.Get("Content-Range") != fmt.Sprintf("bytes 0-43/%d", wantLen) {
		t.Errorf("range request: %d, %d bytes, Content-Range %q", resp.StatusCode, len(body), resp.Header.Get("Content-Range"))
	}
	resp, body = get(recURL+".json", nil)
	var meta struct {
		Sid      string `json:"sid"`
		CallSid  string `json:"call_sid"`
		Duration string `json:"duration"`
		Status   string `json:"status"`
	}
	if err := json.Unmarshal(body, &meta); err != nil || resp.StatusCode != 200 || meta.Sid != action[0].Form.Get("RecordingSid") ||
		meta.CallSid != action[0].Form.Get("CallSid") || meta.Duration != secs || meta.Status != "completed" {
		t.Errorf("metadata: %d %+v (%v)", resp.StatusCode, meta, err)
	}
	// Without the account's credentials: 401, as Twilio's media URLs are
	// when HTTP authentication of media is on.
	plain, err := NewHTTPClient(base)
	if err != nil {
		t.Fatal(err)
	}
	r, err := plain.Get(recURL)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusUnauthorized {
		t.Errorf("without credentials: %d, want 401", r.StatusCode)
	}
	if _, err := rc.RequestHandler.Client.SendRequest(http.MethodGet, recURL[:len(recURL)-4]+"ffff", nil, nil); err == nil {
		t.Error("an unknown recording was served")
	}
}

func TestRedirectResolvesRelativeURLs(t *testing.T) {
	t.Parallel()
	sim, rc := setup(t, Options{Personas: map[string]Persona{customer: &Script{}}})
	a := newApp(t, sim.AuthToken())
	a.twiml("/ivr/start", `<Response><Say>One.</Say><Redirect method="GET">next?step=2</Redirect><Say>never said</Say></Response>`)
	a.twiml("/ivr/next", `<Response><Say>Two.</Say><Dial>+14155550123</Dial><Say>Three.</Say><Hangup/><Say>never said</Say></Response>`)
	rec := placeCall(t, sim, rc, callParams(customer, a.URL("/ivr/start")))
	equal(t, "said", rec.Said(), []string{"One.", "Two.", "Three."})
	next := a.Requests("/ivr/next")
	if len(next) != 1 || next[0].Method != "GET" || next[0].Form.Get("step") != "2" || next[0].Form.Get("CallSid") != rec.Sid {
		t.Errorf("redirect request %v", next)
	}
	var dialled []string
	for _, st := range rec.Steps {
		if st.Verb == "Dial" {
			dialled = append(dialled, st.Text)
		}
	}
	equal(t, "dialled", dialled, []string{"+14155550123"})
}

func TestTwiMLTwilioCannotRun(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body, contentType string
		status                  int
		code                    int
		fallback                bool
	}{
		{"server error", "", "text/xml", 500, 11200, false},
		{"not XML", "<Response><Say>unclosed</Response>", "text/xml", 200, 12100, false},
		{"wrong root", "<Reply><Say>hi</Say></Reply>", "text/xml", 200, 12100, false},
		{"JSON", `{"say":"hi"}`, "application/json", 200, 12300, false},
		{"server error with a fallback", "", "text/xml", 503, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim, rc := setup(t, Options{Personas: map[string]Persona{customer: &Script{}}})
			a := newApp(t, sim.AuthToken())
			broken := httpHandler(tc.status, tc.contentType, tc.body)
			a.handle("/fallback", func(url.Values) string { return `<Response><Say>Fallback speaking.</Say></Response>` })
			srv := newRawServer(t, broken)
			p := callParams(customer, srv+"/voice")
			if tc.fallback {
				p.SetFallbackUrl(a.URL("/fallback"))
			}
			rec := placeCall(t, sim, rc, p)
			if tc.fallback {
				fb := a.Requests("/fallback")
				if len(fb) != 1 || fb[0].Form.Get("ErrorCode") != "11200" || fb[0].Form.Get("ErrorUrl") != srv+"/voice" {
					t.Fatalf("fallback requests %v", fb)
				}
				equal(t, "said", rec.Said(), []string{"Fallback speaking."})
				return
			}
			probs := rec.Problems()
			if len(probs) != 1 || probs[0].Verb != "Error" || probs[0].Code != tc.code {
				t.Errorf("problems %+v, want one error %d", probs, tc.code)
			}
			equal(t, "said", rec.Said(), []string{applicationError})
			if rec.HungUpBy != ByError {
				t.Errorf("ended by %q", rec.HungUpBy)
			}
		})
	}
}

func TestWarningsForTwiMLTwilioWouldFlag(t *testing.T) {
	t.Parallel()
	sim, rc := setup(t, Options{Personas: map[string]Persona{customer: &Script{Responses: []Response{{Digits: "12"}}}}})
	a := newApp(t, sim.AuthToken())
	a.twiml("/voice", `<Response><Sms>hi</Sms><Gather numDigits="many" finishOnKey="##" action="/a"><Hangup/><Say>Two keys?</Say></Gather></Response>`)
	a.twiml("/a", `<Response/>`)
	rec := placeCall(t, sim, rc, callParams(customer, a.URL("/voice")))
	var codes []string
	for _, p := range rec.Problems() {
		codes = append(codes, fmt.Sprint(p.Code))
	}
	equal(t, "warning codes", codes, []string{"12200", "13310", "13313", "12200"})
	if got := values(a.Requests("/a"), "Digits"); len(got) != 1 || got[0] != "12" {
		t.Errorf("Digits %v: with the invalid attributes ignored the keys end at the timeout", got)
	}
}

func TestInlineTwiml(t *testing.T) {
	t.Parallel()
	sim, rc := setup(t, Options{Personas: map[string]Persona{customer: &Script{}}})
	p := &api.CreateCallParams{}
	p.SetTo(customer)
	p.SetFrom(ourNumber)
	p.SetTwiml(`<Response><Say language="cmn-CN">您好，再见。</Say></Response>`)
	c, err := rc.Api.CreateCall(p)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := sim.WaitCall(ctxT(t), *c.Sid)
	if err != nil {
		t.Fatal(err)
	}
	if said := rec.Said(); len(said) != 1 || said[0] != "您好，再见。" || rec.Steps[0].Language != "cmn-CN" {
		t.Errorf("inline TwiML said %v (%+v)", said, rec.Steps)
	}
}

func TestRecordTrueSendsTheCallRecording(t *testing.T) {
	t.Parallel()
	sim, rc := setup(t, Options{Personas: map[string]Persona{customer: &Script{}}})
	a := newApp(t, sim.AuthToken())
	a.twiml("/voice", `<Response><Say>This call is recorded.</Say></Response>`)
	p := callParams(customer, a.URL("/voice"))
	p.SetRecord(true)
	p.SetRecordingStatusCallback(a.URL("/recording"))
	p.SetStatusCallback(a.URL("/status"))
	rec := placeCall(t, sim, rc, p)
	st, cb := a.Requests("/status"), a.Requests("/recording")
	if len(st) != 1 || len(cb) != 1 {
		t.Fatalf("%d status and %d recording callbacks", len(st), len(cb))
	}
	if st[0].Form.Get("RecordingSid") != cb[0].Form.Get("RecordingSid") || cb[0].Form.Get("RecordingSource") != "OutboundAPI" ||
		cb[0].Form.Get("RecordingDuration") != strconv.Itoa(rec.Duration) {
		t.Errorf("completed %v, recording %v", st[0].Form, cb[0].Form)
	}
}

// Durations are simulated seconds spent on the line, whatever the speed of
// the clock and the load of the machine.
func TestDurationsDoNotDependOnSpeed(t *testing.T) {
	t.Parallel()
	var got []int
	for _, speed := range []float64{200, 5000, 50000} {
		sim, rc := setup(t, Options{Speed: speed, Personas: map[string]Persona{customer: &Script{Responses: []Response{{Digits: "1", Delay: 3 * time.Second}}}}})
		a := newApp(t, sim.AuthToken())
		a.twiml("/voice", `<Response><Pause length="10"/><Gather numDigits="1" action="/a"><Say>Press one.</Say></Gather></Response>`)
		a.twiml("/a", `<Response><Pause length="20"/></Response>`)
		got = append(got, placeCall(t, sim, rc, callParams(customer, a.URL("/voice"))).Duration)
	}
	// 10 s pause, "Press one." (2 words: 0.8 s), 3 s to press, 20 s pause.
	equal(t, "durations at three speeds", got, []int{34, 34, 34})
}
