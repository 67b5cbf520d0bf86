package surveys

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// JobKind is what the provider did.
type JobKind string

// The two kinds of job a survey verifies.
const (
	JobInstall JobKind = "install"
	JobRepair  JobKind = "repair"
)

// Job is what a survey needs to know about one completed install or repair:
// enough to fill its prompts ("your water heater repair on March 14"), to
// decide which questions apply (no claimed parts, no parts question) and to
// loop over the claimed parts. It is the survey's own view of a work order,
// so this package does not depend on how intake models one.
type Job struct {
	ID              string // shown in previews and errors; the work order id
	Kind            JobKind
	Brand           string
	ProductCategory string // the upstream code, e.g. "water_heater"
	ProductNameEN   string // plain names a customer recognises: "water heater", "热水器"
	ProductNameZH   string
	Model           string
	CompletedAt     time.Time
	TimeZone        string // the customer's IANA zone; dates are spoken in it
	Currency        string // ISO 4217; amounts are recorded in its minor unit
	Lang            string // the customer's language: "zh-CN" or "en"
	Parts           []Part // claimed replaced parts, in claim order
}

// Part is one claimed replaced part, with the names a customer would
// recognise when asked about it ("the heating element", "加热管").
type Part struct {
	Code     string `json:"code"`
	NameEN   string `json:"name_en,omitempty"`
	NameZH   string `json:"name_zh,omitempty"`
	Quantity int    `json:"quantity,omitempty"`
	UnitCost int64  `json:"unit_cost,omitempty"` // minor units; orders parts when a cap applies
}

// Name returns the part's plain name in lang, falling back to the other
// language and then to the code, so a prompt is never left with a hole.
func (p Part) Name(lang string) string {
	zh, en := strings.TrimSpace(p.NameZH), strings.TrimSpace(p.NameEN)
	if isChinese(lang) {
		return firstNonEmpty(zh, en, p.Code)
	}
	return firstNonEmpty(en, zh, p.Code)
}

// ProductName returns the product's plain name in lang: the job's own plain
// name, else the built-in name of its category, else the category code read
// as words ("range_hood" → "range hood").
func (j *Job) ProductName(lang string) string {
	own := j.ProductNameEN
	if isChinese(lang) {
		own = j.ProductNameZH
	}
	if s := strings.TrimSpace(own); s != "" {
		return s
	}
	if n, ok := productNames[strings.ToLower(strings.TrimSpace(j.ProductCategory))]; ok {
		if isChinese(lang) {
			return n[1]
		}
		return n[0]
	}
	return firstNonEmpty(strings.ReplaceAll(strings.TrimSpace(j.ProductCategory), "_", " "), j.Model)
}

// productNames are plain names for common appliance category codes, used
// when the upstream system sends only a code.
var productNames = map[string][2]string{
	"air_conditioner":  {"air conditioner", "空调"},
	"water_heater":     {"water heater", "热水器"},
	"gas_water_heater": {"gas water heater", "燃气热水器"},
	"washing_machine":  {"washing machine", "洗衣机"},
	"dryer":            {"dryer", "干衣机"},
	"refrigerator":     {"refrigerator", "冰箱"},
	"freezer":          {"freezer", "冰柜"},
	"range_hood":       {"range hood", "油烟机"},
	"gas_stove":        {"gas stove", "燃气灶"},
	"cooktop":          {"cooktop", "灶具"},
	"dishwasher":       {"dishwasher", "洗碗机"},
	"water_purifier":   {"water purifier", "净水器"},
	"television":       {"TV", "电视"},
	"tv":               {"TV", "电视"},
	"microwave":        {"microwave", "微波炉"},
	"oven":             {"oven", "烤箱"},
	"boiler":           {"boiler", "壁挂炉"},
	"heat_pump":        {"heat pump", "热泵"},
	"air_purifier":     {"air purifier", "空气净化器"},
	"sterilizer":       {"dish sterilizer", "消毒柜"},
}

// ServiceName is the kind of job in words: "install"/"repair", "安装"/"维修".
func (j *Job) ServiceName(lang string) string {
	switch {
	case isChinese(lang) && j.Kind == JobInstall:
		return "安装"
	case isChinese(lang):
		return "维修"
	case j.Kind == JobInstall:
		return "install"
	}
	return "repair"
}

// LocalDate is the day the job was completed, in the customer's time zone
// (UTC when the zone is unknown).
func (j *Job) LocalDate() time.Time {
	t := j.CompletedAt.In(Location(j.TimeZone))
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// DateSpoken is the completion date as a person would say it in lang:
// "March 14" or "3月14日". The year is left out: surveys run within days of
// the job.
func (j *Job) DateSpoken(lang string) string {
	d := j.LocalDate()
	if isChinese(lang) {
		return strconv.Itoa(int(d.Month())) + "月" + strconv.Itoa(d.Day()) + "日"
	}
	return d.Month().String() + " " + strconv.Itoa(d.Day())
}

// PartsToAsk returns the parts a per-part question asks about: one per
// distinct code (quantities of the same part are one question), the most
// expensive first — a capped loop should spend its questions on the claims
// that cost the most — and at most max of them.
func (j *Job) PartsToAsk(max int) []Part {
	if len(j.Parts) == 0 || max <= 0 {
		return nil
	}
	seen := make(map[string]int, len(j.Parts))
	out := make([]Part, 0, len(j.Parts))
	for _, p := range j.Parts {
		if i, dup := seen[p.Code]; dup {
			out[i].Quantity += p.Quantity
			if p.UnitCost > out[i].UnitCost {
				out[i].UnitCost = p.UnitCost
			}
			continue
		}
		seen[p.Code] = len(out)
		out = append(out, p)
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].UnitCost > out[b].UnitCost })
	if len(out) > max {
		out = out[:max]
	}
	return out
}

// distinctParts counts claimed parts by code, without allocating.
func (j *Job) distinctParts() int {
	n := 0
	for i, p := range j.Parts {
		dup := false
		for _, q := range j.Parts[:i] {
			if q.Code == p.Code {
				dup = true
				break
			}
		}
		if !dup {
			n++
		}
	}
	return n
}

var locations sync.Map // zone name → *time.Location

// Location loads a zone once; an unknown zone reads as UTC rather than
// failing a call mid-survey (intake validates zones).
func Location(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		l = time.UTC
	}
	locations.Store(name, l)
	return l
}

func isChinese(lang string) bool { return lang == "zh" || strings.HasPrefix(lang, "zh-") }

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// SampleJob returns a built-in job for previews and tests: a repair of a
// water heater with two claimed parts, or an install with none.
func SampleJob(kind JobKind) *Job {
	j := &Job{
		ID:              "sample-" + string(kind),
		Kind:            kind,
		Brand:           "Acme",
		ProductCategory: "water_heater",
		ProductNameEN:   "water heater",
		ProductNameZH:   "热水器",
		Model:           "WH-60",
		CompletedAt:     time.Date(2025, 3, 14, 7, 30, 0, 0, time.UTC), // 15:30 in Shanghai
		TimeZone:        "Asia/Shanghai",
		Currency:        "CNY",
		Lang:            "zh-CN",
	}
	if kind == JobRepair {
		j.Parts = []Part{
			{Code: "HE-01", NameEN: "heating element", NameZH: "加热管", Quantity: 1, UnitCost: 18000},
			{Code: "TH-02", NameEN: "thermostat", NameZH: "温控器", Quantity: 1, UnitCost: 6500},
		}
	}
	return j
}

// ErrNotFound is returned when a job, survey or version does not exist.
var ErrNotFound = errors.New("not found")

// Querier is what LoadJob needs from a pool, a connection or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

const jobQuery = `
SELECT w.id, w.external_id, w.kind, w.brand, w.product_category, w.product_model,
       w.completed_at, c.tz, w.currency, c.lang
FROM work_orders w
JOIN customers c ON c.id = w.customer_id
WHERE w.id = $1`

const jobByExternalQuery = `
SELECT w.id
FROM work_orders w
WHERE w.external_id = $1
LIMIT 2`

const partsQuery = `
SELECT part_code, name_en, name_zh, quantity, (unit_cost * 100)::bigint AS unit_cost
FROM claimed_parts
WHERE work_order_id = $1
ORDER BY line`

// LoadJob reads the survey's view of one work order. ref is the work order's
// id, or its external id when that is unique across sources.
func LoadJob(ctx context.Context, db Querier, ref string) (*Job, error) {
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil {
		rows, err := db.Query(ctx, jobByExternalQuery, ref)
		if err != nil {
			return nil, fmt.Errorf("load job %q: %w", ref, err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return nil, fmt.Errorf("load job %q: %w", ref, err)
		}
		switch len(ids) {
		case 0:
			return nil, fmt.Errorf("load job %q: %w", ref, ErrNotFound)
		case 2:
			return nil, fmt.Errorf("load job %q: the external id is used by more than one source; give the work order id", ref)
		}
		id = ids[0]
	}
	var (
		j         Job
		dbID      int64
		external  string
		kind      string
		completed time.Time
	)
	err = db.QueryRow(ctx, jobQuery, id).Scan(&dbID, &external, &kind, &j.Brand, &j.ProductCategory,
		&j.Model, &completed, &j.TimeZone, &j.Currency, &j.Lang)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("load job %s: %w", ref, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("load job %s: %w", ref, err)
	}
	j.ID = strconv.FormatInt(dbID, 10) + " (" + external + ")"
	j.Kind = JobKind(kind)
	j.CompletedAt = completed
	rows, err := db.Query(ctx, partsQuery, dbID)
	if err != nil {
		return nil, fmt.Errorf("load job %s parts: %w", ref, err)
	}
	j.Parts, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Part, error) {
		var p Part
		err := row.Scan(&p.Code, &p.NameEN, &p.NameZH, &p.Quantity, &p.UnitCost)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("load job %s parts: %w", ref, err)
	}
	return &j, nil
}
