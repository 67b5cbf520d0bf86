package audit

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"
)

// Leader says whether this instance holds the cluster-wide role that
// recomputes statistics (a Postgres advisory lock).
type Leader interface {
	IsLeader(ctx context.Context) bool
}

// Runner runs the audit in the background: intake and answer checks on every
// instance (each job and contact is claimed, so none is checked twice), and
// on the leader the provider statistics and risk on Config.StatsSchedule.
type Runner struct {
	Store  *Store
	Leader Leader
	Log    *slog.Logger
	// Every is how often new jobs and ended contacts are looked for
	// (default 10 s).
	Every time.Duration

	nextStats time.Time
}

var (
	flagsRaised = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "huifang_audit_flags_raised_total",
		Help: "New flags this instance raised, by the kind of check (intake, answers, statistics).",
	}, []string{"checks"})
	checked = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "huifang_audit_checked_total",
		Help: "Jobs (intake) and contacts (answers) this instance checked.",
	}, []string{"checks"})
)

func init() { prometheus.MustRegister(flagsRaised, checked) }

// RunResult says what one pass of the runner did.
type RunResult struct {
	Intake  IntakeRun
	Answers AnswerRun
	Stats   *StatsRun // nil when statistics were not due
	Risk    *RiskRun
}

// Once runs one pass: every pending intake and answer check, and the
// statistics and risk when forced or due on this instance.
func (r *Runner) Once(ctx context.Context, forceStats bool) (RunResult, error) {
	var res RunResult
	var err error
	if res.Intake, err = r.Store.RunIntakeChecks(ctx, 0); err != nil {
		return res, err
	}
	checked.WithLabelValues("intake").Add(float64(res.Intake.Jobs))
	if res.Intake.Flags > 0 {
		flagsRaised.WithLabelValues("intake").Add(float64(res.Intake.Flags))
	}
	if res.Answers, err = r.Store.RunAnswerChecks(ctx, 0); err != nil {
		return res, err
	}
	checked.WithLabelValues("answers").Add(float64(res.Answers.Contacts))
	if res.Answers.Flags > 0 {
		flagsRaised.WithLabelValues("answers").Add(float64(res.Answers.Flags))
	}
	now := r.Store.now()
	due := forceStats || (!r.nextStats.IsZero() && !now.Before(r.nextStats))
	if r.nextStats.IsZero() || due {
		if sched, perr := cron.ParseStandard(r.Store.Config.StatsSchedule); perr == nil {
			r.nextStats = sched.Next(now)
		} else {
			r.nextStats = now.Add(time.Hour)
		}
	}
	if !due || (r.Leader != nil && !r.Leader.IsLeader(ctx)) {
		return res, nil
	}
	st, err := r.Store.ComputeProviderStats(ctx)
	if err != nil {
		return res, err
	}
	res.Stats = &st
	if st.Raised > 0 {
		flagsRaised.WithLabelValues("statistics").Add(float64(st.Raised))
	}
	rk, err := r.Store.ComputeRisk(ctx)
	if err != nil {
		return res, err
	}
	res.Risk = &rk
	return res, nil
}

// Run runs passes until ctx ends. The statistics run once at start, then on
// their schedule.
func (r *Runner) Run(ctx context.Context) {
	every := r.Every
	if every <= 0 {
		every = 10 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	first := true
	for {
		res, err := r.Once(ctx, first)
		switch {
		case err != nil && ctx.Err() == nil:
			r.log().Warn("audit", "err", err)
		case err == nil:
			first = false
			if n := res.Intake.Jobs + res.Answers.Contacts; n > 0 {
				r.log().Info("audit checks", "jobs", res.Intake.Jobs, "contacts", res.Answers.Contacts,
					"flags", res.Intake.Flags+res.Answers.Flags)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *Runner) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.New(slog.DiscardHandler)
}
