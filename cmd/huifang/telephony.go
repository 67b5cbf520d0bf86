package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/huifang/huifang/campaigns"
	"github.com/huifang/huifang/dialer"
	"github.com/huifang/huifang/dialer/pace"
	"github.com/huifang/huifang/dialer/twilio"
	"github.com/huifang/huifang/dialer/twiliosim"
	"github.com/huifang/huifang/surveys"
	"github.com/huifang/huifang/workorders/sample"
)

// telephony is the carrier side of a running server: the conversations,
// the webhooks Twilio calls, and what must be closed at the end.
type telephony struct {
	conv    *dialer.Conversations
	carrier *twilio.Carrier
	// callerID is the number a reviewer's click-to-call shows the customer
	// (HUIFANG_CALLER_ID); "" turns click-to-call off.
	callerID string
	hooks    *twilio.Webhooks
	sim      *twiliosim.Simulator // the demo's in-process simulator, or nil
	closer   func()
	// redisPrefix starts the Redis keys of pacing and call slots
	// (HUIFANG_REDIS_PREFIX, default "huifang:"), so several deployments
	// can share one Redis.
	redisPrefix string
}

// twilioFromEnv wires the real Twilio from the environment: the account SID
// and auth token (never from a file, never logged) and the public base URL
// Twilio reaches this server at. With none of them set telephony is off; with
// some, the missing ones are named.
func twilioFromEnv(c *cli, rt *runtime) (*telephony, error) {
	sid, token, base := c.getenv("TWILIO_ACCOUNT_SID"), c.getenv("TWILIO_AUTH_TOKEN"), c.getenv("PUBLIC_BASE_URL")
	if sid == "" && token == "" && base == "" {
		rt.log.Info("telephony is off: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and PUBLIC_BASE_URL to place calls")
		return nil, nil
	}
	var missing []string
	for _, kv := range [][2]string{{"TWILIO_ACCOUNT_SID", sid}, {"TWILIO_AUTH_TOKEN", token}, {"PUBLIC_BASE_URL", base}} {
		if kv[1] == "" {
			missing = append(missing, kv[0])
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("telephony needs %s as well", strings.Join(missing, " and "))
	}
	cfg := twilio.Config{AccountSID: sid, AuthToken: token}
	if api := c.getenv("TWILIO_API_URL"); api != "" {
		// For load tests against a standalone simulator (huifang
		// twiliosim): every request for a twilio.com host goes there.
		hc, err := twiliosim.NewHTTPClient(api)
		if err != nil {
			return nil, fmt.Errorf("TWILIO_API_URL: %w", err)
		}
		cfg.HTTP = hc
		rt.log.Warn("Twilio's API is redirected: not for production", "to", api)
	}
	tel, err := newTelephony(rt, twilio.New(cfg), token, base)
	if err == nil {
		tel.callerID = c.getenv("HUIFANG_CALLER_ID")
	}
	return tel, err
}

func newTelephony(rt *runtime, carrier *twilio.Carrier, authToken, base string) (*telephony, error) {
	v, err := twilio.NewVerifier(authToken, base)
	if err != nil {
		return nil, err
	}
	conv := &dialer.Conversations{Pool: rt.pool, Carrier: carrier, Surveys: surveys.NewStore(rt.pool), Log: rt.log}
	hooks := &twilio.Webhooks{Conv: conv, Verifier: v, Carrier: carrier, Log: rt.log, BaseURL: base}
	conv.Hooks = hooks
	if _, err := publishShipped(context.Background(), conv.Surveys); err != nil {
		return nil, err
	}
	return &telephony{conv: conv, carrier: carrier, hooks: hooks, closer: func() {}}, nil
}

// simulatedTelephony runs the demo against the in-process Twilio simulator,
// its customers played by the sample jobs' personas.
func simulatedTelephony(rt *runtime, base string, jobs []sample.Job, log *slog.Logger, clock twiliosim.Clock) (*telephony, error) {
	sim, err := twiliosim.Start(twiliosim.Options{
		Clock:    clock,
		Personas: twiliosim.SamplePersonas(jobs),
		SMSURL:   strings.TrimRight(base, "/") + twilio.PathSMSInbound,
		Logger:   log.With("component", "twiliosim"),
	})
	if err != nil {
		return nil, err
	}
	hc, err := twiliosim.NewHTTPClient(sim.URL())
	if err != nil {
		sim.Close()
		return nil, err
	}
	carrier := twilio.New(twilio.Config{AccountSID: sim.AccountSID(), AuthToken: sim.AuthToken(), HTTP: hc})
	tel, err := newTelephony(rt, carrier, sim.AuthToken(), base)
	if err != nil {
		sim.Close()
		return nil, err
	}
	tel.sim = sim
	tel.closer = func() { sim.Close() }
	return tel, nil
}

// publishShipped stores the shipped surveys as versions (a no-op for those
// already stored unchanged) and returns their version ids by name.
func publishShipped(ctx context.Context, st *surveys.Store) (map[string]int64, error) {
	defs, err := surveys.Shipped()
	if err != nil {
		return nil, err
	}
	ids := make(map[string]int64, len(defs))
	for name, d := range defs {
		p, err := st.Publish(ctx, d)
		if err != nil {
			return nil, err
		}
		ids[name] = p.ID
	}
	return ids, nil
}

// handler is the webhook routes, or nil when telephony is off.
func (t *telephony) handler() http.Handler {
	if t == nil {
		return nil
	}
	return t.hooks.Handler()
}

// sweep moves waiting SMS surveys (reminders, time-outs) every interval
// until ctx ends. Every instance may run it: sessions are taken with SKIP
// LOCKED.
func (t *telephony) sweep(ctx context.Context, every time.Duration, log *slog.Logger) {
	if t == nil {
		return
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if n, err := t.conv.Sweep(ctx); err != nil && ctx.Err() == nil {
			log.Warn("SMS sweep", "err", err)
		} else if n > 0 {
			log.Info("SMS sweep", "sessions", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// dispatchLock is the advisory-lock key of the instance that reconciles
// attempts in doubt ("hfrecon").
const dispatchLock = 0x68667265636f6e

// dispatch runs the dialer until ctx ends: every instance dispatches and
// settles contacts; the leader also enrols on the campaigns' schedules and
// reconciles attempts in doubt.
func (t *telephony) dispatch(ctx context.Context, rt *runtime, leaderOf func(key int64) campaigns.Leader, clock timing) {
	if t == nil {
		return
	}
	prefix := t.redisPrefix
	if prefix == "" {
		prefix = "huifang:"
	}
	limiter := pace.NewLimiter(rt.redis, prefix)
	sem := pace.NewSemaphore(rt.redis, prefix)
	hopper := &campaigns.Hopper{Pool: rt.pool}
	d := &dialer.Dispatcher{Hopper: hopper, Conv: t.conv, Limiter: limiter, Sem: sem, Log: rt.log,
		Now: clock.now, Lease: clock.sim(30 * time.Second)}
	sched := &campaigns.Scheduler{Pool: rt.pool, Leader: leaderOf(schedulerLock), Log: rt.log, Now: clock.now,
		Every: clock.real(5*time.Second, time.Second)}
	// The reconciler's thresholds are real durations (the carrier client's
	// time-out, how long Twilio takes to show a call): on an accelerated
	// clock they are as many simulated seconds as real ones would be.
	rec := &dialer.Reconciler{Conv: t.conv, Log: rt.log, Now: clock.now,
		PendingAfter: clock.sim(time.Minute), InDoubtAfter: clock.sim(15 * time.Second), StaleAfter: clock.sim(30 * time.Minute)}
	recLeader := leaderOf(dispatchLock)
	var wg sync.WaitGroup
	wg.Go(func() { d.Run(ctx) })
	wg.Go(func() { sched.Run(ctx) })
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		for {
			if recLeader.IsLeader(ctx) {
				if n, err := rec.Once(ctx); err != nil && ctx.Err() == nil {
					rt.log.Warn("reconcile", "err", err)
				} else if n > 0 {
					rt.log.Info("reconciled attempts", "settled", n)
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	})
	wg.Wait()
}

func (t *telephony) close() {
	if t != nil && t.closer != nil {
		t.closer()
	}
}
