package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/campaigns"
	"github.com/huifang/huifang/dialer/twilio"
	"github.com/huifang/huifang/dialer/twiliosim"
	"github.com/huifang/huifang/internal/testdb"
	"github.com/huifang/huifang/surveys"
	"github.com/huifang/huifang/workorders"
	"github.com/huifang/huifang/workorders/sample"
)

// cluster is several `huifang serve` processes on one Postgres and one
// Redis, behind a load balancer that Twilio's webhooks reach, dialling
// through a simulator that logs when each call request arrives.
type cluster struct {
	t       *testing.T
	bin     string
	env     []string
	pool    *pgxpool.Pool
	sim     *twiliosim.Simulator
	lb      *httptest.Server
	mu      sync.Mutex
	procs   []*instance
	arrived []time.Time // when each CreateCall reached the carrier
}

type instance struct {
	cmd  *exec.Cmd
	addr string
	dead bool
	logs *bytes.Buffer
}

// webhookURL round-robins over the live instances; a connection refused
// (an instance killed) is retried on the next, as a load balancer's health
// checks would. Webhooks are idempotent, so a retried one is applied once.
func (cl *cluster) serveLB(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	cl.mu.Lock()
	var addrs []string
	for _, p := range cl.procs {
		if !p.dead && p.addr != "" {
			addrs = append(addrs, p.addr)
		}
	}
	cl.mu.Unlock()
	if len(addrs) == 0 {
		http.Error(w, "no instance", http.StatusBadGateway)
		return
	}
	start := int(time.Now().UnixNano()) % len(addrs)
	for i := range addrs {
		addr := addrs[(start+i)%len(addrs)]
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, "http://"+addr+r.URL.RequestURI(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			continue
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
		resp.Body.Close()
		return
	}
	http.Error(w, "every instance refused", http.StatusBadGateway)
}

var listeningRe = regexp.MustCompile(`msg=listening addr=([0-9.:]+)`)

// start launches one more instance and waits until it listens.
func (cl *cluster) start() *instance {
	cl.t.Helper()
	cmd := exec.Command(cl.bin, "serve")
	cmd.Env = cl.env
	stderr, _ := cmd.StderrPipe()
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		cl.t.Fatal(err)
	}
	inst := &instance{cmd: cmd, logs: &bytes.Buffer{}}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			cl.mu.Lock()
			inst.logs.WriteString(line + "\n")
			cl.mu.Unlock()
			if m := listeningRe.FindStringSubmatch(line); m != nil {
				ready <- m[1]
			}
		}
	}()
	select {
	case addr := <-ready:
		cl.mu.Lock()
		inst.addr = addr
		cl.procs = append(cl.procs, inst)
		cl.mu.Unlock()
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		cl.t.Fatal("an instance did not start listening within 60 s")
	}
	cl.t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
		}
	})
	return inst
}

// kill ends an instance as a crash would: SIGKILL, no shutdown.
func (cl *cluster) kill(inst *instance) {
	cl.mu.Lock()
	inst.dead = true
	cl.mu.Unlock()
	inst.cmd.Process.Kill()
	inst.cmd.Wait()
}

// localNoonZone is a fixed-offset zone in which it is about noon now, so a
// test run at any hour finds its customers inside the 08:00–21:00 window.
func localNoonZone(now time.Time) string {
	off := 12 - now.UTC().Hour()
	switch {
	case off == 0:
		return "Etc/GMT"
	case off > 0:
		return fmt.Sprintf("Etc/GMT-%d", off) // POSIX sign: GMT-8 is UTC+8
	}
	return fmt.Sprintf("Etc/GMT+%d", -off)
}

const clusterContacts = 2000

func newCluster(t *testing.T, pace float64) (*cluster, *campaigns.Definition) {
	ctx := context.Background()
	dbURL := testdb.NewURL(t)
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	cl := &cluster{t: t, bin: huifangBin(t), pool: pool}

	now := time.Now().UTC()
	cfg := sample.Config{Seed: 5, Jobs: clusterContacts, Now: now.Truncate(time.Hour)}
	ws := &workorders.Store{Pool: pool}
	src, err := ws.EnsureSource(ctx, "cluster", "file", workorders.Defaults{Region: "CN"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sample.Load(ctx, ws, src, cfg); err != nil {
		t.Fatal(err)
	}
	// Every customer somewhere it is midday now, so the run does not
	// depend on the hour CI runs it.
	if _, err := pool.Exec(ctx, `UPDATE customers SET tz = $1, phone_tz = NULL`, localNoonZone(now)); err != nil {
		t.Fatal(err)
	}
	if _, err := publishShipped(ctx, surveys.NewStore(pool)); err != nil {
		t.Fatal(err)
	}
	jobs, err := sample.Jobs(cfg)
	if err != nil {
		t.Fatal(err)
	}

	cl.lb = httptest.NewServer(http.HandlerFunc(cl.serveLB))
	t.Cleanup(cl.lb.Close)
	sim, err := twiliosim.New(twiliosim.Options{
		Speed: 200, Personas: twiliosim.SamplePersonas(jobs),
		SMSURL: cl.lb.URL + twilio.PathSMSInbound,
	})
	if err != nil {
		t.Fatal(err)
	}
	cl.sim = sim
	simURL, _ := url.Parse(httptest.NewServer(sim).URL)
	proxy := httputil.NewSingleHostReverseProxy(simURL)
	carrier := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/Calls.json") {
			at := time.Now()
			cl.mu.Lock()
			cl.arrived = append(cl.arrived, at)
			cl.mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(carrier.Close)
	t.Cleanup(func() { sim.Close() })

	def := campaigns.DefaultDefinition()
	def.Name, def.Survey, def.Channel = "cluster", "satisfaction", campaigns.ChannelVoice
	def.Schedule = "@every 1h"
	def.Targeting.CompletedWithinDays = 20
	def.Trigger = campaigns.Trigger{After: 0, Within: campaigns.Duration(30 * 24 * time.Hour)}
	w, err := campaigns.ParseCallingWindow("test", []byte(`hours: {daily: ["08:00-21:00"]}`))
	if err != nil {
		t.Fatal(err)
	}
	def.Window = w
	def.From = []string{"+14155550100"}
	def.Pace, def.MaxConcurrent = pace, 500
	if err := def.Validate(); err != nil {
		t.Fatal(err)
	}
	st := &campaigns.Store{Pool: pool}
	if _, err := st.Create(ctx, def, "", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetState(ctx, def.Name, campaigns.StateActive, "test"); err != nil {
		t.Fatal(err)
	}

	redisURL := testdb.RedisURL()
	cl.env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"DATABASE_URL=" + dbURL, "REDIS_URL=" + redisURL,
		"HUIFANG_REDIS_PREFIX=" + fmt.Sprintf("cluster-%d:", time.Now().UnixNano()),
		"HTTP_ADDR=127.0.0.1:0", "HUIFANG_ADMIN_TOKEN=cluster-token", "HUIFANG_LOG_LEVEL=info",
		"TWILIO_ACCOUNT_SID=" + sim.AccountSID(), "TWILIO_AUTH_TOKEN=" + sim.AuthToken(),
		"PUBLIC_BASE_URL=" + cl.lb.URL, "TWILIO_API_URL=" + carrier.URL,
	}
	return cl, def
}

// settled waits until no contact is due or being dialled and the simulator
// is idle, i.e. every contact's first attempt has run its course.
func (cl *cluster) settled(timeout time.Duration) {
	cl.t.Helper()
	ctx := context.Background()
	began := time.Now()
	deadline := began.Add(timeout)
	for {
		// One statement, so one snapshot: read apart, the counts could
		// straddle the enrolment's commit (no contact due, then 2,000
		// contacts) and end the wait before any call.
		var open, unsettled, contacts int
		err := cl.pool.QueryRow(ctx, `
SELECT (SELECT count(*) FROM contacts WHERE state = 'dialing' OR (state = 'queued' AND next_at <= now())),
       (SELECT count(*) FROM attempts WHERE state <> 'ended'),
       (SELECT count(*) FROM contacts)`).Scan(&open, &unsettled, &contacts)
		if err != nil {
			cl.t.Fatal(err)
		}
		if contacts > 0 && open == 0 && unsettled == 0 {
			return
		}
		if time.Now().After(deadline) || contacts == 0 && time.Since(began) > time.Minute {
			cl.t.Fatalf("after %s: %d contacts due or dialling, %d attempts not ended, %d contacts\n%s",
				timeout, open, unsettled, contacts, cl.logTails())
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// logTails is the end of every instance's log, for a failure message.
func (cl *cluster) logTails() string {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	var logs strings.Builder
	for i, p := range cl.procs {
		fmt.Fprintf(&logs, "--- instance %d ---\n%s", i, tail(p.logs.String(), 3000))
	}
	return logs.String()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// check verifies the run: every contact attempted as the policy says, no
// call placed twice, no answer lost, and the pace held by all instances
// together. killed says an instance was killed during the run: the calls
// it had let go but not yet recorded have no requested_at.
func (cl *cluster) check(def *campaigns.Definition, pace float64, killed bool) {
	t := cl.t
	ctx := context.Background()
	// 1. Every contact was enrolled and attempted, and each is where the
	// policy puts it after that attempt.
	rows, err := cl.pool.Query(ctx, `
SELECT k.id, k.state, COALESCE(k.outcome, ''), k.next_at, k.channel, k.attempts, k.zones, k.lang, k.expires_at,
       a.outcome, a.created_at, a.channel,
       (SELECT count(*) FROM attempts x WHERE x.contact_id = k.id AND x.outcome IS DISTINCT FROM 'not_placed')
FROM contacts k JOIN attempts a ON a.id = k.last_attempt_id
ORDER BY k.id`)
	if err != nil {
		t.Fatal(err)
	}
	n, wrong := 0, 0
	for rows.Next() {
		var (
			c          campaigns.Contact
			state, out string
			r          campaigns.Result
			real       int
		)
		if err := rows.Scan(&c.ID, &state, &out, &c.NextAt, &c.Channel, &c.Attempts, &c.Zones, &c.Lang, &c.ExpiresAt,
			&r.Outcome, &r.At, &r.Channel, &real); err != nil {
			t.Fatal(err)
		}
		n++
		if real != 1 || c.Attempts != 1 {
			wrong++
			if wrong < 5 {
				t.Errorf("contact %d: %d attempts placed, counter %d; want exactly 1 in this run", c.ID, real, c.Attempts)
			}
			continue
		}
		c.Channel = "voice"
		c.VoiceAttempts = 1
		want := def.Next(c, r, []time.Time{r.At}, r.At)
		got := campaigns.Decision{Done: state == "done", Outcome: out}
		if !got.Done {
			got.NextAt, got.Channel = c.NextAt, c.Channel
		}
		if want.Done != got.Done || want.Outcome != got.Outcome || (!want.Done && !want.NextAt.Equal(got.NextAt)) {
			wrong++
			if wrong < 5 {
				t.Errorf("contact %d after %s: got %+v, the policy says %+v", c.ID, r.Outcome, got, want)
			}
		}
	}
	rows.Close()
	// One contact per number: a few sample jobs share a number (the
	// planted fake customers), and a number is surveyed once.
	var numbers int
	cl.pool.QueryRow(ctx, `SELECT count(DISTINCT c.phone_e164) FROM work_orders w JOIN customers c ON c.id = w.customer_id`).Scan(&numbers)
	if n != numbers || numbers < clusterContacts*9/10 {
		t.Errorf("%d contacts attempted; want one for each of the %d numbers of %d jobs", n, numbers, clusterContacts)
	}
	if wrong > 0 {
		t.Errorf("%d contacts not where the policy puts them", wrong)
	}

	// 2. No call placed twice: one call per attempt, one per number.
	calls := cl.sim.Calls()
	perNumber := map[string]int{}
	for _, c := range calls {
		perNumber[c.To]++
		if perNumber[c.To] == 2 {
			t.Errorf("number %s…%s was called twice", c.To[:4], c.To[len(c.To)-2:])
		}
	}
	var attempts int
	cl.pool.QueryRow(ctx, `SELECT count(*) FROM attempts WHERE carrier_sid IS NOT NULL`).Scan(&attempts)
	if attempts != len(calls) {
		t.Errorf("%d attempts with a call, %d calls at the carrier", attempts, len(calls))
	}

	// 3. No lost answer: every key the customers pressed reached the
	// survey store, in order, for every call.
	lost := 0
	for _, c := range calls {
		var pressed []string
		for _, s := range c.Steps {
			if s.Verb == "Gather" && (s.Digits != "" || s.Speech != "") {
				pressed = append(pressed, s.Digits+s.Speech)
			}
		}
		r, err := cl.pool.Query(ctx, `
SELECT x.raw FROM survey_answers x JOIN survey_sessions s ON s.id = x.session_id JOIN attempts a ON a.id = s.attempt_id
WHERE a.carrier_sid = $1 AND x.raw <> '' AND x.input_kind <> 'recording' ORDER BY x.seq`, c.Sid)
		if err != nil {
			t.Fatal(err)
		}
		var stored []string
		for r.Next() {
			var raw string
			r.Scan(&raw)
			stored = append(stored, raw)
		}
		r.Close()
		if !slices.Equal(pressed, stored) {
			lost++
			if lost < 5 {
				t.Errorf("call %s: the customer pressed %v, stored %v", c.Sid, pressed, stored)
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d calls with answers lost or changed", lost)
	}

	// The calls as they reached the carrier.
	cl.mu.Lock()
	at := slices.Clone(cl.arrived)
	cl.mu.Unlock()
	if len(at) < 2 {
		var states []string
		r, err := cl.pool.Query(ctx, `
SELECT state || ':' || COALESCE(outcome, '') || CASE WHEN next_at > now() THEN ' later' ELSE '' END || ' ' || count(*)
FROM contacts GROUP BY state, outcome, next_at > now() ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		for r.Next() {
			var x string
			if err := r.Scan(&x); err != nil {
				t.Fatal(err)
			}
			states = append(states, x)
		}
		r.Close()
		t.Fatalf("%d calls reached the carrier; contacts: %v\n%s", len(at), states, cl.logTails())
	}
	sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
	busiestIn := func(w time.Duration) int {
		most, j := 0, 0
		for i := range at {
			for at[i].Sub(at[j]) >= w {
				j++
			}
			most = max(most, i-j+1)
		}
		return most
	}
	// 4. The pace. Every call's requested_at is the moment the shared
	// limiter let it go, by Redis TIME: one clock for all three instances,
	// to the microsecond. In no one-second window of those moments may
	// there be more calls than the pace.
	byLimiter, unstamped := testdb.BusiestSecond(t, cl.pool)
	if byLimiter > int(pace) {
		t.Errorf("%d calls let go within one second, all instances together; the pace is %v/s", byLimiter, pace)
	}
	if unstamped > 0 && !killed || unstamped > int(pace) {
		t.Errorf("%d calls reached the carrier without a requested_at", unstamped)
	}
	// At the carrier's door the same calls arrive after each instance's
	// HTTP request and this process's reading of the clock, both subject
	// to scheduling on a shared 2-core machine; those figures are logged.
	busiest := busiestIn(time.Second)
	span := at[len(at)-1].Sub(at[0])
	// The tightest span holding one call more than the pace: how much
	// room the pace left at the carrier (it is over a second when none).
	tightest := span
	for i := int(pace); i < len(at); i++ {
		tightest = min(tightest, at[i].Sub(at[i-int(pace)]))
	}
	t.Logf("busiest second as let go: %d calls (%d without requested_at); at the carrier: %d calls in %s (%.2f/s), busiest second %d, tightest span of %d calls %s",
		byLimiter, unstamped, len(at), span.Round(time.Millisecond), float64(len(at)-1)/span.Seconds(),
		busiest, int(pace)+1, tightest.Round(100*time.Microsecond))
	// The pacing error over a steady minute (after the first 10 s).
	if span > 75*time.Second {
		from := at[0].Add(10 * time.Second)
		in := 0
		for _, a := range at {
			if !a.Before(from) && a.Before(from.Add(60*time.Second)) {
				in++
			}
		}
		t.Logf("steady minute: %d calls, %.2f/s, pacing error %+.2f%%", in, float64(in)/60, (float64(in)/60/pace-1)*100)
	}
}

// Three instances share one campaign of 2,000 contacts at 20 calls a second.
func TestClusterPacesOneCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about two minutes")
	}
	// Not parallel: the pace at the carrier is measured and logged, and a
	// saturated machine delays requests unevenly.
	const pace = 20
	cl, def := newCluster(t, pace)
	for range 3 {
		cl.start()
	}
	cl.settled(6 * time.Minute)
	cl.check(def, pace, false)
}

// The same with one instance killed mid-run (SIGKILL) and restarted: its
// contacts and calls are picked up by the others and by itself when back.
func TestClusterSurvivesAKilledInstance(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about three minutes")
	}
	const pace = 20
	cl, def := newCluster(t, pace)
	var insts []*instance
	for range 3 {
		insts = append(insts, cl.start())
	}
	// Kill one once a few hundred calls are under way.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var n int
		cl.pool.QueryRow(context.Background(), `SELECT count(*) FROM attempts`).Scan(&n)
		if n >= 500 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	cl.kill(insts[1])
	time.Sleep(3 * time.Second)
	cl.start()
	cl.settled(8 * time.Minute)
	// No duplicate call, no lost answer, nothing stuck, and the pace held
	// across the kill and the restart.
	cl.check(def, pace, true)
}
