package dialer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/huifang/huifang/campaigns"
	"github.com/huifang/huifang/dialer/pace"
)

// Dispatcher starts the attempts of active campaigns. Every instance runs
// one. On each tick it reads which campaigns are active (so a pause takes
// effect within a tick), asks the shared Redis limiter how many attempts it
// may start for each campaign and the shared semaphore how many calls may
// still be in progress, takes that many due contacts from the hopper, and
// places them. It also settles contacts whose attempt has ended.
//
// When Redis cannot be reached nothing is started — the limiter and the
// semaphore grant nothing — and dispatch resumes by itself when it answers.
type Dispatcher struct {
	Hopper  *campaigns.Hopper
	Conv    *Conversations
	Limiter *pace.Limiter
	Sem     *pace.Semaphore
	Log     *slog.Logger
	Now     func() time.Time // nil: time.Now
	// Tick is how often the dispatcher looks for work (default 20 ms).
	Tick time.Duration
	// Lease is how long a contact taken for dialling may go without an
	// attempt before it returns to the queue (default 30 s), and how long
	// a concurrent-call slot outlives an instance that died holding it
	// (default 15 min).
	Lease, SlotTTL time.Duration

	placing sync.WaitGroup
	mu      sync.Mutex
	waiting map[int64]*atomic.Int64 // campaign → contacts waiting for a permit
	// instance and seq make each call's entry in the Redis window unique.
	instance string
	seq      uint64
}

var (
	attemptsSettled = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "huifang_attempts_total",
		Help: "Ended attempts by campaign, channel and outcome (counted once, by the instance that settled them).",
	}, []string{"campaign", "channel", "outcome"})
	attemptsStarted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "huifang_attempts_started_total",
		Help: "Attempts this instance started, by campaign and channel.",
	}, []string{"campaign", "channel"})
	campaignPace = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "huifang_campaign_pace",
		Help: "Each active campaign's configured pace, attempts per second across all instances.",
	}, []string{"campaign"})
	queueDepth = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "huifang_campaign_queue_depth",
		Help: "Contacts due now and waiting to be dialled, by campaign.",
	}, []string{"campaign"})
	answerRate = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "huifang_campaign_answer_rate",
		Help: "Share of each campaign's attempts ended in the last 24 hours in which the customer answered the survey (completed or partial).",
	}, []string{"campaign"})
	dispatchPaused = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "huifang_dispatch_paused",
		Help: "1 while dispatch is paused because Redis cannot be reached.",
	})
)

func init() {
	prometheus.MustRegister(attemptsSettled, attemptsStarted, campaignPace, queueDepth, answerRate, dispatchPaused)
}

func (d *Dispatcher) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Dispatcher) log() *slog.Logger {
	if d.Log != nil {
		return d.Log
	}
	return slog.New(slog.DiscardHandler)
}

func paceKey(id int64) string { return "campaign:" + strconv.FormatInt(id, 10) }
func slotHolder(contactID int64) string {
	return "contact:" + strconv.FormatInt(contactID, 10)
}

// Run dispatches until ctx ends, then waits for the attempts being placed.
func (d *Dispatcher) Run(ctx context.Context) {
	tick := orDefault(d.Tick, 20*time.Millisecond)
	defer d.placing.Wait()
	var (
		depthAt, settleAt, activeAt time.Time
		live                        []campaigns.Live
		wasPaused                   bool
	)
	idle := map[int64]time.Time{} // campaigns with nothing due, until when
	for ctx.Err() == nil {
		now := time.Now()
		var err error
		if now.After(settleAt) {
			settleAt = now.Add(100 * time.Millisecond)
			err = d.settle(ctx)
		}
		if now.After(activeAt) {
			// Read often enough that a pause stops new attempts well
			// within a second.
			activeAt = now.Add(250 * time.Millisecond)
			if l, aerr := d.Hopper.Active(ctx); aerr == nil {
				live = l
			} else {
				err = errors.Join(err, aerr)
			}
		}
		// Sleep until the earliest campaign may start its next attempt:
		// waking when the limiter's next permit frees, rather than on a
		// coarse tick, is what lets the instances together hold the pace.
		wait := tick
		paused := false
		for _, l := range live {
			if until, ok := idle[l.ID]; ok && now.Before(until) {
				wait = min(wait, until.Sub(now))
				continue
			}
			w, drained, derr := d.dispatch(ctx, l)
			if drained {
				idle[l.ID] = now.Add(time.Second)
			}
			if derr != nil {
				if errors.Is(derr, pace.ErrUnavailable) && ctx.Err() == nil {
					paused = true
					wait = time.Second
					break
				}
				err = errors.Join(err, derr)
			}
			wait = min(wait, w)
		}
		if paused {
			dispatchPaused.Set(1)
			if !wasPaused {
				d.log().Warn("dispatch paused: Redis cannot be reached; nothing is started until it answers")
			}
		} else {
			dispatchPaused.Set(0)
			if wasPaused {
				d.log().Info("dispatch resumed: Redis answers again")
			}
		}
		wasPaused = paused
		if err != nil && ctx.Err() == nil {
			d.log().Warn("dispatch", "err", err)
		}
		if now.Sub(depthAt) > 5*time.Second {
			depthAt = now
			d.measure(ctx)
		}
		t := time.NewTimer(max(wait, time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Once runs one round: settle what has ended, then start what is due.
// When Redis cannot be reached it starts nothing and its error wraps
// pace.ErrUnavailable.
func (d *Dispatcher) Once(ctx context.Context) error {
	settleErr := d.settle(ctx)
	live, err := d.Hopper.Active(ctx)
	if err != nil {
		return errors.Join(settleErr, err)
	}
	paused := false
	for _, l := range live {
		if _, _, err := d.dispatch(ctx, l); err != nil {
			if errors.Is(err, pace.ErrUnavailable) {
				paused = true
				settleErr = errors.Join(settleErr, fmt.Errorf("dispatch paused: %w", err))
				break
			}
			settleErr = errors.Join(settleErr, err)
		}
	}
	if paused {
		dispatchPaused.Set(1)
	} else {
		dispatchPaused.Set(0)
	}
	return settleErr
}

func (d *Dispatcher) measure(ctx context.Context) {
	live, err := d.Hopper.Active(ctx)
	if err != nil {
		return
	}
	now := d.now()
	for _, l := range live {
		campaignPace.WithLabelValues(l.Name).Set(l.Def.Pace)
		if n, err := d.Hopper.QueueDepth(ctx, l.ID, now); err == nil {
			queueDepth.WithLabelValues(l.Name).Set(float64(n))
		}
		var answered, ended int
		err := d.Conv.Pool.QueryRow(ctx, `
SELECT count(*) FILTER (WHERE a.outcome IN ('completed', 'partial')), count(*)
FROM attempts a JOIN contacts k ON k.id = a.contact_id
WHERE k.campaign_id = $1 AND a.state = 'ended' AND a.created_at > $2
  AND a.outcome NOT IN ('not_placed', 'suppressed')`, l.ID, now.Add(-24*time.Hour)).Scan(&answered, &ended)
		if err == nil && ended > 0 {
			answerRate.WithLabelValues(l.Name).Set(float64(answered) / float64(ended))
		}
	}
}

// dispatch starts what one campaign may start now. It takes due contacts
// — no more than a couple of ticks' worth of the pace ahead of the permits
// this instance is waiting for — and places each in its own goroutine,
// which waits for the shared limiter's permit right before the carrier is
// asked (Target.Pace). It returns how soon it wants to be called again and
// whether the campaign has nothing due.
func (d *Dispatcher) dispatch(ctx context.Context, l campaigns.Live) (time.Duration, bool, error) {
	tick := orDefault(d.Tick, 20*time.Millisecond)
	now := d.now()
	key := paceKey(l.ID)
	// The limiter's burst bounds how many start at once: one tick's worth,
	// at least one.
	burst := max(1, int(math.Ceil(l.Def.Pace*tick.Seconds())))
	ahead := d.waitingFor(l.ID)
	room := 2*burst - int(ahead.Load())
	if room <= 0 {
		return tick, false, nil
	}
	busy, err := d.Sem.Count(ctx, key)
	if err != nil {
		return tick, false, err
	}
	room = min(room, l.Def.MaxConcurrent-busy)
	if room <= 0 {
		return tick, false, nil
	}
	cs, err := d.Hopper.Take(ctx, l, room, now, orDefault(d.Lease, 30*time.Second))
	if err != nil {
		return tick, false, err
	}
	for _, c := range cs {
		ok, err := d.Sem.Acquire(ctx, key, l.Def.MaxConcurrent, slotHolder(c.ID), orDefault(d.SlotTTL, 15*time.Minute))
		if err != nil || !ok {
			// Another instance filled the last slot, or Redis went away:
			// the contact goes back, uncounted, and is taken again later.
			if rerr := d.Hopper.Release(context.WithoutCancel(ctx), c.ID, now); rerr != nil {
				d.log().Error("release contact", "contact", c.ID, "err", rerr)
			}
			if err != nil {
				return tick, false, err
			}
			continue
		}
		ahead.Add(1)
		d.placing.Add(1)
		go func() {
			defer d.placing.Done()
			waited := false
			permit := func(ctx context.Context) (time.Time, error) {
				defer func() {
					if !waited {
						waited = true
						ahead.Add(-1)
					}
				}()
				return d.permit(ctx, key, l.Def.Pace*paceMargin, burst)
			}
			d.place(context.WithoutCancel(ctx), l, c, permit)
			if !waited {
				ahead.Add(-1)
			}
		}()
	}
	return tick, len(cs) < room, nil
}

// paceMargin keeps the permits a hair under the campaign's pace: the
// limiter spaces permits exactly, but each request then takes its own few
// milliseconds to reach the carrier, and 1% of a second's spacing absorbs
// that jitter so that no one-second window at the carrier holds more than
// the pace.
const paceMargin = 0.99

// waitingFor counts this instance's contacts of a campaign waiting for a
// permit.
func (d *Dispatcher) waitingFor(campaignID int64) *atomic.Int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.waiting == nil {
		d.waiting = map[int64]*atomic.Int64{}
	}
	w := d.waiting[campaignID]
	if w == nil {
		w = new(atomic.Int64)
		d.waiting[campaignID] = w
	}
	return w
}

// permit waits for one permit of the campaign's pace: it books the next
// free one in the shared limiter and sleeps until it is due.
func (d *Dispatcher) permit(ctx context.Context, key string, rate float64, _ int) (time.Time, error) {
	for {
		wait, ok, err := d.Limiter.Reserve(ctx, key, rate, 2*time.Second)
		if err != nil {
			return time.Time{}, err
		}
		if !ok {
			// Every permit of the next two seconds is booked already.
			wait = time.Second
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return time.Time{}, ctx.Err()
			case <-t.C:
			}
		}
		if ok {
			return d.admit(ctx, key, rate)
		}
	}
}

// admit is the last check before the carrier: at most the pace (rounded
// down, at least one) in any one second across all instances, by Redis
// TIME at the moment of sending. It returns that moment.
func (d *Dispatcher) admit(ctx context.Context, key string, rate float64) (time.Time, error) {
	limit := max(1, int(math.Floor(rate/paceMargin+1e-9)))
	member := d.instanceID()
	for {
		wait, at, err := d.Limiter.Admit(ctx, key, limit, admitWindow, member)
		if err != nil || wait == 0 {
			return at, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return time.Time{}, ctx.Err()
		case <-t.C:
		}
	}
}

// admitWindow is a second and 8 ms: the pace is held over a window a hair
// longer than the second it is measured in at the carrier, so the moment
// between this check and the request's arrival cannot push a 21st call into
// some second. The booked permits (at 99% of the pace, 20 per 1.0101 s at
// 20/s) never meet this window in steady running; it only holds back
// waiters that woke late.
const admitWindow = time.Second + 8*time.Millisecond

// instanceID names this dispatcher's process in Redis window entries.
func (d *Dispatcher) instanceID() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.instance == "" {
		b := make([]byte, 6)
		rand.Read(b)
		d.instance = hex.EncodeToString(b)
	}
	d.seq++
	return d.instance + ":" + strconv.FormatUint(d.seq, 10)
}

// place starts one contact's attempt. The attempt row is written (and
// attached to the contact) before the carrier is asked; what the carrier
// answers settles it.
func (d *Dispatcher) place(ctx context.Context, l campaigns.Live, c campaigns.Contact, permit func(context.Context) (time.Time, error)) {
	def := l.Def
	t := Target{
		WorkOrderID: c.WorkOrderID, SurveyVersionID: l.SurveyVersionID, From: def.From[int(c.ID)%len(def.From)],
		Ring: time.Duration(def.Attempts.Ring), Record: def.Attempts.Record, ContactID: c.ID, Pace: permit,
	}
	if def.Attempts.Voicemail {
		t.MachineAction = "voicemail"
	}
	var err error
	if c.Channel == "sms" {
		_, err = d.Conv.Text(ctx, t)
	} else {
		_, err = d.Conv.Call(ctx, t)
	}
	switch {
	case err == nil, errors.Is(err, ErrSuppressed), isCarrierError(err):
		// The attempt exists and its outcome settles the contact; one the
		// carrier's answer left in doubt is settled by the reconciler.
		attemptsStarted.WithLabelValues(l.Name, c.Channel).Inc()
	case errors.Is(err, ErrSessionOpen):
		// Another survey is still open with this number: try later.
		if err := d.Sem.Release(ctx, paceKey(l.ID), slotHolder(c.ID)); err != nil {
			d.log().Warn("free call slot", "contact", c.ID, "err", err)
		}
		if err := d.Hopper.Release(ctx, c.ID, d.now().Add(time.Hour)); err != nil {
			d.log().Error("release contact", "contact", c.ID, "err", err)
		}
	default:
		// Our own trouble (Postgres). With no attempt written, the lease
		// returns the contact to the queue; with one written and not yet
		// placed, the reconciler settles it.
		d.log().Error("start attempt", "contact", c.ID, "err", err)
	}
}

func isCarrierError(err error) bool {
	var ce *CarrierError
	return errors.As(err, &ce)
}

// settle moves on contacts whose attempts have ended and frees their
// concurrent-call slots.
func (d *Dispatcher) settle(ctx context.Context) error {
	for {
		done, err := d.Hopper.Settle(ctx, d.now(), 200)
		for _, s := range done {
			attemptsSettled.WithLabelValues(s.CampaignName, s.Result.Channel, s.Result.Outcome).Inc()
			if err := d.Sem.Release(ctx, paceKey(s.Campaign), slotHolder(s.Contact.ID)); err != nil {
				d.log().Warn("free call slot", "contact", s.Contact.ID, "err", err)
			}
		}
		if err != nil {
			return fmt.Errorf("settle: %w", err)
		}
		if len(done) < 200 {
			return nil
		}
	}
}
