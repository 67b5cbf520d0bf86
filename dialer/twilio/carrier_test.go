package twilio_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/huifang/huifang/dialer"
	"github.com/huifang/huifang/dialer/twilio"
	"github.com/huifang/huifang/dialer/twiliosim"
)

const customer = "+14155550123"

// setup runs a simulator with one answering customer and a webhook server
// whose TwiML says goodbye, and returns a carrier pointed at the simulator
// only through its HTTP client.
func setup(t *testing.T, timeout time.Duration, faults ...twiliosim.RESTFault) (*twilio.Carrier, *twiliosim.Simulator, string) {
	t.Helper()
	sim, err := twiliosim.Start(twiliosim.Options{
		Speed:      1000,
		Personas:   map[string]twiliosim.Persona{customer: &twiliosim.Script{}},
		RESTFaults: faults,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, `<Response><Say>Goodbye.</Say><Hangup/></Response>`)
	}))
	t.Cleanup(app.Close)
	hc, err := twiliosim.NewHTTPClient(sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	hc.Timeout = timeout
	c := twilio.New(twilio.Config{AccountSID: sim.AccountSID(), AuthToken: sim.AuthToken(), HTTP: hc})
	return c, sim, app.URL
}

func call(app string) dialer.CallRequest {
	return dialer.CallRequest{To: customer, From: "+15005550006", URL: app + "/voice",
		StatusCallback: app + "/status", Ring: 20 * time.Second}
}

func TestPlaceCallAndFindItAgain(t *testing.T) {
	t.Parallel()
	c, _, app := setup(t, 5*time.Second)
	ctx := context.Background()
	since := time.Now().Add(-time.Minute)
	sid, err := c.PlaceCall(ctx, call(app))
	if err != nil {
		t.Fatal(err)
	}
	if len(sid) != 34 || sid[:2] != "CA" {
		t.Fatalf("call SID %q", sid)
	}
	found, err := c.CallsTo(ctx, customer, since)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].SID != sid || found[0].To != customer {
		t.Fatalf("CallsTo = %+v, want the call just placed", found)
	}
	msg, err := c.SendSMS(ctx, dialer.SMSRequest{To: customer, From: "+15005550006", Body: "【Huifang】回访", ValidFor: time.Hour})
	if err != nil || len(msg) != 34 || msg[:2] != "SM" {
		t.Fatalf("SendSMS = %q, %v", msg, err)
	}
}

func TestCarrierErrorsAreClassified(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		fault  twiliosim.RESTFault
		want   dialer.ErrorKind
		placed bool // whether the call exists afterwards, as reconciliation would find
	}{
		{"rate limited", twiliosim.RESTFault{Op: twiliosim.OpCreateCall, Status: 429}, dialer.Retryable, false},
		{"unavailable", twiliosim.RESTFault{Op: twiliosim.OpCreateCall, Status: 503}, dialer.Retryable, false},
		{"server error after placing the call", twiliosim.RESTFault{Op: twiliosim.OpCreateCall, Status: 500, Applied: true}, dialer.Ambiguous, true},
		{"no answer in time after placing the call", twiliosim.RESTFault{Op: twiliosim.OpCreateCall, Hang: true, Applied: true}, dialer.Ambiguous, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _, app := setup(t, time.Second, tc.fault)
			since := time.Now().Add(-time.Minute)
			_, err := c.PlaceCall(ctx, call(app))
			if got := dialer.KindOf(err); err == nil || got != tc.want {
				t.Fatalf("err = %v (%s), want %s", err, got, tc.want)
			}
			found, err := c.CallsTo(ctx, customer, since)
			if err != nil {
				t.Fatal(err)
			}
			if (len(found) == 1) != tc.placed {
				t.Fatalf("after the error the carrier holds %d calls to the customer; placed = %v", len(found), tc.placed)
			}
		})
	}
}

func TestOptedOutRecipientIsPermanent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sim, err := twiliosim.Start(twiliosim.Options{
		Speed:    1000,
		Personas: map[string]twiliosim.Persona{customer: &twiliosim.Script{Replies: []string{"退订"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	hc, _ := twiliosim.NewHTTPClient(sim.URL())
	c := twilio.New(twilio.Config{AccountSID: sim.AccountSID(), AuthToken: sim.AuthToken(), HTTP: hc})
	req := dialer.SMSRequest{To: customer, From: "+15005550006", Body: "【Huifang】是否有师傅上门？回1是 2否。回TD退订"}
	if _, err := c.SendSMS(ctx, req); err != nil {
		t.Fatal(err)
	}
	// The customer answers 退订; wait until the simulator has taken it.
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sim.Idle(wctx); err != nil {
		t.Fatal(err)
	}
	_, err = c.SendSMS(ctx, req)
	if !dialer.IsOptOut(err) || dialer.KindOf(err) != dialer.Permanent {
		t.Fatalf("send after 退订: err = %v, want a permanent opt-out (21610)", err)
	}
}
