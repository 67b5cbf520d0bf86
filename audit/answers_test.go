package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/internal/testdb"
	"github.com/huifang/huifang/surveys"
	"github.com/huifang/huifang/workorders"
	"github.com/huifang/huifang/workorders/sample"
)

// ansRepairClaim is a repair with two claimed parts: labour 120.00, a heating
// element 2 × 80.00 and a thermostat 40.00; the claim is CNY 320.00.
func ansRepairClaim() *JobClaim {
	return &JobClaim{
		WorkOrderID: 7, ExternalID: "S7", ProviderID: 3, Kind: "repair", WarrantyStatus: "in_warranty",
		CustomerPaid: 0, CompletedAt: time.Date(2026, 11, 20, 17, 30, 0, 0, time.UTC), TimeZone: "Asia/Shanghai",
		Currency: "CNY", Labour: 12000, Parts: 20000,
		Lines: []ClaimLine{
			{Line: 1, PartCode: "HE-01", NameEN: "heating element", NameZH: "加热管", Quantity: 2, UnitCost: 8000},
			{Line: 2, PartCode: "TS-02", NameEN: "thermostat", NameZH: "温控器", Quantity: 1, UnitCost: 4000},
		},
	}
}

func ansTri(t surveys.Tri) surveys.Value { return surveys.Value{Kind: surveys.KindTri, Tri: t} }
func ansBool(b bool) surveys.Value       { return surveys.Value{Kind: surveys.KindBool, Bool: b} }
func ansMoney(m int64) surveys.Value {
	return surveys.Value{Kind: surveys.KindMoney, Int: m, Currency: "CNY"}
}
func ansDate(s string) surveys.Value { return surveys.Value{Kind: surveys.KindDate, Str: s} }

// row is an answer row for a fact, as evidence.
func ansRow(seq int, fact, value string) AnswerRow {
	return AnswerRow{AttemptID: 11, SessionID: 21, Seq: seq, Channel: "voice", Question: "q" + fmt.Sprint(seq), Fact: fact,
		Prompt: "prompt of " + fact, Raw: value, InputKind: "digits", Value: value,
		ReceivedAt: time.Date(2026, 11, 21, 2, 0, seq, 0, time.UTC)}
}

// got is one finding reduced to what a test compares.
type ansGot struct {
	Rule     string
	Severity Severity
	Amount   workorders.Money
	Summary  string
}

func ansReduce(fs []Finding) []ansGot {
	var out []ansGot
	for _, f := range fs {
		out = append(out, ansGot{f.Rule, f.severity(), f.Amount, f.Summary})
	}
	return out
}

func TestCheckAnswers(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.V4Tolerance = 500 // 5.00
	answered := []AttemptRow{{ID: 11, Channel: "voice", Outcome: "completed", DurationS: 70}}
	outOfWarranty := func(paid workorders.Money) func(*JobClaim) {
		return func(j *JobClaim) { j.WarrantyStatus, j.CustomerPaid = "out_of_warranty", paid }
	}
	tests := []struct {
		name     string
		job      func(*JobClaim)
		facts    surveys.Facts
		attempts []AttemptRow
		outcome  string
		want     []ansGot
		notSure  []string
	}{
		{name: "honest repair", facts: surveys.Facts{
			"visit_confirmed": ansTri(surveys.Yes), "part_replaced": ansTri(surveys.Yes),
			"part_confirmed[HE-01]": ansTri(surveys.Yes), "part_confirmed[TS-02]": ansTri(surveys.Yes),
			"customer_charged": ansBool(false), "fixed": ansBool(true)}},

		{name: "V1 no visit", facts: surveys.Facts{"visit_confirmed": ansTri(surveys.No)},
			want: []ansGot{{"V1", Critical, 32000, "Customer says no technician visited (claim CNY 320.00)"}}},
		{name: "V1 not installed", job: func(j *JobClaim) { j.Kind, j.Lines, j.Parts = "install", nil, 0 },
			facts: surveys.Facts{"install_confirmed": ansTri(surveys.No)},
			want:  []ansGot{{"V1", Critical, 12000, "Customer says nothing was installed (claim CNY 120.00)"}}},
		{name: "V1 near miss: not sure", facts: surveys.Facts{"visit_confirmed": ansTri(surveys.Unsure)},
			notSure: []string{"visit_confirmed"}},

		{name: "V2 no part replaced", facts: surveys.Facts{"visit_confirmed": ansTri(surveys.Yes), "part_replaced": ansTri(surveys.No)},
			want: []ansGot{{"V2", Critical, 20000, "Customer says no part was replaced (claimed: heating element, thermostat, CNY 200.00)"}}},
		{name: "V2 every part denied one by one", facts: surveys.Facts{
			"part_replaced[HE-01]": ansTri(surveys.No), "part_replaced[TS-02]": ansTri(surveys.No)},
			want: []ansGot{{"V2", Critical, 20000, "Customer says no part was replaced (claimed: heating element, thermostat, CNY 200.00)"}}},
		{name: "V2 the one part asked denied", facts: surveys.Facts{"part_replaced[TS-02]": ansTri(surveys.No)},
			want: []ansGot{{"V2", Critical, 4000, "Customer says no part was replaced (claimed: thermostat, CNY 40.00)"}}},
		{name: "V2 near miss: one of two parts confirmed", facts: surveys.Facts{
			"part_replaced[HE-01]": ansTri(surveys.No), "part_replaced[TS-02]": ansTri(surveys.Yes)}},
		{name: "V2 near miss: no parts claimed", job: func(j *JobClaim) { j.Lines, j.Parts = nil, 0 },
			facts: surveys.Facts{"part_replaced": ansTri(surveys.No)}},
		{name: "V2 near miss: don't know", facts: surveys.Facts{"part_replaced": ansTri(surveys.Unsure)},
			notSure: []string{"part_replaced"}},

		{name: "V3 other part", facts: surveys.Facts{"part_replaced": ansTri(surveys.Yes),
			"part_confirmed[HE-01]": ansTri(surveys.No), "part_confirmed[TS-02]": ansTri(surveys.Yes)},
			want: []ansGot{{"V3", High, 16000, "Customer says the part replaced was not the heating element (CNY 160.00)"}}},
		{name: "V3 near miss: part confirmed, other unsure", facts: surveys.Facts{"part_replaced": ansTri(surveys.Yes),
			"part_confirmed[HE-01]": ansTri(surveys.Yes), "part_confirmed[TS-02]": ansTri(surveys.Unsure)},
			notSure: []string{"part_confirmed[TS-02]"}},
		{name: "V3 near miss: a part not claimed", facts: surveys.Facts{"part_confirmed[XX-99]": ansTri(surveys.No)}},

		{name: "V4 paid on in-warranty job", facts: surveys.Facts{"customer_charged": ansBool(true), "customer_paid_amount": ansMoney(5000)},
			want: []ansGot{{"V4", High, 5000, "Customer says they paid CNY 50.00; the record says CNY 0.00 (in warranty)"}}},
		{name: "V4 charged in warranty, no amount", facts: surveys.Facts{"customer_charged": ansBool(true)},
			want: []ansGot{{"V4", High, 0, "Customer says they were charged on an in warranty job; amount not given (record CNY 0.00)"}}},
		{name: "V4 near miss: in warranty within tolerance", facts: surveys.Facts{"customer_charged": ansBool(true), "customer_paid_amount": ansMoney(500)}},
		{name: "V4 SMS amount alone", job: func(j *JobClaim) { j.WarrantyStatus = "extended" },
			facts: surveys.Facts{"customer_paid_amount": ansMoney(501)},
			want:  []ansGot{{"V4", High, 501, "Customer says they paid CNY 5.01; the record says CNY 0.00 (extended)"}}},
		{name: "V4 out of warranty above record", job: outOfWarranty(10000),
			facts: surveys.Facts{"customer_charged": ansBool(true), "customer_paid_amount": ansMoney(15000)},
			want:  []ansGot{{"V4", High, 5000, "Customer says they paid CNY 150.00; the record says CNY 100.00 (out of warranty)"}}},
		{name: "V4 near miss: out of warranty paid the record", job: outOfWarranty(10000),
			facts: surveys.Facts{"customer_charged": ansBool(true), "customer_paid_amount": ansMoney(10000)}},
		{name: "V4 near miss: out of warranty paid record plus tolerance", job: outOfWarranty(10000),
			facts: surveys.Facts{"customer_charged": ansBool(true), "customer_paid_amount": ansMoney(10500)}},
		{name: "V4 near miss: out of warranty, no amount", job: outOfWarranty(10000),
			facts: surveys.Facts{"customer_charged": ansBool(true)}},
		{name: "V4 near miss: warranty unknown, no amount", job: func(j *JobClaim) { j.WarrantyStatus = "unknown" },
			facts: surveys.Facts{"customer_charged": ansBool(true)}},
		{name: "V4 near miss: not charged", facts: surveys.Facts{"customer_charged": ansBool(false), "customer_paid_amount": ansMoney(0)}},

		{name: "V5 not fixed", facts: surveys.Facts{"fixed": ansBool(false)},
			want: []ansGot{{"V5", Medium, 0, "Customer says the problem is not fixed"}}},
		{name: "V5 install not working", facts: surveys.Facts{"working": ansBool(false)},
			want: []ansGot{{"V5", Medium, 0, "Customer says the unit is not working"}}},
		{name: "V5 near miss: fixed", facts: surveys.Facts{"fixed": ansBool(true), "working": ansBool(true)}},

		// Completed 2026-11-20 17:30 UTC is 2026-11-21 in Shanghai.
		{name: "V6 three days off", facts: surveys.Facts{"visit_date": ansDate("2026-11-18")},
			want: []ansGot{{"V6", Medium, 0, "Customer says the visit was on 2026-11-18, 3 days from the claimed 2026-11-21"}}},
		{name: "V6 near miss: exactly V6Days", facts: surveys.Facts{"visit_date": ansDate("2026-11-23")}},
		{name: "V6 near miss: not sure of the date", facts: surveys.Facts{"visit_date": ansDate("")}, notSure: []string{"visit_date"}},
		{name: "V6 the zone's date, not UTC's", job: func(j *JobClaim) { j.TimeZone = "America/Chicago" },
			facts: surveys.Facts{"visit_date": ansDate("2026-11-23")},
			want:  []ansGot{{"V6", Medium, 0, "Customer says the visit was on 2026-11-23, 3 days from the claimed 2026-11-20"}}},

		{name: "V16 never answered", facts: surveys.Facts{}, outcome: "exhausted", attempts: []AttemptRow{
			{ID: 1, Channel: "voice", Outcome: "no_answer"}, {ID: 2, Channel: "voice", Outcome: "no_answer"}, {ID: 3, Channel: "voice", Outcome: "busy"}},
			want: []ansGot{{"V16", Low, 0, "Customer unreachable: 3 attempts, none answered (no answer ×2, busy)"}}},
		{name: "V16 invalid number", facts: surveys.Facts{}, outcome: "failed", attempts: []AttemptRow{
			{ID: 1, Channel: "sms", Outcome: "undelivered", ErrorCode: 30006}},
			want: []ansGot{{"V16", Low, 0, "Customer number is invalid (carrier error 30006)"}}},
		{name: "V16 an SMS delivered and never answered", facts: surveys.Facts{}, outcome: "exhausted", attempts: []AttemptRow{
			{ID: 1, Channel: "voice", Outcome: "machine"}, {ID: 2, Channel: "sms", Outcome: "no_response"}},
			want: []ansGot{{"V16", Low, 0, "Customer unreachable: 2 attempts, none answered (machine, no response)"}}},
		// A contact the dialer never reached the carrier for (the window never
		// opened before its deadline, the campaign stopped) says nothing about
		// the customer.
		{name: "V16 near miss: expired with no attempt", facts: surveys.Facts{}, outcome: "expired"},
		{name: "V16 near miss: attempts never placed", facts: surveys.Facts{}, outcome: "expired", attempts: []AttemptRow{
			{ID: 1, Channel: "voice", Outcome: "not_placed"}, {ID: 2, Channel: "voice", Outcome: "canceled"}}},
		{name: "V16 near miss: answered then hung up", facts: surveys.Facts{}, outcome: "exhausted", attempts: []AttemptRow{
			{ID: 1, Channel: "voice", Outcome: "no_answer"}, {ID: 2, Channel: "voice", Outcome: "hung_up", DurationS: 9}}},
		{name: "V16 near miss: other carrier error", facts: surveys.Facts{}, outcome: "failed", attempts: []AttemptRow{
			{ID: 1, Channel: "voice", Outcome: "completed", ErrorCode: 31005}}},
		{name: "V16 near miss: suppressed", facts: surveys.Facts{}, outcome: "suppressed", attempts: []AttemptRow{
			{ID: 1, Channel: "voice", Outcome: "suppressed"}}},

		{name: "several rules, unsure kept", facts: surveys.Facts{"visit_confirmed": ansTri(surveys.Yes), "part_replaced": ansTri(surveys.No),
			"customer_charged": ansBool(true), "customer_paid_amount": ansMoney(8000), "fixed": ansBool(false), "csat": {Kind: surveys.KindInt, Int: 1},
			"visit_date": ansDate("")},
			want: []ansGot{
				{"V2", Critical, 20000, "Customer says no part was replaced (claimed: heating element, thermostat, CNY 200.00)"},
				{"V4", High, 8000, "Customer says they paid CNY 80.00; the record says CNY 0.00 (in warranty)"},
				{"V5", Medium, 0, "Customer says the problem is not fixed"},
			}, notSure: []string{"visit_date"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := ansRepairClaim()
			if tt.job != nil {
				tt.job(j)
			}
			attempts, outcome := tt.attempts, tt.outcome
			if attempts == nil && outcome == "" {
				attempts, outcome = answered, "completed"
			}
			r := CheckAnswers(&cfg, j, tt.facts, nil, attempts, outcome)
			if g := ansReduce(r.Findings); !reflect.DeepEqual(g, tt.want) {
				t.Errorf("findings\n got %+v\nwant %+v", g, tt.want)
			}
			if !slices.Equal(r.NotSure, tt.notSure) {
				t.Errorf("not sure %q, want %q", r.NotSure, tt.notSure)
			}
			for _, f := range r.Findings {
				if f.WorkOrderID != 7 || f.ProviderID != 3 || f.Currency != "CNY" || f.ClaimValue != j.ClaimValue() {
					t.Errorf("%s: job %d provider %d currency %q claim %d", f.Rule, f.WorkOrderID, f.ProviderID, f.Currency, f.ClaimValue)
				}
			}
		})
	}
}

// The evidence cites the latest answer for each fact that raised the flag,
// the claim lines concerned, and the job's "not sure" answers.
func TestCheckAnswersEvidence(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	facts := surveys.Facts{
		"visit_confirmed": ansTri(surveys.Yes), "part_replaced": ansTri(surveys.Yes),
		"part_confirmed[HE-01]": ansTri(surveys.Unsure), "part_confirmed[TS-02]": ansTri(surveys.No),
	}
	answers := []AnswerRow{
		ansRow(1, "visit_confirmed", "yes"), ansRow(2, "part_replaced", "no"), // answered again below
		ansRow(3, "part_replaced", "yes"), ansRow(4, "part_confirmed[HE-01]", "unsure"), ansRow(5, "part_confirmed[TS-02]", "no"),
	}
	r := CheckAnswers(&cfg, ansRepairClaim(), facts, answers, nil, "completed")
	if len(r.Findings) != 1 || r.Findings[0].Rule != "V3" {
		t.Fatalf("findings %+v, want V3 only", ansReduce(r.Findings))
	}
	ev := r.Findings[0].Evidence.(*AnswerEvidence)
	want := &AnswerEvidence{
		Answers: []AnswerRow{answers[2], answers[4]},
		Lines:   []ClaimLine{ansRepairClaim().Lines[1]},
		NotSure: []AnswerRow{answers[3]},
	}
	if !reflect.DeepEqual(ev, want) {
		t.Fatalf("evidence\n got %+v\nwant %+v", ev, want)
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"prompt":"prompt of part_confirmed[TS-02]"`, `"raw":"no"`, `"input_kind":"digits"`, `"part_code":"TS-02"`, `"unit_cost":4000`} {
		if !strings.Contains(string(b), s) {
			t.Errorf("evidence JSON lacks %s: %s", s, b)
		}
	}
}

func TestMaskNumbers(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"50":                        "50",
		"1":                         "1",
		"call me on +8613800138000": "call me on +86*******8000",
		"138 0013 8000 please":      "*******8000 please",
		"paid 300 yuan":             "paid 300 yuan",
	} {
		if got := maskNumbers(in); got != want {
			t.Errorf("maskNumbers(%q) = %q, want %q", in, got, want)
		}
	}
}

// ansWorld is a small database with sample jobs, a published survey and a
// campaign, in which tests write finished contacts.
type ansWorld struct {
	pool     *pgxpool.Pool
	store    *Store
	now      time.Time
	defs     map[string]*surveys.Definition
	versions map[string]int64
	campaign int64
}

func newAnsWorld(t testing.TB, jobs int) *ansWorld {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	pool := testdb.New(t)
	wst := &workorders.Store{Pool: pool, Now: func() time.Time { return now }}
	src, err := wst.EnsureSource(ctx, "sample", "file", workorders.Defaults{Region: "CN"})
	if err != nil {
		t.Fatal(err)
	}
	if jobs > 0 {
		if res, err := sample.Load(ctx, wst, src, sample.Config{Seed: 11, Jobs: jobs, Now: now}); err != nil {
			t.Fatalf("load sample: %v %v", err, res.Errors)
		}
	}
	w := &ansWorld{pool: pool, now: now, defs: map[string]*surveys.Definition{}, versions: map[string]int64{}}
	w.store = NewStore(pool)
	w.store.Now = func() time.Time { return now }
	sst := surveys.NewStore(pool)
	for _, name := range []string{"repair-parts-verification", "install-verification"} {
		d, err := surveys.ShippedScript(name)
		if err != nil {
			t.Fatal(err)
		}
		p, err := sst.Publish(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		w.defs[name], w.versions[name] = d, p.ID
	}
	if err := pool.QueryRow(ctx, `
INSERT INTO campaigns (name, state, source, definition, survey_version_id)
VALUES ('verify', 'active', 'name: verify', '{}', $1) RETURNING id`, w.versions["repair-parts-verification"]).Scan(&w.campaign); err != nil {
		t.Fatal(err)
	}
	return w
}

// contact writes a finished contact for a work order.
func (w *ansWorld) contact(t testing.TB, wo int64, outcome string) int64 {
	t.Helper()
	var id int64
	err := w.pool.QueryRow(context.Background(), `
INSERT INTO contacts (campaign_id, work_order_id, phone_e164, zones, lang, state, outcome, channel, next_at, expires_at, ended_at)
SELECT $1, w.id, c.phone_e164, ARRAY[c.tz], c.lang, 'done', $3, 'voice', $4, $4, $4
FROM work_orders w JOIN customers c ON c.id = w.customer_id WHERE w.id = $2
RETURNING id`, w.campaign, wo, outcome, w.now).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// attempt writes an ended attempt of a contact.
func (w *ansWorld) attempt(t testing.TB, contact int64, channel, outcome string, errorCode int) int64 {
	t.Helper()
	var id int64
	err := w.pool.QueryRow(context.Background(), `
INSERT INTO attempts (work_order_id, contact_id, channel, to_e164, from_e164, state, outcome, error_code, duration_s, created_at, ended_at)
SELECT work_order_id, id, $2, phone_e164, '+8610000000', 'ended', $3, NULLIF($4, 0), 40, $5, $5 FROM contacts WHERE id = $1
RETURNING id`, contact, channel, outcome, errorCode, w.now.Add(-time.Hour)).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// converse runs the survey of an attempt through the real engine with the
// inputs, and stores the session and its answer rows as the dialer does:
// every entry in entries, and one survey_answers row per entry with the
// prompt the customer heard or read before the input.
func (w *ansWorld) converse(t testing.TB, attempt int64, survey string, ch surveys.Channel, inputs ...surveys.Input) {
	t.Helper()
	ctx := context.Background()
	var wo int64
	if err := w.pool.QueryRow(ctx, `SELECT work_order_id FROM attempts WHERE id = $1`, attempt).Scan(&wo); err != nil {
		t.Fatal(err)
	}
	job, err := surveys.LoadJob(ctx, w.pool, fmt.Sprint(wo))
	if err != nil {
		t.Fatal(err)
	}
	d := w.defs[survey]
	st, err := d.Start(job, ch, "")
	if err != nil {
		t.Fatal(err)
	}
	step, err := d.Next(job, &st)
	if err != nil {
		t.Fatal(err)
	}
	type answerRow struct {
		e      surveys.Entry
		prompt string
		kind   surveys.InputKind
	}
	var rows []answerRow
	for i, in := range inputs {
		o, err := d.Apply(job, st, in)
		if err != nil {
			t.Fatalf("input %d %+v at %s: %v", i, in, step.Question, err)
		}
		for _, e := range o.Added {
			rows = append(rows, answerRow{e, step.Prompt, in.Kind})
		}
		st, step = o.State, o.Step
	}
	entries, _ := json.Marshal(st.Entries)
	jobJSON, _ := json.Marshal(job)
	var session int64
	err = pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `
INSERT INTO survey_sessions (attempt_id, work_order_id, survey_version_id, channel, lang, phone_e164, job, entries, n_entries,
                             status, end_reason, opened_at, updated_at, ended_at)
SELECT id, work_order_id, $2, $3, $4, to_e164, $5, $6, $7, 'ended', 'completed', $8::timestamptz + make_interval(secs => id), $8, $8
FROM attempts WHERE id = $1
RETURNING id`, attempt, w.versions[survey], string(ch), st.Lang, jobJSON, entries, len(st.Entries), w.now.Add(-time.Hour)).Scan(&session); err != nil {
			return err
		}
		for i, r := range rows {
			var v []byte
			if r.e.Value != nil {
				v, _ = json.Marshal(r.e.Value)
			}
			if _, err := tx.Exec(ctx, `
INSERT INTO survey_answers (session_id, seq, survey_version_id, question, part, event, fact, value, raw, reason, intent, prompt, input_kind, received_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
				session, i, w.versions[survey], r.e.Question, r.e.Part, string(r.e.Event), r.e.Fact, v, r.e.Raw,
				string(r.e.Reason), r.e.Intent, r.prompt, string(r.kind), w.now.Add(-time.Hour+time.Duration(i)*time.Second)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// pickJobs returns work orders of the sample matching a condition.
func (w *ansWorld) pickJobs(t testing.TB, where string, n int) []int64 {
	t.Helper()
	rows, _ := w.pool.Query(context.Background(), `
SELECT w.id FROM work_orders w JOIN customers c ON c.id = w.customer_id
WHERE `+where+` AND NOT EXISTS (SELECT 1 FROM contacts k WHERE k.work_order_id = w.id)
ORDER BY w.id LIMIT $1`, n)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(ids) < n {
		t.Fatalf("jobs where %s: %v %v", where, ids, err)
	}
	return ids
}

func ansKeys(s string) surveys.Input { return surveys.Input{Kind: surveys.InputDigits, Text: s} }
func ansText(s string) surveys.Input { return surveys.Input{Kind: surveys.InputText, Text: s} }

// ansFlag is a raised flag reduced to what the runner test compares.
type ansFlag struct {
	WorkOrderID int64
	Rule        string
	Severity    string
	Amount      string
	Summary     string
}

func ansFlags(t testing.TB, pool *pgxpool.Pool) []ansFlag {
	t.Helper()
	rows, _ := pool.Query(context.Background(), `
SELECT work_order_id, rule, severity, amount::text, summary FROM flags ORDER BY work_order_id, rule`)
	fs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ansFlag])
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestRunAnswerChecks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newAnsWorld(t, 60)
	// Repairs in warranty with claimed parts, in Chinese; an install.
	repairs := w.pickJobs(t, `w.kind = 'repair' AND w.warranty_status = 'in_warranty' AND c.lang = 'zh-CN'
		AND (SELECT count(*) FROM claimed_parts p WHERE p.work_order_id = w.id) = 1`, 5)
	install := w.pickJobs(t, `w.kind = 'install' AND c.lang = 'en'`, 1)[0]
	var claim [5]struct{ value, parts, part string }
	for i, id := range repairs {
		if err := w.pool.QueryRow(ctx, `SELECT w.currency || ' ' || (labour_amount + parts_amount)::text, parts_amount::text, p.name_en
			FROM work_orders w JOIN claimed_parts p ON p.work_order_id = w.id WHERE id = $1`, id).Scan(&claim[i].value, &claim[i].parts, &claim[i].part); err != nil {
			t.Fatal(err)
		}
	}
	repair := "repair-parts-verification"

	// 0: no visit, confirmed on read-back.
	c0 := w.contact(t, repairs[0], "completed")
	w.converse(t, w.attempt(t, c0, "voice", "completed", 0), repair, surveys.Voice, ansKeys("1"), ansKeys("2"), ansKeys("1"))
	// 1: an honest customer; 2: parts denied and not fixed; the visit "not sure" first.
	c1 := w.contact(t, repairs[1], "completed")
	w.converse(t, w.attempt(t, c1, "voice", "completed", 0), repair, surveys.Voice,
		ansKeys("1"), ansKeys("1"), ansKeys("1"), ansKeys("1"), ansKeys("1"), ansKeys("1"), ansKeys("5"))
	c2 := w.contact(t, repairs[2], "completed")
	w.converse(t, w.attempt(t, c2, "sms", "completed", 0), repair, surveys.SMS,
		ansText("3"), ansText("2"), ansText("0"), ansText("2"), ansText("2"))
	// 3: the call hung up after "no visit"; the SMS that followed says yes: the later session wins.
	c3 := w.contact(t, repairs[3], "completed")
	w.converse(t, w.attempt(t, c3, "voice", "partial", 0), repair, surveys.Voice, ansKeys("1"), ansKeys("2"), ansKeys("1"))
	w.converse(t, w.attempt(t, c3, "sms", "completed", 0), repair, surveys.SMS,
		ansText("1"), ansText("1"), ansText("1"), ansText("0"), ansText("1"), ansText("4"))
	// 4: never answered.
	c4 := w.contact(t, repairs[4], "exhausted")
	for _, o := range []string{"no_answer", "busy", "no_answer"} {
		w.attempt(t, c4, "voice", o, 0)
	}
	// The install: charged 50 over SMS on an in-warranty job, or none if out of warranty.
	ci := w.contact(t, install, "completed")
	w.converse(t, w.attempt(t, ci, "sms", "completed", 0), "install-verification", surveys.SMS, ansText("1"), ansText("1"), ansText("50"), ansText("5"))
	var instWarranty, instCurrency string
	if err := w.pool.QueryRow(ctx, `SELECT warranty_status, currency FROM work_orders WHERE id = $1`, install).Scan(&instWarranty, &instCurrency); err != nil {
		t.Fatal(err)
	}
	// The unreachable job again, in a second campaign: one flag still.
	var second int64
	if err := w.pool.QueryRow(ctx, `INSERT INTO campaigns (name, state, source, definition) VALUES ('again', 'active', 'name: again', '{}')
		RETURNING id`).Scan(&second); err != nil {
		t.Fatal(err)
	}
	w.campaign, second = second, w.campaign
	c4b := w.contact(t, repairs[4], "expired")
	w.campaign = second
	w.attempt(t, c4b, "voice", "busy", 0)
	// A contact still queued is not checked.
	queued := w.contact(t, w.pickJobs(t, "true", 1)[0], "completed")
	if _, err := w.pool.Exec(ctx, `UPDATE contacts SET state = 'queued', outcome = NULL WHERE id = $1`, queued); err != nil {
		t.Fatal(err)
	}

	run, err := w.store.RunAnswerChecks(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []ansFlag{
		{repairs[0], "V1", "critical", strings.TrimPrefix(claim[0].value, "CNY "), "Customer says no technician visited (claim " + claim[0].value + ")"},
		{repairs[2], "V2", "critical", claim[2].parts, "Customer says no part was replaced (claimed: " + claim[2].part + ", CNY " + claim[2].parts + ")"},
		{repairs[2], "V5", "medium", "0.00", "Customer says the problem is not fixed"},
		{repairs[4], "V16", "low", "0.00", "Customer unreachable: 1 attempt, none answered (busy)"},
	}
	wantRun := AnswerRun{Contacts: 7, Flags: 4, Findings: map[string]int{"V1": 1, "V2": 1, "V5": 1, "V16": 1}, NotSure: 1}
	if instWarranty == "in_warranty" || instWarranty == "extended" {
		want = append(want, ansFlag{install, "V4", "high", "50.00", fmt.Sprintf("Customer says they paid %s 50.00; the record says %s 0.00 (%s)",
			instCurrency, instCurrency, strings.ReplaceAll(instWarranty, "_", " "))})
		wantRun.Flags, wantRun.Findings["V4"] = 5, 1
	}
	slices.SortFunc(want, func(a, b ansFlag) int {
		if a.WorkOrderID != b.WorkOrderID {
			return int(a.WorkOrderID - b.WorkOrderID)
		}
		return strings.Compare(a.Rule, b.Rule)
	})
	got := ansFlags(t, w.pool)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("flags\n got %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(run, wantRun) {
		t.Errorf("run %+v, want %+v", run, wantRun)
	}

	// The V1 evidence: the answer, the exact prompt heard, the key pressed.
	var ev AnswerEvidence
	var evRaw string
	if err := w.pool.QueryRow(ctx, `SELECT evidence::text FROM flags WHERE work_order_id = $1 AND rule = 'V1'`, repairs[0]).Scan(&evRaw); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(evRaw), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.ContactID != c0 || len(ev.Answers) != 1 || len(ev.Lines) != 1 {
		t.Fatalf("V1 evidence %+v", ev)
	}
	a := ev.Answers[0]
	if a.Fact != "visit_confirmed" || a.Question != "visit" || a.Raw != "2" || a.InputKind != "digits" || a.Channel != "voice" ||
		a.Value != "no" || !strings.HasSuffix(a.Prompt, "是请按1，否请按2，不确定请按3。") || a.AttemptID == 0 {
		t.Errorf("V1 answer %+v", a)
	}
	// The V2 evidence cites the SMS answer and the visit "not sure".
	if err := w.pool.QueryRow(ctx, `SELECT evidence::text FROM flags WHERE work_order_id = $1 AND rule = 'V2'`, repairs[2]).Scan(&evRaw); err != nil {
		t.Fatal(err)
	}
	ev = AnswerEvidence{}
	if err := json.Unmarshal([]byte(evRaw), &ev); err != nil {
		t.Fatal(err)
	}
	if len(ev.Answers) != 1 || ev.Answers[0].Raw != "2" || ev.Answers[0].Prompt != "是否更换了配件？回1是 2否 3不清楚" ||
		len(ev.NotSure) != 1 || ev.NotSure[0].Fact != "visit_confirmed" || ev.NotSure[0].Raw != "3" || ev.NotSure[0].Channel != "sms" {
		t.Errorf("V2 evidence %s", evRaw)
	}
	// No phone number in any flag.
	var leaks int
	if err := w.pool.QueryRow(ctx, `SELECT count(*) FROM flags f, customers c WHERE strpos(f.evidence::text || f.summary, c.phone_e164) > 0
		OR strpos(f.evidence::text, substr(c.phone_e164, 2)) > 0`).Scan(&leaks); err != nil || leaks != 0 {
		t.Errorf("flags citing a phone number: %d %v", leaks, err)
	}

	// Running again checks nothing and raises nothing.
	again, err := w.store.RunAnswerChecks(ctx, 0)
	if err != nil || again.Contacts != 0 || again.Flags != 0 {
		t.Fatalf("second run %+v %v, want nothing", again, err)
	}
	var checked, raised int
	if err := w.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM contacts WHERE audited_at IS NOT NULL),
		(SELECT count(*) FROM audit_log WHERE action = 'flag.raise')`).Scan(&checked, &raised); err != nil || checked != 7 || raised != len(want) {
		t.Fatalf("checked %d raised %d (%v), want 7 and %d", checked, raised, err, len(want))
	}
}

// Two runners at once check every contact exactly once between them, and a
// limit bounds one run.
func TestRunAnswerChecksConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newAnsWorld(t, 300)
	// Every contact never answered: one V16 each.
	if _, err := w.pool.Exec(ctx, `
WITH c AS (
    INSERT INTO contacts (campaign_id, work_order_id, phone_e164, zones, lang, state, outcome, channel, next_at, expires_at)
    SELECT $1, w.id, cu.phone_e164, ARRAY[cu.tz], cu.lang, 'done', 'exhausted', 'voice', $2, $2
    FROM work_orders w JOIN customers cu ON cu.id = w.customer_id
    RETURNING id, work_order_id, phone_e164
)
INSERT INTO attempts (work_order_id, contact_id, channel, to_e164, from_e164, state, outcome, created_at)
SELECT work_order_id, id, 'voice', phone_e164, '+8610000000', 'ended', 'no_answer', $2 FROM c`, w.campaign, w.now); err != nil {
		t.Fatal(err)
	}
	first, err := w.store.RunAnswerChecks(ctx, 10)
	if err != nil || first.Contacts != 10 || first.Flags != 10 {
		t.Fatalf("limited run %+v %v, want 10 contacts and flags", first, err)
	}
	var (
		wg   sync.WaitGroup
		runs [4]AnswerRun
		errs [4]error
	)
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := NewStore(w.pool)
			s.Now = w.store.Now
			// Small runs in a loop, so the runners interleave, beside
			// unlimited runs (two workers each).
			limit := 7
			if i%2 == 1 {
				limit = 0
			}
			for {
				r, err := s.RunAnswerChecks(ctx, limit)
				if err != nil {
					errs[i] = err
					return
				}
				runs[i].Contacts += r.Contacts
				runs[i].Flags += r.Flags
				if r.Contacts == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	contacts, flags := first.Contacts, first.Flags
	for i := range runs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		contacts += runs[i].Contacts
		flags += runs[i].Flags
	}
	var checked, v16 int
	if err := w.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM contacts WHERE audited_at IS NOT NULL),
		(SELECT count(*) FROM flags WHERE rule = 'V16')`).Scan(&checked, &v16); err != nil {
		t.Fatal(err)
	}
	if contacts != 300 || flags != 300 || checked != 300 || v16 != 300 {
		t.Fatalf("checked %d (table %d), flags %d (table %d), want 300 each", contacts, checked, flags, v16)
	}
}
