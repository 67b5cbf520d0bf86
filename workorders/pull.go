package workorders

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/huifang/huifang/internal/redact"
	"github.com/jackc/pgx/v5"
)

// Pull sources fetch completed jobs from an upstream system page by page.
// Both kinds page by a watermark, the (completed_at, external_id) of the last
// row committed, and ask for rows strictly after it in that order. Each page
// is written in one transaction together with the new watermark, so the
// watermark never runs ahead of the rows: a crash mid-run loses nothing and,
// since writes are upserts keyed by (source, external id), doubles nothing.
//
// Rows that fail validation do not stop a pull: they are kept in
// intake_rejects with their reasons, and the watermark moves past them.

// PullConfig is the config of a pull source, stored as JSON in
// intake_sources.config. It names environment variables for credentials and
// never holds a secret itself.
type PullConfig struct {
	// SQL source: DSNEnv names the variable holding the upstream Postgres DSN;
	// Query selects rows after the watermark: $1 = completed_at, $2 =
	// external_id, $3 = page size, and must ORDER BY completed_at, external_id.
	DSNEnv string `json:"dsn_env,omitempty"`
	Query  string `json:"query,omitempty"`
	// HTTP source: URL is called with since, after_id and limit query
	// parameters and answers {"work_orders": [ {...}, ... ]} in the same
	// order; TokenEnv names the variable holding a bearer token.
	URL      string `json:"url,omitempty"`
	TokenEnv string `json:"token_env,omitempty"`
	// PageSize rows per request and per transaction (default 1000).
	PageSize int `json:"page_size,omitempty"`
	// Overlap re-reads rows this far behind the watermark at the start of
	// each run, for upstreams that commit late rows with earlier completion
	// times ("10m"). Re-read rows are unchanged upserts.
	Overlap string `json:"overlap,omitempty"`
}

// Validate checks a pull config for its kind.
func (c PullConfig) Validate(kind string) error {
	switch kind {
	case "sql":
		if c.DSNEnv == "" || c.Query == "" {
			return errors.New("a sql source needs dsn_env and query")
		}
		for _, p := range []string{"$1", "$2", "$3"} {
			if !strings.Contains(c.Query, p) {
				return fmt.Errorf("query must use %s ($1 completed_at, $2 external_id, $3 page size)", p)
			}
		}
	case "http":
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("url %q is not an http(s) URL", c.URL)
		}
	default:
		return fmt.Errorf("kind %q is not a pull source (sql or http)", kind)
	}
	if c.PageSize < 0 || c.PageSize > 50000 {
		return errors.New("page_size must be between 1 and 50000")
	}
	if c.Overlap != "" {
		if d, err := time.ParseDuration(c.Overlap); err != nil || d < 0 {
			return fmt.Errorf("overlap %q is not a duration like 10m", c.Overlap)
		}
	}
	return nil
}

// SavePullSource creates or updates a pull source. schedule is a cron
// expression (robfig/cron syntax, five fields or a descriptor like @every 5m).
func (s *Store) SavePullSource(ctx context.Context, name, kind, schedule string, d Defaults, cfg PullConfig) (Source, error) {
	if err := cfg.Validate(kind); err != nil {
		return Source{}, fmt.Errorf("source %s: %w", name, err)
	}
	if d.Region == "" {
		d.Region = "CN"
	}
	raw, _ := json.Marshal(cfg)
	_, err := s.Pool.Exec(ctx, `INSERT INTO intake_sources (name, kind, default_region, default_tz, schedule, config)
		VALUES ($1, $2, $3, nullif($4, ''), nullif($5, ''), $6)
		ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, default_region = EXCLUDED.default_region,
			default_tz = EXCLUDED.default_tz, schedule = EXCLUDED.schedule, config = EXCLUDED.config, updated_at = now()`,
		name, kind, d.Region, d.TimeZone, schedule, raw)
	if err != nil {
		return Source{}, fmt.Errorf("source %s: %w", name, err)
	}
	return s.SourceByName(ctx, name)
}

// SetWatermark moves a source's watermark, e.g. back in time to pull again.
func (s *Store) SetWatermark(ctx context.Context, name string, at time.Time, id string) error {
	tag, err := s.Pool.Exec(ctx, `UPDATE intake_sources SET watermark_completed_at = $2, watermark_external_id = $3,
		updated_at = now() WHERE name = $1`, name, at, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = ErrNotFound
	}
	return err
}

// Puller runs pull sources.
type Puller struct {
	Store *Store
	// HTTP is the client for HTTP sources (default: 60 s timeout).
	HTTP *http.Client
	// Getenv reads credentials named by a source's config (default os.Getenv).
	Getenv func(string) string
	// AfterPage, if set, is called after each committed page; tests use it to
	// stop a run between pages as a crash would.
	AfterPage func(page int, res ImportResult) error
}

// PullResult counts one run of a pull source.
type PullResult struct {
	Pages    int
	Rows     int
	Inserted int
	Updated  int
	Rejected int
}

// ErrBusy means another instance is pulling the same source right now.
var ErrBusy = errors.New("source is being pulled elsewhere")

// pullLockClass is the first key of the two-key advisory lock a pull holds
// on its source, so two instances never pull one source at once.
const pullLockClass = 0x6870 // "hp"

// Pull fetches and writes pages until the upstream has no more rows after
// the watermark. It records the run's outcome on the source.
func (p *Puller) Pull(ctx context.Context, name string) (PullResult, error) {
	var res PullResult
	src, err := p.Store.SourceByName(ctx, name)
	if err != nil {
		return res, err
	}
	var cfg PullConfig
	if err := json.Unmarshal(src.Config, &cfg); err != nil {
		return res, fmt.Errorf("source %s: config: %w", name, err)
	}
	if err := cfg.Validate(src.Kind); err != nil {
		return res, fmt.Errorf("source %s: %w", name, err)
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = 1000
	}
	conn, err := p.Store.Pool.Acquire(ctx)
	if err != nil {
		return res, err
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, pullLockClass, int32(src.ID)).Scan(&locked); err != nil {
		return res, err
	}
	if !locked {
		return res, ErrBusy
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1, $2)`, pullLockClass, int32(src.ID)) //nolint:errcheck

	fetch, err := p.fetcher(ctx, src, cfg)
	if err != nil {
		return res, p.finish(ctx, src, res, err)
	}
	defer fetch.Close()

	cursorAt, cursorID := src.WatermarkAt, src.WatermarkID
	if d, _ := time.ParseDuration(cfg.Overlap); d > 0 && !cursorAt.Equal(time.Unix(0, 0)) {
		cursorAt, cursorID = cursorAt.Add(-d), ""
	}
	for {
		page, err := fetch.Page(ctx, cursorAt, cursorID, cfg.PageSize)
		if err != nil {
			return res, p.finish(ctx, src, res, err)
		}
		if len(page.rows) == 0 {
			break
		}
		ir, err := p.writePage(ctx, src, page)
		if err != nil {
			return res, p.finish(ctx, src, res, err)
		}
		res.Pages++
		res.Rows += ir.Read
		res.Inserted += ir.Inserted
		res.Updated += ir.Updated
		res.Rejected += ir.Rejected
		if p.AfterPage != nil {
			if err := p.AfterPage(res.Pages, ir); err != nil {
				return res, p.finish(ctx, src, res, err)
			}
		}
		cursorAt, cursorID = page.lastAt, page.lastID
		if len(page.rows) < cfg.PageSize {
			break
		}
	}
	return res, p.finish(ctx, src, res, nil)
}

func (p *Puller) finish(ctx context.Context, src Source, res PullResult, runErr error) error {
	msg := ""
	if runErr != nil {
		msg = runErr.Error()
	}
	_, err := p.Store.Pool.Exec(context.WithoutCancel(ctx), `UPDATE intake_sources SET last_run_at = now(), last_run_rows = $2,
		last_error = nullif($3, '') WHERE id = $1`, src.ID, res.Rows, msg)
	if runErr != nil {
		return fmt.Errorf("pull %s: %w", src.Name, runErr)
	}
	return err
}

// writePage imports one page and advances the watermark in the same
// transaction.
func (p *Puller) writePage(ctx context.Context, src Source, pg *page) (ImportResult, error) {
	type reject struct{ place, id, errs, raw string }
	var rejects []reject
	r := NewJSONArrayReader("pull "+src.Name+": /work_orders", pg.rows)
	return p.Store.Import(ctx, src, r, ImportOptions{
		SkipInvalid: true,
		Actor:       "pull:" + src.Name,
		Reject: func(e *RowError, raw string) error {
			var msgs []string
			for _, f := range e.Fields {
				msgs = append(msgs, f.Error())
			}
			rejects = append(rejects, reject{e.Where, e.ExternalID, strings.Join(msgs, "; "), raw})
			return nil
		},
		BeforeCommit: func(ctx context.Context, tx pgx.Tx, _ *ImportResult) error {
			for _, rj := range rejects {
				if _, err := tx.Exec(ctx, `INSERT INTO intake_rejects (source_id, place, external_id, errors, raw)
					VALUES ($1, $2, $3, $4, $5)`, src.ID, rj.place, rj.id, rj.errs, rj.raw); err != nil {
					return err
				}
			}
			// Only forward: a page re-read through the overlap never moves it back.
			_, err := tx.Exec(ctx, `UPDATE intake_sources SET watermark_completed_at = $2, watermark_external_id = $3, updated_at = now()
				WHERE id = $1 AND (watermark_completed_at IS NULL
					OR (watermark_completed_at, coalesce(watermark_external_id, '')) < ($2, $3))`,
				src.ID, pg.lastAt, pg.lastID)
			return err
		},
	})
}

// page is one batch of upstream rows as JSON objects, with the position of
// its last row.
type page struct {
	rows   []json.RawMessage
	lastAt time.Time
	lastID string
}

type fetcher interface {
	Page(ctx context.Context, afterAt time.Time, afterID string, limit int) (*page, error)
	Close()
}

func (p *Puller) fetcher(ctx context.Context, src Source, cfg PullConfig) (fetcher, error) {
	getenv := p.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	switch src.Kind {
	case "sql":
		dsn := getenv(cfg.DSNEnv)
		if dsn == "" {
			return nil, fmt.Errorf("environment variable %s (the upstream DSN) is not set", cfg.DSNEnv)
		}
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return nil, fmt.Errorf("connect to upstream: %s", redact.Password(err.Error(), dsn))
		}
		return &sqlFetcher{conn: conn, query: cfg.Query}, nil
	case "http":
		client := p.HTTP
		if client == nil {
			client = &http.Client{Timeout: 60 * time.Second}
		}
		token := ""
		if cfg.TokenEnv != "" {
			if token = getenv(cfg.TokenEnv); token == "" {
				return nil, fmt.Errorf("environment variable %s (the upstream token) is not set", cfg.TokenEnv)
			}
		}
		return &httpFetcher{client: client, url: cfg.URL, token: token}, nil
	}
	return nil, fmt.Errorf("kind %q cannot be pulled", src.Kind)
}

type sqlFetcher struct {
	conn  *pgx.Conn
	query string
}

func (f *sqlFetcher) Close() { f.conn.Close(context.Background()) }

func (f *sqlFetcher) Page(ctx context.Context, afterAt time.Time, afterID string, limit int) (*page, error) {
	rows, err := f.conn.Query(ctx, f.query, afterAt, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("upstream query: %w", err)
	}
	defer rows.Close()
	cols := rows.FieldDescriptions()
	atCol, idCol := -1, -1
	for i, c := range cols {
		switch c.Name {
		case "completed_at":
			atCol = i
		case "external_id":
			idCol = i
		}
	}
	if atCol < 0 || idCol < 0 {
		return nil, errors.New("upstream query must return completed_at and external_id columns")
	}
	pg := &page{}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, fmt.Errorf("upstream row %d: %w", len(pg.rows)+1, err)
		}
		at, ok := vals[atCol].(time.Time)
		if !ok {
			return nil, fmt.Errorf("upstream row %d: completed_at must be a timestamp, got %T", len(pg.rows)+1, vals[atCol])
		}
		id := fmt.Sprint(vals[idCol])
		if len(pg.rows) > 0 && (at.Before(pg.lastAt) || (at.Equal(pg.lastAt) && id < pg.lastID)) {
			return nil, errors.New("upstream query must ORDER BY completed_at, external_id")
		}
		obj := make(map[string]any, len(cols))
		for i, c := range cols {
			obj[c.Name] = sqlValue(vals[i])
		}
		if s, ok := obj["parts"].(string); ok && !strings.HasPrefix(strings.TrimSpace(s), "[") {
			obj["parts"] = compactPartsJSON(s)
		}
		raw, err := json.Marshal(obj)
		if err != nil {
			return nil, fmt.Errorf("upstream row %d: %w", len(pg.rows)+1, err)
		}
		pg.rows = append(pg.rows, raw)
		pg.lastAt, pg.lastID = at, id
	}
	return pg, rows.Err()
}

// sqlValue turns a value scanned from upstream into what the JSON row
// decoder reads: text, a number, or a parts array.
func sqlValue(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case string:
		if t := strings.TrimSpace(x); strings.HasPrefix(t, "[") {
			return json.RawMessage(t)
		}
		return x
	case []byte:
		return string(x)
	case map[string]any, []any:
		return x
	case driver.Valuer: // pgtype.Numeric and friends
		dv, err := x.Value()
		if err != nil {
			return fmt.Sprint(x)
		}
		return sqlValue(dv)
	case fmt.Stringer:
		return x.String()
	default:
		return fmt.Sprint(x)
	}
}

// compactPartsJSON turns the compact CSV form of claim lines into the JSON
// form, so an upstream query may return either.
func compactPartsJSON(cell string) any {
	raws, errs := ParsePartsCell(cell)
	if len(errs) > 0 {
		return cell // let validation report it
	}
	out := make([]map[string]string, 0, len(raws))
	for _, r := range raws {
		out = append(out, map[string]string{"code": r.Code, "quantity": r.Quantity, "unit_cost": r.UnitCost, "name_en": r.NameEN, "name_zh": r.NameZH})
	}
	return out
}

type httpFetcher struct {
	client *http.Client
	url    string
	token  string
}

func (f *httpFetcher) Close() {}

func (f *httpFetcher) Page(ctx context.Context, afterAt time.Time, afterID string, limit int) (*page, error) {
	u, _ := url.Parse(f.url)
	q := u.Query()
	q.Set("since", afterAt.UTC().Format(time.RFC3339Nano))
	q.Set("after_id", afterID)
	q.Set("limit", strconv.Itoa(limit))
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if f.token != "" {
		req.Header.Set("Authorization", "Bearer "+f.token)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("upstream answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var body struct {
		WorkOrders []json.RawMessage `json:"work_orders"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 256<<20)).Decode(&body); err != nil {
		return nil, fmt.Errorf("upstream page is not {\"work_orders\": [...]}: %w", err)
	}
	pg := &page{rows: body.WorkOrders}
	for i, raw := range body.WorkOrders {
		var pos struct {
			ExternalID  json.RawMessage `json:"external_id"`
			CompletedAt string          `json:"completed_at"`
		}
		if err := json.Unmarshal(raw, &pos); err != nil {
			return nil, fmt.Errorf("upstream row /work_orders/%d: not an object", i)
		}
		at, err := time.Parse(time.RFC3339Nano, pos.CompletedAt)
		if err != nil {
			return nil, fmt.Errorf("upstream row /work_orders/%d/completed_at: a pulled row must carry an RFC 3339 time with offset, got %q", i, pos.CompletedAt)
		}
		id, serr := scalar(pos.ExternalID)
		if serr != "" || id == "" {
			return nil, fmt.Errorf("upstream row /work_orders/%d/external_id: missing", i)
		}
		if i > 0 && (at.Before(pg.lastAt) || (at.Equal(pg.lastAt) && id < pg.lastID)) {
			return nil, fmt.Errorf("upstream row /work_orders/%d: rows must be ordered by completed_at, external_id", i)
		}
		pg.lastAt, pg.lastID = at, id
	}
	return pg, nil
}
