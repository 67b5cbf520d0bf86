package dialer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
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
	// attempt before it returns to the queue (default 2 min), and how long
	// a concurrent-call slot outlives an instance that died holding it
	// (default 15 min).
	Lease, SlotTTL time.Duration

	placing sync.WaitGroup
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
	dispatchPaused = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "huifang_dispatch_paused",
		Help: "1 while dispatch is paused because Redis cannot be reached.",
	})
)

func init() {
	prometheus.MustRegister(attemptsSettled, attemptsStarted, campaignPace, queueDepth, dispatchPaused)
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
	t := time.NewTicker(tick)
	defer t.Stop()
	defer d.placing.Wait()
	var depthAt time.Time
	for {
		if err := d.Once(ctx); err != nil && ctx.Err() == nil {
			d.log().Warn("dispatch", "err", err)
		}
		if now := time.Now(); now.Sub(depthAt) > 5*time.Second {
			depthAt = now
			d.measure(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Once runs one round: settle what has ended, then start what is due.
func (d *Dispatcher) Once(ctx context.Context) error {
	settleErr := d.settle(ctx)
	live, err := d.Hopper.Active(ctx)
	if err != nil {
		return errors.Join(settleErr, err)
	}
	paused := false
	for _, l := range live {
		if err := d.dispatch(ctx, l); err != nil {
			if errors.Is(err, pace.ErrUnavailable) {
				paused = true
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
	}
}

// dispatch starts what one campaign may start now.
func (d *Dispatcher) dispatch(ctx context.Context, l campaigns.Live) error {
	now := d.now()
	due, err := d.Hopper.Due(ctx, l.ID, now)
	if err != nil || !due {
		return err
	}
	key := paceKey(l.ID)
	busy, err := d.Sem.Count(ctx, key)
	if err != nil {
		return err
	}
	free := l.Def.MaxConcurrent - busy
	if free <= 0 {
		return nil
	}
	// The limiter's burst bounds how many start at once: one tick's worth,
	// at least one, so that no second sees more than the pace plus that.
	tick := orDefault(d.Tick, 20*time.Millisecond)
	burst := max(1, int(math.Ceil(l.Def.Pace*tick.Seconds())))
	granted, _, err := d.Limiter.Take(ctx, key, l.Def.Pace, burst, min(free, burst))
	if err != nil || granted == 0 {
		return err
	}
	cs, err := d.Hopper.Take(ctx, l, granted, now, orDefault(d.Lease, 2*time.Minute))
	if err != nil {
		return err
	}
	for _, c := range cs {
		ok, err := d.Sem.Acquire(ctx, key, l.Def.MaxConcurrent, slotHolder(c.ID), orDefault(d.SlotTTL, 15*time.Minute))
		if err != nil || !ok {
			// Another instance filled the last slot, or Redis went away:
			// the contact goes back, uncounted, and is taken again later.
			if rerr := d.Hopper.Release(ctx, c.ID, now); rerr != nil {
				d.log().Error("release contact", "contact", c.ID, "err", rerr)
			}
			if err != nil {
				return err
			}
			continue
		}
		d.placing.Add(1)
		go func() {
			defer d.placing.Done()
			d.place(context.WithoutCancel(ctx), l, c)
		}()
	}
	return nil
}

// place starts one contact's attempt. The attempt row is written (and
// attached to the contact) before the carrier is asked; what the carrier
// answers settles it.
func (d *Dispatcher) place(ctx context.Context, l campaigns.Live, c campaigns.Contact) {
	def := l.Def
	t := Target{
		WorkOrderID: c.WorkOrderID, SurveyVersionID: l.SurveyVersionID, From: def.From[int(c.ID)%len(def.From)],
		Ring: time.Duration(def.Attempts.Ring), Record: def.Attempts.Record, ContactID: c.ID,
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
