package workorders

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// Phone is a customer's number after normalisation: the form the dialer dials and the
// form two work orders are compared by, whatever the upstream system sent.
type Phone struct {
	// E164 is the number in E.164 form, "+8613800138000". It is the only form stored.
	E164 string
	// Country is the ISO 3166-1 alpha-2 code of the region the number belongs to ("CN",
	// "US", "HK"), which may differ from the default region the input was parsed with.
	Country string
	// TimeZone is the IANA zone the number implies when it implies exactly one
	// ("Asia/Shanghai"), else "". Mobile numbers and area codes that span zones
	// (US 907 covers Anchorage and Adak) imply none; libphonenumber also maps every
	// +86 number to Asia/Shanghai, Xinjiang fixed lines included. For calling windows,
	// prefer the zone of the job's address (RegionTimeZone) and fall back to this one.
	TimeZone string
	// Mobile is true for mobile numbers and for numbers that may be either (all US
	// and Canadian numbers look alike), so SMS surveys may be tried.
	Mobile bool
}

// PhoneError is the error NormalizePhone returns for a number it will not accept.
// Check for it with errors.As; the Reason is meant for the import report and the
// ops console.
type PhoneError struct {
	// Input is the rejected input masked by MaskPhone: at most the country code and
	// the last four digits survive, so the error can be logged and shown.
	Input string
	// Reason is a short human sentence: "too short for CN", "not a valid number in
	// US", "premium-rate numbers are not called".
	Reason string
}

func (e *PhoneError) Error() string {
	return fmt.Sprintf("phone number %q: %s", e.Input, e.Reason)
}

// maxPhoneInput bounds the work done on one input; nobody writes a phone number in
// more than this many bytes, even with an extension and full-width characters.
const maxPhoneInput = 256

// NormalizePhone parses a number as people and upstream systems write it, using
// defaultRegion (ISO 3166-1 alpha-2, e.g. "CN", "US") for numbers without a country
// code, and returns it in E.164 form with what the number tells about the customer.
//
// Before libphonenumber sees the input, NormalizePhone
//   - maps full-width characters (１３８, ＋, （）, －, ideographic space) to ASCII,
//     other Unicode digits and dashes to their ASCII forms, any Unicode space (NBSP
//     included) to a space, and drops invisible format characters (zero-width space,
//     BOM, direction marks) that copy and paste leaves behind;
//   - drops a leading "tel:" and an extension introduced by "ext", "x", "#", "转",
//     "分机", "," or ";": the result is always the main number, so the customer may
//     answer at the switchboard;
//   - reads a leading "00" as "+" whatever the default region: libphonenumber reads
//     it only where "00" is the region's international prefix (US data carries
//     "0086…" too) and reads "00852…" as HK's prefix "008" and +52; the region's own
//     prefix, such as the US "011", still works;
//   - reads a bare 13-digit "861…" as a Chinese mobile with its country code, whatever
//     the default region.
//
// It rejects, with a *PhoneError, input that is empty, contains letters or other
// text, is masked ("138****8000"), holds two numbers, is too short or too long, is
// not a valid number, is not in a geographic region (satellite, +800), or is of a type
// we do not call: customers are called at their own numbers, so toll-free,
// premium-rate, shared-cost (China's 400), VoIP, personal (forwarding), pager, UAN and
// voicemail numbers are refused with their type named. libphonenumber accepts the US
// 555-01XX fictional range as fixed-line-or-mobile, which test data relies on.
//
// Results are memoised in a bounded cache: intake sees the same technician's
// and repeat customers' numbers many times, and libphonenumber is slow.
func NormalizePhone(raw, defaultRegion string) (Phone, error) {
	key := defaultRegion + "\x00" + raw
	if r, ok := phoneMemo.get(key); ok {
		return r.p, r.err
	}
	p, err := normalizePhone(raw, defaultRegion)
	phoneMemo.put(key, phoneResult{p, err})
	return p, err
}

type phoneResult struct {
	p   Phone
	err error
}

// memo is a small concurrent cache that forgets everything when full, which
// keeps it bounded without the bookkeeping of an LRU.
type memo[V any] struct {
	mu  sync.RWMutex
	m   map[string]V
	max int
}

var phoneMemo = &memo[phoneResult]{m: map[string]phoneResult{}, max: 1 << 16}

func (c *memo[V]) get(k string) (V, bool) {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	return v, ok
}

func (c *memo[V]) put(k string, v V) {
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = v
	c.mu.Unlock()
}

func normalizePhone(raw, defaultRegion string) (Phone, error) {
	return normalizePhoneWith(raw, defaultRegion, true)
}

func normalizePhoneWith(raw, defaultRegion string, fast bool) (Phone, error) {
	fail := func(reason string) (Phone, error) {
		return Phone{}, &PhoneError{Input: MaskPhone(raw), Reason: reason}
	}

	region := strings.ToUpper(strings.TrimSpace(defaultRegion))
	if region != "" && !phonenumbers.GetSupportedRegions()[region] {
		if len(region) == 2 && isASCIILetters(region) {
			return fail(fmt.Sprintf("unknown default region %q", region))
		}
		return fail("default region is not an ISO 3166-1 alpha-2 code")
	}

	if strings.TrimSpace(raw) == "" {
		return fail("empty")
	}
	if len(raw) > maxPhoneInput {
		return fail("too long")
	}

	s := trimTel(strings.TrimSpace(foldPhoneRunes(raw)))
	if s == "" {
		return fail("empty")
	}
	if countNumbers(s) > 1 {
		return fail("contains more than one number")
	}
	main, ext := splitExtension(s)
	if reason := checkExtension(ext); reason != "" {
		return fail(reason)
	}
	main = strings.TrimSpace(main)
	if reason := checkMainNumber(main); reason != "" {
		return fail(reason)
	}

	plus := hasLeadingPlus(main)
	digits := asciiDigits(main)
	if digits == "" {
		return fail("no digits")
	}

	if fast {
		if p, ok := fastChineseMobile(digits, plus, region); ok {
			return p, nil
		}
	}
	return slowPath(raw, main, digits, plus, region)
}

// normalizePhoneSlow is normalizePhone without the fast path, for tests that
// check the two agree.
func normalizePhoneSlow(raw, defaultRegion string) (Phone, error) {
	return normalizePhoneWith(raw, defaultRegion, false)
}

// fastChineseMobile settles the commonest input — a Chinese mobile number,
// with or without +86 — without libphonenumber's general parser, which costs
// most of an import's CPU. It builds the number directly and still asks the
// library for its type and zone, so the answer is the library's; anything
// that is not plainly a valid Chinese mobile goes the slow way.
func fastChineseMobile(d string, plus bool, region string) (Phone, bool) {
	var nsn string
	switch {
	case plus && len(d) == 13 && strings.HasPrefix(d, "861"):
		nsn = d[2:]
	case !plus && len(d) == 15 && strings.HasPrefix(d, "00861"):
		nsn = d[4:]
	case !plus && region == "CN" && len(d) == 11 && d[0] == '1':
		nsn = d
	default:
		return Phone{}, false
	}
	v, err := strconv.ParseUint(nsn, 10, 64)
	if err != nil {
		return Phone{}, false
	}
	cc := int32(86)
	n := &phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &v}
	typ := phonenumbers.GetNumberType(n)
	if typ != phonenumbers.MOBILE && typ != phonenumbers.FIXED_LINE_OR_MOBILE {
		return Phone{}, false
	}
	p := Phone{E164: "+86" + nsn, Country: "CN", Mobile: true}
	if zones, err := phonenumbers.GetTimezonesForNumber(n); err == nil && len(zones) == 1 &&
		zones[0] != phonenumbers.UNKNOWN_TIMEZONE {
		p.TimeZone = zones[0]
	}
	return p, true
}

func slowPath(raw, main, digits string, plus bool, region string) (Phone, error) {
	fail := func(reason string) (Phone, error) {
		return Phone{}, &PhoneError{Input: MaskPhone(raw), Reason: reason}
	}
	n, err := parsePhone(main, digits, plus, region)
	if err != nil {
		international := plus || strings.HasPrefix(digits, "00")
		return fail(parseErrorReason(err, international, digits, region))
	}

	// GetNumberType says UNKNOWN for any number that is not valid, so one call
	// answers both "valid?" and "which type?"; the slower checks below run
	// only to explain a failure.
	typ := phonenumbers.GetNumberType(n)
	if typ == phonenumbers.UNKNOWN {
		switch phonenumbers.IsPossibleNumberWithReason(n) {
		case phonenumbers.IS_POSSIBLE:
		case phonenumbers.TOO_SHORT:
			return fail("too short " + forRegion(n, region))
		case phonenumbers.TOO_LONG:
			return fail("too long " + forRegion(n, region))
		case phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
			return fail("too short " + forRegion(n, region) + ": a local number without its area code")
		case phonenumbers.INVALID_COUNTRY_CODE:
			return fail("unknown country code")
		default: // INVALID_LENGTH
			return fail("wrong length " + forRegion(n, region))
		}
		if phonenumbers.IsValidNumber(n) {
			// Valid but of no type we know of: e.g. non-geographic services.
			if country := phonenumbers.GetRegionCodeForNumber(n); len(country) != 2 {
				return fail("non-geographic numbers (satellite, international services) are not called")
			}
		}
		return fail("not a valid number " + inRegion(n, region))
	}

	country := phonenumbers.GetRegionCodeForNumber(n)
	if len(country) != 2 {
		// "001": +800 freephone, +881 satellite, +882/+883 networks.
		return fail("non-geographic numbers (satellite, international services) are not called")
	}
	switch typ {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE, phonenumbers.FIXED_LINE_OR_MOBILE:
	default:
		return fail(refusedTypes[typ])
	}

	p := Phone{
		E164:    phonenumbers.Format(n, phonenumbers.E164),
		Country: country,
		Mobile:  typ == phonenumbers.MOBILE || typ == phonenumbers.FIXED_LINE_OR_MOBILE,
	}
	if zones, err := phonenumbers.GetTimezonesForNumber(n); err == nil && len(zones) == 1 &&
		zones[0] != phonenumbers.UNKNOWN_TIMEZONE {
		p.TimeZone = zones[0]
	}
	return p, nil
}

// refusedTypes names the number types NormalizePhone refuses, in the words of the
// import report.
var refusedTypes = map[phonenumbers.PhoneNumberType]string{
	phonenumbers.TOLL_FREE:       "toll-free numbers are not called",
	phonenumbers.PREMIUM_RATE:    "premium-rate numbers are not called",
	phonenumbers.SHARED_COST:     "shared-cost numbers are not called",
	phonenumbers.VOIP:            "VoIP numbers are not called",
	phonenumbers.PERSONAL_NUMBER: "personal (call forwarding) numbers are not called",
	phonenumbers.PAGER:           "pager numbers are not called",
	phonenumbers.UAN:             "company (UAN) numbers are not called",
	phonenumbers.VOICEMAIL:       "voicemail access numbers are not called",
	phonenumbers.UNKNOWN:         "not a valid number",
}

// parsePhone hands the cleaned main number to libphonenumber and applies the two
// readings it lacks: "00" as "+", and a bare "861…" as a Chinese mobile outside CN.
func parsePhone(main, digits string, plus bool, region string) (*phonenumbers.PhoneNumber, error) {
	if !plus && strings.HasPrefix(digits, "00") {
		// libphonenumber reads "00" only where it is the region's international prefix,
		// and where the prefix takes a carrier code (BR, KR, SG, TH, HK: "001", "008")
		// it reads "00852…" as IDD "008" and +52. Upstream data means "+" by "00", so
		// that reading wins; the region's own reading is kept for "001 1 415…" in SG.
		n, err := phonenumbers.Parse("+"+digits[2:], region)
		if err == nil && phonenumbers.IsValidNumber(n) {
			return n, nil
		}
		if local, localErr := phonenumbers.Parse(main, region); localErr == nil && phonenumbers.IsValidNumber(local) {
			return local, nil
		}
		return n, err
	}

	n, err := phonenumbers.Parse(main, region)
	if !plus && len(digits) == 13 && strings.HasPrefix(digits, "861") &&
		(err != nil || !phonenumbers.IsValidNumber(n)) {
		if cn, cnErr := phonenumbers.Parse("+"+digits, region); cnErr == nil && phonenumbers.IsValidNumber(cn) {
			return cn, nil
		}
	}
	return n, err
}

// parseErrorReason turns libphonenumber's parse errors into report sentences; a
// number written with its country code is not judged by the default region.
func parseErrorReason(err error, international bool, digits, region string) string {
	where := ""
	if !international && region != "" {
		where = " for " + region
	}
	switch {
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return "too short" + where
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return "too long" + where
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		if !international && region == "" {
			return "no country code and no default region"
		}
		return "unknown country code"
	case errors.Is(err, phonenumbers.ErrNotANumber) && len(digits) < 3:
		return "too short" + where
	default:
		return "not a phone number"
	}
}

// forRegion and inRegion name where a number was judged: the default region when the
// number is from there, the single region of its country code, else the code itself
// ("+1" covers 25 regions, so an invalid +1 number belongs to none of them).
func forRegion(n *phonenumbers.PhoneNumber, region string) string {
	return "for " + regionName(n, region)
}

func inRegion(n *phonenumbers.PhoneNumber, region string) string {
	name := regionName(n, region)
	if strings.HasPrefix(name, "+") {
		return "for " + name
	}
	return "in " + name
}

func regionName(n *phonenumbers.PhoneNumber, region string) string {
	cc := int(n.GetCountryCode())
	if region != "" && phonenumbers.GetCountryCodeForRegion(region) == cc {
		return region
	}
	if regions := phonenumbers.GetRegionCodesForCountryCode(cc); len(regions) == 1 && len(regions[0]) == 2 {
		return regions[0]
	}
	return "+" + strconv.Itoa(cc)
}

// MaskPhone masks all but the country code and the last 4 digits, "+86*******8000",
// so a number can appear in logs and errors. It works on raw input too: it reads
// the input as NormalizePhone does (full-width digits, "00" as "+", extension
// dropped) and keeps only '+', the country code, '*' and the kept digits, so letters
// and anything else around the number never reach the log. Short inputs keep at most
// half their digits ("12345" → "***45"), and more than 32 masked digits are written
// as 32 stars.
func MaskPhone(s string) string {
	main, _ := splitExtension(trimTel(strings.TrimSpace(foldPhoneRunes(s))))
	plus := hasLeadingPlus(main)
	digits := asciiDigits(main)
	if !plus && strings.HasPrefix(digits, "00") {
		plus, digits = true, digits[2:]
	}

	var b strings.Builder
	if plus {
		cc := callingCodePrefix(digits)
		digits = digits[len(cc):]
		b.WriteByte('+')
		b.WriteString(cc)
	}
	keep := min(4, len(digits)/2)
	b.WriteString(strings.Repeat("*", min(len(digits)-keep, 32)))
	b.WriteString(digits[len(digits)-keep:])
	return b.String()
}

// callingCodePrefix returns the country calling code that digits start with, or "".
// Calling codes are prefix-free (no code starts another), so the first hit is it.
func callingCodePrefix(digits string) string {
	for l := 1; l <= 3 && l <= len(digits); l++ {
		code, err := strconv.Atoi(digits[:l])
		if err == nil && digits[0] != '0' && phonenumbers.GetRegionCodeForCountryCode(code) != phonenumbers.UNKNOWN_REGION {
			return digits[:l]
		}
	}
	return ""
}

// foldPhoneRunes rewrites what people type and paste into plain ASCII where a phone
// number is concerned: full-width forms (U+FF01–FF5E, "１３８", "＋", "（", "－") and
// every other Unicode decimal digit become ASCII, every Unicode space (ideographic
// space, NBSP) a space, Unicode dashes and minus a hyphen, ASCII letters lower case
// (for the extension markers), and invisible format characters are dropped. Invalid
// UTF-8 becomes U+FFFD, which the checks then reject.
func foldPhoneRunes(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r >= 0xFF01 && r <= 0xFF5E {
			r -= 0xFEE0
		}
		switch {
		case r >= '0' && r <= '9':
		case r >= 'A' && r <= 'Z':
			r += 'a' - 'A'
		case r < utf8.RuneSelf:
		case unicode.IsDigit(r):
			r = '0' + digitValue(r)
		case unicode.IsSpace(r):
			r = ' '
		case r >= 0x2010 && r <= 0x2015, r == 0x2212, r == 0xFE58, r == 0xFE63:
			r = '-'
		case unicode.Is(unicode.Cf, r):
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// digitValue is the value of a Unicode decimal digit (category Nd). Unicode encodes
// every decimal digit set as ten contiguous code points from zero, and Go's table
// keeps them in stride-1 ranges that start at a zero (TestDigitValue checks it).
func digitValue(r rune) rune {
	for _, rg := range unicode.Nd.R16 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return (r - rune(rg.Lo)) % 10
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return (r - rune(rg.Lo)) % 10
		}
	}
	return 0
}

// trimTel drops the scheme of a tel: URI ("tel:+1-415-555-0100"), as copied from a
// web page or a CRM link.
func trimTel(s string) string {
	if rest, ok := strings.CutPrefix(s, "tel:"); ok {
		return strings.TrimSpace(rest)
	}
	return s
}

// numberSeparators split two numbers written in one field
// ("13800138000/13900139000", "138…、139…"); "/" also separates an area code
// ("010/6552 9988"), so only parts of seven digits or more count as numbers.
const numberSeparators = "/,;|、"

func countNumbers(s string) int {
	count := 0
	for part := range strings.FieldsFuncSeq(s, func(r rune) bool { return strings.ContainsRune(numberSeparators, r) }) {
		if len(asciiDigits(part)) >= 7 {
			count++
		}
	}
	return count
}

// extensionMarkers introduce an extension, in the lower-cased input. "ext" also covers
// "ext." and "extension"; "," and ";" are dial-string pauses and RFC 3966 ";ext=".
var extensionMarkers = []string{"ext", "x", "#", "转", "分机", ",", ";"}

// splitExtension splits s at the first extension marker.
func splitExtension(s string) (main, ext string) {
	cut := len(s)
	for _, m := range extensionMarkers {
		if i := strings.Index(s, m); i >= 0 && i < cut {
			cut = i
		}
	}
	return s[:cut], s[cut:]
}

// extensionWords are the words allowed around extension digits: "ext. 123",
// "extension: 123", "转分机号 123", ";ext=123".
var extensionWords = strings.NewReplacer(
	"extension", " ", "ext", " ", "x", " ", "#", " ", "转", " ", "分机", " ", "号", " ",
)

// checkExtension returns why the extension part is not one, or "".
func checkExtension(ext string) string {
	for _, r := range extensionWords.Replace(ext) {
		switch {
		case r >= '0' && r <= '9', strings.ContainsRune(" .:=-,;()", r):
		case unicode.IsLetter(r):
			return "contains letters"
		default:
			return "contains characters not used in phone numbers"
		}
	}
	return ""
}

// checkMainNumber returns why the main number (trimmed, before any extension) is not
// written as a phone number, or "".
func checkMainNumber(main string) string {
	for i, r := range main {
		switch {
		case r >= '0' && r <= '9', strings.ContainsRune(" -.()/", r):
		case r == '+':
			if strings.Trim(main[:i], "( ") != "" {
				return "contains a + that does not start the number"
			}
		case r == '*':
			return "is masked (contains *)"
		case unicode.IsLetter(r):
			return "contains letters"
		default:
			return "contains characters not used in phone numbers"
		}
	}
	return ""
}

// hasLeadingPlus reports whether s starts with "+", allowing the opening parenthesis
// of "(+86) 138 0013 8000".
func hasLeadingPlus(s string) bool {
	return strings.HasPrefix(strings.TrimLeft(s, "( "), "+")
}

func asciiDigits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func isASCIILetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// RegionTimeZone returns the IANA zone for an ISO 3166-2 subdivision or an ISO 3166-1
// country, for calling windows: "CN-GD" → Asia/Shanghai, "US-CA" →
// America/Los_Angeles. A country answers only when it has one zone ("CN", "SG", "GB");
// "US", "CA" and "AU" answer "", false, and so does an unknown subdivision of them.
// A subdivision of another single-zone country answers with the country's zone
// ("GB-SCT" → Europe/London). Input is case-insensitive and trimmed.
//
// US states and DC map to the zone most of their people live in (US-IN →
// America/Indiana/Indianapolis, US-TX → America/Chicago, US-FL → America/New_York).
// Chinese provinces accept the letter codes ISO 3166-2:CN has used since 2017
// ("CN-GD", "CN-BJ") and the older numeric ones ("CN-44"); all are on Beijing time
// except Xinjiang, which maps to Asia/Urumqi (UTC+6), the time most of its people
// keep day to day even though Beijing time is official there.
func RegionTimeZone(region string) (string, bool) {
	r := strings.ToUpper(strings.TrimSpace(region))
	if zone, ok := regionZones[r]; ok {
		return zone, true
	}
	country, _, isSubdivision := strings.Cut(r, "-")
	if isSubdivision && !subdividedCountries[country] {
		if zone, ok := regionZones[country]; ok {
			return zone, true
		}
	}
	return "", false
}

// subdividedCountries have more than one zone, or one exception (CN-XJ); only the
// subdivisions listed in regionZones answer for them.
var subdividedCountries = map[string]bool{"US": true, "CN": true, "CA": true, "AU": true}

// regionZones maps countries with a single zone and the subdivisions of
// subdividedCountries to IANA zones. TestRegionZonesLoad checks every zone loads.
var regionZones = map[string]string{
	// Countries and territories with one zone.
	"CN": "Asia/Shanghai",
	"HK": "Asia/Hong_Kong",
	"MO": "Asia/Macau",
	"TW": "Asia/Taipei",
	"SG": "Asia/Singapore",
	"MY": "Asia/Kuala_Lumpur",
	"JP": "Asia/Tokyo",
	"KR": "Asia/Seoul",
	"TH": "Asia/Bangkok",
	"VN": "Asia/Ho_Chi_Minh",
	"PH": "Asia/Manila",
	"IN": "Asia/Kolkata",
	"GB": "Europe/London",
	"IE": "Europe/Dublin",
	"DE": "Europe/Berlin",
	"FR": "Europe/Paris",
	"IT": "Europe/Rome",
	"NL": "Europe/Amsterdam",
	"PR": "America/Puerto_Rico",
	"GU": "Pacific/Guam",
	"VI": "America/St_Thomas",
	"AS": "Pacific/Pago_Pago",
	"MP": "Pacific/Saipan",

	// China: ISO 3166-2:CN letter codes (since 2017), then the numeric codes before.
	"CN-AH": "Asia/Shanghai", "CN-BJ": "Asia/Shanghai", "CN-CQ": "Asia/Shanghai",
	"CN-FJ": "Asia/Shanghai", "CN-GD": "Asia/Shanghai", "CN-GS": "Asia/Shanghai",
	"CN-GX": "Asia/Shanghai", "CN-GZ": "Asia/Shanghai", "CN-HA": "Asia/Shanghai",
	"CN-HB": "Asia/Shanghai", "CN-HE": "Asia/Shanghai", "CN-HI": "Asia/Shanghai",
	"CN-HL": "Asia/Shanghai", "CN-HN": "Asia/Shanghai", "CN-JL": "Asia/Shanghai",
	"CN-JS": "Asia/Shanghai", "CN-JX": "Asia/Shanghai", "CN-LN": "Asia/Shanghai",
	"CN-NM": "Asia/Shanghai", "CN-NX": "Asia/Shanghai", "CN-QH": "Asia/Shanghai",
	"CN-SC": "Asia/Shanghai", "CN-SD": "Asia/Shanghai", "CN-SH": "Asia/Shanghai",
	"CN-SN": "Asia/Shanghai", "CN-SX": "Asia/Shanghai", "CN-TJ": "Asia/Shanghai",
	"CN-XJ": "Asia/Urumqi", "CN-XZ": "Asia/Shanghai", "CN-YN": "Asia/Shanghai",
	"CN-ZJ": "Asia/Shanghai",
	"CN-HK": "Asia/Hong_Kong", "CN-MO": "Asia/Macau", "CN-TW": "Asia/Taipei",
	"CN-11": "Asia/Shanghai", "CN-12": "Asia/Shanghai", "CN-13": "Asia/Shanghai",
	"CN-14": "Asia/Shanghai", "CN-15": "Asia/Shanghai", "CN-21": "Asia/Shanghai",
	"CN-22": "Asia/Shanghai", "CN-23": "Asia/Shanghai", "CN-31": "Asia/Shanghai",
	"CN-32": "Asia/Shanghai", "CN-33": "Asia/Shanghai", "CN-34": "Asia/Shanghai",
	"CN-35": "Asia/Shanghai", "CN-36": "Asia/Shanghai", "CN-37": "Asia/Shanghai",
	"CN-41": "Asia/Shanghai", "CN-42": "Asia/Shanghai", "CN-43": "Asia/Shanghai",
	"CN-44": "Asia/Shanghai", "CN-45": "Asia/Shanghai", "CN-46": "Asia/Shanghai",
	"CN-50": "Asia/Shanghai", "CN-51": "Asia/Shanghai", "CN-52": "Asia/Shanghai",
	"CN-53": "Asia/Shanghai", "CN-54": "Asia/Shanghai", "CN-61": "Asia/Shanghai",
	"CN-62": "Asia/Shanghai", "CN-63": "Asia/Shanghai", "CN-64": "Asia/Shanghai",
	"CN-65": "Asia/Urumqi", "CN-71": "Asia/Taipei", "CN-91": "Asia/Hong_Kong",
	"CN-92": "Asia/Macau",

	// United States: the 50 states and DC, by majority zone; then the territories.
	"US-AL": "America/Chicago", "US-AK": "America/Anchorage", "US-AZ": "America/Phoenix",
	"US-AR": "America/Chicago", "US-CA": "America/Los_Angeles", "US-CO": "America/Denver",
	"US-CT": "America/New_York", "US-DE": "America/New_York", "US-DC": "America/New_York",
	"US-FL": "America/New_York", "US-GA": "America/New_York", "US-HI": "Pacific/Honolulu",
	"US-ID": "America/Boise", "US-IL": "America/Chicago", "US-IN": "America/Indiana/Indianapolis",
	"US-IA": "America/Chicago", "US-KS": "America/Chicago", "US-KY": "America/New_York",
	"US-LA": "America/Chicago", "US-ME": "America/New_York", "US-MD": "America/New_York",
	"US-MA": "America/New_York", "US-MI": "America/Detroit", "US-MN": "America/Chicago",
	"US-MS": "America/Chicago", "US-MO": "America/Chicago", "US-MT": "America/Denver",
	"US-NE": "America/Chicago", "US-NV": "America/Los_Angeles", "US-NH": "America/New_York",
	"US-NJ": "America/New_York", "US-NM": "America/Denver", "US-NY": "America/New_York",
	"US-NC": "America/New_York", "US-ND": "America/Chicago", "US-OH": "America/New_York",
	"US-OK": "America/Chicago", "US-OR": "America/Los_Angeles", "US-PA": "America/New_York",
	"US-RI": "America/New_York", "US-SC": "America/New_York", "US-SD": "America/Chicago",
	"US-TN": "America/Chicago", "US-TX": "America/Chicago", "US-UT": "America/Denver",
	"US-VT": "America/New_York", "US-VA": "America/New_York", "US-WA": "America/Los_Angeles",
	"US-WV": "America/New_York", "US-WI": "America/Chicago", "US-WY": "America/Denver",
	"US-PR": "America/Puerto_Rico", "US-GU": "Pacific/Guam", "US-VI": "America/St_Thomas",
	"US-AS": "Pacific/Pago_Pago", "US-MP": "Pacific/Saipan",

	// Canada: provinces and territories, by majority zone.
	"CA-AB": "America/Edmonton", "CA-BC": "America/Vancouver", "CA-MB": "America/Winnipeg",
	"CA-NB": "America/Moncton", "CA-NL": "America/St_Johns", "CA-NS": "America/Halifax",
	"CA-NT": "America/Edmonton", "CA-NU": "America/Iqaluit", "CA-ON": "America/Toronto",
	"CA-PE": "America/Halifax", "CA-QC": "America/Toronto", "CA-SK": "America/Regina",
	"CA-YT": "America/Whitehorse",

	// Australia: states and territories.
	"AU-ACT": "Australia/Sydney", "AU-NSW": "Australia/Sydney", "AU-NT": "Australia/Darwin",
	"AU-QLD": "Australia/Brisbane", "AU-SA": "Australia/Adelaide", "AU-TAS": "Australia/Hobart",
	"AU-VIC": "Australia/Melbourne", "AU-WA": "Australia/Perth",
}
