package campaigns

import (
	"strings"
	"time"
)

// DefaultWindowFor is the calling window used when a campaign names none:
// China's default for Chinese-language customers, the US default otherwise.
func DefaultWindowFor(lang string) *CallingWindow {
	if strings.HasPrefix(lang, "zh") {
		return DefaultChina()
	}
	return DefaultUS()
}

// WindowFor is the campaign's calling window for a customer.
func (d *Definition) WindowFor(lang string) *CallingWindow {
	if d.Window != nil {
		return d.Window
	}
	return DefaultWindowFor(lang)
}

// Locations loads a contact's zones; a zone that no longer loads makes the
// whole list unusable (nil), and a nil list is never open.
func Locations(zones []string) []*time.Location {
	locs := make([]*time.Location, 0, len(zones))
	for _, z := range zones {
		l, err := time.LoadLocation(z)
		if err != nil {
			return nil
		}
		locs = append(locs, l)
	}
	return locs
}

// Contact is one row of the dial queue, as the policy sees it.
type Contact struct {
	ID, CampaignID, WorkOrderID          int64
	Phone                                string
	Zones                                []string
	Lang                                 string
	Channel                              string // the channel of the next attempt: voice or sms
	Attempts, VoiceAttempts, SMSAttempts int
	NextAt, ExpiresAt                    time.Time
	LastAttemptID                        int64
}

// Result is how an attempt ended, for the policy.
type Result struct {
	Outcome string    // attempts.outcome
	Channel string    // voice or sms
	At      time.Time // when it started
	// Permanent: the carrier said this number can never be reached (invalid,
	// not a mobile for SMS, blocked).
	Permanent bool
}

// Decision is what happens to a contact after an attempt.
type Decision struct {
	Done    bool
	Outcome string    // when Done: completed, exhausted, opted_out, failed, expired, suppressed …
	NextAt  time.Time // when not Done
	Channel string    // the channel of the next attempt
	// Uncount: the attempt never reached the carrier (rate limited); it
	// does not count against the contact's attempts.
	Uncount bool
}

// Parts of the day a retry rotates through, in local time.
const (
	afternoonStarts = 12 * 3600
	eveningStarts   = 17 * 3600
)

func partOfDay(t time.Time) int {
	h, m, s := t.Clock()
	switch sec := h*3600 + m*60 + s; {
	case sec < afternoonStarts:
		return 0
	case sec < eveningStarts:
		return 1
	}
	return 2
}

// Next decides what happens to contact c after its last attempt ended with
// r: one rule for every outcome, so caps and retries compose. earlier are
// the start times of all its attempts so far (r's included), for the daily
// cap and the rotation through the day; attempts that never reached the
// carrier are not among them. c's counters already count r.
func (d *Definition) Next(c Contact, r Result, earlier []time.Time, now time.Time) Decision {
	switch r.Outcome {
	case "completed":
		return Decision{Done: true, Outcome: "completed"}
	case "opted_out":
		return Decision{Done: true, Outcome: "opted_out"}
	case "suppressed":
		return Decision{Done: true, Outcome: "suppressed"}
	}
	if r.Permanent {
		if c.Channel == "voice" && d.Channel == ChannelVoiceThenSMS && c.SMSAttempts == 0 {
			// The number cannot take calls; a text may still reach it.
			return d.schedule(c, "sms", now, nil, now, false)
		}
		return Decision{Done: true, Outcome: "failed"}
	}
	var wait time.Duration
	uncount := false
	switch r.Outcome {
	case "not_placed":
		wait, uncount = time.Minute, true
	case "busy":
		wait = time.Duration(d.Attempts.Spacing.Busy)
	case "machine":
		wait = time.Duration(d.Attempts.Spacing.Machine)
	case "failed", "canceled", "undelivered":
		wait = time.Duration(d.Attempts.Spacing.Failed)
	case "partial", "hung_up":
		wait = time.Duration(d.Attempts.Spacing.Partial)
	default: // no_answer, no_response
		wait = time.Duration(d.Attempts.Spacing.NoAnswer)
	}
	attempts := c.Attempts
	if uncount {
		attempts--
	}
	channel := c.Channel
	if attempts >= d.Attempts.Max {
		// The voice attempts are spent: fall back to one SMS survey if the
		// policy says so and none was sent.
		if channel == "voice" && d.Channel == ChannelVoiceThenSMS && c.SMSAttempts == 0 {
			channel = "sms"
		} else {
			return Decision{Done: true, Outcome: "exhausted"}
		}
	}
	// The carrier never had it, or someone is on the line now: retry as
	// soon as the spacing and the window allow, without rotating.
	rotate := d.Attempts.Rotate && !uncount && r.Outcome != "busy"
	dec := d.schedule(c, channel, r.At.Add(wait), earlier, now, rotate)
	dec.Uncount = uncount
	return dec
}

// schedule finds the first allowed time at or after from for the next
// attempt on channel: inside the window in every zone of the contact,
// under the daily cap, and (with rotation) in a part of the day not yet
// tried; a contact whose next time falls past its expiry is done.
func (d *Definition) schedule(c Contact, channel string, from time.Time, earlier []time.Time, now time.Time, rotate bool) Decision {
	if from.Before(now) {
		from = now
	}
	locs := Locations(c.Zones)
	w := d.WindowFor(c.Lang)
	if len(locs) == 0 {
		return Decision{Done: true, Outcome: "failed"}
	}
	local := locs[0]
	t := from
	for range 64 { // each turn moves t forward; the horizon bounds it anyway
		next, ok := w.NextOpen(t, locs...)
		if !ok || !next.Before(c.ExpiresAt) {
			return Decision{Done: true, Outcome: "expired"}
		}
		t = next
		lt := t.In(local)
		day := lt.Format(time.DateOnly)
		sameDay, usedParts := 0, [3]bool{}
		for _, e := range earlier {
			el := e.In(local)
			if el.Format(time.DateOnly) == day {
				sameDay++
			}
			usedParts[partOfDay(el)] = true
		}
		if d.Attempts.PerDay > 0 && sameDay >= d.Attempts.PerDay {
			t = startOfNextDay(lt)
			continue
		}
		if rotate && len(earlier) > 0 && usedParts[partOfDay(lt)] && !(usedParts[0] && usedParts[1] && usedParts[2]) {
			// Move to the next part of the day not yet tried.
			t = nextPart(lt)
			continue
		}
		return Decision{NextAt: t, Channel: channel}
	}
	return Decision{Done: true, Outcome: "expired"}
}

func startOfNextDay(lt time.Time) time.Time {
	y, m, d := lt.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, lt.Location())
}

// nextPart returns the start of the part of the day after lt's.
func nextPart(lt time.Time) time.Time {
	y, m, d := lt.Date()
	switch partOfDay(lt) {
	case 0:
		return time.Date(y, m, d, 12, 0, 0, 0, lt.Location())
	case 1:
		return time.Date(y, m, d, 17, 0, 0, 0, lt.Location())
	}
	return startOfNextDay(lt)
}
