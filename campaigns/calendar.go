package campaigns

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/huifang/huifang/internal/srcerr"
	"gopkg.in/yaml.v3"
)

// TimeOfDay is a local wall-clock time as seconds after midnight.
type TimeOfDay int32

// Clock returns the time of day hour:min:00.
func Clock(hour, min int) TimeOfDay { return TimeOfDay(hour*3600 + min*60) }

func (d TimeOfDay) String() string {
	s := int(d)
	if s%60 != 0 {
		return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/3600, s/60%60)
}

// TimeRange is a half-open range of local time [Start, End): a window
// 09:00–12:00 opens at 09:00:00 and is closed from 12:00:00 on.
type TimeRange struct {
	Start, End TimeOfDay
}

func (r TimeRange) String() string { return r.Start.String() + "-" + r.End.String() }

// The hard limit no calling window can widen: 08:00–21:00 in the recipient's
// zone (DOMAIN.md, compliance defaults, for both the US and China).
// Validate rejects ranges outside it, and Open clips to it as well, so a
// window built by hand without validation still cannot call at night.
const (
	HardLimitStart TimeOfDay = 8 * 3600
	HardLimitEnd   TimeOfDay = 21 * 3600
)

// SearchHorizon bounds NextOpen. A window that opens later than this (or
// never) reports false; the caller should look again later rather than
// conclude the contact is unreachable for good.
const SearchHorizon = 14 * 24 * time.Hour

// Date is a calendar date in the recipient's zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// CallingWindow says when a recipient may be contacted, in local time.
type CallingWindow struct {
	// Hours lists, per weekday (indexed by time.Weekday, so Sunday is 0), the
	// open ranges of local time, sorted and not overlapping. Gaps between
	// ranges are breaks (China's 12:00–14:00). A day with none is closed.
	Hours [7][]TimeRange
	// Holidays are local dates with no contact all day, sorted.
	Holidays []Date
}

// DefaultChina is 09:00–12:00 and 14:00–20:00 every day (DOMAIN.md §3
// names no closed weekday for China).
func DefaultChina() *CallingWindow {
	w := &CallingWindow{}
	for d := range w.Hours {
		w.Hours[d] = []TimeRange{{Clock(9, 0), Clock(12, 0)}, {Clock(14, 0), Clock(20, 0)}}
	}
	return w
}

// DefaultUS is 09:00–20:00 Monday to Saturday; Sunday is closed.
func DefaultUS() *CallingWindow {
	w := &CallingWindow{}
	for d := time.Monday; d <= time.Saturday; d++ {
		w.Hours[d] = []TimeRange{{Clock(9, 0), Clock(20, 0)}}
	}
	return w
}

// Validate reports the first rule the window breaks: a range that is empty
// or inverted, lies outside the hard limit, or overlaps or is out of order
// with the one before it.
func (w *CallingWindow) Validate() error {
	for d, rs := range w.Hours {
		for i, r := range rs {
			switch {
			case r.End <= r.Start:
				return fmt.Errorf("%s range %s: ends before it starts", time.Weekday(d), r)
			case r.Start < HardLimitStart || r.End > HardLimitEnd:
				return fmt.Errorf("%s range %s: outside the hard limit %s", time.Weekday(d), r, TimeRange{HardLimitStart, HardLimitEnd})
			case i > 0 && r.Start < rs[i-1].End:
				return fmt.Errorf("%s range %s: overlaps or precedes %s", time.Weekday(d), r, rs[i-1])
			}
		}
	}
	for _, h := range w.Holidays {
		if t := time.Date(h.Year, h.Month, h.Day, 0, 0, 0, 0, time.UTC); (Date{t.Year(), t.Month(), t.Day()}) != h {
			return fmt.Errorf("holiday %s: not a date", h)
		}
	}
	return nil
}

// Open reports whether t is inside the window in every given zone: with
// the address's zone and the number's zone both given, only times open in
// both count (the safe reading). With no zones, or a nil one, the
// recipient's local time is unknown and Open is false.
func (w *CallingWindow) Open(t time.Time, zones ...*time.Location) bool {
	if len(zones) == 0 {
		return false
	}
	for _, z := range zones {
		if z == nil || !w.openIn(t, z) {
			return false
		}
	}
	return true
}

// NextOpen returns the earliest instant at or after t at which Open is true,
// to the nanosecond, searching SearchHorizon ahead. It is false when there
// is none in that time: no zones, every day a holiday or closed, or zones
// whose windows never overlap.
func (w *CallingWindow) NextOpen(t time.Time, zones ...*time.Location) (time.Time, bool) {
	if len(zones) == 0 || slices.Contains(zones, nil) {
		return time.Time{}, false
	}
	limit := t.Add(SearchHorizon)
	c := t
	// Move the candidate to each zone's next opening until all agree: every
	// move lands on the start of some zone's open stretch, so this ends.
	for {
		moved := false
		for _, z := range zones {
			n, ok := w.nextIn(c, limit, z, true)
			if !ok {
				return time.Time{}, false
			}
			if !n.Equal(c) {
				c, moved = n, true
			}
		}
		if !moved {
			return c, true
		}
	}
}

// OpenUntil returns when the open stretch containing t closes: the first
// instant after t at which Open is false. If the window is closed at t it
// returns t. An SMS sent at t should carry a validity period ending by then,
// and a queued contact is dialled only while t is before it.
func (w *CallingWindow) OpenUntil(t time.Time, zones ...*time.Location) time.Time {
	if !w.Open(t, zones...) {
		return t
	}
	end := t.Add(SearchHorizon)
	for _, z := range zones {
		if n, ok := w.nextIn(t, end, z, false); ok && n.Before(end) {
			end = n
		}
	}
	return end
}

// openIn reports whether t is open in one zone.
func (w *CallingWindow) openIn(t time.Time, z *time.Location) bool {
	lt := t.In(z)
	y, m, d := lt.Date()
	if w.holiday(Date{y, m, d}) {
		return false
	}
	h, mi, s := lt.Clock()
	sec := TimeOfDay(h*3600 + mi*60 + s)
	for _, r := range w.Hours[lt.Weekday()] {
		if sec >= max(r.Start, HardLimitStart) && sec < min(r.End, HardLimitEnd) {
			return true
		}
	}
	return false
}

func (w *CallingWindow) holiday(d Date) bool {
	for _, h := range w.Holidays {
		if h == d {
			return true
		}
	}
	return false
}

// nextIn returns the first instant in [t, limit) at which openIn(·, z)
// equals want. It walks from one possible change to the next; see nextChange.
func (w *CallingWindow) nextIn(t, limit time.Time, z *time.Location, want bool) (time.Time, bool) {
	for x := t; x.Before(limit); x = w.nextChange(x, z) {
		if w.openIn(x, z) == want {
			return x, true
		}
	}
	return time.Time{}, false
}

// nextChange returns the earliest instant after x at which openIn(·, z) may
// differ from its value at x. Until the zone's next offset change, local
// time runs in step with x, so that is the nearer of the next range edge or
// midnight in local time, and the offset change itself (DST: local time
// jumps, perhaps over a range edge or back across one).
func (w *CallingWindow) nextChange(x time.Time, z *time.Location) time.Time {
	lt := x.In(z)
	h, mi, s := lt.Clock()
	wall := time.Duration(h*3600+mi*60+s)*time.Second + time.Duration(lt.Nanosecond())
	next := 24 * time.Hour
	for _, r := range w.Hours[lt.Weekday()] {
		for _, e := range [2]TimeOfDay{max(r.Start, HardLimitStart), min(r.End, HardLimitEnd)} {
			if at := time.Duration(e) * time.Second; at > wall && at < next {
				next = at
			}
		}
	}
	n := x.Add(next - wall)
	if _, zoneEnd := lt.ZoneBounds(); !zoneEnd.IsZero() && zoneEnd.Before(n) {
		n = zoneEnd
	}
	return n
}

// Rules broken by a campaign definition, named in every Error.
const (
	RuleSyntax      = "yaml-syntax" // YAML itself does not parse
	RuleType        = "type"        // a value of the wrong shape
	RuleUnknownKey  = "unknown-key" // a key the format does not define
	RuleDuplicate   = "duplicate"   // the same key, or the same weekday, twice
	RuleRequired    = "required"    // a field that must be present is missing
	RuleWeekday     = "weekday"     // a weekday key that does not parse
	RuleTime        = "time"        // a time or range that does not parse
	RuleRangeOrder  = "range-order" // a range that ends at or before its start
	RuleOverlap     = "overlap"     // ranges of one day that overlap
	RuleHardLimit   = "hard-limit"  // a range outside 08:00–21:00
	RuleDate        = "date"        // a holiday that is not a YYYY-MM-DD date
	RuleTooManyErrs = "too-many-errors"
)

// Error is one problem in a definition file: where, which rule, and what.
type Error = srcerr.Error

// Errors is every problem found in one file, in file order.
type Errors = srcerr.Errors

const (
	maxWindowSource = 64 << 10
	maxErrors       = 50
)

var (
	syntaxErrRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	clockRe     = regexp.MustCompile(`^([0-9]{2}):([0-9]{2})$`)
	dayNames    = map[string]time.Weekday{
		"mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday,
		"fri": time.Friday, "sat": time.Saturday, "sun": time.Sunday,
	}
)

// ParseCallingWindow reads a calling window from YAML:
//
//	hours:
//	  mon-fri: ["09:00-12:00", "14:00-20:00"]
//	  sat: ["10:00-18:00"]
//	holidays: ["2026-10-01", "2026-10-02"]
//
// Weekday keys are a day (mon … sun), a range within Mon..Sun ("mon-fri"),
// a comma list ("sat,sun") or "daily"; each weekday may be given once; days
// not given are closed. Ranges are "HH:MM-HH:MM", half-open, within the hard
// limit 08:00–21:00. file names the source in errors. On failure the error
// is an Errors, each naming line:col and the rule broken.
func ParseCallingWindow(file string, src []byte) (*CallingWindow, error) {
	p := &windowParser{file: file}
	if len(src) > maxWindowSource {
		p.errAt(1, 1, RuleType, "the file is %d bytes; a calling window must be under %d", len(src), maxWindowSource)
		return nil, p.errs
	}
	var doc yaml.Node
	err := decodeYAML(src, &doc)
	switch {
	case errors.Is(err, io.EOF):
		p.errAt(1, 1, RuleRequired, "the file is empty: a calling window needs hours")
	case err != nil:
		p.syntaxError(src, err)
	case doc.Kind != yaml.DocumentNode || len(doc.Content) != 1:
		p.errAt(1, 1, RuleSyntax, "not a YAML document")
	}
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	w := p.window(doc.Content[0])
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool {
			a, b := p.errs[i], p.errs[j]
			return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
		})
		return nil, p.errs
	}
	return w, nil
}

// decodeYAML reads the one document of src. The YAML library is not ours:
// should it panic on some input, that comes back as an error.
func decodeYAML(src []byte, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: the YAML parser failed: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(n); err != nil {
		return err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return err
		}
		return fmt.Errorf("yaml: line %d: a calling window is one YAML document; a second one starts here", extra.Line)
	}
	return nil
}

type windowParser struct {
	file string
	errs Errors
}

func (p *windowParser) errAt(line, col int, rule, format string, args ...any) {
	if len(p.errs) == maxErrors {
		p.errs = append(p.errs, &Error{File: p.file, Pos: srcerr.Pos{Line: line, Col: col}, Rule: RuleTooManyErrs, Msg: "too many errors; stopping here"})
	}
	if len(p.errs) > maxErrors {
		return
	}
	p.errs = append(p.errs, &Error{File: p.file, Pos: srcerr.Pos{Line: line, Col: col}, Rule: rule, Msg: fmt.Sprintf(format, args...)})
}

func (p *windowParser) errf(n *yaml.Node, rule, format string, args ...any) {
	p.errAt(n.Line, n.Column, rule, format, args...)
}

// syntaxError reports a YAML syntax error. The library gives only a line, so
// the column points at that line's first character that is not a space.
func (p *windowParser) syntaxError(src []byte, err error) {
	m := syntaxErrRe.FindStringSubmatch(err.Error())
	if m == nil {
		p.errAt(1, 1, RuleSyntax, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		return
	}
	line, _ := strconv.Atoi(m[1])
	col := 1
	if lines := strings.Split(string(src), "\n"); line >= 1 && line <= len(lines) {
		text := lines[line-1]
		col = len([]rune(text)) - len([]rune(strings.TrimLeft(text, " \t"))) + 1
	}
	p.errAt(line, col, RuleSyntax, "%s", m[2])
}

func (p *windowParser) window(root *yaml.Node) *CallingWindow {
	if root.Kind != yaml.MappingNode {
		p.errf(root, RuleType, "a calling window is a mapping with hours and holidays")
		return nil
	}
	w := &CallingWindow{}
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if seen[k.Value] {
			p.errf(k, RuleDuplicate, "%q is given twice", k.Value)
			continue
		}
		seen[k.Value] = true
		switch k.Value {
		case "hours":
			p.hours(v, w)
		case "holidays":
			p.holidays(v, w)
		default:
			p.errf(k, RuleUnknownKey, "unknown key %q: a calling window has hours and holidays", k.Value)
		}
	}
	if !seen["hours"] {
		p.errf(root, RuleRequired, "hours is missing: without it the window is never open")
	}
	return w
}

func (p *windowParser) hours(n *yaml.Node, w *CallingWindow) {
	if n.Kind != yaml.MappingNode {
		p.errf(n, RuleType, "hours is a mapping of weekdays to lists of ranges, e.g. mon-fri: [\"09:00-20:00\"]")
		return
	}
	var given [7]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		days, ok := p.weekdays(k)
		ranges, rok := p.ranges(v)
		if !ok || !rok {
			continue
		}
		for _, d := range days {
			if prev := given[d]; prev != nil {
				p.errf(k, RuleDuplicate, "%s is already given at line %d", d, prev.Line)
				continue
			}
			given[d] = k
			w.Hours[d] = slices.Clone(ranges)
		}
	}
}

// weekdays parses a key such as "mon", "mon-fri", "sat,sun" or "daily".
func (p *windowParser) weekdays(k *yaml.Node) ([]time.Weekday, bool) {
	if k.Kind != yaml.ScalarNode {
		p.errf(k, RuleWeekday, "a weekday key is text such as mon-fri, sat,sun or daily")
		return nil, false
	}
	key := strings.ToLower(strings.TrimSpace(k.Value))
	if key == "daily" {
		return []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}, true
	}
	var days []time.Weekday
	for part := range strings.SplitSeq(key, ",") {
		part = strings.TrimSpace(part)
		from, to, isRange := strings.Cut(part, "-")
		a, okA := dayNames[strings.TrimSpace(from)]
		b, okB := a, okA
		if isRange {
			b, okB = dayNames[strings.TrimSpace(to)]
		}
		if !okA || !okB {
			p.errf(k, RuleWeekday, "unknown weekday %q: use mon, tue, wed, thu, fri, sat, sun, a range such as mon-fri, a list such as sat,sun, or daily", part)
			return nil, false
		}
		// Weeks run Monday to Sunday here: index Sunday as 7.
		ia, ib := (int(a)+6)%7, (int(b)+6)%7
		if ib < ia {
			p.errf(k, RuleWeekday, "day range %q runs backwards: weeks run mon to sun, so write e.g. fri-sun,mon", part)
			return nil, false
		}
		for i := ia; i <= ib; i++ {
			days = append(days, time.Weekday((i+1)%7))
		}
	}
	return days, true
}

// ranges parses a list of "HH:MM-HH:MM", checking each and their overlaps.
func (p *windowParser) ranges(n *yaml.Node) ([]TimeRange, bool) {
	if n.Kind != yaml.SequenceNode {
		p.errf(n, RuleType, "a weekday takes a list of ranges, e.g. [\"09:00-12:00\", \"14:00-20:00\"]")
		return nil, false
	}
	ok := true
	var rs []TimeRange
	var nodes []*yaml.Node
	for _, item := range n.Content {
		r, good := p.timeRange(item)
		if !good {
			ok = false
			continue
		}
		rs = append(rs, r)
		nodes = append(nodes, item)
	}
	// Sort by start, then any range starting before its predecessor ends
	// overlaps it; touching ranges (12:00-14:00, 14:00-20:00) are fine.
	idx := make([]int, len(rs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return rs[idx[a]].Start < rs[idx[b]].Start })
	sorted := make([]TimeRange, len(rs))
	for i, j := range idx {
		sorted[i] = rs[j]
		if i > 0 && rs[j].Start < sorted[i-1].End {
			p.errf(nodes[j], RuleOverlap, "%s overlaps %s", rs[j], sorted[i-1])
			ok = false
		}
	}
	return sorted, ok
}

func (p *windowParser) timeRange(n *yaml.Node) (TimeRange, bool) {
	if n.Kind != yaml.ScalarNode {
		p.errf(n, RuleTime, "a range is text such as \"09:00-12:00\"")
		return TimeRange{}, false
	}
	s := strings.ReplaceAll(n.Value, "–", "-") // an en dash copied from a document
	from, to, found := strings.Cut(s, "-")
	if !found {
		p.errf(n, RuleTime, "range %q: write it as HH:MM-HH:MM, e.g. 09:00-12:00", n.Value)
		return TimeRange{}, false
	}
	start, ok1 := parseClock(strings.TrimSpace(from))
	end, ok2 := parseClock(strings.TrimSpace(to))
	switch {
	case !ok1 || !ok2:
		p.errf(n, RuleTime, "range %q: times are HH:MM on a 24-hour clock, 00:00 to 23:59", n.Value)
	case end <= start:
		p.errf(n, RuleRangeOrder, "range %q ends at or before it starts (ranges cannot cross midnight)", n.Value)
	case start < HardLimitStart || end > HardLimitEnd:
		p.errf(n, RuleHardLimit, "range %q is outside the hard limit %s that no window may widen", n.Value, TimeRange{HardLimitStart, HardLimitEnd})
	default:
		return TimeRange{start, end}, true
	}
	return TimeRange{}, false
}

func parseClock(s string) (TimeOfDay, bool) {
	m := clockRe.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	if h > 23 || mi > 59 {
		return 0, false
	}
	return Clock(h, mi), true
}

func (p *windowParser) holidays(n *yaml.Node, w *CallingWindow) {
	if n.Kind != yaml.SequenceNode {
		p.errf(n, RuleType, "holidays is a list of dates, e.g. [\"2026-10-01\"]")
		return
	}
	for _, item := range n.Content {
		t, err := time.Parse(time.DateOnly, item.Value)
		if item.Kind != yaml.ScalarNode || err != nil {
			p.errf(item, RuleDate, "holiday %q is not a date: write YYYY-MM-DD, e.g. 2026-10-01", item.Value)
			continue
		}
		d := Date{t.Year(), t.Month(), t.Day()}
		if !slices.Contains(w.Holidays, d) {
			w.Holidays = append(w.Holidays, d)
		}
	}
	slices.SortFunc(w.Holidays, func(a, b Date) int {
		return strings.Compare(a.String(), b.String())
	})
}
