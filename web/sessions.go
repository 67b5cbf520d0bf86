package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Console sessions live in Postgres. The browser holds a random 32-byte
// token in the huifang_session cookie; the table holds only its SHA-256, so
// reading the table does not let anyone in. A session ends after
// sessionIdle without a request or sessionMax after login, whichever is
// first, and at once when the user logs out, is disabled or has their
// password changed.

const (
	sessionCookie = "huifang_session"
	sessionIdle   = 12 * time.Hour
	sessionMax    = 7 * 24 * time.Hour
	// seenEvery is how often a session's last_seen_at is written: not on
	// every request.
	seenEvery = time.Minute
)

func withConsoleUser(ctx context.Context, u *consoleUser) context.Context {
	return context.WithValue(ctx, consoleUserKey{}, u)
}

func sessionHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// overTLS reports whether the browser reached us over HTTPS, directly or
// through a proxy that says so.
func overTLS(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

// clientIP is the address the request came from: the peer's, or, when the
// peer is one of TrustedProxies, the nearest address in X-Forwarded-For that
// is not a trusted proxy (read from the right: the entries further left were
// written by the client and prove nothing). The login throttle and the
// sessions table use it.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(peer) {
		return host
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a proxy we trust would not write this: stop at the last good hop
		}
		peer = a.Unmap()
		if !s.trusted(peer) {
			break
		}
	}
	return peer.String()
}

func (s *Server) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ParseTrustedProxies reads a comma-separated list of addresses and CIDR
// prefixes (10.0.0.0/8, 192.0.2.7, fd00::/8). A bad entry is an error that
// names it by position.
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("entry %d, %q: not an IP address or CIDR prefix", i+1, item)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// startSession creates a session for user id and sets its cookie.
func (s *Server) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, userID int64) error {
	token, err := randomToken()
	if err != nil {
		return err
	}
	csrf, err := randomToken()
	if err != nil {
		return err
	}
	now := s.now()
	ua := r.UserAgent()
	if len(ua) > 300 {
		ua = ua[:300]
	}
	tx, err := s.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	// Sweep the user's own dead sessions while we are here.
	if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND (expires_at <= $2 OR last_seen_at <= $3)`,
		userID, now, now.Add(-sessionIdle)); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO sessions (id_sha256, user_id, csrf, created_at, last_seen_at, expires_at, user_agent, ip)
VALUES ($1, $2, $3, $4, $4, $5, $6, $7)`, sessionHash(token), userID, csrf, now, now.Add(sessionMax), ua, s.clientIP(r)); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: token, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: overTLS(r),
		MaxAge: int(sessionMax / time.Second),
	})
	return nil
}

// sessionLookupSQL finds a live session of an enabled user by the token's
// hash ($1) at time $2 (seen since $3), noting the visit if the last was
// before $4.
const sessionLookupSQL = `
WITH s AS (
    SELECT s.id_sha256, s.csrf, s.last_seen_at, u.id, u.username, u.display_name, u.role, u.lang, coalesce(u.phone_e164, '') AS phone
    FROM sessions s JOIN users u ON u.id = s.user_id
    WHERE s.id_sha256 = $1 AND NOT u.disabled
      AND s.expires_at > $2::timestamptz AND s.last_seen_at > $3::timestamptz
), seen AS (
    UPDATE sessions x SET last_seen_at = $2::timestamptz FROM s
    WHERE x.id_sha256 = s.id_sha256 AND s.last_seen_at <= $4::timestamptz
)
SELECT id, username, display_name, role, lang, phone, csrf FROM s`

// sessionUser reads the console session of a request: the user, if the
// cookie names a live session of an enabled user. An error means the
// session could not be checked (Postgres did not answer), not that there is
// none.
func (s *Server) sessionUser(r *http.Request) (*consoleUser, bool, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 100 {
		return nil, false, nil
	}
	var u consoleUser
	now := s.now()
	err = s.Pool.QueryRow(r.Context(), sessionLookupSQL, sessionHash(c.Value), now, now.Add(-sessionIdle), now.Add(-seenEvery)).
		Scan(&u.ID, &u.Username, &u.DisplayName, &u.Role, &u.Lang, &u.Phone, &u.CSRF)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		s.Log.Error("console: session lookup", "err", err)
		return nil, false, err
	}
	if u.DisplayName == "" {
		u.DisplayName = u.Username
	}
	return &u, true, nil
}

// unavailable answers 503 to a console request whose login could not be
// checked because Postgres did not answer, rather than sending the user to
// a login page that could not work either.
func (s *Server) unavailable(w http.ResponseWriter, r *http.Request) {
	lang := acceptLang(r.Header.Get("Accept-Language"))
	w.Header().Set("Retry-After", "5")
	s.renderLang(w, r, http.StatusServiceUnavailable, "message", lang, translate(lang, "unavailable.title"), "", "unavailable.text")
}

// endSession deletes the request's session and clears its cookie.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if _, err := s.Pool.Exec(r.Context(), `DELETE FROM sessions WHERE id_sha256 = $1`, sessionHash(c.Value)); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: overTLS(r), MaxAge: -1})
	return nil
}

// sessionHashOf is the hash of the request's session token, or nil.
func sessionHashOf(r *http.Request) []byte {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		return sessionHash(c.Value)
	}
	return nil
}
