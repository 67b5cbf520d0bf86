package twilio_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/dialer"
	"github.com/huifang/huifang/dialer/twilio"
	"github.com/huifang/huifang/dialer/twiliosim"
	"github.com/huifang/huifang/internal/testdb"
	"github.com/huifang/huifang/surveys"
	"github.com/huifang/huifang/workorders"
	"github.com/huifang/huifang/workorders/sample"
)

// fuzzRoutes are the webhook routes, in the order the fuzzer's route byte
// picks them.
var fuzzRoutes = []string{
	twilio.PathVoiceAnswer, twilio.PathVoiceGather, twilio.PathVoiceStatus, twilio.PathVoiceAMD,
	twilio.PathVoiceRecording, twilio.PathSMSInbound, twilio.PathSMSStatus,
}

func routeIndex(path string) uint8 {
	for i, p := range fuzzRoutes {
		if p == path {
			return uint8(i)
		}
	}
	panic("no route " + path)
}

// FuzzWebhooks posts arbitrary forms and queries to every route, signed
// with the account's auth token so that they pass the verifier and reach
// the handlers, through the real HTTP server: whatever arrives, the answer
// is never a 5xx, no handler panics, and the server still answers a
// well-formed callback afterwards.
func FuzzWebhooks(f *testing.F) {
	s := newFuzzStack(f)
	for _, seed := range s.seeds() {
		f.Add(seed.route, seed.query, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, route uint8, query string, body []byte) {
		u := s.base + fuzzRoutes[int(route)%len(fuzzRoutes)]
		if q := requestQuery(query); q != "" {
			u += "?" + q
		}
		params, _ := url.ParseQuery(string(body))
		code, resp, err := tryPost(http.MethodPost, u, string(body), twiliosim.Signature(s.token, u, firstValues(params)))
		if err != nil {
			t.Fatalf("no answer (did the handler panic?): %v\nserver log:\n%s", err, s.log)
		}
		if code >= 500 {
			t.Fatalf("POST %s %q: %d %q\nserver log:\n%s", u, body, code, resp, s.log)
		}
		s.healthy(t)
	})
}

// requestQuery makes a fuzzed query sendable in a request line: bytes
// that cannot appear there are percent-encoded, everything else (including
// '%', '&', '=' and ';') is left for the server to make sense of.
func requestQuery(q string) string {
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c <= ' ' || c >= 0x7f || c == '#' {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// fuzzStack is newRig for a fuzz target (newRig wants a *testing.T, and the
// stack must outlive each input): a migrated database holding two jobs,
// the simulator, and the webhooks behind a real HTTP server, with one call
// attempt adopted by its CallSid and one SMS survey whose question was
// delivered, so that seeds name an attempt, call and message that exist.
type fuzzStack struct {
	base, token, account string
	log                  *lockedBuffer // the server's and the handlers' error log

	attempt  int64 // the call's
	callSid  string
	customer string
	gather   string // the <Gather> action of the call's first TwiML

	text     int64 // the SMS survey's attempt
	msg      int64 // its question's sms_messages id …
	msgSid   string
	texted   string // … and the customer's number
	stranger string // a number with no survey
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newFuzzStack(tb testing.TB) *fuzzStack {
	tb.Helper()
	ctx := context.Background()
	pool := testdb.New(tb)
	jobs := silentJobs(tb, 3)
	s := &fuzzStack{log: &lockedBuffer{}, stranger: jobs[2].Order.Customer.Phone}

	srv := httptest.NewUnstartedServer(nil)
	srv.Config.ErrorLog = log.New(s.log, "", 0) // where net/http reports a handler's panic
	s.base = "http://" + srv.Listener.Addr().String()
	sim, err := twiliosim.Start(twiliosim.Options{
		Speed: 2000, SMSURL: s.base + twilio.PathSMSInbound, Personas: twiliosim.SamplePersonas(jobs),
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { sim.Close() })
	s.token, s.account = sim.AuthToken(), sim.AccountSID()
	hc, err := twiliosim.NewHTTPClient(sim.URL())
	if err != nil {
		tb.Fatal(err)
	}
	carrier := twilio.New(twilio.Config{AccountSID: s.account, AuthToken: s.token, HTTP: hc})
	verifier, err := twilio.NewVerifier(s.token, s.base)
	if err != nil {
		tb.Fatal(err)
	}
	conv := &dialer.Conversations{Pool: pool, Carrier: carrier, Surveys: surveys.NewStore(pool)}
	hooks := &twilio.Webhooks{Conv: conv, Verifier: verifier, Carrier: carrier, BaseURL: s.base,
		Log: slog.New(slog.NewTextHandler(s.log, &slog.HandlerOptions{Level: slog.LevelError}))}
	conv.Hooks = hooks
	srv.Config.Handler = hooks.Handler()
	srv.Start()
	tb.Cleanup(srv.Close)

	targets := importJobs(tb, pool, jobs)
	a, err := conv.Open(ctx, targets[0])
	if err != nil {
		tb.Fatal(err)
	}
	s.attempt, s.callSid, s.customer = a.ID, newSID("CA"), jobs[0].Order.Customer.Phone
	answer := hooks.CallURLs(a.ID).Answer
	form := voiceForm(s.account, s.callSid, s.customer, "in-progress")
	code, twiml := post(tb, http.MethodPost, answer, form.Encode(), twiliosim.Signature(s.token, answer, form))
	if code != http.StatusOK {
		tb.Fatalf("first TwiML fetch: %d %s", code, twiml)
	}
	s.gather = actionOf(tb, twiml)

	targets[1].Channel = surveys.SMS
	x, err := conv.Text(ctx, targets[1])
	if err != nil {
		tb.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := sim.Idle(wait); err != nil {
		tb.Fatal(err)
	}
	s.text, s.texted = x.ID, jobs[1].Order.Customer.Phone
	err = pool.QueryRow(ctx, `SELECT id, sid FROM sms_messages WHERE attempt_id = $1 AND direction = 'out'`, x.ID).
		Scan(&s.msg, &s.msgSid)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// importJobs publishes the shipped surveys, loads jobs through the
// ordinary intake path (as rig.load does) and returns a voice target for
// each job with its kind's verification survey.
func importJobs(tb testing.TB, pool *pgxpool.Pool, jobs []sample.Job) []dialer.Target {
	tb.Helper()
	ctx := context.Background()
	defs, err := surveys.Shipped()
	if err != nil {
		tb.Fatal(err)
	}
	versions := map[string]int64{}
	for name, d := range defs {
		p, err := surveys.NewStore(pool).Publish(ctx, d)
		if err != nil {
			tb.Fatal(err)
		}
		versions[name] = p.ID
	}
	ws := &workorders.Store{Pool: pool}
	src, err := ws.EnsureSource(ctx, "fuzz", "file", workorders.Defaults{Region: "CN"})
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.Write(workorders.FieldNames())
	var rec []string
	for _, j := range jobs {
		rec = workorders.CSVRecord(&j.Order, rec)
		cw.Write(rec)
	}
	cw.Flush()
	rd, err := workorders.NewCSVReader("jobs.csv", &buf, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := ws.Import(ctx, src, rd, workorders.ImportOptions{Actor: "fuzz"}); err != nil {
		tb.Fatal(err)
	}
	var out []dialer.Target
	for _, j := range jobs {
		tg := dialer.Target{Channel: surveys.Voice, From: ourNumber, SurveyVersionID: versions["repair-parts-verification"]}
		if j.Order.Kind == workorders.Install {
			tg.SurveyVersionID = versions["install-verification"]
		}
		if err := pool.QueryRow(ctx, `SELECT id FROM work_orders WHERE external_id = $1`, j.Order.ExternalID).
			Scan(&tg.WorkOrderID); err != nil {
			tb.Fatal(err)
		}
		out = append(out, tg)
	}
	return out
}

// seed is one request of the corpus.
type seed struct {
	route uint8
	query string
	body  string
}

// seeds are requests as Twilio sends them to each route, and a few it
// never would.
func (s *fuzzStack) seeds() []seed {
	call := "attempt=" + strconv.FormatInt(s.attempt, 10)
	gq, _ := url.Parse(s.gather)
	sms := fmt.Sprintf("attempt=%d&msg=%d", s.text, s.msg)
	voice := func(status string, kv ...string) string {
		return voiceForm(s.account, s.callSid, s.customer, status, kv...).Encode()
	}
	status := func(st string, seq int, kv ...string) string {
		return statusForm(s.account, s.callSid, s.customer, st, seq, kv...).Encode()
	}
	in := func(from, body string, kv ...string) string {
		return with(inboundForm(s.account, newSID("SM"), from, body), kv...).Encode()
	}
	msgStatus := func(st string, kv ...string) string {
		return messageStatusForm(s.account, s.msgSid, s.texted, st, kv...).Encode()
	}
	return []seed{
		{routeIndex(twilio.PathVoiceAnswer), call, voice("in-progress")},
		{routeIndex(twilio.PathVoiceAnswer), call, voice("in-progress", "AnsweredBy", "human")},
		{routeIndex(twilio.PathVoiceGather), gq.RawQuery, voice("in-progress", "Digits", "1", "FinishedOnKey", "", "msg", "Gather End")},
		{routeIndex(twilio.PathVoiceGather), gq.RawQuery, voice("in-progress", "Digits", "9#", "FinishedOnKey", "#")},
		{routeIndex(twilio.PathVoiceGather), gq.RawQuery, voice("in-progress", "SpeechResult", "Yes, he came on Tuesday.", "Confidence", "0.9171")},
		{routeIndex(twilio.PathVoiceGather), gq.RawQuery, voice("in-progress", "SpeechResult", "不要再打了", "Confidence", "0.82")},
		{routeIndex(twilio.PathVoiceGather), gq.RawQuery, voice("completed", "RecordingUrl",
			"https://api.twilio.com/2010-04-01/Accounts/"+s.account+"/Recordings/"+newSID("RE"), "RecordingDuration", "7", "Digits", "hangup")},
		{routeIndex(twilio.PathVoiceGather), gq.RawQuery, voice("in-progress", "msg", "Gather End")},
		{routeIndex(twilio.PathVoiceStatus), call, status("initiated", 0)},
		{routeIndex(twilio.PathVoiceStatus), call, status("ringing", 1)},
		{routeIndex(twilio.PathVoiceStatus), call, status("in-progress", 2, "AnsweredBy", "human")},
		{routeIndex(twilio.PathVoiceStatus), call, status("completed", 3, "CallDuration", "63", "Duration", "2", "SipResponseCode", "200")},
		{routeIndex(twilio.PathVoiceStatus), call, status("failed", 1, "ErrorCode", "32009", "SipResponseCode", "503")},
		{routeIndex(twilio.PathVoiceAMD), call, amdForm(s.account, s.callSid, "machine_end_beep").Encode()},
		{routeIndex(twilio.PathVoiceAMD), call, amdForm(s.account, s.callSid, "human").Encode()},
		{routeIndex(twilio.PathVoiceRecording), call, recordingForm(s.account, s.callSid).Encode()},
		{routeIndex(twilio.PathVoiceRecording), call, with(recordingForm(s.account, s.callSid), "RecordingStatus", "absent").Encode()},
		{routeIndex(twilio.PathSMSInbound), "", in(s.texted, "1")},
		{routeIndex(twilio.PathSMSInbound), "", in(s.texted, "退订")},
		{routeIndex(twilio.PathSMSInbound), "", in(s.stranger, "STOP", "OptOutType", "STOP")},
		{routeIndex(twilio.PathSMSInbound), "", in(s.stranger, "START", "OptOutType", "START")},
		{routeIndex(twilio.PathSMSInbound), "", in(s.stranger, "HELP", "OptOutType", "HELP")},
		{routeIndex(twilio.PathSMSStatus), sms, msgStatus("sent")},
		{routeIndex(twilio.PathSMSStatus), sms, msgStatus("delivered")},
		{routeIndex(twilio.PathSMSStatus), sms, msgStatus("undelivered", "ErrorCode", "30003")},
		{routeIndex(twilio.PathSMSStatus), sms, msgStatus("failed", "ErrorCode", "21610")},
		// Requests Twilio would never send.
		{routeIndex(twilio.PathVoiceGather), gq.RawQuery, "Digits=%zz"},
		{routeIndex(twilio.PathVoiceGather), "attempt=-1&seq=x", voice("in-progress", "Digits", "1a")},
		{routeIndex(twilio.PathVoiceGather), "attempt=1&seq=99999999999999999999", docParams.Encode()},
		{routeIndex(twilio.PathVoiceStatus), call, status("completed", 3, "CallDuration", "99999999999")},
		{routeIndex(twilio.PathVoiceStatus), call, status("completed", 3, "Timestamp", "yesterday", "AnsweredBy", "robot")},
		{routeIndex(twilio.PathVoiceStatus), "attempt=%zz", ""},
		{routeIndex(twilio.PathSMSInbound), "", in("13800138000", "1")},
		{routeIndex(twilio.PathSMSInbound), "", in(s.stranger, "1\x00")},
		{routeIndex(twilio.PathSMSInbound), "", in(s.stranger, "\xff\xfe")},
		{routeIndex(twilio.PathSMSStatus), "attempt=1&msg=1;x", msgStatus("lost")},
	}
}

// healthy posts a well-formed status callback about the stack's call and
// expects it to be accepted.
func (s *fuzzStack) healthy(t *testing.T) {
	t.Helper()
	u := s.base + twilio.PathVoiceStatus + "?attempt=" + strconv.FormatInt(s.attempt, 10)
	form := statusForm(s.account, s.callSid, s.customer, "ringing", 1)
	code, body, err := tryPost(http.MethodPost, u, form.Encode(), twiliosim.Signature(s.token, u, form))
	if err != nil || code != http.StatusNoContent {
		t.Fatalf("a well-formed callback afterwards: %d %q %v\nserver log:\n%s", code, body, err, s.log)
	}
}
