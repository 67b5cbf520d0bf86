package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/huifang/huifang/surveys"
	"github.com/huifang/huifang/workorders"
)

// ClaimLine is one claimed part of a job as the provider billed it.
type ClaimLine struct {
	Line     int              `json:"line"`
	PartCode string           `json:"part_code"`
	NameEN   string           `json:"name_en,omitempty"`
	NameZH   string           `json:"name_zh,omitempty"`
	Quantity int              `json:"quantity"`
	UnitCost workorders.Money `json:"unit_cost"` // minor units
}

// Amount is what the line claims: quantity × unit cost.
func (l ClaimLine) Amount() workorders.Money { return workorders.Money(l.Quantity) * l.UnitCost }

// JobClaim is what the answer checks compare the customer's answers with:
// the job, its claim and what the upstream record says the customer paid.
type JobClaim struct {
	WorkOrderID    int64
	ExternalID     string
	ProviderID     int64
	Kind           string // install or repair
	WarrantyStatus string // in_warranty, out_of_warranty, extended, unknown
	// CustomerPaid is what the upstream record says the customer paid.
	CustomerPaid workorders.Money
	CompletedAt  time.Time
	TimeZone     string // the customer's IANA zone: the visit date is the date there
	Currency     string
	Labour       workorders.Money
	Parts        workorders.Money
	Lines        []ClaimLine // in claim order
}

// ClaimValue is labour plus parts.
func (j *JobClaim) ClaimValue() workorders.Money { return j.Labour + j.Parts }

// money renders an amount in the job's currency: "CNY 320.00".
func (j *JobClaim) money(m workorders.Money) string {
	if j.Currency == "" {
		return m.String()
	}
	return j.Currency + " " + m.String()
}

// AnswerRow is one accepted answer as the customer gave it, for evidence:
// what they heard or read, and what they pressed, said or typed.
type AnswerRow struct {
	AttemptID  int64     `json:"attempt_id"`
	SessionID  int64     `json:"session_id"`
	Seq        int       `json:"seq"`
	Channel    string    `json:"channel"`
	Question   string    `json:"question"`
	Part       string    `json:"part,omitempty"`
	Fact       string    `json:"fact"`
	Prompt     string    `json:"prompt"`
	Raw        string    `json:"raw"`
	InputKind  string    `json:"input_kind"`
	ReceivedAt time.Time `json:"received_at"`
	Value      string    `json:"value"` // surveys.Value.String(): "no", "CNY 50.00"
}

// AttemptRow is one attempt of a contact, for V16 and its evidence. It never
// carries the number dialled.
type AttemptRow struct {
	ID        int64  `json:"attempt_id"`
	Channel   string `json:"channel"`
	Outcome   string `json:"outcome"` // "" while the attempt had not ended
	ErrorCode int    `json:"error_code,omitempty"`
	DurationS int    `json:"duration_s,omitempty"`
}

// AnswerEvidence is what an answer check saw, stored with the flag.
type AnswerEvidence struct {
	ContactID int64 `json:"contact_id,omitempty"`
	// Answers are the answers that raised the flag, the latest for each fact.
	Answers []AnswerRow `json:"answers,omitempty"`
	// Lines are the claim lines concerned (V2, V3), or the whole claim (V1).
	Lines []ClaimLine `json:"claim_lines,omitempty"`
	// NotSure are the job's "not sure" answers, for the reviewer.
	NotSure []AnswerRow `json:"not_sure,omitempty"`

	// V4.
	WarrantyStatus string `json:"warranty_status,omitempty"`
	RecordedPaid   string `json:"recorded_paid,omitempty"`
	ReportedPaid   string `json:"reported_paid,omitempty"` // "unknown" when no amount was given
	// V6.
	CompletedOn string `json:"completed_on,omitempty"`
	ReportedOn  string `json:"reported_on,omitempty"`
	DaysApart   int    `json:"days_apart,omitempty"`
	// V16.
	ContactOutcome string       `json:"contact_outcome,omitempty"`
	Attempts       []AttemptRow `json:"attempts,omitempty"`
}

// AnswerResult is what CheckAnswers finds about one job.
type AnswerResult struct {
	Findings []Finding
	// NotSure names the facts the customer answered "not sure" (or, for a
	// date, could not say): evidence for review, never a flag by itself.
	NotSure []string
}

// Invalid-number carrier errors (Twilio): not a valid phone number (21211),
// not a valid mobile number (21614), invalid "To" (21214), number not
// verified/unreachable (21217), invalid destination (13224), landline or
// unreachable carrier (30006).
var invalidNumberCodes = map[int]bool{21211: true, 21214: true, 21217: true, 21614: true, 13224: true, 30006: true}

// Attempt outcomes in which nobody answered: the only outcomes of a contact
// whose customer could not be reached. An SMS that was delivered and never
// answered (no_response) is one of them.
var unansweredOutcomes = map[string]bool{
	"no_answer": true, "busy": true, "machine": true, "failed": true, "no_response": true,
	"undelivered": true, "not_placed": true, "canceled": true, "": true,
}

// neverSent are the outcomes of attempts that never reached the carrier.
var neverSent = map[string]bool{"not_placed": true, "canceled": true, "": true}

// CheckAnswers judges one job against what its customer said (facts, the
// merged answers of every session of the contact) and how the contact went
// (attempts, contactOutcome): V1–V6 and V16 of DOMAIN.md (1). answers are
// the accepted answer rows in the order given, used only as evidence; the
// latest row for a fact is the one cited. "Not sure" never raises a flag: it
// is returned in NotSure and cited in the evidence of any flag of the job.
// It reads no clock and does no I/O.
func CheckAnswers(cfg *Config, j *JobClaim, facts surveys.Facts, answers []AnswerRow, attempts []AttemptRow, contactOutcome string) AnswerResult {
	c := checker{cfg: cfg, j: j, facts: facts, answers: answers}
	c.notSure()
	c.v1()
	c.v2v3()
	c.v4()
	c.v5()
	c.v6()
	c.v16(attempts, contactOutcome)
	return AnswerResult{Findings: c.out, NotSure: c.unsure}
}

type checker struct {
	cfg      *Config
	j        *JobClaim
	facts    surveys.Facts
	answers  []AnswerRow
	out      []Finding
	unsure   []string
	unsureEv []AnswerRow
}

// latest returns the latest answer row of each named fact that has one, in
// the order of names.
func (c *checker) latest(names ...string) []AnswerRow {
	var rows []AnswerRow
	for _, n := range names {
		for i := len(c.answers) - 1; i >= 0; i-- {
			if c.answers[i].Fact == n {
				rows = append(rows, c.answers[i])
				break
			}
		}
	}
	return rows
}

func (c *checker) notSure() {
	names := make([]string, 0, len(c.facts))
	for n := range c.facts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := c.facts[n]
		if (v.Kind == surveys.KindTri && v.Tri == surveys.Unsure) || (v.Kind == surveys.KindDate && v.Str == "") {
			c.unsure = append(c.unsure, n)
		}
	}
	c.unsureEv = c.latest(c.unsure...)
}

func (c *checker) add(rule, summary string, amount workorders.Money, ev *AnswerEvidence) {
	ev.NotSure = c.unsureEv
	c.out = append(c.out, Finding{
		WorkOrderID: c.j.WorkOrderID, ProviderID: c.j.ProviderID, Rule: rule, Summary: summary, Evidence: ev,
		Currency: c.j.Currency, ClaimValue: c.j.ClaimValue(), Amount: amount,
	})
}

func (c *checker) tri(name string) surveys.Tri {
	t, _ := c.facts.Tri(name)
	return t
}

// V1: the customer says nobody came, or nothing was installed.
func (c *checker) v1() {
	var fact, what string
	switch {
	case c.tri(surveys.FactVisitConfirmed) == surveys.No:
		fact, what = surveys.FactVisitConfirmed, "no technician visited"
	case c.tri(surveys.FactInstallConfirmed) == surveys.No:
		fact, what = surveys.FactInstallConfirmed, "nothing was installed"
	default:
		return
	}
	c.add("V1", fmt.Sprintf("Customer says %s (claim %s)", what, c.j.money(c.j.ClaimValue())), c.j.ClaimValue(),
		&AnswerEvidence{Answers: c.latest(fact), Lines: c.j.Lines})
}

// V2: parts are claimed and the customer says none was replaced; V3: the
// customer says a claimed part was not the one replaced.
func (c *checker) v2v3() {
	if len(c.j.Lines) == 0 {
		return
	}
	codes := partCodes(c.j.Lines)
	var denied []string
	var cited []string
	if c.tri(surveys.FactPartReplaced) == surveys.No {
		denied, cited = codes, []string{surveys.FactPartReplaced}
	} else {
		// Per part: every part asked about was denied.
		all := true
		for _, code := range codes {
			switch c.tri(surveys.PartFact(surveys.FactPartReplaced, code)) {
			case surveys.No:
				denied = append(denied, code)
				cited = append(cited, surveys.PartFact(surveys.FactPartReplaced, code))
			case "":
			default:
				all = false
			}
		}
		if !all {
			denied, cited = nil, nil
		}
	}
	if len(denied) > 0 {
		lines, amount := c.linesOf(denied)
		c.add("V2", fmt.Sprintf("Customer says no part was replaced (claimed: %s, %s)", partNames(lines, ", "), c.j.money(amount)), amount,
			&AnswerEvidence{Answers: c.latest(cited...), Lines: lines})
	}
	var other []string
	cited = nil
	for _, code := range codes {
		if f := surveys.PartFact(surveys.FactPartConfirmed, code); c.tri(f) == surveys.No && !slices.Contains(denied, code) {
			other = append(other, code)
			cited = append(cited, f)
		}
	}
	if len(other) > 0 {
		lines, amount := c.linesOf(other)
		c.add("V3", fmt.Sprintf("Customer says the part replaced was not the %s (%s)", partNames(lines, " or the "), c.j.money(amount)), amount,
			&AnswerEvidence{Answers: c.latest(append([]string{surveys.FactPartReplaced}, cited...)...), Lines: lines})
	}
}

func partCodes(lines []ClaimLine) []string {
	var codes []string
	for _, l := range lines {
		if !slices.Contains(codes, l.PartCode) {
			codes = append(codes, l.PartCode)
		}
	}
	return codes
}

// linesOf returns the claim lines of the codes and what they claim.
func (c *checker) linesOf(codes []string) ([]ClaimLine, workorders.Money) {
	var lines []ClaimLine
	var sum workorders.Money
	for _, l := range c.j.Lines {
		if slices.Contains(codes, l.PartCode) {
			lines = append(lines, l)
			sum += l.Amount()
		}
	}
	return lines, sum
}

func partName(l ClaimLine) string {
	switch {
	case l.NameEN != "":
		return l.NameEN
	case l.NameZH != "":
		return l.NameZH
	}
	return l.PartCode
}

// partNames names the distinct parts of lines, joined by sep.
func partNames(lines []ClaimLine, sep string) string {
	var names []string
	for _, l := range lines {
		if n := partName(l); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return strings.Join(names, sep)
}

// V4: the customer paid more than the record says. On an in-warranty or
// extended-warranty job any payment above the record (plus the tolerance)
// counts, even when the customer gave no amount; on any other job only a
// known amount above it does.
func (c *checker) v4() {
	charged, _ := c.facts.Bool(surveys.FactCustomerCharged)
	paid, cur, known := c.facts.Money(surveys.FactCustomerPaidAmount)
	if known && cur != "" && c.j.Currency != "" && cur != c.j.Currency {
		known = false // an amount in another currency cannot be compared
	}
	if known && paid > 0 {
		charged = true
	}
	if !charged {
		return
	}
	recorded := c.j.CustomerPaid
	limit := recorded + workorders.Money(c.cfg.V4Tolerance)
	inWarranty := c.j.WarrantyStatus == "in_warranty" || c.j.WarrantyStatus == "extended"
	var over workorders.Money
	switch {
	case known && workorders.Money(paid) > limit:
		over = workorders.Money(paid) - recorded
	case !known && inWarranty:
	default:
		return
	}
	ev := &AnswerEvidence{
		Answers:        c.latest(surveys.FactCustomerCharged, surveys.FactCustomerPaidAmount),
		WarrantyStatus: c.j.WarrantyStatus, RecordedPaid: c.j.money(recorded), ReportedPaid: "unknown",
	}
	var summary string
	if known {
		ev.ReportedPaid = c.j.money(workorders.Money(paid))
		summary = fmt.Sprintf("Customer says they paid %s; the record says %s (%s)", ev.ReportedPaid, ev.RecordedPaid,
			strings.ReplaceAll(c.j.WarrantyStatus, "_", " "))
	} else {
		summary = fmt.Sprintf("Customer says they were charged on an %s job; amount not given (record %s)",
			strings.ReplaceAll(c.j.WarrantyStatus, "_", " "), ev.RecordedPaid)
	}
	c.add("V4", summary, over, ev)
}

// V5: the problem is not fixed, or the installed unit does not work.
func (c *checker) v5() {
	if v, ok := c.facts.Bool(surveys.FactFixed); ok && !v {
		c.add("V5", "Customer says the problem is not fixed", 0, &AnswerEvidence{Answers: c.latest(surveys.FactFixed)})
		return
	}
	if v, ok := c.facts.Bool(surveys.FactWorking); ok && !v {
		c.add("V5", "Customer says the unit is not working", 0, &AnswerEvidence{Answers: c.latest(surveys.FactWorking)})
	}
}

// V6: the customer's visit date is more than V6Days from the completion date
// in the customer's zone.
func (c *checker) v6() {
	said, ok := c.facts.Date(surveys.FactVisitDate)
	if !ok || said == "" {
		return
	}
	d, err := time.Parse(time.DateOnly, said)
	if err != nil {
		return
	}
	done := c.j.CompletedAt.In(surveys.Location(c.j.TimeZone))
	y, m, day := done.Date()
	doneDate := time.Date(y, m, day, 0, 0, 0, 0, time.UTC)
	apart := int(d.Sub(doneDate).Hours() / 24)
	if apart < 0 {
		apart = -apart
	}
	if apart <= c.cfg.V6Days {
		return
	}
	ev := &AnswerEvidence{Answers: c.latest(surveys.FactVisitDate), CompletedOn: doneDate.Format(time.DateOnly), ReportedOn: said, DaysApart: apart}
	c.add("V6", fmt.Sprintf("Customer says the visit was on %s, %d days from the claimed %s", said, apart, ev.CompletedOn), 0, ev)
}

// V16: nobody could be reached on the number, or the carrier says it is not
// a valid number.
func (c *checker) v16(attempts []AttemptRow, contactOutcome string) {
	ev := &AnswerEvidence{ContactOutcome: contactOutcome, Attempts: attempts}
	for _, a := range attempts {
		if invalidNumberCodes[a.ErrorCode] {
			c.add("V16", fmt.Sprintf("Customer number is invalid (carrier error %d)", a.ErrorCode), 0, ev)
			return
		}
	}
	if contactOutcome == "wrong_number" {
		c.add("V16", "Customer number is a wrong number", 0, ev)
		return
	}
	tried := false
	for _, a := range attempts {
		if !unansweredOutcomes[a.Outcome] {
			return // someone answered
		}
		tried = tried || !neverSent[a.Outcome]
	}
	// A contact whose attempts never reached the carrier (none placed: the
	// window never opened, the campaign was stopped) says nothing about the
	// customer.
	if !tried {
		return
	}
	// A contact stopped for a reason that is not the customer's (opted out,
	// suppressed, completed) says nothing about reachability.
	switch contactOutcome {
	case "completed", "opted_out", "suppressed":
		return
	}
	c.add("V16", fmt.Sprintf("Customer unreachable: %s", describeAttempts(attempts, contactOutcome)), 0, ev)
}

func describeAttempts(attempts []AttemptRow, contactOutcome string) string {
	if len(attempts) == 0 {
		return "no attempt placed, contact " + contactOutcome
	}
	counts := map[string]int{}
	var order []string
	for _, a := range attempts {
		o := a.Outcome
		if o == "" {
			o = "unsettled"
		}
		if counts[o] == 0 {
			order = append(order, o)
		}
		counts[o]++
	}
	parts := make([]string, len(order))
	for i, o := range order {
		parts[i] = strings.ReplaceAll(o, "_", " ")
		if counts[o] > 1 {
			parts[i] += fmt.Sprintf(" ×%d", counts[o])
		}
	}
	n := "attempts"
	if len(attempts) == 1 {
		n = "attempt"
	}
	return fmt.Sprintf("%d %s, none answered (%s)", len(attempts), n, strings.Join(parts, ", "))
}

// longDigits finds runs of seven or more digits (with spaces, dashes, dots or
// a leading plus between them): a phone number a customer typed into a reply.
var longDigits = regexp.MustCompile(`\+?[0-9０-９](?:[ \-.()]?[0-9０-９]){6,}`)

// maskNumbers masks phone-length digit runs in what a customer typed, so a
// number never reaches a flag's evidence.
func maskNumbers(s string) string {
	if !longDigits.MatchString(s) {
		return s
	}
	return longDigits.ReplaceAllStringFunc(s, workorders.MaskPhone)
}

// AnswerRun counts what one RunAnswerChecks did.
type AnswerRun struct {
	Contacts int            // contacts checked
	Flags    int            // new flags raised
	Findings map[string]int // findings per rule (a finding for an existing flag refreshes it)
	NotSure  int            // "not sure" answers seen (facts), across the checked contacts
}

// answerBatch is how many contacts one transaction checks; answerWorkers
// how many batches one run checks at once, so that one batch's queries
// overlap another's decoding and judging.
const (
	answerBatch   = 2000
	answerWorkers = 2
)

// RunAnswerChecks checks finished campaign contacts that no run has checked
// yet, at most limit of them (limit <= 0: all), in batches. Each batch is one
// transaction: it claims its contacts by setting contacts.audited_at (so
// two instances never check one contact twice and a contact is checked once
// however often this runs), loads the jobs, attempts, sessions and answers
// of the whole batch in a few queries, and raises the findings. The counts
// returned are of committed batches.
func (s *Store) RunAnswerChecks(ctx context.Context, limit int) (AnswerRun, error) {
	r := &answerRunner{s: s, limit: limit, defs: map[int64]*surveys.Definition{}, run: AnswerRun{Findings: map[string]int{}}}
	workers := answerWorkers
	if limit > 0 && limit <= answerBatch {
		workers = 1
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[w] = r.work(ctx); errs[w] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return r.run, fmt.Errorf("answer checks: %w", err)
	}
	return r.run, nil
}

// answerRunner is one RunAnswerChecks: the limit its workers share, the
// survey versions they have loaded and what they have done.
type answerRunner struct {
	s     *Store
	limit int

	mu       sync.Mutex
	reserved int // contacts the workers may be checking now or have checked
	defs     map[int64]*surveys.Definition
	run      AnswerRun
}

// work checks batches until none is left or the limit is reached.
func (r *answerRunner) work(ctx context.Context) error {
	var after int64 // this worker's position: contacts are taken in id order
	for {
		n := r.reserve()
		if n == 0 {
			return nil
		}
		var (
			picked int
			done   AnswerRun
		)
		err := pgx.BeginFunc(ctx, r.s.Pool, func(tx pgx.Tx) error {
			done = AnswerRun{Findings: map[string]int{}}
			var err error
			picked, after, err = r.s.answerBatch(ctx, tx, n, after, r.definition, &done)
			return err
		})
		if err != nil {
			done = AnswerRun{}
		}
		r.settle(n, &done)
		if err != nil || picked == 0 {
			return err
		}
	}
}

// reserve takes the size of the next batch out of the limit; 0 means the
// limit is reached.
func (r *answerRunner) reserve() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := answerBatch
	if r.limit > 0 {
		n = min(n, r.limit-r.reserved)
	}
	r.reserved += n
	return n
}

// settle adds a committed batch to the run and gives back what it reserved
// and did not check.
func (r *answerRunner) settle(reserved int, done *AnswerRun) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reserved -= reserved - done.Contacts
	r.run.Contacts += done.Contacts
	r.run.Flags += done.Flags
	r.run.NotSure += done.NotSure
	for k, v := range done.Findings {
		r.run.Findings[k] += v
	}
}

// definition returns a survey version, loaded once per run. It is read
// through the batch's own transaction: a run whose batches hold every
// connection of the pool must not wait for one more to load a version.
func (r *answerRunner) definition(ctx context.Context, tx pgx.Tx, id int64) (*surveys.Definition, error) {
	r.mu.Lock()
	d := r.defs[id]
	r.mu.Unlock()
	if d != nil {
		return d, nil
	}
	var (
		version     int
		source, sum string
	)
	err := tx.QueryRow(ctx, `SELECT version, source, sha256 FROM survey_versions WHERE id = $1`, id).Scan(&version, &source, &sum)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("survey version id %d: %w", id, surveys.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("survey version id %d: %w", id, err)
	}
	d, err = surveys.ParseDefinition(fmt.Sprintf("survey version id %d", id), []byte(source))
	if err != nil {
		return nil, fmt.Errorf("survey version id %d no longer validates: %w", id, err)
	}
	d.Version, d.VersionID, d.SHA256 = version, id, sum
	r.mu.Lock()
	r.defs[id] = d
	r.mu.Unlock()
	return d, nil
}

// claimContactsSQL takes up to $1 finished, unchecked contacts after id $2
// and marks them checked at $3. They are found by contacts_unaudited_idx,
// which holds only finished contacts not yet checked, so a run with nothing
// new reads nothing. Rows another run holds are skipped, and a contact
// another run checked and committed meanwhile no longer matches when its
// lock is taken: only what the UPDATE returns is this run's.
const claimContactsSQL = `
WITH picked AS (
    SELECT c.id FROM contacts c
    WHERE c.id > $2 AND c.state = 'done' AND c.audited_at IS NULL
    ORDER BY c.id
    LIMIT $1
    FOR NO KEY UPDATE OF c SKIP LOCKED
), marked AS (
    UPDATE contacts c SET audited_at = $3
    FROM picked p WHERE c.id = p.id AND c.audited_at IS NULL
    RETURNING c.id
)
SELECT (SELECT count(*) FROM picked), COALESCE((SELECT max(id) FROM picked), 0),
       COALESCE((SELECT array_agg(id ORDER BY id) FROM marked), '{}')`

// The queries of a batch take its contact ids ($1) and their range ($2,
// $3): contacts are claimed in id order, and the range keeps the planner on
// the indexes rather than hashing whole tables.
const jobsSQL = `
SELECT c.id, COALESCE(c.outcome, ''), w.id, w.external_id, w.provider_id, w.kind, w.warranty_status,
       (w.customer_paid * 100)::bigint, w.completed_at, cu.tz, w.currency,
       (w.labour_amount * 100)::bigint, (w.parts_amount * 100)::bigint
FROM contacts c
JOIN unnest($1::bigint[]) AS x(id) ON x.id = c.id
JOIN work_orders w ON w.id = c.work_order_id
JOIN customers cu ON cu.id = w.customer_id
WHERE c.id BETWEEN $2 AND $3`

const linesSQL = `
SELECT p.work_order_id, p.line, p.part_code, p.name_en, p.name_zh, p.quantity, (p.unit_cost * 100)::bigint
FROM claimed_parts p
WHERE p.work_order_id IN (SELECT c.work_order_id FROM contacts c JOIN unnest($1::bigint[]) AS x(id) ON x.id = c.id
                          WHERE c.id BETWEEN $2 AND $3)
ORDER BY p.work_order_id, p.line`

const attemptsSQL = `
SELECT a.contact_id, a.id, a.channel, COALESCE(a.outcome, ''), COALESCE(a.error_code, 0), COALESCE(a.duration_s, 0)
FROM attempts a
WHERE a.contact_id BETWEEN $2 AND $3 AND a.contact_id = ANY($1)
ORDER BY a.contact_id, a.created_at, a.id`

// Sessions in the order they opened: a later session's answers win.
const sessionsSQL = `
SELECT a.contact_id, s.id, s.attempt_id, s.survey_version_id, s.channel, s.lang, s.entries
FROM survey_sessions s
JOIN attempts a ON a.id = s.attempt_id
WHERE a.contact_id BETWEEN $2 AND $3 AND a.contact_id = ANY($1)
ORDER BY a.contact_id, s.opened_at, s.id`

// Only accepted answers are evidence; the engine's other entries are not.
const answersSQL = `
SELECT a.session_id, a.seq, a.question, a.part, a.fact, a.value, a.raw, a.prompt, a.input_kind, a.received_at
FROM unnest($1::bigint[]) AS x(session_id)
JOIN survey_answers a ON a.session_id = x.session_id
WHERE a.event = 'answer' AND a.fact <> ''
ORDER BY a.session_id, a.seq`

// contactCheck is one claimed contact as loaded.
type contactCheck struct {
	id       int64
	outcome  string
	job      *JobClaim
	attempts []AttemptRow
	sessions []int64 // in order
	channel  map[int64]string
	attempt  map[int64]int64
	facts    surveys.Facts
	answers  []AnswerRow
}

// sessionRow is one survey session as loaded, and the facts of its entries.
type sessionRow struct {
	c       *contactCheck
	id      int64
	version int64 // survey_versions.id
	def     *surveys.Definition
	channel string
	lang    string
	entries []byte
	facts   surveys.Facts
}

// factEntry is the part of a surveys.Entry its facts depend on; decoding
// only these fields leaves what the customer typed and why an input was
// invalid undecoded.
type factEntry struct {
	Question string         `json:"q"`
	Event    surveys.Event  `json:"event"`
	Fact     string         `json:"fact"`
	Value    *surveys.Value `json:"value"`
}

// sessionFacts rebuilds each session's run from its entries and reads its
// facts. Decoding the entries is most of the checks' own work, so it is
// spread over the processors.
func sessionFacts(rows []sessionRow) error {
	workers := min(runtime.GOMAXPROCS(0), 1+len(rows)/256)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(rows); i += workers {
				r := &rows[i]
				var lean []factEntry
				if err := json.Unmarshal(r.entries, &lean); err != nil {
					errs[w] = fmt.Errorf("session %d: entries: %w", r.id, err)
					return
				}
				st := surveys.State{Survey: r.def.Name, Version: r.def.Version, Channel: surveys.Channel(r.channel), Lang: r.lang,
					Entries: make([]surveys.Entry, len(lean))}
				for k, e := range lean {
					st.Entries[k] = surveys.Entry{Question: e.Question, Event: e.Event, Fact: e.Fact, Value: e.Value}
				}
				r.facts, r.entries = r.def.Facts(&st), nil
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// answerBatch checks up to n contacts after the id after in the caller's
// transaction, adds what it did to run and returns how many contacts it
// picked and the last id picked.
func (s *Store) answerBatch(ctx context.Context, tx pgx.Tx, n int, after int64,
	definition func(context.Context, pgx.Tx, int64) (*surveys.Definition, error), run *AnswerRun) (int, int64, error) {
	var (
		picked int
		last   int64
		ids    []int64
	)
	if err := tx.QueryRow(ctx, claimContactsSQL, n, after, s.now()).Scan(&picked, &last, &ids); err != nil {
		return 0, after, fmt.Errorf("claim contacts: %w", err)
	}
	if len(ids) == 0 {
		return picked, last, nil
	}
	byID := make(map[int64]*contactCheck, len(ids))
	byJob := make(map[int64][]*contactCheck, len(ids))
	// pgx reports a failed query through rows.Err, checked after each loop.
	rows, _ := tx.Query(ctx, jobsSQL, ids, ids[0], ids[len(ids)-1])
	for rows.Next() {
		c := &contactCheck{job: &JobClaim{}, facts: surveys.Facts{}}
		j := c.job
		var paid, labour, parts int64
		if err := rows.Scan(&c.id, &c.outcome, &j.WorkOrderID, &j.ExternalID, &j.ProviderID, &j.Kind, &j.WarrantyStatus,
			&paid, &j.CompletedAt, &j.TimeZone, &j.Currency, &labour, &parts); err != nil {
			rows.Close()
			return 0, after, fmt.Errorf("load jobs: %w", err)
		}
		j.CustomerPaid, j.Labour, j.Parts = workorders.Money(paid), workorders.Money(labour), workorders.Money(parts)
		byID[c.id] = c
		byJob[j.WorkOrderID] = append(byJob[j.WorkOrderID], c)
	}
	if err := rows.Err(); err != nil {
		return 0, after, fmt.Errorf("load jobs: %w", err)
	}

	rows, _ = tx.Query(ctx, linesSQL, ids, ids[0], ids[len(ids)-1])
	for rows.Next() {
		var wo, cost int64
		var l ClaimLine
		if err := rows.Scan(&wo, &l.Line, &l.PartCode, &l.NameEN, &l.NameZH, &l.Quantity, &cost); err != nil {
			rows.Close()
			return 0, after, fmt.Errorf("load claim lines: %w", err)
		}
		l.UnitCost = workorders.Money(cost)
		for _, c := range byJob[wo] {
			c.job.Lines = append(c.job.Lines, l)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, after, fmt.Errorf("load claim lines: %w", err)
	}

	rows, _ = tx.Query(ctx, attemptsSQL, ids, ids[0], ids[len(ids)-1])
	for rows.Next() {
		var cid int64
		var a AttemptRow
		if err := rows.Scan(&cid, &a.ID, &a.Channel, &a.Outcome, &a.ErrorCode, &a.DurationS); err != nil {
			rows.Close()
			return 0, after, fmt.Errorf("load attempts: %w", err)
		}
		if c := byID[cid]; c != nil {
			c.attempts = append(c.attempts, a)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, after, fmt.Errorf("load attempts: %w", err)
	}

	var loaded []sessionRow
	rows, _ = tx.Query(ctx, sessionsSQL, ids, ids[0], ids[len(ids)-1])
	for rows.Next() {
		var (
			cid, sid, aid, vid int64
			channel, lang      string
			entries            []byte
		)
		if err := rows.Scan(&cid, &sid, &aid, &vid, &channel, &lang, &entries); err != nil {
			rows.Close()
			return 0, after, fmt.Errorf("load sessions: %w", err)
		}
		c := byID[cid]
		if c == nil {
			continue
		}
		loaded = append(loaded, sessionRow{c: c, id: sid, version: vid, channel: channel, lang: lang, entries: entries})
		if c.channel == nil {
			c.channel, c.attempt = map[int64]string{}, map[int64]int64{}
		}
		c.sessions = append(c.sessions, sid)
		c.channel[sid], c.attempt[sid] = channel, aid
	}
	if err := rows.Err(); err != nil {
		return 0, after, fmt.Errorf("load sessions: %w", err)
	}
	for i := range loaded {
		r := &loaded[i]
		var err error
		if r.def, err = definition(ctx, tx, r.version); err != nil {
			return 0, after, fmt.Errorf("session %d: %w", r.id, err)
		}
	}
	if err := sessionFacts(loaded); err != nil {
		return 0, after, err
	}
	// Merge in session order: a later session's answers win, and a later
	// session does not undo an opt-out.
	for _, r := range loaded {
		for k, v := range r.facts {
			if k == surveys.FactOptedOut && !v.Bool {
				if _, ok := r.c.facts[k]; ok {
					continue
				}
			}
			r.c.facts[k] = v
		}
	}

	// Judge every contact without its answer rows first; only the contacts
	// with something to say need them, as evidence.
	results := make(map[int64]AnswerResult, len(ids))
	var needAnswers []int64
	sessionOf := map[int64]*contactCheck{}
	for _, id := range ids {
		c := byID[id]
		if c == nil {
			continue
		}
		r := CheckAnswers(&s.Config, c.job, c.facts, nil, c.attempts, c.outcome)
		results[id] = r
		run.NotSure += len(r.NotSure)
		if (len(r.Findings) > 0 || len(r.NotSure) > 0) && len(c.sessions) > 0 {
			needAnswers = append(needAnswers, c.sessions...)
			for _, sid := range c.sessions {
				sessionOf[sid] = c
			}
		}
	}
	if len(needAnswers) > 0 {
		rows, _ = tx.Query(ctx, answersSQL, needAnswers)
		for rows.Next() {
			var (
				a     AnswerRow
				value []byte
			)
			if err := rows.Scan(&a.SessionID, &a.Seq, &a.Question, &a.Part, &a.Fact, &value, &a.Raw, &a.Prompt,
				&a.InputKind, &a.ReceivedAt); err != nil {
				rows.Close()
				return 0, after, fmt.Errorf("load answers: %w", err)
			}
			c := sessionOf[a.SessionID]
			if c == nil {
				continue
			}
			var v surveys.Value
			if len(value) > 0 && json.Unmarshal(value, &v) == nil {
				a.Value = v.String()
			}
			a.Raw = maskNumbers(a.Raw)
			a.Channel, a.AttemptID = c.channel[a.SessionID], c.attempt[a.SessionID]
			c.answers = append(c.answers, a)
		}
		if err := rows.Err(); err != nil {
			return 0, after, fmt.Errorf("load answers: %w", err)
		}
	}

	// One finding per (job, rule): a job surveyed by two campaigns whose
	// contacts end in one batch is judged by the later contact.
	var findings []Finding
	type jobRule struct {
		wo   int64
		rule string
	}
	at := map[jobRule]int{}
	for _, id := range ids {
		c := byID[id]
		if c == nil {
			continue
		}
		r := results[id]
		if len(r.Findings) == 0 {
			continue
		}
		if len(c.answers) > 0 {
			// Answer rows arrive by session id; cite them in session order.
			order := make(map[int64]int, len(c.sessions))
			for i, sid := range c.sessions {
				order[sid] = i
			}
			sort.SliceStable(c.answers, func(a, b int) bool {
				x, y := c.answers[a], c.answers[b]
				if order[x.SessionID] != order[y.SessionID] {
					return order[x.SessionID] < order[y.SessionID]
				}
				return x.Seq < y.Seq
			})
			r = CheckAnswers(&s.Config, c.job, c.facts, c.answers, c.attempts, c.outcome)
		}
		for _, f := range r.Findings {
			f.Evidence.(*AnswerEvidence).ContactID = c.id
			k := jobRule{f.WorkOrderID, f.Rule}
			if i, ok := at[k]; ok {
				findings[i] = f
				continue
			}
			at[k] = len(findings)
			run.Findings[f.Rule]++
			findings = append(findings, f)
		}
	}
	raised, err := s.Raise(ctx, tx, findings)
	if err != nil {
		return 0, after, err
	}
	run.Flags += raised
	run.Contacts += len(ids)
	return picked, last, nil
}
