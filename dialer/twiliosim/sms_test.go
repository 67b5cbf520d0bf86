package twiliosim

import (
	"fmt"
	"testing"

	"github.com/twilio/twilio-go"
	api "github.com/twilio/twilio-go/rest/api/v2010"
)

func sendSMS(t *testing.T, rc *twilio.RestClient, to, body, statusCallback string) (*api.ApiV2010Message, error) {
	t.Helper()
	p := &api.CreateMessageParams{}
	p.SetTo(to)
	p.SetFrom(ourNumber)
	p.SetBody(body)
	if statusCallback != "" {
		p.SetStatusCallback(statusCallback)
	}
	return rc.Api.CreateMessage(p)
}

func TestSMSRoundTripWithAPersonaReply(t *testing.T) {
	t.Parallel()
	persona := &Script{Replies: []string{"1"}}
	token := newToken()
	a := newApp(t, token)
	sim, rc := setup(t, Options{AuthToken: token, SMSURL: a.URL("/sms"), Personas: map[string]Persona{customer: persona}})
	m, err := sendSMS(t, rc, customer, "Acme: did our technician visit? 1=Yes 2=No", a.URL("/sms-status"))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := sim.WaitMessage(ctxT(t), *m.Sid)
	if err != nil {
		t.Fatal(err)
	}
	st := a.Requests("/sms-status")
	equal(t, "MessageStatus", values(st, "MessageStatus"), []string{"queued", "sent", "delivered"})
	equal(t, "SmsStatus", values(st, "SmsStatus"), []string{"queued", "sent", "delivered"})
	for _, r := range st {
		if r.Form.Get("MessageSid") != *m.Sid || r.Form.Get("To") != customer || r.Form.Get("From") != ourNumber || r.Form.Has("ErrorCode") {
			t.Errorf("status callback %v", r.Form)
		}
	}
	in := a.Requests("/sms")
	if len(in) != 1 {
		t.Fatalf("%d inbound webhooks, want 1", len(in))
	}
	f := in[0].Form
	if f.Get("Body") != "1" || f.Get("From") != customer || f.Get("To") != ourNumber || f.Get("NumMedia") != "0" ||
		f.Get("SmsStatus") != "received" || f.Get("MessageSid") != rec.ReplySid || f.Get("SmsSid") != rec.ReplySid ||
		f.Get("AccountSid") != sim.AccountSID() || f.Get("FromCountry") != "US" || f.Has("OptOutType") {
		t.Errorf("inbound SMS webhook %v", f)
	}
	reply, ok := sim.Message(rec.ReplySid)
	if !ok || reply.Direction != "inbound" || reply.Status != "received" || reply.Body != "1" {
		t.Errorf("stored reply %+v", reply)
	}
	lp := &api.ListMessageParams{}
	lp.SetFrom(customer)
	if msgs, err := rc.Api.ListMessage(lp); err != nil || len(msgs) != 1 || deref(msgs[0].Direction) != "inbound" {
		t.Errorf("ListMessage(From customer) = %d, %v; want the reply", len(msgs), err)
	}
}

func TestStopBlocksTheNextSendWith21610(t *testing.T) {
	t.Parallel()
	token := newToken()
	a := newApp(t, token)
	sim, rc := setup(t, Options{AuthToken: token, SMSURL: a.URL("/sms"), Personas: map[string]Persona{customer: &Script{Replies: []string{"STOP"}}}})
	m, err := sendSMS(t, rc, customer, "Acme: how satisfied are you? Reply 1-5. Reply STOP to opt out", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.WaitMessage(ctxT(t), *m.Sid); err != nil {
		t.Fatal(err)
	}
	if in := a.Requests("/sms"); len(in) != 1 || in[0].Form.Get("Body") != "STOP" || in[0].Form.Get("OptOutType") != "STOP" {
		t.Fatalf("inbound %v, want STOP with OptOutType", in)
	}
	_, err = sendSMS(t, rc, customer, "Acme: one more question", "")
	re := restError(t, err)
	if re.Status != 400 || re.Code != 21610 || re.Message != "Attempt to send to unsubscribed recipient" ||
		re.MoreInfo != "https://www.twilio.com/docs/errors/21610" {
		t.Errorf("send after STOP: %+v, want 400 / 21610", re)
	}
	if n := len(sim.Messages()); n != 2 {
		t.Errorf("%d messages stored, want the question and the STOP (the refused send is not a message)", n)
	}
	// Another of our numbers may still text; the customer can opt back in.
	p := &api.CreateMessageParams{}
	p.SetTo(customer)
	p.SetFrom("+15017122662")
	p.SetBody("From another number")
	if _, err := rc.Api.CreateMessage(p); err != nil {
		t.Errorf("send from another number: %v", err)
	}
	if _, err := sim.Inbound(ctxT(t), customer, ourNumber, "start"); err != nil {
		t.Fatal(err)
	}
	if _, err := sendSMS(t, rc, customer, "Welcome back", ""); err != nil {
		t.Errorf("send after START: %v", err)
	}
}

func TestEveryOptOutWordOptsOut(t *testing.T) {
	t.Parallel()
	token := newToken()
	a := newApp(t, token)
	sim, rc := setup(t, Options{AuthToken: token, SMSURL: a.URL("/sms")})
	for i, word := range []string{"STOP", "stop", " Stop! ", "ＳＴＯＰ", "退订", "TD", "td", "unsubscribe", "不要再发"} {
		number := fmt.Sprintf("+86139001390%02d", i)
		if _, err := sim.Inbound(ctxT(t), number, ourNumber, word); err != nil {
			t.Fatal(err)
		}
		_, err := sendSMS(t, rc, number, "问卷", "")
		if re := restError(t, err); re.Code != 21610 {
			t.Errorf("after %q: %+v, want 21610", word, re)
		}
		if !sim.OptedOut(number, ourNumber) {
			t.Errorf("after %q: not opted out", word)
		}
	}
	for _, answer := range []string{"1", "stop calling me at dinner", "TD?!好的", "50元"} {
		if _, err := sim.Inbound(ctxT(t), cnNumber, ourNumber, answer); err != nil {
			t.Fatal(err)
		}
		if sim.OptedOut(cnNumber, ourNumber) {
			t.Errorf("%q opted out: only a whole-message keyword does", answer)
		}
	}
	in := a.Requests("/sms")
	if in[4].Form.Get("Body") != "退订" || in[4].Form.Get("FromCountry") != "CN" || in[4].Form.Has("OptOutType") {
		t.Errorf("退订 webhook %v: Twilio reports OptOutType only for its own English keywords", in[4].Form)
	}
}

// deliveryPersona decides every message's fate.
type deliveryPersona struct {
	Script
	d Delivery
}

func (p *deliveryPersona) Deliver(SMS) Delivery { return p.d }

func TestUndeliveredAndFailedMessages(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		persona  Persona
		statuses []string
		code     string
	}{
		{"unallocated number", nil, []string{"queued", "sent", "undelivered"}, "30005"},
		{"handset off", &deliveryPersona{d: Delivery{Status: "undelivered"}}, []string{"queued", "sent", "undelivered"}, "30003"},
		{"landline", &deliveryPersona{d: Delivery{Status: "failed", ErrorCode: 30006}}, []string{"queued", "failed"}, "30006"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := Options{}
			if tc.persona != nil {
				opts.Personas = map[string]Persona{customer: tc.persona}
			}
			sim, rc := setup(t, opts)
			a := newApp(t, sim.AuthToken())
			m, err := sendSMS(t, rc, customer, "Hello", a.URL("/st"))
			if err != nil {
				t.Fatal(err)
			}
			rec, err := sim.WaitMessage(ctxT(t), *m.Sid)
			if err != nil {
				t.Fatal(err)
			}
			st := a.Requests("/st")
			equal(t, "MessageStatus", values(st, "MessageStatus"), tc.statuses)
			if got := st[len(st)-1].Form.Get("ErrorCode"); got != tc.code {
				t.Errorf("ErrorCode %q, want %s", got, tc.code)
			}
			fetched, err := rc.Api.FetchMessage(*m.Sid, nil)
			if err != nil || fetched.ErrorCode == nil || *fetched.ErrorCode != rec.ErrorCode {
				t.Errorf("fetched error_code %v (%v), record %d", fetched.ErrorCode, err, rec.ErrorCode)
			}
		})
	}
}

func TestSegments(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]int{
		"Reply 1=Yes 2=No":      1,
		string(make([]byte, 0)): 1,
		repeat("a", 160):        1,
		repeat("a", 161):        2,
		repeat("{", 81):         2, // extension characters count twice
		"【Acme】您已退订，将不再收到回访短信。": 1,
		repeat("好", 70):       1,
		repeat("好", 71):       2,
		"Thanks 😀":            1,
		repeat("a", 69) + "😀": 2, // the emoji is two UTF-16 units
	} {
		if got := segments(body); got != want {
			t.Errorf("segments(%.20q…) = %d, want %d", body, got, want)
		}
	}
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}
