package web

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/audit"
	"github.com/huifang/huifang/dialer"
	"github.com/huifang/huifang/dialer/twilio"
	"github.com/huifang/huifang/dialer/twiliosim"
	"github.com/huifang/huifang/internal/testdb"
	"github.com/huifang/huifang/workorders"
	"github.com/huifang/huifang/workorders/sample"
)

// reviewWorld is a console on sample jobs with flags raised on them: a
// critical V2 on the first job (with the survey answer that raised it, an
// attempt with a recording), a high V4 on the second and a medium V5 on
// every job.
type reviewWorld struct {
	s     *Server
	ts    *httptest.Server
	pool  *pgxpool.Pool
	st    *audit.Store
	now   time.Time
	v2    int64  // the V2 flag
	phone string // the V2 job's customer's number
	call  int64  // the V2 job's call (attempts.id), with a recording
	v5    map[int64]int64
}

// The words of the V2 job's survey, as the customer heard them and answered.
const (
	rvPrompt = "Did the technician replace the compressor of your refrigerator? Press 1 for yes, 2 for no."
	rvRaw    = "2"
	rvAudio  = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE0123.mp3"
)

func newReviewWorld(t *testing.T) *reviewWorld {
	t.Helper()
	ctx := context.Background()
	pool := testdb.New(t)
	now := time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	ws := &workorders.Store{Pool: pool, Now: clock}
	src, err := ws.EnsureSource(ctx, "sample", "file", workorders.Defaults{Region: "CN"})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := sample.Load(ctx, ws, src, sample.Config{Seed: 5, Jobs: 6, Now: now, Mix: map[string]float64{"CN": 1}}); err != nil {
		t.Fatalf("load: %v %v", err, res.Errors)
	}
	st := audit.NewStore(pool)
	st.Now = clock
	w := &reviewWorld{pool: pool, st: st, now: now, v5: map[int64]int64{}}
	rows, err := pool.Query(ctx, `
SELECT w.id, w.provider_id, w.currency, c.phone_e164 FROM work_orders w JOIN customers c ON c.id = w.customer_id ORDER BY w.id`)
	if err != nil {
		t.Fatal(err)
	}
	var fs []audit.Finding
	var id, prov int64
	var cur, phone string
	var jobs []int64
	if _, err := pgx.ForEachRow(rows, []any{&id, &prov, &cur, &phone}, func() error {
		switch len(jobs) {
		case 0:
			w.phone = phone
			fs = append(fs, audit.Finding{WorkOrderID: id, ProviderID: prov, Rule: "V2",
				Summary: "customer says the compressor was not replaced", Currency: cur, ClaimValue: 250000, Amount: 180000,
				Evidence: &audit.AnswerEvidence{
					Answers: []audit.AnswerRow{{Seq: 3, Channel: "voice", Question: "compressor", Fact: "part_replaced",
						Prompt: rvPrompt, Raw: rvRaw, InputKind: "dtmf", Value: "no", ReceivedAt: now.Add(-time.Hour)}},
					Lines: []audit.ClaimLine{{Line: 1, PartCode: "CMP-220", NameEN: "compressor", Quantity: 1, UnitCost: 180000}},
				}})
		case 1:
			fs = append(fs, audit.Finding{WorkOrderID: id, ProviderID: prov, Rule: "V4",
				Summary: "customer paid 80.00 for an in-warranty repair", Currency: cur, ClaimValue: 30000, Amount: 8000})
		}
		jobs = append(jobs, id)
		fs = append(fs, audit.Finding{WorkOrderID: id, ProviderID: prov, Rule: "V5", Summary: fmt.Sprintf("not fixed on job %d", id),
			Currency: cur, ClaimValue: 12000, Amount: 3000})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { _, err := st.Raise(ctx, tx, fs); return err }); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT id FROM flags WHERE rule = 'V2'`).Scan(&w.v2); err != nil {
		t.Fatal(err)
	}
	fr, err := pool.Query(ctx, `SELECT work_order_id, id FROM flags WHERE rule = 'V5'`)
	if err != nil {
		t.Fatal(err)
	}
	var job, flag int64
	if _, err := pgx.ForEachRow(fr, []any{&job, &flag}, func() error { w.v5[job] = flag; return nil }); err != nil {
		t.Fatal(err)
	}
	w.survey(t, jobs[0])
	w.s = &Server{Pool: pool, WorkOrders: ws, Audit: st, Log: slog.New(slog.DiscardHandler), Now: clock}
	w.ts = httptest.NewServer(w.s.Handler())
	t.Cleanup(w.ts.Close)
	return w
}

// survey writes the V2 job's call (with its recording) and the survey
// session with the answer that raised the flag.
func (w *reviewWorld) survey(t *testing.T, job int64) {
	t.Helper()
	ctx := context.Background()
	var version, attempt, session int64
	err := w.pool.QueryRow(ctx, `
WITH s AS (INSERT INTO surveys (name) VALUES ('repair-check') RETURNING id)
INSERT INTO survey_versions (survey_id, version, source, definition, sha256)
SELECT id, 1, '', '{}', repeat('0', 64) FROM s RETURNING id`).Scan(&version)
	if err != nil {
		t.Fatal(err)
	}
	at := w.now.Add(-time.Hour)
	if err := w.pool.QueryRow(ctx, `
INSERT INTO attempts (work_order_id, channel, to_e164, from_e164, state, outcome, created_at, placed_at, answered_at, ended_at,
                      duration_s, recording_url, recording_duration_s)
VALUES ($1, 'voice', $2, '+862038001234', 'ended', 'completed', $3, $3, $4, $5, 95, $6, 90) RETURNING id`,
		job, w.phone, at, at.Add(8*time.Second), at.Add(103*time.Second), rvAudio).Scan(&attempt); err != nil {
		t.Fatal(err)
	}
	w.call = attempt
	if err := w.pool.QueryRow(ctx, `
INSERT INTO survey_sessions (attempt_id, work_order_id, survey_version_id, channel, lang, phone_e164, job, status, end_reason, opened_at)
VALUES ($1, $2, $3, 'voice', 'en', $4, '{}', 'ended', 'completed', $5) RETURNING id`, attempt, job, version, w.phone, at).Scan(&session); err != nil {
		t.Fatal(err)
	}
	if _, err := w.pool.Exec(ctx, `
INSERT INTO survey_answers (session_id, seq, survey_version_id, question, event, fact, value, raw, prompt, input_kind, received_at)
VALUES ($1, 3, $2, 'compressor', 'answer', 'part_replaced', '"no"', $3, $4, 'dtmf', $5)`, session, version, rvRaw, rvPrompt, at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
}

// login logs a console user in; the client does not follow redirects, so
// a test sees each one.
func (w *reviewWorld) login(t *testing.T, name string, role audit.Role) *http.Client {
	t.Helper()
	c := *consoleLogin(t, w.ts, w.pool, name, role)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// setPhone gives a console user a phone number for click-to-call.
func (w *reviewWorld) setPhone(t *testing.T, name, phone string) {
	t.Helper()
	if _, err := w.pool.Exec(context.Background(), `UPDATE users SET phone_e164 = $2 WHERE username = $1`, name, phone); err != nil {
		t.Fatal(err)
	}
}

type rvResponse struct {
	code     int
	location string
	body     string
}

func (w *reviewWorld) get(t *testing.T, c *http.Client, path string) rvResponse {
	t.Helper()
	resp, err := c.Get(w.ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rvResponse{resp.StatusCode, resp.Header.Get("Location"), string(b)}
}

// post submits a page form with the session's CSRF token.
func (w *reviewWorld) post(t *testing.T, c *http.Client, path string, form url.Values) rvResponse {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", csrfOf(t, c, w.ts, "/queue"))
	resp, err := c.PostForm(w.ts.URL+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rvResponse{resp.StatusCode, resp.Header.Get("Location"), string(b)}
}

func (w *reviewWorld) state(t *testing.T, id int64) (state, assignee string) {
	t.Helper()
	f, err := w.st.Flag(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return f.State, f.Assignee
}

func rvWant(t *testing.T, r rvResponse, code int, fragments ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d; body:\n%.3000s", r.code, code, r.body)
	}
	for _, f := range fragments {
		if !strings.Contains(r.body, f) {
			t.Errorf("page lacks %q", f)
		}
	}
}

func rvLacks(t *testing.T, r rvResponse, fragments ...string) {
	t.Helper()
	for _, f := range fragments {
		if strings.Contains(r.body, f) {
			t.Errorf("page has %q, and should not", f)
		}
	}
}

// htmlText is s as html/template writes it in text (it escapes "+").
func htmlText(s string) string {
	return strings.ReplaceAll(template.HTMLEscapeString(s), "+", "&#43;")
}

var queueRowID = regexp.MustCompile(`<tr id="flag-(\d+)"`)

// queueIDs lists the flags of a queue page in order.
func queueIDs(body string) []string {
	var out []string
	for _, m := range queueRowID.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestReviewQueuePage(t *testing.T) {
	w := newReviewWorld(t)
	ana := w.login(t, "ana", audit.RoleReviewer)

	r := w.get(t, ana, "/queue")
	rvWant(t, r, http.StatusOK, "customer says the compressor was not replaced", "customer paid 80.00 for an in-warranty repair",
		`class="sev-critical"`, `class="sev-high"`, "claimed part not replaced", `id="claim-next"`, `data-key="c"`)
	ids := queueIDs(r.body)
	if len(ids) != 8 || ids[0] != fmt.Sprint(w.v2) {
		t.Fatalf("queue rows %v: want 8, the V2 flag %d first (most urgent)", ids, w.v2)
	}
	for job, id := range w.v5 {
		if !strings.Contains(r.body, fmt.Sprintf("not fixed on job %d", job)) || !strings.Contains(r.body, fmt.Sprintf(`id="flag-%d"`, id)) {
			t.Errorf("queue lacks the V5 flag %d of job %d", id, job)
		}
	}

	for _, tc := range []struct {
		query string
		n     int
		has   string
		lacks string
	}{
		{"rule=V5", 6, "not fixed on job", "the compressor"},
		{"severity=critical", 1, "the compressor", "not fixed on job"},
		{"text=compressor", 1, "the compressor", "in-warranty"},
		{"rule=V4&severity=high", 1, "in-warranty", "the compressor"},
		{"rule=V4&severity=critical", 0, "No flags match.", "in-warranty"},
		{"state=decided", 0, "No flags match.", "the compressor"},
		{"overdue=1", 0, "No flags match.", "the compressor"},
	} {
		r := w.get(t, ana, "/queue?"+tc.query)
		rvWant(t, r, http.StatusOK, tc.has)
		rvLacks(t, r, tc.lacks)
		if got := len(queueIDs(r.body)); got != tc.n {
			t.Errorf("%s: %d rows, want %d", tc.query, got, tc.n)
		}
	}

	// An overdue flag is highlighted and found by the overdue filter.
	if _, err := w.pool.Exec(context.Background(), `UPDATE flags SET due_at = $1 WHERE rule = 'V4'`, w.now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	r = w.get(t, ana, "/queue?overdue=1")
	rvWant(t, r, http.StatusOK, "in-warranty", `<tr id="flag-`, `class="overdue"`, `class="due overdue"`)
	if got := len(queueIDs(r.body)); got != 1 {
		t.Errorf("overdue: %d rows, want 1", got)
	}

	// Keyset paging: three pages of three, the same flags as one page, in order.
	var paged []string
	next := "/queue?limit=3"
	for pages := 0; next != ""; pages++ {
		if pages > 3 {
			t.Fatal("paging does not end")
		}
		r := w.get(t, ana, next)
		rvWant(t, r, http.StatusOK)
		paged = append(paged, queueIDs(r.body)...)
		next = ""
		if m := regexp.MustCompile(`id="next-page" href="([^"]+)"`).FindStringSubmatch(r.body); m != nil {
			next = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if strings.Join(paged, ",") != strings.Join(ids, ",") {
		t.Fatalf("paged %v, want %v", paged, ids)
	}

	// Bad filters are named next to their field, not a 500.
	r = w.get(t, ana, "/queue?rule=V99")
	rvWant(t, r, http.StatusBadRequest, `id="f-rule-error"`, `&#34;V99&#34; is not a rule`)
	r = w.get(t, ana, "/queue?limit=x")
	rvWant(t, r, http.StatusBadRequest, `id="f-limit-error"`)

	// "My flags": the flags the user holds.
	if _, err := w.st.Claim(context.Background(), "ana", w.v5[firstKey(w.v5)]); err != nil {
		t.Fatal(err)
	}
	r = w.get(t, ana, "/queue?assignee=me&state=all")
	rvWant(t, r, http.StatusOK)
	if got := queueIDs(r.body); len(got) != 1 || got[0] != fmt.Sprint(w.v5[firstKey(w.v5)]) {
		t.Fatalf("my flags %v, want [%d]", got, w.v5[firstKey(w.v5)])
	}

	// Read-only users see the queue without the claim button; logged out
	// goes to the login page.
	rita := w.login(t, "rita", audit.RoleReadonly)
	r = w.get(t, rita, "/queue")
	rvWant(t, r, http.StatusOK, "customer says the compressor was not replaced")
	rvLacks(t, r, `id="claim-next"`)
	anon := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r = w.get(t, anon, "/queue")
	if r.code != http.StatusSeeOther || r.location != "/login?next=%2Fqueue" {
		t.Fatalf("logged out: %d to %q, want 303 to /login?next=%%2Fqueue", r.code, r.location)
	}

	// Chinese.
	if _, err := w.pool.Exec(context.Background(), `UPDATE users SET lang = 'zh-CN' WHERE username = 'ana'`); err != nil {
		t.Fatal(err)
	}
	r = w.get(t, ana, "/queue")
	rvWant(t, r, http.StatusOK, "领取下一条", "严重", "索赔配件未更换")
}

// firstKey is the smallest key of m.
func firstKey(m map[int64]int64) int64 {
	k := int64(-1)
	for j := range m {
		if k < 0 || j < k {
			k = j
		}
	}
	return k
}

func TestReviewClaimDecide(t *testing.T) {
	w := newReviewWorld(t)
	ctx := context.Background()
	ana := w.login(t, "ana", audit.RoleReviewer)
	ben := w.login(t, "ben", audit.RoleReviewer)

	// Claim next takes the most urgent flag and opens it.
	r := w.post(t, ana, "/queue/claim-next", nil)
	if want := fmt.Sprintf("/flags/%d", w.v2); r.code != http.StatusSeeOther || r.location != want {
		t.Fatalf("claim next: %d to %q, want 303 to %s", r.code, r.location, want)
	}
	if st, who := w.state(t, w.v2); st != audit.StateClaimed || who != "ana" {
		t.Fatalf("after claim next: %s by %q", st, who)
	}
	page := fmt.Sprintf("/flags/%d", w.v2)

	// Claim next takes the queue's filters; with nothing left it says so.
	r = w.post(t, ben, "/queue/claim-next", url.Values{"rule": {"V4"}})
	v4 := r.location
	if r.code != http.StatusSeeOther || !strings.HasPrefix(v4, "/flags/") {
		t.Fatalf("claim next V4: %d to %q", r.code, v4)
	}
	rvWant(t, w.get(t, ben, v4), http.StatusOK, "customer paid 80.00 for an in-warranty repair", `id="decide-form"`)
	r = w.post(t, ben, "/queue/claim-next", url.Values{"rule": {"V4"}})
	if r.code != http.StatusSeeOther || r.location != "/queue?none=1" {
		t.Fatalf("claim next with nothing left: %d to %q", r.code, r.location)
	}
	rvWant(t, w.get(t, ben, r.location), http.StatusOK, "Nothing left in the queue that you may claim.")

	// The holder sees the evidence pack with the full number.
	r = w.get(t, ana, page)
	rvWant(t, r, http.StatusOK, "customer says the compressor was not replaced",
		"Did the technician replace the compressor of your refrigerator? Press 1 for yes, 2 for no.",
		`<td class="raw"><code>2</code>`, "part_replaced =</span> no", fmt.Sprintf(`<audio controls preload="none" src="/attempts/%d/recording">`, w.call),
		`<dd id="customer-phone">`+htmlText(w.phone)+`</dd>`, "CMP-220", "1800.00", `id="decide-form"`, `id="yours"`)
	// Another reviewer sees it masked, and a claim button, not the decision form.
	masked := audit.MaskPhone(w.phone)
	r = w.get(t, ben, page)
	rvWant(t, r, http.StatusOK, `<dd id="customer-phone">`+htmlText(masked)+`</dd>`, rvPrompt, `id="claim"`, "ana")
	rvLacks(t, r, w.phone[1:], `id="decide-form"`)

	// A second reviewer cannot take a held flag: 409 naming the holder.
	r = w.post(t, ben, page+"/claim", nil)
	rvWant(t, r, http.StatusConflict, `id="flag-error"`, "Held by ana until")
	if st, who := w.state(t, w.v2); st != audit.StateClaimed || who != "ana" {
		t.Fatalf("after ben's claim: %s by %q", st, who)
	}
	// Nor decide it.
	r = w.post(t, ben, page+"/decide", url.Values{"decision": {"cleared"}, "reason": {"looks fine"}})
	rvWant(t, r, http.StatusConflict, "Held by ana until")

	// Deciding without a reason: 422, the message next to the field, what
	// was typed kept, nothing changed.
	r = w.post(t, ana, page+"/decide", url.Values{"decision": {"cleared"}, "reason": {"  "}, "note": {"called twice"}})
	rvWant(t, r, http.StatusUnprocessableEntity, `<div class="error" id="reason-error">required: say why</div>`,
		`value="cleared" checked`, ">called twice</textarea>")
	r = w.post(t, ana, page+"/decide", url.Values{"reason": {"why not"}})
	rvWant(t, r, http.StatusUnprocessableEntity, `id="decision-error"`)
	if st, _ := w.state(t, w.v2); st != audit.StateClaimed {
		t.Fatalf("after refused decisions: %s", st)
	}

	// Deciding with a reason goes back to the queue, which no longer lists it.
	r = w.post(t, ana, page+"/decide", url.Values{"decision": {"cleared"}, "reason": {"customer confirmed on the call back"}})
	if want := fmt.Sprintf("/queue?decided=%d", w.v2); r.code != http.StatusSeeOther || r.location != want {
		t.Fatalf("decide: %d to %q, want 303 to %s; %.500s", r.code, r.location, want, r.body)
	}
	r = w.get(t, ana, fmt.Sprintf("/queue?decided=%d", w.v2))
	rvWant(t, r, http.StatusOK, fmt.Sprintf("Flag %d decided.", w.v2))
	rvLacks(t, r, fmt.Sprintf(`id="flag-%d"`, w.v2), "the compressor was not replaced")
	fr, err := w.st.Flag(ctx, w.v2)
	if err != nil {
		t.Fatal(err)
	}
	if fr.State != audit.StateDecided || fr.Decision != audit.Cleared || fr.DecidedBy != "ana" || fr.Reason != "customer confirmed on the call back" {
		t.Fatalf("decided flag: %s %s by %s, %q", fr.State, fr.Decision, fr.DecidedBy, fr.Reason)
	}
	// A decided flag can be reopened (with a reason), by another reviewer.
	r = w.get(t, ben, page)
	rvWant(t, r, http.StatusOK, `id="reopen-form"`, "customer confirmed on the call back")
	r = w.post(t, ben, page+"/reopen", url.Values{"reason": {""}})
	rvWant(t, r, http.StatusUnprocessableEntity, `id="reopen-reason-error"`)
	r = w.post(t, ben, page+"/reopen", url.Values{"reason": {"customer called again"}})
	if r.code != http.StatusSeeOther || r.location != page+"?done=reopen" {
		t.Fatalf("reopen: %d to %q", r.code, r.location)
	}
	if st, _ := w.state(t, w.v2); st != audit.StateOpen {
		t.Fatalf("after reopen: %s", st)
	}
	// A reviewer conflicted with the provider is refused with 403.
	f, err := w.st.Flag(ctx, w.v5[firstKey(w.v5)])
	if err != nil {
		t.Fatal(err)
	}
	if err := w.st.AddConflict(ctx, "admin", "ben", f.ProviderCode, "brother-in-law"); err != nil {
		t.Fatal(err)
	}
	r = w.post(t, ben, fmt.Sprintf("/flags/%d/claim", f.ID), nil)
	rvWant(t, r, http.StatusForbidden, "conflict of interest")
}

func TestReviewSignoff(t *testing.T) {
	w := newReviewWorld(t)
	ana := w.login(t, "ana", audit.RoleReviewer)
	ben := w.login(t, "ben", audit.RoleReviewer)
	page := fmt.Sprintf("/flags/%d", w.v2)
	rvWant(t, w.post(t, ana, page+"/claim", nil), http.StatusSeeOther)
	// A confirmed finding on a claim of 2500.00 CNY waits for a second reviewer.
	r := w.post(t, ana, page+"/decide", url.Values{"decision": {"confirmed"}, "reason": {"compressor is the original"}})
	rvWant(t, r, http.StatusSeeOther)
	if st, _ := w.state(t, w.v2); st != audit.StateSignoff {
		t.Fatalf("after confirming: %s, want signoff", st)
	}
	r = w.get(t, ana, page)
	rvLacks(t, r, `id="signoff-form"`)
	r = w.post(t, ana, page+"/signoff", url.Values{"approve": {"approve"}})
	rvWant(t, r, http.StatusForbidden, "a different reviewer must sign it off")
	r = w.get(t, ben, page)
	rvWant(t, r, http.StatusOK, `id="signoff-form"`)
	r = w.post(t, ben, page+"/signoff", url.Values{"approve": {"approve"}})
	if r.code != http.StatusSeeOther {
		t.Fatalf("sign-off: %d %.500s", r.code, r.body)
	}
	f, err := w.st.Flag(context.Background(), w.v2)
	if err != nil {
		t.Fatal(err)
	}
	if f.State != audit.StateDecided || f.Decision != audit.Confirmed || f.SignoffBy != "ben" {
		t.Fatalf("signed off: %s %s by %s", f.State, f.Decision, f.SignoffBy)
	}
}

func TestReviewRoles(t *testing.T) {
	w := newReviewWorld(t)
	page := fmt.Sprintf("/flags/%d", w.v2)
	for _, who := range []struct {
		name string
		role audit.Role
	}{{"olga", audit.RoleOps}, {"rita", audit.RoleReadonly}} {
		c := w.login(t, who.name, who.role)
		r := w.get(t, c, page)
		rvWant(t, r, http.StatusOK, "customer says the compressor was not replaced", `id="readonly"`, htmlText(audit.MaskPhone(w.phone)))
		rvLacks(t, r, `id="claim"`, `id="decide-form"`, w.phone[1:])
		for _, path := range []string{page + "/claim", page + "/decide", page + "/call", "/queue/claim-next"} {
			r := w.post(t, c, path, url.Values{"decision": {"cleared"}, "reason": {"x"}})
			rvWant(t, r, http.StatusForbidden, "Your role does not allow this page.")
		}
		if st, _ := w.state(t, w.v2); st != audit.StateOpen {
			t.Fatalf("%s changed the flag: %s", who.name, st)
		}
	}
	// The pack in Chinese.
	rita := w.login(t, "rita", audit.RoleReadonly)
	if _, err := w.pool.Exec(context.Background(), `UPDATE users SET lang = 'zh-CN' WHERE username = 'rita'`); err != nil {
		t.Fatal(err)
	}
	rvWant(t, w.get(t, rita, page), http.StatusOK, "检查依据", "问卷记录", "提示语（原文）", "索赔配件未更换", "您的角色可查看标记，但不能操作。")

	ana := w.login(t, "ana", audit.RoleReviewer)
	rvWant(t, w.get(t, ana, "/flags/999999"), http.StatusNotFound, "No such flag")
	rvWant(t, w.get(t, ana, "/flags/abc"), http.StatusNotFound, "No such flag")
}

// simCarrier starts a simulator playing personas (at 2000×) and returns it
// with the unmodified Twilio carrier pointed at it.
func simCarrier(t *testing.T, personas map[string]twiliosim.Persona) (*twiliosim.Simulator, *twilio.Carrier) {
	t.Helper()
	sim, err := twiliosim.Start(twiliosim.Options{Speed: 2000, Personas: personas})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	hc, err := twiliosim.NewHTTPClient(sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	return sim, twilio.New(twilio.Config{AccountSID: sim.AccountSID(), AuthToken: sim.AuthToken(), HTTP: hc})
}

// A recording plays in the console through Huifang: fetched from the
// carrier with the account's credentials (Range requests passed through),
// for reviewers and admins only, each listen in the audit log.
func TestReviewRecording(t *testing.T) {
	w := newReviewWorld(t)
	ctx := context.Background()
	const customer = "+8613900003333"
	sim, carrier := simCarrier(t, map[string]twiliosim.Persona{
		customer: &twiliosim.Script{Responses: []twiliosim.Response{{Speech: "It still leaks.", Digits: "#"}}}})
	// A real recording at the carrier: a call whose customer speaks after
	// the tone.
	app := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/xml")
		if r.URL.Path == "/done" {
			io.WriteString(rw, `<Response><Hangup/></Response>`)
			return
		}
		io.WriteString(rw, `<Response><Record action="/done" maxLength="30" finishOnKey="#"/></Response>`)
	}))
	t.Cleanup(app.Close)
	callSid, err := carrier.PlaceCall(ctx, dialer.CallRequest{To: customer, From: "+14155550100", URL: app.URL})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rec, err := sim.WaitCall(wctx, callSid)
	if err != nil {
		t.Fatal(err)
	}
	var recSid string
	var secs int
	for _, st := range rec.Steps {
		if st.Verb == "Record" {
			recSid, secs = st.RecordingSid, st.Duration
		}
	}
	if recSid == "" || secs == 0 {
		t.Fatalf("no recording made: %+v", rec.Steps)
	}
	recURL := "https://api.twilio.com/2010-04-01/Accounts/" + sim.AccountSID() + "/Recordings/" + recSid
	if _, err := w.pool.Exec(ctx, `UPDATE attempts SET recording_sid = $2, recording_url = $3 WHERE id = $1`, w.call, recSid, recURL); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/attempts/%d/recording", w.call)
	ana := w.login(t, "ana", audit.RoleReviewer)
	fetch := func(c *http.Client, byteRange string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, w.ts.URL+path, nil)
		if byteRange != "" {
			req.Header.Set("Range", byteRange)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}

	// Telephony off: the browser goes to the carrier's URL.
	if resp, _ := fetch(ana, ""); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != recURL {
		t.Fatalf("without a carrier: %d to %q, want 302 to the stored URL", resp.StatusCode, resp.Header.Get("Location"))
	}
	w.s.Recordings = carrier
	size := 44 + secs*8000*2
	resp, body := fetch(ana, "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "audio/x-wav" || len(body) != size ||
		string(body[:4]) != "RIFF" || resp.Header.Get("Cache-Control") != "private, no-store" {
		t.Fatalf("recording: %d %s, %d bytes (want %d), Cache-Control %q", resp.StatusCode, resp.Header.Get("Content-Type"), len(body), size, resp.Header.Get("Cache-Control"))
	}
	resp, body = fetch(ana, "bytes=100-199")
	if resp.StatusCode != http.StatusPartialContent || len(body) != 100 || resp.Header.Get("Content-Range") != fmt.Sprintf("bytes 100-199/%d", size) {
		t.Errorf("a range: %d, %d bytes, Content-Range %q", resp.StatusCode, len(body), resp.Header.Get("Content-Range"))
	}
	// Two listens logged, through the carrier's URL and through Huifang;
	// the range later in the file belongs to the second.
	var listens int
	if err := w.pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'recording.played' AND actor = 'ana' AND subject_id = $1`,
		strconv.FormatInt(w.call, 10)).Scan(&listens); err != nil || listens != 2 {
		t.Errorf("recording.played rows: %d (%v), want 2", listens, err)
	}
	// Ops and readonly users may not listen; nobody logged out may.
	for _, role := range []audit.Role{audit.RoleOps, audit.RoleReadonly} {
		if resp, body := fetch(w.login(t, "u-"+string(role), role), ""); resp.StatusCode != http.StatusForbidden || strings.Contains(string(body), "RIFF") {
			t.Errorf("%s: %d, want 403", role, resp.StatusCode)
		}
	}
	if resp, _ := fetch(noFollow(t), ""); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
		t.Errorf("logged out: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// No such attempt, an attempt without a recording, a bad id: 404.
	var bare int64
	if err := w.pool.QueryRow(ctx, `
INSERT INTO attempts (work_order_id, channel, to_e164, from_e164, state, outcome)
SELECT work_order_id, 'voice', to_e164, from_e164, 'ended', 'no_answer' FROM attempts WHERE id = $1 RETURNING id`, w.call).Scan(&bare); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fmt.Sprintf("/attempts/%d/recording", bare), "/attempts/999999/recording", "/attempts/x/recording"} {
		rvWant(t, w.get(t, ana, p), http.StatusNotFound, "This attempt has no recording.")
	}
	// The carrier not giving it: 502, said in words.
	if _, err := w.pool.Exec(ctx, `UPDATE attempts SET recording_sid = 'RE00000000000000000000000000000000' WHERE id = $1`, w.call); err != nil {
		t.Fatal(err)
	}
	if resp, body := fetch(ana, ""); resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "The carrier did not give the recording") {
		t.Errorf("unknown to the carrier: %d %s", resp.StatusCode, body)
	}
}

func TestReviewCallBack(t *testing.T) {
	w := newReviewWorld(t)
	ctx := context.Background()
	const (
		ours     = "+14155550100"
		anaPhone = "+8613900001111"
		benPhone = "+8613900002222"
	)
	sim, carrier := simCarrier(t, map[string]twiliosim.Persona{anaPhone: &twiliosim.Script{}, benPhone: &twiliosim.Script{}})
	w.s.Bridge = carrier
	w.s.BridgeFrom = ours

	ana := w.login(t, "ana", audit.RoleReviewer)
	ben := w.login(t, "ben", audit.RoleReviewer)
	page := fmt.Sprintf("/flags/%d", w.v2)
	rvWant(t, w.post(t, ana, page+"/claim", nil), http.StatusSeeOther)

	// Without a phone in the profile there is no button, and a post is refused.
	rvLacks(t, w.get(t, ana, page), `id="call"`)
	rvWant(t, w.post(t, ana, page+"/call", nil), http.StatusUnprocessableEntity, "Add your phone number")
	w.setPhone(t, "ana", anaPhone)
	w.setPhone(t, "ben", benPhone)

	// Not the holder: no button, and 409.
	rvLacks(t, w.get(t, ben, page), `id="call"`)
	rvWant(t, w.post(t, ben, page+"/call", nil), http.StatusConflict, "Only the reviewer holding the flag may call the customer.")
	if n := len(sim.Calls()); n != 0 {
		t.Fatalf("%d calls placed for a reviewer not holding the flag", n)
	}

	// The carrier refusing the call: 502, logged with the error, no full number.
	if err := sim.InjectREST(twiliosim.RESTFault{To: anaPhone, Status: http.StatusInternalServerError, Times: 1}); err != nil {
		t.Fatal(err)
	}
	rvWant(t, w.post(t, ana, page+"/call", nil), http.StatusBadGateway, "The call could not be placed; try again.")
	var failed []byte
	if err := w.pool.QueryRow(ctx, `SELECT details FROM audit_log WHERE action = 'flag.call' AND details ? 'error'`).Scan(&failed); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(failed), anaPhone[1:]) || strings.Contains(string(failed), w.phone[1:]) ||
		!strings.Contains(string(failed), "HTTP 500") {
		t.Fatalf("failed call logged as %s", failed)
	}

	// The holder: the button, then a call to their phone that dials the customer.
	rvWant(t, w.get(t, ana, page), http.StatusOK, `id="call"`)
	r := w.post(t, ana, page+"/call", nil)
	if r.code != http.StatusSeeOther || r.location != page+"?done=call" {
		t.Fatalf("call: %d to %q; %.800s", r.code, r.location, r.body)
	}
	calls := sim.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d calls, want 1", len(calls))
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rec, err := sim.WaitCall(wctx, calls[0].Sid)
	if err != nil {
		t.Fatal(err)
	}
	if rec.To != anaPhone || rec.From != ours {
		t.Fatalf("call to %s from %s, want to %s from %s", rec.To, rec.From, anaPhone, ours)
	}
	var dialled []string
	for _, st := range rec.Steps {
		if st.Verb == "Dial" {
			dialled = append(dialled, st.Text)
		}
	}
	if len(dialled) != 1 || dialled[0] != w.phone {
		t.Fatalf("dialled %q, want the customer %s", dialled, w.phone)
	}

	// Logged with masked numbers only.
	var actor string
	var details []byte
	if err := w.pool.QueryRow(ctx, `SELECT actor, details FROM audit_log WHERE action = 'flag.call' AND subject_type = 'flag' AND subject_id = $1
AND details ? 'call_sid'`,
		fmt.Sprint(w.v2)).Scan(&actor, &details); err != nil {
		t.Fatal(err)
	}
	var d map[string]string
	if err := json.Unmarshal(details, &d); err != nil {
		t.Fatal(err)
	}
	if actor != "ana" || d["agent"] != audit.MaskPhone(anaPhone) || d["customer"] != audit.MaskPhone(w.phone) || d["call_sid"] != rec.Sid {
		t.Fatalf("audit log: %s %s", actor, details)
	}
	if strings.Contains(string(details), w.phone) || strings.Contains(string(details), anaPhone) {
		t.Fatalf("audit log holds a full number: %s", details)
	}

	// After the lease runs out the holder may not call either.
	if _, err := w.pool.Exec(ctx, `UPDATE flags SET lease_until = $2 WHERE id = $1`, w.v2, w.now.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	rvWant(t, w.post(t, ana, page+"/call", nil), http.StatusConflict, "Only the reviewer holding the flag may call the customer.")
	if n := len(sim.Calls()); n != 1 {
		t.Fatalf("%d calls after the lease ran out, want still 1", n)
	}
	// Without telephony, nothing to call with.
	w.s.Bridge = nil
	rvWant(t, w.post(t, ana, page+"/call", nil), http.StatusServiceUnavailable, "Telephony is not configured.")
}
