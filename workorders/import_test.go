package workorders_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/internal/testdb"
	"github.com/huifang/huifang/workorders"
)

// fixedNow is the clock of these tests: after every fixture's completion time.
func fixedNow() time.Time { return time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC) }

func setup(t *testing.T) (*workorders.Store, workorders.Source) {
	t.Helper()
	pool := testdb.New(t)
	st := &workorders.Store{Pool: pool, Now: fixedNow}
	src, err := st.EnsureSource(context.Background(), "erp", "file", workorders.Defaults{Region: "CN"})
	if err != nil {
		t.Fatal(err)
	}
	return st, src
}

func importFile(t *testing.T, st *workorders.Store, src workorders.Source, path string, opt workorders.ImportOptions) (workorders.ImportResult, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r workorders.Reader
	if strings.HasSuffix(path, ".jsonl") {
		r = workorders.NewJSONLReader(filepath.Base(path), f)
	} else {
		cr, err := workorders.NewCSVReader(filepath.Base(path), f, nil)
		if err != nil {
			return workorders.ImportResult{}, err
		}
		r = cr
	}
	return st.Import(context.Background(), src, r, opt)
}

// snapshot is every row Huifang holds about jobs, as text, for comparing
// the database before and after an operation.
func snapshot(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT id, code, name FROM providers ORDER BY id`,
		`SELECT id, external_id, name, phone_e164, phone_tz, address, region, tz, lang, updated_at FROM customers ORDER BY id`,
		`SELECT id, external_id, kind, completed_at, customer_id, provider_id, technician, technician_phone_e164, brand,
			product_category, product_model, serial_number, warranty_status, warranty_ends_on, delivered_on, fault,
			currency, customer_paid, labour_minutes, labour_amount, parts_amount, updated_at FROM work_orders ORDER BY id`,
		`SELECT work_order_id, line, part_code, name_en, name_zh, quantity, unit_cost FROM claimed_parts ORDER BY 1, 2`,
	} {
		rows, err := pool.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				b.WriteString(fmtValue(v) + "|")
			}
			b.WriteString("\n")
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

func fmtValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	default:
		return fmt.Sprint(x)
	}
}

func TestImportCSVStoresEveryField(t *testing.T) {
	t.Parallel()
	st, src := setup(t)
	ctx := context.Background()
	res, err := importFile(t, st, src, "testdata/jobs.csv", workorders.ImportOptions{})
	if err != nil {
		t.Fatalf("import: %v (errors %v)", err, res.Errors)
	}
	if res.Read != 4 || res.Inserted != 4 || res.Rejected != 0 {
		t.Fatalf("result = %+v, want 4 read, 4 inserted", res)
	}

	var (
		phone, tz, region, lang, name, addr, provider string
		completed                                     time.Time
		paid, labour, parts                           string
		minutes                                       *int
	)
	err = st.Pool.QueryRow(ctx, `SELECT c.phone_e164, c.tz, c.region, c.lang, c.name, c.address, p.name,
		w.completed_at, w.customer_paid::text, w.labour_amount::text, w.parts_amount::text, w.labour_minutes
		FROM work_orders w JOIN customers c ON c.id = w.customer_id JOIN providers p ON p.id = w.provider_id
		WHERE w.external_id = 'WO-1001'`).Scan(&phone, &tz, &region, &lang, &name, &addr, &provider,
		&completed, &paid, &labour, &parts, &minutes)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 11, 20, 2, 30, 0, 0, time.UTC) // 10:30 in Asia/Shanghai
	if phone != "+8613800138000" || tz != "Asia/Shanghai" || region != "CN-GD" || lang != "zh-CN" ||
		name != "张伟" || addr != "广东省深圳市南山区科技园路1号, 3栋" || provider != "深圳安达服务" ||
		!completed.Equal(want) || paid != "0.00" || labour != "60.00" || parts != "215.50" || minutes == nil || *minutes != 45 {
		t.Fatalf("WO-1001 stored as %s %s %s %s %s %q %s %s paid=%s labour=%s parts=%s minutes=%v",
			phone, tz, region, lang, name, addr, provider, completed, paid, labour, parts, minutes)
	}

	type part struct {
		Code, NameEN, NameZH, Cost string
		Qty                        int
	}
	rows, _ := st.Pool.Query(ctx, `SELECT part_code, name_en, name_zh, unit_cost::text, quantity FROM claimed_parts cp
		JOIN work_orders w ON w.id = cp.work_order_id WHERE w.external_id = 'WO-1001' ORDER BY line`)
	var got []part
	for rows.Next() {
		var p part
		if err := rows.Scan(&p.Code, &p.NameEN, &p.NameZH, &p.Cost, &p.Qty); err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	wantParts := []part{{"HTR-3KW", "heating element", "加热管", "180.00", 1}, {"TH-70", "thermostat", "温控器", "35.50", 1}}
	if len(got) != 2 || got[0] != wantParts[0] || got[1] != wantParts[1] {
		t.Fatalf("parts = %+v, want %+v", got, wantParts)
	}

	// The US row: region zone, dollars, a customer id made from the number.
	var usTZ, usPaid, usCur, usCust string
	err = st.Pool.QueryRow(ctx, `SELECT c.tz, w.customer_paid::text, w.currency, c.external_id FROM work_orders w
		JOIN customers c ON c.id = w.customer_id WHERE w.external_id = 'WO-1003'`).Scan(&usTZ, &usPaid, &usCur, &usCust)
	if err != nil {
		t.Fatal(err)
	}
	if usTZ != "America/Los_Angeles" || usPaid != "50.00" || usCur != "USD" || usCust != "+14155550100|Emily Chen" {
		t.Fatalf("WO-1003: tz=%s paid=%s currency=%s customer=%s", usTZ, usPaid, usCur, usCust)
	}
	// Full-width digits and Chinese warranty words.
	var fwPhone, fwWarranty string
	err = st.Pool.QueryRow(ctx, `SELECT c.phone_e164, w.warranty_status FROM work_orders w
		JOIN customers c ON c.id = w.customer_id WHERE w.external_id = 'WO-1004'`).Scan(&fwPhone, &fwWarranty)
	if err != nil || fwPhone != "+861065529988" || fwWarranty != "in_warranty" {
		t.Fatalf("WO-1004: phone=%s warranty=%s err=%v", fwPhone, fwWarranty, err)
	}
}

func TestReimportIsIdempotent(t *testing.T) {
	t.Parallel()
	st, src := setup(t)
	if _, err := importFile(t, st, src, "testdata/jobs.csv", workorders.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, st.Pool)
	res, err := importFile(t, st, src, "testdata/jobs.csv", workorders.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != 0 || res.Updated != 0 || res.Unchanged != 4 {
		t.Fatalf("second import = %+v, want 4 unchanged", res)
	}
	if after := snapshot(t, st.Pool); after != before {
		t.Fatalf("re-import changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// The same jobs as JSONL are the same jobs: nothing changes either.
	res, err = importFile(t, st, src, "testdata/jobs.jsonl", workorders.ImportOptions{})
	if err != nil {
		t.Fatalf("jsonl: %v %v", err, res.Errors)
	}
	if res.Unchanged != 4 || res.Inserted != 0 || res.Updated != 0 {
		t.Fatalf("JSONL of the same jobs = %+v, want 4 unchanged", res)
	}
	if after := snapshot(t, st.Pool); after != before {
		t.Fatalf("JSONL import of the same jobs changed the database")
	}
}

func TestReimportWithChangesUpdatesInPlace(t *testing.T) {
	t.Parallel()
	st, src := setup(t)
	ctx := context.Background()
	if _, err := importFile(t, st, src, "testdata/jobs.csv", workorders.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	changed := `{"external_id":"WO-1001","kind":"repair","completed_at":"2026-11-20 10:30","customer_id":"C-1","customer_name":"张伟","phone":"13800138000","region":"CN-GD","provider_code":"SZ-01","product_category":"water_heater","product_model":"JSQ20-12","parts":[{"code":"HTR-3KW","quantity":2,"unit_cost":"180"}]}`
	res, err := st.Import(ctx, src, workorders.NewJSONLReader("change.jsonl", strings.NewReader(changed)), workorders.ImportOptions{})
	if err != nil {
		t.Fatalf("%v %v", err, res.Errors)
	}
	if res.Updated != 1 || res.Inserted != 0 {
		t.Fatalf("result %+v, want 1 updated", res)
	}
	var jobs, lines, qty int
	var amount string
	err = st.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM work_orders), count(*), sum(quantity), max(w.parts_amount)::text
		FROM claimed_parts cp JOIN work_orders w ON w.id = cp.work_order_id WHERE w.external_id = 'WO-1001'`).Scan(&jobs, &lines, &qty, &amount)
	if err != nil {
		t.Fatal(err)
	}
	if jobs != 4 || lines != 1 || qty != 2 || amount != "360.00" {
		t.Fatalf("after change: jobs=%d lines=%d qty=%d amount=%s, want 4 jobs, 1 line of 2, 360.00", jobs, lines, qty, amount)
	}
}

func TestOneBadRowImportsNothing(t *testing.T) {
	t.Parallel()
	st, src := setup(t)
	res, err := importFile(t, st, src, "testdata/one_bad_row.csv", workorders.ImportOptions{})
	if !errors.Is(err, workorders.ErrInvalidRows) {
		t.Fatalf("err = %v, want ErrInvalidRows", err)
	}
	if res.Rejected != 1 || len(res.Errors) != 1 {
		t.Fatalf("result = %+v, want exactly one rejected row", res)
	}
	msg := res.Errors[0].Error()
	if msg != `one_bad_row.csv:4:phone: too short for CN` && !strings.HasPrefix(msg, "one_bad_row.csv:4:phone: ") {
		t.Fatalf("error = %q, want it to name one_bad_row.csv:4:phone", msg)
	}
	var n int
	st.Pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM work_orders) + (SELECT count(*) FROM customers) + (SELECT count(*) FROM providers)`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d rows written by a failed all-or-nothing import", n)
	}
}

func TestSkipInvalidImportsTheRestAndWritesRejects(t *testing.T) {
	t.Parallel()
	st, src := setup(t)
	var rejects []string
	res, err := importFile(t, st, src, "testdata/one_bad_row.csv", workorders.ImportOptions{
		SkipInvalid: true,
		Reject: func(e *workorders.RowError, raw string) error {
			rejects = append(rejects, e.Error()+" <= "+raw)
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != 3 || res.Rejected != 1 {
		t.Fatalf("result = %+v, want 3 inserted, 1 rejected", res)
	}
	if len(rejects) != 1 || !strings.Contains(rejects[0], "one_bad_row.csv:4:phone:") || !strings.Contains(rejects[0], "WO-2003") {
		t.Fatalf("rejects = %q", rejects)
	}
	var n int
	st.Pool.QueryRow(context.Background(), `SELECT count(*) FROM work_orders WHERE external_id <> 'WO-2003'`).Scan(&n)
	if n != 3 {
		t.Fatalf("%d good jobs stored, want 3", n)
	}
}

// Within one input the last row for an external id wins, whatever else the
// input holds.
func TestLastRowForAnExternalIDWins(t *testing.T) {
	t.Parallel()
	st, src := setup(t)
	ctx := context.Background()
	rows := `{"external_id":"D-1","kind":"repair","completed_at":"2026-11-20 10:00","phone":"13800138001","region":"CN-GD","provider_code":"P1","product_category":"water_heater","product_model":"M1","parts":[{"code":"A"}]}
{"external_id":"D-2","kind":"install","completed_at":"2026-11-20 11:00","phone":"13800138002","region":"CN-GD","provider_code":"P1","product_category":"water_heater","product_model":"M1"}
{"external_id":"D-1","kind":"repair","completed_at":"2026-11-20 10:00","phone":"13800138001","region":"CN-GD","provider_code":"P1","product_category":"water_heater","product_model":"M1","parts":[{"code":"B","quantity":3}]}`
	res, err := st.Import(ctx, src, workorders.NewJSONLReader("dup.jsonl", strings.NewReader(rows)), workorders.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Read != 3 || res.Inserted != 2 {
		t.Fatalf("result %+v, want 3 read, 2 inserted", res)
	}
	var code string
	var qty, lines int
	err = st.Pool.QueryRow(ctx, `SELECT min(part_code), max(quantity), count(*) FROM claimed_parts cp
		JOIN work_orders w ON w.id = cp.work_order_id WHERE w.external_id = 'D-1'`).Scan(&code, &qty, &lines)
	if err != nil || code != "B" || qty != 3 || lines != 1 {
		t.Fatalf("D-1 parts: %s×%d in %d lines (%v), want the last row's B×3", code, qty, lines, err)
	}
}
