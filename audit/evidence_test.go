package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// evConversation is one call of a job in the evidence tests.
type evConversation struct {
	channel, outcome string
	answers          []evAnswer
}

type evAnswer struct {
	question, event, fact, value, raw, prompt, kind string
}

// evSurvey stores a survey version to hang sessions on and returns its id.
func evSurvey(t testing.TB, s *Store) int64 {
	t.Helper()
	var id int64
	err := s.Pool.QueryRow(context.Background(), `
WITH sv AS (INSERT INTO surveys (name) VALUES ('repair-parts-verification') RETURNING id)
INSERT INTO survey_versions (survey_id, version, source, definition, sha256)
SELECT id, 1, 'name: repair-parts-verification', '{}', repeat('a', 64) FROM sv RETURNING id`).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// evConverse stores an attempt of the job at the time with its session and
// answers, as the dialer would, and returns the attempt id.
func evConverse(t testing.TB, s *Store, version, job int64, at time.Time, c evConversation) int64 {
	t.Helper()
	ctx := context.Background()
	var attempt, session int64
	err := s.Pool.QueryRow(ctx, `
INSERT INTO attempts (work_order_id, channel, to_e164, from_e164, state, outcome, answered_by, duration_s, recording_url,
                      recording_duration_s, created_at, placed_at, answered_at, ended_at)
SELECT w.id, $2, c.phone_e164, '+862038001234', 'ended', $3, CASE WHEN $2 = 'voice' THEN 'human' ELSE '' END, 95,
       CASE WHEN $2 = 'voice' THEN 'https://api.twilio.com/rec/RE1' END, CASE WHEN $2 = 'voice' THEN 80 END,
       $4::timestamptz, $4::timestamptz, $4::timestamptz + interval '5 seconds', $4::timestamptz + interval '100 seconds'
FROM work_orders w JOIN customers c ON c.id = w.customer_id WHERE w.id = $1 RETURNING id`, job, c.channel, c.outcome, at).Scan(&attempt)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Pool.QueryRow(ctx, `
INSERT INTO survey_sessions (attempt_id, work_order_id, survey_version_id, channel, lang, phone_e164, job, status, end_reason, opened_at, ended_at)
SELECT $1, $2, $3, $4, 'zh-CN', to_e164, '{}', 'ended', 'completed', $5::timestamptz, $5::timestamptz + interval '100 seconds' FROM attempts WHERE id = $1
RETURNING id`, attempt, job, version, c.channel, at).Scan(&session)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range c.answers {
		var value any
		if a.value != "" {
			value = a.value
		}
		_, err := s.Pool.Exec(ctx, `
INSERT INTO survey_answers (session_id, seq, survey_version_id, question, event, fact, value, raw, prompt, input_kind, received_at)
VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11)`, session, i, version, a.question, a.event, a.fact, value, a.raw, a.prompt, a.kind,
			at.Add(time.Duration(10*(i+1))*time.Second))
		if err != nil {
			t.Fatal(err)
		}
	}
	return attempt
}

// The evidence pack holds the job, its claim, every attempt and every answer
// in order, and the provider's record; the customer's number is in full only
// for the reviewer holding the lease and for an admin.
func TestEvidence(t *testing.T) {
	t.Parallel()
	w := newRVWorld(t, 2, []string{"V2"}, nil)
	s, ctx := w.s, context.Background()
	id := w.flags[0]
	f, err := s.Flag(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var phone string
	var job int64
	if err := s.Pool.QueryRow(ctx, `SELECT w.id, c.phone_e164 FROM work_orders w JOIN customers c ON c.id = w.customer_id
		WHERE w.external_id = $1`, f.JobExternalID).Scan(&job, &phone); err != nil {
		t.Fatal(err)
	}
	// The check saw the customer's number too.
	if _, err := s.Pool.Exec(ctx, `UPDATE flags SET evidence = jsonb_build_object('numbers', jsonb_build_array($2::text), 'note', 'shared with ' || $2::text) WHERE id = $1`, id, phone); err != nil {
		t.Fatal(err)
	}
	version := evSurvey(t, s)
	evConverse(t, s, version, job, rvStart.Add(-2*time.Hour), evConversation{channel: "voice", outcome: "no_answer"})
	evConverse(t, s, version, job, rvStart.Add(-time.Hour), evConversation{channel: "voice", outcome: "completed", answers: []evAnswer{
		{"intro", "answer", "", "", "1", "您好,这里是客服……继续请按1", "digits"},
		{"visit", "answer", "visit_confirmed", `{"kind":"tri","tri":"yes"}`, "1", "是否有师傅上门维修?是按1,否按2", "digits"},
		{"part_replaced", "invalid", "", "", "7", "是否为您更换了配件?是按1,否按2,不清楚按3", "digits"},
		{"part_replaced", "answer", "part_replaced", `{"kind":"tri","tri":"no"}`, "2", "是否为您更换了配件?是按1,否按2,不清楚按3", "digits"},
	}})
	// The provider's record: a statistic, a confirmed finding 10 days ago and one 100 days ago.
	if _, err := s.Pool.Exec(ctx, `
INSERT INTO provider_stats (provider_id, metric, n, value, lower, upper, reference, outlier, computed_at)
VALUES ($1, 'parts_per_repair', 120, 2.4, 2.1, 2.7, 1.3, true, $2);
`, f.ProviderID, rvStart); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool.Exec(ctx, `INSERT INTO provider_risk (provider_id, score, risky, computed_at) VALUES ($1, 0.75, true, $2)`, f.ProviderID, rvStart); err != nil {
		t.Fatal(err)
	}
	for _, age := range []int{10, 100} {
		if _, err := s.Pool.Exec(ctx, `
INSERT INTO flags (provider_id, rule, severity, priority, source, summary, currency, amount, state, decision, raised_at, due_at,
                   decided_by, decided_at, updated_at)
VALUES ($1, 'P1', 'high', 2, 'statistics', $2, 'CNY', 0, 'decided', 'confirmed', $3, $3, 'ana', $3, $3)`,
			f.ProviderID, fmt.Sprintf("%d days ago", age), rvStart.AddDate(0, 0, -age)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Claim(ctx, "ana", id); err != nil {
		t.Fatal(err)
	}
	masked := MaskPhone(phone)
	if want := phone[:6] + "****" + phone[len(phone)-4:]; masked != want {
		t.Fatalf("MaskPhone(%s) = %s, want %s", phone, masked, want)
	}
	for _, c := range []struct {
		name   string
		viewer Viewer
		phone  string
	}{
		{"holder", Viewer{Name: "ana"}, phone},
		{"admin", Viewer{Name: "root", Admin: true}, phone},
		{"another reviewer", Viewer{Name: "ben"}, masked},
		{"nobody", Viewer{}, masked},
	} {
		p, err := s.Evidence(ctx, id, c.viewer)
		if err != nil {
			t.Fatal(err)
		}
		full := c.phone == phone
		b, _ := json.Marshal(p)
		if p.FullNumbers != full || p.Job.Phone != c.phone || len(p.Attempts) != 2 || p.Attempts[0].To != c.phone || p.Attempts[1].To != c.phone {
			t.Errorf("%s: full %v phone %s attempts %+v", c.name, p.FullNumbers, p.Job.Phone, p.Attempts)
		}
		if strings.Contains(string(b), phone) != full {
			t.Errorf("%s: the full number in the pack is %v, want %v:\n%s", c.name, !full, full, b)
		}
		if !full && !strings.Contains(string(p.Evidence), masked) {
			t.Errorf("%s: evidence not masked: %s", c.name, p.Evidence)
		}
	}
	p, err := s.Evidence(ctx, id, Viewer{Name: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Flag.ID != id || p.Flag.Rule != "V2" || p.Job == nil || p.Job.ExternalID != f.JobExternalID || p.Job.ProviderCode != f.ProviderCode {
		t.Fatalf("pack of %+v", p.Flag)
	}
	var lines, parts int64
	if err := s.Pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(quantity * unit_cost * 100), 0)::bigint FROM claimed_parts WHERE work_order_id = $1`, job).Scan(&lines, &parts); err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, l := range p.Job.Lines {
		sum += int64(l.Amount)
	}
	if int64(len(p.Job.Lines)) != lines || sum != parts || p.Job.ClaimValue != p.Job.LabourAmount+p.Job.PartsAmount {
		t.Errorf("claim lines %d (sum %d), want %d (sum %d)", len(p.Job.Lines), sum, lines, parts)
	}
	a := p.Attempts[1]
	if p.Attempts[0].Outcome != "no_answer" || a.Outcome != "completed" || a.AnsweredBy != "human" || *a.DurationS != 95 ||
		a.RecordingURL != "https://api.twilio.com/rec/RE1" || *a.RecordingDurationS != 80 || !a.EndedAt.Equal(rvStart.Add(-time.Hour+100*time.Second)) {
		t.Errorf("attempt %+v", a)
	}
	if len(p.Sessions) != 2 || len(p.Sessions[0].Answers) != 0 || len(p.Sessions[1].Answers) != 4 {
		t.Fatalf("sessions %+v", p.Sessions)
	}
	got := p.Sessions[1].Answers
	if got[2].Event != "invalid" || got[2].Raw != "7" || got[3].Fact != "part_replaced" || got[3].Prompt != "是否为您更换了配件?是按1,否按2,不清楚按3" ||
		got[3].InputKind != "digits" || string(got[3].Value) != `{"tri": "no", "kind": "tri"}` || got[0].Seq != 0 || got[3].Seq != 3 {
		t.Errorf("answers %+v", got)
	}
	pr := p.Provider
	if len(pr.Stats) != 1 || pr.Stats[0].Metric != "parts_per_repair" || !pr.Stats[0].Outlier || pr.Risk == nil || *pr.Risk != 0.75 {
		t.Errorf("provider %+v", pr)
	}
	if len(pr.ConfirmedByRule) != 1 || pr.ConfirmedByRule["P1"] != 1 || len(pr.Recent) != 1 || pr.Recent[0].Summary != "10 days ago" {
		t.Errorf("recent findings %+v %+v", pr.ConfirmedByRule, pr.Recent)
	}
	// When the lease runs out the holder no longer sees the number.
	w.clock.Add(time.Duration(s.Config.Lease))
	if p, _ := s.Evidence(ctx, id, Viewer{Name: "ana"}); p.FullNumbers || p.Job.Phone != masked {
		t.Errorf("after the lease: full %v, phone %s", p.FullNumbers, p.Job.Phone)
	}
	if _, err := s.Evidence(ctx, 999999, Viewer{Admin: true}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown flag: %v", err)
	}
}

func TestMaskPhone(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"+8613812345678", "+86138****5678"},
		{"+12125551234", "+1212****1234"},
		{"+442071234567", "+44207****4567"},
		{"+8612345", "+86***45"}, // too short to keep a prefix: as workorders.MaskPhone
	} {
		if got := MaskPhone(c.in); got != c.want {
			t.Errorf("MaskPhone(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}
