package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/workorders"
)

// Finding is one check's hit: a rule broken by one job (or, for provider
// statistics, by one provider), with what the check saw.
type Finding struct {
	WorkOrderID int64 // 0 for a finding about a provider
	ProviderID  int64
	Rule        string
	// Severity overrides the rule's (V16 is low for a job, high for a
	// provider); "" means the rule's.
	Severity Severity
	Summary  string
	// Evidence is what the check saw, stored as JSON with the flag: the
	// answers with their prompts, the other jobs, the statistic.
	Evidence   any
	Currency   string
	ClaimValue workorders.Money // labour + parts of the job's claim
	Amount     workorders.Money // what a confirmed finding charges back
}

func (f *Finding) severity() Severity {
	if f.Severity != "" {
		return f.Severity
	}
	return mustRule(f.Rule).Severity
}

// Store is the audit's access to Postgres.
type Store struct {
	Pool   *pgxpool.Pool
	Config Config
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// NewStore returns a store with DOMAIN.md's default thresholds.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{Pool: pool, Config: DefaultConfig()}
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// raiseSQL inserts job findings as flags, one per (job, rule). A finding for
// a flag that already exists refreshes its evidence only while the flag is
// still open and unclaimed: what a reviewer is looking at does not change
// under them, and a decided flag stays decided. Each new or refreshed flag is
// written to audit_log in the same statement.
const raiseSQL = `
WITH f AS (
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::smallint[], $6::text[],
                         $7::text[], $8::jsonb[], $9::text[], $10::bigint[], $11::bigint[])
             AS f(work_order_id, provider_id, rule, severity, priority, source, summary, evidence, currency, claim_value, amount)
), up AS (
    INSERT INTO flags (work_order_id, provider_id, rule, severity, priority, source, summary, evidence,
                       currency, claim_value, amount, raised_at, due_at, updated_at)
    SELECT NULLIF(f.work_order_id, 0), f.provider_id, f.rule, f.severity, f.priority, f.source, f.summary, f.evidence,
           f.currency, f.claim_value / 100.0, f.amount / 100.0, $12::timestamptz, $12::timestamptz + CASE f.severity
               WHEN 'critical' THEN $13::interval WHEN 'high' THEN $14::interval
               WHEN 'medium' THEN $15::interval ELSE $16::interval END, $12::timestamptz
    FROM f
    %s
    RETURNING id, xmax = 0 AS inserted, rule, work_order_id, provider_id
)
INSERT INTO audit_log (at, actor, action, subject_type, subject_id, details)
SELECT $12::timestamptz, 'audit', CASE WHEN inserted THEN 'flag.raise' ELSE 'flag.refresh' END, 'flag', id::text,
       jsonb_build_object('rule', rule, 'work_order_id', work_order_id, 'provider_id', provider_id)
FROM up
RETURNING action = 'flag.raise'`

const onJobConflict = `ON CONFLICT (work_order_id, rule) WHERE work_order_id IS NOT NULL DO UPDATE
    SET summary = EXCLUDED.summary, evidence = EXCLUDED.evidence, severity = EXCLUDED.severity,
        priority = EXCLUDED.priority, claim_value = EXCLUDED.claim_value, amount = EXCLUDED.amount,
        version = flags.version + 1, updated_at = EXCLUDED.updated_at
    WHERE flags.state = 'open' AND (flags.evidence, flags.summary, flags.amount)
          IS DISTINCT FROM (EXCLUDED.evidence, EXCLUDED.summary, EXCLUDED.amount)`

const onProviderConflict = `ON CONFLICT (provider_id, rule) WHERE work_order_id IS NULL AND state <> 'decided' DO UPDATE
    SET summary = EXCLUDED.summary, evidence = EXCLUDED.evidence, severity = EXCLUDED.severity,
        priority = EXCLUDED.priority, version = flags.version + 1, updated_at = EXCLUDED.updated_at
    WHERE flags.state = 'open' AND (flags.evidence, flags.summary) IS DISTINCT FROM (EXCLUDED.evidence, EXCLUDED.summary)`

// Raise writes findings as flags in the caller's transaction and returns how
// many flags are new. Raising the same finding again changes nothing.
func (s *Store) Raise(ctx context.Context, tx pgx.Tx, findings []Finding) (int, error) {
	var jobs, provs []Finding
	for _, f := range findings {
		if _, ok := RuleByCode(f.Rule); !ok {
			return 0, fmt.Errorf("raise: unknown rule %q", f.Rule)
		}
		if f.WorkOrderID == 0 {
			provs = append(provs, f)
		} else {
			jobs = append(jobs, f)
		}
	}
	n1, err := s.raise(ctx, tx, jobs, onJobConflict)
	if err != nil {
		return 0, err
	}
	n2, err := s.raise(ctx, tx, provs, onProviderConflict)
	return n1 + n2, err
}

func (s *Store) raise(ctx context.Context, tx pgx.Tx, fs []Finding, conflict string) (int, error) {
	if len(fs) == 0 {
		return 0, nil
	}
	n := len(fs)
	var (
		wo, prov, claim, amount                  = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		rule, sev, source, summary, evid, curncy = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		prio                                     = make([]int16, n)
	)
	for i, f := range fs {
		r := mustRule(f.Rule)
		sv := f.severity()
		wo[i], prov[i], rule[i], sev[i], prio[i], source[i] = f.WorkOrderID, f.ProviderID, f.Rule, string(sv), int16(sv.Priority()), string(r.Source)
		summary[i], curncy[i], claim[i], amount[i] = f.Summary, f.Currency, int64(f.ClaimValue), int64(f.Amount)
		ev := f.Evidence
		if ev == nil {
			ev = map[string]any{}
		}
		b, err := json.Marshal(ev)
		if err != nil {
			return 0, fmt.Errorf("raise %s: evidence: %w", f.Rule, err)
		}
		evid[i] = string(b)
	}
	c := &s.Config
	rows, err := tx.Query(ctx, fmt.Sprintf(raiseSQL, conflict), wo, prov, rule, sev, prio, source, summary, evid, curncy, claim, amount,
		s.now(), time.Duration(c.SLA.Critical), time.Duration(c.SLA.High),
		time.Duration(c.SLA.Medium), time.Duration(c.SLA.Low))
	if err != nil {
		return 0, fmt.Errorf("raise flags: %w", err)
	}
	raised, err := pgx.CollectRows(rows, pgx.RowTo[bool])
	if err != nil {
		return 0, fmt.Errorf("raise flags: %w", err)
	}
	k := 0
	for _, r := range raised {
		if r {
			k++
		}
	}
	return k, nil
}
