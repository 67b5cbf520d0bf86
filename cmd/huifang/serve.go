package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/huifang/huifang/audit"
	"github.com/huifang/huifang/campaigns"
	"github.com/huifang/huifang/internal/leader"
	"github.com/huifang/huifang/web"
	"github.com/huifang/huifang/workorders"
)

// schedulerLock is the advisory-lock key of the instance that runs
// once-per-cluster schedules ("hfsched").
const schedulerLock = 0x68667363686564

func serveCmd(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "serve", "serve [flags]")
	var cfg config
	cfg.addFlags(c, fs)
	addr := fs.String("http-addr", c.envOr("HTTP_ADDR", "127.0.0.1:8080"), "listen address (env HTTP_ADDR)")
	auditFile := fs.String("audit-config", c.getenv("HUIFANG_AUDIT_CONFIG"), "audit thresholds file, YAML (env HUIFANG_AUDIT_CONFIG; default DOMAIN.md's)")
	proxyList := fs.String("trusted-proxies", c.getenv("HUIFANG_TRUSTED_PROXIES"),
		"load balancers in front, comma-separated addresses or CIDR prefixes, whose X-Forwarded-For is believed (env HUIFANG_TRUSTED_PROXIES)")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	proxies, err := web.ParseTrustedProxies(*proxyList)
	if err != nil {
		return fmt.Errorf("trusted proxies (--trusted-proxies, HUIFANG_TRUSTED_PROXIES): %w", err)
	}
	acfg, err := auditConfig(*auditFile)
	if err != nil {
		return err
	}
	log := cfg.logger(c)
	rt, err := openRuntime(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer rt.close()
	token := c.getenv("HUIFANG_ADMIN_TOKEN")
	if token == "" {
		log.Warn("HUIFANG_ADMIN_TOKEN is not set: every API request will be refused")
	}
	tel, err := twilioFromEnv(c, rt)
	if err != nil {
		return err
	}
	defer tel.close()
	if tel != nil {
		tel.redisPrefix = c.getenv("HUIFANG_REDIS_PREFIX")
	}
	ln, err := listen(*addr)
	if err != nil {
		return err
	}
	aud := audit.NewStore(rt.pool)
	aud.Config = acfg
	return serve(ctx, rt, ln, serveOptions{token: token, tel: tel, audit: aud, proxies: proxies})
}

// serveOptions is what differs between `serve` and `demo`.
type serveOptions struct {
	token string     // the static admin API token; "" refuses it
	tel   *telephony // nil: telephony is off
	// ready, if not nil, is called with the bound address once the server
	// accepts connections.
	ready func(addr string)
	// clock is the demo's accelerated time; the zero value is the wall clock.
	clock timing
	// audit is the audit's store (nil: one with DOMAIN.md's thresholds on
	// the wall clock); auditEvery how often it looks for new jobs and ended
	// contacts (0: its default).
	audit      *audit.Store
	auditEvery time.Duration
	// proxies are the load balancers whose X-Forwarded-For is believed.
	proxies []netip.Prefix
}

// timing is the time the background duties run on: the wall clock in
// production; in the demo a clock that runs speed times faster, so a day of
// calling windows, retries and SMS reminders passes in minutes.
type timing struct {
	now   func() time.Time // nil: time.Now
	speed float64          // simulated seconds per real second; 0 means 1
}

func (t timing) factor() float64 {
	if t.speed <= 0 {
		return 1
	}
	return t.speed
}

// sim is a duration of the wall clock expressed in simulated time: a lease
// that must outlast 30 real seconds is 30 s × speed on the demo's clock.
func (t timing) sim(d time.Duration) time.Duration { return time.Duration(float64(d) * t.factor()) }

// real is how often to do, on the wall clock, something due every d of
// simulated time, at least every floor.
func (t timing) real(d, floor time.Duration) time.Duration {
	return max(time.Duration(float64(d)/t.factor()), floor)
}

func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// serve runs the HTTP server on ln and the background duties until ctx
// ends, then shuts down in reverse order within a bounded time. Telephony
// (o.tel, nil when off) adds the Twilio webhooks, the SMS sweeper and the
// dialer.
func serve(ctx context.Context, rt *runtime, ln net.Listener, o serveOptions) error {
	log, tel := rt.log, o.tel
	aud := o.audit
	if aud == nil {
		aud = audit.NewStore(rt.pool)
	}
	srv := &web.Server{Pool: rt.pool, Redis: rt.redis, WorkOrders: rt.wo, Log: log, AdminToken: o.token, Version: version,
		Twilio: tel.handler(), Campaigns: &campaigns.Store{Pool: rt.pool}, Audit: aud, TrustedProxies: o.proxies}
	if tel != nil {
		// Recordings play through Huifang, fetched with the account's
		// credentials.
		srv.Recordings = tel.carrier
	}
	if tel != nil && tel.callerID != "" {
		// Click-to-call: a reviewer's phone rings, then the customer's.
		srv.Bridge, srv.BridgeFrom = tel.carrier, tel.callerID
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("listening", "addr", ln.Addr().String())

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	var err error
	wg.Go(func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	})
	elector := leader.New(rt.pool, schedulerLock, log)
	sched := &workorders.Scheduler{Puller: &workorders.Puller{Store: rt.wo}, Leader: elector, Log: log}
	wg.Go(func() { sched.Run(ctx) })
	wg.Go(func() { tel.sweep(ctx, o.clock.real(time.Minute, 200*time.Millisecond), log) })
	var electors []*leader.Elector
	var emu sync.Mutex
	leaderOf := func(key int64) campaigns.Leader {
		if key == schedulerLock {
			return elector
		}
		e := leader.New(rt.pool, key, log)
		emu.Lock()
		electors = append(electors, e)
		emu.Unlock()
		return e
	}
	wg.Go(func() { tel.dispatch(ctx, rt, leaderOf, o.clock) })
	runner := &audit.Runner{Store: aud, Leader: elector, Log: log, Every: o.auditEvery}
	wg.Go(func() { runner.Run(ctx) })
	if o.ready != nil {
		o.ready(ln.Addr().String())
	}

	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	log.Info("shutting down")
	sctx, scancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer scancel()
	hs.Shutdown(sctx)
	cancel()
	wg.Wait()
	elector.Resign(sctx)
	for _, e := range electors {
		e.Resign(sctx)
	}
	return err
}

// randomToken makes a bearer token for a demo run.
func randomToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
