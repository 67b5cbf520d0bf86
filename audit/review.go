package audit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/huifang/huifang/workorders"
)

// The errors of the review workflow. web answers them 404, 409 and 403.
var (
	// ErrNotFound: no such flag, provider, conflict or token.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the flag is held by someone else, is in a state the
	// action does not apply to, or has changed since the caller read it.
	ErrConflict = errors.New("conflict")
	// ErrForbidden: the reviewer is conflicted with the flag's provider, or
	// would sign off their own decision.
	ErrForbidden = errors.New("forbidden")
)

// InputError is a request the workflow cannot take as given: Field names
// what is wrong (a filter field, "reason", "decision", "ids/3").
type InputError struct {
	Field string
	Msg   string
}

func (e *InputError) Error() string { return e.Field + ": " + e.Msg }

func badInput(field, format string, args ...any) error {
	return &InputError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// checkText refuses text Postgres cannot store (invalid UTF-8, NUL), so it
// is named as bad input instead of failing in the database.
func checkText(fields ...string) error {
	for i := 0; i+1 < len(fields); i += 2 {
		if v := fields[i+1]; !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			return badInput(fields[i], "is not valid UTF-8 text")
		}
	}
	return nil
}

// The states of a flag.
const (
	StateOpen    = "open"
	StateClaimed = "claimed"
	StateSignoff = "signoff" // a confirmed finding waiting for a second reviewer
	StateDecided = "decided"
)

// The decisionNames a reviewer may record.
const (
	Confirmed = "confirmed" // the claim is bad: it goes to chargeback
	Cleared   = "cleared"   // the claim is fine
	Escalated = "escalated" // beyond the callback team: fraud, safety, legal
	NeedsInfo = "needs_info"
)

var decisionNames = []string{Confirmed, Cleared, Escalated, NeedsInfo}

// FlagRow is a flag as the queue lists it.
type FlagRow struct {
	ID            int64            `json:"id"`
	WorkOrderID   int64            `json:"work_order_id,omitempty"`
	JobExternalID string           `json:"job_external_id,omitempty"`
	ProviderID    int64            `json:"provider_id"`
	ProviderCode  string           `json:"provider_code"`
	ProviderName  string           `json:"provider_name"`
	Rule          string           `json:"rule"`
	RuleName      string           `json:"rule_name"`
	Severity      Severity         `json:"severity"`
	Priority      int              `json:"priority"`
	Source        string           `json:"source"`
	Summary       string           `json:"summary"`
	Currency      string           `json:"currency"`
	ClaimValue    workorders.Money `json:"claim_value"`
	Amount        workorders.Money `json:"amount"`
	State         string           `json:"state"`
	Decision      string           `json:"decision,omitempty"`
	RaisedAt      time.Time        `json:"raised_at"`
	DueAt         time.Time        `json:"due_at"`
	Overdue       bool             `json:"overdue"`
	Assignee      string           `json:"assignee,omitempty"`
	LeaseUntil    *time.Time       `json:"lease_until,omitempty"`
	DecidedBy     string           `json:"decided_by,omitempty"`
	DecidedAt     *time.Time       `json:"decided_at,omitempty"`
	Reason        string           `json:"reason,omitempty"`
	Note          string           `json:"note,omitempty"`
	SignoffBy     string           `json:"signoff_by,omitempty"`
	SignoffAt     *time.Time       `json:"signoff_at,omitempty"`
	Version       int              `json:"version"`
	UpdatedAt     time.Time        `json:"updated_at"`
}

// flagColumns selects a FlagRow from flags f joined with providers p and
// work_orders w (left); $1 is the clock.
const flagColumns = `f.id, coalesce(f.work_order_id, 0), coalesce(w.external_id, ''), f.provider_id, p.code, p.name,
    f.rule, f.severity, f.priority, f.source, f.summary, f.currency, (f.claim_value * 100)::bigint, (f.amount * 100)::bigint,
    f.state, coalesce(f.decision, ''), f.raised_at, f.due_at, f.state <> 'decided' AND f.due_at < $1,
    coalesce(f.assignee, ''), f.lease_until, coalesce(f.decided_by, ''), f.decided_at, f.reason, f.note,
    coalesce(f.signoff_by, ''), f.signoff_at, f.version, f.updated_at`

const flagFrom = `flags f JOIN providers p ON p.id = f.provider_id LEFT JOIN work_orders w ON w.id = f.work_order_id`

// flagDest is where a row of flagColumns scans to; finish completes it.
func flagDest(f *FlagRow, sev *string) []any {
	return []any{&f.ID, &f.WorkOrderID, &f.JobExternalID, &f.ProviderID, &f.ProviderCode, &f.ProviderName,
		&f.Rule, sev, &f.Priority, &f.Source, &f.Summary, &f.Currency, &f.ClaimValue, &f.Amount,
		&f.State, &f.Decision, &f.RaisedAt, &f.DueAt, &f.Overdue, &f.Assignee, &f.LeaseUntil, &f.DecidedBy,
		&f.DecidedAt, &f.Reason, &f.Note, &f.SignoffBy, &f.SignoffAt, &f.Version, &f.UpdatedAt}
}

func (f *FlagRow) finish(sev string) {
	f.Severity = Severity(sev)
	if r, ok := RuleByCode(f.Rule); ok {
		f.RuleName = r.Name
	}
}

func scanFlag(row pgx.Row) (FlagRow, error) {
	var f FlagRow
	var sev string
	err := row.Scan(flagDest(&f, &sev)...)
	f.finish(sev)
	return f, err
}

// Filter selects and orders flags for List and ClaimNext. The zero Filter
// lists every flag, most urgent first, 50 at a time.
type Filter struct {
	States    []string   // open, claimed, signoff, decided
	Rules     []string   // V1 … P4
	Severity  []Severity // critical, high, medium, low
	Provider  string     // provider code
	Assignee  string
	DueBefore time.Time // due strictly before
	Overdue   bool      // undecided and past due
	Job       string    // job external id
	Text      string    // in the summary, the job's external id or the provider's code or name
	// Sort is "priority" (severity, then due time: the default), "raised_at",
	// "due_at" or "claim_value"; Desc reverses it. Ties go by flag id.
	Sort string
	Desc bool
	// Limit is at most MaxLimit; 0 means DefaultLimit. Either Offset skips
	// rows, or After continues from the Page.Next of the previous page
	// (keyset paging, stable while flags change).
	Limit  int
	Offset int
	After  string
	// Count asks List for the total number of matching flags.
	Count bool
}

// Paging limits of List.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Page says where a List result sits.
type Page struct {
	Limit  int `json:"limit"`
	Offset int `json:"offset,omitempty"`
	// Next continues after the last row (Filter.After); "" on the last page.
	Next string `json:"next,omitempty"`
	// Total is the number of matching flags, when Filter.Count asked; else -1.
	Total int `json:"total"`
}

var (
	flagStates = []string{StateOpen, StateClaimed, StateSignoff, StateDecided}
	sortKeys   = map[string][]string{
		"priority":    {"f.priority", "f.due_at"},
		"raised_at":   {"f.raised_at"},
		"due_at":      {"f.due_at"},
		"claim_value": {"f.claim_value"},
	}
)

// pageCursor is the sort key of the last row of a page.
type pageCursor struct {
	P  int       `json:"p,omitempty"`
	T  time.Time `json:"t"`
	V  string    `json:"v,omitempty"`
	ID int64     `json:"id"`
}

func (c pageCursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (pageCursor, error) {
	var c pageCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || c.ID <= 0 {
		return c, badInput("after", "not a cursor this API gave out (use the page's next value)")
	}
	return c, nil
}

// flagQuery collects the conditions and arguments of a flag query; args[0] is the clock.
type flagQuery struct {
	conds []string
	args  []any
}

func (q *flagQuery) arg(v any) string {
	q.args = append(q.args, v)
	return fmt.Sprintf("$%d", len(q.args))
}

func (q *flagQuery) add(format string, args ...any) {
	ph := make([]any, len(args))
	for i, a := range args {
		ph[i] = q.arg(a)
	}
	q.conds = append(q.conds, fmt.Sprintf(format, ph...))
}

func (q *flagQuery) where() string {
	if len(q.conds) == 0 {
		return "true"
	}
	return strings.Join(q.conds, " AND ")
}

// validate checks the filter and returns its sort key columns.
func (f *Filter) validate() ([]string, error) {
	if err := checkText("provider", f.Provider, "assignee", f.Assignee, "job", f.Job, "text", f.Text, "after", f.After); err != nil {
		return nil, err
	}
	for _, st := range f.States {
		if !slices.Contains(flagStates, st) {
			return nil, badInput("state", "%q is not a state: %s", st, strings.Join(flagStates, ", "))
		}
	}
	for _, r := range f.Rules {
		if _, ok := RuleByCode(r); !ok {
			return nil, badInput("rule", "%q is not a rule (V1 … V16, P1 … P4)", r)
		}
	}
	for _, s := range f.Severity {
		if !s.Valid() {
			return nil, badInput("severity", "%q is not a severity: critical, high, medium, low", s)
		}
	}
	if f.Sort == "" {
		f.Sort = "priority"
	}
	keys, ok := sortKeys[f.Sort]
	if !ok {
		return nil, badInput("sort", "%q is not a sort: priority, raised_at, due_at, claim_value", f.Sort)
	}
	switch {
	case f.Limit == 0:
		f.Limit = DefaultLimit
	case f.Limit < 0 || f.Limit > MaxLimit:
		return nil, badInput("limit", "must be from 1 to %d", MaxLimit)
	}
	if f.Offset < 0 {
		return nil, badInput("offset", "must not be negative")
	}
	if f.Offset > 0 && f.After != "" {
		return nil, badInput("after", "page either by offset or by after, not both")
	}
	return keys, nil
}

func (f *Filter) conditions(q *flagQuery) {
	if len(f.States) > 0 {
		q.add("f.state = ANY(%s)", f.States)
	}
	if len(f.Rules) > 0 {
		q.add("f.rule = ANY(%s)", f.Rules)
	}
	if len(f.Severity) > 0 {
		sv := make([]string, len(f.Severity))
		for i, s := range f.Severity {
			sv[i] = string(s)
		}
		q.add("f.severity = ANY(%s)", sv)
	}
	if f.Provider != "" {
		q.add("p.code = %s", f.Provider)
	}
	if f.Assignee != "" {
		q.add("f.assignee = %s", f.Assignee)
	}
	if !f.DueBefore.IsZero() {
		q.add("f.due_at < %s", f.DueBefore)
	}
	if f.Overdue {
		q.conds = append(q.conds, "f.state <> 'decided' AND f.due_at < $1")
	}
	if f.Job != "" {
		q.add("w.external_id = %s", f.Job)
	}
	if f.Text != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(f.Text) + "%"
		q.add("(f.summary ILIKE %[1]s OR w.external_id ILIKE %[1]s OR p.code ILIKE %[1]s OR p.name ILIKE %[1]s)", like)
	}
}

// orderBy is the ORDER BY clause for the sort keys, with the id last.
func orderBy(keys []string, desc bool) string {
	dir := ""
	if desc {
		dir = " DESC"
	}
	var parts []string
	for _, k := range append(slices.Clone(keys), "f.id") {
		parts = append(parts, k+dir)
	}
	return strings.Join(parts, ", ")
}

// List returns a page of flags matching the filter.
func (s *Store) List(ctx context.Context, f Filter) ([]FlagRow, Page, error) {
	keys, err := f.validate()
	if err != nil {
		return nil, Page{}, err
	}
	q := &flagQuery{args: []any{s.now()}}
	f.conditions(q)
	page := Page{Limit: f.Limit, Offset: f.Offset, Total: -1}
	if f.Count {
		if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT $1::timestamptz) AS clock CROSS JOIN `+flagFrom+` WHERE `+q.where(), q.args...).Scan(&page.Total); err != nil {
			return nil, page, fmt.Errorf("count flags: %w", err)
		}
	}
	if f.After != "" {
		c, err := decodeCursor(f.After)
		if err != nil {
			return nil, page, err
		}
		cols := append(slices.Clone(keys), "f.id")
		ph := make([]string, len(cols))
		for i, k := range cols {
			switch k {
			case "f.priority":
				ph[i] = q.arg(c.P)
			case "f.claim_value":
				if c.V == "" {
					c.V = "0"
				}
				ph[i] = q.arg(c.V) + "::text::numeric"
			case "f.id":
				ph[i] = q.arg(c.ID)
			default:
				ph[i] = q.arg(c.T)
			}
		}
		op := ">"
		if f.Desc {
			op = "<"
		}
		q.conds = append(q.conds, fmt.Sprintf("(%s) %s (%s)", strings.Join(cols, ", "), op, strings.Join(ph, ", ")))
	}
	sql := fmt.Sprintf(`SELECT %s, f.claim_value::text FROM %s WHERE %s ORDER BY %s LIMIT %d OFFSET %d`,
		flagColumns, flagFrom, q.where(), orderBy(keys, f.Desc), f.Limit+1, f.Offset)
	rows, err := s.Pool.Query(ctx, sql, q.args...)
	if err != nil {
		return nil, page, fmt.Errorf("list flags: %w", err)
	}
	defer rows.Close()
	out := []FlagRow{}
	var lastValue, rowValue string
	for rows.Next() {
		var fr FlagRow
		var sev string
		if err := rows.Scan(append(flagDest(&fr, &sev), &rowValue)...); err != nil {
			return nil, page, fmt.Errorf("list flags: %w", err)
		}
		fr.finish(sev)
		if len(out) == f.Limit {
			// One row more than the page: there is a next page.
			last := out[len(out)-1]
			c := pageCursor{P: last.Priority, T: last.DueAt, V: lastValue, ID: last.ID}
			if f.Sort == "raised_at" {
				c.T = last.RaisedAt
			}
			page.Next = c.encode()
			break
		}
		lastValue = rowValue
		out = append(out, fr)
	}
	if err := rows.Err(); err != nil {
		return nil, page, fmt.Errorf("list flags: %w", err)
	}
	return out, page, nil
}

// Decision is what a reviewer records on a flag.
type Decision struct {
	Decision string // confirmed, cleared, escalated or needs_info
	Reason   string // required
	Note     string
	// Amount, on a confirmed finding, overrides what it charges back.
	Amount *workorders.Money
	// Version, when not 0, must be the flag's version as the reviewer last
	// read it: a flag changed since is refused with ErrConflict.
	Version int
}

// Limits of what a reviewer writes.
const (
	maxReason = 2000
	maxNote   = 10000
)

func (d *Decision) validate() error {
	if !slices.Contains(decisionNames, d.Decision) {
		return badInput("decision", "%q is not a decision: %s", d.Decision, strings.Join(decisionNames, ", "))
	}
	if err := checkReason(d.Reason); err != nil {
		return err
	}
	if len(d.Note) > maxNote {
		return badInput("note", "longer than %d bytes", maxNote)
	}
	if err := checkText("note", d.Note); err != nil {
		return err
	}
	if d.Amount != nil {
		if d.Decision != Confirmed {
			return badInput("amount", "only a confirmed finding charges an amount back")
		}
		if *d.Amount < 0 {
			return badInput("amount", "must not be negative")
		}
	}
	return nil
}

func checkReason(r string) error {
	if err := checkText("reason", r); err != nil {
		return err
	}
	if strings.TrimSpace(r) == "" {
		return badInput("reason", "required: say why")
	}
	if len(r) > maxReason {
		return badInput("reason", "longer than %d bytes", maxReason)
	}
	return nil
}

func checkReviewer(name string) error {
	if strings.TrimSpace(name) == "" {
		return badInput("reviewer", "required")
	}
	return checkText("reviewer", name)
}

// locked is a flag's workflow state, read under a row lock.
type locked struct {
	ID, ProviderID int64
	State          string
	Decision       string
	Assignee       string
	LeaseUntil     *time.Time
	DecidedBy      string
	Currency       string
	ClaimValue     int64
	Version        int
}

func (l *locked) held(now time.Time) bool {
	return l.State == StateClaimed && l.LeaseUntil != nil && l.LeaseUntil.After(now)
}

func (l *locked) snapshot() map[string]any {
	return map[string]any{"state": l.State, "assignee": l.Assignee, "decision": l.Decision, "version": l.Version}
}

// lockFlags locks the flags in id order (so two bulk decisionNames cannot
// deadlock) and returns those that exist.
func lockFlags(ctx context.Context, tx pgx.Tx, ids []int64) (map[int64]*locked, error) {
	rows, err := tx.Query(ctx, `
SELECT id, provider_id, state, coalesce(decision, ''), coalesce(assignee, ''), lease_until, coalesce(decided_by, ''),
       currency, (claim_value * 100)::bigint, version
FROM flags WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids)
	if err != nil {
		return nil, err
	}
	out := map[int64]*locked{}
	var l locked
	_, err = pgx.ForEachRow(rows, []any{&l.ID, &l.ProviderID, &l.State, &l.Decision, &l.Assignee, &l.LeaseUntil,
		&l.DecidedBy, &l.Currency, &l.ClaimValue, &l.Version}, func() error {
		c := l
		out[c.ID] = &c
		return nil
	})
	return out, err
}

func lockFlag(ctx context.Context, tx pgx.Tx, id int64) (*locked, error) {
	m, err := lockFlags(ctx, tx, []int64{id})
	if err != nil {
		return nil, err
	}
	l, ok := m[id]
	if !ok {
		return nil, fmt.Errorf("flag %d: %w", id, ErrNotFound)
	}
	return l, nil
}

// conflictedWith reports which of the providers the reviewer is conflicted with.
func conflictedWith(ctx context.Context, tx pgx.Tx, reviewer string, providers []int64) (map[int64]bool, error) {
	rows, err := tx.Query(ctx, `SELECT provider_id FROM reviewer_conflicts WHERE reviewer = $1 AND provider_id = ANY($2)`, reviewer, providers)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	out := map[int64]bool{}
	for _, id := range ids {
		out[id] = true
	}
	return out, err
}

func checkConflict(ctx context.Context, tx pgx.Tx, reviewer string, l *locked) error {
	c, err := conflictedWith(ctx, tx, reviewer, []int64{l.ProviderID})
	if err != nil {
		return err
	}
	if c[l.ProviderID] {
		return fmt.Errorf("flag %d: %s is marked as conflicted with its provider: %w", l.ID, reviewer, ErrForbidden)
	}
	return nil
}

// inTx runs fn in a transaction, committed when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// Execer is what LogAction writes through: a transaction or a pool.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// LogAction appends one row to audit_log: who did what to which subject,
// with details as JSON.
func LogAction(ctx context.Context, db Execer, at time.Time, actor, action, subjectType, subjectID string, details map[string]any) error {
	b, err := json.Marshal(details)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO audit_log (at, actor, action, subject_type, subject_id, details) VALUES ($1, $2, $3, $4, $5, $6)`,
		at, actor, action, subjectType, subjectID, b)
	return err
}

// change applies a workflow change to one locked flag: the SET clause (with
// $1 the clock and $2 the flag id, then args), then the audit_log row with
// the state before and after.
func (s *Store) change(ctx context.Context, tx pgx.Tx, actor, action string, l *locked, set string, args []any, details map[string]any) error {
	now := s.now()
	before := l.snapshot()
	err := tx.QueryRow(ctx, `UPDATE flags SET `+set+`, version = version + 1, updated_at = $1 WHERE id = $2
RETURNING state, coalesce(decision, ''), coalesce(assignee, ''), version`, append([]any{now, l.ID}, args...)...).
		Scan(&l.State, &l.Decision, &l.Assignee, &l.Version)
	if err != nil {
		return fmt.Errorf("%s flag %d: %w", action, l.ID, err)
	}
	if details == nil {
		details = map[string]any{}
	}
	details["before"], details["after"] = before, l.snapshot()
	return LogAction(ctx, tx, now, actor, action, "flag", fmt.Sprint(l.ID), details)
}

func (s *Store) flagTx(ctx context.Context, tx pgx.Tx, id int64) (FlagRow, error) {
	return scanFlag(tx.QueryRow(ctx, `SELECT `+flagColumns+` FROM `+flagFrom+` WHERE f.id = $2`, s.now(), id))
}

// Flag returns one flag.
func (s *Store) Flag(ctx context.Context, id int64) (FlagRow, error) {
	f, err := scanFlag(s.Pool.QueryRow(ctx, `SELECT `+flagColumns+` FROM `+flagFrom+` WHERE f.id = $2`, s.now(), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return f, fmt.Errorf("flag %d: %w", id, ErrNotFound)
	}
	return f, err
}

// one runs an action on one flag under its row lock and returns the flag as
// it then is.
func (s *Store) one(ctx context.Context, id int64, fn func(tx pgx.Tx, l *locked) error) (FlagRow, error) {
	var out FlagRow
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		l, err := lockFlag(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := fn(tx, l); err != nil {
			return err
		}
		out, err = s.flagTx(ctx, tx, id)
		return err
	})
	return out, err
}

func (s *Store) leaseEnd() time.Time { return s.now().Add(time.Duration(s.Config.Lease)) }

// heldBy explains who holds a flag, for an ErrConflict.
func heldBy(l *locked) error {
	return fmt.Errorf("flag %d is claimed by %s until %s: %w", l.ID, l.Assignee, l.LeaseUntil.UTC().Format(time.RFC3339), ErrConflict)
}

func wrongState(l *locked, want string) error {
	return fmt.Errorf("flag %d is %s, not %s: %w", l.ID, l.State, want, ErrConflict)
}

// Claim gives the flag to the reviewer for the configured lease. An open
// flag, one whose lease has run out, or one the reviewer already holds
// (which renews the lease) can be claimed; one someone else holds cannot.
func (s *Store) Claim(ctx context.Context, reviewer string, id int64) (FlagRow, error) {
	if err := checkReviewer(reviewer); err != nil {
		return FlagRow{}, err
	}
	return s.one(ctx, id, func(tx pgx.Tx, l *locked) error {
		if err := checkConflict(ctx, tx, reviewer, l); err != nil {
			return err
		}
		details := map[string]any{}
		switch {
		case l.State == StateOpen:
		case l.State == StateClaimed && (l.Assignee == reviewer || !l.held(s.now())):
			if l.Assignee != reviewer {
				details["took_over_from"] = l.Assignee
			}
		case l.State == StateClaimed:
			return heldBy(l)
		default:
			return wrongState(l, "open")
		}
		return s.change(ctx, tx, reviewer, "flag.claim", l, `state = 'claimed', assignee = $3, lease_until = $4`,
			[]any{reviewer, s.leaseEnd()}, details)
	})
}

// ClaimNext claims the first flag of the queue the filter selects (its
// States are ignored: only open flags and those whose lease ran out are
// taken) that the reviewer may decide. Concurrent callers never get the same
// flag: each skips the rows another is taking. It returns ErrNotFound when
// nothing is left.
func (s *Store) ClaimNext(ctx context.Context, reviewer string, f Filter) (FlagRow, error) {
	if err := checkReviewer(reviewer); err != nil {
		return FlagRow{}, err
	}
	f.States, f.Limit, f.Offset, f.After = nil, 1, 0, ""
	keys, err := f.validate()
	if err != nil {
		return FlagRow{}, err
	}
	now := s.now()
	q := &flagQuery{args: []any{now}}
	q.conds = append(q.conds, "(f.state = 'open' OR (f.state = 'claimed' AND f.lease_until <= $1))")
	q.add("NOT EXISTS (SELECT 1 FROM reviewer_conflicts c WHERE c.reviewer = %s AND c.provider_id = f.provider_id)", reviewer)
	f.conditions(q)
	rp, lp := q.arg(reviewer), q.arg(s.leaseEnd())
	sql := fmt.Sprintf(`
WITH pick AS (
    SELECT f.id, f.state, f.assignee FROM %s WHERE %s ORDER BY %s LIMIT 1 FOR UPDATE OF f SKIP LOCKED
)
UPDATE flags f SET state = 'claimed', assignee = %s, lease_until = %s, version = f.version + 1, updated_at = $1
FROM pick WHERE f.id = pick.id
RETURNING f.id, pick.state, coalesce(pick.assignee, ''), f.version`, flagFrom, q.where(), orderBy(keys, f.Desc), rp, lp)
	var out FlagRow
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var id int64
		var prevState, prevAssignee string
		var version int
		if err := tx.QueryRow(ctx, sql, q.args...).Scan(&id, &prevState, &prevAssignee, &version); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("no flag to claim: %w", ErrNotFound)
			}
			return fmt.Errorf("claim next: %w", err)
		}
		details := map[string]any{
			"before": map[string]any{"state": prevState, "assignee": prevAssignee, "decision": "", "version": version - 1},
			"after":  map[string]any{"state": StateClaimed, "assignee": reviewer, "decision": "", "version": version},
			"next":   true,
		}
		if prevState == StateClaimed {
			details["took_over_from"] = prevAssignee
		}
		if err := LogAction(ctx, tx, now, reviewer, "flag.claim", "flag", fmt.Sprint(id), details); err != nil {
			return err
		}
		out, err = s.flagTx(ctx, tx, id)
		return err
	})
	return out, err
}

// Release gives a claimed flag back to the queue. Only its assignee may.
func (s *Store) Release(ctx context.Context, reviewer string, id int64) (FlagRow, error) {
	return s.one(ctx, id, func(tx pgx.Tx, l *locked) error {
		if l.State != StateClaimed {
			return wrongState(l, "claimed")
		}
		if l.Assignee != reviewer {
			return fmt.Errorf("flag %d is claimed by %s, not %s: %w", l.ID, l.Assignee, reviewer, ErrConflict)
		}
		return s.change(ctx, tx, reviewer, "flag.release", l, `state = 'open', assignee = NULL, lease_until = NULL`, nil, nil)
	})
}

// Renew extends the reviewer's lease on a flag they hold. A lease that has
// run out is not renewed: claim the flag again.
func (s *Store) Renew(ctx context.Context, reviewer string, id int64) (FlagRow, error) {
	return s.one(ctx, id, func(tx pgx.Tx, l *locked) error {
		if l.State != StateClaimed || l.Assignee != reviewer {
			return fmt.Errorf("flag %d is not claimed by %s: %w", l.ID, reviewer, ErrConflict)
		}
		if !l.held(s.now()) {
			return fmt.Errorf("flag %d: the lease of %s ran out at %s; claim it again: %w", l.ID, reviewer,
				l.LeaseUntil.UTC().Format(time.RFC3339), ErrConflict)
		}
		return s.change(ctx, tx, reviewer, "flag.renew", l, `lease_until = $3`, []any{s.leaseEnd()}, nil)
	})
}

// needsSignoff reports whether a confirmed finding on the flag needs a
// second reviewer.
func (s *Store) needsSignoff(l *locked) bool {
	limit, ok := s.Config.SignoffAbove[l.Currency]
	return ok && l.ClaimValue >= limit
}

// decide records d on a flag the caller has checked the reviewer may decide.
func (s *Store) decide(ctx context.Context, tx pgx.Tx, reviewer string, l *locked, d Decision, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	details["decision"], details["reason"] = d.Decision, d.Reason
	if d.Note != "" {
		details["note"] = d.Note
	}
	amount := "amount"
	var args []any
	if d.Amount != nil {
		amount = "$6::bigint / 100.0"
		details["amount"] = d.Amount.String()
	}
	args = append(args, reviewer, d.Reason, d.Note)
	if d.Amount != nil {
		args = append(args, int64(*d.Amount))
	}
	if d.Decision == Confirmed && s.needsSignoff(l) {
		details["signoff_needed"] = true
		return s.change(ctx, tx, reviewer, "flag.decide", l, `state = 'signoff', decision = NULL, lease_until = NULL,
    decided_by = $3, decided_at = $1, reason = $4, note = $5, amount = `+amount, args, details)
	}
	args = append(args[:3:3], d.Decision)
	if d.Amount != nil {
		amount = "$7::bigint / 100.0"
		args = append(args, int64(*d.Amount))
	}
	// args: $3 reviewer, $4 reason, $5 note, $6 decision [, $7 amount]
	return s.change(ctx, tx, reviewer, "flag.decide", l, `state = 'decided', decision = $6, lease_until = NULL,
    decided_by = $3, decided_at = $1, reason = $4, note = $5, amount = `+amount, args, details)
}

// Decide records the reviewer's decision on a flag they hold under an
// unexpired lease. A confirmed finding on a claim worth at least
// Config.SignoffAbove goes to state signoff and waits for a second reviewer.
func (s *Store) Decide(ctx context.Context, reviewer string, id int64, d Decision) (FlagRow, error) {
	if err := checkReviewer(reviewer); err != nil {
		return FlagRow{}, err
	}
	if err := d.validate(); err != nil {
		return FlagRow{}, err
	}
	return s.one(ctx, id, func(tx pgx.Tx, l *locked) error {
		if err := checkConflict(ctx, tx, reviewer, l); err != nil {
			return err
		}
		if d.Version != 0 && d.Version != l.Version {
			return fmt.Errorf("flag %d is at version %d, not %d: it changed since it was read: %w", l.ID, l.Version, d.Version, ErrConflict)
		}
		if err := s.holds(reviewer, l); err != nil {
			return err
		}
		return s.decide(ctx, tx, reviewer, l, d, nil)
	})
}

// holds checks that the reviewer holds the flag under an unexpired lease.
func (s *Store) holds(reviewer string, l *locked) error {
	switch {
	case l.State != StateClaimed:
		return wrongState(l, "claimed")
	case l.Assignee != reviewer && l.held(s.now()):
		return heldBy(l)
	case l.Assignee != reviewer:
		return fmt.Errorf("flag %d is not claimed by %s: claim it first: %w", l.ID, reviewer, ErrConflict)
	case !l.held(s.now()):
		return fmt.Errorf("flag %d: the lease of %s ran out at %s; claim it again: %w", l.ID, reviewer,
			l.LeaseUntil.UTC().Format(time.RFC3339), ErrConflict)
	}
	return nil
}

// BulkDecide records one decision on many flags, all or nothing: each must
// be open (it is claimed and decided in one step) or held by the reviewer,
// and none may be about a provider the reviewer is conflicted with. At most
// Config.BulkMax flags; an amount override is for one flag at a time.
func (s *Store) BulkDecide(ctx context.Context, reviewer string, ids []int64, d Decision) ([]FlagRow, error) {
	if err := checkReviewer(reviewer); err != nil {
		return nil, err
	}
	if err := d.validate(); err != nil {
		return nil, err
	}
	if d.Amount != nil {
		return nil, badInput("amount", "a bulk decision cannot override amounts: decide such a flag alone")
	}
	if d.Version != 0 {
		return nil, badInput("version", "a bulk decision does not take a version")
	}
	if len(ids) == 0 {
		return nil, badInput("ids", "no flags given")
	}
	if max := s.Config.BulkMax; len(ids) > max {
		return nil, badInput("ids", "%d flags; one bulk decision takes at most %d", len(ids), max)
	}
	seen := map[int64]int{}
	for i, id := range ids {
		if j, dup := seen[id]; dup {
			return nil, badInput(fmt.Sprintf("ids/%d", i), "flag %d is listed twice (also at ids/%d)", id, j)
		}
		seen[id] = i
	}
	var out []FlagRow
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		m, err := lockFlags(ctx, tx, ids)
		if err != nil {
			return err
		}
		var provs []int64
		for _, id := range ids {
			l, ok := m[id]
			if !ok {
				return fmt.Errorf("flag %d: %w", id, ErrNotFound)
			}
			provs = append(provs, l.ProviderID)
		}
		conflicted, err := conflictedWith(ctx, tx, reviewer, provs)
		if err != nil {
			return err
		}
		for _, id := range ids {
			l := m[id]
			if conflicted[l.ProviderID] {
				return fmt.Errorf("flag %d: %s is marked as conflicted with its provider: %w", id, reviewer, ErrForbidden)
			}
			if l.State != StateOpen {
				if err := s.holds(reviewer, l); err != nil {
					return err
				}
			}
		}
		for _, id := range ids {
			l := m[id]
			details := map[string]any{"bulk": len(ids)}
			if l.State == StateOpen {
				details["claimed"] = true
				l.Assignee = reviewer
				if err := s.change(ctx, tx, reviewer, "flag.claim", l, `state = 'claimed', assignee = $3, lease_until = $4`,
					[]any{reviewer, s.leaseEnd()}, map[string]any{"bulk": len(ids)}); err != nil {
					return err
				}
			}
			if err := s.decide(ctx, tx, reviewer, l, d, details); err != nil {
				return err
			}
			f, err := s.flagTx(ctx, tx, id)
			if err != nil {
				return err
			}
			out = append(out, f)
		}
		return nil
	})
	return out, err
}

// SignOff is the second reviewer's word on a confirmed finding waiting in
// state signoff: approve makes it decided (confirmed); reject sends it back
// to the queue, open, with the reason. The reviewer who decided it may not
// sign it off.
func (s *Store) SignOff(ctx context.Context, reviewer string, id int64, approve bool, reason string) (FlagRow, error) {
	if err := checkReviewer(reviewer); err != nil {
		return FlagRow{}, err
	}
	if !approve {
		if err := checkReason(reason); err != nil {
			return FlagRow{}, err
		}
	} else if len(reason) > maxReason {
		return FlagRow{}, badInput("reason", "longer than %d bytes", maxReason)
	}
	return s.one(ctx, id, func(tx pgx.Tx, l *locked) error {
		if l.State != StateSignoff {
			return wrongState(l, "waiting for a sign-off")
		}
		if l.DecidedBy == reviewer {
			return fmt.Errorf("flag %d was decided by %s: a different reviewer must sign it off: %w", l.ID, reviewer, ErrForbidden)
		}
		if err := checkConflict(ctx, tx, reviewer, l); err != nil {
			return err
		}
		details := map[string]any{"approve": approve, "decided_by": l.DecidedBy}
		if reason != "" {
			details["reason"] = reason
		}
		if approve {
			return s.change(ctx, tx, reviewer, "flag.signoff", l, `state = 'decided', decision = 'confirmed', signoff_by = $3, signoff_at = $1`,
				[]any{reviewer}, details)
		}
		return s.change(ctx, tx, reviewer, "flag.signoff", l, `state = 'open', assignee = NULL, lease_until = NULL,
    decided_by = NULL, decided_at = NULL, reason = $3, note = ''`, []any{reason}, details)
	})
}

// Reopen sends a decided flag back to the queue, open and undecided, with
// the reason.
func (s *Store) Reopen(ctx context.Context, actor string, id int64, reason string) (FlagRow, error) {
	if err := checkReviewer(actor); err != nil {
		return FlagRow{}, err
	}
	if err := checkReason(reason); err != nil {
		return FlagRow{}, err
	}
	return s.one(ctx, id, func(tx pgx.Tx, l *locked) error {
		if l.State != StateDecided {
			return wrongState(l, "decided")
		}
		if err := checkConflict(ctx, tx, actor, l); err != nil {
			return err
		}
		details := map[string]any{"reason": reason, "decision": l.Decision, "decided_by": l.DecidedBy}
		return s.change(ctx, tx, actor, "flag.reopen", l, `state = 'open', decision = NULL, assignee = NULL, lease_until = NULL,
    decided_by = NULL, decided_at = NULL, signoff_by = NULL, signoff_at = NULL, reason = $3, note = ''`, []any{reason}, details)
	})
}

// Conflict marks a reviewer as conflicted with a provider: they may neither
// claim nor decide its flags.
type Conflict struct {
	Reviewer     string    `json:"reviewer"`
	ProviderCode string    `json:"provider"`
	ProviderName string    `json:"provider_name"`
	Reason       string    `json:"reason"`
	CreatedAt    time.Time `json:"created_at"`
}

func providerID(ctx context.Context, tx pgx.Tx, code string) (int64, error) {
	if err := checkText("provider", code); err != nil {
		return 0, err
	}
	var id int64
	err := tx.QueryRow(ctx, `SELECT id FROM providers WHERE code = $1`, code).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("provider %q: %w", code, ErrNotFound)
	}
	return id, err
}

// AddConflict marks reviewer as conflicted with the provider (by code); a
// conflict already marked takes the new reason.
func (s *Store) AddConflict(ctx context.Context, actor, reviewer, providerCode, reason string) error {
	if err := checkReviewer(reviewer); err != nil {
		return err
	}
	if providerCode == "" {
		return badInput("provider", "required")
	}
	if err := checkText("reason", reason); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		pid, err := providerID(ctx, tx, providerCode)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO reviewer_conflicts (reviewer, provider_id, reason, created_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (reviewer, provider_id) DO UPDATE SET reason = EXCLUDED.reason`, reviewer, pid, reason, s.now()); err != nil {
			return err
		}
		return LogAction(ctx, tx, s.now(), actor, "conflict.add", "reviewer", reviewer,
			map[string]any{"provider": providerCode, "reason": reason})
	})
}

// RemoveConflict lifts a conflict.
func (s *Store) RemoveConflict(ctx context.Context, actor, reviewer, providerCode string) error {
	if err := checkText("reviewer", reviewer); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		pid, err := providerID(ctx, tx, providerCode)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM reviewer_conflicts WHERE reviewer = $1 AND provider_id = $2`, reviewer, pid)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("%s is not marked as conflicted with %s: %w", reviewer, providerCode, ErrNotFound)
		}
		return LogAction(ctx, tx, s.now(), actor, "conflict.remove", "reviewer", reviewer, map[string]any{"provider": providerCode})
	})
}

// Conflicts lists the reviewer's conflicts, or everyone's when reviewer is "".
func (s *Store) Conflicts(ctx context.Context, reviewer string) ([]Conflict, error) {
	if err := checkText("reviewer", reviewer); err != nil {
		return nil, err
	}
	rows, err := s.Pool.Query(ctx, `
SELECT c.reviewer, p.code, p.name, c.reason, c.created_at
FROM reviewer_conflicts c JOIN providers p ON p.id = c.provider_id
WHERE $1 = '' OR c.reviewer = $1
ORDER BY c.reviewer, p.code`, reviewer)
	if err != nil {
		return nil, err
	}
	out := []Conflict{}
	var c Conflict
	_, err = pgx.ForEachRow(rows, []any{&c.Reviewer, &c.ProviderCode, &c.ProviderName, &c.Reason, &c.CreatedAt}, func() error {
		out = append(out, c)
		return nil
	})
	return out, err
}
