package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/huifang/huifang/workorders"
)

// mapFlag collects repeated --map field=Header flags.
type mapFlag map[string]string

func (m mapFlag) String() string { return fmt.Sprint(map[string]string(m)) }
func (m mapFlag) Set(v string) error {
	f, h, ok := strings.Cut(v, "=")
	if !ok || f == "" || h == "" {
		return fmt.Errorf("want field=Header, got %q", v)
	}
	m[strings.TrimSpace(f)] = strings.TrimSpace(h)
	return nil
}

func importCmd(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "import", "import [flags] FILE...")
	var cfg config
	cfg.addFlags(c, fs)
	source := fs.String("source", "file", "intake source name: jobs are identified by (source, external_id)")
	region := fs.String("region", "CN", "default country (ISO 3166-1) for numbers written without a country code")
	tz := fs.String("tz", "", "default IANA time zone when neither row nor region nor number gives one")
	format := fs.String("format", "", "csv or jsonl (default: from the file name)")
	skip := fs.Bool("skip-invalid", false, "import the valid rows and write the invalid ones to --rejects (default: all or nothing)")
	rejects := fs.String("rejects", "", "file for invalid rows with their reasons (default FILE.rejects.csv with --skip-invalid)")
	mapping := mapFlag{}
	fs.Var(mapping, "map", "CSV column mapping field=Header, repeatable (e.g. --map phone=Mobile)")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		fs.Usage()
		return errors.New("import: name at least one file")
	}
	log := cfg.logger(c)
	rt, err := openRuntime(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer rt.close()
	src, err := rt.wo.EnsureSource(ctx, *source, "file", workorders.Defaults{Region: strings.ToUpper(*region), TimeZone: *tz})
	if err != nil {
		return err
	}
	failed := false
	for _, file := range files {
		if err := importOne(ctx, c, rt, src, file, *format, *skip, *rejects, mapping); err != nil {
			fmt.Fprintln(c.stderr, err)
			failed = true
		}
	}
	if failed {
		return &exitCodeError{1, errors.New("import: some files were not imported")}
	}
	return nil
}

func importOne(ctx context.Context, c *cli, rt *runtime, src workorders.Source, file, format string, skip bool, rejectsPath string, mapping map[string]string) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	if format == "" {
		switch strings.ToLower(filepath.Ext(file)) {
		case ".jsonl", ".ndjson":
			format = "jsonl"
		default:
			format = "csv"
		}
	}
	name := filepath.Base(file)
	var r workorders.Reader
	switch format {
	case "csv":
		cr, err := workorders.NewCSVReader(name, f, mapping)
		if err != nil {
			return err
		}
		if ig := cr.Ignored(); len(ig) > 0 {
			fmt.Fprintf(c.stderr, "%s: ignoring columns not in the intake format: %s\n", name, strings.Join(ig, ", "))
		}
		r = cr
	case "jsonl":
		r = workorders.NewJSONLReader(name, f)
	default:
		return fmt.Errorf("import: --format %q: want csv or jsonl", format)
	}

	opt := workorders.ImportOptions{SkipInvalid: skip, Actor: "cli"}
	var rw *csv.Writer
	if skip {
		if rejectsPath == "" {
			rejectsPath = file + ".rejects.csv"
		}
		rf, err := os.Create(rejectsPath)
		if err != nil {
			return fmt.Errorf("import: rejects file: %w", err)
		}
		defer rf.Close()
		rw = csv.NewWriter(rf)
		rw.Write([]string{"place", "external_id", "errors", "record"})
		opt.Reject = func(e *workorders.RowError, raw string) error {
			var msgs []string
			for _, fe := range e.Fields {
				msgs = append(msgs, fe.Error())
			}
			return rw.Write([]string{e.Where, e.ExternalID, strings.Join(msgs, "; "), raw})
		}
	}
	start := time.Now()
	res, err := rt.wo.Import(ctx, src, r, opt)
	if rw != nil {
		rw.Flush()
	}
	if errors.Is(err, workorders.ErrInvalidRows) {
		for _, e := range res.Errors {
			fmt.Fprintln(c.stderr, e.Error())
		}
		if res.Rejected > len(res.Errors) {
			fmt.Fprintf(c.stderr, "… and %d more invalid rows\n", res.Rejected-len(res.Errors))
		}
		return fmt.Errorf("%s: %d of %d rows invalid; nothing imported (use --skip-invalid to import the valid rows)", name, res.Rejected, res.Read)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	took := time.Since(start)
	fmt.Fprintf(c.stdout, "%s: %d rows read, %d new, %d updated, %d unchanged, %d rejected in %s (%.0f rows/s)\n",
		name, res.Read, res.Inserted, res.Updated, res.Unchanged, res.Rejected, took.Round(time.Millisecond),
		float64(res.Read)/took.Seconds())
	if res.Rejected > 0 {
		fmt.Fprintf(c.stdout, "%s: rejected rows and their reasons are in %s\n", name, rejectsPath)
	}
	return nil
}
