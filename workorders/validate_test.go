package workorders

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// validateNow is the validator's clock in these tests: after every completion
// time the rows below use.
var validateNow = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)

// fieldRow is a Row made of field values and already split claim lines, so
// the validator can be tested without any reader.
type fieldRow struct {
	vals  map[Field]string
	parts []RawPart
	perrs []FieldError
}

func (r fieldRow) Get(f Field) string               { return r.vals[f] }
func (r fieldRow) Parts() ([]RawPart, []FieldError) { return r.parts, r.perrs }

// cnJob is a minimal valid job in Guangdong; usJob one in New York.
var (
	cnJob = map[Field]string{
		FExternalID: "WO-1", FKind: "repair", FCompletedAt: "2026-11-20 10:30", FCustomerName: "张伟",
		FPhone: "138 0013 8000", FRegion: "CN-GD", FProviderCode: "SZ-01",
		FProductCategory: "water_heater", FProductModel: "JSQ20-12",
	}
	usJob = map[Field]string{
		FExternalID: "WO-2", FKind: "install", FCompletedAt: "2026-11-20 10:30", FCustomerName: "Emily Chen",
		FPhone: "(212) 555-0100", FRegion: "US-NY", FProviderCode: "NY-01",
		FProductCategory: "air_conditioner", FProductModel: "AC-9000",
	}
)

// with returns a copy of base with set applied; a value of "\x00delete" removes the field.
func with(base map[Field]string, set map[Field]string) map[Field]string {
	out := make(map[Field]string, len(base)+len(set))
	for f, v := range base {
		out[f] = v
	}
	for f, v := range set {
		if v == "\x00delete" {
			delete(out, f)
			continue
		}
		out[f] = v
	}
	return out
}

// wantErr is one expected FieldError: its exact path and a part of its message.
type wantErr struct {
	path []string
	msg  string
}

// at is a field path, for reading the tables.
func at(path ...string) []string { return path }

func validator(d Defaults) *Validator {
	return &Validator{Defaults: d, Now: func() time.Time { return validateNow }}
}

// checkErrs fails unless errs are exactly want, in order.
func checkErrs(t *testing.T, errs []FieldError, want []wantErr) {
	t.Helper()
	if len(errs) != len(want) {
		t.Fatalf("errors = %v, want %d: %v", errs, len(want), want)
	}
	for i, w := range want {
		if !slices.Equal(errs[i].Path, w.path) || !strings.Contains(errs[i].Msg, w.msg) {
			t.Errorf("error %d = %q %q, want path %q and a message containing %q", i, errs[i].Path, errs[i].Msg, w.path, w.msg)
		}
	}
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestValidateFullCNRow(t *testing.T) {
	t.Parallel()
	row := fieldRow{vals: with(cnJob, map[Field]string{
		FCustomerID: "C-1", FAddress: "广东省深圳市南山区科技园路1号, 3栋", FProviderName: "深圳安达服务",
		FTechnician: "李师傅", FTechnicianPhone: "13900139000", FBrand: "Huifang", FSerialNumber: "SN123456789",
		FWarrantyStatus: "保内", FWarrantyEndsOn: "2028-05-01", FDeliveredOn: "2025年5月1日", FFault: "不出热水",
		FCustomerPaid: "0", FLabourMinutes: "45", FLabourAmount: "60.00",
	}), parts: []RawPart{
		{Index: 1, Code: "HTR-3KW", Quantity: "1", UnitCost: "180.00", NameEN: "heating element", NameZH: "加热管", QuantitySet: true, CostIsSet: true},
		{Index: 2, Code: " TH-70 ", Quantity: "2", UnitCost: "35.5", NameEN: "thermostat", NameZH: "温控器", QuantitySet: true, CostIsSet: true},
	}}
	o, errs := validator(Defaults{Region: "CN"}).Validate(row)
	checkErrs(t, errs, nil)
	want := Order{
		ExternalID: "WO-1", Kind: Repair, CompletedAt: utc("2026-11-20T02:30:00Z"),
		Customer: Customer{ExternalID: "C-1", Name: "张伟", Phone: "+8613800138000", PhoneTimeZone: "Asia/Shanghai",
			Address: "广东省深圳市南山区科技园路1号, 3栋", Region: "CN-GD", TimeZone: "Asia/Shanghai", Lang: "zh-CN"},
		Provider: Provider{Code: "SZ-01", Name: "深圳安达服务"}, Technician: "李师傅", TechnicianPhone: "+8613900139000",
		Brand: "Huifang", ProductCategory: "water_heater", ProductModel: "JSQ20-12", SerialNumber: "SN123456789",
		WarrantyStatus: InWarranty, WarrantyEndsOn: day(2028, 5, 1), DeliveredOn: day(2025, 5, 1), Fault: "不出热水",
		Currency: "CNY", CustomerPaid: 0, LabourMinutes: 45, LabourAmount: 6000,
		Parts: []ClaimedPart{
			{Code: "HTR-3KW", NameEN: "heating element", NameZH: "加热管", Quantity: 1, UnitCost: 18000},
			{Code: "TH-70", NameEN: "thermostat", NameZH: "温控器", Quantity: 2, UnitCost: 3550},
		},
	}
	if !reflect.DeepEqual(o, want) {
		t.Fatalf("order\n got %+v\nwant %+v", o, want)
	}
	if got := o.PartsAmount(); got != 18000+2*3550 {
		t.Errorf("PartsAmount = %v, want 251.00", got)
	}
}

// validateCases are one row each: a change to a valid job and either what the
// order then holds or exactly which fields are wrong.
var validateCases = []struct {
	name     string
	base     map[Field]string // cnJob when nil
	set      map[Field]string
	defaults Defaults
	parts    []RawPart
	perrs    []FieldError
	get      func(o Order) any // what to look at in a valid order
	want     any
	errs     []wantErr
}{
	// kind
	{name: "kind install", set: map[Field]string{FKind: "install"}, get: kindOf, want: Install},
	{name: "kind repair", set: map[Field]string{FKind: "repair"}, get: kindOf, want: Repair},
	{name: "kind 安装", set: map[Field]string{FKind: "安装"}, get: kindOf, want: Install},
	{name: "kind 维修", set: map[Field]string{FKind: "维修"}, get: kindOf, want: Repair},
	{name: "kind Installation", set: map[Field]string{FKind: "Installation"}, get: kindOf, want: Install},
	{name: "kind upper case and spaces", set: map[Field]string{FKind: "  REPAIR "}, get: kindOf, want: Repair},
	{name: "kind unknown", set: map[Field]string{FKind: "Maintenance"}, errs: []wantErr{{at("kind"), `must be install or repair, not "maintenance"`}}},
	{name: "kind empty", set: map[Field]string{FKind: " "}, errs: []wantErr{{at("kind"), "is required"}}},
	{name: "kind absent", set: map[Field]string{FKind: "\x00delete"}, errs: []wantErr{{at("kind"), "is required"}}},

	// completed_at
	{name: "completed_at RFC 3339 with offset", set: map[Field]string{FCompletedAt: "2026-11-20T10:30:00+08:00"}, get: completedAt, want: utc("2026-11-20T02:30:00Z")},
	{name: "completed_at RFC 3339 Z ignores the customer's zone", set: map[Field]string{FCompletedAt: "2026-11-20T10:30:00Z"}, get: completedAt, want: utc("2026-11-20T10:30:00Z")},
	{name: "completed_at RFC 3339 with fraction", set: map[Field]string{FCompletedAt: "2026-11-20T10:30:00.25-05:00"}, get: completedAt, want: time.Date(2026, 11, 20, 15, 30, 0, 250e6, time.UTC)},
	{name: "completed_at local, Asia/Shanghai", set: map[Field]string{FCompletedAt: "2026-11-20 10:30"}, get: completedAt, want: utc("2026-11-20T02:30:00Z")},
	{name: "completed_at local with seconds", set: map[Field]string{FCompletedAt: "2026-11-20 10:30:15"}, get: completedAt, want: utc("2026-11-20T02:30:15Z")},
	{name: "completed_at local with slashes", set: map[Field]string{FCompletedAt: "2026/11/20 10:30"}, get: completedAt, want: utc("2026-11-20T02:30:00Z")},
	{name: "completed_at local without zero padding", set: map[Field]string{FCompletedAt: "2026/1/5 09:05"}, get: completedAt, want: utc("2026-01-05T01:05:00Z")},
	{name: "completed_at local T form", set: map[Field]string{FCompletedAt: "2026-11-20T10:30"}, get: completedAt, want: utc("2026-11-20T02:30:00Z")},
	{name: "completed_at date only is local midnight", set: map[Field]string{FCompletedAt: "2026-11-20"}, get: completedAt, want: utc("2026-11-19T16:00:00Z")},
	{name: "completed_at local, America/New_York in winter", base: usJob, set: map[Field]string{FCompletedAt: "2026-11-20 10:30"}, get: completedAt, want: utc("2026-11-20T15:30:00Z")},
	{name: "completed_at local, America/New_York in summer", base: usJob, set: map[Field]string{FCompletedAt: "2026-07-01 10:30"}, get: completedAt, want: utc("2026-07-01T14:30:00Z")},
	// 2026-03-08: clocks go from 02:00 EST to 03:00 EDT; 2026-11-01: from 02:00 EDT back to 01:00 EST.
	{name: "completed_at New York, spring-forward day, before the change", base: usJob, set: map[Field]string{FCompletedAt: "2026-03-08 01:30"}, get: completedAt, want: utc("2026-03-08T06:30:00Z")},
	{name: "completed_at New York, spring-forward day, after the change", base: usJob, set: map[Field]string{FCompletedAt: "2026-03-08 10:30"}, get: completedAt, want: utc("2026-03-08T14:30:00Z")},
	{name: "completed_at New York, fall-back day, after the change", base: usJob, set: map[Field]string{FCompletedAt: "2026-11-01 10:30"}, get: completedAt, want: utc("2026-11-01T15:30:00Z")},
	{name: "completed_at read in the tz override", set: map[Field]string{FTZ: "Asia/Urumqi"}, get: completedAt, want: utc("2026-11-20T04:30:00Z")},
	{name: "completed_at 59 minutes ahead of the clock", set: map[Field]string{FCompletedAt: "2026-11-25T00:59:00Z"}, get: completedAt, want: utc("2026-11-25T00:59:00Z")},
	{name: "completed_at more than an hour ahead", set: map[Field]string{FCompletedAt: "2026-11-25T01:01:00Z"}, errs: []wantErr{{at("completed_at"), "is in the future"}}},
	// 09:30 in Shanghai is 01:30 UTC: in the future only when read in the customer's zone.
	{name: "completed_at local, in the future", set: map[Field]string{FCompletedAt: "2026-11-25 09:30"}, errs: []wantErr{{at("completed_at"), "is in the future"}}},
	{name: "completed_at next year", set: map[Field]string{FCompletedAt: "2027-01-01 10:00"}, errs: []wantErr{{at("completed_at"), "is in the future"}}},
	// The year is the customer's: 00:00 on 1 January 2000 in Shanghai is 1999 in UTC, and fine;
	// however the instant is written, it is judged the same.
	{name: "completed_at 1999 in the customer's zone", set: map[Field]string{FCompletedAt: "1999-12-31T15:59:59Z"}, errs: []wantErr{{at("completed_at"), "is before the year 2000"}}},
	{name: "completed_at 1999 written with an offset", set: map[Field]string{FCompletedAt: "1999-12-31T23:59:59+08:00"}, errs: []wantErr{{at("completed_at"), "is before the year 2000"}}},
	{name: "completed_at 1999 written locally", set: map[Field]string{FCompletedAt: "1999-12-31 23:59"}, errs: []wantErr{{at("completed_at"), "is before the year 2000"}}},
	{name: "completed_at 2000 written locally", set: map[Field]string{FCompletedAt: "2000-01-01 00:00"}, get: completedAt, want: utc("1999-12-31T16:00:00Z")},
	{name: "completed_at 2000 written in UTC", set: map[Field]string{FCompletedAt: "1999-12-31T16:00:00Z"}, get: completedAt, want: utc("1999-12-31T16:00:00Z")},
	{name: "completed_at 2000 written in another offset", set: map[Field]string{FCompletedAt: "1999-12-31T11:00:00-05:00"}, get: completedAt, want: utc("1999-12-31T16:00:00Z")},
	{name: "completed_at 1999 in New York", base: usJob, set: map[Field]string{FCompletedAt: "2000-01-01T04:59:00Z"}, errs: []wantErr{{at("completed_at"), "is before the year 2000"}}},
	{name: "completed_at words", set: map[Field]string{FCompletedAt: "yesterday"}, errs: []wantErr{{at("completed_at"), `must be a time like 2026-03-31T14:05:00+08:00 or 2026-03-31 14:05, not "yesterday"`}}},
	{name: "completed_at month 13", set: map[Field]string{FCompletedAt: "2026-13-01 10:00"}, errs: []wantErr{{at("completed_at"), "must be a time like"}}},
	{name: "completed_at offset without colon", set: map[Field]string{FCompletedAt: "2026-11-20T10:30:00+0800"}, errs: []wantErr{{at("completed_at"), "must be a time like"}}},
	{name: "completed_at US order", set: map[Field]string{FCompletedAt: "11/20/2026 10:30"}, errs: []wantErr{{at("completed_at"), "must be a time like"}}},
	{name: "completed_at missing", set: map[Field]string{FCompletedAt: ""}, errs: []wantErr{{at("completed_at"), "is required"}}},
	{name: "completed_at too long", set: map[Field]string{FCompletedAt: "2026-11-20 10:30" + strings.Repeat(" x", 20)}, errs: []wantErr{{at("completed_at"), "is longer than 40 characters"}}},

	// phone
	{name: "phone normalised", set: map[Field]string{FPhone: "+86 138-0013-8000"}, get: func(o Order) any { return o.Customer.Phone + " " + o.Customer.PhoneTimeZone }, want: "+8613800138000 Asia/Shanghai"},
	{name: "phone full-width", set: map[Field]string{FPhone: "１３８００１３８０００"}, get: phoneOf, want: "+8613800138000"},
	{name: "phone read with the region's country", base: usJob, defaults: Defaults{Region: "CN"}, get: phoneOf, want: "+12125550100"},
	{name: "phone read with the default region when there is none", set: map[Field]string{FRegion: ""}, defaults: Defaults{Region: "CN"}, get: phoneOf, want: "+8613800138000"},
	{name: "phone too short", set: map[Field]string{FPhone: "138"}, errs: []wantErr{{at("phone"), "too short for CN"}}},
	{name: "phone masked", set: map[Field]string{FPhone: "138****8000"}, errs: []wantErr{{at("phone"), "is masked"}}},
	{name: "phone toll-free", base: usJob, set: map[Field]string{FPhone: "1-800-555-0100"}, errs: []wantErr{{at("phone"), "toll-free numbers are not called"}}},
	{name: "phone missing", set: map[Field]string{FPhone: ""}, errs: []wantErr{{at("phone"), "is required"}}},
	{name: "phone too long a cell", set: map[Field]string{FPhone: strings.Repeat("1", 65)}, errs: []wantErr{{at("phone"), "is longer than 64 characters"}}},
	{name: "technician phone normalised", set: map[Field]string{FTechnicianPhone: "139-0013-9000"}, get: func(o Order) any { return o.TechnicianPhone }, want: "+8613900139000"},
	{name: "technician phone invalid", set: map[Field]string{FTechnicianPhone: "12345"}, errs: []wantErr{{at("technician_phone"), "too short for CN"}}},

	// tz, region and the customer's zone
	{name: "tz override", set: map[Field]string{FTZ: "Asia/Urumqi"}, get: tzOf, want: "Asia/Urumqi"},
	{name: "tz override unknown", set: map[Field]string{FTZ: "Mars/Olympus"}, errs: []wantErr{{at("tz"), `unknown IANA time zone "Mars/Olympus"`}}},
	{name: "tz Local refused", set: map[Field]string{FTZ: "Local"}, errs: []wantErr{{at("tz"), `unknown IANA time zone "Local"`}}},
	{name: "tz path refused", set: map[Field]string{FTZ: "../../etc/passwd"}, errs: []wantErr{{at("tz"), "unknown IANA time zone"}}},
	{name: "region CN-GD", get: tzOf, want: "Asia/Shanghai"},
	{name: "region CN-XJ", set: map[Field]string{FRegion: "CN-XJ"}, get: tzOf, want: "Asia/Urumqi"},
	{name: "region lower case", set: map[Field]string{FRegion: "cn-gd"}, get: func(o Order) any { return o.Customer.Region }, want: "CN-GD"},
	{name: "region US-CA", base: usJob, set: map[Field]string{FRegion: "US-CA", FPhone: "(415) 555-0100"}, get: tzOf, want: "America/Los_Angeles"},
	{name: "region zone wins over the number's", base: usJob, set: map[Field]string{FRegion: "US-CA"}, get: func(o Order) any { return o.Customer.TimeZone + " " + o.Customer.PhoneTimeZone }, want: "America/Los_Angeles America/New_York"},
	{name: "region US alone: the number's zone", base: usJob, set: map[Field]string{FRegion: "US"}, get: tzOf, want: "America/New_York"},
	{name: "region US alone, number spans zones: the default", base: usJob, set: map[Field]string{FRegion: "US", FPhone: "(907) 555-0100"}, defaults: Defaults{TimeZone: "America/Anchorage"}, get: tzOf, want: "America/Anchorage"},
	{name: "region US alone, number spans zones, no default", base: usJob, set: map[Field]string{FRegion: "US", FPhone: "(907) 555-0100"}, errs: []wantErr{{at("tz"), "cannot tell the customer's time zone"}}},
	{name: "no region, zone-less number, no default", base: usJob, set: map[Field]string{FRegion: "", FPhone: "+1 907 555 0100"}, errs: []wantErr{{at("tz"), "cannot tell the customer's time zone: give tz, or a region such as US-CA"}}},
	{name: "no region: the number's country", set: map[Field]string{FRegion: ""}, defaults: Defaults{Region: "CN"}, get: func(o Order) any { return o.Customer.Region + " " + o.Customer.TimeZone }, want: "CN Asia/Shanghai"},
	{name: "no region: a foreign number's country", set: map[Field]string{FRegion: "", FPhone: "+852 9123 4567"}, defaults: Defaults{Region: "CN"}, get: func(o Order) any { return o.Customer.Region + " " + o.Customer.TimeZone }, want: "HK Asia/Hong_Kong"},
	{name: "region in Chinese", defaults: Defaults{Region: "CN"}, set: map[Field]string{FRegion: "广东"}, errs: []wantErr{{at("region"), `must be an ISO 3166 code such as CN-GD, US-CA or CN, not "广东"`}}},
	{name: "region in Chinese, no default region", set: map[Field]string{FRegion: "广东省"}, errs: []wantErr{
		{at("region"), "must be an ISO 3166 code"}, {at("phone"), "no country code and no default region"},
	}},
	{name: "region with a space", defaults: Defaults{Region: "CN"}, set: map[Field]string{FRegion: "CN GD"}, errs: []wantErr{{at("region"), "must be an ISO 3166 code"}}},
	{name: "region one letter", defaults: Defaults{Region: "CN"}, set: map[Field]string{FRegion: "C"}, errs: []wantErr{{at("region"), "must be an ISO 3166 code"}}},
	{name: "region too long", defaults: Defaults{Region: "CN"}, set: map[Field]string{FRegion: "CN-GUANGDONG-SHENZHEN"}, errs: []wantErr{{at("region"), "is longer than 16 characters"}}},

	// lang
	{name: "lang default in CN", get: langOf, want: "zh-CN"},
	{name: "lang default in HK", set: map[Field]string{FRegion: "HK", FPhone: "+852 9123 4567"}, get: langOf, want: "zh-CN"},
	{name: "lang default in US", base: usJob, get: langOf, want: "en"},
	{name: "lang default in GB", set: map[Field]string{FRegion: "GB", FPhone: "+44 20 7946 0958"}, get: langOf, want: "en"},
	{name: "lang zh", set: map[Field]string{FLang: "zh"}, get: langOf, want: "zh-CN"},
	{name: "lang zh_CN", set: map[Field]string{FLang: "zh_CN"}, get: langOf, want: "zh-CN"},
	{name: "lang 中文", base: usJob, set: map[Field]string{FLang: "中文"}, get: langOf, want: "zh-CN"},
	{name: "lang Chinese", base: usJob, set: map[Field]string{FLang: "Chinese"}, get: langOf, want: "zh-CN"},
	{name: "lang EN-us", set: map[Field]string{FLang: "EN-us"}, get: langOf, want: "en"},
	{name: "lang 英文", set: map[Field]string{FLang: "英文"}, get: langOf, want: "en"},
	{name: "lang French", set: map[Field]string{FLang: "fr"}, errs: []wantErr{{at("lang"), `must be zh-CN or en, not "fr"`}}},

	// currency
	{name: "currency default CN", get: currencyOf, want: "CNY"},
	{name: "currency default US", base: usJob, get: currencyOf, want: "USD"},
	{name: "currency default GB", set: map[Field]string{FRegion: "GB", FPhone: "+44 20 7946 0958"}, get: currencyOf, want: "GBP"},
	{name: "currency default from the number's country", set: map[Field]string{FRegion: "", FPhone: "+852 9123 4567"}, get: currencyOf, want: "HKD"},
	{name: "currency required in DE", set: map[Field]string{FRegion: "DE", FPhone: "+49 30 12345678"}, errs: []wantErr{{at("currency"), "is required outside CN and US"}}},
	{name: "currency given in DE", set: map[Field]string{FRegion: "DE", FPhone: "+49 30 12345678", FCurrency: "eur"}, get: currencyOf, want: "EUR"},
	{name: "currency overrides the default", base: usJob, set: map[Field]string{FCurrency: "CNY"}, get: currencyOf, want: "CNY"},
	{name: "currency too long", set: map[Field]string{FCurrency: "EURO"}, errs: []wantErr{{at("currency"), "is longer than 3 characters"}}},
	{name: "currency symbol", set: map[Field]string{FCurrency: "€"}, errs: []wantErr{{at("currency"), "must be a three-letter ISO 4217 code"}}},
	{name: "currency with digit", set: map[Field]string{FCurrency: "US1"}, errs: []wantErr{{at("currency"), "must be a three-letter ISO 4217 code"}}},

	// warranty
	{name: "warranty absent", get: warrantyOf, want: UnknownStatus},
	{name: "warranty in_warranty", set: map[Field]string{FWarrantyStatus: "in_warranty"}, get: warrantyOf, want: InWarranty},
	{name: "warranty In Warranty", set: map[Field]string{FWarrantyStatus: "In Warranty"}, get: warrantyOf, want: InWarranty},
	{name: "warranty 保内", set: map[Field]string{FWarrantyStatus: "保内"}, get: warrantyOf, want: InWarranty},
	{name: "warranty 保修期内", set: map[Field]string{FWarrantyStatus: "保修期内"}, get: warrantyOf, want: InWarranty},
	{name: "warranty OUT", set: map[Field]string{FWarrantyStatus: "OUT"}, get: warrantyOf, want: OutOfWarranty},
	{name: "warranty 保外", set: map[Field]string{FWarrantyStatus: "保外"}, get: warrantyOf, want: OutOfWarranty},
	{name: "warranty 过保", set: map[Field]string{FWarrantyStatus: "过保"}, get: warrantyOf, want: OutOfWarranty},
	{name: "warranty 延保", set: map[Field]string{FWarrantyStatus: "延保"}, get: warrantyOf, want: Extended},
	{name: "warranty unknown", set: map[Field]string{FWarrantyStatus: "Unknown"}, get: warrantyOf, want: UnknownStatus},
	{name: "warranty lifetime", set: map[Field]string{FWarrantyStatus: "lifetime"}, errs: []wantErr{{at("warranty_status"), `must be in_warranty, out_of_warranty, extended or unknown, not "lifetime"`}}},

	// dates
	{name: "warranty_ends_on ISO", set: map[Field]string{FWarrantyEndsOn: "2028-05-01"}, get: warrantyEnds, want: day(2028, 5, 1)},
	{name: "warranty_ends_on slashes", set: map[Field]string{FWarrantyEndsOn: "2028/05/01"}, get: warrantyEnds, want: day(2028, 5, 1)},
	{name: "warranty_ends_on dots", set: map[Field]string{FWarrantyEndsOn: "2028.05.01"}, get: warrantyEnds, want: day(2028, 5, 1)},
	{name: "warranty_ends_on Chinese", set: map[Field]string{FWarrantyEndsOn: "2028年5月1日"}, get: warrantyEnds, want: day(2028, 5, 1)},
	{name: "warranty_ends_on absent", get: warrantyEnds, want: time.Time{}},
	{name: "warranty_ends_on 30 February", set: map[Field]string{FWarrantyEndsOn: "2028-02-30"}, errs: []wantErr{{at("warranty_ends_on"), `must be a date like 2026-03-31, not "2028-02-30"`}}},
	{name: "delivered_on US order", set: map[Field]string{FDeliveredOn: "05/01/2025"}, errs: []wantErr{{at("delivered_on"), `must be a date like 2026-03-31, not "05/01/2025"`}}},
	{name: "delivered_on with a time", set: map[Field]string{FDeliveredOn: "2025-05-01 10:00"}, errs: []wantErr{{at("delivered_on"), "must be a date like"}}},

	// money, through ParseMoney
	{name: "customer_paid yuan", set: map[Field]string{FCustomerPaid: "¥1,234.50"}, get: func(o Order) any { return o.CustomerPaid }, want: Money(123450)},
	{name: "customer_paid dollars", base: usJob, set: map[Field]string{FCustomerPaid: "$50.00"}, get: func(o Order) any { return o.CustomerPaid }, want: Money(5000)},
	{name: "customer_paid absent", get: func(o Order) any { return o.CustomerPaid }, want: Money(0)},
	{name: "labour_amount 元", set: map[Field]string{FLabourAmount: "60元"}, get: func(o Order) any { return o.LabourAmount }, want: Money(6000)},
	{name: "customer_paid negative", set: map[Field]string{FCustomerPaid: "-5"}, errs: []wantErr{{at("customer_paid"), `must be an amount like 50 or 50.00, not "-5"`}}},
	{name: "labour_amount words", set: map[Field]string{FLabourAmount: "abc"}, errs: []wantErr{{at("labour_amount"), `must be an amount like 50 or 50.00, not "abc"`}}},
	{name: "labour_amount decimal comma", set: map[Field]string{FLabourAmount: "12,50"}, errs: []wantErr{{at("labour_amount"), "commas only between thousands"}}},

	// labour_minutes
	{name: "labour_minutes absent", get: minutesOf, want: -1},
	{name: "labour_minutes 45", set: map[Field]string{FLabourMinutes: "45"}, get: minutesOf, want: 45},
	{name: "labour_minutes zero", set: map[Field]string{FLabourMinutes: "0"}, get: minutesOf, want: 0},
	{name: "labour_minutes full-width", set: map[Field]string{FLabourMinutes: "４５"}, get: minutesOf, want: 45},
	{name: "labour_minutes 10000", set: map[Field]string{FLabourMinutes: "10000"}, get: minutesOf, want: 10000},
	{name: "labour_minutes 10001", set: map[Field]string{FLabourMinutes: "10001"}, errs: []wantErr{{at("labour_minutes"), "must be a whole number of minutes from 0 to 10000"}}},
	{name: "labour_minutes negative", set: map[Field]string{FLabourMinutes: "-1"}, errs: []wantErr{{at("labour_minutes"), "must be a whole number of minutes"}}},
	{name: "labour_minutes fraction", set: map[Field]string{FLabourMinutes: "1.5"}, errs: []wantErr{{at("labour_minutes"), "must be a whole number of minutes"}}},
	{name: "labour_minutes words", set: map[Field]string{FLabourMinutes: "an hour"}, errs: []wantErr{{at("labour_minutes"), "must be a whole number of minutes"}}},

	// parts
	{name: "part with every field", parts: []RawPart{{Index: 1, Code: "HTR-3KW", Quantity: "2", UnitCost: "¥180", NameEN: "heating element", NameZH: "加热管"}},
		get: func(o Order) any { return o.Parts }, want: []ClaimedPart{{Code: "HTR-3KW", NameEN: "heating element", NameZH: "加热管", Quantity: 2, UnitCost: 18000}}},
	{name: "part code only: quantity 1, cost 0", parts: []RawPart{{Index: 1, Code: "IGN-1"}},
		get: func(o Order) any { return o.Parts }, want: []ClaimedPart{{Code: "IGN-1", Quantity: 1}}},
	{name: "part quantity 999 full-width", parts: []RawPart{{Index: 1, Code: "A", Quantity: "９９９"}},
		get: func(o Order) any { return o.Parts[0].Quantity }, want: 999},
	{name: "no parts", get: func(o Order) any { return o.Parts == nil }, want: true},
	{name: "part code missing", parts: []RawPart{{Index: 1, Code: "A"}, {Index: 2, Code: "  ", Quantity: "1"}},
		errs: []wantErr{{at("parts", "2", "code"), "is required"}}},
	{name: "part code too long", parts: []RawPart{{Index: 1, Code: strings.Repeat("A", 65)}},
		errs: []wantErr{{at("parts", "1", "code"), "must be at most 64 printable characters"}}},
	{name: "part code invalid UTF-8", parts: []RawPart{{Index: 1, Code: "A\xff"}},
		errs: []wantErr{{at("parts", "1", "code"), "must be at most 64 printable characters"}}},
	{name: "part code with a control character", parts: []RawPart{{Index: 1, Code: "A\x1bB"}},
		errs: []wantErr{{at("parts", "1", "code"), "must be at most 64 printable characters"}}},
	{name: "part quantity 0", parts: []RawPart{{Index: 1, Code: "A", Quantity: "0"}},
		errs: []wantErr{{at("parts", "1", "quantity"), `must be a whole number from 1 to 999, not "0"`}}},
	{name: "part quantity 1000", parts: []RawPart{{Index: 1, Code: "A", Quantity: "1000"}},
		errs: []wantErr{{at("parts", "1", "quantity"), "must be a whole number from 1 to 999"}}},
	{name: "part quantity fraction", parts: []RawPart{{Index: 1, Code: "A", Quantity: "1.5"}},
		errs: []wantErr{{at("parts", "1", "quantity"), "must be a whole number from 1 to 999"}}},
	{name: "part quantity negative, JSON index", parts: []RawPart{{Index: 0, Code: "A"}, {Index: 1, Code: "B", Quantity: "-2"}},
		errs: []wantErr{{at("parts", "1", "quantity"), `not "-2"`}}},
	{name: "part unit cost negative", parts: []RawPart{{Index: 1, Code: "A", UnitCost: "-5"}},
		errs: []wantErr{{at("parts", "1", "unit_cost"), `must be an amount like 50 or 50.00, not "-5"`}}},
	{name: "part unit cost three decimals", parts: []RawPart{{Index: 1, Code: "A", UnitCost: "1.234"}},
		errs: []wantErr{{at("parts", "1", "unit_cost"), "must be an amount"}}},
	{name: "part names 64 characters", parts: []RawPart{{Index: 1, Code: "A", NameEN: strings.Repeat("e", 64), NameZH: strings.Repeat("件", 64)}},
		get: func(o Order) any { return len(o.Parts[0].NameEN) + len(o.Parts[0].NameZH) }, want: 64 + 64*3},
	{name: "part names 65 characters", parts: []RawPart{{Index: 1, Code: "A", NameEN: strings.Repeat("e", 65), NameZH: strings.Repeat("件", 65)}},
		errs: []wantErr{{at("parts", "1", "name_en"), "must be at most 64 printable characters"}, {at("parts", "1", "name_zh"), "must be at most 64 printable characters"}}},
	{name: "part name with a newline", parts: []RawPart{{Index: 1, Code: "A", NameZH: "加热\n管"}},
		errs: []wantErr{{at("parts", "1", "name_zh"), "must be at most 64 printable characters"}}},
	{name: "part name invalid UTF-8", parts: []RawPart{{Index: 1, Code: "A", NameEN: "heat\xc3"}},
		errs: []wantErr{{at("parts", "1", "name_en"), "must be at most 64 printable characters"}}},
	{name: "20 parts", parts: nParts(MaxParts), get: func(o Order) any { return len(o.Parts) }, want: MaxParts},
	{name: "21 parts", parts: nParts(MaxParts + 1), errs: []wantErr{{at("parts"), "has more than 20 claim lines"}}},
	{name: "parts adding up to more than the database holds", parts: []RawPart{{Index: 1, Code: "A", UnitCost: "9999999999.99"}, {Index: 2, Code: "B", UnitCost: "0.01"}},
		errs: []wantErr{{at("parts"), "claims more than 9999999999.99 in total"}}},
	{name: "parts adding up to exactly the most the database holds", parts: []RawPart{{Index: 1, Code: "A", UnitCost: "9999999999.98"}, {Index: 2, Code: "B", UnitCost: "0.01"}},
		get: func(o Order) any { return o.PartsAmount() }, want: Money(999_999_999_999)},
	{name: "reader's parts errors kept", parts: []RawPart{{Index: 1, Code: "A"}}, perrs: []FieldError{{Path: at("parts", "2"), Msg: "has more than 5 '|'-separated fields"}},
		errs: []wantErr{{at("parts", "2"), "has more than 5"}}},

	// text: control characters, UTF-8, length
	{name: "trimmed", set: map[Field]string{FExternalID: "  WO-1 \u3000"}, get: func(o Order) any { return o.ExternalID }, want: "WO-1"},
	{name: "NUL in a name", set: map[Field]string{FCustomerName: "张\x00伟"}, errs: []wantErr{{at("customer_name"), "contains control characters"}}},
	{name: "tab inside an address", set: map[Field]string{FAddress: "1 Main St\tApt 2"}, errs: []wantErr{{at("address"), "contains control characters"}}},
	{name: "C1 control in the fault", set: map[Field]string{FFault: "no\u0085heat"}, errs: []wantErr{{at("fault"), "contains control characters"}}},
	{name: "escape in the model", set: map[Field]string{FProductModel: "JSQ\x1b[31m"}, errs: []wantErr{{at("product_model"), "contains control characters"}}},
	{name: "invalid UTF-8 name", set: map[Field]string{FCustomerName: "\xff\xfe张"}, errs: []wantErr{{at("customer_name"), "is not valid UTF-8"}}},
	{name: "invalid UTF-8 external id", set: map[Field]string{FExternalID: "WO-\xc3"}, errs: []wantErr{{at("external_id"), "is not valid UTF-8"}}},
	{name: "external_id 128 characters", set: map[Field]string{FExternalID: strings.Repeat("x", 128)}, get: func(o Order) any { return len(o.ExternalID) }, want: 128},
	{name: "external_id 129 characters", set: map[Field]string{FExternalID: strings.Repeat("x", 129)}, errs: []wantErr{{at("external_id"), "is longer than 128 characters"}}},
	{name: "name of 128 Chinese characters", set: map[Field]string{FCustomerName: strings.Repeat("张", 128)}, get: func(o Order) any { return len([]rune(o.Customer.Name)) }, want: 128},
	{name: "name of 129 Chinese characters", set: map[Field]string{FCustomerName: strings.Repeat("张", 129)}, errs: []wantErr{{at("customer_name"), "is longer than 128 characters"}}},
	{name: "address of 513 characters", set: map[Field]string{FAddress: strings.Repeat("路", 513)}, errs: []wantErr{{at("address"), "is longer than 512 characters"}}},
	{name: "serial number of 65 characters", set: map[Field]string{FSerialNumber: strings.Repeat("9", 65)}, errs: []wantErr{{at("serial_number"), "is longer than 64 characters"}}},
	{name: "a long value is shortened in the message", set: map[Field]string{FDeliveredOn: strings.Repeat("9", 100)}, errs: []wantErr{{at("delivered_on"), `not "` + strings.Repeat("9", 40) + `…"`}}},

	// required fields
	{name: "every required field missing", base: map[Field]string{}, errs: []wantErr{
		{at("external_id"), "is required"}, {at("kind"), "is required"}, {at("phone"), "is required"},
		{at("completed_at"), "is required"}, {at("provider_code"), "is required"},
		{at("product_category"), "is required"}, {at("product_model"), "is required"},
	}},

	// several problems in one row, reported together in field order
	{name: "several errors together", set: map[Field]string{
		FKind: "fix", FPhone: "12", FLang: "de", FCompletedAt: "soon", FWarrantyStatus: "maybe",
		FCurrency: "RMB!", FCustomerPaid: "free", FLabourMinutes: "lots",
	}, parts: []RawPart{{Index: 1, Code: "", Quantity: "0"}}, errs: []wantErr{
		{at("kind"), `not "fix"`}, {at("phone"), "too short"}, {at("lang"), `not "de"`},
		{at("completed_at"), `not "soon"`}, {at("warranty_status"), `not "maybe"`},
		{at("currency"), "is longer than 3 characters"}, {at("customer_paid"), `not "free"`},
		{at("labour_minutes"), "whole number"}, {at("parts", "1", "code"), "is required"},
		{at("parts", "1", "quantity"), `not "0"`},
	}},

	// the customer's id
	{name: "customer id given", set: map[Field]string{FCustomerID: "C-1"}, get: customerID, want: "C-1"},
	{name: "customer id made from the number and name", get: customerID, want: "+8613800138000|张伟"},
	{name: "customer id made from the number alone", set: map[Field]string{FCustomerName: ""}, get: customerID, want: "+8613800138000|"},
}

func kindOf(o Order) any       { return o.Kind }
func completedAt(o Order) any  { return o.CompletedAt }
func phoneOf(o Order) any      { return o.Customer.Phone }
func tzOf(o Order) any         { return o.Customer.TimeZone }
func langOf(o Order) any       { return o.Customer.Lang }
func currencyOf(o Order) any   { return o.Currency }
func warrantyOf(o Order) any   { return o.WarrantyStatus }
func warrantyEnds(o Order) any { return o.WarrantyEndsOn }
func minutesOf(o Order) any    { return o.LabourMinutes }
func customerID(o Order) any   { return o.Customer.ExternalID }
func nParts(n int) []RawPart {
	out := make([]RawPart, n)
	for i := range out {
		out[i] = RawPart{Index: i + 1, Code: "P" + strconv.Itoa(i+1)}
	}
	return out
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range validateCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			base := tc.base
			if base == nil {
				base = cnJob
			}
			row := fieldRow{vals: with(base, tc.set), parts: tc.parts, perrs: tc.perrs}
			o, errs := validator(tc.defaults).Validate(row)
			if tc.errs != nil {
				checkErrs(t, errs, tc.errs)
				return
			}
			checkErrs(t, errs, nil)
			if got := tc.get(o); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

// An invalid phone gives no customer id to fall back on, and no number's
// zone: the order carries only what was valid.
func TestValidateInvalidPhoneLeavesCustomerEmpty(t *testing.T) {
	t.Parallel()
	o, errs := validator(Defaults{}).Validate(fieldRow{vals: with(cnJob, map[Field]string{FPhone: "call me"})})
	checkErrs(t, errs, []wantErr{{at("phone"), "contains letters"}})
	if o.Customer.Phone != "" || o.Customer.ExternalID != "" || o.Customer.PhoneTimeZone != "" {
		t.Errorf("customer = %+v, want no phone, no id", o.Customer)
	}
	if o.Customer.TimeZone != "Asia/Shanghai" {
		t.Errorf("zone = %q, want the region's Asia/Shanghai", o.Customer.TimeZone)
	}
}

// Without a clock the validator cannot tell the future, and says nothing about it.
func TestValidateWithoutClock(t *testing.T) {
	t.Parallel()
	v := &Validator{}
	o, errs := v.Validate(fieldRow{vals: with(cnJob, map[Field]string{FCompletedAt: "2100-01-01T00:00:00Z"})})
	checkErrs(t, errs, nil)
	if want := utc("2100-01-01T00:00:00Z"); !o.CompletedAt.Equal(want) {
		t.Errorf("completed_at = %v, want %v", o.CompletedAt, want)
	}
}

// On the fall-back day 01:30 happens twice in New York; either reading is an
// instant that shows 01:30 there, never something else.
func TestValidateAmbiguousLocalTime(t *testing.T) {
	t.Parallel()
	o, errs := validator(Defaults{}).Validate(fieldRow{vals: with(usJob, map[Field]string{FCompletedAt: "2026-11-01 01:30"})})
	checkErrs(t, errs, nil)
	edt, est := utc("2026-11-01T05:30:00Z"), utc("2026-11-01T06:30:00Z")
	if !o.CompletedAt.Equal(edt) && !o.CompletedAt.Equal(est) {
		t.Errorf("completed_at = %v, want %v or %v", o.CompletedAt, edt, est)
	}
}

// moneyAccepts and moneyRejects are amounts as people and exports write them;
// FuzzParseMoney starts from them too.
var moneyAccepts = []struct {
	in   string
	want Money
}{
	{"0", 0},
	{"50", 5000},
	{"50.5", 5050},
	{"50.50", 5050},
	{"50.05", 5005},
	{"¥1,234.50", 123450},
	{"￥80", 8000},
	{"$50.00", 5000},
	{"US$50", 5000},
	{"50元", 5000},
	{"50块", 5000},
	{"RMB 80", 8000},
	{"CNY12.3", 1230},
	{"50 USD", 5000},
	{"５０", 5000},
	{"５０．５", 5050},
	{"１，２３４。５", 123450},
	{"12,345,678.90", 1234567890},
	{".5", 50},
	{"5.", 500},
	{" 7 ", 700},
	{"9999999999.99", 999_999_999_999},
}

var moneyRejects = []string{
	"-5",
	"+5",
	"1.234",
	"abc",
	"",
	"   ",
	"¥",
	"元",
	"$ ",
	".",
	"¥.",
	"12,50",
	"1,23",
	"1,2345",
	",5",
	"1,",
	"1.2,3",
	"5 0",
	"5.5.5",
	"1e3",
	"0x10",
	"NaN",
	"10000000000",
	"٥٠",
	"50€",
}

func TestParseMoney(t *testing.T) {
	t.Parallel()
	for _, tc := range moneyAccepts {
		got, err := ParseMoney(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseMoney(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range moneyRejects {
		got, err := ParseMoney(in)
		if err == nil {
			t.Errorf("ParseMoney(%q) = %v, want an error", in, got)
			continue
		}
		if !strings.Contains(err.Error(), "must be an amount like") || !strings.Contains(err.Error(), strconv.Quote(in)) {
			t.Errorf("ParseMoney(%q) error %q, want it to show the input and an example", in, err)
		}
	}
}

func TestMoneyString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		m    Money
		want string
	}{{0, "0.00"}, {5, "0.05"}, {50, "0.50"}, {123456, "1234.56"}, {-150, "-1.50"}, {999_999_999_999, "9999999999.99"}} {
		if got := tc.m.String(); got != tc.want {
			t.Errorf("Money(%d).String() = %q, want %q", int64(tc.m), got, tc.want)
		}
	}
}

func TestFieldErrorRendering(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path                []string
		field, pointer, err string
	}{
		{at("phone"), "phone", "/work_orders/3/phone", "phone: too short"},
		{at("parts", "2", "quantity"), "parts[2].quantity", "/work_orders/3/parts/2/quantity", "parts[2].quantity: too short"},
		{at("parts", "0"), "parts[0]", "/work_orders/3/parts/0", "parts[0]: too short"},
		{at("record"), "record", "/work_orders/3/record", "record: too short"},
		{at("a/b~c"), "a/b~c", "/work_orders/3/a~1b~0c", "a/b~c: too short"},
		{nil, "", "/work_orders/3", "too short"},
	} {
		e := FieldError{Path: tc.path, Msg: "too short"}
		if got := e.Field(); got != tc.field {
			t.Errorf("%q.Field() = %q, want %q", tc.path, got, tc.field)
		}
		if got := e.Pointer("/work_orders/3"); got != tc.pointer {
			t.Errorf("%q.Pointer() = %q, want %q", tc.path, got, tc.pointer)
		}
		if got := e.Error(); got != tc.err {
			t.Errorf("%q.Error() = %q, want %q", tc.path, got, tc.err)
		}
	}
}

func TestRowErrorFormat(t *testing.T) {
	t.Parallel()
	e := &RowError{Where: "jobs.csv:4", ExternalID: "WO-2003", Fields: []FieldError{
		{Path: at("phone"), Msg: "too short for CN"},
		{Path: at("parts", "2", "quantity"), Msg: `must be a whole number from 1 to 999, not "0"`},
		{Msg: "not a JSON object"},
	}}
	want := `jobs.csv:4:phone: too short for CN; jobs.csv:4:parts[2].quantity: must be a whole number from 1 to 999, not "0"; jobs.csv:4: not a JSON object`
	if got := e.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
}

func TestFieldByName(t *testing.T) {
	t.Parallel()
	for i, name := range FieldNames() {
		if f, ok := FieldByName(name); !ok || f != Field(i) || f.String() != name {
			t.Errorf("FieldByName(%q) = %v, %v; want field %d", name, f, ok, i)
		}
		if f, ok := FieldByName(" " + strings.ToUpper(name) + " "); !ok || f != Field(i) {
			t.Errorf("FieldByName of upper-case %q = %v, %v", name, f, ok)
		}
	}
	for alias, want := range map[string]Field{
		"工单号": FExternalID, "完工时间": FCompletedAt, "手机": FPhone, "联系电话": FPhone, "地区": FRegion,
		"网点编码": FProviderCode, "品类": FProductCategory, "型号": FProductModel, "机号": FSerialNumber,
		"保修状态": FWarrantyStatus, "工时": FLabourMinutes, "工时费": FLabourAmount, "用户付费": FCustomerPaid, "配件": FParts,
	} {
		if f, ok := FieldByName(alias); !ok || f != want {
			t.Errorf("FieldByName(%q) = %v, %v; want %v", alias, f, ok, want)
		}
	}
	for _, name := range []string{"", "mobile", "phone_number", "备注"} {
		if f, ok := FieldByName(name); ok {
			t.Errorf("FieldByName(%q) = %v, want no field", name, f)
		}
	}
}
