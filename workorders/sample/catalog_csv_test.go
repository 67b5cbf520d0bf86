package sample

import (
	"encoding/csv"
	"strconv"
	"strings"
	"testing"
)

// TestWriteCatalogCSVListsEveryBOMLine reads the written file back and finds
// every model's standard times, warranty and parts exactly as the catalog
// holds them, one row per (model, part) and nothing else.
func TestWriteCatalogCSVListsEveryBOMLine(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	if err := WriteCatalogCSV(&b); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := "model,category,brand,repair_minutes,install_minutes,warranty_months,part_code,name_en,name_zh,currency,list_price,max_qty"
	if got := strings.Join(recs[0], ","); got != wantHeader {
		t.Fatalf("header %q, want %q", got, wantHeader)
	}
	want := map[[2]string][]string{}
	for _, m := range Catalog() {
		for _, p := range m.BOM {
			want[[2]string{m.Code, p.Code}] = []string{m.Code, m.Category, m.Brand,
				strconv.Itoa(m.StandardLabourMinutes), strconv.Itoa(m.InstallLabourMinutes), strconv.Itoa(m.WarrantyMonths),
				p.Code, p.NameEN, p.NameZH, m.Currency, p.UnitCost.String(), strconv.Itoa(p.MaxQty)}
		}
	}
	if len(recs)-1 != len(want) {
		t.Fatalf("%d rows, want %d (one per model and part)", len(recs)-1, len(want))
	}
	for _, rec := range recs[1:] {
		w, ok := want[[2]string{rec[0], rec[6]}]
		if !ok {
			t.Fatalf("row %v is not a catalog BOM line", rec)
		}
		if strings.Join(rec, "|") != strings.Join(w, "|") {
			t.Errorf("row\n%v\nwant\n%v", rec, w)
		}
		delete(want, [2]string{rec[0], rec[6]})
	}
	// A spot check against the catalog's literal numbers, so a change to how
	// money is written shows up here.
	if !strings.Contains(b.String(), "QF-EW60A,water_heater,Qinfeng,60,90,36,QF-HE2000,heating element,加热管,CNY,120.00,2\n") {
		t.Errorf("the first BOM line of QF-EW60A is missing or changed:\n%s", b.String()[:300])
	}
}
