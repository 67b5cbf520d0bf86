package workorders

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// readResult is what one call of Next gave: a row's external id, where the
// reader says it is and its validation errors; or a *RowError.
type readResult struct {
	where  string
	id     string    // the row's external_id as read
	errs   []wantErr // Validate's errors for a row, or the RowError's fields
	rowErr bool      // Next returned a *RowError
}

// readAll reads r to the end, validating every row it yields, and returns the
// orders of valid rows by external id.
func readAll(t *testing.T, r Reader, v *Validator) ([]readResult, map[string]Order, []FieldError) {
	t.Helper()
	var out []readResult
	var all []FieldError
	orders := map[string]Order{}
	for i := 0; ; i++ {
		if i > 1000 {
			t.Fatal("reader does not end")
		}
		row, err := r.Next()
		if err == io.EOF {
			break
		}
		var re *RowError
		if errors.As(err, &re) {
			if re.Where != r.Where() {
				t.Errorf("RowError.Where %q, reader's Where %q", re.Where, r.Where())
			}
			out = append(out, readResult{where: re.Where, id: re.ExternalID, rowErr: true, errs: asWant(re.Fields)})
			all = append(all, re.Fields...)
			continue
		}
		if err != nil {
			t.Fatalf("Next: fatal %v", err)
		}
		o, errs := v.Validate(row)
		out = append(out, readResult{where: r.Where(), id: row.Get(FExternalID), errs: asWant(errs)})
		all = append(all, errs...)
		if len(errs) == 0 {
			orders[o.ExternalID] = o
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("Next after the end = %v, want io.EOF again", err)
	}
	return out, orders, all
}

func asWant(errs []FieldError) []wantErr {
	var out []wantErr
	for _, e := range errs {
		out = append(out, wantErr{e.Path, e.Msg})
	}
	return out
}

// checkResults compares what was read with want, matching messages by substring.
func checkResults(t *testing.T, got, want []readResult) {
	t.Helper()
	for i := range max(len(got), len(want)) {
		if i >= len(got) {
			t.Errorf("result %d missing, want %+v", i, want[i])
			continue
		}
		if i >= len(want) {
			t.Errorf("unexpected result %d: %+v", i, got[i])
			continue
		}
		g, w := got[i], want[i]
		ok := g.where == w.where && g.id == w.id && g.rowErr == w.rowErr && len(g.errs) == len(w.errs)
		for j := 0; ok && j < len(w.errs); j++ {
			ok = slices.Equal(g.errs[j].path, w.errs[j].path) && strings.Contains(g.errs[j].msg, w.errs[j].msg)
		}
		if !ok {
			t.Errorf("result %d\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func openCSV(t *testing.T, path string, mapping map[string]string) *CSVReader {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cr, err := NewCSVReader(filepath.Base(path), bytes.NewReader(data), mapping)
	if err != nil {
		t.Fatalf("NewCSVReader: %v", err)
	}
	return cr
}

func TestCSVReaderJobsFile(t *testing.T) {
	t.Parallel()
	cr := openCSV(t, "testdata/jobs.csv", nil)
	if got := cr.Ignored(); !slices.Equal(got, []string{"upstream_note"}) {
		t.Errorf("Ignored() = %q, want [upstream_note]", got)
	}
	got, orders, _ := readAll(t, cr, validator(Defaults{Region: "CN"}))
	checkResults(t, got, []readResult{
		{where: "jobs.csv:2", id: "WO-1001"},
		{where: "jobs.csv:3", id: "WO-1002"},
		{where: "jobs.csv:4", id: "WO-1003"},
		{where: "jobs.csv:5", id: "WO-1004"},
	})
	o := orders["WO-1001"]
	if o.Customer.Address != "广东省深圳市南山区科技园路1号, 3栋" || o.Fault != "不出热水" || o.LabourMinutes != 45 ||
		!o.CompletedAt.Equal(utc("2026-11-20T02:30:00Z")) || o.PartsAmount() != 21550 || len(o.Parts) != 2 {
		t.Errorf("WO-1001 = %+v", o)
	}
	us := orders["WO-1003"]
	if us.Customer.TimeZone != "America/Los_Angeles" || us.CustomerPaid != 5000 || us.Currency != "USD" ||
		us.Customer.ExternalID != "+14155550100|Emily Chen" || us.Provider.Name != "Bay Appliance Service, Inc." {
		t.Errorf("WO-1003 = %+v", us)
	}
	fw := orders["WO-1004"]
	if fw.Customer.Phone != "+861065529988" || fw.WarrantyStatus != InWarranty || fw.CustomerPaid != 2000 ||
		fw.Currency != "CNY" || fw.Parts[0] != (ClaimedPart{Code: "IGN-1", NameEN: "igniter", NameZH: "点火针", Quantity: 2, UnitCost: 1200}) {
		t.Errorf("WO-1004 = %+v", fw)
	}
}

// Where and Raw name the row last returned; Raw is the record as one CSV line
// that reads back to the same fields.
func TestCSVReaderWhereAndRaw(t *testing.T) {
	t.Parallel()
	cr := openCSV(t, "testdata/quoted_bom_crlf.csv", nil)
	if got := cr.Raw(); got != "" {
		t.Errorf("Raw before Next = %q, want empty", got)
	}
	row, err := cr.Next()
	if err != nil {
		t.Fatal(err)
	}
	if got := cr.Where(); got != "quoted_bom_crlf.csv:2" {
		t.Errorf("Where = %q", got)
	}
	raw := cr.Raw()
	back, err := csv.NewReader(strings.NewReader(raw)).Read()
	if err != nil {
		t.Fatalf("Raw %q does not read back: %v", raw, err)
	}
	if len(back) != 14 || back[0] != "WO-3001" || back[3] != row.Get(FCustomerName) || back[13] != "客户要求\n下午回访" {
		t.Errorf("Raw %q read back as %q", raw, back)
	}
}

func TestCSVReaderBOMCRLFAndQuoting(t *testing.T) {
	t.Parallel()
	cr := openCSV(t, "testdata/quoted_bom_crlf.csv", nil)
	// The BOM is not part of the first header, and the last header is not "备注\r".
	if got := cr.Ignored(); !slices.Equal(got, []string{"备注"}) {
		t.Errorf("Ignored() = %q, want [备注]", got)
	}
	row, err := cr.Next()
	if err != nil {
		t.Fatal(err)
	}
	for f, want := range map[Field]string{
		FExternalID:   "WO-3001",
		FCustomerName: "Chen, Emily",
		FAddress:      "广东省深圳市南山区科技园路1号, 3栋",
		FFault:        `says "no hot water", twice`,
		FCustomerPaid: "¥1,080.00",
		FParts:        "HTR-3KW|1|180.00|heating element|加热管;TH-70|1|35.5",
		FTZ:           "",
	} {
		if got := row.Get(f); got != want {
			t.Errorf("%s = %q, want %q", f, got, want)
		}
	}
	// The record's note spans lines 2 and 3; the next record starts on line 4
	// and spans 4 and 5; the last is on line 6.
	got, orders, _ := readAll(t, openCSV(t, "testdata/quoted_bom_crlf.csv", nil), validator(Defaults{Region: "CN"}))
	checkResults(t, got, []readResult{
		{where: "quoted_bom_crlf.csv:2", id: "WO-3001"},
		{where: "quoted_bom_crlf.csv:4", id: "WO-3002", errs: []wantErr{{at("address"), "contains control characters"}}},
		{where: "quoted_bom_crlf.csv:6", id: "WO-3003"},
	})
	o := orders["WO-3001"]
	if o.Customer.Name != "Chen, Emily" || o.CustomerPaid != 108000 || o.Fault != `says "no hot water", twice` || len(o.Parts) != 2 {
		t.Errorf("WO-3001 = %+v", o)
	}
	if o := orders["WO-3003"]; o.ProductModel != "JZT-1" || o.Parts[0].Quantity != 2 {
		t.Errorf("WO-3003 = %+v", o)
	}
}

func TestCSVReaderChineseHeaders(t *testing.T) {
	t.Parallel()
	cr := openCSV(t, "testdata/chinese_headers.csv", nil)
	if got := cr.Ignored(); !slices.Equal(got, []string{"备注"}) {
		t.Errorf("Ignored() = %q, want [备注]", got)
	}
	got, orders, _ := readAll(t, cr, validator(Defaults{Region: "CN"}))
	checkResults(t, got, []readResult{
		{where: "chinese_headers.csv:2", id: "GD-0001"},
		{where: "chinese_headers.csv:3", id: "GD-0002"},
	})
	want := Order{
		ExternalID: "GD-0001", Kind: Repair, CompletedAt: utc("2026-11-20T02:30:00Z"),
		Customer: Customer{ExternalID: "+861065529988|刘洋", Name: "刘洋", Phone: "+861065529988", PhoneTimeZone: "Asia/Shanghai",
			Address: "上海市浦东新区", Region: "CN-SH", TimeZone: "Asia/Shanghai", Lang: "zh-CN"},
		Provider: Provider{Code: "SH-03", Name: "上海顺达维修"}, Technician: "王师傅", TechnicianPhone: "+8613900139000",
		Brand: "Huifang", ProductCategory: "gas_stove", ProductModel: "JZT-1", SerialNumber: "SN0001",
		WarrantyStatus: OutOfWarranty, WarrantyEndsOn: day(2026, 1, 1), DeliveredOn: day(2024, 5, 1), Fault: "点火不着",
		Currency: "CNY", CustomerPaid: 12000, LabourMinutes: 30, LabourAmount: 5000,
		Parts: []ClaimedPart{{Code: "IGN-1", NameEN: "igniter", NameZH: "点火针", Quantity: 2, UnitCost: 1200}},
	}
	if got := orders["GD-0001"]; !reflect.DeepEqual(got, want) {
		t.Errorf("GD-0001\n got %+v\nwant %+v", got, want)
	}
	if o := orders["GD-0002"]; o.Kind != Install || o.WarrantyStatus != Extended || o.LabourMinutes != -1 || o.Parts != nil {
		t.Errorf("GD-0002 = %+v", o)
	}
}

func TestCSVReaderMapping(t *testing.T) {
	t.Parallel()
	in := "Order No,Type,Done At,Mobile,Dealer,Category,Model,Province,phone_note\n" +
		"A-1,repair,2026-11-20 10:30,13800138000,D1,water_heater,M1,CN-GD,call after 6\n"
	mapping := map[string]string{
		"external_id": "Order No", "kind": "Type", "completed_at": " Done At ", "phone": "Mobile",
		"provider_code": "Dealer", "product_category": "Category", "product_model": "Model", "地区": "Province",
	}
	cr, err := NewCSVReader("dealer.csv", strings.NewReader(in), mapping)
	if err != nil {
		t.Fatal(err)
	}
	if got := cr.Ignored(); !slices.Equal(got, []string{"phone_note"}) {
		t.Errorf("Ignored() = %q, want [phone_note]", got)
	}
	got, orders, _ := readAll(t, cr, validator(Defaults{}))
	checkResults(t, got, []readResult{{where: "dealer.csv:2", id: "A-1"}})
	if o := orders["A-1"]; o.Customer.Phone != "+8613800138000" || o.Customer.Region != "CN-GD" || o.Provider.Code != "D1" {
		t.Errorf("A-1 = %+v", o)
	}
}

func TestCSVReaderHeaderErrors(t *testing.T) {
	t.Parallel()
	const required = "external_id,kind,completed_at,phone,provider_code,product_category,product_model"
	for _, tc := range []struct {
		name    string
		in      string
		mapping map[string]string
		want    string
		header  bool // errors.Is(err, ErrHeader)
	}{
		{"empty file", "", nil, "x.csv:1: bad header: the file is empty; the first row must name the columns", true},
		{"only a BOM", "\ufeff", nil, "x.csv:1: bad header: the file is empty", true},
		{"only blank lines", "\n\r\n\n", nil, "x.csv:1: bad header: the file is empty", true},
		{"duplicate column by alias", required + ",手机", nil, `x.csv:1: bad header: columns 4 ("phone") and 8 ("手机") both hold phone`, true},
		{"duplicate column by name", "kind," + required, nil, `x.csv:1: bad header: columns 1 ("kind") and 3 ("kind") both hold kind`, true},
		{"duplicate column by case", required + ", Phone ", nil, `columns 4 ("phone") and 8 ("Phone") both hold phone`, true},
		{"duplicate column by mapping", required + ",Mobile", map[string]string{"phone": "Mobile"}, `columns 4 ("phone") and 8 ("Mobile") both hold phone`, true},
		{"missing required columns", "external_id,kind,phone,备注", nil, "x.csv:1: bad header: missing required column(s) completed_at, provider_code, product_category, product_model", true},
		{"missing every required column", "a,b", nil, "missing required column(s) external_id, kind, completed_at, phone, provider_code, product_category, product_model", true},
		{"header with a stray quote", `external_id,"kind`, nil, "x.csv:1: bad header: ", true},
		{"mapping names an unknown field", required, map[string]string{"mobile": "Mobile"}, `column mapping: unknown field "mobile"`, false},
		{"mapping gives two fields one column", "Tel," + required, map[string]string{"technician_phone": "Tel", "phone": "Tel"}, `column mapping: phone and technician_phone both map to column "Tel"`, false},
		{"mapping names a column the file lacks", required, map[string]string{"region": "Provnce"}, `x.csv:1: bad header: column mapping region="Provnce": the header has no such column`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cr, err := NewCSVReader("x.csv", strings.NewReader(tc.in), tc.mapping)
			if err == nil {
				t.Fatalf("NewCSVReader = %v, want error %q", cr, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if errors.Is(err, ErrHeader) != tc.header {
				t.Errorf("errors.Is(%v, ErrHeader) = %v, want %v", err, !tc.header, tc.header)
			}
		})
	}
}

// A record that cannot be parsed is a *RowError at the line the record starts
// on; reading goes on with the next record, and later lines stay right.
func TestCSVReaderStrayQuotes(t *testing.T) {
	t.Parallel()
	cr := openCSV(t, "testdata/stray_quote.csv", nil)
	got, orders, _ := readAll(t, cr, validator(Defaults{Region: "CN"}))
	checkResults(t, got, []readResult{
		{where: "stray_quote.csv:2", id: "WO-4001"},
		{where: "stray_quote.csv:3", rowErr: true, errs: []wantErr{{at("record"), `bare " in non-quoted-field at column 36`}}},
		{where: "stray_quote.csv:4", rowErr: true, errs: []wantErr{{at("record"), `bare " in non-quoted-field at column 2`}}},
		{where: "stray_quote.csv:5", rowErr: true, errs: []wantErr{{at("record"), `extraneous or missing " in quoted-field at column`}}},
		{where: "stray_quote.csv:6", rowErr: true, errs: []wantErr{{at("record"), `extraneous or missing " in quoted-field at line 7, column 10`}}},
		{where: "stray_quote.csv:8", id: "WO-4006"},
	})
	if o := orders["WO-4006"]; len(o.Parts) != 2 || o.Parts[0].UnitCost != 550 || o.Parts[1] != (ClaimedPart{Code: "C", Quantity: 1}) {
		t.Errorf("WO-4006 = %+v", o)
	}
	// The RowError renders with the file, line and the record as its field.
	cr = openCSV(t, "testdata/stray_quote.csv", nil)
	cr.Next()
	_, err := cr.Next()
	if want := `stray_quote.csv:3:record: bare " in non-quoted-field at column 36`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
	if got := cr.Raw(); got != "" {
		t.Errorf("Raw after an unreadable record = %q, want empty", got)
	}
}

func TestCSVReaderRecordLengths(t *testing.T) {
	t.Parallel()
	in := "external_id,kind,completed_at,phone,provider_code,product_category,product_model\n" +
		"A-1,repair\n" + // too few fields: the rest are empty
		"A-2,repair,2026-11-20 10:30,13800138000,P,c,m,extra,fields\n" // extra fields are ignored
	cr, err := NewCSVReader("short.csv", strings.NewReader(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _, _ := readAll(t, cr, validator(Defaults{Region: "CN"}))
	checkResults(t, got, []readResult{
		{where: "short.csv:2", id: "A-1", errs: []wantErr{
			{at("phone"), "is required"}, {at("completed_at"), "is required"}, {at("provider_code"), "is required"},
			{at("product_category"), "is required"}, {at("product_model"), "is required"},
		}},
		{where: "short.csv:3", id: "A-2"},
	})
}

func TestCSVReaderHeaderOnly(t *testing.T) {
	t.Parallel()
	cr, err := NewCSVReader("empty.csv", strings.NewReader(strings.Join(FieldNames(), ",")+"\r\n\r\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if row, err := cr.Next(); err != io.EOF {
			t.Fatalf("Next = %v, %v; want io.EOF", row, err)
		}
	}
	if got := cr.Ignored(); len(got) != 0 {
		t.Errorf("Ignored() = %q, want none", got)
	}
}

// failingReader yields its data, then fails.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// An input that fails mid-way is a fatal error naming the file, not a row error.
func TestReadersStopOnReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk on fire")
	cr, err := NewCSVReader("x.csv", &failingReader{data: []byte(strings.Join(FieldNames(), ",") + "\nA-1\n"), err: boom}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cr.Next(); err != nil {
		t.Fatalf("first row: %v", err)
	}
	_, err = cr.Next()
	var re *RowError
	if !errors.Is(err, boom) || errors.As(err, &re) || !strings.HasPrefix(err.Error(), "x.csv: ") {
		t.Errorf("CSV Next = %v, want a fatal error wrapping %v", err, boom)
	}

	jr := NewJSONLReader("x.jsonl", &failingReader{data: []byte(`{"external_id":"A-1"}` + "\n"), err: boom})
	if _, err := jr.Next(); err != nil {
		t.Fatalf("first row: %v", err)
	}
	_, err = jr.Next()
	if !errors.Is(err, boom) || errors.As(err, &re) || !strings.HasPrefix(err.Error(), "x.jsonl: ") {
		t.Errorf("JSONL Next = %v, want a fatal error wrapping %v", err, boom)
	}
}

func TestJSONLReaderJobsFile(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/jobs.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, orders, _ := readAll(t, NewJSONLReader("jobs.jsonl", f), validator(Defaults{Region: "CN"}))
	// Line 3 is blank: it is skipped but counted.
	checkResults(t, got, []readResult{
		{where: "jobs.jsonl:1", id: "WO-1001"},
		{where: "jobs.jsonl:2", id: "WO-1002"},
		{where: "jobs.jsonl:4", id: "WO-1003"},
		{where: "jobs.jsonl:5", id: "WO-1004"},
	})
	// The same jobs as jobs.csv, whether amounts came as numbers or strings.
	cr := openCSV(t, "testdata/jobs.csv", nil)
	_, fromCSV, _ := readAll(t, cr, validator(Defaults{Region: "CN"}))
	for id, want := range fromCSV {
		if got := orders[id]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s from JSONL\n got %+v\nwant %+v (from CSV)", id, got, want)
		}
	}
}

func TestJSONLReaderRows(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/rows.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, orders, _ := readAll(t, NewJSONLReader("rows.jsonl", f), validator(Defaults{Region: "CN"}))
	checkResults(t, got, []readResult{
		{where: "rows.jsonl:1", id: "WO-5001"},
		{where: "rows.jsonl:3", rowErr: true, errs: []wantErr{{nil, "not a JSON object: unexpected EOF"}}},
		{where: "rows.jsonl:4", id: "WO-5003", rowErr: true, errs: []wantErr{
			{at("Phone"), "unknown field"}, {at("phone_number"), "unknown field"}, {at("电话"), "unknown field"},
		}},
		{where: "rows.jsonl:5", id: "WO-5004", rowErr: true, errs: []wantErr{
			{at("parts", "1", "colour"), "unknown field"}, {at("parts", "1", "quantity"), "must be a string or a number"},
		}},
		{where: "rows.jsonl:6", id: "WO-5005", rowErr: true, errs: []wantErr{
			{at("customer_paid"), "must be a string or a number"}, {at("fault"), "must be a string or a number"},
			{at("kind"), "must be a string or a number"},
		}},
		{where: "rows.jsonl:7", id: "WO-5006"},
		// Not even its id is read from a line that is not one JSON object.
		{where: "rows.jsonl:8", rowErr: true, errs: []wantErr{{nil, `unexpected "}" after the JSON object (at byte 42)`}}},
		{where: "rows.jsonl:9", rowErr: true, errs: []wantErr{{nil, "not a JSON object: expected an object, found array"}}},
		{where: "rows.jsonl:11", id: "WO-5008"},
	})
	if o := orders["WO-5001"]; o.LabourMinutes != 45 || o.CustomerPaid != 8000 || o.Parts[0].UnitCost != 18000 {
		t.Errorf("WO-5001 = %+v", o)
	}
	// Numbers are read as the text they are; null is absent.
	want := Order{
		ExternalID: "WO-5006", Kind: Install, CompletedAt: utc("2026-11-20T00:45:00Z"),
		Customer: Customer{ExternalID: "+14155550100|Emily Chen", Name: "Emily Chen", Phone: "+14155550100",
			PhoneTimeZone: "America/Los_Angeles", Region: "US-CA", TimeZone: "America/Los_Angeles", Lang: "en"},
		Provider: Provider{Code: "US-SF"}, ProductCategory: "air_conditioner", ProductModel: "AC-9000",
		WarrantyStatus: UnknownStatus, Currency: "USD", CustomerPaid: 5050, LabourMinutes: 90, LabourAmount: 12000,
		Parts: []ClaimedPart{{Code: "CMP-9K", NameEN: "compressor", NameZH: "压缩机", Quantity: 2, UnitCost: 42025}},
	}
	if got := orders["WO-5006"]; !reflect.DeepEqual(got, want) {
		t.Errorf("WO-5006\n got %+v\nwant %+v", got, want)
	}
	if o := orders["WO-5008"]; o.Kind != Repair || o.Parts != nil {
		t.Errorf("WO-5008 = %+v", o)
	}
}

func TestJSONLReaderLongLines(t *testing.T) {
	t.Parallel()
	ok := `{"external_id":"A-1","kind":"repair"}`
	pad := func(n int) string { // an object of exactly n bytes
		head := `{"external_id":"A-2","fault":"`
		return head + strings.Repeat("x", n-len(head)-2) + `"}`
	}
	long := pad(maxLine + 1)
	atLimit := pad(maxLine)
	in := ok + "\n" + long + "\r\n" + ok + "\n" + atLimit + "\n"
	jr := NewJSONLReader("big.jsonl", strings.NewReader(in))

	if _, err := jr.Next(); err != nil || jr.Where() != "big.jsonl:1" {
		t.Fatalf("line 1: %v at %s", err, jr.Where())
	}
	_, err := jr.Next()
	var re *RowError
	if !errors.As(err, &re) || re.Where != "big.jsonl:2" || len(re.Fields) != 1 || re.Fields[0].Msg != "line is longer than 1 MiB" {
		t.Fatalf("line 2: %v, want a RowError: line is longer than 1 MiB", err)
	}
	if raw := jr.Raw(); raw != long[:200] {
		t.Errorf("Raw of a long line is %d bytes, want its first 200", len(raw))
	}
	if row, err := jr.Next(); err != nil || jr.Where() != "big.jsonl:3" || row.Get(FExternalID) != "A-1" {
		t.Fatalf("line 3: %v at %s", err, jr.Where())
	}
	row, err := jr.Next()
	if err != nil || jr.Where() != "big.jsonl:4" {
		t.Fatalf("line 4 (exactly 1 MiB): %v at %s", err, jr.Where())
	}
	// Read, then refused by validation, not by the reader.
	_, errs := validator(Defaults{}).Validate(row)
	if !slices.ContainsFunc(errs, func(e FieldError) bool { return e.Field() == "fault" && e.Msg == "is longer than 512 characters" }) {
		t.Errorf("line 4 errors %v, want fault: is longer than 512 characters", errs)
	}
	if _, err := jr.Next(); err != io.EOF {
		t.Errorf("after line 4: %v, want EOF", err)
	}
}

func TestJSONLReaderLineEndings(t *testing.T) {
	t.Parallel()
	in := "\ufeff" + `{"external_id":"A-1"}` + "\r\n\r\n\n" + `{"external_id":"A-2"}` + "\r\n" + `{"external_id":"A-3"}` // no final newline
	jr := NewJSONLReader("e.jsonl", strings.NewReader(in))
	var got []string
	for {
		row, err := jr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", jr.Where(), err)
		}
		got = append(got, jr.Where()+" "+row.Get(FExternalID)+" "+jr.Raw())
	}
	want := []string{
		`e.jsonl:1 A-1 {"external_id":"A-1"}`,
		`e.jsonl:4 A-2 {"external_id":"A-2"}`,
		`e.jsonl:5 A-3 {"external_id":"A-3"}`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("read\n%q\nwant\n%q", got, want)
	}
}

// decodeCases are single JSON objects: what Decode makes of their shape.
var decodeCases = []struct {
	name  string
	in    string
	vals  map[Field]string // expected values, when the object decodes
	parts []RawPart
	errs  []wantErr
}{
	{name: "strings", in: `{"external_id":"A-1","labour_minutes":"45","customer_paid":"¥50"}`,
		vals: map[Field]string{FExternalID: "A-1", FLabourMinutes: "45", FCustomerPaid: "¥50"}},
	{name: "numbers as their text", in: `{"external_id":12345678901234567890,"labour_minutes":45,"customer_paid":50.50,"labour_amount":1e3,"tz":-0}`,
		vals: map[Field]string{FExternalID: "12345678901234567890", FLabourMinutes: "45", FCustomerPaid: "50.50", FLabourAmount: "1e3", FTZ: "-0"}},
	{name: "null is absent", in: `{"external_id":"A-1","tz":null,"parts":null}`, vals: map[Field]string{FExternalID: "A-1", FTZ: ""}},
	{name: "escapes", in: `{"customer_name":"\u5f20\u4f1f","fault":"a\"b\\c"}`, vals: map[Field]string{FCustomerName: "张伟", FFault: `a"b\c`}},
	{name: "whitespace around", in: " \t{ \"kind\" : \"repair\" } ", vals: map[Field]string{FKind: "repair"}},
	{name: "last of a repeated key", in: `{"kind":"install","kind":"repair"}`, vals: map[Field]string{FKind: "repair"}},
	{name: "parts", in: `{"parts":[{"code":"A","quantity":2,"unit_cost":"1.50","name_en":"a","name_zh":"甲"},{"code":"B"},null]}`,
		parts: []RawPart{
			{Index: 0, Code: "A", Quantity: "2", UnitCost: "1.50", NameEN: "a", NameZH: "甲", QuantitySet: true, CostIsSet: true},
			{Index: 1, Code: "B"},
			{Index: 2},
		}},
	{name: "booleans refused", in: `{"kind":true,"tz":false}`, errs: []wantErr{{at("kind"), "must be a string or a number"}, {at("tz"), "must be a string or a number"}}},
	{name: "object refused", in: `{"address":{"city":"深圳"}}`, errs: []wantErr{{at("address"), "must be a string or a number"}}},
	{name: "array refused", in: `{"phone":["13800138000"]}`, errs: []wantErr{{at("phone"), "must be a string or a number"}}},
	{name: "unknown key", in: `{"mobile":"13800138000"}`, errs: []wantErr{{at("mobile"), "unknown field"}}},
	{name: "a CSV alias is not a JSON key", in: `{"手机":"13800138000"}`, errs: []wantErr{{at("手机"), "unknown field"}}},
	{name: "keys are case-sensitive", in: `{"Kind":"repair"}`, errs: []wantErr{{at("Kind"), "unknown field"}}},
	{name: "empty key", in: `{"":"x"}`, errs: []wantErr{{at(`""`), "unknown field"}}},
	{name: "key with a NUL is quoted", in: `{"ph\u0000one":"x"}`, errs: []wantErr{{at(`"ph\x00one"`), "unknown field"}}},
	{name: "long key is shortened", in: `{"` + strings.Repeat("k", 100) + `":"x"}`, errs: []wantErr{{at(`"` + strings.Repeat("k", 40) + `…"`), "unknown field"}}},
	{name: "parts not an array", in: `{"parts":"A|1|2"}`, errs: []wantErr{{at("parts"), "must be an array of objects"}}},
	{name: "parts of numbers", in: `{"parts":[1,2]}`, errs: []wantErr{{at("parts"), "must be an array of objects"}}},
	{name: "parts errors by index", in: `{"parts":[{"code":"A"},{"code":"B","quantity":true,"qty":2,"unit_cost":{"v":1}}]}`, errs: []wantErr{
		{at("parts", "1", "qty"), "unknown field"}, {at("parts", "1", "quantity"), "must be a string or a number"},
		{at("parts", "1", "unit_cost"), "must be a string or a number"},
	}},
	{name: "part key with a control character", in: `{"parts":[{"co\nde":"A"}]}`, errs: []wantErr{{at("parts", "0", `"co\nde"`), "unknown field"}}},
	{name: "not an object", in: `"WO-1"`, errs: []wantErr{{nil, "not a JSON object: expected an object, found string"}}},
	{name: "null object", in: `null`, errs: []wantErr{{nil, "not a JSON object"}}},
	{name: "an array", in: `[{"kind":"repair"}]`, errs: []wantErr{{nil, "expected an object, found array"}}},
	{name: "syntax error", in: `{"kind":repair}`, errs: []wantErr{{nil, "not a JSON object: invalid character 'r' looking for beginning of value (at byte 9)"}}},
	{name: "two objects", in: `{"kind":"repair"} {"kind":"install"}`, errs: []wantErr{{nil, "more than one JSON value on the line"}}},
	{name: "a stray brace after", in: `{"kind":"repair"}}`, errs: []wantErr{{nil, `unexpected "}" after the JSON object (at byte 18)`}}},
	{name: "a stray bracket after", in: `{"kind":"repair"} ]`, errs: []wantErr{{nil, `unexpected "]" after the JSON object (at byte 19)`}}},
	{name: "a word after", in: `{"kind":"repair"}x`, errs: []wantErr{{nil, "more than one JSON value on the line"}}},
}

func TestJSONRowDecode(t *testing.T) {
	t.Parallel()
	var r JSONRow // one row, reused as the readers do
	for _, tc := range decodeCases {
		errs := r.Decode([]byte(tc.in))
		if tc.errs != nil {
			if got := asWant(errs); !sameErrs(got, tc.errs) {
				t.Errorf("%s: errors %q, want %q", tc.name, got, tc.errs)
			}
			continue
		}
		if len(errs) > 0 {
			t.Errorf("%s: errors %v", tc.name, errs)
			continue
		}
		for f := range numFields {
			if got, want := r.Get(f), tc.vals[f]; got != want {
				t.Errorf("%s: %s = %q, want %q", tc.name, f, got, want)
			}
		}
		parts, perrs := r.Parts()
		if len(perrs) > 0 || (len(parts) > 0 || len(tc.parts) > 0) && !reflect.DeepEqual(parts, tc.parts) {
			t.Errorf("%s: parts %+v %v, want %+v", tc.name, parts, perrs, tc.parts)
		}
	}
}

func sameErrs(got, want []wantErr) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range want {
		if !slices.Equal(got[i].path, want[i].path) || !strings.Contains(got[i].msg, want[i].msg) {
			return false
		}
	}
	return true
}

// A JSON row's errors name the row as a pointer, and its fields' errors render
// as pointers below it.
func TestJSONArrayReader(t *testing.T) {
	t.Parallel()
	var body struct {
		WorkOrders []json.RawMessage `json:"work_orders"`
	}
	err := json.Unmarshal([]byte(`{"work_orders":[
		{"external_id":"A-1","kind":"repair","completed_at":"2026-11-20T10:30:00+08:00","phone":"13800138000","provider_code":"P","product_category":"c","product_model":"m"},
		{"external_id":"A-2","kind":true,"parts":[{"code":"X"},{"code":"Y","quantity":[2]}]},
		{"external_id":"A-3","kind":"fix","completed_at":"2026-11-20T10:30:00+08:00","phone":"13800138000","provider_code":"P","product_category":"c","product_model":"m","parts":[{"code":"X","quantity":"0"}]}
	]}`), &body)
	if err != nil {
		t.Fatal(err)
	}
	r := NewJSONArrayReader("/work_orders", body.WorkOrders)
	got, orders, _ := readAll(t, r, validator(Defaults{Region: "CN"}))
	checkResults(t, got, []readResult{
		{where: "/work_orders/0", id: "A-1"},
		{where: "/work_orders/1", id: "A-2", rowErr: true, errs: []wantErr{
			{at("kind"), "must be a string or a number"}, {at("parts", "1", "quantity"), "must be a string or a number"},
		}},
		{where: "/work_orders/2", id: "A-3", errs: []wantErr{
			{at("kind"), `not "fix"`}, {at("parts", "0", "quantity"), `not "0"`},
		}},
	})
	if o := orders["A-1"]; o.Customer.Phone != "+8613800138000" || !o.CompletedAt.Equal(utc("2026-11-20T02:30:00Z")) {
		t.Errorf("A-1 = %+v", o)
	}

	r = NewJSONArrayReader("/work_orders", body.WorkOrders)
	r.Next()
	_, err = r.Next()
	var re *RowError
	if !errors.As(err, &re) {
		t.Fatalf("row 1: %v, want a RowError", err)
	}
	var ptrs []string
	for _, f := range re.Fields {
		ptrs = append(ptrs, f.Pointer(re.Where))
	}
	if want := []string{"/work_orders/1/kind", "/work_orders/1/parts/1/quantity"}; !slices.Equal(ptrs, want) {
		t.Errorf("pointers %q, want %q", ptrs, want)
	}
	if raw := r.Raw(); raw != string(body.WorkOrders[1]) {
		t.Errorf("Raw = %s, want the element", raw)
	}
}

// A reader's RowError carries the row's id only when it is one a person could
// search for upstream.
func TestRowErrorExternalID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{`{"external_id":" WO-1 ","kind":true}`, "WO-1"},
		{`{"external_id":"WO\u00001","kind":true}`, ""},
		{`{"external_id":"` + strings.Repeat("x", 129) + `","kind":true}`, ""},
		{`{"external_id":42,"kind":true}`, "42"},
	} {
		jr := NewJSONLReader("x.jsonl", strings.NewReader(tc.in))
		_, err := jr.Next()
		var re *RowError
		if !errors.As(err, &re) {
			t.Fatalf("%s: %v, want a RowError", tc.in, err)
		}
		if re.ExternalID != tc.want {
			t.Errorf("%s: ExternalID %q, want %q", tc.in, re.ExternalID, tc.want)
		}
	}
}

// Decoding into a reused row leaves nothing of the previous one behind.
func TestJSONRowReuse(t *testing.T) {
	t.Parallel()
	var r JSONRow
	if errs := r.Decode([]byte(`{"external_id":"A-1","fault":"no heat","parts":[{"code":"X"},{"code":"Y"}]}`)); errs != nil {
		t.Fatal(errs)
	}
	if errs := r.Decode([]byte(`{"external_id":"A-2"}`)); errs != nil {
		t.Fatal(errs)
	}
	parts, _ := r.Parts()
	if r.Get(FExternalID) != "A-2" || r.Get(FFault) != "" || len(parts) != 0 {
		t.Errorf("second row: id %q fault %q parts %+v", r.Get(FExternalID), r.Get(FFault), parts)
	}
}

func TestParsePartsCell(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cell  string
		parts []RawPart
		errs  []wantErr
	}{
		{"", nil, nil},
		{"  ", nil, nil},
		{"A", []RawPart{{Index: 1, Code: "A"}}, nil},
		{"A|2", []RawPart{{Index: 1, Code: "A", Quantity: "2", QuantitySet: true}}, nil},
		{"A|2|1.50|filter|滤芯", []RawPart{{Index: 1, Code: "A", Quantity: "2", UnitCost: "1.50", NameEN: "filter", NameZH: "滤芯", QuantitySet: true, CostIsSet: true}}, nil},
		{"A||5", []RawPart{{Index: 1, Code: "A", Quantity: "", UnitCost: "5", QuantitySet: true, CostIsSet: true}}, nil},
		{" A | 1 ; B ", []RawPart{{Index: 1, Code: "A ", Quantity: " 1", QuantitySet: true}, {Index: 2, Code: "B"}}, nil},
		// An empty entry is skipped, but later ones keep their place in the cell.
		{"A;;B;", []RawPart{{Index: 1, Code: "A"}, {Index: 3, Code: "B"}}, nil},
		{"A|1|2|a|甲|extra;B", []RawPart{{Index: 2, Code: "B"}}, []wantErr{{at("parts", "1"), "has more than 5 '|'-separated fields"}}},
	} {
		parts, errs := ParsePartsCell(tc.cell)
		if !reflect.DeepEqual(parts, tc.parts) || !sameErrs(asWant(errs), tc.errs) {
			t.Errorf("ParsePartsCell(%q) = %+v %v, want %+v %v", tc.cell, parts, errs, tc.parts, tc.errs)
		}
	}
}

// CSVRecord writes what CSVReader and Validate read back as the same order.
func TestCSVRecordRoundTrip(t *testing.T) {
	t.Parallel()
	orders := []Order{
		{
			ExternalID: "WO-1", Kind: Repair, CompletedAt: utc("2026-11-20T02:30:00Z"),
			Customer: Customer{ExternalID: "C-1", Name: "张伟", Phone: "+8613800138000", PhoneTimeZone: "Asia/Shanghai",
				Address: "广东省深圳市南山区科技园路1号, 3栋", Region: "CN-GD", TimeZone: "Asia/Shanghai", Lang: "zh-CN"},
			Provider: Provider{Code: "SZ-01", Name: "深圳安达服务"}, Technician: "李师傅", TechnicianPhone: "+8613900139000",
			Brand: "Huifang", ProductCategory: "water_heater", ProductModel: "JSQ20-12", SerialNumber: "SN123456789",
			WarrantyStatus: InWarranty, WarrantyEndsOn: day(2028, 5, 1), DeliveredOn: day(2025, 5, 1), Fault: `"不出热水", 漏水`,
			Currency: "CNY", CustomerPaid: 0, LabourMinutes: 45, LabourAmount: 6000,
			Parts: []ClaimedPart{
				{Code: "HTR-3KW", NameEN: "heating element", NameZH: "加热管", Quantity: 1, UnitCost: 18000},
				{Code: "TH-70", NameEN: "thermostat", NameZH: "温控器", Quantity: 3, UnitCost: 3550},
			},
		},
		{
			ExternalID: "WO-2", Kind: Install, CompletedAt: utc("2026-11-19T16:45:00Z"),
			Customer: Customer{ExternalID: "+14155550100|Emily Chen", Name: "Emily Chen", Phone: "+14155550100",
				PhoneTimeZone: "America/Los_Angeles", Address: "1 Market St, San Francisco, CA", Region: "US-CA",
				TimeZone: "America/Los_Angeles", Lang: "en"},
			Provider: Provider{Code: "US-SF", Name: "Bay Appliance Service, Inc."}, ProductCategory: "air_conditioner",
			ProductModel: "AC-9000", WarrantyStatus: OutOfWarranty, Currency: "USD", CustomerPaid: 5000, LabourMinutes: -1,
		},
		{
			// A zone other than the region's, a fraction of a second, a part with only a code.
			ExternalID: "WO-3", Kind: Repair, CompletedAt: time.Date(2026, 1, 5, 3, 4, 5, 123456789, time.UTC),
			Customer: Customer{ExternalID: "C-3", Phone: "+8613800138000", PhoneTimeZone: "Asia/Shanghai",
				Region: "CN-XJ", TimeZone: "Asia/Urumqi", Lang: "en"},
			Provider: Provider{Code: "XJ-1"}, ProductCategory: "washer", ProductModel: "W1", WarrantyStatus: Extended,
			Currency: "CNY", LabourMinutes: 0, LabourAmount: 1, Parts: []ClaimedPart{{Code: "BELT", Quantity: 999}},
		},
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write(FieldNames())
	var rec []string
	for i := range orders {
		rec = CSVRecord(&orders[i], rec)
		if len(rec) != len(FieldNames()) {
			t.Fatalf("CSVRecord gave %d fields, want %d", len(rec), len(FieldNames()))
		}
		w.Write(rec)
	}
	w.Flush()
	cr, err := NewCSVReader("out.csv", strings.NewReader(b.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, read, _ := readAll(t, cr, validator(Defaults{}))
	if len(got) != len(orders) {
		t.Fatalf("read %d rows, want %d: %+v", len(got), len(orders), got)
	}
	for _, want := range orders {
		if o, ok := read[want.ExternalID]; !ok || !reflect.DeepEqual(o, want) {
			t.Errorf("%s\n got %+v\nwant %+v\nfile:\n%s", want.ExternalID, o, want, b.String())
		}
	}
	for _, r := range got {
		if len(r.errs) > 0 {
			t.Errorf("%s: %v", r.where, r.errs)
		}
	}
}

// RowError.Error for a row from each reader: file:line:field for files, the
// pointer for API rows.
func TestRowErrorsFromReaders(t *testing.T) {
	t.Parallel()
	cr := openCSV(t, "testdata/one_bad_row.csv", nil)
	v := validator(Defaults{Region: "CN"})
	var msgs []string
	for {
		row, err := cr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if o, errs := v.Validate(row); len(errs) > 0 {
			msgs = append(msgs, (&RowError{Where: cr.Where(), ExternalID: o.ExternalID, Fields: errs}).Error())
		}
	}
	if want := []string{"one_bad_row.csv:4:phone: not a valid number in CN"}; !slices.Equal(msgs, want) {
		t.Errorf("errors %q, want %q", msgs, want)
	}
}
