package twilio_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/dialer"
	"github.com/huifang/huifang/dialer/twilio"
	"github.com/huifang/huifang/dialer/twiliosim"
	"github.com/huifang/huifang/internal/testdb"
	"github.com/huifang/huifang/surveys"
	"github.com/huifang/huifang/workorders"
	"github.com/huifang/huifang/workorders/sample"
)

// ourNumber is the number Huifang calls and texts from in the tests.
const ourNumber = "+14155550100"

// rig is Huifang's telephony end to end on real parts: a migrated Postgres
// database, the webhook handlers behind a real HTTP server, the carrier on
// the unmodified twilio-go client, and the simulator playing customers.
type rig struct {
	t        testing.TB // a test, or a benchmark (bench_test.go)
	pool     *pgxpool.Pool
	sim      *twiliosim.Simulator
	conv     *dialer.Conversations
	hooks    *twilio.Webhooks
	server   *httptest.Server
	versions map[string]int64 // shipped survey name → survey_versions.id
	jobs     map[string]sample.Job
	ids      map[string]int64 // external id → work_orders.id
	now      atomic.Pointer[time.Time]

	mu       sync.Mutex
	creates  []restCreate // every create request the carrier sent the simulator
	received []webhook    // every webhook Huifang received, in arrival order
}

// restCreate is one create request (a call or a message) the carrier sent
// to Twilio's REST API, whatever Twilio answered: a send that was refused
// was still attempted.
type restCreate struct {
	Kind string // "call" or "message"
	To   string
	Body string
}

// webhook is one request Twilio made to Huifang.
type webhook struct {
	Path string
	Form url.Values
}

type rigOptions struct {
	sim      twiliosim.Options
	jobs     []sample.Job // loaded with their personas; nil: none
	clockNow time.Time    // zero: the wall clock
}

func newRig(t testing.TB, o rigOptions) *rig {
	t.Helper()
	ctx := context.Background()
	r := &rig{t: t, pool: testdb.New(t), jobs: map[string]sample.Job{}, ids: map[string]int64{}}
	var handler atomic.Pointer[http.Handler]
	r.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.recordWebhook(req)
		(*handler.Load()).ServeHTTP(w, req)
	}))
	t.Cleanup(r.server.Close)

	opts := o.sim
	if opts.Speed == 0 && opts.Clock == nil {
		opts.Speed = 2000
	}
	opts.SMSURL = r.server.URL + twilio.PathSMSInbound
	if opts.Personas == nil && len(o.jobs) > 0 {
		opts.Personas = twiliosim.SamplePersonas(o.jobs)
	}
	sim, err := twiliosim.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	r.sim = sim
	hc, err := twiliosim.NewHTTPClient(sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	hc.Transport = &recordingTransport{r: r, next: hc.Transport}
	carrier := twilio.New(twilio.Config{AccountSID: sim.AccountSID(), AuthToken: sim.AuthToken(), HTTP: hc})
	verifier, err := twilio.NewVerifier(sim.AuthToken(), r.server.URL)
	if err != nil {
		t.Fatal(err)
	}
	r.conv = &dialer.Conversations{Pool: r.pool, Carrier: carrier, Surveys: surveys.NewStore(r.pool)}
	if !o.clockNow.IsZero() {
		r.setNow(o.clockNow)
		r.conv.Now = func() time.Time { return *r.now.Load() }
	}
	r.hooks = &twilio.Webhooks{Conv: r.conv, Verifier: verifier, Carrier: carrier, BaseURL: r.server.URL}
	r.conv.Hooks = r.hooks
	h := r.hooks.Handler()
	handler.Store(&h)

	r.versions = map[string]int64{}
	defs, err := surveys.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	st := surveys.NewStore(r.pool)
	for name, d := range defs {
		p, err := st.Publish(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		r.versions[name] = p.ID
	}
	if len(o.jobs) > 0 {
		r.load(o.jobs)
	}
	return r
}

func (r *rig) setNow(t time.Time) { r.now.Store(&t) }

// use lends the rig to a subtest that runs while its test waits, so that
// the helpers report to the subtest; the returned func gives it back.
//
//	t.Run(name, func(t *testing.T) { defer r.use(t)(); … })
func (r *rig) use(t *testing.T) (restore func()) {
	parent := r.t
	r.t = t
	return func() { r.t = parent }
}

// load imports jobs through the ordinary intake path.
func (r *rig) load(jobs []sample.Job) {
	r.t.Helper()
	ctx := context.Background()
	ws := &workorders.Store{Pool: r.pool}
	src, err := ws.EnsureSource(ctx, "test", "file", workorders.Defaults{Region: "CN"})
	if err != nil {
		r.t.Fatal(err)
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.Write(workorders.FieldNames())
	var rec []string
	for _, j := range jobs {
		rec = workorders.CSVRecord(&j.Order, rec)
		cw.Write(rec)
		r.jobs[j.Order.ExternalID] = j
	}
	cw.Flush()
	rd, err := workorders.NewCSVReader("jobs.csv", &buf, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := ws.Import(ctx, src, rd, workorders.ImportOptions{Actor: "test"}); err != nil {
		r.t.Fatal(err)
	}
	rows, err := r.pool.Query(ctx, `SELECT external_id, id FROM work_orders`)
	if err != nil {
		r.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var ext string
		var id int64
		if err := rows.Scan(&ext, &id); err != nil {
			r.t.Fatal(err)
		}
		r.ids[ext] = id
	}
}

// surveyFor is the shipped verification survey for a job's kind.
func (r *rig) surveyFor(j sample.Job) int64 {
	if j.Order.Kind == workorders.Install {
		return r.versions["install-verification"]
	}
	return r.versions["repair-parts-verification"]
}

func (r *rig) target(j sample.Job) dialer.Target {
	return dialer.Target{WorkOrderID: r.ids[j.Order.ExternalID], SurveyVersionID: r.surveyFor(j), From: ourNumber}
}

// answer is one stored survey_answers row.
type answer struct {
	Question, Part, Event, Fact, Raw, Prompt, InputKind string
	Value                                               *surveys.Value
}

func (r *rig) answers(attemptID int64) []answer {
	r.t.Helper()
	rows, err := r.pool.Query(context.Background(), `
SELECT a.question, a.part, a.event, a.fact, a.raw, a.prompt, a.input_kind, a.value
FROM survey_answers a JOIN survey_sessions s ON s.id = a.session_id
WHERE s.attempt_id = $1 ORDER BY a.seq`, attemptID)
	if err != nil {
		r.t.Fatal(err)
	}
	defer rows.Close()
	var out []answer
	for rows.Next() {
		var a answer
		var v []byte
		if err := rows.Scan(&a.Question, &a.Part, &a.Event, &a.Fact, &a.Raw, &a.Prompt, &a.InputKind, &v); err != nil {
			r.t.Fatal(err)
		}
		if v != nil {
			a.Value = new(surveys.Value)
			if err := json.Unmarshal(v, a.Value); err != nil {
				r.t.Fatal(err)
			}
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		r.t.Fatal(err)
	}
	return out
}

// attemptRow is the attempts row as the dialer will read it.
type attemptRow struct {
	State, Outcome, CarrierStatus, AnsweredBy, CarrierSID string
	VoicemailLeft                                         bool
}

func (r *rig) attempt(id int64) attemptRow {
	r.t.Helper()
	var a attemptRow
	err := r.pool.QueryRow(context.Background(), `
SELECT state, COALESCE(outcome, ''), carrier_status, answered_by, COALESCE(carrier_sid, ''), voicemail_left
FROM attempts WHERE id = $1`, id).Scan(&a.State, &a.Outcome, &a.CarrierStatus, &a.AnsweredBy, &a.CarrierSID, &a.VoicemailLeft)
	if err != nil {
		r.t.Fatal(err)
	}
	return a
}

// waitAttempt waits until the attempt has ended (its final callback
// arrived) and the simulator has nothing left to do.
func (r *rig) waitAttempt(id int64) attemptRow {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.sim.Idle(ctx); err != nil {
		r.t.Fatalf("simulator not idle: %v", err)
	}
	a := r.attempt(id)
	if a.State != "ended" {
		r.t.Fatalf("attempt %d is %s after the simulator went idle, want ended", id, a.State)
	}
	return a
}

// facts returns the facts a session recorded, as the engine reads them.
func (r *rig) facts(attemptID int64) surveys.Facts {
	r.t.Helper()
	var versionID int64
	var jobJSON, entries []byte
	var lang, channel string
	err := r.pool.QueryRow(context.Background(), `
SELECT survey_version_id, job, entries, lang, channel FROM survey_sessions WHERE attempt_id = $1`, attemptID).
		Scan(&versionID, &jobJSON, &entries, &lang, &channel)
	if err != nil {
		r.t.Fatal(err)
	}
	def, err := surveys.NewStore(r.pool).ByID(context.Background(), versionID)
	if err != nil {
		r.t.Fatal(err)
	}
	st := surveys.State{Survey: def.Name, Version: def.Version, Lang: lang, Channel: surveys.Channel(channel)}
	if err := json.Unmarshal(entries, &st.Entries); err != nil {
		r.t.Fatal(err)
	}
	return def.Facts(&st)
}

// recordWebhook notes a webhook's path and form before the handler reads
// it; the body is put back untouched for the signature check.
func (r *rig) recordWebhook(req *http.Request) {
	b, err := io.ReadAll(req.Body)
	req.Body.Close()
	req.Body = io.NopCloser(bytes.NewReader(b))
	form, perr := url.ParseQuery(string(b))
	if err != nil || perr != nil {
		form = url.Values{}
	}
	r.mu.Lock()
	r.received = append(r.received, webhook{Path: req.URL.Path, Form: form})
	r.mu.Unlock()
}

// webhooks returns the webhooks received on path, oldest first.
func (r *rig) webhooks(path string) []webhook {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []webhook
	for _, h := range r.received {
		if h.Path == path {
			out = append(out, h)
		}
	}
	return out
}

// recordingTransport notes every create request on its way to the
// simulator, so a test can tell "never attempted" from "refused".
type recordingTransport struct {
	r    *rig
	next http.RoundTripper
}

func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	kind := ""
	switch {
	case req.Method != http.MethodPost:
	case strings.HasSuffix(req.URL.Path, "/Calls.json"):
		kind = "call"
	case strings.HasSuffix(req.URL.Path, "/Messages.json"):
		kind = "message"
	}
	if kind != "" && req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
		form, _ := url.ParseQuery(string(b))
		t.r.mu.Lock()
		t.r.creates = append(t.r.creates, restCreate{Kind: kind, To: form.Get("To"), Body: form.Get("Body")})
		t.r.mu.Unlock()
	}
	return t.next.RoundTrip(req)
}

// createsTo returns the create requests sent for calls and messages to a
// number, oldest first.
func (r *rig) createsTo(to string) []restCreate {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []restCreate
	for _, c := range r.creates {
		if c.To == to {
			out = append(out, c)
		}
	}
	return out
}

// waitIdle waits until the simulator has nothing left to do: every call
// ended, every message delivered and every reply and callback posted.
func (r *rig) waitIdle() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.sim.Idle(ctx); err != nil {
		r.t.Fatalf("simulator not idle: %v", err)
	}
}

// messageRecords returns the simulator's messages to and from a number, in
// the order they were created.
func (r *rig) messageRecords(phone string) []twiliosim.MessageRecord {
	var out []twiliosim.MessageRecord
	for _, m := range r.sim.Messages() {
		if m.To == phone || m.From == phone {
			out = append(out, m)
		}
	}
	return out
}

// callRecords returns the simulator's calls to a number, oldest first.
func (r *rig) callRecords(phone string) []twiliosim.CallRecord {
	var out []twiliosim.CallRecord
	for _, c := range r.sim.Calls() {
		if c.To == phone {
			out = append(out, c)
		}
	}
	return out
}

// suppression returns why a number is on the suppression list, or "".
func (r *rig) suppression(phone string) string {
	r.t.Helper()
	var reason string
	err := r.pool.QueryRow(context.Background(), `SELECT reason FROM suppressions WHERE phone_e164 = $1`, phone).Scan(&reason)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		r.t.Fatal(err)
	}
	return reason
}

// sessionRow is a survey session's status as stored.
type sessionRow struct {
	Status, EndReason string
}

func (r *rig) session(attemptID int64) sessionRow {
	r.t.Helper()
	var s sessionRow
	err := r.pool.QueryRow(context.Background(), `
SELECT status, COALESCE(end_reason, '') FROM survey_sessions WHERE attempt_id = $1`, attemptID).Scan(&s.Status, &s.EndReason)
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}
