package campaigns_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/huifang/huifang/campaigns"
)

const hour = campaigns.Duration(time.Hour)

// minimal is the shortest valid definition: the four keys without a default.
const minimal = `name: c1
survey: s1
schedule: "@hourly"
from: ["+8613800138000"]
`

func parseFile(t *testing.T, name string) (*campaigns.Definition, []byte) {
	t.Helper()
	path := filepath.Join("testdata", "campaigns", name)
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := campaigns.ParseDefinition(path, src)
	if err != nil {
		t.Fatalf("%s does not parse:\n%v", name, err)
	}
	return d, src
}

// compareFields reports every field of got that differs from want, by name.
func compareFields(t *testing.T, got, want *campaigns.Definition) {
	t.Helper()
	var walk func(prefix string, g, w reflect.Value)
	walk = func(prefix string, g, w reflect.Value) {
		for i := range g.NumField() {
			name := prefix + g.Type().Field(i).Name
			gf, wf := g.Field(i), w.Field(i)
			if gf.Kind() == reflect.Struct {
				walk(name+".", gf, wf)
				continue
			}
			if !reflect.DeepEqual(gf.Interface(), wf.Interface()) {
				t.Errorf("%s = %#v, want %#v", name, gf.Interface(), wf.Interface())
			}
		}
	}
	walk("", reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem())
}

func ranges(rs ...[4]int) []campaigns.TimeRange {
	out := make([]campaigns.TimeRange, len(rs))
	for i, r := range rs {
		out[i] = campaigns.TimeRange{Start: campaigns.Clock(r[0], r[1]), End: campaigns.Clock(r[2], r[3])}
	}
	return out
}

func TestParseRepairVoiceThenSMS(t *testing.T) {
	t.Parallel()
	got, _ := parseFile(t, "repair-voice-then-sms.yaml")
	china := &campaigns.CallingWindow{Holidays: []campaigns.Date{{Year: 2026, Month: 10, Day: 1}, {Year: 2026, Month: 10, Day: 2}, {Year: 2026, Month: 10, Day: 3}}}
	for d := range china.Hours {
		china.Hours[d] = ranges([4]int{9, 0, 12, 0}, [4]int{14, 0, 20, 0})
	}
	want := &campaigns.Definition{
		Name:        "gd-repair-verify",
		Description: "广东维修回访 — verify visits and replaced parts on water-heater and range-hood repairs",
		Survey:      "repair-parts-verification",
		Targeting: campaigns.Targeting{
			Kinds:               []string{"repair"},
			ProductCategories:   []string{"water_heater", "range_hood"},
			Regions:             []string{"CN-GD", "CN-FJ"},
			CompletedWithinDays: 4,
			MinClaimValue:       150,
			OnlyWithParts:       true,
		},
		Sampling: campaigns.Sampling{Rate: 0.3, AlwaysAbove: 800, RiskyProviders: 1},
		Channel:  campaigns.ChannelVoiceThenSMS,
		Schedule: "*/30 8-20 * * *",
		TimeZone: "Asia/Shanghai",
		Trigger:  campaigns.Trigger{After: 2 * hour, Within: 96 * hour},
		Window:   china,
		Attempts: campaigns.AttemptPolicy{
			Max:    3,
			PerDay: 2,
			Spacing: campaigns.Spacing{
				NoAnswer: 3 * hour, Busy: hour / 2, Machine: 3 * hour, Failed: hour, Partial: 5 * hour / 2,
			},
			Rotate: true,
			Ring:   campaigns.Duration(30 * time.Second),
			Record: true,
		},
		FrequencyCap:  720 * hour,
		From:          []string{"+862038001234", "+862038001235"},
		Pace:          5,
		MaxConcurrent: 40,
	}
	compareFields(t, got, want)
	// The lunch break is closed and National Day is a holiday, in Shanghai.
	sh, _ := time.LoadLocation("Asia/Shanghai")
	for _, c := range []struct {
		at   string
		open bool
	}{
		{"2026-09-30T11:59:00+08:00", true}, {"2026-09-30T12:30:00+08:00", false},
		{"2026-09-30T14:00:00+08:00", true}, {"2026-10-02T10:00:00+08:00", false},
	} {
		at, _ := time.Parse(time.RFC3339, c.at)
		if open := got.Window.Open(at, sh); open != c.open {
			t.Errorf("window open at %s = %v, want %v", c.at, open, c.open)
		}
	}
}

func TestParseInstallSMS(t *testing.T) {
	t.Parallel()
	got, _ := parseFile(t, "install-sms.yaml")
	us := &campaigns.CallingWindow{Holidays: []campaigns.Date{{Year: 2026, Month: 11, Day: 26}, {Year: 2026, Month: 12, Day: 25}}}
	for d := time.Monday; d <= time.Friday; d++ {
		us.Hours[d] = ranges([4]int{9, 0, 20, 0})
	}
	us.Hours[time.Saturday] = ranges([4]int{10, 0, 18, 0})
	want := &campaigns.Definition{
		Name:          "us-install-sms",
		Survey:        "install-verification",
		SurveyVersion: 2,
		Targeting: campaigns.Targeting{
			Kinds:               []string{"install"},
			Regions:             []string{"US"},
			CompletedWithinDays: 5, // default
		},
		Sampling: campaigns.Sampling{Rate: 1, RiskyProviders: 1}, // defaults
		Channel:  campaigns.ChannelSMS,
		Schedule: "0 10,15 * * mon-sat",
		TimeZone: "America/New_York",
		Trigger:  campaigns.Trigger{After: 3 * hour, Within: 72 * hour},
		Window:   us,
		Attempts: campaigns.AttemptPolicy{
			Max:    2,
			PerDay: 1,
			// no_answer given, the rest by default.
			Spacing: campaigns.Spacing{NoAnswer: 24 * hour, Busy: hour / 2, Machine: 3 * hour, Failed: hour, Partial: 3 * hour},
			Rotate:  true,
			Ring:    campaigns.Duration(25 * time.Second),
		},
		FrequencyCap:  720 * hour,
		From:          []string{"+12025550143"},
		Pace:          2.5,
		MaxConcurrent: 20,
	}
	compareFields(t, got, want)
}

// Every default of DOMAIN.md §3, spelled out here rather than taken from
// DefaultDefinition, so changing a default breaks this test.
func TestParseFillsDefaults(t *testing.T) {
	t.Parallel()
	got, err := campaigns.ParseDefinition("c.yaml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	want := &campaigns.Definition{
		Name: "c1", Survey: "s1", Schedule: "@hourly", From: []string{"+8613800138000"},
		Targeting: campaigns.Targeting{CompletedWithinDays: 5},
		Sampling:  campaigns.Sampling{Rate: 1, RiskyProviders: 1},
		Channel:   campaigns.ChannelVoice,
		Trigger:   campaigns.Trigger{After: 2 * hour, Within: 120 * hour},
		Attempts: campaigns.AttemptPolicy{
			Max: 3, PerDay: 2,
			Spacing: campaigns.Spacing{NoAnswer: 3 * hour, Busy: hour / 2, Machine: 3 * hour, Failed: hour, Partial: 3 * hour},
			Rotate:  true,
			Ring:    campaigns.Duration(25 * time.Second),
		},
		FrequencyCap:  720 * hour,
		Pace:          1,
		MaxConcurrent: 10,
	}
	compareFields(t, got, want)
	if !reflect.DeepEqual(campaigns.DefaultDefinition().Attempts, want.Attempts) {
		t.Errorf("DefaultDefinition().Attempts = %+v", campaigns.DefaultDefinition().Attempts)
	}
	// A key written with nothing after it is left out: its default stands.
	got, err = campaigns.ParseDefinition("c.yaml", []byte(minimal+"channel:\nattempts:\n  max:\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Channel != campaigns.ChannelVoice || got.Attempts.Max != 3 {
		t.Errorf("empty keys: channel %q, max %d; want the defaults", got.Channel, got.Attempts.Max)
	}
}

// Each broken file gets exactly these errors: file:line:col, the field,
// what is wrong, and the rule.
func TestParseRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		src  string
		want string
	}{
		{"yaml syntax", "name: [c1\nsurvey: s1\n",
			`c.yaml:1:1: did not find expected ',' or ']' [yaml-syntax]`},
		{"unquoted @ schedule", "name: c1\nsurvey: s1\nschedule: @hourly\n",
			`c.yaml:3:11: found character that cannot start any token; a value starting with @ must be quoted, e.g. schedule: "@hourly" [yaml-syntax]`},
		{"empty file", "# nothing yet\n",
			`c.yaml:1:1: the file is empty: a campaign needs at least name, survey, schedule and from [required]`},
		{"two documents", minimal + "---\nname: c2\n",
			`c.yaml:5:1: a campaign definition is one YAML document; a second one starts here [yaml-syntax]`},
		{"root is a list", "- name: c1\n",
			`c.yaml:1:1: a campaign definition is a mapping of keys (name, survey, schedule, …), not a list [type]`},
		{"anchor and alias", minimal + "defaults: &d\n  max: 3\nattempts: *d\n",
			"c.yaml:5:11: anchors (&d) are not supported: write each value out in full [yaml-alias]\n" +
				"c.yaml:7:11: aliases (*d) are not supported: write the value out in full [yaml-alias]"},
		{"unknown key", minimal + "shedule: \"@daily\"\n",
			`c.yaml:5:1: shedule: unknown key (did you mean "schedule"?) [unknown-key]`},
		{"unknown nested key", minimal + "attempts:\n  per-day: 1\n",
			`c.yaml:6:3: attempts.per-day: unknown key (did you mean "per_day"?) [unknown-key]`},
		{"unknown key far from any", minimal + "sampling:\n  percent: 30\n",
			`c.yaml:6:3: sampling.percent: unknown key (known keys: rate, always_above, risky_providers) [unknown-key]`},
		{"duplicate key", minimal + "from: [\"+8613800138001\"]\n",
			`c.yaml:5:1: from: is given twice (first on line 4) [duplicate]`},
		{"name pattern", strings.Replace(minimal, "name: c1", "name: Repair Verify", 1),
			`c.yaml:1:7: name: must be 1 to 63 lowercase letters, digits, - or _, starting with a letter or digit, not "Repair Verify" [name]`},
		{"survey missing", strings.Replace(minimal, "survey: s1\n", "", 1),
			`c.yaml:1:1: survey: is required: name a published survey, e.g. repair-parts-verification [required]`},
		{"survey version negative", minimal + "survey_version: -1\n",
			`c.yaml:5:17: survey_version: must be a version number, or 0 for the latest when the campaign is activated [value]`},
		{"kind", minimal + "targeting:\n  kinds: [repair, replace]\n",
			`c.yaml:6:19: targeting.kinds[1]: must be install or repair, not "replace" [value]`},
		{"region", minimal + "targeting:\n  regions: [gd]\n",
			`c.yaml:6:13: targeting.regions[0]: must be a country code such as CN or a region code such as CN-GD, not "gd" [value]`},
		{"completed within zero days", minimal + "targeting:\n  completed_within_days: 0\n",
			`c.yaml:6:26: targeting.completed_within_days: must be between 1 and 365 [value]`},
		{"negative money", minimal + "targeting:\n  min_claim_value: -10\n",
			`c.yaml:6:20: targeting.min_claim_value: must be 0 or more [value]`},
		{"negative always_above", minimal + "sampling:\n  always_above: -1\n",
			`c.yaml:6:17: sampling.always_above: must be 0 or more [value]`},
		{"rate above 1", minimal + "sampling:\n  rate: 1.5\n",
			`c.yaml:6:9: sampling.rate: must be between 0 and 1 [value]`},
		{"risky share below 0, flow style", minimal + "sampling: {rate: 0.5, risky_providers: -0.1}\n",
			`c.yaml:5:40: sampling.risky_providers: must be between 0 and 1 [value]`},
		{"rate not a number", minimal + "sampling:\n  rate: \"0.5\"\n",
			`c.yaml:6:9: sampling.rate: must be a number, not "0.5" [type]`},
		{"rate NaN", minimal + "sampling:\n  rate: .nan\n",
			`c.yaml:6:9: sampling.rate: must be a number, not ".nan" [type]`},
		{"channel", minimal + "channel: phone\n",
			`c.yaml:5:10: channel: must be one of voice, sms, voice_then_sms, not "phone" [value]`},
		{"schedule missing", "name: c1\nsurvey: s1\nfrom: [\"+8613800138000\"]\n",
			`c.yaml:1:1: schedule: is required: a cron expression such as "0 9 * * *" or "@hourly" [required]`},
		{"schedule fields", strings.Replace(minimal, `"@hourly"`, `"0 9 * *"`, 1),
			`c.yaml:3:11: schedule: "0 9 * *" does not parse: expected exactly 5 fields, found 4: [0 9 * *]; write five fields (minute hour day-of-month month day-of-week), e.g. "0 9 * * *", or a descriptor such as @hourly or @every 6h [schedule]`},
		{"schedule hour out of range", strings.Replace(minimal, `"@hourly"`, `"0 25 * * *"`, 1),
			`c.yaml:3:11: schedule: "0 25 * * *" does not parse: end of range (25) above maximum (23): 25; write five fields (minute hour day-of-month month day-of-week), e.g. "0 9 * * *", or a descriptor such as @hourly or @every 6h [schedule]`},
		{"schedule too often", strings.Replace(minimal, `"@hourly"`, `"@every 10s"`, 1),
			`c.yaml:3:11: schedule: "@every 10s" runs every 10s; the shortest allowed is @every 1m [schedule]`},
		{"schedule never runs", strings.Replace(minimal, `"@hourly"`, `"0 0 30 2 *"`, 1),
			`c.yaml:3:11: schedule: "0 0 30 2 *" never runs: no date matches it [schedule]`},
		{"schedule names a zone", strings.Replace(minimal, `"@hourly"`, `"TZ=Asia/Shanghai 0 9 * * *"`, 1),
			`c.yaml:3:11: schedule: must not name a time zone: set time_zone instead [schedule]`},
		{"time zone", minimal + "time_zone: Asia/Shangai\n",
			`c.yaml:5:12: time_zone: unknown time zone "Asia/Shangai": name an IANA zone such as Asia/Shanghai or America/New_York [time-zone]`},
		{"time zone Local", minimal + "time_zone: Local\n",
			`c.yaml:5:12: time_zone: "Local" depends on the server: name an IANA zone such as Asia/Shanghai or America/New_York [time-zone]`},
		{"trigger order", minimal + "trigger:\n  after: 5d\n  within: 4d\n",
			`c.yaml:7:11: trigger.within: must be longer than after (5d) [value]`},
		{"trigger within below default after", minimal + "trigger:\n  within: 1h\n",
			`c.yaml:6:11: trigger.within: must be longer than after (2h) [value]`},
		{"window outside hard limit", minimal + "window:\n  hours:\n    daily: [\"07:00-12:00\"]\n",
			`c.yaml:7:13: range "07:00-12:00" is outside the hard limit 08:00-21:00 that no window may widen [hard-limit]`},
		{"window misspelt", minimal + "window:\n  hour:\n    daily: [\"09:00-12:00\"]\n",
			"c.yaml:6:3: unknown key \"hour\": a calling window has hours and holidays [unknown-key]\n" +
				"c.yaml:6:3: hours is missing: without it the window is never open [required]"},
		{"attempts not a mapping", minimal + "attempts: 3\n",
			`c.yaml:5:11: attempts: must be a mapping with the keys max, per_day, spacing, rotate, voicemail, ring, record, not "3" [type]`},
		{"attempts max", minimal + "attempts:\n  max: 12\n",
			`c.yaml:6:8: attempts.max: must be between 1 and 10 [value]`},
		{"attempts max zero", minimal + "attempts:\n  max: 0\n",
			`c.yaml:6:8: attempts.max: must be between 1 and 10 [value]`},
		{"attempts max fraction", minimal + "attempts:\n  max: 2.5\n",
			`c.yaml:6:8: attempts.max: must be a whole number, not "2.5" [type]`},
		{"per_day above default max", minimal + "attempts:\n  per_day: 4\n",
			`c.yaml:6:12: attempts.per_day: must be between 1 and max (3) [value]`},
		// max did not decode, so per_day is not judged against it.
		{"per_day with a broken max", minimal + "attempts:\n  max: abc\n  per_day: 4\n",
			`c.yaml:6:8: attempts.max: must be a whole number, not "abc" [type]`},
		{"ring too short", minimal + "attempts:\n  ring: 10s\n",
			`c.yaml:6:9: attempts.ring: must be between 15s and 1m [value]`},
		{"ring too long", minimal + "attempts:\n  ring: 2m\n",
			`c.yaml:6:9: attempts.ring: must be between 15s and 1m [value]`},
		{"ring without unit", minimal + "attempts:\n  ring: 25\n",
			`c.yaml:6:9: attempts.ring: must be a duration with a unit, such as "30m", "3h" or "5d", not "25" [duration]`},
		{"spacing too short", minimal + "attempts:\n  spacing:\n    busy: 30s\n",
			`c.yaml:7:11: attempts.spacing.busy: must be at least 1m [value]`},
		{"spacing in words", minimal + "attempts:\n  spacing:\n    no_answer: 3 hours\n",
			`c.yaml:7:16: attempts.spacing.no_answer: "3 hours" is not a duration: write a number and a unit, e.g. 30m, 3h, 2h30m or 5d [duration]`},
		{"rotate yes", minimal + "attempts:\n  rotate: yes\n",
			`c.yaml:6:11: attempts.rotate: must be true or false, not "yes" [type]`},
		{"frequency cap negative", minimal + "frequency_cap: -1d\n",
			`c.yaml:5:16: frequency_cap: must not be negative [value]`},
		{"from not E.164", strings.Replace(minimal, `"+8613800138000"`, `"13800138000"`, 1),
			`c.yaml:4:8: from[0]: must be an E.164 number such as +8613800138000, not "13800138000" [phone]`},
		{"from empty", strings.Replace(minimal, `["+8613800138000"]`, `[]`, 1),
			`c.yaml:4:7: from: needs at least one number to call and text from [required]`},
		{"from repeated", strings.Replace(minimal, `["+8613800138000"]`, `["+8613800138000", "+8613800138000"]`, 1),
			`c.yaml:4:26: from[1]: "+8613800138000" is already listed (item 0) [duplicate]`},
		{"pace zero", minimal + "pace: 0\n",
			`c.yaml:5:7: pace: must be more than 0 and at most 100 attempts a second [value]`},
		{"pace too fast", minimal + "pace: 250\n",
			`c.yaml:5:7: pace: must be more than 0 and at most 100 attempts a second [value]`},
		{"max_concurrent", minimal + "max_concurrent: 5000\n",
			`c.yaml:5:17: max_concurrent: must be between 1 and 1000 [value]`},
		{"description a list", minimal + "description: [a, b]\n",
			`c.yaml:5:14: description: must be a string, not a list [type]`},
		{"several errors in file order", "name: c1\nsurvey: s1\nschedule: \"@daily\"\nfrom: [\"+1\"]\npace: -1\nattempts:\n  ring: 5s\n",
			"c.yaml:4:8: from[0]: must be an E.164 number such as +8613800138000, not \"+1\" [phone]\n" +
				"c.yaml:5:7: pace: must be more than 0 and at most 100 attempts a second [value]\n" +
				"c.yaml:7:9: attempts.ring: must be between 15s and 1m [value]"},
	}
	if len(cases) < 25 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			d, err := campaigns.ParseDefinition("c.yaml", []byte(c.src))
			if err == nil {
				t.Fatalf("accepted:\n%s", c.src)
			}
			if d != nil {
				t.Error("a definition came back with the errors")
			}
			var es campaigns.Errors
			if !errors.As(err, &es) {
				t.Fatalf("error is %T, want campaigns.Errors", err)
			}
			if got := err.Error(); got != c.want {
				t.Errorf("errors:\n%s\nwant:\n%s", got, c.want)
			}
		})
	}
}

func TestParseTooLarge(t *testing.T) {
	t.Parallel()
	src := []byte(minimal + "description: \"" + strings.Repeat("x", campaigns.MaxDefinitionBytes) + "\"\n")
	_, err := campaigns.ParseDefinition("big.yaml", src)
	want := fmt.Sprintf("big.yaml:1:1: the file is %d bytes; a campaign definition must be under 65536 [size]", len(src))
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

func TestParseStopsAfterFiftyErrors(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(minimal)
	for i := range 80 {
		b.WriteString("x" + strings.Repeat("y", i) + ": 1\n")
	}
	_, err := campaigns.ParseDefinition("c.yaml", []byte(b.String()))
	var es campaigns.Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %v", err)
	}
	if len(es) != 51 || es[50].Rule != campaigns.RuleTooManyErrs {
		t.Fatalf("%d errors, last %v; want 50 and a too-many-errors", len(es), es[len(es)-1])
	}
}

const minimalJSON = `{"name":"c1","survey":"s1","schedule":"@hourly","from":["+8613800138000"]`

// The API gets the same rules with JSON pointers, and is strict about JSON
// types, unknown and repeated keys.
func TestParseDefinitionJSONRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body, want string
	}{
		{"range", minimalJSON + `,"attempts":{"max":12}}`, "/attempts/max: must be between 1 and 10"},
		{"unknown nested field", minimalJSON + `,"attempts":{"rotat":true}}`, `/attempts/rotat: unknown key (did you mean "rotate"?)`},
		{"unknown field escaped", minimalJSON + `,"a/b~c":1}`, `/a~1b~0c: unknown key (known keys: name, description, survey, survey_version, targeting, sampling, channel, schedule, time_zone, trigger, window, attempts, frequency_cap, from, pace, max_concurrent)`},
		{"number as string", minimalJSON + `,"pace":"1"}`, `/pace: must be a number, not the string "1"`},
		{"integer as float", minimalJSON + `,"max_concurrent":2.0}`, `/max_concurrent: must be a whole number, not 2.0`},
		{"bool as string", minimalJSON + `,"attempts":{"rotate":"true"}}`, `/attempts/rotate: must be true or false, not the string "true"`},
		{"duration as number", minimalJSON + `,"attempts":{"ring":25}}`, `/attempts/ring: must be a duration with a unit, such as "30m", "3h" or "5d", not 25`},
		{"string as number", `{"name":7,"survey":"s1","schedule":"@hourly","from":["+8613800138000"]}`, `/name: must be a string, not 7`},
		{"list item", `{"name":"c1","survey":"s1","schedule":"@hourly","from":["+8613800138000",1]}`, `/from/1: must be a string, not 1`},
		{"repeated key", minimalJSON + `,"name":"c2"}`, "/name: is given twice"},
		{"missing survey", `{"name":"c1","schedule":"@hourly","from":["+8613800138000"]}`, "/survey: is required: name a published survey, e.g. repair-parts-verification"},
		{"window", minimalJSON + `,"window":{"hours":{"mon-fri":["07:00-12:00"]}}}`, `/window/hours/mon-fri/0: range "07:00-12:00" is outside the hard limit 08:00-21:00 that no window may widen`},
		{"window weekday", minimalJSON + `,"window":{"hours":{"monday":["09:00-12:00"]}}}`, `/window/hours/monday: unknown weekday "monday": use mon, tue, wed, thu, fri, sat, sun, a range such as mon-fri, a list such as sat,sun, or daily`},
		{"schedule", `{"name":"c1","survey":"s1","schedule":"@every 5s","from":["+8613800138000"]}`, `/schedule: "@every 5s" runs every 5s; the shortest allowed is @every 1m`},
		{"syntax", `{"name":"c1",}`, `(root): not valid JSON at offset 13: invalid character '}' looking for beginning of object key string`},
		{"YAML is not JSON", `{name: c1}`, `(root): not valid JSON at offset 1: invalid character 'n'`},
		{"cut short", minimalJSON + `,"attempts":{"max":3`, `/attempts: the JSON ends too early, at offset 93`},
		{"trailing data", minimalJSON + `} {}`, `(root): there is more after the definition's closing }`},
		{"empty", "  ", "(root): the body is empty: a campaign needs at least name, survey, schedule and from"},
		{"not an object", `[]`, "(root): a campaign definition is an object of keys (name, survey, schedule, …), not an array"},
		{"two problems in document order", `{"name":"C1","survey":"s1","schedule":"@hourly","from":["+8613800138000"],"pace":0}`,
			"/name: must be 1 to 63 lowercase letters, digits, - or _, starting with a letter or digit, not \"C1\"\n/pace: must be more than 0 and at most 100 attempts a second"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			d, err := campaigns.ParseDefinitionJSON([]byte(c.body))
			if err == nil || d != nil {
				t.Fatalf("accepted %s", c.body)
			}
			var fe campaigns.FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("error is %T, want FieldErrors", err)
			}
			for _, e := range fe {
				if e.Rule == "" {
					t.Errorf("%v: no rule", e)
				}
			}
			if err.Error() != c.want {
				t.Errorf("errors:\n%s\nwant:\n%s", err, c.want)
			}
		})
	}
}

func TestParseDefinitionJSONDefaultsAndNulls(t *testing.T) {
	t.Parallel()
	d, err := campaigns.ParseDefinitionJSON([]byte(minimalJSON + `,"channel":null,"attempts":{"max":1,"per_day":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	yml, err := campaigns.ParseDefinition("c.yaml", []byte(minimal+"attempts:\n  max: 1\n  per_day: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	compareFields(t, d, yml)
	if d.Channel != campaigns.ChannelVoice || d.Attempts.Ring != campaigns.Duration(25*time.Second) {
		t.Errorf("defaults not applied: %+v", d)
	}
}

// A definition's canonical JSON reads back, through the API parser, to the
// same definition and the same bytes.
func TestCanonicalRoundTrip(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"repair-voice-then-sms.yaml", "install-sms.yaml"} {
		d, _ := parseFile(t, name)
		b, err := d.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		back, err := campaigns.ParseDefinitionJSON(b)
		if err != nil {
			t.Fatalf("%s: canonical JSON does not parse:\n%v\n%s", name, err, b)
		}
		compareFields(t, back, d)
		b2, _ := back.Canonical()
		if string(b2) != string(b) {
			t.Errorf("%s: canonical JSON changed on a round trip:\n%s\n%s", name, b, b2)
		}
		// json.Unmarshal, as the hopper loads stored definitions, agrees.
		var viaStd campaigns.Definition
		if err := json.Unmarshal(b, &viaStd); err != nil {
			t.Fatal(err)
		}
		compareFields(t, &viaStd, d)
	}
}

func TestCanonicalIgnoresLayoutNotContent(t *testing.T) {
	t.Parallel()
	a := minimal + "attempts:\n  max: 2\n"
	// Reordered, flow style, comments, and defaults spelled out.
	b := `# same campaign
from: ["+8613800138000"]
attempts: {max: 2, per_day: 2, ring: 25s, spacing: {busy: 30m}}
schedule: '@hourly'
channel: voice
survey: s1
name: c1
frequency_cap: 720h
`
	c := minimal + "attempts:\n  max: 3\n"
	canon := func(src string) string {
		d, err := campaigns.ParseDefinition("c.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		out, err := d.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	if canon(a) != canon(b) {
		t.Errorf("same content, different canonical JSON:\n%s\n%s", canon(a), canon(b))
	}
	if canon(a) == canon(c) {
		t.Error("different content, same canonical JSON")
	}
	want := `{"name":"c1","survey":"s1","targeting":{"completed_within_days":5},"sampling":{"rate":1,"risky_providers":1},` +
		`"channel":"voice","schedule":"@hourly","trigger":{"after":"2h","within":"5d"},` +
		`"attempts":{"max":2,"per_day":2,"spacing":{"no_answer":"3h","busy":"30m","machine":"3h","failed":"1h","partial":"3h"},"rotate":true,"voicemail":false,"ring":"25s"},` +
		`"frequency_cap":"30d","from":["+8613800138000"],"pace":1,"max_concurrent":10}`
	if got := canon(a); got != want {
		t.Errorf("canonical JSON:\n%s\nwant:\n%s", got, want)
	}
}

// UnmarshalJSON loads what was stored even if it breaks today's rules;
// ParseDefinitionJSON, for new input, does not accept it.
func TestUnmarshalJSONChecksShapeNotRules(t *testing.T) {
	t.Parallel()
	body := minimalJSON + `,"attempts":{"max":12}}`
	var d campaigns.Definition
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatalf("stored definition does not load: %v", err)
	}
	if d.Attempts.Max != 12 || d.Attempts.PerDay != 2 {
		t.Errorf("loaded attempts %+v", d.Attempts)
	}
	if _, err := campaigns.ParseDefinitionJSON([]byte(body)); err == nil {
		t.Error("ParseDefinitionJSON accepted max 12")
	}
	if err := json.Unmarshal([]byte(minimalJSON+`,"attempts":{"max":"12"}}`), &d); err == nil || !strings.Contains(err.Error(), "/attempts/max: must be a whole number") {
		t.Errorf("wrong shape loaded: %v", err)
	}
}

func TestValidateBuiltInCode(t *testing.T) {
	t.Parallel()
	d, err := campaigns.ParseDefinition("c.yaml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatalf("a parsed definition fails Validate: %v", err)
	}
	d.Sampling.Rate = math.NaN()
	d.Window = campaigns.DefaultChina()
	d.Window.Hours[time.Monday] = []campaigns.TimeRange{{Start: campaigns.Clock(9, 0) + 30, End: campaigns.Clock(12, 0)}}
	d.Channel = ""
	want := "/sampling/rate: must be between 0 and 1\n" +
		"/channel: must be one of voice, sms, voice_then_sms, not \"\"\n" +
		"/window: Monday range 09:00:30-12:00: times must be whole minutes"
	if err := d.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate:\n%v\nwant:\n%s", err, want)
	}
}

func TestDuration(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want time.Duration
		out  string
	}{
		{"30m", 30 * time.Minute, "30m"},
		{"3h", 3 * time.Hour, "3h"},
		{"2h30m", 150 * time.Minute, "2h30m"},
		{"5d", 120 * time.Hour, "5d"},
		{"1d12h", 36 * time.Hour, "36h"},
		{"48h", 48 * time.Hour, "2d"},
		{"90s", 90 * time.Second, "1m30s"},
		{"0", 0, "0s"},
		{"0d", 0, "0s"},
		{"-1d", -24 * time.Hour, "-1d"},
		{" 25s ", 25 * time.Second, "25s"},
	} {
		got, err := campaigns.ParseDuration(c.in)
		if err != nil || time.Duration(got) != c.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", c.in, time.Duration(got), err, c.want)
			continue
		}
		if got.String() != c.out {
			t.Errorf("%q.String() = %q, want %q", c.in, got.String(), c.out)
		}
		back, err := campaigns.ParseDuration(got.String())
		if err != nil || back != got {
			t.Errorf("%q does not read back: %v, %v", got.String(), back, err)
		}
	}
	for _, bad := range []string{"", "3", "3 hours", "d", "5d-1h", "1.5d", "3h5d", "+-3h", "99999999999999999999d", "106752d", "--1h"} {
		if got, err := campaigns.ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", bad, time.Duration(got))
		}
	}
	var d campaigns.Duration
	if err := json.Unmarshal([]byte(`"2h30m"`), &d); err != nil || d != 5*hour/2 {
		t.Errorf("UnmarshalJSON: %v, %v", d, err)
	}
	if err := json.Unmarshal([]byte(`9000`), &d); err == nil {
		t.Error("UnmarshalJSON accepted a number")
	}
	if b, _ := json.Marshal(campaigns.Duration(720 * time.Hour)); string(b) != `"30d"` {
		t.Errorf("MarshalJSON = %s", b)
	}
}

func TestNextRunsAcrossDaylightSaving(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, schedule, zone, after string
		want                        []string // UTC
	}{
		// 09:00 every day: 14:00 UTC in EST, 13:00 UTC from 8 March (EDT).
		{"daily across spring forward", "0 9 * * *", "America/New_York", "2026-03-06T12:00:00Z",
			[]string{"2026-03-06T14:00:00Z", "2026-03-07T14:00:00Z", "2026-03-08T13:00:00Z", "2026-03-09T13:00:00Z", "2026-03-10T13:00:00Z"}},
		// 02:30 does not exist on 8 March: that day has no run.
		{"nonexistent time skipped", "30 2 * * *", "America/New_York", "2026-03-07T05:00:00Z",
			[]string{"2026-03-07T07:30:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"}},
		// Hourly: 01:00 EST is followed by 03:00 EDT, one hour later.
		{"hourly across spring forward", "0 * * * *", "America/New_York", "2026-03-08T05:30:00Z",
			[]string{"2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z"}},
		// 01:30 happens twice on 1 November, and robfig/cron runs both.
		{"repeated time runs twice", "30 1 * * *", "America/New_York", "2026-10-31T16:00:00Z",
			[]string{"2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z", "2026-11-02T06:30:00Z"}},
		{"weekdays in Shanghai", "0 10 * * mon-fri", "Asia/Shanghai", "2026-03-06T03:00:00Z",
			[]string{"2026-03-09T02:00:00Z", "2026-03-10T02:00:00Z"}},
		{"no zone is UTC", "@daily", "", "2026-03-06T03:00:00Z",
			[]string{"2026-03-07T00:00:00Z", "2026-03-08T00:00:00Z"}},
		{"every 90 minutes", "@every 90m", "America/New_York", "2026-03-08T06:10:00Z",
			[]string{"2026-03-08T07:40:00Z", "2026-03-08T09:10:00Z"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := &campaigns.Definition{Name: "c1", Schedule: c.schedule, TimeZone: c.zone}
			after, _ := time.Parse(time.RFC3339, c.after)
			got, err := d.NextRuns(after, len(c.want))
			if err != nil {
				t.Fatal(err)
			}
			var gotUTC []string
			for _, g := range got {
				gotUTC = append(gotUTC, g.UTC().Format(time.RFC3339))
				if c.zone == "America/New_York" && g.Location().String() != ny.String() {
					t.Errorf("%v is not in the campaign's zone", g)
				}
			}
			if !reflect.DeepEqual(gotUTC, c.want) {
				t.Errorf("next runs %v, want %v", gotUTC, c.want)
			}
		})
	}
	// Local wall clock stays at 09:00 across the change.
	d := &campaigns.Definition{Name: "c1", Schedule: "0 9 * * *", TimeZone: "America/New_York"}
	got, _ := d.NextRuns(time.Date(2026, 3, 6, 12, 0, 0, 0, time.UTC), 5)
	for _, g := range got {
		if g.Hour() != 9 || g.Minute() != 0 {
			t.Errorf("run at %v, not 09:00 local", g)
		}
	}
}

func TestNextRunsErrors(t *testing.T) {
	t.Parallel()
	d := &campaigns.Definition{Name: "c1", Schedule: "0 9 * * *", TimeZone: "Mars/Olympus"}
	if _, err := d.NextRuns(time.Now(), 5); err == nil || !strings.Contains(err.Error(), "unknown time zone") {
		t.Errorf("bad zone: %v", err)
	}
	d = &campaigns.Definition{Name: "c1", Schedule: "TZ=UTC"} // robfig/cron panics on this one
	if _, err := d.NextRuns(time.Now(), 5); err == nil {
		t.Error("a zone prefix was accepted")
	}
	d = &campaigns.Definition{Name: "c1", Schedule: "@hourly"}
	if _, err := d.NextRuns(time.Now(), -1); err == nil {
		t.Error("n = -1 accepted")
	}
	if runs, err := d.NextRuns(time.Now(), 0); err != nil || len(runs) != 0 {
		t.Errorf("n = 0: %v, %v", runs, err)
	}
}
