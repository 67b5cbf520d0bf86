package sample

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"

	"github.com/huifang/huifang/workorders"
)

// WriteCSV writes the sample as an intake CSV file (canonical header), the
// same file a user could import with `huifang import`.
func WriteCSV(w io.Writer, cfg Config) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(workorders.FieldNames()); err != nil {
		return err
	}
	var rec []string
	err := Generate(cfg, func(j *Job) error {
		rec = workorders.CSVRecord(&j.Order, rec)
		return cw.Write(rec)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// Load imports the sample into source through the ordinary intake path (as
// CSV, streamed) and records each job's ground truth in sample_truth, for the
// simulator's personas and for measuring what the audit catches.
func Load(ctx context.Context, st *workorders.Store, src workorders.Source, cfg Config) (workorders.ImportResult, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(WriteCSV(pw, cfg)) }()
	r, err := workorders.NewCSVReader("sample", pr, nil)
	if err != nil {
		pr.Close()
		return workorders.ImportResult{}, err
	}
	res, err := st.Import(ctx, src, r, workorders.ImportOptions{Actor: "sample"})
	pr.Close()
	if err != nil {
		return res, fmt.Errorf("sample: import: %w", err)
	}
	return res, storeTruth(ctx, st, src, cfg)
}

// storeTruth regenerates the sample (generation is deterministic and cheap)
// and writes its truth next to the imported jobs.
func storeTruth(ctx context.Context, st *workorders.Store, src workorders.Source, cfg Config) error {
	tx, err := st.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE truth_stage (external_id text, persona text, planted text[], truth jsonb) ON COMMIT DROP`); err != nil {
		return err
	}
	var rows [][]any
	flush := func() error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"truth_stage"}, []string{"external_id", "persona", "planted", "truth"}, pgx.CopyFromRows(rows))
		rows = rows[:0]
		return err
	}
	err = Generate(cfg, func(j *Job) error {
		truth, err := json.Marshal(j.Truth)
		if err != nil {
			return err
		}
		planted := append([]string{}, j.Planted...)
		rows = append(rows, []any{j.Order.ExternalID, j.Persona, planted, truth})
		if len(rows) == 5000 {
			return flush()
		}
		return nil
	})
	if err == nil && len(rows) > 0 {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("sample: truth: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO sample_truth (work_order_id, persona, planted, truth)
		SELECT w.id, t.persona, t.planted, t.truth FROM truth_stage t
		JOIN work_orders w ON w.source_id = $1 AND w.external_id = t.external_id
		ON CONFLICT (work_order_id) DO UPDATE SET persona = EXCLUDED.persona, planted = EXCLUDED.planted, truth = EXCLUDED.truth`, src.ID); err != nil {
		return fmt.Errorf("sample: truth: %w", err)
	}
	return tx.Commit(ctx)
}
