package main

import (
	"context"
	"fmt"
	"time"

	"github.com/huifang/huifang/dialer/twiliosim"
	"github.com/huifang/huifang/workorders/sample"
)

// twiliosimCmd runs the Twilio simulator on its own, for load tests and for
// trying Huifang against something that behaves like Twilio.
func twiliosimCmd(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "twiliosim", "twiliosim [flags]")
	addr := fs.String("addr", "127.0.0.1:8089", "listen address")
	sid := fs.String("account-sid", c.getenv("TWILIOSIM_ACCOUNT_SID"), "the simulated account SID (env TWILIOSIM_ACCOUNT_SID; default random)")
	token := fs.String("auth-token", c.getenv("TWILIOSIM_AUTH_TOKEN"), "the simulated auth token (env TWILIOSIM_AUTH_TOKEN; default random)")
	speed := fs.Float64("speed", 1, "run simulated time this many times faster than the wall clock")
	smsURL := fs.String("sms-url", "", "where customers' SMS replies are posted (the inbound-message webhook)")
	jobs := fs.Int("sample-jobs", 2000, "play the customers of this many sample jobs (the demo's sample, seed --seed)")
	seed := fs.Int64("seed", 1, "sample seed")
	logLevel := fs.String("log-level", c.envOr("HUIFANG_LOG_LEVEL", "info"), "debug, info, warn or error")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	cfg := config{LogLevel: *logLevel}
	log := cfg.logger(c)
	sampleJobs, err := sample.Jobs(sample.Config{Seed: *seed, Jobs: *jobs, Now: time.Now().UTC().Truncate(24 * time.Hour)})
	if err != nil {
		return err
	}
	sim, err := twiliosim.New(twiliosim.Options{
		AccountSID: *sid, AuthToken: *token, Speed: *speed, SMSURL: *smsURL,
		Personas: twiliosim.SamplePersonas(sampleJobs), Logger: log,
	})
	if err != nil {
		return err
	}
	// Shown on the terminal so a local Huifang can be pointed at it; these
	// are the simulator's own credentials, not Twilio's.
	fmt.Fprintf(c.stdout, "Twilio simulator on http://%s — account %s, auth token %s, %d sample customers\n",
		*addr, sim.AccountSID(), sim.AuthToken(), len(sampleJobs))
	return sim.Serve(ctx, *addr)
}
