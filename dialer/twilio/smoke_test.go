package twilio_test

import (
	"context"
	"testing"
	"time"

	"github.com/huifang/huifang/workorders/sample"
)

func TestSmokeHonestCall(t *testing.T) {
	jobs, err := sample.Jobs(sample.Config{Seed: 7, Jobs: 200, Now: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	var pick []sample.Job
	for _, j := range jobs {
		if j.Persona == sample.PersonaHonest && j.Truth.Reach == sample.ReachAnswers && len(pick) < 2 {
			pick = append(pick, *j.Clone())
		}
	}
	r := newRig(t, rigOptions{jobs: pick})
	for _, j := range pick {
		a, err := r.conv.Call(context.Background(), r.target(j))
		if err != nil {
			t.Fatal(err)
		}
		row := r.waitAttempt(a.ID)
		t.Logf("%s %s %+v", j.Order.Kind, j.Truth.Lang, row)
		for _, x := range r.answers(a.ID) {
			t.Logf("  %+v", x)
		}
		t.Logf("facts %v", r.facts(a.ID))
		b, err := r.conv.Text(context.Background(), r.target(j))
		if err != nil {
			t.Fatal(err)
		}
		row = r.waitAttempt(b.ID)
		t.Logf("SMS %+v", row)
		for _, x := range r.answers(b.ID) {
			t.Logf("  %+v", x)
		}
	}
}
