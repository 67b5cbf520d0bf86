package audit

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/huifang/huifang/workorders"
	"github.com/huifang/huifang/workorders/sample"
)

// FuzzImportCatalog feeds the parts-list parser arbitrary files: it must
// never panic, must either accept the file or explain it at file:line, and
// what it accepts must keep the parts lists' invariants.
func FuzzImportCatalog(f *testing.F) {
	small, err := os.ReadFile("testdata/catalog_small.csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(small))
	var b strings.Builder
	if err := sample.WriteCatalogCSV(&b); err != nil {
		f.Fatal(err)
	}
	f.Add(b.String())
	f.Add("")
	f.Add("model,part_code\n\"M,1\",\"P\"\"1\"\n")
	f.Add("\ufeffmodel,part_code,max_qty,list_price,currency\r\nM,P,0,-1,cn\r\nM,P,1,1,CNY\r\n")
	f.Add("model,part_code,name_zh\nM,P,\xff\xfe\n")
	f.Fuzz(func(t *testing.T, file string) {
		models, err := ParseCatalog("f.csv", strings.NewReader(file))
		if err != nil {
			var ce CatalogErrors
			switch {
			case errors.As(err, &ce):
				if len(ce) == 0 || len(ce) > maxCatalogErrors+1 {
					t.Fatalf("%d row errors", len(ce))
				}
				for _, e := range ce {
					if !strings.HasPrefix(e.Where, "f.csv") || e.Error() == "" {
						t.Fatalf("error without its place: %q", e.Error())
					}
				}
			case errors.Is(err, workorders.ErrHeader):
				if !strings.HasPrefix(err.Error(), "f.csv:1: ") {
					t.Fatalf("header error without its place: %q", err)
				}
			default:
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, m := range models {
			if m.Code == "" || seen[m.Code] {
				t.Fatalf("model %q empty or twice", m.Code)
			}
			seen[m.Code] = true
			parts := map[string]bool{}
			for _, p := range m.Parts {
				if p.Code == "" || parts[p.Code] || p.MaxQty < 1 || p.MaxQty > maxPartQty || !currencyRE.MatchString(p.Currency) || p.ListPrice < 0 {
					t.Fatalf("model %s: bad part %+v", m.Code, p)
				}
				parts[p.Code] = true
			}
		}
	})
}
