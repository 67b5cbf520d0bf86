package sample

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/huifang/huifang/workorders"
)

// Rates of the data-based plants and other fixed proportions of the sample.
const (
	installShare = 0.30  // of jobs
	recentShare  = 0.05  // of jobs completed within Now's last six hours
	rateV7       = 0.005 // of jobs: a unit serviced again within the window
	rateV9       = 0.005 // of jobs
	rateV11      = 0.008 // of repairs
	rateV12      = 0.01  // of jobs
	rateV13      = 0.003 // of jobs: half a technician's phone, half a group of 3 sharing one
	v13Share     = 2 * rateV13
	groupGapMax  = 40 // jobs between two members of a V13 phone-sharing group
	ringSize     = 64 // recent units per country that V7 may service again
	oneDay       = 24 * time.Hour
)

// The answer-based rule a bad job plants (draft.rule); weights index by it.
const (
	ruleNone = iota
	ruleV1
	ruleV2
	ruleV3
	ruleV4
	ruleV5
)

// The weights pick the answer-based rule of a bad job: installs are not asked
// about parts, and the over-replacer's bad claims are mostly phantom parts.
var (
	weightsInstall    = [6]float64{0, 0.25, 0, 0, 0.35, 0.40}
	weightsRepair     = [6]float64{0, 0.15, 0.20, 0.15, 0.20, 0.30}
	weightsOverRepair = [6]float64{0, 0.05, 0.60, 0.20, 0.05, 0.10}
)

// reachCum is the cumulative distribution of reach behaviours: 75% answer.
var reachCum = []struct {
	p     float64
	reach string
}{
	{0.09, ReachNeverAnswers},
	{0.13, ReachBusy},
	{0.18, ReachVoicemail},
	{0.21, ReachHangsUp},
	{0.23, ReachWrongKeys},
	{0.25, ReachOptsOut},
}

// unit is a recently serviced appliance V7 may claim again.
type unit struct {
	city      int
	provider  int
	model     int
	customer  workorders.Customer
	serial    string
	status    string
	delivered time.Time
	ends      time.Time
	completed time.Time
	fault     int
	part      int
	reach     string
	hangUp    int
	preferSMS bool
}

// group is a V13 phone shared by three made-up customers.
type group struct {
	phone string
	city  int
	left  int // members still to place
	next  int // job index of the next member
}

type generator struct {
	cfg    Config
	jobs   int
	rng    *rand.PCG
	prefix string

	pCN      float64
	cityCum  [2][]float64 // per country (0 CN, 1 US): cumulative weights over cityIdx
	cityIdx  [2][]int
	modelCum [2][]float64
	modelIdx [2][]int
	locs     []*time.Location
	nowDate  []time.Time // Now's local calendar date per city, midnight UTC

	pBad, pBadOver float64
	overIdx        int

	// Counters and offsets keeping numbers unique: customers, units, phones.
	customers, units int
	cnPhones         int
	usPhones         []int // per city
	phoneAdd         uint64
	serialAdd        uint64

	ring  [2][]unit
	ringN [2]int
	grp   group

	buf []byte
}

func newGenerator(cfg Config) (*generator, error) {
	switch {
	case cfg.Jobs < 0:
		return nil, fmt.Errorf("sample: Jobs is %d, must not be negative", cfg.Jobs)
	case cfg.Jobs > MaxJobs:
		return nil, fmt.Errorf("sample: Jobs is %d, at most %d", cfg.Jobs, MaxJobs)
	case cfg.Now.IsZero():
		return nil, errors.New("sample: Now is required")
	case cfg.BadShare > 1 || math.IsNaN(cfg.BadShare):
		return nil, fmt.Errorf("sample: BadShare is %v, must be at most 1", cfg.BadShare)
	}
	bad := cfg.BadShare
	switch {
	case bad == 0:
		bad = DefaultBadShare
	case bad < 0:
		bad = 0
	}
	mix := cfg.Mix
	if len(mix) == 0 {
		mix = map[string]float64{"CN": 0.7, "US": 0.3}
	}
	var total float64
	for k, v := range mix {
		if k != "CN" && k != "US" {
			return nil, fmt.Errorf("sample: Mix has country %q; only CN and US have sample data", k)
		}
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("sample: Mix[%q] is %v, must be a share ≥ 0", k, v)
		}
		total += v
	}
	if total <= 0 {
		return nil, errors.New("sample: Mix has no positive share")
	}
	locs, err := loadZones()
	if err != nil {
		return nil, err
	}

	g := &generator{
		cfg:     cfg,
		jobs:    cfg.Jobs,
		rng:     rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15),
		prefix:  cfg.SourcePrefix,
		pCN:     mix["CN"] / total,
		locs:    locs,
		overIdx: providerIndex(OverReplacer),
	}
	if g.prefix == "" {
		g.prefix = "S"
	}
	seeds := rand.NewPCG(uint64(cfg.Seed), 0x2545f4914f6cdd1d)
	g.phoneAdd = seeds.Uint64()
	g.serialAdd = seeds.Uint64()
	g.usPhones = make([]int, len(cities))
	g.nowDate = make([]time.Time, len(cities))

	// overShare is the expected share of jobs that are the over-replacer's
	// repairs; its bad claims are twice as common and the others' a little
	// rarer, so BadShare holds overall.
	var overShare float64
	for ci := range cities {
		c := &cities[ci]
		k := countryIndex(c.country)
		g.cityIdx[k] = append(g.cityIdx[k], ci)
		g.cityCum[k] = append(g.cityCum[k], last(g.cityCum[k])+c.weight)
		y, m, d := cfg.Now.In(locs[ci]).Date()
		g.nowDate[ci] = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	for _, ci := range g.cityIdx[0] {
		c := &cities[ci]
		var all, over float64
		for _, s := range c.shares {
			all += s.weight
			if s.provider == g.overIdx {
				over += s.weight
			}
		}
		overShare += g.pCN * c.weight / last(g.cityCum[0]) * over / all
	}
	overShare *= 1 - installShare
	bad /= 1 - v13Share // V13 jobs carry no answer-based plant
	g.pBadOver = min(1, 2*bad)
	g.pBad = bad
	if overShare < 1 {
		g.pBad = max(0, (bad-overShare*g.pBadOver)/(1-overShare))
	}

	for mi := range catalog {
		m := &catalog[mi]
		k := countryIndex(m.Market)
		g.modelIdx[k] = append(g.modelIdx[k], mi)
		g.modelCum[k] = append(g.modelCum[k], last(g.modelCum[k])+m.weight)
	}
	return g, nil
}

var zoneLocs = sync.OnceValues(func() ([]*time.Location, error) {
	locs := make([]*time.Location, len(cities))
	for i, c := range cities {
		loc, err := time.LoadLocation(c.zone)
		if err != nil {
			return nil, fmt.Errorf("sample: load zone of %s: %w", c.name, err)
		}
		locs[i] = loc
	}
	return locs, nil
})

func loadZones() ([]*time.Location, error) { return zoneLocs() }

func countryIndex(country string) int {
	if country == "US" {
		return 1
	}
	return 0
}

func last(s []float64) float64 {
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1]
}

// Random helpers. PCG is fast and, being specified, stable across Go releases.

func (g *generator) float() float64 { return float64(g.rng.Uint64()>>11) / (1 << 53) }

func (g *generator) chance(p float64) bool { return g.float() < p }

func (g *generator) intn(n int) int {
	hi, _ := bits.Mul64(g.rng.Uint64(), uint64(n))
	return int(hi)
}

// between returns a uniform integer in [lo, hi].
func (g *generator) between(lo, hi int) int { return lo + g.intn(hi-lo+1) }

// skewed picks an index in [0, n) favouring the front of the list.
func (g *generator) skewed(n int) int { return min(g.intn(n), g.intn(n)) }

func (g *generator) pickCum(cum []float64) int {
	x := g.float() * cum[len(cum)-1]
	for i, c := range cum {
		if x < c {
			return i
		}
	}
	return len(cum) - 1
}

func (g *generator) pickWeights(w *[6]float64) int {
	x := g.float()
	var acc float64
	r := ruleNone
	for i, p := range w {
		if p == 0 {
			continue
		}
		acc += p
		r = i
		if x < acc {
			return i
		}
	}
	return r
}

// span is a piece of the per-job text buffer, turned into a string at the end.
type span struct{ a, b int }

func (g *generator) mark() int { return len(g.buf) }

func (g *generator) spanFrom(a int) span { return span{a, len(g.buf)} }

func (g *generator) str(s string) { g.buf = append(g.buf, s...) }
func (g *generator) num(n int)    { g.buf = strconv.AppendInt(g.buf, int64(n), 10) }
func (g *generator) padded(n, w int) { // n written with at least w digits
	var d [20]byte
	i := len(d)
	for n > 0 || i > len(d)-w {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
	}
	g.buf = append(g.buf, d[i:]...)
}

// draft holds one job's decisions while it is built.
type draft struct {
	city, provider, model, tech int
	kind                        workorders.Kind
	dup                         *unit
	member, v13Tech, v13Start   bool
	rule                        int
	v9, v11, v12                bool

	extID, custID, name, phone, address, serial span
	fault                                       int
}

// next builds job i into job.
func (g *generator) next(i int, job *Job) {
	parts := job.Order.Parts[:0]
	planted := job.Planted[:0]
	replaced := job.Truth.ReplacedParts[:0]
	*job = Job{}
	g.buf = g.buf[:0]
	var d draft

	// Where, for whom, what kind of job.
	if g.grp.left > 0 && i >= g.grp.next {
		d.member = true
		d.city = g.grp.city
	} else {
		k := 1
		if g.chance(g.pCN) {
			k = 0
		}
		if n := min(g.ringN[k], ringSize); n > 0 && g.chance(rateV7) {
			d.dup = &g.ring[k][g.intn(n)]
			d.city = d.dup.city
		} else {
			d.city = g.cityIdx[k][g.pickCum(g.cityCum[k])]
		}
	}
	c := &cities[d.city]
	d.kind = workorders.Repair
	if d.dup == nil && g.chance(installShare) {
		d.kind = workorders.Install
	}
	d.provider = g.pickProvider(c)
	if d.dup != nil {
		d.model = d.dup.model
		// A duplicate is claimed by the same provider or, half the time, by
		// another one working in the same city.
		if len(c.shares) == 1 || g.chance(0.5) {
			d.provider = d.dup.provider
		} else {
			for d.provider == d.dup.provider {
				d.provider = g.pickProvider(c)
			}
		}
	} else {
		k := countryIndex(c.country)
		d.model = g.modelIdx[k][g.pickCum(g.modelCum[k])]
	}
	p := &providers[d.provider]
	m := &catalog[d.model]
	d.tech = g.intn(len(p.techs))
	over := d.provider == g.overIdx && d.kind == workorders.Repair

	// What is planted.
	if !d.member && d.dup == nil && g.chance(rateV13) {
		if g.grp.left == 0 && i+2*(groupGapMax+1) < g.jobs && g.chance(0.5) {
			d.v13Start = true
		} else {
			d.v13Tech = true
		}
	}
	v13 := d.member || d.v13Start || d.v13Tech
	if !v13 {
		pBad := g.pBad
		if over {
			pBad = g.pBadOver
		}
		if g.chance(pBad) {
			w := &weightsRepair
			switch {
			case d.kind == workorders.Install:
				w = &weightsInstall
			case over:
				w = &weightsOverRepair
			}
			d.rule = g.pickWeights(w)
		}
	}
	d.v9 = d.dup == nil && g.chance(rateV9)
	d.v11 = d.kind == workorders.Repair && g.chance(rateV11)
	d.v12 = g.chance(rateV12)

	// Identity: ids, customer, unit.
	d.extID = g.externalID("", i+1)
	o := &job.Order
	o.Kind = d.kind
	o.Provider = p.Provider
	o.Technician = p.techs[d.tech].name
	o.TechnicianPhone = p.techs[d.tech].phone
	o.Brand = m.Brand
	o.ProductCategory = m.Category
	o.ProductModel = m.Code
	o.Currency = m.Currency
	if d.dup != nil {
		o.Customer = d.dup.customer
	} else {
		g.customers++
		d.custID = g.externalID("C", g.customers)
		d.name = g.personName(c)
		switch {
		case d.member:
			// phone set below from the group
		case d.v13Tech:
			o.Customer.Phone = o.TechnicianPhone
		default:
			d.phone = g.newPhone(d.city)
		}
		d.address = g.address(c)
		o.Customer.Region = c.region
		o.Customer.TimeZone = c.zone
		o.Customer.Lang = langOf(c.country)
	}
	if d.member {
		o.Customer.Phone = g.grp.phone
		g.grp.left--
		g.grp.next = i + 1 + g.intn(groupGapMax)
	}

	// When, and the warranty.
	g.dates(&d, o, m)

	if d.dup != nil {
		o.SerialNumber = d.dup.serial
	} else {
		d.serial = g.serial(m, o)
	}

	// What was claimed and what really happened.
	t := &job.Truth
	d.fault = -1
	if d.kind == workorders.Repair {
		if d.dup != nil {
			d.fault = d.dup.fault
		} else {
			d.fault = g.intn(len(m.faults))
		}
		f := &m.faults[d.fault]
		if c.country == "CN" {
			o.Fault = f.zh
		} else {
			o.Fault = f.en
		}
		parts = g.repairParts(parts, &d, m, over)
	} else if m.kit >= 0 && g.chance(0.6) {
		parts = append(parts, claimed(m.BOM[m.kit], 1))
	}
	o.Parts = parts

	visited := d.rule != ruleV1
	t.Visited = visited
	t.Installed = visited && d.kind == workorders.Install
	switch d.rule {
	case ruleV1, ruleV2:
	case ruleV3:
		if y := g.otherPart(m, parts); y >= 0 {
			t.ActualPartCode = m.BOM[y].Code
			replaced = append(replaced, t.ActualPartCode)
		} else { // cannot happen with the catalog's BOMs; stay consistent anyway
			d.rule = ruleV2
		}
	default:
		for _, cp := range parts {
			replaced = append(replaced, cp.Code)
		}
	}
	t.ReplacedParts = replaced
	t.Fixed = d.rule != ruleV1 && d.rule != ruleV5
	t.Working = t.Fixed

	g.money(&d, o, m, c, t)

	// How the customer behaves.
	t.Lang = langOf(c.country)
	switch {
	case d.dup != nil:
		t.Reach, t.HangUpAfter, t.PreferSMS = d.dup.reach, d.dup.hangUp, d.dup.preferSMS
	case v13:
		t.Reach = ReachAnswers
		t.PreferSMS = g.chance(0.2)
	default:
		t.Reach = ReachAnswers
		x := g.float()
		for _, r := range reachCum {
			if x < r.p {
				t.Reach = r.reach
				break
			}
		}
		if t.Reach == ReachHangsUp {
			t.HangUpAfter = g.between(1, 3)
		}
		t.PreferSMS = g.chance(0.2)
	}
	t.CSAT, t.NPS = g.satisfaction(d.rule)
	if v13 {
		t.CSAT, t.NPS = 5, g.between(9, 10)
	}

	// One allocation turns the buffer into the job's strings.
	s := string(g.buf)
	cut := func(sp span) string { return s[sp.a:sp.b] }
	o.ExternalID = cut(d.extID)
	if d.dup == nil {
		o.Customer.ExternalID = cut(d.custID)
		o.Customer.Name = cut(d.name)
		o.Customer.Address = cut(d.address)
		o.SerialNumber = cut(d.serial)
		if d.phone.b > d.phone.a {
			o.Customer.Phone = cut(d.phone)
		}
	}
	if d.v13Start {
		g.grp = group{phone: o.Customer.Phone, city: d.city, left: 2, next: i + 1 + g.intn(groupGapMax)}
	}

	job.Planted = plantedRules(planted, o, t, &d)
	job.Persona = persona(d.rule, t.Reach)

	// Remember in-warranty repairs without data plants: V7 may claim them again.
	if d.dup == nil && !v13 && !d.v9 && !d.v11 && d.kind == workorders.Repair &&
		o.WarrantyStatus == workorders.InWarranty && o.CompletedAt.Before(g.cfg.Now.Add(-oneDay)) {
		k := countryIndex(c.country)
		if g.ring[k] == nil {
			g.ring[k] = make([]unit, ringSize)
		}
		g.ring[k][g.ringN[k]%ringSize] = unit{
			city: d.city, provider: d.provider, model: d.model, customer: o.Customer,
			serial: o.SerialNumber, status: o.WarrantyStatus, delivered: o.DeliveredOn,
			ends: o.WarrantyEndsOn, completed: o.CompletedAt, fault: d.fault, part: partIndex(m, parts[0].Code),
			reach: t.Reach, hangUp: t.HangUpAfter, preferSMS: t.PreferSMS,
		}
		g.ringN[k]++
	}
}

func langOf(country string) string {
	if country == "CN" {
		return "zh-CN"
	}
	return "en"
}

func (g *generator) pickProvider(c *city) int {
	if len(c.shares) == 1 {
		return c.shares[0].provider
	}
	var all float64
	for _, s := range c.shares {
		all += s.weight
	}
	x := g.float() * all
	for _, s := range c.shares {
		if x < s.weight {
			return s.provider
		}
		x -= s.weight
	}
	return c.shares[len(c.shares)-1].provider
}

// externalID writes prefix, kind and an eight-digit number: S00000001, SC00000001.
func (g *generator) externalID(kind string, n int) span {
	a := g.mark()
	g.str(g.prefix)
	g.str(kind)
	g.padded(n, 8)
	return g.spanFrom(a)
}

func (g *generator) personName(c *city) span {
	a := g.mark()
	if c.country == "CN" {
		g.str(cnSurnames[g.skewed(len(cnSurnames))])
		g.str(cnGiven[g.intn(len(cnGiven))])
	} else {
		g.str(usFirst[g.intn(len(usFirst))])
		g.buf = append(g.buf, ' ')
		g.str(usLast[g.skewed(len(usLast))])
	}
	return g.spanFrom(a)
}

// address writes a postal address the way the upstream systems keep them:
// 广东省深圳市南山区科苑路88号锦绣花园3栋2单元1502室, or
// 1234 Oak Ave Apt 5B, Los Angeles, CA 90012.
func (g *generator) address(c *city) span {
	a := g.mark()
	if c.country == "CN" {
		dist := &c.districts[g.intn(len(c.districts))]
		g.str(c.province)
		g.str(c.name)
		g.str(dist.name)
		g.str(dist.streets[g.intn(len(dist.streets))])
		g.num(g.between(1, 999))
		g.str("号")
		g.str(cnCommunityHead[g.intn(len(cnCommunityHead))])
		g.str(cnCommunityTail[g.intn(len(cnCommunityTail))])
		g.num(g.between(1, 24))
		if c.region == "CN-BJ" || c.region == "CN-SH" || g.chance(0.4) {
			g.str("号楼")
		} else {
			g.str("栋")
		}
		g.num(g.between(1, 4))
		g.str("单元")
		g.num(g.between(1, 32)*100 + g.between(1, 6))
		g.str("室")
	} else {
		g.num(g.between(100, 9899))
		g.buf = append(g.buf, ' ')
		if g.chance(0.15) {
			n := g.between(1, 40)
			g.num(n)
			g.str(ordinal(n))
		} else {
			g.str(usStreets[g.intn(len(usStreets))])
		}
		g.buf = append(g.buf, ' ')
		g.str(usSuffixes[g.intn(len(usSuffixes))])
		if g.chance(0.35) {
			g.str(" Apt ")
			g.num(g.between(1, 30))
			g.buf = append(g.buf, byte('A'+g.intn(6)))
		}
		g.str(", ")
		g.str(c.name)
		g.str(", ")
		g.str(c.state)
		g.buf = append(g.buf, ' ')
		g.padded(c.zipLow+g.intn(c.zipSpan), 5)
	}
	return g.spanFrom(a)
}

func ordinal(n int) string {
	if n%100/10 == 1 {
		return "th"
	}
	switch n % 10 {
	case 1:
		return "st"
	case 2:
		return "nd"
	case 3:
		return "rd"
	}
	return "th"
}

// Multipliers for the bijections below: primes larger than the ranges they
// permute, hence coprime to them.
const (
	phoneMul  = 1_000_000_007
	serialMul = 998_244_353
	cnRange   = 100_000_000 // eight digits after the mobile block
)

// newPhone writes a new customer number, never handed out before in this
// run. Chinese numbers are mobiles: a block from cnMobileBlocks and eight
// digits. American numbers take the fictional 555-01XX lines of the city's
// area codes first, then other exchanges. Each is a bijection of a counter,
// so numbers look random and never repeat.
func (g *generator) newPhone(ci int) span {
	a := g.mark()
	c := &cities[ci]
	if c.country == "CN" {
		space := uint64(len(cnMobileBlocks)) * cnRange
		v := (uint64(g.cnPhones)*phoneMul + g.phoneAdd%space) % space
		g.cnPhones++
		g.str("+86")
		g.str(cnMobileBlocks[v/cnRange])
		g.padded(int(v%cnRange), 8)
		return g.spanFrom(a)
	}
	k := uint64(g.usPhones[ci])
	g.usPhones[ci]++
	codes := uint64(len(c.areaCodes))
	g.str("+1")
	if fictional := 100 * codes; k < fictional {
		v := (k*phoneMul + g.phoneAdd%fictional) % fictional
		g.str(c.areaCodes[v/100])
		g.str("55501")
		g.padded(int(v%100), 2)
		return g.spanFrom(a)
	}
	k -= 100 * codes
	perCode := uint64(len(usExchanges)) * 10_000
	v := (k*phoneMul + g.phoneAdd%(codes*perCode)) % (codes * perCode)
	g.str(c.areaCodes[v/perCode])
	v %= perCode
	g.num(usExchanges[v/10_000])
	g.padded(int(v%10_000), 4)
	return g.spanFrom(a)
}

// serial writes a unit's serial number: the model's five-character prefix, the
// year and month of manufacture and eight digits permuted from a counter, so
// every unit's serial differs.
func (g *generator) serial(m *model, o *workorders.Order) span {
	a := g.mark()
	made := o.DeliveredOn
	if made.IsZero() {
		made = o.CompletedAt.AddDate(0, -g.between(6, 48), 0)
	}
	made = made.AddDate(0, -g.between(1, 4), 0)
	g.str(m.serialPrefix)
	g.padded(made.Year()%100, 2)
	g.padded(int(made.Month()), 2)
	v := (uint64(g.units)*serialMul + g.serialAdd%cnRange) % cnRange
	g.units++
	g.padded(int(v), 8)
	return g.spanFrom(a)
}

// dates sets the completion time and the warranty of the job.
//
// Honest in-warranty and extended jobs end their warranty at least 45 days
// after completion, clear of V10's last 30 days even when V7 claims the unit
// again up to 14 days later; out-of-warranty ones say so. V9 plants a repair
// completed 5–200 days after the warranty ended, or an install before delivery.
func (g *generator) dates(d *draft, o *workorders.Order, m *model) {
	now := g.cfg.Now
	loc := g.locs[d.city]
	switch {
	case d.dup != nil:
		// The unit again, after its first visit and before Now; the ring only
		// holds visits at least a day old.
		gap := now.Sub(d.dup.completed)
		o.CompletedAt = d.dup.completed.Add(time.Hour + time.Duration(g.float()*float64(gap-time.Hour)))
	default:
		t, ok := time.Time{}, false
		if g.chance(recentShare) {
			t, ok = g.recent(now, loc)
		}
		if !ok {
			day := g.nowDate[d.city].Add(-time.Duration(g.intn(14)) * oneDay)
			y, mo, dd := day.Date()
			t = time.Date(y, mo, dd, g.between(8, 19), g.intn(60), g.intn(60), 0, loc)
			if !t.Before(now) {
				t = t.AddDate(0, 0, -1)
			}
		}
		o.CompletedAt = t
	}
	o.CompletedAt = o.CompletedAt.Truncate(time.Second).UTC()
	y, mo, dd := o.CompletedAt.In(loc).Date()
	done := time.Date(y, mo, dd, 0, 0, 0, 0, time.UTC)
	days := func(n int) time.Duration { return time.Duration(n) * oneDay }

	if d.dup != nil {
		o.WarrantyStatus = d.dup.status
		o.DeliveredOn, o.WarrantyEndsOn = d.dup.delivered, d.dup.ends
		return
	}
	months := m.WarrantyMonths
	if d.kind == workorders.Install {
		o.WarrantyStatus = workorders.InWarranty
		if d.v9 {
			o.DeliveredOn = done.Add(days(g.between(3, 30)))
		} else {
			o.DeliveredOn = done.Add(-days(g.between(1, 10)))
		}
		o.WarrantyEndsOn = o.DeliveredOn.AddDate(0, months, 0)
		return
	}
	status := workorders.InWarranty
	switch x := g.float(); {
	case d.v9:
	case d.rule == ruleV4:
		if x < 0.15 {
			status = workorders.Extended
		}
	case x < 0.10:
		status = workorders.OutOfWarranty
	case x < 0.16:
		status = workorders.Extended
	case x < 0.20:
		status = workorders.UnknownStatus
	}
	o.WarrantyStatus = status
	switch {
	case d.v9:
		o.WarrantyEndsOn = done.Add(-days(g.between(5, 200)))
		o.DeliveredOn = o.WarrantyEndsOn.AddDate(0, -months, 0)
	case status == workorders.InWarranty:
		o.WarrantyEndsOn = done.Add(days(g.between(45, months*28)))
		o.DeliveredOn = o.WarrantyEndsOn.AddDate(0, -months, 0)
	case status == workorders.OutOfWarranty:
		o.WarrantyEndsOn = done.Add(-days(g.between(1, 1200)))
		o.DeliveredOn = o.WarrantyEndsOn.AddDate(0, -months, 0)
	case status == workorders.Extended:
		extra := 24 + 12*g.intn(2)
		o.WarrantyEndsOn = done.Add(days(g.between(45, extra*28)))
		o.DeliveredOn = o.WarrantyEndsOn.AddDate(0, -months-extra, 0)
	}
}

// recent sets a completion time within the six hours before now, if that is
// working hours (08:00–21:00) where the customer lives.
func (g *generator) recent(now time.Time, loc *time.Location) (time.Time, bool) {
	t := now.Add(-15*time.Minute - time.Duration(g.float()*float64(6*time.Hour-15*time.Minute)))
	if h := t.In(loc).Hour(); h < 8 || h >= 21 {
		return time.Time{}, false
	}
	return t, true
}

func claimed(p BOMPart, qty int) workorders.ClaimedPart {
	return workorders.ClaimedPart{Code: p.Code, NameEN: p.NameEN, NameZH: p.NameZH, Quantity: qty, UnitCost: p.UnitCost}
}

func partIndex(m *model, code string) int {
	for i, p := range m.BOM {
		if p.Code == code {
			return i
		}
	}
	return -1
}

func hasPart(parts []workorders.ClaimedPart, code string) bool {
	for _, p := range parts {
		if p.Code == code {
			return true
		}
	}
	return false
}

// repairParts claims one or two parts for the fault, or for the over-replacer
// two or three, the extra ones from the dear end of the BOM. V11 swaps the
// last part for one from another model, or claims more than the BOM allows.
func (g *generator) repairParts(parts []workorders.ClaimedPart, d *draft, m *model, over bool) []workorders.ClaimedPart {
	f := &m.faults[d.fault]
	n := 1
	switch {
	case over && g.chance(0.55):
		n = 3
	case over:
		n = 2
	case g.chance(0.22):
		n = 2
	}
	first := f.parts[0]
	switch {
	case d.dup != nil:
		first = d.dup.part
	case over:
		for _, pi := range f.parts { // the dearest part the fault could need
			if m.BOM[pi].UnitCost > m.BOM[first].UnitCost {
				first = pi
			}
		}
	case len(f.parts) > 1 && g.chance(0.4):
		first = f.parts[1+g.intn(len(f.parts)-1)]
	}
	parts = append(parts, claimed(m.BOM[first], 1))
	for try := 0; len(parts) < n && try < 16; try++ {
		var pi int
		switch {
		case over:
			pi = m.byCost[g.intn((len(m.byCost)+1)/2)]
		default:
			pi = f.parts[g.intn(len(f.parts))]
			if hasPart(parts, m.BOM[pi].Code) {
				pi = m.byCost[g.intn(len(m.byCost))]
			}
		}
		if !hasPart(parts, m.BOM[pi].Code) {
			parts = append(parts, claimed(m.BOM[pi], 1))
		}
	}
	for i := range parts {
		if mq := m.BOM[partIndex(m, parts[i].Code)].MaxQty; mq > 1 {
			p := 0.15
			if over {
				p = 0.4
			}
			if g.chance(p) {
				parts[i].Quantity = g.between(2, mq)
			}
		}
	}
	if d.v11 {
		if g.chance(0.7) {
			if fp, ok := g.foreignPart(m, parts); ok {
				parts[len(parts)-1] = claimed(fp, 1)
				return parts
			}
		}
		i := g.intn(len(parts))
		parts[i].Quantity = m.BOM[partIndex(m, parts[i].Code)].MaxQty + g.between(1, 2)
	}
	return parts
}

// foreignPart picks a part of another model sold in the same market, of the
// same category when there is one, that is not on m's BOM.
func (g *generator) foreignPart(m *model, parts []workorders.ClaimedPart) (BOMPart, bool) {
	var cands [16]int
	n := 0
	for mi := range catalog {
		o := &catalog[mi]
		if o != m && o.Market == m.Market && o.Category == m.Category && n < len(cands) {
			cands[n] = mi
			n++
		}
	}
	if n == 0 {
		for mi := range catalog {
			o := &catalog[mi]
			if o != m && o.Market == m.Market && n < len(cands) {
				cands[n] = mi
				n++
			}
		}
	}
	for range 8 {
		o := &catalog[cands[g.intn(n)]]
		p := o.BOM[o.byCost[g.intn(len(o.byCost))]]
		if partIndex(m, p.Code) < 0 && !hasPart(parts, p.Code) {
			return p, true
		}
	}
	return BOMPart{}, false
}

// otherPart picks the part really replaced on a V3 job: one of the cheaper
// parts on the BOM that the customer would not mistake for a claimed one.
func (g *generator) otherPart(m *model, parts []workorders.ClaimedPart) int {
	var cands [16]int
	n := 0
	for _, pi := range m.byCost {
		p := &m.BOM[pi]
		ok := true
		for _, cp := range parts {
			if cp.Code == p.Code || cp.NameEN == p.NameEN || cp.NameZH == p.NameZH {
				ok = false
				break
			}
		}
		if ok && n < len(cands) {
			cands[n] = pi
			n++
		}
	}
	if n == 0 {
		return -1
	}
	return cands[n/2+g.intn(n-n/2)] // the cheaper half
}

// money sets labour, what the upstream record says the customer paid and
// what the customer really paid.
func (g *generator) money(d *draft, o *workorders.Order, m *model, c *city, t *Truth) {
	std := m.StandardLabourMinutes
	if d.kind == workorders.Install {
		std = m.InstallLabourMinutes
	}
	f := 0.75 + 0.5*g.float()
	if d.v12 {
		f = 1.6 + 1.4*g.float()
	}
	mins := int(math.Ceil(float64(std)*f/5)) * 5
	if !d.v12 {
		mins = min(mins, std*3/2)
	}
	o.LabourMinutes = mins

	perMinute, callOut := workorders.Money(120), workorders.Money(5000) // ¥1.20, ¥50
	if c.country == "US" {
		perMinute, callOut = 160, 8900 // $1.60, $89
	}
	o.LabourAmount = (workorders.Money(mins)*perMinute + 50) / 100 * 100
	if o.WarrantyStatus == workorders.OutOfWarranty {
		// The customer pays the call-out fee and the parts at list price.
		paid := callOut + o.PartsAmount()*3/2
		o.CustomerPaid = (paid + 50) / 100 * 100
	}
	switch d.rule {
	case ruleV1:
		t.PaidAmount = 0
	case ruleV4:
		amounts := &feesCN
		if c.country == "US" {
			amounts = &feesUS
		}
		t.PaidAmount = o.CustomerPaid + workorders.Money(amounts[g.intn(len(amounts))]*100)
	default:
		t.PaidAmount = o.CustomerPaid
	}
}

// feesCN and feesUS are what a technician asks for on the spot, in whole
// yuan and dollars: round sums.
var (
	feesCN = [...]int{50, 80, 100, 120, 150, 200, 260, 300}
	feesUS = [...]int{25, 40, 50, 75, 89, 100, 120, 150}
)

// satisfaction draws CSAT and a consistent NPS for the customer's story.
func (g *generator) satisfaction(rule int) (csat, nps int) {
	x := g.float()
	switch rule {
	case ruleV1:
		csat = 1
		if x < 0.3 {
			csat = 2
		}
	case ruleV5:
		csat = g.between(1, 3)
	case ruleV4:
		csat = g.between(2, 4)
	default:
		switch {
		case x < 0.50:
			csat = 5
		case x < 0.82:
			csat = 4
		case x < 0.93:
			csat = 3
		case x < 0.97:
			csat = 2
		default:
			csat = 1
		}
	}
	switch csat {
	case 5:
		nps = g.between(8, 10)
		if nps == 8 && g.chance(0.5) {
			nps = 10
		}
	case 4:
		nps = g.between(7, 9)
	case 3:
		nps = g.between(5, 7)
	case 2:
		nps = g.between(2, 5)
	default:
		nps = g.between(0, 3)
	}
	return csat, nps
}

// plantedRules lists the rules whose mismatch is present, deriving the
// answer-based ones from the claim and the truth so the two never disagree.
func plantedRules(out []string, o *workorders.Order, t *Truth, d *draft) []string {
	if !t.Visited {
		out = append(out, "V1")
	}
	if len(o.Parts) > 0 {
		switch {
		case len(t.ReplacedParts) == 0:
			out = append(out, "V2")
		case t.ActualPartCode != "":
			out = append(out, "V3")
		}
	}
	if t.PaidAmount > o.CustomerPaid {
		out = append(out, "V4")
	}
	if !t.Fixed {
		out = append(out, "V5")
	}
	if d.dup != nil {
		out = append(out, "V7")
	}
	if d.v9 {
		out = append(out, "V9")
	}
	if d.v11 {
		out = append(out, "V11")
	}
	if d.v12 {
		out = append(out, "V12")
	}
	if d.member || d.v13Start || d.v13Tech {
		out = append(out, "V13")
	}
	if d.dup != nil {
		out = append(out, "V15")
	}
	return out
}

func persona(rule int, reach string) string {
	switch rule {
	case ruleV1:
		return PersonaNoVisit
	case ruleV2:
		return PersonaPartNotReplaced
	case ruleV3:
		return PersonaOtherPart
	case ruleV4:
		return PersonaCharged
	case ruleV5:
		return PersonaNotFixed
	}
	switch reach {
	case ReachNeverAnswers:
		return PersonaNeverAnswers
	case ReachBusy:
		return PersonaBusy
	case ReachVoicemail:
		return PersonaVoicemail
	case ReachHangsUp:
		return PersonaHangsUp
	case ReachWrongKeys:
		return PersonaWrongKeys
	case ReachOptsOut:
		return PersonaOptsOut
	}
	return PersonaHonest
}
