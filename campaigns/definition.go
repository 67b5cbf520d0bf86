package campaigns

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Definition is one version of a campaign: which jobs, which survey, which
// channel, when and how fast. It is written in YAML (ParseDefinition) or
// sent as JSON to the API, and stored in its canonical JSON form. Every
// number has the default of DOMAIN.md; a user may change any of them, but
// not past the hard limits (the 08:00–21:00 calling window, at most one
// attempt in flight per contact).
type Definition struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`

	// Survey names a published survey ("repair-parts-verification"); the
	// version is the latest when the campaign is first activated, unless
	// SurveyVersion pins one.
	Survey        string `json:"survey"`
	SurveyVersion int    `json:"survey_version,omitempty"`

	Targeting Targeting `json:"targeting"`
	Sampling  Sampling  `json:"sampling"`

	// Channel is the channel policy: "voice", "sms", or "voice_then_sms"
	// (calls first; when they are exhausted without an answer, one SMS
	// survey).
	Channel ChannelPolicy `json:"channel"`

	// Schedule is the cron expression (robfig/cron, five fields, or a
	// descriptor such as "@hourly") on which eligible jobs are enrolled.
	Schedule string `json:"schedule"`
	// TimeZone is the zone the schedule is read in (default UTC). Calling
	// windows are always read in each recipient's own zone.
	TimeZone string `json:"time_zone,omitempty"`

	// Trigger bounds the first contact relative to the job's completion.
	Trigger Trigger `json:"trigger"`

	// Window is when recipients may be contacted, in their own zone. Nil
	// means the default for their country (DefaultChina, DefaultUS).
	Window *CallingWindow `json:"window,omitempty"`

	Attempts AttemptPolicy `json:"attempts"`

	// FrequencyCap is the least time between two surveys of one customer
	// (one number), across every campaign (default 30 days).
	FrequencyCap Duration `json:"frequency_cap"`

	// From lists the numbers to call and text from (E.164), used in turn.
	From []string `json:"from"`

	// Pace is attempts started per second across every instance; MaxConcurrent
	// caps the calls in progress at once.
	Pace          float64 `json:"pace"`
	MaxConcurrent int     `json:"max_concurrent"`
}

// ChannelPolicy says how contacts are reached.
type ChannelPolicy string

// The channel policies.
const (
	ChannelVoice        ChannelPolicy = "voice"
	ChannelSMS          ChannelPolicy = "sms"
	ChannelVoiceThenSMS ChannelPolicy = "voice_then_sms"
)

// Targeting selects the jobs a campaign is about. Empty lists match
// everything.
type Targeting struct {
	Kinds             []string `json:"kinds,omitempty"`              // install, repair
	ProductCategories []string `json:"product_categories,omitempty"` // water_heater, range_hood, …
	Regions           []string `json:"regions,omitempty"`            // customers' regions: CN-GD, US-CA, or a country: CN
	Providers         []string `json:"providers,omitempty"`          // providers' codes
	// CompletedWithinDays enrols only jobs completed in the last N days
	// (default 5: DOMAIN.md's "no first contact more than 5 days after").
	CompletedWithinDays int `json:"completed_within_days"`
	// MinClaimValue enrols only claims of at least this value (labour plus
	// parts), in the job's currency; 0 means any.
	MinClaimValue float64 `json:"min_claim_value,omitempty"`
	// OnlyWithParts enrols only jobs with claimed parts.
	OnlyWithParts bool `json:"only_with_parts,omitempty"`
}

// Sampling decides which eligible jobs are contacted. The draw is a hash
// of (campaign, job), so enrolling again gives the same answer.
type Sampling struct {
	// Rate is the share of ordinary jobs contacted, 0..1 (default 1).
	Rate float64 `json:"rate"`
	// AlwaysAbove contacts every claim of at least this value; 0 means off.
	AlwaysAbove float64 `json:"always_above,omitempty"`
	// RiskyProviders is the least share of the jobs of a provider the audit
	// marks risky (provider_risk.risky) that is contacted, 0..1 (default 1:
	// all of them); a Rate above it wins. A job's own risk score
	// (job_risk.score, 0..1, which the audit writes for jobs with flags)
	// then raises its chance p to p + (1 − p) × score, so a job with risk 1
	// is always contacted. Providers and jobs without a risk row count as 0.
	RiskyProviders float64 `json:"risky_providers"`
}

// Trigger bounds the first contact: not before After from the job's
// completion (DOMAIN.md: 2 h), not after Within (5 days).
type Trigger struct {
	After  Duration `json:"after"`
	Within Duration `json:"within"`
}

// AttemptPolicy is how often and how far apart a contact is tried.
type AttemptPolicy struct {
	// Max is the most attempts per contact across channels (default 3);
	// 1 means exactly one.
	Max int `json:"max"`
	// PerDay is the most attempts per contact per local day (default 2).
	PerDay int `json:"per_day"`
	// Spacing is the wait before the next attempt, by the last outcome.
	Spacing Spacing `json:"spacing"`
	// Rotate moves each retry to another part of the day (morning,
	// afternoon, evening) than the attempts before it.
	Rotate bool `json:"rotate"`
	// Voicemail leaves one voicemail (brand and callback number) when a
	// machine answers; otherwise the call hangs up.
	Voicemail bool `json:"voicemail"`
	// Ring is how long a call rings before it counts as no answer
	// (default 25 s, at least 15 s).
	Ring Duration `json:"ring"`
	// Record records calls (the survey's intro announces it).
	Record bool `json:"record,omitempty"`
}

// Spacing is the wait before a retry, by the outcome of the attempt before.
type Spacing struct {
	NoAnswer Duration `json:"no_answer"` // default 3 h
	Busy     Duration `json:"busy"`      // default 30 min
	Machine  Duration `json:"machine"`   // default 3 h
	Failed   Duration `json:"failed"`    // default 1 h
	Partial  Duration `json:"partial"`   // hung up mid-survey; default 3 h
}

// Duration is a time.Duration written as "30m", "3h", "30d" in YAML and
// JSON.
type Duration time.Duration

// String writes d the way definition files do: whole days as "5d",
// anything else as Go writes it without trailing zero units ("2h30m",
// "30m", "45s"). ParseDuration reads every string it writes back to the
// same value.
func (d Duration) String() string {
	const day = Duration(24 * time.Hour)
	if d != 0 && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") { // "30m0s", "2h0m0s"
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") { // "2h0m"
		s = s[:len(s)-2]
	}
	return s
}

// MarshalJSON writes the duration as a string such as "3h" or "30d".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a string such as "30m", "3h", "2h30m" or "5d".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"30m\", \"3h\" or \"5d\", not %s", b)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

var errDurationSyntax = errors.New("write a number and a unit, e.g. 30m, 3h, 2h30m or 5d")

// ParseDuration reads a duration as Go writes one ("90s", "30m", "2h30m")
// with days allowed in front ("5d", "1d12h"), since campaign periods are
// counted in days. A bare number other than 0 has no unit and is an error.
func ParseDuration(s string) (Duration, error) {
	rest := strings.TrimSpace(s)
	neg := strings.HasPrefix(rest, "-")
	if neg || strings.HasPrefix(rest, "+") {
		rest = rest[1:]
	}
	bad := fmt.Errorf("%q is not a duration: %w", s, errDurationSyntax)
	var days int64
	hasDays := false
	if i := strings.IndexByte(rest, 'd'); i >= 0 {
		if i == 0 || rest[0] < '0' || rest[0] > '9' {
			return 0, bad
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, bad
		}
		if err != nil || n > math.MaxInt64/int64(24*time.Hour) {
			return 0, fmt.Errorf("%q is too long", s)
		}
		days, rest, hasDays = n, rest[i+1:], true
	}
	var part time.Duration
	if rest != "" || !hasDays {
		if rest == "" || rest[0] == '+' || rest[0] == '-' {
			return 0, bad
		}
		var err error
		if part, err = time.ParseDuration(rest); err != nil {
			return 0, bad
		}
	}
	total := days * int64(24*time.Hour)
	if int64(part) > math.MaxInt64-total {
		return 0, fmt.Errorf("%q is too long", s)
	}
	total += int64(part)
	if neg {
		total = -total
	}
	return Duration(total), nil
}
