package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/huifang/huifang/audit"
	"github.com/huifang/huifang/campaigns"
	"github.com/huifang/huifang/surveys"
)

// The campaign pages: the list, the editor (a form whose every field shows
// its own validation message, with a preview of the next enrolment runs and
// of the calling window in a chosen zone), a campaign's page with its
// history, live progress and state changes; and, beside them, the survey
// preview and the jobs search (below).

// pageRoute is one console page: its pattern, who may open it and its
// handler. campaignPages registers each behind s.page.
type pageRoute struct {
	pattern string
	roles   []audit.Role
	h       http.HandlerFunc
}

// campaignRoutes lists this area's pages.
func (s *Server) campaignRoutes() []pageRoute {
	return []pageRoute{
		{"GET /campaigns", pagesAny, s.campaignsPage},
		{"GET /campaigns/new", pagesOps, s.campaignNewPage},
		{"POST /campaigns", pagesOps, s.campaignCreatePage},
		{"GET /campaigns/{name}", pagesAny, s.campaignPage},
		{"GET /campaigns/{name}/edit", pagesOps, s.campaignEditPage},
		{"POST /campaigns/{name}", pagesOps, s.campaignUpdatePage},
		{"POST /campaigns/{name}/state", pagesOps, s.campaignStatePage},
		{"GET /campaigns/{name}/events", pagesAny, s.campaignEvents},
		{"GET /surveys", pagesAny, s.surveysPage},
		{"GET /surveys/{name}/preview", pagesAny, s.surveyPreviewPage},
		{"POST /surveys/{name}/preview", pagesAny, s.surveyPreviewPage},
		{"GET /jobs", pagesAny, s.jobsPage},
		{"GET /jobs/{id}", pagesAny, s.jobPage},
	}
}

// campaignPages registers this area's pages.
func (s *Server) campaignPages(handle func(pattern string, h http.HandlerFunc)) {
	for _, rt := range s.campaignRoutes() {
		handle(rt.pattern, s.page(rt.roles, rt.h))
	}
}

// campaignStore is the campaign store the pages use: the server's, or one
// over its pool on the console's clock.
func (s *Server) campaignStore() *campaigns.Store {
	if s.Campaigns != nil {
		return s.Campaigns
	}
	return &campaigns.Store{Pool: s.Pool, Now: s.Now}
}

// consoleActor names the logged-in user in the audit log.
func consoleActor(r *http.Request) string {
	if u := userOf(r); u != nil {
		return "console:" + u.Username
	}
	return "console:unknown"
}

// langOf is the language of the request's user.
func langOf(r *http.Request) string {
	if u := userOf(r); u != nil && u.Lang != "" {
		return u.Lang
	}
	return "en"
}

// notFoundPage answers 404 with the console's page.
func (s *Server) notFoundPage(w http.ResponseWriter, r *http.Request, what string) {
	s.render(w, r, http.StatusNotFound, "campaign_message", translate(langOf(r), "notfound.title"), "",
		messageData{Title: translate(langOf(r), "notfound.title"), Text: what})
}

// badRequestPage answers 400 with what is wrong.
func (s *Server) badRequestPage(w http.ResponseWriter, r *http.Request, text string) {
	s.render(w, r, http.StatusBadRequest, "campaign_message", translate(langOf(r), "bad.title"), "",
		messageData{Title: translate(langOf(r), "bad.title"), Text: text})
}

// internalPage answers 500 for a failure of ours, logging it once.
func (s *Server) internalPage(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.Log.Error("console: "+what, "err", err)
	s.render(w, r, http.StatusInternalServerError, "campaign_message", translate(langOf(r), "internal.title"), "",
		messageData{Title: translate(langOf(r), "internal.title"), Text: translate(langOf(r), "internal.body")})
}

// messageData is a page that only says something.
type messageData struct {
	Title string
	Text  string
	Back  string
}

// --- the list ---

// campaignRow is one line of the campaigns list.
type campaignRow struct {
	Name, State, Channel, Survey string
	Pace                         float64
	Queued, Dialing, Done        int
	Ended, Answered              int
}

// AnswerRate is the share of ended attempts the customer answered
// (completed or partial), as a percentage text; "–" before any ended.
func (c campaignRow) AnswerRate() string {
	if c.Ended == 0 {
		return "–"
	}
	return strconv.FormatFloat(100*float64(c.Answered)/float64(c.Ended), 'f', 1, 64) + "%"
}

// campaignRows loads every campaign with its queue and answer rate in one
// query: contacts and attempts are each aggregated once, by campaign.
func (s *Server) campaignRows(ctx context.Context) ([]campaignRow, error) {
	rows, err := s.Pool.Query(ctx, `
WITH k AS (
    SELECT campaign_id,
           count(*) FILTER (WHERE state = 'queued')  AS queued,
           count(*) FILTER (WHERE state = 'dialing') AS dialing,
           count(*) FILTER (WHERE state = 'done')    AS done
    FROM contacts GROUP BY campaign_id
), a AS (
    SELECT k.campaign_id,
           count(*) AS ended,
           count(*) FILTER (WHERE a.outcome IN ('completed', 'partial')) AS answered
    FROM attempts a JOIN contacts k ON k.id = a.contact_id
    WHERE a.state = 'ended'
    GROUP BY k.campaign_id
)
SELECT c.name, c.state, coalesce(c.definition->>'channel', ''), coalesce(c.definition->>'survey', ''),
       coalesce((c.definition->>'pace')::float8, 0),
       coalesce(k.queued, 0), coalesce(k.dialing, 0), coalesce(k.done, 0),
       coalesce(a.ended, 0), coalesce(a.answered, 0)
FROM campaigns c
LEFT JOIN k ON k.campaign_id = c.id
LEFT JOIN a ON a.campaign_id = c.id
ORDER BY c.name`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (campaignRow, error) {
		var c campaignRow
		err := row.Scan(&c.Name, &c.State, &c.Channel, &c.Survey, &c.Pace, &c.Queued, &c.Dialing, &c.Done, &c.Ended, &c.Answered)
		return c, err
	})
}

func (s *Server) campaignsPage(w http.ResponseWriter, r *http.Request) {
	rows, err := s.campaignRows(r.Context())
	if err != nil {
		s.internalPage(w, r, "campaigns list", err)
		return
	}
	s.render(w, r, http.StatusOK, "campaigns", translate(langOf(r), "campaigns.title"), "campaigns", rows)
}

// --- the editor ---

// formField is one input of the campaign form: its form name (the input's
// id is "f-" and the name, its error's "err-" and the name), the JSON
// pointer of the definition value it sets, and how its text becomes JSON.
type formField struct {
	Key     string
	Pointer string
	Kind    string // text, select, list (comma separated), int, number, check
}

// campaignFields are the form's inputs, in the order shown.
var campaignFields = []formField{
	{"name", "/name", "text"},
	{"description", "/description", "text"},
	{"survey", "/survey", "select"},
	{"channel", "/channel", "select"},
	{"schedule", "/schedule", "text"},
	{"time_zone", "/time_zone", "text"},
	{"kinds", "/targeting/kinds", "list"},
	{"product_categories", "/targeting/product_categories", "list"},
	{"regions", "/targeting/regions", "list"},
	{"providers", "/targeting/providers", "list"},
	{"completed_within_days", "/targeting/completed_within_days", "int"},
	{"min_claim_value", "/targeting/min_claim_value", "number"},
	{"only_with_parts", "/targeting/only_with_parts", "check"},
	{"sampling_rate", "/sampling/rate", "number"},
	{"always_above", "/sampling/always_above", "number"},
	{"risky_providers", "/sampling/risky_providers", "number"},
	{"trigger_after", "/trigger/after", "text"},
	{"trigger_within", "/trigger/within", "text"},
	{"attempts_max", "/attempts/max", "int"},
	{"attempts_per_day", "/attempts/per_day", "int"},
	{"pace", "/pace", "number"},
	{"max_concurrent", "/max_concurrent", "int"},
	{"from", "/from", "list"},
}

// channelOptions are the channel policies the form offers.
var channelOptions = []string{string(campaigns.ChannelVoice), string(campaigns.ChannelSMS), string(campaigns.ChannelVoiceThenSMS)}

// fieldView is a form field as the template shows it.
type fieldView struct {
	Key, Kind, Value, Error string
	Options                 []string
	ReadOnly                bool
}

// campaignFormData is what campaign_form.html shows.
type campaignFormData struct {
	Edit     bool
	Name     string // the campaign edited
	Action   string // where the form posts
	Fields   []fieldView
	Errors   []string // problems not tied to one field
	NextRuns []string
	Zone     string // the zone of the window preview
	ZoneErr  string
	Window   []windowDay
	Preview  bool // the preview was asked for and the definition is valid
}

// fieldValues writes a definition's values as the form shows them.
func fieldValues(d *campaigns.Definition) map[string]string {
	num := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	opt := func(f float64) string {
		if f == 0 {
			return ""
		}
		return num(f)
	}
	check := ""
	if d.Targeting.OnlyWithParts {
		check = "on"
	}
	return map[string]string{
		"name": d.Name, "description": d.Description, "survey": d.Survey, "channel": string(d.Channel),
		"schedule": d.Schedule, "time_zone": d.TimeZone,
		"kinds": strings.Join(d.Targeting.Kinds, ", "), "product_categories": strings.Join(d.Targeting.ProductCategories, ", "),
		"regions": strings.Join(d.Targeting.Regions, ", "), "providers": strings.Join(d.Targeting.Providers, ", "),
		"completed_within_days": strconv.Itoa(d.Targeting.CompletedWithinDays),
		"min_claim_value":       opt(d.Targeting.MinClaimValue), "only_with_parts": check,
		"sampling_rate": num(d.Sampling.Rate), "always_above": opt(d.Sampling.AlwaysAbove),
		"risky_providers": num(d.Sampling.RiskyProviders),
		"trigger_after":   d.Trigger.After.String(), "trigger_within": d.Trigger.Within.String(),
		"attempts_max": strconv.Itoa(d.Attempts.Max), "attempts_per_day": strconv.Itoa(d.Attempts.PerDay),
		"pace": num(d.Pace), "max_concurrent": strconv.Itoa(d.MaxConcurrent),
		"from": strings.Join(d.From, ", "),
	}
}

// formValues reads the form's fields from a posted request.
func formValues(r *http.Request) map[string]string {
	out := make(map[string]string, len(campaignFields))
	for _, f := range campaignFields {
		out[f.Key] = strings.TrimSpace(r.PostFormValue(f.Key))
	}
	return out
}

// definitionJSON builds the JSON definition the form describes over base
// (the current definition when editing, so what the form does not show —
// the window, the spacing of retries — is kept): each field sets its value
// at its pointer, and an empty field leaves it out so its default applies.
// A number that does not parse is sent as the text typed, so the parser
// names it at its pointer like any other mistake.
func definitionJSON(base map[string]any, vals map[string]string) ([]byte, error) {
	if base == nil {
		base = map[string]any{}
	}
	for _, f := range campaignFields {
		v := vals[f.Key]
		var val any
		switch f.Kind {
		case "check":
			val = v != ""
		case "list":
			var items []any
			for p := range strings.SplitSeq(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					items = append(items, p)
				}
			}
			if len(items) > 0 {
				val = items
			}
		case "int":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				val = n
			} else if x, err := strconv.ParseFloat(v, 64); err == nil {
				val = x
			} else if v != "" {
				val = v
			}
		case "number":
			if x, err := strconv.ParseFloat(v, 64); err == nil {
				val = x
			} else if v != "" {
				val = v
			}
		default:
			if v != "" {
				val = v
			}
		}
		setPointer(base, f.Pointer, val)
	}
	return json.Marshal(base)
}

// setPointer sets (or, for nil, removes) the value at a JSON pointer of
// plain object keys in m, making the objects on the way.
func setPointer(m map[string]any, pointer string, v any) {
	parts := strings.Split(strings.TrimPrefix(pointer, "/"), "/")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			if v == nil {
				return // nothing to remove
			}
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	last := parts[len(parts)-1]
	if v == nil {
		delete(m, last)
		return
	}
	m[last] = v
}

// fieldOf names the form field a JSON pointer belongs to ("/from/1" is
// from, "/targeting/kinds/0" is kinds), or "" when no field shows it.
func fieldOf(pointer string) string {
	for _, f := range campaignFields {
		if pointer == f.Pointer || strings.HasPrefix(pointer, f.Pointer+"/") {
			return f.Key
		}
	}
	return ""
}

// publishedSurveys names every survey with a published version.
func (s *Server) publishedSurveys(ctx context.Context) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `
SELECT s.name FROM surveys s
WHERE EXISTS (SELECT 1 FROM survey_versions v WHERE v.survey_id = s.id)
ORDER BY s.name`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// formData fills the view of the form from values and errors by field.
func (s *Server) formData(ctx context.Context, vals, errs map[string]string, edit bool) (campaignFormData, error) {
	surveyNames, err := s.publishedSurveys(ctx)
	if err != nil {
		return campaignFormData{}, err
	}
	if v := vals["survey"]; v != "" && !slices.Contains(surveyNames, v) {
		surveyNames = append(surveyNames, v) // keep what was typed or stored
	}
	fd := campaignFormData{Edit: edit}
	for _, f := range campaignFields {
		fv := fieldView{Key: f.Key, Kind: f.Kind, Value: vals[f.Key], Error: errs[f.Key]}
		switch f.Key {
		case "survey":
			fv.Options = surveyNames
		case "channel":
			fv.Options = channelOptions
		case "name":
			fv.ReadOnly = edit
		}
		fd.Fields = append(fd.Fields, fv)
	}
	return fd, nil
}

func (s *Server) campaignNewPage(w http.ResponseWriter, r *http.Request) {
	d := campaigns.DefaultDefinition()
	d.TimeZone = "Asia/Shanghai"
	fd, err := s.formData(r.Context(), fieldValues(d), nil, false)
	if err != nil {
		s.internalPage(w, r, "campaign form", err)
		return
	}
	fd.Action = "/campaigns"
	fd.Zone = d.TimeZone
	s.render(w, r, http.StatusOK, "campaign_form", translate(langOf(r), "campaign.new"), "campaigns", fd)
}

func (s *Server) campaignEditPage(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	c, err := s.campaignStore().Get(r.Context(), name)
	if errors.Is(err, campaigns.ErrNotFound) {
		s.notFoundPage(w, r, fmt.Sprintf(translate(langOf(r), "campaign.notfound"), name))
		return
	}
	if err != nil {
		s.internalPage(w, r, "campaign edit", err)
		return
	}
	fd, err := s.formData(r.Context(), fieldValues(c.Definition), nil, true)
	if err != nil {
		s.internalPage(w, r, "campaign form", err)
		return
	}
	fd.Name, fd.Action = c.Name, "/campaigns/"+url.PathEscape(c.Name)
	fd.Zone = zoneOr(c.Definition.TimeZone)
	s.addPreview(&fd, c.Definition, r.URL.Query().Get("zone"), langOf(r))
	s.render(w, r, http.StatusOK, "campaign_form", translate(langOf(r), "campaign.edit"), "campaigns", fd)
}

func (s *Server) campaignCreatePage(w http.ResponseWriter, r *http.Request) { s.saveCampaign(w, r, "") }

func (s *Server) campaignUpdatePage(w http.ResponseWriter, r *http.Request) {
	s.saveCampaign(w, r, r.PathValue("name"))
}

// saveCampaign handles the posted form: with "preview" it only shows the
// next runs and the calling window; otherwise it stores a new campaign (name
// "") or a new version of the named one. Any mistake re-shows the form, with
// 422, each message next to its field and every value as typed.
func (s *Server) saveCampaign(w http.ResponseWriter, r *http.Request, name string) {
	ctx := r.Context()
	lang := langOf(r)
	if err := r.ParseForm(); err != nil {
		s.badRequestPage(w, r, translate(lang, "campaign.badform"))
		return
	}
	edit := name != ""
	st := s.campaignStore()
	var base map[string]any
	if edit {
		cur, err := st.Get(ctx, name)
		if errors.Is(err, campaigns.ErrNotFound) {
			s.notFoundPage(w, r, fmt.Sprintf(translate(lang, "campaign.notfound"), name))
			return
		}
		if err != nil {
			s.internalPage(w, r, "campaign save", err)
			return
		}
		b, err := json.Marshal(cur.Definition)
		if err == nil {
			err = json.Unmarshal(b, &base)
		}
		if err != nil {
			s.internalPage(w, r, "campaign save", err)
			return
		}
	}
	vals := formValues(r)
	if edit {
		vals["name"] = name // a campaign is never renamed
	}
	body, err := definitionJSON(base, vals)
	if err != nil {
		s.internalPage(w, r, "campaign save", err)
		return
	}
	errs := map[string]string{}
	var general []string
	def, err := campaigns.ParseDefinitionJSON(body)
	var fes campaigns.FieldErrors
	switch {
	case errors.As(err, &fes):
		for _, fe := range fes {
			if k := fieldOf(fe.Pointer); k != "" {
				if errs[k] == "" {
					errs[k] = fe.Msg
				}
				continue
			}
			general = append(general, fe.Error())
		}
	case err != nil:
		general = append(general, err.Error())
	}
	preview := r.PostFormValue("preview") != ""
	if def != nil && !preview {
		var c campaigns.Campaign
		if edit {
			c, err = st.Update(ctx, name, def, string(body), consoleActor(r))
		} else {
			c, err = st.Create(ctx, def, string(body), consoleActor(r))
		}
		switch {
		case err == nil:
			http.Redirect(w, r, "/campaigns/"+url.PathEscape(c.Name), http.StatusSeeOther)
			return
		case errors.Is(err, campaigns.ErrExists):
			errs["name"] = fmt.Sprintf(translate(lang, "campaign.exists"), def.Name)
		case errors.Is(err, campaigns.ErrFinished), errors.Is(err, campaigns.ErrSurveyNotFound):
			general = append(general, err.Error())
		case errors.As(err, &fes):
			for _, fe := range fes {
				if k := fieldOf(fe.Pointer); k != "" {
					errs[k] = fe.Msg
				} else {
					general = append(general, fe.Error())
				}
			}
		default:
			s.internalPage(w, r, "campaign save", err)
			return
		}
	}
	fd, err := s.formData(ctx, vals, errs, edit)
	if err != nil {
		s.internalPage(w, r, "campaign form", err)
		return
	}
	fd.Errors = general
	fd.Name = name
	fd.Action = "/campaigns"
	if edit {
		fd.Action = "/campaigns/" + url.PathEscape(name)
	}
	fd.Zone = zoneOr(vals["time_zone"])
	code := http.StatusUnprocessableEntity
	if def != nil && preview {
		code = http.StatusOK
		fd.Preview = true
		s.addPreview(&fd, def, r.PostFormValue("preview_zone"), lang)
	}
	title := translate(lang, "campaign.new")
	if edit {
		title = translate(lang, "campaign.edit")
	}
	s.render(w, r, code, "campaign_form", title, "campaigns", fd)
}

// zoneOr is the zone a preview starts in: the campaign's, or China's.
func zoneOr(z string) string {
	if z == "" {
		return "Asia/Shanghai"
	}
	return z
}

// addPreview adds the next runs and the window preview in zone ("" keeps
// fd.Zone) to the form's view.
func (s *Server) addPreview(fd *campaignFormData, def *campaigns.Definition, zone, lang string) {
	if zone != "" {
		fd.Zone = zone
	}
	runs, err := nextRunTexts(def, s.now())
	if err != nil {
		fd.Errors = append(fd.Errors, err.Error())
	}
	fd.NextRuns = runs
	fd.Window, err = windowPreview(def, fd.Zone, s.now(), lang)
	if err != nil {
		fd.ZoneErr = err.Error()
	}
}

// runLayout is how the next runs are written: in the campaign's zone, with
// its offset.
const runLayout = "2006-01-02 15:04 Mon (-07:00)"

// nextRunTexts is the campaign's next enrolment runs after now, in its
// zone.
func nextRunTexts(def *campaigns.Definition, now time.Time) ([]string, error) {
	runs, err := def.NextRuns(now, nextRunCount)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(runs))
	for i, t := range runs {
		out[i] = t.Format(runLayout)
	}
	return out, nil
}

// windowDay is one day of the calling-window preview: the day in the
// chosen zone and when the window is open then.
type windowDay struct {
	Day   string
	Open  []string // "09:00–12:00"
	Today bool
}

// windowDays is how many days the window preview shows.
const windowDays = 7

// chinaZones are the zones whose customers get China's default window when
// a campaign names none.
var chinaZones = []string{"Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "Asia/Urumqi", "PRC"}

// windowPreview says, for the next seven days in zone, when the campaign's
// calling window is open there: the campaign's own window, or the default
// for the zone's country.
func windowPreview(def *campaigns.Definition, zone string, now time.Time, lang string) ([]windowDay, error) {
	if zone == "" || zone == "Local" {
		return nil, fmt.Errorf("name an IANA time zone such as Asia/Shanghai or America/New_York")
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: name an IANA zone such as Asia/Shanghai or America/New_York", truncate(zone, 60))
	}
	w := def.Window
	if w == nil {
		w = campaigns.DefaultUS()
		if slices.Contains(chinaZones, zone) {
			w = campaigns.DefaultChina()
		}
	}
	lt := now.In(loc)
	y, m, d := lt.Date()
	out := make([]windowDay, 0, windowDays)
	for i := range windowDays {
		start := time.Date(y, m, d+i, 0, 0, 0, 0, loc)
		end := time.Date(y, m, d+i+1, 0, 0, 0, 0, loc)
		day := windowDay{Day: start.Format("2006-01-02 Mon"), Today: i == 0}
		for t := start; t.Before(end); {
			open, ok := w.NextOpen(t, loc)
			if !ok || !open.Before(end) {
				break
			}
			until := w.OpenUntil(open, loc)
			if until.After(end) {
				until = end
			}
			day.Open = append(day.Open, open.Format("15:04")+"–"+until.Format("15:04"))
			t = until
		}
		out = append(out, day)
	}
	return out, nil
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// --- one campaign ---

// kv is a label and a count.
type kv struct {
	Key string
	N   int
}

// progress is a campaign's progress: its queue, its attempts, the answers
// they brought and the flags raised on its jobs.
type progress struct {
	Queued, Dialing, Done int
	ByOutcome             []kv // ended contacts by outcome
	Attempts              []kv // attempts by outcome ("in_progress" while not ended)
	Sessions, Completed   int  // survey sessions opened and completed
	Answers               int  // answers recorded
	Flags                 []kv // flags raised on its jobs, by severity
}

// progressView is what the "progress" template gets.
type progressView struct {
	Lang string
	P    progress
}

// campaignProgress counts a campaign's progress: one aggregate per table,
// each reached through the campaign's contacts.
func (s *Server) campaignProgress(ctx context.Context, id int64) (progress, error) {
	var p progress
	if err := s.Pool.QueryRow(ctx, `
SELECT count(*) FILTER (WHERE state = 'queued'), count(*) FILTER (WHERE state = 'dialing'),
       count(*) FILTER (WHERE state = 'done')
FROM contacts WHERE campaign_id = $1`, id).Scan(&p.Queued, &p.Dialing, &p.Done); err != nil {
		return p, err
	}
	pairs := func(q string) ([]kv, error) {
		rows, err := s.Pool.Query(ctx, q, id)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, func(row pgx.CollectableRow) (kv, error) {
			var x kv
			err := row.Scan(&x.Key, &x.N)
			return x, err
		})
	}
	var err error
	if p.ByOutcome, err = pairs(`
SELECT outcome, count(*) FROM contacts WHERE campaign_id = $1 AND outcome IS NOT NULL
GROUP BY outcome ORDER BY count(*) DESC, outcome`); err != nil {
		return p, err
	}
	if p.Attempts, err = pairs(`
SELECT coalesce(a.outcome, 'in_progress'), count(*)
FROM attempts a JOIN contacts k ON k.id = a.contact_id
WHERE k.campaign_id = $1
GROUP BY 1 ORDER BY count(*) DESC, 1`); err != nil {
		return p, err
	}
	if p.Flags, err = pairs(`
SELECT f.severity, count(*)
FROM flags f
WHERE f.work_order_id IN (SELECT work_order_id FROM contacts WHERE campaign_id = $1)
GROUP BY f.severity ORDER BY min(f.priority)`); err != nil {
		return p, err
	}
	err = s.Pool.QueryRow(ctx, `
SELECT count(*), count(*) FILTER (WHERE ss.end_reason = 'completed'),
       coalesce(sum((SELECT count(*) FROM survey_answers x WHERE x.session_id = ss.id AND x.event = 'answer')), 0)
FROM survey_sessions ss
JOIN attempts a ON a.id = ss.attempt_id
JOIN contacts k ON k.id = a.contact_id
WHERE k.campaign_id = $1`, id).Scan(&p.Sessions, &p.Completed, &p.Answers)
	return p, err
}

// campaignPageData is what campaign.html shows.
type campaignPageData struct {
	C           campaigns.Campaign
	Versions    []campaigns.Version
	NextRuns    []string
	NextRunsErr string
	Progress    progressView
	Actions     []string // the state changes allowed now
	Zone        string
	ZoneErr     string
	Window      []windowDay
	Error       string
}

// allowedActions lists the state changes a campaign in st allows, in the
// words of the API: activate a draft, resume a paused one, and so on.
func allowedActions(st campaigns.State) []string {
	var out []string
	for _, a := range []string{"activate", "resume", "pause", "complete", "archive"} {
		to := campaignActions[a]
		if !campaigns.CanTransition(st, to) {
			continue
		}
		if (a == "resume") != (st == campaigns.StatePaused && to == campaigns.StateActive) {
			continue
		}
		out = append(out, a)
	}
	return out
}

func (s *Server) campaignPage(w http.ResponseWriter, r *http.Request) {
	s.showCampaign(w, r, http.StatusOK, "")
}

// showCampaign renders a campaign's page with code, and an error to show
// above it (a refused state change).
func (s *Server) showCampaign(w http.ResponseWriter, r *http.Request, code int, problem string) {
	ctx := r.Context()
	name := r.PathValue("name")
	lang := langOf(r)
	st := s.campaignStore()
	c, err := st.Get(ctx, name)
	if errors.Is(err, campaigns.ErrNotFound) {
		s.notFoundPage(w, r, fmt.Sprintf(translate(lang, "campaign.notfound"), name))
		return
	}
	if err != nil {
		s.internalPage(w, r, "campaign", err)
		return
	}
	d := campaignPageData{C: c, Error: problem, Actions: allowedActions(c.State)}
	if d.Versions, err = st.Versions(ctx, name); err != nil {
		s.internalPage(w, r, "campaign versions", err)
		return
	}
	slices.Reverse(d.Versions) // newest first
	if d.NextRuns, err = nextRunTexts(c.Definition, s.now()); err != nil {
		d.NextRunsErr = err.Error()
	}
	p, err := s.campaignProgress(ctx, c.ID)
	if err != nil {
		s.internalPage(w, r, "campaign progress", err)
		return
	}
	d.Progress = progressView{Lang: lang, P: p}
	d.Zone = r.URL.Query().Get("zone")
	if d.Zone == "" {
		d.Zone = zoneOr(c.Definition.TimeZone)
	}
	if d.Window, err = windowPreview(c.Definition, d.Zone, s.now(), lang); err != nil {
		d.ZoneErr = err.Error()
	}
	s.render(w, r, code, "campaign", c.Name, "campaigns", d)
}

func (s *Server) campaignStatePage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := r.PathValue("name")
	lang := langOf(r)
	action := r.PostFormValue("to")
	to, ok := campaignActions[action]
	if !ok {
		s.badRequestPage(w, r, fmt.Sprintf(translate(lang, "campaign.badaction"), truncate(action, 30)))
		return
	}
	st := s.campaignStore()
	cur, err := st.Get(ctx, name)
	if errors.Is(err, campaigns.ErrNotFound) {
		s.notFoundPage(w, r, fmt.Sprintf(translate(lang, "campaign.notfound"), name))
		return
	}
	if err != nil {
		s.internalPage(w, r, "campaign state", err)
		return
	}
	if !slices.Contains(allowedActions(cur.State), action) {
		s.showCampaign(w, r, http.StatusConflict, fmt.Sprintf(translate(lang, "campaign.cannot"), name, cur.State, action))
		return
	}
	_, err = st.SetState(ctx, name, to, consoleActor(r))
	switch {
	case err == nil:
		http.Redirect(w, r, "/campaigns/"+url.PathEscape(name), http.StatusSeeOther)
	case errors.Is(err, campaigns.ErrTransition), errors.Is(err, campaigns.ErrFinished),
		errors.Is(err, campaigns.ErrSurveyNotFound):
		s.showCampaign(w, r, http.StatusConflict, err.Error())
	default:
		s.internalPage(w, r, "campaign state", err)
	}
}

// eventInterval is how often the live progress is sent.
var eventInterval = 2 * time.Second

// campaignEvents streams a campaign's progress block as server-sent
// events: its HTML at once and then every eventInterval, one "data:" line
// per line of HTML, until the client goes away.
func (s *Server) campaignEvents(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := r.PathValue("name")
	c, err := s.campaignStore().Get(ctx, name)
	if errors.Is(err, campaigns.ErrNotFound) {
		http.Error(w, "no campaign "+strconv.Quote(name), http.StatusNotFound)
		return
	}
	if err != nil {
		s.Log.Error("console: campaign events", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	ts, err := s.templates()
	if err != nil {
		s.Log.Error("console: templates", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	rc := http.NewResponseController(w)
	// The stream outlives the server's write timeout, if it has one; the
	// browser's EventSource reconnects should anything cut it anyway.
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	lang := langOf(r)
	tick := time.NewTicker(eventInterval)
	defer tick.Stop()
	for {
		p, err := s.campaignProgress(ctx, c.ID)
		if err != nil {
			if ctx.Err() == nil {
				s.Log.Error("console: campaign events", "campaign", name, "err", err)
			}
			return
		}
		var b strings.Builder
		if err := ts["campaign"].ExecuteTemplate(&b, "progress", progressView{Lang: lang, P: p}); err != nil {
			s.Log.Error("console: campaign events", "err", err)
			return
		}
		if _, err := w.Write(sseEvent(b.String())); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			s.Log.Error("console: campaign events: cannot flush", "err", err)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// sseEvent writes one server-sent event carrying html: a "data:" line per
// line, then the blank line that ends the event.
func sseEvent(html string) []byte {
	var b strings.Builder
	for line := range strings.SplitSeq(strings.TrimRight(html, "\n"), "\n") {
		b.WriteString("data: ")
		b.WriteString(strings.TrimRight(line, "\r"))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return []byte(b.String())
}

func init() {
	addMessages("en", map[string]string{
		"bad.title":               "Bad request",
		"internal.title":          "Something went wrong",
		"internal.body":           "The page could not be shown. The error has been logged.",
		"campaigns.title":         "Campaigns",
		"campaigns.new":           "New campaign",
		"campaigns.none":          "No campaigns yet.",
		"campaigns.name":          "Name",
		"campaigns.state":         "State",
		"campaigns.channel":       "Channel",
		"campaigns.survey":        "Survey",
		"campaigns.pace":          "Pace (/s)",
		"campaigns.queued":        "Queued",
		"campaigns.dialing":       "Dialing",
		"campaigns.done":          "Done",
		"campaigns.answerrate":    "Answer rate",
		"campaign.new":            "New campaign",
		"campaign.edit":           "Edit campaign",
		"campaign.notfound":       "There is no campaign %q.",
		"campaign.badform":        "The form could not be read.",
		"campaign.exists":         "A campaign named %q already exists.",
		"campaign.badaction":      "%q is not a state change: activate, pause, resume, complete or archive.",
		"campaign.cannot":         "Campaign %s is %s: it cannot %s now.",
		"campaign.save":           "Save",
		"campaign.preview":        "Preview",
		"campaign.errors":         "The campaign was not saved:",
		"campaign.nextruns":       "Next enrolment runs",
		"campaign.window":         "Calling window",
		"campaign.windowzone":     "Time zone of the recipient",
		"campaign.show":           "Show",
		"campaign.closed":         "closed",
		"campaign.definition":     "Definition",
		"campaign.versions":       "Versions",
		"campaign.version":        "Version",
		"campaign.by":             "By",
		"campaign.at":             "At",
		"campaign.progress":       "Progress",
		"campaign.actions":        "Actions",
		"campaign.editlink":       "Edit",
		"campaign.source":         "Source",
		"action.activate":         "Activate",
		"action.pause":            "Pause",
		"action.resume":           "Resume",
		"action.complete":         "Complete",
		"action.archive":          "Archive",
		"progress.contacts":       "Contacts",
		"progress.outcomes":       "Ended contacts by outcome",
		"progress.attempts":       "Attempts by outcome",
		"progress.sessions":       "Survey sessions",
		"progress.completed":      "completed",
		"progress.answers":        "Answers recorded",
		"progress.flags":          "Flags raised on its jobs",
		"progress.none":           "none yet",
		"f.name":                  "Name",
		"f.description":           "Description",
		"f.survey":                "Survey",
		"f.channel":               "Channel",
		"f.schedule":              "Enrolment schedule (cron)",
		"f.time_zone":             "Time zone of the schedule",
		"f.kinds":                 "Job kinds (comma separated)",
		"f.product_categories":    "Product categories",
		"f.regions":               "Regions (e.g. CN-GD, CN)",
		"f.providers":             "Provider codes",
		"f.completed_within_days": "Completed within (days)",
		"f.min_claim_value":       "Minimum claim value",
		"f.only_with_parts":       "Only jobs with claimed parts",
		"f.sampling_rate":         "Sampling rate (0–1)",
		"f.always_above":          "Always contact claims of at least",
		"f.risky_providers":       "Share for risky providers (0–1)",
		"f.trigger_after":         "First contact no sooner than",
		"f.trigger_within":        "No attempt later than",
		"f.attempts_max":          "Attempts at most",
		"f.attempts_per_day":      "Attempts per day at most",
		"f.pace":                  "Pace (attempts per second)",
		"f.max_concurrent":        "Calls in progress at most",
		"f.from":                  "Caller numbers (E.164, comma separated)",
	})
	addMessages("zh-CN", map[string]string{
		"bad.title":               "请求有误",
		"internal.title":          "出错了",
		"internal.body":           "页面无法显示，错误已记录。",
		"campaigns.title":         "回访活动",
		"campaigns.new":           "新建活动",
		"campaigns.none":          "还没有活动。",
		"campaigns.name":          "名称",
		"campaigns.state":         "状态",
		"campaigns.channel":       "渠道",
		"campaigns.survey":        "问卷",
		"campaigns.pace":          "速率（次/秒）",
		"campaigns.queued":        "排队",
		"campaigns.dialing":       "拨号中",
		"campaigns.done":          "已结束",
		"campaigns.answerrate":    "接听率",
		"campaign.new":            "新建活动",
		"campaign.edit":           "编辑活动",
		"campaign.notfound":       "没有名为 %q 的活动。",
		"campaign.badform":        "无法读取表单。",
		"campaign.exists":         "已有名为 %q 的活动。",
		"campaign.badaction":      "%q 不是状态变更：可选 activate、pause、resume、complete 或 archive。",
		"campaign.cannot":         "活动 %s 当前为 %s，现在不能 %s。",
		"campaign.save":           "保存",
		"campaign.preview":        "预览",
		"campaign.errors":         "活动未保存：",
		"campaign.nextruns":       "接下来的入组时间",
		"campaign.window":         "可呼叫时段",
		"campaign.windowzone":     "受访者所在时区",
		"campaign.show":           "显示",
		"campaign.closed":         "不可呼叫",
		"campaign.definition":     "定义",
		"campaign.versions":       "版本",
		"campaign.version":        "版本",
		"campaign.by":             "修改人",
		"campaign.at":             "时间",
		"campaign.progress":       "进度",
		"campaign.actions":        "操作",
		"campaign.editlink":       "编辑",
		"campaign.source":         "原文",
		"action.activate":         "启用",
		"action.pause":            "暂停",
		"action.resume":           "恢复",
		"action.complete":         "完成",
		"action.archive":          "归档",
		"progress.contacts":       "联系对象",
		"progress.outcomes":       "已结束对象（按结果）",
		"progress.attempts":       "呼叫（按结果）",
		"progress.sessions":       "问卷会话",
		"progress.completed":      "已完成",
		"progress.answers":        "已记录的回答",
		"progress.flags":          "其工单上的疑点",
		"progress.none":           "暂无",
		"f.name":                  "名称",
		"f.description":           "说明",
		"f.survey":                "问卷",
		"f.channel":               "渠道",
		"f.schedule":              "入组计划（cron）",
		"f.time_zone":             "计划所用时区",
		"f.kinds":                 "工单类型（逗号分隔）",
		"f.product_categories":    "产品品类",
		"f.regions":               "地区（如 CN-GD、CN）",
		"f.providers":             "服务商代码",
		"f.completed_within_days": "完工天数以内",
		"f.min_claim_value":       "最低结算金额",
		"f.only_with_parts":       "仅限有配件的工单",
		"f.sampling_rate":         "抽样比例（0–1）",
		"f.always_above":          "金额不低于此值必访",
		"f.risky_providers":       "高风险服务商抽样比例（0–1）",
		"f.trigger_after":         "完工后最早联系",
		"f.trigger_within":        "完工后最晚联系",
		"f.attempts_max":          "最多呼叫次数",
		"f.attempts_per_day":      "每天最多呼叫次数",
		"f.pace":                  "速率（次/秒）",
		"f.max_concurrent":        "最多同时通话",
		"f.from":                  "主叫号码（E.164，逗号分隔）",
	})
}

// --- surveys ---

// surveyRow is one published survey in the list.
type surveyRow struct {
	Name, Title, Kind string
	Version           int
	Channels          []string
	Languages         []string
	PublishedAt       time.Time
}

func (s *Server) surveysPage(w http.ResponseWriter, r *http.Request) {
	rows, err := s.Pool.Query(r.Context(), `
SELECT s.name, coalesce(v.definition->>'title', ''), coalesce(v.definition->>'kind', ''), v.version,
       coalesce(ARRAY(SELECT jsonb_array_elements_text(v.definition->'channels')), '{}'),
       coalesce(ARRAY(SELECT l->>'code' FROM jsonb_array_elements(v.definition->'languages') l), '{}'),
       v.created_at
FROM surveys s
JOIN LATERAL (SELECT * FROM survey_versions x WHERE x.survey_id = s.id ORDER BY x.version DESC LIMIT 1) v ON true
ORDER BY s.name`)
	if err != nil {
		s.internalPage(w, r, "surveys", err)
		return
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (surveyRow, error) {
		var x surveyRow
		err := row.Scan(&x.Name, &x.Title, &x.Kind, &x.Version, &x.Channels, &x.Languages, &x.PublishedAt)
		return x, err
	})
	if err != nil {
		s.internalPage(w, r, "surveys", err)
		return
	}
	s.render(w, r, http.StatusOK, "surveys", translate(langOf(r), "surveys.title"), "surveys", list)
}

// previewInput is one reply typed in the survey preview.
type previewInput struct {
	Kind surveys.InputKind `json:"kind"`
	Text string            `json:"text,omitempty"`
}

// previewRun is the survey preview's state, carried in the page's hidden
// field: the engine's state and the replies that led to it. Both are
// outside input: on each post the replies are played again from the start
// and must give exactly the state carried, so a state edited by hand is
// refused rather than trusted.
type previewRun struct {
	State   surveys.State  `json:"state"`
	Inputs  []previewInput `json:"inputs"`
	Version int            `json:"version"`
}

// Bounds of the preview's hidden state.
const (
	maxPreviewRun    = 256 << 10
	maxPreviewInputs = 200
)

// turnView is one exchange of the preview: what the customer heard or
// read, and what they answered.
type turnView struct {
	Prompt string
	Notice string
	Reply  string
	Notes  []string
}

// surveyPreviewData is what survey_preview.html shows.
type surveyPreviewData struct {
	Name, Title            string
	Version                int
	Lang, Channel, Kind    string
	Langs, Channels, Kinds []string
	Turns                  []turnView
	Prompt                 string // the current step's exact text
	Expect                 string // what the step waits for
	SMSSize                string
	Ended                  bool
	End                    string
	Facts                  string
	Run                    string // the hidden state, as JSON
	Error                  string // why the last reply was not accepted
}

// surveyPreviewPage runs a survey in the browser as the customer hears or
// reads it, with a built-in sample job. GET starts a run; POST applies one
// reply to the run carried in the form. Nothing is stored.
func (s *Server) surveyPreviewPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lang := langOf(r)
	name := r.PathValue("name")
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			s.badRequestPage(w, r, translate(lang, "preview.badform"))
			return
		}
	}
	q := r.URL.Query()
	param := func(k, def string) string {
		if v := r.PostFormValue(k); v != "" {
			return v
		}
		if v := q.Get(k); v != "" {
			return v
		}
		return def
	}
	st := surveys.NewStore(s.Pool)
	def, err := st.Latest(ctx, name)
	if v := param("version", ""); v != "" && err == nil {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 {
			s.badRequestPage(w, r, fmt.Sprintf(translate(lang, "preview.badparam"), "version", truncate(v, 20)))
			return
		}
		def, err = st.Get(ctx, name, n)
	}
	if errors.Is(err, surveys.ErrNotFound) {
		s.notFoundPage(w, r, fmt.Sprintf(translate(lang, "preview.nosurvey"), name))
		return
	}
	if err != nil {
		s.internalPage(w, r, "survey preview", err)
		return
	}
	d := surveyPreviewData{Name: def.Name, Title: def.Title, Version: def.Version,
		Lang: param("lang", def.DefaultLanguage), Channel: param("channel", ""), Kind: param("kind", def.Kind)}
	for _, l := range def.Languages {
		d.Langs = append(d.Langs, l.Code)
	}
	for _, c := range def.Channels {
		d.Channels = append(d.Channels, string(c))
	}
	if d.Channel == "" && len(d.Channels) > 0 {
		d.Channel = d.Channels[0]
	}
	d.Kinds = []string{string(surveys.JobRepair), string(surveys.JobInstall)}
	if d.Kind == "any" {
		d.Kind = string(surveys.JobRepair)
	}
	switch {
	case !slices.Contains(d.Langs, d.Lang):
		s.badRequestPage(w, r, fmt.Sprintf(translate(lang, "preview.badparam"), "lang", truncate(d.Lang, 20)))
		return
	case !slices.Contains(d.Channels, d.Channel):
		s.badRequestPage(w, r, fmt.Sprintf(translate(lang, "preview.badparam"), "channel", truncate(d.Channel, 20)))
		return
	case !slices.Contains(d.Kinds, d.Kind):
		s.badRequestPage(w, r, fmt.Sprintf(translate(lang, "preview.badparam"), "kind", truncate(d.Kind, 20)))
		return
	}
	job := surveys.SampleJob(surveys.JobKind(d.Kind))
	ch := surveys.Channel(d.Channel)
	var run previewRun
	if r.Method == http.MethodPost && r.PostFormValue("run") != "" {
		if err := decodeRun(r.PostFormValue("run"), &run); err != nil {
			s.badRequestPage(w, r, fmt.Sprintf(translate(lang, "preview.badstate"), err))
			return
		}
	}
	// Play the run's replies again from the start: the state carried must
	// be exactly what they give.
	turns, state, step, err := replayPreview(def, job, ch, d.Lang, run.Inputs)
	if err != nil {
		s.badRequestPage(w, r, fmt.Sprintf(translate(lang, "preview.badstate"), err))
		return
	}
	if r.Method == http.MethodPost && r.PostFormValue("run") != "" {
		if run.Version != def.Version || !sameState(run.State, state) {
			s.badRequestPage(w, r, fmt.Sprintf(translate(lang, "preview.badstate"), "the state does not match the replies that led to it"))
			return
		}
		if r.PostFormValue("restart") != "" {
			run.Inputs = nil
			turns, state, step, _ = replayPreview(def, job, ch, d.Lang, nil)
		} else if step.Kind != surveys.StepEnd {
			reply := r.PostFormValue("reply")
			if r.PostFormValue("silence") != "" {
				reply = ""
			}
			in := inputFor(reply, step, ch)
			o, err := def.Apply(job, state, in)
			if err != nil {
				s.badRequestPage(w, r, fmt.Sprintf(translate(lang, "preview.badstate"), err))
				return
			}
			run.Inputs = append(run.Inputs, previewInput{Kind: in.Kind, Text: in.Text})
			turns = append(turns, turnOf(step, in, o, ch))
			if o.Invalid != nil {
				d.Error = o.Invalid.Error()
			}
			state, step = o.State, o.Step
		}
	}
	d.Turns = turns
	d.Prompt = step.Prompt
	d.Expect = describeExpect(step.Expect, ch)
	if ch == surveys.SMS && step.Prompt != "" {
		d.SMSSize = fmt.Sprintf("%s, %d/%d, %d segment(s)", step.SMS.Encoding, step.SMS.Units, step.SMS.Limit, step.SMS.Segments)
	}
	if step.Kind == surveys.StepEnd {
		d.Ended, d.End = true, string(step.End)
		d.Facts = strings.TrimRight(def.Facts(&state).String(), "\n")
	}
	b, err := json.Marshal(previewRun{State: state, Inputs: run.Inputs, Version: def.Version})
	if err != nil {
		s.internalPage(w, r, "survey preview", err)
		return
	}
	d.Run = string(b)
	s.render(w, r, http.StatusOK, "survey_preview", def.Name, "surveys", d)
}

// decodeRun reads the preview's hidden state strictly: one JSON object of
// the known fields, within bounds.
func decodeRun(src string, run *previewRun) error {
	if len(src) > maxPreviewRun {
		return fmt.Errorf("the state is larger than %d bytes", maxPreviewRun)
	}
	dec := json.NewDecoder(strings.NewReader(src))
	dec.DisallowUnknownFields()
	if err := dec.Decode(run); err != nil {
		return fmt.Errorf("the state is not valid JSON of a preview: %v", err)
	}
	if dec.More() {
		return errors.New("the state has more than one JSON value")
	}
	if len(run.Inputs) > maxPreviewInputs {
		return fmt.Errorf("the state has %d replies; a preview takes at most %d", len(run.Inputs), maxPreviewInputs)
	}
	for i, in := range run.Inputs {
		switch in.Kind {
		case surveys.InputDigits, surveys.InputSpeech, surveys.InputText, surveys.InputRecording, surveys.InputNone:
		default:
			return fmt.Errorf("reply %d has kind %q", i, truncate(string(in.Kind), 20))
		}
		if len(in.Text) > 1000 {
			return fmt.Errorf("reply %d is longer than 1000 bytes", i)
		}
	}
	return nil
}

// sameState reports whether two states are the same run at the same point.
func sameState(a, b surveys.State) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// replayPreview plays inputs from the start of a run and returns the turns
// they made, the state and the step reached. The engine is pure, so the
// same inputs always give the same run; an engine error (an input that does
// not belong to the channel, a run already ended) is the caller's mistake.
func replayPreview(def *surveys.Definition, job *surveys.Job, ch surveys.Channel, lang string, inputs []previewInput) (turns []turnView, st surveys.State, step surveys.Step, err error) {
	defer func() {
		// The engine is not meant to panic on any input; should it, the
		// input was bad, not the server.
		if p := recover(); p != nil {
			err = fmt.Errorf("the replies cannot be played: %v", p)
		}
	}()
	st, err = def.Start(job, ch, lang)
	if err != nil {
		return nil, st, step, err
	}
	if step, err = def.Next(job, &st); err != nil {
		return nil, st, step, err
	}
	for i, in := range inputs {
		o, err := def.Apply(job, st, surveys.Input{Kind: in.Kind, Text: in.Text})
		if err != nil {
			return nil, st, step, fmt.Errorf("reply %d: %w", i, err)
		}
		turns = append(turns, turnOf(step, surveys.Input{Kind: in.Kind, Text: in.Text}, o, ch))
		st, step = o.State, o.Step
	}
	return turns, st, step, nil
}

// inputFor turns what was typed into the engine's input, the way the
// carrier would deliver it: on a call keys are digits (and * or #), other
// words are speech, anything at a recording step is the recording, and
// nothing is silence; by SMS the text is the reply.
func inputFor(reply string, step surveys.Step, ch surveys.Channel) surveys.Input {
	reply = strings.TrimSpace(reply)
	switch {
	case reply == "":
		return surveys.Input{Kind: surveys.InputNone}
	case ch == surveys.SMS:
		return surveys.Input{Kind: surveys.InputText, Text: reply}
	case step.Expect.Input == surveys.ExpectRecording:
		return surveys.Input{Kind: surveys.InputRecording, Text: "preview:" + reply}
	case strings.Trim(reply, "0123456789*#") == "":
		return surveys.Input{Kind: surveys.InputDigits, Text: reply}
	}
	return surveys.Input{Kind: surveys.InputSpeech, Text: reply}
}

// turnOf describes one exchange for the transcript.
func turnOf(step surveys.Step, in surveys.Input, o surveys.Outcome, ch surveys.Channel) turnView {
	t := turnView{Prompt: step.Prompt, Notice: o.Notice}
	switch in.Kind {
	case surveys.InputNone:
		t.Reply = "(silence)"
		if ch == surveys.SMS {
			t.Reply = "(no reply)"
		}
	case surveys.InputDigits:
		t.Reply = "keys " + in.Text
	case surveys.InputRecording:
		t.Reply = "(recorded) " + strings.TrimPrefix(in.Text, "preview:")
	case surveys.InputSpeech:
		t.Reply = "said " + strconv.Quote(in.Text)
	default:
		t.Reply = in.Text
	}
	for _, e := range o.Added {
		switch e.Event {
		case surveys.EventAnswer:
			if e.Fact != "" && e.Value != nil {
				t.Notes = append(t.Notes, e.Fact+" = "+e.Value.String())
			}
		case surveys.EventInvalid:
			t.Notes = append(t.Notes, "not accepted: "+string(e.Reason))
		case surveys.EventSkip:
			t.Notes = append(t.Notes, "question "+e.Question+" skipped")
		case surveys.EventRetract:
			t.Notes = append(t.Notes, "answer withdrawn")
		case surveys.EventOptOut:
			t.Notes = append(t.Notes, "opted out")
		case surveys.EventAbandon:
			t.Notes = append(t.Notes, "run abandoned")
		}
	}
	return t
}

// describeExpect says what a step waits for, for the person previewing.
func describeExpect(e surveys.Expect, ch surveys.Channel) string {
	switch e.Input {
	case surveys.ExpectNothing:
		return ""
	case surveys.ExpectText:
		return "a text reply"
	case surveys.ExpectRecording:
		return "a recording (type what the customer would say)"
	}
	var parts []string
	if e.NumDigits > 0 {
		parts = append(parts, fmt.Sprintf("%d key(s)", e.NumDigits))
	} else {
		parts = append(parts, "keys")
	}
	if e.FinishOnKey != "" {
		parts = append(parts, "ending with "+e.FinishOnKey)
	}
	if e.Speech {
		parts = append(parts, "or speech ("+e.SpeechLanguage+")")
	}
	if e.OptOutKey != "" {
		parts = append(parts, e.OptOutKey+" opts out")
	}
	return strings.Join(parts, ", ")
}

// --- jobs ---

// jobsPerPage is how many jobs a page of the search shows.
const jobsPerPage = 50

// jobsData is what jobs.html shows.
type jobsData struct {
	Q, Provider, Kind, From, To string
	Page                        int
	Errors                      map[string]string
	Note                        string // how the search was read
	Rows                        []jobRow
	Prev, Next                  string // links to the pages around, "" when none
	Kinds                       []string
}

// jobRow is one job in the search results.
type jobRow struct {
	ID                       int64
	ExternalID, Kind         string
	Provider                 string
	Phone                    string // masked for everyone but admin
	Product, Model, Currency string
	CompletedAt              time.Time
	Claim                    float64
	Flags                    int
}

// shownPhone hides a phone number's middle unless show: the country code
// and the last four digits stay, enough to tell numbers apart.
func shownPhone(p string, show bool) string {
	if show || p == "" {
		return p
	}
	return audit.MaskPhone(p)
}

// isAdmin reports whether the request's user is an admin.
func isAdmin(r *http.Request) bool {
	u := userOf(r)
	return u != nil && u.Role == audit.RoleAdmin
}

// isDigits reports whether s is only ASCII digits (and not empty).
func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// jobsPage searches jobs: q is an external id (exact), a provider's code,
// a full phone number (+…) or the last four digits of one; provider, kind
// and the completion dates (from, to: YYYY-MM-DD, UTC) narrow it. Every
// form of the search is served by an index, except the last four digits,
// which only searches a bounded date range (the last 7 days unless from and
// to say otherwise, at most 31 days).
func (s *Server) jobsPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lang := langOf(r)
	q := r.URL.Query()
	d := jobsData{Q: strings.TrimSpace(q.Get("q")), Provider: strings.TrimSpace(q.Get("provider")),
		Kind: q.Get("kind"), From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to")),
		Page: 1, Errors: map[string]string{}, Kinds: []string{"install", "repair"}}
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 1000 {
			d.Errors["page"] = fmt.Sprintf(translate(lang, "jobs.badpage"), truncate(p, 20))
		} else {
			d.Page = n
		}
	}
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var from, to time.Time
	parseDay := func(key, v string) time.Time {
		if v == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			d.Errors[key] = fmt.Sprintf(translate(lang, "jobs.baddate"), truncate(v, 20))
		}
		return t
	}
	from, to = parseDay("from", d.From), parseDay("to", d.To)
	if d.Kind != "" {
		if !slices.Contains(d.Kinds, d.Kind) {
			d.Errors["kind"] = fmt.Sprintf(translate(lang, "jobs.badkind"), truncate(d.Kind, 20))
		} else {
			conds = append(conds, "w.kind = "+arg(d.Kind))
		}
	}
	if d.Provider != "" {
		// The provider's id, looked up first, lets the planner see which
		// provider it is (and use work_orders_provider_idx).
		var pid int64
		err := s.Pool.QueryRow(ctx, `SELECT id FROM providers WHERE code = $1`, d.Provider).Scan(&pid)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			d.Errors["provider"] = fmt.Sprintf(translate(lang, "jobs.noprovider"), truncate(d.Provider, 40))
		case err != nil:
			s.internalPage(w, r, "jobs search", err)
			return
		default:
			conds = append(conds, "w.provider_id = "+arg(pid))
		}
	}
	switch {
	case d.Q == "":
	case len(d.Q) == 4 && isDigits(d.Q):
		// The last four digits of a phone: the customers ending in them
		// (customers_phone_last4_idx), then their jobs
		// (work_orders_customer_idx), over any date range.
		conds = append(conds, "w.customer_id = ANY(ARRAY(SELECT x.id FROM customers x WHERE right(x.phone_e164, 4) = "+arg(d.Q)+"))")
		d.Note = translate(lang, "jobs.last4")
	case strings.HasPrefix(d.Q, "+"):
		conds = append(conds, "w.customer_id IN (SELECT id FROM customers WHERE phone_e164 = "+arg(d.Q)+")")
		d.Note = translate(lang, "jobs.byphone")
	default:
		var pid int64
		err := s.Pool.QueryRow(ctx, `SELECT id FROM providers WHERE code = $1`, d.Q).Scan(&pid)
		switch {
		case err == nil:
			conds = append(conds, "w.provider_id = "+arg(pid))
			d.Note = fmt.Sprintf(translate(lang, "jobs.byprovider"), d.Q)
		case errors.Is(err, pgx.ErrNoRows):
			// (source_id, external_id) is unique: with every source listed,
			// the index finds the id in each.
			conds = append(conds, "w.source_id = ANY(ARRAY(SELECT id FROM intake_sources)) AND w.external_id = "+arg(d.Q))
			d.Note = translate(lang, "jobs.byexternal")
		default:
			s.internalPage(w, r, "jobs search", err)
			return
		}
	}
	if !from.IsZero() {
		conds = append(conds, "w.completed_at >= "+arg(from))
	}
	if !to.IsZero() {
		conds = append(conds, "w.completed_at < "+arg(to.AddDate(0, 0, 1)))
	}
	if len(d.Errors) > 0 {
		s.render(w, r, http.StatusBadRequest, "jobs", translate(lang, "jobs.title"), "jobs", d)
		return
	}
	// Planned afresh with each search's values (an unnamed statement), never
	// with a generic plan: which index serves depends on them.
	args = append([]any{pgx.QueryExecModeExec}, args...)
	where := ""
	if len(conds) > 0 {
		where = "WHERE " + strings.Join(conds, " AND ")
	}
	rows, err := s.Pool.Query(ctx, `
SELECT w.id, w.external_id, w.kind, p.code, c.phone_e164, w.product_category, w.product_model, w.currency,
       w.completed_at, (w.labour_amount + w.parts_amount)::float8,
       (SELECT count(*) FROM flags f WHERE f.work_order_id = w.id)
FROM work_orders w
JOIN customers c ON c.id = w.customer_id
JOIN providers p ON p.id = w.provider_id
`+where+`
ORDER BY w.completed_at DESC, w.id DESC
LIMIT `+strconv.Itoa(jobsPerPage+1)+` OFFSET `+strconv.Itoa((d.Page-1)*jobsPerPage), args...)
	if err != nil {
		s.internalPage(w, r, "jobs search", err)
		return
	}
	admin := isAdmin(r)
	d.Rows, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (jobRow, error) {
		var j jobRow
		err := row.Scan(&j.ID, &j.ExternalID, &j.Kind, &j.Provider, &j.Phone, &j.Product, &j.Model, &j.Currency,
			&j.CompletedAt, &j.Claim, &j.Flags)
		j.Phone = shownPhone(j.Phone, admin)
		return j, err
	})
	if err != nil {
		s.internalPage(w, r, "jobs search", err)
		return
	}
	page := func(n int) string {
		v := url.Values{}
		for k, x := range map[string]string{"q": d.Q, "provider": d.Provider, "kind": d.Kind, "from": d.From, "to": d.To} {
			if x != "" {
				v.Set(k, x)
			}
		}
		v.Set("page", strconv.Itoa(n))
		return "/jobs?" + v.Encode()
	}
	if len(d.Rows) > jobsPerPage {
		d.Rows = d.Rows[:jobsPerPage]
		d.Next = page(d.Page + 1)
	}
	if d.Page > 1 {
		d.Prev = page(d.Page - 1)
	}
	s.render(w, r, http.StatusOK, "jobs", translate(lang, "jobs.title"), "jobs", d)
}

// jobData is what job.html shows.
type jobData struct {
	ID                                               int64
	ExternalID, Source, Kind, Brand, Category, Model string
	Serial, Warranty, Fault, Technician              string
	Provider, ProviderName                           string
	Phone, Region, TimeZone, CustomerLang            string
	Currency                                         string
	Labour, Parts, Paid                              float64
	CompletedAt                                      time.Time
	Lines                                            []claimLine
	Contacts                                         []jobContact
	Attempts                                         []jobAttempt
	Sessions                                         []jobSession
	Flags                                            []jobFlag
}

type claimLine struct {
	Line               int
	Code, NameEN, Name string
	Quantity           int
	UnitCost           float64
}

type jobContact struct {
	ID                                int64
	Campaign, State, Outcome, Channel string
	Attempts                          int
	NextAt, CreatedAt                 time.Time
}

type jobAttempt struct {
	ID                          int64
	Channel, State, Outcome, To string
	Duration                    int
	CreatedAt                   time.Time
	Recording                   bool
}

type jobSession struct {
	ID                         int64
	Channel, Lang, Status, End string
	Answers                    int
	OpenedAt                   time.Time
}

type jobFlag struct {
	ID                                       int64
	Rule, Severity, State, Decision, Summary string
	RaisedAt                                 time.Time
}

func (s *Server) jobPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lang := langOf(r)
	raw := r.PathValue("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 1 {
		s.badRequestPage(w, r, fmt.Sprintf(translate(lang, "job.badid"), truncate(raw, 30)))
		return
	}
	var j jobData
	err = s.Pool.QueryRow(ctx, `
SELECT w.id, w.external_id, src.name, w.kind, w.brand, w.product_category, w.product_model, w.serial_number,
       w.warranty_status, w.fault, w.technician, p.code, p.name, c.phone_e164, c.region, c.tz, c.lang,
       w.currency, w.labour_amount::float8, w.parts_amount::float8, w.customer_paid::float8, w.completed_at
FROM work_orders w
JOIN intake_sources src ON src.id = w.source_id
JOIN customers c ON c.id = w.customer_id
JOIN providers p ON p.id = w.provider_id
WHERE w.id = $1`, id).Scan(&j.ID, &j.ExternalID, &j.Source, &j.Kind, &j.Brand, &j.Category, &j.Model, &j.Serial,
		&j.Warranty, &j.Fault, &j.Technician, &j.Provider, &j.ProviderName, &j.Phone, &j.Region, &j.TimeZone,
		&j.CustomerLang, &j.Currency, &j.Labour, &j.Parts, &j.Paid, &j.CompletedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		s.notFoundPage(w, r, fmt.Sprintf(translate(lang, "job.notfound"), id))
		return
	}
	if err != nil {
		s.internalPage(w, r, "job", err)
		return
	}
	admin := isAdmin(r)
	j.Phone = shownPhone(j.Phone, admin)
	collect := func(q string, scan func(pgx.CollectableRow) error) error {
		rows, err := s.Pool.Query(ctx, q, id)
		if err != nil {
			return err
		}
		_, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (struct{}, error) { return struct{}{}, scan(row) })
		return err
	}
	err = collect(`
SELECT line, part_code, name_en, name_zh, quantity, unit_cost::float8
FROM claimed_parts WHERE work_order_id = $1 ORDER BY line`, func(row pgx.CollectableRow) error {
		var l claimLine
		err := row.Scan(&l.Line, &l.Code, &l.NameEN, &l.Name, &l.Quantity, &l.UnitCost)
		j.Lines = append(j.Lines, l)
		return err
	})
	if err == nil {
		// contacts is unique on (campaign_id, work_order_id): listing every
		// campaign lets that index find the job's contacts.
		err = collect(`
SELECT k.id, cm.name, k.state, coalesce(k.outcome, ''), k.channel, k.attempts, k.next_at, k.created_at
FROM contacts k JOIN campaigns cm ON cm.id = k.campaign_id
WHERE k.campaign_id = ANY(ARRAY(SELECT id FROM campaigns)) AND k.work_order_id = $1
ORDER BY k.created_at`, func(row pgx.CollectableRow) error {
			var c jobContact
			err := row.Scan(&c.ID, &c.Campaign, &c.State, &c.Outcome, &c.Channel, &c.Attempts, &c.NextAt, &c.CreatedAt)
			j.Contacts = append(j.Contacts, c)
			return err
		})
	}
	if err == nil {
		err = collect(`
SELECT id, channel, state, coalesce(outcome, ''), to_e164, coalesce(duration_s, 0), created_at, recording_sid IS NOT NULL
FROM attempts WHERE work_order_id = $1 ORDER BY created_at`, func(row pgx.CollectableRow) error {
			var a jobAttempt
			err := row.Scan(&a.ID, &a.Channel, &a.State, &a.Outcome, &a.To, &a.Duration, &a.CreatedAt, &a.Recording)
			a.To = shownPhone(a.To, admin)
			j.Attempts = append(j.Attempts, a)
			return err
		})
	}
	if err == nil {
		err = collect(`
SELECT ss.id, ss.channel, ss.lang, ss.status, coalesce(ss.end_reason, ''),
       (SELECT count(*) FROM survey_answers x WHERE x.session_id = ss.id AND x.event = 'answer'), ss.opened_at
FROM survey_sessions ss WHERE ss.work_order_id = $1 ORDER BY ss.opened_at`, func(row pgx.CollectableRow) error {
			var x jobSession
			err := row.Scan(&x.ID, &x.Channel, &x.Lang, &x.Status, &x.End, &x.Answers, &x.OpenedAt)
			j.Sessions = append(j.Sessions, x)
			return err
		})
	}
	if err == nil {
		err = collect(`
SELECT id, rule, severity, state, coalesce(decision, ''), summary, raised_at
FROM flags WHERE work_order_id = $1 ORDER BY priority, id`, func(row pgx.CollectableRow) error {
			var f jobFlag
			err := row.Scan(&f.ID, &f.Rule, &f.Severity, &f.State, &f.Decision, &f.Summary, &f.RaisedAt)
			j.Flags = append(j.Flags, f)
			return err
		})
	}
	if err != nil {
		s.internalPage(w, r, "job", err)
		return
	}
	s.render(w, r, http.StatusOK, "job", j.ExternalID, "jobs", j)
}

func init() {
	addMessages("en", map[string]string{
		"surveys.title":      "Surveys",
		"surveys.titlecol":   "Title",
		"surveys.kind":       "Kind",
		"surveys.langs":      "Languages",
		"surveys.published":  "Published",
		"surveys.preview":    "Preview",
		"surveys.none":       "No survey is published yet.",
		"preview.title":      "Survey preview",
		"preview.lang":       "Language",
		"preview.start":      "Start again with these",
		"preview.sample":     "A sample job: a water heater repaired with two claimed parts (heating element, thermostat), or installed. Nothing is stored.",
		"preview.transcript": "Transcript",
		"preview.reply":      "Reply (keys, words or a text message)",
		"preview.send":       "Send",
		"preview.silence":    "Silence",
		"preview.noreply":    "No reply",
		"preview.restart":    "Restart",
		"preview.ended":      "The survey has ended",
		"preview.badform":    "The form could not be read.",
		"preview.badparam":   "Parameter %s: %q is not offered by this survey.",
		"preview.badstate":   "The preview's state is not valid (%v). Start the preview again.",
		"preview.nosurvey":   "No survey %q is published.",
		"jobs.title":         "Jobs",
		"jobs.q":             "External id, provider code, phone (+…) or its last 4 digits",
		"jobs.provider":      "Provider",
		"jobs.from":          "Completed from",
		"jobs.to":            "Completed to",
		"jobs.search":        "Search",
		"jobs.help":          "Dates are UTC days. The last 4 digits of a phone find the jobs of every customer whose number ends in them, over any dates.",
		"jobs.external":      "External id",
		"jobs.phone":         "Phone",
		"jobs.product":       "Product",
		"jobs.completed":     "Completed",
		"jobs.claim":         "Claim",
		"jobs.flags":         "Flags",
		"jobs.none":          "No job matches.",
		"jobs.prev":          "Previous",
		"jobs.next":          "Next",
		"jobs.badpage":       "page %q is not a page number (1–1000).",
		"jobs.baddate":       "%q is not a date: write YYYY-MM-DD.",
		"jobs.badkind":       "%q is not a kind of job: install or repair.",
		"jobs.noprovider":    "There is no provider with code %q.",
		"jobs.last4":         "Jobs of customers whose phone ends in these digits.",
		"jobs.byphone":       "Jobs of this phone number.",
		"jobs.byprovider":    "Jobs of provider %s.",
		"jobs.byexternal":    "Jobs with this external id.",
		"job.title":          "Job",
		"job.badid":          "%q is not a job id.",
		"job.notfound":       "There is no job %d.",
		"job.warranty":       "Warranty",
		"job.fault":          "Fault",
		"job.customer":       "Customer",
		"job.labour":         "labour",
		"job.parts":          "parts",
		"job.paid":           "paid by the customer",
		"job.lines":          "Claim lines",
		"job.code":           "Code",
		"job.part":           "Part",
		"job.qty":            "Qty",
		"job.unit":           "Unit cost",
		"job.flags":          "Flags",
		"job.contacts":       "Contacts",
		"job.attempts":       "Attempts",
		"job.sessions":       "Survey sessions",
	})
	addMessages("zh-CN", map[string]string{
		"surveys.title":      "问卷",
		"surveys.titlecol":   "标题",
		"surveys.kind":       "类型",
		"surveys.langs":      "语言",
		"surveys.published":  "发布时间",
		"surveys.preview":    "预览",
		"surveys.none":       "还没有已发布的问卷。",
		"preview.title":      "问卷预览",
		"preview.lang":       "语言",
		"preview.start":      "按此重新开始",
		"preview.sample":     "示例工单：热水器维修，申报两个配件（加热管、温控器），或安装。不保存任何内容。",
		"preview.transcript": "对话记录",
		"preview.reply":      "回复（按键、语音文字或短信）",
		"preview.send":       "发送",
		"preview.silence":    "无按键",
		"preview.noreply":    "未回复",
		"preview.restart":    "重新开始",
		"preview.ended":      "问卷已结束",
		"preview.badform":    "无法读取表单。",
		"preview.badparam":   "参数 %s：此问卷不提供 %q。",
		"preview.badstate":   "预览状态无效（%v）。请重新开始预览。",
		"preview.nosurvey":   "没有已发布的问卷 %q。",
		"jobs.title":         "工单",
		"jobs.q":             "外部编号、服务商代码、电话（+…）或其后4位",
		"jobs.provider":      "服务商",
		"jobs.from":          "完工起始日",
		"jobs.to":            "完工截止日",
		"jobs.search":        "搜索",
		"jobs.help":          "日期按UTC计。输入电话后4位，可找到号码以这4位结尾的所有客户的工单，不限日期。",
		"jobs.external":      "外部编号",
		"jobs.phone":         "电话",
		"jobs.product":       "产品",
		"jobs.completed":     "完工时间",
		"jobs.claim":         "结算金额",
		"jobs.flags":         "疑点",
		"jobs.none":          "没有匹配的工单。",
		"jobs.prev":          "上一页",
		"jobs.next":          "下一页",
		"jobs.badpage":       "page %q 不是有效页码（1–1000）。",
		"jobs.baddate":       "%q 不是日期：请写成 YYYY-MM-DD。",
		"jobs.badkind":       "%q 不是工单类型：install 或 repair。",
		"jobs.noprovider":    "没有代码为 %q 的服务商。",
		"jobs.last4":         "电话以这些数字结尾的客户的工单。",
		"jobs.byphone":       "此电话号码的工单。",
		"jobs.byprovider":    "服务商 %s 的工单。",
		"jobs.byexternal":    "此外部编号的工单。",
		"job.title":          "工单",
		"job.badid":          "%q 不是工单编号。",
		"job.notfound":       "没有工单 %d。",
		"job.warranty":       "保修",
		"job.fault":          "故障",
		"job.customer":       "客户",
		"job.labour":         "工时费",
		"job.parts":          "配件费",
		"job.paid":           "客户已付",
		"job.lines":          "结算明细",
		"job.code":           "编码",
		"job.part":           "配件",
		"job.qty":            "数量",
		"job.unit":           "单价",
		"job.flags":          "疑点",
		"job.contacts":       "回访对象",
		"job.attempts":       "呼叫",
		"job.sessions":       "问卷会话",
	})
}
