package audit

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/internal/testdb"
	"github.com/huifang/huifang/workorders"
	"github.com/huifang/huifang/workorders/sample"
)

// stNow is the fixed clock of the statistics and risk tests.
var stNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// stWorld is a database for the statistics tests: jobs written with SQL
// (or the sample), one customer and source for all of them, and a campaign
// for contacts.
type stWorld struct {
	pool     *pgxpool.Pool
	store    *Store
	source   int64
	customer int64
	campaign int64
	seq      int
}

func newStWorld(t *testing.T) *stWorld {
	t.Helper()
	ctx := context.Background()
	w := &stWorld{pool: testdb.New(t)}
	w.store = NewStore(w.pool)
	w.store.Now = func() time.Time { return stNow }
	err := w.pool.QueryRow(ctx, `INSERT INTO intake_sources (name, kind) VALUES ('stats', 'file') RETURNING id`).Scan(&w.source)
	if err == nil {
		err = w.pool.QueryRow(ctx, `INSERT INTO customers (source_id, external_id, phone_e164, tz, lang)
			VALUES ($1, 'C1', '+8613800000001', 'Asia/Shanghai', 'zh-CN') RETURNING id`, w.source).Scan(&w.customer)
	}
	if err == nil {
		err = w.pool.QueryRow(ctx, `INSERT INTO campaigns (name, state, source, definition)
			VALUES ('stats', 'active', 'name: stats', '{}') RETURNING id`).Scan(&w.campaign)
	}
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *stWorld) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := w.pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
}

// stJobs describes n jobs of one provider written by (*stWorld).jobs.
// Unset fields are a CNY water-heater repair of 100.00 labour, no parts,
// completed a day before stNow, in warranty.
type stJobs struct {
	provider string
	n        int
	kind     string
	category string
	currency string
	// value gives the labour amount of the i-th job (0-based), in yuan.
	value func(i int) float64
	ago   time.Duration // before stNow
}

// jobs writes the jobs and returns their ids in order.
func (w *stWorld) jobs(t *testing.T, j stJobs) []int64 {
	t.Helper()
	ctx := context.Background()
	or := func(v, d string) string {
		if v == "" {
			return d
		}
		return v
	}
	if j.ago == 0 {
		j.ago = 24 * time.Hour
	}
	values := make([]float64, j.n)
	for i := range values {
		values[i] = 100
		if j.value != nil {
			values[i] = j.value(i)
		}
	}
	w.exec(t, `INSERT INTO providers (code, name) VALUES ($1, $1) ON CONFLICT (code) DO NOTHING`, j.provider)
	w.seq++
	rows, err := w.pool.Query(ctx, `
INSERT INTO work_orders (source_id, external_id, kind, completed_at, customer_id, provider_id, product_category,
                         product_model, serial_number, warranty_status, currency, labour_amount)
SELECT $1, $2 || '-' || g.i, $3, $4, $5, (SELECT id FROM providers WHERE code = $6), $7, 'M1',
       $2 || '-SN' || g.i, 'in_warranty', $8, g.v
FROM unnest($9::float8[]) WITH ORDINALITY AS g(v, i)
ORDER BY g.i
RETURNING id`, w.source, fmt.Sprintf("%s-%d", j.provider, w.seq), or(j.kind, "repair"), stNow.Add(-j.ago),
		w.customer, j.provider, or(j.category, "water_heater"), or(j.currency, "CNY"), values)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	return ids
}

// flag writes a flag of the rule on each job; decision "" leaves it open.
func (w *stWorld) flag(t *testing.T, ids []int64, rule, decision string, decidedAgo time.Duration) {
	t.Helper()
	if len(ids) == 0 {
		return
	}
	r := mustRule(rule)
	state := "open"
	var dec, by any
	var at any
	if decision != "" {
		state, dec, by, at = "decided", decision, "reviewer", stNow.Add(-decidedAgo)
	}
	w.exec(t, `
INSERT INTO flags (work_order_id, provider_id, rule, severity, priority, source, summary, state, decision,
                   decided_by, decided_at, raised_at, due_at, updated_at)
SELECT w.id, w.provider_id, $2, $3, $4, $5, 'test', $6, $7, $8, $9, $10, $10, $10
FROM work_orders w WHERE w.id = ANY ($1)`,
		ids, rule, string(r.Severity), r.Severity.Priority(), string(r.Source), state, dec, by, at, stNow.Add(-48*time.Hour))
}

// contact writes one done contact of each job with one ended attempt of the
// outcome.
func (w *stWorld) contact(t *testing.T, ids []int64, outcome string) {
	t.Helper()
	if len(ids) == 0 {
		return
	}
	w.exec(t, `
WITH k AS (
    INSERT INTO contacts (campaign_id, work_order_id, phone_e164, zones, lang, state, outcome, channel,
                          attempts, voice_attempts, next_at, expires_at, ended_at)
    SELECT $1, id, '+8613800000001', '{Asia/Shanghai}', 'zh-CN', 'done', 'completed', 'voice', 1, 1, $3, $3, $3
    FROM unnest($2::bigint[]) AS id
    RETURNING id, work_order_id
)
INSERT INTO attempts (work_order_id, contact_id, channel, to_e164, from_e164, state, outcome, created_at, ended_at)
SELECT work_order_id, id, 'voice', '+8613800000001', '+862000000000', 'ended', $4, $3, $3 FROM k`,
		w.campaign, ids, stNow.Add(-12*time.Hour), outcome)
}

func (w *stWorld) compute(t *testing.T) StatsRun {
	t.Helper()
	run, err := w.store.ComputeProviderStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// providerFlags lists the provider flags of the rules ("P3 V16"; "" for
// all) as "code rule severity".
func (w *stWorld) providerFlags(t *testing.T, rules string) []string {
	t.Helper()
	rows, err := w.pool.Query(context.Background(), `
SELECT p.code || ' ' || f.rule || ' ' || f.severity FROM flags f JOIN providers p ON p.id = f.provider_id
WHERE f.work_order_id IS NULL AND ($1 = '' OR f.rule = ANY (string_to_array($1, ' '))) ORDER BY 1`, rules)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func stNear(a, b float64) bool { return math.Abs(a-b) < 1e-4 }

// P1 on the sample: the over-replacing provider, and nobody else, is an
// outlier; a tiny honest provider with three repairs, one of them with two
// parts, is not; running again raises nothing new.
func TestProviderStatsP1OnSample(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newStWorld(t)
	ws := &workorders.Store{Pool: w.pool, Now: func() time.Time { return stNow }}
	src, err := ws.EnsureSource(ctx, "sample", "file", workorders.Defaults{Region: "CN"})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := sample.Load(ctx, ws, src, sample.Config{Seed: 5, Jobs: 6000, Now: stNow}); err != nil {
		t.Fatalf("load: %v %v", err, res.Errors)
	}
	tiny := w.jobs(t, stJobs{provider: "P-TINY", n: 3})
	w.exec(t, `INSERT INTO claimed_parts (work_order_id, line, part_code, quantity, unit_cost)
		SELECT $1, 1, 'TINY-PART', 2, max(unit_cost) FROM claimed_parts`, tiny[0])

	run := w.compute(t)
	for _, s := range run.Stats {
		if metricRule(s.Metric) == "P1" {
			t.Logf("%-7s %-20s n=%5d value=%.3f [%.3f, %.3f] expected=%.3f bar=%.3f outlier=%v",
				s.Provider, s.Metric, s.N, s.Value, s.Lower, s.Upper, s.Expected, s.Reference, s.Outlier)
		}
	}
	if got := run.Outliers("P1"); !slices.Equal(got, []string{sample.OverReplacer}) {
		t.Errorf("P1 outliers %v, want [%s]", got, sample.OverReplacer)
	}
	// Its dear claims make it the one cost outlier too; they must not make
	// its honest peers look cheap (a pooled peer mean would: about −0.35 σ,
	// z ≈ −27 on 60,000 jobs).
	if got := run.Outliers("P2"); !slices.Equal(got, []string{sample.OverReplacer}) {
		for _, s := range run.Stats {
			if s.Metric == MetricCostPerClaim {
				t.Logf("%-7s n=%5d d=%.3f %v", s.Provider, s.N, s.Value, s.Detail)
			}
		}
		t.Errorf("P2 outliers %v, want [%s]", got, sample.OverReplacer)
	}
	for _, m := range []string{MetricPartsPerRepair, MetricExpensiveShare} {
		s, ok := run.Stat("P-TINY", m)
		if !ok || s.Outlier {
			t.Errorf("P-TINY %s: %+v (found %v), want a row that is not an outlier", m, s, ok)
		}
	}
	if s, _ := run.Stat("P-TINY", MetricPartsPerRepair); s.N != 3 || !stNear(s.Value, 2.0/3) {
		t.Errorf("P-TINY parts per repair n=%d value=%v, want 3 repairs and 2/3", s.N, s.Value)
	}
	ovr, _ := run.Stat(sample.OverReplacer, MetricPartsPerRepair)
	if !ovr.Outlier || ovr.Lower <= w.store.Config.P1Factor*ovr.Expected || len(ovr.Peers) != 7 {
		t.Errorf("P-OVR parts per repair %+v: want an outlier above %.1f× its peers, with 7 peers", ovr, w.store.Config.P1Factor)
	}
	// What provider_stats holds is what the run returned.
	var rows, outliers int
	if err := w.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE outlier AND metric LIKE 'P1.%') FROM provider_stats`).
		Scan(&rows, &outliers); err != nil {
		t.Fatal(err)
	}
	p1 := 0
	for _, s := range run.Stats {
		if s.Outlier && metricRule(s.Metric) == "P1" {
			p1++
		}
	}
	if rows != len(run.Stats) || outliers != p1 {
		t.Errorf("provider_stats has %d rows, %d P1 outliers; the run %d and %d", rows, outliers, len(run.Stats), p1)
	}
	flags := w.providerFlags(t, "")
	if !slices.Contains(flags, "P-OVR P1 high") || slices.ContainsFunc(flags, func(f string) bool { return f != "P-OVR P1 high" && f[len(f)-7:] == "P1 high" }) {
		t.Errorf("provider flags %v, want P-OVR's P1 and no other P1", flags)
	}
	var evidence map[string]any
	if err := w.pool.QueryRow(ctx, `SELECT evidence FROM flags WHERE rule = 'P1' AND work_order_id IS NULL`).Scan(&evidence); err != nil {
		t.Fatal(err)
	}
	if ms, _ := evidence["metrics"].([]any); len(ms) != 2 || evidence["window"] == nil {
		t.Errorf("P1 evidence %v: want both metrics and the window", evidence)
	}

	again := w.compute(t)
	if again.Raised != 0 || len(again.Findings) != len(run.Findings) {
		t.Errorf("a second run raised %d new flags (%d findings, first run %d); want none", again.Raised, len(again.Findings), len(run.Findings))
	}
	if got := w.providerFlags(t, ""); !slices.Equal(got, flags) {
		t.Errorf("flags after the second run %v, want %v", got, flags)
	}
}

// P2: cost per claim against the peers' at the same mix. Peers at a mean of
// 100, BAD at 110 (z ≈ 4.4), NEAR at 107 (z ≈ 2.5, inside the 3σ limits),
// SMALL far above but with five jobs.
func TestProviderStatsP2(t *testing.T) {
	t.Parallel()
	w := newStWorld(t)
	spread := func(base float64) func(int) float64 {
		return func(i int) float64 { return base + 10*float64(i%5-2) } // base ± 20, σ ≈ 14
	}
	for _, p := range []string{"A", "B", "C", "D"} {
		w.jobs(t, stJobs{provider: p, n: 60, value: spread(100)})
	}
	w.jobs(t, stJobs{provider: "BAD", n: 60, value: spread(110)})
	w.jobs(t, stJobs{provider: "NEAR", n: 60, value: spread(105)})
	w.jobs(t, stJobs{provider: "SMALL", n: 5, value: func(int) float64 { return 130 }})
	// Another currency is another stratum: dear dollars do not make anyone
	// dear in yuan.
	w.jobs(t, stJobs{provider: "A", n: 40, currency: "USD", value: spread(300)})
	w.jobs(t, stJobs{provider: "B", n: 40, currency: "USD", value: spread(300)})
	// A job outside the window does not count.
	w.jobs(t, stJobs{provider: "A", n: 1, ago: 91 * 24 * time.Hour, value: func(int) float64 { return 100000 }})

	run := w.compute(t)
	if got := run.Outliers("P2"); !slices.Equal(got, []string{"BAD"}) {
		for _, s := range run.Stats {
			t.Logf("%s %s %+v", s.Provider, s.Metric, s)
		}
		t.Fatalf("P2 outliers %v, want [BAD]", got)
	}
	// Within-provider sum of squares: 12 × (400+100+0+100+400) = 12000 for
	// each of the six providers of 60 yuan jobs, SMALL none: σ² = 72000/(365−7).
	sigma := math.Sqrt(72000.0 / 358)
	// The peers' reference is the median of the other providers' means (all
	// have at least 5 claims): 100, 100, 100, 100, 105 and 130 for BAD (100),
	// and 100, 100, 100, 100, 110 and 130 for NEAR (100). BAD's z is
	// 10/(σ/√60) ≈ 5.5; NEAR's 5/(σ/√60) ≈ 2.7, a near miss.
	peerMean := func(float64, int) float64 { return 100 }
	for _, c := range []struct {
		p    string
		mean float64
		n    int
	}{{"BAD", 110, 60}, {"NEAR", 105, 60}} {
		s, _ := run.Stat(c.p, MetricCostPerClaim)
		wantZ := (c.mean - peerMean(c.mean, c.n)) / (sigma / math.Sqrt(float64(c.n)))
		if z := s.Detail["z"].(float64); !stNear(z, wantZ) || s.N != int64(c.n) {
			t.Errorf("%s: z = %.4f over %d claims, want %.4f over %d", c.p, z, s.N, wantZ, c.n)
		}
	}
	if s, _ := run.Stat("A", MetricCostPerClaim); s.N != 100 {
		t.Errorf("A: %d claims, want 100 (60 yuan, 40 dollar; the old one outside the window)", s.N)
	}
	if s, _ := run.Stat("SMALL", MetricCostPerClaim); s.Outlier || s.Value < 1 {
		t.Errorf("SMALL: %+v, want far from its peers but not an outlier with 5 claims", s)
	}
	if got := w.providerFlags(t, ""); !slices.Equal(got, []string{"BAD P2 medium"}) {
		t.Errorf("provider flags %v, want [BAD P2 medium]", got)
	}
	// Significant is not enough: BAD is about 0.7 σ dearer than its peers,
	// which a minimum shift of 0.75 σ does not let through, and 0.65 σ does.
	bad, _ := run.Stat("BAD", MetricCostPerClaim)
	if bad.Value < 0.65 || bad.Value >= 0.75 {
		t.Fatalf("BAD's shift is %.3f σ; the near miss below needs it between 0.65 and 0.75", bad.Value)
	}
	w.store.Config.P2MinShift = 0.75
	if r := w.compute(t); len(r.Outliers("P2")) != 0 {
		got := r.Outliers("P2")
		t.Errorf("with a minimum shift of 0.75 σ: P2 outliers %v, want none", got)
	}
	w.store.Config.P2MinShift = 0.65
	if r := w.compute(t); !slices.Equal(r.Outliers("P2"), []string{"BAD"}) {
		got := r.Outliers("P2")
		t.Errorf("with a minimum shift of 0.65 σ: P2 outliers %v, want [BAD]", got)
	}
}

// P3: confirmed V1–V4 findings, and the denial rate against the median.
func TestProviderStatsP3(t *testing.T) {
	t.Parallel()
	w := newStWorld(t)
	const day = 24 * time.Hour
	// Denials: of 100 reached jobs each, A..D 3–6 (median with the others
	// 5.5%, so the bar is 11%); BAD 25 (Wilson lower bound 17.5%); NEAR 15
	// (lower bound 9.3%); SMALL 3 of 5, too few to judge.
	denials := map[string]int{"A": 3, "B": 4, "C": 5, "D": 6, "BAD": 25, "NEAR": 15}
	for p, k := range denials {
		ids := w.jobs(t, stJobs{provider: p, n: 100})
		w.contact(t, ids, "completed")
		w.flag(t, ids[:k-k/2], "V1", "", 0)
		w.flag(t, ids[k-k/2:k], "V2", "", 0)
		if p == "NEAR" {
			// A cleared denial does not count.
			w.flag(t, ids[k:k+5], "V1", "cleared", day)
		}
	}
	small := w.jobs(t, stJobs{provider: "SMALL", n: 5})
	w.contact(t, small, "completed")
	w.flag(t, small[:3], "V1", "", 0)
	// Jobs not reached do not count: 50 unanswered contacts of A with no denial.
	noAnswer := w.jobs(t, stJobs{provider: "A", n: 50})
	w.contact(t, noAnswer, "no_answer")

	// Confirmed findings: CONF two in 90 days; ONE one in 90 days and one
	// 100 days ago; CLR two cleared; V5CONF two confirmed V5 (not V1–V4).
	for p, specs := range map[string][]struct {
		rule, decision string
		ago            time.Duration
	}{
		"CONF":   {{"V2", "confirmed", 3 * day}, {"V4", "confirmed", 80 * day}},
		"ONE":    {{"V1", "confirmed", 10 * day}, {"V3", "confirmed", 100 * day}},
		"CLR":    {{"V1", "cleared", day}, {"V2", "cleared", day}},
		"V5CONF": {{"V5", "confirmed", day}, {"V5", "confirmed", day}},
	} {
		ids := w.jobs(t, stJobs{provider: p, n: len(specs)})
		for i, s := range specs {
			w.flag(t, ids[i:i+1], s.rule, s.decision, s.ago)
		}
	}

	run := w.compute(t)
	if got := run.Outliers("P3"); !slices.Equal(got, []string{"BAD", "CONF"}) {
		for _, s := range run.Stats {
			t.Logf("%s %s %+v", s.Provider, s.Metric, s)
		}
		t.Fatalf("P3 outliers %v, want [BAD CONF]", got)
	}
	bad, _ := run.Stat("BAD", MetricDenialRate)
	if bad.N != 100 || !stNear(bad.Value, 0.25) || !stNear(bad.Expected, 0.055) || !stNear(bad.Reference, 0.11) ||
		!stNear(bad.Lower, wilson(25, 100, 0.95).Lower) {
		t.Errorf("BAD denial rate %+v: want 25/100 against a bar of 2 × 5.5%%", bad)
	}
	if a, _ := run.Stat("A", MetricDenialRate); a.N != 100 {
		t.Errorf("A: %d reached jobs, want 100 (its 50 unanswered contacts are not reached)", a.N)
	}
	if s, _ := run.Stat("SMALL", MetricDenialRate); s.N != 5 || s.Outlier {
		t.Errorf("SMALL: %+v, want 5 reached and not judged", s)
	}
	if s, _ := run.Stat("NEAR", MetricDenialRate); s.Value != 0.15 || s.Outlier {
		t.Errorf("NEAR: %+v, want 15%% (the cleared ones not counted) and not an outlier", s)
	}
	for p, want := range map[string]int64{"CONF": 2, "ONE": 1} {
		if s, ok := run.Stat(p, MetricConfirmed); !ok || s.N != want {
			t.Errorf("%s confirmed %+v, want %d", p, s, want)
		}
	}
	for _, p := range []string{"CLR", "V5CONF"} {
		if s, ok := run.Stat(p, MetricConfirmed); ok {
			t.Errorf("%s confirmed %+v, want no row", p, s)
		}
	}
	if got := w.providerFlags(t, "P3"); !slices.Equal(got, []string{"BAD P3 critical", "CONF P3 critical"}) {
		t.Errorf("provider flags %v", got)
	}
}

// P4: the repeat rate and the customer-paid rate against the peers' 90th
// percentile.
func TestProviderStatsP4(t *testing.T) {
	t.Parallel()
	w := newStWorld(t)
	const day = 24 * time.Hour
	type spec struct {
		v15, v15Cleared, pairsIn, pairsOut, paidIn, paidOut, v4 int
	}
	specs := map[string]spec{
		"A":    {v15: 2, v15Cleared: 3, paidIn: 2},
		"B":    {v15: 3, paidIn: 3},
		"C":    {v15: 4, paidIn: 4},
		"D":    {v15: 5, paidIn: 5},
		"E":    {v15: 6, paidIn: 1, v4: 1},
		"BAD":  {v15: 10, pairsIn: 10},              // 20 repeats: lower bound 13.3% > peers' p90 8.4%
		"NEAR": {v15: 12, pairsOut: 5, paidOut: 30}, // 12 repeats: lower bound 7.0% < 11.6%; paid out of warranty
		"PAY":  {paidIn: 15, v4: 5},                 // 20 paid: lower bound 13.3% > 4.4%
	}
	for p, s := range specs {
		ids := w.jobs(t, stJobs{provider: p, n: 100, ago: 40 * day})
		next := 0
		take := func(k int) []int64 { r := ids[next : next+k]; next += k; return r }
		w.flag(t, take(s.v15), "V15", "", 0)
		w.flag(t, take(s.v15Cleared), "V15", "cleared", day)
		for _, pair := range []struct {
			n    int
			days int
		}{{s.pairsIn, 20}, {s.pairsOut, 31}} {
			for range pair.n {
				ab := take(2)
				w.exec(t, `UPDATE work_orders SET serial_number = (SELECT serial_number FROM work_orders WHERE id = $1),
					completed_at = completed_at + $3 * interval '1 day' WHERE id = $2`, ab[0], ab[1], pair.days)
			}
		}
		w.exec(t, `UPDATE work_orders SET customer_paid = 50 WHERE id = ANY ($1)`, take(s.paidIn))
		w.exec(t, `UPDATE work_orders SET customer_paid = 50, warranty_status = 'out_of_warranty' WHERE id = ANY ($1)`, take(s.paidOut))
		w.flag(t, take(s.v4), "V4", "", 0)
	}
	small := w.jobs(t, stJobs{provider: "SMALL", n: 10})
	w.flag(t, small[:5], "V15", "", 0)

	run := w.compute(t)
	if got := run.Outliers("P4"); !slices.Equal(got, []string{"BAD", "PAY"}) {
		for _, s := range run.Stats {
			t.Logf("%s %s %+v", s.Provider, s.Metric, s)
		}
		t.Fatalf("P4 outliers %v, want [BAD PAY]", got)
	}
	for _, c := range []struct {
		p, metric string
		x         int
		outlier   bool
		bar       float64
	}{
		{"BAD", MetricRepeatRate, 20, true, 0.084},
		{"NEAR", MetricRepeatRate, 12, false, 0.116},
		{"A", MetricRepeatRate, 2, false, 0.152},
		{"PAY", MetricCustomerPaidRate, 20, true, 0.044},
		{"NEAR", MetricCustomerPaidRate, 0, false, 0.11},
		{"E", MetricCustomerPaidRate, 2, false, 0.11},
		{"BAD", MetricCustomerPaidRate, 0, false, 0.11},
	} {
		s, _ := run.Stat(c.p, c.metric)
		if s.N != 100 || !stNear(s.Value, float64(c.x)/100) || s.Outlier != c.outlier || !stNear(s.Reference, c.bar) {
			t.Errorf("%s %s: n=%d value=%.3f outlier=%v bar=%.4f; want 100, %.2f, %v, %.4f",
				c.p, c.metric, s.N, s.Value, s.Outlier, s.Reference, float64(c.x)/100, c.outlier, c.bar)
		}
	}
	if s, _ := run.Stat("SMALL", MetricRepeatRate); s.N != 10 || s.Outlier {
		t.Errorf("SMALL: %+v, want half its 10 jobs repeats but not judged", s)
	}
	if got := w.providerFlags(t, ""); !slices.Equal(got, []string{"BAD P4 medium", "PAY P4 medium"}) {
		t.Errorf("provider flags %v", got)
	}
}

// V16 per provider: the unreachable rate against twice the median, raised
// as high.
func TestProviderStatsV16(t *testing.T) {
	t.Parallel()
	w := newStWorld(t)
	// Of 100 contacts each, unreachable: A..D 10–18 (median with the others
	// 16.5%, bar 33%); BAD 45 (lower bound 35.6%); NEAR 38 (29.1%).
	unreachable := map[string]int{"A": 10, "B": 12, "C": 15, "D": 18, "BAD": 45, "NEAR": 38}
	outcomes := []string{"no_answer", "busy", "machine", "failed"}
	for p, k := range unreachable {
		ids := w.jobs(t, stJobs{provider: p, n: 100})
		for i := range k {
			w.contact(t, ids[i:i+1], outcomes[i%len(outcomes)])
		}
		// Answered in several ways: a call picked up without keys counts.
		w.contact(t, ids[k:k+1], "no_response")
		w.contact(t, ids[k+1:k+2], "hung_up")
		w.contact(t, ids[k+2:], "completed")
	}
	// Contacts still queued, or of jobs outside the window, do not count.
	queued := w.jobs(t, stJobs{provider: "NEAR", n: 20})
	w.contact(t, queued, "no_answer")
	w.exec(t, `UPDATE contacts SET state = 'queued', outcome = NULL, ended_at = NULL WHERE work_order_id = ANY ($1)`, queued)
	old := w.jobs(t, stJobs{provider: "NEAR", n: 20, ago: 100 * 24 * time.Hour})
	w.contact(t, old, "no_answer")

	run := w.compute(t)
	if got := run.Outliers("V16"); !slices.Equal(got, []string{"BAD"}) {
		for _, s := range run.Stats {
			t.Logf("%s %s %+v", s.Provider, s.Metric, s)
		}
		t.Fatalf("V16 outliers %v, want [BAD]", got)
	}
	for p, k := range unreachable {
		s, _ := run.Stat(p, MetricUnreachableRate)
		if s.N != 100 || !stNear(s.Value, float64(k)/100) || !stNear(s.Reference, 0.33) {
			t.Errorf("%s: %d contacts, rate %.3f, bar %.4f; want 100, %.2f, 0.33", p, s.N, s.Value, s.Reference, float64(k)/100)
		}
	}
	if got := w.providerFlags(t, ""); !slices.Equal(got, []string{"BAD V16 high"}) {
		t.Errorf("provider flags %v, want [BAD V16 high]", got)
	}
}
