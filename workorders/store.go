package workorders

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	goruntime "runtime"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store reads and writes the tables this package owns: intake_sources,
// providers, customers, work_orders and claimed_parts.
type Store struct {
	Pool *pgxpool.Pool
	// Now is the clock used for validation; nil means time.Now.
	Now func() time.Time
}

// ErrNotFound is returned when a source or job does not exist.
var ErrNotFound = errors.New("not found")

// ErrInvalidRows is returned (wrapped) by an all-or-nothing import that found
// invalid rows: nothing was written.
var ErrInvalidRows = errors.New("invalid rows: nothing imported")

func interpretError(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Source is an intake source: one upstream system or channel.
type Source struct {
	ID       int64           `json:"id"`
	Name     string          `json:"name"`
	Kind     string          `json:"kind"` // file, api, sql, http
	Defaults Defaults        `json:"defaults"`
	Schedule string          `json:"schedule,omitempty"`
	Config   json.RawMessage `json:"config,omitempty"`
	Enabled  bool            `json:"enabled"`
	// Watermark of a pull source: the last committed (completed_at, external_id).
	WatermarkAt time.Time `json:"watermark_at"`
	WatermarkID string    `json:"watermark_id"`
	LastRunAt   time.Time `json:"last_run_at"`
	LastRunRows int       `json:"last_run_rows"`
	LastError   string    `json:"last_error,omitempty"`
}

const sourceColumns = `id, name, kind, default_region, coalesce(default_tz, ''), coalesce(schedule, ''), config, enabled,
	coalesce(watermark_completed_at, 'epoch'), coalesce(watermark_external_id, ''),
	coalesce(last_run_at, 'epoch'), coalesce(last_run_rows, 0), coalesce(last_error, '')`

func scanSource(row pgx.Row) (Source, error) {
	var s Source
	err := row.Scan(&s.ID, &s.Name, &s.Kind, &s.Defaults.Region, &s.Defaults.TimeZone, &s.Schedule, &s.Config,
		&s.Enabled, &s.WatermarkAt, &s.WatermarkID, &s.LastRunAt, &s.LastRunRows, &s.LastError)
	return s, interpretError(err)
}

// EnsureSource returns the source with this name, creating it with kind and
// defaults if it does not exist. An existing source keeps its settings.
func (s *Store) EnsureSource(ctx context.Context, name, kind string, d Defaults) (Source, error) {
	if d.Region == "" {
		d.Region = "CN"
	}
	if d.TimeZone != "" {
		if _, err := zoneCache.load(d.TimeZone); err != nil {
			return Source{}, fmt.Errorf("source %s: unknown time zone %q", name, d.TimeZone)
		}
	}
	_, err := s.Pool.Exec(ctx, `INSERT INTO intake_sources (name, kind, default_region, default_tz)
		VALUES ($1, $2, $3, nullif($4, '')) ON CONFLICT (name) DO NOTHING`, name, kind, d.Region, d.TimeZone)
	if err != nil {
		return Source{}, fmt.Errorf("source %s: %w", name, err)
	}
	return s.SourceByName(ctx, name)
}

// SourceByName loads a source.
func (s *Store) SourceByName(ctx context.Context, name string) (Source, error) {
	src, err := scanSource(s.Pool.QueryRow(ctx, `SELECT `+sourceColumns+` FROM intake_sources WHERE name = $1`, name))
	if err != nil {
		return Source{}, fmt.Errorf("source %q: %w", name, err)
	}
	return src, nil
}

// Sources lists every source by name.
func (s *Store) Sources(ctx context.Context) ([]Source, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+sourceColumns+` FROM intake_sources ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Source
	for rows.Next() {
		src, err := scanSource(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, src)
	}
	return out, rows.Err()
}

// ImportOptions tune one import.
type ImportOptions struct {
	// SkipInvalid imports the valid rows and reports the rest; without it one
	// invalid row means nothing is written.
	SkipInvalid bool
	// Reject, if set, is called for every invalid row with its error and the
	// row as it stood in the input.
	Reject func(e *RowError, raw string) error
	// MaxErrors bounds the row errors kept in the result (default 100); all are
	// counted and all go to Reject.
	MaxErrors int
	// Actor names who imported, for the audit log ("cli", "api:token-name", "pull:erp").
	Actor string
	// BeforeCommit runs inside the import's transaction after the rows are
	// written, so a pull can advance its watermark atomically with them.
	BeforeCommit func(ctx context.Context, tx pgx.Tx, res *ImportResult) error
}

// ImportResult counts what an import did.
type ImportResult struct {
	Read      int         `json:"read"`      // rows read from the input
	Valid     int         `json:"valid"`     // rows that passed validation
	Rejected  int         `json:"rejected"`  // rows that did not
	Inserted  int         `json:"inserted"`  // jobs new to Huifang
	Updated   int         `json:"updated"`   // jobs that existed and changed
	Unchanged int         `json:"unchanged"` // jobs sent again exactly as stored
	Errors    []*RowError `json:"-"`         // the first MaxErrors row errors
	// Last is the (completed_at, external_id) greatest among valid rows, for watermarks.
	LastAt time.Time `json:"-"`
	LastID string    `json:"-"`
}

// stagingDDL is the per-import scratch table. It is TEMP (no WAL, private to
// the transaction) and has no indexes: COPY fills it at full speed, then
// set-based statements move rows into the real tables.
const stagingDDL = `CREATE TEMP TABLE wo_stage (
	seq bigint, external_id text, kind text, completed_at timestamptz,
	customer_ext text, customer_name text, phone text, phone_tz text, address text, region text, tz text, lang text,
	provider_code text, provider_name text, technician text, technician_phone text,
	brand text, product_category text, product_model text, serial_number text,
	warranty_status text, warranty_ends_on date, delivered_on date, fault text, currency text,
	customer_paid bigint, labour_minutes integer, labour_amount bigint, parts_amount bigint, parts_digest text,
	part_codes text[], part_names_en text[], part_names_zh text[], part_qty integer[], part_cost bigint[]
) ON COMMIT DROP`

var stagingColumns = []string{
	"seq", "external_id", "kind", "completed_at",
	"customer_ext", "customer_name", "phone", "phone_tz", "address", "region", "tz", "lang",
	"provider_code", "provider_name", "technician", "technician_phone",
	"brand", "product_category", "product_model", "serial_number",
	"warranty_status", "warranty_ends_on", "delivered_on", "fault", "currency",
	"customer_paid", "labour_minutes", "labour_amount", "parts_amount", "parts_digest",
	"part_codes", "part_names_en", "part_names_zh", "part_qty", "part_cost",
}

// The statements that move staged rows into place. Within one import the last
// row for an external id wins: dedupe removes the others first (a hash
// aggregate, cheap when there are none), so later statements need no sort. Unchanged rows are not touched, so re-importing
// a file writes nothing.
const (
	dedupeStage = `DELETE FROM wo_stage s
		USING (SELECT external_id, max(seq) AS keep FROM wo_stage GROUP BY external_id HAVING count(*) > 1) d
		WHERE s.external_id = d.external_id AND s.seq <> d.keep`

	upsertProviders = `INSERT INTO providers (code, name)
		SELECT DISTINCT ON (provider_code) provider_code, provider_name FROM wo_stage
		ORDER BY provider_code, (provider_name <> '') DESC, seq DESC
		ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, updated_at = now()
		WHERE EXCLUDED.name <> '' AND providers.name IS DISTINCT FROM EXCLUDED.name`

	upsertCustomers = `INSERT INTO customers (source_id, external_id, name, phone_e164, phone_tz, address, region, tz, lang)
		SELECT DISTINCT ON (customer_ext) $1, customer_ext, customer_name, phone, nullif(phone_tz, ''), address, region, tz, lang
		FROM wo_stage ORDER BY customer_ext, seq DESC
		ON CONFLICT (source_id, external_id) DO UPDATE SET
			name = EXCLUDED.name, phone_e164 = EXCLUDED.phone_e164, phone_tz = EXCLUDED.phone_tz,
			address = EXCLUDED.address, region = EXCLUDED.region, tz = EXCLUDED.tz, lang = EXCLUDED.lang, updated_at = now()
		WHERE (customers.name, customers.phone_e164, customers.phone_tz, customers.address, customers.region, customers.tz, customers.lang)
			IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.phone_e164, EXCLUDED.phone_tz, EXCLUDED.address, EXCLUDED.region, EXCLUDED.tz, EXCLUDED.lang)`

	upsertOrders = `WITH up AS (
		INSERT INTO work_orders (source_id, external_id, kind, completed_at, customer_id, provider_id, technician,
			technician_phone_e164, brand, product_category, product_model, serial_number, warranty_status,
			warranty_ends_on, delivered_on, fault, currency, customer_paid, labour_minutes, labour_amount,
			parts_amount, parts_digest)
		SELECT $1, s.external_id, s.kind, s.completed_at, c.id, p.id, s.technician, nullif(s.technician_phone, ''),
			s.brand, s.product_category, s.product_model, s.serial_number, s.warranty_status,
			s.warranty_ends_on, s.delivered_on, s.fault, s.currency, s.customer_paid / 100.0, s.labour_minutes,
			s.labour_amount / 100.0, s.parts_amount / 100.0, s.parts_digest
		FROM wo_stage s
		JOIN customers c ON c.source_id = $1 AND c.external_id = s.customer_ext
		JOIN providers p ON p.code = s.provider_code
		ON CONFLICT (source_id, external_id) DO UPDATE SET
			kind = EXCLUDED.kind, completed_at = EXCLUDED.completed_at, customer_id = EXCLUDED.customer_id,
			provider_id = EXCLUDED.provider_id, technician = EXCLUDED.technician,
			technician_phone_e164 = EXCLUDED.technician_phone_e164, brand = EXCLUDED.brand,
			product_category = EXCLUDED.product_category, product_model = EXCLUDED.product_model,
			serial_number = EXCLUDED.serial_number, warranty_status = EXCLUDED.warranty_status,
			warranty_ends_on = EXCLUDED.warranty_ends_on, delivered_on = EXCLUDED.delivered_on,
			fault = EXCLUDED.fault, currency = EXCLUDED.currency, customer_paid = EXCLUDED.customer_paid,
			labour_minutes = EXCLUDED.labour_minutes, labour_amount = EXCLUDED.labour_amount,
			parts_amount = EXCLUDED.parts_amount, parts_digest = EXCLUDED.parts_digest, updated_at = now()
		WHERE (work_orders.kind, work_orders.completed_at, work_orders.customer_id, work_orders.provider_id,
			work_orders.technician, work_orders.technician_phone_e164, work_orders.brand, work_orders.product_category,
			work_orders.product_model, work_orders.serial_number, work_orders.warranty_status, work_orders.warranty_ends_on,
			work_orders.delivered_on, work_orders.fault, work_orders.currency, work_orders.customer_paid,
			work_orders.labour_minutes, work_orders.labour_amount, work_orders.parts_amount, work_orders.parts_digest)
		IS DISTINCT FROM (EXCLUDED.kind, EXCLUDED.completed_at, EXCLUDED.customer_id, EXCLUDED.provider_id,
			EXCLUDED.technician, EXCLUDED.technician_phone_e164, EXCLUDED.brand, EXCLUDED.product_category,
			EXCLUDED.product_model, EXCLUDED.serial_number, EXCLUDED.warranty_status, EXCLUDED.warranty_ends_on,
			EXCLUDED.delivered_on, EXCLUDED.fault, EXCLUDED.currency, EXCLUDED.customer_paid,
			EXCLUDED.labour_minutes, EXCLUDED.labour_amount, EXCLUDED.parts_amount, EXCLUDED.parts_digest)
		RETURNING id, external_id, (xmax = 0) AS inserted, parts_digest <> '' AS has_parts
	)
	INSERT INTO wo_changed SELECT * FROM up`

	replaceParts = `DELETE FROM claimed_parts cp USING wo_changed ch WHERE cp.work_order_id = ch.id AND NOT ch.inserted`

	insertParts = `INSERT INTO claimed_parts (work_order_id, line, part_code, name_en, name_zh, quantity, unit_cost)
		SELECT ch.id, u.line, u.code, u.name_en, u.name_zh, u.qty, u.cost / 100.0
		FROM wo_changed ch
		JOIN wo_stage s ON s.external_id = ch.external_id
		CROSS JOIN LATERAL unnest(s.part_codes, s.part_names_en, s.part_names_zh, s.part_qty, s.part_cost)
			WITH ORDINALITY AS u(code, name_en, name_zh, qty, cost, line)
		WHERE ch.has_parts`
)

// Import validates every row from r and writes the valid ones in one
// transaction. Rows stream: memory use does not grow with the input.
//
// By default one invalid row aborts the import and nothing is written; the
// result lists the errors and the returned error wraps ErrInvalidRows. With
// SkipInvalid the valid rows are written and the invalid ones reported.
func (s *Store) Import(ctx context.Context, src Source, r Reader, opt ImportOptions) (ImportResult, error) {
	if opt.MaxErrors == 0 {
		opt.MaxErrors = 100
	}
	v := &Validator{Defaults: src.Defaults, Now: s.now}
	var res ImportResult

	tx, err := s.Pool.Begin(ctx)
	if err != nil {
		return res, err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // no-op after commit
	if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '128MB'`); err != nil {
		return res, err
	}
	if _, err := tx.Exec(ctx, stagingDDL); err != nil {
		return res, err
	}
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE wo_changed (id bigint, external_id text, inserted boolean, has_parts boolean) ON COMMIT DROP`); err != nil {
		return res, err
	}

	// Reading and validating runs in its own goroutine, ahead of COPY, so
	// parsing and the database work in parallel.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []Order, 4)
	prodErr := make(chan error, 1)
	go func() {
		defer close(batches)
		prodErr <- s.produce(ctx, v, r, opt, &res, batches)
	}()
	cs := &copySource{batches: batches}
	n, copyErr := tx.CopyFrom(ctx, pgx.Identifier{"wo_stage"}, stagingColumns, cs)
	if copyErr != nil {
		cancel()
		for range batches { // let the producer finish
		}
	}
	if err := <-prodErr; err != nil {
		return res, err
	}
	if copyErr != nil {
		return res, fmt.Errorf("import: copy: %w", copyErr)
	}
	if int(n) != res.Valid {
		return res, fmt.Errorf("import: copied %d rows, validated %d", n, res.Valid)
	}
	if res.Rejected > 0 && !opt.SkipInvalid {
		return res, fmt.Errorf("%d of %d rows invalid: %w", res.Rejected, res.Read, ErrInvalidRows)
	}
	if res.Valid > 0 {
		if err := s.apply(ctx, tx, src.ID, &res); err != nil {
			return res, err
		}
	}
	if opt.BeforeCommit != nil {
		if err := opt.BeforeCommit(ctx, tx, &res); err != nil {
			return res, err
		}
	}
	details, _ := json.Marshal(map[string]any{"source": src.Name, "read": res.Read, "rejected": res.Rejected,
		"inserted": res.Inserted, "updated": res.Updated, "unchanged": res.Unchanged})
	actor := opt.Actor
	if actor == "" {
		actor = "system"
	}
	if _, err := tx.Exec(ctx, `INSERT INTO audit_log (actor, action, subject_type, subject_id, details)
		VALUES ($1, 'intake.import', 'intake_source', $2, $3)`, actor, strconv.FormatInt(src.ID, 10), details); err != nil {
		return res, err
	}
	if err := tx.Commit(ctx); err != nil {
		return res, fmt.Errorf("import: commit: %w", err)
	}
	countIntake(src.Name, &res)
	return res, nil
}

func (s *Store) apply(ctx context.Context, tx pgx.Tx, sourceID int64, res *ImportResult) error {
	if _, err := tx.Exec(ctx, `ANALYZE wo_stage`); err != nil {
		return err
	}
	steps := []struct {
		name string
		sql  string
		args []any
	}{
		{"dedupe", dedupeStage, nil},
		{"providers", upsertProviders, nil},
		{"customers", upsertCustomers, []any{sourceID}},
		{"work orders", upsertOrders, []any{sourceID}},
		{"claimed parts (replace)", replaceParts, nil},
		{"claimed parts", insertParts, nil},
	}
	for _, st := range steps {
		if _, err := tx.Exec(ctx, st.sql, st.args...); err != nil {
			return fmt.Errorf("import: %s: %w", st.name, err)
		}
	}
	var distinct int
	err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM wo_stage),
		count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM wo_changed`).
		Scan(&distinct, &res.Inserted, &res.Updated)
	if err != nil {
		return err
	}
	res.Unchanged = distinct - res.Inserted - res.Updated
	return nil
}

// snapshot is a row copied out of its reader, so that it can be validated
// on another goroutine while the reader moves on (readers reuse their rows).
type snapshot struct {
	vals  [numFields]string
	parts []RawPart
	perrs []FieldError
	where string
	raw   func() string
	rerr  *RowError // the reader could not read the row at all
	order Order
	ferrs []FieldError
}

func (s *snapshot) Get(f Field) string               { return s.vals[f] }
func (s *snapshot) Parts() ([]RawPart, []FieldError) { return s.parts, s.perrs }

func takeSnapshot(r Reader, row Row, s *snapshot) {
	for f := Field(0); f < numFields; f++ {
		s.vals[f] = row.Get(f)
	}
	parts, perrs := row.Parts()
	s.parts = append([]RawPart(nil), parts...)
	s.perrs = append([]FieldError(nil), perrs...)
	s.where = r.Where()
	if cr, ok := r.(*CSVReader); ok {
		// Re-encoding a CSV record costs more than copying it: do it only for rejects.
		rec := append([]string(nil), cr.rec...)
		s.raw = func() string { return encodeCSVRecord(rec) }
	} else {
		raw := r.Raw()
		s.raw = func() string { return raw }
	}
}

// validators is how many goroutines validate rows. Phone number checks
// dominate the cost of a row, so they run on every core while one goroutine
// reads and another feeds COPY.
var validators = max(1, goruntime.GOMAXPROCS(0))

type snapBatch struct {
	seq   int
	snaps []snapshot
}

// produce reads rows, validates them on several goroutines and sends the
// valid ones, in input order, in batches. Rejects are reported in input
// order too.
func (s *Store) produce(ctx context.Context, v *Validator, r Reader, opt ImportOptions, res *ImportResult, out chan<- []Order) error {
	const batchSize = 256
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	todo := make(chan snapBatch, validators*2)
	done := make(chan snapBatch, validators*2)
	readErr := make(chan error, 1)

	// Read.
	go func() {
		defer close(todo)
		readErr <- func() error {
			seq := 0
			batch := snapBatch{seq: seq, snaps: make([]snapshot, 0, batchSize)}
			send := func() error {
				select {
				case todo <- batch:
				case <-ctx.Done():
					return ctx.Err()
				}
				seq++
				batch = snapBatch{seq: seq, snaps: make([]snapshot, 0, batchSize)}
				return nil
			}
			for {
				row, err := r.Next()
				if err == io.EOF {
					break
				}
				var re *RowError
				if err != nil && !errors.As(err, &re) {
					return err
				}
				batch.snaps = append(batch.snaps, snapshot{})
				sn := &batch.snaps[len(batch.snaps)-1]
				if re != nil {
					raw := r.Raw()
					sn.rerr, sn.raw = re, func() string { return raw }
				} else {
					takeSnapshot(r, row, sn)
				}
				if len(batch.snaps) == batchSize {
					if err := send(); err != nil {
						return err
					}
				}
			}
			if len(batch.snaps) > 0 {
				return send()
			}
			return nil
		}()
	}()

	// Validate.
	var wg sync.WaitGroup
	for range validators {
		wg.Go(func() {
			for b := range todo {
				for i := range b.snaps {
					sn := &b.snaps[i]
					if sn.rerr == nil {
						sn.order, sn.ferrs = v.Validate(sn)
					}
				}
				select {
				case done <- b:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(done) }()

	// Put batches back in input order, report rejects, send the valid rows.
	pending := map[int]snapBatch{}
	next := 0
	for b := range done {
		pending[b.seq] = b
		for {
			b, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			orders := make([]Order, 0, len(b.snaps))
			for i := range b.snaps {
				sn := &b.snaps[i]
				res.Read++
				e := sn.rerr
				if e == nil && len(sn.ferrs) > 0 {
					e = &RowError{Where: sn.where, ExternalID: sn.order.ExternalID, Fields: sn.ferrs}
				}
				if e != nil {
					res.Rejected++
					if len(res.Errors) < opt.MaxErrors {
						res.Errors = append(res.Errors, e)
					}
					if opt.Reject != nil {
						if err := opt.Reject(e, sn.raw()); err != nil {
							return err
						}
					}
					continue
				}
				o := sn.order
				res.Valid++
				if o.CompletedAt.After(res.LastAt) || (o.CompletedAt.Equal(res.LastAt) && o.ExternalID > res.LastID) {
					res.LastAt, res.LastID = o.CompletedAt, o.ExternalID
				}
				orders = append(orders, o)
			}
			if len(orders) > 0 {
				select {
				case out <- orders:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
	}
	if err := <-readErr; err != nil {
		return err
	}
	return ctx.Err()
}

// copySource feeds validated orders to COPY, reusing one value slice: pgx
// encodes each row before asking for the next.
type copySource struct {
	batches <-chan []Order
	cur     []Order
	i       int
	seq     int64
	vals    []any
}

func (c *copySource) Next() bool {
	c.i++
	for c.i >= len(c.cur) {
		b, ok := <-c.batches
		if !ok {
			return false
		}
		c.cur, c.i = b, 0
	}
	return true
}

func (c *copySource) Err() error { return nil }

func nullDate(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func (c *copySource) Values() ([]any, error) {
	o := &c.cur[c.i]
	c.seq++
	n := len(o.Parts)
	codes, en, zh := make([]string, n), make([]string, n), make([]string, n)
	qty, cost := make([]int32, n), make([]int64, n)
	for i, p := range o.Parts {
		codes[i], en[i], zh[i], qty[i], cost[i] = p.Code, p.NameEN, p.NameZH, int32(p.Quantity), int64(p.UnitCost)
	}
	var labour any
	if o.LabourMinutes >= 0 {
		labour = int32(o.LabourMinutes)
	}
	c.vals = append(c.vals[:0],
		c.seq, o.ExternalID, string(o.Kind), o.CompletedAt,
		o.Customer.ExternalID, o.Customer.Name, o.Customer.Phone, o.Customer.PhoneTimeZone, o.Customer.Address,
		o.Customer.Region, o.Customer.TimeZone, o.Customer.Lang,
		o.Provider.Code, o.Provider.Name, o.Technician, o.TechnicianPhone,
		o.Brand, o.ProductCategory, o.ProductModel, o.SerialNumber,
		o.WarrantyStatus, nullDate(o.WarrantyEndsOn), nullDate(o.DeliveredOn), o.Fault, o.Currency,
		int64(o.CustomerPaid), labour, int64(o.LabourAmount), int64(o.PartsAmount()), partsDigest(o.Parts),
		codes, en, zh, qty, cost,
	)
	c.cur[c.i] = Order{} // let the batch's strings go as soon as they are encoded
	return c.vals, nil
}

// partsDigest fingerprints the claim lines; "" when there are none.
func partsDigest(parts []ClaimedPart) string {
	if len(parts) == 0 {
		return ""
	}
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d\x00%d\x01", p.Code, p.NameEN, p.NameZH, p.Quantity, p.UnitCost)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}
