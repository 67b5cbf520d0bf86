package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/huifang/huifang/workorders/sample"
)

func sampleCmd(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "sample", "sample [--jobs N] [--seed S] [--out FILE.csv]")
	jobs := fs.Int("jobs", 2000, "how many jobs")
	seed := fs.Int64("seed", 1, "the same seed writes the same jobs")
	out := fs.String("out", "-", "output CSV file, - for standard output")
	bad := fs.Float64("bad-share", 0, "share of jobs with a planted answer-based mismatch (0: default 0.15, negative: none)")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if *jobs < 0 || *jobs > sample.MaxJobs {
		return fmt.Errorf("--jobs must be between 0 and %d", sample.MaxJobs)
	}
	var w io.Writer = c.stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	err := sample.WriteCSV(bw, sample.Config{Seed: *seed, Jobs: *jobs, Now: time.Now().UTC().Truncate(time.Hour), BadShare: *bad})
	if err != nil {
		return err
	}
	return errors.Join(bw.Flush(), ctx.Err())
}
