package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/internal/testdb"
	"github.com/huifang/huifang/workorders"
	"github.com/huifang/huifang/workorders/sample"
)

// rvStart is when the review tests' flags are raised.
var rvStart = time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)

// rvClock is a clock the tests move.
type rvClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *rvClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *rvClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type rvWorld struct {
	s     *Store
	clock *rvClock
	// flags by job in job order, then by rule in the order given.
	flags []int64
	// providers are the codes of the jobs' providers, in job order.
	providers []string
}

// newRVWorld loads jobs sample jobs and raises one flag for each job and
// rule, with the claim value (CNY fen) value(i) for the i-th flag.
func newRVWorld(t testing.TB, jobs int, rules []string, value func(i int) workorders.Money) *rvWorld {
	t.Helper()
	ctx := context.Background()
	pool := testdb.New(t)
	ws := &workorders.Store{Pool: pool, Now: func() time.Time { return rvStart }}
	src, err := ws.EnsureSource(ctx, "sample", "file", workorders.Defaults{Region: "CN"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sample.Load(ctx, ws, src, sample.Config{Seed: 11, Jobs: jobs, Now: rvStart}); err != nil {
		t.Fatal(err)
	}
	w := &rvWorld{clock: &rvClock{t: rvStart}}
	w.s = NewStore(pool)
	w.s.Now = w.clock.Now
	rows, err := pool.Query(ctx, `SELECT w.id, w.provider_id, p.code FROM work_orders w JOIN providers p ON p.id = w.provider_id ORDER BY w.id`)
	if err != nil {
		t.Fatal(err)
	}
	type job struct {
		id, prov int64
		code     string
	}
	var js []job
	var j job
	if _, err := pgx.ForEachRow(rows, []any{&j.id, &j.prov, &j.code}, func() error { js = append(js, j); return nil }); err != nil {
		t.Fatal(err)
	}
	var fs []Finding
	for _, j := range js {
		for _, r := range rules {
			i := len(fs)
			v := workorders.Money(10000)
			if value != nil {
				v = value(i)
			}
			fs = append(fs, Finding{WorkOrderID: j.id, ProviderID: j.prov, Rule: r, Summary: fmt.Sprintf("finding %d", i),
				Evidence: map[string]any{"i": i}, Currency: "CNY", ClaimValue: v, Amount: v})
		}
		w.providers = append(w.providers, j.code)
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { _, err := w.s.Raise(ctx, tx, fs); return err })
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(mustQuery(t, w.s, `
SELECT f.id FROM flags f JOIN work_orders w ON w.id = f.work_order_id
ORDER BY w.id, array_position($1::text[], f.rule)`, rules), pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	w.flags = ids
	return w
}

func mustQuery(t testing.TB, s *Store, sql string, args ...any) pgx.Rows {
	t.Helper()
	rows, err := s.Pool.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// rvState reads a flag's workflow columns as one string.
func rvState(t testing.TB, s *Store, id int64) string {
	t.Helper()
	var st string
	err := s.Pool.QueryRow(context.Background(), `
SELECT state || ' ' || coalesce(decision, '-') || ' ' || coalesce(assignee, '-') || ' ' || coalesce(decided_by, '-') || ' ' ||
       coalesce(signoff_by, '-') || ' ' || coalesce(reason, '')
FROM flags WHERE id = $1`, id).Scan(&st)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// rvLog lists the audit_log of a flag as "actor action" lines.
func rvLog(t testing.TB, s *Store, id int64) []string {
	t.Helper()
	out, err := pgx.CollectRows(mustQuery(t, s, `SELECT actor || ' ' || action FROM audit_log
WHERE subject_type = 'flag' AND subject_id = $1 AND action <> 'flag.raise' ORDER BY id`, fmt.Sprint(id)), pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rvErr names an error by the sentinel it wraps, for table comparisons.
func rvErr(err error) string {
	var ie *InputError
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrNotFound):
		return "not found"
	case errors.Is(err, ErrConflict):
		return "conflict"
	case errors.Is(err, ErrForbidden):
		return "forbidden"
	case errors.As(err, &ie):
		return "input " + ie.Field
	}
	return "error: " + err.Error()
}

// Every transition of one flag, and every refusal, in order: a table of
// steps where each step's result and the flag's state after it are exact.
func TestReviewTransitions(t *testing.T) {
	t.Parallel()
	w := newRVWorld(t, 2, []string{"V5"}, nil)
	s, ctx := w.s, context.Background()
	id, other := w.flags[0], w.flags[1]
	cleared := Decision{Decision: Cleared, Reason: "customer confirmed the repair on the callback"}
	steps := []struct {
		name  string
		do    func() error
		err   string
		state string
	}{
		{"decide before claiming", func() error { _, err := s.Decide(ctx, "ana", id, cleared); return err }, "conflict", "open - - - - "},
		{"release an open flag", func() error { _, err := s.Release(ctx, "ana", id); return err }, "conflict", "open - - - - "},
		{"claim", func() error { _, err := s.Claim(ctx, "ana", id); return err }, "ok", "claimed - ana - - "},
		{"claim again renews", func() error { _, err := s.Claim(ctx, "ana", id); return err }, "ok", "claimed - ana - - "},
		{"another claims", func() error { _, err := s.Claim(ctx, "ben", id); return err }, "conflict", "claimed - ana - - "},
		{"another decides", func() error { _, err := s.Decide(ctx, "ben", id, cleared); return err }, "conflict", "claimed - ana - - "},
		{"another renews", func() error { _, err := s.Renew(ctx, "ben", id); return err }, "conflict", "claimed - ana - - "},
		{"another releases", func() error { _, err := s.Release(ctx, "ben", id); return err }, "conflict", "claimed - ana - - "},
		{"renew", func() error { _, err := s.Renew(ctx, "ana", id); return err }, "ok", "claimed - ana - - "},
		{"decide without a reason", func() error {
			_, err := s.Decide(ctx, "ana", id, Decision{Decision: Cleared, Reason: "  "})
			return err
		}, "input reason", "claimed - ana - - "},
		{"decide with no such decision", func() error {
			_, err := s.Decide(ctx, "ana", id, Decision{Decision: "approved", Reason: "x"})
			return err
		}, "input decision", "claimed - ana - - "},
		{"amount on a cleared flag", func() error {
			m := workorders.Money(5)
			_, err := s.Decide(ctx, "ana", id, Decision{Decision: Cleared, Reason: "x", Amount: &m})
			return err
		}, "input amount", "claimed - ana - - "},
		{"stale version", func() error {
			d := cleared
			d.Version = 1
			_, err := s.Decide(ctx, "ana", id, d)
			return err
		}, "conflict", "claimed - ana - - "},
		{"decide on an unknown flag", func() error { _, err := s.Decide(ctx, "ana", 999999, cleared); return err }, "not found", "claimed - ana - - "},
		{"release", func() error { _, err := s.Release(ctx, "ana", id); return err }, "ok", "open - - - - "},
		{"another claims the released flag", func() error { _, err := s.Claim(ctx, "ben", id); return err }, "ok", "claimed - ben - - "},
		{"decide needs_info with the current version", func() error {
			f, err := s.Flag(ctx, id)
			if err != nil {
				return err
			}
			_, err = s.Decide(ctx, "ben", id, Decision{Decision: NeedsInfo, Reason: "call back in the evening", Version: f.Version})
			return err
		}, "ok", "decided needs_info ben ben - call back in the evening"},
		{"decide a decided flag", func() error { _, err := s.Decide(ctx, "ben", id, cleared); return err }, "conflict", "decided needs_info ben ben - call back in the evening"},
		{"claim a decided flag", func() error { _, err := s.Claim(ctx, "ana", id); return err }, "conflict", "decided needs_info ben ben - call back in the evening"},
		{"sign off a flag not waiting for it", func() error { _, err := s.SignOff(ctx, "ana", id, true, ""); return err }, "conflict", "decided needs_info ben ben - call back in the evening"},
		{"reopen without a reason", func() error { _, err := s.Reopen(ctx, "ana", id, ""); return err }, "input reason", "decided needs_info ben ben - call back in the evening"},
		{"reopen", func() error { _, err := s.Reopen(ctx, "ana", id, "customer reached"); return err }, "ok", "open - - - - customer reached"},
		{"reopen an open flag", func() error { _, err := s.Reopen(ctx, "ana", id, "again"); return err }, "conflict", "open - - - - customer reached"},
		{"claim and confirm", func() error {
			if _, err := s.Claim(ctx, "ana", id); err != nil {
				return err
			}
			m := workorders.Money(4200)
			_, err := s.Decide(ctx, "ana", id, Decision{Decision: Confirmed, Reason: "no visit", Note: "neighbour agrees", Amount: &m})
			return err
		}, "ok", "decided confirmed ana ana - no visit"},
	}
	for _, st := range steps {
		err := st.do()
		if got := rvErr(err); got != st.err {
			t.Fatalf("%s: %s (%v), want %s", st.name, got, err, st.err)
		}
		if got := rvState(t, s, id); got != st.state {
			t.Fatalf("%s: state %q, want %q", st.name, got, st.state)
		}
	}
	f, err := s.Flag(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if f.Amount != 4200 || f.Note != "neighbour agrees" || f.DecidedAt == nil || !f.DecidedAt.Equal(rvStart) {
		t.Errorf("confirmed flag: amount %d note %q decided %v", f.Amount, f.Note, f.DecidedAt)
	}
	// The other flag was never touched.
	if got := rvState(t, s, other); got != "open - - - - " {
		t.Errorf("other flag: %q", got)
	}
	want := []string{"ana flag.claim", "ana flag.claim", "ana flag.renew", "ana flag.release", "ben flag.claim",
		"ben flag.decide", "ana flag.reopen", "ana flag.claim", "ana flag.decide"}
	if got := rvLog(t, s, id); !slices.Equal(got, want) {
		t.Errorf("audit log:\n%q\nwant\n%q", got, want)
	}
	// The log holds the state before and after, and the decision.
	var details string
	if err := s.Pool.QueryRow(ctx, `SELECT details::text FROM audit_log WHERE subject_id = $1 AND action = 'flag.decide' ORDER BY id DESC LIMIT 1`,
		fmt.Sprint(id)).Scan(&details); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"decision": "confirmed"`, `"reason": "no visit"`, `"amount": "42.00"`, `"before": {`, `"state": "claimed"`, `"state": "decided"`} {
		if !strings.Contains(details, want) {
			t.Errorf("decide details %s lack %s", details, want)
		}
	}
}

// A confirmed finding on a claim at the threshold waits for a second
// reviewer; one a fen below is decided at once. The first reviewer cannot
// sign off their own decision, a rejection reopens the flag with its reason,
// and an approval decides it.
func TestReviewSignoff(t *testing.T) {
	t.Parallel()
	// CNY 2000.00 needs a sign-off: the first flag is at it, the second a fen below.
	w := newRVWorld(t, 2, []string{"V2"}, func(i int) workorders.Money { return []workorders.Money{200000, 199999}[i] })
	s, ctx := w.s, context.Background()
	at, below := w.flags[0], w.flags[1]
	confirm := Decision{Decision: Confirmed, Reason: "customer says no part was replaced"}
	for _, id := range []int64{at, below} {
		if _, err := s.Claim(ctx, "ana", id); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Decide(ctx, "ana", id, confirm); err != nil {
			t.Fatal(err)
		}
	}
	if got := rvState(t, s, below); got != "decided confirmed ana ana - customer says no part was replaced" {
		t.Errorf("below the threshold: %q", got)
	}
	if got := rvState(t, s, at); got != "signoff - ana ana - customer says no part was replaced" {
		t.Fatalf("at the threshold: %q", got)
	}
	if err := s.AddConflict(ctx, "admin", "cai", w.providers[0], "former employer"); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		who     string
		approve bool
		reason  string
		err     string
		state   string
	}{
		{"ana", true, "", "forbidden", "signoff - ana ana - customer says no part was replaced"},
		{"cai", true, "", "forbidden", "signoff - ana ana - customer says no part was replaced"},
		{"ben", false, "", "input reason", "signoff - ana ana - customer says no part was replaced"},
		{"ben", false, "the recording says the part was replaced", "ok", "open - - - - the recording says the part was replaced"},
		{"ben", true, "", "conflict", "open - - - - the recording says the part was replaced"},
	}
	for i, st := range steps {
		_, err := s.SignOff(ctx, st.who, at, st.approve, st.reason)
		if got := rvErr(err); got != st.err {
			t.Fatalf("step %d (%s): %s (%v), want %s", i, st.who, got, err, st.err)
		}
		if got := rvState(t, s, at); got != st.state {
			t.Fatalf("step %d (%s): state %q, want %q", i, st.who, got, st.state)
		}
	}
	// Decided again, then approved by a second reviewer.
	if _, err := s.Claim(ctx, "ana", at); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Decide(ctx, "ana", at, confirm); err != nil {
		t.Fatal(err)
	}
	w.clock.Add(time.Hour)
	f, err := s.SignOff(ctx, "ben", at, true, "")
	if err != nil {
		t.Fatal(err)
	}
	if f.State != StateDecided || f.Decision != Confirmed || f.DecidedBy != "ana" || f.SignoffBy != "ben" ||
		f.SignoffAt == nil || !f.SignoffAt.Equal(rvStart.Add(time.Hour)) {
		t.Errorf("signed off: %+v", f)
	}
	want := []string{"ana flag.claim", "ana flag.decide", "ben flag.signoff", "ana flag.claim", "ana flag.decide", "ben flag.signoff"}
	if got := rvLog(t, s, at); !slices.Equal(got, want) {
		t.Errorf("audit log %q, want %q", got, want)
	}
}

// A currency without a threshold never needs a sign-off.
func TestReviewSignoffOnlyForListedCurrencies(t *testing.T) {
	t.Parallel()
	w := newRVWorld(t, 1, []string{"V2"}, func(int) workorders.Money { return 99999999 })
	s, ctx := w.s, context.Background()
	s.Config.SignoffAbove = map[string]int64{"USD": 1}
	if _, err := s.Claim(ctx, "ana", w.flags[0]); err != nil {
		t.Fatal(err)
	}
	f, err := s.Decide(ctx, "ana", w.flags[0], Decision{Decision: Confirmed, Reason: "r"})
	if err != nil || f.State != StateDecided {
		t.Fatalf("CNY flag with only a USD threshold: %v %+v", err, f)
	}
}

// A reviewer conflicted with a provider can neither claim nor decide its
// flags, and ClaimNext passes them by.
func TestReviewConflicts(t *testing.T) {
	t.Parallel()
	w := newRVWorld(t, 30, []string{"V5"}, nil)
	s, ctx := w.s, context.Background()
	prov := w.providers[0]
	var theirs, others []int64
	for i, id := range w.flags {
		if w.providers[i] == prov {
			theirs = append(theirs, id)
		} else {
			others = append(others, id)
		}
	}
	if len(theirs) == 0 || len(others) == 0 {
		t.Fatalf("sample has %d flags of %s and %d of others", len(theirs), prov, len(others))
	}
	// ana holds one of the provider's flags before the conflict is known.
	if _, err := s.Claim(ctx, "ana", theirs[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.AddConflict(ctx, "admin", "ana", prov, "her brother works there"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddConflict(ctx, "admin", "ana", "NO-SUCH", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("conflict with an unknown provider: %v", err)
	}
	cs, err := s.Conflicts(ctx, "ana")
	if err != nil || len(cs) != 1 || cs[0].ProviderCode != prov || cs[0].Reason != "her brother works there" {
		t.Fatalf("conflicts: %+v %v", cs, err)
	}
	if _, err := s.Decide(ctx, "ana", theirs[0], Decision{Decision: Cleared, Reason: "r"}); !errors.Is(err, ErrForbidden) {
		t.Errorf("decide while conflicted: %v", err)
	}
	if len(theirs) > 1 {
		if _, err := s.Claim(ctx, "ana", theirs[1]); !errors.Is(err, ErrForbidden) {
			t.Errorf("claim while conflicted: %v", err)
		}
	}
	if _, err := s.BulkDecide(ctx, "ana", []int64{others[0], theirs[0]}, Decision{Decision: Cleared, Reason: "r"}); !errors.Is(err, ErrForbidden) {
		t.Errorf("bulk decide with a conflicted flag: %v", err)
	}
	// ClaimNext gives ana every other provider's flag and none of this one's.
	var got []int64
	for {
		f, err := s.ClaimNext(ctx, "ana", Filter{})
		if errors.Is(err, ErrNotFound) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.ProviderCode == prov {
			t.Fatalf("ClaimNext gave ana flag %d of %s", f.ID, prov)
		}
		got = append(got, f.ID)
	}
	sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
	want := slices.Clone(others)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("ana claimed %v, want %v", got, want)
	}
	if err := s.RemoveConflict(ctx, "admin", "ana", prov); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveConflict(ctx, "admin", "ana", prov); !errors.Is(err, ErrNotFound) {
		t.Errorf("removing it twice: %v", err)
	}
	if _, err := s.Decide(ctx, "ana", theirs[0], Decision{Decision: Cleared, Reason: "r"}); err != nil {
		t.Errorf("decide after the conflict is lifted: %v", err)
	}
	var logged int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE subject_type = 'reviewer' AND subject_id = 'ana'`).Scan(&logged); err != nil || logged != 2 {
		t.Errorf("conflict audit rows %d (%v), want 2", logged, err)
	}
}

// A lease that runs out frees the flag: a second before, another reviewer
// is refused; at the end, they take it over, and the first can no longer
// decide or renew.
func TestReviewLeaseExpiry(t *testing.T) {
	t.Parallel()
	w := newRVWorld(t, 1, []string{"V5", "V1"}, nil)
	s, ctx := w.s, context.Background()
	lease := time.Duration(s.Config.Lease)
	a, err := s.ClaimNext(ctx, "ana", Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Rule != "V1" || a.LeaseUntil == nil || !a.LeaseUntil.Equal(rvStart.Add(lease)) {
		t.Fatalf("first claim: rule %s lease %v (critical V1 first, lease %s)", a.Rule, a.LeaseUntil, lease)
	}
	w.clock.Add(lease - time.Second)
	if _, err := s.Claim(ctx, "ben", a.ID); !errors.Is(err, ErrConflict) {
		t.Fatalf("claim a second before the lease ends: %v", err)
	}
	if f, err := s.ClaimNext(ctx, "ben", Filter{}); err != nil || f.ID == a.ID {
		t.Fatalf("ClaimNext a second before: %+v %v, want the other flag", f.ID, err)
	}
	w.clock.Add(time.Second)
	b, err := s.Claim(ctx, "ben", a.ID)
	if err != nil {
		t.Fatalf("claim at the lease's end: %v", err)
	}
	if b.Assignee != "ben" || !b.LeaseUntil.Equal(w.clock.Now().Add(lease)) {
		t.Errorf("taken over: %+v", b)
	}
	if _, err := s.Decide(ctx, "ana", a.ID, Decision{Decision: Cleared, Reason: "r"}); !errors.Is(err, ErrConflict) {
		t.Errorf("first reviewer decides after losing the lease: %v", err)
	}
	if _, err := s.Renew(ctx, "ana", a.ID); !errors.Is(err, ErrConflict) {
		t.Errorf("first reviewer renews after losing the lease: %v", err)
	}
	// ben lets his lease run out too; nobody takes it; he cannot decide on it.
	w.clock.Add(lease)
	if _, err := s.Decide(ctx, "ben", a.ID, Decision{Decision: Cleared, Reason: "r"}); !errors.Is(err, ErrConflict) {
		t.Errorf("decide on an expired lease: %v", err)
	}
	if _, err := s.Renew(ctx, "ben", a.ID); !errors.Is(err, ErrConflict) {
		t.Errorf("renew an expired lease: %v", err)
	}
	// ClaimNext takes over an expired lease too.
	c, err := s.ClaimNext(ctx, "cai", Filter{Rules: []string{"V1"}})
	if err != nil || c.ID != a.ID || c.Assignee != "cai" {
		t.Fatalf("ClaimNext of an expired lease: %+v %v", c, err)
	}
	var took string
	if err := s.Pool.QueryRow(ctx, `SELECT details->>'took_over_from' FROM audit_log WHERE subject_id = $1 AND actor = 'cai'`,
		fmt.Sprint(a.ID)).Scan(&took); err != nil || took != "ben" {
		t.Errorf("took_over_from %q (%v), want ben", took, err)
	}
}

// Ten reviewers, each on its own connection, empty a queue of 300 flags with
// ClaimNext: every flag is claimed exactly once, by the reviewer the
// database and the audit log name.
func TestReviewClaimNextConcurrent(t *testing.T) {
	t.Parallel()
	w := newRVWorld(t, 100, []string{"V1", "V5", "V12"}, nil)
	ctx := context.Background()
	// A pool with a connection for every reviewer, so they really race.
	cfg := w.s.Pool.Config()
	cfg.MaxConns = 12
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s := &Store{Pool: pool, Config: w.s.Config, Now: w.s.Now}
	if len(w.flags) != 300 {
		t.Fatalf("%d flags, want 300", len(w.flags))
	}
	const reviewers = 10
	got := make([][]int64, reviewers)
	var wg sync.WaitGroup
	errs := make(chan error, reviewers)
	for r := range reviewers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("reviewer-%d", r)
			for {
				f, err := s.ClaimNext(ctx, name, Filter{})
				if errors.Is(err, ErrNotFound) {
					return
				}
				if err != nil {
					errs <- err
					return
				}
				if f.Assignee != name {
					errs <- fmt.Errorf("%s got flag %d assigned to %s", name, f.ID, f.Assignee)
					return
				}
				got[r] = append(got[r], f.ID)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	owner := map[int64]string{}
	busy := 0
	for r, ids := range got {
		if len(ids) > 0 {
			busy++
		}
		for _, id := range ids {
			if prev, dup := owner[id]; dup {
				t.Fatalf("flag %d claimed by %s and reviewer-%d", id, prev, r)
			}
			owner[id] = fmt.Sprintf("reviewer-%d", r)
		}
	}
	if len(owner) != 300 {
		t.Fatalf("%d flags claimed, want 300", len(owner))
	}
	t.Logf("claims per reviewer: %v", func() []int {
		var n []int
		for _, ids := range got {
			n = append(n, len(ids))
		}
		return n
	}())
	rows := mustQuery(t, s, `
SELECT f.id, f.assignee, count(l.id), min(l.actor), max(l.actor)
FROM flags f LEFT JOIN audit_log l ON l.subject_type = 'flag' AND l.subject_id = f.id::text AND l.action = 'flag.claim'
WHERE f.state = 'claimed' GROUP BY f.id, f.assignee`)
	n := 0
	var (
		id                 int64
		assignee, min, max string
		claims             int
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &assignee, &claims, &min, &max}, func() error {
		n++
		if claims != 1 || min != assignee || max != assignee || owner[id] != assignee {
			return fmt.Errorf("flag %d: assignee %s, %d claims logged by %s…%s, ClaimNext gave it to %s", id, assignee, claims, min, max, owner[id])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 300 {
		t.Fatalf("%d claimed flags in the database, want 300", n)
	}
}

// A bulk decision is all or nothing.
func TestReviewBulkDecide(t *testing.T) {
	t.Parallel()
	w := newRVWorld(t, 3, []string{"V5", "V12"}, nil)
	s, ctx := w.s, context.Background()
	s.Config.BulkMax = 4
	ids := w.flags // six flags
	d := Decision{Decision: Cleared, Reason: "calibration batch", Note: "n"}
	if _, err := s.Claim(ctx, "ana", ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx, "ben", ids[1]); err != nil {
		t.Fatal(err)
	}
	m := workorders.Money(1)
	refusals := []struct {
		name string
		ids  []int64
		d    Decision
		err  string
	}{
		{"held by another", []int64{ids[0], ids[2], ids[1]}, d, "conflict"},
		{"unknown flag", []int64{ids[0], 999999}, d, "not found"},
		{"listed twice", []int64{ids[0], ids[2], ids[0]}, d, "input ids/2"},
		{"over the maximum", ids[:5], d, "input ids"},
		{"none", nil, d, "input ids"},
		{"amount override", []int64{ids[0]}, Decision{Decision: Confirmed, Reason: "r", Amount: &m}, "input amount"},
		{"no reason", []int64{ids[0]}, Decision{Decision: Cleared}, "input reason"},
	}
	for _, rf := range refusals {
		_, err := s.BulkDecide(ctx, "ana", rf.ids, rf.d)
		if got := rvErr(err); got != rf.err {
			t.Errorf("%s: %s (%v), want %s", rf.name, got, err, rf.err)
		}
	}
	// Nothing changed.
	for i, id := range ids {
		want := "open - - - - "
		switch i {
		case 0:
			want = "claimed - ana - - "
		case 1:
			want = "claimed - ben - - "
		}
		if got := rvState(t, s, id); got != want {
			t.Errorf("flag %d after refusals: %q, want %q", i, got, want)
		}
	}
	out, err := s.BulkDecide(ctx, "ana", []int64{ids[3], ids[0], ids[2]}, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 || out[0].ID != ids[3] || out[1].ID != ids[0] || out[2].ID != ids[2] {
		t.Fatalf("bulk result %+v", out)
	}
	for _, i := range []int{0, 2, 3} {
		if got := rvState(t, s, ids[i]); got != "decided cleared ana ana - calibration batch" {
			t.Errorf("flag %d: %q", i, got)
		}
	}
	if got, want := rvLog(t, s, ids[3]), []string{"ana flag.claim", "ana flag.decide"}; !slices.Equal(got, want) {
		t.Errorf("open flag's log %q, want %q", got, want)
	}
	if got, want := rvLog(t, s, ids[0]), []string{"ana flag.claim", "ana flag.decide"}; !slices.Equal(got, want) {
		t.Errorf("held flag's log %q, want %q", got, want)
	}
}

// List filters, sorts both ways and pages by offset and by keyset alike.
func TestReviewList(t *testing.T) {
	t.Parallel()
	w := newRVWorld(t, 20, []string{"V1", "V5", "V10"}, func(i int) workorders.Money { return workorders.Money((i * 7919) % 100000) })
	s, ctx := w.s, context.Background()
	all, page, err := s.List(ctx, Filter{Limit: 500, Count: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 60 || page.Total != 60 || page.Next != "" {
		t.Fatalf("all: %d rows, total %d, next %q", len(all), page.Total, page.Next)
	}
	// The default order: severity, then due time, then id.
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		if a.Priority > b.Priority || (a.Priority == b.Priority && (a.DueAt.After(b.DueAt) || (a.DueAt.Equal(b.DueAt) && a.ID > b.ID))) {
			t.Fatalf("rows %d and %d out of order: %+v %+v", i-1, i, a, b)
		}
	}
	if all[0].Rule != "V1" || all[59].Rule != "V10" || all[0].RuleName != "visit or install denied" {
		t.Errorf("first %s (%s), last %s", all[0].Rule, all[0].RuleName, all[59].Rule)
	}
	// Keyset and offset paging, every sort, both directions, give the same rows as one page.
	for _, sortKey := range []string{"priority", "raised_at", "due_at", "claim_value"} {
		for _, desc := range []bool{false, true} {
			whole, _, err := s.List(ctx, Filter{Sort: sortKey, Desc: desc, Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			var byKeyset, byOffset []int64
			after := ""
			for range 20 {
				rows, p, err := s.List(ctx, Filter{Sort: sortKey, Desc: desc, Limit: 7, After: after})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rows {
					byKeyset = append(byKeyset, r.ID)
				}
				if p.Next == "" {
					break
				}
				after = p.Next
			}
			for off := 0; off < 60; off += 7 {
				rows, _, err := s.List(ctx, Filter{Sort: sortKey, Desc: desc, Limit: 7, Offset: off})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rows {
					byOffset = append(byOffset, r.ID)
				}
			}
			var want []int64
			for _, r := range whole {
				want = append(want, r.ID)
			}
			if !slices.Equal(byKeyset, want) || !slices.Equal(byOffset, want) {
				t.Errorf("sort %s desc %v:\n keyset %v\n offset %v\n want   %v", sortKey, desc, byKeyset, byOffset, want)
			}
			if sortKey == "claim_value" {
				for i := 1; i < len(whole); i++ {
					if (whole[i-1].ClaimValue > whole[i].ClaimValue) != desc && whole[i-1].ClaimValue != whole[i].ClaimValue {
						t.Fatalf("claim_value desc %v out of order at %d", desc, i)
					}
				}
			}
		}
	}
	// Filters, each with the count it must give.
	if _, err := s.Claim(ctx, "ana", all[0].ID); err != nil {
		t.Fatal(err)
	}
	job := all[5].JobExternalID
	prov := all[5].ProviderCode
	provFlags := 0
	for _, r := range all {
		if r.ProviderCode == prov {
			provFlags++
		}
	}
	w.clock.Add(5 * time.Hour) // past the critical flags' 4 h
	cases := []struct {
		name string
		f    Filter
		want int
	}{
		{"open", Filter{States: []string{"open"}}, 59},
		{"claimed", Filter{States: []string{"claimed"}}, 1},
		{"open or claimed", Filter{States: []string{"open", "claimed"}}, 60},
		{"rule", Filter{Rules: []string{"V5", "V10"}}, 40},
		{"severity", Filter{Severity: []Severity{Critical}}, 20},
		{"severity low", Filter{Severity: []Severity{Low}}, 20},
		{"provider", Filter{Provider: prov}, provFlags},
		{"assignee", Filter{Assignee: "ana"}, 1},
		{"assignee nobody", Filter{Assignee: "ben"}, 0},
		{"job", Filter{Job: job}, 3},
		{"text in summary", Filter{Text: "finding 1"}, 11}, // 1, 10–19
		{"text is literal", Filter{Text: "finding %"}, 0},
		{"overdue", Filter{Overdue: true}, 20},
		{"due before", Filter{DueBefore: rvStart.Add(72 * time.Hour)}, 20},
		{"due before, near miss", Filter{DueBefore: rvStart.Add(72*time.Hour + time.Microsecond)}, 40},
	}
	for _, c := range cases {
		c.f.Count, c.f.Limit = true, 500
		rows, p, err := s.List(ctx, c.f)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if len(rows) != c.want || p.Total != c.want {
			t.Errorf("%s: %d rows, total %d, want %d", c.name, len(rows), p.Total, c.want)
		}
	}
	bad := []struct {
		f     Filter
		field string
	}{
		{Filter{States: []string{"closed"}}, "state"},
		{Filter{Rules: []string{"V99"}}, "rule"},
		{Filter{Severity: []Severity{"urgent"}}, "severity"},
		{Filter{Sort: "name"}, "sort"},
		{Filter{Limit: 501}, "limit"},
		{Filter{Limit: -1}, "limit"},
		{Filter{Offset: -1}, "offset"},
		{Filter{After: "bm90IGEgY3Vyc29y"}, "after"},
		{Filter{After: "x", Offset: 3}, "after"},
	}
	for _, b := range bad {
		_, _, err := s.List(ctx, b.f)
		var ie *InputError
		if !errors.As(err, &ie) || ie.Field != b.field {
			t.Errorf("%+v: %v, want an input error on %s", b.f, err, b.field)
		}
	}
}
