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
	"sync"
	"time"

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
	if _, err := parseInterspersed(fs, args); err != nil {
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
	return serve(ctx, rt, ln, token, tel, nil)
}

func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// serve runs the HTTP server on ln and the background duties until ctx
// ends, then shuts down in reverse order within a bounded time. tel (nil when
// telephony is off) adds the Twilio webhooks and the SMS sweeper. ready, if
// not nil, is called with the bound address once the server accepts
// connections.
func serve(ctx context.Context, rt *runtime, ln net.Listener, token string, tel *telephony, ready func(addr string)) error {
	log := rt.log
	srv := &web.Server{Pool: rt.pool, Redis: rt.redis, WorkOrders: rt.wo, Log: log, AdminToken: token, Version: version,
		Twilio: tel.handler(), Campaigns: &campaigns.Store{Pool: rt.pool}}
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
	wg.Go(func() { tel.sweep(ctx, time.Minute, log) })
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
	wg.Go(func() { tel.dispatch(ctx, rt, leaderOf) })
	if ready != nil {
		ready(ln.Addr().String())
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
