package surveys

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Kind is the type of a fact. The audit reads facts by name and kind, so a
// check for "was the customer charged" never parses a prompt or a key press.
type Kind string

// The kinds of fact an answer can record.
const (
	KindBool   Kind = "bool"   // yes_no questions
	KindTri    Kind = "tri"    // yes_no_unsure questions: yes, no or unsure
	KindInt    Kind = "int"    // rating and NPS scores
	KindMoney  Kind = "money"  // amounts, in the minor unit of Value.Currency
	KindString Kind = "string" // choices (the option's value) and free text (or a recording URL)
	KindDate   Kind = "date"   // date confirmations: YYYY-MM-DD, or "" when the customer was not sure
)

// Tri is a yes/no answer that admits "not sure". DOMAIN.md sends "not sure"
// to evidence review rather than to a flag, so it must stay distinct from no.
type Tri string

// The three answers of a yes_no_unsure question.
const (
	Yes    Tri = "yes"
	No     Tri = "no"
	Unsure Tri = "unsure"
)

// Value is one typed answer. Exactly the field that belongs to Kind is set.
type Value struct {
	Kind     Kind   `json:"kind"`
	Bool     bool   `json:"bool,omitempty"`
	Tri      Tri    `json:"tri,omitempty"`
	Int      int64  `json:"int,omitempty"` // int answers; money in minor units (fen, cents)
	Str      string `json:"str,omitempty"` // string answers; dates as YYYY-MM-DD
	Currency string `json:"currency,omitempty"`
}

// String renders v for people: "yes", "4", "CNY 50.00", "2025-03-14".
func (v Value) String() string {
	switch v.Kind {
	case KindBool:
		if v.Bool {
			return "yes"
		}
		return "no"
	case KindTri:
		return string(v.Tri)
	case KindInt:
		return strconv.FormatInt(v.Int, 10)
	case KindMoney:
		return formatMoney(v.Int, v.Currency)
	case KindDate:
		if v.Str == "" {
			return "unsure"
		}
		return v.Str
	case KindString:
		return strconv.Quote(v.Str)
	}
	return "?"
}

// currencyExponent is the number of decimals of a currency's minor unit.
func currencyExponent(currency string) int {
	switch strings.ToUpper(currency) {
	case "JPY", "KRW", "VND", "CLP", "ISK", "UGX", "PYG", "XAF", "XOF":
		return 0
	case "BHD", "KWD", "OMR", "JOD", "TND", "LYD", "IQD":
		return 3
	}
	return 2
}

func formatMoney(minor int64, currency string) string {
	exp := currencyExponent(currency)
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	s := strconv.FormatInt(minor, 10)
	if exp > 0 {
		for len(s) <= exp {
			s = "0" + s
		}
		s = s[:len(s)-exp] + "." + s[len(s)-exp:]
	}
	if currency == "" {
		return sign + s
	}
	return currency + " " + sign + s
}

// The facts the shipped scripts record and the audit checks read. A survey
// may record other facts too; these names are reserved for their meaning and
// kind, and the validator rejects a question that would give one of them the
// wrong kind.
const (
	FactVisitConfirmed     = "visit_confirmed"      // tri: did a technician come (repairs); V1
	FactInstallConfirmed   = "install_confirmed"    // tri: was the unit installed; V1
	FactWorking            = "working"              // bool: does the installed unit work
	FactPartReplaced       = "part_replaced"        // tri: was any part replaced; V2. Per part: part_replaced[<code>]
	FactPartConfirmed      = "part_confirmed"       // tri, per part only: part_confirmed[<code>]; V3
	FactCustomerCharged    = "customer_charged"     // bool: did the customer pay anything; V4
	FactCustomerPaidAmount = "customer_paid_amount" // money: how much; V4
	FactFixed              = "fixed"                // bool: is the problem fixed; V5
	FactVisitDate          = "visit_date"           // date: when the visit happened; V6
	FactCSAT               = "csat"                 // int 1–5
	FactNPS                = "nps"                  // int 0–10
	FactComment            = "comment"              // string: free text, or a recording URL
	FactOptedOut           = "opted_out"            // bool: set by the engine, never by a question
)

// wellKnownFacts gives each reserved fact its kind; perPart says whether the
// name is used per claimed part ("[<code>]" appended) or only once.
var wellKnownFacts = map[string]struct {
	kind    Kind
	perPart int // 0 once only, 1 per part only, 2 either
}{
	FactVisitConfirmed:     {KindTri, 0},
	FactInstallConfirmed:   {KindTri, 0},
	FactWorking:            {KindBool, 0},
	FactPartReplaced:       {KindTri, 2},
	FactPartConfirmed:      {KindTri, 1},
	FactCustomerCharged:    {KindBool, 0},
	FactCustomerPaidAmount: {KindMoney, 0},
	FactFixed:              {KindBool, 0},
	FactVisitDate:          {KindDate, 0},
	FactCSAT:               {KindInt, 0},
	FactNPS:                {KindInt, 0},
	FactComment:            {KindString, 0},
}

// PartFact names the per-part fact base for the claimed part code:
// PartFact("part_confirmed", "HE-01") is "part_confirmed[HE-01]".
func PartFact(base, code string) string { return base + "[" + code + "]" }

// Facts are the answers of one survey run by fact name: the latest answer of
// every question that was answered (a skipped question leaves its fact
// absent, which the audit reads as "unknown"), plus opted_out.
type Facts map[string]Value

// Bool returns a bool fact. A tri fact reads as true only when it is yes.
func (f Facts) Bool(name string) (value, ok bool) {
	v, ok := f[name]
	switch {
	case !ok:
		return false, false
	case v.Kind == KindBool:
		return v.Bool, true
	case v.Kind == KindTri && v.Tri != Unsure:
		return v.Tri == Yes, true
	}
	return false, false
}

// Tri returns a tri-state fact; a bool fact reads as yes or no.
func (f Facts) Tri(name string) (Tri, bool) {
	v, ok := f[name]
	switch {
	case !ok:
		return "", false
	case v.Kind == KindTri:
		return v.Tri, true
	case v.Kind == KindBool && v.Bool:
		return Yes, true
	case v.Kind == KindBool:
		return No, true
	}
	return "", false
}

// Int returns an int fact (a score).
func (f Facts) Int(name string) (int64, bool) {
	v, ok := f[name]
	if !ok || v.Kind != KindInt {
		return 0, false
	}
	return v.Int, true
}

// Money returns a money fact in minor units and its currency.
func (f Facts) Money(name string) (minor int64, currency string, ok bool) {
	v, ok := f[name]
	if !ok || v.Kind != KindMoney {
		return 0, "", false
	}
	return v.Int, v.Currency, true
}

// Text returns a string fact.
func (f Facts) Text(name string) (string, bool) {
	v, ok := f[name]
	if !ok || v.Kind != KindString {
		return "", false
	}
	return v.Str, true
}

// Date returns a date fact as YYYY-MM-DD; "" with ok=true means the customer
// was not sure.
func (f Facts) Date(name string) (string, bool) {
	v, ok := f[name]
	if !ok || v.Kind != KindDate {
		return "", false
	}
	return v.Str, true
}

// String lists the facts one per line, sorted by name, for logs and previews.
func (f Facts) String() string {
	names := make([]string, 0, len(f))
	for n := range f {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s = %s\n", n, f[n])
	}
	return b.String()
}
