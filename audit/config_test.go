package audit

import (
	"strings"
	"testing"
	"time"
)

func TestLoadConfigOverridesDefaults(t *testing.T) {
	src := `# thresholds for the pilot
sla:
  critical: 2h
  low: 3d
lease: 45m
signoff_above:
  CNY: 1500
  USD: 250.50
v6_days: 3
v12_factor: 1.8
min_jobs: 50
stats_schedule: "*/10 * * * *"
`
	c, err := LoadConfig("audit.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	if time.Duration(c.SLA.Critical) != 2*time.Hour || time.Duration(c.SLA.Low) != 72*time.Hour ||
		c.SLA.High != want.SLA.High || time.Duration(c.Lease) != 45*time.Minute {
		t.Errorf("durations: %+v lease %v", c.SLA, c.Lease)
	}
	if len(c.SignoffAbove) != 2 || c.SignoffAbove["CNY"] != 150000 || c.SignoffAbove["USD"] != 25050 {
		t.Errorf("signoff_above = %v", c.SignoffAbove)
	}
	if c.V6Days != 3 || c.V12Factor != 1.8 || c.MinJobs != 50 || c.StatsSchedule != "*/10 * * * *" {
		t.Errorf("got v6 %d v12 %g min %d sched %q", c.V6Days, c.V12Factor, c.MinJobs, c.StatsSchedule)
	}
	if c.V7Days != want.V7Days || c.Confidence != want.Confidence {
		t.Errorf("untouched settings changed: v7 %d confidence %g", c.V7Days, c.Confidence)
	}
	if empty, err := LoadConfig("empty.yaml", nil); err != nil || empty.Summary() != want.Summary() {
		t.Errorf("an empty file must give the defaults: %v", err)
	}
}

func TestLoadConfigNamesEveryMistake(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"unknown", "v6_dayz: 3\n", "audit.yaml:1:1: v6_dayz: unknown setting"},
		{"bad int", "min_jobs: many\n", `audit.yaml:1:11: min_jobs: a whole number from 1 to 1000000, not "many"`},
		{"int range", "v6_days: -1\n", `audit.yaml:1:10: v6_days: a whole number from 0 to 365, not "-1"`},
		{"bad float", "v12_factor: 0.5\n", `audit.yaml:1:13: v12_factor: a number from 1 to 100, not "0.5"`},
		{"nan", "p2_sigma: .nan\n", `audit.yaml:1:11: p2_sigma: a number from 1 to 10`},
		{"bad duration", "sla:\n  high: soon\n", `audit.yaml:2:9: sla.high: a duration such as "30m", "4h" or "7d", not "soon"`},
		{"short lease", "lease: 10s\n", "audit.yaml:1:8: lease: must be at least 1m"},
		{"bad currency", "signoff_above:\n  yuan: 100\n", `audit.yaml:2:3: signoff_above: "yuan" is not an ISO 4217 currency code`},
		{"bad amount", "signoff_above:\n  CNY: -5\n", `audit.yaml:2:8: signoff_above.CNY: an amount such as 2000, not "-5"`},
		{"three decimals", "v4_tolerance: 1.005\n", `audit.yaml:1:15: v4_tolerance: an amount such as 300 or 2000.50, not "1.005"`},
		{"bad cron", "stats_schedule: every hour\n", `audit.yaml:1:17: stats_schedule: a cron expression`},
		{"twice", "v6_days: 2\nv6_days: 3\n", "audit.yaml:2:1: v6_days: set twice"},
		{"not a mapping", "- 1\n- 2\n", "audit.yaml:1:1: settings: must be a mapping"},
		{"yaml syntax", "v6_days: [1,\n", "audit.yaml:"},
		{"list for number", "min_jobs: [1]\n", `audit.yaml:1:11: min_jobs: a whole number`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadConfig("audit.yaml", []byte(tc.src))
			if err == nil {
				t.Fatalf("no error for %q", tc.src)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error\n  %v\nwant it to contain\n  %s", err, tc.want)
			}
		})
	}
}

func TestLoadConfigReportsEveryProblemInFileOrder(t *testing.T) {
	_, err := LoadConfig("a.yaml", []byte("v7_days: 0\nmin_jobs: x\nlease: y\n"))
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "a.yaml:1:") || !strings.HasPrefix(lines[1], "a.yaml:2:") || !strings.HasPrefix(lines[2], "a.yaml:3:") {
		t.Errorf("want three errors in line order, got:\n%v", err)
	}
}

func TestParseAmount(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "300": 30000, "2000.5": 200050, "2000.50": 200050, "0.01": 1} {
		if got, err := parseAmount(in); err != nil || got != want {
			t.Errorf("parseAmount(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "+1", "1.234", "a", ".5", "1e3", "99999999999999999999"} {
		if _, err := parseAmount(in); err == nil {
			t.Errorf("parseAmount(%q) accepted", in)
		}
	}
}

func FuzzLoadConfig(f *testing.F) {
	f.Add([]byte("sla:\n  critical: 2h\nsignoff_above:\n  CNY: 10\nv6_days: 3\n"))
	f.Add([]byte("- a\n"))
	f.Add([]byte("sla: 3\n"))
	f.Add([]byte("signoff_above: [1]\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		c, err := LoadConfig("f.yaml", src)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml:") {
				t.Fatalf("error without its place: %v", err)
			}
			return
		}
		if c.V12Factor < 1 || c.Confidence < 0.5 || c.MinJobs < 1 {
			t.Fatalf("accepted out-of-range settings: %+v", c)
		}
	})
}
