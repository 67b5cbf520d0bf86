package campaigns

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// scheduleParser reads five-field cron expressions and descriptors such as
// "@hourly" or "@every 6h" (robfig/cron's standard syntax).
var scheduleParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// minScheduleEvery is the shortest "@every" a campaign may enrol on: each
// run is a set-based query over recent jobs, pointless more often.
const minScheduleEvery = time.Minute

// maxNextRuns bounds NextRuns.
const maxNextRuns = 1000

// scheduleProbe is the fixed instant from which parseSchedule checks that a
// schedule runs at all, so the check does not depend on the day it is made.
var scheduleProbe = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// parseSchedule parses a campaign's cron expression read in loc. Beside
// robfig/cron's own checks it refuses a zone prefix (TZ=… or CRON_TZ=…: the
// zone belongs in time_zone, where it is validated), an @every shorter than
// a minute, and an expression that matches no date (30 February).
func parseSchedule(expr string, loc *time.Location) (sched cron.Schedule, err error) {
	spec := strings.TrimSpace(expr)
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		return nil, errors.New("must not name a time zone: set time_zone instead")
	}
	defer func() {
		// robfig/cron is not ours: should it panic on some input, that is
		// an error in the schedule rather than a crash.
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("%q does not parse", expr)
		}
	}()
	sched, err = scheduleParser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("%q does not parse: %v; write five fields (minute hour day-of-month month day-of-week), e.g. \"0 9 * * *\", or a descriptor such as @hourly or @every 6h", expr, err)
	}
	switch s := sched.(type) {
	case cron.ConstantDelaySchedule:
		if s.Delay < minScheduleEvery {
			return nil, fmt.Errorf("%q runs every %s; the shortest allowed is @every %s", expr, s.Delay, Duration(minScheduleEvery))
		}
	case *cron.SpecSchedule:
		s.Location = loc
		if s.Next(scheduleProbe.In(loc)).IsZero() {
			return nil, fmt.Errorf("%q never runs: no date matches it", expr)
		}
	}
	return sched, nil
}

// loadZone loads a schedule's time zone; empty means UTC. "Local" is
// refused: it would mean whatever zone the server happens to run in.
func loadZone(name string) (*time.Location, error) {
	if name == "Local" {
		return nil, errors.New(`"Local" depends on the server: name an IANA zone such as Asia/Shanghai or America/New_York`)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: name an IANA zone such as Asia/Shanghai or America/New_York", truncateText(name, 60))
	}
	return loc, nil
}

// CronSchedule returns the campaign's enrolment schedule, read in its time
// zone, for a robfig/cron scheduler.
func (d *Definition) CronSchedule() (cron.Schedule, error) {
	loc, err := loadZone(d.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("campaign %s: time_zone: %w", d.Name, err)
	}
	sched, err := parseSchedule(d.Schedule, loc)
	if err != nil {
		return nil, fmt.Errorf("campaign %s: schedule: %w", d.Name, err)
	}
	return sched, nil
}

// NextRuns returns the next n times the campaign enrols after the instant
// after, in its time zone: the "next runs" preview of the console and the
// CLI. It follows robfig/cron exactly, so it shows what the scheduler will
// do across daylight-saving changes: a time that does not exist that day
// (02:30 when clocks spring forward) is skipped, and one that occurs twice
// (01:30 when they fall back) runs twice. It returns fewer than n times only
// when the schedule has no more within the next five years.
func (d *Definition) NextRuns(after time.Time, n int) ([]time.Time, error) {
	if n < 0 || n > maxNextRuns {
		return nil, fmt.Errorf("campaign %s: next runs: n must be between 0 and %d, not %d", d.Name, maxNextRuns, n)
	}
	sched, err := d.CronSchedule()
	if err != nil {
		return nil, err
	}
	loc, _ := loadZone(d.TimeZone) // loaded by CronSchedule already
	out := make([]time.Time, 0, n)
	for t := after.In(loc); len(out) < n; {
		t = sched.Next(t)
		if t.IsZero() {
			break
		}
		t = t.In(loc)
		out = append(out, t)
	}
	return out, nil
}
