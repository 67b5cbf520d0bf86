package campaigns_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/campaigns"
	"github.com/huifang/huifang/internal/testdb"
)

// cst is a wall-clock time in Shanghai in March 2026.
func cst(day, hour, min int) time.Time { return time.Date(2026, 3, day, hour, min, 0, 0, tzShanghai) }

// live is a stored campaign as dispatch sees it.
func live(id int64, def *campaigns.Definition) campaigns.Live {
	return campaigns.Live{ID: id, Name: def.Name, Def: def}
}

// take claims up to n due contacts at now with a two-minute lease.
func take(t *testing.T, h *campaigns.Hopper, l campaigns.Live, n int, now time.Time) []campaigns.Contact {
	t.Helper()
	cs, err := h.Take(context.Background(), l, n, now, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// attemptOf writes the attempt of a taken contact as the dialer does —
// attached to the contact in the transaction that writes it — started at
// at. outcome "" leaves it pending (the carrier not yet answered); any
// other ends it with that outcome. A permanent failure is one the carrier
// refused before placing (an invalid number): no placed_at, an error code.
func attemptOf(t *testing.T, pool *pgxpool.Pool, c campaigns.Contact, at time.Time, outcome string, permanent bool) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		state, placed, ended := "ended", &at, at.Add(time.Minute)
		var code *int
		switch {
		case outcome == "":
			state, placed = "pending", nil
		case permanent:
			placed, code = nil, new(int)
			*code = 21211
		}
		err := tx.QueryRow(ctx, `
INSERT INTO attempts (work_order_id, contact_id, channel, to_e164, from_e164, state, outcome, error_code,
                      created_at, placed_at, ended_at)
VALUES ($1, $2, $3, $4, '+862038001234', $5, NULLIF($6, ''), $7, $8, $9, CASE WHEN $5 = 'ended' THEN $10::timestamptz END)
RETURNING id`, c.WorkOrderID, c.ID, c.Channel, c.Phone, state, outcome, code, at, placed, ended).Scan(&id)
		if err != nil {
			return err
		}
		return campaigns.AttachAttempt(ctx, tx, c.ID, id)
	})
	if err != nil {
		t.Fatalf("attempt for contact %d: %v", c.ID, err)
	}
	return id
}

func settle(t *testing.T, h *campaigns.Hopper, now time.Time) map[int64]campaigns.Settled {
	t.Helper()
	ss, err := h.Settle(context.Background(), now, 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]campaigns.Settled{}
	for _, s := range ss {
		if _, dup := out[s.Contact.ID]; dup {
			t.Fatalf("contact %d settled twice in one call", s.Contact.ID)
		}
		out[s.Contact.ID] = s
	}
	return out
}

// Take checks each due contact again under its row lock, with the clock the
// test sets: a contact whose window closed while it was queued is not
// dialled but moved to the next opening; a number suppressed after
// enrolment ends its contact 'suppressed'; a contact past its deadline, or
// whose next opening is past it, ends 'expired'. What is left is marked
// dialling and counted.
func TestTakeRechecksEachContactUnderItsLock(t *testing.T) {
	t.Parallel()
	e := newEnrolEnv(t)
	ctx := context.Background()
	e.addJobs(t,
		jobSpec{id: "waited-into-break", phone: cnPhone(1), completed: cst(3, 8, 0)},
		jobSpec{id: "opted-out-since", phone: cnPhone(2), completed: cst(3, 8, 0)},
		jobSpec{id: "deadline-passed", phone: cnPhone(3), completed: cst(2, 15, 0)},    // deadline 3 March 11:00
		jobSpec{id: "deadline-in-break", phone: cnPhone(4), completed: cst(2, 17, 30)}, // deadline 3 March 13:30
		jobSpec{id: "due-at-14", phone: cnPhone(5), completed: cst(3, 11, 0)},          // due 13:00, in the break
	)
	id, def := e.campaign(t, "recheck", func(d *campaigns.Definition) { d.Trigger.Within = campaigns.Duration(20 * time.Hour) })
	if res := e.enrol(t, id, def, cst(3, 10, 0)); res.Enrolled != 5 {
		t.Fatalf("enrolled %d, want 5", res.Enrolled)
	}
	if _, err := (&campaigns.Suppressions{Pool: e.pool}).Add(ctx, cnPhone(2), campaigns.ReasonVoiceKey, "test", "test"); err != nil {
		t.Fatal(err)
	}
	h := &campaigns.Hopper{Pool: e.pool}
	l := live(id, def)

	// 12:10, the lunch break: nothing may be dialled.
	if cs := take(t, h, l, 10, cst(3, 12, 10)); len(cs) != 0 {
		t.Fatalf("took %d contacts in the 12:00-14:00 break, want none", len(cs))
	}
	want := map[string]struct {
		state, outcome string
		next           time.Time
	}{
		"waited-into-break": {"queued", "", cst(3, 14, 0)},
		"opted-out-since":   {"done", "suppressed", cst(3, 10, 0)},
		"deadline-passed":   {"done", "expired", cst(3, 10, 0)},
		"deadline-in-break": {"done", "expired", cst(3, 10, 0)},
		"due-at-14":         {"queued", "", cst(3, 14, 0)},
	}
	for job, c := range contactsOf(t, e.pool, id) {
		w := want[job]
		if c.State != w.state || c.Outcome != w.outcome || !c.NextAt.Equal(w.next) || c.Attempts != 0 {
			t.Errorf("%s: %s %q due %s with %d attempts, want %s %q due %s with none",
				job, c.State, c.Outcome, c.NextAt.In(tzShanghai), c.Attempts, w.state, w.outcome, w.next)
		}
	}

	// 14:00: the two left are dialled, each attempt counted.
	cs := take(t, h, l, 10, cst(3, 14, 0))
	if len(cs) != 2 {
		t.Fatalf("took %d contacts at 14:00, want 2", len(cs))
	}
	stored := contactsOf(t, e.pool, id)
	for _, c := range cs {
		if c.Attempts != 1 || c.VoiceAttempts != 1 || c.SMSAttempts != 0 || c.Channel != "voice" || c.LastAttemptID != 0 {
			t.Errorf("taken contact %+v, want one voice attempt counted and none attached", c)
		}
		if c.Phone != cnPhone(1) && c.Phone != cnPhone(5) {
			t.Errorf("took %s, which is not due", c.Phone)
		}
	}
	for _, job := range []string{"waited-into-break", "due-at-14"} {
		if c := stored[job]; c.State != "dialing" || c.Attempts != 1 || c.VoiceAttempts != 1 {
			t.Errorf("%s stored as %s with %d attempts, want dialing with 1", job, c.State, c.Attempts)
		}
	}
	if cs := take(t, h, l, 10, cst(3, 14, 1)); len(cs) != 0 {
		t.Errorf("a contact being dialled was taken again: %d", len(cs))
	}
}

// FOR UPDATE SKIP LOCKED: ten workers taking at once never get the same
// contact, and between them take every one exactly once.
func TestTakeConcurrentWorkersNeverShareAContact(t *testing.T) {
	t.Parallel()
	cfg, err := pgxpool.ParseConfig(testdb.NewURL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 12
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	e := newEnrolEnvOn(t, pool)
	const n = 300
	var specs []jobSpec
	for i := range n {
		specs = append(specs, jobSpec{id: fmt.Sprintf("J%03d", i), phone: cnPhone(i), completed: cst(3, 7, 0)})
	}
	e.addJobs(t, specs...)
	id, def := e.campaign(t, "concurrent", nil)
	now := cst(3, 10, 0)
	if res := e.enrol(t, id, def, now); res.Enrolled != n {
		t.Fatalf("enrolled %d, want %d", res.Enrolled, n)
	}
	h := &campaigns.Hopper{Pool: pool}
	l := live(id, def)

	var (
		mu    sync.Mutex
		taken = map[int64]int{}
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make(chan error, 10)
	)
	for range 10 {
		wg.Go(func() {
			<-start
			for {
				cs, err := h.Take(context.Background(), l, 7, now, time.Minute)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for _, c := range cs {
					taken[c.ID]++
				}
				total := len(taken)
				mu.Unlock()
				if len(cs) == 0 && total >= n {
					return
				}
				if len(cs) == 0 {
					// The rest are locked by other workers right now, or
					// all are taken and counted by another worker.
					depth, err := h.QueueDepth(context.Background(), id, now)
					if err != nil {
						errs <- err
						return
					}
					if depth == 0 {
						return
					}
				}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for cid, k := range taken {
		if k > 1 {
			t.Errorf("contact %d was taken %d times", cid, k)
		}
	}
	if len(taken) != n {
		t.Errorf("%d distinct contacts taken, want %d", len(taken), n)
	}
	var dialing, counted int
	if err := pool.QueryRow(context.Background(), `
SELECT count(*) FILTER (WHERE state = 'dialing'), count(*) FILTER (WHERE attempts = 1) FROM contacts WHERE campaign_id = $1`,
		id).Scan(&dialing, &counted); err != nil {
		t.Fatal(err)
	}
	if dialing != n || counted != n {
		t.Errorf("%d contacts dialing and %d with one attempt counted, want %d of each", dialing, counted, n)
	}
}

// Settle applies the campaign's policy to each contact whose attempt ended:
// the spacing of its outcome, the window, the daily cap, the attempt limit
// (exhausted, or on to SMS for voice_then_sms), the deadline; an attempt
// that never reached the carrier is not counted.
func TestSettleAppliesThePolicy(t *testing.T) {
	t.Parallel()
	e := newEnrolEnv(t)
	spaced := func(d *campaigns.Definition) {
		d.Attempts.Rotate, d.Attempts.PerDay = false, 3
		d.Attempts.Spacing = campaigns.Spacing{
			NoAnswer: campaigns.Duration(3 * time.Hour), Busy: campaigns.Duration(30 * time.Minute),
			Machine: campaigns.Duration(4 * time.Hour), Failed: campaigns.Duration(time.Hour),
			Partial: campaigns.Duration(150 * time.Minute),
		}
	}
	with := func(edits ...func(*campaigns.Definition)) func(*campaigns.Definition) {
		return func(d *campaigns.Definition) {
			for _, f := range edits {
				f(d)
			}
		}
	}
	maxOne := func(d *campaigns.Definition) { d.Attempts.Max, d.Attempts.PerDay = 1, 1 }
	fallback := func(d *campaigns.Definition) { d.Channel = campaigns.ChannelVoiceThenSMS }
	// Every contact is dialled at 14:00 in Shanghai; its attempt ends and
	// is settled at 14:02.
	cases := []struct {
		name      string
		edit      func(*campaigns.Definition)
		outcome   string
		permanent bool
		// The decision: done with an outcome, or queued for channel at next.
		done     string
		channel  string
		next     time.Time
		attempts int // the contact's attempts after settling
		uncount  bool
	}{
		{name: "no answer: 3 h", edit: spaced, outcome: "no_answer", channel: "voice", next: cst(3, 17, 0), attempts: 1},
		{name: "no response: as no answer", edit: spaced, outcome: "no_response", channel: "voice", next: cst(3, 17, 0), attempts: 1},
		{name: "busy: 30 min", edit: spaced, outcome: "busy", channel: "voice", next: cst(3, 14, 30), attempts: 1},
		{name: "machine: its own spacing", edit: spaced, outcome: "machine", channel: "voice", next: cst(3, 18, 0), attempts: 1},
		{name: "failed: 1 h", edit: spaced, outcome: "failed", channel: "voice", next: cst(3, 15, 0), attempts: 1},
		{name: "partial: 2 h 30", edit: spaced, outcome: "partial", channel: "voice", next: cst(3, 16, 30), attempts: 1},
		{name: "hung up: as partial", edit: spaced, outcome: "hung_up", channel: "voice", next: cst(3, 16, 30), attempts: 1},
		{name: "not placed: soon, uncounted", edit: spaced, outcome: "not_placed", channel: "voice", next: cst(3, 14, 2),
			attempts: 0, uncount: true},
		{name: "completed ends it", edit: spaced, outcome: "completed", done: "completed", attempts: 1},
		{name: "opted out ends it", edit: spaced, outcome: "opted_out", done: "opted_out", attempts: 1},
		{name: "suppressed ends it", edit: spaced, outcome: "suppressed", done: "suppressed", attempts: 1},
		{name: "busy with rotation: same part of the day", outcome: "busy", channel: "voice", next: cst(3, 14, 30), attempts: 1},
		{name: "daily cap of 1: tomorrow 09:00", edit: with(spaced, func(d *campaigns.Definition) { d.Attempts.PerDay = 1 }),
			outcome: "no_answer", channel: "voice", next: cst(4, 9, 0), attempts: 1},
		{name: "next try past the deadline: expired", edit: with(spaced, func(d *campaigns.Definition) {
			d.Trigger.Within = campaigns.Duration(6 * time.Hour) // the job completed at 12:00: deadline 18:00
		}), outcome: "machine", done: "expired", attempts: 1},
		{name: "max 1 means one", edit: with(spaced, maxOne), outcome: "no_answer", done: "exhausted", attempts: 1},
		{name: "max 1 voice_then_sms: on to SMS", edit: with(spaced, maxOne, fallback), outcome: "no_answer",
			channel: "sms", next: cst(4, 9, 0), attempts: 1},
		{name: "not placed at max 1: retried, not exhausted", edit: with(spaced, maxOne), outcome: "not_placed",
			channel: "voice", next: cst(3, 14, 2), attempts: 0, uncount: true},
		{name: "invalid number, voice only: failed", edit: spaced, outcome: "failed", permanent: true, done: "failed", attempts: 1},
		{name: "invalid number, voice_then_sms: SMS now", edit: with(spaced, fallback), outcome: "failed", permanent: true,
			channel: "sms", next: cst(3, 14, 2), attempts: 1},
	}
	type setup struct {
		contact campaigns.Contact
		live    campaigns.Live
	}
	var specs []jobSpec
	for i := range cases {
		specs = append(specs, jobSpec{id: fmt.Sprintf("J%02d", i), phone: cnPhone(i), completed: cst(3, 12, 0),
			provider: fmt.Sprintf("P-%02d", i)})
	}
	e.addJobs(t, specs...)
	h := &campaigns.Hopper{Pool: e.pool}
	set := make([]setup, len(cases))
	for i, tc := range cases {
		id, def := e.campaign(t, fmt.Sprintf("policy-%02d", i), with(func(d *campaigns.Definition) {
			d.Targeting.Providers = []string{specs[i].provider}
		}, func(d *campaigns.Definition) {
			if tc.edit != nil {
				tc.edit(d)
			}
		}))
		if res := e.enrol(t, id, def, cst(3, 14, 0)); res.Enrolled != 1 {
			t.Fatalf("%s: enrolled %d, want 1", tc.name, res.Enrolled)
		}
		l := live(id, def)
		cs := take(t, h, l, 5, cst(3, 14, 0))
		if len(cs) != 1 {
			t.Fatalf("%s: took %d, want 1", tc.name, len(cs))
		}
		attemptOf(t, e.pool, cs[0], cst(3, 14, 0), tc.outcome, tc.permanent)
		set[i] = setup{cs[0], l}
	}
	settled := settle(t, h, cst(3, 14, 2))
	if len(settled) != len(cases) {
		t.Errorf("settled %d contacts, want %d", len(settled), len(cases))
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := settled[set[i].contact.ID]
			if !ok {
				t.Fatal("not settled")
			}
			d := s.Decision
			c := contactsOf(t, e.pool, set[i].live.ID)[specs[i].id]
			if tc.done != "" {
				if !d.Done || d.Outcome != tc.done || c.State != "done" || c.Outcome != tc.done {
					t.Fatalf("decision %+v, stored %s %s; want done %s", d, c.State, c.Outcome, tc.done)
				}
			} else {
				if d.Done || d.Channel != tc.channel || !d.NextAt.Equal(tc.next) || d.Uncount != tc.uncount {
					t.Fatalf("decision %+v (next %s), want %s at %s, uncount %v", d, d.NextAt.In(tzShanghai), tc.channel, tc.next, tc.uncount)
				}
				if c.State != "queued" || c.Channel != tc.channel || !c.NextAt.Equal(tc.next) {
					t.Fatalf("stored %s %s due %s, want queued %s due %s", c.State, c.Channel, c.NextAt.In(tzShanghai), tc.channel, tc.next)
				}
			}
			if c.Attempts != tc.attempts || c.VoiceAttempts != tc.attempts || c.SMSAttempts != 0 {
				t.Errorf("counters %d/%d voice/%d sms, want %d/%d/0", c.Attempts, c.VoiceAttempts, c.SMSAttempts, tc.attempts, tc.attempts)
			}
		})
	}
	if again := settle(t, h, cst(3, 14, 3)); len(again) != 0 {
		t.Errorf("a second Settle moved %d contacts again", len(again))
	}
}

// voice_then_sms with DOMAIN.md's defaults (rotation, two a day) and two
// voice attempts: morning, then the afternoon after the break; the voice
// attempts spent, the next attempt is an SMS, in the evening of the next
// day (two already today; morning and afternoon tried); an SMS left
// unanswered exhausts the contact.
func TestVoiceThenSMSFallback(t *testing.T) {
	t.Parallel()
	e := newEnrolEnv(t)
	e.addJobs(t, jobSpec{id: "J1", phone: cnPhone(1), completed: cst(3, 7, 0)})
	id, def := e.campaign(t, "fallback", func(d *campaigns.Definition) {
		d.Channel, d.Attempts.Max = campaigns.ChannelVoiceThenSMS, 2
	})
	e.enrol(t, id, def, cst(3, 9, 0))
	h := &campaigns.Hopper{Pool: e.pool}
	l := live(id, def)
	steps := []struct {
		at, next time.Time
		channel  string // of the attempt made at at
		outcome  string
		then     string // the channel next, or the final outcome
	}{
		{cst(3, 9, 0), cst(3, 14, 0), "voice", "no_answer", "voice"},
		{cst(3, 14, 0), cst(4, 17, 0), "voice", "no_answer", "sms"},
		{cst(4, 17, 0), time.Time{}, "sms", "no_response", "exhausted"},
	}
	for i, st := range steps {
		if cs := take(t, h, l, 5, st.at.Add(-time.Minute)); len(cs) != 0 {
			t.Fatalf("step %d: taken a minute early", i)
		}
		cs := take(t, h, l, 5, st.at)
		if len(cs) != 1 || cs[0].Channel != st.channel || cs[0].Attempts != i+1 {
			t.Fatalf("step %d: took %+v, want the contact on %s, attempt %d", i, cs, st.channel, i+1)
		}
		attemptOf(t, e.pool, cs[0], st.at, st.outcome, false)
		s := settle(t, h, st.at.Add(time.Minute))[cs[0].ID]
		c := contactsOf(t, e.pool, id)["J1"]
		if st.next.IsZero() {
			if !s.Decision.Done || c.State != "done" || c.Outcome != st.then {
				t.Fatalf("step %d: decision %+v, stored %s %s, want done %s", i, s.Decision, c.State, c.Outcome, st.then)
			}
			if c.VoiceAttempts != 2 || c.SMSAttempts != 1 {
				t.Errorf("%d voice and %d SMS attempts, want 2 and 1", c.VoiceAttempts, c.SMSAttempts)
			}
			continue
		}
		if c.State != "queued" || c.Channel != st.then || !c.NextAt.Equal(st.next) {
			t.Fatalf("step %d: stored %s %s due %s, want queued %s due %s", i, c.State, c.Channel, c.NextAt.In(tzShanghai), st.then, st.next)
		}
	}
}

// A contact taken whose attempt was never written (its instance died) goes
// back to the queue when its lease runs out, uncounted; one whose attempt
// exists stays with the attempt. Release puts a contact back at once.
func TestLeaseExpiryAndRelease(t *testing.T) {
	t.Parallel()
	e := newEnrolEnv(t)
	ctx := context.Background()
	e.addJobs(t,
		jobSpec{id: "orphaned", phone: cnPhone(1), completed: cst(3, 7, 0)},
		jobSpec{id: "in-flight", phone: cnPhone(2), completed: cst(3, 7, 0)},
		jobSpec{id: "released", phone: cnPhone(3), completed: cst(3, 7, 0)},
	)
	id, def := e.campaign(t, "leases", nil)
	e.enrol(t, id, def, cst(3, 14, 0))
	h := &campaigns.Hopper{Pool: e.pool}
	cs := take(t, h, live(id, def), 5, cst(3, 14, 0)) // leases until 14:02
	if len(cs) != 3 {
		t.Fatalf("took %d, want 3", len(cs))
	}
	byPhone := map[string]campaigns.Contact{}
	for _, c := range cs {
		byPhone[c.Phone] = c
	}
	attemptOf(t, e.pool, byPhone[cnPhone(2)], cst(3, 14, 0), "", false)
	released := byPhone[cnPhone(3)]
	if err := h.Release(ctx, released.ID, cst(3, 15, 0)); err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		return campaigns.AttachAttempt(ctx, tx, released.ID, 1)
	}); err == nil {
		t.Error("an attempt was attached to a released contact")
	}

	settle(t, h, cst(3, 14, 1)) // the lease still runs
	if c := contactsOf(t, e.pool, id)["orphaned"]; c.State != "dialing" || c.Attempts != 1 {
		t.Fatalf("before its lease ran out: %s with %d attempts, want dialing with 1", c.State, c.Attempts)
	}
	settle(t, h, cst(3, 14, 3))
	got := contactsOf(t, e.pool, id)
	want := map[string]struct {
		state    string
		attempts int
		next     time.Time
	}{
		"orphaned":  {"queued", 0, cst(3, 14, 3)},
		"in-flight": {"dialing", 1, cst(3, 14, 0)},
		"released":  {"queued", 0, cst(3, 15, 0)},
	}
	for job, w := range want {
		c := got[job]
		if c.State != w.state || c.Attempts != w.attempts || c.VoiceAttempts != w.attempts || !c.NextAt.Equal(w.next) {
			t.Errorf("%s: %s, %d attempts (%d voice), due %s; want %s, %d, due %s",
				job, c.State, c.Attempts, c.VoiceAttempts, c.NextAt.In(tzShanghai), w.state, w.attempts, w.next)
		}
	}
	// Taken again, the orphaned contact counts one attempt, not two.
	again := take(t, h, live(id, def), 5, cst(3, 14, 3))
	if len(again) != 1 || again[0].Phone != cnPhone(1) || again[0].Attempts != 1 {
		t.Errorf("taken again: %+v, want the orphaned contact with 1 attempt", again)
	}
}
