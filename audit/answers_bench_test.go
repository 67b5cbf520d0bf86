package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/internal/testdb"
	"github.com/huifang/huifang/surveys"
)

// benchScenario is one way a finished contact went: the survey run, played
// through the real engine, and the rule it should raise.
type benchScenario struct {
	name    string
	weight  int // per 100 contacts
	channel surveys.Channel
	inputs  []surveys.Input // nil: nobody answered
	rule    string          // the flag it raises, or ""
}

// benchScenarios is a realistic mix: 15% answer mismatches, 10% never
// reached, 4% unsure of the visit, the rest honest.
var benchScenarios = []benchScenario{
	{"honest voice", 42, surveys.Voice, digits("1", "1", "1", "1", "1", "1", "5"), ""},
	{"honest sms", 29, surveys.SMS, texts("1", "1", "1", "0", "1", "5"), ""},
	{"unsure of the visit", 4, surveys.Voice, digits("1", "3", "1", "1", "1", "1", "4"), ""},
	{"no visit", 3, surveys.Voice, digits("1", "2", "1"), "V1"},
	{"no part replaced", 3, surveys.SMS, texts("1", "2", "0", "1", "4"), "V2"},
	{"another part", 3, surveys.Voice, digits("1", "1", "1", "2", "1", "1", "3"), "V3"},
	{"charged", 3, surveys.Voice, digits("1", "1", "1", "1", "2", "50", "1", "2"), "V4"},
	{"not fixed", 3, surveys.SMS, texts("1", "1", "1", "0", "2", "2"), "V5"},
	{"never answered", 10, surveys.Voice, nil, "V16"},
}

func digits(s ...string) []surveys.Input {
	in := make([]surveys.Input, len(s))
	for i, k := range s {
		in[i] = surveys.Input{Kind: surveys.InputDigits, Text: k}
	}
	return in
}

func texts(s ...string) []surveys.Input {
	in := make([]surveys.Input, len(s))
	for i, k := range s {
		in[i] = surveys.Input{Kind: surveys.InputText, Text: k}
	}
	return in
}

// seedFinishedContacts writes n finished contacts of n repairs (one claimed
// part each) with their attempts, survey sessions and answer rows, in a mix
// of benchScenarios, with set-based SQL. It returns how many flags of each
// rule the answer checks should raise.
func seedFinishedContacts(tb testing.TB, ctx context.Context, pool *pgxpool.Pool, n int) map[string]int {
	tb.Helper()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	def, err := surveys.ShippedScript("repair-parts-verification")
	if err != nil {
		tb.Fatal(err)
	}
	pub, err := surveys.NewStore(pool).Publish(ctx, def)
	if err != nil {
		tb.Fatal(err)
	}
	job := &surveys.Job{ID: "bench", Kind: surveys.JobRepair, Brand: "Huifang", ProductCategory: "water_heater",
		ProductNameEN: "water heater", ProductNameZH: "热水器", Model: "M1", CompletedAt: now.Add(-24 * time.Hour),
		TimeZone: "Asia/Shanghai", Currency: "CNY", Lang: "zh-CN",
		Parts: []surveys.Part{{Code: "HE-01", NameEN: "heating element", NameZH: "加热管", Quantity: 1, UnitCost: 8000}}}

	// Play each scenario through the engine once; the seed copies it.
	want := map[string]int{}
	var slots []int32
	tx, err := pool.Begin(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	exec := func(sql string, args ...any) {
		tb.Helper()
		if _, err := tx.Exec(ctx, sql, args...); err != nil {
			tb.Fatalf("%v\n%s", err, sql)
		}
	}
	// The seed writes only consistent rows; skipping the foreign-key
	// triggers makes it several times faster.
	exec(`SET LOCAL session_replication_role = replica`)
	exec(`CREATE TABLE bench_scenario (id int PRIMARY KEY, channel text, contact_outcome text, attempt_outcome text,
		attempts int, entries jsonb, n_entries int)`)
	exec(`CREATE TABLE bench_answer (scenario int, seq int, question text, part text, event text, fact text, value jsonb,
		raw text, prompt text, input_kind text)`)
	exec(`CREATE TABLE bench_slot (slot int PRIMARY KEY, scenario int)`)
	var answerRows [][]any
	for id, sc := range benchScenarios {
		for range sc.weight {
			slots = append(slots, int32(id))
		}
		if sc.rule != "" {
			want[sc.rule] += sc.weight
		}
		if sc.inputs == nil {
			exec(`INSERT INTO bench_scenario VALUES ($1, 'voice', 'exhausted', 'no_answer', 3, NULL, 0)`, id)
			continue
		}
		st, err := def.Start(job, sc.channel, "")
		if err != nil {
			tb.Fatal(err)
		}
		step, err := def.Next(job, &st)
		if err != nil {
			tb.Fatal(err)
		}
		seq := 0
		for _, in := range sc.inputs {
			o, err := def.Apply(job, st, in)
			if err != nil {
				tb.Fatalf("%s: %v", sc.name, err)
			}
			for _, e := range o.Added {
				var v []byte
				if e.Value != nil {
					v, _ = json.Marshal(e.Value)
				}
				answerRows = append(answerRows, []any{int32(id), int32(seq), e.Question, e.Part, string(e.Event), e.Fact, v, e.Raw, step.Prompt, string(in.Kind)})
				seq++
			}
			st, step = o.State, o.Step
		}
		if _, ended := def.Ended(job, &st); !ended {
			tb.Fatalf("scenario %s does not end the survey", sc.name)
		}
		entries, _ := json.Marshal(st.Entries)
		exec(`INSERT INTO bench_scenario VALUES ($1, $2, 'completed', 'completed', 1, $3, $4)`, id, string(sc.channel), entries, len(st.Entries))
	}
	if len(slots) != 100 {
		tb.Fatalf("scenario weights add up to %d, not 100", len(slots))
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"bench_answer"},
		[]string{"scenario", "seq", "question", "part", "event", "fact", "value", "raw", "prompt", "input_kind"},
		pgx.CopyFromRows(answerRows)); err != nil {
		tb.Fatal(err)
	}
	exec(`INSERT INTO bench_slot SELECT g - 1, ($1::int[])[g] FROM generate_series(1, 100) g`, slots)

	// The jobs: 50 providers, a customer and a repair (labour 120, one part 80) per contact.
	exec(`INSERT INTO intake_sources (name, kind) VALUES ('bench', 'file')`)
	exec(`INSERT INTO providers (code, name) SELECT 'P' || g, 'Provider ' || g FROM generate_series(1, 50) g`)
	exec(`INSERT INTO customers (source_id, external_id, phone_e164, tz, lang)
		SELECT s.id, 'C' || g, '+86138' || lpad(g::text, 8, '0'), 'Asia/Shanghai', 'zh-CN'
		FROM intake_sources s, generate_series(1, $1) g`, n)
	exec(`INSERT INTO work_orders (source_id, external_id, kind, completed_at, customer_id, provider_id, brand, product_category,
		product_model, warranty_status, currency, labour_amount, parts_amount)
		SELECT c.source_id, 'W' || c.id, 'repair', $1, c.id, p.id, 'Huifang', 'water_heater', 'M1', 'in_warranty', 'CNY', 120, 80
		FROM customers c JOIN providers p ON p.code = 'P' || (c.id % 50 + 1)`, job.CompletedAt)
	exec(`INSERT INTO claimed_parts (work_order_id, line, part_code, name_en, name_zh, quantity, unit_cost)
		SELECT id, 1, 'HE-01', 'heating element', '加热管', 1, 80 FROM work_orders`)
	var campaign int64
	if err := tx.QueryRow(ctx, `INSERT INTO campaigns (name, state, source, definition, survey_version_id)
		VALUES ('bench', 'active', 'name: bench', '{}', $1) RETURNING id`, pub.ID).Scan(&campaign); err != nil {
		tb.Fatal(err)
	}
	// Contacts, their attempts, sessions and answers: the scenario of a
	// contact is its slot, work order id mod 100.
	exec(`INSERT INTO contacts (campaign_id, work_order_id, phone_e164, zones, lang, state, outcome, channel, attempts,
		next_at, expires_at, ended_at)
		SELECT $1, w.id, c.phone_e164, ARRAY[c.tz], c.lang, 'done', sc.contact_outcome, sc.channel, sc.attempts, $2, $2, $2
		FROM work_orders w JOIN customers c ON c.id = w.customer_id
		JOIN bench_slot sl ON sl.slot = w.id % 100 JOIN bench_scenario sc ON sc.id = sl.scenario`, campaign, now)
	exec(`INSERT INTO attempts (work_order_id, contact_id, channel, to_e164, from_e164, state, outcome, duration_s, created_at, ended_at)
		SELECT k.work_order_id, k.id, sc.channel, k.phone_e164, '+8610000000', 'ended', sc.attempt_outcome, 60,
		       $1::timestamptz + make_interval(mins => a), $1::timestamptz + make_interval(mins => a)
		FROM contacts k JOIN bench_slot sl ON sl.slot = k.work_order_id % 100 JOIN bench_scenario sc ON sc.id = sl.scenario,
		     generate_series(1, sc.attempts) a`, now.Add(-3*time.Hour))
	exec(`INSERT INTO survey_sessions (attempt_id, work_order_id, survey_version_id, channel, lang, phone_e164, job, entries,
		n_entries, status, end_reason, opened_at, updated_at, ended_at)
		SELECT a.id, a.work_order_id, $1, sc.channel, 'zh-CN', a.to_e164, '{}', sc.entries, sc.n_entries, 'ended', 'completed',
		       a.created_at, a.created_at, a.created_at
		FROM attempts a JOIN bench_slot sl ON sl.slot = a.work_order_id % 100 JOIN bench_scenario sc ON sc.id = sl.scenario
		WHERE sc.entries IS NOT NULL`, pub.ID)
	exec(`INSERT INTO survey_answers (session_id, seq, survey_version_id, question, part, event, fact, value, raw, prompt,
		input_kind, received_at)
		SELECT s.id, b.seq, s.survey_version_id, b.question, b.part, b.event, b.fact, b.value, b.raw, b.prompt, b.input_kind,
		       s.opened_at + make_interval(secs => b.seq * 5)
		FROM survey_sessions s JOIN bench_slot sl ON sl.slot = s.work_order_id % 100 JOIN bench_answer b ON b.scenario = sl.scenario`)
	exec(`DROP TABLE bench_scenario, bench_answer, bench_slot`)
	if err := tx.Commit(ctx); err != nil {
		tb.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `ANALYZE`); err != nil {
		tb.Fatal(err)
	}
	for r := range want {
		want[r] = want[r] * n / 100
	}
	return want
}

// BenchmarkAnswerChecks100k times the answer checks of 100,000 finished
// contacts (sessions and answers written as the dialer writes them, 15% of
// them with a mismatch and 10% never answered).
func BenchmarkAnswerChecks100k(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	pool := testdb.New(b)
	start := time.Now()
	want := seedFinishedContacts(b, ctx, pool, n)
	b.Logf("seeded %d finished contacts in %s", n, time.Since(start).Round(time.Millisecond))
	s := NewStore(pool)
	s.Now = func() time.Time { return time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC) }
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i > 0 {
			b.StopTimer()
			if _, err := pool.Exec(ctx, `DELETE FROM flags; UPDATE contacts SET audited_at = NULL`); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		run, err := s.RunAnswerChecks(ctx, 0)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		total := 0
		for _, k := range want {
			total += k
		}
		if run.Contacts != n || run.Flags != total || fmt.Sprint(run.Findings) != fmt.Sprint(want) || run.NotSure != 4*n/100 {
			b.Fatalf("run %+v, want %d contacts, %d flags %v, %d not sure", run, n, total, want, 4*n/100)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "contacts/s")
	// A run with nothing new, as every instance makes every few seconds
	// once the history is checked: what finding nothing costs.
	// The first such run after a batch also meets the index entries the
	// batch left dead (until autovacuum removes them); the next does not.
	b.StopTimer()
	for _, unit := range []string{"idle-run-ms", "idle-rerun-ms"} {
		t0 := time.Now()
		run, err := s.RunAnswerChecks(ctx, 0)
		if err != nil || run.Contacts != 0 {
			b.Fatalf("a run with nothing new: %+v, %v", run, err)
		}
		b.ReportMetric(float64(time.Since(t0).Microseconds())/1000, unit)
	}
}
