package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/huifang/huifang/workorders"
)

// Viewer is who looks at an evidence pack. Phone numbers are shown in full
// only to an admin and to the reviewer holding the flag's lease: a reviewer
// calling the customer back sees the number of the flag they work, and no
// other.
type Viewer struct {
	Name  string
	Admin bool
}

// Pack is everything a reviewer needs to decide a flag.
type Pack struct {
	Flag FlagRow `json:"flag"`
	// Evidence is what the check saw, as it stored it.
	Evidence json.RawMessage `json:"evidence"`
	// FullNumbers says whether the pack's phone numbers are unmasked.
	FullNumbers bool          `json:"full_numbers"`
	Job         *PackJob      `json:"job,omitempty"` // nil for a flag about a provider
	Attempts    []PackAttempt `json:"attempts"`
	Sessions    []PackSession `json:"sessions"`
	Provider    PackProvider  `json:"provider"`
}

// PackJob is the job and its claim.
type PackJob struct {
	ExternalID      string           `json:"external_id"`
	Kind            string           `json:"kind"`
	CompletedAt     time.Time        `json:"completed_at"`
	Brand           string           `json:"brand"`
	ProductCategory string           `json:"product_category"`
	ProductModel    string           `json:"product_model"`
	SerialNumber    string           `json:"serial_number"`
	WarrantyStatus  string           `json:"warranty_status"`
	WarrantyEndsOn  *time.Time       `json:"warranty_ends_on,omitempty"`
	DeliveredOn     *time.Time       `json:"delivered_on,omitempty"`
	Fault           string           `json:"fault"`
	ProviderCode    string           `json:"provider_code"`
	ProviderName    string           `json:"provider_name"`
	Technician      string           `json:"technician"`
	CustomerName    string           `json:"customer_name"`
	Region          string           `json:"region"`
	Phone           string           `json:"phone"`
	Currency        string           `json:"currency"`
	LabourMinutes   *int             `json:"labour_minutes,omitempty"`
	LabourAmount    workorders.Money `json:"labour_amount"`
	PartsAmount     workorders.Money `json:"parts_amount"`
	ClaimValue      workorders.Money `json:"claim_value"`
	CustomerPaid    workorders.Money `json:"customer_paid"`
	Lines           []PackLine       `json:"claim_lines"`
}

// PackLine is one claimed part.
type PackLine struct {
	Line     int              `json:"line"`
	PartCode string           `json:"part_code"`
	NameEN   string           `json:"name_en"`
	NameZH   string           `json:"name_zh"`
	Quantity int              `json:"quantity"`
	UnitCost workorders.Money `json:"unit_cost"`
	Amount   workorders.Money `json:"amount"`
}

// PackAttempt is one call or SMS survey of the job.
type PackAttempt struct {
	ID                 int64      `json:"id"`
	Channel            string     `json:"channel"`
	To                 string     `json:"to"`
	State              string     `json:"state"`
	Outcome            string     `json:"outcome,omitempty"`
	AnsweredBy         string     `json:"answered_by,omitempty"`
	ErrorCode          *int       `json:"error_code,omitempty"`
	ErrorMessage       string     `json:"error_message,omitempty"`
	CreatedAt          time.Time  `json:"created_at"`
	PlacedAt           *time.Time `json:"placed_at,omitempty"`
	AnsweredAt         *time.Time `json:"answered_at,omitempty"`
	EndedAt            *time.Time `json:"ended_at,omitempty"`
	DurationS          *int       `json:"duration_s,omitempty"`
	RecordingURL       string     `json:"recording_url,omitempty"`
	RecordingDurationS *int       `json:"recording_duration_s,omitempty"`
}

// PackSession is one survey run of the job with its answers in order.
type PackSession struct {
	ID        int64        `json:"id"`
	AttemptID int64        `json:"attempt_id"`
	Channel   string       `json:"channel"`
	Lang      string       `json:"lang"`
	Status    string       `json:"status"`
	EndReason string       `json:"end_reason,omitempty"`
	OpenedAt  time.Time    `json:"opened_at"`
	EndedAt   *time.Time   `json:"ended_at,omitempty"`
	Answers   []PackAnswer `json:"answers"`
}

// PackAnswer is one entry of a survey: the exact words heard or read, what
// came back, and what the engine made of it.
type PackAnswer struct {
	Seq        int             `json:"seq"`
	Question   string          `json:"question"`
	Part       string          `json:"part,omitempty"`
	Event      string          `json:"event"`
	Fact       string          `json:"fact,omitempty"`
	Value      json.RawMessage `json:"value,omitempty"`
	Prompt     string          `json:"prompt"`
	Raw        string          `json:"raw"`
	InputKind  string          `json:"input_kind,omitempty"`
	Reason     string          `json:"reason,omitempty"`
	ReceivedAt time.Time       `json:"received_at"`
}

// PackProvider is the provider's record: its statistics and its recent
// confirmed findings.
type PackProvider struct {
	Code  string     `json:"code"`
	Name  string     `json:"name"`
	Stats []PackStat `json:"stats"`
	// Risk is the provider's last computed risk score, if any.
	Risk *float64 `json:"risk,omitempty"`
	// ConfirmedByRule counts confirmed findings decided in the last
	// RecentDays; Recent are the last RecentFindings of them.
	ConfirmedByRule map[string]int `json:"confirmed_by_rule"`
	Recent          []PackFinding  `json:"recent_confirmed"`
}

// PackStat is one provider_stats row.
type PackStat struct {
	Metric     string    `json:"metric"`
	N          int       `json:"n"`
	Value      float64   `json:"value"`
	Lower      float64   `json:"lower"`
	Upper      float64   `json:"upper"`
	Reference  float64   `json:"reference"`
	Outlier    bool      `json:"outlier"`
	ComputedAt time.Time `json:"computed_at"`
}

// PackFinding is a confirmed finding against the provider.
type PackFinding struct {
	FlagID        int64            `json:"flag_id"`
	Rule          string           `json:"rule"`
	JobExternalID string           `json:"job_external_id,omitempty"`
	Summary       string           `json:"summary"`
	Currency      string           `json:"currency"`
	Amount        workorders.Money `json:"amount"`
	DecidedAt     time.Time        `json:"decided_at"`
}

// How far back a pack looks for the provider's confirmed findings, and how
// many it lists.
const (
	RecentDays     = 90
	RecentFindings = 10
)

// Evidence assembles the evidence pack of a flag for the viewer.
func (s *Store) Evidence(ctx context.Context, flagID int64, viewer Viewer) (Pack, error) {
	var p Pack
	tx, err := s.Pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return p, err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck
	now := s.now()
	f, err := s.flagTx(ctx, tx, flagID)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, fmt.Errorf("flag %d: %w", flagID, ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("evidence: %w", err)
	}
	p.Flag = f
	p.FullNumbers = viewer.Admin || (viewer.Name != "" && f.State == StateClaimed && f.Assignee == viewer.Name &&
		f.LeaseUntil != nil && f.LeaseUntil.After(now))
	phone := func(n string) string {
		if p.FullNumbers || n == "" {
			return n
		}
		return MaskPhone(n)
	}
	var ev []byte
	if err := tx.QueryRow(ctx, `SELECT evidence FROM flags WHERE id = $1`, flagID).Scan(&ev); err != nil {
		return p, fmt.Errorf("evidence: %w", err)
	}
	p.Evidence = ev
	if !p.FullNumbers {
		p.Evidence = maskEvidence(ev)
	}
	if f.WorkOrderID != 0 {
		if err := s.packJob(ctx, tx, &p, phone); err != nil {
			return p, fmt.Errorf("evidence: job: %w", err)
		}
	}
	p.Attempts, p.Sessions = []PackAttempt{}, []PackSession{}
	if f.WorkOrderID != 0 {
		if err := packConversations(ctx, tx, &p, phone); err != nil {
			return p, fmt.Errorf("evidence: conversations: %w", err)
		}
	}
	if err := packProvider(ctx, tx, &p, now); err != nil {
		return p, fmt.Errorf("evidence: provider: %w", err)
	}
	return p, nil
}

func (s *Store) packJob(ctx context.Context, tx pgx.Tx, p *Pack, phone func(string) string) error {
	j := &PackJob{}
	err := tx.QueryRow(ctx, `
SELECT w.external_id, w.kind, w.completed_at, w.brand, w.product_category, w.product_model, w.serial_number,
       w.warranty_status, w.warranty_ends_on::timestamptz, w.delivered_on::timestamptz, w.fault, p.code, p.name,
       w.technician, c.name, c.region, c.phone_e164, w.currency, w.labour_minutes,
       (w.labour_amount * 100)::bigint, (w.parts_amount * 100)::bigint, (w.customer_paid * 100)::bigint
FROM work_orders w JOIN providers p ON p.id = w.provider_id JOIN customers c ON c.id = w.customer_id
WHERE w.id = $1`, p.Flag.WorkOrderID).Scan(&j.ExternalID, &j.Kind, &j.CompletedAt, &j.Brand, &j.ProductCategory,
		&j.ProductModel, &j.SerialNumber, &j.WarrantyStatus, &j.WarrantyEndsOn, &j.DeliveredOn, &j.Fault, &j.ProviderCode,
		&j.ProviderName, &j.Technician, &j.CustomerName, &j.Region, &j.Phone, &j.Currency, &j.LabourMinutes,
		&j.LabourAmount, &j.PartsAmount, &j.CustomerPaid)
	if err != nil {
		return err
	}
	j.Phone = phone(j.Phone)
	j.ClaimValue = j.LabourAmount + j.PartsAmount
	rows, err := tx.Query(ctx, `
SELECT line, part_code, name_en, name_zh, quantity, (unit_cost * 100)::bigint
FROM claimed_parts WHERE work_order_id = $1 ORDER BY line`, p.Flag.WorkOrderID)
	if err != nil {
		return err
	}
	j.Lines = []PackLine{}
	var l PackLine
	_, err = pgx.ForEachRow(rows, []any{&l.Line, &l.PartCode, &l.NameEN, &l.NameZH, &l.Quantity, &l.UnitCost}, func() error {
		l.Amount = workorders.Money(l.Quantity) * l.UnitCost
		j.Lines = append(j.Lines, l)
		return nil
	})
	p.Job = j
	return err
}

func packConversations(ctx context.Context, tx pgx.Tx, p *Pack, phone func(string) string) error {
	maskRaw := func(raw string) string {
		if p.FullNumbers {
			return raw
		}
		return digitRun.ReplaceAllStringFunc(raw, workorders.MaskPhone)
	}
	rows, err := tx.Query(ctx, `
SELECT id, channel, to_e164, state, coalesce(outcome, ''), answered_by, error_code, error_message, created_at,
       placed_at, answered_at, ended_at, duration_s, coalesce(recording_url, ''), recording_duration_s
FROM attempts WHERE work_order_id = $1 ORDER BY created_at, id`, p.Flag.WorkOrderID)
	if err != nil {
		return err
	}
	var a PackAttempt
	_, err = pgx.ForEachRow(rows, []any{&a.ID, &a.Channel, &a.To, &a.State, &a.Outcome, &a.AnsweredBy, &a.ErrorCode,
		&a.ErrorMessage, &a.CreatedAt, &a.PlacedAt, &a.AnsweredAt, &a.EndedAt, &a.DurationS, &a.RecordingURL,
		&a.RecordingDurationS}, func() error {
		a.To = phone(a.To)
		p.Attempts = append(p.Attempts, a)
		return nil
	})
	if err != nil {
		return err
	}
	rows, err = tx.Query(ctx, `
SELECT s.id, s.attempt_id, s.channel, s.lang, s.status, coalesce(s.end_reason, ''), s.opened_at, s.ended_at,
       a.seq, a.question, a.part, a.event, a.fact, a.value, a.prompt, a.raw, a.input_kind, a.reason, a.received_at
FROM survey_sessions s LEFT JOIN survey_answers a ON a.session_id = s.id
WHERE s.work_order_id = $1
ORDER BY s.opened_at, s.id, a.seq`, p.Flag.WorkOrderID)
	if err != nil {
		return err
	}
	var (
		ss                                                     PackSession
		seq                                                    *int
		question, part, event, fact, prompt, raw, kind, reason *string
		value                                                  []byte
		received                                               *time.Time
	)
	_, err = pgx.ForEachRow(rows, []any{&ss.ID, &ss.AttemptID, &ss.Channel, &ss.Lang, &ss.Status, &ss.EndReason,
		&ss.OpenedAt, &ss.EndedAt, &seq, &question, &part, &event, &fact, &value, &prompt, &raw, &kind, &reason, &received}, func() error {
		if n := len(p.Sessions); n == 0 || p.Sessions[n-1].ID != ss.ID {
			ss.Answers = []PackAnswer{}
			p.Sessions = append(p.Sessions, ss)
		}
		if seq == nil {
			return nil // a session without answers
		}
		cur := &p.Sessions[len(p.Sessions)-1]
		a := PackAnswer{Seq: *seq, Question: *question, Part: *part, Event: *event, Fact: *fact, Prompt: *prompt,
			Raw: maskRaw(*raw), InputKind: *kind, Reason: *reason, ReceivedAt: *received}
		if len(value) > 0 {
			a.Value = append(json.RawMessage(nil), value...)
		}
		cur.Answers = append(cur.Answers, a)
		return nil
	})
	return err
}

func packProvider(ctx context.Context, tx pgx.Tx, p *Pack, now time.Time) error {
	pp := &p.Provider
	pp.Code, pp.Name = p.Flag.ProviderCode, p.Flag.ProviderName
	pp.Stats, pp.Recent, pp.ConfirmedByRule = []PackStat{}, []PackFinding{}, map[string]int{}
	pid := p.Flag.ProviderID
	rows, err := tx.Query(ctx, `
SELECT metric, n, value, lower, upper, reference, outlier, computed_at
FROM provider_stats WHERE provider_id = $1 ORDER BY metric`, pid)
	if err != nil {
		return err
	}
	var st PackStat
	_, err = pgx.ForEachRow(rows, []any{&st.Metric, &st.N, &st.Value, &st.Lower, &st.Upper, &st.Reference, &st.Outlier, &st.ComputedAt}, func() error {
		pp.Stats = append(pp.Stats, st)
		return nil
	})
	if err != nil {
		return err
	}
	err = tx.QueryRow(ctx, `SELECT score FROM provider_risk WHERE provider_id = $1`, pid).Scan(&pp.Risk)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	since := now.AddDate(0, 0, -RecentDays)
	rows, err = tx.Query(ctx, `
SELECT rule, count(*) FROM flags
WHERE provider_id = $1 AND state = 'decided' AND decision = 'confirmed' AND decided_at >= $2
GROUP BY rule`, pid, since)
	if err != nil {
		return err
	}
	var rule string
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&rule, &n}, func() error { pp.ConfirmedByRule[rule] = n; return nil }); err != nil {
		return err
	}
	rows, err = tx.Query(ctx, `
SELECT f.id, f.rule, coalesce(w.external_id, ''), f.summary, f.currency, (f.amount * 100)::bigint, f.decided_at
FROM flags f LEFT JOIN work_orders w ON w.id = f.work_order_id
WHERE f.provider_id = $1 AND f.state = 'decided' AND f.decision = 'confirmed' AND f.decided_at >= $2
ORDER BY f.decided_at DESC, f.id DESC
LIMIT $3`, pid, since, RecentFindings)
	if err != nil {
		return err
	}
	var pf PackFinding
	_, err = pgx.ForEachRow(rows, []any{&pf.FlagID, &pf.Rule, &pf.JobExternalID, &pf.Summary, &pf.Currency, &pf.Amount, &pf.DecidedAt}, func() error {
		pp.Recent = append(pp.Recent, pf)
		return nil
	})
	return err
}

// MaskPhone masks the middle of an E.164 number, keeping the country code,
// the next three digits and the last four: +8613812345678 → +86138****5678.
// A number too short for that is masked as workorders.MaskPhone does.
func MaskPhone(e164 string) string {
	m := workorders.MaskPhone(e164)
	star := strings.IndexByte(m, '*')
	if !strings.HasPrefix(e164, "+") || !strings.HasPrefix(m, "+") || star < 0 {
		return m
	}
	national := e164[star:] // the digits after the country code
	if len(national) < 9 {
		return m
	}
	return e164[:star] + national[:3] + "****" + national[len(national)-4:]
}

var e164InText = regexp.MustCompile(`\+[1-9][0-9]{6,14}`)

// digitRun is a phone-length run of digits in what a customer typed or said
// (a number given in a reply), masked for viewers without the full number.
var digitRun = regexp.MustCompile(`\+?[0-9]{7,}`)

// maskEvidence masks every string in the evidence that is a phone number
// (V13's shared numbers, say) or holds one in E.164 form.
func maskEvidence(ev []byte) json.RawMessage {
	var v any
	if err := json.Unmarshal(ev, &v); err != nil {
		return json.RawMessage(`{}`)
	}
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case string:
			return e164InText.ReplaceAllStringFunc(x, MaskPhone)
		case []any:
			for i := range x {
				x[i] = walk(x[i])
			}
		case map[string]any:
			for k := range x {
				x[k] = walk(x[k])
			}
		}
		return v
	}
	b, err := json.Marshal(walk(v))
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return b
}
