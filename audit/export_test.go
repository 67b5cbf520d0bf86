package audit

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestCSVSafe(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"=SUM(A1:A2)", "'=SUM(A1:A2)"},
		{"+8613812345678", "'+8613812345678"},
		{"-2+3", "'-2+3"},
		{"@cmd", "'@cmd"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"a=b", "a=b"},
		{"120.00", "120.00"},
		{"", ""},
	} {
		if got := CSVSafe(c.in); got != c.want {
			t.Errorf("CSVSafe(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// The export takes the confirmed findings decided in [from, to): one decided
// at from is in, one decided at to is out, a cleared one never is.
func TestExportFindingsWindow(t *testing.T) {
	t.Parallel()
	w := newRVWorld(t, 4, []string{"V5"}, nil)
	s, ctx := w.s, context.Background()
	decide := func(id int64, d string) {
		t.Helper()
		if _, err := s.Claim(ctx, "ana", id); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Decide(ctx, "ana", id, Decision{Decision: d, Reason: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	decide(w.flags[0], Confirmed) // at rvStart
	w.clock.Add(time.Hour)
	decide(w.flags[1], Confirmed)
	decide(w.flags[2], Cleared)
	w.clock.Add(time.Hour)
	decide(w.flags[3], Confirmed) // at to: out
	from, to := rvStart, rvStart.Add(2*time.Hour)

	var buf bytes.Buffer
	if err := s.ExportFindings(ctx, &buf, FormatCSV, from, to, ""); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || !slices.Equal(recs[0], FindingColumns) {
		t.Fatalf("CSV: %q", recs)
	}
	for i, id := range w.flags[:2] {
		rec := recs[i+1]
		wantAt := rvStart.Add(time.Duration(i) * time.Hour).Format(time.RFC3339)
		if rec[0] != fmt.Sprint(id) || rec[10] != "V5" || rec[11] != "problem not fixed" || rec[12] != "medium" || rec[14] != "confirmed" ||
			rec[15] != "ana" || rec[16] != "" || rec[17] != wantAt || rec[7] != "100.00" || rec[8] != "100.00" || rec[9] != "CNY" {
			t.Errorf("row %d: %q", i, rec)
		}
	}
	buf.Reset()
	if err := s.ExportFindings(ctx, &buf, FormatJSON, from, to, w.providers[0]); err != nil {
		t.Fatal(err)
	}
	var objs []map[string]string
	if err := json.Unmarshal(buf.Bytes(), &objs); err != nil {
		t.Fatalf("%v\n%s", err, buf.Bytes())
	}
	want := 1
	if w.providers[1] == w.providers[0] {
		want = 2
	}
	if len(objs) != want || objs[0]["flag_id"] != fmt.Sprint(w.flags[0]) || objs[0]["provider_code"] != w.providers[0] {
		t.Errorf("one provider's JSON: %v", objs)
	}
	for _, c := range []struct {
		format   string
		from, to time.Time
		provider string
		field    string
	}{
		{"xml", from, to, "", "format"},
		{FormatCSV, to, from, "", "to"},
		{FormatCSV, from, from, "", "to"},
		{FormatJSON, from, to, "NO-SUCH", "provider"},
	} {
		buf.Reset()
		err := s.ExportFindings(ctx, &buf, c.format, c.from, c.to, c.provider)
		var ie *InputError
		if !errors.As(err, &ie) || ie.Field != c.field || buf.Len() != 0 {
			t.Errorf("%+v: %v (wrote %d bytes), want an input error on %s", c, err, buf.Len(), c.field)
		}
	}
}

// A scorecard on data whose answer is known: contacts reached and not,
// satisfaction and NPS answers (one retracted and answered again, one NPS of
// 0), "fixed?" answers with a cleared comeback flag, findings open and
// confirmed, and the provider's risk.
func TestScorecards(t *testing.T) {
	t.Parallel()
	w := newRVWorld(t, 40, []string{"V5"}, nil)
	s, ctx := w.s, context.Background()
	// The provider with the most jobs, and four of its jobs.
	counts := map[string]int{}
	for _, p := range w.providers {
		counts[p]++
	}
	prov := w.providers[0]
	for p, n := range counts {
		if n > counts[prov] || (n == counts[prov] && p < prov) {
			prov = p
		}
	}
	if counts[prov] < 4 {
		t.Fatalf("provider %s has %d jobs", prov, counts[prov])
	}
	jobs, err := pgx.CollectRows(mustQuery(t, s, `SELECT w.id FROM work_orders w JOIN providers p ON p.id = w.provider_id WHERE p.code = $1 ORDER BY w.id LIMIT 4`, prov), pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	var campaign int64
	if err := s.Pool.QueryRow(ctx, `INSERT INTO campaigns (name, source, definition) VALUES ('cn', '', '{}') RETURNING id`).Scan(&campaign); err != nil {
		t.Fatal(err)
	}
	contact := func(job int64, state string) int64 {
		var id int64
		err := s.Pool.QueryRow(ctx, `INSERT INTO contacts (campaign_id, work_order_id, phone_e164, zones, lang, state, channel, next_at, expires_at)
VALUES ($1, $2, '+8613800000000', '{Asia/Shanghai}', 'zh-CN', $3, 'voice', $4, $4) RETURNING id`, campaign, job, state, rvStart).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	version := evSurvey(t, s)
	ans := func(fact, value string) evAnswer { return evAnswer{fact, "answer", fact, value, "", "", "digits"} }
	talk := func(job, contactID int64, channel string, answers ...evAnswer) {
		a := evConverse(t, s, version, job, rvStart.Add(-time.Hour), evConversation{channel: channel, outcome: "completed", answers: answers})
		if _, err := s.Pool.Exec(ctx, `UPDATE attempts SET contact_id = $1, answered_at = CASE WHEN channel = 'sms' THEN NULL ELSE answered_at END WHERE id = $2`, contactID, a); err != nil {
			t.Fatal(err)
		}
	}
	// Job 1: reached by voice; satisfied, a promoter, fixed (its comeback flag was cleared).
	talk(jobs[0], contact(jobs[0], "done"), "voice",
		ans("csat", `{"kind":"int","int":5}`), ans("nps", `{"kind":"int","int":10}`), ans("fixed", `{"kind":"bool","bool":true}`))
	// Job 2: reached by SMS; said 4, took it back, then 2; NPS 0; not fixed.
	talk(jobs[1], contact(jobs[1], "done"), "sms",
		ans("csat", `{"kind":"int","int":4}`), evAnswer{"csat", "retract", "csat", "", "", "", "text"}, ans("csat", `{"kind":"int","int":2}`),
		ans("nps", `{"kind":"int"}`), ans("fixed", `{"kind":"bool"}`))
	// Job 3: done, never answered. Job 4: still queued.
	c3 := contact(jobs[2], "done")
	if _, err := s.Pool.Exec(ctx, `INSERT INTO attempts (work_order_id, contact_id, channel, to_e164, from_e164, state, outcome)
VALUES ($1, $2, 'voice', '+8613800000000', '+862038001234', 'ended', 'no_answer')`, jobs[2], c3); err != nil {
		t.Fatal(err)
	}
	contact(jobs[3], "queued")
	// A cleared comeback on job 1; job 2's V5 flag confirmed; the provider's risk.
	if _, err := s.Pool.Exec(ctx, `INSERT INTO flags (work_order_id, provider_id, rule, severity, priority, source, summary, state, decision,
raised_at, due_at, updated_at) SELECT id, provider_id, 'V15', 'medium', 3, 'intake', 'comeback', 'decided', 'cleared', $2, $2, $2 FROM work_orders WHERE id = $1`,
		jobs[0], rvStart); err != nil {
		t.Fatal(err)
	}
	var v5 int64
	if err := s.Pool.QueryRow(ctx, `SELECT id FROM flags WHERE work_order_id = $1 AND rule = 'V5'`, jobs[1]).Scan(&v5); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BulkDecide(ctx, "ana", []int64{v5}, Decision{Decision: Confirmed, Reason: "r"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool.Exec(ctx, `INSERT INTO provider_risk (provider_id, score, risky, computed_at) SELECT id, 0.4, false, $2 FROM providers WHERE code = $1`, prov, rvStart); err != nil {
		t.Fatal(err)
	}

	from, to := rvStart.AddDate(0, 0, -30), rvStart.Add(time.Hour)
	cards, err := s.Scorecards(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(cards) != len(counts) {
		t.Fatalf("%d cards, want %d", len(cards), len(counts))
	}
	i := slices.IndexFunc(cards, func(c Scorecard) bool { return c.ProviderCode == prov })
	c := cards[i]
	pct := func(v *float64) string {
		if v == nil {
			return "nil"
		}
		return fmt.Sprintf("%.2f", *v)
	}
	got := fmt.Sprintf("jobs %d contacts %d/%d/%d rate %s surveys %d csat %d %s nps %d %s fixed %d %s open %v confirmed %v",
		c.Jobs, c.Contacts, c.ContactsDone, c.ContactsReached, pct(c.ContactRate), c.CompletedSurveys, c.CSATAnswers, pct(c.CSAT),
		c.NPSAnswers, pct(c.NPS), c.FixedAnswers, pct(c.FirstTimeFix), c.OpenByRule, c.ConfirmedByRule)
	want := fmt.Sprintf("jobs %d contacts 4/3/2 rate 66.67 surveys 2 csat 2 50.00 nps 2 0.00 fixed 2 50.00 open map[V5:%d] confirmed map[V5:1]",
		counts[prov], counts[prov]-1)
	if got != want || c.Risk == nil || *c.Risk != 0.4 || c.Repairs+c.Installs != c.Jobs {
		t.Errorf("scorecard of %s:\n got %s (risk %v)\nwant %s", prov, got, c.Risk, want)
	}
	// Near miss: with the comeback flag not cleared, the fixed job is no first-time fix.
	if _, err := s.Pool.Exec(ctx, `UPDATE flags SET decision = 'confirmed' WHERE rule = 'V15'`); err != nil {
		t.Fatal(err)
	}
	cards, _ = s.Scorecards(ctx, from, to)
	if c := cards[i]; pct(c.FirstTimeFix) != "0.00" || c.ConfirmedByRule["V15"] != 1 {
		t.Errorf("with a confirmed comeback: first-time fix %s, confirmed %v", pct(c.FirstTimeFix), c.ConfirmedByRule)
	}
	for j, o := range cards {
		if j != i && (o.ContactRate != nil || o.CSAT != nil || o.NPS != nil || o.Risk != nil || o.OpenByRule["V5"] != counts[o.ProviderCode]) {
			t.Errorf("untouched provider %+v", o)
		}
	}
	var buf bytes.Buffer
	if err := s.ExportScorecards(ctx, &buf, FormatCSV, from, to); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	rec := recs[i+1]
	wantRec := []string{prov, rec[1], fmt.Sprint(counts[prov]), rec[3], rec[4], "4", "3", "2", "66.7", "2", "2", "50.0", "2", "0.0", "2", "0.0",
		fmt.Sprintf("V5:%d", counts[prov]-1), "V5:1; V15:1", "0.400"}
	if !slices.Equal(recs[0], ScorecardColumns) || !slices.Equal(rec, wantRec) {
		t.Errorf("CSV row\n %q\nwant\n %q", rec, wantRec)
	}
	buf.Reset()
	if err := s.ExportScorecards(ctx, &buf, FormatJSON, from, to); err != nil {
		t.Fatal(err)
	}
	var back []Scorecard
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || len(back) != len(cards) || back[i].ContactsReached != 2 {
		t.Errorf("JSON: %v, %d cards", err, len(back))
	}
}
