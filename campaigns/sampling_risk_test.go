package campaigns_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/huifang/huifang/campaigns"
)

// Risk raises the sampling chance: with Rate 0.1 and RiskyProviders 0.6, a
// risky provider's jobs are sampled at about 0.6, a job with risk 0.5 at
// 0.1 + 0.9 × 0.5 = 0.55, a job with risk 1 always, and ordinary jobs —
// including those of a provider with a low score that is not risky — at
// about 0.1. The draw is the same hash as without risk, so risk only adds
// jobs to the sample.
func TestEnrolSamplingFollowsRisk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnrolEnv(t)
	now := time.Date(2026, 3, 3, 10, 0, 0, 0, tzShanghai)
	const (
		ordinary = 2500 // P-ORD, of which the last halfRisk+fullRisk carry job risk
		risky    = 2500 // P-RISK
		halfRisk = 500  // job risk 0.5
		fullRisk = 200  // job risk 1
	)
	var specs []jobSpec
	group := map[string]string{}
	add := func(provider, g string, n int) {
		for range n {
			i := len(specs)
			s := jobSpec{id: fmt.Sprintf("J%05d", i), phone: cnPhone(10000 + i), provider: provider,
				completed: now.Add(-time.Duration(1+i%90) * time.Hour)}
			specs = append(specs, s)
			group[s.id] = g
		}
	}
	add("P-ORD", "ordinary", ordinary-halfRisk-fullRisk)
	add("P-ORD", "half", halfRisk)
	add("P-ORD", "full", fullRisk)
	add("P-RISK", "risky", risky)
	e.addJobs(t, specs...)
	id, def := e.campaign(t, "risk-sampled", func(d *campaigns.Definition) {
		d.Sampling = campaigns.Sampling{Rate: 0.1, RiskyProviders: 0.6}
	})

	_, before := e.enrolDry(t, id, def, now)

	if _, err := e.pool.Exec(ctx, `
INSERT INTO provider_risk (provider_id, score, risky, reasons, computed_at)
SELECT id, CASE code WHEN 'P-RISK' THEN 0.7 ELSE 0.2 END, code = 'P-RISK', '{P1}', $1 FROM providers`, now); err != nil {
		t.Fatal(err)
	}
	var half, full []int64
	for ext, g := range group {
		switch g {
		case "half":
			half = append(half, e.ids[ext])
		case "full":
			full = append(full, e.ids[ext])
		}
	}
	if _, err := e.pool.Exec(ctx, `
INSERT INTO job_risk (work_order_id, score, reasons, computed_at)
SELECT id, 0.5, '{V12}'::text[], $2::timestamptz FROM unnest($1::bigint[]) AS id
UNION ALL
SELECT id, 1, '{V13}'::text[], $2 FROM unnest($3::bigint[]) AS id`, half, now, full); err != nil {
		t.Fatal(err)
	}
	_, after := e.enrolDry(t, id, def, now)

	total, picked := map[string]int{}, map[string]int{}
	for ext, g := range group {
		total[g]++
		if _, ok := after[ext]; ok {
			picked[g]++
		}
		if _, ok := before[ext]; ok {
			if _, still := after[ext]; !still {
				t.Errorf("%s (%s) was sampled without risk and not with it: risk must only add jobs", ext, g)
			}
		}
		if _, was := before[ext]; g == "ordinary" && was != (after[ext].Job != "") {
			t.Errorf("ordinary job %s: sampled %v without risk rows, %v with them; want the same draw", ext, was, after[ext].Job != "")
		}
	}
	for _, c := range []struct {
		group string
		p     float64
	}{{"ordinary", 0.1}, {"half", 0.55}, {"full", 1}, {"risky", 0.6}} {
		n := total[c.group]
		share := float64(picked[c.group]) / float64(n)
		// Four binomial standard deviations: a correct draw fails about once
		// in 16,000 runs; a wrong p (0.1 for a risky provider, 0.6 for an
		// ordinary one) is dozens of deviations away.
		tol := 4 * math.Sqrt(c.p*(1-c.p)/float64(n))
		t.Logf("%s: %d of %d sampled (%.4f), want %.2f ± %.4f", c.group, picked[c.group], n, share, c.p, tol)
		if math.Abs(share-c.p) > tol || (c.p == 1 && picked[c.group] != n) {
			t.Errorf("%s jobs: %d of %d sampled (%.4f), want %.2f ± %.4f", c.group, picked[c.group], n, share, c.p, tol)
		}
	}
	if picked["ordinary"] == 0 || picked["ordinary"] == total["ordinary"] {
		t.Errorf("ordinary jobs: %d of %d sampled; the check above is vacuous", picked["ordinary"], total["ordinary"])
	}

	// A Rate above RiskyProviders wins for risky providers too.
	def.Sampling = campaigns.Sampling{Rate: 0.9, RiskyProviders: 0.6}
	_, high := e.enrolDry(t, id, def, now)
	n := 0
	for ext, g := range group {
		if _, ok := high[ext]; ok && g == "risky" {
			n++
		}
	}
	if p, tol := 0.9, 4*math.Sqrt(0.9*0.1/risky); math.Abs(float64(n)/risky-p) > tol {
		t.Errorf("rate 0.9 above risky_providers 0.6: %d of %d risky jobs sampled, want 0.9 ± %.3f", n, risky, tol)
	}
}
