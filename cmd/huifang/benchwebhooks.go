package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	goruntime "runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/dialer"
	"github.com/huifang/huifang/dialer/twilio"
	"github.com/huifang/huifang/dialer/twiliosim"
	"github.com/huifang/huifang/internal/redact"
	"github.com/huifang/huifang/migrations"
	"github.com/huifang/huifang/surveys"
	"github.com/huifang/huifang/workorders"
	"github.com/huifang/huifang/workorders/sample"
)

// webhookBench is what `huifang bench webhooks` runs with.
type webhookBench struct {
	sessions    int
	concurrency int
	duration    time.Duration // the measured window, when requests is zero
	requests    int           // measured gather actions; zero: run for duration
	warmup      time.Duration
	poolSize    int32
	adminURL    string
	keep        bool
	cpuProfile  string
}

func benchWebhooksCmd(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "bench webhooks", "bench webhooks [flags]")
	var o webhookBench
	fs.IntVar(&o.sessions, "sessions", 20_000, "call sessions to open before the run; each carries one survey call")
	fs.IntVar(&o.concurrency, "concurrency", 16, "concurrent clients, each a call in progress at Twilio")
	seconds := fs.Int("seconds", 20, "length of the measured window")
	fs.IntVar(&o.requests, "requests", 0, "measure this many gather actions instead of --seconds")
	warmup := fs.Int("warmup", 3, "seconds of load before measuring starts")
	pool := fs.Int("pool", 4*goruntime.NumCPU(), "Postgres connections of the server's pool (default 4 per CPU: backends also wait on WAL flushes and the network)")
	fs.StringVar(&o.adminURL, "admin-url", c.envOr("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"a Postgres where the benchmark may create a database (env BENCH_DATABASE_URL)")
	fs.BoolVar(&o.keep, "keep", false, "keep the benchmark database")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the measured window to this file (go tool pprof)")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if o.sessions < 1 || o.concurrency < 1 || *seconds < 1 || o.requests < 0 || *warmup < 0 || *pool < 1 {
		return errors.New("bench webhooks: --sessions, --concurrency, --seconds and --pool must be positive, --requests and --warmup not negative")
	}
	o.duration = time.Duration(*seconds) * time.Second
	o.warmup = time.Duration(*warmup) * time.Second
	o.poolSize = int32(*pool)
	return benchWebhooks(ctx, c, o)
}

// benchOurNumber is the number the benchmark's calls come from.
const benchOurNumber = "+14155550100"

// benchWebhooks measures the webhook Twilio posts each time a customer
// answers a <Gather>: the signature is checked, the session read, the
// answer stored and the next step rendered as TwiML. Everything is real but
// the phone network: a fresh migrated database with sample jobs and the
// shipped surveys, call sessions opened by dialer.Conversations as the
// dialer opens them, the webhook handler behind net/http on a loopback
// port, and clients that behave like Twilio running the calls — keep-alive
// connections, the parameters and X-Twilio-Signature Twilio sends, the
// action URL of each <Gather> followed, the keys the sample customer would
// press (twiliosim.SamplePersona, from the job's ground truth). Only the
// gather actions are measured; each call's first fetch is sent but not
// counted.
func benchWebhooks(ctx context.Context, c *cli, o webhookBench) error {
	out := c.stdout
	errLog := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelError}))

	// 1. A fresh database.
	b := make([]byte, 4)
	rand.Read(b)
	dbName := "huifang_bench_webhooks_" + hex.EncodeToString(b)
	adm, err := pgx.Connect(ctx, o.adminURL)
	if err != nil {
		return fmt.Errorf("bench: connect to %s: %s", hostOf(o.adminURL), redact.Password(err.Error(), o.adminURL))
	}
	defer adm.Close(context.Background())
	var pgVersion string
	if err := adm.QueryRow(ctx, `SHOW server_version`).Scan(&pgVersion); err != nil {
		return err
	}
	if _, err := adm.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{dbName}.Sanitize()); err != nil {
		return err
	}
	if !o.keep {
		defer adm.Exec(context.Background(), "DROP DATABASE "+pgx.Identifier{dbName}.Sanitize()+" WITH (FORCE)") //nolint:errcheck
	}
	u, _ := url.Parse(o.adminURL)
	u.Path = "/" + dbName
	pcfg, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		return err
	}
	pcfg.MaxConns, pcfg.MinConns = o.poolSize, o.poolSize
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := migrations.Up(ctx, pool, nil); err != nil {
		return err
	}

	// 2. Sample jobs and the shipped surveys. Only customers who pick up
	// take part: those a person answers (honest ones, and those who press
	// wrong keys, opt out or hang up part-way, in the sample's proportions).
	start := time.Now()
	scfg := sample.Config{Seed: 42, Jobs: o.sessions*5/4 + 100, Now: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	ws := &workorders.Store{Pool: pool}
	src, err := ws.EnsureSource(ctx, "bench", "file", workorders.Defaults{Region: "CN"})
	if err != nil {
		return err
	}
	if _, err := sample.Load(ctx, ws, src, scfg); err != nil {
		return err
	}
	jobs, err := sample.Jobs(scfg)
	if err != nil {
		return err
	}
	ids, err := benchWorkOrderIDs(ctx, pool)
	if err != nil {
		return err
	}
	versions := map[string]int64{}
	defs, err := surveys.Shipped()
	if err != nil {
		return err
	}
	store := surveys.NewStore(pool)
	for name, d := range defs {
		p, err := store.Publish(ctx, d)
		if err != nil {
			return err
		}
		versions[name] = p.ID
	}
	var picked []sample.Job
	for _, j := range jobs {
		switch j.Truth.Reach {
		case sample.ReachNeverAnswers, sample.ReachBusy, sample.ReachVoicemail:
			continue
		}
		if len(picked) < o.sessions {
			picked = append(picked, j)
		}
	}
	if len(picked) < o.sessions {
		return fmt.Errorf("bench webhooks: only %d of %d sample jobs reach a person, want %d", len(picked), len(jobs), o.sessions)
	}
	fmt.Fprintf(out, "loaded %d sample jobs into %s in %s\n", len(jobs), dbName, time.Since(start).Round(time.Millisecond))

	// 3. The server: the real webhook handler on a loopback listener. The
	// carrier is the real Twilio carrier pointed at an in-process simulator;
	// a human answers every call here, so it is never contacted.
	sim, err := twiliosim.Start(twiliosim.Options{})
	if err != nil {
		return err
	}
	defer sim.Close()
	hc, err := twiliosim.NewHTTPClient(sim.URL())
	if err != nil {
		return err
	}
	carrier := twilio.New(twilio.Config{AccountSID: sim.AccountSID(), AuthToken: sim.AuthToken(), HTTP: hc})
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
	conv := &dialer.Conversations{Pool: pool, Carrier: carrier, Surveys: store, Log: errLog}
	hooks := &twilio.Webhooks{Conv: conv, Verifier: verifier, Carrier: carrier, Log: errLog, BaseURL: base}
	conv.Hooks = hooks
	hs := &http.Server{
		Handler:           hooks.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(errLog.Handler(), slog.LevelError),
	}
	go hs.Serve(ln) //nolint:errcheck // ErrServerClosed after Shutdown
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}()

	// 4. The call sessions, opened as the dialer opens them before asking
	// the carrier; each client's first fetch adopts its attempt.
	start = time.Now()
	calls, err := benchOpenCalls(ctx, conv, picked, ids, versions, int(o.poolSize))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "opened %d call sessions in %s\n", len(calls), time.Since(start).Round(time.Millisecond))

	// 5. The run.
	personas := twiliosim.SamplePersonas(picked)
	tw := &benchTwilio{
		accountSID: sim.AccountSID(), authToken: sim.AuthToken(), from: benchOurNumber,
		answerURL: func(id int64) string { return hooks.CallURLs(id).Answer },
		client: &http.Client{Transport: &http.Transport{
			MaxIdleConns: o.concurrency, MaxIdleConnsPerHost: o.concurrency, MaxConnsPerHost: o.concurrency,
			IdleConnTimeout: time.Minute, DisableCompression: true,
		}},
	}
	next := make(chan benchCall, len(calls))
	for _, bc := range calls {
		bc.persona = personas[bc.to]
		next <- bc
	}
	close(next)
	var answersBefore int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM survey_answers`).Scan(&answersBefore); err != nil {
		return err
	}
	run := &benchRun{warmupEnd: time.Now().Add(o.warmup), limit: int64(o.requests)}
	run.measureEnd = run.warmupEnd.Add(o.duration)
	if o.requests > 0 {
		run.measureEnd = time.Now().Add(24 * time.Hour)
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		prof := time.AfterFunc(o.warmup, func() { pprof.StartCPUProfile(f) }) //nolint:errcheck
		defer func() { prof.Stop(); pprof.StopCPUProfile() }()
	}
	fmt.Fprintf(out, "running: %d clients, pool of %d connections, %s warm-up, GOMAXPROCS %d\n",
		o.concurrency, o.poolSize, o.warmup, goruntime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	stats := make([]benchClientStats, o.concurrency)
	for i := range o.concurrency {
		wg.Go(func() { tw.drive(ctx, run, next, &stats[i]) })
	}
	wg.Wait()
	if o.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	// 6. The figures.
	var (
		lat                  []time.Duration
		errs                 = map[string]int{}
		starts, ended, taken int
		startErrs            int
		firstErr             string
		last                 time.Time
	)
	for _, s := range stats {
		lat = append(lat, s.latencies...)
		for k, n := range s.errors {
			errs[k] += n
		}
		starts += s.starts
		startErrs += s.startErrs
		ended += s.ended
		if firstErr == "" {
			firstErr = s.firstErr
		}
		if s.lastDone.After(last) {
			last = s.lastDone
		}
	}
	taken = len(calls) - len(next)
	nErr := 0
	for _, n := range errs {
		nErr += n
	}
	total := len(lat) + nErr
	if total == 0 {
		return errors.New("bench webhooks: no gather action in the measured window (raise --sessions or --seconds)")
	}
	window := last.Sub(run.warmupEnd)
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	var answersAfter int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM survey_answers`).Scan(&answersAfter); err != nil {
		return err
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }
	fmt.Fprintf(out, "\ngather actions (store the answer, render the next TwiML), measured over %s:\n", window.Round(time.Millisecond))
	fmt.Fprintf(out, "%-12s %10s\n", "requests", fmt.Sprint(total))
	fmt.Fprintf(out, "%-12s %10.0f\n", "requests/s", float64(total)/window.Seconds())
	fmt.Fprintf(out, "%-12s %10s\n", "p50", ms(pct(0.50)))
	fmt.Fprintf(out, "%-12s %10s\n", "p95", ms(pct(0.95)))
	fmt.Fprintf(out, "%-12s %10s\n", "p99", ms(pct(0.99)))
	fmt.Fprintf(out, "%-12s %10s\n", "max", ms(pct(1)))
	fmt.Fprintf(out, "%-12s %10d\n", "errors", nErr)
	for k, n := range errs {
		fmt.Fprintf(out, "  %s: %d\n", k, n)
	}
	if firstErr != "" {
		fmt.Fprintf(out, "  first: %s\n", firstErr)
	}
	fmt.Fprintf(out, "\n%d calls taken (%d finished their survey or hung up), %d first fetches (not measured, %d failed); %d answer rows stored during the run\n",
		taken, ended, starts, startErrs, answersAfter-answersBefore)
	fmt.Fprintf(out, "client and server share this machine: %d CPUs (GOMAXPROCS %d), Postgres %s on the same host\n",
		goruntime.NumCPU(), goruntime.GOMAXPROCS(0), pgVersion)
	if o.requests == 0 && len(next) == 0 && last.Before(run.measureEnd) {
		fmt.Fprintf(out, "warning: the %d sessions ran out %s before the window's end; raise --sessions\n",
			len(calls), run.measureEnd.Sub(last).Round(time.Millisecond))
	}
	if o.keep {
		fmt.Fprintf(out, "kept: database %s\n", dbName)
	}
	return nil
}

func benchWorkOrderIDs(ctx context.Context, pool *pgxpool.Pool) (map[string]int64, error) {
	rows, err := pool.Query(ctx, `SELECT external_id, id FROM work_orders`)
	if err != nil {
		return nil, err
	}
	ids := map[string]int64{}
	var ext string
	var id int64
	_, err = pgx.ForEachRow(rows, []any{&ext, &id}, func() error {
		ids[ext] = id
		return nil
	})
	return ids, err
}

// benchCall is one call to run: its attempt and the customer at the other end.
type benchCall struct {
	attemptID int64
	to        string
	persona   twiliosim.Persona
}

// benchOpenCalls opens a call session per job with workers connections' worth
// of concurrency.
func benchOpenCalls(ctx context.Context, conv *dialer.Conversations, jobs []sample.Job, ids map[string]int64,
	versions map[string]int64, workers int) ([]benchCall, error) {
	calls := make([]benchCall, len(jobs))
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		errc = make(chan error, workers)
	)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) || ctx.Err() != nil {
					return
				}
				j := jobs[i]
				survey := "repair-parts-verification"
				if j.Order.Kind == workorders.Install {
					survey = "install-verification"
				}
				a, err := conv.Open(ctx, dialer.Target{
					WorkOrderID: ids[j.Order.ExternalID], SurveyVersionID: versions[survey],
					Channel: surveys.Voice, From: benchOurNumber,
				})
				if err != nil {
					errc <- fmt.Errorf("bench webhooks: open a session for %s: %w", j.Order.ExternalID, err)
					return
				}
				calls[i] = benchCall{attemptID: a.ID, to: j.Order.Customer.Phone}
			}
		})
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return nil, err
	}
	return calls, nil
}

// benchRun is the measured window, shared by the clients.
type benchRun struct {
	warmupEnd, measureEnd time.Time
	limit                 int64 // measured requests, when not zero
	measured              atomic.Int64
}

// benchClientStats is what one client saw.
type benchClientStats struct {
	latencies     []time.Duration // of measured gather actions answered 200
	errors        map[string]int  // measured gather actions that failed, by status
	firstErr      string
	starts, ended int
	startErrs     int       // first fetches that failed (not measured)
	lastDone      time.Time // when its last measured request finished
}

func (s *benchClientStats) fail(kind, detail string) {
	if s.errors == nil {
		s.errors = map[string]int{}
	}
	s.errors[kind]++
	if s.firstErr == "" {
		s.firstErr = kind + ": " + detail
	}
}

// benchTwilio plays Twilio's side of the calls: it posts what Twilio posts,
// signed as Twilio signs it, and runs the TwiML it gets back.
type benchTwilio struct {
	accountSID, authToken, from string
	answerURL                   func(attemptID int64) string
	client                      *http.Client
}

// drive runs calls one after the other until the window closes or the calls
// run out.
func (tw *benchTwilio) drive(ctx context.Context, run *benchRun, calls <-chan benchCall, st *benchClientStats) {
	for bc := range calls {
		if !tw.call(ctx, run, bc, st) {
			return
		}
	}
}

// call runs one call from its first fetch to its end; false means the
// window closed.
func (tw *benchTwilio) call(ctx context.Context, run *benchRun, bc benchCall, st *benchClientStats) bool {
	b := make([]byte, 16)
	rand.Read(b)
	info := twiliosim.CallInfo{CallSid: "CA" + hex.EncodeToString(b), From: tw.from, To: bc.to}
	// What Twilio posts with every request about a call.
	params := url.Values{
		"AccountSid": {tw.accountSID}, "ApiVersion": {"2010-04-01"}, "CallSid": {info.CallSid},
		"CallStatus": {"in-progress"}, "Called": {bc.to}, "Caller": {tw.from}, "Direction": {"outbound-api"},
		"From": {tw.from}, "To": {bc.to},
	}
	if time.Now().After(run.measureEnd) {
		return false
	}
	doc, err := tw.post(ctx, tw.answerURL(bc.attemptID), params)
	st.starts++
	if err != nil {
		st.startErrs++
		if st.firstErr == "" {
			st.firstErr = "first fetch: " + err.Error()
		}
		return ctx.Err() == nil
	}
	for n := 1; ; n++ {
		g, err := benchParseGather(doc)
		if err != nil {
			st.startErrs++
			if st.firstErr == "" {
				st.firstErr = "TwiML: " + err.Error()
			}
			return true
		}
		if g == nil { // the survey ended: <Say> and <Hangup>
			st.ended++
			return true
		}
		p := twiliosim.Prompt{
			Call: info, Kind: twiliosim.GatherPrompt, Number: n, Text: strings.TrimSpace(g.Say.Text),
			Language: g.Say.Language, Input: strings.Fields(g.Input), NumDigits: g.NumDigits,
			FinishOnKey: g.FinishOnKey, Timeout: time.Duration(g.Timeout) * time.Second,
		}
		if p.FinishOnKey == "" {
			p.FinishOnKey = "#" // Twilio's default
		}
		if len(p.Input) == 0 {
			p.Input = []string{"dtmf"}
		}
		resp := bc.persona.Respond(p)
		if resp.HangUp {
			st.ended++
			return true
		}
		form := maps.Clone(params)
		form.Set("msg", "Gather End")
		keys, said := benchKeys(resp.Digits), strings.TrimSpace(resp.Speech)
		switch {
		case keys != "" && slices.Contains(p.Input, "dtmf"):
			digits, finished := benchCollectDigits(keys, p.NumDigits, p.FinishOnKey)
			form.Set("Digits", digits)
			if digits != "" {
				form.Set("FinishedOnKey", finished)
			}
		case said != "" && slices.Contains(p.Input, "speech"):
			form.Set("SpeechResult", said)
			form.Set("Confidence", "0.92")
		default: // silence: actionOnEmptyResult posts an empty Digits
			form.Set("Digits", "")
		}
		t0 := time.Now()
		if !t0.Before(run.measureEnd) {
			return false
		}
		measured := !t0.Before(run.warmupEnd)
		if measured && run.limit > 0 && run.measured.Add(1) > run.limit {
			return false
		}
		doc, err = tw.post(ctx, g.Action, form)
		done := time.Now()
		if measured {
			st.lastDone = done
			if err == nil {
				st.latencies = append(st.latencies, done.Sub(t0))
			}
		}
		if err != nil {
			var se *benchStatusError
			switch {
			case !measured:
			case errors.As(err, &se):
				st.fail(fmt.Sprintf("HTTP %d", se.code), err.Error())
			default:
				st.fail("transport", err.Error())
			}
			return ctx.Err() == nil // a call whose webhook failed is dropped, as Twilio drops it
		}
	}
}

// benchStatusError is an answer other than 200.
type benchStatusError struct {
	code int
	body string
}

func (e *benchStatusError) Error() string {
	return fmt.Sprintf("%d %s", e.code, strings.TrimSpace(e.body))
}

// post sends a signed webhook and returns the answer's body.
func (tw *benchTwilio) post(ctx context.Context, u string, form url.Values) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("X-Twilio-Signature", twiliosim.Signature(tw.authToken, u, form))
	resp, err := tw.client.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &benchStatusError{resp.StatusCode, string(body)}
	}
	return body, nil
}

// benchGather is the <Gather> of a TwiML answer.
type benchGather struct {
	Action      string `xml:"action,attr"`
	Input       string `xml:"input,attr"`
	NumDigits   int    `xml:"numDigits,attr"`
	FinishOnKey string `xml:"finishOnKey,attr"`
	Timeout     int    `xml:"timeout,attr"`
	Say         struct {
		Language string `xml:"language,attr"`
		Text     string `xml:",chardata"`
	} `xml:"Say"`
}

// benchParseGather returns the document's <Gather>, or nil when it has none
// (the call ends).
func benchParseGather(doc []byte) (*benchGather, error) {
	var r struct {
		XMLName xml.Name     `xml:"Response"`
		Gather  *benchGather `xml:"Gather"`
		Record  *struct{}    `xml:"Record"`
	}
	if err := xml.NewDecoder(bytes.NewReader(doc)).Decode(&r); err != nil {
		return nil, err
	}
	if r.Record != nil {
		return nil, errors.New("a <Record>: the verification surveys only gather keys")
	}
	if r.Gather != nil && r.Gather.Action == "" {
		return nil, errors.New("a <Gather> without an action")
	}
	return r.Gather, nil
}

// benchKeys keeps the characters a keypad has.
func benchKeys(s string) string {
	return strings.Map(func(r rune) rune {
		if (r >= '0' && r <= '9') || r == '*' || r == '#' {
			return r
		}
		return -1
	}, s)
}

// benchCollectDigits is what Twilio reports for keys pressed into a
// <Gather>: the digits up to numDigits or the finishing key, and that key.
func benchCollectDigits(keys string, numDigits int, finishOnKey string) (digits, finished string) {
	var b strings.Builder
	for _, k := range keys {
		if strings.ContainsRune(finishOnKey, k) {
			return b.String(), string(k)
		}
		b.WriteRune(k)
		if numDigits > 0 && b.Len() == numDigits {
			break
		}
	}
	return b.String(), ""
}
