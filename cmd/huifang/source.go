package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/huifang/huifang/workorders"
)

const sourceUsage = `usage:
  huifang source add NAME --kind sql|http --schedule CRON [flags]
      sql:  --dsn-env VAR --query SQL | --query-file FILE
            the query gets $1 = watermark completed_at, $2 = watermark external_id,
            $3 = page size, returns intake columns, ORDER BY completed_at, external_id
      http: --url URL [--token-env VAR]
            GET URL?since=RFC3339&after_id=ID&limit=N answers {"work_orders": [...]}
      common: --page-size N --overlap 10m --region CN --tz ZONE
  huifang source list
  huifang source pull NAME               pull now, until the upstream has nothing newer
  huifang source watermark NAME --at TIME [--id ID]   move the watermark (to pull again)
  huifang source rejects NAME [--limit N]             rows the upstream sent that failed validation
`

func sourceCmd(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(c.stderr, sourceUsage)
		if len(args) == 0 {
			return &exitCodeError{2, errors.New("source: give a subcommand")}
		}
		return nil
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet(c, "source "+sub, "source "+sub+" [flags]")
	fs.Usage = func() { fmt.Fprint(c.stderr, sourceUsage, "\nFlags:\n"); fs.PrintDefaults() }
	var cfg config
	cfg.addFlags(c, fs)
	kind := fs.String("kind", "", "sql or http")
	schedule := fs.String("schedule", "", "cron expression (5 fields, or @every 5m, @hourly)")
	dsnEnv := fs.String("dsn-env", "", "environment variable holding the upstream Postgres DSN")
	query := fs.String("query", "", "upstream SQL query")
	queryFile := fs.String("query-file", "", "file holding the upstream SQL query")
	url := fs.String("url", "", "upstream HTTP endpoint")
	tokenEnv := fs.String("token-env", "", "environment variable holding the upstream bearer token")
	pageSize := fs.Int("page-size", 1000, "rows per request and per transaction")
	overlap := fs.String("overlap", "", "re-read this far behind the watermark each run (e.g. 10m)")
	region := fs.String("region", "CN", "default country for numbers without a country code")
	tz := fs.String("tz", "", "default IANA time zone")
	at := fs.String("at", "", "watermark time (RFC 3339)")
	id := fs.String("id", "", "watermark external id")
	limit := fs.Int("limit", 50, "rows to show")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	name := ""
	if len(pos) > 0 {
		name = pos[0]
	}
	needName := sub != "list"
	if needName && (name == "" || len(pos) > 1) {
		fs.Usage()
		return fmt.Errorf("source %s: name one source", sub)
	}
	if sub == "add" {
		// Check before touching the database, so mistakes are cheap.
		if *queryFile != "" {
			b, err := os.ReadFile(*queryFile)
			if err != nil {
				return err
			}
			*query = string(b)
		}
		if _, err := workorders.ParseSchedule(*schedule, time.Now(), 1); *schedule != "" && err != nil {
			return err
		}
	}
	log := cfg.logger(c)
	rt, err := openRuntime(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer rt.close()

	switch sub {
	case "add":
		pc := workorders.PullConfig{DSNEnv: *dsnEnv, Query: *query, URL: *url, TokenEnv: *tokenEnv, PageSize: *pageSize, Overlap: *overlap}
		src, err := rt.wo.SavePullSource(ctx, name, *kind, *schedule, workorders.Defaults{Region: strings.ToUpper(*region), TimeZone: *tz}, pc)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "source %s (%s) saved", src.Name, src.Kind)
		if *schedule != "" {
			next, _ := workorders.ParseSchedule(*schedule, time.Now(), 3)
			fmt.Fprintf(c.stdout, "; next runs (UTC):")
			for _, t := range next {
				fmt.Fprintf(c.stdout, " %s", t.UTC().Format("2006-01-02 15:04"))
			}
		}
		fmt.Fprintln(c.stdout)
	case "list":
		srcs, err := rt.wo.Sources(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tKIND\tSCHEDULE\tWATERMARK\tLAST RUN\tROWS\tLAST ERROR")
		for _, s := range srcs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", s.Name, s.Kind, s.Schedule, fmtTime(s.WatermarkAt)+" "+s.WatermarkID,
				fmtTime(s.LastRunAt), s.LastRunRows, s.LastError)
		}
		return tw.Flush()
	case "pull":
		p := &workorders.Puller{Store: rt.wo}
		start := time.Now()
		res, err := p.Pull(ctx, name)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s: %d pages, %d rows, %d new, %d updated, %d rejected in %s\n", name, res.Pages, res.Rows,
			res.Inserted, res.Updated, res.Rejected, time.Since(start).Round(time.Millisecond))
	case "watermark":
		t, err := time.Parse(time.RFC3339Nano, *at)
		if err != nil {
			return fmt.Errorf("--at: want an RFC 3339 time like 2026-11-01T00:00:00Z")
		}
		if err := rt.wo.SetWatermark(ctx, name, t, *id); err != nil {
			return fmt.Errorf("source %s: %w", name, err)
		}
		fmt.Fprintf(c.stdout, "source %s: watermark set to %s %s\n", name, t.UTC().Format(time.RFC3339), *id)
	case "rejects":
		rows, err := rt.pool.Query(ctx, `SELECT r.at, r.place, r.external_id, r.errors FROM intake_rejects r
			JOIN intake_sources s ON s.id = r.source_id WHERE s.name = $1 ORDER BY r.id DESC LIMIT $2`, name, *limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var when time.Time
			var place, ext, msg string
			if err := rows.Scan(&when, &place, &ext, &msg); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s  %s  %s  %s\n", when.UTC().Format("2006-01-02 15:04:05"), place, ext, msg)
		}
		return rows.Err()
	default:
		fmt.Fprint(c.stderr, sourceUsage)
		return &exitCodeError{2, fmt.Errorf("source: unknown subcommand %q", sub)}
	}
	return nil
}

func fmtTime(t time.Time) string {
	if t.Unix() <= 0 {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}
