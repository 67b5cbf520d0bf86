package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/huifang/huifang/audit"
	"github.com/huifang/huifang/workorders"
)

// The review queue and the evidence pack: where the callback team works
// through flags. Anyone logged in may look; reviewers (and admins) claim,
// decide, sign off and reopen. Every action goes through audit.Store, which
// enforces the leases, the conflicts of interest and the second sign-off
// and writes audit_log; the pages only translate its answers.
//
// The acting reviewer is the console user's username, the name audit
// records as assignee and decider.

// reviewPages registers this area's pages.
func (s *Server) reviewPages(handle func(pattern string, h http.HandlerFunc)) {
	if s.Audit == nil {
		return
	}
	handle("GET /queue", s.page(pagesAny, s.queuePage))
	handle("POST /queue/claim-next", s.page(pagesReviewer, s.queueClaimNext))
	handle("GET /flags/{id}", s.page(pagesAny, s.flagPage))
	handle("POST /flags/{id}/{action}", s.page(pagesReviewer, s.flagPagePost))
}

// undecided are the states the queue lists unless asked otherwise.
var undecided = []string{audit.StateOpen, audit.StateClaimed, audit.StateSignoff}

// queueForm is the queue's filter form as submitted, to fill it again.
type queueForm struct {
	State, Rule, Severity, Provider, Assignee, Text, Sort, Order, After string
	Overdue                                                             bool
	Limit                                                               string // rows per page; "" for the default
}

// queueData is what queue.html shows.
type queueData struct {
	Rows       []audit.FlagRow
	Form       queueForm
	Hidden     url.Values // the filters, for the claim-next form
	NextURL    string
	FirstURL   string
	Rules      []audit.Rule
	Severities []audit.Severity
	States     []string
	Errors     map[string]string
	Message    string
	CanAct     bool
}

// splitList reads a comma-separated parameter.
func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// truthy reads a checkbox or boolean parameter.
func truthy(v string) bool {
	switch strings.ToLower(v) {
	case "1", "on", "true", "yes":
		return true
	}
	return false
}

// queueFilter reads the queue's filters from q (a query string or a form).
// Problems are named by field in errs; the filter is still usable.
func queueFilter(u *consoleUser, q url.Values) (audit.Filter, queueForm, map[string]string) {
	errs := map[string]string{}
	fm := queueForm{State: q.Get("state"), Rule: q.Get("rule"), Severity: q.Get("severity"), Provider: strings.TrimSpace(q.Get("provider")),
		Assignee: strings.TrimSpace(q.Get("assignee")), Text: strings.TrimSpace(q.Get("text")), Sort: q.Get("sort"),
		Order: q.Get("order"), After: q.Get("after"), Overdue: truthy(q.Get("overdue"))}
	var f audit.Filter
	switch fm.State {
	case "":
		f.States = undecided
	case "all":
	default:
		f.States = splitList(fm.State)
	}
	f.Rules = splitList(fm.Rule)
	for _, sv := range splitList(fm.Severity) {
		f.Severity = append(f.Severity, audit.Severity(sv))
	}
	f.Provider, f.Text, f.Sort, f.After, f.Overdue = fm.Provider, fm.Text, fm.Sort, fm.After, fm.Overdue
	f.Assignee = fm.Assignee
	if fm.Assignee == "me" && u != nil {
		f.Assignee = u.Username
	}
	fm.Limit = q.Get("limit")
	if fm.Limit != "" {
		n, err := strconv.Atoi(fm.Limit)
		if err != nil || n <= 0 {
			errs["limit"] = fmt.Sprintf("a whole number from 1 to %d", audit.MaxLimit)
		}
		f.Limit = n
	}
	switch fm.Order {
	case "", "asc":
	case "desc":
		f.Desc = true
	default:
		errs["order"] = "asc or desc"
	}
	return f, fm, errs
}

// values is the form as query parameters, without the empty ones.
func (fm queueForm) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"state": fm.State, "rule": fm.Rule, "severity": fm.Severity, "provider": fm.Provider,
		"assignee": fm.Assignee, "text": fm.Text, "sort": fm.Sort, "order": fm.Order, "limit": fm.Limit} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if fm.Overdue {
		v.Set("overdue", "1")
	}
	return v
}

func (s *Server) queuePage(w http.ResponseWriter, r *http.Request) {
	u := userOf(r)
	q := r.URL.Query()
	f, fm, errs := queueFilter(u, q)
	d := queueData{Form: fm, Rules: audit.Rules, Severities: []audit.Severity{audit.Critical, audit.High, audit.Medium, audit.Low},
		States: []string{audit.StateOpen, audit.StateClaimed, audit.StateSignoff, audit.StateDecided},
		Errors: errs, CanAct: canReview(u), Hidden: fm.values()}
	d.Hidden.Del("state")
	d.Hidden.Del("assignee")
	switch {
	case q.Get("decided") != "":
		if id, err := strconv.ParseInt(q.Get("decided"), 10, 64); err == nil && id > 0 {
			d.Message = fmt.Sprintf(translate(u.Lang, "queue.flash.decided"), id)
		}
	case q.Get("none") != "":
		d.Message = translate(u.Lang, "queue.flash.none")
	}
	code := http.StatusOK
	if len(errs) == 0 {
		rows, page, err := s.Audit.List(r.Context(), f)
		var ie *audit.InputError
		switch {
		case errors.As(err, &ie):
			errs[ie.Field] = ie.Msg
		case err != nil:
			s.Log.Error("console: queue", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		default:
			d.Rows = rows
			if page.Next != "" {
				v := fm.values()
				v.Set("after", page.Next)
				d.NextURL = "/queue?" + v.Encode()
			}
			if fm.After != "" {
				d.FirstURL = "/queue?" + fm.values().Encode()
			}
		}
	}
	if len(errs) > 0 {
		code = http.StatusBadRequest
	}
	s.render(w, r, code, "queue", translate(u.Lang, "queue.title"), "queue", d)
}

func canReview(u *consoleUser) bool {
	return u != nil && slices.Contains(reviewerRoles, u.Role)
}

// queueClaimNext claims the first flag the posted filters select and opens it.
func (s *Server) queueClaimNext(w http.ResponseWriter, r *http.Request) {
	u := userOf(r)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	f, _, errs := queueFilter(u, r.PostForm)
	if len(errs) > 0 {
		http.Redirect(w, r, "/queue", http.StatusSeeOther)
		return
	}
	fr, err := s.Audit.ClaimNext(r.Context(), u.Username, f)
	var ie *audit.InputError
	switch {
	case errors.Is(err, audit.ErrNotFound):
		http.Redirect(w, r, "/queue?none=1", http.StatusSeeOther)
	case errors.As(err, &ie):
		v := url.Values{}
		v.Set(ie.Field, r.PostForm.Get(ie.Field))
		http.Redirect(w, r, "/queue?"+v.Encode(), http.StatusSeeOther)
	case err != nil:
		s.Log.Error("console: claim next", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
	default:
		http.Redirect(w, r, fmt.Sprintf("/flags/%d", fr.ID), http.StatusSeeOther)
	}
}

// flagData is what flag.html shows.
type flagData struct {
	ID       int64
	NotFound bool
	Pack     audit.Pack
	Evidence []evField
	Sessions []sessionView
	Me       string
	// Holder: the user holds the flag under an unexpired lease.
	Holder      bool
	HeldByOther bool
	CanAct      bool // role reviewer or admin
	CanClaim    bool
	CanSignoff  bool
	CanReopen   bool
	CanCall     bool
	// LeaseMinutes is how long the holder's lease still runs.
	LeaseMinutes int
	RiskText     string         // the provider's risk score, "" when none
	Rules        map[string]int // the provider's confirmed findings by rule, in rule order
	RuleOrder    []string
	Values       map[string]string // what was typed into the forms, by "form.field"
	Errors       map[string]string // problems, by "form.field"
	Error        string            // a problem with the action as a whole
	Message      string
}

// sessionView is a survey session with its answers made readable.
type sessionView struct {
	audit.PackSession
	Lines []answerView
}

type answerView struct {
	audit.PackAnswer
	ValueText string
}

func (s *Server) flagPage(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.renderFlag(w, r, http.StatusNotFound, &flagData{NotFound: true})
		return
	}
	d := &flagData{ID: id}
	switch r.URL.Query().Get("done") {
	case "claim", "release", "renew", "signoff", "reopen", "call":
		d.Message = translate(userOf(r).Lang, "flag.done."+r.URL.Query().Get("done"))
	}
	s.showFlag(w, r, http.StatusOK, d)
}

// showFlag loads the evidence pack into d and renders it with code.
func (s *Server) showFlag(w http.ResponseWriter, r *http.Request, code int, d *flagData) {
	u := userOf(r)
	p, err := s.Audit.Evidence(r.Context(), d.ID, audit.Viewer{Name: u.Username, Admin: u.Role == audit.RoleAdmin})
	if errors.Is(err, audit.ErrNotFound) {
		d.NotFound = true
		s.renderFlag(w, r, http.StatusNotFound, d)
		return
	}
	if err != nil {
		s.Log.Error("console: evidence", "flag", d.ID, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	now := s.auditNow()
	f := p.Flag
	held := f.State == audit.StateClaimed && f.LeaseUntil != nil && f.LeaseUntil.After(now)
	d.Pack, d.Me, d.CanAct = p, u.Username, canReview(u)
	d.Holder = held && f.Assignee == u.Username
	d.HeldByOther = held && f.Assignee != u.Username
	d.CanClaim = d.CanAct && (f.State == audit.StateOpen || (f.State == audit.StateClaimed && !d.Holder))
	d.CanSignoff = d.CanAct && f.State == audit.StateSignoff && f.DecidedBy != u.Username
	d.CanReopen = d.CanAct && f.State == audit.StateDecided
	d.CanCall = d.Holder && u.Phone != "" && s.Bridge != nil && s.BridgeFrom != "" && p.Job != nil
	if d.Holder {
		d.LeaseMinutes = leaseLeft(f.LeaseUntil, now)
	}
	d.Evidence = evidenceFields(p.Evidence)
	for _, ss := range p.Sessions {
		sv := sessionView{PackSession: ss}
		for _, a := range ss.Answers {
			sv.Lines = append(sv.Lines, answerView{PackAnswer: a, ValueText: valueText(a.Value)})
		}
		d.Sessions = append(d.Sessions, sv)
	}
	if p.Provider.Risk != nil {
		d.RiskText = strconv.FormatFloat(*p.Provider.Risk, 'f', 2, 64)
	}
	d.Rules = p.Provider.ConfirmedByRule
	for _, ru := range audit.Rules {
		if d.Rules[ru.Code] > 0 {
			d.RuleOrder = append(d.RuleOrder, ru.Code)
		}
	}
	s.renderFlag(w, r, code, d)
}

func (s *Server) renderFlag(w http.ResponseWriter, r *http.Request, code int, d *flagData) {
	lang := userOf(r).Lang
	title := translate(lang, "flag.notfound")
	if !d.NotFound {
		title = fmt.Sprintf("%s %d · %s", translate(lang, "flag.title"), d.ID, d.Pack.Flag.Rule)
	}
	if d.Values == nil {
		d.Values = map[string]string{}
	}
	if d.Errors == nil {
		d.Errors = map[string]string{}
	}
	s.render(w, r, code, "flag", title, "queue", d)
}

// flagPagePost runs one action of the flag page's forms.
func (s *Server) flagPagePost(w http.ResponseWriter, r *http.Request) {
	u := userOf(r)
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.renderFlag(w, r, http.StatusNotFound, &flagData{NotFound: true})
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	action := r.PathValue("action")
	form := r.PostForm
	d := &flagData{ID: id, Values: map[string]string{}, Errors: map[string]string{}}
	for _, k := range []string{"decision", "reason", "note", "approve"} {
		if v := form.Get(k); v != "" {
			d.Values[action+"."+k] = v
		}
	}
	switch action {
	case "claim":
		_, err = s.Audit.Claim(ctx, u.Username, id)
	case "release":
		_, err = s.Audit.Release(ctx, u.Username, id)
	case "renew":
		_, err = s.Audit.Renew(ctx, u.Username, id)
	case "decide":
		var version int
		if v := form.Get("version"); v != "" {
			version, _ = strconv.Atoi(v)
		}
		_, err = s.Audit.Decide(ctx, u.Username, id, audit.Decision{Decision: form.Get("decision"),
			Reason: form.Get("reason"), Note: form.Get("note"), Version: version})
		if err == nil {
			http.Redirect(w, r, fmt.Sprintf("/queue?decided=%d", id), http.StatusSeeOther)
			return
		}
	case "signoff":
		switch form.Get("approve") {
		case "approve":
			_, err = s.Audit.SignOff(ctx, u.Username, id, true, form.Get("reason"))
		case "reject":
			_, err = s.Audit.SignOff(ctx, u.Username, id, false, form.Get("reason"))
		default:
			err = &audit.InputError{Field: "approve", Msg: "approve or reject"}
		}
	case "reopen":
		_, err = s.Audit.Reopen(ctx, u.Username, id, form.Get("reason"))
	case "call":
		code, msg := s.callBack(ctx, u, id)
		if code == http.StatusOK {
			http.Redirect(w, r, fmt.Sprintf("/flags/%d?done=call", id), http.StatusSeeOther)
			return
		}
		d.Error = msg
		s.showFlag(w, r, code, d)
		return
	default:
		s.renderFlag(w, r, http.StatusNotFound, &flagData{NotFound: true})
		return
	}
	if err == nil {
		http.Redirect(w, r, fmt.Sprintf("/flags/%d?done=%s", id, action), http.StatusSeeOther)
		return
	}
	var ie *audit.InputError
	code := http.StatusInternalServerError
	switch {
	case errors.As(err, &ie):
		code = http.StatusUnprocessableEntity
		d.Errors[action+"."+ie.Field] = ie.Msg
	case errors.Is(err, audit.ErrNotFound):
		d.NotFound = true
		s.renderFlag(w, r, http.StatusNotFound, d)
		return
	case errors.Is(err, audit.ErrConflict):
		code = http.StatusConflict
		d.Error = s.conflictMessage(ctx, u, id, err)
	case errors.Is(err, audit.ErrForbidden):
		code = http.StatusForbidden
		d.Error = translate(u.Lang, "flag.err.conflicted")
		if action == "signoff" {
			if f, ferr := s.Audit.Flag(ctx, id); ferr == nil && f.DecidedBy == u.Username {
				d.Error = translate(u.Lang, "flag.err.ownsignoff")
			}
		}
	default:
		s.Log.Error("console: flag action", "flag", id, "action", action, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	s.showFlag(w, r, code, d)
}

// conflictMessage explains an ErrConflict: who holds the flag, or what
// state it is in now.
func (s *Server) conflictMessage(ctx context.Context, u *consoleUser, id int64, err error) string {
	f, ferr := s.Audit.Flag(ctx, id)
	if ferr != nil {
		return err.Error()
	}
	now := s.auditNow()
	switch {
	case f.State == audit.StateClaimed && f.Assignee != u.Username && f.LeaseUntil != nil && f.LeaseUntil.After(now):
		return fmt.Sprintf(translate(u.Lang, "flag.err.heldby"), f.Assignee, f.LeaseUntil.Local().Format("15:04"))
	case f.State == audit.StateClaimed && f.Assignee == u.Username:
		return translate(u.Lang, "flag.err.leaseover")
	case f.State != audit.StateClaimed:
		return fmt.Sprintf(translate(u.Lang, "flag.err.state"), translate(u.Lang, "state."+f.State))
	}
	return err.Error()
}

// callBack rings the reviewer's phone and bridges it to the customer of the
// flag they hold; it returns 200 or the status and message to show.
func (s *Server) callBack(ctx context.Context, u *consoleUser, id int64) (int, string) {
	if s.Bridge == nil || s.BridgeFrom == "" {
		return http.StatusServiceUnavailable, translate(u.Lang, "flag.err.nocarrier")
	}
	if u.Phone == "" {
		return http.StatusUnprocessableEntity, translate(u.Lang, "flag.err.nophone")
	}
	f, err := s.Audit.Flag(ctx, id)
	if errors.Is(err, audit.ErrNotFound) {
		return http.StatusNotFound, translate(u.Lang, "flag.notfound")
	}
	if err != nil {
		s.Log.Error("console: call back", "flag", id, "err", err)
		return http.StatusInternalServerError, "internal error"
	}
	now := s.auditNow()
	if f.State != audit.StateClaimed || f.Assignee != u.Username || f.LeaseUntil == nil || !f.LeaseUntil.After(now) {
		return http.StatusConflict, translate(u.Lang, "flag.err.callholder")
	}
	if f.WorkOrderID == 0 {
		return http.StatusConflict, translate(u.Lang, "flag.err.nojob")
	}
	var customer string
	err = s.Pool.QueryRow(ctx, `SELECT c.phone_e164 FROM work_orders w JOIN customers c ON c.id = w.customer_id WHERE w.id = $1`,
		f.WorkOrderID).Scan(&customer)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && customer == "") {
		return http.StatusConflict, translate(u.Lang, "flag.err.nojob")
	}
	if err != nil {
		s.Log.Error("console: call back", "flag", id, "err", err)
		return http.StatusInternalServerError, "internal error"
	}
	details := map[string]any{"agent": audit.MaskPhone(u.Phone), "customer": audit.MaskPhone(customer), "from": s.BridgeFrom}
	sid, berr := s.Bridge.Bridge(ctx, s.BridgeFrom, u.Phone, customer)
	if berr != nil {
		details["error"] = maskNumbers(berr.Error())
	} else {
		details["call_sid"] = sid
	}
	if err := audit.LogAction(ctx, s.Pool, now, u.Username, "flag.call", "flag", strconv.FormatInt(id, 10), details); err != nil {
		s.Log.Error("console: call back: audit log", "flag", id, "err", err)
	}
	if berr != nil {
		s.Log.Warn("console: call back failed", "flag", id, "err", maskNumbers(berr.Error()))
		return http.StatusBadGateway, translate(u.Lang, "flag.err.callfailed")
	}
	return http.StatusOK, ""
}

// numberInText is a phone-length run of digits in a carrier's message,
// which may quote the number it refused.
var numberInText = regexp.MustCompile(`\+?[0-9]{7,}`)

// maskNumbers masks every phone number in s, for logs and audit_log.
func maskNumbers(s string) string { return numberInText.ReplaceAllStringFunc(s, audit.MaskPhone) }

// evField is one entry of a flag's evidence: a text, or a table for a list
// of records (the answers that raised it, the claim lines concerned …).
type evField struct {
	Key   string
	Text  string
	Table *evTable
}

type evTable struct {
	Cols []string
	Rows [][]string
}

// evFirst orders the evidence's entries and columns: what a reviewer reads
// first comes first, the rest alphabetically.
var evFirst = []string{"answers", "claim_lines", "lines", "metrics", "not_sure", "earlier", "charge",
	"seq", "question", "part", "fact", "prompt", "raw", "value", "line", "part_code", "name", "name_en", "name_zh",
	"quantity", "claimed", "unit_cost", "amount", "metric", "n"}

func evLess(a, b string) bool {
	ia, ib := slices.Index(evFirst, a), slices.Index(evFirst, b)
	switch {
	case ia >= 0 && ib >= 0:
		return ia < ib
	case ia >= 0:
		return true
	case ib >= 0:
		return false
	}
	return a < b
}

// moneyKeys hold amounts in minor units in the checks' evidence.
var moneyKeys = map[string]bool{"amount": true, "claim_value": true, "labour_amount": true, "unit_cost": true}

// evidenceFields makes a flag's stored evidence readable: one entry per
// key; a list of records becomes a table.
func evidenceFields(raw json.RawMessage) []evField {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return evLess(keys[i], keys[j]) })
	var out []evField
	for _, k := range keys {
		f := evField{Key: k}
		if t := evRecords(m[k]); t != nil {
			f.Table = t
		} else {
			f.Text = evText(k, m[k])
		}
		out = append(out, f)
	}
	return out
}

// evRecords returns a table for a non-empty list of objects, else nil.
func evRecords(v any) *evTable {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil
	}
	cols := map[string]bool{}
	for _, e := range list {
		o, ok := e.(map[string]any)
		if !ok {
			return nil
		}
		for k := range o {
			cols[k] = true
		}
	}
	t := &evTable{}
	for k := range cols {
		t.Cols = append(t.Cols, k)
	}
	sort.Slice(t.Cols, func(i, j int) bool { return evLess(t.Cols[i], t.Cols[j]) })
	for _, e := range list {
		o := e.(map[string]any)
		row := make([]string, len(t.Cols))
		for i, c := range t.Cols {
			row[i] = evText(c, o[c])
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// evText formats one value of the evidence.
func evText(key string, v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		if moneyKeys[key] {
			if n, err := x.Int64(); err == nil {
				return workorders.Money(n).String()
			}
		}
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = evText(key, e)
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return evLess(keys[i], keys[j]) })
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ": " + evText(k, x[k])
		}
		return strings.Join(parts, "; ")
	}
	return fmt.Sprint(v)
}

// valueText shows a parsed survey value: a JSON string without its quotes,
// anything else as it is stored.
func valueText(v json.RawMessage) string {
	if len(v) == 0 || string(v) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	var anyv any
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	if dec.Decode(&anyv) == nil {
		return evText("", anyv)
	}
	return string(v)
}

// leaseLeft is how long a lease still runs, in whole minutes.
func leaseLeft(until *time.Time, now time.Time) int {
	if until == nil {
		return 0
	}
	return int(until.Sub(now).Minutes())
}

func init() {
	en := map[string]string{
		"queue.title":            "Review queue",
		"queue.claimnext":        "Claim next",
		"queue.mine":             "My flags",
		"queue.all":              "All undecided",
		"queue.overdueonly":      "Overdue",
		"queue.filter":           "Filter",
		"queue.state":            "State",
		"queue.state.undecided":  "Undecided",
		"queue.state.all":        "Any state",
		"queue.rule":             "Rule",
		"queue.any":              "Any",
		"queue.severity":         "Severity",
		"queue.provider":         "Provider code",
		"queue.assignee":         "Assignee",
		"queue.text":             "Search",
		"queue.sort":             "Sort",
		"queue.sort.priority":    "Urgency",
		"queue.sort.raised_at":   "Raised",
		"queue.sort.due_at":      "Due",
		"queue.sort.claim_value": "Claim value",
		"queue.order.desc":       "Descending",
		"queue.col.severity":     "Severity",
		"queue.col.rule":         "Rule",
		"queue.col.summary":      "Summary",
		"queue.col.provider":     "Provider",
		"queue.col.job":          "Job",
		"queue.col.claim":        "Claim / amount",
		"queue.col.state":        "State",
		"queue.col.due":          "Due",
		"queue.empty":            "No flags match.",
		"queue.next":             "Next page",
		"queue.first":            "First page",
		"queue.flash.decided":    "Flag %d decided.",
		"queue.flash.none":       "Nothing left in the queue that you may claim.",
		"queue.keys":             "Keys: j/k move, Enter opens, c claims the next flag, ? help.",
		"severity.critical":      "critical",
		"severity.high":          "high",
		"severity.medium":        "medium",
		"severity.low":           "low",
		"state.open":             "open",
		"state.claimed":          "claimed",
		"state.signoff":          "awaiting sign-off",
		"state.decided":          "decided",
		"decision.confirmed":     "confirmed",
		"decision.cleared":       "cleared",
		"decision.escalated":     "escalated",
		"decision.needs_info":    "needs information",
		"flag.title":             "Flag",
		"flag.notfound":          "No such flag",
		"flag.back":              "Back to the queue",
		"flag.rule":              "Rule",
		"flag.severity":          "Severity",
		"flag.state":             "State",
		"flag.due":               "Due",
		"flag.raised":            "Raised",
		"flag.overdue":           "overdue",
		"flag.summary":           "Summary",
		"flag.heldby":            "Held by",
		"flag.until":             "until",
		"flag.decidedby":         "Decided by",
		"flag.reason":            "Reason",
		"flag.note":              "Note",
		"flag.evidence":          "What the check saw",
		"flag.job":               "Job and claim",
		"flag.product":           "Product",
		"flag.serial":            "Serial number",
		"flag.warranty":          "Warranty",
		"flag.fault":             "Fault",
		"flag.completed":         "Completed",
		"flag.technician":        "Technician",
		"flag.customer":          "Customer",
		"flag.phone":             "Phone",
		"flag.labour":            "Labour",
		"flag.parts":             "Parts",
		"flag.claimvalue":        "Claim value",
		"flag.paid":              "Customer paid",
		"flag.amount":            "Amount at stake",
		"flag.line":              "Line",
		"flag.part":              "Part",
		"flag.qty":               "Qty",
		"flag.unitcost":          "Unit cost",
		"flag.lineamount":        "Amount",
		"flag.attempts":          "Calls and messages",
		"flag.channel":           "Channel",
		"flag.to":                "To",
		"flag.outcome":           "Outcome",
		"flag.times":             "Placed / answered / ended",
		"flag.duration":          "Duration",
		"flag.recording":         "Recording",
		"recording.none":         "This attempt has no recording.",
		"recording.failed":       "The carrier did not give the recording; try again later.",
		"flag.noattempts":        "No calls or messages yet.",
		"flag.transcript":        "Survey transcript",
		"flag.prompt":            "Prompt (as heard or read)",
		"flag.raw":               "Customer's input",
		"flag.value":             "Understood as",
		"flag.event":             "Event",
		"flag.notranscript":      "No survey answers.",
		"flag.provider":          "Provider",
		"flag.risk":              "Risk score",
		"flag.stats":             "Statistics",
		"flag.metric":            "Metric",
		"flag.interval":          "Interval",
		"flag.reference":         "Peers",
		"flag.outlier":           "outlier",
		"flag.confirmed":         "Confirmed findings (90 days)",
		"flag.noconfirmed":       "No confirmed findings in 90 days.",
		"flag.actions":           "Actions",
		"flag.claim":             "Claim",
		"flag.release":           "Release",
		"flag.renew":             "Renew lease",
		"flag.decide":            "Decide",
		"flag.decision":          "Decision",
		"flag.signoff":           "Second sign-off",
		"flag.approve":           "Approve",
		"flag.reject":            "Reject",
		"flag.reopen":            "Reopen",
		"flag.call":              "Call the customer",
		"flag.call.help":         "Your phone rings first; when you answer, the customer is dialled from our number.",
		"flag.claimnext":         "Claim next",
		"flag.readonly":          "Your role may look at flags but not act on them.",
		"flag.shortcuts":         "Shortcuts",
		"flag.keys":              "c claim · 1 confirm · 2 clear · 3 escalate · n claim next · ? this help",
		"flag.yours":             "You hold this flag",
		"flag.minutes":           "min left",
		"flag.done.claim":        "Claimed: the flag is yours.",
		"flag.done.release":      "Released to the queue.",
		"flag.done.renew":        "Lease renewed.",
		"flag.done.signoff":      "Sign-off recorded.",
		"flag.done.reopen":       "Reopened.",
		"flag.done.call":         "Calling your phone; answer it to be connected to the customer.",
		"flag.err.heldby":        "Held by %s until %s.",
		"flag.err.leaseover":     "Your lease on this flag ran out: claim it again.",
		"flag.err.state":         "The flag is %s now.",
		"flag.err.conflicted":    "You are marked as having a conflict of interest with this provider.",
		"flag.err.ownsignoff":    "You decided this flag: a different reviewer must sign it off.",
		"flag.err.nocarrier":     "Telephony is not configured.",
		"flag.err.nophone":       "Add your phone number to your profile to call customers.",
		"flag.err.callholder":    "Only the reviewer holding the flag may call the customer.",
		"flag.err.nojob":         "This flag has no customer to call.",
		"flag.err.callfailed":    "The call could not be placed; try again.",
	}
	zh := map[string]string{
		"queue.title":            "审核队列",
		"queue.claimnext":        "领取下一条",
		"queue.mine":             "我的标记",
		"queue.all":              "全部未决",
		"queue.overdueonly":      "已逾期",
		"queue.filter":           "筛选",
		"queue.state":            "状态",
		"queue.state.undecided":  "未决",
		"queue.state.all":        "全部状态",
		"queue.rule":             "规则",
		"queue.any":              "全部",
		"queue.severity":         "严重程度",
		"queue.provider":         "服务商代码",
		"queue.assignee":         "处理人",
		"queue.text":             "搜索",
		"queue.sort":             "排序",
		"queue.sort.priority":    "紧急程度",
		"queue.sort.raised_at":   "发现时间",
		"queue.sort.due_at":      "截止时间",
		"queue.sort.claim_value": "索赔金额",
		"queue.order.desc":       "降序",
		"queue.col.severity":     "严重程度",
		"queue.col.rule":         "规则",
		"queue.col.summary":      "摘要",
		"queue.col.provider":     "服务商",
		"queue.col.job":          "工单",
		"queue.col.claim":        "索赔 / 涉及金额",
		"queue.col.state":        "状态",
		"queue.col.due":          "截止",
		"queue.empty":            "没有符合条件的标记。",
		"queue.next":             "下一页",
		"queue.first":            "第一页",
		"queue.flash.decided":    "标记 %d 已裁定。",
		"queue.flash.none":       "队列中没有您可领取的标记。",
		"queue.keys":             "快捷键：j/k 移动，Enter 打开，c 领取下一条，? 帮助。",
		"severity.critical":      "严重",
		"severity.high":          "高",
		"severity.medium":        "中",
		"severity.low":           "低",
		"state.open":             "待处理",
		"state.claimed":          "处理中",
		"state.signoff":          "待复核",
		"state.decided":          "已裁定",
		"decision.confirmed":     "确认违规",
		"decision.cleared":       "排除",
		"decision.escalated":     "升级处理",
		"decision.needs_info":    "需补充信息",
		"flag.title":             "标记",
		"flag.notfound":          "标记不存在",
		"flag.back":              "返回队列",
		"flag.rule":              "规则",
		"flag.severity":          "严重程度",
		"flag.state":             "状态",
		"flag.due":               "截止",
		"flag.raised":            "发现时间",
		"flag.overdue":           "已逾期",
		"flag.summary":           "摘要",
		"flag.heldby":            "处理人",
		"flag.until":             "至",
		"flag.decidedby":         "裁定人",
		"flag.reason":            "理由",
		"flag.note":              "备注",
		"flag.evidence":          "检查依据",
		"flag.job":               "工单与索赔",
		"flag.product":           "产品",
		"flag.serial":            "序列号",
		"flag.warranty":          "保修",
		"flag.fault":             "故障",
		"flag.completed":         "完工时间",
		"flag.technician":        "技师",
		"flag.customer":          "客户",
		"flag.phone":             "电话",
		"flag.labour":            "工时费",
		"flag.parts":             "配件费",
		"flag.claimvalue":        "索赔金额",
		"flag.paid":              "客户付费",
		"flag.amount":            "涉及金额",
		"flag.line":              "行",
		"flag.part":              "配件",
		"flag.qty":               "数量",
		"flag.unitcost":          "单价",
		"flag.lineamount":        "金额",
		"flag.attempts":          "电话与短信",
		"flag.channel":           "渠道",
		"flag.to":                "号码",
		"flag.outcome":           "结果",
		"flag.times":             "拨出 / 接通 / 结束",
		"flag.duration":          "时长",
		"flag.recording":         "录音",
		"recording.none":         "此次尝试没有录音。",
		"recording.failed":       "运营商未返回录音，请稍后再试。",
		"flag.noattempts":        "尚无电话或短信。",
		"flag.transcript":        "问卷记录",
		"flag.prompt":            "提示语（原文）",
		"flag.raw":               "客户输入",
		"flag.value":             "识别为",
		"flag.event":             "事件",
		"flag.notranscript":      "没有问卷回答。",
		"flag.provider":          "服务商",
		"flag.risk":              "风险分",
		"flag.stats":             "统计",
		"flag.metric":            "指标",
		"flag.interval":          "区间",
		"flag.reference":         "同行",
		"flag.outlier":           "异常",
		"flag.confirmed":         "已确认违规（90 天）",
		"flag.noconfirmed":       "90 天内没有确认的违规。",
		"flag.actions":           "操作",
		"flag.claim":             "领取",
		"flag.release":           "放回队列",
		"flag.renew":             "续期",
		"flag.decide":            "裁定",
		"flag.decision":          "裁定结果",
		"flag.signoff":           "二次复核",
		"flag.approve":           "同意",
		"flag.reject":            "驳回",
		"flag.reopen":            "重新打开",
		"flag.call":              "回拨客户",
		"flag.call.help":         "先呼叫您的电话；接听后以我方号码拨打客户。",
		"flag.claimnext":         "领取下一条",
		"flag.readonly":          "您的角色可查看标记，但不能操作。",
		"flag.shortcuts":         "快捷键",
		"flag.keys":              "c 领取 · 1 确认 · 2 排除 · 3 升级 · n 领取下一条 · ? 帮助",
		"flag.yours":             "此标记由您处理",
		"flag.minutes":           "分钟后到期",
		"flag.done.claim":        "已领取。",
		"flag.done.release":      "已放回队列。",
		"flag.done.renew":        "已续期。",
		"flag.done.signoff":      "复核已记录。",
		"flag.done.reopen":       "已重新打开。",
		"flag.done.call":         "正在呼叫您的电话，接听后将接通客户。",
		"flag.err.heldby":        "由 %s 处理中，至 %s。",
		"flag.err.leaseover":     "您对此标记的领取已过期，请重新领取。",
		"flag.err.state":         "此标记当前状态为：%s。",
		"flag.err.conflicted":    "您与该服务商存在利益冲突，不能处理其标记。",
		"flag.err.ownsignoff":    "此标记由您裁定，须由其他审核员复核。",
		"flag.err.nocarrier":     "未配置电话线路。",
		"flag.err.nophone":       "请先在个人资料中填写电话号码。",
		"flag.err.callholder":    "只有正在处理此标记的审核员可以回拨客户。",
		"flag.err.nojob":         "此标记没有可拨打的客户。",
		"flag.err.callfailed":    "呼叫未能发出，请重试。",
	}
	ruleZH := map[string]string{
		"V1": "否认上门或安装", "V2": "索赔配件未更换", "V3": "更换了其他配件", "V4": "向客户收费",
		"V5": "问题未解决", "V6": "上门日期不符", "V7": "同一机器重复索赔", "V9": "超出保修或早于送货安装",
		"V10": "保修期最后几天", "V11": "配件不在配件表或超量", "V12": "工时超标", "V13": "客户电话共用或为服务商自己的",
		"V15": "30 天内返修", "V16": "客户无法联系或号码无效", "P1": "过度更换配件", "P2": "单次索赔成本失控",
		"P3": "确认违规或否认率高于同行", "P4": "返修或客户付费率高于同行",
	}
	for _, ru := range audit.Rules {
		en["rule."+ru.Code] = ru.Name
		if n, ok := ruleZH[ru.Code]; ok {
			zh["rule."+ru.Code] = n
		}
	}
	addMessages("en", en)
	addMessages("zh-CN", zh)
}
