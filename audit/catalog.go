package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/huifang/huifang/workorders"
)

// The parts-list file: one row per (model, part), the model's standard times
// and warranty repeated on each of its rows. A model with no parts is one row
// with the part columns left empty. Every column but model and part_code may
// be left out of the header; an empty cell means "not known" for the model's
// numbers and the defaults below for a part.
//
//	model,category,brand,repair_minutes,install_minutes,warranty_months,part_code,name_en,name_zh,currency,list_price,max_qty
//	QF-EW60A,water_heater,Qinfeng,60,90,36,QF-HE2000,heating element,加热管,CNY,120.00,2
var catalogColumns = []string{
	"model", "category", "brand", "repair_minutes", "install_minutes", "warranty_months",
	"part_code", "name_en", "name_zh", "currency", "list_price", "max_qty",
}

// CatalogColumns lists the columns of the parts-list file in the order
// Huifang writes them.
func CatalogColumns() []string { return append([]string(nil), catalogColumns...) }

const (
	colModel = iota
	colCategory
	colBrand
	colRepairMinutes
	colInstallMinutes
	colWarrantyMonths
	colPartCode
	colNameEN
	colNameZH
	colCurrency
	colListPrice
	colMaxQty
	numCatalogCols
)

// Bounds of the numbers a parts list may hold.
const (
	maxStandardMinutes = 24 * 60 // a standard time over a day is a typo
	maxWarrantyMonths  = 240
	maxPartQty         = 999
	maxCatalogErrors   = 100
)

// ErrInvalidCatalog is returned (wrapped) by ImportCatalog when any row of
// the file is wrong: nothing was written.
var ErrInvalidCatalog = errors.New("invalid parts list: nothing imported")

// CatalogModel is one product model of a parts list: its standard times, its
// warranty and its bill of materials.
type CatalogModel struct {
	Code     string
	Category string
	Brand    string
	// RepairMinutes and InstallMinutes are the standard labour times V12
	// compares claims with; WarrantyMonths the warranty term. 0 means not
	// known (stored as NULL): V12 then does not judge that kind of job.
	RepairMinutes  int
	InstallMinutes int
	WarrantyMonths int
	Parts          []CatalogPart
	// Line is the file line the model first appears on.
	Line int
}

// CatalogPart is one line of a model's bill of materials.
type CatalogPart struct {
	Code      string
	NameEN    string
	NameZH    string
	Currency  string           // ISO 4217
	ListPrice workorders.Money // minor units
	MaxQty    int              // the most one repair may claim (V11)
	Line      int
}

// CatalogErrors is every row problem of a parts-list file, in file order,
// each naming file:line:field.
type CatalogErrors []*workorders.RowError

func (es CatalogErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (es CatalogErrors) Unwrap() error { return ErrInvalidCatalog }

// CatalogResult says what an import read and changed.
type CatalogResult struct {
	Rows   int // data rows read
	Models int // models in the file
	Parts  int // parts in the file
	// What changed in the database: a re-import of the same file changes
	// nothing.
	ModelsInserted, ModelsUpdated int
	PartsInserted, PartsUpdated   int
	// PartsRemoved counts parts dropped from a model's list because the file
	// no longer lists them: a model's parts list is replaced as a whole.
	PartsRemoved int
	// Errors lists the bad rows (at most 100) when the file was refused.
	Errors CatalogErrors
}

// ParseCatalog reads a parts-list CSV file (UTF-8 with or without a byte-order
// mark, LF or CRLF, RFC 4180 quoting) and checks every row. It returns the
// models in file order, or the header's error, or CatalogErrors listing every
// bad row (at most 100), each as file:line:field: message. It never touches
// the database.
func ParseCatalog(file string, r io.Reader) ([]CatalogModel, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3) //nolint:errcheck // peeked
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s:1: %w: the file is empty; the first row must name the columns (%s)", file, workorders.ErrHeader, strings.Join(catalogColumns, ","))
	}
	if err != nil {
		return nil, fmt.Errorf("%s:1: %w: %v", file, workorders.ErrHeader, catalogCSVError(err))
	}
	var col [numCatalogCols]int
	for i := range col {
		col[i] = -1
	}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		j := catalogColumn(catalogColumns, h)
		if j < 0 {
			// A misspelt max_qty would silently default to 1 and flag honest
			// claims, so unknown columns are refused, not ignored.
			return nil, fmt.Errorf("%s:1: %w: unknown column %s (columns: %s)", file, workorders.ErrHeader, workorders.QuoteValue(h), strings.Join(catalogColumns, ", "))
		}
		if col[j] >= 0 {
			return nil, fmt.Errorf("%s:1: %w: columns %d and %d both hold %s", file, workorders.ErrHeader, col[j]+1, i+1, h)
		}
		col[j] = i
	}
	for _, need := range []int{colModel, colPartCode} {
		if col[need] < 0 {
			return nil, fmt.Errorf("%s:1: %w: missing required column %s", file, workorders.ErrHeader, catalogColumns[need])
		}
	}

	var (
		models  []CatalogModel
		byCode  = map[string]int{}
		partAt  = map[[2]string]int{} // (model, part) → line
		errs    CatalogErrors
		skipped int
	)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line := 0
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
			line = pe.StartLine
			errs = addCatalogError(errs, &skipped, file, line, "record", catalogCSVError(err))
			continue
		}
		line, _ = cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		get := func(c int) string {
			if col[c] < 0 || col[c] >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[col[c]])
		}
		var rowErrs []workorders.FieldError
		bad := func(c int, msg string) {
			rowErrs = append(rowErrs, workorders.FieldError{Path: []string{catalogColumns[c]}, Msg: msg})
		}
		text := func(c, max int, required bool) string {
			s := get(c)
			switch {
			case s == "" && required:
				bad(c, "is required")
			case !utf8.ValidString(s):
				bad(c, "is not valid UTF-8")
				return ""
			case utf8.RuneCountInString(s) > max:
				bad(c, "is longer than "+strconv.Itoa(max)+" characters")
				return ""
			case workorders.HasControl(s):
				bad(c, "contains control characters")
				return ""
			}
			return s
		}
		whole := func(c, lo, hi int) int {
			s := get(c)
			if s == "" {
				return 0
			}
			n, err := strconv.Atoi(s)
			if err != nil || n < lo || n > hi {
				bad(c, fmt.Sprintf("must be a whole number from %d to %d, not %s", lo, hi, workorders.QuoteValue(s)))
				return 0
			}
			return n
		}

		m := CatalogModel{Line: line}
		m.Code = text(colModel, 64, true)
		m.Category = text(colCategory, 64, false)
		m.Brand = text(colBrand, 64, false)
		m.RepairMinutes = whole(colRepairMinutes, 1, maxStandardMinutes)
		m.InstallMinutes = whole(colInstallMinutes, 1, maxStandardMinutes)
		m.WarrantyMonths = whole(colWarrantyMonths, 1, maxWarrantyMonths)

		p := CatalogPart{Line: line}
		p.Code = text(colPartCode, 64, false)
		p.NameEN = text(colNameEN, 64, false)
		p.NameZH = text(colNameZH, 64, false)
		cur, price, qty := get(colCurrency), get(colListPrice), get(colMaxQty)
		if p.Code == "" {
			// A model without parts: the part columns must be empty too, or a
			// forgotten code would drop a part silently.
			for _, c := range []int{colNameEN, colNameZH, colCurrency, colListPrice, colMaxQty} {
				if get(c) != "" {
					bad(colPartCode, "is required when "+catalogColumns[c]+" is given")
					break
				}
			}
		} else {
			p.Currency = strings.ToUpper(cur)
			if !currencyRE.MatchString(p.Currency) {
				if cur == "" {
					bad(colCurrency, "is required for a part")
				} else {
					bad(colCurrency, "must be an ISO 4217 code such as CNY or USD, not "+workorders.QuoteValue(cur))
				}
			}
			if price == "" {
				bad(colListPrice, "is required for a part")
			} else if v, err := workorders.ParseMoney(price); err != nil {
				bad(colListPrice, err.Error())
			} else {
				p.ListPrice = v
			}
			p.MaxQty = 1
			if qty != "" {
				p.MaxQty = whole(colMaxQty, 1, maxPartQty)
			}
		}

		// A model's own columns must agree on every row of the model.
		if i, seen := byCode[m.Code]; seen && m.Code != "" {
			first := &models[i]
			agree := func(c int, a, b string) {
				if a != b {
					bad(c, fmt.Sprintf("is %s here but %s on line %d for model %s", workorders.QuoteValue(b), workorders.QuoteValue(a), first.Line, workorders.QuoteValue(m.Code)))
				}
			}
			agree(colCategory, first.Category, m.Category)
			agree(colBrand, first.Brand, m.Brand)
			agree(colRepairMinutes, catalogNumber(first.RepairMinutes), catalogNumber(m.RepairMinutes))
			agree(colInstallMinutes, catalogNumber(first.InstallMinutes), catalogNumber(m.InstallMinutes))
			agree(colWarrantyMonths, catalogNumber(first.WarrantyMonths), catalogNumber(m.WarrantyMonths))
		}
		key := [2]string{m.Code, p.Code}
		if prev, dup := partAt[key]; dup && m.Code != "" {
			if p.Code == "" {
				bad(colModel, fmt.Sprintf("model %s is listed without parts twice (line %d)", workorders.QuoteValue(m.Code), prev))
			} else {
				bad(colPartCode, fmt.Sprintf("part %s of model %s is already listed on line %d", workorders.QuoteValue(p.Code), workorders.QuoteValue(m.Code), prev))
			}
		}

		if len(rowErrs) > 0 {
			errs = addCatalogErrorFields(errs, &skipped, file, line, m.Code, rowErrs)
			continue
		}
		partAt[key] = line
		i, seen := byCode[m.Code]
		if !seen {
			i = len(models)
			byCode[m.Code] = i
			models = append(models, m)
		}
		if p.Code != "" {
			models[i].Parts = append(models[i].Parts, p)
		}
	}
	// A model listed both with and without parts is a contradiction.
	for _, m := range models {
		if at, ok := partAt[[2]string{m.Code, ""}]; ok && len(m.Parts) > 0 {
			errs = addCatalogError(errs, &skipped, file, at, "part_code",
				fmt.Sprintf("model %s is listed here without parts but has parts on line %d", workorders.QuoteValue(m.Code), m.Parts[0].Line))
		}
	}
	if len(errs) > 0 {
		sortCatalogErrors(errs)
		if skipped > 0 {
			errs = append(errs, &workorders.RowError{Where: file, Fields: []workorders.FieldError{{Msg: fmt.Sprintf("and %d more bad rows", skipped)}}})
		}
		return nil, errs
	}
	return models, nil
}

func addCatalogError(errs CatalogErrors, skipped *int, file string, line int, field, msg string) CatalogErrors {
	var path []string
	if field != "" {
		path = []string{field}
	}
	return addCatalogErrorFields(errs, skipped, file, line, "", []workorders.FieldError{{Path: path, Msg: msg}})
}

func addCatalogErrorFields(errs CatalogErrors, skipped *int, file string, line int, id string, fs []workorders.FieldError) CatalogErrors {
	if len(errs) >= maxCatalogErrors {
		*skipped++
		return errs
	}
	return append(errs, &workorders.RowError{Where: file + ":" + strconv.Itoa(line), ExternalID: id, Fields: fs})
}

// sortRowErrors orders errors by line; the late checks (a model both with and
// without parts) are found after the rows.
func sortCatalogErrors(errs CatalogErrors) {
	line := func(e *workorders.RowError) int {
		n, _ := strconv.Atoi(e.Where[strings.LastIndexByte(e.Where, ':')+1:])
		return n
	}
	for a := 1; a < len(errs); a++ {
		for b := a; b > 0 && line(errs[b]) < line(errs[b-1]); b-- {
			errs[b], errs[b-1] = errs[b-1], errs[b]
		}
	}
}

func catalogCSVError(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		at := "at column " + strconv.Itoa(pe.Column)
		if pe.Line != pe.StartLine {
			at = "at line " + strconv.Itoa(pe.Line) + ", column " + strconv.Itoa(pe.Column)
		}
		return pe.Err.Error() + " " + at
	}
	return err.Error()
}

func catalogColumn(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

func catalogNumber(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// ImportCatalog reads a parts-list file and writes it: product models are
// inserted or updated, and each model's parts list is replaced as a whole —
// parts the file no longer lists for a model are removed. Models the file
// does not mention are left alone. The file is checked completely first; if
// any row is wrong nothing is written, the result lists the errors and the
// returned error is the CatalogErrors (errors.Is(err, ErrInvalidCatalog)).
// Importing the same file again changes nothing.
//
// A model listed without parts has an empty parts list: V11 then flags any
// part claimed for it. A model not in product_models at all is not judged by
// V11 or V12.
func (s *Store) ImportCatalog(ctx context.Context, file string, r io.Reader) (CatalogResult, error) {
	var res CatalogResult
	models, err := ParseCatalog(file, r)
	if err != nil {
		var ce CatalogErrors
		if errors.As(err, &ce) {
			res.Errors = ce
		}
		return res, err
	}
	res.Models = len(models)
	var (
		mCode, mCat, mBrand                []string
		mRepair, mInstall, mWarranty       []*int32
		pModel, pCode, pEN, pZH, pCurrency []string
		pPrice                             []int64
		pMax                               []int32
	)
	opt := func(n int) *int32 {
		if n == 0 {
			return nil
		}
		v := int32(n)
		return &v
	}
	for _, m := range models {
		rows := max(1, len(m.Parts))
		res.Rows += rows
		res.Parts += len(m.Parts)
		mCode, mCat, mBrand = append(mCode, m.Code), append(mCat, m.Category), append(mBrand, m.Brand)
		mRepair, mInstall, mWarranty = append(mRepair, opt(m.RepairMinutes)), append(mInstall, opt(m.InstallMinutes)), append(mWarranty, opt(m.WarrantyMonths))
		for _, p := range m.Parts {
			pModel, pCode, pEN, pZH, pCurrency = append(pModel, m.Code), append(pCode, p.Code), append(pEN, p.NameEN), append(pZH, p.NameZH), append(pCurrency, p.Currency)
			pPrice, pMax = append(pPrice, int64(p.ListPrice)), append(pMax, int32(p.MaxQty))
		}
	}

	tx, err := s.Pool.Begin(ctx)
	if err != nil {
		return res, err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // no-op after commit
	now := s.now()

	rows, err := tx.Query(ctx, `
		INSERT INTO product_models AS pm (code, category, brand, repair_minutes, install_minutes, warranty_months, updated_at)
		SELECT * , $7::timestamptz FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[], $6::int[])
		ON CONFLICT (code) DO UPDATE SET category = EXCLUDED.category, brand = EXCLUDED.brand,
			repair_minutes = EXCLUDED.repair_minutes, install_minutes = EXCLUDED.install_minutes,
			warranty_months = EXCLUDED.warranty_months, updated_at = EXCLUDED.updated_at
		WHERE (pm.category, pm.brand, pm.repair_minutes, pm.install_minutes, pm.warranty_months)
			IS DISTINCT FROM (EXCLUDED.category, EXCLUDED.brand, EXCLUDED.repair_minutes, EXCLUDED.install_minutes, EXCLUDED.warranty_months)
		RETURNING xmax = 0`,
		mCode, mCat, mBrand, mRepair, mInstall, mWarranty, now)
	if err != nil {
		return res, fmt.Errorf("import catalog: models: %w", err)
	}
	inserted, err := pgx.CollectRows(rows, pgx.RowTo[bool])
	if err != nil {
		return res, fmt.Errorf("import catalog: models: %w", err)
	}
	for _, ins := range inserted {
		if ins {
			res.ModelsInserted++
		} else {
			res.ModelsUpdated++
		}
	}

	tag, err := tx.Exec(ctx, `
		DELETE FROM model_parts mp
		WHERE mp.model_code = ANY ($1::text[])
		  AND NOT EXISTS (SELECT 1 FROM unnest($2::text[], $3::text[]) AS f(model_code, part_code)
		                  WHERE f.model_code = mp.model_code AND f.part_code = mp.part_code)`,
		mCode, pModel, pCode)
	if err != nil {
		return res, fmt.Errorf("import catalog: remove parts: %w", err)
	}
	res.PartsRemoved = int(tag.RowsAffected())

	rows, err = tx.Query(ctx, `
		INSERT INTO model_parts AS mp (model_code, part_code, name_en, name_zh, currency, list_price, max_qty)
		SELECT f.model_code, f.part_code, f.name_en, f.name_zh, f.currency, f.price / 100.0, f.max_qty
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::int[])
			AS f(model_code, part_code, name_en, name_zh, currency, price, max_qty)
		ON CONFLICT (model_code, part_code) DO UPDATE SET name_en = EXCLUDED.name_en, name_zh = EXCLUDED.name_zh,
			currency = EXCLUDED.currency, list_price = EXCLUDED.list_price, max_qty = EXCLUDED.max_qty
		WHERE (mp.name_en, mp.name_zh, mp.currency, mp.list_price, mp.max_qty)
			IS DISTINCT FROM (EXCLUDED.name_en, EXCLUDED.name_zh, EXCLUDED.currency, EXCLUDED.list_price, EXCLUDED.max_qty)
		RETURNING xmax = 0`,
		pModel, pCode, pEN, pZH, pCurrency, pPrice, pMax)
	if err != nil {
		return res, fmt.Errorf("import catalog: parts: %w", err)
	}
	inserted, err = pgx.CollectRows(rows, pgx.RowTo[bool])
	if err != nil {
		return res, fmt.Errorf("import catalog: parts: %w", err)
	}
	for _, ins := range inserted {
		if ins {
			res.PartsInserted++
		} else {
			res.PartsUpdated++
		}
	}

	details, _ := json.Marshal(map[string]any{"file": file, "models": res.Models, "parts": res.Parts,
		"models_inserted": res.ModelsInserted, "models_updated": res.ModelsUpdated,
		"parts_inserted": res.PartsInserted, "parts_updated": res.PartsUpdated, "parts_removed": res.PartsRemoved})
	if _, err := tx.Exec(ctx, `INSERT INTO audit_log (at, actor, action, subject_type, subject_id, details)
		VALUES ($1, 'audit', 'catalog.import', 'catalog', $2, $3)`, now, file, details); err != nil {
		return res, fmt.Errorf("import catalog: log: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return res, fmt.Errorf("import catalog: commit: %w", err)
	}
	return res, nil
}
