package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/huifang/huifang/audit"
	"github.com/huifang/huifang/campaigns"
	"github.com/huifang/huifang/dialer/twiliosim"
	"github.com/huifang/huifang/web"
	"github.com/huifang/huifang/workorders"
	"github.com/huifang/huifang/workorders/sample"
)

// The audit targets the demo's check holds the flags to (the audit issue's):
// recall on planted mismatches the customer answered, precision on flags.
const (
	targetRecall    = 0.95
	targetPrecision = 0.90
)

func demoCmd(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "demo", "demo [flags]")
	var cfg config
	cfg.addFlags(c, fs)
	addr := fs.String("http-addr", c.envOr("HTTP_ADDR", "127.0.0.1:8080"), "listen address (env HTTP_ADDR)")
	jobs := fs.Int("jobs", 2000, "sample jobs to load")
	seed := fs.Int64("seed", 1, "sample seed: the same seed loads the same jobs")
	speed := fs.Float64("speed", 0, "run the demo's clock this many times faster than the wall clock (default 600, with --check 3000)")
	check := fs.Bool("check", false, "run headless to completion, print the outcome table with precision and recall, and exit non-zero under the audit's targets")
	timeout := fs.Duration("timeout", 15*time.Minute, "with --check: give up after this long")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if *jobs < 0 || *jobs > sample.MaxJobs {
		return fmt.Errorf("--jobs must be between 0 and %d", sample.MaxJobs)
	}
	if *speed < 0 || *speed > 100_000 {
		return fmt.Errorf("--speed must be between 1 and 100000")
	}
	if *speed == 0 {
		*speed = 600
		if *check {
			*speed = 3000
		}
	}
	if *check {
		*addr = "127.0.0.1:0"
	}
	log := cfg.logger(c)
	out := c.stdout
	fmt.Fprintln(out, "Starting Huifang demo: embedded services, migrations, sample jobs…")
	rt, err := openRuntime(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer rt.close()

	// The demo's clock starts at 09:30 in China today and runs *speed times
	// faster than the wall clock, so the calling windows of China and then
	// of the United States open within minutes, and retries and SMS
	// reminders a day apart happen while one watches.
	anchor := time.Now().UTC().Truncate(24 * time.Hour).Add(90 * time.Minute)
	clock := twiliosim.AcceleratedFrom(anchor, *speed)
	tm := timing{now: clock.Now, speed: *speed}

	src, err := rt.wo.EnsureSource(ctx, "demo-sample", "file", workorders.Defaults{Region: "CN"})
	if err != nil {
		return err
	}
	start := time.Now()
	scfg := sample.Config{Seed: *seed, Jobs: *jobs, Now: anchor}
	res, err := sample.Load(ctx, rt.wo, src, scfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Loaded %d sample jobs in %s (%d new, %d updated, %d unchanged).\n",
		res.Read, time.Since(start).Round(time.Millisecond), res.Inserted, res.Updated, res.Unchanged)
	aud := audit.NewStore(rt.pool)
	aud.Now = clock.Now
	if err := loadSampleCatalog(ctx, aud); err != nil {
		return err
	}

	// Console logins for the person trying the demo: an ops user and a
	// reviewer, with passwords made for this run and shown only on the
	// terminal.
	logins := []struct {
		user, display string
		role          audit.Role
		password      string
	}{
		{"ops", "Ops (demo)", audit.RoleOps, randomToken()[:16]},
		{"reviewer", "Reviewer (demo)", audit.RoleReviewer, randomToken()[:16]},
	}
	for _, l := range logins {
		if err := web.EnsureUser(ctx, rt.pool, l.user, l.display, l.role, "en", l.password); err != nil {
			return err
		}
	}

	token := c.getenv("HUIFANG_ADMIN_TOKEN")
	generated := token == ""
	if generated {
		token = randomToken()
	}
	ln, err := listen(*addr)
	if err != nil {
		return err
	}
	// The simulator plays the sample customers, on the demo's clock, and
	// calls our webhooks at the address just bound.
	jobList, err := sample.Jobs(scfg)
	if err != nil {
		ln.Close()
		return err
	}
	tel, err := simulatedTelephony(rt, "http://"+ln.Addr().String(), jobList, log, clock)
	if err != nil {
		ln.Close()
		return err
	}
	defer tel.close()
	tel.conv.Now = clock.Now
	tel.redisPrefix = c.getenv("HUIFANG_REDIS_PREFIX")
	tel.callerID = "+15005550006"
	names, err := demoCampaigns(ctx, rt, clock.Now())
	if err != nil {
		ln.Close()
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	progress := &demoProgress{pool: rt.pool, campaigns: names}
	done := make(chan error, 1)
	opts := serveOptions{token: token, tel: tel, clock: tm, audit: aud, auditEvery: time.Second}
	opts.ready = func(bound string) {
		if *check {
			fmt.Fprintf(out, "Running the demo campaigns to completion (clock ×%g)…\n", *speed)
			go func() { done <- progress.untilDone(ctx, out, *timeout) }()
			return
		}
		fmt.Fprintf(out, "\nHuifang is running at http://%s/  (Ctrl-C stops it and everything it started)\n", bound)
		// Shown once on the terminal for the person running the demo; never logged.
		fmt.Fprintf(out, "Console logins for this run:  %s / %s   ·   %s / %s\n",
			logins[0].user, logins[0].password, logins[1].user, logins[1].password)
		if generated {
			// Shown once on the terminal for the person running the demo; never logged.
			fmt.Fprintf(out, "Demo API token for this run: %s\n", token)
		}
		fmt.Fprintf(out, "Try:  curl -H \"Authorization: Bearer $TOKEN\" http://%s/api/v1/audit/flags\n\n", bound)
		go progress.run(ctx, out, clock)
	}
	if !*check {
		return serve(ctx, rt, ln, opts)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- serve(ctx, rt, ln, opts) }()
	var runErr error
	select {
	case runErr = <-done:
	case runErr = <-serveErr:
		if runErr == nil {
			runErr = errors.New("the server stopped before the campaigns finished")
		}
	}
	cancel()
	if err := <-serveErr; err != nil && runErr == nil {
		runErr = err
	}
	if runErr != nil {
		return runErr
	}
	return finishCheck(context.WithoutCancel(ctx), out, rt, aud)
}

// loadSampleCatalog imports the parts lists and standard times the sample
// jobs were generated from, which the intake checks compare claims with.
func loadSampleCatalog(ctx context.Context, aud *audit.Store) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(sample.WriteCatalogCSV(pw)) }()
	_, err := aud.ImportCatalog(ctx, "sample-catalog.csv", pr)
	pr.Close()
	return err
}

// demoCampaigns creates and activates the demo's two campaigns, unless a
// previous run on this database already did.
func demoCampaigns(ctx context.Context, rt *runtime, now time.Time) ([]string, error) {
	st := &campaigns.Store{Pool: rt.pool, Now: func() time.Time { return now }}
	var names []string
	for _, src := range []string{demoRepairCampaign, demoInstallCampaign} {
		def, err := campaigns.ParseDefinition("demo.yaml", []byte(src))
		if err != nil {
			return nil, err
		}
		names = append(names, def.Name)
		if _, err := st.Get(ctx, def.Name); err == nil {
			continue
		} else if !errors.Is(err, campaigns.ErrNotFound) {
			return nil, err
		}
		if _, err := st.Create(ctx, def, src, "demo"); err != nil {
			return nil, err
		}
		if _, err := st.SetState(ctx, def.Name, campaigns.StateActive, "demo"); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// The demo's campaigns: every repair called (then texted when calls go
// unanswered), every install texted, within each customer's own calling
// window, at a pace the in-process simulator keeps up with.
const demoRepairCampaign = `name: demo-repair-verify
description: Repairs with parts - call, then text when calls go unanswered
survey: repair-parts-verification
targeting:
  kinds: [repair]
  completed_within_days: 15
trigger: {after: 2h, within: 10d}
channel: voice_then_sms
schedule: "*/30 * * * *"
attempts:
  max: 3
  per_day: 2
  rotate: true
  voicemail: true
from: ["+15005550006"]
pace: 15
max_concurrent: 60
`

const demoInstallCampaign = `name: demo-install-verify
description: Installations - one SMS survey with one reminder
survey: install-verification
targeting:
  kinds: [install]
  completed_within_days: 15
trigger: {after: 2h, within: 10d}
channel: sms
schedule: "*/30 * * * *"
from: ["+15005550006"]
pace: 15
max_concurrent: 60
`

// exitf makes a non-zero exit with a message.
func exitf(code int, format string, args ...any) error {
	return &exitCodeError{code, fmt.Errorf(format, args...)}
}
