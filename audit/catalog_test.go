package audit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/internal/testdb"
	"github.com/huifang/huifang/workorders"
)

// catalogRows is every row of product_models and model_parts as text, for
// exact comparison.
func catalogRows(t testing.TB, pool *pgxpool.Pool) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT code || '|' || category || '|' || brand || '|' || coalesce(repair_minutes::text, '-') || '|' ||
		        coalesce(install_minutes::text, '-') || '|' || coalesce(warranty_months::text, '-') FROM product_models ORDER BY code`,
		`SELECT model_code || '|' || part_code || '|' || name_en || '|' || name_zh || '|' || currency || '|' || list_price || '|' || max_qty
		 FROM model_parts ORDER BY model_code, part_code`,
	} {
		rows, err := pool.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			b.WriteString(s + "\n")
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

func TestImportCatalogWritesAndReplacesPartsLists(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := NewStore(testdb.New(t))
	s.Now = func() time.Time { return intakeNow }
	f, err := os.Open("testdata/catalog_small.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := s.ImportCatalog(ctx, "catalog_small.csv", f)
	if err != nil {
		t.Fatal(err)
	}
	want := CatalogResult{Rows: 5, Models: 3, Parts: 4, ModelsInserted: 3, PartsInserted: 4}
	if !catalogResultEqual(res, want) {
		t.Fatalf("first import: %+v, want %+v", res, want)
	}
	wantRows := `M-1|water_heater|Acme|60|90|36
M-2|range_hood|Acme|45|-|24
M-3|gas_stove|Acme|-|-|-
M-1|P-HE|heating element|加热管|CNY|120.00|2
M-1|P-KIT|mounting kit|安装支架套件|CNY|40.00|1
M-1|P-TS|thermostat|温控器|CNY|45.00|1
M-2|P-FM|fan motor|风机电机|CNY|320.00|1
`
	if got := catalogRows(t, s.Pool); got != wantRows {
		t.Fatalf("rows:\n%s\nwant:\n%s", got, wantRows)
	}

	// The same file again changes nothing.
	b, _ := os.ReadFile("testdata/catalog_small.csv")
	res, err = s.ImportCatalog(ctx, "catalog_small.csv", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if want := (CatalogResult{Rows: 5, Models: 3, Parts: 4}); !catalogResultEqual(res, want) {
		t.Fatalf("re-import: %+v, want %+v", res, want)
	}

	// M-1's list replaced as a whole: P-KIT dropped, P-HE's maximum changed,
	// a new part, a longer standard time; M-2 and M-3 are not in the file
	// and stay as they were.
	next := "\ufeffmodel,part_code,currency,list_price,max_qty,repair_minutes,install_minutes,warranty_months,category,brand\r\n" +
		"M-1,P-HE,CNY,120,3,75,90,36,water_heater,Acme\r\n" +
		"M-1,P-TS,cny,45.00,,75,90,36,water_heater,Acme\r\n" +
		"M-1,P-AN,CNY,35,1,75,90,36,water_heater,Acme\r\n"
	res, err = s.ImportCatalog(ctx, "next.csv", strings.NewReader(next))
	if err != nil {
		t.Fatal(err)
	}
	if want := (CatalogResult{Rows: 3, Models: 1, Parts: 3, ModelsUpdated: 1, PartsInserted: 1, PartsUpdated: 2, PartsRemoved: 1}); !catalogResultEqual(res, want) {
		t.Fatalf("replace: %+v, want %+v", res, want)
	}
	wantRows = `M-1|water_heater|Acme|75|90|36
M-2|range_hood|Acme|45|-|24
M-3|gas_stove|Acme|-|-|-
M-1|P-AN|||CNY|35.00|1
M-1|P-HE|||CNY|120.00|3
M-1|P-TS|||CNY|45.00|1
M-2|P-FM|fan motor|风机电机|CNY|320.00|1
`
	if got := catalogRows(t, s.Pool); got != wantRows {
		t.Fatalf("rows after replace:\n%s\nwant:\n%s", got, wantRows)
	}
	var logged int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'catalog.import'`).Scan(&logged); err != nil || logged != 3 {
		t.Fatalf("%d catalog.import entries in audit_log (%v), want 3", logged, err)
	}
}

func catalogResultEqual(a, b CatalogResult) bool {
	return len(a.Errors) == 0 && len(b.Errors) == 0 && fmt.Sprintf("%+v", a) == fmt.Sprintf("%+v", b)
}

// TestImportCatalogNamesEveryBadRow feeds files with mistakes: each error
// names file:line:field, and nothing is written.
func TestImportCatalogNamesEveryBadRow(t *testing.T) {
	t.Parallel()
	const header = "model,category,brand,repair_minutes,install_minutes,warranty_months,part_code,name_en,name_zh,currency,list_price,max_qty\n"
	good := "M-1,water_heater,Acme,60,90,36,P-HE,heating element,加热管,CNY,120.00,2\n"
	cases := []struct {
		name, file, want string
	}{
		{"empty file", "", "bom.csv:1: bad header: the file is empty; the first row must name the columns (model,category,brand,repair_minutes,install_minutes,warranty_months,part_code,name_en,name_zh,currency,list_price,max_qty)"},
		{"unknown column", "model,part_code,max_qyt\n", `bom.csv:1: bad header: unknown column "max_qyt" (columns: model, category, brand, repair_minutes, install_minutes, warranty_months, part_code, name_en, name_zh, currency, list_price, max_qty)`},
		{"missing part_code", "model,currency\n", "bom.csv:1: bad header: missing required column part_code"},
		{"column twice", "model,part_code,Model\n", "bom.csv:1: bad header: columns 1 and 3 both hold model"},
		{"bad numbers", header + good + "M-2,x,y,0,abc,999,P-1,a,b,CNY,1,1000\n",
			`bom.csv:3:repair_minutes: must be a whole number from 1 to 1440, not "0"; bom.csv:3:install_minutes: must be a whole number from 1 to 1440, not "abc"; bom.csv:3:warranty_months: must be a whole number from 1 to 240, not "999"; bom.csv:3:max_qty: must be a whole number from 1 to 999, not "1000"`},
		{"part without price or currency", header + "M-2,x,y,45,,24,P-1,a,b,,,\n",
			"bom.csv:2:currency: is required for a part; bom.csv:2:list_price: is required for a part"},
		{"bad currency and price", header + "M-2,x,y,45,,24,P-1,a,b,RMB yuan,\"12,50\",1\n",
			`bom.csv:2:currency: must be an ISO 4217 code such as CNY or USD, not "RMB yuan"; bom.csv:2:list_price: must be an amount like 1,234.50 (commas only between thousands), not "12,50"`},
		{"no model", header + ",x,y,45,,24,P-1,a,b,CNY,1,1\n", "bom.csv:2:model: is required"},
		{"model numbers disagree", header + good + "M-1,water_heater,Acme,45,90,36,P-TS,thermostat,温控器,CNY,45,1\n",
			`bom.csv:3:repair_minutes: is "45" here but "60" on line 2 for model "M-1"`},
		{"part twice", header + good + "M-1,water_heater,Acme,60,90,36,P-HE,heating element,加热管,CNY,130.00,2\n",
			`bom.csv:3:part_code: part "P-HE" of model "M-1" is already listed on line 2`},
		{"part columns without a code", header + "M-3,gas_stove,Acme,,,,,igniter,,CNY,15,1\n",
			"bom.csv:2:part_code: is required when name_en is given"},
		{"model with and without parts", header + "M-1,water_heater,Acme,60,90,36,,,,,,\n" + good,
			`bom.csv:2:part_code: model "M-1" is listed here without parts but has parts on line 3`},
		{"stray quote", header + good + "M-1,wa\"ter,Acme,60,90,36,P-TS,t,t,CNY,1,1\n",
			`bom.csv:3:record: bare " in non-quoted-field at column 7`},
		{"control character", header + "M-1,water_heater,Ac\x01me,60,90,36,P-HE,h,h,CNY,1,1\n", "bom.csv:2:brand: contains control characters"},
	}
	pool := testdb.New(t)
	s := NewStore(pool)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := s.ImportCatalog(context.Background(), "bom.csv", strings.NewReader(c.file))
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != c.want {
				t.Fatalf("error\n%s\nwant\n%s", err, c.want)
			}
			var ce CatalogErrors
			if errors.As(err, &ce) {
				if !errors.Is(err, ErrInvalidCatalog) || len(res.Errors) != len(ce) {
					t.Errorf("row errors not wrapped as ErrInvalidCatalog or not in the result: %v", res.Errors)
				}
			} else if !errors.Is(err, workorders.ErrHeader) {
				t.Errorf("header error does not wrap workorders.ErrHeader: %v", err)
			}
			if got := catalogRows(t, pool); got != "" {
				t.Fatalf("a refused file wrote rows:\n%s", got)
			}
		})
	}
}

// TestImportCatalogCapsItsErrorList keeps a file of bad rows from producing
// an unbounded report.
func TestImportCatalogCapsItsErrorList(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("model,part_code,currency,list_price\n")
	for range 150 {
		b.WriteString(",P,CNY,1\n")
	}
	_, err := ParseCatalog("big.csv", strings.NewReader(b.String()))
	var ce CatalogErrors
	if !errors.As(err, &ce) || len(ce) != 101 || ce[100].Error() != "big.csv: and 50 more bad rows" || ce[99].Error() != "big.csv:101:model: is required" {
		t.Fatalf("got %d errors (%v), the 100th %q, the last %q", len(ce), err, ce[99], ce[len(ce)-1])
	}
}
