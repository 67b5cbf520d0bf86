package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	goruntime "runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/huifang/huifang/campaigns"
	"github.com/huifang/huifang/dialer"
	"github.com/huifang/huifang/dialer/pace"
	"github.com/huifang/huifang/dialer/twilio"
	"github.com/huifang/huifang/dialer/twiliosim"
	"github.com/huifang/huifang/internal/redact"
	"github.com/huifang/huifang/migrations"
	"github.com/huifang/huifang/surveys"
	"github.com/huifang/huifang/workorders"
	"github.com/huifang/huifang/workorders/sample"
)

// The campaign benchmarks' sample is anchored here: its jobs complete in
// the fourteen days before, and the benchmarks' clock reads 11:00 in
// Shanghai (Monday 2 November 2026), inside China's calling window.
var (
	benchCampaignSampleNow = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	benchCampaignClock     = benchCampaignSampleNow.Add(3 * time.Hour)
)

// benchCampaignDB creates a fresh database next to adminURL, migrates it and
// opens a pool of up to maxConns connections on it. drop closes the pool and
// drops the database unless keep.
func benchCampaignDB(ctx context.Context, adminURL string, keep bool, maxConns int32) (*pgxpool.Pool, string, func(), error) {
	b := make([]byte, 4)
	rand.Read(b)
	name := "huifang_bench_" + hex.EncodeToString(b)
	adm, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, "", nil, fmt.Errorf("bench: connect to %s: %s", hostOf(adminURL), redact.Password(err.Error(), adminURL))
	}
	if _, err := adm.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		adm.Close(context.Background())
		return nil, "", nil, err
	}
	var pool *pgxpool.Pool
	drop := func() {
		if pool != nil {
			pool.Close()
		}
		if !keep {
			adm.Exec(context.Background(), "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)") //nolint:errcheck
		}
		adm.Close(context.Background())
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		drop()
		return nil, "", nil, err
	}
	u.Path = "/" + name
	cfg, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		drop()
		return nil, "", nil, err
	}
	cfg.MaxConns = maxConns
	if pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		drop()
		return nil, "", nil, err
	}
	if _, err := migrations.Up(ctx, pool, nil); err != nil {
		drop()
		return nil, "", nil, err
	}
	return pool, name, drop, nil
}

// benchLoadJobs imports a generated sample through the ordinary intake path
// (CSV streamed into workorders.Store.Import, as `huifang import` does),
// without the ground-truth table the demo needs.
func benchLoadJobs(ctx context.Context, pool *pgxpool.Pool, cfg sample.Config) (workorders.ImportResult, error) {
	ws := &workorders.Store{Pool: pool}
	src, err := ws.EnsureSource(ctx, "bench", "file", workorders.Defaults{Region: "CN"})
	if err != nil {
		return workorders.ImportResult{}, err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(sample.WriteCSV(pw, cfg)) }()
	defer pr.Close()
	r, err := workorders.NewCSVReader("sample", pr, nil)
	if err != nil {
		return workorders.ImportResult{}, err
	}
	return ws.Import(ctx, src, r, workorders.ImportOptions{Actor: "bench"})
}

// benchActivate stores a campaign and activates it (which pins the latest
// published version of its survey).
func benchActivate(ctx context.Context, pool *pgxpool.Pool, def *campaigns.Definition, now time.Time) (campaigns.Campaign, error) {
	if _, err := publishShipped(ctx, surveys.NewStore(pool)); err != nil {
		return campaigns.Campaign{}, err
	}
	st := &campaigns.Store{Pool: pool, Now: func() time.Time { return now }}
	if _, err := st.Create(ctx, def, "", "bench"); err != nil {
		return campaigns.Campaign{}, err
	}
	return st.SetState(ctx, def.Name, campaigns.StateActive, "bench")
}

// benchCampaignDefinition targets every job of the sample: any kind,
// region or provider completed in the last 30 days, every one sampled.
func benchCampaignDefinition(name string) *campaigns.Definition {
	d := campaigns.DefaultDefinition()
	d.Name, d.Survey, d.Schedule, d.From = name, "repair-parts-verification", "@hourly", []string{"+862038001234"}
	d.Targeting.CompletedWithinDays = 30
	d.Trigger.Within = campaigns.Duration(30 * 24 * time.Hour)
	d.Sampling.Rate = 1
	return d
}

// benchEnrol loads jobs sample jobs into a fresh database, activates a
// campaign that targets all of them and times one enrolment run of it —
// campaigns.Enrol in one transaction, as the scheduler runs it: the
// set-based insert of the contacts, then each one's first attempt moved
// into its calling window.
func benchEnrol(ctx context.Context, c *cli, adminURL string, jobs int, keep bool) error {
	out := c.stdout
	if jobs < 1 {
		return errors.New("bench enrol: --jobs must be positive")
	}
	pool, dbName, drop, err := benchCampaignDB(ctx, adminURL, keep, 8)
	if err != nil {
		return err
	}
	defer drop()
	var pgVersion string
	if err := pool.QueryRow(ctx, `SHOW server_version`).Scan(&pgVersion); err != nil {
		return err
	}

	start := time.Now()
	res, err := benchLoadJobs(ctx, pool, sample.Config{Seed: 42, Jobs: jobs, Now: benchCampaignSampleNow})
	if err != nil {
		return fmt.Errorf("bench enrol: load: %w", err)
	}
	took := time.Since(start)
	fmt.Fprintf(out, "loaded %d sample jobs (%d inserted) in %s, %.0f jobs/s\n", jobs, res.Inserted, took.Round(time.Millisecond),
		float64(jobs)/took.Seconds())
	// The statistics a live database would have; a bulk load leaves them
	// to autovacuum, which may not have run yet.
	if _, err := pool.Exec(ctx, `ANALYZE`); err != nil {
		return err
	}

	now := benchCampaignClock
	def := benchCampaignDefinition("bench-enrol")
	camp, err := benchActivate(ctx, pool, def, now)
	if err != nil {
		return fmt.Errorf("bench enrol: %w", err)
	}
	var phones int
	if err := pool.QueryRow(ctx, `SELECT count(DISTINCT phone_e164) FROM customers`).Scan(&phones); err != nil {
		return err
	}

	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck
	start = time.Now()
	er, err := campaigns.Enrol(ctx, tx, camp.ID, camp.Definition, now)
	if err != nil {
		return fmt.Errorf("bench enrol: %w", err)
	}
	enrolTook := time.Since(start)
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	total := time.Since(start)

	var queued, expired int
	if err := pool.QueryRow(ctx, `
SELECT count(*) FILTER (WHERE state = 'queued'), count(*) FILTER (WHERE outcome = 'expired') FROM contacts`).
		Scan(&queued, &expired); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nenrolment of %s at %s (one transaction):\n", camp.Name, now.In(time.FixedZone("CST", 8*3600)).Format("Mon 2006-01-02 15:04 MST"))
	fmt.Fprintf(out, "  %-28s %d of %d jobs (%d distinct numbers: one job per number per run)\n", "contacts enrolled", er.Enrolled, jobs, phones)
	fmt.Fprintf(out, "  %-28s %d moved to when their window opens, %d ended expired, %d queued\n", "first attempts", er.Deferred, expired, queued)
	fmt.Fprintf(out, "  %-28s %s (Enrol %s, commit %s)\n", "wall time", total.Round(time.Millisecond), enrolTook.Round(time.Millisecond),
		(total - enrolTook).Round(time.Millisecond))
	fmt.Fprintf(out, "  %-28s %.0f\n", "contacts/s", float64(er.Enrolled)/total.Seconds())
	verdict := "met"
	if total > 15*time.Second {
		verdict = "MISSED"
	}
	fmt.Fprintf(out, "target: under 15 s — %s\n", verdict)
	fmt.Fprintf(out, "machine: %d CPUs, Postgres %s on %s\n", goruntime.NumCPU(), pgVersion, hostOf(adminURL))
	if keep {
		fmt.Fprintf(out, "kept: database %s\n", dbName)
	}
	return nil
}

// benchDispatchInstances is how many Dispatchers run at once in bench
// dispatch, as separate instances would, sharing Postgres and Redis;
// benchDispatchCampaigns how many campaigns, each at the highest pace a
// definition allows (100 a second), share its contacts.
const (
	benchDispatchInstances = 2
	benchDispatchCampaigns = 10
)

// benchFastPersona is a customer whose line is busy: every attempt is real
// — its attempt and survey session written, its call created on the
// simulator through twilio-go, its status callbacks (initiated, busy)
// posted to the webhooks and the contact settled for its retry — but the
// call ends at once, so what is measured is dispatch rather than the survey
// webhooks (bench webhooks measures those). A customer who answers and
// hangs up at the first question costs six webhooks instead of two.
var benchFastPersona = &twiliosim.Script{Pickup: twiliosim.Pickup{By: twiliosim.Busy}}

// benchLogCounter counts the records logged at warn or above and keeps the
// first few.
type benchLogCounter struct {
	n     atomic.Int64
	mu    sync.Mutex
	first []string
}

func (h *benchLogCounter) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h *benchLogCounter) Handle(_ context.Context, r slog.Record) error {
	h.n.Add(1)
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool { msg += " " + a.String(); return true })
	h.mu.Lock()
	if len(h.first) < 5 {
		h.first = append(h.first, msg)
	}
	h.mu.Unlock()
	return nil
}
func (h *benchLogCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *benchLogCounter) WithGroup(string) slog.Handler      { return h }

// benchDispatch measures how fast dispatch starts attempts: contacts
// sample jobs enrolled in one campaign paced far above the target (1,000
// attempts a second, 1,000 calls at once), benchDispatchInstances
// Dispatchers sharing Postgres and Redis, each attempt written and its call
// created on the Twilio simulator (a separate server on a loopback port,
// reached through the real Twilio carrier and twilio-go), whose callbacks
// reach Huifang's webhooks on another loopback port. It runs for seconds
// and reports the attempts started per second and every error.
func benchDispatch(ctx context.Context, c *cli, adminURL, redisURL string, contacts int, seconds int) error {
	out := c.stdout
	if contacts < 1 || seconds < 1 {
		return errors.New("bench dispatch: --contacts and --seconds must be positive")
	}
	logs := &benchLogCounter{}
	log := slog.New(logs)
	pool, dbName, drop, err := benchCampaignDB(ctx, adminURL, false, 40)
	if err != nil {
		return err
	}
	defer drop()

	// Redis, under a prefix of this run's own.
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return fmt.Errorf("bench dispatch: REDIS_URL: %w", err)
	}
	opt.PoolSize = 512
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("bench dispatch: redis: %w", err)
	}
	prefix := "bench:" + dbName + ":"
	defer func() {
		iter := rdb.Scan(context.Background(), 0, prefix+"*", 500).Iterator()
		for iter.Next(context.Background()) {
			rdb.Del(context.Background(), iter.Val())
		}
	}()

	// Jobs: Chinese customers only, so that the clock's 11:00 in Shanghai
	// is inside every recipient's window; as many as hold contacts repairs
	// (the campaigns ask the repair survey, which an install cannot take).
	start := time.Now()
	scfg := sample.Config{Seed: 42, Jobs: min(4*contacts, sample.MaxJobs), Now: benchCampaignSampleNow, Mix: map[string]float64{"CN": 1}}
	enough := errors.New("enough repairs")
	repairs, jobs := 0, 0
	err = sample.Generate(scfg, func(j *sample.Job) error {
		jobs++
		if j.Order.Kind == workorders.Repair {
			repairs++
		}
		if repairs == contacts {
			return enough
		}
		return nil
	})
	if err != nil && !errors.Is(err, enough) {
		return err
	}
	scfg.Jobs = jobs
	if _, err := benchLoadJobs(ctx, pool, scfg); err != nil {
		return fmt.Errorf("bench dispatch: load: %w", err)
	}
	now := benchCampaignClock
	clock := func() time.Time { return now }
	// A campaign may pace at most 100 attempts a second, so the contacts are
	// split between benchDispatchCampaigns campaigns at that pace: campaign
	// k samples 1/(n-k) of the jobs, and the frequency cap keeps it off the
	// numbers the campaigns before it enrolled, so each gets an even share.
	var defs []*campaigns.Definition
	for k := range benchDispatchCampaigns {
		def := benchCampaignDefinition(fmt.Sprintf("bench-dispatch-%02d", k+1))
		def.Targeting.Kinds = []string{"repair"}
		def.Pace, def.MaxConcurrent = 100, 1000
		def.Sampling.Rate = 1 / float64(benchDispatchCampaigns-k)
		if _, err := benchActivate(ctx, pool, def, now); err != nil {
			return fmt.Errorf("bench dispatch: %w", err)
		}
		defs = append(defs, def)
	}
	enrolled, err := campaigns.EnrolDue(ctx, pool, now)
	if err != nil {
		return fmt.Errorf("bench dispatch: enrol: %w", err)
	}
	var due int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM contacts WHERE state = 'queued' AND next_at <= $1`, now).Scan(&due); err != nil {
		return err
	}
	var shares []int
	for _, d := range defs {
		shares = append(shares, enrolled[d.Name].Enrolled)
	}
	fmt.Fprintf(out, "loaded %d sample jobs (%d repairs) and enrolled %d contacts, %d due now, in %d campaigns %v in %s\n",
		jobs, repairs, benchSum(shares), due, len(defs), shares, time.Since(start).Round(time.Millisecond))

	// The simulator, its webhooks posted over keep-alive connections as
	// Twilio's are, and the carrier reaching it through the same kind of
	// client.
	transport := func() *http.Transport {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns, t.MaxIdleConnsPerHost = 512, 512
		return t
	}
	sim, err := twiliosim.Start(twiliosim.Options{
		Speed: 1000, DefaultPersona: benchFastPersona,
		WebhookClient: &http.Client{Timeout: 15 * time.Second, Transport: transport()},
	})
	if err != nil {
		return err
	}
	defer sim.Close()
	rt, err := twiliosim.NewTransport(sim.URL(), transport())
	if err != nil {
		return err
	}
	hc := &http.Client{Transport: rt, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	carrier := twilio.New(twilio.Config{AccountSID: sim.AccountSID(), AuthToken: sim.AuthToken(), HTTP: hc})

	// Huifang's webhooks on a real HTTP server, counting what they answer.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	verifier, err := twilio.NewVerifier(sim.AuthToken(), base)
	if err != nil {
		ln.Close()
		return err
	}
	conv := &dialer.Conversations{Pool: pool, Carrier: carrier, Surveys: surveys.NewStore(pool), Log: log, Now: clock}
	hooks := &twilio.Webhooks{Conv: conv, Verifier: verifier, Carrier: carrier, Log: log, BaseURL: base}
	conv.Hooks = hooks
	var served, failed atomic.Int64
	h := hooks.Handler()
	hs := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &benchStatusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		served.Add(1)
		if sw.status >= 300 {
			failed.Add(1)
		}
	})}
	go hs.Serve(ln) //nolint:errcheck // ErrServerClosed after Shutdown
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx) //nolint:errcheck
	}()

	// The run.
	attempts := func() (int, error) {
		var n int
		err := pool.QueryRow(ctx, `SELECT count(*) FROM attempts`).Scan(&n)
		return n, err
	}
	hopper := &campaigns.Hopper{Pool: pool}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	began := time.Now()
	for range benchDispatchInstances {
		d := &dialer.Dispatcher{Hopper: hopper, Conv: conv, Log: log, Now: clock,
			Limiter: pace.NewLimiter(rdb, prefix), Sem: pace.NewSemaphore(rdb, prefix)}
		wg.Go(func() { d.Run(runCtx) })
	}
	var perSecond []int
	last := 0
	tick := time.NewTicker(time.Second)
	for range seconds {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
		n, err := attempts()
		if err != nil {
			stop()
			wg.Wait()
			return err
		}
		perSecond = append(perSecond, n-last)
		last = n
	}
	tick.Stop()
	window := time.Since(began)
	started := last
	errsDuring := logs.n.Load()
	stop()
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	idleCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	idleErr := sim.Idle(idleCtx)
	cancel()
	// Settle the contacts whose calls ended after the run.
	if _, err := hopper.Settle(ctx, now, contacts); err != nil {
		return err
	}

	// The figures.
	byState, err := benchGroupCount(ctx, pool, `SELECT state || ':' || COALESCE(outcome, '-'), count(*) FROM attempts GROUP BY 1 ORDER BY 1`)
	if err != nil {
		return err
	}
	contactStates, err := benchGroupCount(ctx, pool, `
SELECT CASE WHEN attempts = 0 THEN 'not dialled' ELSE 'dialled, ' || state || COALESCE(' ' || outcome, '') END, count(*)
FROM contacts GROUP BY 1`)
	if err != nil {
		return err
	}
	calls := len(sim.Calls())
	sorted := slices.Clone(perSecond)
	slices.Sort(sorted)
	fmt.Fprintf(out, "\n%d Dispatchers (tick 20 ms) for %s, %d campaigns at pace %g/s and max_concurrent %d each; simulator at %gx, every line busy:\n",
		benchDispatchInstances, window.Round(time.Millisecond), len(defs), defs[0].Pace, defs[0].MaxConcurrent, 1000.0)
	fmt.Fprintf(out, "  %-30s %d\n", "attempts started", started)
	fmt.Fprintf(out, "  %-30s %.0f\n", "attempts started/s", float64(started)/window.Seconds())
	fmt.Fprintf(out, "  %-30s min %d, median %d, max %d\n", "per one-second window", sorted[0], sorted[len(sorted)/2], sorted[len(sorted)-1])
	fmt.Fprintf(out, "  %-30s %d\n", "calls the simulator created", calls)
	fmt.Fprintf(out, "  %-30s %d (%d not 2xx)\n", "webhooks served", served.Load(), failed.Load())
	fmt.Fprintf(out, "  %-30s %v\n", "attempts by state:outcome", byState)
	fmt.Fprintf(out, "  %-30s %v\n", "contacts", contactStates)
	errCount := errsDuring + failed.Load()
	fmt.Fprintf(out, "  %-30s %d logged warnings or errors during the run (%d more while stopping), %d webhook failures\n", "errors",
		errsDuring, logs.n.Load()-errsDuring, failed.Load())
	logs.mu.Lock()
	for _, m := range logs.first {
		fmt.Fprintf(out, "    %s\n", m)
	}
	logs.mu.Unlock()
	if idleErr != nil {
		fmt.Fprintf(out, "  warning: the simulator was still busy 60 s after the run: %v\n", idleErr)
	}
	verdict := "met"
	if float64(started)/window.Seconds() < 500 {
		verdict = "MISSED"
	}
	fmt.Fprintf(out, "target: at least 500 attempts started/s — %s; errors: %d\n", verdict, errCount)
	if started >= due {
		fmt.Fprintf(out, "warning: every due contact was dialled before the end; raise --contacts for a steady-state figure\n")
	}
	fmt.Fprintf(out, "machine: %d CPUs (GOMAXPROCS %d); Postgres, Redis, the simulator and Huifang share it\n",
		goruntime.NumCPU(), goruntime.GOMAXPROCS(0))
	return nil
}

func benchSum(ns []int) int {
	t := 0
	for _, n := range ns {
		t += n
	}
	return t
}

type benchStatusWriter struct {
	http.ResponseWriter
	status int
}

func (w *benchStatusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// benchGroupCount runs a query of (label, count) rows.
func benchGroupCount(ctx context.Context, pool *pgxpool.Pool, sql string) (map[string]int, error) {
	rows, err := pool.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			rows.Close()
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}
