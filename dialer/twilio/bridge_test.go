package twilio_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/huifang/huifang/dialer"
	"github.com/huifang/huifang/dialer/twilio"
	"github.com/huifang/huifang/dialer/twiliosim"
)

func TestBridgeTwiML(t *testing.T) {
	got, err := twilio.BridgeTwiML("+14155550100", "+8613812345678")
	if err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<Response><Dial callerId="+14155550100">+8613812345678</Dial></Response>`
	if got != want {
		t.Fatalf("TwiML\n got %s\nwant %s", got, want)
	}
}

// TestBridge places a bridge call through the unmodified twilio-go client to
// the simulator: the reviewer's phone rings, answers, and the call dials the
// customer from our number.
func TestBridge(t *testing.T) {
	const (
		agent    = "+8613900001111"
		customer = "+8613812345678"
	)
	sim, err := twiliosim.Start(twiliosim.Options{Speed: 2000,
		Personas: map[string]twiliosim.Persona{agent: &twiliosim.Script{}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	hc, err := twiliosim.NewHTTPClient(sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := twilio.New(twilio.Config{AccountSID: sim.AccountSID(), AuthToken: sim.AuthToken(), HTTP: hc})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	sid, err := c.Bridge(ctx, ourNumber, agent, customer)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := sim.WaitCall(ctx, sid)
	if err != nil {
		t.Fatal(err)
	}
	if rec.To != agent || rec.From != ourNumber || rec.Status != "completed" {
		t.Fatalf("call to %s from %s, %s; want to %s from %s, completed", rec.To, rec.From, rec.Status, agent, ourNumber)
	}
	if p := rec.Problems(); len(p) > 0 {
		t.Fatalf("TwiML problems: %+v", p)
	}
	var dialled []string
	for _, st := range rec.Steps {
		if st.Verb == "Dial" {
			dialled = append(dialled, st.Text)
		}
	}
	if len(dialled) != 1 || dialled[0] != customer {
		t.Fatalf("dialled %q, want [%s]", dialled, customer)
	}
	if n := len(sim.Calls()); n != 1 {
		t.Fatalf("%d calls created, want 1", n)
	}

	// Numbers that are not E.164 never reach the carrier.
	for _, tc := range []struct{ name, from, agent, customer string }{
		{"from", "4155550100", agent, customer},
		{"agent", ourNumber, "139 0000 1111", customer},
		{"customer", ourNumber, agent, "+86-138"},
		{"same", ourNumber, agent, agent},
	} {
		_, err := c.Bridge(ctx, tc.from, tc.agent, tc.customer)
		var ce *dialer.CarrierError
		if !errors.As(err, &ce) || ce.Kind != dialer.Permanent {
			t.Errorf("%s: err %v, want a permanent carrier error", tc.name, err)
		}
	}
	if n := len(sim.Calls()); n != 1 {
		t.Fatalf("%d calls created after refused bridges, want still 1", n)
	}
}
