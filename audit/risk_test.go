package audit

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"
)

// Provider and job risk from known statistics and flags: every score is
// worked out by hand from the formulas in risk.go.
func TestComputeRisk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newStWorld(t)
	const day = 24 * time.Hour
	jobs := map[string][]int64{}
	for _, p := range []string{"STAT", "STAT2", "WEAK", "CONF2", "CONF1", "OLDCONF", "CLEAN", "CHEAP", "DEAR"} {
		jobs[p] = w.jobs(t, stJobs{provider: p, n: 4})
	}
	oldJob := w.jobs(t, stJobs{provider: "STAT", n: 1, ago: 100 * day})

	// Statistics: STAT is a P1 outlier (high, 0.6) on both P1 metrics; STAT2
	// P3 (critical, 0.9) and P4 (medium, 0.3); WEAK only P4, and a P1 metric
	// that is not an outlier.
	for _, s := range []struct {
		p, metric string
		outlier   bool
	}{
		{"STAT", MetricPartsPerRepair, true}, {"STAT", MetricExpensiveShare, true},
		{"STAT2", MetricDenialRate, true}, {"STAT2", MetricRepeatRate, true},
		{"WEAK", MetricCustomerPaidRate, true}, {"WEAK", MetricPartsPerRepair, false},
	} {
		w.exec(t, `INSERT INTO provider_stats (provider_id, metric, n, value, lower, upper, reference, outlier, computed_at)
			SELECT id, $2, 100, 1, 1, 1, 1, $3, $4 FROM providers WHERE code = $1`, s.p, s.metric, s.outlier, stNow)
	}
	// P2 counts only above the peers: DEAR's claims cost more (value > 0),
	// CHEAP's less.
	w.exec(t, `INSERT INTO provider_stats (provider_id, metric, n, value, lower, upper, reference, outlier, computed_at)
		SELECT id, $1, 100, CASE code WHEN 'DEAR' THEN 0.5 ELSE -0.5 END, 0, 0, 0, true, $2 FROM providers
		WHERE code IN ('DEAR', 'CHEAP')`, MetricCostPerClaim, stNow)
	// Confirmed findings: CONF2 two critical within 90 days; CONF1 one
	// (near miss); OLDCONF two, 100 days ago.
	w.flag(t, jobs["CONF2"][:1], "V1", "confirmed", 5*day)
	w.flag(t, jobs["CONF2"][1:2], "V13", "confirmed", 60*day)
	w.flag(t, jobs["CONF1"][:1], "V2", "confirmed", 5*day)
	w.flag(t, jobs["OLDCONF"][:2], "V1", "confirmed", 100*day)
	// Job flags: CLEAN's first job an open critical V13, its second a high
	// V7 and a medium V12, its third a cleared V1; STAT's second an open V10.
	w.flag(t, jobs["CLEAN"][:1], "V13", "", 0)
	w.flag(t, jobs["CLEAN"][1:2], "V7", "", 0)
	w.flag(t, jobs["CLEAN"][1:2], "V12", "", 0)
	w.flag(t, jobs["CLEAN"][2:3], "V1", "cleared", day)
	w.flag(t, jobs["STAT"][1:2], "V10", "", 0)
	w.flag(t, oldJob, "V13", "", 0)

	run, err := w.store.ComputeRisk(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conf2 := 1 - 0.55*0.55
	want := map[string]struct {
		score   float64
		risky   bool
		reasons []string
	}{
		"STAT":    {0.6, true, []string{"P1"}},
		"STAT2":   {1 - 0.1*0.7, true, []string{"P3", "P4"}},
		"WEAK":    {0.3, false, []string{"P4"}},
		"CONF2":   {conf2, true, []string{"V1", "V13"}},
		"CONF1":   {0.45, false, []string{"V2"}},
		"OLDCONF": {0, false, []string{}},
		"CLEAN":   {0, false, []string{}},
		"DEAR":    {0.3, false, []string{"P2"}},
		"CHEAP":   {0, false, []string{}},
	}
	rows, err := w.pool.Query(ctx, `SELECT p.code, r.score, r.risky, r.reasons FROM provider_risk r JOIN providers p ON p.id = r.provider_id`)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for rows.Next() {
		var code string
		var score float64
		var risky bool
		var reasons []string
		if err := rows.Scan(&code, &score, &risky, &reasons); err != nil {
			t.Fatal(err)
		}
		seen++
		x := want[code]
		if math.Abs(score-x.score) > 1e-9 || risky != x.risky || !slices.Equal(reasons, x.reasons) {
			t.Errorf("%s: score %.4f risky %v reasons %v; want %.4f %v %v", code, score, risky, reasons, x.score, x.risky, x.reasons)
		}
	}
	if seen != len(want) || run.Providers != len(want) || run.Risky != 3 {
		t.Errorf("%d provider rows, run %+v; want %d providers, 3 risky", seen, run, len(want))
	}

	// Jobs with a flag not cleared: 1 − (1 − F)(1 − P/2). Jobs without one
	// get no row (enrolment reads P/2 from provider_risk).
	wantJobs := map[int64]float64{
		jobs["CLEAN"][0]:   0.9,
		jobs["CLEAN"][1]:   1 - 0.4*0.7,
		jobs["STAT"][1]:    1 - 0.9*0.7,
		jobs["CONF1"][0]:   1 - 0.1*(1-0.45/2), // a confirmed flag is the job's own risk too
		jobs["CONF2"][0]:   1 - 0.1*(1-conf2/2),
		jobs["CONF2"][1]:   1 - 0.1*(1-conf2/2),
		jobs["OLDCONF"][0]: 0.9, // confirmed long ago: the job's flag stays, the provider's score does not
		jobs["OLDCONF"][1]: 0.9,
	}
	got := map[int64]float64{}
	reasons := map[int64][]string{}
	rows, err = w.pool.Query(ctx, `SELECT work_order_id, score, reasons FROM job_risk`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var s float64
		var r []string
		if err := rows.Scan(&id, &s, &r); err != nil {
			t.Fatal(err)
		}
		got[id], reasons[id] = s, r
	}
	if len(got) != len(wantJobs) || run.Jobs != len(wantJobs) {
		t.Errorf("%d job rows (run says %d), want %d: the cleared flag, the old job and clean jobs get none", len(got), run.Jobs, len(wantJobs))
	}
	for id, ws := range wantJobs {
		if g, ok := got[id]; !ok || math.Abs(g-ws) > 1e-9 {
			t.Errorf("job %d: score %v (row %v), want %.4f", id, g, ok, ws)
		}
	}
	if r := reasons[jobs["STAT"][1]]; !slices.Equal(r, []string{"P1", "V10"}) {
		t.Errorf("reasons of STAT's flagged job %v, want [P1 V10]", r)
	}
	if r := reasons[jobs["CLEAN"][1]]; !slices.Equal(r, []string{"V12", "V7"}) {
		t.Errorf("reasons of CLEAN's second job %v, want [V12 V7]", r)
	}

	if run.Changed != len(wantJobs) || run.Removed != 0 {
		t.Errorf("first run wrote %d and removed %d rows, want %d and 0", run.Changed, run.Removed, len(wantJobs))
	}
	// Nothing changed: nothing is written.
	if again, err := w.store.ComputeRisk(ctx); err != nil || again.Changed != 0 || again.Removed != 0 || again.Jobs != len(wantJobs) {
		t.Errorf("second run %+v (%v), want %d rows and nothing written", again, err, len(wantJobs))
	}
	// Clearing CLEAN's critical flag removes its row; a new V12 on STAT's
	// first job adds one.
	w.exec(t, `UPDATE flags SET state = 'decided', decision = 'cleared', decided_by = 'r', decided_at = $2
		WHERE work_order_id = $1`, jobs["CLEAN"][0], stNow)
	w.flag(t, jobs["STAT"][:1], "V12", "", 0)
	third, err := w.store.ComputeRisk(ctx)
	if err != nil || third.Changed != 1 || third.Removed != 1 {
		t.Errorf("third run %+v (%v), want one row written and one removed", third, err)
	}
	var n int
	if err := w.pool.QueryRow(ctx, `SELECT count(*) FROM job_risk WHERE work_order_id = $1`, jobs["CLEAN"][0]).Scan(&n); err != nil || n != 0 {
		t.Errorf("cleared job still has %d risk rows (%v)", n, err)
	}
}

// Statistics then risk: the over-replacer is risky, and its flagged job
// carries half its score on top of the flag's.
func TestRiskFromStatistics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newStWorld(t)
	ovr := w.jobs(t, stJobs{provider: "OVR", n: 40})
	w.exec(t, `INSERT INTO claimed_parts (work_order_id, line, part_code, quantity, unit_cost)
		SELECT id, 1, 'HE', 4, 100 FROM unnest($1::bigint[]) AS id`, ovr)
	for _, p := range []string{"A", "B", "C", "D"} {
		ids := w.jobs(t, stJobs{provider: p, n: 40})
		w.exec(t, `INSERT INTO claimed_parts (work_order_id, line, part_code, quantity, unit_cost)
			SELECT id, 1, 'HE', 1, 100 FROM unnest($1::bigint[]) AS id`, ids)
	}
	w.flag(t, ovr[:1], "V10", "", 0)
	stats := w.compute(t)
	if got := stats.Outliers("P1"); !slices.Equal(got, []string{"OVR"}) {
		t.Fatalf("P1 outliers %v, want [OVR]", got)
	}
	run, err := w.store.ComputeRisk(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var score, job float64
	var risky bool
	if err := w.pool.QueryRow(ctx, `SELECT r.score, r.risky, (SELECT max(score) FROM job_risk)
		FROM provider_risk r JOIN providers p ON p.id = r.provider_id WHERE p.code = 'OVR'`).Scan(&score, &risky, &job); err != nil {
		t.Fatal(err)
	}
	if math.Abs(score-0.6) > 1e-9 || !risky || math.Abs(job-(1-0.9*0.7)) > 1e-9 || run.Jobs != 1 || run.Risky != 1 {
		t.Errorf("OVR score %.3f risky %v, flagged job's score %.3f, run %+v; want 0.6, risky, 0.37 on its one flagged job",
			score, risky, job, run)
	}
}
