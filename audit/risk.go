package audit

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Risk, 0 (none) to 1, per provider and per recent job; campaign sampling
// reads both (campaigns.Sampling): a risky provider's jobs are sampled at
// least at Sampling.RiskyProviders, and a job's own risk raises its chance
// further.
//
// Each piece of evidence carries a weight by its severity, SeverityWeight,
// and pieces combine as independent chances of trouble, 1 − Π(1 − w), so
// the score only grows with evidence, never passes 1, and one critical
// finding outweighs several low ones.
//
// Provider: 1 − (1 − S)(1 − C), where
//   - S = 1 − Π(1 − w(rule)) over the rules with an outlier metric in
//     provider_stats (P3 critical 0.9; P1 and V16 high 0.6; P2, P4 medium 0.3),
//     where P2 counts only above the peers: claims cheaper than the peers'
//     are flagged for review but are no risk of over-claiming;
//   - C = 1 − Π(1 − w(severity)/2) over the findings about the provider or
//     its jobs that reviewers confirmed in the last Config.P3Days days: two
//     confirmed critical findings give 0.70, one 0.45.
//
// The provider is risky when its score is at least Config.RiskyAbove (0.5):
// one high statistic and anything else, any critical one, or two confirmed
// critical findings. Reasons are the rule codes behind the score, sorted.
//
// Job (completed in the last Config.StatsDays days): 1 − (1 − F)(1 − P/2),
// where F = 1 − Π(1 − w(severity)) over the job's flags not cleared by a
// reviewer (open, under review, confirmed, escalated) and P is its
// provider's score. Only jobs with such a flag get a row, so a run writes in
// proportion to the flagged jobs, not to every job of a scored provider (a
// million rows would take longer to write than all the rest of the run);
// campaign sampling reads a missing row as 0, and reaches the other jobs of
// a risky provider through provider_risk.risky.

// SeverityWeight is the weight of a piece of evidence of each severity in
// the risk scores.
var SeverityWeight = map[Severity]float64{Critical: 0.9, High: 0.6, Medium: 0.3, Low: 0.1}

// RiskRun says what one run of ComputeRisk wrote.
type RiskRun struct {
	Providers int // provider_risk rows: every provider
	Risky     int // of those, risky
	Jobs      int // job_risk rows: recent jobs with a flag not cleared
	Changed   int // of those, rows written because they are new or changed
	Removed   int // rows removed: the job's flags cleared, or the job out of the window
}

// providerRiskSQL writes provider_risk (emptied first, in the same
// transaction): one row per provider. $1 and $2
// are the provider rules and their weights, $3 and $4 the severities and
// theirs, $5 the start of the confirmed-findings window, $6 now, $7 the
// risky threshold.
const providerRiskSQL = `
WITH rw AS (
    SELECT * FROM unnest($1::text[], $2::float8[]) AS rw(rule, weight)
), sw AS (
    SELECT * FROM unnest($3::text[], $4::float8[]) AS sw(severity, weight)
), stat AS (
    SELECT o.provider_id, 1 - exp(sum(ln(1 - rw.weight))) AS score, array_agg(o.rule) AS reasons
    FROM (SELECT DISTINCT provider_id, split_part(metric, '.', 1) AS rule FROM provider_stats
          WHERE outlier AND NOT (metric = 'P2.cost_per_claim' AND value < 0)) o
    JOIN rw USING (rule)
    GROUP BY 1
), conf AS (
    SELECT f.provider_id, 1 - exp(sum(ln(1 - sw.weight / 2))) AS score, array_agg(DISTINCT f.rule) AS reasons
    FROM flags f JOIN sw USING (severity)
    WHERE f.decision = 'confirmed' AND f.decided_at >= $5 AND f.decided_at <= $6
    GROUP BY 1
), scored AS (
    SELECT p.id, least(1, greatest(0, 1 - (1 - coalesce(stat.score, 0)) * (1 - coalesce(conf.score, 0)))) AS score,
           ARRAY(SELECT DISTINCT r FROM unnest(coalesce(stat.reasons, '{}') || coalesce(conf.reasons, '{}')) AS r ORDER BY r) AS reasons
    FROM providers p
    LEFT JOIN stat ON stat.provider_id = p.id
    LEFT JOIN conf ON conf.provider_id = p.id
)
INSERT INTO provider_risk (provider_id, score, risky, reasons, computed_at)
SELECT id, score, score >= $7, reasons, $6 FROM scored`

// jobRiskSQL brings job_risk up to date for the jobs completed since $3
// with a flag not cleared: rows whose score or reasons changed are written,
// rows of jobs no longer scored removed, the rest left alone, so a run
// after a quiet hour writes almost nothing. $1 and $2 are the severities
// and their weights, $4 now. It returns the rows wanted, written and
// removed.
const jobRiskSQL = `
WITH sw AS (
    SELECT * FROM unnest($1::text[], $2::float8[]) AS sw(severity, weight)
), jf AS (
    SELECT f.work_order_id, 1 - exp(sum(ln(1 - sw.weight))) AS score, array_agg(DISTINCT f.rule) AS reasons
    FROM flags f JOIN sw USING (severity)
    WHERE f.work_order_id IS NOT NULL AND f.decision IS DISTINCT FROM 'cleared' AND f.raised_at >= $3
    GROUP BY 1
), want AS (
    SELECT w.id,
           least(1, 1 - (1 - jf.score) * (1 - coalesce(pr.score, 0) / 2)) AS score,
           CASE WHEN pr.reasons IS NULL OR pr.reasons = '{}' THEN jf.reasons
                ELSE ARRAY(SELECT DISTINCT r FROM unnest(jf.reasons || pr.reasons) AS r ORDER BY r) END AS reasons
    FROM jf
    JOIN work_orders w ON w.id = jf.work_order_id
    LEFT JOIN provider_risk pr ON pr.provider_id = w.provider_id
    WHERE w.completed_at >= $3 AND w.completed_at <= $4
), del AS (
    DELETE FROM job_risk j WHERE NOT EXISTS (SELECT 1 FROM want WHERE want.id = j.work_order_id)
    RETURNING 1
), up AS (
    INSERT INTO job_risk (work_order_id, score, reasons, computed_at)
    SELECT id, score, reasons, $4 FROM want
    ON CONFLICT (work_order_id) DO UPDATE
        SET score = EXCLUDED.score, reasons = EXCLUDED.reasons, computed_at = EXCLUDED.computed_at
        WHERE (job_risk.score, job_risk.reasons) IS DISTINCT FROM (EXCLUDED.score, EXCLUDED.reasons)
    RETURNING 1
)
SELECT (SELECT count(*) FROM want), (SELECT count(*) FROM up), (SELECT count(*) FROM del)`

// ComputeRisk recomputes provider_risk from the statistics last written by
// ComputeProviderStats and the confirmed findings, then job_risk for the
// jobs of the last Config.StatsDays days, in one transaction (readers see
// the old scores or the new, never a mix). The formulas are in the comment
// at the top of this file.
func (s *Store) ComputeRisk(ctx context.Context) (RiskRun, error) {
	c := &s.Config
	now := s.now()
	var rules []string
	var ruleW []float64
	for _, r := range Rules {
		if !r.Provider && r.Code != "V16" {
			continue
		}
		sev := r.Severity
		if r.Code == "V16" {
			sev = High // V16 per provider is high
		}
		rules, ruleW = append(rules, r.Code), append(ruleW, SeverityWeight[sev])
	}
	var sevs []string
	var sevW []float64
	for _, sv := range []Severity{Critical, High, Medium, Low} {
		sevs, sevW = append(sevs, string(sv)), append(sevW, SeverityWeight[sv])
	}
	var run RiskRun
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM provider_risk`); err != nil {
			return fmt.Errorf("provider risk: %w", err)
		}
		if _, err := tx.Exec(ctx, providerRiskSQL, rules, ruleW, sevs, sevW,
			now.AddDate(0, 0, -c.P3Days), now, c.RiskyAbove); err != nil {
			return fmt.Errorf("provider risk: %w", err)
		}
		if err := tx.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE risky) FROM provider_risk`).
			Scan(&run.Providers, &run.Risky); err != nil {
			return fmt.Errorf("provider risk: %w", err)
		}
		if err := tx.QueryRow(ctx, jobRiskSQL, sevs, sevW, now.AddDate(0, 0, -c.StatsDays), now).
			Scan(&run.Jobs, &run.Changed, &run.Removed); err != nil {
			return fmt.Errorf("job risk: %w", err)
		}
		return nil
	})
	if err != nil {
		return RiskRun{}, fmt.Errorf("compute risk: %w", err)
	}
	return run, nil
}
