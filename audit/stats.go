package audit

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// The provider statistics (DOMAIN.md (1), P1–P4, and V16 per provider).
//
// ComputeProviderStats aggregates the jobs of the last Config.StatsDays days
// per provider in SQL, one pass per kind of fact (claims by product mix;
// outcomes: flags, repeats, contacts), then compares each provider with its
// peers in Go, where the handful of rows per provider makes the arithmetic
// cheap. Every metric is an estimate with a confidence interval; a provider
// is an outlier only when the interval's lower bound clears the peers' bar,
// so a small provider with a few unlucky jobs is never one.

// The metrics, as provider_stats.metric names them: the rule, a dot, what
// is measured.
const (
	MetricPartsPerRepair   = "P1.parts_per_repair"
	MetricExpensiveShare   = "P1.expensive_share"
	MetricCostPerClaim     = "P2.cost_per_claim"
	MetricConfirmed        = "P3.confirmed"
	MetricDenialRate       = "P3.denial_rate"
	MetricRepeatRate       = "P4.repeat_rate"
	MetricCustomerPaidRate = "P4.customer_paid_rate"
	MetricUnreachableRate  = "V16.unreachable_rate"
)

// ProviderStat is one metric of one provider, as written to provider_stats.
type ProviderStat struct {
	ProviderID int64   `json:"-"`
	Provider   string  `json:"-"` // the provider's code
	Metric     string  `json:"metric"`
	N          int64   `json:"n"` // the units the estimate is over: jobs, repairs, parts, contacts
	Value      float64 `json:"value"`
	Lower      float64 `json:"lower"`
	Upper      float64 `json:"upper"`
	// Reference is the bar the metric is judged against: for P1, P3, P4 and
	// V16 the value the interval's lower bound must exceed; for P2, 0, the
	// peers' mix-adjusted mean in standard units (see costPerClaim).
	Reference float64 `json:"reference"`
	// Expected is the peers' value at the provider's own product mix (P1,
	// P2), or the median provider's (P3 denial rate, V16); 0 where there is
	// none.
	Expected float64 `json:"expected"`
	Outlier  bool    `json:"outlier"`
	// Peers are the other providers' values the reference is taken from.
	Peers []PeerValue `json:"peers,omitempty"`
	// Detail holds what else the metric saw (P2's means per currency).
	Detail map[string]any `json:"detail,omitempty"`
}

// PeerValue is one peer's value of a metric.
type PeerValue struct {
	Provider string  `json:"provider"`
	N        int64   `json:"n"`
	Value    float64 `json:"value"`
}

// StatsRun says what one run of ComputeProviderStats did.
type StatsRun struct {
	From, To  time.Time      // the window of completed jobs
	Providers int            // providers with jobs (or confirmed findings) in the window
	Stats     []ProviderStat // every row written, by provider code then metric
	Findings  []Finding      // one per provider and rule with an outlier metric
	Raised    int            // of those, flags that are new
}

// Outliers returns the codes of the providers with an outlier metric of the
// rule ("P1" … "P4", "V16"), sorted.
func (r *StatsRun) Outliers(rule string) []string {
	var out []string
	for _, s := range r.Stats {
		if s.Outlier && metricRule(s.Metric) == rule && !slices.Contains(out, s.Provider) {
			out = append(out, s.Provider)
		}
	}
	slices.Sort(out)
	return out
}

// Stat returns the provider's (by code) row of the metric, or false.
func (r *StatsRun) Stat(provider, metric string) (ProviderStat, bool) {
	for _, s := range r.Stats {
		if s.Provider == provider && s.Metric == metric {
			return s, true
		}
	}
	return ProviderStat{}, false
}

func metricRule(metric string) string {
	for i := range len(metric) {
		if metric[i] == '.' {
			return metric[:i]
		}
	}
	return metric
}

// statsJobsSQL aggregates the window's jobs, in one pass over work_orders, per
// provider and stratum (currency, product category, kind): the jobs, the
// sum and sum of squares of the claim value (labour + parts, exact numeric
// sums), and what became of them:
//   - repeats (P4): jobs with a V15 flag (and statsAgainSQL adds those
//     whose unit was serviced again soon after without one);
//   - customer-paid (P4): in-warranty jobs the customer paid something for,
//     or with a V4 flag;
//   - reached (P3): jobs with a contact a person answered (an attempt that
//     completed, was partly answered, hung up or opted out, or a call picked
//     up without keys pressed), and of those the denials, with a V1 or V2
//     flag;
//   - contacts done after at least one attempt (V16), and of those the
//     unreachable, with no attempt a person answered.
//
// A flag a reviewer cleared does not count. Flags, contacts and attempts
// about the window's jobs are all written after the window starts, which
// bounds their scans.
const statsJobsSQL = `
WITH fl AS (
    SELECT work_order_id,
           bool_or(rule IN ('V1', 'V2')) AS denial, bool_or(rule = 'V4') AS v4, bool_or(rule = 'V15') AS v15
    FROM flags
    WHERE work_order_id IS NOT NULL AND rule IN ('V1', 'V2', 'V4', 'V15')
      AND decision IS DISTINCT FROM 'cleared' AND raised_at >= $1
    GROUP BY 1
), att AS (
    SELECT contact_id,
           bool_or(outcome IN ('completed', 'partial', 'hung_up', 'opted_out')
                   OR (channel = 'voice' AND outcome = 'no_response')) AS answered
    FROM attempts
    WHERE contact_id IS NOT NULL AND created_at >= $1
    GROUP BY 1
), reach AS (
    SELECT k.work_order_id, bool_or(coalesce(a.answered, false)) AS answered,
           count(*) FILTER (WHERE k.state = 'done' AND (k.attempts > 0 OR a.contact_id IS NOT NULL)) AS done,
           count(*) FILTER (WHERE k.state = 'done' AND (k.attempts > 0 OR a.contact_id IS NOT NULL)
                              AND NOT coalesce(a.answered, false)) AS unreachable
    FROM contacts k LEFT JOIN att a ON a.contact_id = k.id
    WHERE k.created_at >= $1
    GROUP BY 1
)
SELECT w.provider_id, w.currency, w.product_category, w.kind, count(*),
       sum(w.labour_amount + w.parts_amount)::float8,
       sum((w.labour_amount + w.parts_amount) * (w.labour_amount + w.parts_amount))::float8,
       count(*) FILTER (WHERE fl.v15),
       count(*) FILTER (WHERE fl.v4 OR (w.warranty_status = 'in_warranty' AND w.customer_paid > 0)),
       count(*) FILTER (WHERE r.answered),
       count(*) FILTER (WHERE r.answered AND fl.denial),
       coalesce(sum(r.done), 0), coalesce(sum(r.unreachable), 0)
FROM work_orders w
LEFT JOIN fl ON fl.work_order_id = w.id
LEFT JOIN reach r ON r.work_order_id = w.id
WHERE w.completed_at >= $1 AND w.completed_at <= $2
GROUP BY 1, 2, 3, 4`

// statsAgainSQL counts, per provider and stratum, the window's jobs whose
// unit (serial) was serviced again within $3 after them and that have no
// live V15 flag (those statsJobsSQL counted already): the other half of the
// repeats. The serials on more than one job come from an index-only scan of
// work_orders_serial_idx, and only their jobs are fetched and ordered, so
// the million others cost no sort.
const statsAgainSQL = `
WITH dup AS MATERIALIZED (
    SELECT serial_number FROM work_orders WHERE serial_number <> '' GROUP BY 1 HAVING count(*) > 1
), again AS (
    SELECT x.* FROM (
        SELECT w.id, w.provider_id, w.currency, w.product_category, w.kind, w.completed_at,
               lead(w.completed_at) OVER (PARTITION BY w.serial_number ORDER BY w.completed_at, w.id) AS next_at
        FROM dup CROSS JOIN LATERAL (
            SELECT * FROM work_orders w
            WHERE w.serial_number = dup.serial_number AND w.serial_number <> '' -- the index is partial
              AND w.completed_at >= $1 AND w.completed_at <= $2::timestamptz + $3::interval
            OFFSET 0) w -- kept a per-serial index lookup, not flattened into a hash join of every job
    ) x
    WHERE x.next_at <= x.completed_at + $3::interval AND x.completed_at <= $2
)
SELECT provider_id, currency, product_category, kind, count(*) FROM again g
WHERE NOT EXISTS (SELECT 1 FROM flags f WHERE f.work_order_id = g.id AND f.rule = 'V15'
                  AND f.decision IS DISTINCT FROM 'cleared' AND f.raised_at >= $1)
GROUP BY 1, 2, 3, 4`

// statsPartsSQL counts the claim lines and parts of the window's repairs per
// provider, currency, category and unit cost: a histogram of unit costs
// small enough to carry to Go (parts are claimed at list prices), from which
// the expensive threshold of each (currency, category) and each provider's
// expensive parts are taken (see expensiveParts).
const statsPartsSQL = `
SELECT w.provider_id, w.currency, w.product_category, cp.unit_cost::float8, count(*), sum(cp.quantity)
FROM claimed_parts cp JOIN work_orders w ON w.id = cp.work_order_id
WHERE w.completed_at >= $1 AND w.completed_at <= $2 AND w.kind = 'repair'
GROUP BY 1, 2, 3, 4`

// statsConfirmedSQL counts each provider's confirmed V1–V4 findings decided since $1.
const statsConfirmedSQL = `
SELECT provider_id, count(*) FROM flags
WHERE work_order_id IS NOT NULL AND rule IN ('V1', 'V2', 'V3', 'V4')
  AND decision = 'confirmed' AND decided_at >= $1 AND decided_at <= $2
GROUP BY 1`

// writeStatsSQL replaces provider_stats with the run's rows.
const writeStatsSQL = `
INSERT INTO provider_stats (provider_id, metric, n, value, lower, upper, reference, outlier, computed_at)
SELECT * , $9::timestamptz FROM unnest($1::bigint[], $2::text[], $3::int[], $4::float8[], $5::float8[],
                                       $6::float8[], $7::float8[], $8::bool[])`

// stratum is one provider's jobs in one (currency, category, kind), with
// their outcomes.
type stratum struct {
	provider           int64
	currency, category string
	kind               string
	n                  int64
	sum, sumsq         float64
	qty, dear          int64 // repairs: parts claimed, and of those expensive
	outcomes
}

// outcomes are one provider's (or stratum's) counts of what became of its
// jobs (statsJobsSQL) and its confirmed findings (statsConfirmedSQL).
type outcomes struct {
	jobs, repeats, paid   int64
	reached, denials      int64
	contacts, unreachable int64
	confirmed             int64
}

func (o *outcomes) add(x outcomes) {
	o.jobs += x.jobs
	o.repeats += x.repeats
	o.paid += x.paid
	o.reached += x.reached
	o.denials += x.denials
	o.contacts += x.contacts
	o.unreachable += x.unreachable
	o.confirmed += x.confirmed
}

// costLine is one bar of statsPartsSQL's histogram.
type costLine struct {
	provider           int64
	currency, category string
	cost               float64
	lines, qty         int64
}

// statsWorkMem lets the statistics' hashes stay in memory; it is set, with
// JIT compilation off (it costs more than it saves on these scans), for
// their read-only transaction only.
const statsWorkMem = "64MB"

// ComputeProviderStats recomputes the provider statistics over the jobs
// completed in the last Config.StatsDays days, replaces provider_stats with
// them, and raises a flag for each provider and rule with an outlier metric
// (WorkOrderID 0). It resolves nothing: a provider that is no longer an
// outlier keeps its flag until a reviewer decides it. Raising an unchanged
// finding again changes nothing.
//
// The reads run in one repeatable-read transaction, so every metric sees the
// same jobs, flags and contacts.
func (s *Store) ComputeProviderStats(ctx context.Context) (StatsRun, error) {
	c := &s.Config
	now := s.now()
	run := StatsRun{From: now.AddDate(0, 0, -c.StatsDays), To: now}
	fail := func(what string, err error) (StatsRun, error) {
		return StatsRun{}, fmt.Errorf("provider statistics: %s: %w", what, err)
	}
	var (
		strata []stratum
		costs  []costLine
		out    = map[int64]*outcomes{}
		codes  map[int64]string
	)
	get := func(p int64) *outcomes {
		if out[p] == nil {
			out[p] = &outcomes{}
		}
		return out[p]
	}
	err := pgx.BeginTxFunc(ctx, s.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL work_mem = '"+statsWorkMem+"'; SET LOCAL jit = off"); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, statsJobsSQL, run.From, run.To)
		if err != nil {
			return fmt.Errorf("jobs: %w", err)
		}
		strata, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (stratum, error) {
			var st stratum
			o := &st.outcomes
			err := r.Scan(&st.provider, &st.currency, &st.category, &st.kind, &st.n, &st.sum, &st.sumsq,
				&o.repeats, &o.paid, &o.reached, &o.denials, &o.contacts, &o.unreachable)
			o.jobs = st.n
			return st, err
		})
		if err != nil {
			return fmt.Errorf("jobs: %w", err)
		}
		rows, err = tx.Query(ctx, statsAgainSQL, run.From, run.To, time.Duration(c.V15Days)*24*time.Hour)
		if err != nil {
			return fmt.Errorf("repeats: %w", err)
		}
		type skey struct {
			provider                 int64
			currency, category, kind string
		}
		again := map[skey]int64{}
		var k skey
		var n int64
		if _, err = pgx.ForEachRow(rows, []any{&k.provider, &k.currency, &k.category, &k.kind, &n}, func() error {
			again[k] = n
			return nil
		}); err != nil {
			return fmt.Errorf("repeats: %w", err)
		}
		for i := range strata {
			st := &strata[i]
			st.repeats += again[skey{st.provider, st.currency, st.category, st.kind}]
		}
		rows, err = tx.Query(ctx, statsPartsSQL, run.From, run.To)
		if err != nil {
			return fmt.Errorf("parts: %w", err)
		}
		costs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (costLine, error) {
			var l costLine
			return l, r.Scan(&l.provider, &l.currency, &l.category, &l.cost, &l.lines, &l.qty)
		})
		if err != nil {
			return fmt.Errorf("parts: %w", err)
		}
		rows, err = tx.Query(ctx, statsConfirmedSQL, now.AddDate(0, 0, -c.P3Days), now)
		if err != nil {
			return fmt.Errorf("confirmed findings: %w", err)
		}
		var p int64
		if _, err = pgx.ForEachRow(rows, []any{&p, &n}, func() error { get(p).confirmed = n; return nil }); err != nil {
			return fmt.Errorf("confirmed findings: %w", err)
		}
		for _, st := range strata {
			get(st.provider).add(st.outcomes)
		}
		ids := make([]int64, 0, len(out))
		for p := range out {
			ids = append(ids, p)
		}
		codes, err = providerCodes(ctx, tx, ids)
		return err
	})
	if err != nil {
		return fail("read", err)
	}
	expensiveParts(strata, costs)
	run.Providers = len(out)

	cmpr := comparer{cfg: c, z: twoSidedZ(c.Confidence), codes: codes}
	run.Stats = append(run.Stats, cmpr.partsPerRepair(strata)...)
	run.Stats = append(run.Stats, cmpr.expensiveShare(strata)...)
	run.Stats = append(run.Stats, cmpr.costPerClaim(strata)...)
	run.Stats = append(run.Stats, cmpr.outcomeStats(out)...)
	slices.SortFunc(run.Stats, func(a, b ProviderStat) int {
		return cmp.Or(cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Metric, b.Metric))
	})
	run.Findings = findings(run.Stats, c, run.From, run.To)

	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM provider_stats`); err != nil {
			return err
		}
		k := len(run.Stats)
		var (
			prov                       = make([]int64, k)
			metric                     = make([]string, k)
			nn                         = make([]int64, k)
			value, lower, upper, refer = make([]float64, k), make([]float64, k), make([]float64, k), make([]float64, k)
			outlier                    = make([]bool, k)
		)
		for i, st := range run.Stats {
			prov[i], metric[i], nn[i], outlier[i] = st.ProviderID, st.Metric, st.N, st.Outlier
			value[i], lower[i], upper[i], refer[i] = finite(st.Value), finite(st.Lower), finite(st.Upper), finite(st.Reference)
		}
		if _, err := tx.Exec(ctx, writeStatsSQL, prov, metric, nn, value, lower, upper, refer, outlier, now); err != nil {
			return err
		}
		var err error
		run.Raised, err = s.Raise(ctx, tx, run.Findings)
		return err
	})
	if err != nil {
		return fail("write", err)
	}
	return run, nil
}

// finite keeps an infinite bound (an upper bound with nothing expected)
// storable: double precision takes Infinity, but JSON and most readers do
// not, so it is written as the largest float.
func finite(v float64) float64 {
	switch {
	case math.IsInf(v, 1):
		return math.MaxFloat64
	case math.IsInf(v, -1):
		return -math.MaxFloat64
	case math.IsNaN(v):
		return 0
	}
	return v
}

func providerCodes(ctx context.Context, tx pgx.Tx, ids []int64) (map[int64]string, error) {
	rows, err := tx.Query(ctx, `SELECT id, code FROM providers WHERE id = ANY ($1)`, ids)
	if err != nil {
		return nil, err
	}
	codes := map[int64]string{}
	var id int64
	var code string
	_, err = pgx.ForEachRow(rows, []any{&id, &code}, func() error { codes[id] = code; return nil })
	return codes, err
}

// expensiveParts sets each repair stratum's parts and expensive parts from
// the histogram of unit costs. A part is expensive when its unit cost is
// above the 75th percentile of the unit costs of the claim lines on repairs
// in its currency and category in the window (percentile_cont over lines,
// interpolating), so about the dearest quarter of claim lines; lines at the
// percentile itself are not expensive.
func expensiveParts(strata []stratum, costs []costLine) {
	type group struct{ currency, category string }
	byGroup := map[group][]costLine{}
	for _, l := range costs {
		g := group{l.currency, l.category}
		byGroup[g] = append(byGroup[g], l)
	}
	p75 := map[group]float64{}
	for g, ls := range byGroup {
		p75[g] = weightedPercentile(ls, 0.75)
	}
	type key struct {
		provider           int64
		currency, category string
	}
	qty, dear := map[key]int64{}, map[key]int64{}
	for _, l := range costs {
		k := key{l.provider, l.currency, l.category}
		qty[k] += l.qty
		if l.cost > p75[group{l.currency, l.category}] {
			dear[k] += l.qty
		}
	}
	for i := range strata {
		st := &strata[i]
		if st.kind == "repair" {
			k := key{st.provider, st.currency, st.category}
			st.qty, st.dear = qty[k], dear[k]
		}
	}
}

// weightedPercentile is percentile_cont(q) of the unit costs of the lines
// the histogram bars stand for (each bar's cost counted lines times).
func weightedPercentile(bars []costLine, q float64) float64 {
	type bar struct {
		cost  float64
		lines int64
	}
	merged := map[float64]int64{}
	var total int64
	for _, b := range bars {
		merged[b.cost] += b.lines
		total += b.lines
	}
	if total == 0 {
		return math.Inf(1)
	}
	sorted := make([]bar, 0, len(merged))
	for c, n := range merged {
		sorted = append(sorted, bar{c, n})
	}
	slices.SortFunc(sorted, func(a, b bar) int { return cmp.Compare(a.cost, b.cost) })
	at := func(i int64) float64 { // the cost of the i-th line (0-based) in cost order
		for _, b := range sorted {
			if i < b.lines {
				return b.cost
			}
			i -= b.lines
		}
		return sorted[len(sorted)-1].cost
	}
	pos := q * float64(total-1)
	lo := int64(math.Floor(pos))
	return at(lo) + (pos-float64(lo))*(at(lo+1)-at(lo))
}

// comparer holds what every comparison needs.
type comparer struct {
	cfg   *Config
	z     float64 // the two-sided normal quantile of cfg.Confidence
	codes map[int64]string
}

func (c *comparer) stat(p int64, metric string) ProviderStat {
	return ProviderStat{ProviderID: p, Provider: c.codes[p], Metric: metric}
}

// mixed is one provider's observed and expected count after indirect
// standardisation: observed summed over its strata, expected the peers'
// rate in each stratum times its own exposure there.
type mixed struct {
	exposure, observed int64
	expected           float64
}

// standardise applies indirect standardisation by product mix: for each
// provider and each of its strata, the peers' (all other providers') pooled
// rate observed/exposure in that stratum times the provider's exposure.
// Strata no peer has are left out, for the provider has no peer there.
func standardise(units []unit) map[int64]*mixed {
	type tot struct{ exposure, observed int64 }
	totals := map[string]*tot{}
	for _, u := range units {
		t := totals[u.key]
		if t == nil {
			t = &tot{}
			totals[u.key] = t
		}
		t.exposure += u.exposure
		t.observed += u.observed
	}
	out := map[int64]*mixed{}
	for _, u := range units {
		m := out[u.provider]
		if m == nil {
			m = &mixed{}
			out[u.provider] = m
		}
		t := totals[u.key]
		peerExp := t.exposure - u.exposure
		if peerExp <= 0 || u.exposure == 0 {
			continue
		}
		m.exposure += u.exposure
		m.observed += u.observed
		m.expected += float64(u.exposure) * float64(t.observed-u.observed) / float64(peerExp)
	}
	return out
}

// unit is one provider's exposure and observed count in one stratum.
type unit struct {
	provider           int64
	key                string
	exposure, observed int64
}

// partsPerRepair is P1's first metric: parts claimed per repair, a Poisson
// count over the provider's repairs, against the peers' rate in each
// product category applied to the provider's own repairs (the expected
// rate). Each peer's value is shown at the provider's mix too: the peer's
// own observed/expected ratio times the provider's expected rate. The
// provider is an outlier when it has at least MinJobs repairs and the lower
// bound of its rate is above both P1Factor × the expected rate and the
// P1Percentile percentile of the peers' values.
func (c *comparer) partsPerRepair(strata []stratum) []ProviderStat {
	byCat := map[[2]any]*unit{}
	var units []unit
	for _, st := range strata {
		if st.kind != "repair" {
			continue
		}
		k := [2]any{st.provider, st.category}
		if byCat[k] == nil {
			byCat[k] = &unit{provider: st.provider, key: st.category}
		}
		byCat[k].exposure += st.n
		byCat[k].observed += st.qty
	}
	for _, u := range byCat {
		units = append(units, *u)
	}
	return c.p1(MetricPartsPerRepair, standardise(units), func(m *mixed) (float64, Interval) {
		r := float64(m.exposure)
		iv := poisson(m.observed, c.cfg.Confidence)
		return float64(m.observed) / r, Interval{iv.Lower / r, iv.Upper / r}
	})
}

// expensiveShare is P1's second metric: the share of the parts claimed on
// repairs that are expensive (see expensiveParts), a proportion with a Wilson
// interval, against the peers' share in each (currency, category) applied
// to the provider's own parts. Judged as partsPerRepair is; the MinJobs
// floor is on repairs.
func (c *comparer) expensiveShare(strata []stratum) []ProviderStat {
	var units []unit
	repairs := map[int64]int64{}
	for _, st := range strata {
		if st.kind != "repair" {
			continue
		}
		repairs[st.provider] += st.n
		units = append(units, unit{provider: st.provider, key: st.currency + "\x00" + st.category, exposure: st.qty, observed: st.dear})
	}
	stats := c.p1(MetricExpensiveShare, standardise(units), func(m *mixed) (float64, Interval) {
		return float64(m.observed) / float64(m.exposure), wilson(m.observed, m.exposure, c.cfg.Confidence)
	})
	for i := range stats {
		if repairs[stats[i].ProviderID] < int64(c.cfg.MinJobs) {
			stats[i].Outlier = false
		}
	}
	return stats
}

// p1 judges one P1 metric from the standardised counts: value and interval
// from estimate, expected = expected/exposure, peers at the provider's mix.
func (c *comparer) p1(metric string, mix map[int64]*mixed, estimate func(*mixed) (float64, Interval)) []ProviderStat {
	var out []ProviderStat
	for p, m := range mix {
		if m.exposure == 0 {
			continue
		}
		st := c.stat(p, metric)
		st.N = m.exposure
		var iv Interval
		st.Value, iv = estimate(m)
		st.Lower, st.Upper = iv.Lower, iv.Upper
		st.Expected = m.expected / float64(m.exposure)
		var peers []float64
		for q, pm := range mix {
			if q == p || pm.exposure < int64(c.cfg.MinJobs) || pm.expected <= 0 {
				continue
			}
			v := float64(pm.observed) / pm.expected * st.Expected
			peers = append(peers, v)
			st.Peers = append(st.Peers, PeerValue{Provider: c.codes[q], N: pm.exposure, Value: v})
		}
		sortPeers(st.Peers)
		st.Reference = c.cfg.P1Factor * st.Expected
		if len(peers) > 0 {
			st.Reference = math.Max(st.Reference, percentile(peers, c.cfg.P1Percentile))
		}
		st.Outlier = len(peers) > 0 && m.exposure >= int64(c.cfg.MinJobs) && st.Lower > st.Reference
		out = append(out, st)
	}
	return out
}

// p2MinStratum is the fewest claims in a stratum for a provider's mean
// there to count towards its peers' median (P2).
const p2MinStratum = 5

// providerMean is one provider's mean claim value in a stratum.
type providerMean struct {
	provider int64
	mean     float64
}

// medianOfOthers is the median of the means of every provider but one.
func medianOfOthers(ms []providerMean, provider int64) (float64, bool) {
	var v []float64
	for _, m := range ms {
		if m.provider != provider {
			v = append(v, m.mean)
		}
	}
	if len(v) == 0 {
		return 0, false
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2], true
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2, true
}

func sortPeers(ps []PeerValue) {
	slices.SortFunc(ps, func(a, b PeerValue) int { return cmp.Compare(a.Provider, b.Provider) })
}

// costPerClaim is P2: the mean claim value (labour + parts) against what
// its peers charge at the provider's own mix of (currency, category, kind).
// In each stratum the peers' reference is the median of the other
// providers' means there (those with at least p2MinStratum claims; the
// pooled mean of all the others when none has): one provider that overcharges
// heavily must not make every honest peer look cheap, as a pooled mean would.
// σ is the pooled within-provider standard deviation of every provider in the
// stratum. The provider's claims are put in standard units,
// d = Σ (sum − n × reference) / σ over its strata, divided by its jobs: the
// mean distance from the peers in σ, comparable across currencies. The
// control statistic is z = d × √n (the spec's (mean − expected)/(σ/√n) when
// there is one stratum); the provider is an outlier when |z| > P2Sigma,
// the mean distance is at least P2MinShift σ and n ≥ MinJobs. Value is d,
// its interval d ± z(confidence)/√n, Reference 0; Detail holds the mean and
// the expected mean in each currency and z.
func (c *comparer) costPerClaim(strata []stratum) []ProviderStat {
	type tot struct {
		n, k       int64
		sum, sumsq float64
		within     float64 // Σ over providers of their sum of squared deviations
		means      []providerMean
	}
	key := func(st stratum) string { return st.currency + "\x00" + st.category + "\x00" + st.kind }
	totals := map[string]*tot{}
	for _, st := range strata {
		t := totals[key(st)]
		if t == nil {
			t = &tot{}
			totals[key(st)] = t
		}
		t.n += st.n
		t.k++
		t.sum += st.sum
		t.sumsq += st.sumsq
		t.within += math.Max(0, st.sumsq-st.sum*st.sum/float64(st.n))
		if st.n >= p2MinStratum {
			t.means = append(t.means, providerMean{st.provider, st.sum / float64(st.n)})
		}
	}
	type acc struct {
		n           int64
		d           float64
		sum, expect map[string]float64 // per currency
		count       map[string]int64
	}
	byProv := map[int64]*acc{}
	for _, st := range strata {
		t := totals[key(st)]
		a := byProv[st.provider]
		if a == nil {
			a = &acc{sum: map[string]float64{}, expect: map[string]float64{}, count: map[string]int64{}}
			byProv[st.provider] = a
		}
		peerN := t.n - st.n
		if peerN <= 0 || t.n-t.k <= 0 {
			continue
		}
		sigma := math.Sqrt(t.within / float64(t.n-t.k))
		if sigma <= 0 {
			continue
		}
		peerRef, ok := medianOfOthers(t.means, st.provider)
		if !ok {
			peerRef = (t.sum - st.sum) / float64(peerN)
		}
		a.n += st.n
		a.d += (st.sum - float64(st.n)*peerRef) / sigma
		a.sum[st.currency] += st.sum
		a.expect[st.currency] += float64(st.n) * peerRef
		a.count[st.currency] += st.n
	}
	var out []ProviderStat
	for p, a := range byProv {
		if a.n == 0 {
			continue
		}
		st := c.stat(p, MetricCostPerClaim)
		st.N = a.n
		rn := math.Sqrt(float64(a.n))
		st.Value = a.d / float64(a.n)
		st.Lower, st.Upper = st.Value-c.z/rn, st.Value+c.z/rn
		z := st.Value * rn
		// Significance alone is not enough: over a million jobs a few
		// hundredths of σ are "significant". The shift must also matter.
		st.Outlier = a.n >= int64(c.cfg.MinJobs) && math.Abs(z) > c.cfg.P2Sigma && math.Abs(st.Value) >= c.cfg.P2MinShift
		means := map[string]any{}
		for cur, k := range a.count {
			means[cur] = map[string]any{"jobs": k, "mean": round2(a.sum[cur] / float64(k)), "expected": round2(a.expect[cur] / float64(k))}
		}
		st.Detail = map[string]any{"z": z, "limit": c.cfg.P2Sigma, "min_shift": c.cfg.P2MinShift, "by_currency": means}
		out = append(out, st)
	}
	return out
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// outcomeStats are P3, P4 and V16, from the outcome counts:
//   - P3 confirmed: at least P3Confirmed confirmed V1–V4 findings in P3Days;
//   - P3 denial rate: denials ÷ reached jobs, outlier when its Wilson lower
//     bound is above P3Multiple × the median provider's rate;
//   - P4 repeat and customer-paid rates ÷ jobs, outlier when the Wilson lower
//     bound is above the peers' P4Percentile percentile;
//   - V16 unreachable rate ÷ contacts done, outlier when the Wilson lower
//     bound is above V16Multiple × the median provider's rate.
//
// Rates need n ≥ MinJobs to be judged, and only providers with that many
// count among the peers and towards the median.
func (c *comparer) outcomeStats(out map[int64]*outcomes) []ProviderStat {
	var stats []ProviderStat
	minN := int64(c.cfg.MinJobs)
	type rate struct {
		metric string
		x, n   func(*outcomes) int64
		// median: the bar is multiple × the median of all judged providers;
		// otherwise the percentile of the peers'.
		median   bool
		multiple float64
	}
	rates := []rate{
		{MetricDenialRate, func(o *outcomes) int64 { return o.denials }, func(o *outcomes) int64 { return o.reached }, true, c.cfg.P3Multiple},
		{MetricRepeatRate, func(o *outcomes) int64 { return o.repeats }, func(o *outcomes) int64 { return o.jobs }, false, 0},
		{MetricCustomerPaidRate, func(o *outcomes) int64 { return o.paid }, func(o *outcomes) int64 { return o.jobs }, false, 0},
		{MetricUnreachableRate, func(o *outcomes) int64 { return o.unreachable }, func(o *outcomes) int64 { return o.contacts }, true, c.cfg.V16Multiple},
	}
	for _, r := range rates {
		var judged []float64
		for _, o := range out {
			if n := r.n(o); n >= minN {
				judged = append(judged, float64(r.x(o))/float64(n))
			}
		}
		median := percentile(judged, 0.5)
		for p, o := range out {
			n := r.n(o)
			if n == 0 {
				continue
			}
			st := c.stat(p, r.metric)
			st.N, st.Value = n, float64(r.x(o))/float64(n)
			iv := wilson(r.x(o), n, c.cfg.Confidence)
			st.Lower, st.Upper = iv.Lower, iv.Upper
			var peers []float64
			for q, po := range out {
				if q != p && r.n(po) >= minN {
					v := float64(r.x(po)) / float64(r.n(po))
					peers = append(peers, v)
					st.Peers = append(st.Peers, PeerValue{Provider: c.codes[q], N: r.n(po), Value: v})
				}
			}
			sortPeers(st.Peers)
			if r.median {
				if math.IsNaN(median) {
					continue // nobody to compare with: stored only below
				}
				st.Expected = median
				st.Reference = r.multiple * median
				st.Outlier = n >= minN && r.x(o) > 0 && st.Lower > st.Reference
			} else if len(peers) > 0 {
				st.Reference = percentile(peers, c.cfg.P4Percentile)
				st.Outlier = n >= minN && st.Lower > st.Reference
			}
			stats = append(stats, st)
		}
	}
	// Rates without a median to compare with are still recorded.
	for p, o := range out {
		for _, r := range rates {
			if n := r.n(o); n > 0 && !hasStat(stats, p, r.metric) {
				st := c.stat(p, r.metric)
				st.N, st.Value = n, float64(r.x(o))/float64(n)
				iv := wilson(r.x(o), n, c.cfg.Confidence)
				st.Lower, st.Upper = iv.Lower, iv.Upper
				stats = append(stats, st)
			}
		}
		if o.confirmed > 0 {
			st := c.stat(p, MetricConfirmed)
			st.N, st.Value, st.Lower, st.Upper = o.confirmed, float64(o.confirmed), float64(o.confirmed), float64(o.confirmed)
			st.Reference = float64(c.cfg.P3Confirmed)
			st.Outlier = o.confirmed >= int64(c.cfg.P3Confirmed)
			stats = append(stats, st)
		}
	}
	return stats
}

func hasStat(stats []ProviderStat, p int64, metric string) bool {
	return slices.ContainsFunc(stats, func(s ProviderStat) bool { return s.ProviderID == p && s.Metric == metric })
}

// findings turns the outlier metrics into one finding per provider and
// rule. The evidence holds every metric of the rule for the provider —
// the outlier and its siblings — with n, value, interval, reference and the
// peers' values, and the window.
func findings(stats []ProviderStat, c *Config, from, to time.Time) []Finding {
	type key struct {
		provider int64
		rule     string
	}
	var order []key
	hit := map[key]bool{}
	for _, s := range stats {
		k := key{s.ProviderID, metricRule(s.Metric)}
		if s.Outlier && !hit[k] {
			hit[k] = true
			order = append(order, k)
		}
	}
	var out []Finding
	for _, k := range order {
		var metrics []ProviderStat
		var code string
		var summary string
		for _, s := range stats {
			if s.ProviderID != k.provider || metricRule(s.Metric) != k.rule {
				continue
			}
			code = s.Provider
			metrics = append(metrics, s)
			if s.Outlier {
				if summary != "" {
					summary += "; "
				}
				summary += describe(s, c)
			}
		}
		for i := range metrics {
			metrics[i].Lower, metrics[i].Upper = finite(metrics[i].Lower), finite(metrics[i].Upper)
		}
		f := Finding{
			ProviderID: k.provider,
			Rule:       k.rule,
			Summary:    code + ": " + summary,
			Evidence: map[string]any{
				"provider":   code,
				"metrics":    metrics,
				"confidence": c.Confidence,
				"min_jobs":   c.MinJobs,
				"window":     map[string]any{"from": from, "to": to, "days": c.StatsDays},
			},
		}
		if k.rule == "V16" {
			f.Severity = High
		}
		out = append(out, f)
	}
	return out
}

// describe says in one line why a metric is an outlier.
func describe(s ProviderStat, c *Config) string {
	pct := func(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }
	conf := fmt.Sprintf("%g%%", 100*c.Confidence)
	switch s.Metric {
	case MetricPartsPerRepair:
		return fmt.Sprintf("%.2f parts per repair over %d repairs (%s interval %.2f–%.2f), peers %.2f at the same product mix; bar %.2f",
			s.Value, s.N, conf, s.Lower, s.Upper, s.Expected, s.Reference)
	case MetricExpensiveShare:
		return fmt.Sprintf("%s of %d parts expensive (%s interval %s–%s), peers %s at the same product mix; bar %s",
			pct(s.Value), s.N, conf, pct(s.Lower), pct(s.Upper), pct(s.Expected), pct(s.Reference))
	case MetricCostPerClaim:
		return fmt.Sprintf("cost per claim %+.2fσ from the peers' at the same mix over %d claims (z = %.1f, limit ±%g)",
			s.Value, s.N, s.Detail["z"], c.P2Sigma)
	case MetricConfirmed:
		return fmt.Sprintf("%d confirmed V1–V4 findings in %d days (at least %d)", s.N, c.P3Days, c.P3Confirmed)
	}
	what := map[string]string{
		MetricDenialRate:       "denial rate",
		MetricRepeatRate:       "repeat rate",
		MetricCustomerPaidRate: "customer-paid rate",
		MetricUnreachableRate:  "unreachable rate",
	}[s.Metric]
	return fmt.Sprintf("%s %s of %d (%s interval %s–%s) above the bar %s", what, pct(s.Value), s.N, conf, pct(s.Lower), pct(s.Upper), pct(s.Reference))
}
