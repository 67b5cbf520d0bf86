// Package workorders owns the job model — completed installs and repairs, the
// customer, the provider who did the work and the parts it claims to have
// replaced — and intake: file import, the batch API's validation, scheduled
// pulls from upstream systems, and phone number normalisation.
//
// Every way in goes through the same Validator and the same Store.Import, so a
// job is checked by one set of rules and written by one set of statements
// however it arrives. The identity of a job is (source, external id): sending
// it again updates it, and sending it unchanged changes nothing.
package workorders

import (
	"fmt"
	"strings"
	"time"
)

// Kind says what the provider did: installed a new unit or repaired one.
type Kind string

// The two kinds of job.
const (
	Install Kind = "install"
	Repair  Kind = "repair"
)

// Warranty statuses a job may carry.
const (
	InWarranty    = "in_warranty"
	OutOfWarranty = "out_of_warranty"
	Extended      = "extended"
	UnknownStatus = "unknown"
)

// Money is an amount in the minor unit of its currency (fen, cents). Amounts
// are never floats.
type Money int64

// String formats m with two decimals: 12345 → "123.45".
func (m Money) String() string {
	sign := ""
	if m < 0 {
		sign, m = "-", -m
	}
	return fmt.Sprintf("%s%d.%02d", sign, m/100, m%100)
}

// Order is one completed job as validated at intake: everything a verification
// call and the claim checks need.
type Order struct {
	ExternalID      string
	Kind            Kind
	CompletedAt     time.Time
	Customer        Customer
	Provider        Provider
	Technician      string
	TechnicianPhone string // E.164, or "" when not given
	Brand           string
	ProductCategory string
	ProductModel    string
	SerialNumber    string
	WarrantyStatus  string
	WarrantyEndsOn  time.Time // zero when unknown
	DeliveredOn     time.Time // zero when unknown
	Fault           string
	Currency        string // ISO 4217
	CustomerPaid    Money  // what the customer says they were charged per the upstream record
	LabourMinutes   int    // -1 when not given
	LabourAmount    Money
	Parts           []ClaimedPart
}

// PartsAmount is the claimed value of the parts: Σ quantity × unit cost.
func (o *Order) PartsAmount() Money {
	var sum Money
	for _, p := range o.Parts {
		sum += Money(p.Quantity) * p.UnitCost
	}
	return sum
}

// Customer is the person the job was done for, as the upstream system knows
// them. Phone is E.164; TimeZone comes from the address region or the row's
// override, PhoneTimeZone from the number when the number implies one zone.
type Customer struct {
	ExternalID    string
	Name          string
	Phone         string
	PhoneTimeZone string
	Address       string
	Region        string // ISO 3166-2 ("CN-GD") or ISO 3166-1 ("CN"), upper case
	TimeZone      string // IANA
	Lang          string // "zh-CN" or "en"
}

// Provider is the contracted service company paid for the job.
type Provider struct {
	Code string
	Name string
}

// ClaimedPart is one claim line: a part the provider says it replaced, with
// the names a customer would recognise when asked about it.
type ClaimedPart struct {
	Code     string
	NameEN   string
	NameZH   string
	Quantity int
	UnitCost Money
}

// FieldError says what is wrong with one field of a row. Path is the field's
// place inside the row — {"phone"} or {"parts", "2", "quantity"} (parts count
// from 1 in CSV, from 0 in JSON, as each format's readers expect) — so each
// caller can name it in its own terms: "parts[2].quantity" in a file error,
// "/work_orders/3/parts/2/quantity" as a JSON pointer.
type FieldError struct {
	Path []string
	Msg  string
}

// Field renders the path the way file errors name fields: parts[2].quantity.
func (e FieldError) Field() string {
	var b strings.Builder
	for i, p := range e.Path {
		switch {
		case i == 0:
			b.WriteString(p)
		case isDigits(p):
			b.WriteString("[" + p + "]")
		default:
			b.WriteString("." + p)
		}
	}
	return b.String()
}

// Pointer renders the path as a JSON pointer (RFC 6901) below prefix.
func (e FieldError) Pointer(prefix string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, p := range e.Path {
		p = strings.ReplaceAll(strings.ReplaceAll(p, "~", "~0"), "/", "~1")
		b.WriteString("/" + p)
	}
	return b.String()
}

func (e FieldError) Error() string {
	if len(e.Path) == 0 {
		return e.Msg
	}
	return e.Field() + ": " + e.Msg
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// RowError collects what is wrong with one input row. Where is the row's place
// as its reader names it ("jobs.csv:17", "/work_orders/3"); ExternalID helps a
// person find the row upstream when it could be read.
type RowError struct {
	Where      string
	ExternalID string
	Fields     []FieldError
}

func (e *RowError) Error() string {
	var b strings.Builder
	for i, f := range e.Fields {
		if i > 0 {
			b.WriteString("; ")
		}
		if fld := f.Field(); fld != "" {
			b.WriteString(e.Where + ":" + fld + ": " + f.Msg)
		} else {
			b.WriteString(e.Where + ": " + f.Msg)
		}
	}
	return b.String()
}
