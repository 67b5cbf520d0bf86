package audit

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/huifang/huifang/workorders"
)

// The intake checks compare each new job's claim with the data alone — the
// job's own dates, the parts lists and standard times of product_models and
// model_parts, and every job seen before — so they run as soon as a job
// arrives, before anyone is called:
//
//	V7  the same unit claimed again (same part or fault, or another provider)
//	V9  service after the warranty ended, or an install before delivery
//	V10 a repair in the warranty's last days
//	V11 a part not on the model's parts list, or more of it than the list allows
//	V12 labour over the standard time times a factor
//	V13 a customer phone that is the technician's or the provider's own, or
//	    a phone or address behind several customers
//	V15 the same unit serviced again soon after (a comeback)
//
// Each check is one set-based statement over the batch of new jobs against
// all history, so a batch of ten thousand jobs costs a handful of queries.

// IntakeRun counts what one RunIntakeChecks did.
type IntakeRun struct {
	Jobs    int // jobs checked
	Batches int // transactions committed
	Flags   int // new flags raised
	// Findings counts findings per rule. A finding about a job that already
	// has the rule's flag (V13 and V7 revisit earlier jobs) refreshes it and
	// is counted here but not in Flags.
	Findings map[string]int
	// UnknownModel counts checked jobs whose product model is not in
	// product_models: V11 and V12 could not judge them.
	UnknownModel int
}

// intakeBatchSize is how many jobs one transaction checks.
const intakeBatchSize = 10_000

// RunIntakeChecks checks the jobs no run has checked yet, in id order, at
// most limit of them (limit <= 0: all), in batches of ten thousand. Each batch
// is one transaction: it claims its jobs in audit_intake_checked (so two
// instances never check one job twice, and a job is checked once however
// often this runs), runs every check over the batch against all history and
// raises the findings. Thresholds come from s.Config.
func (s *Store) RunIntakeChecks(ctx context.Context, limit int) (IntakeRun, error) {
	run := IntakeRun{Findings: map[string]int{}}
	var after int64
	for limit <= 0 || run.Jobs < limit {
		n := intakeBatchSize
		if limit > 0 {
			n = min(n, limit-run.Jobs)
		}
		var picked int
		batch := IntakeRun{Findings: map[string]int{}}
		err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
			var err error
			picked, after, err = s.intakeBatch(ctx, tx, n, after, &batch)
			return err
		})
		if err != nil {
			return run, fmt.Errorf("intake checks: %w", err)
		}
		if picked == 0 {
			return run, nil
		}
		// Only a committed batch counts.
		run.Jobs += batch.Jobs
		run.Flags += batch.Flags
		run.UnknownModel += batch.UnknownModel
		for r, k := range batch.Findings {
			run.Findings[r] += k
		}
		if batch.Jobs > 0 {
			run.Batches++
		}
	}
	return run, nil
}

// claimJobsSQL takes up to $1 unchecked jobs after id $2 and marks them
// checked. Rows another run holds are skipped; a job another run checked and
// committed meanwhile is dropped by the conflict, so only what RETURNING
// gives is this run's. The claimed ids go to a temporary table the checks
// join with.
const claimJobsSQL = `
WITH picked AS (
    SELECT w.id FROM work_orders w
    WHERE w.id > $2
      AND NOT EXISTS (SELECT 1 FROM audit_intake_checked k WHERE k.work_order_id = w.id)
    ORDER BY w.id
    LIMIT $1
    FOR NO KEY UPDATE OF w SKIP LOCKED
), ins AS (
    INSERT INTO audit_intake_checked (work_order_id, checked_at)
    SELECT id, $3 FROM picked
    ON CONFLICT (work_order_id) DO NOTHING
    RETURNING work_order_id
), batch AS (
    INSERT INTO audit_intake_batch (id) SELECT work_order_id FROM ins
    RETURNING id
)
SELECT (SELECT count(*) FROM picked), COALESCE((SELECT max(id) FROM picked), 0), (SELECT count(*) FROM batch)`

// intakeBatch claims and checks one batch. It returns how many unchecked
// jobs it found (0: none left) and the last id it looked at.
func (s *Store) intakeBatch(ctx context.Context, tx pgx.Tx, n int, after int64, run *IntakeRun) (picked int, last int64, err error) {
	var claimed int
	// JIT compiling these short queries costs more than running them: a
	// plan over tables not yet analysed looks expensive enough to compile
	// and then spends seconds in LLVM for milliseconds of work.
	if _, err := tx.Exec(ctx, `SET LOCAL jit = off`); err != nil {
		return 0, after, err
	}
	// A batch is a few thousand jobs looked up in millions of rows whose
	// indexes are in cache: probing the indexes (work_orders_serial_idx,
	// customers_phone_idx, customers_address_key_idx, the primary keys) beats
	// hashing whole tables, but the default page cost, priced for spinning
	// disks, makes the planner scan the tables once per query instead.
	if _, err := tx.Exec(ctx, `SET LOCAL random_page_cost = 1.1`); err != nil {
		return 0, after, err
	}
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE audit_intake_batch (id bigint PRIMARY KEY) ON COMMIT DROP`); err != nil {
		return 0, after, fmt.Errorf("batch table: %w", err)
	}
	if err := tx.QueryRow(ctx, claimJobsSQL, n, after, s.now()).Scan(&picked, &last, &claimed); err != nil {
		return 0, after, fmt.Errorf("claim jobs: %w", err)
	}
	if claimed == 0 {
		return picked, last, nil
	}
	if _, err := tx.Exec(ctx, `ANALYZE audit_intake_batch`); err != nil {
		return 0, after, err
	}
	var unknown int
	if err := tx.QueryRow(ctx, unknownModelSQL).Scan(&unknown); err != nil {
		return 0, after, fmt.Errorf("unknown models: %w", err)
	}

	var fs []Finding
	for _, check := range []struct {
		name string
		run  func(context.Context, pgx.Tx) ([]Finding, error)
	}{
		{"V7/V15", s.checkSerials},
		{"V9/V10", s.checkDates},
		{"V11", s.checkPartsList},
		{"V12", s.checkLabour},
		{"V13", s.checkCustomers},
	} {
		got, err := check.run(ctx, tx)
		if err != nil {
			return 0, after, fmt.Errorf("%s: %w", check.name, err)
		}
		fs = append(fs, got...)
	}
	// One order for every batch: two batches raising flags for the same
	// jobs (V13 and V7 revisit earlier ones) then take the rows' locks in
	// the same order and wait for each other instead of deadlocking.
	sort.Slice(fs, func(i, j int) bool {
		if fs[i].Rule != fs[j].Rule {
			return fs[i].Rule < fs[j].Rule
		}
		return fs[i].WorkOrderID < fs[j].WorkOrderID
	})
	raised, err := s.Raise(ctx, tx, fs)
	if err != nil {
		return 0, after, err
	}
	run.Jobs += claimed
	run.UnknownModel += unknown
	run.Flags += raised
	for _, f := range fs {
		run.Findings[f.Rule]++
	}
	return picked, last, nil
}

// unknownModelSQL counts the batch's jobs of a model the parts lists do not
// know: V11 and V12 pass over them.
const unknownModelSQL = `
SELECT count(*) FROM audit_intake_batch b JOIN work_orders w ON w.id = b.id
WHERE NOT EXISTS (SELECT 1 FROM product_models pm WHERE pm.code = w.product_model)`

// IntakeJob names another job in an intake check's evidence. Money is in
// minor units of the job's currency; Phone, when present, is masked.
type IntakeJob struct {
	ID          int64            `json:"id"`
	ExternalID  string           `json:"external_id"`
	Provider    string           `json:"provider"`
	CompletedAt time.Time        `json:"completed_at"`
	Kind        string           `json:"kind,omitempty"`
	Fault       string           `json:"fault,omitempty"`
	Parts       []string         `json:"parts,omitempty"`
	ClaimValue  workorders.Money `json:"claim_value"`
	Phone       string           `json:"phone,omitempty"`
}

// isoDate formats a calendar date for evidence and summaries.
func isoDate(t time.Time) string { return t.Format("2006-01-02") }

// ——— V7 and V15: the same unit again ———

// DuplicateEvidence is what V7 compared: this claim and the earlier claims on
// the same serial number within the window that share a part or the fault,
// or were made by another provider.
type DuplicateEvidence struct {
	SerialNumber string           `json:"serial_number"`
	Kind         string           `json:"kind"`
	Fault        string           `json:"fault,omitempty"`
	Parts        []string         `json:"parts,omitempty"`
	WithinDays   int              `json:"within_days"`
	Earlier      []DuplicateMatch `json:"earlier"`
}

// DuplicateMatch is one earlier claim V7 matched and why.
type DuplicateMatch struct {
	IntakeJob
	DaysBefore    float64  `json:"days_before"`
	SameParts     []string `json:"same_parts,omitempty"`
	SameFault     bool     `json:"same_fault"`
	OtherProvider bool     `json:"other_provider"`
}

// ComebackEvidence is what V15 compared: the visits to the same unit within
// the window before this one, and the one to charge — the latest, whose work
// did not last.
type ComebackEvidence struct {
	SerialNumber string      `json:"serial_number"`
	WithinDays   int         `json:"within_days"`
	DaysAfter    float64     `json:"days_after"`
	Charge       IntakeJob   `json:"charge"`
	Earlier      []IntakeJob `json:"earlier"`
}

// serialPairsSQL pairs each job that may be a repeat with every earlier job
// on the same serial number within $1 days. The jobs judged are the batch's
// and the later jobs a batch job is earlier than, so a job that arrives late
// still flags the claim that repeated it. Both sides go through
// work_orders_serial_idx.
const serialPairsSQL = `
WITH b AS MATERIALIZED (
    SELECT w.id, w.serial_number, w.completed_at
    FROM audit_intake_batch x JOIN work_orders w ON w.id = x.id
    WHERE w.serial_number <> ''
), t AS MATERIALIZED (
    SELECT id, serial_number, completed_at FROM b
    UNION
    SELECT l.id, l.serial_number, l.completed_at FROM b
    JOIN work_orders l ON l.serial_number = b.serial_number AND l.serial_number <> ''
     AND l.completed_at >= b.completed_at AND l.completed_at <= b.completed_at + make_interval(days => $1)
), pairs AS MATERIALIZED (
    SELECT t.id AS lid, e.id AS eid
    FROM t
    JOIN work_orders e ON e.serial_number = t.serial_number AND e.serial_number <> '' AND e.id <> t.id
     AND e.completed_at >= t.completed_at - make_interval(days => $1)
     AND (e.completed_at, e.id) < (t.completed_at, t.id)
)
SELECT l.id, l.provider_id, l.external_id, l.kind, l.serial_number, l.fault, l.currency,
       round(l.parts_amount * 100)::bigint, round((l.labour_amount + l.parts_amount) * 100)::bigint,
       ARRAY(SELECT p.part_code FROM claimed_parts p WHERE p.work_order_id = l.id ORDER BY p.line),
       e.id, e.external_id, ep.code, e.completed_at, e.kind, e.fault, e.currency, round((e.labour_amount + e.parts_amount) * 100)::bigint,
       ARRAY(SELECT p.part_code FROM claimed_parts p WHERE p.work_order_id = e.id ORDER BY p.line),
       e.provider_id <> l.provider_id,
       extract(epoch FROM l.completed_at - e.completed_at)::float8
FROM pairs
JOIN work_orders l ON l.id = pairs.lid
JOIN work_orders e ON e.id = pairs.eid
JOIN providers ep ON ep.id = e.provider_id
ORDER BY l.id, e.completed_at, e.id`

// laterJob is the job judged by V7 and V15, with the earlier jobs on its unit.
type laterJob struct {
	id, provider               int64
	extID, kind, serial, fault string
	currency                   string
	partsAmount, claim         int64
	parts                      []string
	earlier                    []earlierJob
}

type earlierJob struct {
	IntakeJob
	currency      string
	otherProvider bool
	days          float64
}

// checkSerials runs V7 (duplicate) and V15 (comeback). V7 matches a claim of
// the same kind on the same serial within V7Days — the same part claimed, the
// same fault reported, or another provider claiming the unit — and charges
// the repeated parts (the whole claim when another provider made the first).
// V15 matches any earlier visit to the unit within V15Days and charges the
// latest one: the comeback says its work did not last.
func (s *Store) checkSerials(ctx context.Context, tx pgx.Tx) ([]Finding, error) {
	c := &s.Config
	window := max(c.V7Days, c.V15Days)
	rows, err := tx.Query(ctx, serialPairsSQL, window)
	if err != nil {
		return nil, err
	}
	var jobs []*laterJob
	var cur *laterJob
	for rows.Next() {
		var l laterJob
		var e earlierJob
		var secs float64
		var eClaim int64
		if err := rows.Scan(&l.id, &l.provider, &l.extID, &l.kind, &l.serial, &l.fault, &l.currency, &l.partsAmount, &l.claim, &l.parts,
			&e.ID, &e.ExternalID, &e.Provider, &e.CompletedAt, &e.Kind, &e.Fault, &e.currency, &eClaim, &e.Parts,
			&e.otherProvider, &secs); err != nil {
			rows.Close()
			return nil, err
		}
		e.ClaimValue = workorders.Money(eClaim)
		e.CompletedAt = e.CompletedAt.UTC()
		e.days = secs / 86400
		if cur == nil || cur.id != l.id {
			cur = &l
			jobs = append(jobs, cur)
		}
		cur.earlier = append(cur.earlier, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}

	var fs []Finding
	for _, l := range jobs {
		base := Finding{WorkOrderID: l.id, ProviderID: l.provider, Currency: l.currency, ClaimValue: workorders.Money(l.claim)}

		// V7.
		ev := DuplicateEvidence{SerialNumber: l.serial, Kind: l.kind, Fault: l.fault, Parts: l.parts, WithinDays: c.V7Days}
		cross := false
		for _, e := range l.earlier {
			if e.days > float64(c.V7Days) || e.Kind != l.kind {
				continue
			}
			m := DuplicateMatch{IntakeJob: e.IntakeJob, DaysBefore: intakeDays(e.days), OtherProvider: e.otherProvider,
				SameFault: sameFault(l.fault, e.Fault)}
			for _, p := range l.parts {
				if slices.Contains(e.Parts, p) && !slices.Contains(m.SameParts, p) {
					m.SameParts = append(m.SameParts, p)
				}
			}
			if len(m.SameParts) == 0 && !m.SameFault && !m.OtherProvider {
				continue
			}
			cross = cross || m.OtherProvider
			ev.Earlier = append(ev.Earlier, m)
		}
		if len(ev.Earlier) > 0 {
			f := base
			f.Rule = "V7"
			f.Evidence = ev
			f.Amount = workorders.Money(l.partsAmount)
			if cross {
				f.Amount = workorders.Money(l.claim)
			}
			latest := ev.Earlier[len(ev.Earlier)-1]
			switch {
			case latest.OtherProvider:
				f.Summary = fmt.Sprintf("Unit %s claimed again %s after job %s, already claimed by %s.",
					l.serial, daysText(latest.DaysBefore), latest.ExternalID, latest.Provider)
			case len(latest.SameParts) > 0:
				f.Summary = fmt.Sprintf("Unit %s claimed again %s later with the same part %s as job %s.",
					l.serial, daysText(latest.DaysBefore), strings.Join(latest.SameParts, ", "), latest.ExternalID)
			default:
				f.Summary = fmt.Sprintf("Unit %s claimed again %s later with the same fault as job %s.",
					l.serial, daysText(latest.DaysBefore), latest.ExternalID)
			}
			fs = append(fs, f)
		}

		// V15.
		cb := ComebackEvidence{SerialNumber: l.serial, WithinDays: c.V15Days}
		var charge *earlierJob
		for i := range l.earlier {
			e := &l.earlier[i]
			if e.days > float64(c.V15Days) {
				continue
			}
			cb.Earlier = append(cb.Earlier, e.IntakeJob)
			charge = e // ordered by completion: the last is the latest
		}
		if charge != nil {
			cb.Charge = charge.IntakeJob
			cb.DaysAfter = intakeDays(charge.days)
			f := base
			f.Rule = "V15"
			f.Evidence = cb
			if charge.currency == l.currency {
				f.Amount = charge.ClaimValue
			}
			f.Summary = fmt.Sprintf("Unit %s serviced again %s after job %s; charge job %s.", l.serial, daysText(cb.DaysAfter), charge.ExternalID, charge.ExternalID)
			fs = append(fs, f)
		}
	}
	return fs, nil
}

// sameFault compares two reported faults as people type them.
func sameFault(a, b string) bool {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	return a != "" && strings.EqualFold(a, b)
}

func intakeDays(d float64) float64 { return math.Round(d*10) / 10 }

// daysText writes a number of days for a summary: "1 day", "2.5 days".
func daysText(d float64) string {
	if d == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%g days", d)
}

// ——— V9 and V10: the warranty's dates ———

// WarrantyEvidence is what V9 and V10 compared: the day the job was completed
// where the customer lives, the warranty's end and the delivery date.
type WarrantyEvidence struct {
	Kind           string `json:"kind"`
	WarrantyStatus string `json:"warranty_status"`
	CompletedOn    string `json:"completed_on"`
	WarrantyEndsOn string `json:"warranty_ends_on,omitempty"`
	DeliveredOn    string `json:"delivered_on,omitempty"`
	// Days is, for a repair, the days from completion to the warranty's end
	// (negative: after it ended); for an install, the days from completion
	// to delivery.
	Days int `json:"days"`
	// WindowDays is V10's: the warranty's last days.
	WindowDays int `json:"window_days,omitempty"`
}

// datesSQL finds the batch's repairs claimed under warranty on or after the
// first of the warranty's last $1 days, and its installs completed before
// delivery. The completion day is the customer's local date.
const datesSQL = `
SELECT w.id, w.provider_id, w.external_id, w.kind, w.warranty_status, w.currency,
       round((w.labour_amount + w.parts_amount) * 100)::bigint,
       d.done, w.warranty_ends_on, w.delivered_on
FROM audit_intake_batch b
JOIN work_orders w ON w.id = b.id
JOIN customers c ON c.id = w.customer_id
CROSS JOIN LATERAL (SELECT (w.completed_at AT TIME ZONE c.tz)::date AS done) d
WHERE (w.kind = 'repair' AND w.warranty_status IN ('in_warranty', 'extended') AND w.warranty_ends_on IS NOT NULL
       AND d.done > w.warranty_ends_on - $1::int)
   OR (w.kind = 'install' AND w.delivered_on IS NOT NULL AND d.done < w.delivered_on)
ORDER BY w.id`

// checkDates runs V9 and V10. V9: a repair claimed in or under extended
// warranty completed after the warranty's end date (the end date itself is
// still covered), or an install completed before the unit was delivered; the
// whole claim is charged. V10: such a repair completed within the warranty's
// last V10Days days (0 to V10Days−1 days before its end); a risk factor with
// nothing to charge.
func (s *Store) checkDates(ctx context.Context, tx pgx.Tx) ([]Finding, error) {
	rows, err := tx.Query(ctx, datesSQL, s.Config.V10Days)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var fs []Finding
	for rows.Next() {
		var (
			f                 Finding
			extID, kind, stat string
			claim             int64
			done              time.Time
			ends, delivered   *time.Time
		)
		if err := rows.Scan(&f.WorkOrderID, &f.ProviderID, &extID, &kind, &stat, &f.Currency, &claim, &done, &ends, &delivered); err != nil {
			return nil, err
		}
		f.ClaimValue = workorders.Money(claim)
		ev := WarrantyEvidence{Kind: kind, WarrantyStatus: stat, CompletedOn: isoDate(done)}
		if ends != nil {
			ev.WarrantyEndsOn = isoDate(*ends)
		}
		if delivered != nil {
			ev.DeliveredOn = isoDate(*delivered)
		}
		days := func(t time.Time) int { return int(math.Round(t.Sub(done).Hours() / 24)) }
		switch {
		case kind == string(workorders.Install):
			ev.Days = days(*delivered)
			f.Rule, f.Amount = "V9", f.ClaimValue
			f.Summary = fmt.Sprintf("Install completed on %s, %s before the unit was delivered on %s.", ev.CompletedOn, daysText(float64(ev.Days)), ev.DeliveredOn)
		case done.After(*ends):
			ev.Days = days(*ends)
			f.Rule, f.Amount = "V9", f.ClaimValue
			f.Summary = fmt.Sprintf("Repair claimed under warranty on %s, %s after the warranty ended on %s.", ev.CompletedOn, daysText(float64(-ev.Days)), ev.WarrantyEndsOn)
		default:
			ev.Days = days(*ends)
			ev.WindowDays = s.Config.V10Days
			f.Rule = "V10"
			f.Summary = fmt.Sprintf("Repair completed on %s, %s before the warranty ends on %s.", ev.CompletedOn, daysText(float64(ev.Days)), ev.WarrantyEndsOn)
		}
		f.Evidence = ev
		fs = append(fs, f)
	}
	return fs, rows.Err()
}

// ——— V11: the parts list ———

// PartsListEvidence is what V11 compared: the model's parts list with the
// claimed parts that are not on it or over its quantity.
type PartsListEvidence struct {
	Model string            `json:"model"`
	Lines []PartsListReason `json:"lines"`
}

// PartsListReason is one claimed part V11 objects to. Amount is what it
// charges back: the whole line for a part not on the list, the excess
// quantity at the claimed unit cost for one over the list's maximum.
type PartsListReason struct {
	PartCode string           `json:"part_code"`
	Name     string           `json:"name,omitempty"`
	OnList   bool             `json:"on_list"`
	Claimed  int              `json:"claimed"`
	MaxQty   int              `json:"max_qty,omitempty"`
	UnitCost workorders.Money `json:"unit_cost"`
	Amount   workorders.Money `json:"amount"`
}

// partsListSQL sums the batch's claim lines per part and compares them with
// the model's parts list. Jobs of a model not in product_models are left out.
const partsListSQL = `
WITH cl AS (
    SELECT p.work_order_id AS id, p.part_code, sum(p.quantity)::int AS qty,
           round(sum(p.quantity * p.unit_cost) * 100)::bigint AS cost,
           round(min(p.unit_cost) * 100)::bigint AS unit_cost,
           min(CASE WHEN p.name_en <> '' THEN p.name_en ELSE p.name_zh END) AS name
    FROM audit_intake_batch b JOIN claimed_parts p ON p.work_order_id = b.id
    GROUP BY p.work_order_id, p.part_code
)
SELECT w.id, w.provider_id, w.product_model, w.currency, round((w.labour_amount + w.parts_amount) * 100)::bigint,
       cl.part_code, cl.name, cl.qty, cl.cost, cl.unit_cost, mp.part_code IS NOT NULL, COALESCE(mp.max_qty, 0)
FROM cl
JOIN work_orders w ON w.id = cl.id
JOIN product_models pm ON pm.code = w.product_model
LEFT JOIN model_parts mp ON mp.model_code = pm.code AND mp.part_code = cl.part_code
WHERE mp.part_code IS NULL OR cl.qty > mp.max_qty
ORDER BY w.id, cl.part_code`

// checkPartsList runs V11.
func (s *Store) checkPartsList(ctx context.Context, tx pgx.Tx) ([]Finding, error) {
	rows, err := tx.Query(ctx, partsListSQL)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var fs []Finding
	for rows.Next() {
		var (
			id, prov, claim, cost, unit int64
			model, cur                  string
			r                           PartsListReason
		)
		if err := rows.Scan(&id, &prov, &model, &cur, &claim, &r.PartCode, &r.Name, &r.Claimed, &cost, &unit, &r.OnList, &r.MaxQty); err != nil {
			return nil, err
		}
		r.UnitCost = workorders.Money(unit)
		if r.OnList {
			r.Amount = workorders.Money(int64(r.Claimed-r.MaxQty) * unit)
		} else {
			r.Amount = workorders.Money(cost)
		}
		if n := len(fs); n == 0 || fs[n-1].WorkOrderID != id {
			fs = append(fs, Finding{WorkOrderID: id, ProviderID: prov, Rule: "V11", Currency: cur,
				ClaimValue: workorders.Money(claim), Evidence: &PartsListEvidence{Model: model}})
		}
		f := &fs[len(fs)-1]
		ev := f.Evidence.(*PartsListEvidence)
		ev.Lines = append(ev.Lines, r)
		f.Amount += r.Amount
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range fs {
		f := &fs[i]
		ev := f.Evidence.(*PartsListEvidence)
		if len(ev.Lines) > 1 {
			f.Summary = fmt.Sprintf("%d claimed parts are not on the parts list of model %s or over its quantity.", len(ev.Lines), ev.Model)
			continue
		}
		r := ev.Lines[0]
		if r.OnList {
			f.Summary = fmt.Sprintf("Claims %d of part %s; the parts list of model %s allows %d.", r.Claimed, r.PartCode, ev.Model, r.MaxQty)
		} else {
			f.Summary = fmt.Sprintf("Part %s is not on the parts list of model %s.", r.PartCode, ev.Model)
		}
	}
	return fs, nil
}

// ——— V12: labour over the standard ———

// LabourEvidence is what V12 compared. Amount charges back the share of the
// labour amount over what the standard allows: labour_amount × (minutes −
// standard × factor) / minutes, rounded to the minor unit.
type LabourEvidence struct {
	Model           string           `json:"model"`
	Kind            string           `json:"kind"`
	Minutes         int              `json:"minutes"`
	StandardMinutes int              `json:"standard_minutes"`
	Factor          float64          `json:"factor"`
	AllowedMinutes  float64          `json:"allowed_minutes"`
	LabourAmount    workorders.Money `json:"labour_amount"`
}

// labourSQL finds the batch's jobs whose labour is over $1 times their
// model's standard time for the kind of job. The factor goes through float8
// to numeric so 1.5 × 60 is exactly 90.
const labourSQL = `
SELECT w.id, w.provider_id, w.product_model, w.kind, w.currency, round((w.labour_amount + w.parts_amount) * 100)::bigint,
       w.labour_minutes, st.minutes, round(w.labour_amount * 100)::bigint,
       round(w.labour_amount * (w.labour_minutes - $1::float8::numeric * st.minutes) / w.labour_minutes * 100)::bigint
FROM audit_intake_batch b
JOIN work_orders w ON w.id = b.id
JOIN product_models pm ON pm.code = w.product_model
CROSS JOIN LATERAL (SELECT CASE w.kind WHEN 'repair' THEN pm.repair_minutes ELSE pm.install_minutes END AS minutes) st
WHERE st.minutes IS NOT NULL AND w.labour_minutes > $1::float8::numeric * st.minutes
ORDER BY w.id`

// checkLabour runs V12.
func (s *Store) checkLabour(ctx context.Context, tx pgx.Tx) ([]Finding, error) {
	factor := s.Config.V12Factor
	rows, err := tx.Query(ctx, labourSQL, factor)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var fs []Finding
	for rows.Next() {
		var (
			f                   Finding
			ev                  LabourEvidence
			claim, labour, over int64
		)
		if err := rows.Scan(&f.WorkOrderID, &f.ProviderID, &ev.Model, &ev.Kind, &f.Currency, &claim,
			&ev.Minutes, &ev.StandardMinutes, &labour, &over); err != nil {
			return nil, err
		}
		ev.Factor = factor
		ev.AllowedMinutes = math.Round(factor*float64(ev.StandardMinutes)*100) / 100
		ev.LabourAmount = workorders.Money(labour)
		f.Rule, f.Evidence = "V12", ev
		f.ClaimValue, f.Amount = workorders.Money(claim), workorders.Money(over)
		f.Summary = fmt.Sprintf("Labour of %d minutes is over %g× the %d-minute standard for a%s %s of model %s.",
			ev.Minutes, factor, ev.StandardMinutes, labourArticle(ev.Kind), ev.Kind, ev.Model)
		fs = append(fs, f)
	}
	return fs, rows.Err()
}

func labourArticle(kind string) string {
	if kind == string(workorders.Install) {
		return "n"
	}
	return ""
}

// ——— V13: a customer who may not exist ———

// CustomerEvidence is what V13 found: the customer's phone (masked) is the
// technician's or the provider's own, or the phone or the address is behind
// several customers within the window.
type CustomerEvidence struct {
	Phone           string         `json:"phone"`
	TechnicianPhone bool           `json:"technician_phone,omitempty"`
	Technician      string         `json:"technician,omitempty"`
	ProviderPhone   bool           `json:"provider_phone,omitempty"`
	SharedPhone     *SharedContact `json:"shared_phone,omitempty"`
	SharedAddress   *SharedContact `json:"shared_address,omitempty"`
}

// SharedContact is a phone or an address behind Customers customers with
// jobs within WithinDays of this one; Others are those customers' jobs, the
// first maxSharedOthers of them by completion.
type SharedContact struct {
	Address    string      `json:"address,omitempty"`
	Customers  int         `json:"customers"`
	WithinDays int         `json:"within_days"`
	Others     []IntakeJob `json:"others"`
}

// maxSharedOthers bounds the jobs one V13 flag's evidence lists, so a number
// behind hundreds of customers does not make every flag a page long.
const maxSharedOthers = 20

// ownPhoneSQL finds the batch's jobs whose customer phone is the job's
// technician's or the provider's own.
const ownPhoneSQL = `
SELECT w.id, w.provider_id, w.currency, round((w.labour_amount + w.parts_amount) * 100)::bigint,
       c.phone_e164, w.technician,
       c.phone_e164 = COALESCE(w.technician_phone_e164, ''), c.phone_e164 = COALESCE(p.phone_e164, '')
FROM audit_intake_batch b
JOIN work_orders w ON w.id = b.id
JOIN customers c ON c.id = w.customer_id
JOIN providers p ON p.id = w.provider_id
WHERE c.phone_e164 = w.technician_phone_e164 OR c.phone_e164 = p.phone_e164`

// addressKey normalises an address for comparison: lower case, without
// spaces and punctuation (ASCII and full-width), so "科苑路88号, 3栋" and
// "科苑路88号3栋" match. translate deletes the listed characters and is far
// cheaper than a regular expression. The same expression is indexed by
// customers_address_key_idx (migrations/00006_audit.sql); change both
// together.
const addressKey = `lower(translate(%s.address, E' \t\r\n,.;:#/()-_''"，。、；：（）【】“”‘’·－—　', ''))`

// sharedSQL finds groups of jobs behind one key — a phone, a normalised
// address — touched by the batch: the key's jobs of at least $1 distinct
// customers within a window of $2 days. Every job in such a window is a
// member, including earlier ones already checked; each member comes with the
// other customers' jobs within $2 days of it. Keys behind fewer than $1
// customers in all history stop at the first grouping, so a batch of honest
// jobs costs one index probe per key.
const sharedSQL = `
WITH bk AS MATERIALIZED (
    SELECT %[1]s AS k
    FROM audit_intake_batch b JOIN work_orders w ON w.id = b.id JOIN customers c ON c.id = w.customer_id
), keys AS MATERIALIZED (
    SELECT DISTINCT k FROM bk WHERE %[2]s
), jobs AS MATERIALIZED (
    SELECT keys.k, w.id, w.customer_id, w.completed_at
    FROM keys
    JOIN customers c ON %[1]s = keys.k
    JOIN work_orders w ON w.customer_id = c.id
), busy AS (
    SELECT j.* FROM jobs j
    WHERE j.k IN (SELECT k FROM jobs GROUP BY k HAVING count(DISTINCT customer_id) >= $1)
), anchors AS (
    SELECT a.k, a.completed_at AS t FROM busy a
    WHERE (SELECT count(DISTINCT y.customer_id) FROM busy y
           WHERE y.k = a.k AND y.completed_at BETWEEN a.completed_at - make_interval(days => $2) AND a.completed_at) >= $1
), members AS (
    SELECT DISTINCT x.k, x.id, x.customer_id, x.completed_at
    FROM anchors a JOIN busy x ON x.k = a.k AND x.completed_at BETWEEN a.t - make_interval(days => $2) AND a.t
)
SELECT m.id, w.provider_id, w.currency, round((w.labour_amount + w.parts_amount) * 100)::bigint, c.phone_e164, c.address,
       o.id, o.external_id, op.code, o.completed_at, oc.id, oc.phone_e164
FROM members m
JOIN work_orders w ON w.id = m.id
JOIN customers c ON c.id = m.customer_id
JOIN members om ON om.k = m.k AND om.customer_id <> m.customer_id
 AND om.completed_at BETWEEN m.completed_at - make_interval(days => $2) AND m.completed_at + make_interval(days => $2)
JOIN work_orders o ON o.id = om.id
JOIN providers op ON op.id = o.provider_id
JOIN customers oc ON oc.id = om.customer_id
ORDER BY m.id, om.completed_at, om.id`

// checkCustomers runs V13: a customer phone equal to the job's technician's
// or the provider's phone; a phone behind V13Customers or more distinct
// customers with jobs within V13Days; or a normalised address (with a house
// number: at least six characters and a digit) behind as many. The whole
// claim is charged: a made-up customer means a made-up job. Evidence names
// the other customers' jobs with masked phones, never a full number.
func (s *Store) checkCustomers(ctx context.Context, tx pgx.Tx) ([]Finding, error) {
	c := &s.Config
	byJob := map[int64]*Finding{}
	var order []int64
	get := func(id, prov int64, cur string, claim int64, phone string) (*Finding, *CustomerEvidence) {
		f, ok := byJob[id]
		if !ok {
			f = &Finding{WorkOrderID: id, ProviderID: prov, Rule: "V13", Currency: cur,
				ClaimValue: workorders.Money(claim), Amount: workorders.Money(claim),
				Evidence: &CustomerEvidence{Phone: MaskPhone(phone)}}
			byJob[id] = f
			order = append(order, id)
		}
		return f, f.Evidence.(*CustomerEvidence)
	}

	rows, err := tx.Query(ctx, ownPhoneSQL)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var (
			id, prov, claim int64
			cur, phone      string
			tech            string
			isTech, isProv  bool
		)
		if err := rows.Scan(&id, &prov, &cur, &claim, &phone, &tech, &isTech, &isProv); err != nil {
			rows.Close()
			return nil, err
		}
		_, ev := get(id, prov, cur, claim, phone)
		ev.TechnicianPhone, ev.ProviderPhone = isTech, isProv
		if isTech {
			ev.Technician = tech
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}

	for _, kind := range []string{"phone", "address"} {

		key, filter := "c.phone_e164", "true"
		if kind == "address" {
			key = fmt.Sprintf(addressKey, "c")
			filter = `k ~ '[0-9]' AND length(k) >= 6`
		}
		q := fmt.Sprintf(sharedSQL, key, filter)
		rows, err := tx.Query(ctx, q, c.V13Customers, c.V13Days)
		if err != nil {
			return nil, fmt.Errorf("shared %s: %w", kind, err)
		}
		others := map[int64]map[int64]bool{} // job → other customers seen
		for rows.Next() {
			var (
				id, prov, claim, custID int64
				cur, phone, address     string
				o                       IntakeJob
				oPhone                  string
			)
			if err := rows.Scan(&id, &prov, &cur, &claim, &phone, &address,
				&o.ID, &o.ExternalID, &o.Provider, &o.CompletedAt, &custID, &oPhone); err != nil {
				rows.Close()
				return nil, fmt.Errorf("shared %s: %w", kind, err)
			}
			o.CompletedAt = o.CompletedAt.UTC()
			o.Phone = MaskPhone(oPhone)
			_, ev := get(id, prov, cur, claim, phone)
			sc := &ev.SharedPhone
			if kind == "address" {
				sc = &ev.SharedAddress
			}
			if *sc == nil {
				*sc = &SharedContact{Customers: 1, WithinDays: c.V13Days}
				if kind == "address" {
					(*sc).Address = address
				}
				others[id] = map[int64]bool{}
			}
			if !others[id][custID] {
				others[id][custID] = true
				(*sc).Customers++
			}
			if len((*sc).Others) < maxSharedOthers {
				(*sc).Others = append((*sc).Others, o)
			}
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("shared %s: %w", kind, err)
		}
	}

	fs := make([]Finding, 0, len(order))
	sort.Slice(order, func(i, j int) bool { return order[i] < order[j] })
	for _, id := range order {
		f := byJob[id]
		ev := f.Evidence.(*CustomerEvidence)
		var why []string
		if ev.TechnicianPhone {
			why = append(why, "is the technician's own")
		}
		if ev.ProviderPhone {
			why = append(why, "is the provider's own")
		}
		if ev.SharedPhone != nil {
			why = append(why, fmt.Sprintf("is shared by %d customers within %d days", ev.SharedPhone.Customers, c.V13Days))
		}
		if ev.SharedAddress != nil {
			if len(why) == 0 {
				f.Summary = fmt.Sprintf("The customer's address is shared by %d customers within %d days.", ev.SharedAddress.Customers, c.V13Days)
			} else {
				f.Summary = fmt.Sprintf("Customer phone %s %s, and the address is shared by %d customers.", ev.Phone, strings.Join(why, " and "), ev.SharedAddress.Customers)
			}
		} else {
			f.Summary = fmt.Sprintf("Customer phone %s %s.", ev.Phone, strings.Join(why, " and "))
		}
		fs = append(fs, *f)
	}
	return fs, nil
}
