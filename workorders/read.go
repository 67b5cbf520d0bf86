package workorders

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Reader yields the rows of one input in order. Next returns io.EOF at the
// end; a *RowError for a row that cannot even be read (a malformed JSON line,
// a stray quote), after which reading goes on; any other error is fatal.
type Reader interface {
	Next() (Row, error)
	// Where names the row last returned, e.g. "jobs.csv:17".
	Where() string
	// Raw is the row last returned as it stood in the input, for reject files.
	Raw() string
}

// ErrHeader is wrapped by errors about a CSV header.
var ErrHeader = errors.New("bad header")

// bom is the UTF-8 byte-order mark that spreadsheet exports put first.
var bom = []byte{0xEF, 0xBB, 0xBF}

// CSVReader reads the intake CSV format: a header row naming fields (canonical
// names, the Chinese aliases of FieldByName, or a caller's mapping), then one
// job per record. UTF-8 with or without BOM, LF or CRLF, RFC 4180 quoting.
// Columns it does not know are ignored and listed by Ignored.
type CSVReader struct {
	name    string
	r       *csv.Reader
	col     [numFields]int // column of each field, -1 if absent
	ignored []string
	rec     []string
	line    int
}

// NewCSVReader reads the header and prepares the column mapping. mapping, if
// not nil, maps a field name to the header that holds it in this file
// ("phone" → "Mobile No."), for exports with their own column names.
func NewCSVReader(name string, r io.Reader, mapping map[string]string) (*CSVReader, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, bom) {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	c := &CSVReader{name: name, r: cr}
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s:1: %w: the file is empty; the first row must name the columns", name, ErrHeader)
	}
	if err != nil {
		return nil, fmt.Errorf("%s:1: %w: %v", name, ErrHeader, err)
	}
	for i := range c.col {
		c.col[i] = -1
	}
	// Sorted, so that what the mapping gets wrong is reported the same way every time.
	fnames := make([]string, 0, len(mapping))
	for fname := range mapping {
		fnames = append(fnames, fname)
	}
	sort.Strings(fnames)
	byHeader := map[string]Field{}
	for _, fname := range fnames {
		f, ok := FieldByName(fname)
		if !ok {
			return nil, fmt.Errorf("column mapping: unknown field %q (fields: %s)", fname, strings.Join(fieldNames[:], ", "))
		}
		h := strings.TrimSpace(mapping[fname])
		if g, dup := byHeader[h]; dup && g != f {
			return nil, fmt.Errorf("column mapping: %s and %s both map to column %q", g, f, h)
		}
		byHeader[h] = f
	}
	names := make([]string, len(header))
	mapped := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		names[i] = h
		f, ok := byHeader[h]
		if ok {
			mapped[h] = true
		} else {
			f, ok = FieldByName(h)
		}
		if !ok {
			c.ignored = append(c.ignored, h)
			continue
		}
		if j := c.col[f]; j >= 0 {
			return nil, fmt.Errorf("%s:1: %w: columns %d (%q) and %d (%q) both hold %s", name, ErrHeader, j+1, names[j], i+1, h, f)
		}
		c.col[f] = i
	}
	for _, fname := range fnames {
		if h := strings.TrimSpace(mapping[fname]); !mapped[h] {
			return nil, fmt.Errorf("%s:1: %w: column mapping %s=%q: the header has no such column", name, ErrHeader, fname, h)
		}
	}
	var missing []string
	for _, f := range []Field{FExternalID, FKind, FCompletedAt, FPhone, FProviderCode, FProductCategory, FProductModel} {
		if c.col[f] < 0 {
			missing = append(missing, f.String())
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s:1: %w: missing required column(s) %s", name, ErrHeader, strings.Join(missing, ", "))
	}
	c.line = 1
	return c, nil
}

// Ignored lists the header names that map to no field.
func (c *CSVReader) Ignored() []string { return c.ignored }

// Next implements Reader.
func (c *CSVReader) Next() (Row, error) {
	rec, err := c.r.Read()
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		c.rec = nil
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			// FieldPos must not be asked here: a record that fails in its first
			// field has no field positions at all.
			c.line = pe.StartLine
			at := "at column " + strconv.Itoa(pe.Column)
			if pe.Line != pe.StartLine {
				at = "at line " + strconv.Itoa(pe.Line) + ", column " + strconv.Itoa(pe.Column)
			}
			return nil, &RowError{Where: c.Where(), Fields: []FieldError{{Path: []string{"record"}, Msg: pe.Err.Error() + " " + at}}}
		}
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	if len(rec) > 0 {
		c.line, _ = c.r.FieldPos(0)
	}
	c.rec = rec
	return (*csvRow)(c), nil
}

// Where implements Reader.
func (c *CSVReader) Where() string { return c.name + ":" + strconv.Itoa(c.line) }

// Raw implements Reader: the record re-encoded as one CSV line.
func (c *CSVReader) Raw() string { return encodeCSVRecord(c.rec) }

func encodeCSVRecord(rec []string) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write(rec)
	w.Flush()
	return strings.TrimRight(b.String(), "\n")
}

type csvRow CSVReader

func (r *csvRow) Get(f Field) string {
	i := r.col[f]
	if i < 0 || i >= len(r.rec) {
		return ""
	}
	return r.rec[i]
}

// Parts reads the compact claim-line form of a CSV cell:
// "CODE|QTY|UNIT_COST|name_en|name_zh;CODE|…" — lines split by ';', fields by
// '|'; everything after the code may be left out (quantity 1, cost 0).
func (r *csvRow) Parts() ([]RawPart, []FieldError) {
	return ParsePartsCell(r.Get(FParts))
}

// ParsePartsCell parses the compact claim-line form used in CSV cells.
func ParsePartsCell(cell string) ([]RawPart, []FieldError) {
	cell = strings.TrimSpace(cell)
	if cell == "" {
		return nil, nil
	}
	var parts []RawPart
	var errs []FieldError
	for i, entry := range strings.Split(cell, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		f := strings.Split(entry, "|")
		if len(f) > 5 {
			errs = append(errs, FieldError{Path: []string{"parts", strconv.Itoa(i + 1)}, Msg: "has more than 5 '|'-separated fields (code|quantity|unit_cost|name_en|name_zh)"})
			continue
		}
		p := RawPart{Index: i + 1}
		for j, v := range f {
			switch j {
			case 0:
				p.Code = v
			case 1:
				p.Quantity, p.QuantitySet = v, true
			case 2:
				p.UnitCost, p.CostIsSet = v, true
			case 3:
				p.NameEN = v
			case 4:
				p.NameZH = v
			}
		}
		parts = append(parts, p)
	}
	return parts, errs
}

// FormatPartsCell writes claim lines in the compact CSV form ParsePartsCell reads.
func FormatPartsCell(parts []ClaimedPart) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(p.Code)
		b.WriteByte('|')
		b.WriteString(strconv.Itoa(p.Quantity))
		b.WriteByte('|')
		b.WriteString(p.UnitCost.String())
		b.WriteByte('|')
		b.WriteString(p.NameEN)
		b.WriteByte('|')
		b.WriteString(p.NameZH)
	}
	return b.String()
}

// CSVRecord renders o as a record in canonical field order, the inverse of
// CSVReader for files Huifang writes (sample data, benchmarks, exports).
func CSVRecord(o *Order, rec []string) []string {
	rec = rec[:0]
	date := func(t timeLike) string {
		if t.IsZero() {
			return ""
		}
		return t.Format("2006-01-02")
	}
	labour := ""
	if o.LabourMinutes >= 0 {
		labour = strconv.Itoa(o.LabourMinutes)
	}
	return append(rec,
		o.ExternalID, string(o.Kind), o.CompletedAt.Format(time.RFC3339Nano),
		o.Customer.ExternalID, o.Customer.Name, o.Customer.Phone, o.Customer.Address,
		o.Customer.Region, o.Customer.TimeZone, o.Customer.Lang, o.Provider.Code, o.Provider.Name,
		o.Technician, o.TechnicianPhone, o.Brand, o.ProductCategory, o.ProductModel,
		o.SerialNumber, o.WarrantyStatus, date(o.WarrantyEndsOn), date(o.DeliveredOn), o.Fault,
		o.Currency, o.CustomerPaid.String(), labour, o.LabourAmount.String(), FormatPartsCell(o.Parts),
	)
}

type timeLike interface {
	IsZero() bool
	Format(string) string
}

// JSONLReader reads one JSON object per line. Keys are the field names;
// values are strings or numbers (null means absent); "parts" is an array of
// {"code","quantity","unit_cost","name_en","name_zh"}. Unknown keys are
// errors, so a misspelt field is caught instead of silently dropped.
type JSONLReader struct {
	name string
	br   *bufio.Reader
	line int
	raw  []byte
	obj  JSONRow
}

// NewJSONLReader reads newline-delimited JSON from r.
func NewJSONLReader(name string, r io.Reader) *JSONLReader {
	br := bufio.NewReaderSize(r, 256<<10)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, bom) {
		br.Discard(3)
	}
	return &JSONLReader{name: name, br: br}
}

// maxLine bounds one JSONL line; a longer one is a row error, not an
// unbounded allocation.
const maxLine = 1 << 20

// Next implements Reader.
func (j *JSONLReader) Next() (Row, error) {
	for {
		line, err := j.readLine()
		if err != nil {
			return nil, err
		}
		j.line++
		j.raw = line
		trimmed := bytes.TrimSpace(line)
		if len(trimmed) == 0 {
			continue
		}
		if len(line) > maxLine {
			j.raw = line[:200]
			return nil, &RowError{Where: j.Where(), Fields: []FieldError{{Path: []string{"record"}, Msg: "line is longer than 1 MiB"}}}
		}
		if errs := j.obj.Decode(trimmed); len(errs) > 0 {
			return nil, &RowError{Where: j.Where(), ExternalID: rowID(j.obj.Get(FExternalID)), Fields: errs}
		}
		return &j.obj, nil
	}
}

func (j *JSONLReader) readLine() ([]byte, error) {
	var buf []byte
	for {
		chunk, err := j.br.ReadSlice('\n')
		if len(buf) <= maxLine {
			buf = append(buf, chunk...)
		}
		switch err {
		case nil:
			return bytes.TrimRight(buf, "\r\n"), nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			if len(buf) == 0 {
				return nil, io.EOF
			}
			return bytes.TrimRight(buf, "\r\n"), nil
		default:
			return nil, fmt.Errorf("%s: %w", j.name, err)
		}
	}
}

// Where implements Reader.
func (j *JSONLReader) Where() string { return j.name + ":" + strconv.Itoa(j.line) }

// Raw implements Reader.
func (j *JSONLReader) Raw() string { return string(j.raw) }

// JSONRow is one job as a JSON object, decoded for validation. The batch API
// decodes each element of its array into one.
type JSONRow struct {
	vals  [numFields]string
	parts []RawPart
	perrs []FieldError
}

// Decode reads one JSON object into the row, replacing what it held. It
// returns what is wrong with the object's shape (not its values: Validate
// judges those), each with the path of the offending key.
func (r *JSONRow) Decode(data []byte) []FieldError {
	*r = JSONRow{parts: r.parts[:0]}
	var m map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return []FieldError{{Path: nil, Msg: "not a JSON object: " + jsonErr(err)}}
	}
	if dec.More() {
		return []FieldError{{Path: nil, Msg: "more than one JSON value on the line"}}
	}
	// More reports false for a stray '}' or ']' after the object; that is not
	// a valid line either.
	off := dec.InputOffset()
	if tail := bytes.TrimLeft(data[off:], " \t\r\n"); len(tail) > 0 {
		pos := off + int64(len(data[off:])-len(tail)) + 1
		return []FieldError{{Path: nil, Msg: fmt.Sprintf("unexpected %q after the JSON object (at byte %d)", tail[:1], pos)}}
	}
	if m == nil {
		return []FieldError{{Path: nil, Msg: "not a JSON object"}}
	}
	var errs []FieldError
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys) // errors in a stable order
	for _, k := range keys {
		raw := m[k]
		f, ok := FieldByName(k)
		if !ok || f.String() != k {
			errs = append(errs, FieldError{Path: []string{keyName(k)}, Msg: "unknown field"})
			continue
		}
		if f == FParts {
			r.decodeParts(raw, &errs)
			continue
		}
		s, err := scalar(raw)
		if err != "" {
			errs = append(errs, FieldError{Path: []string{k}, Msg: err})
			continue
		}
		r.vals[f] = s
	}
	return errs
}

func (r *JSONRow) decodeParts(raw json.RawMessage, errs *[]FieldError) {
	if string(bytes.TrimSpace(raw)) == "null" {
		return
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		*errs = append(*errs, FieldError{Path: []string{"parts"}, Msg: "must be an array of objects"})
		return
	}
	for i, it := range items {
		p := RawPart{Index: i}
		idx := strconv.Itoa(i)
		keys := make([]string, 0, len(it))
		for k := range it {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			s, err := scalar(it[k])
			if err != "" {
				*errs = append(*errs, FieldError{Path: []string{"parts", idx, keyName(k)}, Msg: err})
				continue
			}
			switch k {
			case "code":
				p.Code = s
			case "quantity":
				p.Quantity, p.QuantitySet = s, true
			case "unit_cost":
				p.UnitCost, p.CostIsSet = s, true
			case "name_en":
				p.NameEN = s
			case "name_zh":
				p.NameZH = s
			default:
				*errs = append(*errs, FieldError{Path: []string{"parts", idx, keyName(k)}, Msg: "unknown field"})
			}
		}
		r.parts = append(r.parts, p)
	}
}

// keyName is a JSON key as an error path names it: the key itself when it is
// short and printable, else quoted and shortened, so that a hostile key can
// neither flood a report nor put a NUL into the rejects table.
func keyName(k string) string {
	if k != "" && utf8.ValidString(k) && utf8.RuneCountInString(k) <= 64 && !HasControl(k) {
		return k
	}
	return QuoteValue(k)
}

// rowID is the external id a reader puts on a RowError: the row's own value
// when it would pass validation, else "", for the same reason as keyName.
func rowID(s string) string {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > 128 || HasControl(s) {
		return ""
	}
	return s
}

// scalar turns a JSON string, number or null into text; objects, arrays and
// booleans are refused.
func scalar(raw json.RawMessage) (string, string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", "is empty"
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", "is not a valid JSON string"
		}
		return s, ""
	case 'n':
		return "", ""
	case '{', '[', 't', 'f':
		return "", "must be a string or a number"
	default:
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", "is not a valid number"
		}
		return n.String(), ""
	}
}

func jsonErr(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "expected an object, found " + te.Value
	}
	return err.Error()
}

// Get implements Row.
func (r *JSONRow) Get(f Field) string { return r.vals[f] }

// Parts implements Row.
func (r *JSONRow) Parts() ([]RawPart, []FieldError) { return r.parts, r.perrs }

// JSONArrayReader reads jobs that are elements of a JSON array already in
// memory: a batch API body or a page from an upstream system. Where names a
// row as a JSON pointer below prefix ("/work_orders/3"), so its field errors
// render as pointers too.
type JSONArrayReader struct {
	prefix string
	rows   []json.RawMessage
	i      int
	row    JSONRow
}

// NewJSONArrayReader reads rows, naming them below prefix.
func NewJSONArrayReader(prefix string, rows []json.RawMessage) *JSONArrayReader {
	return &JSONArrayReader{prefix: prefix, rows: rows}
}

// Next implements Reader.
func (r *JSONArrayReader) Next() (Row, error) {
	if r.i >= len(r.rows) {
		return nil, io.EOF
	}
	r.i++
	if errs := r.row.Decode(r.rows[r.i-1]); len(errs) > 0 {
		return nil, &RowError{Where: r.Where(), ExternalID: rowID(r.row.Get(FExternalID)), Fields: errs}
	}
	return &r.row, nil
}

// Where implements Reader.
func (r *JSONArrayReader) Where() string { return r.prefix + "/" + strconv.Itoa(r.i-1) }

// Raw implements Reader.
func (r *JSONArrayReader) Raw() string { return string(r.rows[r.i-1]) }
