package sample

import (
	"encoding/csv"
	"io"
	"strconv"
)

// catalogHeader is the parts-list file's header, as the audit's catalog
// import reads it.
var catalogHeader = []string{
	"model", "category", "brand", "repair_minutes", "install_minutes", "warranty_months",
	"part_code", "name_en", "name_zh", "currency", "list_price", "max_qty",
}

// WriteCatalogCSV writes the sample catalog as a parts-list file: one row per
// (model, part) with the model's standard repair and install minutes and its
// warranty on every row, and each part's list price (the unit cost the sample
// claims, in major units with two decimals) and maximum quantity. Importing
// it gives the audit the parts lists and standard times the sample jobs were
// generated from.
func WriteCatalogCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(catalogHeader); err != nil {
		return err
	}
	for _, m := range Catalog() {
		for _, p := range m.BOM {
			rec := []string{
				m.Code, m.Category, m.Brand, strconv.Itoa(m.StandardLabourMinutes), strconv.Itoa(m.InstallLabourMinutes),
				strconv.Itoa(m.WarrantyMonths), p.Code, p.NameEN, p.NameZH, m.Currency, p.UnitCost.String(), strconv.Itoa(p.MaxQty),
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
