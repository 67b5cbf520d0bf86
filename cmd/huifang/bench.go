package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/migrations"
	"github.com/huifang/huifang/workorders/sample"
)

const benchUsage = `usage:
  huifang bench import [--rows N] [--admin-url URL] [--keep]
      Generate N sample jobs as CSV, import them with "huifang import" in a
      child process (wall time, rows/s, peak RSS), then load the same rows
      into the same table with a raw COPY in the same database, and report
      the ratio. Runs in a fresh database it creates and drops.
`

func benchCmd(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 || args[0] != "import" {
		fmt.Fprint(c.stderr, benchUsage)
		return &exitCodeError{2, errors.New("bench: name a benchmark: import")}
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
		return fmt.Errorf("bench: connect to %s: %s", hostOf(adminURL), redactURL(err.Error(), adminURL))
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
	cmd.Stdout, cmd.Stderr = c.stderr, c.stderr
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

	// 4. The baseline: the same rows, as the table holds them, loaded into the
	// same (emptied) table by a plain COPY — the fastest way into Postgres.
	cols := `source_id, external_id, kind, completed_at, customer_id, provider_id, technician, technician_phone_e164,
		brand, product_category, product_model, serial_number, warranty_status, warranty_ends_on, delivered_on, fault,
		currency, customer_paid, labour_minutes, labour_amount, parts_amount, parts_digest`
	rawPath := filepath.Join(dir, "work_orders.csv")
	rf, err := os.Create(rawPath)
	if err != nil {
		return err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Conn().PgConn().CopyTo(ctx, rf, "COPY (SELECT "+cols+" FROM work_orders ORDER BY id) TO STDOUT (FORMAT csv)"); err != nil {
		return err
	}
	rf.Close()
	if _, err := conn.Exec(ctx, `TRUNCATE work_orders CASCADE; ANALYZE work_orders`); err != nil {
		return err
	}
	rf, err = os.Open(rawPath)
	if err != nil {
		return err
	}
	defer rf.Close()
	start = time.Now()
	tag, err := conn.Conn().PgConn().CopyFrom(ctx, bufio.NewReaderSize(rf, 1<<20), "COPY work_orders ("+cols+") FROM STDIN (FORMAT csv)")
	if err != nil {
		return fmt.Errorf("bench: raw copy: %w", err)
	}
	copyTook := time.Since(start)
	if int(tag.RowsAffected()) != rows {
		return fmt.Errorf("bench: raw copy loaded %d rows, want %d", tag.RowsAffected(), rows)
	}

	importRate := float64(rows) / importTook.Seconds()
	copyRate := float64(rows) / copyTook.Seconds()
	fmt.Fprintf(out, "\n%-34s %12s %14s %12s\n", "", "time", "rows/s", "peak RSS")
	fmt.Fprintf(out, "%-34s %12s %14.0f %9.1f MB\n", "huifang import (validate+upsert)", importTook.Round(time.Millisecond), importRate, float64(maxRSS)/1024)
	fmt.Fprintf(out, "%-34s %12s %14.0f %12s\n", "raw COPY into work_orders", copyTook.Round(time.Millisecond), copyRate, "-")
	fmt.Fprintf(out, "\nratio import/raw COPY: %.2f (target >= 0.5); peak RSS %.1f MB (target < 200 MB)\n",
		importRate/copyRate, float64(maxRSS)/1024)
	if keep {
		fmt.Fprintf(out, "kept: database %s, files in %s\n", dbName, dir)
	}
	return nil
}
