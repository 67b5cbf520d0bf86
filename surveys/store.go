package surveys

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store keeps survey versions in Postgres (tables surveys and
// survey_versions). Stored versions are never updated: Publish adds a
// version when the content changed and returns the latest one when it did
// not, so a campaign that points at a version keeps asking exactly that.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore returns a Store over pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Published identifies one stored version.
type Published struct {
	ID        int64 // survey_versions.id, for foreign keys
	Name      string
	Version   int
	SHA256    string
	CreatedAt time.Time
	Created   bool // false when the content equalled the latest version
}

// canonical returns the definition's canonical JSON and its SHA-256. Two
// files that differ only in comments, layout or key order hash the same.
func canonical(def *Definition) ([]byte, string, error) {
	b, err := json.Marshal(def)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:]), nil
}

// Publish stores def as the next version of its survey, unless its content
// equals the latest version's, in which case that version is returned.
// Concurrent publishers of the same survey are serialised on its row.
func (s *Store) Publish(ctx context.Context, def *Definition) (Published, error) {
	body, sum, err := canonical(def)
	if err != nil {
		return Published{}, fmt.Errorf("publish survey %s: %w", def.Name, err)
	}
	var out Published
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var surveyID int64
		err := tx.QueryRow(ctx, `
INSERT INTO surveys (name) VALUES ($1)
ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
RETURNING id`, def.Name).Scan(&surveyID)
		if err != nil {
			return err
		}
		// The upsert holds the survey's row lock until commit, so the
		// version read below cannot be taken by another publisher meanwhile.
		var latest Published
		err = tx.QueryRow(ctx, `
SELECT id, version, sha256, created_at
FROM survey_versions
WHERE survey_id = $1
ORDER BY version DESC
LIMIT 1`, surveyID).Scan(&latest.ID, &latest.Version, &latest.SHA256, &latest.CreatedAt)
		switch {
		case err == nil && latest.SHA256 == sum:
			out = latest
			return nil
		case err != nil && !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		out = Published{Version: latest.Version + 1, SHA256: sum, Created: true}
		return tx.QueryRow(ctx, `
INSERT INTO survey_versions (survey_id, version, source, definition, sha256)
VALUES ($1, $2, $3, $4, $5)
RETURNING id, created_at`, surveyID, out.Version, string(def.Source), body, sum).Scan(&out.ID, &out.CreatedAt)
	})
	if err != nil {
		return Published{}, fmt.Errorf("publish survey %s: %w", def.Name, err)
	}
	out.Name = def.Name
	return out, nil
}

const versionColumns = `v.id, v.version, v.source, v.sha256`

// Get loads one version of a survey. It returns ErrNotFound when the survey
// or the version does not exist.
func (s *Store) Get(ctx context.Context, name string, version int) (*Definition, error) {
	return s.load(ctx, name, `
SELECT `+versionColumns+`
FROM survey_versions v JOIN surveys s ON s.id = v.survey_id
WHERE s.name = $1 AND v.version = $2`, name, version)
}

// Latest loads the newest version of a survey, or ErrNotFound.
func (s *Store) Latest(ctx context.Context, name string) (*Definition, error) {
	return s.load(ctx, name, `
SELECT `+versionColumns+`
FROM survey_versions v JOIN surveys s ON s.id = v.survey_id
WHERE s.name = $1
ORDER BY v.version DESC
LIMIT 1`, name)
}

// ByID loads a version by its survey_versions id, or ErrNotFound. Versions
// never change, so callers may cache what it returns.
func (s *Store) ByID(ctx context.Context, id int64) (*Definition, error) {
	return s.load(ctx, fmt.Sprintf("version id %d", id), `
SELECT `+versionColumns+`
FROM survey_versions v
WHERE v.id = $1`, id)
}

func (s *Store) load(ctx context.Context, name, query string, args ...any) (*Definition, error) {
	var (
		id      int64
		version int
		source  string
		sum     string
	)
	err := s.pool.QueryRow(ctx, query, args...).Scan(&id, &version, &source, &sum)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("survey %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("survey %s: %w", name, err)
	}
	def, err := ParseDefinition(fmt.Sprintf("survey %s version %d", name, version), []byte(source))
	if err != nil {
		// A stored version validated when it was published; failing now
		// means the rules changed since. Say so rather than run it.
		return nil, fmt.Errorf("survey %s version %d no longer validates: %w", name, version, err)
	}
	def.Version, def.VersionID, def.SHA256 = version, id, sum
	return def, nil
}
