package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/audit"
	"github.com/huifang/huifang/dialer/twiliosim"
)

// demoProgress reads the demo's campaigns' progress from the database.
type demoProgress struct {
	pool      *pgxpool.Pool
	campaigns []string
}

// snapshot is one reading of the progress line.
type snapshot struct {
	contacts, done, attempts, live, answers, flags, open int
}

func (p *demoProgress) read(ctx context.Context) (snapshot, error) {
	var s snapshot
	err := p.pool.QueryRow(ctx, `
SELECT (SELECT count(*) FROM contacts k JOIN campaigns c ON c.id = k.campaign_id WHERE c.name = ANY ($1)),
       (SELECT count(*) FROM contacts k JOIN campaigns c ON c.id = k.campaign_id WHERE c.name = ANY ($1) AND k.state = 'done'),
       (SELECT count(*) FROM attempts),
       (SELECT count(*) FROM attempts WHERE state <> 'ended'),
       (SELECT count(*) FROM survey_answers WHERE event = 'answer' AND fact <> ''),
       (SELECT count(*) FROM flags),
       (SELECT count(*) FROM survey_sessions WHERE status = 'open')`, p.campaigns).
		Scan(&s.contacts, &s.done, &s.attempts, &s.live, &s.answers, &s.flags, &s.open)
	return s, err
}

func (s snapshot) String() string {
	return fmt.Sprintf("contacts %d/%d done · attempts %d (%d live) · answers %d · flags %d",
		s.done, s.contacts, s.attempts, s.live, s.answers, s.flags)
}

// run prints the progress line every two seconds until ctx ends.
func (p *demoProgress) run(ctx context.Context, out io.Writer, clock twiliosim.Clock) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	last := ""
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(out)
			return
		case <-t.C:
		}
		s, err := p.read(ctx)
		if err != nil {
			continue
		}
		line := fmt.Sprintf("[%s] %s", clock.Now().Format("Mon 15:04 UTC"), s)
		if line != last {
			fmt.Fprintf(out, "\r%-100s", line)
			last = line
		}
	}
}

// untilDone waits until every contact of the demo's campaigns is done and
// no survey is still open, printing progress now and then.
func (p *demoProgress) untilDone(ctx context.Context, out io.Writer, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	lastPrint := time.Time{}
	for {
		s, err := p.read(ctx)
		if err != nil {
			return err
		}
		if time.Since(lastPrint) >= 10*time.Second {
			fmt.Fprintln(out, "  "+s.String())
			lastPrint = time.Now()
		}
		if s.contacts > 0 && s.done == s.contacts && s.open == 0 && s.live == 0 {
			fmt.Fprintln(out, "  "+s.String())
			return nil
		}
		if time.Now().After(deadline) {
			return exitf(1, "demo --check: not finished after %s: %s", timeout, s)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// finishCheck runs the audit over everything the campaigns gathered, prints
// the outcome table and the audit's precision and recall against the planted
// ground truth, and fails under the targets.
func finishCheck(ctx context.Context, out io.Writer, rt *runtime, aud *audit.Store) error {
	r := &audit.Runner{Store: aud}
	if _, err := r.Once(ctx, true); err != nil {
		return err
	}
	if err := outcomeTable(ctx, out, rt.pool); err != nil {
		return err
	}
	rep, err := aud.Report(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nAudit against the planted ground truth (%d sample jobs):\n", rep.Jobs)
	if err := rep.WriteTable(out); err != nil {
		return err
	}
	if short := rep.Shortfalls(targetRecall, targetPrecision); len(short) > 0 {
		for _, s := range short {
			fmt.Fprintln(out, "FAIL: "+s)
		}
		return exitf(1, "demo --check: %d audit target(s) missed", len(short))
	}
	fmt.Fprintf(out, "\nPASS: every rule with planted claims has recall ≥ %.2f and precision ≥ %.2f\n", targetRecall, targetPrecision)
	return nil
}

// outcomeTable prints contacts by campaign and outcome, attempts by channel
// and outcome, answers and flags by rule.
func outcomeTable(ctx context.Context, out io.Writer, pool *pgxpool.Pool) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	section := func(title, query string) error {
		rows, err := pool.Query(ctx, query)
		if err != nil {
			return err
		}
		type row struct {
			a, b string
			n    int
		}
		rs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var x row
			return x, r.Scan(&x.a, &x.b, &x.n)
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "\n%s\t\t\n", title)
		for _, x := range rs {
			fmt.Fprintf(tw, "  %s\t%s\t%d\n", x.a, x.b, x.n)
		}
		return nil
	}
	for _, s := range [][2]string{
		{"Contacts by campaign and outcome", `SELECT c.name, COALESCE(k.outcome, k.state), count(*) FROM contacts k JOIN campaigns c ON c.id = k.campaign_id GROUP BY 1, 2 ORDER BY 1, 2`},
		{"Attempts by channel and outcome", `SELECT channel, COALESCE(outcome, state), count(*) FROM attempts GROUP BY 1, 2 ORDER BY 1, 2`},
		{"Answers by channel", `SELECT s.channel, 'answers', count(*) FROM survey_answers a JOIN survey_sessions s ON s.id = a.session_id WHERE a.event = 'answer' AND a.fact <> '' GROUP BY 1 ORDER BY 1`},
		{"Flags by rule and severity", `SELECT rule, severity, count(*) FROM flags GROUP BY 1, 2 ORDER BY min(priority), 1`},
	} {
		if err := section(s[0], s[1]); err != nil {
			return err
		}
	}
	return tw.Flush()
}
