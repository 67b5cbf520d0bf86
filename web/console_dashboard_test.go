package web

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/audit"
	"github.com/huifang/huifang/internal/testdb"
	"github.com/huifang/huifang/workorders"
	"github.com/huifang/huifang/workorders/sample"
)

// dashWorld is a console on a fresh database with a few sample jobs.
type dashWorld struct {
	pool *pgxpool.Pool
	ts   *httptest.Server
	now  time.Time
	jobs []int64
}

// dashNow is the console's clock in these tests: mid-morning, local time.
func dashNow() time.Time { return time.Date(2026, 11, 25, 10, 30, 0, 0, time.Local) }

func newDashWorld(t *testing.T, jobs int) *dashWorld {
	t.Helper()
	ctx := context.Background()
	pool := testdb.New(t)
	now := dashNow()
	ws := &workorders.Store{Pool: pool, Now: func() time.Time { return now }}
	src, err := ws.EnsureSource(ctx, "sample", "file", workorders.Defaults{Region: "CN"})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := sample.Load(ctx, ws, src, sample.Config{Seed: 7, Jobs: jobs, Now: now}); err != nil {
		t.Fatalf("load: %v %v", err, res.Errors)
	}
	st := audit.NewStore(pool)
	st.Now = func() time.Time { return now }
	s := &Server{Pool: pool, Audit: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now }}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	w := &dashWorld{pool: pool, ts: ts, now: now}
	rows, err := pool.Query(ctx, `SELECT id FROM work_orders ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		w.jobs = append(w.jobs, id)
	}
	return w
}

func (w *dashWorld) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := w.pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
}

// attempt writes one attempt of job created at `at` with an outcome ("" for
// one still in progress); answered says a person picked up.
func (w *dashWorld) attempt(t *testing.T, job int64, at time.Time, outcome string, answered bool) int64 {
	t.Helper()
	var id int64
	state, out := "ended", any(outcome)
	if outcome == "" {
		state, out = "placed", nil
	}
	var answeredAt any
	if answered {
		answeredAt = at.Add(10 * time.Second)
	}
	err := w.pool.QueryRow(context.Background(), `
INSERT INTO attempts (work_order_id, channel, to_e164, from_e164, state, outcome, created_at, answered_at)
VALUES ($1, 'voice', '+8613800000000', '+862038001234', $2, $3, $4, $5) RETURNING id`, job, state, out, at, answeredAt).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// answers writes a completed survey session for job, received at `at`,
// with answers as (fact, event, int value) triples.
func (w *dashWorld) answers(t *testing.T, job int64, at time.Time, answers ...[3]any) {
	t.Helper()
	ctx := context.Background()
	var version int64
	err := w.pool.QueryRow(ctx, `SELECT id FROM survey_versions LIMIT 1`).Scan(&version)
	if err != nil {
		err = w.pool.QueryRow(ctx, `
WITH s AS (INSERT INTO surveys (name) VALUES ('dash') RETURNING id)
INSERT INTO survey_versions (survey_id, version, source, definition, sha256)
SELECT id, 1, '', '{}', repeat('0', 64) FROM s RETURNING id`).Scan(&version)
		if err != nil {
			t.Fatal(err)
		}
	}
	a := w.attempt(t, job, at.Add(-time.Minute), "completed", true)
	var session int64
	if err := w.pool.QueryRow(ctx, `
INSERT INTO survey_sessions (attempt_id, work_order_id, survey_version_id, channel, lang, phone_e164, job, status, end_reason, opened_at)
VALUES ($1, $2, $3, 'voice', 'en', '+8613800000000', '{}', 'ended', 'completed', $4) RETURNING id`, a, job, version, at).Scan(&session); err != nil {
		t.Fatal(err)
	}
	for i, ans := range answers {
		var value any
		if ans[1] == "answer" {
			value = fmt.Sprintf(`{"kind":"int","int":%d}`, ans[2])
		}
		w.exec(t, `INSERT INTO survey_answers (session_id, seq, survey_version_id, question, event, fact, value, received_at)
VALUES ($1, $2, $3, $4, $5, $4, $6, $7)`, session, i, version, ans[0], ans[1], value, at.Add(time.Duration(i)*time.Second))
	}
}

// flag writes a flag on job with severity, due at due, decided (with a
// decision) at decided unless that is zero.
func (w *dashWorld) flag(t *testing.T, job int64, rule string, sev audit.Severity, due, decided time.Time, decision string) int64 {
	t.Helper()
	var id int64
	state, dec, decAt := "open", any(nil), any(nil)
	if !decided.IsZero() {
		state, dec, decAt = "decided", decision, decided
	}
	err := w.pool.QueryRow(context.Background(), `
INSERT INTO flags (work_order_id, provider_id, rule, severity, priority, source, summary, state, decision, decided_at, decided_by,
                   raised_at, due_at, updated_at, amount, currency)
SELECT id, provider_id, $2::text, $3, $4, 'answers', 'summary of ' || $2::text, $5, $6, $7, CASE WHEN $6::text IS NULL THEN NULL ELSE 'rev' END,
       $8, $9, $8, 120.50, currency
FROM work_orders WHERE id = $1 RETURNING id`, job, rule, string(sev), sev.Priority(), state, dec, decAt, w.now.Add(-48*time.Hour), due).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// get fetches path with client and returns the status and body.
func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// wantIn checks that each fragment is in the page.
func wantIn(t *testing.T, page string, fragments ...string) {
	t.Helper()
	for _, f := range fragments {
		if !strings.Contains(page, f) {
			t.Errorf("page lacks %q", f)
		}
	}
}

var svgRE = regexp.MustCompile(`(?s)<svg .*?</svg>`)

// pageCharts parses every chart of a page by its id.
func pageCharts(t *testing.T, page string) map[string]svgNode {
	t.Helper()
	out := map[string]svgNode{}
	for _, s := range svgRE.FindAllString(page, -1) {
		root := parseSVG(t, template.HTML(s))
		out[root.attr("id")] = root
	}
	return out
}

// The dashboard's figures on a small world whose answer is known, as the
// page shows them and as loadDashboard returns them. The first case is
// two completed attempts and a no-answer (contact and answer rate both
// 66.7%); the second adds a hung-up call, which reaches a person but
// answers nothing (contact 75.0%, answer 50.0%).
func TestDashboardFigures(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		hungUp                bool
		attempts, ended       int
		contactRate, answered string
		answerRate            string
	}{
		{"completed and no answer", false, 5, 3, "66.7%", "2", "66.7%"},
		{"and a hang-up", true, 6, 4, "75.0%", "2", "50.0%"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newDashWorld(t, 12)
			today := localDayStart(w.now)
			j := w.jobs
			// Today: two completed, one no answer, one ringing, one
			// suppressed (never dialled); yesterday's do not count.
			w.attempt(t, j[0], today.Add(time.Hour), "completed", true)
			w.attempt(t, j[1], today.Add(2*time.Hour), "completed", false)
			w.attempt(t, j[2], today.Add(3*time.Hour), "no_answer", false)
			w.attempt(t, j[3], w.now.Add(-time.Minute), "", false)
			w.attempt(t, j[4], today, "suppressed", false)
			w.attempt(t, j[5], today.Add(-time.Second), "completed", true)
			w.attempt(t, j[6], today.AddDate(0, 0, 1), "no_answer", false) // tomorrow: not today
			if tc.hungUp {
				w.attempt(t, j[7], today.Add(4*time.Hour), "hung_up", true)
			}
			// Flags: two critical open (one overdue), one low open; one high
			// decided today, one medium decided yesterday.
			w.flag(t, j[0], "V1", audit.Critical, w.now.Add(-time.Hour), time.Time{}, "")
			w.flag(t, j[1], "V2", audit.Critical, w.now.Add(time.Hour), time.Time{}, "")
			w.flag(t, j[2], "V10", audit.Low, w.now.Add(24*time.Hour), time.Time{}, "")
			w.flag(t, j[3], "V4", audit.High, w.now.Add(-72*time.Hour), today.Add(time.Hour), "confirmed")
			w.flag(t, j[4], "V5", audit.Medium, w.now.Add(-72*time.Hour), today.Add(-time.Hour), "cleared")
			// Campaigns: spring active with one of three contacts done; a
			// draft is not shown.
			w.exec(t, `INSERT INTO campaigns (name, state, source, definition) VALUES ('spring', 'active', '', '{}'), ('later', 'draft', '', '{}')`)
			for i, state := range []string{"done", "queued", "dialing"} {
				w.exec(t, `INSERT INTO contacts (campaign_id, work_order_id, phone_e164, zones, lang, state, channel, next_at, expires_at)
SELECT c.id, $1, '+8613800000000', '{Asia/Shanghai}', 'zh-CN', $2, 'voice', $3, $3 FROM campaigns c WHERE c.name = 'spring'`, j[i], state, w.now)
			}

			client := consoleLogin(t, w.ts, w.pool, "olga", audit.RoleReadonly)
			code, page := get(t, client, w.ts.URL+"/")
			if code != http.StatusOK {
				t.Fatalf("GET / = %d:\n%.600s", code, page)
			}
			wantIn(t, page,
				fmt.Sprintf(`id="dash-attempts">%d<`, tc.attempts),
				`id="dash-in-progress">1<`,
				fmt.Sprintf(`id="dash-contact-rate">%s<`, tc.contactRate),
				fmt.Sprintf(`id="dash-answer-rate">%s<`, tc.answerRate),
				fmt.Sprintf(`id="dash-ended">%d<`, tc.ended),
				fmt.Sprintf(`id="dash-answered">%s<`, tc.answered),
				`id="dash-overdue" href="/queue?overdue=1">1<`,
				`id="dash-open">3<`, `id="dash-decided">1<`,
				`id="dash-day">`+today.Format("2006-01-02"))
			charts := pageCharts(t, page)
			for _, id := range []string{"chart-attempts", "chart-flags", "chart-csat", "chart-nps", "chart-campaigns"} {
				if _, ok := charts[id]; !ok {
					t.Errorf("no chart %s", id)
				}
			}
			// Outcomes by count, then by name ("" for in progress first).
			labels := strings.Join(texts(byClass(charts["chart-attempts"], "label")), "|")
			values := strings.Join(texts(byClass(charts["chart-attempts"], "value")), "|")
			wantLabels, wantValues := "completed|in progress|no answer|suppressed", "2|1|1|1"
			if tc.hungUp {
				wantLabels, wantValues = "completed|in progress|hung up|no answer|suppressed", "2|1|1|1|1"
			}
			if labels != wantLabels || values != wantValues {
				t.Errorf("attempts chart %q = %q, want %q = %q", labels, values, wantLabels, wantValues)
			}
			flags := strings.Join(texts(byClass(charts["chart-flags"], "value")), "|")
			if flags != "2|0|0|1|0|0|1|0" {
				t.Errorf("flags chart values = %q (critical, high, medium, low × open, decided today)", flags)
			}
			if got := strings.Join(texts(byClass(charts["chart-campaigns"], "value")), "|"); got != "1 / 3" {
				t.Errorf("campaigns chart = %q", got)
			}
			if got := strings.Join(texts(byClass(charts["chart-campaigns"], "label")), "|"); got != "spring" {
				t.Errorf("campaigns chart labels = %q", got)
			}
		})
	}
}

// The CSAT and NPS trend: one point per day with answers, the latest
// answer of a fact per session (a retraction not answered again counts
// nothing), days in the server's zone, nothing older than 14 days.
func TestDashboardTrend(t *testing.T) {
	w := newDashWorld(t, 6)
	today := localDayStart(w.now)
	j := w.jobs
	csat := func(v int) [3]any { return [3]any{"csat", "answer", v} }
	nps := func(v int) [3]any { return [3]any{"nps", "answer", v} }
	w.answers(t, j[0], today.Add(time.Hour), csat(5), nps(10))
	w.answers(t, j[1], today.Add(2*time.Hour), csat(4), [3]any{"csat", "retract", 0}, csat(2), nps(0))
	w.answers(t, j[2], today.Add(3*time.Hour), csat(4), [3]any{"csat", "retract", 0})
	w.answers(t, j[3], today.Add(-time.Minute), csat(4), nps(9))                     // yesterday
	w.answers(t, j[4], today.AddDate(0, 0, -13), csat(1), nps(6))                    // the oldest day shown
	w.answers(t, j[5], today.AddDate(0, 0, -14).Add(23*time.Hour), csat(5), nps(10)) // 15 days ago: not shown

	d, err := (&Server{Pool: w.pool}).loadDashboard(context.Background(), w.now)
	if err != nil {
		t.Fatal(err)
	}
	show := func(ps []LinePoint) string {
		var out []string
		for _, p := range ps {
			if p.Value != nil {
				out = append(out, fmt.Sprintf("%s=%.1f/%d", p.Label, *p.Value, p.N))
			}
		}
		return fmt.Sprintf("%d days: %s", len(ps), strings.Join(out, " "))
	}
	day := func(back int) string { return today.AddDate(0, 0, -back).Format("01-02") }
	if got, want := show(d.CSAT), fmt.Sprintf("14 days: %s=0.0/1 %s=100.0/1 %s=50.0/2", day(13), day(1), day(0)); got != want {
		t.Errorf("CSAT trend %s\nwant %s", got, want)
	}
	if got, want := show(d.NPS), fmt.Sprintf("14 days: %s=-100.0/1 %s=100.0/1 %s=0.0/2", day(13), day(1), day(0)); got != want {
		t.Errorf("NPS trend %s\nwant %s", got, want)
	}
	// Only completed attempts made for the sessions, all ended today or
	// before: today's rates count the three of today.
	if d.Attempts != 3 || d.Answered != 3 || fmtPercent(d.AnswerRate) != "100.0%" {
		t.Errorf("attempts %d answered %d rate %s", d.Attempts, d.Answered, fmtPercent(d.AnswerRate))
	}

	client := consoleLogin(t, w.ts, w.pool, "olga", audit.RoleOps)
	_, page := get(t, client, w.ts.URL+"/")
	charts := pageCharts(t, page)
	if n := len(byClass(charts["chart-csat"], "point")); n != 3 {
		t.Errorf("CSAT chart has %d points, want 3", n)
	}
	if n := len(byClass(charts["chart-nps"], "point")); n != 3 {
		t.Errorf("NPS chart has %d points, want 3", n)
	}
}

// Logged out, the dashboard and the provider pages send the browser to the
// login page, coming back after.
func TestDashboardLoggedOut(t *testing.T) {
	w := newDashWorld(t, 1)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for path, next := range map[string]string{"/": "%2F", "/providers": "%2Fproviders", "/providers/X?from=2026-01-01": "%2Fproviders%2FX%3Ffrom%3D2026-01-01"} {
		resp, err := c.Get(w.ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next="+next {
			t.Errorf("GET %s = %d to %q, want 303 to /login?next=%s", path, resp.StatusCode, resp.Header.Get("Location"), next)
		}
	}
}

// The scorecards page lists every provider with jobs in the window, by
// risk (highest first, none last), with their risk; ?sort=code sorts by
// code; bad parameters are a 400 naming the parameter.
func TestProvidersPage(t *testing.T) {
	w := newDashWorld(t, 40)
	ctx := context.Background()
	codes := map[string]int{}
	rows, err := w.pool.Query(ctx, `SELECT p.code, count(*) FROM work_orders j JOIN providers p ON p.id = j.provider_id GROUP BY 1 ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var sorted []string
	for rows.Next() {
		var c string
		var n int
		if err := rows.Scan(&c, &n); err != nil {
			t.Fatal(err)
		}
		codes[c] = n
		sorted = append(sorted, c)
	}
	rows.Close()
	if len(sorted) < 3 {
		t.Fatalf("sample has %d providers, want at least 3", len(sorted))
	}
	risky, calm := sorted[len(sorted)-1], sorted[1]
	w.exec(t, `INSERT INTO provider_risk (provider_id, score, risky, computed_at)
SELECT id, CASE code WHEN $1 THEN 0.9 ELSE 0.3 END, code = $1, $3 FROM providers WHERE code IN ($1, $2)`, risky, calm, w.now)

	client := consoleLogin(t, w.ts, w.pool, "rita", audit.RoleReviewer)
	code, page := get(t, client, w.ts.URL+"/providers")
	if code != http.StatusOK {
		t.Fatalf("GET /providers = %d:\n%.600s", code, page)
	}
	order := regexp.MustCompile(`<tr id="prov-([^"]+)">`).FindAllStringSubmatch(page, -1)
	var got []string
	for _, m := range order {
		got = append(got, m[1])
	}
	var want []string
	want = append(want, risky, calm)
	for _, c := range sorted {
		if c != risky && c != calm {
			want = append(want, c)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("providers by risk = %v, want %v", got, want)
	}
	wantIn(t, page,
		fmt.Sprintf(`<tr id="prov-%s">`, risky), `<td class="num risk">0.90</td>`, `<td class="num risk">0.30</td>`,
		fmt.Sprintf(`<a href="/providers/%s?from=`, risky),
		`value="`+localDayStart(w.now).AddDate(0, 0, -29).Format("2006-01-02")+`"`)
	rowRE := regexp.MustCompile(fmt.Sprintf(`(?s)<tr id="prov-%s">.*?<td class="num">(\d+)</td>`, regexp.QuoteMeta(risky)))
	if m := rowRE.FindStringSubmatch(page); m == nil || m[1] != fmt.Sprint(codes[risky]) {
		t.Errorf("jobs of %s = %v, want %d", risky, m, codes[risky])
	}
	risk := pageCharts(t, page)["chart-risk"]
	if got := strings.Join(texts(byClass(risk, "label")), "|"); got != risky+"|"+calm {
		t.Errorf("risk chart labels = %q", got)
	}

	_, page = get(t, client, w.ts.URL+"/providers?sort=code")
	got = nil
	for _, m := range regexp.MustCompile(`<tr id="prov-([^"]+)">`).FindAllStringSubmatch(page, -1) {
		got = append(got, m[1])
	}
	if strings.Join(got, ",") != strings.Join(sorted, ",") {
		t.Errorf("providers by code = %v, want %v", got, sorted)
	}

	// A window with no jobs lists nobody.
	_, page = get(t, client, w.ts.URL+"/providers?from=2020-01-01&to=2020-01-31")
	wantIn(t, page, `id="prov-none"`)

	for _, c := range []struct{ query, msg string }{
		{"from=yesterday", `parameter from: &#34;yesterday&#34; is not a day (YYYY-MM-DD)`},
		{"to=2026-13-01", `parameter to: &#34;2026-13-01&#34; is not a day`},
		{"from=2026-11-20&to=2026-11-19", `parameter to: 2026-11-19 is before from (2026-11-20)`},
		{"from=2024-01-01&to=2026-01-01", `parameter to: the window from 2024-01-01 is longer than 366 days`},
		{"sort=cost", `parameter sort: &#34;cost&#34; is not one of risk, code, jobs, confirmed, csat`},
	} {
		code, page := get(t, client, w.ts.URL+"/providers?"+c.query)
		if code != http.StatusBadRequest || !strings.Contains(page, c.msg) {
			t.Errorf("?%s = %d, want 400 with %q:\n%.300s", c.query, code, c.msg, page)
		}
	}
	// The same window one day wide is fine.
	if code, _ := get(t, client, w.ts.URL+"/providers?from=2026-11-20&to=2026-11-20"); code != http.StatusOK {
		t.Errorf("one-day window = %d", code)
	}
}

// One provider's page: its scorecard, its statistics drawn with their
// intervals, its findings by rule and its recent confirmed findings linked
// to the flag; an unknown code is a 404.
func TestProviderPage(t *testing.T) {
	w := newDashWorld(t, 20)
	ctx := context.Background()
	var prov string
	var provID int64
	var jobs []int64
	rows, err := w.pool.Query(ctx, `SELECT p.code, p.id, j.id FROM work_orders j JOIN providers p ON p.id = j.provider_id
WHERE p.id = (SELECT provider_id FROM work_orders GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1) ORDER BY j.id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var j int64
		if err := rows.Scan(&prov, &provID, &j); err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, j)
	}
	rows.Close()
	if len(jobs) < 3 {
		t.Fatalf("provider %s has %d jobs", prov, len(jobs))
	}
	confirmed := w.flag(t, jobs[0], "V2", audit.Critical, w.now, w.now.Add(-time.Hour), "confirmed")
	w.flag(t, jobs[1], "V2", audit.Critical, w.now, w.now.Add(-2*time.Hour), "cleared")
	w.flag(t, jobs[2], "V10", audit.Low, w.now.Add(time.Hour), time.Time{}, "")
	w.exec(t, `INSERT INTO provider_stats (provider_id, metric, n, value, lower, upper, reference, outlier, computed_at) VALUES
($1, 'P1.parts_per_repair', 40, 2, 1.5, 2.5, 1, true, $2), ($1, 'P4.repeat_rate', 40, 0.05, 0.02, 0.08, 0.1, false, $2)`, provID, w.now)
	w.exec(t, `INSERT INTO provider_risk (provider_id, score, risky, computed_at) VALUES ($1, 0.6, true, $2)`, provID, w.now)

	client := consoleLogin(t, w.ts, w.pool, "ada", audit.RoleAdmin)
	code, page := get(t, client, w.ts.URL+"/providers/"+prov)
	if code != http.StatusOK {
		t.Fatalf("GET /providers/%s = %d:\n%.600s", prov, code, page)
	}
	wantIn(t, page,
		fmt.Sprintf(`<a href="/flags/%d">#%d</a>`, confirmed, confirmed),
		`summary of V2`, `120.50`,
		fmt.Sprintf(`id="card-jobs">%d<`, len(jobs)),
		`id="card-open">1<`, `id="card-confirmed">1<`, `id="card-risk">0.60<`,
		`<tr id="stat-P1.parts_per_repair">`)
	if strings.Count(page, `href="/flags/`) != 1 {
		t.Errorf("%d flag links, want only the confirmed one", strings.Count(page, `href="/flags/`))
	}
	charts := pageCharts(t, page)
	if got := strings.Join(texts(byClass(charts["chart-stats"], "label")), "|"); got != "P1.parts_per_repair|P4.repeat_rate" {
		t.Errorf("interval chart rows = %q", got)
	}
	if got := strings.Join(texts(byClass(charts["chart-stats"], "numbers")), "|"); got != "2 [1.5, 2.5] · 1|0.05 [0.02, 0.08] · 0.1" {
		t.Errorf("interval chart numbers = %q", got)
	}
	rules := charts["chart-rules"]
	if got := strings.Join(texts(byClass(rules, "label")), "|") + " = " + strings.Join(texts(byClass(rules, "value")), "|"); got != "V2 · confirmed|V10 · open = 1|1" {
		t.Errorf("findings by rule: %s", got)
	}

	// In Chinese.
	w.exec(t, `UPDATE users SET lang = 'zh-CN' WHERE username = 'ada'`)
	_, page = get(t, client, w.ts.URL+"/providers/"+prov)
	wantIn(t, page, "最近确认的发现", "统计指标与参照值", "严重")

	code, page = get(t, client, w.ts.URL+"/providers/NO-SUCH")
	if code != http.StatusNotFound || !strings.Contains(page, `id="prov-missing"`) {
		t.Errorf("unknown provider = %d:\n%.300s", code, page)
	}
}

// The scorecards are served from memory for scorecardTTL; after that the
// next request still gets the old ones at once while they are recomputed
// in the background, and the request after that gets the new ones.
func TestScorecardCache(t *testing.T) {
	w := newDashWorld(t, 10)
	ctx := context.Background()
	clock := w.now
	s := &Server{Pool: w.pool, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return clock }}
	from, to := localDayStart(w.now).AddDate(0, 0, -29), localDayStart(w.now).AddDate(0, 0, 1)
	risks := func(cards []audit.Scorecard) int {
		n := 0
		for _, c := range cards {
			if c.Risk != nil {
				n++
			}
		}
		return n
	}
	cards, at, err := s.loadScorecards(ctx, from, to)
	if err != nil || len(cards) == 0 || risks(cards) != 0 || !at.Equal(w.now) {
		t.Fatalf("first: %d cards, %d risks, at %s, %v", len(cards), risks(cards), at, err)
	}
	w.exec(t, `INSERT INTO provider_risk (provider_id, score, risky, computed_at) SELECT id, 0.5, false, $1 FROM providers`, w.now)
	clock = w.now.Add(scorecardTTL - time.Second)
	if cards, at, _ = s.loadScorecards(ctx, from, to); risks(cards) != 0 || !at.Equal(w.now) {
		t.Errorf("within the TTL: %d risks at %s, want the cached 0 at %s", risks(cards), at, w.now)
	}
	clock = w.now.Add(scorecardTTL)
	if cards, at, _ = s.loadScorecards(ctx, from, to); risks(cards) != 0 || !at.Equal(w.now) {
		t.Errorf("just stale: %d risks at %s, want the cached 0 while recomputing", risks(cards), at)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		cards, at, _ = s.loadScorecards(ctx, from, to)
		if risks(cards) == len(cards) && at.Equal(clock) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the refresh: %d of %d risks at %s", risks(cards), len(cards), at)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Another window is computed on its own.
	if cards, at, _ = s.loadScorecards(ctx, from.AddDate(0, 0, 1), to); risks(cards) != len(cards) || !at.Equal(clock) {
		t.Errorf("other window: %d risks at %s", risks(cards), at)
	}
}
