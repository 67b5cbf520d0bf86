package audit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/huifang/huifang/internal/testdb"
	"github.com/huifang/huifang/workorders"
	"github.com/huifang/huifang/workorders/sample"
)

// The 1M benchmark's sample: benchBase jobs through the ordinary intake path,
// then benchCopies more copies of them written with INSERT … SELECT, each
// copy moved benchShiftDays further back so the copies fill the 90-day
// window (sample jobs complete within the 14 days before Now).
const (
	benchBase      = 125_000
	benchCopies    = 7
	benchShiftDays = 11
)

// BenchmarkProviderStats1M recomputes the provider statistics and the risk
// scores over 1,000,000 jobs (8 providers, the sample's product mix, the
// over-replacer among them). Seeding takes a minute or two and is not
// timed; each iteration is one ComputeProviderStats and one ComputeRisk,
// reported separately as stats-ms and risk-ms.
//
//	go test -run '^$' -bench ProviderStats -benchtime 1x ./audit/
func BenchmarkProviderStats1M(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	pool := testdb.New(b)
	seedStart := time.Now()
	ws := &workorders.Store{Pool: pool, Now: func() time.Time { return now }}
	src, err := ws.EnsureSource(ctx, "sample", "file", workorders.Defaults{Region: "CN"})
	if err != nil {
		b.Fatal(err)
	}
	if res, err := sample.Load(ctx, ws, src, sample.Config{Seed: 1, Jobs: benchBase, Now: now}); err != nil {
		b.Fatalf("load: %v %v", err, res.Errors)
	}
	loaded := time.Since(seedStart)
	var maxID int64
	if err := pool.QueryRow(ctx, `SELECT max(id) FROM work_orders`).Scan(&maxID); err != nil {
		b.Fatal(err)
	}
	for k := 1; k <= benchCopies; k++ {
		off := int64(k) * maxID
		_, err := pool.Exec(ctx, `
INSERT INTO work_orders (id, source_id, external_id, kind, completed_at, customer_id, provider_id, technician,
                         technician_phone_e164, brand, product_category, product_model, serial_number, warranty_status,
                         warranty_ends_on, delivered_on, fault, currency, customer_paid, labour_minutes, labour_amount,
                         parts_amount, parts_digest)
OVERRIDING SYSTEM VALUE
SELECT id + $1, source_id, external_id || '-' || $2, kind, completed_at - $3 * interval '1 day', customer_id, provider_id,
       technician, technician_phone_e164, brand, product_category, product_model,
       CASE WHEN serial_number = '' THEN '' ELSE serial_number || '-' || $2 END, warranty_status,
       warranty_ends_on, delivered_on, fault, currency, customer_paid, labour_minutes, labour_amount, parts_amount, parts_digest
FROM work_orders WHERE id <= $4`, off, fmt.Sprint(k), k*benchShiftDays, maxID)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `
INSERT INTO claimed_parts (work_order_id, line, part_code, name_en, name_zh, quantity, unit_cost)
SELECT work_order_id + $1, line, part_code, name_en, name_zh, quantity, unit_cost
FROM claimed_parts WHERE work_order_id <= $2`, off, maxID); err != nil {
			b.Fatal(err)
		}
	}
	// Flags on one job in twenty (a low V10 on most, a critical V2 on one
	// in five of those), so job_risk has rows to write.
	if _, err := pool.Exec(ctx, `
INSERT INTO flags (work_order_id, provider_id, rule, severity, priority, source, summary, raised_at, due_at, updated_at)
SELECT id, provider_id, CASE WHEN id % 100 = 0 THEN 'V2' ELSE 'V10' END,
       CASE WHEN id % 100 = 0 THEN 'critical' ELSE 'low' END, CASE WHEN id % 100 = 0 THEN 1 ELSE 4 END,
       CASE WHEN id % 100 = 0 THEN 'answers' ELSE 'intake' END, 'benchmark', $1, $1, $1
FROM work_orders WHERE id % 20 = 0`, now); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `VACUUM ANALYZE work_orders`); err != nil {
		b.Fatal(err)
	}
	if _, err = pool.Exec(ctx, `VACUUM ANALYZE claimed_parts`); err == nil {
		_, err = pool.Exec(ctx, `VACUUM ANALYZE flags`)
	}
	if err != nil {
		b.Fatal(err)
	}
	var jobs, parts int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM work_orders), (SELECT count(*) FROM claimed_parts)`).Scan(&jobs, &parts); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d jobs, %d claim lines in %s (intake of %d: %s)", jobs, parts, time.Since(seedStart).Round(time.Second), benchBase, loaded.Round(time.Second))

	s := NewStore(pool)
	s.Now = func() time.Time { return now }
	var statsTook, riskTook time.Duration
	var stats StatsRun
	var risk RiskRun
	for b.Loop() {
		t0 := time.Now()
		stats, err = s.ComputeProviderStats(ctx)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		risk, err = s.ComputeRisk(ctx)
		if err != nil {
			b.Fatal(err)
		}
		statsTook += t1.Sub(t0)
		riskTook += time.Since(t1)
	}
	b.ReportMetric(float64(statsTook.Milliseconds())/float64(b.N), "stats-ms")
	b.ReportMetric(float64(riskTook.Milliseconds())/float64(b.N), "risk-ms")
	b.Logf("statistics: %d providers, %d rows, outliers P1 %v P2 %v P4 %v; risk: %d risky, %d job rows",
		stats.Providers, len(stats.Stats), stats.Outliers("P1"), stats.Outliers("P2"), stats.Outliers("P4"), risk.Risky, risk.Jobs)
}
