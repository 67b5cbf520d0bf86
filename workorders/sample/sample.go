// Package sample generates realistic completed installs and repairs with
// planted bad claims and the ground truth behind each one, for `huifang demo`,
// tests and benchmarks.
//
// Every job carries a Truth — what really happened and how the simulated
// customer behaves on the phone or by SMS — and the list of claim checks
// (DOMAIN.md (1)) whose mismatch is planted in it. The Twilio simulator plays
// the customer from the Truth; the demo and tests compare Huifang's flags with
// Planted to measure what it catches and what it wrongly flags.
//
// What is planted: BadShare (default 15%) of jobs carry one answer-based
// mismatch — no visit (V1), part not replaced (V2), other part (V3), customer
// charged on an in-warranty job (V4), not fixed (V5) — with the persona and
// truth to match; phantom parts concentrate at the over-replacing provider
// P-OVR, whose repairs also claim more and dearer parts (P1). Independently,
// a quarter of customers are hard to reach (never answer, busy, voicemail,
// hang up mid-survey, press wrong keys, opt out). Data-based plants are rare,
// about 0.4–1% of jobs each: a unit claimed again within days (V7, with V15),
// service after the warranty ended or an install before delivery (V9), a part
// not on the model's BOM or above its quantity (V11), labour over 1.5× the
// standard (V12), a customer phone that is the technician's or shared by three
// customers (V13).
//
// Generation is deterministic for a Config and streams: Generate hands one job
// at a time to a callback and keeps only a small window of recent units, so a
// million jobs cost memory for one.
package sample

import (
	"slices"
	"time"
	_ "time/tzdata" // the sample zones must load, and load alike, on every machine

	"github.com/huifang/huifang/workorders"
)

// Config says how many jobs to generate and how.
type Config struct {
	// Seed selects the sample: the same Config always yields the same jobs.
	Seed int64
	// Jobs is how many jobs to generate, at most MaxJobs.
	Jobs int
	// Now anchors the dates: jobs complete within the 14 days before Now, a
	// few within its last six hours. Required.
	Now time.Time
	// BadShare is the share of jobs with a planted answer-based mismatch (V1–V5).
	// Zero means the default, 0.15; a negative value plants none.
	BadShare float64
	// Mix is the share of jobs per country ("CN", "US"); nil means
	// {"CN": 0.7, "US": 0.3}. Shares are relative and need not sum to 1.
	Mix map[string]float64
	// SourcePrefix starts every external id (job "S00000001", customer
	// "SC00000001"); "" means "S".
	SourcePrefix string
}

// MaxJobs bounds Config.Jobs: serial numbers and phone numbers stay unique up
// to here.
const MaxJobs = 50_000_000

// DefaultBadShare is the share of jobs with a planted answer-based mismatch
// when Config.BadShare is zero.
const DefaultBadShare = 0.15

// Job is one generated job: the claim as it reaches intake, the customer's
// persona, the planted mismatches and the ground truth.
type Job struct {
	Order workorders.Order
	// Persona names the customer's story: the answer-based mismatch planted in
	// the job (no_visit, part_not_replaced, other_part, charged_fee,
	// not_fixed) when there is one, otherwise the way the customer fails to
	// complete a survey (never_answers … opts_out), otherwise honest. A
	// planted job can also be hard to reach: Truth.Reach always says how the
	// customer behaves.
	Persona string
	// Planted lists, in rule order, every check whose mismatch is really
	// present in the job: the answer-based ones (V1–V5) follow from Truth
	// (a visit that never happened also replaced no claimed part and fixed
	// nothing, so V1 comes with V5 and, when parts are claimed, V2), the
	// data-based ones (V7, V9, V11, V12, V13, and V15 beside every V7 because a
	// duplicate is also a revisit within 30 days) from the Order. Empty means an
	// honest claim: a check that fires on it is a false positive.
	Planted []string
	Truth   Truth
}

// Truth is what really happened and how the simulated customer behaves on the
// phone and by SMS.
//
// For a V13 job the Truth is what the person on that phone says: an
// accomplice of the provider who confirms the claim, so only the data shows
// the fraud.
type Truth struct {
	Visited   bool
	Installed bool // install jobs: the unit was installed
	// ReplacedParts are the codes of the parts really replaced (for an install,
	// the install kit really fitted). A claim is honest about parts when every
	// claimed code is here.
	ReplacedParts []string
	// ActualPartCode is, for V3, the part really replaced instead of the
	// claimed ones.
	ActualPartCode string
	// PaidAmount is what the customer really paid the technician, in the
	// order's currency; more than Order.CustomerPaid only where V4 is planted.
	PaidAmount workorders.Money
	// Fixed says the problem is gone; Working that the unit works properly.
	// The two are equal: a repair that fixed nothing leaves the unit not
	// working, an install that does not work fixed nothing.
	Fixed   bool
	Working bool
	CSAT    int // 1..5
	NPS     int // 0..10
	// Reach is how the customer responds to a call or text: one of the Reach*
	// constants.
	Reach string
	// HangUpAfter is, for ReachHangsUp, the question number (1-based) after
	// whose answer the customer hangs up.
	HangUpAfter int
	Lang        string // "zh-CN" or "en"
	PreferSMS   bool
}

// Personas.
const (
	PersonaHonest          = "honest"
	PersonaNoVisit         = "no_visit"          // V1
	PersonaPartNotReplaced = "part_not_replaced" // V2
	PersonaOtherPart       = "other_part"        // V3
	PersonaCharged         = "charged_fee"       // V4
	PersonaNotFixed        = "not_fixed"         // V5
	PersonaNeverAnswers    = "never_answers"
	PersonaBusy            = "busy"
	PersonaVoicemail       = "voicemail"
	PersonaHangsUp         = "hangs_up"
	PersonaWrongKeys       = "wrong_keys"
	PersonaOptsOut         = "opts_out"
)

// Reach behaviours (Truth.Reach).
const (
	ReachAnswers      = "answers"
	ReachNeverAnswers = "never_answers" // rings out, never picks up, never replies
	ReachBusy         = "busy"
	ReachVoicemail    = "voicemail" // a machine answers
	ReachHangsUp      = "hangs_up"  // hangs up after HangUpAfter questions
	ReachWrongKeys    = "wrong_keys"
	ReachOptsOut      = "opts_out" // presses 9 or replies STOP / 退订
)

// Generate produces cfg.Jobs jobs and passes each to emit, in order of their
// external ids. It stops at, and returns, the first error emit returns.
//
// The *Job passed to emit, and every slice in it (Order.Parts, Planted,
// Truth.ReplacedParts), is reused for the next job: emit must copy what it
// keeps (Job.Clone does). Strings are never reused and may be kept.
func Generate(cfg Config, emit func(*Job) error) error {
	g, err := newGenerator(cfg)
	if err != nil {
		return err
	}
	var job Job
	for i := 0; i < g.jobs; i++ {
		g.next(i, &job)
		if err := emit(&job); err != nil {
			return err
		}
	}
	return nil
}

// Jobs generates cfg.Jobs jobs into a slice: for small samples in tests and
// demos. Large runs should stream with Generate.
func Jobs(cfg Config) ([]Job, error) {
	out := make([]Job, 0, min(max(cfg.Jobs, 0), 1<<16))
	err := Generate(cfg, func(j *Job) error {
		out = append(out, *j.Clone())
		return nil
	})
	return out, err
}

// Clone returns a deep copy of j that Generate will not overwrite.
func (j *Job) Clone() *Job {
	c := *j
	c.Order.Parts = slices.Clone(j.Order.Parts)
	c.Planted = slices.Clone(j.Planted)
	c.Truth.ReplacedParts = slices.Clone(j.Truth.ReplacedParts)
	return &c
}

// HasPlanted reports whether rule (e.g. "V2") is planted in j.
func (j *Job) HasPlanted(rule string) bool { return slices.Contains(j.Planted, rule) }
