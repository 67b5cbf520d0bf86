package campaigns

import (
	"testing"
	"time"
)

func policyDef(channel ChannelPolicy) *Definition {
	return &Definition{
		Name: "t", Channel: channel,
		Attempts: AttemptPolicy{
			Max: 3, PerDay: 2, Rotate: true,
			Spacing: Spacing{
				NoAnswer: Duration(3 * time.Hour), Busy: Duration(30 * time.Minute), Machine: Duration(3 * time.Hour),
				Failed: Duration(time.Hour), Partial: Duration(3 * time.Hour),
			},
		},
	}
}

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// The next attempt after each outcome, for a Shanghai customer on the
// China default window (09:00–12:00, 14:00–20:00), with a clock the test
// sets. Spacing follows the outcome; the break, the end of the day, the
// daily cap and the rotation through the day move the time on; the limit
// on attempts ends the contact, or falls back to SMS.
func TestNextAttemptByOutcome(t *testing.T) {
	t.Parallel()
	sh := mustLoad(t, "Asia/Shanghai")
	at := func(day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, sh) }
	base := Contact{Zones: []string{"Asia/Shanghai"}, Lang: "zh-CN", Channel: "voice", ExpiresAt: at(28, 0, 0)}
	with := func(attempts int, ch string) Contact {
		c := base
		c.Attempts, c.Channel = attempts, ch
		if ch == "voice" {
			c.VoiceAttempts = attempts
		} else {
			c.SMSAttempts = 1
		}
		return c
	}
	cases := []struct {
		name    string
		def     *Definition
		c       Contact
		r       Result
		earlier []time.Time
		now     time.Time
		want    Decision
	}{
		{"completed ends it", policyDef(ChannelVoice), with(1, "voice"), Result{Outcome: "completed", At: at(25, 9, 0)},
			nil, at(25, 9, 3), Decision{Done: true, Outcome: "completed"}},
		{"opted out ends it", policyDef(ChannelVoice), with(1, "voice"), Result{Outcome: "opted_out", At: at(25, 9, 0)},
			nil, at(25, 9, 1), Decision{Done: true, Outcome: "opted_out"}},
		{"no answer at 10:00: 3 h later is 13:00, in the break, so 14:00 (also the afternoon, a new part of the day)",
			policyDef(ChannelVoice), with(1, "voice"), Result{Outcome: "no_answer", At: at(25, 10, 0)},
			[]time.Time{at(25, 10, 0)}, at(25, 10, 1), Decision{NextAt: at(25, 14, 0), Channel: "voice"}},
		{"machine at 15:00: 18:00 is the evening, allowed", policyDef(ChannelVoice), with(1, "voice"),
			Result{Outcome: "machine", At: at(25, 15, 0)}, []time.Time{at(25, 15, 0)}, at(25, 15, 1),
			Decision{NextAt: at(25, 18, 0), Channel: "voice"}},
		{"rotation: no answer in the morning, spacing 10 min: the morning is tried, so the afternoon",
			func() *Definition {
				d := policyDef(ChannelVoice)
				d.Attempts.Spacing.NoAnswer = Duration(10 * time.Minute)
				return d
			}(),
			with(1, "voice"), Result{Outcome: "no_answer", At: at(25, 9, 0)}, []time.Time{at(25, 9, 0)}, at(25, 9, 1),
			Decision{NextAt: at(25, 14, 0), Channel: "voice"}},
		{"busy is not rotated: someone is there now", policyDef(ChannelVoice), with(1, "voice"),
			Result{Outcome: "busy", At: at(25, 9, 0)}, []time.Time{at(25, 9, 0)}, at(25, 9, 1),
			Decision{NextAt: at(25, 9, 30), Channel: "voice"}},
		{"daily cap: two attempts today, the next is tomorrow at the window's opening", policyDef(ChannelVoice), with(2, "voice"),
			Result{Outcome: "no_answer", At: at(25, 14, 0)}, []time.Time{at(25, 9, 0), at(25, 14, 0)}, at(25, 14, 1),
			Decision{NextAt: at(26, 17, 0), Channel: "voice"}},
		{"partial (hung up mid-survey) waits 3 h", policyDef(ChannelVoice), with(1, "voice"),
			Result{Outcome: "partial", At: at(25, 9, 0)}, []time.Time{at(25, 9, 0)}, at(25, 9, 5),
			Decision{NextAt: at(25, 14, 0), Channel: "voice"}},
		{"attempts spent: exhausted", policyDef(ChannelVoice), with(3, "voice"), Result{Outcome: "no_answer", At: at(26, 9, 0)},
			[]time.Time{at(25, 9, 0), at(25, 14, 0), at(26, 9, 0)}, at(26, 9, 1), Decision{Done: true, Outcome: "exhausted"}},
		{"max attempts 1 means one", func() *Definition { d := policyDef(ChannelVoice); d.Attempts.Max = 1; return d }(),
			with(1, "voice"), Result{Outcome: "busy", At: at(25, 9, 0)}, []time.Time{at(25, 9, 0)}, at(25, 9, 1),
			Decision{Done: true, Outcome: "exhausted"}},
		{"voice then SMS: calls spent, one SMS survey next", policyDef(ChannelVoiceThenSMS), with(3, "voice"),
			Result{Outcome: "no_answer", At: at(26, 9, 0)}, []time.Time{at(25, 9, 0), at(25, 14, 0), at(26, 9, 0)}, at(26, 9, 1),
			Decision{NextAt: at(26, 17, 0), Channel: "sms"}},
		{"voice then SMS: the SMS went unanswered, done", policyDef(ChannelVoiceThenSMS), with(4, "sms"),
			Result{Outcome: "no_response", Channel: "sms", At: at(26, 14, 0)},
			[]time.Time{at(25, 9, 0), at(25, 14, 0), at(26, 9, 0), at(26, 14, 0)}, at(27, 14, 1),
			Decision{Done: true, Outcome: "exhausted"}},
		{"a number that cannot take calls goes to SMS at once", policyDef(ChannelVoiceThenSMS), with(1, "voice"),
			Result{Outcome: "failed", At: at(25, 9, 0), Permanent: true}, []time.Time{at(25, 9, 0)}, at(25, 9, 1),
			Decision{NextAt: at(25, 9, 1), Channel: "sms"}},
		{"a permanent failure on voice only ends it", policyDef(ChannelVoice), with(1, "voice"),
			Result{Outcome: "failed", At: at(25, 9, 0), Permanent: true}, []time.Time{at(25, 9, 0)}, at(25, 9, 1),
			Decision{Done: true, Outcome: "failed"}},
		{"rate limited: a minute later, not counted", policyDef(ChannelVoice), with(3, "voice"),
			Result{Outcome: "not_placed", At: at(25, 9, 0)}, []time.Time{at(24, 9, 0), at(24, 14, 0)}, at(25, 9, 0),
			Decision{NextAt: at(25, 9, 1), Channel: "voice", Uncount: true}},
		{"past the contact's deadline: expired", policyDef(ChannelVoice),
			func() Contact { c := with(1, "voice"); c.ExpiresAt = at(25, 12, 0); return c }(),
			Result{Outcome: "no_answer", At: at(25, 10, 0)}, []time.Time{at(25, 10, 0)}, at(25, 10, 1),
			Decision{Done: true, Outcome: "expired"}},
	}
	for _, tc := range cases {
		got := tc.def.Next(tc.c, tc.r, tc.earlier, tc.now)
		if got.Done != tc.want.Done || got.Outcome != tc.want.Outcome || !got.NextAt.Equal(tc.want.NextAt) ||
			got.Channel != tc.want.Channel || got.Uncount != tc.want.Uncount {
			t.Errorf("%s:\n got %+v (next %s)\nwant %+v (next %s)", tc.name, got, got.NextAt.In(sh), tc.want, tc.want.NextAt.In(sh))
		}
	}
}

// Retries across time zones and on the day New York changes its clocks:
// the next attempt is read in the recipient's zone, and with two zones
// (address and number) only when both are open.
func TestNextAttemptAcrossZonesAndDST(t *testing.T) {
	t.Parallel()
	ny, la := mustLoad(t, "America/New_York"), mustLoad(t, "America/Los_Angeles")
	d := policyDef(ChannelVoice)
	d.Attempts.Rotate = false
	us := Contact{Zones: []string{"America/New_York"}, Lang: "en", Channel: "voice", Attempts: 1, VoiceAttempts: 1,
		ExpiresAt: time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)}

	// Saturday 7 March 2026, 18:30 EST: no answer; 3 h later is 21:30, past
	// the 20:00 close; Sunday is closed in the US default; so Monday 9
	// March 09:00 — which is EDT by then (13:00 UTC, not 14:00).
	got := d.Next(us, Result{Outcome: "no_answer", At: time.Date(2026, 3, 7, 18, 30, 0, 0, ny)},
		[]time.Time{time.Date(2026, 3, 7, 18, 30, 0, 0, ny)}, time.Date(2026, 3, 7, 18, 31, 0, 0, ny))
	if want := time.Date(2026, 3, 9, 13, 0, 0, 0, time.UTC); got.Done || !got.NextAt.Equal(want) {
		t.Errorf("over the DST weekend: got %+v (%s), want %s", got, got.NextAt.UTC(), want)
	}

	// Address in New York, number from Los Angeles: 09:00 in New York is
	// 06:00 in Los Angeles, closed; both open at 09:00 Los Angeles time.
	two := us
	two.Zones = []string{"America/New_York", "America/Los_Angeles"}
	got = d.Next(two, Result{Outcome: "busy", At: time.Date(2026, 3, 10, 8, 30, 0, 0, ny)},
		[]time.Time{time.Date(2026, 3, 10, 8, 30, 0, 0, ny)}, time.Date(2026, 3, 10, 8, 31, 0, 0, ny))
	if want := time.Date(2026, 3, 10, 9, 0, 0, 0, la); got.Done || !got.NextAt.Equal(want) {
		t.Errorf("two zones: got %+v (%s), want %s", got, got.NextAt.In(la), want)
	}
}

// A holiday in the campaign's window moves the retry past it.
func TestNextAttemptSkipsHoliday(t *testing.T) {
	t.Parallel()
	sh := mustLoad(t, "Asia/Shanghai")
	d := policyDef(ChannelVoice)
	d.Attempts.Rotate = false
	w := DefaultChina()
	w.Holidays = []Date{{2026, 10, 1}, {2026, 10, 2}}
	d.Window = w
	c := Contact{Zones: []string{"Asia/Shanghai"}, Lang: "zh-CN", Channel: "voice", Attempts: 1, VoiceAttempts: 1,
		ExpiresAt: time.Date(2026, 10, 9, 0, 0, 0, 0, sh)}
	at := time.Date(2026, 9, 30, 19, 0, 0, 0, sh)
	got := d.Next(c, Result{Outcome: "no_answer", At: at}, []time.Time{at}, at.Add(time.Minute))
	if want := time.Date(2026, 10, 3, 9, 0, 0, 0, sh); got.Done || !got.NextAt.Equal(want) {
		t.Errorf("over the holiday: got %+v (%s), want %s", got, got.NextAt.In(sh), want)
	}
}
