package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/huifang/huifang/audit"
)

const auditUsage = `usage:
  huifang audit run [--stats]           run every pending check once: intake checks on new
                                        jobs, answer checks on ended contacts; --stats also
                                        recomputes provider statistics and risk
  huifang audit flags [--state open,claimed] [--rule V1,V2] [--severity critical]
                      [--provider CODE] [--assignee NAME] [--overdue] [--limit 50]
                                        the review queue, most urgent first
  huifang audit export findings|scorecards [--format csv|json] [--from DATE] [--to DATE]
                      [--provider CODE] [--out FILE]
                                        confirmed findings for chargeback, or provider
                                        scorecards (default: the last 30 days, to stdout)
  huifang audit report [--strict]       precision and recall of every rule against the
                                        ground truth of sample jobs; --strict exits 1 under
                                        recall 0.95 or precision 0.90
  huifang audit catalog FILE.csv        import parts lists (BOM) and standard times
  huifang audit config                  print the thresholds in effect
  huifang audit token create NAME --role admin|ops|reviewer|readonly
  huifang audit token list | revoke NAME
  huifang audit conflict add REVIEWER PROVIDER [--reason TEXT]
  huifang audit conflict remove REVIEWER PROVIDER | list REVIEWER

Thresholds come from DOMAIN.md's defaults, overridden by the YAML file named
by --config (env HUIFANG_AUDIT_CONFIG); "huifang audit config" shows them.
Dates are YYYY-MM-DD (UTC) or RFC 3339.
`

// auditConfig reads the thresholds file, when one is named.
func auditConfig(path string) (audit.Config, error) {
	if path == "" {
		return audit.DefaultConfig(), nil
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return audit.Config{}, fmt.Errorf("audit config: %w", err)
	}
	return audit.LoadConfig(path, src)
}

// auditCmd implements `huifang audit …`.
func auditCmd(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(c.stderr, auditUsage)
		if len(args) == 0 {
			return &exitCodeError{2, errors.New("audit: give a subcommand")}
		}
		return nil
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet(c, "audit "+sub, "audit "+sub+" [flags]")
	fs.Usage = func() { fmt.Fprint(c.stderr, auditUsage, "\nFlags:\n"); fs.PrintDefaults() }
	var cfg config
	cfg.addFlags(c, fs)
	cfgFile := fs.String("config", c.getenv("HUIFANG_AUDIT_CONFIG"), "audit thresholds file, YAML (env HUIFANG_AUDIT_CONFIG)")
	stats := fs.Bool("stats", false, "run: also recompute provider statistics and risk")
	states := fs.String("state", "open,claimed,signoff", "flags: states, comma-separated")
	rules := fs.String("rule", "", "flags: rules, comma-separated")
	severity := fs.String("severity", "", "flags: severities, comma-separated")
	provider := fs.String("provider", "", "flags, export: provider code")
	assignee := fs.String("assignee", "", "flags: reviewer holding the flag")
	overdue := fs.Bool("overdue", false, "flags: only undecided flags past their due time")
	limit := fs.Int("limit", 50, "flags: rows to list")
	format := fs.String("format", "csv", "export: csv or json")
	fromFlag := fs.String("from", "", "export: from this date (default 30 days ago)")
	toFlag := fs.String("to", "", "export: until this date, exclusive (default now)")
	outFile := fs.String("out", "", "export: write to this file instead of stdout")
	role := fs.String("role", "", "token create: admin, ops, reviewer or readonly")
	reason := fs.String("reason", "", "conflict add: why")
	strict := fs.Bool("strict", false, "report: exit 1 when a rule misses the targets")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	acfg, err := auditConfig(*cfgFile)
	if err != nil {
		return err
	}
	if sub == "config" {
		fmt.Fprint(c.stdout, acfg.Summary())
		return nil
	}
	want := map[string][2]int{"run": {0, 0}, "flags": {0, 0}, "export": {1, 1}, "report": {0, 0}, "catalog": {1, 1},
		"token": {1, 2}, "conflict": {2, 3}}
	n, ok := want[sub]
	if !ok {
		fs.Usage()
		return &exitCodeError{2, fmt.Errorf("audit: unknown subcommand %q", sub)}
	}
	if len(pos) < n[0] || len(pos) > n[1] {
		fs.Usage()
		return &exitCodeError{2, fmt.Errorf("audit %s: wrong number of arguments (%d)", sub, len(pos))}
	}
	log := cfg.logger(c)
	rt, err := openRuntime(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer rt.close()
	st := audit.NewStore(rt.pool)
	st.Config = acfg
	actor := "cli:" + osUser(c)

	switch sub {
	case "run":
		r := &audit.Runner{Store: st, Log: log}
		res, err := r.Once(ctx, *stats)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "intake checks: %d jobs, %d new flags\n", res.Intake.Jobs, res.Intake.Flags)
		fmt.Fprintf(c.stdout, "answer checks: %d contacts, %d new flags\n", res.Answers.Contacts, res.Answers.Flags)
		if res.Stats != nil {
			fmt.Fprintf(c.stdout, "provider statistics: %d providers, %d new flags\n", res.Stats.Providers, res.Stats.Raised)
		}
		if res.Risk != nil {
			fmt.Fprintf(c.stdout, "risk: %d providers (%d risky), %d jobs\n", res.Risk.Providers, res.Risk.Risky, res.Risk.Jobs)
		}
		return nil
	case "flags":
		f := audit.Filter{States: splitList(*states), Rules: splitList(*rules), Provider: *provider,
			Assignee: *assignee, Overdue: *overdue, Limit: *limit, Count: true}
		for _, s := range splitList(*severity) {
			f.Severity = append(f.Severity, audit.Severity(s))
		}
		rows, page, err := st.List(ctx, f)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tRULE\tSEVERITY\tSTATE\tDUE\tPROVIDER\tJOB\tAMOUNT\tSUMMARY")
		for _, r := range rows {
			due := r.DueAt.Local().Format("01-02 15:04")
			if r.Overdue {
				due += " (overdue)"
			}
			state := r.State
			if r.Assignee != "" && r.State != audit.StateDecided {
				state += " by " + r.Assignee
			}
			if r.Decision != "" {
				state += ": " + r.Decision
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s %s\t%s\n", r.ID, r.Rule, r.Severity, state, due,
				r.ProviderCode, orDash(r.JobExternalID), r.Currency, r.Amount, truncate(r.Summary, 70))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%d of %d matching flags\n", len(rows), page.Total)
		return nil
	case "export":
		from, to, err := exportRange(*fromFlag, *toFlag)
		if err != nil {
			return err
		}
		if *format != "csv" && *format != "json" {
			return &exitCodeError{2, fmt.Errorf("audit export: --format must be csv or json, not %q", *format)}
		}
		w, finish, err := outputTo(c, *outFile)
		if err != nil {
			return err
		}
		defer func() { _ = finish(false) }() // a failed export leaves no partial file
		switch pos[0] {
		case "findings":
			err = st.ExportFindings(ctx, w, *format, from, to, *provider)
		case "scorecards":
			err = st.ExportScorecards(ctx, w, *format, from, to)
		default:
			err = &exitCodeError{2, fmt.Errorf("audit export: findings or scorecards, not %q", pos[0])}
		}
		if err != nil {
			return err
		}
		return finish(true)
	case "report":
		rep, err := st.Report(ctx)
		if err != nil {
			return err
		}
		if rep.Jobs == 0 {
			return errors.New("audit report: no sample jobs here (the report compares flags with the ground truth of generated sample data: run `huifang demo --check`)")
		}
		fmt.Fprintf(c.stdout, "Audit against the planted ground truth (%d sample jobs):\n", rep.Jobs)
		if err := rep.WriteTable(c.stdout); err != nil {
			return err
		}
		short := rep.Shortfalls(targetRecall, targetPrecision)
		for _, s := range short {
			fmt.Fprintln(c.stdout, "below target: "+s)
		}
		if *strict && len(short) > 0 {
			return exitf(1, "audit report: %d target(s) missed", len(short))
		}
		return nil
	case "catalog":
		f, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		defer f.Close()
		res, err := st.ImportCatalog(ctx, pos[0], f)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "imported %d models and %d parts from %s\n", res.Models, res.Parts, pos[0])
		return nil
	case "token":
		return tokenCmd(ctx, c, st, actor, pos, audit.Role(*role))
	case "conflict":
		return conflictCmd(ctx, c, st, actor, pos, *reason)
	}
	return nil
}

func tokenCmd(ctx context.Context, c *cli, st *audit.Store, actor string, pos []string, role audit.Role) error {
	switch {
	case pos[0] == "create" && len(pos) == 2:
		if !role.Valid() {
			return &exitCodeError{2, fmt.Errorf("audit token create: --role must be admin, ops, reviewer or readonly, not %q", role)}
		}
		tok, err := st.CreateToken(ctx, actor, pos[1], role)
		if err != nil {
			return err
		}
		// Printed once, for the person creating it; only its hash is stored.
		fmt.Fprintf(c.stdout, "token for %s (%s), shown only now:\n%s\n", pos[1], role, tok)
		return nil
	case pos[0] == "revoke" && len(pos) == 2:
		if err := st.RevokeToken(ctx, actor, pos[1]); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "revoked %s\n", pos[1])
		return nil
	case pos[0] == "list" && len(pos) == 1:
		toks, err := st.ListTokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tCREATED\tLAST USED\tREVOKED")
		for _, t := range toks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Name, t.Role, t.CreatedAt.Local().Format(time.DateTime), timeOrDash(t.LastUsedAt), timeOrDash(t.RevokedAt))
		}
		return tw.Flush()
	}
	return &exitCodeError{2, fmt.Errorf("audit token: create NAME --role ROLE, list, or revoke NAME")}
}

func conflictCmd(ctx context.Context, c *cli, st *audit.Store, actor string, pos []string, reason string) error {
	switch {
	case pos[0] == "add" && len(pos) == 3:
		if err := st.AddConflict(ctx, actor, pos[1], pos[2], reason); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s may no longer decide flags about %s\n", pos[1], pos[2])
		return nil
	case pos[0] == "remove" && len(pos) == 3:
		if err := st.RemoveConflict(ctx, actor, pos[1], pos[2]); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "removed the conflict of %s with %s\n", pos[1], pos[2])
		return nil
	case pos[0] == "list" && len(pos) == 2:
		cs, err := st.Conflicts(ctx, pos[1])
		if err != nil {
			return err
		}
		for _, x := range cs {
			fmt.Fprintf(c.stdout, "%s\t%s\t%s\n", x.ProviderCode, x.Reason, x.CreatedAt.Local().Format(time.DateOnly))
		}
		return nil
	}
	return &exitCodeError{2, fmt.Errorf("audit conflict: add REVIEWER PROVIDER, remove REVIEWER PROVIDER, or list REVIEWER")}
}

// exportRange reads --from and --to: dates (UTC midnight) or RFC 3339 times.
func exportRange(fromS, toS string) (time.Time, time.Time, error) {
	parse := func(name, s string, def time.Time) (time.Time, error) {
		if s == "" {
			return def, nil
		}
		if t, err := time.Parse(time.DateOnly, s); err == nil {
			return t, nil
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return time.Time{}, &exitCodeError{2, fmt.Errorf("audit export: --%s %q: want YYYY-MM-DD or an RFC 3339 time", name, s)}
		}
		return t, nil
	}
	to, err := parse("to", toS, time.Now())
	if err != nil {
		return to, to, err
	}
	from, err := parse("from", fromS, to.AddDate(0, 0, -30))
	if err != nil {
		return from, to, err
	}
	if !from.Before(to) {
		return from, to, &exitCodeError{2, fmt.Errorf("audit export: --from must be before --to")}
	}
	return from, to, nil
}

// outputTo opens the export's destination: stdout, or a file written whole
// or not at all. finish(true) renames the complete file into place;
// finish(false) — or any call after the first — removes what is left.
func outputTo(c *cli, path string) (io.Writer, func(ok bool) error, error) {
	if path == "" {
		return c.stdout, func(bool) error { return nil }, nil
	}
	tmp := path + ".part"
	f, err := os.Create(tmp)
	if err != nil {
		return nil, nil, err
	}
	done := false
	return f, func(ok bool) error {
		if done {
			return nil
		}
		done = true
		err := f.Close()
		if ok && err == nil {
			return os.Rename(tmp, path)
		}
		os.Remove(tmp)
		return err
	}, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}

// osUser names the person at the terminal for the audit log.
func osUser(c *cli) string {
	for _, k := range []string{"HUIFANG_ACTOR", "USER", "LOGNAME"} {
		if v := c.getenv(k); v != "" {
			return v
		}
	}
	return "unknown"
}

// truncate shortens s to at most n characters, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
