package campaigns_test

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/huifang/huifang/campaigns"
)

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load zone %s: %v", name, err)
	}
	return loc
}

// utc parses an RFC 3339 instant.
func utc(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// window builds a validated window from YAML.
func window(t testing.TB, src string) *campaigns.CallingWindow {
	t.Helper()
	w, err := campaigns.ParseCallingWindow("test.yaml", []byte(src))
	if err != nil {
		t.Fatalf("parse:\n%v", err)
	}
	return w
}

// gapZone is a made-up zone whose clocks jump inside the hard limit, which
// no real US or Chinese zone does (New York changes at 02:00): on 2026-06-01
// at 10:00 local they spring forward to 11:00 (UTC+0 → UTC+1), and on
// 2026-06-02 at 15:00 local they fall back to 14:00. It checks that NextOpen
// and OpenUntil follow the offset change, not wall-clock arithmetic.
func gapZone(t testing.TB) *time.Location {
	t.Helper()
	trans := []int64{
		time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC).Unix(),
		time.Date(2026, 6, 2, 14, 0, 0, 0, time.UTC).Unix(),
	}
	types := []struct {
		off   int32
		isDST byte
		abbr  byte
	}{{0, 0, 0}, {3600, 1, 4}, {0, 0, 0}}
	abbrs := "STD\x00DST\x00"
	var b []byte
	b = append(b, "TZif"...)
	b = append(b, make([]byte, 16)...) // version 1, reserved
	for _, n := range []int{0, 0, 0, len(trans), len(types), len(abbrs)} {
		b = binary.BigEndian.AppendUint32(b, uint32(n))
	}
	for _, tr := range trans {
		b = binary.BigEndian.AppendUint32(b, uint32(int32(tr)))
	}
	b = append(b, 1, 2)
	for _, ty := range types {
		b = binary.BigEndian.AppendUint32(b, uint32(ty.off))
		b = append(b, ty.isDST, ty.abbr)
	}
	b = append(b, abbrs...)
	loc, err := time.LoadLocationFromTZData("Test/Gap", b)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	for name, w := range map[string]*campaigns.CallingWindow{"china": campaigns.DefaultChina(), "us": campaigns.DefaultUS()} {
		if err := w.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	fromFile, err := campaigns.ParseCallingWindow("china.yaml", mustRead(t, "china.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := campaigns.DefaultChina()
	want.Holidays = []campaigns.Date{{Year: 2026, Month: 10, Day: 1}, {Year: 2026, Month: 10, Day: 2}}
	if !equalWindows(fromFile, want) {
		t.Errorf("testdata/china.yaml = %+v, want DefaultChina with holidays %+v", fromFile, want)
	}
}

func mustRead(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func equalWindows(a, b *campaigns.CallingWindow) bool {
	for d := range a.Hours {
		if !slices.Equal(a.Hours[d], b.Hours[d]) {
			return false
		}
	}
	return slices.Equal(a.Holidays, b.Holidays)
}

// A case asks the window about instant at in zones, expecting Open, then
// NextOpen (next, or never), then OpenUntil.
type windowCase struct {
	name  string
	w     *campaigns.CallingWindow
	zones []*time.Location
	at    string
	open  bool
	next  string // "" means NextOpen reports false
	until string // OpenUntil; "" means at itself (closed)
}

func TestCallingWindow(t *testing.T) {
	t.Parallel()
	ny, la, sh := zone(t, "America/New_York"), zone(t, "America/Los_Angeles"), zone(t, "Asia/Shanghai")
	gap := gapZone(t)
	us, china := campaigns.DefaultUS(), campaigns.DefaultChina()
	daily := window(t, `hours: {daily: ["09:00-20:00"]}`)
	full := window(t, `hours: {daily: ["08:00-21:00"]}`)
	monSat := window(t, `hours: {mon-sat: ["08:00-21:00"]}`)
	chinaHolidays := window(t, string(mustRead(t, "china.yaml")))
	allHolidays := campaigns.DefaultChina()
	for d := 0; d < 20; d++ {
		day := time.Date(2026, 10, 1+d, 0, 0, 0, 0, time.UTC)
		allHolidays.Holidays = append(allHolidays.Holidays, campaigns.Date{Year: day.Year(), Month: day.Month(), Day: day.Day()})
	}
	// Built by hand, never validated: Open still clips to 08:00–21:00.
	unchecked := &campaigns.CallingWindow{}
	unchecked.Hours[time.Monday] = []campaigns.TimeRange{{Start: 0, End: campaigns.Clock(23, 59)}}

	cases := []windowCase{
		// Boundaries to the second: half-open ranges, 09:00:00 open, 20:00:00 closed.
		{name: "one second before opening", w: daily, zones: z(ny), at: "2026-06-15T12:59:59Z", next: "2026-06-15T13:00:00Z"},
		{name: "half a second before opening", w: daily, zones: z(ny), at: "2026-06-15T12:59:59.5Z", next: "2026-06-15T13:00:00Z"},
		{name: "opening second", w: daily, zones: z(ny), at: "2026-06-15T13:00:00Z", open: true, next: "2026-06-15T13:00:00Z", until: "2026-06-16T00:00:00Z"},
		{name: "last second open", w: daily, zones: z(ny), at: "2026-06-15T23:59:59Z", open: true, next: "2026-06-15T23:59:59Z", until: "2026-06-16T00:00:00Z"},
		{name: "last nanosecond open", w: daily, zones: z(ny), at: "2026-06-15T23:59:59.999999999Z", open: true, next: "2026-06-15T23:59:59.999999999Z", until: "2026-06-16T00:00:00Z"},
		{name: "closing second", w: daily, zones: z(ny), at: "2026-06-16T00:00:00Z", next: "2026-06-16T13:00:00Z"},

		// New York spring forward, Sunday 2026-03-08 02:00 EST → 03:00 EDT:
		// 09:00 is 14:00 UTC on the Saturday (EST) and 13:00 UTC on the Sunday (EDT).
		{name: "NY Saturday before spring forward opens 14:00Z", w: daily, zones: z(ny), at: "2026-03-07T05:00:00Z", next: "2026-03-07T14:00:00Z"},
		{name: "NY spring forward day opens 13:00Z", w: daily, zones: z(ny), at: "2026-03-08T05:00:00Z", next: "2026-03-08T13:00:00Z"},
		{name: "NY 01:59:59 EST, before the missing hour", w: daily, zones: z(ny), at: "2026-03-08T06:59:59Z", next: "2026-03-08T13:00:00Z"},
		{name: "NY 03:00 EDT, just after the missing hour", w: daily, zones: z(ny), at: "2026-03-08T07:00:00Z", next: "2026-03-08T13:00:00Z"},
		{name: "NY spring forward day closes 20:00 EDT", w: daily, zones: z(ny), at: "2026-03-08T15:00:00Z", open: true, next: "2026-03-08T15:00:00Z", until: "2026-03-09T00:00:00Z"},
		// Fall back, Sunday 2026-11-01 02:00 EDT → 01:00 EST: 09:00 is 13:00 UTC on
		// the Saturday (EDT) and 14:00 UTC on the Sunday (EST).
		{name: "NY Saturday before fall back opens 13:00Z", w: daily, zones: z(ny), at: "2026-10-31T04:00:00Z", next: "2026-10-31T13:00:00Z"},
		{name: "NY fall back day opens 14:00Z", w: daily, zones: z(ny), at: "2026-11-01T04:00:00Z", next: "2026-11-01T14:00:00Z"},
		{name: "NY 01:30 EDT, the first of two", w: daily, zones: z(ny), at: "2026-11-01T05:30:00Z", next: "2026-11-01T14:00:00Z"},
		{name: "NY 13:00 UTC on fall back day is 08:00 EST", w: daily, zones: z(ny), at: "2026-11-01T13:00:00Z", next: "2026-11-01T14:00:00Z"},
		{name: "NY fall back day closes 20:00 EST", w: daily, zones: z(ny), at: "2026-11-01T14:00:00Z", open: true, next: "2026-11-01T14:00:00Z", until: "2026-11-02T01:00:00Z"},
		{name: "US default closed on Sunday", w: us, zones: z(ny), at: "2026-11-01T15:00:00Z", next: "2026-11-02T14:00:00Z"},

		// A zone whose clocks jump inside the window (Test/Gap, see gapZone).
		{name: "window starts at 10:30, which does not exist: opens at the jump", w: window(t, `hours: {daily: ["10:30-12:00"]}`), zones: z(gap), at: "2026-06-01T09:00:00Z", next: "2026-06-01T10:00:00Z"},
		{name: "window ends at 10:30, which does not exist: closes at the jump", w: window(t, `hours: {daily: ["09:00-10:30"]}`), zones: z(gap), at: "2026-06-01T09:30:00Z", open: true, next: "2026-06-01T09:30:00Z", until: "2026-06-01T10:00:00Z"},
		{name: "repeated hour: open in the first 14:30-15:00", w: window(t, `hours: {daily: ["14:30-15:00"]}`), zones: z(gap), at: "2026-06-02T13:45:00Z", open: true, next: "2026-06-02T13:45:00Z", until: "2026-06-02T14:00:00Z"},
		{name: "repeated hour: opens again in the second 14:30", w: window(t, `hours: {daily: ["14:30-15:00"]}`), zones: z(gap), at: "2026-06-02T14:00:00Z", next: "2026-06-02T14:30:00Z"},

		// Holidays are local dates: China's 1–2 October 2026.
		{name: "holiday: Shanghai 1 October closed all day", w: chinaHolidays, zones: z(sh), at: "2026-10-01T03:00:00Z", next: "2026-10-03T01:00:00Z"},
		{name: "holiday: evening before, next is 3 October 09:00", w: chinaHolidays, zones: z(sh), at: "2026-09-30T12:00:00Z", next: "2026-10-03T01:00:00Z"},
		{name: "holiday: 30 September 19:00 still open", w: chinaHolidays, zones: z(sh), at: "2026-09-30T11:00:00Z", open: true, next: "2026-09-30T11:00:00Z", until: "2026-09-30T12:00:00Z"},

		// China's 12:00–14:00 break.
		{name: "break: 11:59:59 open, closes at 12:00", w: china, zones: z(sh), at: "2026-06-15T03:59:59Z", open: true, next: "2026-06-15T03:59:59Z", until: "2026-06-15T04:00:00Z"},
		{name: "break: 12:00 closed, opens 14:00", w: china, zones: z(sh), at: "2026-06-15T04:00:00Z", next: "2026-06-15T06:00:00Z"},
		{name: "break: 13:59:59 closed", w: china, zones: z(sh), at: "2026-06-15T05:59:59Z", next: "2026-06-15T06:00:00Z"},
		{name: "break: China open on Sunday", w: china, zones: z(sh), at: "2026-06-14T02:00:00Z", open: true, next: "2026-06-14T02:00:00Z", until: "2026-06-14T04:00:00Z"},

		// Two zones, the safe reading: only the overlap is open.
		{name: "LA address, NY number: 09:00 NY is 06:00 LA, wait for 09:00 LA", w: us, zones: z(la, ny), at: "2026-06-15T13:00:00Z", next: "2026-06-15T16:00:00Z"},
		{name: "LA address, NY number: closes at 20:00 NY (17:00 LA)", w: us, zones: z(la, ny), at: "2026-06-15T16:00:00Z", open: true, next: "2026-06-15T16:00:00Z", until: "2026-06-16T00:00:00Z"},
		{name: "LA address, NY number: zone order does not matter", w: us, zones: z(ny, la), at: "2026-06-16T00:00:00Z", next: "2026-06-16T16:00:00Z"},
		{name: "Shanghai address, NY number: Shanghai 20:00-21:00 is NY 08:00-09:00", w: full, zones: z(sh, ny), at: "2026-06-15T02:00:00Z", next: "2026-06-15T12:00:00Z"},
		{name: "Shanghai address, NY number: open stretch ends 21:00 Shanghai", w: full, zones: z(sh, ny), at: "2026-06-15T12:30:00Z", open: true, next: "2026-06-15T12:30:00Z", until: "2026-06-15T13:00:00Z"},
		{name: "Shanghai address, LA number: Monday 08:00 Shanghai is Sunday in LA", w: monSat, zones: z(sh, la), at: "2026-06-14T16:00:00Z", next: "2026-06-16T00:00:00Z"},
		{name: "Shanghai address, LA number: Tuesday 08:00-12:00 Shanghai is Monday 17:00-21:00 LA", w: monSat, zones: z(sh, la), at: "2026-06-16T02:00:00Z", open: true, next: "2026-06-16T02:00:00Z", until: "2026-06-16T04:00:00Z"},
		{name: "same zone twice is one zone", w: us, zones: z(ny, ny), at: "2026-06-15T13:00:00Z", open: true, next: "2026-06-15T13:00:00Z", until: "2026-06-16T00:00:00Z"},

		// A contact queued at 19:58 in New York: two minutes left, then it must wait.
		{name: "queued at 19:58: open until 20:00", w: us, zones: z(ny), at: "2026-06-15T23:58:00Z", open: true, next: "2026-06-15T23:58:00Z", until: "2026-06-16T00:00:00Z"},
		{name: "dequeued at 20:00:01: not dialled, next morning", w: us, zones: z(ny), at: "2026-06-16T00:00:01Z", next: "2026-06-16T13:00:00Z"},

		// Never open.
		{name: "never: no zones", w: us, at: "2026-06-15T16:00:00Z"},
		{name: "never: a nil zone (unknown)", w: us, zones: z(ny, nil), at: "2026-06-15T16:00:00Z"},
		{name: "never: no hours", w: &campaigns.CallingWindow{}, zones: z(ny), at: "2026-06-15T16:00:00Z"},
		{name: "never: China default and a US number never overlap", w: china, zones: z(sh, ny), at: "2026-06-15T00:00:00Z"},
		{name: "never: every day for 20 days a holiday", w: allHolidays, zones: z(sh), at: "2026-10-01T00:00:00Z"},

		// The hard limit holds even for a window that skipped validation.
		{name: "unchecked window: 03:00 still closed", w: unchecked, zones: z(ny), at: "2026-06-15T07:00:00Z", next: "2026-06-15T12:00:00Z"},
		{name: "unchecked window: closes at 21:00", w: unchecked, zones: z(ny), at: "2026-06-15T20:00:00Z", open: true, next: "2026-06-15T20:00:00Z", until: "2026-06-16T01:00:00Z"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			at := utc(t, tc.at)
			if got := tc.w.Open(at, tc.zones...); got != tc.open {
				t.Errorf("Open(%s) = %v, want %v", tc.at, got, tc.open)
			}
			next, ok := tc.w.NextOpen(at, tc.zones...)
			switch {
			case tc.next == "" && ok:
				t.Errorf("NextOpen(%s) = %s, want never", tc.at, next.UTC().Format(time.RFC3339Nano))
			case tc.next != "" && !ok:
				t.Errorf("NextOpen(%s) = never, want %s", tc.at, tc.next)
			case tc.next != "" && !next.Equal(utc(t, tc.next)):
				t.Errorf("NextOpen(%s) = %s, want %s", tc.at, next.UTC().Format(time.RFC3339Nano), tc.next)
			}
			if ok && !tc.w.Open(next, tc.zones...) {
				t.Errorf("not Open at NextOpen %s", next.UTC())
			}
			if ok && next.After(at) && tc.w.Open(next.Add(-time.Nanosecond), tc.zones...) {
				t.Errorf("Open a nanosecond before NextOpen %s", next.UTC())
			}
			wantUntil := at
			if tc.until != "" {
				wantUntil = utc(t, tc.until)
			}
			until := tc.w.OpenUntil(at, tc.zones...)
			if !until.Equal(wantUntil) {
				t.Errorf("OpenUntil(%s) = %s, want %s", tc.at, until.UTC().Format(time.RFC3339Nano), wantUntil.UTC().Format(time.RFC3339Nano))
			}
			if tc.open && (tc.w.Open(until, tc.zones...) || !tc.w.Open(until.Add(-time.Nanosecond), tc.zones...)) {
				t.Errorf("OpenUntil %s is not where the window closes", until.UTC())
			}
		})
	}
}

func z(zones ...*time.Location) []*time.Location { return zones }

func TestParseCallingWindow(t *testing.T) {
	t.Parallel()
	mon, tue, wed, thu, fri, sat, sun := time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday
	r := func(from, to int) campaigns.TimeRange {
		return campaigns.TimeRange{Start: campaigns.Clock(from, 0), End: campaigns.Clock(to, 0)}
	}
	tests := []struct {
		name string
		src  string
		want map[time.Weekday][]campaigns.TimeRange
	}{
		{"mon-fri and a single day", "hours:\n  mon-fri: [\"09:00-12:00\", \"14:00-20:00\"]\n  sat: [\"10:00-18:00\"]\n",
			map[time.Weekday][]campaigns.TimeRange{mon: {r(9, 12), r(14, 20)}, tue: {r(9, 12), r(14, 20)}, wed: {r(9, 12), r(14, 20)}, thu: {r(9, 12), r(14, 20)}, fri: {r(9, 12), r(14, 20)}, sat: {r(10, 18)}}},
		{"comma list, out-of-order ranges sorted", "hours:\n  sat,sun: [\"14:00-18:00\", \"10:00-12:00\"]\n",
			map[time.Weekday][]campaigns.TimeRange{sat: {r(10, 12), r(14, 18)}, sun: {r(10, 12), r(14, 18)}}},
		{"daily, touching ranges, en dash, spaces", "hours:\n  Daily: [\"09:00 – 12:00\", \"12:00-13:00\"]\n",
			map[time.Weekday][]campaigns.TimeRange{mon: {r(9, 12), r(12, 13)}, tue: {r(9, 12), r(12, 13)}, wed: {r(9, 12), r(12, 13)}, thu: {r(9, 12), r(12, 13)}, fri: {r(9, 12), r(12, 13)}, sat: {r(9, 12), r(12, 13)}, sun: {r(9, 12), r(12, 13)}}},
		{"mixed list and range, empty day", "hours:\n  mon, wed-thu: [\"08:00-21:00\"]\n  sun: []\n",
			map[time.Weekday][]campaigns.TimeRange{mon: {r(8, 21)}, wed: {r(8, 21)}, thu: {r(8, 21)}}},
		{"testdata/us.yaml", string(mustRead(t, "us.yaml")),
			map[time.Weekday][]campaigns.TimeRange{mon: {r(9, 12), r(14, 20)}, tue: {r(9, 12), r(14, 20)}, wed: {r(9, 12), r(14, 20)}, thu: {r(9, 12), r(14, 20)}, fri: {r(9, 12), r(14, 20)}, sat: {r(10, 18)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := window(t, tc.src)
			for d := time.Sunday; d <= time.Saturday; d++ {
				if !slices.Equal(w.Hours[d], tc.want[d]) {
					t.Errorf("%s = %v, want %v", d, w.Hours[d], tc.want[d])
				}
			}
			if err := w.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestParseCallingWindowErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want []string // "line:col rule", in order
	}{
		{"unknown weekday", "hours:\n  monday: [\"09:00-12:00\"]\n", []string{"2:3 weekday"}},
		{"backward day range", "hours:\n  fri-mon: [\"09:00-12:00\"]\n", []string{"2:3 weekday"}},
		{"weekday given twice", "hours:\n  mon-fri: [\"09:00-12:00\"]\n  fri: [\"10:00-11:00\"]\n", []string{"3:3 duplicate"}},
		{"bad time", "hours:\n  mon: [\"9:00-12:00\"]\n", []string{"2:9 time"}},
		{"minute out of range", "hours:\n  mon:\n    - \"09:60-12:00\"\n", []string{"3:7 time"}},
		{"no dash", "hours:\n  mon: [\"09:00 12:00\"]\n", []string{"2:9 time"}},
		{"ends before it starts", "hours:\n  sat: [\"18:00-10:00\"]\n", []string{"2:9 range-order"}},
		{"empty range", "hours:\n  sat: [\"10:00-10:00\"]\n", []string{"2:9 range-order"}},
		{"overlapping ranges", "hours:\n  mon-fri: [\"09:00-12:00\", \"11:00-20:00\"]\n", []string{"2:28 overlap"}},
		{"before the hard limit", "hours:\n  daily: [\"07:30-12:00\"]\n", []string{"2:11 hard-limit"}},
		{"after the hard limit", "hours:\n  daily:\n    - \"14:00-21:30\"\n", []string{"3:7 hard-limit"}},
		{"bad holiday date", "hours:\n  daily: [\"09:00-20:00\"]\nholidays: [\"2026-10-01\", \"2026-02-30\", \"1/10/2026\"]\n", []string{"3:26 date", "3:40 date"}},
		{"unknown key", "hours:\n  daily: [\"09:00-20:00\"]\ntimezone: Asia/Shanghai\n", []string{"3:1 unknown-key"}},
		{"hours missing", "holidays: [\"2026-10-01\"]\n", []string{"1:1 required"}},
		{"hours not a mapping", "hours: [\"09:00-20:00\"]\n", []string{"1:8 type"}},
		{"ranges not a list", "hours:\n  mon: \"09:00-20:00\"\n", []string{"2:8 type"}},
		{"empty file", "", []string{"1:1 required"}},
		// yaml.v3 gives only a line, that of the block the error is in.
		{"yaml syntax", "hours:\n  mon: [\"09:00-20:00\"]\n tue: [\"09:00-20:00\"]\n", []string{"2:3 yaml-syntax"}},
		{"two documents", "hours: {}\n---\nhours: {}\n", []string{"2:1 yaml-syntax"}},
		{"several errors, in file order", "hours:\n  xyz: [\"09:00-12:00\"]\n  sun: [\"25:00-26:00\"]\nholidays: [\"never\"]\n", []string{"2:3 weekday", "3:9 time", "4:12 date"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, err := campaigns.ParseCallingWindow("w.yaml", []byte(tc.src))
			if err == nil {
				t.Fatalf("accepted %+v, want errors %v", w, tc.want)
			}
			var errs campaigns.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %T %v is not campaigns.Errors", err, err)
			}
			var got []string
			for _, e := range errs {
				got = append(got, strconv.Itoa(e.Line)+":"+strconv.Itoa(e.Col)+" "+e.Rule)
				if !strings.HasPrefix(e.Error(), "w.yaml:"+strconv.Itoa(e.Line)+":"+strconv.Itoa(e.Col)+": ") {
					t.Errorf("message %q does not start with file:line:col", e.Error())
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("errors %q, want %q\n%v", got, tc.want, err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	bad := map[string]campaigns.TimeRange{
		"inverted":   {Start: campaigns.Clock(12, 0), End: campaigns.Clock(9, 0)},
		"too early":  {Start: campaigns.Clock(7, 59), End: campaigns.Clock(9, 0)},
		"too late":   {Start: campaigns.Clock(9, 0), End: campaigns.Clock(21, 1)},
		"whole day":  {Start: 0, End: 24 * 3600},
		"zero width": {Start: campaigns.Clock(9, 0), End: campaigns.Clock(9, 0)},
	}
	for name, r := range bad {
		w := &campaigns.CallingWindow{}
		w.Hours[time.Tuesday] = []campaigns.TimeRange{r}
		if w.Validate() == nil {
			t.Errorf("%s range %v: Validate accepted it", name, r)
		}
	}
	w := campaigns.DefaultUS()
	w.Hours[time.Monday] = []campaigns.TimeRange{{Start: campaigns.Clock(14, 0), End: campaigns.Clock(20, 0)}, {Start: campaigns.Clock(9, 0), End: campaigns.Clock(15, 0)}}
	if w.Validate() == nil {
		t.Error("overlapping, unsorted ranges: Validate accepted them")
	}
	w = campaigns.DefaultUS()
	w.Holidays = []campaigns.Date{{Year: 2026, Month: 2, Day: 30}}
	if w.Validate() == nil {
		t.Error("holiday 2026-02-30: Validate accepted it")
	}
}

// fuzzZones are zones with whole, half and odd-quarter hour offsets, both
// hemispheres' DST, and the International Date Line.
var fuzzZones = []string{"America/New_York", "America/Los_Angeles", "Asia/Shanghai", "Asia/Kolkata",
	"Pacific/Chatham", "Australia/Lord_Howe", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Europe/London", "UTC"}

// FuzzParseCallingWindow: the parser never panics, errors always name a
// place and a rule, and an accepted window is valid and never open outside
// 08:00–21:00 local in any zone.
func FuzzParseCallingWindow(f *testing.F) {
	for _, name := range []string{"china.yaml", "us.yaml"} {
		f.Add(mustRead(f, name), int64(0))
	}
	f.Add([]byte("hours:\n  mon-fri: [\"09:00-12:00\", \"14:00-20:00\"]\n  sat: [\"10:00-18:00\"]\nholidays: [\"2026-10-01\"]\n"), int64(1782000000))
	f.Add([]byte("hours: {daily: [\"08:00-21:00\"]}\n"), int64(1772953200))
	f.Add([]byte("hours:\n  sat,sun: [\"07:00-22:00\"]\n"), int64(-1))
	f.Add([]byte("hours: &a {mon: *a}\n"), int64(5))
	var zones []*time.Location
	for _, name := range fuzzZones {
		zones = append(zones, zone(f, name))
	}
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, src []byte, seed int64) {
		w, err := campaigns.ParseCallingWindow("f.yaml", src)
		if err != nil {
			var errs campaigns.Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error %T is not a non-empty campaigns.Errors: %v", err, err)
			}
			for _, e := range errs {
				if e.Line < 1 || e.Col < 1 || e.Rule == "" || e.Msg == "" {
					t.Fatalf("error without place or rule: %#v", e)
				}
			}
			return
		}
		if err := w.Validate(); err != nil {
			t.Fatalf("accepted an invalid window: %v", err)
		}
		// Probe a spread of instants over a year, including DST days.
		start := base.Add(time.Duration(seed%(366*24*3600)) * time.Second)
		if seed < 0 {
			start = base.Add(-time.Duration(seed%(366*24*3600)) * time.Second)
		}
		for i, loc := range zones {
			at := start.Add(time.Duration(i) * 7 * time.Hour)
			for step := 0; step < 30; step++ {
				at = at.Add(97 * time.Minute)
				checkInLimit(t, w, at, loc)
				if next, ok := w.NextOpen(at, loc); ok {
					checkInLimit(t, w, next, loc)
					if !w.Open(next, loc) {
						t.Fatalf("NextOpen(%s) = %s, not open", at, next)
					}
					until := w.OpenUntil(next, loc)
					checkInLimit(t, w, until.Add(-time.Nanosecond), loc)
				}
			}
			// The safe reading with two zones can only narrow the window.
			other := zones[(i+3)%len(zones)]
			if w.Open(at, loc, other) && !(w.Open(at, loc) && w.Open(at, other)) {
				t.Fatalf("open in two zones but not in each")
			}
		}
	})
}

// checkInLimit fails if the window is open at t while t is outside the hard
// limit in loc.
func checkInLimit(t *testing.T, w *campaigns.CallingWindow, at time.Time, loc *time.Location) {
	t.Helper()
	if !w.Open(at, loc) {
		return
	}
	h, m, s := at.In(loc).Clock()
	if tod := campaigns.TimeOfDay(h*3600 + m*60 + s); tod < campaigns.HardLimitStart || tod >= campaigns.HardLimitEnd {
		t.Fatalf("open at %s local in %s, outside the hard limit", at.In(loc).Format(time.DateTime), loc)
	}
}

// BenchmarkNextOpen is the per-contact check in dispatch: a two-zone
// contact on a Saturday night, whose next opening is Monday.
func BenchmarkNextOpen(b *testing.B) {
	ny, la, sh := zone(b, "America/New_York"), zone(b, "America/Los_Angeles"), zone(b, "Asia/Shanghai")
	us, china := campaigns.DefaultUS(), window(b, string(mustRead(b, "china.yaml")))
	at := time.Date(2026, 6, 14, 3, 0, 0, 0, time.UTC)
	b.Run("us-two-zones-weekend", func(b *testing.B) {
		for b.Loop() {
			if _, ok := us.NextOpen(at, la, ny); !ok {
				b.Fatal("never")
			}
		}
	})
	b.Run("china-open-now", func(b *testing.B) {
		for b.Loop() {
			if _, ok := china.NextOpen(at, sh); !ok {
				b.Fatal("never")
			}
		}
	})
	b.Run("never-overlap-14-days", func(b *testing.B) {
		for b.Loop() {
			if _, ok := china.NextOpen(at, sh, ny); ok {
				b.Fatal("open")
			}
		}
	})
}
