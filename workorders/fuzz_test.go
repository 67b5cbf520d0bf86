package workorders

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// fuzzFiles reads the testdata files matching pattern, for seeds.
func fuzzFiles(f *testing.F, pattern string) map[string][]byte {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seeds for %s: %v", pattern, err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		out[filepath.Base(p)] = data
	}
	return out
}

// fuzzHeaders are the headers FuzzCSVRows puts before its input: the canonical
// one, and one per seed file so that the seeds' rows line up with their columns.
func fuzzHeaders(f *testing.F) ([]string, map[string][]byte) {
	headers := []string{strings.Join(FieldNames(), ",") + "\n"}
	files := fuzzFiles(f, "*.csv")
	for _, name := range sortedKeys(files) {
		data := bytes.TrimPrefix(files[name], bom)
		i := bytes.IndexByte(data, '\n')
		headers = append(headers, string(data[:i+1]))
	}
	return headers, files
}

func sortedKeys(m map[string][]byte) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// FuzzCSVRows reads any bytes after a valid header. Whatever they are: no
// panic; every row is either read, with a place that only moves forward, or a
// *RowError naming this file and a line after the header; every error reads
// as clean text; and every valid row makes an order the database accepts,
// which CSVRecord writes back to the same order.
func FuzzCSVRows(f *testing.F) {
	headers, files := fuzzHeaders(f)
	for i, name := range sortedKeys(files) {
		data := bytes.TrimPrefix(files[name], bom)
		body := data[bytes.IndexByte(data, '\n')+1:]
		f.Add(uint8(i+1), body)
		f.Add(uint8(0), body)
	}
	f.Add(uint8(0), []byte("A-1,repair,2026-11-20 10:30,,,13800138000,,CN-GD,,,P1,,,,,c,m\n"))
	f.Add(uint8(0), []byte("\"A-1\nB\",\"x\"\"y\",\"unterminated\n"))
	f.Add(uint8(0), []byte("a\"b,c\r\n,,\"\"\n"))
	f.Fuzz(func(t *testing.T, pick uint8, data []byte) {
		header := headers[int(pick)%len(headers)]
		cr, err := NewCSVReader("fuzz.csv", io.MultiReader(strings.NewReader(header), bytes.NewReader(data)), nil)
		if err != nil {
			t.Fatalf("header %q refused: %v", header, err)
		}
		v := validator(Defaults{Region: "CN"})
		last := 1
		for i := 0; ; i++ {
			if i > len(data)+1 {
				t.Fatalf("%d rows from %d bytes: the reader does not end", i, len(data))
			}
			row, err := cr.Next()
			if err == io.EOF {
				return
			}
			line := checkWhere(t, "fuzz.csv:", cr.Where(), last)
			last = line
			var re *RowError
			if errors.As(err, &re) {
				checkRowError(t, "fuzz.csv:", re, cr.Where())
				continue
			}
			if err != nil {
				t.Fatalf("fatal error from an in-memory input: %v", err)
			}
			if _, perr := csv.NewReader(strings.NewReader(cr.Raw())).Read(); perr != nil && cr.Raw() != "" {
				t.Fatalf("Raw %q is not a CSV record: %v", cr.Raw(), perr)
			}
			checkValidated(t, v, row, cr.Where())
		}
	})
}

// FuzzJSONLRows reads any bytes as JSON lines, with the same promises as FuzzCSVRows.
func FuzzJSONLRows(f *testing.F) {
	for _, data := range fuzzFiles(f, "*.jsonl") {
		f.Add(data)
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, maxLine)
		for sc.Scan() {
			f.Add(append([]byte(nil), sc.Bytes()...))
		}
	}
	f.Add([]byte(`{"parts":[{"code":"A","quantity":"1e3","unit_cost":-1},null,{}]}` + "\n\r\n{}}"))
	f.Add([]byte(`{"external_id":"\u0000","kind":{},"":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		jr := NewJSONLReader("fuzz.jsonl", bytes.NewReader(data))
		v := validator(Defaults{Region: "CN"})
		last := 0
		for i := 0; ; i++ {
			if i > len(data)+1 {
				t.Fatalf("%d rows from %d bytes: the reader does not end", i, len(data))
			}
			row, err := jr.Next()
			if err == io.EOF {
				return
			}
			last = checkWhere(t, "fuzz.jsonl:", jr.Where(), last)
			var re *RowError
			if errors.As(err, &re) {
				checkRowError(t, "fuzz.jsonl:", re, jr.Where())
				continue
			}
			if err != nil {
				t.Fatalf("fatal error from an in-memory input: %v", err)
			}
			checkValidated(t, v, row, jr.Where())
		}
	})
}

// checkWhere checks that where is prefix and a line number after last, and returns the line.
func checkWhere(t *testing.T, prefix, where string, last int) int {
	t.Helper()
	num, ok := strings.CutPrefix(where, prefix)
	line, err := strconv.Atoi(num)
	if !ok || err != nil || line <= last || line < 1 {
		t.Fatalf("Where %q after line %d: want %s and a later line", where, last, prefix)
	}
	return line
}

func checkRowError(t *testing.T, prefix string, re *RowError, where string) {
	t.Helper()
	if re.Where != where || !strings.HasPrefix(re.Where, prefix) {
		t.Fatalf("RowError.Where %q, reader at %q", re.Where, where)
	}
	if len(re.Fields) == 0 {
		t.Fatalf("RowError at %s says nothing", where)
	}
	checkText(t, "RowError", re.Error())
	checkText(t, "RowError.ExternalID", re.ExternalID)
	if !strings.HasPrefix(re.Error(), re.Where) {
		t.Fatalf("RowError %q does not start with its place %q", re.Error(), re.Where)
	}
}

// checkText fails on text that cannot go into a report or a text column as it is.
func checkText(t *testing.T, what, s string) {
	t.Helper()
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) || len(s) > 64<<10 {
		t.Fatalf("%s is not clean text (%d bytes): %q", what, len(s), truncate(s))
	}
}

func truncate(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// checkValidated validates row and checks what the result promises.
func checkValidated(t *testing.T, v *Validator, row Row, where string) {
	t.Helper()
	o, errs := v.Validate(row)
	if len(errs) > 0 {
		for _, e := range errs {
			if len(e.Path) == 0 || e.Msg == "" {
				t.Fatalf("%s: validation error without a field or message: %+v", where, e)
			}
			checkText(t, "validation error", e.Error())
		}
		checkText(t, "validation errors", (&RowError{Where: where, ExternalID: o.ExternalID, Fields: errs}).Error())
		return
	}
	checkOrder(t, o, where)
	checkRoundTrip(t, v, o, where)
}

// checkOrder checks a valid order against the rules the database and the
// dialer rely on.
func checkOrder(t *testing.T, o Order, where string) {
	t.Helper()
	fail := func(what string) { t.Fatalf("%s: valid order with %s: %+v", where, what, o) }
	for _, s := range []string{o.ExternalID, o.Customer.ExternalID, o.Customer.Name, o.Customer.Address, o.Customer.Region,
		o.Provider.Code, o.Provider.Name, o.Technician, o.Brand, o.ProductCategory, o.ProductModel, o.SerialNumber, o.Fault} {
		if !utf8.ValidString(s) || HasControl(s) || s != strings.TrimSpace(s) {
			fail("a field that is not clean text")
		}
	}
	switch {
	case o.ExternalID == "" || o.Provider.Code == "" || o.ProductCategory == "" || o.ProductModel == "":
		fail("a required field empty")
	case o.Kind != Install && o.Kind != Repair:
		fail("an unknown kind")
	case !isE164(o.Customer.Phone) || (o.TechnicianPhone != "" && !isE164(o.TechnicianPhone)):
		fail("a phone that is not E.164")
	case o.Customer.Region != "" && !isRegionCode(o.Customer.Region):
		fail("a region that is not ISO 3166")
	case o.Customer.Lang != "zh-CN" && o.Customer.Lang != "en":
		fail("an unknown language")
	case len(o.Currency) != 3 || !isUpperASCII(o.Currency):
		fail("a currency that is not ISO 4217")
	case o.WarrantyStatus != InWarranty && o.WarrantyStatus != OutOfWarranty && o.WarrantyStatus != Extended && o.WarrantyStatus != UnknownStatus:
		fail("an unknown warranty status")
	// The year is the customer's, at most a day ahead of UTC.
	case o.CompletedAt.Before(y2k.Add(-24*time.Hour)) || o.CompletedAt.After(validateNow.Add(time.Hour)) || o.CompletedAt.Location() != time.UTC:
		fail("a completion time out of range")
	case o.LabourMinutes < -1 || o.LabourMinutes > 10000:
		fail("labour minutes out of range")
	case o.CustomerPaid < 0 || o.CustomerPaid > maxAmount || o.LabourAmount < 0 || o.LabourAmount > maxAmount || o.PartsAmount() > maxAmount:
		fail("an amount the database cannot hold")
	case len(o.Parts) > MaxParts:
		fail("too many parts")
	}
	if _, err := zoneCache.load(o.Customer.TimeZone); err != nil {
		fail("a time zone that does not load")
	}
	for _, p := range o.Parts {
		if p.Code == "" || p.Quantity < 1 || p.Quantity > 999 || p.UnitCost < 0 {
			fail("a bad claim line")
		}
		for _, s := range []string{p.Code, p.NameEN, p.NameZH} {
			if !utf8.ValidString(s) || HasControl(s) {
				fail("a claim line that is not clean text")
			}
		}
	}
}

var y2k = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func isE164(s string) bool {
	return len(s) >= 8 && len(s) <= 16 && s[0] == '+' && s[1] != '0' && isDigits(s[1:])
}

// checkRoundTrip writes o as CSVRecord does and reads it back. The compact
// parts cell has no escape for its own separators, so an order from JSON
// whose claim lines contain '|' or ';' cannot be written that way; those are
// left out here.
func checkRoundTrip(t *testing.T, v *Validator, o Order, where string) {
	t.Helper()
	for _, p := range o.Parts {
		if strings.ContainsAny(p.Code+p.NameEN+p.NameZH, "|;") {
			return
		}
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write(FieldNames())
	w.Write(CSVRecord(&o, nil))
	w.Flush()
	cr, err := NewCSVReader("again.csv", strings.NewReader(b.String()), nil)
	if err != nil {
		t.Fatalf("%s: CSVRecord's file: %v", where, err)
	}
	row, err := cr.Next()
	if err != nil {
		t.Fatalf("%s: CSVRecord's row: %v\n%s", where, err, b.String())
	}
	again, errs := v.Validate(row)
	if len(errs) > 0 || !reflect.DeepEqual(again, o) {
		t.Fatalf("%s: order does not survive CSVRecord: %v\n got %+v\nwant %+v\n%s", where, errs, again, o, b.String())
	}
}

// FuzzParseMoney: no panic; an accepted amount is one the database holds and
// reads back from its own String form.
func FuzzParseMoney(f *testing.F) {
	for _, tc := range moneyAccepts {
		f.Add(tc.in)
	}
	for _, in := range moneyRejects {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMoney(s)
		if err != nil {
			if m != 0 || !strings.HasPrefix(err.Error(), "must be an amount like") {
				t.Fatalf("ParseMoney(%q) = %v, %q", s, m, err)
			}
			checkText(t, "ParseMoney error", err.Error())
			return
		}
		if m < 0 || m > maxAmount {
			t.Fatalf("ParseMoney(%q) = %d, out of range", s, int64(m))
		}
		again, err := ParseMoney(m.String())
		if err != nil || again != m {
			t.Fatalf("ParseMoney(%q) = %v, but ParseMoney(%q) = %v, %v", s, m, m.String(), again, err)
		}
	})
}

// FuzzParsePartsCell: no panic; every entry of the cell is a claim line or an
// error at its place, never both and never neither; the lines' fields are the
// entry's '|'-separated fields; and the validator takes whatever comes out.
func FuzzParsePartsCell(f *testing.F) {
	for name, data := range fuzzFiles(f, "*.csv") {
		cr, err := NewCSVReader(name, bytes.NewReader(data), nil)
		if err != nil {
			continue
		}
		for {
			row, err := cr.Next()
			if err == io.EOF {
				break
			}
			if err == nil {
				f.Add(row.Get(FParts))
			}
		}
	}
	f.Add("A|1|2|a|甲|extra;;B||;|||")
	f.Add(strings.Repeat("P|1|9999999999.99;", MaxParts+1))
	f.Fuzz(func(t *testing.T, cell string) {
		parts, errs := ParsePartsCell(cell)
		entries := strings.Split(strings.TrimSpace(cell), ";")
		seen := map[int]bool{}
		for _, p := range parts {
			if p.Index < 1 || p.Index > len(entries) || seen[p.Index] {
				t.Fatalf("part index %d of %d entries (or twice)", p.Index, len(entries))
			}
			seen[p.Index] = true
			f := strings.Split(strings.TrimSpace(entries[p.Index-1]), "|")
			got := []string{p.Code, p.Quantity, p.UnitCost, p.NameEN, p.NameZH}[:len(f)]
			if !slices.Equal(got, f) || p.QuantitySet != (len(f) > 1) || p.CostIsSet != (len(f) > 2) {
				t.Fatalf("entry %q read as %+v", entries[p.Index-1], p)
			}
		}
		for _, e := range errs {
			if len(e.Path) != 2 || e.Path[0] != "parts" {
				t.Fatalf("error %+v", e)
			}
			i, err := strconv.Atoi(e.Path[1])
			if err != nil || i < 1 || i > len(entries) || seen[i] {
				t.Fatalf("error %+v for an entry of %d", e, len(entries))
			}
			seen[i] = true
		}
		for i, entry := range entries {
			if strings.TrimSpace(entry) != "" && !seen[i+1] {
				t.Fatalf("entry %d %q neither read nor refused", i+1, entry)
			}
		}
		_, verrs := validator(Defaults{}).Validate(fieldRow{vals: cnJob, parts: parts, perrs: errs})
		for _, e := range verrs {
			if e.Path[0] != "parts" {
				t.Fatalf("a valid job with this parts cell has error %v", e)
			}
			checkText(t, "parts error", e.Error())
		}
	})
}
