package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/huifang/huifang/audit"
	"github.com/huifang/huifang/workorders"
)

// The review API, under /api/v1/audit. Anyone authenticated may read the
// queue, an evidence pack, the conflicts, the exports and the scorecards;
// claiming, deciding and signing off need role reviewer (or admin); tokens
// and lifting conflicts need admin. The reviewer is the caller's identity:
// a token's name, or "admin" for the static admin token.
func (s *Server) auditRoutes(handle func(pattern string, h http.HandlerFunc)) {
	handle("GET /api/v1/audit/flags", s.auth(s.listFlags))
	handle("GET /api/v1/audit/flags/{id}", s.auth(s.flagEvidence))
	handle("POST /api/v1/audit/flags/claim-next", s.allow(reviewerRoles, s.claimNext))
	handle("POST /api/v1/audit/flags/decide", s.allow(reviewerRoles, s.bulkDecide))
	handle("POST /api/v1/audit/flags/{id}/{action}", s.allow(reviewerRoles, s.flagAction))
	handle("GET /api/v1/audit/conflicts", s.auth(s.listConflicts))
	handle("POST /api/v1/audit/conflicts", s.allow(reviewerRoles, s.addConflict))
	handle("DELETE /api/v1/audit/conflicts", s.allow(adminRoles, s.removeConflict))
	handle("GET /api/v1/audit/export/findings", s.auth(s.exportFindings))
	handle("GET /api/v1/audit/scorecards", s.auth(s.scorecards))
	handle("POST /api/v1/audit/tokens", s.allow(adminRoles, s.createToken))
	handle("GET /api/v1/audit/tokens", s.allow(adminRoles, s.listTokens))
	handle("DELETE /api/v1/audit/tokens/{name}", s.allow(adminRoles, s.revokeToken))
}

// maxAuditBody bounds a review request's body: a bulk decision of the
// largest allowed size with long reasons fits many times over.
const maxAuditBody = 1 << 20

func (s *Server) auditNow() time.Time {
	if s.Audit.Now != nil {
		return s.Audit.Now()
	}
	return time.Now()
}

// auditError answers a failure of the audit store. An *audit.InputError
// points into the body (422) or names a query parameter (400).
func (s *Server) auditError(w http.ResponseWriter, what string, err error, inQuery bool) {
	var ie *audit.InputError
	switch {
	case errors.As(err, &ie):
		if inQuery {
			writeError(w, http.StatusBadRequest, "bad query parameter", APIError{Parameter: ie.Field, Message: ie.Msg})
		} else {
			writeError(w, http.StatusUnprocessableEntity, "invalid request: nothing changed", APIError{Pointer: "/" + ie.Field, Message: ie.Msg})
		}
	case errors.Is(err, audit.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, audit.ErrConflict):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, audit.ErrForbidden):
		writeError(w, http.StatusForbidden, err.Error())
	default:
		s.internal(w, "audit: "+what, err)
	}
}

func badParam(w http.ResponseWriter, name, msg string) {
	writeError(w, http.StatusBadRequest, "bad query parameter", APIError{Parameter: name, Message: msg})
}

// filterParams are the query parameters of the queue.
var filterParams = map[string]bool{
	"state": true, "rule": true, "severity": true, "provider": true, "assignee": true, "due_before": true,
	"overdue": true, "job": true, "text": true, "sort": true, "order": true, "limit": true, "offset": true,
	"after": true, "count": true,
}

// list reads a comma-separated and/or repeated parameter.
func list(q url.Values, name string) []string {
	var out []string
	for _, v := range q[name] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// parseFilter reads the queue's query parameters; it answers 400 naming the
// parameter when one is wrong, and returns false.
func parseFilter(w http.ResponseWriter, q url.Values) (audit.Filter, bool) {
	var f audit.Filter
	for name := range q {
		if !filterParams[name] {
			badParam(w, name, "unknown parameter; known: state, rule, severity, provider, assignee, due_before, overdue, job, text, sort, order, limit, offset, after, count")
			return f, false
		}
	}
	// Undecided flags unless asked otherwise, as the console's queue: the
	// decided ones pile up, and a list of all of them is seldom what is
	// wanted. state=all lists every state.
	switch f.States = list(q, "state"); {
	case len(f.States) == 0:
		f.States = undecided
	case slices.Equal(f.States, []string{"all"}):
		f.States = nil
	}
	f.Rules = list(q, "rule")
	for _, sv := range list(q, "severity") {
		f.Severity = append(f.Severity, audit.Severity(sv))
	}
	f.Provider, f.Assignee, f.Job, f.Text, f.Sort, f.After = q.Get("provider"), q.Get("assignee"), q.Get("job"), q.Get("text"), q.Get("sort"), q.Get("after")
	if v := q.Get("due_before"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			badParam(w, "due_before", "an RFC 3339 time such as 2026-11-25T08:00:00Z")
			return f, false
		}
		f.DueBefore = t
	}
	for name, p := range map[string]*bool{"overdue": &f.Overdue, "count": &f.Count} {
		if v := q.Get(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				badParam(w, name, "must be true or false")
				return f, false
			}
			*p = b
		}
	}
	switch q.Get("order") {
	case "", "asc":
	case "desc":
		f.Desc = true
	default:
		badParam(w, "order", "asc or desc")
		return f, false
	}
	for name, p := range map[string]*int{"limit": &f.Limit, "offset": &f.Offset} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				badParam(w, name, "a whole number")
				return f, false
			}
			*p = n
		}
	}
	return f, true
}

func (s *Server) listFlags(w http.ResponseWriter, r *http.Request) {
	f, ok := parseFilter(w, r.URL.Query())
	if !ok {
		return
	}
	rows, page, err := s.Audit.List(r.Context(), f)
	if err != nil {
		s.auditError(w, "list flags", err, true)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"flags": rows, "page": page})
}

// flagID reads the {id} path segment.
func flagID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no flag %q: a flag id is a positive whole number", r.PathValue("id")))
		return 0, false
	}
	return id, true
}

func (s *Server) flagEvidence(w http.ResponseWriter, r *http.Request) {
	id, ok := flagID(w, r)
	if !ok {
		return
	}
	who := identityOf(r)
	p, err := s.Audit.Evidence(r.Context(), id, audit.Viewer{Name: who.Name, Admin: who.Role == audit.RoleAdmin})
	if err != nil {
		s.auditError(w, "evidence", err, false)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) claimNext(w http.ResponseWriter, r *http.Request) {
	f, ok := parseFilter(w, r.URL.Query())
	if !ok {
		return
	}
	fr, err := s.Audit.ClaimNext(r.Context(), identityOf(r).Name, f)
	if errors.Is(err, audit.ErrNotFound) {
		writeError(w, http.StatusNotFound, "the queue holds no flag you may claim")
		return
	}
	if err != nil {
		s.auditError(w, "claim next", err, true)
		return
	}
	writeJSON(w, http.StatusOK, fr)
}

// readBody decodes a JSON body strictly into v: 400 for malformed JSON, 422
// with a JSON pointer for a field of the wrong type or an unknown field.
func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAuditBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", maxAuditBody))
			return false
		}
		writeError(w, http.StatusBadRequest, "could not read the body")
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err == nil {
		return true
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		writeError(w, http.StatusUnprocessableEntity, "invalid request: nothing changed",
			APIError{Pointer: "/" + strings.ReplaceAll(te.Field, ".", "/"), Message: "must be a JSON " + jsonKind(te.Type.Kind().String())})
		return false
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		field := strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
		writeError(w, http.StatusUnprocessableEntity, "invalid request: nothing changed",
			APIError{Pointer: "/" + field, Message: "unknown field"})
		return false
	}
	writeError(w, http.StatusBadRequest, "malformed JSON: "+err.Error())
	return false
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "struct", "map", "ptr":
		return "object"
	}
	return "number"
}

// decisionBody is the body of a decision, single or bulk.
type decisionBody struct {
	IDs      []int64         `json:"ids,omitempty"`
	Decision string          `json:"decision"`
	Reason   string          `json:"reason"`
	Note     string          `json:"note"`
	Amount   json.RawMessage `json:"amount,omitempty"`
	Version  int             `json:"version"`
}

// parseMoney reads an amount given as a JSON number or string, "42" or
// "42.50", into minor units.
func parseMoney(raw json.RawMessage) (workorders.Money, error) {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	whole, frac, _ := strings.Cut(s, ".")
	bad := fmt.Errorf("an amount such as 42 or \"42.50\" with at most two decimals, not %s", raw)
	if whole == "" || len(frac) > 2 || strings.ContainsAny(whole, "+-") {
		return 0, bad
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > math.MaxInt64/100-1 {
		return 0, bad
	}
	for len(frac) < 2 {
		frac += "0"
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil || strings.ContainsAny(frac, "+-") {
		return 0, bad
	}
	return workorders.Money(w*100 + f), nil
}

func (b *decisionBody) decision(w http.ResponseWriter) (audit.Decision, bool) {
	d := audit.Decision{Decision: b.Decision, Reason: b.Reason, Note: b.Note, Version: b.Version}
	if len(b.Amount) > 0 && string(b.Amount) != "null" {
		m, err := parseMoney(b.Amount)
		if err != nil {
			writeError(w, http.StatusUnprocessableEntity, "invalid request: nothing changed", APIError{Pointer: "/amount", Message: err.Error()})
			return d, false
		}
		d.Amount = &m
	}
	return d, true
}

func (s *Server) flagAction(w http.ResponseWriter, r *http.Request) {
	id, ok := flagID(w, r)
	if !ok {
		return
	}
	ctx, who := r.Context(), identityOf(r).Name
	var (
		fr  audit.FlagRow
		err error
	)
	switch action := r.PathValue("action"); action {
	case "claim":
		fr, err = s.Audit.Claim(ctx, who, id)
	case "release":
		fr, err = s.Audit.Release(ctx, who, id)
	case "renew":
		fr, err = s.Audit.Renew(ctx, who, id)
	case "decide":
		var b decisionBody
		if !readBody(w, r, &b) {
			return
		}
		if b.IDs != nil {
			writeError(w, http.StatusUnprocessableEntity, "invalid request: nothing changed",
				APIError{Pointer: "/ids", Message: "a bulk decision goes to POST /api/v1/audit/flags/decide"})
			return
		}
		d, ok := b.decision(w)
		if !ok {
			return
		}
		fr, err = s.Audit.Decide(ctx, who, id, d)
	case "signoff":
		var b struct {
			Approve *bool  `json:"approve"`
			Reason  string `json:"reason"`
		}
		if !readBody(w, r, &b) {
			return
		}
		if b.Approve == nil {
			writeError(w, http.StatusUnprocessableEntity, "invalid request: nothing changed",
				APIError{Pointer: "/approve", Message: "required: true to approve, false to reject (with a reason)"})
			return
		}
		fr, err = s.Audit.SignOff(ctx, who, id, *b.Approve, b.Reason)
	case "reopen":
		var b struct {
			Reason string `json:"reason"`
		}
		if !readBody(w, r, &b) {
			return
		}
		fr, err = s.Audit.Reopen(ctx, who, id, b.Reason)
	default:
		writeError(w, http.StatusNotFound, fmt.Sprintf("no flag action %q: claim, release, renew, decide, signoff or reopen", action))
		return
	}
	if err != nil {
		s.auditError(w, "flag "+r.PathValue("action"), err, false)
		return
	}
	writeJSON(w, http.StatusOK, fr)
}

func (s *Server) bulkDecide(w http.ResponseWriter, r *http.Request) {
	var b decisionBody
	if !readBody(w, r, &b) {
		return
	}
	d, ok := b.decision(w)
	if !ok {
		return
	}
	out, err := s.Audit.BulkDecide(r.Context(), identityOf(r).Name, b.IDs, d)
	if err != nil {
		s.auditError(w, "bulk decide", err, false)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"flags": out})
}

func (s *Server) listConflicts(w http.ResponseWriter, r *http.Request) {
	for name := range r.URL.Query() {
		if name != "reviewer" {
			badParam(w, name, "unknown parameter; known: reviewer")
			return
		}
	}
	cs, err := s.Audit.Conflicts(r.Context(), r.URL.Query().Get("reviewer"))
	if err != nil {
		s.auditError(w, "conflicts", err, true)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"conflicts": cs})
}

// addConflict marks a conflict of interest. An admin may mark anyone's; a
// reviewer may declare their own (and only an admin lifts one).
func (s *Server) addConflict(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Reviewer string `json:"reviewer"`
		Provider string `json:"provider"`
		Reason   string `json:"reason"`
	}
	if !readBody(w, r, &b) {
		return
	}
	who := identityOf(r)
	if b.Reviewer == "" {
		b.Reviewer = who.Name
	}
	if who.Role != audit.RoleAdmin && b.Reviewer != who.Name {
		writeError(w, http.StatusForbidden, fmt.Sprintf("%s may declare only their own conflicts, not %s's", who.Name, b.Reviewer))
		return
	}
	if err := s.Audit.AddConflict(r.Context(), who.Name, b.Reviewer, b.Provider, b.Reason); err != nil {
		if errors.Is(err, audit.ErrNotFound) {
			writeError(w, http.StatusUnprocessableEntity, "invalid request: nothing changed",
				APIError{Pointer: "/provider", Message: fmt.Sprintf("no provider with code %q", b.Provider)})
			return
		}
		s.auditError(w, "add conflict", err, false)
		return
	}
	cs, err := s.Audit.Conflicts(r.Context(), b.Reviewer)
	if err != nil {
		s.internal(w, "audit: conflicts", err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"conflicts": cs})
}

func (s *Server) removeConflict(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for _, name := range []string{"reviewer", "provider"} {
		if q.Get(name) == "" {
			badParam(w, name, "required")
			return
		}
	}
	if err := s.Audit.RemoveConflict(r.Context(), identityOf(r).Name, q.Get("reviewer"), q.Get("provider")); err != nil {
		s.auditError(w, "remove conflict", err, true)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// exportDays is the period of an export without from.
const exportDays = 30

// period reads from and to: RFC 3339 times, or dates (YYYY-MM-DD, UTC) where
// a date in to means the end of that day. Without to, now; without from, the
// exportDays before to.
func (s *Server) period(w http.ResponseWriter, q url.Values) (from, to time.Time, ok bool) {
	read := func(name string, endOfDay bool) (time.Time, bool) {
		v := q.Get(name)
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t, true
		}
		if d, err := time.Parse(time.DateOnly, v); err == nil {
			if endOfDay {
				d = d.AddDate(0, 0, 1)
			}
			return d, true
		}
		badParam(w, name, "a date (2026-11-25) or an RFC 3339 time (2026-11-25T08:00:00Z)")
		return time.Time{}, false
	}
	to = s.auditNow()
	if q.Get("to") != "" {
		if to, ok = read("to", true); !ok {
			return
		}
	}
	from = to.AddDate(0, 0, -exportDays)
	if q.Get("from") != "" {
		if from, ok = read("from", false); !ok {
			return
		}
	}
	if !to.After(from) {
		badParam(w, "to", "must be after from")
		return from, to, false
	}
	return from, to, true
}

func exportFormat(w http.ResponseWriter, q url.Values, def string) (string, bool) {
	f := q.Get("format")
	if f == "" {
		f = def
	}
	if f != audit.FormatCSV && f != audit.FormatJSON {
		badParam(w, "format", "csv or json")
		return "", false
	}
	return f, true
}

func knownParams(w http.ResponseWriter, q url.Values, known ...string) bool {
	for name := range q {
		if !strings.Contains(","+strings.Join(known, ",")+",", ","+name+",") {
			badParam(w, name, "unknown parameter; known: "+strings.Join(known, ", "))
			return false
		}
	}
	return true
}

// trackingWriter notes whether the response has started, so a failure
// before the first byte can still get an error status.
type trackingWriter struct {
	http.ResponseWriter
	started bool
}

func (t *trackingWriter) Write(b []byte) (int, error) {
	t.started = true
	return t.ResponseWriter.Write(b)
}

func (s *Server) export(w http.ResponseWriter, format, name string, run func(io.Writer) error) {
	if format == audit.FormatCSV {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, name, format))
	tw := &trackingWriter{ResponseWriter: w}
	if err := run(tw); err != nil {
		if tw.started {
			// The status is sent; the client sees a truncated body.
			s.Log.Error("http: export "+name+" failed midway", "err", err)
			return
		}
		w.Header().Del("Content-Disposition")
		s.auditError(w, "export "+name, err, true)
	}
}

func (s *Server) exportFindings(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !knownParams(w, q, "format", "from", "to", "provider") {
		return
	}
	format, ok := exportFormat(w, q, audit.FormatCSV)
	if !ok {
		return
	}
	from, to, ok := s.period(w, q)
	if !ok {
		return
	}
	s.export(w, format, "findings", func(out io.Writer) error {
		return s.Audit.ExportFindings(r.Context(), out, format, from, to, q.Get("provider"))
	})
}

func (s *Server) scorecards(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !knownParams(w, q, "format", "from", "to") {
		return
	}
	format, ok := exportFormat(w, q, audit.FormatJSON)
	if !ok {
		return
	}
	from, to, ok := s.period(w, q)
	if !ok {
		return
	}
	s.export(w, format, "scorecards", func(out io.Writer) error {
		return s.Audit.ExportScorecards(r.Context(), out, format, from, to)
	})
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Name string `json:"name"`
		Role string `json:"role"`
	}
	if !readBody(w, r, &b) {
		return
	}
	tok, err := s.Audit.CreateToken(r.Context(), identityOf(r).Name, b.Name, audit.Role(b.Role))
	if err != nil {
		s.auditError(w, "create token", err, false)
		return
	}
	// The token is in this answer only; it is never shown again.
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, map[string]string{"name": b.Name, "role": b.Role, "token": tok})
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := s.Audit.ListTokens(r.Context())
	if err != nil {
		s.internal(w, "audit: tokens", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": ts})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	if err := s.Audit.RevokeToken(r.Context(), identityOf(r).Name, r.PathValue("name")); err != nil {
		s.auditError(w, "revoke token", err, false)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
