package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/argon2"

	"github.com/huifang/huifang/audit"
)

// Console users: who may log in to the console, with which role and
// language. Passwords are kept only as argon2id hashes; every change to a
// user is written to audit_log.

// MinPasswordLen is the shortest password the console accepts.
const MinPasswordLen = 10

// maxPasswordLen bounds the work one login attempt can cause.
const maxPasswordLen = 256

// User is a console user as the users admin and the command line show it:
// never the password hash.
type User struct {
	ID          int64
	Username    string
	DisplayName string
	Role        audit.Role
	Lang        string // "en" or "zh-CN"
	Phone       string // E.164; "" when not set
	Disabled    bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// UserFields are the fields of a user that can be set on creation and
// edited later.
type UserFields struct {
	DisplayName string
	Role        audit.Role
	Lang        string
	Phone       string
}

// FieldError is bad input for one field of a user, named so a form can show
// the message next to it.
type FieldError struct {
	Field   string
	Message string // in English
	Err     error  // the cause, if any (ErrUserExists)
	// Key and Args give the message in the console's catalogue, so a form
	// shows it in the user's language.
	Key  string
	Args []any
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }
func (e *FieldError) Unwrap() error { return e.Err }

// Text is the message in lang.
func (e *FieldError) Text(lang string) string {
	if e.Key == "" {
		return e.Message
	}
	return fmt.Sprintf(translate(lang, e.Key), e.Args...)
}

// fieldError is bad input for field, its message the catalogue's key
// formatted with args (English in Message).
func fieldError(field, key string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(translate("en", key), args...), Key: key, Args: args}
}

// Errors of the user store.
var (
	ErrUserNotFound = errors.New("no such user")
	ErrUserExists   = errors.New("a user with that name exists")
)

var (
	usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.@-]{0,62}$`)
	phoneRE    = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

// Langs are the console's languages.
var Langs = []string{"en", "zh-CN"}

// NormalizeUsername lowercases and trims a username as typed.
func NormalizeUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func checkUsername(name string) error {
	if !usernameRE.MatchString(name) {
		return fieldError("username", "user.err.username")
	}
	return nil
}

// check validates the fields and normalises the phone number (spaces and
// dashes removed).
func (f *UserFields) check() error {
	f.DisplayName = strings.TrimSpace(f.DisplayName)
	if utf8.RuneCountInString(f.DisplayName) > 100 {
		return fieldError("display_name", "user.err.display_name")
	}
	if !f.Role.Valid() {
		return fieldError("role", "user.err.role", string(f.Role))
	}
	if f.Lang == "" {
		f.Lang = "en"
	}
	if f.Lang != "en" && f.Lang != "zh-CN" {
		return fieldError("lang", "user.err.lang", f.Lang)
	}
	f.Phone = strings.NewReplacer(" ", "", "-", "", "(", "", ")", "").Replace(strings.TrimSpace(f.Phone))
	if f.Phone != "" && !phoneRE.MatchString(f.Phone) {
		return fieldError("phone", "user.err.phone")
	}
	return nil
}

// CheckPassword reports why a new password is not acceptable, or nil.
func CheckPassword(pw string) error {
	if utf8.RuneCountInString(pw) < MinPasswordLen {
		return fieldError("password", "user.err.pwshort", MinPasswordLen)
	}
	if len(pw) > maxPasswordLen {
		return fieldError("password", "user.err.pwlong", maxPasswordLen)
	}
	return nil
}

// The argon2id parameters of new hashes: 19 MiB, two passes, one lane
// (the smallest setting OWASP recommends, so a login costs tens of
// milliseconds on a small server). Stored hashes carry their own.
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

var b64 = base64.RawStdEncoding

// HashPassword returns the PHC-style argon2id hash of pw with a fresh salt:
// $argon2id$v=19$m=19456,t=2,p=1$SALT$HASH.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether pw matches the encoded hash, comparing in
// constant time. A malformed hash never matches.
func VerifyPassword(encoded, pw string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<20 || t > 16 {
		return false
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 128 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is compared against when a login names no user, so that an
// unknown username takes as long to refuse as a wrong password.
// It is made on first use, so commands that never log anyone in skip it.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("not a password of anyone")
	return h
})

// Users is the store of console users.
type Users struct {
	Pool *pgxpool.Pool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (us *Users) now() time.Time {
	if us.Now != nil {
		return us.Now()
	}
	return time.Now()
}

const userColumns = `id, username, display_name, role, lang, coalesce(phone_e164, ''), disabled, created_at, updated_at`

func scanUser(row pgx.Row) (User, error) {
	var u User
	err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Role, &u.Lang, &u.Phone, &u.Disabled, &u.CreatedAt, &u.UpdatedAt)
	return u, err
}

// List returns every user by username.
func (us *Users) List(ctx context.Context) ([]User, error) {
	rows, err := us.Pool.Query(ctx, `SELECT `+userColumns+` FROM users ORDER BY username`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// Get returns one user by username, or ErrUserNotFound.
func (us *Users) Get(ctx context.Context, username string) (User, error) {
	u, err := scanUser(us.Pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE username = $1`, NormalizeUsername(username)))
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, fmt.Errorf("%q: %w", username, ErrUserNotFound)
	}
	return u, err
}

// Create adds a user with an initial password.
func (us *Users) Create(ctx context.Context, actor, username string, f UserFields, password string) (User, error) {
	username = NormalizeUsername(username)
	if err := checkUsername(username); err != nil {
		return User{}, err
	}
	if err := f.check(); err != nil {
		return User{}, err
	}
	if err := CheckPassword(password); err != nil {
		return User{}, err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return User{}, err
	}
	var u User
	err = us.inTx(ctx, func(tx pgx.Tx) error {
		now := us.now()
		u, err = scanUser(tx.QueryRow(ctx, `
INSERT INTO users (username, display_name, role, lang, phone_e164, password_hash, created_at, updated_at)
VALUES ($1, $2, $3, $4, nullif($5, ''), $6, $7, $7)
RETURNING `+userColumns, username, f.DisplayName, string(f.Role), f.Lang, f.Phone, hash, now))
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			fe := fieldError("username", "user.err.taken", username)
			fe.Err = ErrUserExists
			return fe
		}
		if err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		return writeAudit(ctx, tx, now, actor, "user.create", username, map[string]any{
			"display_name": f.DisplayName, "role": f.Role, "lang": f.Lang, "phone": audit.MaskPhone(f.Phone)})
	})
	return u, err
}

// Update sets a user's display name, role, language and phone; the audit
// log gets the fields that changed, before and after.
func (us *Users) Update(ctx context.Context, actor, username string, f UserFields) error {
	username = NormalizeUsername(username)
	if err := f.check(); err != nil {
		return err
	}
	return us.inTx(ctx, func(tx pgx.Tx) error {
		before, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE username = $1 FOR UPDATE`, username))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%q: %w", username, ErrUserNotFound)
		}
		if err != nil {
			return err
		}
		changes := map[string]any{}
		note := func(field string, was, is any) {
			if was != is {
				changes[field] = map[string]any{"from": was, "to": is}
			}
		}
		note("display_name", before.DisplayName, f.DisplayName)
		note("role", string(before.Role), string(f.Role))
		note("lang", before.Lang, f.Lang)
		note("phone", audit.MaskPhone(before.Phone), audit.MaskPhone(f.Phone))
		if before.Phone != f.Phone && changes["phone"] == nil {
			changes["phone"] = map[string]any{"changed": true}
		}
		if len(changes) == 0 {
			return nil
		}
		now := us.now()
		if _, err := tx.Exec(ctx, `UPDATE users SET display_name = $2, role = $3, lang = $4, phone_e164 = nullif($5, ''), updated_at = $6 WHERE id = $1`,
			before.ID, f.DisplayName, string(f.Role), f.Lang, f.Phone, now); err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		return writeAudit(ctx, tx, now, actor, "user.update", username, changes)
	})
}

// SetLang sets a user's own language.
func (us *Users) SetLang(ctx context.Context, actor, username, lang string) error {
	if lang != "en" && lang != "zh-CN" {
		return fieldError("lang", "user.err.lang", lang)
	}
	return us.set(ctx, actor, username, "user.lang", `lang = $2`, []any{lang}, map[string]any{"lang": lang})
}

// SetPassword replaces a user's password. Every session of the user but
// keep (the hash of the session making the change, if any) ends.
func (us *Users) SetPassword(ctx context.Context, actor, username, password string, keep []byte) error {
	if err := CheckPassword(password); err != nil {
		return err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	return us.set(ctx, actor, username, "user.password", `password_hash = $2`, []any{hash}, nil, keep)
}

// SetDisabled disables a user (ending every session of theirs) or enables
// them again.
func (us *Users) SetDisabled(ctx context.Context, actor, username string, disabled bool) error {
	action := "user.enable"
	if disabled {
		action = "user.disable"
	}
	return us.set(ctx, actor, username, action, `disabled = $2`, []any{disabled}, nil)
}

// set applies one change to a user (set is the SET clause, with $1 the
// user's id and $2… args), logs it, and ends the user's sessions when the
// change is a password or disabling; keep, if given, is a session spared.
func (us *Users) set(ctx context.Context, actor, username, action, set string, args []any, details map[string]any, keep ...[]byte) error {
	username = NormalizeUsername(username)
	return us.inTx(ctx, func(tx pgx.Tx) error {
		now := us.now()
		var id int64
		err := tx.QueryRow(ctx, `UPDATE users SET `+set+`, updated_at = $`+fmt.Sprint(len(args)+2)+` WHERE id = (SELECT id FROM users WHERE username = $1) RETURNING id`,
			append(append([]any{username}, args...), now)...).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%q: %w", username, ErrUserNotFound)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", action, err)
		}
		if action == "user.password" || action == "user.disable" {
			var spare []byte
			if len(keep) > 0 {
				spare = keep[0]
			}
			if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND ($2::bytea IS NULL OR id_sha256 <> $2)`, id, spare); err != nil {
				return err
			}
		}
		return writeAudit(ctx, tx, now, actor, action, username, details)
	})
}

func (us *Users) inTx(ctx context.Context, f func(pgx.Tx) error) error {
	tx, err := us.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// writeAudit appends one row about a user to audit_log (details {} when
// nil).
func writeAudit(ctx context.Context, db audit.Execer, at time.Time, actor, action, username string, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	return audit.LogAction(ctx, db, at, actor, action, "user", username, details)
}

// EnsureUser makes sure a user exists with this role, language and
// password: it creates the user, or updates an existing one (enabling it and
// resetting its password). Actor "system" is logged.
func EnsureUser(ctx context.Context, pool *pgxpool.Pool, username, displayName string, role audit.Role, lang, password string) error {
	us := &Users{Pool: pool}
	f := UserFields{DisplayName: displayName, Role: role, Lang: lang}
	_, err := us.Create(ctx, "system", username, f, password)
	if !errors.Is(err, ErrUserExists) {
		return err
	}
	old, err := us.Get(ctx, username)
	if err != nil {
		return err
	}
	f.Phone = old.Phone
	if err := us.Update(ctx, "system", username, f); err != nil {
		return err
	}
	if old.Disabled {
		if err := us.SetDisabled(ctx, "system", username, false); err != nil {
			return err
		}
	}
	return us.SetPassword(ctx, "system", username, password, nil)
}
