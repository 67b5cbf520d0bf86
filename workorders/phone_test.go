package workorders

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // RegionTimeZone's zones must load on any machine, not only where the OS has them.
	"unicode"
)

// Customers used across the phone tests: a China Mobile number, a Beijing and a
// Guangzhou office line, and the US fictional range 555-01XX.
var (
	phoneCNMobile = Phone{E164: "+8613800138000", Country: "CN", TimeZone: "Asia/Shanghai", Mobile: true}
	phoneBJOffice = Phone{E164: "+861065529988", Country: "CN", TimeZone: "Asia/Shanghai"}
	phoneGZOffice = Phone{E164: "+862088881234", Country: "CN", TimeZone: "Asia/Shanghai"}
	phoneSF       = Phone{E164: "+14155550100", Country: "US", TimeZone: "America/Los_Angeles", Mobile: true}
	phoneNYC      = Phone{E164: "+12125550100", Country: "US", TimeZone: "America/New_York", Mobile: true}
	phoneHKMobile = Phone{E164: "+85291234567", Country: "HK", TimeZone: "Asia/Hong_Kong", Mobile: true}
	phoneLondon   = Phone{E164: "+442079460958", Country: "GB", TimeZone: "Europe/London"}
)

// phoneAccepts are numbers as customers, installers and upstream systems write them.
var phoneAccepts = []struct {
	name   string
	region string
	raw    string
	want   Phone
}{
	// Chinese mobiles.
	{"bare mobile", "CN", "13800138000", phoneCNMobile},
	{"spaces 3-4-4", "CN", "138 0013 8000", phoneCNMobile},
	{"dashes", "CN", "138-0013-8000", phoneCNMobile},
	{"dots", "CN", "138.0013.8000", phoneCNMobile},
	{"plus 86 spaced", "CN", "+86 138 0013 8000", phoneCNMobile},
	{"plus 86 dashed", "CN", "+86-138-0013-8000", phoneCNMobile},
	{"E.164", "CN", "+8613800138000", phoneCNMobile},
	{"0086 prefix", "CN", "0086 138 0013 8000", phoneCNMobile},
	{"0086 prefix packed", "CN", "008613800138000", phoneCNMobile},
	{"86 prefix spaced", "CN", "86 138 0013 8000", phoneCNMobile},
	{"86 prefix packed", "CN", "8613800138000", phoneCNMobile},
	{"country code in parentheses", "CN", "(+86) 138 0013 8000", phoneCNMobile},
	{"full-width digits", "CN", "１３８００１３８０００", phoneCNMobile},
	{"full-width plus and ideographic space", "CN", "＋８６　１３８　００１３　８０００", phoneCNMobile},
	{"full-width parentheses", "CN", "（＋86）13800138000", phoneCNMobile},
	{"surrounding spaces and tab", "CN", " \t 13800138000  \n", phoneCNMobile},
	{"NBSP separators", "CN", "138\u00a00013\u00a08000", phoneCNMobile},
	{"zero-width space and BOM from copy-paste", "CN", "\ufeff138\u200b0013 8000", phoneCNMobile},
	{"trunk 0 before a mobile", "CN", "+86 0138 0013 8000", phoneCNMobile},
	{"US default, 0086", "US", "0086 138 0013 8000", phoneCNMobile},
	{"US default, 011 86", "US", "011 86 138 0013 8000", phoneCNMobile},
	{"US default, bare 86 mobile", "US", "8613800138000", phoneCNMobile},
	{"plus needs no default region", "", "+86 138 0013 8000", phoneCNMobile},
	{"lower-case default region", " cn ", "13800138000", phoneCNMobile},

	// Chinese fixed lines.
	{"Beijing area code dashed", "CN", "010-6552 9988", phoneBJOffice},
	{"Beijing area code in parentheses", "CN", "(010) 6552 9988", phoneBJOffice},
	{"Guangzhou area code in parentheses", "CN", "(020) 8888 1234", phoneGZOffice},
	{"full-width hyphen", "CN", "０１０－６５５２９９８８", phoneBJOffice},
	{"plus 86 with (0)", "CN", "+86 (0)10 6552 9988", phoneBJOffice},
	{"tel URI", "CN", "tel:+86-10-6552-9988", phoneBJOffice},
	{"extension 转", "CN", "020-88881234转123", phoneGZOffice},
	{"extension 分机", "CN", "020-8888 1234 分机 8001", phoneGZOffice},
	{"extension 转分机号", "CN", "020 8888 1234 转分机号：8001", phoneGZOffice},
	{"extension full-width hash", "CN", "020-88881234＃123", phoneGZOffice},
	// libphonenumber maps all of +86 to Beijing time, Urumqi's 0991 included.
	{"Urumqi fixed line", "CN", "0991-1234567", Phone{E164: "+869911234567", Country: "CN", TimeZone: "Asia/Shanghai"}},

	// Hong Kong and the UK.
	{"Hong Kong mobile", "CN", "+852 9123 4567", phoneHKMobile},
	{"Hong Kong 00852", "CN", "00852-9123-4567", phoneHKMobile},
	// HK's own prefixes include "008"; libphonenumber alone would read +52 here.
	{"Hong Kong default, 00852", "HK", "00852 9123 4567", phoneHKMobile},
	{"Singapore carrier prefix 001", "SG", "001 1 415 555 0100", phoneSF},
	{"London from US data", "US", "+44 (0)20 7946 0958", phoneLondon},

	// US numbers.
	{"US parentheses", "US", "(415) 555-0100", phoneSF},
	{"US dashes", "US", "415-555-0100", phoneSF},
	{"US dots", "US", "415.555.0100", phoneSF},
	{"US leading 1", "US", "1-415-555-0100", phoneSF},
	{"US plus 1", "US", "+1 415 555 0100", phoneSF},
	{"US plus 1 parentheses", "US", "+1 (415) 555-0100", phoneSF},
	{"US from CN data", "CN", "+1 415 555 0100", phoneSF},
	{"US en dashes", "US", "415–555–0100", phoneSF},
	{"US x extension", "US", "415 555 0100 x123", phoneSF},
	{"US ext. extension", "US", "415-555-0100 ext. 123", phoneSF},
	{"US Ext extension", "US", "(415) 555-0100 Extension 123", phoneSF},
	{"US hash extension", "US", "415.555.0100#123", phoneSF},
	{"US dial-string pause", "US", "4155550100,,123", phoneSF},
	{"US RFC 3966 ext", "US", "tel:+1-415-555-0100;ext=123", phoneSF},
	{"Arabic-Indic digits", "US", "٤١٥٥٥٥٠١٠٠", phoneSF},
	{"Devanagari digits", "US", "४१५ ५५५ ०१००", phoneSF},
	{"New York", "US", "212 555 0100", phoneNYC},
	{"Alaska spans two zones", "US", "(907) 555-0100", Phone{E164: "+19075550100", Country: "US", Mobile: true}},
}

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	for _, tc := range phoneAccepts {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := NormalizePhone(tc.raw, tc.region)
			if err != nil {
				t.Fatalf("NormalizePhone(%q, %q): %v", tc.raw, tc.region, err)
			}
			if got != tc.want {
				t.Errorf("NormalizePhone(%q, %q)\n got %+v\nwant %+v", tc.raw, tc.region, got, tc.want)
			}
		})
	}
}

// phoneRejects are inputs the import must refuse, with the reason ops will read.
var phoneRejects = []struct {
	name   string
	region string
	raw    string
	reason string
}{
	{"empty", "CN", "", "empty"},
	{"only spaces", "CN", " \u3000 ", "empty"},
	{"words", "US", "call me", "contains letters"},
	{"words around a number", "US", "call 415-555-0100 after 6pm", "contains letters"},
	{"Chinese label", "CN", "手机13800138000", "contains letters"},
	{"letters in extension", "US", "415-555-0100 ext abc", "contains letters"},
	{"masked upstream", "CN", "138****8000", "is masked"},
	{"two numbers", "CN", "13800138000/13900139000", "more than one number"},
	{"two numbers with 、", "CN", "13800138000、13900139000", "more than one number"},
	{"stray plus", "CN", "86+13800138000", "+ that does not start"},
	{"punctuation", "CN", "13800138000!", "characters not used in phone numbers"},
	{"invalid UTF-8", "CN", "138\xff00138000", "characters not used in phone numbers"},
	{"no digits", "CN", "--", "no digits"},
	{"too short", "CN", "138", "too short for CN"},
	{"two digits", "US", "12", "too short for US"},
	{"too short with country code", "CN", "+86 13", "too short"},
	{"too long", "CN", "1380013800013800138000", "too long for CN"},
	{"too long for the parser", "CN", strings.Repeat("1", 300), "too long"},
	{"mobile one digit short", "CN", "1380013800", "not a valid number in CN"},
	{"US local number", "US", "555-0100", "a local number without its area code"},
	{"US unassigned area code", "US", "456 555 0100", "not a valid number"},
	{"US eleven digits", "US", "415 555 01000", "too long for US"},
	{"CN 168 not assigned", "CN", "16812345678", "not a valid number in CN"},
	{"US toll-free", "US", "1-800-555-0100", "toll-free numbers are not called"},
	{"CN toll-free 800", "CN", "800 810 8888", "toll-free numbers are not called"},
	{"US premium-rate", "US", "1-900-555-0100", "premium-rate numbers are not called"},
	{"CN 400 shared-cost", "CN", "400-810-8888", "shared-cost numbers are not called"},
	{"GB VoIP", "GB", "056 1234 5678", "VoIP numbers are not called"},
	{"GB personal", "US", "+44 70 1234 5678", "personal (call forwarding) numbers are not called"},
	{"US personal 500", "US", "+1 500 234 5678", "personal (call forwarding) numbers are not called"},
	{"GB pager", "US", "+44 7640 123456", "pager numbers are not called"},
	{"GB UAN", "US", "+44 55 1234 5678", "company (UAN) numbers are not called"},
	{"satellite", "US", "+881 6 1234 5678", "non-geographic numbers"},
	{"unknown country code", "US", "+999 1234 5678", "unknown country code"},
	{"no region", "", "13800138000", "no country code and no default region"},
	{"bad region", "XX", "13800138000", `unknown default region "XX"`},
	{"numeric region", "86", "13800138000", "default region is not an ISO 3166-1 alpha-2 code"},
}

func TestNormalizePhoneRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range phoneRejects {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := NormalizePhone(tc.raw, tc.region)
			if err == nil {
				t.Fatalf("NormalizePhone(%q, %q) = %+v, want error %q", tc.raw, tc.region, got, tc.reason)
			}
			var pe *PhoneError
			if !errors.As(err, &pe) {
				t.Fatalf("NormalizePhone(%q, %q) error %T, want *PhoneError", tc.raw, tc.region, err)
			}
			if !strings.Contains(pe.Reason, tc.reason) {
				t.Errorf("NormalizePhone(%q, %q) reason %q, want it to contain %q", tc.raw, tc.region, pe.Reason, tc.reason)
			}
			if pe.Input != MaskPhone(tc.raw) {
				t.Errorf("PhoneError.Input %q, want MaskPhone(input) %q", pe.Input, MaskPhone(tc.raw))
			}
			if run := longestDigitRun(err.Error()); run > 4 {
				t.Errorf("error %q shows %d digits in a row", err, run)
			}
		})
	}
}

func TestMaskPhone(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"+8613800138000", "+86*******8000"},
		{"+1 (415) 555-0100", "+1******0100"},
		{"+852 9123 4567", "+852****4567"},
		{"138 0013 8000", "*******8000"},
		{"0086 138 0013 8000", "+86*******8000"},
		{"(+86) 138 0013 8000", "+86*******8000"},
		{"１３８００１３８０００", "*******8000"},
		{"010-6552 9988 转 123", "*******9988"},
		{"415-555-0100 x 77", "******0100"},
		{"call 415-555-0100 after 6pm", "*******1006"},
		{"+999 1234 5678", "+*******5678"},
		{"12345", "***45"},
		{"+86 1", "+86*"},
		{"+86", "+86"},
		{"call me", ""},
		{"", ""},
		{strings.Repeat("9", 100), strings.Repeat("*", 32) + "9999"},
	}
	for _, tc := range cases {
		if got := MaskPhone(tc.in); got != tc.want {
			t.Errorf("MaskPhone(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRegionTimeZone(t *testing.T) {
	t.Parallel()
	cases := []struct {
		region string
		want   string // "" means not found
	}{
		{"CN-GD", "Asia/Shanghai"},
		{"CN-BJ", "Asia/Shanghai"},
		{"CN-SH", "Asia/Shanghai"},
		{"CN-ZJ", "Asia/Shanghai"},
		{"CN-XZ", "Asia/Shanghai"},
		{"CN-XJ", "Asia/Urumqi"},
		{"CN-44", "Asia/Shanghai"},
		{"CN-65", "Asia/Urumqi"},
		{"CN-HK", "Asia/Hong_Kong"},
		{"CN", "Asia/Shanghai"},
		{"HK", "Asia/Hong_Kong"},
		{"MO", "Asia/Macau"},
		{"TW", "Asia/Taipei"},
		{"SG", "Asia/Singapore"},
		{"GB", "Europe/London"},
		{"GB-SCT", "Europe/London"},
		{"US-CA", "America/Los_Angeles"},
		{"US-NY", "America/New_York"},
		{"US-AZ", "America/Phoenix"},
		{"US-HI", "Pacific/Honolulu"},
		{"US-AK", "America/Anchorage"},
		{"US-IN", "America/Indiana/Indianapolis"},
		{"US-TX", "America/Chicago"},
		{"US-FL", "America/New_York"},
		{"US-DC", "America/New_York"},
		{"US-PR", "America/Puerto_Rico"},
		{"CA-BC", "America/Vancouver"},
		{"CA-QC", "America/Toronto"},
		{"CA-NL", "America/St_Johns"},
		{"AU-NSW", "Australia/Sydney"},
		{"AU-WA", "Australia/Perth"},
		{"AU-QLD", "Australia/Brisbane"},
		{" us-ca ", "America/Los_Angeles"},
		{"cn-xj", "Asia/Urumqi"},
		{"US", ""},
		{"CA", ""},
		{"AU", ""},
		{"US-XX", ""},
		{"CN-XX", ""},
		{"XX", ""},
		{"XX-YY", ""},
		{"", ""},
		{"-", ""},
	}
	for _, tc := range cases {
		got, ok := RegionTimeZone(tc.region)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("RegionTimeZone(%q) = %q, %v; want %q, %v", tc.region, got, ok, tc.want, tc.want != "")
		}
	}
}

func TestRegionTimeZoneCoversEveryState(t *testing.T) {
	t.Parallel()
	states := strings.Fields(`AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS
		MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY`)
	if len(states) != 51 {
		t.Fatalf("the list has %d codes, want 50 states and DC", len(states))
	}
	for _, s := range states {
		if _, ok := RegionTimeZone("US-" + s); !ok {
			t.Errorf("RegionTimeZone(%q) not found", "US-"+s)
		}
	}
	provinces := strings.Fields(`AH BJ CQ FJ GD GS GX GZ HA HB HE HI HL HN JL JS JX LN NM NX QH SC SD SH SN
		SX TJ XJ XZ YN ZJ HK MO TW`)
	for _, p := range provinces {
		if _, ok := RegionTimeZone("CN-" + p); !ok {
			t.Errorf("RegionTimeZone(%q) not found", "CN-"+p)
		}
	}
}

func TestRegionZonesLoad(t *testing.T) {
	t.Parallel()
	for region, zone := range regionZones {
		if _, err := time.LoadLocation(zone); err != nil {
			t.Errorf("%s: %v", region, err)
		}
	}
}

func TestDigitValue(t *testing.T) {
	t.Parallel()
	// digitValue relies on every Nd range being whole sets of ten from a zero.
	for _, rg := range unicode.Nd.R16 {
		if rg.Stride != 1 || (rg.Hi-rg.Lo+1)%10 != 0 {
			t.Errorf("Nd range %U-%U stride %d is not whole digit sets", rg.Lo, rg.Hi, rg.Stride)
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if rg.Stride != 1 || (rg.Hi-rg.Lo+1)%10 != 0 {
			t.Errorf("Nd range %U-%U stride %d is not whole digit sets", rg.Lo, rg.Hi, rg.Stride)
		}
	}
	for in, want := range map[rune]rune{'٧': 7, '۹': 9, '७': 7, '৩': 3, '𝟘': 0, '𝟡': 9, '𝟬': 0, '９': 9} {
		if got := digitValue(in); got != want {
			t.Errorf("digitValue(%q) = %d, want %d", in, got, want)
		}
	}
}

// longestDigitRun is the length of the longest run of consecutive digits in s.
func longestDigitRun(s string) int {
	longest, run := 0, 0
	for _, r := range s {
		if unicode.IsDigit(r) {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}

var phoneFuzzRegions = []string{"CN", "US", "", "GB", "HK"}

// FuzzNormalizePhone checks what must hold for any input: no panic; an accepted
// number is E.164 and normalises to itself; a rejected one never shows more than
// four digits in a row (a country code is at most three).
func FuzzNormalizePhone(f *testing.F) {
	for i, tc := range phoneAccepts {
		f.Add(tc.raw, uint8(i))
	}
	for i, tc := range phoneRejects {
		f.Add(tc.raw, uint8(i))
	}
	f.Fuzz(func(t *testing.T, raw string, pick uint8) {
		region := phoneFuzzRegions[int(pick)%len(phoneFuzzRegions)]
		p, err := NormalizePhone(raw, region)
		if err != nil {
			var pe *PhoneError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T, want *PhoneError", err)
			}
			if run := longestDigitRun(err.Error()); run > 4 {
				t.Fatalf("error %q shows %d digits in a row", err, run)
			}
			return
		}
		if !strings.HasPrefix(p.E164, "+") || strings.Trim(p.E164[1:], "0123456789") != "" {
			t.Fatalf("E164 %q is not + and digits", p.E164)
		}
		if len(p.Country) != 2 {
			t.Fatalf("Country %q is not ISO 3166-1 alpha-2", p.Country)
		}
		again, err := NormalizePhone(p.E164, region)
		if err != nil {
			t.Fatalf("re-normalising %q: %v", p.E164, err)
		}
		if again != p {
			t.Fatalf("re-normalising %q gave %+v, first %+v", p.E164, again, p)
		}
	})
}

func BenchmarkNormalizePhone(b *testing.B) {
	inputs := []struct{ raw, region string }{
		{"138 0013 8000", "CN"},
		{"+86 138-0013-8000", "CN"},
		{"0086 138 0013 8000", "US"},
		{"(020) 8888 1234", "CN"},
		{"(415) 555-0100", "US"},
		{"415.555.0100 ext. 123", "US"},
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		in := inputs[i%len(inputs)]
		// The uncached path: what a number not seen before costs.
		if _, err := normalizePhone(in.raw, in.region); err != nil {
			b.Fatal(err)
		}
	}
}

// The fast path for Chinese mobiles must answer exactly as the general path
// does, for every prefix and every way of writing the number.
func TestFastChineseMobileAgreesWithLibphonenumber(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	forms := []struct {
		format string
		region string
	}{
		{"%s", "CN"}, {"+86%s", "CN"}, {"+86 %s", "US"}, {"0086%s", "CN"}, {"0086%s", "US"},
		{"%s", "US"}, {"86%s", "CN"}, {"+86-%s", "HK"},
	}
	checked, fast := 0, 0
	for prefix := 100; prefix <= 199; prefix++ {
		for range 40 {
			nsn := fmt.Sprintf("%d%08d", prefix, rng.IntN(100_000_000))
			for _, f := range forms {
				raw := fmt.Sprintf(f.format, nsn)
				got, gotErr := normalizePhone(raw, f.region)
				want, wantErr := normalizePhoneSlow(raw, f.region)
				if got != want || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
					t.Fatalf("%q in %s: fast path %+v %v, library %+v %v", raw, f.region, got, gotErr, want, wantErr)
				}
				checked++
				if gotErr == nil && strings.HasPrefix(got.E164, "+86") {
					fast++
				}
			}
		}
	}
	if fast < checked/4 {
		t.Fatalf("only %d of %d inputs were valid Chinese mobiles: the comparison proves little", fast, checked)
	}
}

func BenchmarkNormalizeChineseMobile(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := normalizePhone(fmt.Sprintf("138%08d", i%100_000_000), "CN"); err != nil {
			b.Fatal(err)
		}
	}
}
