package audit

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Export formats. JSON is one array of objects, written an object at a time
// so an export of any size streams; CSV has a header row and RFC 4180
// quoting.
const (
	FormatCSV  = "csv"
	FormatJSON = "json"
)

// FindingColumns are the columns of a findings export, in CSV order; they
// are also the keys of each JSON object, whose values are all strings (the
// same text as the CSV cell, before formula defusing): amounts as decimals
// ("120.00"), decided_at in RFC 3339, UTC.
var FindingColumns = []string{
	"flag_id", "provider_code", "provider_name", "job_external_id", "kind", "completed_on", "claim_lines",
	"claim_value", "amount", "currency", "rule", "rule_name", "severity", "evidence_summary", "decision",
	"reviewer", "signoff_by", "decided_at",
}

// findingsSQL selects confirmed findings decided in [$1, $2), of provider
// $3 (or all). Claim lines read "code×qty@unit cost", in line order. The
// completed date is the job's date where the customer lives.
const findingsSQL = `
SELECT f.id::text, p.code, p.name, coalesce(w.external_id, ''), coalesce(w.kind, ''),
       coalesce(to_char(w.completed_at AT TIME ZONE c.tz, 'YYYY-MM-DD'), ''),
       coalesce((SELECT string_agg(cp.part_code || '×' || cp.quantity || '@' || cp.unit_cost::text, '; ' ORDER BY cp.line)
                 FROM claimed_parts cp WHERE cp.work_order_id = f.work_order_id), ''),
       f.claim_value::text, f.amount::text, f.currency, f.rule, '', f.severity, f.summary, f.decision,
       coalesce(f.decided_by, ''), coalesce(f.signoff_by, ''), f.decided_at
FROM flags f
JOIN providers p ON p.id = f.provider_id
LEFT JOIN work_orders w ON w.id = f.work_order_id
LEFT JOIN customers c ON c.id = w.customer_id
WHERE f.state = 'decided' AND f.decision = 'confirmed' AND f.decided_at >= $1 AND f.decided_at < $2
  AND ($3 = '' OR p.code = $3)
ORDER BY f.decided_at, f.id`

func checkExport(format string, from, to time.Time) error {
	if format != FormatCSV && format != FormatJSON {
		return badInput("format", "%q is not a format: csv or json", format)
	}
	if !to.After(from) {
		return badInput("to", "must be after from (%s)", from.UTC().Format(time.RFC3339))
	}
	return nil
}

// ExportFindings writes the confirmed findings decided in [from, to), of one
// provider (by code) or of all (""), for chargeback: one row per finding,
// oldest decision first. Rows stream from the database to w.
func (s *Store) ExportFindings(ctx context.Context, w io.Writer, format string, from, to time.Time, provider string) error {
	if err := checkExport(format, from, to); err != nil {
		return err
	}
	if provider != "" {
		var ok bool
		if err := s.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM providers WHERE code = $1)`, provider).Scan(&ok); err != nil {
			return err
		}
		if !ok {
			return badInput("provider", "no provider with code %q", provider)
		}
	}
	rows, err := s.Pool.Query(ctx, findingsSQL, from, to, provider)
	if err != nil {
		return fmt.Errorf("export findings: %w", err)
	}
	defer rows.Close()
	out := newTableWriter(w, format, FindingColumns)
	rec := make([]string, len(FindingColumns))
	var decided time.Time
	dest := make([]any, len(FindingColumns))
	for i := range rec {
		dest[i] = &rec[i]
	}
	dest[len(dest)-1] = &decided
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("export findings: %w", err)
		}
		if r, ok := RuleByCode(rec[10]); ok {
			rec[11] = r.Name
		}
		rec[len(rec)-1] = decided.UTC().Format(time.RFC3339)
		if err := out.write(rec); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export findings: %w", err)
	}
	return out.close()
}

// tableWriter writes records as CSV or as a JSON array of objects.
type tableWriter struct {
	format string
	cols   []string
	bw     *bufio.Writer
	cw     *csv.Writer
	n      int
}

func newTableWriter(w io.Writer, format string, cols []string) *tableWriter {
	t := &tableWriter{format: format, cols: cols, bw: bufio.NewWriter(w)}
	if format == FormatCSV {
		t.cw = csv.NewWriter(t.bw)
	}
	return t
}

func (t *tableWriter) write(rec []string) error {
	if t.cw != nil {
		if t.n == 0 {
			if err := t.cw.Write(t.cols); err != nil {
				return err
			}
		}
		t.n++
		safe := make([]string, len(rec))
		for i, c := range rec {
			safe[i] = CSVSafe(c)
		}
		return t.cw.Write(safe)
	}
	sep := ",\n"
	if t.n == 0 {
		sep = "[\n"
	}
	t.n++
	t.bw.WriteString(sep)
	t.bw.WriteByte('{')
	for i, c := range t.cols {
		if i > 0 {
			t.bw.WriteByte(',')
		}
		k, _ := json.Marshal(c)
		v, _ := json.Marshal(rec[i])
		t.bw.Write(k)
		t.bw.WriteByte(':')
		t.bw.Write(v)
	}
	return t.bw.WriteByte('}')
}

func (t *tableWriter) close() error {
	if t.cw != nil {
		if t.n == 0 {
			t.cw.Write(t.cols)
		}
		t.cw.Flush()
		if err := t.cw.Error(); err != nil {
			return err
		}
	} else if t.n == 0 {
		t.bw.WriteString("[]\n")
	} else {
		t.bw.WriteString("\n]\n")
	}
	return t.bw.Flush()
}

// CSVSafe defuses a cell a spreadsheet would run as a formula: one that
// starts with =, +, -, @, a tab or a carriage return gets a leading single
// quote (OWASP's advice on CSV injection).
func CSVSafe(cell string) string {
	if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}

// Scorecard is one provider's record over a period.
type Scorecard struct {
	ProviderCode string `json:"provider_code"`
	ProviderName string `json:"provider_name"`
	Jobs         int    `json:"jobs"`
	Repairs      int    `json:"repairs"`
	Installs     int    `json:"installs"`
	// Contacts are the jobs' survey contacts; Done have ended; Reached had an
	// attempt someone answered (a call picked up, an SMS replied to).
	Contacts        int `json:"contacts"`
	ContactsDone    int `json:"contacts_done"`
	ContactsReached int `json:"contacts_reached"`
	// ContactRate is Reached ÷ Done, in percent.
	ContactRate      *float64 `json:"contact_rate"`
	CompletedSurveys int      `json:"completed_surveys"`
	// CSAT is the percentage of answered satisfaction questions scoring 4–5.
	CSATAnswers int      `json:"csat_answers"`
	CSAT        *float64 `json:"csat"`
	// NPS is % promoters (9–10) − % detractors (0–6).
	NPSAnswers int      `json:"nps_answers"`
	NPS        *float64 `json:"nps"`
	// FirstTimeFix is the percentage of answered "fixed?" questions answered
	// yes on jobs without a comeback (V15) flag that was not cleared.
	FixedAnswers    int            `json:"fixed_answers"`
	FirstTimeFix    *float64       `json:"first_time_fix"`
	OpenByRule      map[string]int `json:"open_by_rule"`
	ConfirmedByRule map[string]int `json:"confirmed_by_rule"`
	Risk            *float64       `json:"risk"`
}

// scorecardsSQL computes every provider's scorecard over the jobs completed
// in [$1, $2) in one pass. A fact counts once per job: its latest answer
// (an answer retracted and not given again does not count).
const scorecardsSQL = `
WITH jobs AS (
    SELECT id, provider_id, kind FROM work_orders WHERE completed_at >= $1 AND completed_at < $2
), j AS (
    SELECT provider_id, count(*) AS jobs, count(*) FILTER (WHERE kind = 'repair') AS repairs,
           count(*) FILTER (WHERE kind = 'install') AS installs
    FROM jobs GROUP BY provider_id
), k AS (
    SELECT jobs.provider_id, count(*) AS contacts, count(*) FILTER (WHERE k.state = 'done') AS done,
           count(*) FILTER (WHERE k.state = 'done' AND EXISTS (
               SELECT 1 FROM attempts a WHERE a.contact_id = k.id
               AND (a.answered_at IS NOT NULL OR a.outcome IN ('completed', 'partial', 'hung_up', 'opted_out')))) AS reached
    FROM contacts k JOIN jobs ON jobs.id = k.work_order_id GROUP BY jobs.provider_id
), sv AS (
    SELECT jobs.provider_id, count(DISTINCT s.work_order_id) AS completed
    FROM survey_sessions s JOIN jobs ON jobs.id = s.work_order_id
    WHERE s.end_reason = 'completed' GROUP BY jobs.provider_id
), facts AS (
    SELECT DISTINCT ON (s.work_order_id, a.fact) jobs.provider_id, s.work_order_id, a.fact, a.event, a.value
    FROM survey_answers a JOIN survey_sessions s ON s.id = a.session_id JOIN jobs ON jobs.id = s.work_order_id
    WHERE a.fact IN ('csat', 'nps', 'fixed') AND a.event IN ('answer', 'retract')
    ORDER BY s.work_order_id, a.fact, a.received_at DESC, s.id DESC, a.seq DESC
), fa AS (
    SELECT provider_id,
           count(*) FILTER (WHERE fact = 'csat') AS csat_n,
           count(*) FILTER (WHERE fact = 'csat' AND coalesce((value->>'int')::int, 0) >= 4) AS csat_top,
           count(*) FILTER (WHERE fact = 'nps') AS nps_n,
           count(*) FILTER (WHERE fact = 'nps' AND coalesce((value->>'int')::int, 0) >= 9) AS promoters,
           count(*) FILTER (WHERE fact = 'nps' AND coalesce((value->>'int')::int, 0) <= 6) AS detractors,
           count(*) FILTER (WHERE fact = 'fixed') AS fixed_n,
           count(*) FILTER (WHERE fact = 'fixed' AND coalesce((value->>'bool')::boolean, false) AND NOT EXISTS (
               SELECT 1 FROM flags v WHERE v.work_order_id = facts.work_order_id AND v.rule = 'V15'
               AND v.decision IS DISTINCT FROM 'cleared')) AS fixed_first
    FROM facts WHERE event = 'answer' GROUP BY provider_id
), fl AS (
    -- The window's job flags joined to its jobs (a hash join), and the
    -- provider flags raised in it: two disjoint sets, so UNION ALL. (An OR
    -- of the two in one WHERE cannot be hashed and probes the jobs once
    -- per flag.)
    SELECT provider_id, rule, count(*) FILTER (WHERE state <> 'decided') AS open,
           count(*) FILTER (WHERE decision = 'confirmed') AS confirmed
    FROM (
        SELECT f.provider_id, f.rule, f.state, f.decision FROM flags f JOIN jobs ON jobs.id = f.work_order_id
        UNION ALL
        SELECT f.provider_id, f.rule, f.state, f.decision FROM flags f
        WHERE f.work_order_id IS NULL AND f.raised_at >= $1 AND f.raised_at < $2
    ) x
    GROUP BY provider_id, rule
)
SELECT p.code, p.name, coalesce(j.jobs, 0), coalesce(j.repairs, 0), coalesce(j.installs, 0),
       coalesce(k.contacts, 0), coalesce(k.done, 0), coalesce(k.reached, 0), coalesce(sv.completed, 0),
       coalesce(fa.csat_n, 0), coalesce(fa.csat_top, 0), coalesce(fa.nps_n, 0), coalesce(fa.promoters, 0),
       coalesce(fa.detractors, 0), coalesce(fa.fixed_n, 0), coalesce(fa.fixed_first, 0),
       coalesce((SELECT jsonb_object_agg(rule, open) FROM fl WHERE fl.provider_id = p.id AND open > 0), '{}'),
       coalesce((SELECT jsonb_object_agg(rule, confirmed) FROM fl WHERE fl.provider_id = p.id AND confirmed > 0), '{}'),
       r.score
FROM providers p
LEFT JOIN j ON j.provider_id = p.id
LEFT JOIN k ON k.provider_id = p.id
LEFT JOIN sv ON sv.provider_id = p.id
LEFT JOIN fa ON fa.provider_id = p.id
LEFT JOIN provider_risk r ON r.provider_id = p.id
WHERE j.jobs > 0 OR EXISTS (SELECT 1 FROM fl WHERE fl.provider_id = p.id)
ORDER BY p.code`

func percent(n, d int) *float64 {
	if d == 0 {
		return nil
	}
	v := 100 * float64(n) / float64(d)
	return &v
}

// Scorecards returns the scorecard of every provider with jobs completed (or
// provider flags raised) in [from, to), by provider code.
func (s *Store) Scorecards(ctx context.Context, from, to time.Time) ([]Scorecard, error) {
	if !to.After(from) {
		return nil, badInput("to", "must be after from (%s)", from.UTC().Format(time.RFC3339))
	}
	// The planner's estimates for this query are large enough to switch
	// JIT compilation on, which costs more than it saves here.
	tx, err := s.Pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("scorecards: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, `SET LOCAL jit = off`); err != nil {
		return nil, fmt.Errorf("scorecards: %w", err)
	}
	rows, err := tx.Query(ctx, scorecardsSQL, from, to)
	if err != nil {
		return nil, fmt.Errorf("scorecards: %w", err)
	}
	out := []Scorecard{}
	var (
		c                                          Scorecard
		csatTop, promoters, detractors, fixedFirst int
		openJSON, confirmedJSON                    []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&c.ProviderCode, &c.ProviderName, &c.Jobs, &c.Repairs, &c.Installs,
		&c.Contacts, &c.ContactsDone, &c.ContactsReached, &c.CompletedSurveys, &c.CSATAnswers, &csatTop,
		&c.NPSAnswers, &promoters, &detractors, &c.FixedAnswers, &fixedFirst, &openJSON, &confirmedJSON, &c.Risk}, func() error {
		sc := c
		sc.ContactRate = percent(c.ContactsReached, c.ContactsDone)
		sc.CSAT = percent(csatTop, c.CSATAnswers)
		if c.NPSAnswers > 0 {
			v := 100 * float64(promoters-detractors) / float64(c.NPSAnswers)
			sc.NPS = &v
		}
		sc.FirstTimeFix = percent(fixedFirst, c.FixedAnswers)
		sc.OpenByRule, sc.ConfirmedByRule = map[string]int{}, map[string]int{}
		if err := json.Unmarshal(openJSON, &sc.OpenByRule); err != nil {
			return err
		}
		if err := json.Unmarshal(confirmedJSON, &sc.ConfirmedByRule); err != nil {
			return err
		}
		if c.Risk != nil {
			r := *c.Risk
			sc.Risk = &r
		}
		out = append(out, sc)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scorecards: %w", err)
	}
	return out, nil
}

// ScorecardColumns are the columns of a scorecard export in CSV order.
// Rates are percentages with one decimal, empty when nothing was measured;
// findings by rule read "V1:2; V5:1" in rule order.
var ScorecardColumns = []string{
	"provider_code", "provider_name", "jobs", "repairs", "installs", "contacts", "contacts_done",
	"contacts_reached", "contact_rate", "completed_surveys", "csat_answers", "csat", "nps_answers", "nps",
	"fixed_answers", "first_time_fix", "open_by_rule", "confirmed_by_rule", "risk",
}

// ExportScorecards writes the scorecards of [from, to) as CSV, or as JSON:
// an array of Scorecard objects.
func (s *Store) ExportScorecards(ctx context.Context, w io.Writer, format string, from, to time.Time) error {
	if err := checkExport(format, from, to); err != nil {
		return err
	}
	cards, err := s.Scorecards(ctx, from, to)
	if err != nil {
		return err
	}
	if format == FormatJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return enc.Encode(cards)
	}
	out := newTableWriter(w, FormatCSV, ScorecardColumns)
	for _, c := range cards {
		rate := func(v *float64) string {
			if v == nil {
				return ""
			}
			return strconv.FormatFloat(*v, 'f', 1, 64)
		}
		risk := ""
		if c.Risk != nil {
			risk = strconv.FormatFloat(*c.Risk, 'f', 3, 64)
		}
		rec := []string{c.ProviderCode, c.ProviderName, strconv.Itoa(c.Jobs), strconv.Itoa(c.Repairs),
			strconv.Itoa(c.Installs), strconv.Itoa(c.Contacts), strconv.Itoa(c.ContactsDone),
			strconv.Itoa(c.ContactsReached), rate(c.ContactRate), strconv.Itoa(c.CompletedSurveys),
			strconv.Itoa(c.CSATAnswers), rate(c.CSAT), strconv.Itoa(c.NPSAnswers), rate(c.NPS),
			strconv.Itoa(c.FixedAnswers), rate(c.FirstTimeFix), byRule(c.OpenByRule), byRule(c.ConfirmedByRule), risk}
		if err := out.write(rec); err != nil {
			return err
		}
	}
	return out.close()
}

// byRule writes counts by rule as "V1:2; V5:1", in rule order.
func byRule(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	order := func(code string) int {
		for i, r := range Rules {
			if r.Code == code {
				return i
			}
		}
		return len(Rules)
	}
	sort.Slice(keys, func(i, j int) bool { return order(keys[i]) < order(keys[j]) })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%d", k, m[k])
	}
	return strings.Join(parts, "; ")
}
