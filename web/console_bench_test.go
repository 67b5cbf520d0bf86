package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/audit"
	"github.com/huifang/huifang/campaigns"
	"github.com/huifang/huifang/internal/testdb"
	"github.com/huifang/huifang/workorders"
	"github.com/huifang/huifang/workorders/sample"
)

// The console benchmark's world: consoleBenchBase jobs through the ordinary
// intake path, then consoleBenchCopies copies of them written with
// INSERT … SELECT, each moved consoleBenchShift days further back, so
// 1,000,000 jobs fill about 90 days; 100,000 flags; a history of contacts,
// attempts and answers over those days; and a few thousand of them today.
const (
	consoleBenchBase     = 125_000
	consoleBenchCopies   = 7
	consoleBenchShift    = 11
	consoleBenchRequests = 200
)

// BenchmarkConsolePages measures the dashboard, the review queue and the
// provider scorecards over real HTTP with a logged-in session, on a
// database of 1,000,000 jobs and 100,000 flags. Seeding takes a few
// minutes and is not timed. Each iteration makes consoleBenchRequests GET
// requests per page, one after another; the 50th, 95th and 99th
// percentiles of their latency are reported per page in milliseconds.
//
//	go test -run '^$' -bench ConsolePages -benchtime 1x -timeout 30m ./web/
//
// The review queue is measured as the console page /queue when the console
// serves it, and always as the review API's default queue query (GET
// /api/v1/audit/flags).
func BenchmarkConsolePages(b *testing.B) {
	if testing.Short() {
		b.Skip("seeds 1,000,000 jobs")
	}
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 15, 0, 0, 0, time.Local)
	clock := func() time.Time { return now }
	pool := testdb.New(b)
	seedStart := time.Now()
	seedConsoleBench(b, ctx, pool, now)
	b.Logf("seeded in %s: %s", time.Since(seedStart).Round(time.Second), benchCounts(b, ctx, pool))

	st := audit.NewStore(pool)
	st.Now = clock
	s := &Server{Pool: pool, Audit: st, WorkOrders: &workorders.Store{Pool: pool, Now: clock},
		Campaigns: &campaigns.Store{Pool: pool, Now: clock}, AdminToken: "bench-admin-token",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: clock}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	client := consoleLogin(b, ts, pool, "bench", audit.RoleAdmin)

	type page struct {
		name, path, token string
	}
	pages := []page{{"dashboard", "/", ""}, {"providers", "/providers", ""}, {"queue-api", "/api/v1/audit/flags", "bench-admin-token"},
		{"jobs-last4", "/jobs?q=1234", ""}}
	if code, _ := benchGet(b, client, ts.URL+"/queue", ""); code == http.StatusOK {
		pages = append(pages, page{"queue", "/queue", ""})
	} else {
		b.Logf("GET /queue = %d: the console's queue page is not served; measuring the review API's queue only", code)
	}
	for _, p := range pages {
		// One warm-up request each, not counted: the first render parses
		// the templates, and the first /providers computes the scorecards
		// the following requests get from memory.
		t0 := time.Now()
		code, body := benchGet(b, client, ts.URL+p.path, p.token)
		if code != http.StatusOK {
			b.Fatalf("GET %s = %d:\n%.500s", p.path, code, body)
		}
		b.Logf("first GET %s: %s", p.path, time.Since(t0).Round(time.Millisecond))
		if strings.HasPrefix(p.path, "/jobs") {
			b.Logf("%s shows %d jobs on its first page", p.path, strings.Count(body, `<tr id="job-`))
		}
		if p.name == "providers" {
			b.ReportMetric(float64(time.Since(t0).Milliseconds()), "providers-cold-ms")
		}
	}
	took := map[string][]time.Duration{}
	b.ResetTimer()
	for b.Loop() {
		for _, p := range pages {
			for range consoleBenchRequests {
				t0 := time.Now()
				if code, body := benchGet(b, client, ts.URL+p.path, p.token); code != http.StatusOK {
					b.Fatalf("GET %s = %d:\n%.500s", p.path, code, body)
				}
				took[p.name] = append(took[p.name], time.Since(t0))
			}
		}
	}
	b.StopTimer()
	for _, p := range pages {
		d := took[p.name]
		slices.Sort(d)
		q := func(f float64) float64 {
			i := min(len(d)-1, int(f*float64(len(d))+0.5)-1)
			return float64(d[max(i, 0)].Microseconds()) / 1000
		}
		b.ReportMetric(q(0.50), p.name+"-p50-ms")
		b.ReportMetric(q(0.95), p.name+"-p95-ms")
		b.ReportMetric(q(0.99), p.name+"-p99-ms")
		b.Logf("%-10s %s: n=%d p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms", p.name, p.path, len(d), q(0.5), q(0.95), q(0.99),
			float64(d[len(d)-1].Microseconds())/1000)
	}
}

// benchGet fetches url (with a bearer token if given) and reads the whole
// body.
func benchGet(b *testing.B, c *http.Client, url, token string) (int, string) {
	b.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		b.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func benchExec(b *testing.B, ctx context.Context, pool *pgxpool.Pool, sql string, args ...any) {
	b.Helper()
	if _, err := pool.Exec(ctx, sql, args...); err != nil {
		b.Fatalf("%v\n%s", err, sql)
	}
}

// seedConsoleBench writes the benchmark's world.
func seedConsoleBench(b *testing.B, ctx context.Context, pool *pgxpool.Pool, now time.Time) {
	ws := &workorders.Store{Pool: pool, Now: func() time.Time { return now }}
	src, err := ws.EnsureSource(ctx, "sample", "file", workorders.Defaults{Region: "CN"})
	if err != nil {
		b.Fatal(err)
	}
	if res, err := sample.Load(ctx, ws, src, sample.Config{Seed: 1, Jobs: consoleBenchBase, Now: now}); err != nil {
		b.Fatalf("load: %v %v", err, res.Errors)
	}
	var maxID int64
	if err := pool.QueryRow(ctx, `SELECT max(id) FROM work_orders`).Scan(&maxID); err != nil {
		b.Fatal(err)
	}
	for k := 1; k <= consoleBenchCopies; k++ {
		benchExec(b, ctx, pool, `
INSERT INTO work_orders (id, source_id, external_id, kind, completed_at, customer_id, provider_id, technician,
                         technician_phone_e164, brand, product_category, product_model, serial_number, warranty_status,
                         warranty_ends_on, delivered_on, fault, currency, customer_paid, labour_minutes, labour_amount,
                         parts_amount, parts_digest)
OVERRIDING SYSTEM VALUE
SELECT id + $1, source_id, external_id || '-' || $2, kind, completed_at - $3 * interval '1 day', customer_id, provider_id,
       technician, technician_phone_e164, brand, product_category, product_model,
       CASE WHEN serial_number = '' THEN '' ELSE serial_number || '-' || $2 END, warranty_status,
       warranty_ends_on, delivered_on, fault, currency, customer_paid, labour_minutes, labour_amount, parts_amount, parts_digest
FROM work_orders WHERE id <= $4`, int64(k)*maxID, fmt.Sprint(k), k*consoleBenchShift, maxID)
	}
	// 100,000 flags: one job in ten, the answer and intake rules spread
	// over them with their severities; four in ten decided (a third of
	// those confirmed) over the last 30 days, some today; raised the day
	// after the job, due three days later, so many of the open ones are
	// overdue.
	var codes, sevs []string
	var prios []int
	for _, r := range audit.Rules {
		if r.Code[0] == 'V' {
			codes, sevs, prios = append(codes, r.Code), append(sevs, string(r.Severity)), append(prios, r.Severity.Priority())
		}
	}
	benchExec(b, ctx, pool, `
INSERT INTO flags (work_order_id, provider_id, rule, severity, priority, source, summary, currency, claim_value, amount,
                   state, decision, decided_by, decided_at, raised_at, due_at, updated_at)
SELECT j.id, j.provider_id, ($1::text[])[r], ($2::text[])[r], ($3::int[])[r], 'answers', 'benchmark finding ' || j.external_id,
       j.currency, j.labour_amount + j.parts_amount, CASE WHEN d AND j.id % 3 = 0 THEN j.parts_amount ELSE 0 END,
       CASE WHEN d THEN 'decided' ELSE 'open' END,
       CASE WHEN NOT d THEN NULL WHEN j.id % 3 = 0 THEN 'confirmed' ELSE 'cleared' END,
       CASE WHEN d THEN 'reviewer' END,
       CASE WHEN d THEN $4::timestamptz - (j.id / 10 % 30) * interval '1 day' - (j.id % 600) * interval '1 minute' END,
       j.completed_at + interval '1 day', j.completed_at + interval '4 days', $4
FROM (SELECT id, provider_id, external_id, currency, labour_amount, parts_amount, completed_at,
             1 + (id / 10) % cardinality($1::text[]) AS r, id % 100 < 40 AS d
      FROM work_orders WHERE id % 10 = 0) j`, codes, sevs, prios, now)
	// Provider flags (statistics) and risk.
	benchExec(b, ctx, pool, `
INSERT INTO provider_risk (provider_id, score, risky, computed_at)
SELECT id, (id % 10) / 10.0, id % 10 >= 7, $1 FROM providers`, now)

	// Surveys and campaigns: three active campaigns and one finished.
	benchExec(b, ctx, pool, `
WITH s AS (INSERT INTO surveys (name) VALUES ('bench') RETURNING id)
INSERT INTO survey_versions (survey_id, version, source, definition, sha256) SELECT id, 1, '', '{}', repeat('0', 64) FROM s`)
	benchExec(b, ctx, pool, `
INSERT INTO campaigns (name, state, source, definition) VALUES
('spring-repairs', 'active', '', '{}'), ('installs-cn', 'active', '', '{}'), ('installs-us', 'active', '', '{}'),
('summer', 'completed', '', '{}')`)
	// History: a contact for one job in ten over the 90 days (done), each
	// with one attempt at the job's completion plus a day, the outcomes
	// spread as a dialler sees them; today: 3,000 contacts of recent jobs
	// with an attempt each during today, and some still queued.
	benchExec(b, ctx, pool, `
INSERT INTO contacts (campaign_id, work_order_id, phone_e164, zones, lang, state, outcome, channel, attempts, next_at, expires_at, created_at, ended_at)
SELECT (SELECT id FROM campaigns WHERE name = CASE j.id % 4 WHEN 0 THEN 'summer' WHEN 1 THEN 'spring-repairs'
                                                           WHEN 2 THEN 'installs-cn' ELSE 'installs-us' END),
       j.id, '+8613800000000', '{Asia/Shanghai}', 'zh-CN',
       CASE WHEN j.completed_at > $1::timestamptz - interval '2 days' AND j.id % 3 = 0 THEN 'queued' ELSE 'done' END,
       CASE WHEN j.completed_at > $1::timestamptz - interval '2 days' AND j.id % 3 = 0 THEN NULL ELSE 'completed' END,
       'voice', 1, j.completed_at + interval '1 day', j.completed_at + interval '8 days', j.completed_at, j.completed_at + interval '1 day'
FROM work_orders j WHERE j.id % 10 = 1 AND j.completed_at < $1`, now)
	today := localDayStart(now)
	outcomes := []string{"completed", "completed", "partial", "no_answer", "no_answer", "no_answer", "busy", "machine", "hung_up", "failed"}
	benchExec(b, ctx, pool, `
INSERT INTO attempts (work_order_id, contact_id, channel, to_e164, from_e164, state, outcome, created_at, placed_at, answered_at, ended_at)
SELECT k.work_order_id, k.id, 'voice', '+8613800000000', '+862038001234', 'ended', o, t, t,
       CASE WHEN o IN ('completed', 'partial', 'hung_up') THEN t + interval '15 seconds' END, t + interval '2 minutes'
FROM (SELECT k.*, ($2::text[])[1 + k.id % 10] AS o,
             CASE WHEN k.next_at >= $1 THEN $3::timestamptz + (k.id % 600) * interval '1 minute' ELSE k.next_at END AS t
      FROM contacts k) k`, now, outcomes, today)
	// Sessions and answers for the completed and partial attempts: a CSAT,
	// an NPS and a "fixed?" answer each.
	benchExec(b, ctx, pool, `
INSERT INTO survey_sessions (attempt_id, work_order_id, survey_version_id, channel, lang, phone_e164, job, status, end_reason, opened_at, ended_at)
SELECT a.id, a.work_order_id, (SELECT id FROM survey_versions LIMIT 1), 'voice', 'zh-CN', a.to_e164, '{}', 'ended',
       CASE WHEN a.outcome = 'completed' THEN 'completed' ELSE 'hung_up' END, a.answered_at, a.ended_at
FROM attempts a WHERE a.outcome IN ('completed', 'partial')`)
	benchExec(b, ctx, pool, `
INSERT INTO survey_answers (session_id, seq, survey_version_id, question, event, fact, value, received_at)
SELECT s.id, f.seq, s.survey_version_id, f.fact, 'answer', f.fact,
       CASE f.fact WHEN 'fixed' THEN jsonb_build_object('kind', 'bool', 'bool', s.id % 5 <> 0)
                   WHEN 'csat' THEN jsonb_build_object('kind', 'int', 'int', 1 + s.id % 5)
                   ELSE jsonb_build_object('kind', 'int', 'int', s.id % 11) END,
       s.opened_at + f.seq * interval '20 seconds'
FROM survey_sessions s CROSS JOIN (VALUES (0, 'csat'), (1, 'nps'), (2, 'fixed')) AS f (seq, fact)`)
	for _, t := range []string{"work_orders", "flags", "contacts", "attempts", "survey_sessions", "survey_answers", "provider_risk", "campaigns"} {
		benchExec(b, ctx, pool, `VACUUM ANALYZE `+t)
	}
}

// benchCounts says how big the seeded world is.
func benchCounts(b *testing.B, ctx context.Context, pool *pgxpool.Pool) string {
	var parts []string
	for _, q := range []struct{ name, sql string }{
		{"jobs", `SELECT count(*) FROM work_orders`},
		{"flags", `SELECT count(*) FROM flags`},
		{"open flags", `SELECT count(*) FROM flags WHERE state <> 'decided'`},
		{"contacts", `SELECT count(*) FROM contacts`},
		{"attempts", `SELECT count(*) FROM attempts`},
		{"attempts today", `SELECT count(*) FROM attempts WHERE created_at >= date_trunc('day', $1::timestamptz)`},
		{"answers", `SELECT count(*) FROM survey_answers`},
	} {
		var n int64
		args := []any{}
		if strings.Contains(q.sql, "$1") {
			args = append(args, localDayStart(time.Date(2026, 11, 25, 15, 0, 0, 0, time.Local)))
		}
		if err := pool.QueryRow(ctx, q.sql, args...).Scan(&n); err != nil {
			b.Fatal(err)
		}
		parts = append(parts, fmt.Sprintf("%d %s", n, q.name))
	}
	return strings.Join(parts, ", ")
}
