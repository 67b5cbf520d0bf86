package audit

import (
	"fmt"
	"slices"
	"time"
)

// Severity says what a finding calls for (DOMAIN.md (1)): critical holds the
// payment and opens an audit, high is an audit, medium feeds the provider's
// score and sampling, low is a risk factor only.
type Severity string

// The severities, most urgent first.
const (
	Critical Severity = "critical"
	High     Severity = "high"
	Medium   Severity = "medium"
	Low      Severity = "low"
)

// Priority orders the review queue: 1 for critical … 4 for low.
func (s Severity) Priority() int {
	switch s {
	case Critical:
		return 1
	case High:
		return 2
	case Medium:
		return 3
	}
	return 4
}

// Valid reports whether s is one of the four severities.
func (s Severity) Valid() bool {
	return s == Critical || s == High || s == Medium || s == Low
}

// Source says which kind of check raises a rule.
type Source string

// The sources of findings.
const (
	FromAnswers    Source = "answers"    // a survey's answers against the claim
	FromIntake     Source = "intake"     // the claim's data against history and the parts lists
	FromStatistics Source = "statistics" // a provider against its peers
)

// Rule is one named check.
type Rule struct {
	Code     string // V1 … V16, P1 … P4
	Name     string
	Severity Severity
	Source   Source
	// Provider says the rule judges a provider, not one job.
	Provider bool
}

// Rules is every check Huifang runs, in rule order. V8 (serial not shipped
// or sold) and V14 (old part not returned) need a serial master and a returns
// lab feed, which no intake source provides yet; they are not listed.
var Rules = []Rule{
	{"V1", "visit or install denied", Critical, FromAnswers, false},
	{"V2", "claimed part not replaced", Critical, FromAnswers, false},
	{"V3", "a different part replaced", High, FromAnswers, false},
	{"V4", "customer charged", High, FromAnswers, false},
	{"V5", "problem not fixed", Medium, FromAnswers, false},
	{"V6", "visit date differs", Medium, FromAnswers, false},
	{"V7", "duplicate claim for the unit", High, FromIntake, false},
	{"V9", "outside warranty or installed before delivery", High, FromIntake, false},
	{"V10", "last days of warranty", Low, FromIntake, false},
	{"V11", "part not on the parts list or over its quantity", High, FromIntake, false},
	{"V12", "labour over standard time", Medium, FromIntake, false},
	{"V13", "customer phone shared or the provider's own", Critical, FromIntake, false},
	{"V15", "comeback within 30 days", Medium, FromIntake, false},
	// V16 is low for one job; the provider statistics raise it as high for a
	// provider whose unreachable rate is over twice the median.
	{"V16", "customer unreachable or number invalid", Low, FromAnswers, false},
	{"P1", "over-replacement of parts", High, FromStatistics, true},
	{"P2", "cost per claim out of control", Medium, FromStatistics, true},
	{"P3", "confirmed findings or denials above peers", Critical, FromStatistics, true},
	{"P4", "repeat or customer-paid rate above peers", Medium, FromStatistics, true},
}

// RuleByCode returns the rule with the code, or false.
func RuleByCode(code string) (Rule, bool) {
	i := slices.IndexFunc(Rules, func(r Rule) bool { return r.Code == code })
	if i < 0 {
		return Rule{}, false
	}
	return Rules[i], true
}

// mustRule is RuleByCode for codes written in this package.
func mustRule(code string) Rule {
	r, ok := RuleByCode(code)
	if !ok {
		panic(fmt.Sprintf("audit: unknown rule %q", code))
	}
	return r
}

// Due is when a flag of severity s raised at t must be decided, by the
// configured service levels.
func (c *Config) Due(s Severity, t time.Time) time.Time {
	switch s {
	case Critical:
		return t.Add(time.Duration(c.SLA.Critical))
	case High:
		return t.Add(time.Duration(c.SLA.High))
	case Medium:
		return t.Add(time.Duration(c.SLA.Medium))
	}
	return t.Add(time.Duration(c.SLA.Low))
}
