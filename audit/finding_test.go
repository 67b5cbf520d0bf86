package audit

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/internal/testdb"
	"github.com/huifang/huifang/workorders"
	"github.com/huifang/huifang/workorders/sample"
)

// raiseTestNow is the fixed clock of the Raise tests.
var raiseTestNow = time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)

// raiseWorld loads n sample jobs and returns a store on them and the first
// job's id and provider.
func raiseWorld(t *testing.T, n int) (*Store, int64, int64) {
	t.Helper()
	ctx := context.Background()
	pool := testdb.New(t)
	ws := &workorders.Store{Pool: pool, Now: func() time.Time { return raiseTestNow }}
	src, err := ws.EnsureSource(ctx, "sample", "file", workorders.Defaults{Region: "CN"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sample.Load(ctx, ws, src, sample.Config{Seed: 3, Jobs: n, Now: raiseTestNow}); err != nil {
		t.Fatal(err)
	}
	var job, prov int64
	if err := pool.QueryRow(ctx, `SELECT id, provider_id FROM work_orders ORDER BY id LIMIT 1`).Scan(&job, &prov); err != nil {
		t.Fatal(err)
	}
	s := NewStore(pool)
	s.Now = func() time.Time { return raiseTestNow }
	return s, job, prov
}

func raiseIn(t *testing.T, s *Store, fs ...Finding) int {
	t.Helper()
	var n int
	err := pgx.BeginFunc(context.Background(), s.Pool, func(tx pgx.Tx) error {
		var err error
		n, err = s.Raise(context.Background(), tx, fs)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

type raisedFlag struct {
	Rule, Severity, State, Summary, Evidence, Source string
	Priority, Version                                int
	Due                                              time.Time
	Amount                                           float64
}

func raisedFlagOf(t *testing.T, pool *pgxpool.Pool, where string, args ...any) raisedFlag {
	t.Helper()
	var f raisedFlag
	err := pool.QueryRow(context.Background(), `SELECT rule, severity, state, summary, evidence::text, source, priority, version, due_at, amount::float8
		FROM flags WHERE `+where, args...).Scan(&f.Rule, &f.Severity, &f.State, &f.Summary, &f.Evidence, &f.Source, &f.Priority, &f.Version, &f.Due, &f.Amount)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestRaiseIsOnePerJobAndRule(t *testing.T) {
	t.Parallel()
	s, job, prov := raiseWorld(t, 5)
	ctx := context.Background()
	v1 := Finding{WorkOrderID: job, ProviderID: prov, Rule: "V1", Summary: "Customer says no technician visited",
		Evidence: map[string]any{"answer": "2"}, Currency: "CNY", ClaimValue: 32000, Amount: 32000}
	v5 := Finding{WorkOrderID: job, ProviderID: prov, Rule: "V5", Summary: "Not fixed", Currency: "CNY"}
	if n := raiseIn(t, s, v1, v5); n != 2 {
		t.Fatalf("first raise: %d new flags, want 2", n)
	}
	f := raisedFlagOf(t, s.Pool, `work_order_id = $1 AND rule = 'V1'`, job)
	if f.Severity != "critical" || f.Priority != 1 || f.State != "open" || f.Source != "answers" || f.Amount != 320 ||
		!f.Due.Equal(raiseTestNow.Add(4*time.Hour)) || f.Version != 1 {
		t.Errorf("V1 flag = %+v", f)
	}
	if g := raisedFlagOf(t, s.Pool, `work_order_id = $1 AND rule = 'V5'`, job); g.Severity != "medium" || !g.Due.Equal(raiseTestNow.Add(72*time.Hour)) {
		t.Errorf("V5 flag = %+v", g)
	}
	// The same findings again change nothing.
	if n := raiseIn(t, s, v1, v5); n != 0 {
		t.Errorf("second raise: %d new flags, want 0", n)
	}
	if f2 := raisedFlagOf(t, s.Pool, `work_order_id = $1 AND rule = 'V1'`, job); f2.Version != 1 {
		t.Errorf("an unchanged finding bumped the version to %d", f2.Version)
	}
	// New evidence refreshes an open flag…
	v1.Evidence = map[string]any{"answer": "2", "again": true}
	if n := raiseIn(t, s, v1); n != 0 {
		t.Errorf("refresh counted as new: %d", n)
	}
	if f3 := raisedFlagOf(t, s.Pool, `work_order_id = $1 AND rule = 'V1'`, job); f3.Version != 2 || f3.Evidence != `{"again": true, "answer": "2"}` {
		t.Errorf("refreshed flag = %+v", f3)
	}
	// …but not one a reviewer has decided.
	if _, err := s.Pool.Exec(ctx, `UPDATE flags SET state = 'decided', decision = 'cleared' WHERE rule = 'V1'`); err != nil {
		t.Fatal(err)
	}
	v1.Summary = "changed"
	raiseIn(t, s, v1)
	if f4 := raisedFlagOf(t, s.Pool, `work_order_id = $1 AND rule = 'V1'`, job); f4.Summary != "Customer says no technician visited" || f4.State != "decided" {
		t.Errorf("a decided flag changed: %+v", f4)
	}
	var logged, refreshed int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE action = 'flag.raise'), count(*) FILTER (WHERE action = 'flag.refresh')
		FROM audit_log WHERE subject_type = 'flag'`).Scan(&logged, &refreshed); err != nil {
		t.Fatal(err)
	}
	if logged != 2 || refreshed != 1 {
		t.Errorf("audit_log: %d raises and %d refreshes, want 2 and 1", logged, refreshed)
	}
}

func TestRaiseProviderFindings(t *testing.T) {
	t.Parallel()
	s, _, prov := raiseWorld(t, 5)
	ctx := context.Background()
	p1 := Finding{ProviderID: prov, Rule: "P1", Summary: "2.4 parts per repair against 1.3 for peers"}
	v16 := Finding{ProviderID: prov, Rule: "V16", Severity: High, Summary: "41% unreachable against a median of 12%"}
	if n := raiseIn(t, s, p1, v16); n != 2 {
		t.Fatalf("raised %d, want 2", n)
	}
	if f := raisedFlagOf(t, s.Pool, `work_order_id IS NULL AND rule = 'V16'`); f.Severity != "high" || f.Priority != 2 {
		t.Errorf("provider V16 = %+v, want high", f)
	}
	if n := raiseIn(t, s, p1); n != 0 {
		t.Errorf("an open provider flag was raised again: %d", n)
	}
	// Once decided, the next recomputation that still finds it opens a new one.
	if _, err := s.Pool.Exec(ctx, `UPDATE flags SET state = 'decided', decision = 'confirmed' WHERE rule = 'P1'`); err != nil {
		t.Fatal(err)
	}
	if n := raiseIn(t, s, p1); n != 1 {
		t.Errorf("after the decision: raised %d, want 1", n)
	}
}

func TestRaiseRefusesUnknownRules(t *testing.T) {
	t.Parallel()
	s, job, prov := raiseWorld(t, 1)
	err := pgx.BeginFunc(context.Background(), s.Pool, func(tx pgx.Tx) error {
		_, err := s.Raise(context.Background(), tx, []Finding{{WorkOrderID: job, ProviderID: prov, Rule: "V8", Summary: "x"}})
		return err
	})
	if err == nil {
		t.Fatal("V8 (not implemented) was raised")
	}
}
