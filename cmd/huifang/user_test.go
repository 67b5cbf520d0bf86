package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/internal/testdb"
	"github.com/huifang/huifang/web"
)

// userRun runs `huifang ARGS…` with stdin and extra environment against
// dbURL, as main does.
func userRun(t *testing.T, dbURL, stdin string, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	all := map[string]string{"DATABASE_URL": dbURL, "HUIFANG_LOG_LEVEL": "warn", "USER": "tester"}
	for k, v := range env {
		all[k] = v
	}
	var out, errOut strings.Builder
	c := &cli{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, getenv: func(k string) string { return all[k] }}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := 0
	if err := c.run(ctx, args); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(&errOut, "huifang:", err)
		}
		code = exitCode(err)
	}
	return out.String(), errOut.String(), code
}

func TestUserCommand(t *testing.T) {
	dbURL := testdb.NewURL(t)
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	hash := func(name string) string {
		var h string
		pool.QueryRow(context.Background(), `SELECT password_hash FROM users WHERE username = $1`, name).Scan(&h)
		return h
	}

	// Refusals: exit 2 for usage, 1 for bad values; nothing created.
	for _, c := range []struct {
		stdin string
		env   map[string]string
		args  []string
		code  int
		msg   string
	}{
		{"", nil, []string{"user"}, 2, "user: give a subcommand"},
		{"", nil, []string{"user", "rename", "x"}, 2, `unknown subcommand "rename"`},
		{"", nil, []string{"user", "add", "mei"}, 2, `--role "": want admin, ops, reviewer or readonly`},
		{"", nil, []string{"user", "add", "mei", "--role", "boss"}, 2, `--role "boss"`},
		{"", nil, []string{"user", "add", "--role", "ops"}, 2, "want 1 argument(s), got 0"},
		{"", nil, []string{"user", "add", "mei", "--role", "ops"}, 1, "no password: set HUIFANG_PASSWORD"},
		{"short\n", nil, []string{"user", "add", "mei", "--role", "ops"}, 1, "password: at least 10 characters"},
		{"a long password\n", nil, []string{"user", "add", "mei", "--role", "ops", "--lang", "fr"}, 1, `lang: "fr" is not a language`},
		{"a long password\n", nil, []string{"user", "add", "mei", "--role", "ops", "--phone", "12345"}, 1, "phone: an E.164 number"},
	} {
		_, stderr, code := userRun(t, dbURL, c.stdin, c.env, c.args...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d, want %d with %q\n%s", c.args, code, c.code, c.msg, stderr)
		}
	}

	// Add from stdin and from the environment.
	out, stderr, code := userRun(t, dbURL, "mei's password\n", nil, "user", "add", "Mei", "--role", "reviewer", "--lang", "zh-CN", "--phone", "+8613800138000", "--display", "梅")
	if code != 0 || out != "created user mei (reviewer)\n" {
		t.Fatalf("add: exit %d, %q\n%s", code, out, stderr)
	}
	if strings.Contains(stderr, "mei's password") {
		t.Fatal("the password was echoed")
	}
	if !web.VerifyPassword(hash("mei"), "mei's password") {
		t.Fatal("mei's password does not verify")
	}
	if _, _, code := userRun(t, dbURL, "", map[string]string{"HUIFANG_PASSWORD": "root password"}, "user", "add", "root", "--role", "admin"); code != 0 {
		t.Fatal("add root failed")
	}
	if _, stderr, code := userRun(t, dbURL, "", map[string]string{"HUIFANG_PASSWORD": "root password"}, "user", "add", "root", "--role", "admin"); code != 1 || !strings.Contains(stderr, `"root" is taken`) {
		t.Fatalf("second add of root: exit %d\n%s", code, stderr)
	}

	// passwd, disable, list.
	if out, _, code := userRun(t, dbURL, "new password 12\n", nil, "user", "passwd", "mei"); code != 0 || out != "password of mei changed\n" {
		t.Fatalf("passwd: exit %d %q", code, out)
	}
	if !web.VerifyPassword(hash("mei"), "new password 12") || web.VerifyPassword(hash("mei"), "mei's password") {
		t.Fatal("passwd did not replace the password")
	}
	if _, stderr, code := userRun(t, dbURL, "new password 12\n", nil, "user", "passwd", "nobody"); code != 1 || !strings.Contains(stderr, `"nobody": no such user`) {
		t.Fatalf("passwd nobody: exit %d\n%s", code, stderr)
	}
	if out, _, code := userRun(t, dbURL, "", nil, "user", "disable", "mei"); code != 0 || out != "mei disabled\n" {
		t.Fatalf("disable: exit %d %q", code, out)
	}
	out, _, _ = userRun(t, dbURL, "", nil, "user", "list")
	want := "USERNAME  ROLE      LANG   PHONE           STATUS    DISPLAY NAME\n" +
		"mei       reviewer  zh-CN  +86*******8000  disabled  梅\n" +
		"root      admin     en                     active    root\n"
	if out != want {
		t.Fatalf("list:\n%s\nwant:\n%s", out, want)
	}
	var rows []string
	r, _ := pool.Query(context.Background(), `SELECT actor || ' ' || action || ' ' || subject_id FROM audit_log ORDER BY id`)
	for r.Next() {
		var s string
		r.Scan(&s)
		rows = append(rows, s)
	}
	r.Close()
	if got := strings.Join(rows, "\n"); got != "cli:tester user.create mei\ncli:tester user.create root\ncli:tester user.password mei\ncli:tester user.disable mei" {
		t.Fatalf("audit_log:\n%s", got)
	}
}

func TestEnsureUserIdempotent(t *testing.T) {
	pool := testdb.New(t)
	ctx := context.Background()
	if err := web.EnsureUser(ctx, pool, "demo", "Demo", "ops", "en", "first password"); err != nil {
		t.Fatal(err)
	}
	us := &web.Users{Pool: pool}
	if err := us.SetDisabled(ctx, "test", "demo", true); err != nil {
		t.Fatal(err)
	}
	if err := web.EnsureUser(ctx, pool, "demo", "Demo Two", "admin", "zh-CN", "second password"); err != nil {
		t.Fatal(err)
	}
	u, err := us.Get(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if u.DisplayName != "Demo Two" || u.Role != "admin" || u.Lang != "zh-CN" || u.Disabled {
		t.Fatalf("after the second EnsureUser: %+v", u)
	}
	var h string
	pool.QueryRow(ctx, `SELECT password_hash FROM users WHERE username = 'demo'`).Scan(&h)
	if !web.VerifyPassword(h, "second password") {
		t.Fatal("EnsureUser did not reset the password")
	}
	if err := web.EnsureUser(ctx, pool, "demo", "", "ops", "en", "short"); err == nil {
		t.Fatal("EnsureUser took a short password")
	}
}
