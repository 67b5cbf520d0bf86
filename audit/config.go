package audit

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"

	"github.com/huifang/huifang/campaigns"
	"github.com/huifang/huifang/internal/srcerr"
)

// Config holds every threshold of the checks and the review workflow. The
// defaults are DOMAIN.md's; LoadConfig reads a YAML file that overrides any
// of them.
type Config struct {
	// SLA is how long a flag of each severity may wait for a decision.
	SLA struct {
		Critical, High, Medium, Low campaigns.Duration
	}
	// Lease is how long a claimed flag stays with its reviewer without a
	// decision or a renewal.
	Lease campaigns.Duration
	// SignoffAbove needs a second reviewer to sign off a confirmed finding on
	// a claim worth at least this much, per currency, in the minor unit
	// (fen, cents). A currency not listed needs no second sign-off.
	SignoffAbove map[string]int64

	V4Tolerance  int64   // V4: what a customer may report paying over the record, minor units
	V6Days       int     // V6: the visit date may differ by this many days
	V7Days       int     // V7: a unit claimed again within this many days is a duplicate
	V10Days      int     // V10: a claim in the warranty's last days
	V12Factor    float64 // V12: labour over this multiple of the standard time
	V13Customers int     // V13: a phone or address behind this many customers …
	V13Days      int     // … within this many days
	V15Days      int     // V15: a revisit to the same unit within this many days

	// Statistics.
	Confidence    float64 // of every interval: 0.95
	MinJobs       int     // a provider with fewer jobs in a metric is not judged on it
	StatsDays     int     // the statistics look back this many days
	P1Percentile  float64 // P1: above this percentile of the peers
	P1Factor      float64 // P1: and the interval's lower bound above this multiple of the peers' rate
	P2Sigma       float64 // P2: cost per claim outside this many standard errors …
	P2MinShift    float64 // … and at least this many standard deviations from the peers' mean
	P3Confirmed   int     // P3: this many confirmed V1–V4 findings …
	P3Days        int     // … within this many days
	P3Multiple    float64 // P3: or a denial rate above this multiple of the median
	P4Percentile  float64 // P4: repeat or customer-paid rate above this percentile of the peers
	V16Multiple   float64 // V16 per provider: unreachable rate above this multiple of the median
	RiskyAbove    float64 // a provider with risk at least this is risky for campaign sampling
	BulkMax       int     // the most flags one bulk decision may touch
	StatsSchedule string  // cron expression of the statistics run
}

// DefaultConfig returns DOMAIN.md's defaults.
func DefaultConfig() Config {
	var c Config
	c.SLA.Critical = campaigns.Duration(4 * time.Hour)
	c.SLA.High = campaigns.Duration(24 * time.Hour)
	c.SLA.Medium = campaigns.Duration(72 * time.Hour)
	c.SLA.Low = campaigns.Duration(7 * 24 * time.Hour)
	c.Lease = campaigns.Duration(30 * time.Minute)
	c.SignoffAbove = map[string]int64{"CNY": 200000, "USD": 30000}
	c.V4Tolerance = 0
	c.V6Days = 2
	c.V7Days = 90
	c.V10Days = 30
	c.V12Factor = 1.5
	c.V13Customers = 3
	c.V13Days = 90
	c.V15Days = 30
	c.Confidence = 0.95
	c.MinJobs = 30
	c.StatsDays = 90
	c.P1Percentile = 0.95
	c.P1Factor = 1.2
	c.P2Sigma = 3
	c.P2MinShift = 0.25
	c.P3Confirmed = 2
	c.P3Days = 90
	c.P3Multiple = 2
	c.P4Percentile = 0.90
	c.V16Multiple = 2
	c.RiskyAbove = 0.5
	c.BulkMax = 500
	c.StatsSchedule = "17 * * * *"
	return c
}

// field is one setting of the YAML file: its name, where it goes and how it
// is checked.
type field struct {
	name string
	set  func(n *yaml.Node) string // returns a problem, or ""
}

func (c *Config) fields() []field {
	dur := func(p *campaigns.Duration, min time.Duration) func(*yaml.Node) string {
		return func(n *yaml.Node) string {
			d, err := campaigns.ParseDuration(n.Value)
			if err != nil || n.Kind != yaml.ScalarNode {
				return fmt.Sprintf("a duration such as \"30m\", \"4h\" or \"7d\", not %q", n.Value)
			}
			if time.Duration(d) < min {
				return fmt.Sprintf("must be at least %s", campaigns.Duration(min))
			}
			*p = d
			return ""
		}
	}
	integer := func(p *int, lo, hi int) func(*yaml.Node) string {
		return func(n *yaml.Node) string {
			v, err := strconv.Atoi(n.Value)
			if err != nil || n.Kind != yaml.ScalarNode || v < lo || v > hi {
				return fmt.Sprintf("a whole number from %d to %d, not %q", lo, hi, n.Value)
			}
			*p = v
			return ""
		}
	}
	number := func(p *float64, lo, hi float64) func(*yaml.Node) string {
		return func(n *yaml.Node) string {
			v, err := strconv.ParseFloat(n.Value, 64)
			if err != nil || n.Kind != yaml.ScalarNode || math.IsNaN(v) || v < lo || v > hi {
				return fmt.Sprintf("a number from %g to %g, not %q", lo, hi, n.Value)
			}
			*p = v
			return ""
		}
	}
	amount := func(p *int64) func(*yaml.Node) string {
		return func(n *yaml.Node) string {
			m, err := parseAmount(n.Value)
			if err != nil || n.Kind != yaml.ScalarNode {
				return fmt.Sprintf("an amount such as 300 or 2000.50, not %q", n.Value)
			}
			*p = m
			return ""
		}
	}
	return []field{
		{"sla.critical", dur(&c.SLA.Critical, time.Minute)},
		{"sla.high", dur(&c.SLA.High, time.Minute)},
		{"sla.medium", dur(&c.SLA.Medium, time.Minute)},
		{"sla.low", dur(&c.SLA.Low, time.Minute)},
		{"lease", dur(&c.Lease, time.Minute)},
		{"v4_tolerance", amount(&c.V4Tolerance)},
		{"v6_days", integer(&c.V6Days, 0, 365)},
		{"v7_days", integer(&c.V7Days, 1, 3650)},
		{"v10_days", integer(&c.V10Days, 0, 365)},
		{"v12_factor", number(&c.V12Factor, 1, 100)},
		{"v13_customers", integer(&c.V13Customers, 2, 1000)},
		{"v13_days", integer(&c.V13Days, 1, 3650)},
		{"v15_days", integer(&c.V15Days, 1, 3650)},
		{"confidence", number(&c.Confidence, 0.5, 0.9999)},
		{"min_jobs", integer(&c.MinJobs, 1, 1_000_000)},
		{"stats_days", integer(&c.StatsDays, 1, 3650)},
		{"p1_percentile", number(&c.P1Percentile, 0.5, 1)},
		{"p1_factor", number(&c.P1Factor, 1, 100)},
		{"p2_sigma", number(&c.P2Sigma, 1, 10)},
		{"p2_min_shift", number(&c.P2MinShift, 0, 10)},
		{"p3_confirmed", integer(&c.P3Confirmed, 1, 1000)},
		{"p3_days", integer(&c.P3Days, 1, 3650)},
		{"p3_multiple", number(&c.P3Multiple, 1, 100)},
		{"p4_percentile", number(&c.P4Percentile, 0.5, 1)},
		{"v16_multiple", number(&c.V16Multiple, 1, 100)},
		{"risky_above", number(&c.RiskyAbove, 0, 1)},
		{"bulk_max", integer(&c.BulkMax, 1, 100_000)},
		{"stats_schedule", func(n *yaml.Node) string {
			if _, err := cron.ParseStandard(n.Value); err != nil || n.Kind != yaml.ScalarNode {
				return fmt.Sprintf("a cron expression such as \"17 * * * *\", not %q", n.Value)
			}
			c.StatsSchedule = n.Value
			return ""
		}},
	}
}

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

// LoadConfig reads a YAML file of settings over the defaults. Every problem
// is reported as file:line:col with the setting's name; unknown settings are
// errors, so a misspelt threshold never silently keeps its default.
func LoadConfig(file string, src []byte) (Config, error) {
	c := DefaultConfig()
	var errs srcerr.Errors
	bad := func(n *yaml.Node, name, msg string) {
		errs = append(errs, &srcerr.Error{File: file, Pos: srcerr.Pos{Line: n.Line, Col: n.Column}, Rule: "audit-config", Msg: name + ": " + msg})
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		line := 1
		if m := regexp.MustCompile(`line (\d+)`).FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		return c, srcerr.Errors{{File: file, Pos: srcerr.Pos{Line: line, Col: 1}, Rule: "yaml", Msg: strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	if len(doc.Content) == 0 {
		return c, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		bad(root, "settings", "must be a mapping of setting: value")
		return c, errs
	}
	byName := map[string]func(*yaml.Node) string{}
	var names []string
	for _, f := range c.fields() {
		byName[f.name] = f.set
		names = append(names, f.name)
	}
	seen := map[string]bool{}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			name := prefix + k.Value
			if seen[name] {
				bad(k, name, "set twice")
				continue
			}
			seen[name] = true
			switch {
			case name == "signoff_above":
				if v.Kind != yaml.MappingNode {
					bad(v, name, "must map a currency to an amount, such as CNY: 2000")
					continue
				}
				c.SignoffAbove = map[string]int64{}
				for j := 0; j+1 < len(v.Content); j += 2 {
					ck, cv := v.Content[j], v.Content[j+1]
					if !currencyRE.MatchString(ck.Value) {
						bad(ck, name, fmt.Sprintf("%q is not an ISO 4217 currency code such as CNY or USD", ck.Value))
						continue
					}
					m, err := parseAmount(cv.Value)
					if err != nil || cv.Kind != yaml.ScalarNode {
						bad(cv, name+"."+ck.Value, fmt.Sprintf("an amount such as 2000, not %q", cv.Value))
						continue
					}
					c.SignoffAbove[ck.Value] = m
				}
			case name == "sla" && v.Kind == yaml.MappingNode:
				walk(v, "sla.")
			default:
				set, ok := byName[name]
				if !ok {
					bad(k, name, "unknown setting; known: "+strings.Join(append(names, "signoff_above"), ", "))
					continue
				}
				if msg := set(v); msg != "" {
					bad(v, name, msg)
				}
			}
		}
	}
	walk(root, "")
	if len(errs) > 0 {
		errs.Sort()
		return c, errs
	}
	return c, nil
}

// parseAmount reads "300", "2000.5" or "2000.50" into minor units.
func parseAmount(s string) (int64, error) {
	whole, frac, _ := strings.Cut(strings.TrimSpace(s), ".")
	if whole == "" || len(frac) > 2 || strings.HasPrefix(whole, "-") || strings.HasPrefix(whole, "+") {
		return 0, fmt.Errorf("bad amount %q", s)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > math.MaxInt64/100-1 {
		return 0, fmt.Errorf("bad amount %q", s)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad amount %q", s)
	}
	return w*100 + f, nil
}

// Summary lists the settings in effect, one "name: value" per line, sorted,
// for `huifang audit config`.
func (c *Config) Summary() string {
	var lines []string
	add := func(k string, v any) { lines = append(lines, fmt.Sprintf("%s: %v", k, v)) }
	add("sla.critical", c.SLA.Critical)
	add("sla.high", c.SLA.High)
	add("sla.medium", c.SLA.Medium)
	add("sla.low", c.SLA.Low)
	add("lease", c.Lease)
	for cur, m := range c.SignoffAbove {
		add("signoff_above."+cur, fmt.Sprintf("%d.%02d", m/100, m%100))
	}
	add("v4_tolerance", fmt.Sprintf("%d.%02d", c.V4Tolerance/100, c.V4Tolerance%100))
	add("v6_days", c.V6Days)
	add("v7_days", c.V7Days)
	add("v10_days", c.V10Days)
	add("v12_factor", c.V12Factor)
	add("v13_customers", c.V13Customers)
	add("v13_days", c.V13Days)
	add("v15_days", c.V15Days)
	add("confidence", c.Confidence)
	add("min_jobs", c.MinJobs)
	add("stats_days", c.StatsDays)
	add("p1_percentile", c.P1Percentile)
	add("p1_factor", c.P1Factor)
	add("p2_sigma", c.P2Sigma)
	add("p2_min_shift", c.P2MinShift)
	add("p3_confirmed", c.P3Confirmed)
	add("p3_days", c.P3Days)
	add("p3_multiple", c.P3Multiple)
	add("p4_percentile", c.P4Percentile)
	add("v16_multiple", c.V16Multiple)
	add("risky_above", c.RiskyAbove)
	add("bulk_max", c.BulkMax)
	add("stats_schedule", c.StatsSchedule)
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}
