package web

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/audit"
)

// The dashboard and the provider scorecards. Every figure is read with a
// few set-based queries bounded by time (attempts by created_at, flags by
// the queue index and decided_at, answers by received_at), so the pages
// stay fast however many jobs the database holds. "Today" is the server's
// local day (time.Local) on the console's clock.

// dashboardPages registers this area's pages.
func (s *Server) dashboardPages(handle func(pattern string, h http.HandlerFunc)) {
	handle("GET /{$}", s.page(pagesAny, s.dashboardPage))
	handle("GET /providers", s.page(pagesAny, s.providersPage))
	handle("GET /providers/{code}", s.page(pagesAny, s.providerPage))
}

// trendDays is how many days the CSAT and NPS trend covers, today included.
const trendDays = 14

// severityOrder in the queue's order.
var severityOrder = []audit.Severity{audit.Critical, audit.High, audit.Medium, audit.Low}

// severityColour matches the console's severity colours.
var severityColour = map[audit.Severity]string{
	audit.Critical: "#b3261e", audit.High: "#c25e00", audit.Medium: "#8a6d00", audit.Low: "#4a6b7c",
}

// reachedSQL says an attempt reached a person: a call picked up, or an
// outcome only a person gives (an SMS replied to, a survey hung up on).
const reachedSQL = `(answered_at IS NOT NULL OR outcome IN ('completed', 'partial', 'hung_up', 'opted_out'))`

// DashboardPage is what the dashboard shows.
type DashboardPage struct {
	Day      string // today, YYYY-MM-DD in the server's zone
	Zone     string
	Attempts int // every attempt created today
	// Ended attempts reached the carrier and have an outcome (suppressed
	// and never-placed attempts are not dials and are left out);
	// InProgress have none yet.
	Ended      int
	InProgress int
	// Reached: a person picked up or replied; Answered: the survey was
	// answered in full or in part.
	Reached     int
	Answered    int
	ContactRate *float64 // Reached ÷ Ended, percent
	AnswerRate  *float64 // Answered ÷ Ended, percent
	ByOutcome   []OutcomeCount
	// Flags: undecided by severity, and decided today.
	Open        map[audit.Severity]int
	DecidedDay  map[audit.Severity]int
	OpenTotal   int
	DecidedTot  int
	Overdue     int
	CSAT        []LinePoint // one per day, oldest first
	NPS         []LinePoint
	Campaigns   []CampaignProgress
	AttemptsSVG template.HTML
	FlagsSVG    template.HTML
	CSATSVG     template.HTML
	NPSSVG      template.HTML
	ProgressSVG template.HTML
	// Shown beside the figures.
	ContactRateText, AnswerRateText string
}

// OutcomeCount is how many of today's attempts ended one way.
type OutcomeCount struct {
	Outcome string // "" while in progress
	N       int
}

// CampaignProgress is an active campaign's contacts done of all.
type CampaignProgress struct {
	Name  string
	Done  int
	Total int
}

// localDayStart is the start of t's day in the server's zone.
func localDayStart(t time.Time) time.Time {
	t = t.In(time.Local)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.Local)
}

// loadDashboard reads the dashboard's figures at now.
func (s *Server) loadDashboard(ctx context.Context, now time.Time) (*DashboardPage, error) {
	today := localDayStart(now)
	tomorrow := today.AddDate(0, 0, 1)
	days := make([]time.Time, trendDays)
	for i := range days {
		days[i] = today.AddDate(0, 0, i-trendDays+1)
	}
	d := &DashboardPage{Day: today.Format("2006-01-02"), Zone: today.Format("MST"),
		Open: map[audit.Severity]int{}, DecidedDay: map[audit.Severity]int{}}
	csat := make([][2]int, trendDays) // answers, top-two-box
	nps := make([][3]int, trendDays)  // answers, promoters, detractors

	// The queries are independent: they run at once, each on its own
	// connection, and the page waits for the slowest.
	q := &queries{}
	q.Queue(`
SELECT coalesce(outcome, ''), count(*), count(*) FILTER (WHERE outcome IS NOT NULL AND `+reachedSQL+`),
       count(*) FILTER (WHERE outcome IN ('completed', 'partial'))
FROM attempts WHERE created_at >= $1 AND created_at < $2
GROUP BY 1 ORDER BY 2 DESC, 1`, today, tomorrow).Query(func(rows pgx.Rows) error {
		var oc OutcomeCount
		var reached, answered int
		_, err := pgx.ForEachRow(rows, []any{&oc.Outcome, &oc.N, &reached, &answered}, func() error {
			d.Attempts += oc.N
			switch oc.Outcome {
			case "":
				d.InProgress += oc.N
			case "suppressed", "not_placed":
			default:
				d.Ended += oc.N
			}
			d.Reached += reached
			d.Answered += answered
			d.ByOutcome = append(d.ByOutcome, oc)
			return nil
		})
		return err
	})
	// The queue's index holds exactly the undecided flags.
	q.Queue(`
SELECT priority, count(*), count(*) FILTER (WHERE due_at < $1)
FROM flags WHERE state <> 'decided' GROUP BY priority`, now).Query(func(rows pgx.Rows) error {
		var p, n, overdue int
		_, err := pgx.ForEachRow(rows, []any{&p, &n, &overdue}, func() error {
			if p >= 1 && p <= len(severityOrder) {
				d.Open[severityOrder[p-1]] = n
			}
			d.OpenTotal += n
			d.Overdue += overdue
			return nil
		})
		return err
	})
	q.Queue(`
SELECT priority, count(*) FROM flags
WHERE state = 'decided' AND decided_at >= $1 AND decided_at < $2 GROUP BY priority`, today, tomorrow).Query(func(rows pgx.Rows) error {
		var p, n int
		_, err := pgx.ForEachRow(rows, []any{&p, &n}, func() error {
			if p >= 1 && p <= len(severityOrder) {
				d.DecidedDay[severityOrder[p-1]] = n
			}
			d.DecidedTot += n
			return nil
		})
		return err
	})
	// A fact counts once per session, its latest answer; a retracted
	// answer not given again does not count. Days are the server's local
	// days: bucket i is [days[i-1], days[i]).
	q.Queue(`
WITH last AS (
    SELECT DISTINCT ON (a.session_id, a.fact) a.fact, a.event, a.value, a.received_at
    FROM survey_answers a
    WHERE a.fact IN ('csat', 'nps') AND a.event IN ('answer', 'retract')
      AND a.received_at >= $1 AND a.received_at < $2
    ORDER BY a.session_id, a.fact, a.seq DESC
)
SELECT width_bucket(received_at, $3::timestamptz[]), fact, count(*),
       count(*) FILTER (WHERE coalesce((value->>'int')::int, 0) >= 4),
       count(*) FILTER (WHERE coalesce((value->>'int')::int, 0) >= 9),
       count(*) FILTER (WHERE coalesce((value->>'int')::int, 0) <= 6)
FROM last WHERE event = 'answer' GROUP BY 1, 2`, days[0], tomorrow, days).Query(func(rows pgx.Rows) error {
		var bucket, n, top, promoters, detractors int
		var fact string
		_, err := pgx.ForEachRow(rows, []any{&bucket, &fact, &n, &top, &promoters, &detractors}, func() error {
			if bucket < 1 || bucket > trendDays {
				return nil
			}
			switch fact {
			case "csat":
				csat[bucket-1] = [2]int{n, top}
			case "nps":
				nps[bucket-1] = [3]int{n, promoters, detractors}
			}
			return nil
		})
		return err
	})
	// Progress from the contacts' indexes: all of a campaign's (the unique
	// index), less the queued (contacts_due_idx) and the dialing.
	q.Queue(`
SELECT c.name,
       (SELECT count(*) FROM contacts k WHERE k.campaign_id = c.id),
       (SELECT count(*) FROM contacts k WHERE k.campaign_id = c.id AND k.state = 'queued'),
       (SELECT count(*) FROM contacts k WHERE k.campaign_id = c.id AND k.state = 'dialing')
FROM campaigns c WHERE c.state = 'active'
ORDER BY c.name LIMIT 20`).Query(func(rows pgx.Rows) error {
		var cp CampaignProgress
		var queued, dialing int
		_, err := pgx.ForEachRow(rows, []any{&cp.Name, &cp.Total, &queued, &dialing}, func() error {
			cp.Done = cp.Total - queued - dialing
			d.Campaigns = append(d.Campaigns, cp)
			return nil
		})
		return err
	})
	if err := q.run(ctx, s.Pool); err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	d.ContactRate = ratePercent(d.Reached, d.Ended)
	d.AnswerRate = ratePercent(d.Answered, d.Ended)
	for i, day := range days {
		label := day.Format("01-02")
		p := LinePoint{Label: label, N: csat[i][0]}
		if csat[i][0] > 0 {
			p.Value = ratePercent(csat[i][1], csat[i][0])
		}
		d.CSAT = append(d.CSAT, p)
		q := LinePoint{Label: label, N: nps[i][0]}
		if nps[i][0] > 0 {
			v := 100 * float64(nps[i][1]-nps[i][2]) / float64(nps[i][0])
			q.Value = &v
		}
		d.NPS = append(d.NPS, q)
	}
	return d, nil
}

// queries are read-only queries run at once, each on its own connection.
type queries []*pendingQuery

type pendingQuery struct {
	sql  string
	args []any
	read func(pgx.Rows) error
}

// Queue adds a query; Query sets what reads its rows.
func (q *queries) Queue(sql string, args ...any) *pendingQuery {
	p := &pendingQuery{sql: sql, args: args}
	*q = append(*q, p)
	return p
}

func (p *pendingQuery) Query(read func(pgx.Rows) error) { p.read = read }

// run runs the queries concurrently and returns the first error.
func (q queries) run(ctx context.Context, pool *pgxpool.Pool) error {
	errs := make([]error, len(q))
	var wg sync.WaitGroup
	for i, p := range q {
		wg.Go(func() {
			rows, err := pool.Query(ctx, p.sql, p.args...)
			if err == nil {
				err = p.read(rows)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func ratePercent(n, of int) *float64 {
	if of == 0 {
		return nil
	}
	v := 100 * float64(n) / float64(of)
	return &v
}

// fmtPercent writes a percentage with one decimal, or a dash when nothing was
// measured.
func fmtPercent(v *float64) string {
	if v == nil {
		return "–"
	}
	return strconv.FormatFloat(*v, 'f', 1, 64) + "%"
}

// charts draws the dashboard's charts in lang.
func (d *DashboardPage) charts(lang string) {
	tr := func(k string) string { return translate(lang, k) }
	var outcomes []Bar
	for _, o := range d.ByOutcome {
		name := o.Outcome
		if name == "" {
			name = "in_progress"
		}
		outcomes = append(outcomes, Bar{Label: tr("outcome." + name), Value: float64(o.N)})
	}
	d.AttemptsSVG = BarChart{ID: "chart-attempts", Title: tr("dash.attempts_chart"),
		Desc:   fmt.Sprintf(tr("dash.attempts_desc"), d.Attempts, d.Day),
		XLabel: tr("dash.attempts_axis"), Bars: outcomes, Empty: tr("dash.none_today")}.SVG()
	var flags []Bar
	for _, sev := range severityOrder {
		flags = append(flags,
			Bar{Label: tr("severity."+string(sev)) + " · " + tr("dash.open"), Value: float64(d.Open[sev]), Colour: severityColour[sev]},
			Bar{Label: tr("severity."+string(sev)) + " · " + tr("dash.decided"), Value: float64(d.DecidedDay[sev]), Colour: "#8fa3b5"})
	}
	d.FlagsSVG = BarChart{ID: "chart-flags", Title: tr("dash.flags_chart"),
		Desc:   fmt.Sprintf(tr("dash.flags_desc"), d.OpenTotal, d.DecidedTot, d.Overdue),
		XLabel: tr("dash.flags_axis"), Bars: flags}.SVG()
	d.CSATSVG = LineChart{ID: "chart-csat", Title: tr("dash.csat_chart"), Desc: tr("dash.csat_desc"),
		XLabel: tr("dash.day_axis"), YLabel: "CSAT %", Points: d.CSAT, YMin: 0, YMax: 100}.SVG()
	d.NPSSVG = LineChart{ID: "chart-nps", Title: tr("dash.nps_chart"), Desc: tr("dash.nps_desc"),
		XLabel: tr("dash.day_axis"), YLabel: "NPS", Points: d.NPS, YMin: -100, YMax: 100}.SVG()
	var progress []Bar
	for _, c := range d.Campaigns {
		progress = append(progress, Bar{Label: c.Name, Value: float64(c.Done), Total: float64(c.Total)})
	}
	d.ProgressSVG = BarChart{ID: "chart-campaigns", Title: tr("dash.campaigns_chart"), Desc: tr("dash.campaigns_desc"),
		XLabel: tr("dash.campaigns_axis"), Bars: progress, Empty: tr("dash.no_campaigns")}.SVG()
	d.ContactRateText, d.AnswerRateText = fmtPercent(d.ContactRate), fmtPercent(d.AnswerRate)
}

// dashboardPage serves GET /: today's calling, the flags and the surveys'
// trend.
func (s *Server) dashboardPage(w http.ResponseWriter, r *http.Request) {
	d, err := s.loadDashboard(r.Context(), s.now())
	if err != nil {
		s.dashError(w, r, err)
		return
	}
	lang := dashLang(r)
	d.charts(lang)
	s.render(w, r, http.StatusOK, "dashboard", translate(lang, "nav.dashboard"), "dashboard", d)
}

// dashLang is the page's language.
func dashLang(r *http.Request) string {
	if u := userOf(r); u != nil && u.Lang != "" {
		return u.Lang
	}
	return "en"
}

// dashError answers a page whose data could not be read: bad input is a
// 400 naming the parameter, anything else is logged and a 500.
func (s *Server) dashError(w http.ResponseWriter, r *http.Request, err error) {
	var bad *audit.InputError
	if errors.As(err, &bad) {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.Log.Error("console: page", "path", r.URL.Path, "err", err)
	http.Error(w, "internal error", http.StatusInternalServerError)
}

// scorecardWindow reads ?from=&to= (days, YYYY-MM-DD, both included) in the
// server's zone; the default is the last 30 days, today included.
func scorecardWindow(r *http.Request, now time.Time) (from, to time.Time, fromText, toText string, err error) {
	today := localDayStart(now)
	to = today.AddDate(0, 0, 1)
	from = today.AddDate(0, 0, -29)
	if v := r.URL.Query().Get("from"); v != "" {
		d, perr := time.ParseInLocation("2006-01-02", v, time.Local)
		if perr != nil {
			return from, to, "", "", fmt.Errorf("parameter from: %q is not a day (YYYY-MM-DD)", v)
		}
		from = d
	}
	if v := r.URL.Query().Get("to"); v != "" {
		d, perr := time.ParseInLocation("2006-01-02", v, time.Local)
		if perr != nil {
			return from, to, "", "", fmt.Errorf("parameter to: %q is not a day (YYYY-MM-DD)", v)
		}
		to = d.AddDate(0, 0, 1)
	}
	if !to.After(from) {
		return from, to, "", "", fmt.Errorf("parameter to: %s is before from (%s)", to.AddDate(0, 0, -1).Format("2006-01-02"), from.Format("2006-01-02"))
	}
	if to.Sub(from) > 367*24*time.Hour {
		return from, to, "", "", fmt.Errorf("parameter to: the window from %s is longer than 366 days", from.Format("2006-01-02"))
	}
	return from, to, from.Format("2006-01-02"), to.AddDate(0, 0, -1).Format("2006-01-02"), nil
}

// ScorecardRow is one provider's line of the scorecards table.
type ScorecardRow struct {
	audit.Scorecard
	Open, Confirmed                        int
	ContactRate, CSAT, NPS, FirstFix, Risk string
}

func scorecardRow(c audit.Scorecard) ScorecardRow {
	row := ScorecardRow{Scorecard: c, ContactRate: fmtPercent(c.ContactRate), CSAT: fmtPercent(c.CSAT), FirstFix: fmtPercent(c.FirstTimeFix),
		NPS: "–", Risk: "–"}
	for _, n := range c.OpenByRule {
		row.Open += n
	}
	for _, n := range c.ConfirmedByRule {
		row.Confirmed += n
	}
	if c.NPS != nil {
		row.NPS = strconv.FormatFloat(*c.NPS, 'f', 1, 64)
	}
	if c.Risk != nil {
		row.Risk = strconv.FormatFloat(*c.Risk, 'f', 2, 64)
	}
	return row
}

// ProvidersPage is what the scorecards page shows.
type ProvidersPage struct {
	From, To string
	// Query is the window as a query string, for the table's links.
	Query template.URL
	// ComputedAt is when the scorecards were computed (they are cached).
	ComputedAt time.Time
	Sort       string
	Error      string
	Rows       []ScorecardRow
	RiskSVG    template.HTML
}

// scorecardSorts are the columns the table sorts by; risk (highest first)
// is the default.
var scorecardSorts = map[string]func(a, b ScorecardRow) int{
	"risk": func(a, b ScorecardRow) int {
		return cmp.Or(cmpDesc(a.Scorecard.Risk, b.Scorecard.Risk), cmp.Compare(a.ProviderCode, b.ProviderCode))
	},
	"code": func(a, b ScorecardRow) int { return cmp.Compare(a.ProviderCode, b.ProviderCode) },
	"jobs": func(a, b ScorecardRow) int {
		return cmp.Or(cmp.Compare(b.Jobs, a.Jobs), cmp.Compare(a.ProviderCode, b.ProviderCode))
	},
	"confirmed": func(a, b ScorecardRow) int {
		return cmp.Or(cmp.Compare(b.Confirmed, a.Confirmed), cmp.Compare(a.ProviderCode, b.ProviderCode))
	},
	"csat": func(a, b ScorecardRow) int {
		return cmp.Or(cmpDesc(b.Scorecard.CSAT, a.Scorecard.CSAT), cmp.Compare(a.ProviderCode, b.ProviderCode))
	},
}

// cmpDesc orders larger values first and missing ones last.
func cmpDesc(a, b *float64) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return cmp.Compare(*b, *a)
}

// providersPage serves GET /providers: every provider's scorecard over a
// window.
func (s *Server) providersPage(w http.ResponseWriter, r *http.Request) {
	lang := dashLang(r)
	title := translate(lang, "prov.title")
	p := &ProvidersPage{Sort: r.URL.Query().Get("sort")}
	if p.Sort == "" {
		p.Sort = "risk"
	}
	order, ok := scorecardSorts[p.Sort]
	if !ok {
		p.Error = fmt.Sprintf("parameter sort: %q is not one of risk, code, jobs, confirmed, csat", p.Sort)
		s.render(w, r, http.StatusBadRequest, "providers", title, "providers", p)
		return
	}
	from, to, fromText, toText, err := scorecardWindow(r, s.now())
	if err != nil {
		p.Error = err.Error()
		s.render(w, r, http.StatusBadRequest, "providers", title, "providers", p)
		return
	}
	p.From, p.To = fromText, toText
	p.Query = template.URL(url.Values{"from": {fromText}, "to": {toText}}.Encode())
	cards, at, err := s.loadScorecards(r.Context(), from, to)
	if err != nil {
		s.dashError(w, r, err)
		return
	}
	var bars []Bar
	for _, c := range cards {
		p.Rows = append(p.Rows, scorecardRow(c))
	}
	slices.SortStableFunc(p.Rows, order)
	for _, row := range p.Rows {
		if row.Scorecard.Risk != nil {
			bars = append(bars, Bar{Label: row.ProviderCode, Value: *row.Scorecard.Risk})
		}
	}
	slices.SortStableFunc(bars, func(a, b Bar) int { return cmp.Compare(b.Value, a.Value) })
	p.ComputedAt = at
	p.RiskSVG = BarChart{ID: "chart-risk", Title: translate(lang, "prov.risk_chart"), Desc: translate(lang, "prov.risk_desc"),
		XLabel: translate(lang, "prov.risk_axis"), Bars: bars, Max: 1, Empty: translate(lang, "prov.no_risk")}.SVG()
	s.render(w, r, http.StatusOK, "providers", title, "providers", p)
}

// Scorecards are costly: at a million jobs one computation reads a third of
// them and takes seconds. The pages therefore serve each window's
// scorecards from memory for scorecardTTL after they were computed; after
// that the next request still gets them at once while one background
// computation replaces them. Only the first request for a window waits.
const scorecardTTL = 5 * time.Minute

// scorecardCacheSize bounds how many windows are kept.
const scorecardCacheSize = 64

type scorecardKey struct {
	pool     *pgxpool.Pool
	from, to int64
}

type scorecardEntry struct {
	ready      chan struct{} // closed when cards (or err) are set
	cards      []audit.Scorecard
	err        error
	at         time.Time // when computed, on the console's clock
	refreshing bool
}

var scorecardCache = struct {
	sync.Mutex
	m map[scorecardKey]*scorecardEntry
}{m: map[scorecardKey]*scorecardEntry{}}

// loadScorecards returns the scorecards of [from, to) and when they were
// computed, from the cache when it has them.
func (s *Server) loadScorecards(ctx context.Context, from, to time.Time) ([]audit.Scorecard, time.Time, error) {
	key := scorecardKey{s.Pool, from.UnixNano(), to.UnixNano()}
	c := &scorecardCache
	c.Lock()
	e := c.m[key]
	if e == nil {
		e = &scorecardEntry{ready: make(chan struct{})}
		if len(c.m) >= scorecardCacheSize {
			var oldest scorecardKey
			var first time.Time
			for k, v := range c.m {
				if v.at.IsZero() {
					continue
				}
				if first.IsZero() || v.at.Before(first) {
					oldest, first = k, v.at
				}
			}
			delete(c.m, oldest)
		}
		c.m[key] = e
		c.Unlock()
		e.cards, e.err = s.computeScorecards(ctx, from, to)
		e.at = s.now()
		c.Lock()
		if e.err != nil {
			delete(c.m, key)
		}
		close(e.ready)
		c.Unlock()
		return e.cards, e.at, e.err
	}
	c.Unlock()
	select {
	case <-e.ready:
	case <-ctx.Done():
		return nil, time.Time{}, ctx.Err()
	}
	c.Lock()
	defer c.Unlock()
	if e.err != nil {
		return nil, time.Time{}, e.err
	}
	if s.now().Sub(e.at) >= scorecardTTL && !e.refreshing {
		e.refreshing = true
		go s.refreshScorecards(key, e, from, to)
	}
	return e.cards, e.at, nil
}

// refreshScorecards recomputes a cached window in the background.
func (s *Server) refreshScorecards(key scorecardKey, e *scorecardEntry, from, to time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cards, err := s.computeScorecards(ctx, from, to)
	c := &scorecardCache
	c.Lock()
	defer c.Unlock()
	e.refreshing = false
	if err != nil {
		s.Log.Error("console: scorecards", "err", err)
		return
	}
	fresh := &scorecardEntry{ready: e.ready, cards: cards, at: s.now()}
	if c.m[key] == e {
		c.m[key] = fresh
	}
}

// computeScorecards reads the scorecards of [from, to) through the audit
// store.
func (s *Server) computeScorecards(ctx context.Context, from, to time.Time) ([]audit.Scorecard, error) {
	st := s.Audit
	if st == nil {
		st = audit.NewStore(s.Pool)
	}
	return st.Scorecards(ctx, from, to)
}

// ProviderPage is what one provider's page shows.
type ProviderPage struct {
	Code, Name string
	From, To   string
	Error      string
	Missing    bool
	ComputedAt time.Time
	Card       *ScorecardRow
	Stats      []ProviderStatRow
	Confirmed  []ConfirmedFinding
	StatsSVG   template.HTML
	RulesSVG   template.HTML
}

// ProviderStatRow is one row of provider_stats.
type ProviderStatRow struct {
	Metric                         string
	N                              int64
	Value, Lower, Upper, Reference float64
	Outlier                        bool
	ComputedAt                     time.Time
}

// ConfirmedFinding is one of the provider's recent confirmed flags.
type ConfirmedFinding struct {
	ID        int64
	Rule      string
	Severity  string
	Summary   string
	Job       string
	Currency  string
	Amount    string
	DecidedAt time.Time
}

// providerPage serves GET /providers/{code}: one provider's scorecard, its
// statistics with their intervals, its findings by rule and its recent
// confirmed findings.
func (s *Server) providerPage(w http.ResponseWriter, r *http.Request) {
	lang := dashLang(r)
	tr := func(k string) string { return translate(lang, k) }
	p := &ProviderPage{Code: r.PathValue("code")}
	var id int64
	err := s.Pool.QueryRow(r.Context(), `SELECT id, name FROM providers WHERE code = $1`, p.Code).Scan(&id, &p.Name)
	if errors.Is(err, pgx.ErrNoRows) {
		p.Missing = true
		s.render(w, r, http.StatusNotFound, "provider", tr("notfound.title"), "providers", p)
		return
	}
	if err != nil {
		s.dashError(w, r, err)
		return
	}
	from, to, fromText, toText, err := scorecardWindow(r, s.now())
	if err != nil {
		p.Error = err.Error()
		s.render(w, r, http.StatusBadRequest, "provider", p.Code, "providers", p)
		return
	}
	p.From, p.To = fromText, toText
	ctx := r.Context()
	cards, at, err := s.loadScorecards(ctx, from, to)
	if err != nil {
		s.dashError(w, r, err)
		return
	}
	p.ComputedAt = at
	for _, c := range cards {
		if c.ProviderCode == p.Code {
			row := scorecardRow(c)
			p.Card = &row
		}
	}
	rows, err := s.Pool.Query(ctx, `
SELECT metric, n, value, lower, upper, reference, outlier, computed_at
FROM provider_stats WHERE provider_id = $1 ORDER BY metric`, id)
	if err != nil {
		s.dashError(w, r, err)
		return
	}
	var st ProviderStatRow
	_, err = pgx.ForEachRow(rows, []any{&st.Metric, &st.N, &st.Value, &st.Lower, &st.Upper, &st.Reference, &st.Outlier, &st.ComputedAt}, func() error {
		p.Stats = append(p.Stats, st)
		return nil
	})
	if err != nil {
		s.dashError(w, r, err)
		return
	}
	rows, err = s.Pool.Query(ctx, `
SELECT f.id, f.rule, f.severity, f.summary, coalesce(j.external_id, ''), f.currency, f.amount::text, f.decided_at
FROM flags f LEFT JOIN work_orders j ON j.id = f.work_order_id
WHERE f.provider_id = $1 AND f.decision = 'confirmed'
ORDER BY f.decided_at DESC, f.id DESC LIMIT 20`, id)
	if err != nil {
		s.dashError(w, r, err)
		return
	}
	var cf ConfirmedFinding
	_, err = pgx.ForEachRow(rows, []any{&cf.ID, &cf.Rule, &cf.Severity, &cf.Summary, &cf.Job, &cf.Currency, &cf.Amount, &cf.DecidedAt}, func() error {
		p.Confirmed = append(p.Confirmed, cf)
		return nil
	})
	if err != nil {
		s.dashError(w, r, err)
		return
	}
	var intervals []IntervalRow
	for _, st := range p.Stats {
		intervals = append(intervals, IntervalRow{Label: st.Metric, Value: st.Value, Lower: st.Lower, Upper: st.Upper,
			Reference: st.Reference, Outlier: st.Outlier})
	}
	p.StatsSVG = IntervalChart{ID: "chart-stats", Title: tr("prov.stats_chart"), Desc: tr("prov.stats_desc"), Rows: intervals,
		ValueLabel: tr("prov.estimate"), ReferenceLabel: tr("prov.reference"), Empty: tr("prov.no_stats")}.SVG()
	var rules []Bar
	if p.Card != nil {
		for _, rule := range audit.Rules {
			open, confirmed := p.Card.OpenByRule[rule.Code], p.Card.ConfirmedByRule[rule.Code]
			if open > 0 {
				rules = append(rules, Bar{Label: rule.Code + " · " + tr("dash.open"), Value: float64(open), Colour: severityColour[rule.Severity]})
			}
			if confirmed > 0 {
				rules = append(rules, Bar{Label: rule.Code + " · " + tr("prov.confirmed"), Value: float64(confirmed), Colour: "#5b6673"})
			}
		}
	}
	p.RulesSVG = BarChart{ID: "chart-rules", Title: tr("prov.rules_chart"), Desc: tr("prov.rules_desc"),
		XLabel: tr("prov.rules_axis"), Bars: rules, Empty: tr("prov.no_findings")}.SVG()
	s.render(w, r, http.StatusOK, "provider", p.Code, "providers", p)
}

func init() {
	addMessages("en", map[string]string{
		"dash.today":            "Today",
		"dash.attempts":         "Attempts today",
		"dash.in_progress":      "in progress",
		"dash.contact_rate":     "Contact rate",
		"dash.contact_rate_why": "attempts that reached a person, of those ended",
		"dash.answer_rate":      "Answer rate",
		"dash.answer_rate_why":  "attempts with the survey answered (in full or in part), of those ended",
		"dash.overdue":          "Overdue in the review queue",
		"dash.open_flags":       "Open flags",
		"dash.decided_today":    "Decided today",
		"dash.attempts_chart":   "Today's attempts by outcome",
		"dash.attempts_desc":    "%d attempts created on %s, by how they ended.",
		"dash.attempts_axis":    "attempts",
		"dash.none_today":       "No attempts yet today.",
		"dash.flags_chart":      "Flags by severity",
		"dash.flags_desc":       "%d flags open, %d decided today, %d overdue.",
		"dash.flags_axis":       "flags",
		"dash.open":             "open",
		"dash.decided":          "decided today",
		"dash.csat_chart":       "CSAT, last 14 days",
		"dash.csat_desc":        "Share of satisfaction answers scoring 4 or 5, per day; gaps are days without answers.",
		"dash.nps_chart":        "NPS, last 14 days",
		"dash.nps_desc":         "Promoters (9–10) minus detractors (0–6), in percent of answers, per day; gaps are days without answers.",
		"dash.day_axis":         "day",
		"dash.campaigns_chart":  "Active campaigns' progress",
		"dash.campaigns_desc":   "Contacts done of all contacts, per active campaign.",
		"dash.campaigns_axis":   "contacts",
		"dash.no_campaigns":     "No active campaigns.",
		"outcome.in_progress":   "in progress",
		"outcome.completed":     "completed",
		"outcome.partial":       "partly answered",
		"outcome.hung_up":       "hung up",
		"outcome.no_response":   "no response",
		"outcome.opted_out":     "opted out",
		"outcome.no_answer":     "no answer",
		"outcome.busy":          "busy",
		"outcome.machine":       "answering machine",
		"outcome.failed":        "failed",
		"outcome.canceled":      "canceled",
		"outcome.undelivered":   "undelivered",
		"outcome.suppressed":    "suppressed",
		"outcome.not_placed":    "not placed",
		"severity.critical":     "critical",
		"severity.high":         "high",
		"severity.medium":       "medium",
		"severity.low":          "low",
		"prov.title":            "Provider scorecards",
		"prov.from":             "From",
		"prov.to":               "To",
		"prov.show":             "Show",
		"prov.code":             "ProviderPage",
		"prov.name":             "Name",
		"prov.jobs":             "Jobs",
		"prov.contact_rate":     "Contact rate",
		"prov.csat":             "CSAT",
		"prov.nps":              "NPS",
		"prov.first_fix":        "First-time fix",
		"prov.open":             "Open flags",
		"prov.confirmed":        "confirmed",
		"prov.confirmed_col":    "Confirmed",
		"prov.risk":             "Risk",
		"prov.none":             "No provider has jobs in this window.",
		"prov.risk_chart":       "Risk by provider",
		"prov.risk_desc":        "Each provider's risk score, 0 (none) to 1, highest first.",
		"prov.risk_axis":        "risk score",
		"prov.no_risk":          "No risk scores computed yet.",
		"prov.window":           "Jobs completed from %s to %s.",
		"prov.computed":         "Computed at",
		"prov.computed_why":     "scorecards are recomputed at most every 5 minutes",
		"prov.scorecard":        "Scorecard",
		"prov.repairs":          "Repairs",
		"prov.installs":         "Installs",
		"prov.contacts":         "Contacts",
		"prov.surveys":          "Completed surveys",
		"prov.stats":            "Statistics",
		"prov.stats_chart":      "Statistics against their reference",
		"prov.stats_desc":       "Each metric's estimate with its confidence interval and the reference it is judged against; outliers in red.",
		"prov.estimate":         "estimate and interval",
		"prov.reference":        "reference",
		"prov.no_stats":         "No statistics computed yet.",
		"prov.metric":           "Metric",
		"prov.value":            "Value",
		"prov.interval":         "IntervalRow",
		"prov.outlier":          "Outlier",
		"prov.rules_chart":      "Findings by rule",
		"prov.rules_desc":       "Open and confirmed flags by rule in the window.",
		"prov.rules_axis":       "flags",
		"prov.no_findings":      "No findings in this window.",
		"prov.recent":           "Recent confirmed findings",
		"prov.no_confirmed":     "No confirmed findings.",
		"prov.flag":             "Flag",
		"prov.rule":             "Rule",
		"prov.severity":         "Severity",
		"prov.summary":          "Summary",
		"prov.job":              "Job",
		"prov.amount":           "Charge-back",
		"prov.decided_at":       "Decided",
		"prov.missing":          "No provider with this code.",
		"prov.back":             "All providers",
		"prov.yes":              "yes",
		"prov.no":               "no",
	})
	addMessages("zh-CN", map[string]string{
		"dash.today":            "今天",
		"dash.attempts":         "今日拨打次数",
		"dash.in_progress":      "进行中",
		"dash.contact_rate":     "接通率",
		"dash.contact_rate_why": "已结束的拨打中联系到本人的比例",
		"dash.answer_rate":      "应答率",
		"dash.answer_rate_why":  "已结束的拨打中完成（或部分完成）问卷的比例",
		"dash.overdue":          "审核队列中已逾期",
		"dash.open_flags":       "未结标记",
		"dash.decided_today":    "今日已裁定",
		"dash.attempts_chart":   "今日拨打结果",
		"dash.attempts_desc":    "%d 次拨打创建于 %s，按结果分列。",
		"dash.attempts_axis":    "拨打次数",
		"dash.none_today":       "今天还没有拨打。",
		"dash.flags_chart":      "按严重程度的标记",
		"dash.flags_desc":       "未结 %d 个，今日裁定 %d 个，逾期 %d 个。",
		"dash.flags_axis":       "标记数",
		"dash.open":             "未结",
		"dash.decided":          "今日裁定",
		"dash.csat_chart":       "满意度（CSAT），近 14 天",
		"dash.csat_desc":        "每天满意度回答中打 4 或 5 分的比例；空缺表示当天无回答。",
		"dash.nps_chart":        "净推荐值（NPS），近 14 天",
		"dash.nps_desc":         "每天推荐者（9–10）减去贬损者（0–6）占回答的百分比；空缺表示当天无回答。",
		"dash.day_axis":         "日期",
		"dash.campaigns_chart":  "进行中回访活动的进度",
		"dash.campaigns_desc":   "每个进行中活动已完成的联系人占全部联系人的数量。",
		"dash.campaigns_axis":   "联系人",
		"dash.no_campaigns":     "没有进行中的回访活动。",
		"outcome.in_progress":   "进行中",
		"outcome.completed":     "已完成",
		"outcome.partial":       "部分回答",
		"outcome.hung_up":       "挂断",
		"outcome.no_response":   "无回复",
		"outcome.opted_out":     "拒绝回访",
		"outcome.no_answer":     "无人接听",
		"outcome.busy":          "占线",
		"outcome.machine":       "语音信箱",
		"outcome.failed":        "失败",
		"outcome.canceled":      "已取消",
		"outcome.undelivered":   "未送达",
		"outcome.suppressed":    "已屏蔽",
		"outcome.not_placed":    "未拨出",
		"severity.critical":     "严重",
		"severity.high":         "高",
		"severity.medium":       "中",
		"severity.low":          "低",
		"prov.title":            "服务商评分卡",
		"prov.from":             "起始日",
		"prov.to":               "截止日",
		"prov.show":             "查看",
		"prov.code":             "服务商",
		"prov.name":             "名称",
		"prov.jobs":             "工单数",
		"prov.contact_rate":     "接通率",
		"prov.csat":             "满意度",
		"prov.nps":              "净推荐值",
		"prov.first_fix":        "一次修复率",
		"prov.open":             "未结标记",
		"prov.confirmed":        "已确认",
		"prov.confirmed_col":    "已确认",
		"prov.risk":             "风险",
		"prov.none":             "此期间没有服务商的工单。",
		"prov.risk_chart":       "各服务商风险",
		"prov.risk_desc":        "各服务商的风险分，0（无）到 1，从高到低。",
		"prov.risk_axis":        "风险分",
		"prov.no_risk":          "尚未计算风险分。",
		"prov.window":           "完工日期 %s 至 %s 的工单。",
		"prov.computed":         "计算时间",
		"prov.computed_why":     "评分卡最多每 5 分钟重新计算一次",
		"prov.scorecard":        "评分卡",
		"prov.repairs":          "维修",
		"prov.installs":         "安装",
		"prov.contacts":         "联系人",
		"prov.surveys":          "完成的问卷",
		"prov.stats":            "统计指标",
		"prov.stats_chart":      "统计指标与参照值",
		"prov.stats_desc":       "各指标的估计值、置信区间及其对照的参照值；异常值以红色标出。",
		"prov.estimate":         "估计值与区间",
		"prov.reference":        "参照值",
		"prov.no_stats":         "尚未计算统计指标。",
		"prov.metric":           "指标",
		"prov.value":            "数值",
		"prov.interval":         "区间",
		"prov.outlier":          "异常",
		"prov.rules_chart":      "按规则的发现",
		"prov.rules_desc":       "此期间按规则统计的未结与已确认标记。",
		"prov.rules_axis":       "标记数",
		"prov.no_findings":      "此期间没有发现。",
		"prov.recent":           "最近确认的发现",
		"prov.no_confirmed":     "没有已确认的发现。",
		"prov.flag":             "标记",
		"prov.rule":             "规则",
		"prov.severity":         "严重程度",
		"prov.summary":          "摘要",
		"prov.job":              "工单",
		"prov.amount":           "追回金额",
		"prov.decided_at":       "裁定时间",
		"prov.missing":          "没有此代码的服务商。",
		"prov.back":             "全部服务商",
		"prov.yes":              "是",
		"prov.no":               "否",
	})
}
