package sample

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/huifang/huifang/workorders"
)

var testNow = time.Date(2026, 3, 31, 10, 30, 0, 0, time.UTC)

func generate(t testing.TB, cfg Config) []Job {
	t.Helper()
	if cfg.Now.IsZero() {
		cfg.Now = testNow
	}
	jobs, err := Jobs(cfg)
	if err != nil {
		t.Fatalf("Generate(%+v): %v", cfg, err)
	}
	return jobs
}

// bomOf indexes the catalog's BOMs by model code.
func bomOf(t testing.TB) map[string]map[string]BOMPart {
	t.Helper()
	out := map[string]map[string]BOMPart{}
	for _, m := range Catalog() {
		bom := map[string]BOMPart{}
		for _, p := range m.BOM {
			bom[p.Code] = p
		}
		out[m.Code] = bom
	}
	return out
}

func modelsByCode() map[string]Model {
	out := map[string]Model{}
	for _, m := range Catalog() {
		out[m.Code] = m
	}
	return out
}

func TestGenerateIsDeterministic(t *testing.T) {
	t.Parallel()
	cfg := Config{Seed: 42, Jobs: 3000, Now: testNow}
	a, b := generate(t, cfg), generate(t, cfg)
	if !reflect.DeepEqual(a, b) {
		for i := range a {
			if !reflect.DeepEqual(a[i], b[i]) {
				t.Fatalf("job %d differs between two runs with seed 42:\n%+v\n%+v", i, a[i], b[i])
			}
		}
	}

	cfg.Seed = 43
	c := generate(t, cfg)
	same := 0
	for i := range a {
		if a[i].Order.Customer.Phone == c[i].Order.Customer.Phone {
			same++
		}
	}
	if same > len(a)/100 {
		t.Errorf("seeds 42 and 43 share the phone of %d of %d jobs; different seeds should give different samples", same, len(a))
	}
}

func TestGenerateEmitsJobsJobs(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 2, 1234} {
		count := 0
		err := Generate(Config{Seed: 1, Jobs: n, Now: testNow}, func(*Job) error { count++; return nil })
		if err != nil || count != n {
			t.Errorf("Jobs=%d: emitted %d jobs, err %v", n, count, err)
		}
	}
}

func TestGenerateStopsAtEmitError(t *testing.T) {
	t.Parallel()
	stop := errors.New("stop")
	count := 0
	err := Generate(Config{Seed: 1, Jobs: 100, Now: testNow}, func(*Job) error {
		count++
		if count == 7 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || count != 7 {
		t.Errorf("got err %v after %d jobs, want the emit error after 7", err, count)
	}
}

func TestGenerateRejectsBadConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no Now", Config{Jobs: 1}, "Now is required"},
		{"negative Jobs", Config{Jobs: -1, Now: testNow}, "must not be negative"},
		{"too many Jobs", Config{Jobs: MaxJobs + 1, Now: testNow}, "at most"},
		{"BadShare above 1", Config{Jobs: 1, Now: testNow, BadShare: 1.5}, "BadShare"},
		{"unknown country", Config{Jobs: 1, Now: testNow, Mix: map[string]float64{"CN": 1, "FR": 1}}, `"FR"`},
		{"negative share", Config{Jobs: 1, Now: testNow, Mix: map[string]float64{"CN": -1}}, "share"},
		{"all shares zero", Config{Jobs: 1, Now: testNow, Mix: map[string]float64{"CN": 0, "US": 0}}, "no positive share"},
	}
	for _, tc := range cases {
		err := Generate(tc.cfg, func(*Job) error { t.Errorf("%s: emitted a job", tc.name); return nil })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one mentioning %s", tc.name, err, tc.want)
		}
	}
}

func TestJobsAreReusedButClonesAreNot(t *testing.T) {
	t.Parallel()
	var first *Job
	var kept Job
	err := Generate(Config{Seed: 5, Jobs: 50, Now: testNow}, func(j *Job) error {
		if first == nil {
			first, kept = j, *j.Clone()
			return nil
		}
		if j != first {
			t.Fatal("Generate passed a new *Job; the documentation says it reuses one")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if kept.Order.ExternalID != "S00000001" || kept.Order.ExternalID == first.Order.ExternalID {
		t.Errorf("clone of the first job has id %q, the reused job %q", kept.Order.ExternalID, first.Order.ExternalID)
	}
}

var zoneCache sync.Map

// loadZone is time.LoadLocation, which reads a file on every call, cached.
func loadZone(name string) (*time.Location, error) {
	if loc, ok := zoneCache.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err == nil {
		zoneCache.Store(name, loc)
	}
	return loc, err
}

func answerBad(j *Job) bool {
	for _, r := range []string{"V1", "V2", "V3", "V4", "V5"} {
		if j.HasPlanted(r) {
			return true
		}
	}
	return false
}

func TestPlantedShares(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		badShare, want float64
	}{
		{0, DefaultBadShare},
		{0.30, 0.30},
		{0.05, 0.05},
		{-1, 0},
	} {
		jobs := generate(t, Config{Seed: 7, Jobs: 20_000, BadShare: tc.badShare})
		bad, unreachable := 0, 0
		rules := map[string]int{}
		for i := range jobs {
			if answerBad(&jobs[i]) {
				bad++
			}
			if jobs[i].Truth.Reach != ReachAnswers {
				unreachable++
			}
			for _, r := range jobs[i].Planted {
				rules[r]++
			}
		}
		share := float64(bad) / float64(len(jobs))
		if math.Abs(share-tc.want) > 0.01 {
			t.Errorf("BadShare %v: %.4f of jobs have an answer-based plant, want %.2f ± 0.01", tc.badShare, share, tc.want)
		}
		if s := float64(unreachable) / float64(len(jobs)); math.Abs(s-0.25) > 0.015 {
			t.Errorf("BadShare %v: %.4f of customers do not simply answer, want 0.25 ± 0.015", tc.badShare, s)
		}
		// Data-based plants are rare but present, whatever BadShare says.
		for _, r := range []string{"V7", "V9", "V11", "V12", "V13", "V15"} {
			if s := float64(rules[r]) / float64(len(jobs)); rules[r] < 20 || s > 0.03 {
				t.Errorf("BadShare %v: %s planted in %d jobs (%.4f), want at least 20 and at most 3%%", tc.badShare, r, rules[r], s)
			}
		}
		if tc.want > 0 {
			for _, r := range []string{"V1", "V2", "V3", "V4", "V5"} {
				if rules[r] == 0 {
					t.Errorf("BadShare %v: %s never planted", tc.badShare, r)
				}
			}
		}
	}
}

// TestPlantedMatchesTruth recomputes every rule from the Order, the Truth and
// the jobs before, and checks that Planted lists exactly the rules whose
// mismatch is there — no more, no fewer.
func TestPlantedMatchesTruth(t *testing.T) {
	t.Parallel()
	jobs := generate(t, Config{Seed: 11, Jobs: 20_000, BadShare: 0.25})
	boms, models := bomOf(t), modelsByCode()
	techPhones := map[string]bool{}
	for _, p := range TechnicianPhones() {
		techPhones[p] = true
	}

	customersOnPhone := map[string]map[string]bool{}
	for _, j := range jobs {
		c := j.Order.Customer
		if customersOnPhone[c.Phone] == nil {
			customersOnPhone[c.Phone] = map[string]bool{}
		}
		customersOnPhone[c.Phone][c.ExternalID] = true
	}

	firstBySerial := map[string]*Job{}
	for i := range jobs {
		j := &jobs[i]
		o, tr := &j.Order, &j.Truth
		bom := boms[o.ProductModel]
		m := models[o.ProductModel]
		loc, err := loadZone(o.Customer.TimeZone)
		if err != nil {
			t.Fatalf("%s: zone %q: %v", o.ExternalID, o.Customer.TimeZone, err)
		}
		y, mo, d := o.CompletedAt.In(loc).Date()
		done := time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)

		replaced := func(code string) bool { return slices.Contains(tr.ReplacedParts, code) }
		anyClaimedReplaced, allClaimedReplaced := false, true
		for _, p := range o.Parts {
			if replaced(p.Code) {
				anyClaimedReplaced = true
			} else {
				allClaimedReplaced = false
			}
		}

		want := map[string]bool{
			"V1": !tr.Visited,
			"V2": len(o.Parts) > 0 && len(tr.ReplacedParts) == 0,
			"V3": len(o.Parts) > 0 && len(tr.ReplacedParts) > 0 && !anyClaimedReplaced,
			"V4": tr.PaidAmount > o.CustomerPaid,
			"V5": !tr.Fixed,
		}
		first, seen := firstBySerial[o.SerialNumber]
		want["V7"] = seen
		want["V15"] = seen
		if !seen {
			firstBySerial[o.SerialNumber] = j
		} else {
			gap := o.CompletedAt.Sub(first.Order.CompletedAt)
			if first.Order.Customer.ExternalID != o.Customer.ExternalID || gap <= 0 || gap > 30*24*time.Hour ||
				o.Kind != workorders.Repair || first.Order.Fault != o.Fault || first.Order.Parts[0].Code != o.Parts[0].Code && !j.HasPlanted("V11") {
				t.Errorf("%s repeats the serial of %s but not as the same customer's unit with the same fault and part, later, within 30 days",
					o.ExternalID, first.Order.ExternalID)
			}
		}
		want["V9"] = (o.Kind == workorders.Repair && o.WarrantyStatus == workorders.InWarranty && o.WarrantyEndsOn.Before(done)) ||
			(o.Kind == workorders.Install && o.DeliveredOn.After(done))
		v11 := false
		for _, p := range o.Parts {
			if b, ok := bom[p.Code]; !ok || p.Quantity > b.MaxQty {
				v11 = true
			}
		}
		want["V11"] = v11
		std := m.StandardLabourMinutes
		if o.Kind == workorders.Install {
			std = m.InstallLabourMinutes
		}
		want["V12"] = o.LabourMinutes*2 > std*3
		want["V13"] = techPhones[o.Customer.Phone] || len(customersOnPhone[o.Customer.Phone]) >= 3

		for rule, present := range want {
			if present != j.HasPlanted(rule) {
				t.Errorf("%s (%s): %s present in the data = %v, planted = %v\norder %+v\ntruth %+v",
					o.ExternalID, j.Persona, rule, present, j.HasPlanted(rule), *o, *tr)
			}
		}
		if len(want) < len(j.Planted) {
			t.Errorf("%s: planted %v holds rules the test does not know", o.ExternalID, j.Planted)
		}

		// The truth tells one story.
		if !want["V2"] && !want["V3"] && !allClaimedReplaced {
			t.Errorf("%s: honest about parts, yet claimed %v and replaced %v", o.ExternalID, o.Parts, tr.ReplacedParts)
		}
		if want["V3"] {
			if !replaced(tr.ActualPartCode) {
				t.Errorf("%s: V3 with actual part %q not among replaced %v", o.ExternalID, tr.ActualPartCode, tr.ReplacedParts)
			}
			actual := bom[tr.ActualPartCode]
			for _, p := range o.Parts {
				if p.NameEN == actual.NameEN || p.NameZH == actual.NameZH {
					t.Errorf("%s: V3 replaced %q, which a customer cannot tell from the claimed %q", o.ExternalID, actual.NameEN, p.NameEN)
				}
			}
		} else if tr.ActualPartCode != "" {
			t.Errorf("%s: ActualPartCode %q without V3", o.ExternalID, tr.ActualPartCode)
		}
		if !tr.Visited && (tr.Installed || tr.PaidAmount != 0 || len(tr.ReplacedParts) > 0 || tr.Fixed) {
			t.Errorf("%s: no visit, yet %+v", o.ExternalID, *tr)
		}
		if tr.Installed != (tr.Visited && o.Kind == workorders.Install) || tr.Working != tr.Fixed {
			t.Errorf("%s (%s): Installed %v Working %v Fixed %v", o.ExternalID, o.Kind, tr.Installed, tr.Working, tr.Fixed)
		}

		// The persona names the planted story, or else how the customer fails to answer.
		personaRule := map[string]string{
			PersonaNoVisit: "V1", PersonaPartNotReplaced: "V2", PersonaOtherPart: "V3",
			PersonaCharged: "V4", PersonaNotFixed: "V5",
		}
		if r, ok := personaRule[j.Persona]; ok {
			if !j.HasPlanted(r) {
				t.Errorf("%s: persona %s without %s planted (%v)", o.ExternalID, j.Persona, r, j.Planted)
			}
		} else {
			if answerBad(j) {
				t.Errorf("%s: persona %s but planted %v", o.ExternalID, j.Persona, j.Planted)
			}
			wantReach := j.Persona
			if j.Persona == PersonaHonest {
				wantReach = ReachAnswers
			}
			if tr.Reach != wantReach {
				t.Errorf("%s: persona %s with reach %s", o.ExternalID, j.Persona, tr.Reach)
			}
		}
		if j.HasPlanted("V13") && (answerBad(j) || tr.Reach != ReachAnswers) {
			t.Errorf("%s: the accomplice on a V13 phone answers and confirms the claim; got %v, reach %s", o.ExternalID, j.Planted, tr.Reach)
		}
		if (tr.Reach == ReachHangsUp) != (tr.HangUpAfter >= 1 && tr.HangUpAfter <= 3) {
			t.Errorf("%s: reach %s, hangs up after question %d", o.ExternalID, tr.Reach, tr.HangUpAfter)
		}
		if tr.CSAT < 1 || tr.CSAT > 5 || tr.NPS < 0 || tr.NPS > 10 {
			t.Errorf("%s: CSAT %d NPS %d out of range", o.ExternalID, tr.CSAT, tr.NPS)
		}
		if tr.Lang != o.Customer.Lang {
			t.Errorf("%s: truth speaks %s, the customer record says %s", o.ExternalID, tr.Lang, o.Customer.Lang)
		}
	}
}

func TestOrdersLookReal(t *testing.T) {
	t.Parallel()
	jobs := generate(t, Config{Seed: 3, Jobs: 20_000, SourcePrefix: "DEMO-"})
	boms, models := bomOf(t), modelsByCode()
	ids, serials := map[string]bool{}, map[string]string{}
	customers := map[string]string{} // phone → customer id, outside V13
	recent, countries := 0, map[string]int{}
	checkedTech := map[string]bool{}
	for i := range jobs {
		j := &jobs[i]
		o := &j.Order
		c := o.Customer
		where := o.ExternalID
		if !strings.HasPrefix(o.ExternalID, "DEMO-") || !strings.HasPrefix(c.ExternalID, "DEMO-C") || ids[o.ExternalID] {
			t.Errorf("%s: external id not unique or without prefix (customer %s)", where, c.ExternalID)
		}
		ids[o.ExternalID] = true
		country := c.Region[:2]
		countries[country]++

		// libphonenumber takes ~0.1 ms a number: check the first jobs' numbers
		// in full and the shape of the rest; TestEveryPhoneRangeIsValid covers
		// every range numbers are drawn from.
		if i < 2000 || j.HasPlanted("V13") {
			checkPhone(t, where+" customer", c.Phone, country)
		} else if !phoneShape[country].MatchString(c.Phone) {
			t.Errorf("%s: customer phone %q is not a %s number", where, c.Phone, country)
		}
		if !checkedTech[o.TechnicianPhone] {
			checkPhone(t, where+" technician", o.TechnicianPhone, country)
			checkedTech[o.TechnicianPhone] = true
		}
		if !j.HasPlanted("V13") {
			if prev, ok := customers[c.Phone]; ok && prev != c.ExternalID {
				t.Errorf("%s: customer %s has the phone of customer %s without V13", where, c.ExternalID, prev)
			}
			customers[c.Phone] = c.ExternalID
		}
		if prev, ok := serials[o.SerialNumber]; ok && !j.HasPlanted("V7") {
			t.Errorf("%s: serial %s already used by %s", where, o.SerialNumber, prev)
		}
		serials[o.SerialNumber] = o.ExternalID

		if _, err := loadZone(c.TimeZone); err != nil {
			t.Errorf("%s: time zone %q: %v", where, c.TimeZone, err)
		}
		if zone, ok := workorders.RegionTimeZone(c.Region); !ok || zone != c.TimeZone {
			t.Errorf("%s: region %s has zone %q, intake maps it to %q", where, c.Region, c.TimeZone, zone)
		}
		wantLang, wantCur := map[string]string{"CN": "zh-CN", "US": "en"}[country], map[string]string{"CN": "CNY", "US": "USD"}[country]
		if c.Lang != wantLang || o.Currency != wantCur {
			t.Errorf("%s: %s customer speaks %q and pays in %q", where, country, c.Lang, o.Currency)
		}
		if c.Name == "" || c.Address == "" || o.Technician == "" || o.Brand == "" || o.Provider.Code == "" {
			t.Errorf("%s: missing name, address, technician, brand or provider: %+v", where, *o)
		}
		if country == "CN" && !strings.Contains(c.Address, "号") || country == "US" && !strings.Contains(c.Address, ", ") {
			t.Errorf("%s: address %q does not look like a %s address", where, c.Address, country)
		}

		if !o.CompletedAt.After(testNow.Add(-14*24*time.Hour)) || o.CompletedAt.After(testNow) {
			t.Errorf("%s: completed %s, not within the 14 days before %s", where, o.CompletedAt, testNow)
		}
		if testNow.Sub(o.CompletedAt) < 6*time.Hour {
			recent++
		}

		m, ok := models[o.ProductModel]
		if !ok || m.Brand != o.Brand || m.Category != o.ProductCategory || m.Market != country {
			t.Errorf("%s: model %s (%s %s) is not a %s catalog model", where, o.ProductModel, o.Brand, o.ProductCategory, country)
		}
		switch o.Kind {
		case workorders.Install:
			if len(o.Parts) > 1 || len(o.Parts) == 1 && o.Parts[0].Code != m.InstallKit || o.Fault != "" {
				t.Errorf("%s: an install claims %v, fault %q", where, o.Parts, o.Fault)
			}
		case workorders.Repair:
			if len(o.Parts) < 1 || len(o.Parts) > 3 || o.Fault == "" {
				t.Errorf("%s: a repair claims %d parts, fault %q", where, len(o.Parts), o.Fault)
			}
		default:
			t.Errorf("%s: kind %q", where, o.Kind)
		}
		for _, p := range o.Parts {
			if p.Quantity < 1 || p.UnitCost <= 0 || p.NameEN == "" || p.NameZH == "" {
				t.Errorf("%s: claimed part %+v", where, p)
			}
			if b, ok := boms[o.ProductModel][p.Code]; ok && b.UnitCost != p.UnitCost {
				t.Errorf("%s: %s claimed at %s, BOM says %s", where, p.Code, p.UnitCost, b.UnitCost)
			}
		}
		std := m.StandardLabourMinutes
		if o.Kind == workorders.Install {
			std = m.InstallLabourMinutes
		}
		if !j.HasPlanted("V12") && (o.LabourMinutes*4 < std*3 || o.LabourMinutes*2 > std*3) {
			t.Errorf("%s: %d labour minutes, standard %d", where, o.LabourMinutes, std)
		}
		if o.LabourAmount <= 0 {
			t.Errorf("%s: labour amount %s", where, o.LabourAmount)
		}
		switch o.WarrantyStatus {
		case workorders.InWarranty, workorders.Extended:
			if o.CustomerPaid != 0 {
				t.Errorf("%s: customer charged %s on an %s job", where, o.CustomerPaid, o.WarrantyStatus)
			}
			if !j.HasPlanted("V9") && o.WarrantyEndsOn.Sub(o.CompletedAt) < 31*24*time.Hour {
				t.Errorf("%s: warranty ends %s, within 30 days of completion %s (V10 is not planted)", where, o.WarrantyEndsOn, o.CompletedAt)
			}
			if o.DeliveredOn.After(o.WarrantyEndsOn) {
				t.Errorf("%s: delivered %s after the warranty ends %s", where, o.DeliveredOn, o.WarrantyEndsOn)
			}
		case workorders.OutOfWarranty:
			if o.CustomerPaid <= 0 || !o.WarrantyEndsOn.Before(o.CompletedAt) {
				t.Errorf("%s: out of warranty since %s, customer paid %s", where, o.WarrantyEndsOn, o.CustomerPaid)
			}
		case workorders.UnknownStatus:
			if !o.WarrantyEndsOn.IsZero() || o.CustomerPaid != 0 {
				t.Errorf("%s: unknown warranty status with end %s, paid %s", where, o.WarrantyEndsOn, o.CustomerPaid)
			}
		default:
			t.Errorf("%s: warranty status %q", where, o.WarrantyStatus)
		}
	}
	if recent == 0 || recent > len(jobs)/10 {
		t.Errorf("%d of %d jobs completed within 6 hours of Now, want a few", recent, len(jobs))
	}
	if cn := float64(countries["CN"]) / float64(len(jobs)); math.Abs(cn-0.7) > 0.02 {
		t.Errorf("%.3f of jobs in CN, want the default 0.7", cn)
	}
}

var phoneShape = map[string]*regexp.Regexp{
	"CN": regexp.MustCompile(`^\+861(33|35|38|39|50|51|58|86|88|89)\d{8}$`),
	"US": regexp.MustCompile(`^\+1[2-9]\d\d[2-9]\d{6}$`),
}

func checkPhone(t *testing.T, what, phone, country string) {
	t.Helper()
	n, err := phonenumbers.Parse(phone, "")
	if err != nil {
		t.Errorf("%s: phone %q: %v", what, phone, err)
		return
	}
	if !phonenumbers.IsValidNumber(n) || phonenumbers.Format(n, phonenumbers.E164) != phone ||
		phonenumbers.GetRegionCodeForNumber(n) != country {
		t.Errorf("%s: phone %q is not a valid E.164 number in %s", what, phone, country)
	}
	switch typ := phonenumbers.GetNumberType(n); typ {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
	default:
		t.Errorf("%s: phone %q has type %v, want a number that takes calls and texts", what, phone, typ)
	}
}

// TestEveryPhoneRangeIsValid checks the whole space numbers are drawn from,
// not only the numbers one sample happens to use.
func TestEveryPhoneRangeIsValid(t *testing.T) {
	t.Parallel()
	for _, c := range cities {
		for _, code := range c.areaCodes {
			for line := 100; line < 200; line++ {
				checkPhone(t, c.name, fmt.Sprintf("+1%s555%04d", code, line), "US")
			}
			checkPhone(t, c.name, fmt.Sprintf("+1%s%03d4321", code, usExchanges[0]), "US")
			// Whether a US number is toll-free or premium depends on its area
			// code alone; the exchange only decides validity, which checking
			// against the US metadata alone decides ten times faster.
			for i, x := range usExchanges {
				e164 := fmt.Sprintf("+1%s%03d%04d", code, x, i*37%10_000)
				n, err := phonenumbers.Parse(e164, "")
				if err != nil || !phonenumbers.IsValidNumberForRegion(n, "US") {
					t.Errorf("%s: %s is not a valid US number (%v)", c.name, e164, err)
				}
			}
		}
	}
	for _, block := range cnMobileBlocks {
		for _, rest := range []int{0, 12345678, 99999999} {
			checkPhone(t, "block "+block, fmt.Sprintf("+86%s%08d", block, rest), "CN")
		}
	}
	for _, p := range providers {
		for _, tech := range p.techs {
			checkPhone(t, p.Code+" "+tech.name, tech.phone, p.country)
		}
	}
}

// TestManyCustomersDistinctPhones runs past the 555-01XX lines of every US
// area code and checks no two customers get one number unless V13 says so.
func TestManyCustomersDistinctPhones(t *testing.T) {
	t.Parallel()
	owner := map[string]string{}
	err := Generate(Config{Seed: 9, Jobs: 60_000, Now: testNow, Mix: map[string]float64{"US": 1}}, func(j *Job) error {
		c := j.Order.Customer
		if j.HasPlanted("V13") {
			return nil
		}
		if prev, ok := owner[c.Phone]; ok && prev != c.ExternalID {
			return fmt.Errorf("%s: %s shares %s with %s", j.Order.ExternalID, c.ExternalID, c.Phone, prev)
		}
		owner[c.Phone] = c.ExternalID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fictional := 0
	for p := range owner {
		if p[5:10] == "55501" {
			fictional++
		}
	}
	if fictional == 0 || fictional == len(owner) {
		t.Errorf("%d of %d US numbers in 555-01XX; want the fictional lines first, then others", fictional, len(owner))
	}
}

// TestOverReplacer checks the P1 signal: P-OVR claims more parts per repair
// and dearer ones, and its phantom parts (V2) are more common.
func TestOverReplacer(t *testing.T) {
	t.Parallel()
	jobs := generate(t, Config{Seed: 13, Jobs: 20_000, Mix: map[string]float64{"CN": 1}})
	type stats struct{ repairs, parts, dear, v2 int }
	by := map[bool]*stats{true: {}, false: {}}
	dearest := map[string]workorders.Money{}
	for _, m := range Catalog() {
		costs := []workorders.Money{}
		for _, p := range m.BOM {
			if p.Code != m.InstallKit {
				costs = append(costs, p.UnitCost)
			}
		}
		slices.Sort(costs)
		dearest[m.Code] = costs[len(costs)/2] // parts above the median are "dear"
	}
	for i := range jobs {
		o := &jobs[i].Order
		if o.Kind != workorders.Repair {
			continue
		}
		s := by[o.Provider.Code == OverReplacer]
		s.repairs++
		for _, p := range o.Parts {
			s.parts += p.Quantity
			if p.UnitCost > dearest[o.ProductModel] {
				s.dear++
			}
		}
		if jobs[i].HasPlanted("V2") {
			s.v2++
		}
	}
	over, peers := by[true], by[false]
	if over.repairs < 500 || peers.repairs < 500 {
		t.Fatalf("%d over-replacer repairs, %d peer repairs; too few to compare", over.repairs, peers.repairs)
	}
	ppr := func(s *stats) float64 { return float64(s.parts) / float64(s.repairs) }
	dear := func(s *stats) float64 { return float64(s.dear) / float64(s.parts) }
	v2 := func(s *stats) float64 { return float64(s.v2) / float64(s.repairs) }
	t.Logf("parts per repair %.2f vs %.2f; dear share %.2f vs %.2f; V2 rate %.3f vs %.3f",
		ppr(over), ppr(peers), dear(over), dear(peers), v2(over), v2(peers))
	if ppr(over) < 1.6*ppr(peers) {
		t.Errorf("P-OVR claims %.2f parts per repair, peers %.2f; want at least 1.6×", ppr(over), ppr(peers))
	}
	if dear(over) < dear(peers)+0.1 {
		t.Errorf("P-OVR's share of dear parts %.2f, peers' %.2f; want clearly more", dear(over), dear(peers))
	}
	if v2(over) < 3*v2(peers) {
		t.Errorf("P-OVR's V2 rate %.3f, peers' %.3f; want phantom parts concentrated at P-OVR", v2(over), v2(peers))
	}
}

func TestCatalogAndProviders(t *testing.T) {
	t.Parallel()
	models := Catalog()
	if len(models) < 10 || len(models) > 16 {
		t.Errorf("%d models, want about 12", len(models))
	}
	categories := map[string]bool{}
	codes := map[string]string{}
	for _, m := range models {
		categories[m.Category] = true
		if m.Brand == "" || m.NameEN == "" || m.NameZH == "" || m.WarrantyMonths <= 0 ||
			m.StandardLabourMinutes <= 0 || m.InstallLabourMinutes <= 0 || len(m.BOM) < 4 {
			t.Errorf("%s: incomplete model %+v", m.Code, m)
		}
		names := map[string]bool{}
		for _, p := range m.BOM {
			if prev, ok := codes[p.Code]; ok && prev != m.Code && !sharedPart(p.Code) {
				t.Errorf("part %s in %s and %s", p.Code, prev, m.Code)
			}
			codes[p.Code] = m.Code
			if p.NameEN == "" || p.NameZH == "" || p.UnitCost <= 0 || p.MaxQty < 1 || names[p.NameEN] {
				t.Errorf("%s: BOM part %+v incomplete or named like another", m.Code, p)
			}
			names[p.NameEN] = true
		}
		if m.InstallKit != "" && !slices.ContainsFunc(m.BOM, func(p BOMPart) bool { return p.Code == m.InstallKit }) {
			t.Errorf("%s: install kit %s not on the BOM", m.Code, m.InstallKit)
		}
	}
	for _, c := range []string{"water_heater", "range_hood", "air_conditioner", "gas_stove", "dishwasher"} {
		if !categories[c] {
			t.Errorf("no %s in the catalog", c)
		}
	}
	models[0].BOM[0].Code = "CHANGED"
	if Catalog()[0].BOM[0].Code == "CHANGED" {
		t.Error("Catalog returned its own BOM, not a copy")
	}

	ps := Providers()
	if len(ps) < 6 || len(ps) > 8 {
		t.Errorf("%d providers, want 6–8", len(ps))
	}
	if !slices.ContainsFunc(ps, func(p workorders.Provider) bool { return p.Code == OverReplacer }) {
		t.Errorf("no %s among %v", OverReplacer, ps)
	}
	countries := map[string]bool{}
	for _, p := range providers {
		countries[p.country] = true
	}
	if !countries["CN"] || !countries["US"] {
		t.Errorf("providers in %v, want CN and US", countries)
	}
}

// sharedPart reports parts two sibling models really share (the slim and the
// side-draft hood take the same capacitor and light).
func sharedPart(code string) bool { return code == "QF-CP-RH" || code == "QF-LED-RH" }

// BenchmarkGenerate reports the cost of one job: ns/op and allocs/op are per
// job.
func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	var sink int
	err := Generate(Config{Seed: 1, Jobs: b.N, Now: testNow}, func(j *Job) error {
		sink += len(j.Order.Parts)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	_ = sink
}
