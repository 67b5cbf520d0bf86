package audit

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/jackc/pgx/v5"
)

// RuleScore is how one rule did against the planted ground truth of sample
// jobs.
type RuleScore struct {
	Rule string
	// Planted is how many jobs really break the rule; Eligible how many of
	// those Huifang could have caught: for an answer rule, those whose
	// customer answered the question that reveals it (a customer who never
	// picked up cannot deny a visit); for a data rule, all of them.
	Planted, Eligible int
	// Flagged is how many jobs the rule flagged; Correct how many of those
	// are planted; Caught how many eligible jobs it flagged.
	Flagged, Correct, Caught int
}

// Precision is the share of flags that are right; 1 when nothing was flagged.
func (s RuleScore) Precision() float64 {
	if s.Flagged == 0 {
		return 1
	}
	return float64(s.Correct) / float64(s.Flagged)
}

// Recall is the share of eligible planted jobs flagged; 1 when none was
// eligible.
func (s RuleScore) Recall() float64 {
	if s.Eligible == 0 {
		return 1
	}
	return float64(s.Caught) / float64(s.Eligible)
}

// Report compares the flags of sample jobs with the sample's ground truth
// (the sample_truth table that only generated sample data fills).
type Report struct {
	Jobs   int // sample jobs
	Rules  []RuleScore
	Totals RuleScore // every rule with a ground truth together; Rule is "all"
}

// answeredFacts names, for each answer rule, the facts whose answer could
// reveal the mismatch, as a LIKE pattern.
var answeredFacts = map[string][]string{
	"V1": {"visit_confirmed", "install_confirmed"},
	"V2": {"part_replaced", "part_replaced[%"},
	"V3": {"part_confirmed[%"},
	"V4": {"customer_charged", "customer_paid_amount"},
	"V5": {"fixed", "working"},
	"V6": {"visit_date"},
}

// reportSQL counts, per rule, planted jobs, eligible ones, flags and hits.
// $1..$2 are the answer rules and, for each, the facts that reveal it
// (rule|pattern pairs).
const reportSQL = `
WITH truth AS (
    SELECT t.work_order_id, r.rule
    FROM sample_truth t CROSS JOIN LATERAL unnest(t.planted) AS r(rule)
), answered AS (
    SELECT DISTINCT s.work_order_id, split_part(p.pair, '|', 1) AS rule
    FROM survey_sessions s
    JOIN survey_answers a ON a.session_id = s.id
    JOIN unnest($1::text[]) AS p(pair) ON a.fact LIKE split_part(p.pair, '|', 2)
    WHERE a.event = 'answer' AND a.value IS NOT NULL
      AND s.work_order_id IN (SELECT work_order_id FROM sample_truth)
), flagged AS (
    SELECT f.work_order_id, f.rule FROM flags f
    JOIN sample_truth t ON t.work_order_id = f.work_order_id
)
SELECT r.rule,
       (SELECT count(*) FROM truth WHERE truth.rule = r.rule),
       (SELECT count(*) FROM truth WHERE truth.rule = r.rule
            AND (NOT r.rule = ANY ($2::text[])
                 OR EXISTS (SELECT 1 FROM answered a WHERE a.work_order_id = truth.work_order_id AND a.rule = r.rule))),
       (SELECT count(*) FROM flagged WHERE flagged.rule = r.rule),
       (SELECT count(*) FROM flagged JOIN truth USING (work_order_id, rule) WHERE flagged.rule = r.rule),
       (SELECT count(*) FROM flagged JOIN truth USING (work_order_id, rule) WHERE flagged.rule = r.rule
            AND (NOT r.rule = ANY ($2::text[])
                 OR EXISTS (SELECT 1 FROM answered a WHERE a.work_order_id = truth.work_order_id AND a.rule = r.rule)))
FROM (SELECT rule FROM truth UNION SELECT rule FROM flagged) r`

// Report measures every rule's precision and recall on the sample jobs in
// the database.
func (s *Store) Report(ctx context.Context) (Report, error) {
	var rep Report
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM sample_truth`).Scan(&rep.Jobs); err != nil {
		return rep, fmt.Errorf("report: %w", err)
	}
	var pairs, answerRules []string
	for rule, facts := range answeredFacts {
		answerRules = append(answerRules, rule)
		for _, f := range facts {
			pairs = append(pairs, rule+"|"+f)
		}
	}
	rows, err := s.Pool.Query(ctx, reportSQL, pairs, answerRules)
	if err != nil {
		return rep, fmt.Errorf("report: %w", err)
	}
	scores, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (RuleScore, error) {
		var sc RuleScore
		return sc, r.Scan(&sc.Rule, &sc.Planted, &sc.Eligible, &sc.Flagged, &sc.Correct, &sc.Caught)
	})
	if err != nil {
		return rep, fmt.Errorf("report: %w", err)
	}
	slices.SortFunc(scores, func(a, b RuleScore) int { return ruleOrder(a.Rule) - ruleOrder(b.Rule) })
	rep.Rules = scores
	rep.Totals.Rule = "all"
	for _, sc := range scores {
		if sc.Planted == 0 {
			continue // no ground truth to judge it by
		}
		rep.Totals.Planted += sc.Planted
		rep.Totals.Eligible += sc.Eligible
		rep.Totals.Flagged += sc.Flagged
		rep.Totals.Correct += sc.Correct
		rep.Totals.Caught += sc.Caught
	}
	return rep, nil
}

// ruleOrder sorts rules as Rules lists them, unknown ones last.
func ruleOrder(code string) int {
	i := slices.IndexFunc(Rules, func(r Rule) bool { return r.Code == code })
	if i < 0 {
		return len(Rules)
	}
	return i
}

// Shortfalls lists every rule that misses a target: recall under minRecall
// on a rule with something eligible, or precision under minPrecision on a
// rule that flagged something. Rules nothing is planted for (V10, V16) are
// judged on nothing: they have no ground truth.
func (r Report) Shortfalls(minRecall, minPrecision float64) []string {
	var out []string
	for _, sc := range r.Rules {
		if sc.Planted == 0 {
			continue
		}
		if sc.Eligible > 0 && sc.Recall() < minRecall {
			out = append(out, fmt.Sprintf("%s recall %.3f < %.2f (%d of %d)", sc.Rule, sc.Recall(), minRecall, sc.Caught, sc.Eligible))
		}
		if sc.Flagged > 0 && sc.Precision() < minPrecision {
			out = append(out, fmt.Sprintf("%s precision %.3f < %.2f (%d of %d)", sc.Rule, sc.Precision(), minPrecision, sc.Correct, sc.Flagged))
		}
	}
	return out
}

// WriteTable prints the report as an aligned table.
func (r Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "rule\tname\tplanted\tanswered\tflagged\tcorrect\tcaught\tprecision\trecall\t\n")
	line := func(sc RuleScore, name string) {
		prec, rec := fmt.Sprintf("%.3f", sc.Precision()), fmt.Sprintf("%.3f", sc.Recall())
		if sc.Planted == 0 {
			prec, rec = "no truth", "no truth"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t\n", sc.Rule, name, sc.Planted, sc.Eligible, sc.Flagged, sc.Correct, sc.Caught, prec, rec)
	}
	for _, sc := range r.Rules {
		name := ""
		if rule, ok := RuleByCode(sc.Rule); ok {
			name = rule.Name
		}
		line(sc, name)
	}
	line(r.Totals, strings.Repeat("-", 3))
	return tw.Flush()
}
