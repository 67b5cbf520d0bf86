package workorders

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Field is one named column of the intake format. The same names serve as CSV
// headers and JSON keys; docs/intake.md documents each.
type Field int

// The intake fields, in the order CSV files written by Huifang use.
const (
	FExternalID Field = iota
	FKind
	FCompletedAt
	FCustomerID
	FCustomerName
	FPhone
	FAddress
	FRegion
	FTZ
	FLang
	FProviderCode
	FProviderName
	FTechnician
	FTechnicianPhone
	FBrand
	FProductCategory
	FProductModel
	FSerialNumber
	FWarrantyStatus
	FWarrantyEndsOn
	FDeliveredOn
	FFault
	FCurrency
	FCustomerPaid
	FLabourMinutes
	FLabourAmount
	FParts
	numFields
)

var fieldNames = [numFields]string{
	"external_id", "kind", "completed_at", "customer_id", "customer_name", "phone", "address",
	"region", "tz", "lang", "provider_code", "provider_name", "technician", "technician_phone",
	"brand", "product_category", "product_model", "serial_number", "warranty_status",
	"warranty_ends_on", "delivered_on", "fault", "currency", "customer_paid", "labour_minutes",
	"labour_amount", "parts",
}

// String is the field's name in headers and JSON.
func (f Field) String() string { return fieldNames[f] }

// FieldNames lists every intake field in canonical order.
func FieldNames() []string { return append([]string(nil), fieldNames[:]...) }

// FieldByName finds a field by its canonical name or one of the Chinese
// header names upstream exports commonly use.
func FieldByName(name string) (Field, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	for i, fn := range fieldNames {
		if fn == n {
			return Field(i), true
		}
	}
	if f, ok := headerAliases[strings.TrimSpace(name)]; ok {
		return f, true
	}
	return 0, false
}

// headerAliases maps the Chinese column names of common service-system exports
// to fields, so a 工单 export imports without a mapping file.
var headerAliases = map[string]Field{
	"工单号": FExternalID, "工单编号": FExternalID, "类型": FKind, "工单类型": FKind,
	"完工时间": FCompletedAt, "完成时间": FCompletedAt, "客户编号": FCustomerID,
	"客户姓名": FCustomerName, "姓名": FCustomerName, "电话": FPhone, "手机": FPhone, "联系电话": FPhone,
	"地址": FAddress, "地区": FRegion, "时区": FTZ, "语言": FLang, "网点编码": FProviderCode,
	"服务商编码": FProviderCode, "网点名称": FProviderName, "服务商": FProviderName,
	"师傅": FTechnician, "技师": FTechnician, "师傅电话": FTechnicianPhone, "品牌": FBrand,
	"品类": FProductCategory, "产品类别": FProductCategory, "型号": FProductModel,
	"机号": FSerialNumber, "序列号": FSerialNumber, "条码": FSerialNumber,
	"保修状态": FWarrantyStatus, "保修截止": FWarrantyEndsOn, "送货日期": FDeliveredOn,
	"故障": FFault, "故障描述": FFault, "币种": FCurrency, "用户付费": FCustomerPaid,
	"收费金额": FCustomerPaid, "工时": FLabourMinutes, "工时费": FLabourAmount, "配件": FParts,
}

// Row is one input record as its reader sees it: a field's raw text, and the
// claimed parts already split into lines. Readers for CSV and JSON implement it.
type Row interface {
	Get(f Field) string
	Parts() ([]RawPart, []FieldError)
}

// RawPart is one claim line before validation; Index is its place as the
// reader names it (1-based in CSV, 0-based in JSON).
type RawPart struct {
	Index                  int
	Code, NameEN, NameZH   string
	Quantity, UnitCost     string
	QuantitySet, CostIsSet bool
}

// Defaults fill what a row leaves out; each intake source has its own.
type Defaults struct {
	Region   string // ISO 3166-1 alpha-2, for numbers written without a country code
	TimeZone string // IANA zone when neither the row nor its region nor its number gives one
}

// Validator turns rows into Orders, or says exactly which fields are wrong.
// It is safe for concurrent use.
type Validator struct {
	Defaults Defaults
	// Now is the clock; completion times more than an hour in its future are refused.
	Now func() time.Time
}

// MaxParts bounds the claim lines one job may carry.
const MaxParts = 20

// maxAmount is the largest amount the database holds (numeric(12,2)); a job
// whose parts add up to more would fail the whole import instead of its row.
const maxAmount Money = 999_999_999_999

var zoneCache = newZoneCache()

// Validate checks one row and builds the Order. All problems of the row are
// reported together, not just the first.
func (v *Validator) Validate(r Row) (Order, []FieldError) {
	var o Order
	var errs []FieldError
	bad := func(f Field, msg string) { errs = append(errs, FieldError{Path: []string{f.String()}, Msg: msg}) }
	text := func(f Field, max int, required bool) string {
		s := strings.TrimSpace(r.Get(f))
		switch {
		case s == "" && required:
			bad(f, "is required")
		case !utf8.ValidString(s):
			bad(f, "is not valid UTF-8")
			return ""
		case utf8.RuneCountInString(s) > max:
			bad(f, "is longer than "+strconv.Itoa(max)+" characters")
			return ""
		case HasControl(s):
			bad(f, "contains control characters")
			return ""
		}
		return s
	}

	o.ExternalID = text(FExternalID, 128, true)
	switch k := strings.ToLower(text(FKind, 16, true)); k {
	case "install", "installation", "安装":
		o.Kind = Install
	case "repair", "维修":
		o.Kind = Repair
	case "":
	default:
		bad(FKind, "must be install or repair, not "+QuoteValue(k))
	}

	o.Customer.ExternalID = text(FCustomerID, 128, false)
	o.Customer.Name = text(FCustomerName, 128, false)
	o.Customer.Address = text(FAddress, 512, false)
	o.Customer.Region = strings.ToUpper(text(FRegion, 16, false))
	if o.Customer.Region != "" && !isRegionCode(o.Customer.Region) {
		// Sliced for a default phone region, a region like "广东" would fail the
		// phone with a message about something else.
		bad(FRegion, "must be an ISO 3166 code such as CN-GD, US-CA or CN, not "+QuoteValue(o.Customer.Region))
		o.Customer.Region = ""
	}

	defRegion := v.Defaults.Region
	if len(o.Customer.Region) >= 2 {
		defRegion = o.Customer.Region[:2]
	}
	if raw := text(FPhone, 64, true); raw != "" {
		p, err := NormalizePhone(raw, defRegion)
		if err != nil {
			bad(FPhone, phoneReason(err))
		} else {
			o.Customer.Phone = p.E164
			o.Customer.PhoneTimeZone = p.TimeZone
			if len(o.Customer.Region) < 2 {
				// No address region: the number's country stands in for it.
				if o.Customer.Region == "" {
					o.Customer.Region = p.Country
				}
			}
		}
	}

	if tz := text(FTZ, 64, false); tz != "" {
		if _, err := zoneCache.load(tz); err != nil {
			bad(FTZ, "unknown IANA time zone "+QuoteValue(tz))
		} else {
			o.Customer.TimeZone = tz
		}
	} else if tz, ok := RegionTimeZone(o.Customer.Region); ok {
		o.Customer.TimeZone = tz
	} else if o.Customer.PhoneTimeZone != "" {
		o.Customer.TimeZone = o.Customer.PhoneTimeZone
	} else if v.Defaults.TimeZone != "" {
		o.Customer.TimeZone = v.Defaults.TimeZone
	} else if o.Customer.Phone != "" {
		bad(FTZ, "cannot tell the customer's time zone: give tz, or a region such as US-CA")
	}
	if o.Customer.ExternalID == "" && o.Customer.Phone != "" {
		// Upstream systems without customer ids: one customer per number and name.
		o.Customer.ExternalID = o.Customer.Phone + "|" + o.Customer.Name
	}

	country := o.Customer.Region
	if len(country) > 2 {
		country = country[:2]
	}
	switch l := strings.ToLower(text(FLang, 16, false)); l {
	case "":
		if country == "CN" || country == "TW" || country == "HK" || country == "MO" {
			o.Customer.Lang = "zh-CN"
		} else {
			o.Customer.Lang = "en"
		}
	case "zh", "zh-cn", "zh_cn", "zh-hans", "cn", "中文", "chinese":
		o.Customer.Lang = "zh-CN"
	case "en", "en-us", "en_us", "en-gb", "english", "英文":
		o.Customer.Lang = "en"
	default:
		bad(FLang, "must be zh-CN or en, not "+QuoteValue(l))
	}

	if s := text(FCompletedAt, 40, true); s != "" {
		loc := time.UTC
		if o.Customer.TimeZone != "" {
			loc, _ = zoneCache.load(o.Customer.TimeZone)
		}
		t, err := parseTime(s, loc)
		switch {
		case err != nil:
			bad(FCompletedAt, err.Error())
		case v.Now != nil && t.After(v.Now().Add(time.Hour)):
			bad(FCompletedAt, "is in the future")
		case t.In(loc).Year() < 2000:
			// The year in the customer's zone, not in the offset the time was
			// written with: one instant must be judged the same however it is written.
			bad(FCompletedAt, "is before the year 2000")
		default:
			o.CompletedAt = t.UTC()
		}
	}

	o.Provider.Code = text(FProviderCode, 64, true)
	o.Provider.Name = text(FProviderName, 128, false)
	o.Technician = text(FTechnician, 128, false)
	if raw := text(FTechnicianPhone, 64, false); raw != "" {
		if p, err := NormalizePhone(raw, defRegion); err != nil {
			bad(FTechnicianPhone, phoneReason(err))
		} else {
			o.TechnicianPhone = p.E164
		}
	}
	o.Brand = text(FBrand, 64, false)
	o.ProductCategory = text(FProductCategory, 64, true)
	o.ProductModel = text(FProductModel, 64, true)
	o.SerialNumber = text(FSerialNumber, 64, false)

	switch w := strings.ToLower(text(FWarrantyStatus, 32, false)); w {
	case "", "unknown":
		o.WarrantyStatus = UnknownStatus
	case "in_warranty", "in", "in warranty", "保内", "保修期内":
		o.WarrantyStatus = InWarranty
	case "out_of_warranty", "out", "out of warranty", "保外", "过保":
		o.WarrantyStatus = OutOfWarranty
	case "extended", "延保":
		o.WarrantyStatus = Extended
	default:
		bad(FWarrantyStatus, "must be in_warranty, out_of_warranty, extended or unknown, not "+QuoteValue(w))
	}
	o.WarrantyEndsOn = v.date(r, FWarrantyEndsOn, bad)
	o.DeliveredOn = v.date(r, FDeliveredOn, bad)
	o.Fault = text(FFault, 512, false)

	o.Currency = strings.ToUpper(text(FCurrency, 3, false))
	if o.Currency == "" {
		o.Currency = defaultCurrency[country]
		if o.Currency == "" && o.Customer.Phone != "" {
			bad(FCurrency, "is required outside CN and US (ISO 4217, e.g. EUR)")
		}
	} else if len(o.Currency) != 3 || !isUpperASCII(o.Currency) {
		bad(FCurrency, "must be a three-letter ISO 4217 code")
	}
	o.CustomerPaid = v.money(r, FCustomerPaid, bad)
	o.LabourAmount = v.money(r, FLabourAmount, bad)
	o.LabourMinutes = -1
	if s := text(FLabourMinutes, 10, false); s != "" {
		n, err := strconv.Atoi(normalizeDigits(s))
		if err != nil || n < 0 || n > 10000 {
			bad(FLabourMinutes, "must be a whole number of minutes from 0 to 10000")
		} else {
			o.LabourMinutes = n
		}
	}

	raws, perrs := r.Parts()
	errs = append(errs, perrs...)
	if len(raws) > MaxParts {
		bad(FParts, "has more than "+strconv.Itoa(MaxParts)+" claim lines")
		raws = nil
	}
	for _, rp := range raws {
		o.Parts = append(o.Parts, v.part(rp, &errs))
	}
	if o.PartsAmount() > maxAmount {
		bad(FParts, "claims more than "+maxAmount.String()+" in total")
	}
	return o, errs
}

func (v *Validator) part(rp RawPart, errs *[]FieldError) ClaimedPart {
	idx := strconv.Itoa(rp.Index)
	bad := func(sub, msg string) {
		*errs = append(*errs, FieldError{Path: []string{"parts", idx, sub}, Msg: msg})
	}
	var p ClaimedPart
	p.Code = strings.TrimSpace(rp.Code)
	switch {
	case p.Code == "":
		bad("code", "is required")
	case len(p.Code) > 64 || HasControl(p.Code) || !utf8.ValidString(p.Code):
		bad("code", "must be at most 64 printable characters")
	}
	p.NameEN = strings.TrimSpace(rp.NameEN)
	p.NameZH = strings.TrimSpace(rp.NameZH)
	if utf8.RuneCountInString(p.NameEN) > 64 || HasControl(p.NameEN) || !utf8.ValidString(p.NameEN) {
		bad("name_en", "must be at most 64 printable characters")
	}
	if utf8.RuneCountInString(p.NameZH) > 64 || HasControl(p.NameZH) || !utf8.ValidString(p.NameZH) {
		bad("name_zh", "must be at most 64 printable characters")
	}
	p.Quantity = 1
	if q := strings.TrimSpace(rp.Quantity); q != "" {
		n, err := strconv.Atoi(normalizeDigits(q))
		if err != nil || n < 1 || n > 999 {
			bad("quantity", "must be a whole number from 1 to 999, not "+QuoteValue(q))
		} else {
			p.Quantity = n
		}
	}
	if c := strings.TrimSpace(rp.UnitCost); c != "" {
		m, err := ParseMoney(c)
		if err != nil {
			bad("unit_cost", err.Error())
		} else {
			p.UnitCost = m
		}
	}
	return p
}

func (v *Validator) money(r Row, f Field, bad func(Field, string)) Money {
	s := strings.TrimSpace(r.Get(f))
	if s == "" {
		return 0
	}
	m, err := ParseMoney(s)
	if err != nil {
		bad(f, err.Error())
		return 0
	}
	return m
}

func (v *Validator) date(r Row, f Field, bad func(Field, string)) time.Time {
	s := strings.TrimSpace(r.Get(f))
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{"2006-01-02", "2006/01/02", "2006.01.02", "2006年1月2日"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	bad(f, "must be a date like 2026-03-31, not "+QuoteValue(s))
	return time.Time{}
}

var defaultCurrency = map[string]string{"CN": "CNY", "US": "USD", "HK": "HKD", "MO": "MOP", "TW": "TWD", "SG": "SGD", "GB": "GBP", "CA": "CAD", "AU": "AUD"}

// timeLayouts are the completion-time forms upstream exports use. Forms
// without an offset are read in the customer's zone.
var timeLayouts = []string{
	"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02T15:04",
	"2006/01/02 15:04:05", "2006/01/02 15:04", "2006/1/2 15:04:05", "2006/1/2 15:04",
	"2006-01-02",
}

func parseTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errString("must be a time like 2026-03-31T14:05:00+08:00 or 2026-03-31 14:05, not " + QuoteValue(s))
}

type errString string

func (e errString) Error() string { return string(e) }

// ParseMoney reads an amount as people and exports write it — "50", "50.5",
// "¥1,234.50", "$50.00", "50元", "RMB 80" — into minor units. Negative
// amounts, more than two decimals and commas anywhere but between thousands
// ("12,50" is refused, not read as 1250) are refused.
func ParseMoney(s string) (Money, error) {
	orig := s
	s = normalizeDigits(strings.TrimSpace(s))
	for _, p := range []string{"CNY", "RMB", "USD", "US$", "¥", "￥", "$", "元", "块", "圆"} {
		s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSuffix(s, p), p))
	}
	if s == "" {
		return 0, errString("must be an amount like 50 or 50.00, not " + QuoteValue(orig))
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if strings.Contains(whole, ",") {
		// Only thousands separators: a decimal comma ("12,50") must not become 1250.
		if !groupedThousands(whole) {
			return 0, errString("must be an amount like 1,234.50 (commas only between thousands), not " + QuoteValue(orig))
		}
		whole = strings.ReplaceAll(whole, ",", "")
	}
	if whole == "" && frac == "" {
		return 0, errString("must be an amount like 50 or 50.00, not " + QuoteValue(orig))
	}
	if whole == "" {
		whole = "0"
	}
	if !isDigits(whole) || (hasDot && frac != "" && !isDigits(frac)) || len(frac) > 2 || len(whole) > 10 {
		return 0, errString("must be an amount like 50 or 50.00, not " + QuoteValue(orig))
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	var c int64
	if frac != "" {
		c, _ = strconv.ParseInt(frac, 10, 64)
		if len(frac) == 1 {
			c *= 10
		}
	}
	return Money(w*100 + c), nil
}

// groupedThousands reports whether s is digits in comma-separated groups of
// three after a first group of one to three: "1,234", "12,345,678".
func groupedThousands(s string) bool {
	groups := strings.Split(s, ",")
	if n := len(groups[0]); n < 1 || n > 3 {
		return false
	}
	for _, g := range groups[1:] {
		if len(g) != 3 {
			return false
		}
	}
	return true
}

// isRegionCode reports whether s is an ISO 3166-1 alpha-2 country ("CN") or
// an ISO 3166-2 subdivision of one ("CN-GD", "AU-NSW", "CN-44"), upper case.
func isRegionCode(s string) bool {
	country, sub, hasSub := strings.Cut(s, "-")
	if len(country) != 2 || !isUpperASCII(country) {
		return false
	}
	if !hasSub {
		return true
	}
	if len(sub) < 1 || len(sub) > 3 {
		return false
	}
	for i := 0; i < len(sub); i++ {
		if (sub[i] < 'A' || sub[i] > 'Z') && (sub[i] < '0' || sub[i] > '9') {
			return false
		}
	}
	return true
}

// normalizeDigits turns full-width digits and punctuation into ASCII.
func normalizeDigits(s string) string {
	if isASCII(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '０' && r <= '９':
			return '0' + (r - '０')
		case r == '．' || r == '。':
			return '.'
		case r == '，':
			return ','
		case r == '　':
			return ' '
		}
		return r
	}, s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isUpperASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// HasControl reports whether s holds a control character (a newline, a tab,
// NUL …), which no one-line field of a user's file may contain.
func HasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// QuoteValue shows a bad value in an error, quoted and shortened to 40
// characters so a huge cell cannot flood a report. Every parser of a user's
// file uses it, so errors look alike.
func QuoteValue(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		r := []rune(s)
		s = string(r[:40]) + "…"
	}
	return strconv.Quote(s)
}

func phoneReason(err error) string {
	if pe, ok := err.(*PhoneError); ok {
		return pe.Reason
	}
	return err.Error()
}
