package workorders_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/huifang/huifang/internal/testdb"
	"github.com/huifang/huifang/workorders"
)

// upstreamJob is a job as an upstream system holds it.
type upstreamJob struct {
	ID          string
	CompletedAt time.Time
	Phone       string
}

func makeJobs(n int, start time.Time) []upstreamJob {
	jobs := make([]upstreamJob, n)
	for i := range jobs {
		// Several jobs share each completion time, so paging must use the id too.
		jobs[i] = upstreamJob{
			ID:          fmt.Sprintf("UP-%05d", i),
			CompletedAt: start.Add(time.Duration(i/3) * time.Minute),
			Phone:       fmt.Sprintf("+86138%08d", i),
		}
	}
	return jobs
}

func (j upstreamJob) object() map[string]any {
	return map[string]any{
		"external_id": j.ID, "kind": "repair", "completed_at": j.CompletedAt.Format(time.RFC3339Nano),
		"customer_name": "客户" + j.ID, "phone": j.Phone, "region": "CN-ZJ", "provider_code": "HZ-01",
		"product_category": "water_heater", "product_model": "JSQ-1",
		"parts": []map[string]any{{"code": "HTR-1", "quantity": 1, "unit_cost": "99.00"}},
	}
}

// httpUpstream serves jobs the way the HTTP pull source expects: rows after
// (since, after_id) in (completed_at, external_id) order, limit at a time.
type httpUpstream struct {
	mu       sync.Mutex
	jobs     []upstreamJob
	requests int
	// breakOn, if > 0, makes that request (1-based) drop the connection
	// half-way through the body, as a network failure or crash would.
	breakOn int
	token   string
}

func (u *httpUpstream) add(jobs ...upstreamJob) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.jobs = append(u.jobs, jobs...)
	sort.Slice(u.jobs, func(a, b int) bool {
		if !u.jobs[a].CompletedAt.Equal(u.jobs[b].CompletedAt) {
			return u.jobs[a].CompletedAt.Before(u.jobs[b].CompletedAt)
		}
		return u.jobs[a].ID < u.jobs[b].ID
	})
}

func (u *httpUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	u.requests++
	n := u.requests
	jobs := append([]upstreamJob(nil), u.jobs...)
	u.mu.Unlock()
	if u.token != "" && r.Header.Get("Authorization") != "Bearer "+u.token {
		http.Error(w, "unauthorised", http.StatusUnauthorized)
		return
	}
	since, err := time.Parse(time.RFC3339Nano, r.URL.Query().Get("since"))
	if err != nil {
		http.Error(w, "bad since", http.StatusBadRequest)
		return
	}
	after := r.URL.Query().Get("after_id")
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	var page []map[string]any
	for _, j := range jobs {
		if j.CompletedAt.After(since) || (j.CompletedAt.Equal(since) && j.ID > after) {
			page = append(page, j.object())
			if len(page) == limit {
				break
			}
		}
	}
	body, _ := json.Marshal(map[string]any{"work_orders": page})
	if n == u.breakOn {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body[:len(body)/2])
		hj, _ := w.(http.Hijacker)
		conn, _, _ := hj.Hijack()
		conn.Close()
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

type pullFixture struct {
	st     *workorders.Store
	puller *workorders.Puller
	up     *httpUpstream
}

func setupHTTPPull(t *testing.T, jobs []upstreamJob, pageSize int, overlap string) *pullFixture {
	t.Helper()
	pool := testdb.New(t)
	up := &httpUpstream{token: "s3cret"}
	up.add(jobs...)
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	st := &workorders.Store{Pool: pool, Now: func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }}
	_, err := st.SavePullSource(context.Background(), "erp", "http", "@every 5m", workorders.Defaults{Region: "CN"},
		workorders.PullConfig{URL: srv.URL + "/completed", TokenEnv: "ERP_TOKEN", PageSize: pageSize, Overlap: overlap})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ERP_TOKEN": "s3cret"}
	return &pullFixture{st: st, up: up, puller: &workorders.Puller{Store: st, Getenv: func(k string) string { return env[k] }}}
}

// stored returns the external ids of stored jobs and how often each occurs.
func storedIDs(t *testing.T, st *workorders.Store) map[string]int {
	t.Helper()
	rows, err := st.Pool.Query(context.Background(), `SELECT external_id FROM work_orders`)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int{}
	for _, id := range ids {
		m[id]++
	}
	return m
}

func watermark(t *testing.T, st *workorders.Store) (time.Time, string) {
	t.Helper()
	src, err := st.SourceByName(context.Background(), "erp")
	if err != nil {
		t.Fatal(err)
	}
	return src.WatermarkAt, src.WatermarkID
}

func TestHTTPPullPagesAndAdvancesWatermark(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)
	jobs := makeJobs(250, start)
	f := setupHTTPPull(t, jobs, 100, "")
	ctx := context.Background()
	res, err := f.puller.Pull(ctx, "erp")
	if err != nil {
		t.Fatal(err)
	}
	if res.Pages != 3 || res.Rows != 250 || res.Inserted != 250 {
		t.Fatalf("first pull = %+v, want 3 pages, 250 rows inserted", res)
	}
	at, id := watermark(t, f.st)
	if last := jobs[len(jobs)-1]; !at.Equal(last.CompletedAt) || id != last.ID {
		t.Fatalf("watermark = %s %s, want %s %s", at, id, last.CompletedAt, last.ID)
	}
	var parts int
	f.st.Pool.QueryRow(ctx, `SELECT count(*) FROM claimed_parts`).Scan(&parts)
	if parts != 250 {
		t.Fatalf("%d claimed parts, want 250", parts)
	}

	// Nothing new upstream: one request, nothing written.
	res, err = f.puller.Pull(ctx, "erp")
	if err != nil || res.Rows != 0 {
		t.Fatalf("second pull = %+v, %v; want no rows", res, err)
	}
	// New jobs arrive: only they are fetched.
	more := makeJobs(260, start)[250:]
	for i := range more {
		more[i].CompletedAt = start.Add(24 * time.Hour).Add(time.Duration(i) * time.Second)
	}
	f.up.add(more...)
	res, err = f.puller.Pull(ctx, "erp")
	if err != nil || res.Rows != 10 || res.Inserted != 10 {
		t.Fatalf("third pull = %+v, %v; want 10 new rows", res, err)
	}
	if ids := storedIDs(t, f.st); len(ids) != 260 {
		t.Fatalf("%d jobs stored, want 260", len(ids))
	}
	src, _ := f.st.SourceByName(ctx, "erp")
	if src.LastRunRows != 10 || src.LastError != "" {
		t.Fatalf("source run record = %d rows, error %q", src.LastRunRows, src.LastError)
	}
}

// A crash after a page is committed leaves the watermark at that page; a
// crash while a page is in flight leaves nothing of it. Either way the next
// run resumes with every job stored exactly once.
func TestHTTPPullResumesAfterCrashWithoutLossOrDoubles(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)
	jobs := makeJobs(500, start)
	f := setupHTTPPull(t, jobs, 100, "")
	ctx := context.Background()

	// 1. The process dies right after committing page 2.
	crash := errors.New("simulated crash")
	f.puller.AfterPage = func(page int, _ workorders.ImportResult) error {
		if page == 2 {
			return crash
		}
		return nil
	}
	if _, err := f.puller.Pull(ctx, "erp"); !errors.Is(err, crash) {
		t.Fatalf("err = %v, want the simulated crash", err)
	}
	if ids := storedIDs(t, f.st); len(ids) != 200 {
		t.Fatalf("after crash at page 2: %d jobs stored, want 200", len(ids))
	}
	if at, id := watermark(t, f.st); id != jobs[199].ID || !at.Equal(jobs[199].CompletedAt) {
		t.Fatalf("watermark %s %s, want job 199", at, id)
	}

	// 2. The connection drops half-way through the next page.
	f.puller.AfterPage = nil
	f.up.mu.Lock()
	f.up.breakOn = f.up.requests + 2 // page 3 succeeds, page 4 breaks
	f.up.mu.Unlock()
	if _, err := f.puller.Pull(ctx, "erp"); err == nil {
		t.Fatal("pull over a dropped connection succeeded")
	}
	if ids := storedIDs(t, f.st); len(ids) != 300 {
		t.Fatalf("after a dropped page 4: %d jobs stored, want 300", len(ids))
	}
	src, _ := f.st.SourceByName(ctx, "erp")
	if src.LastError == "" || src.WatermarkID != jobs[299].ID {
		t.Fatalf("source after failure: error %q, watermark %s (want job 299)", src.LastError, src.WatermarkID)
	}

	// 3. The next run finishes the job.
	res, err := f.puller.Pull(ctx, "erp")
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 200 {
		t.Fatalf("resume read %d rows, want the remaining 200", res.Rows)
	}
	ids := storedIDs(t, f.st)
	for _, j := range jobs {
		if ids[j.ID] != 1 {
			t.Fatalf("job %s stored %d times, want once", j.ID, ids[j.ID])
		}
	}
	if len(ids) != len(jobs) {
		t.Fatalf("%d jobs stored, want %d", len(ids), len(jobs))
	}
}

func TestHTTPPullRecordsRejectsAndMovesOn(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)
	jobs := makeJobs(30, start)
	jobs[29].Phone = "12345" // the last row of the only page is invalid
	f := setupHTTPPull(t, jobs, 100, "")
	ctx := context.Background()
	res, err := f.puller.Pull(ctx, "erp")
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != 29 || res.Rejected != 1 {
		t.Fatalf("pull = %+v, want 29 inserted and 1 rejected", res)
	}
	var place, ext, msg string
	if err := f.st.Pool.QueryRow(ctx, `SELECT place, external_id, errors FROM intake_rejects`).Scan(&place, &ext, &msg); err != nil {
		t.Fatal(err)
	}
	if place != "pull erp: /work_orders/29" || ext != jobs[29].ID || !strings.HasPrefix(msg, "phone: ") {
		t.Fatalf("reject = %q %q %q", place, ext, msg)
	}
	// The watermark moved past the bad row, so it is not fetched again and again.
	if _, id := watermark(t, f.st); id != jobs[29].ID {
		t.Fatalf("watermark at %s, want past the rejected row %s", id, jobs[29].ID)
	}
	res, _ = f.puller.Pull(ctx, "erp")
	if res.Rows != 0 {
		t.Fatalf("a second pull re-read %d rows", res.Rows)
	}
}

// A job the upstream commits late, with a completion time before the
// watermark, is only seen by a source with an overlap.
func TestHTTPPullOverlapCatchesLateRows(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		overlap string
		want    int
	}{{"", 0}, {"30m", 1}} {
		f := setupHTTPPull(t, makeJobs(30, start), 100, tc.overlap)
		ctx := context.Background()
		if _, err := f.puller.Pull(ctx, "erp"); err != nil {
			t.Fatal(err)
		}
		late := upstreamJob{ID: "UP-LATE", CompletedAt: start.Add(5 * time.Minute), Phone: "+8613999999999"}
		f.up.add(late)
		res, err := f.puller.Pull(ctx, "erp")
		if err != nil {
			t.Fatal(err)
		}
		if res.Inserted != tc.want {
			t.Errorf("overlap %q: late job inserted %d times, want %d", tc.overlap, res.Inserted, tc.want)
		}
		if at, id := watermark(t, f.st); id != "UP-00029" || !at.Equal(start.Add(9*time.Minute)) {
			t.Errorf("overlap %q: watermark moved back to %s %s", tc.overlap, at, id)
		}
	}
}

func TestHTTPPullNeedsItsToken(t *testing.T) {
	t.Parallel()
	f := setupHTTPPull(t, makeJobs(3, time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)), 100, "")
	f.puller.Getenv = func(string) string { return "" }
	_, err := f.puller.Pull(context.Background(), "erp")
	if err == nil || !strings.Contains(err.Error(), "ERP_TOKEN") {
		t.Fatalf("err = %v, want it to name the missing ERP_TOKEN variable", err)
	}
	f.puller.Getenv = func(string) string { return "wrong" }
	_, err = f.puller.Pull(context.Background(), "erp")
	if err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("err = %v, want a 401 that does not echo the token", err)
	}
}

func TestConcurrentPullsOfOneSourceDoNotOverlap(t *testing.T) {
	t.Parallel()
	f := setupHTTPPull(t, makeJobs(3, time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)), 100, "")
	ctx := context.Background()
	entered := make(chan struct{})
	release := make(chan struct{})
	first := *f.puller
	first.AfterPage = func(int, workorders.ImportResult) error {
		close(entered)
		<-release
		return nil
	}
	done := make(chan error)
	go func() { _, err := first.Pull(ctx, "erp"); done <- err }()
	<-entered
	if _, err := f.puller.Pull(ctx, "erp"); !errors.Is(err, workorders.ErrBusy) {
		t.Fatalf("second concurrent pull: err = %v, want ErrBusy", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestSQLPullFromUpstreamPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	upstreamURL := testdb.NewURL(t)
	up, err := pgx.Connect(ctx, upstreamURL)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close(ctx)
	_, err = up.Exec(ctx, `CREATE TABLE svc_orders (
		order_no text PRIMARY KEY, finished timestamptz NOT NULL, kind text, cust text, mobile text,
		province text, station text, category text, model text, part_list text, fee numeric(10,2));
		INSERT INTO svc_orders
		SELECT 'SO-' || lpad(g::text, 4, '0'), '2026-11-20 08:00+08'::timestamptz + (g / 4) * interval '1 minute',
			CASE WHEN g % 3 = 0 THEN 'install' ELSE 'repair' END, '用户' || g, '1380000' || lpad(g::text, 4, '0'),
			'CN-GD', 'GZ-07', 'range_hood', 'CXW-1',
			CASE WHEN g % 3 = 0 THEN NULL ELSE 'MTR-2|1|260.00|fan motor|风机电机' END, CASE WHEN g = 5 THEN 30 ELSE 0 END
		FROM generate_series(1, 120) g`)
	if err != nil {
		t.Fatal(err)
	}
	pool := testdb.New(t)
	st := &workorders.Store{Pool: pool, Now: time.Now}
	query := `SELECT order_no AS external_id, kind, finished AS completed_at, cust AS customer_name, mobile AS phone,
		province AS region, station AS provider_code, category AS product_category, model AS product_model,
		part_list AS parts, fee AS customer_paid
		FROM svc_orders WHERE (finished, order_no) > ($1, $2) ORDER BY finished, order_no LIMIT $3`
	if _, err := st.SavePullSource(ctx, "legacy", "sql", "*/5 * * * *", workorders.Defaults{Region: "CN"},
		workorders.PullConfig{DSNEnv: "LEGACY_DSN", Query: query, PageSize: 50}); err != nil {
		t.Fatal(err)
	}
	p := &workorders.Puller{Store: st, Getenv: func(k string) string {
		if k == "LEGACY_DSN" {
			return upstreamURL
		}
		return ""
	}}
	res, err := p.Pull(ctx, "legacy")
	if err != nil {
		t.Fatal(err)
	}
	if res.Pages != 3 || res.Inserted != 120 || res.Rejected != 0 {
		t.Fatalf("pull = %+v, want 3 pages and 120 inserted", res)
	}
	var parts int
	var paid string
	err = pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM claimed_parts WHERE name_zh = '风机电机'),
		(SELECT customer_paid::text FROM work_orders WHERE external_id = 'SO-0005')`).Scan(&parts, &paid)
	if err != nil || parts != 80 || paid != "30.00" {
		t.Fatalf("parts %d (want 80), SO-0005 paid %s (want 30.00), err %v", parts, paid, err)
	}
	src, _ := st.SourceByName(ctx, "legacy")
	if src.WatermarkID != "SO-0120" {
		t.Fatalf("watermark id %s, want SO-0120", src.WatermarkID)
	}
	// An unordered query is refused rather than silently skipping rows.
	bad := strings.Replace(query, "ORDER BY finished, order_no", "ORDER BY order_no DESC", 1)
	st.SetWatermark(ctx, "legacy", time.Unix(0, 0), "")
	st.SavePullSource(ctx, "legacy", "sql", "", workorders.Defaults{Region: "CN"}, workorders.PullConfig{DSNEnv: "LEGACY_DSN", Query: bad, PageSize: 50})
	if _, err := p.Pull(ctx, "legacy"); err == nil || !strings.Contains(err.Error(), "ORDER BY") {
		t.Fatalf("unordered query: err = %v, want a refusal naming ORDER BY", err)
	}
}

func TestPullConfigValidation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind string
		cfg  workorders.PullConfig
		want string
	}{
		{"sql", workorders.PullConfig{Query: "SELECT $1, $2, $3"}, "dsn_env and query"},
		{"sql", workorders.PullConfig{DSNEnv: "X", Query: "SELECT 1 WHERE $1 AND $2"}, "$3"},
		{"http", workorders.PullConfig{URL: "ftp://x"}, "not an http(s) URL"},
		{"http", workorders.PullConfig{URL: "https://erp.example.com/jobs", Overlap: "ten minutes"}, "overlap"},
		{"http", workorders.PullConfig{URL: "https://erp.example.com/jobs", PageSize: 100000}, "page_size"},
		{"file", workorders.PullConfig{}, "not a pull source"},
		{"http", workorders.PullConfig{URL: "https://erp.example.com/jobs", Overlap: "10m"}, ""},
	} {
		err := tc.cfg.Validate(tc.kind)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s %+v: err = %v, want %q", tc.kind, tc.cfg, err, tc.want)
		}
	}
	next, err := workorders.ParseSchedule("*/15 * * * *", time.Date(2026, 11, 25, 10, 7, 0, 0, time.UTC), 3)
	if err != nil || len(next) != 3 || next[0].Minute() != 15 || next[2].Minute() != 45 {
		t.Fatalf("next runs = %v, %v", next, err)
	}
	if _, err := workorders.ParseSchedule("61 * * * *", time.Now(), 1); err == nil {
		t.Fatal("minute 61 accepted")
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
