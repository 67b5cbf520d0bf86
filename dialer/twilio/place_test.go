package twilio_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/huifang/huifang/campaigns"
	"github.com/huifang/huifang/dialer"
	"github.com/huifang/huifang/dialer/twiliosim"
	"github.com/huifang/huifang/workorders/sample"
)

// honestJobs returns n honest, answering sample jobs in lang.
func honestJobs(t *testing.T, n int, lang string) []sample.Job {
	t.Helper()
	jobs, err := sample.Jobs(sample.Config{Seed: 11, Jobs: 400, Now: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	var out []sample.Job
	for i := range jobs {
		j := &jobs[i]
		if j.Persona == sample.PersonaHonest && j.Truth.Reach == sample.ReachAnswers && j.Truth.Lang == lang && len(out) < n {
			out = append(out, *j.Clone())
		}
	}
	if len(out) < n {
		t.Fatalf("only %d honest %s jobs in the sample", len(out), lang)
	}
	return out
}

func callsTo(sim *twiliosim.Simulator, number string) int {
	n := 0
	for _, c := range sim.Calls() {
		if c.To == number {
			n++
		}
	}
	return n
}

func textsTo(sim *twiliosim.Simulator, number string) int {
	n := 0
	for _, m := range sim.Messages() {
		if m.To == number && m.Direction == "outbound-api" {
			n++
		}
	}
	return n
}

// How the carrier's answer to a create settles the attempt. The ambiguous
// create — Twilio placed the call but its answer was lost — leaves the
// attempt in doubt and is never resent; the call's own webhooks then carry
// the attempt forward, so the customer's answers are stored all the same.
func TestPlaceCallSettlesOnTheCarriersAnswer(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		fault       twiliosim.RESTFault
		wantErr     dialer.ErrorKind
		wantState   string // right after Call returns
		wantCalls   int    // calls the simulator placed
		wantOutcome string // once everything has settled
	}{
		{"accepted", twiliosim.RESTFault{}, 0, "placed", 1, "completed"},
		{"500 after placing the call", twiliosim.RESTFault{Status: 500, Applied: true}, dialer.Ambiguous, "in_doubt", 1, "completed"},
		{"500 without placing it", twiliosim.RESTFault{Status: 500}, dialer.Ambiguous, "in_doubt", 0, ""},
		{"429 rate limited", twiliosim.RESTFault{Status: 429}, dialer.Retryable, "ended", 0, "not_placed"},
		{"503 unavailable", twiliosim.RESTFault{Status: 503}, dialer.Retryable, "ended", 0, "not_placed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			job := honestJobs(t, 1, "en")[0]
			r := newRig(t, rigOptions{jobs: []sample.Job{job}})
			if tc.fault.Status != 0 {
				tc.fault.Op, tc.fault.Times = twiliosim.OpCreateCall, 1
				if err := r.sim.InjectREST(tc.fault); err != nil {
					t.Fatal(err)
				}
			}
			a, err := r.conv.Call(context.Background(), r.target(job))
			switch {
			case tc.wantErr == 0 && err != nil:
				t.Fatalf("Call: %v", err)
			case tc.wantErr != 0 && dialer.KindOf(err) != tc.wantErr:
				t.Fatalf("Call error %v is %v, want %v", err, dialer.KindOf(err), tc.wantErr)
			}
			// A call that was placed may already have moved on by its own
			// callbacks; only the answer to the create is fixed.
			if stored := r.attempt(a.ID).State; a.State != tc.wantState || tc.wantCalls == 0 && stored != tc.wantState {
				t.Fatalf("attempt after Call: returned %q, stored %q; want %q", a.State, stored, tc.wantState)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := r.sim.Idle(ctx); err != nil {
				t.Fatal(err)
			}
			if got := callsTo(r.sim, job.Order.Customer.Phone); got != tc.wantCalls {
				t.Fatalf("the simulator placed %d calls to the customer, want %d", got, tc.wantCalls)
			}
			row := r.attempt(a.ID)
			if tc.wantOutcome == "" {
				if row.State != "in_doubt" || row.Outcome != "" {
					t.Fatalf("a lost create with no call: attempt %+v, want still in doubt for the reconciler", row)
				}
				return
			}
			if row.State != "ended" || row.Outcome != tc.wantOutcome {
				t.Fatalf("attempt settled as %+v, want ended %s", row, tc.wantOutcome)
			}
			if tc.wantOutcome == "completed" {
				if v, ok := r.facts(a.ID).Int("csat"); !ok || v != int64(job.Truth.CSAT) {
					t.Fatalf("the customer's answers were not stored (their CSAT is %d): facts %v", job.Truth.CSAT, r.facts(a.ID))
				}
			}
		})
	}
}

// A text Twilio refuses with 21610 (the customer texted STOP to this sender
// earlier, and the list had since been lifted by hand) ends the attempt as
// opted out and puts the number back on the suppression list.
func TestTextRefusedAsUnsubscribedSuppresses(t *testing.T) {
	t.Parallel()
	job := honestJobs(t, 1, "en")[0]
	r := newRig(t, rigOptions{jobs: []sample.Job{job}})
	ctx := context.Background()
	phone := job.Order.Customer.Phone
	if _, err := r.sim.Inbound(ctx, phone, ourNumber, "STOP"); err != nil {
		t.Fatal(err)
	}
	sup := &campaigns.Suppressions{Pool: r.pool}
	if on, _ := sup.Has(ctx, phone); !on {
		t.Fatal("STOP outside a survey did not suppress the number")
	}
	if _, err := sup.Remove(ctx, phone, "test: lifted by hand", "test"); err != nil {
		t.Fatal(err)
	}
	a, err := r.conv.Text(ctx, r.target(job))
	if !dialer.IsOptOut(err) {
		t.Fatalf("Text: %v, want Twilio's 21610", err)
	}
	if row := r.attempt(a.ID); row.State != "ended" || row.Outcome != "opted_out" {
		t.Fatalf("attempt %+v, want ended opted_out", row)
	}
	var reason string
	if err := r.pool.QueryRow(ctx, `SELECT reason FROM suppressions WHERE phone_e164 = $1`, phone).Scan(&reason); err != nil {
		t.Fatal(err)
	}
	if reason != string(campaigns.ReasonCarrierOptOut) {
		t.Fatalf("suppression reason %q, want carrier_opt_out", reason)
	}
	// And the next attempt is refused before Twilio is asked.
	before := textsTo(r.sim, phone)
	if _, err := r.conv.Text(ctx, r.target(job)); !errors.Is(err, dialer.ErrSuppressed) {
		t.Fatalf("second Text: %v, want ErrSuppressed", err)
	}
	if got := textsTo(r.sim, phone); got != before {
		t.Fatalf("%d texts reached the simulator after suppression, want none", got-before)
	}
}

// One SMS survey at a time per number: replies are matched by number.
func TestSecondSMSSurveyToOneNumberIsRefused(t *testing.T) {
	t.Parallel()
	jobs := honestJobs(t, 1, "zh-CN")
	r := newRig(t, rigOptions{jobs: jobs, sim: twiliosim.Options{Personas: map[string]twiliosim.Persona{
		jobs[0].Order.Customer.Phone: &twiliosim.Script{}, // never replies
	}}})
	ctx := context.Background()
	if _, err := r.conv.Text(ctx, r.target(jobs[0])); err != nil {
		t.Fatal(err)
	}
	_, err := r.conv.Text(ctx, r.target(jobs[0]))
	if !errors.Is(err, dialer.ErrSessionOpen) {
		t.Fatalf("second Text: %v, want ErrSessionOpen", err)
	}
	if got := textsTo(r.sim, jobs[0].Order.Customer.Phone); got != 1 {
		t.Fatalf("%d texts sent, want 1", got)
	}
}
