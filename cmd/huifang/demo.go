package main

import (
	"context"
	"fmt"
	"time"

	"github.com/huifang/huifang/workorders"
	"github.com/huifang/huifang/workorders/sample"
)

func demoCmd(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "demo", "demo [flags]")
	var cfg config
	cfg.addFlags(c, fs)
	addr := fs.String("http-addr", c.envOr("HTTP_ADDR", "127.0.0.1:8080"), "listen address (env HTTP_ADDR)")
	jobs := fs.Int("jobs", 2000, "sample jobs to load")
	seed := fs.Int64("seed", 1, "sample seed: the same seed loads the same jobs")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if *jobs < 0 || *jobs > sample.MaxJobs {
		return fmt.Errorf("--jobs must be between 0 and %d", sample.MaxJobs)
	}
	log := cfg.logger(c)
	fmt.Fprintln(c.stdout, "Starting Huifang demo: embedded services, migrations, sample jobs…")
	rt, err := openRuntime(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer rt.close()

	src, err := rt.wo.EnsureSource(ctx, "demo-sample", "file", workorders.Defaults{Region: "CN"})
	if err != nil {
		return err
	}
	// Anchor the sample to the day, so re-running the demo on the same day
	// re-loads the same jobs (idempotently) instead of adding new ones.
	now := time.Now().UTC().Truncate(24 * time.Hour)
	start := time.Now()
	scfg := sample.Config{Seed: *seed, Jobs: *jobs, Now: now}
	res, err := sample.Load(ctx, rt.wo, src, scfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Loaded %d sample jobs in %s (%d new, %d updated, %d unchanged).\n",
		res.Read, time.Since(start).Round(time.Millisecond), res.Inserted, res.Updated, res.Unchanged)

	token := c.getenv("HUIFANG_ADMIN_TOKEN")
	generated := token == ""
	if generated {
		token = randomToken()
	}
	ln, err := listen(*addr)
	if err != nil {
		return err
	}
	// The simulator plays the sample customers and calls our webhooks at
	// the address just bound.
	jobList, err := sample.Jobs(scfg)
	if err != nil {
		ln.Close()
		return err
	}
	tel, err := simulatedTelephony(rt, "http://"+ln.Addr().String(), jobList, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer tel.close()
	return serve(ctx, rt, ln, token, tel, func(bound string) {
		fmt.Fprintf(c.stdout, "\nHuifang is running at http://%s/  (Ctrl-C stops it and everything it started)\n", bound)
		if generated {
			// Shown once on the terminal for the person running the demo; never logged.
			fmt.Fprintf(c.stdout, "Demo API token for this run: %s\n", token)
		}
		fmt.Fprintf(c.stdout, "Try:  curl -H \"Authorization: Bearer $TOKEN\" http://%s/api/v1/status\n\n", bound)
	})
}
