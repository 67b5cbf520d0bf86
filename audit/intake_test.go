package audit

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/internal/testdb"
	"github.com/huifang/huifang/workorders"
	"github.com/huifang/huifang/workorders/sample"
)

// intakeNow is the clock of the intake tests.
var intakeNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// intakeSampleWorld loads n sample jobs and the sample catalog into a fresh
// database and returns a store on it.
func intakeSampleWorld(t testing.TB, n int, seed int64) *Store {
	t.Helper()
	ctx := context.Background()
	pool := testdb.New(t)
	ws := &workorders.Store{Pool: pool, Now: func() time.Time { return intakeNow }}
	src, err := ws.EnsureSource(ctx, "sample", "file", workorders.Defaults{Region: "CN"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sample.Load(ctx, ws, src, sample.Config{Seed: seed, Jobs: n, Now: intakeNow}); err != nil {
		t.Fatal(err)
	}
	s := NewStore(pool)
	s.Now = func() time.Time { return intakeNow }
	intakeLoadSampleCatalog(t, s)
	return s
}

func intakeLoadSampleCatalog(t testing.TB, s *Store) CatalogResult {
	t.Helper()
	var b strings.Builder
	if err := sample.WriteCatalogCSV(&b); err != nil {
		t.Fatal(err)
	}
	res, err := s.ImportCatalog(context.Background(), "sample_catalog.csv", strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// intakeScore is one rule's confusion counts against sample_truth.
type intakeScore struct {
	Rule            string
	TP, FP, FN      int
	Recall, Precise float64
}

func intakeScores(t testing.TB, pool *pgxpool.Pool, rules []string) []intakeScore {
	t.Helper()
	var out []intakeScore
	for _, r := range rules {
		var sc intakeScore
		sc.Rule = r
		err := pool.QueryRow(context.Background(), `
			SELECT count(*) FILTER (WHERE f.id IS NOT NULL AND $1 = ANY (st.planted)),
			       count(*) FILTER (WHERE f.id IS NOT NULL AND NOT $1 = ANY (st.planted)),
			       count(*) FILTER (WHERE f.id IS NULL AND $1 = ANY (st.planted))
			FROM sample_truth st
			LEFT JOIN flags f ON f.work_order_id = st.work_order_id AND f.rule = $1`, r).Scan(&sc.TP, &sc.FP, &sc.FN)
		if err != nil {
			t.Fatal(err)
		}
		if sc.TP+sc.FN > 0 {
			sc.Recall = float64(sc.TP) / float64(sc.TP+sc.FN)
		}
		if sc.TP+sc.FP > 0 {
			sc.Precise = float64(sc.TP) / float64(sc.TP+sc.FP)
		}
		out = append(out, sc)
	}
	return out
}

// TestIntakeChecksOnTheSample runs the intake checks over 20,000 sample jobs
// and the sample catalog and compares the flags with what the sample
// planted.
func TestIntakeChecksOnTheSample(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const n = 20_000
	s := intakeSampleWorld(t, n, 11)
	start := time.Now()
	run, err := s.RunIntakeChecks(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("checked %d jobs in %s: %+v", run.Jobs, time.Since(start).Round(time.Millisecond), run)
	scores := intakeScores(t, s.Pool, []string{"V7", "V9", "V11", "V12", "V13", "V15"})
	for _, sc := range scores {
		t.Logf("%-4s TP %4d FP %3d FN %3d recall %.4f precision %.4f", sc.Rule, sc.TP, sc.FP, sc.FN, sc.Recall, sc.Precise)
		if sc.TP+sc.FN == 0 {
			t.Errorf("%s: nothing planted", sc.Rule)
		}
		if sc.Recall < 0.95 || sc.Precise < 0.9 {
			t.Errorf("%s: recall %.4f precision %.4f, want ≥ 0.95 and ≥ 0.9", sc.Rule, sc.Recall, sc.Precise)
		}
	}
	t.Logf("V10 (not planted): %d findings", run.Findings["V10"])
	if run.Jobs != n || run.UnknownModel != 0 {
		t.Errorf("checked %d jobs, %d of an unknown model; want %d and 0", run.Jobs, run.UnknownModel, n)
	}
	var flags int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM flags`).Scan(&flags); err != nil {
		t.Fatal(err)
	}
	if flags != run.Flags {
		t.Errorf("%d flags in the table, the run says %d", flags, run.Flags)
	}
	again, err := s.RunIntakeChecks(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if again.Jobs != 0 || again.Flags != 0 {
		t.Errorf("a second run checked %d jobs and raised %d flags, want none", again.Jobs, again.Flags)
	}
}

// inJob is one job of an intake test case. Zero fields take defaults: a
// repair of model M-1 by provider PA for a customer of its own with a phone
// of its own, in warranty until 2030, 60 minutes of labour, no parts, no
// serial number. Phone and TechPhone are symbols ("p1"): jobs of one case
// with the same symbol share a number, and no two cases share one. ID, Cust
// and Serial are made unique per case the same way.
type inJob struct {
	ID                  string
	Kind                string
	Days                float64 // completed this many days before intakeNow
	At                  string  // an explicit completed_at, instead of Days
	Cust, Phone         string
	Address             string
	Provider, TechPhone string
	Model, Serial       string
	Status, Ends        string
	Delivered, Fault    string
	Minutes, Labour     string
	Parts               string // the intake CSV's parts cell
}

// inCase is a set of jobs and the jobs one rule must flag, by ID, with the
// amount it charges back in minor units.
type inCase struct {
	name string
	jobs []inJob
	want map[string]int64
}

// inWorld is a database holding the cases' jobs and the small parts list.
type inWorld struct {
	s      *Store
	phones map[string]string // "case/symbol" → E.164
}

func (w *inWorld) phone(tag, sym string) string { return w.phones[tag+"/"+sym] }

func inTag(i int) string { return fmt.Sprintf("c%02d", i) }

// newInWorld loads the small parts list and every case's jobs through the
// ordinary job import.
func newInWorld(t *testing.T, cases []inCase) *inWorld {
	t.Helper()
	ctx := context.Background()
	pool := testdb.New(t)
	w := &inWorld{s: NewStore(pool), phones: map[string]string{}}
	w.s.Now = func() time.Time { return intakeNow }
	f, err := os.Open("testdata/catalog_small.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := w.s.ImportCatalog(ctx, "catalog_small.csv", f); err != nil {
		t.Fatal(err)
	}
	w.add(t, cases)
	return w
}

// add imports the cases' jobs.
func (w *inWorld) add(t *testing.T, cases []inCase) {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	cw := csv.NewWriter(&b)
	cw.Write(strings.Split("external_id,kind,completed_at,customer_id,customer_name,phone,address,region,tz,provider_code,technician,technician_phone,"+
		"product_category,product_model,serial_number,warranty_status,warranty_ends_on,delivered_on,fault,currency,labour_minutes,labour_amount,parts", ","))
	num := func(tag, sym string) string {
		k := tag + "/" + sym
		if p, ok := w.phones[k]; ok {
			return p
		}
		p := fmt.Sprintf("+86138%08d", 10_000+len(w.phones))
		w.phones[k] = p
		return p
	}
	or := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	for i, c := range cases {
		tag := inTag(i)
		for _, j := range c.jobs {
			at := j.At
			if at == "" {
				at = intakeNow.Add(-time.Duration(j.Days * float64(24*time.Hour))).Format(time.RFC3339)
			}
			serial := ""
			if j.Serial != "" {
				serial = tag + "-" + j.Serial
			}
			techPhone := ""
			if j.TechPhone != "" {
				techPhone = num(tag, j.TechPhone)
			}
			cw.Write([]string{tag + "-" + j.ID, or(j.Kind, "repair"), at, tag + "-" + or(j.Cust, j.ID), "Customer " + or(j.Cust, j.ID),
				num(tag, or(j.Phone, "own-"+or(j.Cust, j.ID))), j.Address, "CN-GD", "Asia/Shanghai", or(j.Provider, "PA"), "Tech", techPhone,
				"water_heater", or(j.Model, "M-1"), serial, or(j.Status, "in_warranty"), or(j.Ends, "2030-01-01"), j.Delivered, j.Fault,
				"CNY", or(j.Minutes, "60"), or(j.Labour, "60.00"), j.Parts})
		}
	}
	cw.Flush()
	ws := &workorders.Store{Pool: w.s.Pool, Now: func() time.Time { return intakeNow }}
	src, err := ws.EnsureSource(ctx, "erp", "file", workorders.Defaults{Region: "CN"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := workorders.NewCSVReader("intake_cases.csv", strings.NewReader(b.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := ws.Import(ctx, src, r, workorders.ImportOptions{}); err != nil {
		t.Fatalf("import: %v %+v", err, res.Errors)
	}
}

// inFlag is a raised flag as the tests read it back.
type inFlag struct {
	Rule, Severity, Summary, Evidence string
	Amount, Claim                     int64
}

// flagsOf returns the flags of rule by job external id.
func (w *inWorld) flagsOf(t *testing.T, rule string) map[string]inFlag {
	t.Helper()
	rows, err := w.s.Pool.Query(context.Background(), `
		SELECT w.external_id, f.rule, f.severity, f.summary, f.evidence::text, (f.amount * 100)::bigint, (f.claim_value * 100)::bigint
		FROM flags f JOIN work_orders w ON w.id = f.work_order_id WHERE f.rule = $1`, rule)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]inFlag{}
	for rows.Next() {
		var id string
		var f inFlag
		if err := rows.Scan(&id, &f.Rule, &f.Severity, &f.Summary, &f.Evidence, &f.Amount, &f.Claim); err != nil {
			t.Fatal(err)
		}
		out[id] = f
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// runInCases loads the cases, runs the intake checks and compares the flags
// of rule with each case's want, exactly: the named jobs and no others. It
// returns the world and the rule's flags for further checks.
func runInCases(t *testing.T, rule string, cases []inCase) (*inWorld, IntakeRun, map[string]inFlag) {
	t.Helper()
	w := newInWorld(t, cases)
	return w, w.check(t, rule, cases), w.flagsOf(t, rule)
}

func (w *inWorld) check(t *testing.T, rule string, cases []inCase) IntakeRun {
	t.Helper()
	run, err := w.s.RunIntakeChecks(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	got := w.flagsOf(t, rule)
	sev := string(mustRule(rule).Severity)
	for i, c := range cases {
		tag := inTag(i)
		t.Run(c.name, func(t *testing.T) {
			for _, j := range c.jobs {
				id := tag + "-" + j.ID
				f, flagged := got[id]
				amount, want := c.want[j.ID]
				switch {
				case want && !flagged:
					t.Errorf("%s: job %s not flagged", rule, j.ID)
				case !want && flagged:
					t.Errorf("%s: job %s flagged: %s %s", rule, j.ID, f.Summary, f.Evidence)
				case want && (f.Amount != amount || f.Severity != sev):
					t.Errorf("%s: job %s amount %d severity %s, want %d %s (%s)", rule, j.ID, f.Amount, f.Severity, amount, sev, f.Summary)
				}
			}
		})
	}
	return run
}

// TestIntakeV7Duplicate: the same serial with the same part or fault within
// V7Days (90), or claimed by another provider. The later job is flagged;
// the amount is its parts, or its whole claim when another provider claimed
// first.
func TestIntakeV7Duplicate(t *testing.T) {
	t.Parallel()
	he := "P-HE|1|120.00|heating element|加热管"
	ts := "P-TS|1|45.00|thermostat|温控器"
	cases := []inCase{
		{"same part at day 89", []inJob{
			{ID: "a", Days: 100, Serial: "S", Parts: he},
			{ID: "b", Days: 11, Serial: "S", Parts: he + ";" + ts},
		}, map[string]int64{"b": 16500}},
		{"same part at day 91", []inJob{
			{ID: "a", Days: 102, Serial: "S", Parts: he},
			{ID: "b", Days: 11, Serial: "S", Parts: he},
		}, nil},
		{"same fault, other part", []inJob{
			{ID: "a", Days: 20, Serial: "S", Fault: "不加热", Parts: he},
			{ID: "b", Days: 10, Serial: "S", Fault: " 不加热", Parts: ts},
		}, map[string]int64{"b": 4500}},
		{"other fault and part, same provider", []inJob{
			{ID: "a", Days: 20, Serial: "S", Fault: "不加热", Parts: he},
			{ID: "b", Days: 10, Serial: "S", Fault: "漏水", Parts: ts},
		}, nil},
		{"another provider, whole claim", []inJob{
			{ID: "a", Days: 20, Serial: "S", Fault: "不加热", Parts: he},
			{ID: "b", Days: 10, Serial: "S", Fault: "漏水", Provider: "PB", Parts: ts, Labour: "80.00"},
		}, map[string]int64{"b": 12500}},
		{"no serial number", []inJob{
			{ID: "a", Days: 20, Parts: he},
			{ID: "b", Days: 10, Parts: he},
		}, nil},
		{"an install and a repair are not duplicates", []inJob{
			{ID: "a", Days: 20, Kind: "install", Serial: "S", Delivered: "2026-10-01", Provider: "PB"},
			{ID: "b", Days: 10, Serial: "S"},
		}, nil},
		{"the later job arrives first", []inJob{
			{ID: "b", Days: 5, Serial: "S", Parts: he},
			{ID: "a", Days: 30, Serial: "S", Parts: he},
		}, map[string]int64{"b": 12000}},
	}
	_, _, got := runInCases(t, "V7", cases)
	var ev DuplicateEvidence
	if err := json.Unmarshal([]byte(got["c00-b"].Evidence), &ev); err != nil {
		t.Fatal(err)
	}
	if len(ev.Earlier) != 1 || ev.Earlier[0].ExternalID != "c00-a" || ev.Earlier[0].Provider != "PA" || ev.Earlier[0].DaysBefore != 89 ||
		fmt.Sprint(ev.Earlier[0].SameParts) != "[P-HE]" || ev.WithinDays != 90 || ev.SerialNumber != "c00-S" ||
		!ev.Earlier[0].CompletedAt.Equal(intakeNow.Add(-100*24*time.Hour)) {
		t.Errorf("evidence %+v", ev)
	}
	if s := got["c00-b"].Summary; s != "Unit c00-S claimed again 89 days later with the same part P-HE as job c00-a." {
		t.Errorf("summary %q", s)
	}
	if s := got["c04-b"].Summary; s != "Unit c04-S claimed again 10 days after job c04-a, already claimed by PA." {
		t.Errorf("summary %q", s)
	}
}

// TestIntakeV15Comeback: a revisit to the same unit within V15Days (30)
// charges the latest earlier visit's claim.
func TestIntakeV15Comeback(t *testing.T) {
	t.Parallel()
	cases := []inCase{
		{"day 29", []inJob{
			{ID: "a", Days: 40, Serial: "S", Labour: "70.00", Parts: "P-TS|1|45.00"},
			{ID: "b", Days: 11, Serial: "S"},
		}, map[string]int64{"b": 11500}},
		{"day 31", []inJob{
			{ID: "a", Days: 41, Serial: "S"},
			{ID: "b", Days: 10, Serial: "S"},
		}, nil},
		{"three visits charge the latest", []inJob{
			{ID: "a", Days: 25, Serial: "S", Labour: "50.00"},
			{ID: "b", Days: 15, Serial: "S", Labour: "70.00"},
			{ID: "c", Days: 5, Serial: "S", Labour: "90.00"},
		}, map[string]int64{"b": 5000, "c": 7000}},
	}
	_, _, got := runInCases(t, "V15", cases)
	var ev ComebackEvidence
	if err := json.Unmarshal([]byte(got["c02-c"].Evidence), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Charge.ExternalID != "c02-b" || ev.DaysAfter != 10 || len(ev.Earlier) != 2 || ev.Charge.ClaimValue != 7000 {
		t.Errorf("evidence %+v", ev)
	}
	if s := got["c02-c"].Summary; s != "Unit c02-S serviced again 10 days after job c02-b; charge job c02-b." {
		t.Errorf("summary %q", s)
	}
}

// TestIntakeV9Ineligible: a repair claimed under warranty after the end date
// (the end date itself is covered, in the customer's own calendar), an
// install before delivery. The whole claim is charged.
func TestIntakeV9Ineligible(t *testing.T) {
	t.Parallel()
	cases := []inCase{
		{"on the warranty end date", []inJob{{ID: "a", At: "2026-11-01T20:00:00+08:00", Ends: "2026-11-01"}}, nil},
		{"the day after", []inJob{{ID: "a", At: "2026-11-02T09:00:00+08:00", Ends: "2026-11-01", Labour: "75.50"}}, map[string]int64{"a": 7550}},
		{"after the end in Shanghai, not yet in UTC", []inJob{{ID: "a", At: "2026-11-01T17:30:00Z", Ends: "2026-11-01", Parts: "P-TS|1|45"}}, map[string]int64{"a": 10500}},
		{"extended warranty after its end", []inJob{{ID: "a", Days: 3, Status: "extended", Ends: "2026-10-01"}}, map[string]int64{"a": 6000}},
		{"out of warranty says so", []inJob{{ID: "a", Days: 3, Status: "out_of_warranty", Ends: "2026-10-01"}}, nil},
		{"install before delivery", []inJob{{ID: "a", Kind: "install", At: "2026-11-10T10:00:00+08:00", Delivered: "2026-11-11", Minutes: "90"}}, map[string]int64{"a": 6000}},
		{"install on the delivery day", []inJob{{ID: "a", Kind: "install", At: "2026-11-11T10:00:00+08:00", Delivered: "2026-11-11", Minutes: "90"}}, nil},
	}
	_, _, got := runInCases(t, "V9", cases)
	var ev WarrantyEvidence
	if err := json.Unmarshal([]byte(got["c02-a"].Evidence), &ev); err != nil {
		t.Fatal(err)
	}
	if ev != (WarrantyEvidence{Kind: "repair", WarrantyStatus: "in_warranty", CompletedOn: "2026-11-02", WarrantyEndsOn: "2026-11-01", Days: -1}) {
		t.Errorf("evidence %+v", ev)
	}
	if s := got["c05-a"].Summary; s != "Install completed on 2026-11-10, 1 day before the unit was delivered on 2026-11-11." {
		t.Errorf("summary %q", s)
	}
}

// TestIntakeV10LastDays: a repair under warranty completed 0 to 29 days
// before the warranty's end (V10Days 30), with nothing to charge.
func TestIntakeV10LastDays(t *testing.T) {
	t.Parallel()
	cases := []inCase{
		{"29 days left", []inJob{{ID: "a", At: "2026-11-02T10:00:00+08:00", Ends: "2026-12-01"}}, map[string]int64{"a": 0}},
		{"30 days left", []inJob{{ID: "a", At: "2026-11-01T10:00:00+08:00", Ends: "2026-12-01"}}, nil},
		{"the last day", []inJob{{ID: "a", At: "2026-11-20T10:00:00+08:00", Ends: "2026-11-20"}}, map[string]int64{"a": 0}},
		{"after the end is V9, not V10", []inJob{{ID: "a", At: "2026-11-21T10:00:00+08:00", Ends: "2026-11-20"}}, nil},
		{"an install is not judged", []inJob{{ID: "a", Kind: "install", At: "2026-11-20T10:00:00+08:00", Ends: "2026-11-25", Minutes: "90"}}, nil},
	}
	_, run, got := runInCases(t, "V10", cases)
	if run.Findings["V10"] != 2 || run.Findings["V9"] != 1 {
		t.Errorf("findings %v", run.Findings)
	}
	if s := got["c00-a"].Summary; s != "Repair completed on 2026-11-02, 29 days before the warranty ends on 2026-12-01." {
		t.Errorf("summary %q", s)
	}
}

// TestIntakeV11PartsList: a part not on the model's list is charged whole;
// a quantity over the list's maximum is charged for the excess. A model not
// in the catalog is not judged, only counted.
func TestIntakeV11PartsList(t *testing.T) {
	t.Parallel()
	cases := []inCase{
		{"on the list", []inJob{{ID: "a", Days: 2, Parts: "P-HE|2|120;P-TS|1|45"}}, nil},
		{"not on the list", []inJob{{ID: "a", Days: 2, Parts: "P-HE|1|120;X-CMP|2|300.50"}}, map[string]int64{"a": 60100}},
		{"one over the maximum", []inJob{{ID: "a", Days: 2, Parts: "P-HE|3|110"}}, map[string]int64{"a": 11000}},
		{"over across two lines", []inJob{{ID: "a", Days: 2, Parts: "P-TS|1|45;P-TS|1|45"}}, map[string]int64{"a": 4500}},
		{"another model's part", []inJob{{ID: "a", Days: 2, Model: "M-2", Parts: "P-HE|1|120"}}, map[string]int64{"a": 12000}},
		{"a model with no parts list", []inJob{{ID: "a", Days: 2, Model: "M-3", Parts: "P-HE|1|120"}}, map[string]int64{"a": 12000}},
		{"an unknown model", []inJob{{ID: "a", Days: 2, Model: "ZZ-9", Parts: "X-CMP|5|300"}}, nil},
	}
	_, run, got := runInCases(t, "V11", cases)
	if run.UnknownModel != 1 {
		t.Errorf("%d jobs of an unknown model, want 1", run.UnknownModel)
	}
	var ev PartsListEvidence
	if err := json.Unmarshal([]byte(got["c02-a"].Evidence), &ev); err != nil {
		t.Fatal(err)
	}
	want := PartsListEvidence{Model: "M-1", Lines: []PartsListReason{{PartCode: "P-HE", OnList: true, Claimed: 3, MaxQty: 2, UnitCost: 11000, Amount: 11000}}}
	if fmt.Sprint(ev) != fmt.Sprint(want) {
		t.Errorf("evidence %+v, want %+v", ev, want)
	}
	for id, s := range map[string]string{
		"c01-a": "Part X-CMP is not on the parts list of model M-1.",
		"c02-a": "Claims 3 of part P-HE; the parts list of model M-1 allows 2.",
	} {
		if got[id].Summary != s {
			t.Errorf("%s summary %q, want %q", id, got[id].Summary, s)
		}
	}
}

// TestIntakeV12Labour: labour over 1.5 × the standard (60 minutes for a
// repair of M-1, 90 for an install) charges the share over the allowed time.
func TestIntakeV12Labour(t *testing.T) {
	t.Parallel()
	cases := []inCase{
		{"exactly 1.5×", []inJob{{ID: "a", Days: 2, Minutes: "90", Labour: "108.00"}}, nil},
		{"just over", []inJob{{ID: "a", Days: 2, Minutes: "91", Labour: "109.20"}}, map[string]int64{"a": 120}},
		{"twice", []inJob{{ID: "a", Days: 2, Minutes: "120", Labour: "144.00"}}, map[string]int64{"a": 3600}},
		{"install at 1.5×", []inJob{{ID: "a", Days: 2, Kind: "install", Minutes: "135", Delivered: "2026-11-01"}}, nil},
		{"install over", []inJob{{ID: "a", Days: 2, Kind: "install", Minutes: "140", Labour: "140.00", Delivered: "2026-11-01"}}, map[string]int64{"a": 500}},
		{"no install standard", []inJob{{ID: "a", Days: 2, Kind: "install", Model: "M-2", Minutes: "600", Delivered: "2026-11-01"}}, nil},
		{"unknown model", []inJob{{ID: "a", Days: 2, Model: "ZZ-9", Minutes: "600"}}, nil},
	}
	_, _, got := runInCases(t, "V12", cases)
	var ev LabourEvidence
	if err := json.Unmarshal([]byte(got["c02-a"].Evidence), &ev); err != nil {
		t.Fatal(err)
	}
	if ev != (LabourEvidence{Model: "M-1", Kind: "repair", Minutes: 120, StandardMinutes: 60, Factor: 1.5, AllowedMinutes: 90, LabourAmount: 14400}) {
		t.Errorf("evidence %+v", ev)
	}
	if s := got["c01-a"].Summary; s != "Labour of 91 minutes is over 1.5× the 60-minute standard for a repair of model M-1." {
		t.Errorf("summary %q", s)
	}
}

// TestIntakeV13FakeCustomer: a phone behind 3 customers within 90 days flags
// every one of their jobs; 2 customers, or 3 spread wider, do not. A
// customer phone that is the technician's or the provider's own, or an
// address behind 3 customers, is flagged too. The whole claim is charged.
func TestIntakeV13FakeCustomer(t *testing.T) {
	t.Parallel()
	addr := func(s string) string { return "广东省深圳市南山区科苑路" + s }
	cases := []inCase{
		{"two customers share a phone", []inJob{
			{ID: "a", Days: 10, Phone: "p"}, {ID: "b", Days: 5, Phone: "p"},
		}, nil},
		{"three customers share a phone", []inJob{
			{ID: "a", Days: 60, Phone: "p"}, {ID: "b", Days: 30, Phone: "p", Labour: "80"}, {ID: "c", Days: 1, Phone: "p"},
		}, map[string]int64{"a": 6000, "b": 8000, "c": 6000}},
		{"one customer's three jobs", []inJob{
			{ID: "a", Days: 10, Cust: "x"}, {ID: "b", Days: 5, Cust: "x"}, {ID: "c", Days: 1, Cust: "x"},
		}, nil},
		{"three customers over 180 days", []inJob{
			{ID: "a", Days: 190, Phone: "p"}, {ID: "b", Days: 95, Phone: "p"}, {ID: "c", Days: 1, Phone: "p"},
		}, nil},
		{"the technician's phone", []inJob{{ID: "a", Days: 3, Phone: "t", TechPhone: "t"}}, map[string]int64{"a": 6000}},
		{"the provider's phone", []inJob{{ID: "a", Days: 3, Phone: "q", Provider: "PPH"}}, map[string]int64{"a": 6000}},
		{"three customers at one address, written differently", []inJob{
			{ID: "a", Days: 20, Address: addr("88号, 锦绣花园3栋 1502室")},
			{ID: "b", Days: 10, Address: addr("88号锦绣花园3栋1502室")},
			{ID: "c", Days: 2, Address: addr("88号，锦绣花园 3栋-1502室")},
		}, map[string]int64{"a": 6000, "b": 6000, "c": 6000}},
		{"three customers in one district", []inJob{
			{ID: "a", Days: 20, Address: "上海市浦东新区"}, {ID: "b", Days: 10, Address: "上海市浦东新区"}, {ID: "c", Days: 2, Address: "上海市浦东新区"},
		}, nil},
		{"two customers at one address", []inJob{
			{ID: "a", Days: 20, Address: addr("99号")}, {ID: "b", Days: 10, Address: addr("99号")},
		}, nil},
	}
	w := newInWorld(t, cases)
	if _, err := w.s.Pool.Exec(context.Background(), `UPDATE providers SET phone_e164 = $1 WHERE code = 'PPH'`, w.phone(inTag(5), "q")); err != nil {
		t.Fatal(err)
	}
	w.check(t, "V13", cases)
	got := w.flagsOf(t, "V13")
	full := w.phone(inTag(1), "p")
	masked := full[:6] + "****" + full[len(full)-4:]
	var ev CustomerEvidence
	if err := json.Unmarshal([]byte(got["c01-a"].Evidence), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Phone != masked || ev.SharedPhone == nil || ev.SharedPhone.Customers != 3 || len(ev.SharedPhone.Others) != 2 ||
		ev.SharedPhone.Others[0].ExternalID != "c01-b" || ev.SharedPhone.Others[1].ExternalID != "c01-c" || ev.SharedPhone.Others[0].Phone != masked {
		t.Errorf("evidence %s", got["c01-a"].Evidence)
	}
	if s := got["c01-a"].Summary; s != "Customer phone "+masked+" is shared by 3 customers within 90 days." {
		t.Errorf("summary %q", s)
	}
	if s := got["c04-a"].Summary; !strings.HasSuffix(s, " is the technician's own.") {
		t.Errorf("summary %q", s)
	}
	if s := got["c05-a"].Summary; !strings.HasSuffix(s, " is the provider's own.") {
		t.Errorf("summary %q", s)
	}
	if s := got["c06-c"].Summary; s != "The customer's address is shared by 3 customers within 90 days." {
		t.Errorf("summary %q", s)
	}
	for id, f := range got {
		for _, p := range w.phones {
			if strings.Contains(f.Evidence, p) || strings.Contains(f.Summary, p) || strings.Contains(f.Evidence, p[1:]) {
				t.Errorf("%s: a full phone number in the flag: %s %s", id, f.Summary, f.Evidence)
			}
		}
	}
}

// TestIntakeChecksEachJobOnce: a limit checks that many jobs, the next run
// takes the rest, and a run with nothing new raises nothing; a job arriving
// later that completes a group of three flags the earlier two.
func TestIntakeChecksEachJobOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newInWorld(t, []inCase{{"phone group", []inJob{
		{ID: "a", Days: 30, Phone: "p"}, {ID: "b", Days: 20, Phone: "p"}, {ID: "x", Days: 3}, {ID: "y", Days: 2},
	}, nil}})
	run, err := w.s.RunIntakeChecks(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if run.Jobs != 3 || run.Flags != 0 || run.Batches != 1 {
		t.Fatalf("first run %+v, want 3 jobs and no flags", run)
	}
	run, err = w.s.RunIntakeChecks(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if run.Jobs != 1 || run.Flags != 0 || run.Batches != 1 {
		t.Fatalf("second run %+v, want 1 job and no flags", run)
	}
	// The third customer on the phone arrives (same case, same phone).
	w.add(t, []inCase{{"phone group", []inJob{{ID: "c", Days: 10, Phone: "p"}}, nil}})
	run, err = w.s.RunIntakeChecks(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if run.Jobs != 1 || run.Flags != 3 || run.Findings["V13"] != 3 {
		t.Fatalf("third run %+v, want 1 job and 3 V13 flags", run)
	}
	run, err = w.s.RunIntakeChecks(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if run.Jobs != 0 || run.Flags != 0 || run.Batches != 0 {
		t.Fatalf("fourth run %+v, want nothing", run)
	}
}

// TestRunIntakeChecksConcurrent runs three checkers at once in small steps
// over the same sample: every job is checked exactly once, and the flags
// are exactly the planted data-based mismatches.
func TestRunIntakeChecksConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const n = 4000
	s := intakeSampleWorld(t, n, 23)
	var (
		mu          sync.Mutex
		jobs, flags int
		wg          sync.WaitGroup
		errs        = make(chan error, 3)
	)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := *s
			for {
				run, err := st.RunIntakeChecks(ctx, 700)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				jobs += run.Jobs
				flags += run.Flags
				mu.Unlock()
				if run.Jobs == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var checked, inTable, missing, extra int
	err := s.Pool.QueryRow(ctx, `
		WITH planted AS (
		    SELECT st.work_order_id, r.rule FROM sample_truth st, unnest(st.planted) AS r(rule)
		    WHERE r.rule IN ('V7', 'V9', 'V11', 'V12', 'V13', 'V15')
		)
		SELECT (SELECT count(*) FROM audit_intake_checked), (SELECT count(*) FROM flags),
		       (SELECT count(*) FROM planted p WHERE NOT EXISTS (SELECT 1 FROM flags f WHERE f.work_order_id = p.work_order_id AND f.rule = p.rule)),
		       (SELECT count(*) FROM flags f WHERE NOT EXISTS (SELECT 1 FROM planted p WHERE f.work_order_id = p.work_order_id AND f.rule = p.rule))`).
		Scan(&checked, &inTable, &missing, &extra)
	if err != nil {
		t.Fatal(err)
	}
	if jobs != n || checked != n || flags != inTable || missing != 0 || extra != 0 || inTable == 0 {
		t.Fatalf("runs checked %d jobs (table %d), raised %d flags (table %d); %d planted not flagged, %d flags not planted; want %d jobs, all planted, nothing else",
			jobs, checked, flags, inTable, missing, extra, n)
	}
}
