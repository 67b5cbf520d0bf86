package twilio_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/huifang/huifang/campaigns"
	"github.com/huifang/huifang/dialer"
	"github.com/huifang/huifang/dialer/pace"
	"github.com/huifang/huifang/dialer/twiliosim"
	"github.com/huifang/huifang/internal/testdb"
	"github.com/huifang/huifang/workorders"
	"github.com/huifang/huifang/workorders/sample"
)

// Dispatch end to end: a campaign activated through the Store, enrolled by
// the scheduler's EnrolDue, dialled by dialer.Dispatcher from the hopper
// under the pace held in real Redis, the calls and texts run by the
// simulator against the real webhooks, on the rig's clock.

// dispatchStart is a Friday, 10:00 in Shanghai: inside the China window
// for every customer the tests pick, after every sample job's trigger.
var dispatchStart = time.Date(2026, 11, 20, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

// dispatchJobs picks n sample jobs of a persona: Chinese-speaking repair
// customers whose number implies no other zone, each with a number of
// their own.
func dispatchJobs(t *testing.T, n int, persona string) []sample.Job {
	t.Helper()
	seen := map[string]bool{}
	var out []sample.Job
	for range n {
		j := pickJob(t, persona, "zh-CN", workorders.Repair, oneZone, func(j sample.Job) bool {
			return !seen[j.Order.Customer.Phone]
		})
		seen[j.Order.Customer.Phone] = true
		out = append(out, j)
	}
	return out
}

// dispatchRig is a rig with a campaign over all its jobs, active and
// enrolled, and a dispatcher on real Redis and the rig's clock.
type dispatchRig struct {
	*rig
	store  *campaigns.Store
	hopper *campaigns.Hopper
	d      *dialer.Dispatcher
	prefix string // of this test's Redis keys
}

func newDispatchRig(t *testing.T, jobs []sample.Job, sim twiliosim.Options, edit func(*campaigns.Definition)) *dispatchRig {
	t.Helper()
	ctx := context.Background()
	r := newRig(t, rigOptions{jobs: jobs, clockNow: dispatchStart, sim: sim})
	clock := func() time.Time { return *r.now.Load() }
	rdb, prefix := testdb.Redis(t)
	dr := &dispatchRig{rig: r, store: &campaigns.Store{Pool: r.pool, Now: clock}, hopper: &campaigns.Hopper{Pool: r.pool},
		prefix: prefix}
	def := campaigns.DefaultDefinition()
	def.Name, def.Survey, def.Schedule, def.From = "dispatch", "repair-parts-verification", "@hourly", []string{ourNumber}
	def.Targeting.Kinds = []string{"repair"}
	def.Targeting.CompletedWithinDays = 30
	def.Trigger.Within = campaigns.Duration(30 * 24 * time.Hour)
	def.Pace, def.MaxConcurrent = 50, 20
	if edit != nil {
		edit(def)
	}
	if _, err := dr.store.Create(ctx, def, "", "test"); err != nil {
		t.Fatal(err)
	}
	c, err := dr.store.SetState(ctx, def.Name, campaigns.StateActive, "test")
	if err != nil {
		t.Fatal(err)
	}
	if c.SurveyVersionID != r.versions["repair-parts-verification"] {
		t.Fatalf("activation pinned survey version %d, want %d", c.SurveyVersionID, r.versions["repair-parts-verification"])
	}
	res, err := campaigns.EnrolDue(ctx, r.pool, clock())
	if err != nil {
		t.Fatal(err)
	}
	if got := res[def.Name].Enrolled; got != len(jobs) {
		t.Fatalf("enrolled %d contacts, want %d", got, len(jobs))
	}
	dr.d = dr.dispatcher(rdb)
	return dr
}

// dispatcher is a Dispatcher on this rig whose pace lives in rdb.
func (dr *dispatchRig) dispatcher(rdb *redis.Client) *dialer.Dispatcher {
	return &dialer.Dispatcher{
		Hopper: dr.hopper, Conv: dr.conv, Now: func() time.Time { return *dr.now.Load() },
		Limiter: pace.NewLimiter(rdb, dr.prefix), Sem: pace.NewSemaphore(rdb, dr.prefix),
	}
}

// until runs dispatch rounds until done reports true.
func (dr *dispatchRig) until(t *testing.T, what string, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := dr.d.Once(context.Background()); err != nil {
			t.Fatalf("dispatch: %v", err)
		}
		if done() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 30 s", what)
		}
		<-tick.C
	}
}

// dispatchContact is a contacts row.
type dispatchContact struct {
	ID                                   int64
	State, Outcome, Channel              string
	Attempts, VoiceAttempts, SMSAttempts int
	NextAt                               time.Time
	LastAttempt                          int64
}

// contact returns the contact of a sample job.
func (dr *dispatchRig) contact(t *testing.T, j sample.Job) dispatchContact {
	t.Helper()
	var c dispatchContact
	err := dr.pool.QueryRow(context.Background(), `
SELECT id, state, COALESCE(outcome, ''), channel, attempts, voice_attempts, sms_attempts, next_at, COALESCE(last_attempt_id, 0)
FROM contacts WHERE work_order_id = $1`, dr.ids[j.Order.ExternalID]).
		Scan(&c.ID, &c.State, &c.Outcome, &c.Channel, &c.Attempts, &c.VoiceAttempts, &c.SMSAttempts, &c.NextAt, &c.LastAttempt)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// attemptsOf lists a contact's attempts, oldest first, as channel:outcome.
func (dr *dispatchRig) attemptsOf(t *testing.T, contactID int64) []string {
	t.Helper()
	rows, err := dr.pool.Query(context.Background(), `
SELECT channel || ':' || COALESCE(outcome, state) FROM attempts WHERE contact_id = $1 ORDER BY id`, contactID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (dr *dispatchRig) allDone(t *testing.T) func() bool {
	return func() bool {
		return dr.count(t, `SELECT count(*) FROM contacts WHERE state <> 'done'`) == 0
	}
}

// checkCompleted checks that every job's contact ended completed after one
// call, with the customer's answers stored.
func (dr *dispatchRig) checkCompleted(t *testing.T, jobs []sample.Job) {
	t.Helper()
	dr.waitIdle()
	for _, j := range jobs {
		c := dr.contact(t, j)
		if c.State != "done" || c.Outcome != "completed" || c.Attempts != 1 {
			t.Errorf("%s: contact %s %s after %d attempts, want done completed after 1", j.Order.ExternalID, c.State, c.Outcome, c.Attempts)
			continue
		}
		if got := dr.attemptsOf(t, c.ID); len(got) != 1 || got[0] != "voice:completed" {
			t.Errorf("%s: attempts %v, want one completed call", j.Order.ExternalID, got)
		}
		if n := callsTo(dr.sim, j.Order.Customer.Phone); n != 1 {
			t.Errorf("%s: the simulator placed %d calls, want 1", j.Order.ExternalID, n)
		}
		if v, ok := dr.facts(c.LastAttempt).Int("csat"); !ok || v != int64(j.Truth.CSAT) {
			t.Errorf("%s: stored CSAT %d (%v), the customer's is %d", j.Order.ExternalID, v, ok, j.Truth.CSAT)
		}
	}
}

// A campaign dispatched round by round: every contact gets its call, its
// answers are stored, and it ends completed; never more calls at once than
// max_concurrent.
func TestDispatchCampaignToCompletion(t *testing.T) {
	t.Parallel()
	jobs := dispatchJobs(t, 6, sample.PersonaHonest)
	dr := newDispatchRig(t, jobs, twiliosim.Options{}, func(d *campaigns.Definition) { d.MaxConcurrent = 2 })
	busiest := 0
	dr.until(t, "all contacts done", func() bool {
		busiest = max(busiest, dr.count(t, `SELECT count(*) FROM contacts WHERE state = 'dialing'`))
		return dr.allDone(t)()
	})
	dr.checkCompleted(t, jobs)
	if busiest > 2 {
		t.Errorf("%d contacts were being dialled at once, max_concurrent is 2", busiest)
	}
}

// Pausing a campaign stops new attempts within a second under
// Dispatcher.Run at its default tick; attempts already under way finish;
// resuming dials the rest, and every contact is called once.
func TestDispatchPauseAndResume(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	jobs := dispatchJobs(t, 24, sample.PersonaHonest)
	dr := newDispatchRig(t, jobs, twiliosim.Options{}, func(d *campaigns.Definition) { d.Pace = 10 })
	runCtx, stop := context.WithCancel(ctx)
	var running sync.WaitGroup
	running.Go(func() { dr.d.Run(runCtx) })
	defer func() { stop(); running.Wait() }()
	attempts := func() int { return dr.count(t, `SELECT count(*) FROM attempts`) }

	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not after 20 s", what)
			}
			<-tick.C
		}
	}
	wait("five attempts", func() bool { return attempts() >= 5 })
	if _, err := dr.store.SetState(ctx, "dispatch", campaigns.StatePaused, "ops"); err != nil {
		t.Fatal(err)
	}
	paused := attempts()
	// Attempts may still start for up to a second after the pause (a round
	// that read the campaign as active, a contact already taken); from then
	// on, watched for more than another second of real time, none does.
	// Unpaused, the pace would start ten a second.
	pausedAt := time.Now()
	var atSecond int
	counts := map[time.Duration]int{}
	tick := time.NewTicker(20 * time.Millisecond)
	for time.Since(pausedAt) < 2200*time.Millisecond {
		<-tick.C
		since, n := time.Since(pausedAt), attempts()
		counts[since.Round(100*time.Millisecond)] = n
		switch {
		case since < time.Second:
			atSecond = n
		case n != atSecond:
			tick.Stop()
			t.Fatalf("%d attempts when paused, %d a second later, %d after %v (%v): an attempt started more than a second after the pause",
				paused, atSecond, n, since, counts)
		}
	}
	tick.Stop()
	if atSecond >= len(jobs) {
		t.Fatalf("all %d contacts were dialled before the pause took effect", len(jobs))
	}
	t.Logf("%d attempts when paused, %d once it took effect", paused, atSecond)

	if _, err := dr.store.SetState(ctx, "dispatch", campaigns.StateActive, "ops"); err != nil {
		t.Fatal(err)
	}
	wait("every contact done after resuming", dr.allDone(t))
	stop()
	running.Wait()
	dr.checkCompleted(t, jobs)
	if n := attempts(); n != len(jobs) {
		t.Errorf("%d attempts, want one per contact (%d)", n, len(jobs))
	}
	// Every call carries the moment the limiter let it go, and no second
	// of those moments holds more than the pace.
	if busiest, unstamped := testdb.BusiestSecond(t, dr.pool); busiest > 10 || busiest == 0 || unstamped > 0 {
		t.Errorf("busiest second by requested_at: %d calls (pace 10); %d calls without requested_at", busiest, unstamped)
	}
}

// voice_then_sms with a customer who never answers: two calls (10:00,
// then 14:00: three hours later is the lunch break and the morning has
// been tried), then one SMS survey the next evening; its reminder goes
// unanswered too and the contact is exhausted.
func TestDispatchFallsBackFromVoiceToSMS(t *testing.T) {
	t.Parallel()
	j := pickJob(t, sample.PersonaNeverAnswers, "zh-CN", workorders.Repair, oneZone)
	cst := dispatchStart.Location()
	dr := newDispatchRig(t, []sample.Job{j}, twiliosim.Options{}, func(d *campaigns.Definition) {
		d.Channel, d.Attempts.Max = campaigns.ChannelVoiceThenSMS, 2
	})
	phone := j.Order.Customer.Phone
	queuedAfter := func(n int) func() bool {
		return func() bool { c := dr.contact(t, j); return c.State == "queued" && c.Attempts == n }
	}

	dr.until(t, "first call settled", queuedAfter(1))
	if c := dr.contact(t, j); c.Channel != "voice" || !c.NextAt.Equal(time.Date(2026, 11, 20, 14, 0, 0, 0, cst)) {
		t.Fatalf("after the first call: next %s on %s, want voice at 14:00 (3 h later is the break; the morning was tried)",
			c.NextAt.In(cst), c.Channel)
	}
	dr.setNow(time.Date(2026, 11, 20, 14, 0, 0, 0, cst))
	dr.until(t, "second call settled", queuedAfter(2))
	wantSMS := time.Date(2026, 11, 21, 17, 0, 0, 0, cst)
	if c := dr.contact(t, j); c.Channel != "sms" || !c.NextAt.Equal(wantSMS) {
		t.Fatalf("after the second call: next %s on %s, want sms at %s (two today; morning and afternoon tried)",
			c.NextAt.In(cst), c.Channel, wantSMS)
	}
	if n := callsTo(dr.sim, phone); n != 2 {
		t.Fatalf("%d calls placed, want 2", n)
	}
	if n := textsTo(dr.sim, phone); n != 0 {
		t.Fatalf("%d texts before the voice attempts were spent", n)
	}

	dr.setNow(wantSMS)
	dr.until(t, "the SMS survey sent", func() bool { return textsTo(dr.sim, phone) == 1 })
	dr.waitIdle()
	dr.sweepAt(wantSMS.Add(24 * time.Hour)) // the reminder
	dr.sweepAt(wantSMS.Add(48 * time.Hour)) // no reply: the session ends
	dr.until(t, "contact done", dr.allDone(t))
	c := dr.contact(t, j)
	if c.Outcome != "exhausted" || c.VoiceAttempts != 2 || c.SMSAttempts != 1 {
		t.Errorf("contact %s after %d calls and %d texts, want exhausted after 2 and 1", c.Outcome, c.VoiceAttempts, c.SMSAttempts)
	}
	want := []string{"voice:no_answer", "voice:no_answer", "sms:no_response"}
	if got := dr.attemptsOf(t, c.ID); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("attempts %v, want %v", got, want)
	}
	if n := textsTo(dr.sim, phone); n != 2 {
		t.Errorf("%d texts, want the survey and one reminder", n)
	}
	if n := callsTo(dr.sim, phone); n != 2 {
		t.Errorf("%d calls, want 2", n)
	}
}

// closedRedis is a client for a port nobody listens on.
func closedRedis(t *testing.T) *redis.Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return c
}

// With Redis unreachable nothing is started: the round says why
// (pace.ErrUnavailable) and leaves every contact queued and uncounted. With
// Redis back, dispatch carries on and nothing was lost.
func TestDispatchPausesWhileRedisIsDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	jobs := dispatchJobs(t, 4, sample.PersonaHonest)
	dr := newDispatchRig(t, jobs, twiliosim.Options{}, nil)
	down := dr.dispatcher(closedRedis(t))
	for range 3 {
		err := down.Once(ctx)
		if !errors.Is(err, pace.ErrUnavailable) {
			t.Fatalf("Once with Redis down: %v, want pace.ErrUnavailable", err)
		}
	}
	if n := dr.count(t, `SELECT count(*) FROM attempts`); n != 0 {
		t.Fatalf("%d attempts started with Redis down", n)
	}
	if n := dr.count(t, `SELECT count(*) FROM contacts WHERE state = 'queued' AND attempts = 0`); n != len(jobs) {
		t.Fatalf("%d contacts queued and uncounted, want all %d", n, len(jobs))
	}
	if n := len(dr.sim.Calls()); n != 0 {
		t.Fatalf("%d calls reached the simulator with Redis down", n)
	}
	dr.until(t, "all contacts done with Redis back", dr.allDone(t))
	dr.checkCompleted(t, jobs)
}

// A create Twilio applied but answered with a 500 leaves the attempt in
// doubt: it is never resent, and the reconciler adopts the call Twilio
// lists. A 500 that was not applied is reconciled to not_placed and retried
// without counting. Either way the customer gets one call.
func TestDispatchReconcilesAmbiguousCreates(t *testing.T) {
	t.Parallel()
	for _, applied := range []bool{true, false} {
		name := "500 after placing the call"
		if !applied {
			name = "500 without placing it"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			j := dispatchJobs(t, 1, sample.PersonaHonest)[0]
			phone := j.Order.Customer.Phone
			sim := twiliosim.Options{RESTFaults: []twiliosim.RESTFault{
				{Op: twiliosim.OpCreateCall, To: phone, Status: 500, Applied: applied, Times: 1},
			}}
			if applied {
				// Every status callback is lost too, so only the
				// reconciler can end the attempt.
				sim.CallbackFaults = []twiliosim.CallbackFault{{Hook: twiliosim.HookCallStatus, To: phone, Action: twiliosim.Drop}}
			}
			dr := newDispatchRig(t, []sample.Job{j}, sim, nil)
			rec := &dialer.Reconciler{Conv: dr.conv, Now: func() time.Time { return *dr.now.Load() }}
			state := func() string {
				return dr.attempt(dr.contact(t, j).LastAttempt).State
			}
			dr.until(t, "attempt in doubt", func() bool { return dr.contact(t, j).LastAttempt != 0 && state() == "in_doubt" })
			dr.waitIdle()
			for range 5 {
				if err := dr.d.Once(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if s := state(); s != "in_doubt" {
				t.Fatalf("attempt %s before reconciliation, want in_doubt", s)
			}
			wantCalls := 0
			if applied {
				wantCalls = 1
			}
			if n := callsTo(dr.sim, phone); n != wantCalls || len(dr.createsTo(phone)) != 1 {
				t.Fatalf("%d calls and %d creates while in doubt, want %d and 1: an ambiguous create is never resent",
					n, len(dr.createsTo(phone)), wantCalls)
			}

			// Too soon: the carrier gets InDoubtAfter to show the call.
			if n, err := rec.Once(ctx); err != nil || n != 0 {
				t.Fatalf("reconciled %d at once (%v), want 0 before InDoubtAfter", n, err)
			}
			dr.setNow(dispatchStart.Add(time.Minute))
			if n, err := rec.Once(ctx); err != nil || n != 1 {
				t.Fatalf("reconciled %d (%v), want 1", n, err)
			}
			if n, err := rec.Once(ctx); err != nil || n != 0 {
				t.Fatalf("a second reconciliation settled %d (%v), want 0", n, err)
			}
			dr.until(t, "contact done", dr.allDone(t))
			dr.waitIdle()
			c := dr.contact(t, j)
			want := []string{"voice:completed"}
			if !applied {
				want = []string{"voice:not_placed", "voice:completed"}
			}
			got := dr.attemptsOf(t, c.ID)
			if c.Outcome != "completed" || c.Attempts != 1 || len(got) != len(want) || got[len(got)-1] != want[len(want)-1] ||
				got[0] != want[0] {
				t.Fatalf("contact %s with %d attempts counted, attempts %v; want completed, 1, %v", c.Outcome, c.Attempts, got, want)
			}
			if n := callsTo(dr.sim, phone); n != 1 {
				t.Errorf("the simulator placed %d calls, want 1", n)
			}
			if v, ok := dr.facts(c.LastAttempt).Int("csat"); !ok || v != int64(j.Truth.CSAT) {
				t.Errorf("stored CSAT %d (%v), the customer's is %d", v, ok, j.Truth.CSAT)
			}
		})
	}
}
