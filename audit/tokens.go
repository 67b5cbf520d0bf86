package audit

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Role is what an API token may do.
type Role string

// The roles, most powerful first.
const (
	// RoleAdmin may do everything, including managing tokens and conflicts.
	RoleAdmin Role = "admin"
	// RoleOps runs campaigns and intake, and reads the review queue and scorecards.
	RoleOps Role = "ops"
	// RoleReviewer works the review queue: claims, decides, signs off.
	RoleReviewer Role = "reviewer"
	// RoleReadonly reads and never acts.
	RoleReadonly Role = "readonly"
)

// Roles lists every role.
var Roles = []Role{RoleAdmin, RoleOps, RoleReviewer, RoleReadonly}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Identity is who a request comes from: the token's name and role.
type Identity struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
}

// Token is an API token as ListTokens shows it: never the token itself.
type Token struct {
	Name       string     `json:"name"`
	Role       Role       `json:"role"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// TokenPrefix starts every token, so a leaked one is recognisable (and
// secret scanners can find it).
const TokenPrefix = "hf_"

// ErrBadToken is a token that is unknown, malformed or revoked.
var ErrBadToken = errors.New("unknown or revoked token")

var tokenName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,62}$`)

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// CreateToken makes a token for a person or an integration and returns it:
// this is the only time it is seen, since only its SHA-256 is stored. Names
// are unique, revoked tokens' names included.
func (s *Store) CreateToken(ctx context.Context, actor, name string, role Role) (string, error) {
	if !tokenName.MatchString(name) {
		return "", badInput("name", "1–63 letters, digits, _ . @ or -, starting with a letter or digit")
	}
	if !role.Valid() {
		return "", badInput("role", "%q is not a role: admin, ops, reviewer, readonly", role)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO api_tokens (name, role, token_sha256, created_at) VALUES ($1, $2, $3, $4)`,
			name, string(role), tokenHash(token), s.now())
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			return fmt.Errorf("a token named %q exists (revoked tokens keep their names): %w", name, ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("create token: %w", err)
		}
		return LogAction(ctx, tx, s.now(), actor, "token.create", "api_token", name, map[string]any{"role": role})
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// RevokeToken stops a token from working, at once.
func (s *Store) RevokeToken(ctx context.Context, actor, name string) error {
	if !tokenName.MatchString(name) {
		return fmt.Errorf("no token named %q: %w", name, ErrNotFound)
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE api_tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL`, name, s.now())
		if err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("no live token named %q: %w", name, ErrNotFound)
		}
		return LogAction(ctx, tx, s.now(), actor, "token.revoke", "api_token", name, nil)
	})
}

// ListTokens lists every token, revoked ones included, by name.
func (s *Store) ListTokens(ctx context.Context) ([]Token, error) {
	rows, err := s.Pool.Query(ctx, `SELECT name, role, created_at, last_used_at, revoked_at FROM api_tokens ORDER BY name`)
	if err != nil {
		return nil, err
	}
	out := []Token{}
	var t Token
	_, err = pgx.ForEachRow(rows, []any{&t.Name, &t.Role, &t.CreatedAt, &t.LastUsedAt, &t.RevokedAt}, func() error {
		out = append(out, t)
		return nil
	})
	return out, err
}

// authenticateSQL finds a live token by its hash and notes its use, at most
// once a minute so a busy client does not write on every request.
const authenticateSQL = `
WITH t AS (
    SELECT id, name, role, last_used_at FROM api_tokens WHERE token_sha256 = $1 AND revoked_at IS NULL
), used AS (
    UPDATE api_tokens a SET last_used_at = $2::timestamptz FROM t
    WHERE a.id = t.id AND (t.last_used_at IS NULL OR t.last_used_at <= $2::timestamptz - interval '1 minute')
)
SELECT name, role FROM t`

// Authenticate returns the identity behind a token, or ErrBadToken. The
// lookup is by the token's hash, so its timing says nothing about how much
// of a guess was right.
func (s *Store) Authenticate(ctx context.Context, token string) (Identity, error) {
	if !strings.HasPrefix(token, TokenPrefix) {
		return Identity{}, ErrBadToken
	}
	var id Identity
	err := s.Pool.QueryRow(ctx, authenticateSQL, tokenHash(token), s.now()).Scan(&id.Name, &id.Role)
	if errors.Is(err, pgx.ErrNoRows) {
		return Identity{}, ErrBadToken
	}
	if err != nil {
		return Identity{}, fmt.Errorf("authenticate: %w", err)
	}
	return id, nil
}
