package campaigns_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/campaigns"
	"github.com/huifang/huifang/internal/testdb"
	"github.com/huifang/huifang/workorders"
)

// The zones the enrolment and hopper tests call into.
var (
	tzShanghai   = loadZone("Asia/Shanghai")
	tzNewYork    = loadZone("America/New_York")
	tzLosAngeles = loadZone("America/Los_Angeles")
)

func loadZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// cnPhone and usPhone make distinct valid numbers: a Chinese mobile, and a
// number in the US fictional range 555-01xx of an area code (212 is New
// York, so the number implies America/New_York).
func cnPhone(i int) string              { return fmt.Sprintf("+86138%08d", i) }
func usPhone(area string, i int) string { return fmt.Sprintf("+1%s55501%02d", area, i) }

// jobSpec is one completed job as an upstream system sends it. Left empty,
// a field is a Guangdong water-heater repair by provider P-GD with 100.00 of
// labour and one claimed part of 200.00.
type jobSpec struct {
	id        string
	phone     string
	completed time.Time
	kind      string
	category  string
	region    string
	provider  string
	labour    workorders.Money
	partCost  workorders.Money
	noParts   bool
}

func (s jobSpec) order() workorders.Order {
	or := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	o := workorders.Order{
		ExternalID:  s.id,
		Kind:        workorders.Kind(or(s.kind, "repair")),
		CompletedAt: s.completed.UTC(),
		Customer: workorders.Customer{
			ExternalID: "C-" + s.id, Name: "customer " + s.id, Phone: s.phone, Region: or(s.region, "CN-GD"),
		},
		Provider:        workorders.Provider{Code: or(s.provider, "P-GD"), Name: or(s.provider, "P-GD")},
		ProductCategory: or(s.category, "water_heater"),
		ProductModel:    "HF-100",
		WarrantyStatus:  workorders.InWarranty,
		LabourMinutes:   -1,
		LabourAmount:    s.labour,
	}
	if o.LabourAmount == 0 {
		o.LabourAmount = 10000
	}
	if !s.noParts {
		cost := s.partCost
		if cost == 0 {
			cost = 20000
		}
		o.Parts = []workorders.ClaimedPart{{Code: "HE-1", NameEN: "heating element", NameZH: "加热管", Quantity: 1, UnitCost: cost}}
	}
	return o
}

// enrolEnv is a fresh database with jobs imported through the ordinary
// intake path and campaigns stored through the Store.
type enrolEnv struct {
	pool  *pgxpool.Pool
	store *campaigns.Store
	ids   map[string]int64 // external id → work_orders.id
}

func newEnrolEnv(t *testing.T) *enrolEnv {
	t.Helper()
	return newEnrolEnvOn(t, testdb.New(t))
}

func newEnrolEnvOn(t *testing.T, pool *pgxpool.Pool) *enrolEnv {
	t.Helper()
	return &enrolEnv{pool: pool, store: &campaigns.Store{Pool: pool}, ids: map[string]int64{}}
}

// addJobs imports jobs as a CSV file through workorders.Store.Import.
func (e *enrolEnv) addJobs(t *testing.T, specs ...jobSpec) {
	t.Helper()
	ctx := context.Background()
	ws := &workorders.Store{Pool: e.pool, Now: func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }}
	src, err := ws.EnsureSource(ctx, "upstream", "file", workorders.Defaults{Region: "CN"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(workorders.FieldNames())
	var rec []string
	for _, s := range specs {
		o := s.order()
		rec = workorders.CSVRecord(&o, rec)
		w.Write(rec)
	}
	w.Flush()
	r, err := workorders.NewCSVReader("jobs.csv", &buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := ws.Import(ctx, src, r, workorders.ImportOptions{Actor: "test"})
	if err != nil {
		for _, re := range res.Errors {
			t.Log(re)
		}
		t.Fatalf("import: %v", err)
	}
	rows, err := e.pool.Query(ctx, `SELECT external_id, id FROM work_orders`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var ext string
		var id int64
		if err := rows.Scan(&ext, &id); err != nil {
			t.Fatal(err)
		}
		e.ids[ext] = id
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// baseDefinition is a valid campaign with DOMAIN.md's defaults: voice, a
// trigger of 2 h to 5 days, the country's default window, a 30-day cap.
func baseDefinition(name string) *campaigns.Definition {
	d := campaigns.DefaultDefinition()
	d.Name, d.Survey, d.Schedule, d.From = name, "repair-parts-verification", "@hourly", []string{"+862038001234"}
	return d
}

// campaign stores a draft campaign and returns its id and its definition
// as stored.
func (e *enrolEnv) campaign(t *testing.T, name string, edit func(*campaigns.Definition)) (int64, *campaigns.Definition) {
	t.Helper()
	d := baseDefinition(name)
	if edit != nil {
		edit(d)
	}
	c, err := e.store.Create(context.Background(), d, "", "test")
	if err != nil {
		t.Fatal(err)
	}
	return c.ID, c.Definition
}

// contactRow is a contacts row with its job's external id.
type contactRow struct {
	ID                                   int64
	Job, Phone                           string
	Zones                                []string
	Lang, State, Outcome, Channel        string
	NextAt, ExpiresAt                    time.Time
	Attempts, VoiceAttempts, SMSAttempts int
}

type queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// contactsOf returns a campaign's contacts by job.
func contactsOf(t *testing.T, q queryer, campaignID int64) map[string]contactRow {
	t.Helper()
	rows, err := q.Query(context.Background(), `
SELECT k.id, w.external_id, k.phone_e164, k.zones, k.lang, k.state, COALESCE(k.outcome, ''), k.channel,
       k.next_at, k.expires_at, k.attempts, k.voice_attempts, k.sms_attempts
FROM contacts k JOIN work_orders w ON w.id = k.work_order_id
WHERE k.campaign_id = $1`, campaignID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]contactRow{}
	for rows.Next() {
		var c contactRow
		if err := rows.Scan(&c.ID, &c.Job, &c.Phone, &c.Zones, &c.Lang, &c.State, &c.Outcome, &c.Channel,
			&c.NextAt, &c.ExpiresAt, &c.Attempts, &c.VoiceAttempts, &c.SMSAttempts); err != nil {
			t.Fatal(err)
		}
		out[c.Job] = c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// enrol runs one enrolment and commits it.
func (e *enrolEnv) enrol(t *testing.T, id int64, def *campaigns.Definition, now time.Time) campaigns.EnrolResult {
	t.Helper()
	var res campaigns.EnrolResult
	err := pgx.BeginFunc(context.Background(), e.pool, func(tx pgx.Tx) error {
		var err error
		res, err = campaigns.Enrol(context.Background(), tx, id, def, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// enrolDry runs one enrolment in a transaction it rolls back, and returns
// what it did and the contacts it would have made.
func (e *enrolEnv) enrolDry(t *testing.T, id int64, def *campaigns.Definition, now time.Time) (campaigns.EnrolResult, map[string]contactRow) {
	t.Helper()
	ctx := context.Background()
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	res, err := campaigns.Enrol(ctx, tx, id, def, now)
	if err != nil {
		t.Fatal(err)
	}
	return res, contactsOf(t, tx, id)
}

func jobsOf(cs map[string]contactRow) []string {
	return slices.Sorted(maps.Keys(cs))
}

// Targeting filters: each case enrols (and rolls back) one run over the same
// five jobs and lists the jobs it picked.
func TestEnrolTargeting(t *testing.T) {
	t.Parallel()
	e := newEnrolEnv(t)
	now := time.Date(2026, 3, 3, 10, 0, 0, 0, tzShanghai)
	day := 24 * time.Hour
	e.addJobs(t,
		// A Guangdong water-heater repair, 300.00 claimed with a part.
		jobSpec{id: "gd-repair", phone: cnPhone(1), completed: now.Add(-day)},
		// A Fujian range-hood install, 80.00 of labour and no parts.
		jobSpec{id: "fj-install", phone: cnPhone(2), completed: now.Add(-day), kind: "install", category: "range_hood",
			region: "CN-FJ", provider: "P-FJ", labour: 8000, noParts: true},
		// A New York repair, 250.00 claimed.
		jobSpec{id: "ny-repair", phone: usPhone("212", 1), completed: now.Add(-day), region: "US-NY", provider: "P-FJ",
			labour: 5000},
		// An old Guangdong repair, ten days ago.
		jobSpec{id: "gd-old", phone: cnPhone(3), completed: now.Add(-10 * day)},
		// A Beijing dishwasher repair, 1,000.00 claimed.
		jobSpec{id: "bj-dishwasher", phone: cnPhone(4), completed: now.Add(-3 * day), region: "CN-BJ", category: "dishwasher",
			provider: "P-BJ", partCost: 90000},
	)
	id, stored := e.campaign(t, "targeting", func(d *campaigns.Definition) {
		d.Trigger.Within = campaigns.Duration(30 * day) // only completed_within_days limits the age
	})
	cases := []struct {
		name string
		edit func(*campaigns.Targeting)
		want []string
	}{
		{"no filter: the last five days", func(*campaigns.Targeting) {}, []string{"bj-dishwasher", "fj-install", "gd-repair", "ny-repair"}},
		{"completed within 30 days", func(t *campaigns.Targeting) { t.CompletedWithinDays = 30 },
			[]string{"bj-dishwasher", "fj-install", "gd-old", "gd-repair", "ny-repair"}},
		{"completed within 2 days", func(t *campaigns.Targeting) { t.CompletedWithinDays = 2 },
			[]string{"fj-install", "gd-repair", "ny-repair"}},
		{"kind install", func(t *campaigns.Targeting) { t.Kinds = []string{"install"} }, []string{"fj-install"}},
		{"kind repair", func(t *campaigns.Targeting) { t.Kinds = []string{"repair"} }, []string{"bj-dishwasher", "gd-repair", "ny-repair"}},
		{"categories", func(t *campaigns.Targeting) { t.ProductCategories = []string{"range_hood", "dishwasher"} },
			[]string{"bj-dishwasher", "fj-install"}},
		{"region CN-GD", func(t *campaigns.Targeting) { t.Regions = []string{"CN-GD"} }, []string{"gd-repair"}},
		{"country CN matches every CN region", func(t *campaigns.Targeting) { t.Regions = []string{"CN"} },
			[]string{"bj-dishwasher", "fj-install", "gd-repair"}},
		{"country US and region CN-FJ", func(t *campaigns.Targeting) { t.Regions = []string{"US", "CN-FJ"} },
			[]string{"fj-install", "ny-repair"}},
		{"provider", func(t *campaigns.Targeting) { t.Providers = []string{"P-FJ"} }, []string{"fj-install", "ny-repair"}},
		{"min claim value 250 (labour plus parts, inclusive)", func(t *campaigns.Targeting) { t.MinClaimValue = 250 },
			[]string{"bj-dishwasher", "gd-repair", "ny-repair"}},
		{"only with parts", func(t *campaigns.Targeting) { t.OnlyWithParts = true },
			[]string{"bj-dishwasher", "gd-repair", "ny-repair"}},
		{"filters combine", func(t *campaigns.Targeting) {
			t.Regions, t.Kinds, t.MinClaimValue = []string{"CN"}, []string{"repair"}, 500
		}, []string{"bj-dishwasher"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			def := *stored
			tc.edit(&def.Targeting)
			res, cs := e.enrolDry(t, id, &def, now)
			if got := jobsOf(cs); !slices.Equal(got, tc.want) {
				t.Fatalf("enrolled %v, want %v", got, tc.want)
			}
			if res.Enrolled != len(tc.want) {
				t.Fatalf("Enrolled = %d, want %d", res.Enrolled, len(tc.want))
			}
		})
	}
}

// Sampling is a hash of (campaign, job): a run rolled back and a run
// committed pick the same jobs; a rate of 0.3 picks about 30% of ordinary
// claims; every claim at or above always_above is picked.
func TestEnrolSamplingIsDeterministic(t *testing.T) {
	t.Parallel()
	e := newEnrolEnv(t)
	now := time.Date(2026, 3, 3, 10, 0, 0, 0, tzShanghai)
	const n = 2000
	big := map[string]bool{}
	specs := make([]jobSpec, n)
	for i := range specs {
		s := jobSpec{id: fmt.Sprintf("J%04d", i), phone: cnPhone(1000 + i), completed: now.Add(-time.Duration(1+i%90) * time.Hour),
			partCost: workorders.Money(5000 + 100*(i%250))} // claims 150.00 … 399.00
		if i%10 == 0 {
			s.partCost = 90000 // 1,000.00 claimed
			big[s.id] = true
		}
		specs[i] = s
	}
	e.addJobs(t, specs...)
	id, def := e.campaign(t, "sampled", func(d *campaigns.Definition) {
		d.Sampling = campaigns.Sampling{Rate: 0.3, AlwaysAbove: 800, RiskyProviders: 1}
	})

	_, dry := e.enrolDry(t, id, def, now)
	res := e.enrol(t, id, def, now)
	got := contactsOf(t, e.pool, id)
	if !slices.Equal(jobsOf(dry), jobsOf(got)) || res.Enrolled != len(got) {
		t.Fatalf("the committed run enrolled %d jobs, the rolled-back run %d, not the same ones", len(got), len(dry))
	}
	ordinary := 0
	for job := range got {
		if !big[job] {
			ordinary++
		}
	}
	for job := range big {
		if _, ok := got[job]; !ok {
			t.Errorf("claim %s of 1,000.00 is above always_above but was not enrolled", job)
		}
	}
	// 1,800 ordinary claims at 0.3: 540 expected, σ ≈ 19.
	if share := float64(ordinary) / float64(n-len(big)); share < 0.26 || share > 0.34 {
		t.Errorf("rate 0.3 enrolled %d of %d ordinary claims (%.3f), want 0.30 ± 0.04", ordinary, n-len(big), share)
	}
	if again := e.enrol(t, id, def, now.Add(time.Hour)); again.Enrolled != 0 {
		t.Errorf("a second run enrolled %d more contacts, want none: the draw is the same and the rest are enrolled", again.Enrolled)
	}

	// Another campaign draws its own sample, and draws it the same way each time.
	id2, def2 := e.campaign(t, "sampled-2", func(d *campaigns.Definition) {
		d.Sampling = campaigns.Sampling{Rate: 0.3, RiskyProviders: 1}
		d.FrequencyCap = 0
	})
	_, a := e.enrolDry(t, id2, def2, now)
	_, b := e.enrolDry(t, id2, def2, now)
	if !slices.Equal(jobsOf(a), jobsOf(b)) {
		t.Error("two runs of the second campaign drew different samples")
	}
	if slices.Equal(jobsOf(a), jobsOf(got)) {
		t.Error("two campaigns drew the same sample: the draw does not depend on the campaign")
	}
}

// A suppressed number is never enrolled; a job already enrolled is not
// enrolled again; one run takes one job per number (the latest).
func TestEnrolSkipsSuppressedEnrolledAndRepeatedNumbers(t *testing.T) {
	t.Parallel()
	e := newEnrolEnv(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 3, 10, 0, 0, 0, tzShanghai)
	e.addJobs(t,
		jobSpec{id: "opted-out", phone: cnPhone(1), completed: now.Add(-5 * time.Hour)},
		jobSpec{id: "shared-earlier", phone: cnPhone(2), completed: now.Add(-6 * time.Hour)},
		jobSpec{id: "shared-later", phone: cnPhone(2), completed: now.Add(-4 * time.Hour)},
		jobSpec{id: "plain", phone: cnPhone(3), completed: now.Add(-4 * time.Hour)},
	)
	if _, err := (&campaigns.Suppressions{Pool: e.pool}).Add(ctx, cnPhone(1), campaigns.ReasonSMSKeyword, "test", "test"); err != nil {
		t.Fatal(err)
	}
	// No frequency cap, so only the rules under test keep jobs out.
	id, def := e.campaign(t, "skips", func(d *campaigns.Definition) { d.FrequencyCap = 0 })

	if res := e.enrol(t, id, def, now); res.Enrolled != 2 {
		t.Errorf("first run enrolled %d, want 2", res.Enrolled)
	}
	if got, want := jobsOf(contactsOf(t, e.pool, id)), []string{"plain", "shared-later"}; !slices.Equal(got, want) {
		t.Fatalf("first run enrolled %v, want %v (not the opted-out number, the later of two jobs on one number)", got, want)
	}
	// The next run takes the other job on the shared number, and enrols
	// nothing twice.
	if res := e.enrol(t, id, def, now.Add(time.Hour)); res.Enrolled != 1 {
		t.Errorf("second run enrolled %d, want 1", res.Enrolled)
	}
	if got, want := jobsOf(contactsOf(t, e.pool, id)), []string{"plain", "shared-earlier", "shared-later"}; !slices.Equal(got, want) {
		t.Fatalf("after the second run: %v, want %v", got, want)
	}
	if res := e.enrol(t, id, def, now.Add(2*time.Hour)); res.Enrolled != 0 {
		t.Errorf("third run enrolled %d, want 0", res.Enrolled)
	}
}

// The frequency cap holds across campaigns: a second campaign enrols none of
// the first's customers within 30 days, and does once the cap has passed.
func TestEnrolFrequencyCapAcrossCampaigns(t *testing.T) {
	t.Parallel()
	e := newEnrolEnv(t)
	t0 := time.Date(2026, 3, 3, 10, 0, 0, 0, tzShanghai)
	day := 24 * time.Hour
	var first []jobSpec
	for i := range 4 {
		first = append(first, jobSpec{id: fmt.Sprintf("a%d", i), phone: cnPhone(i), completed: t0.Add(-3 * time.Hour)})
	}
	e.addJobs(t, first...)
	idA, defA := e.campaign(t, "first", nil)
	idB, defB := e.campaign(t, "second", nil)
	if res := e.enrol(t, idA, defA, t0); res.Enrolled != 4 {
		t.Fatalf("the first campaign enrolled %d, want 4", res.Enrolled)
	}

	// A day later a new customer's job arrives: the second campaign takes
	// it and none of the first's customers' jobs.
	e.addJobs(t, jobSpec{id: "newcomer", phone: cnPhone(9), completed: t0.Add(20 * time.Hour)})
	if res := e.enrol(t, idB, defB, t0.Add(day)); res.Enrolled != 1 {
		t.Fatalf("the second campaign enrolled %d a day later, want only the newcomer", res.Enrolled)
	}
	if got := jobsOf(contactsOf(t, e.pool, idB)); !slices.Equal(got, []string{"newcomer"}) {
		t.Fatalf("the second campaign enrolled %v, want [newcomer]", got)
	}

	// The first customers have new jobs: still capped on day 29, not on day 31.
	var again []jobSpec
	for i := range 4 {
		again = append(again, jobSpec{id: fmt.Sprintf("b%d", i), phone: cnPhone(i), completed: t0.Add(28 * day)})
	}
	e.addJobs(t, again...)
	if res := e.enrol(t, idB, defB, t0.Add(29*day)); res.Enrolled != 0 {
		t.Fatalf("on day 29 the second campaign enrolled %d of the first's customers, want 0", res.Enrolled)
	}
	if res := e.enrol(t, idB, defB, t0.Add(30*day+time.Hour)); res.Enrolled != 4 {
		t.Fatalf("after 30 days the second campaign enrolled %d, want the 4 customers' new jobs", res.Enrolled)
	}
	if got, want := jobsOf(contactsOf(t, e.pool, idB)), []string{"b0", "b1", "b2", "b3", "newcomer"}; !slices.Equal(got, want) {
		t.Fatalf("the second campaign holds %v, want %v", got, want)
	}
}

// The first attempt is due at completion plus trigger.after, moved into the
// recipient's calling window, in every zone of theirs; a contact whose
// window does not open before its deadline ends expired at once.
func TestEnrolFirstAttemptInWindow(t *testing.T) {
	t.Parallel()
	e := newEnrolEnv(t)
	holidays := campaigns.DefaultChina()
	holidays.Holidays = []campaigns.Date{{Year: 2026, Month: 10, Day: 1}, {Year: 2026, Month: 10, Day: 2}, {Year: 2026, Month: 10, Day: 3}}
	cases := []struct {
		name      string
		job       jobSpec
		edit      func(*campaigns.Definition)
		now       time.Time
		wantAt    time.Time // zero: expired
		wantZones []string
		deferred  bool
	}{
		{
			name: "Shanghai, due in the 12:00-14:00 break: at 14:00",
			job:  jobSpec{phone: cnPhone(1), completed: time.Date(2026, 3, 3, 10, 30, 0, 0, tzShanghai)},
			now:  time.Date(2026, 3, 3, 12, 30, 0, 0, tzShanghai), wantAt: time.Date(2026, 3, 3, 14, 0, 0, 0, tzShanghai),
			wantZones: []string{"Asia/Shanghai"}, deferred: true,
		},
		{
			name: "Shanghai, due an hour ago and the window open: now",
			job:  jobSpec{phone: cnPhone(2), completed: time.Date(2026, 3, 3, 7, 15, 0, 0, tzShanghai)},
			now:  time.Date(2026, 3, 3, 10, 15, 0, 0, tzShanghai), wantAt: time.Date(2026, 3, 3, 10, 15, 0, 0, tzShanghai),
			wantZones: []string{"Asia/Shanghai"},
		},
		{
			name: "Shanghai, due tonight after 20:00: tomorrow 09:00",
			job:  jobSpec{phone: cnPhone(3), completed: time.Date(2026, 3, 3, 19, 0, 0, 0, tzShanghai)},
			now:  time.Date(2026, 3, 3, 19, 5, 0, 0, tzShanghai), wantAt: time.Date(2026, 3, 4, 9, 0, 0, 0, tzShanghai),
			wantZones: []string{"Asia/Shanghai"}, deferred: true,
		},
		{
			// Saturday 20:00 EST closes the window, Sunday is closed and
			// the clocks go forward at 02:00 on Sunday 8 March.
			name: "New York, Saturday evening before the DST change: Monday 09:00 EDT",
			job:  jobSpec{phone: usPhone("212", 1), region: "US-NY", completed: time.Date(2026, 3, 7, 18, 0, 0, 0, tzNewYork)},
			now:  time.Date(2026, 3, 7, 20, 30, 0, 0, tzNewYork), wantAt: time.Date(2026, 3, 9, 13, 0, 0, 0, time.UTC),
			wantZones: []string{"America/New_York"}, deferred: true,
		},
		{
			name: "Los Angeles address, New York number, evening: when both are open",
			job:  jobSpec{phone: usPhone("212", 2), region: "US-CA", completed: time.Date(2026, 3, 10, 16, 0, 0, 0, tzLosAngeles)},
			// Due 18:00 PDT = 21:00 EDT: open in LA, closed in New York.
			now: time.Date(2026, 3, 10, 18, 30, 0, 0, tzLosAngeles), wantAt: time.Date(2026, 3, 11, 9, 0, 0, 0, tzLosAngeles),
			wantZones: []string{"America/Los_Angeles", "America/New_York"}, deferred: true,
		},
		{
			name: "Los Angeles address, New York number, morning: when both are open",
			job:  jobSpec{phone: usPhone("212", 3), region: "US-CA", completed: time.Date(2026, 3, 11, 4, 30, 0, 0, tzLosAngeles)},
			// Due 06:30 PDT = 09:30 EDT: open in New York, closed in LA.
			now: time.Date(2026, 3, 11, 6, 35, 0, 0, tzLosAngeles), wantAt: time.Date(2026, 3, 11, 9, 0, 0, 0, tzLosAngeles),
			wantZones: []string{"America/Los_Angeles", "America/New_York"}, deferred: true,
		},
		{
			name: "National Day holidays are skipped",
			job:  jobSpec{phone: cnPhone(4), completed: time.Date(2026, 9, 30, 19, 30, 0, 0, tzShanghai)},
			edit: func(d *campaigns.Definition) { d.Window = holidays },
			now:  time.Date(2026, 9, 30, 21, 30, 0, 0, tzShanghai), wantAt: time.Date(2026, 10, 4, 9, 0, 0, 0, tzShanghai),
			wantZones: []string{"Asia/Shanghai"}, deferred: true,
		},
		{
			name:      "the window never opens before the deadline: expired",
			job:       jobSpec{phone: cnPhone(5), completed: time.Date(2026, 3, 3, 19, 0, 0, 0, tzShanghai)},
			edit:      func(d *campaigns.Definition) { d.Trigger.Within = campaigns.Duration(6 * time.Hour) },
			now:       time.Date(2026, 3, 3, 21, 0, 0, 0, tzShanghai),
			wantZones: []string{"Asia/Shanghai"}, deferred: true,
		},
	}
	var specs []jobSpec
	for i := range cases {
		cases[i].job.id = fmt.Sprintf("job%d", i)
		cases[i].job.provider = fmt.Sprintf("P-%d", i)
		specs = append(specs, cases[i].job)
	}
	e.addJobs(t, specs...)
	id, stored := e.campaign(t, "windows", nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			def := *stored
			def.Targeting.Providers = []string{tc.job.provider}
			if tc.edit != nil {
				tc.edit(&def)
			}
			res, cs := e.enrolDry(t, id, &def, tc.now)
			c, ok := cs[tc.job.id]
			if !ok || len(cs) != 1 {
				t.Fatalf("enrolled %v, want just %s", jobsOf(cs), tc.job.id)
			}
			want := campaigns.EnrolResult{Enrolled: 1}
			if tc.deferred {
				want.Deferred = 1
			}
			if res != want {
				t.Errorf("result %+v, want %+v", res, want)
			}
			if !slices.Equal(c.Zones, tc.wantZones) {
				t.Errorf("zones %v, want %v", c.Zones, tc.wantZones)
			}
			if tc.wantAt.IsZero() {
				if c.State != "done" || c.Outcome != "expired" {
					t.Fatalf("contact %s %s due %s (deadline %s), want done expired", c.State, c.Outcome, c.NextAt, c.ExpiresAt)
				}
				return
			}
			if c.State != "queued" || !c.NextAt.Equal(tc.wantAt) {
				t.Fatalf("contact %s, due %s, want queued due %s", c.State, c.NextAt.UTC(), tc.wantAt.UTC())
			}
			if wantExp := tc.job.completed.Add(time.Duration(def.Trigger.Within)); !c.ExpiresAt.Equal(wantExp) {
				t.Errorf("deadline %s, want completion + within = %s", c.ExpiresAt.UTC(), wantExp.UTC())
			}
		})
	}
}
