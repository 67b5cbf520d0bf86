package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/internal/redact"
	"github.com/huifang/huifang/migrations"
	"github.com/huifang/huifang/workorders/sample"
)

const benchUsage = `usage:
  huifang bench pace [--instances 3] [--rate 20] [--seconds 60] [--redis-url URL]
      Several dispatch instances share one Redis pace limiter for a while;
      reports the permits granted against rate × duration and the busiest
      one-second window.
  huifang bench import [--rows N] [--admin-url URL] [--keep]
      Generate N sample jobs as CSV, import them with "huifang import" in a
      child process (wall time, jobs/s, peak RSS), then load the rows it
      stored back into the same tables with raw COPY in the same database —
      all three tables, and work_orders alone — and report the ratios.
      Runs in a fresh database it creates and drops.
  huifang bench webhooks [--sessions 20000] [--concurrency 16] [--seconds 20 | --requests N]
                         [--warmup 3] [--pool N] [--admin-url URL] [--keep] [--cpuprofile FILE]
      Open call sessions for sample jobs, serve the Twilio webhooks on a
      loopback port and run the calls as Twilio would, signed, the sample
      customers pressing keys: gather actions per second and their latency
      (p50, p95, p99, max), errors. Runs in a fresh database it creates and
      drops.
  huifang bench enrol [--jobs 1000000] [--admin-url URL] [--keep]
      Load sample jobs into a fresh database, activate a campaign that
      targets all of them and time one enrolment run.
  huifang bench dispatch [--contacts 20000] [--seconds 20] [--admin-url URL] [--redis-url URL]
      Dispatch enrolled contacts unpaced against an in-process simulator
      with Huifang's webhooks on a loopback port: attempts started per
      second, errors.
`

func benchCmd(ctx context.Context, c *cli, args []string) error {
	if len(args) > 0 && args[0] == "pace" {
		fs := newFlagSet(c, "bench pace", "bench pace [flags]")
		redisURL := fs.String("redis-url", c.envOr("REDIS_URL", "redis://127.0.0.1:6379/0"), "the Redis the instances share (env REDIS_URL)")
		instances := fs.Int("instances", 3, "dispatch instances sharing the limiter")
		rate := fs.Float64("rate", 20, "the pace, permits per second")
		seconds := fs.Int("seconds", 60, "how long to run")
		if _, err := parseInterspersed(fs, args[1:]); err != nil {
			return err
		}
		if *instances < 1 || *rate <= 0 || *seconds < 1 {
			return errors.New("bench pace: --instances, --rate and --seconds must be positive")
		}
		return benchPace(ctx, c, *redisURL, *instances, *rate, *seconds)
	}
	if len(args) > 0 && args[0] == "webhooks" {
		return benchWebhooksCmd(ctx, c, args[1:])
	}
	if len(args) > 0 && (args[0] == "enrol" || args[0] == "dispatch") {
		fs := newFlagSet(c, "bench "+args[0], "bench "+args[0]+" [flags]")
		adminURL := fs.String("admin-url", c.envOr("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"), "Postgres URL of a user that may create databases (env BENCH_DATABASE_URL)")
		redisURL := fs.String("redis-url", c.envOr("REDIS_URL", "redis://127.0.0.1:6379/0"), "Redis URL (env REDIS_URL)")
		jobs := fs.Int("jobs", 1_000_000, "enrol: sample jobs to load and enrol")
		contacts := fs.Int("contacts", 20_000, "dispatch: contacts to dispatch")
		seconds := fs.Int("seconds", 20, "dispatch: how long to dispatch")
		keep := fs.Bool("keep", false, "keep the database afterwards")
		if _, err := parseInterspersed(fs, args[1:]); err != nil {
			return err
		}
		if args[0] == "enrol" {
			return benchEnrol(ctx, c, *adminURL, *jobs, *keep)
		}
		return benchDispatch(ctx, c, *adminURL, *redisURL, *contacts, *seconds)
	}
	if len(args) == 0 || args[0] != "import" {
		fmt.Fprint(c.stderr, benchUsage)
		return &exitCodeError{2, errors.New("bench: name a benchmark: import, pace, webhooks, enrol or dispatch")}
	}
	fs := newFlagSet(c, "bench import", "bench import [flags]")
	rows := fs.Int("rows", 1_000_000, "jobs to import")
	admin := fs.String("admin-url", c.envOr("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"a Postgres where the benchmark may create a database (env BENCH_DATABASE_URL)")
	keep := fs.Bool("keep", false, "keep the benchmark database and CSV files")
	if _, err := parseInterspersed(fs, args[1:]); err != nil {
		return err
	}
	return benchImport(ctx, c, *rows, *admin, *keep)
}

func benchImport(ctx context.Context, c *cli, rows int, adminURL string, keep bool) error {
	out := c.stdout
	dir, err := os.MkdirTemp("", "huifang-bench-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	// 1. The input file.
	csvPath := filepath.Join(dir, "jobs.csv")
	start := time.Now()
	f, err := os.Create(csvPath)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := sample.WriteCSV(bw, sample.Config{Seed: 42, Jobs: rows, Now: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		return err
	}
	if err := errors.Join(bw.Flush(), f.Close()); err != nil {
		return err
	}
	st, _ := os.Stat(csvPath)
	fmt.Fprintf(out, "generated %d jobs, %.1f MB CSV in %s\n", rows, float64(st.Size())/1e6, time.Since(start).Round(time.Millisecond))

	// 2. A fresh database.
	b := make([]byte, 4)
	rand.Read(b)
	dbName := "huifang_bench_" + hex.EncodeToString(b)
	adm, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("bench: connect to %s: %s", hostOf(adminURL), redact.Password(err.Error(), adminURL))
	}
	defer adm.Close(context.Background())
	if _, err := adm.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{dbName}.Sanitize()); err != nil {
		return err
	}
	if !keep {
		defer adm.Exec(context.Background(), "DROP DATABASE "+pgx.Identifier{dbName}.Sanitize()+" WITH (FORCE)") //nolint:errcheck
	}
	u, _ := url.Parse(adminURL)
	u.Path = "/" + dbName
	dbURL := u.String()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := migrations.Up(ctx, pool, nil); err != nil {
		return err
	}

	// 3. Our import, as a user runs it: a child process, timed, its peak RSS read from rusage.
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, self, "import", "--source", "bench", "--database-url", dbURL, csvPath)
	cmd.Env = append(os.Environ(), "HUIFANG_LOG_LEVEL=warn")
	cmd.Stdout, cmd.Stderr = io.Discard, c.stderr
	start = time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("bench: import: %w", err)
	}
	importTook := time.Since(start)
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	var maxRSS int64
	if ru != nil {
		maxRSS = ru.Maxrss // KiB on Linux
	}
	var stored int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM work_orders`).Scan(&stored); err != nil {
		return err
	}
	if stored != rows {
		return fmt.Errorf("bench: %d work orders stored, want %d", stored, rows)
	}

	// 4. The baselines: the rows the import stored, exported and loaded back
	// into the same (emptied) tables by plain COPY — the fastest way into
	// Postgres, with the same indexes, constraints and foreign keys. First
	// work_orders alone, then all three tables one job fills.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	pg := conn.Conn().PgConn()
	tables := []string{"customers", "work_orders", "claimed_parts"}
	for _, tbl := range tables {
		wf, err := os.Create(filepath.Join(dir, tbl+".csv"))
		if err != nil {
			return err
		}
		if _, err := pg.CopyTo(ctx, wf, "COPY "+tbl+" TO STDOUT (FORMAT csv)"); err != nil {
			return err
		}
		wf.Close()
	}
	copyIn := func(tbl string) (time.Duration, int64, error) {
		rf, err := os.Open(filepath.Join(dir, tbl+".csv"))
		if err != nil {
			return 0, 0, err
		}
		defer rf.Close()
		start := time.Now()
		tag, err := pg.CopyFrom(ctx, bufio.NewReaderSize(rf, 1<<20), "COPY "+tbl+" FROM STDIN (FORMAT csv)")
		return time.Since(start), tag.RowsAffected(), err
	}
	truncate := func(tbls string) error {
		_, err := conn.Exec(ctx, "TRUNCATE "+tbls+" CASCADE; ANALYZE")
		return err
	}
	// work_orders alone (its customers stay, so its foreign keys resolve).
	if err := truncate("claimed_parts, work_orders"); err != nil {
		return err
	}
	woTook, n, err := copyIn("work_orders")
	if err != nil || int(n) != rows {
		return fmt.Errorf("bench: raw copy of work_orders: %d rows, %v", n, err)
	}
	// All three.
	if err := truncate("claimed_parts, work_orders, customers"); err != nil {
		return err
	}
	var allTook time.Duration
	var stored3 int64
	var perTable []string
	for _, tbl := range tables {
		took, n, err := copyIn(tbl)
		if err != nil {
			return fmt.Errorf("bench: raw copy of %s: %w", tbl, err)
		}
		allTook += took
		stored3 += n
		perTable = append(perTable, fmt.Sprintf("%d %s", n, tbl))
	}

	rate := func(d time.Duration) float64 { return float64(rows) / d.Seconds() }
	fmt.Fprintf(out, "\n%-46s %10s %12s %11s\n", "", "time", "jobs/s", "peak RSS")
	fmt.Fprintf(out, "%-46s %10s %12.0f %8.1f MB\n", "huifang import (read, validate, upsert 3 tables)", importTook.Round(time.Millisecond), rate(importTook), float64(maxRSS)/1024)
	fmt.Fprintf(out, "%-46s %10s %12.0f %11s\n", "raw COPY of the stored rows, 3 tables", allTook.Round(time.Millisecond), rate(allTook), "-")
	fmt.Fprintf(out, "%-46s %10s %12.0f %11s\n", "raw COPY of the stored rows, work_orders only", woTook.Round(time.Millisecond), rate(woTook), "-")
	fmt.Fprintf(out, "\n%d jobs = %d stored rows (%s)\n", rows, stored3, strings.Join(perTable, ", "))
	fmt.Fprintf(out, "ratio import / raw COPY: %.2f against the same rows in the same 3 tables, %.2f against work_orders alone (target >= 0.5)\n",
		rate(importTook)/rate(allTook), rate(importTook)/rate(woTook))
	fmt.Fprintf(out, "peak RSS of the import: %.1f MB (target < 200 MB)\n", float64(maxRSS)/1024)
	if keep {
		fmt.Fprintf(out, "kept: database %s, files in %s\n", dbName, dir)
	}
	return nil
}
