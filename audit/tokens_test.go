package audit

import (
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/huifang/huifang/internal/testdb"
)

// A token is made once, stored only as its hash, names its holder and role,
// notes its use at most once a minute, and stops working when revoked.
func TestTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := &rvClock{t: rvStart}
	s := NewStore(testdb.New(t))
	s.Now = clock.Now
	tok, err := s.CreateToken(ctx, "root", "ana@example.com", RoleReviewer)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, "hf_") || len(tok) != 46 || strings.ContainsAny(tok, "+/=") {
		t.Fatalf("token %q: want hf_ and 43 base64url characters", tok)
	}
	other, err := s.CreateToken(ctx, "root", "ops-bot", RoleOps)
	if err != nil || other == tok {
		t.Fatalf("second token: %v (same as the first: %v)", err, other == tok)
	}
	var stored []byte
	if err := s.Pool.QueryRow(ctx, `SELECT token_sha256 FROM api_tokens WHERE name = 'ana@example.com'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256([]byte(tok)); !slices.Equal(stored, sum[:]) {
		t.Errorf("stored %x, want the token's SHA-256", stored)
	}
	id, err := s.Authenticate(ctx, tok)
	if err != nil || id != (Identity{Name: "ana@example.com", Role: RoleReviewer}) {
		t.Fatalf("authenticate: %+v %v", id, err)
	}
	lastUsed := func() time.Time {
		t.Helper()
		var at time.Time
		if err := s.Pool.QueryRow(ctx, `SELECT last_used_at FROM api_tokens WHERE name = 'ana@example.com'`).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	if got := lastUsed(); !got.Equal(rvStart) {
		t.Errorf("last used %v, want %v", got, rvStart)
	}
	clock.Add(59 * time.Second)
	s.Authenticate(ctx, tok)
	if got := lastUsed(); !got.Equal(rvStart) {
		t.Errorf("59 s later: last used %v, want unchanged", got)
	}
	clock.Add(time.Second)
	s.Authenticate(ctx, tok)
	if got := lastUsed(); !got.Equal(rvStart.Add(time.Minute)) {
		t.Errorf("a minute later: last used %v", got)
	}
	for _, bad := range []string{"", "hf_", tok[:len(tok)-1], tok + "x", strings.TrimPrefix(tok, "hf_"), strings.ToUpper(tok)} {
		if _, err := s.Authenticate(ctx, bad); !errors.Is(err, ErrBadToken) {
			t.Errorf("authenticate %q: %v", bad, err)
		}
	}
	for _, c := range []struct {
		name  string
		role  Role
		field string
		err   error
	}{
		{"ana@example.com", RoleOps, "", ErrConflict},
		{"", RoleOps, "name", nil},
		{"-dash", RoleOps, "name", nil},
		{"has space", RoleOps, "name", nil},
		{strings.Repeat("a", 64), RoleOps, "name", nil},
		{"bob", "superuser", "role", nil},
	} {
		_, err := s.CreateToken(ctx, "root", c.name, c.role)
		var ie *InputError
		if c.err != nil && !errors.Is(err, c.err) || c.err == nil && (!errors.As(err, &ie) || ie.Field != c.field) {
			t.Errorf("create %q %q: %v", c.name, c.role, err)
		}
	}
	// Near miss of the name rule: 63 characters is fine.
	if _, err := s.CreateToken(ctx, "root", strings.Repeat("a", 63), RoleReadonly); err != nil {
		t.Errorf("63-character name: %v", err)
	}
	if err := s.RevokeToken(ctx, "root", "ana@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, tok); !errors.Is(err, ErrBadToken) {
		t.Errorf("revoked token: %v", err)
	}
	if err := s.RevokeToken(ctx, "root", "ana@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoke twice: %v", err)
	}
	if id, err := s.Authenticate(ctx, other); err != nil || id.Role != RoleOps {
		t.Errorf("the other token after a revocation: %+v %v", id, err)
	}
	ts, err := s.ListTokens(ctx)
	if err != nil || len(ts) != 3 || ts[1].Name != "ana@example.com" || ts[1].RevokedAt == nil || ts[2].Name != "ops-bot" || ts[2].RevokedAt != nil {
		t.Errorf("tokens %+v %v", ts, err)
	}
	var log []string
	rows := mustQuery(t, s, `SELECT actor || ' ' || action || ' ' || subject_id FROM audit_log WHERE subject_type = 'api_token' ORDER BY id`)
	for rows.Next() {
		var l string
		rows.Scan(&l)
		log = append(log, l)
	}
	want := []string{"root token.create ana@example.com", "root token.create ops-bot", "root token.create " + strings.Repeat("a", 63), "root token.revoke ana@example.com"}
	if !slices.Equal(log, want) {
		t.Errorf("audit log %q, want %q", log, want)
	}
}
