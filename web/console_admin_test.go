package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/huifang/huifang/audit"
)

// auditRows lists audit_log rows about a user as "actor action details".
func (e authEnv) auditRows(t testing.TB, username string) []string {
	t.Helper()
	rows, err := e.pool.Query(context.Background(),
		`SELECT actor || ' ' || action || ' ' || details::text FROM audit_log WHERE subject_type = 'user' AND subject_id = $1 ORDER BY id`, username)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		out = append(out, s)
	}
	return out
}

func TestConsoleAdminForbidden(t *testing.T) {
	e := newAuthEnv(t)
	rev := consoleLogin(t, e.ts, e.pool, "ana", audit.RoleReviewer)
	nf := &http.Client{Jar: rev.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	csrf := csrfOf(t, rev, e.ts, "/me")
	for _, c := range []struct{ method, path string }{
		{"GET", "/users"}, {"GET", "/users/ana"}, {"GET", "/audit-log"},
		{"POST", "/users"}, {"POST", "/users/ana"}, {"POST", "/users/ana/disable"},
	} {
		var form url.Values
		if c.method == "POST" {
			form = url.Values{"csrf": {csrf}, "username": {"eve"}, "role": {"admin"}, "password": {"0123456789"}}
		}
		r := do(t, nf, c.method, e.ts.URL+c.path, form)
		if r.code != http.StatusForbidden || !strings.Contains(r.body, `id="forbidden"`) {
			t.Errorf("reviewer %s %s: %d, want the 403 page", c.method, c.path, r.code)
		}
	}
	var n int
	e.pool.QueryRow(context.Background(), `SELECT count(*) FROM users WHERE username = 'eve' OR (username = 'ana' AND (disabled OR role <> 'reviewer'))`).Scan(&n)
	if n != 0 {
		t.Fatal("a reviewer changed users")
	}
	// The navigation shows admin links to admins only.
	if r := do(t, nf, "GET", e.ts.URL+"/me", nil); strings.Contains(r.body, `href="/users"`) {
		t.Error("reviewer's navigation links to /users")
	}
}

func TestConsoleUsersAdmin(t *testing.T) {
	e := newAuthEnv(t)
	admin := consoleLogin(t, e.ts, e.pool, "root", audit.RoleAdmin)
	nf := &http.Client{Jar: admin.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	csrf := csrfOf(t, admin, e.ts, "/users")
	post := func(path string, kv ...string) result {
		f := url.Values{"csrf": {csrf}}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return do(t, nf, "POST", e.ts.URL+path, f)
	}

	// Bad input: shown next to the field, nothing created.
	for _, c := range []struct {
		kv    []string
		field string
		msg   string
	}{
		{[]string{"username", "Bad Name", "role", "ops", "lang", "en", "password", "0123456789"}, "username", "lowercase letters"},
		{[]string{"username", "lin", "role", "boss", "lang", "en", "password", "0123456789"}, "role", `&#34;boss&#34; is not a role`},
		{[]string{"username", "lin", "role", "ops", "lang", "fr", "password", "0123456789"}, "lang", `&#34;fr&#34; is not a language`},
		{[]string{"username", "lin", "role", "ops", "lang", "en", "phone", "13800138000", "password", "0123456789"}, "phone", "E.164"},
		{[]string{"username", "lin", "role", "ops", "lang", "en", "password", "012345678"}, "password", "at least 10 characters"},
		{[]string{"username", "root", "role", "ops", "lang", "en", "password", "0123456789"}, "username", `&#34;root&#34; is taken`},
	} {
		r := post("/users", c.kv...)
		re := regexp.MustCompile(`<span class="field-error" id="error-` + c.field + `">[^<]*` + regexp.QuoteMeta(c.msg))
		if r.code != http.StatusBadRequest || !re.MatchString(r.body) {
			t.Errorf("create %v: %d, want 400 with %q next to %s\n%.2000s", c.kv, r.code, c.msg, c.field, r.body)
		}
		if !strings.Contains(r.body, `value="`+c.kv[1]+`"`) {
			t.Errorf("create %v: the form lost the username", c.kv)
		}
	}
	// In the admin's language.
	chen := consoleLogin(t, e.ts, e.pool, "chen", audit.RoleAdmin)
	if _, err := e.pool.Exec(context.Background(), `UPDATE users SET lang = 'zh-CN' WHERE username = 'chen'`); err != nil {
		t.Fatal(err)
	}
	zh := do(t, &http.Client{Jar: chen.Jar, CheckRedirect: nf.CheckRedirect}, "POST", e.ts.URL+"/users", url.Values{"csrf": {csrfOf(t, chen, e.ts, "/users")},
		"username": {"lin"}, "role": {"ops"}, "lang": {"en"}, "phone": {"13800138000"}, "password": {"0123456789"}})
	if zh.code != http.StatusBadRequest || !strings.Contains(zh.body, `id="error-phone">E.164 格式的号码，例如 &#43;8613800138000`) {
		t.Errorf("bad phone for a zh-CN admin: %d\n%.2000s", zh.code, zh.body)
	}
	if _, err := e.pool.Exec(context.Background(), `DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = 'chen');
DELETE FROM users WHERE username = 'chen'`); err != nil {
		t.Fatal(err)
	}
	var n int
	e.pool.QueryRow(context.Background(), `SELECT count(*) FROM users`).Scan(&n)
	if n != 1 {
		t.Fatalf("%d users after refused creations, want 1", n)
	}

	// Create.
	r := post("/users", "username", "Lin", "display_name", "林", "role", "reviewer", "lang", "zh-CN", "phone", "+86 138-0013-8000", "password", "lin password 1")
	if r.code != http.StatusSeeOther || r.location != "/users?done=users.created" {
		t.Fatalf("create: %d to %q\n%s", r.code, r.location, r.body)
	}
	r = do(t, nf, "GET", e.ts.URL+"/users", nil)
	if !regexp.MustCompile(`<tr id="user-lin">\s*<td><a href="/users/lin">lin</a></td><td>林</td><td>reviewer</td>\s*<td>简体中文</td><td>&#43;8613800138000</td>`).MatchString(r.body) {
		t.Fatalf("users list:\n%s", r.body)
	}
	linClient := noFollow(t)
	if r := e.login(t, linClient, "lin", "lin password 1", "/me"); r.code != http.StatusSeeOther {
		t.Fatalf("new user's login: %d", r.code)
	}

	// Edit.
	r = post("/users/lin", "display_name", "Lin Wei", "role", "ops", "lang", "zh-CN", "phone", "+8613800138000")
	if r.code != http.StatusSeeOther || r.location != "/users/lin?done=users.saved" {
		t.Fatalf("edit: %d to %q", r.code, r.location)
	}
	r = post("/users/lin", "display_name", "Lin Wei", "role", "ops", "lang", "zh-CN", "phone", "12")
	if r.code != http.StatusBadRequest || !strings.Contains(r.body, `id="error-phone"`) || !strings.Contains(r.body, `value="12"`) {
		t.Fatalf("bad edit: %d\n%s", r.code, r.body)
	}
	if r := post("/users/nobody", "role", "ops", "lang", "en"); r.code != http.StatusNotFound || !strings.Contains(r.body, `<p id="message">No such user.</p>`) {
		t.Fatalf("edit of an unknown user: %d", r.code)
	}

	// Reset the password: the user's sessions end; the new one works.
	if r := post("/users/lin/password", "password", "short"); r.code != http.StatusBadRequest || !strings.Contains(r.body, `id="error-password"`) {
		t.Fatalf("short reset: %d", r.code)
	}
	if r := post("/users/lin/password", "password", "lin password 2"); r.code != http.StatusSeeOther {
		t.Fatalf("reset: %d", r.code)
	}
	if r := do(t, linClient, "GET", e.ts.URL+"/me", nil); r.code != http.StatusSeeOther {
		t.Fatalf("lin's session after a reset: %d, want 303", r.code)
	}
	if r := e.login(t, linClient, "lin", "lin password 2", "/me"); r.code != http.StatusSeeOther {
		t.Fatalf("login with the reset password: %d", r.code)
	}

	// Disable: the session ends; enable again. Admins cannot disable themselves.
	if r := post("/users/lin/disable"); r.code != http.StatusSeeOther {
		t.Fatalf("disable: %d", r.code)
	}
	if r := do(t, linClient, "GET", e.ts.URL+"/me", nil); r.code != http.StatusSeeOther {
		t.Fatalf("disabled user's session: %d, want 303", r.code)
	}
	r = do(t, nf, "GET", e.ts.URL+"/users/lin", nil)
	if !strings.Contains(r.body, `id="user-disabled"`) || !strings.Contains(r.body, `action="/users/lin/enable"`) {
		t.Fatalf("disabled user's page:\n%s", r.body)
	}
	if r := post("/users/lin/enable"); r.code != http.StatusSeeOther {
		t.Fatalf("enable: %d", r.code)
	}
	if r := post("/users/root/disable"); r.code != http.StatusBadRequest || !strings.Contains(r.body, "You cannot disable yourself.") {
		t.Fatalf("self-disable: %d", r.code)
	}
	if r := post("/users/lin/explode"); r.code != http.StatusNotFound {
		t.Fatalf("unknown action: %d", r.code)
	}

	want := []string{
		`console:root user.create {"lang": "zh-CN", "role": "reviewer", "phone": "+86138****8000", "display_name": "林"}`,
		`console:lin console.login {"ip": "127.0.0.1"}`,
		`console:root user.update {"role": {"to": "ops", "from": "reviewer"}, "display_name": {"to": "Lin Wei", "from": "林"}}`,
		`console:root user.password {}`,
		`console:lin console.login {"ip": "127.0.0.1"}`,
		`console:root user.disable {}`,
		`console:root user.enable {}`,
	}
	if got := e.auditRows(t, "lin"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit_log about lin:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var role, lang, phone string
	var disabled bool
	e.pool.QueryRow(context.Background(), `SELECT role, lang, phone_e164, disabled FROM users WHERE username = 'lin'`).Scan(&role, &lang, &phone, &disabled)
	if role != "ops" || lang != "zh-CN" || phone != "+8613800138000" || disabled {
		t.Fatalf("lin is %s %s %s disabled=%v", role, lang, phone, disabled)
	}
}

func TestConsoleMe(t *testing.T) {
	e := newAuthEnv(t)
	c := consoleLogin(t, e.ts, e.pool, "ivy", audit.RoleReadonly)
	other := noFollow(t) // a second session of the same user
	if r := e.login(t, other, "ivy", testPassword, "/"); r.code != http.StatusSeeOther {
		t.Fatalf("second login: %d", r.code)
	}
	nf := &http.Client{Jar: c.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	csrf := csrfOf(t, c, e.ts, "/me")
	for _, tc := range []struct {
		current, new, confirm string
		code                  int
		msg                   string
	}{
		{"wrong one!!", "new password 1", "new password 1", 400, "The current password is wrong."},
		{testPassword, "new password 1", "new password 2", 400, "The two new passwords differ."},
		{testPassword, "short", "short", 400, "New password: at least 10 characters"},
		{testPassword, "new password 1", "new password 1", 303, ""},
	} {
		r := do(t, nf, "POST", e.ts.URL+"/me/password", url.Values{"csrf": {csrf}, "current": {tc.current}, "new": {tc.new}, "confirm": {tc.confirm}})
		if r.code != tc.code || !strings.Contains(r.body, tc.msg) {
			t.Errorf("change %q→%q/%q: %d, want %d with %q", tc.current, tc.new, tc.confirm, r.code, tc.code, tc.msg)
		}
	}
	// This session lives on; the other ended.
	if r := do(t, nf, "GET", e.ts.URL+"/me", nil); r.code != 200 {
		t.Fatalf("own session after a password change: %d", r.code)
	}
	if r := do(t, other, "GET", e.ts.URL+"/me", nil); r.code != http.StatusSeeOther {
		t.Fatalf("other session after a password change: %d, want 303", r.code)
	}
	if r := e.login(t, noFollow(t), "ivy", "new password 1", "/"); r.code != http.StatusSeeOther {
		t.Fatalf("login with the new password: %d", r.code)
	}
	// Language: a bad value is refused; a good one changes the pages.
	if r := do(t, nf, "POST", e.ts.URL+"/me/lang", url.Values{"csrf": {csrf}, "lang": {"xx"}}); r.code != 400 {
		t.Fatalf("lang xx: %d", r.code)
	}
	do(t, nf, "POST", e.ts.URL+"/me/lang", url.Values{"csrf": {csrf}, "lang": {"zh-CN"}})
	if r := do(t, nf, "GET", e.ts.URL+"/me?done=me.saved", nil); !strings.Contains(r.body, "已保存。") || !strings.Contains(r.body, `<html lang="zh-CN">`) {
		t.Fatalf("/me after switching to Chinese:\n%s", r.body)
	}
	got := e.auditRows(t, "ivy")
	if len(got) < 2 || got[len(got)-1] != `console:ivy user.lang {"lang": "zh-CN"}` || !strings.HasPrefix(got[len(got)-3], `console:ivy user.password`) {
		t.Fatalf("audit rows about ivy:\n%s", strings.Join(got, "\n"))
	}
}

func TestConsoleAuditLog(t *testing.T) {
	e := newAuthEnv(t)
	ctx := context.Background()
	admin := consoleLogin(t, e.ts, e.pool, "root", audit.RoleAdmin)
	// 120 rows over two days: flags and users, three actors.
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.Local)
	for i := range 120 {
		actor := []string{"api:ana", "console:ben", "system"}[i%3]
		stype, action := "flag", "flag.decide"
		if i%4 == 0 {
			stype, action = "campaign", "campaign.update"
		}
		if _, err := e.pool.Exec(ctx, `INSERT INTO audit_log (at, actor, action, subject_type, subject_id, details) VALUES ($1, $2, $3, $4, $5, $6)`,
			base.Add(time.Duration(i)*20*time.Minute), actor, action, stype, fmt.Sprint(i%7), fmt.Sprintf(`{"n": %d, "note": "<b>x</b>"}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(body string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`<code class="details">\{&#34;n&#34;:(\d+)`).FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	get := func(q string) result { return do(t, admin, "GET", e.ts.URL+"/audit-log"+q, nil) }

	// Filters, newest first.
	for _, c := range []struct {
		q    string
		want string
	}{
		{"?actor=api:ana&action=flag.&subject_type=flag&subject_id=3", "87 66 45 3"},
		{"?action=campaign.&subject_id=0&to=2026-03-01", "56 28 0"},
		{"?action=campaign&from=2026-03-01T18:00&subject_id=4", "116 88 60"},
		{"?action=campaign&from=2026-03-01T18:00&to=2026-03-02T05:20&subject_id=4", "88 60"},
		{"?action=flag%25", ""},
		{"?actor=nobody", ""},
	} {
		r := get(c.q)
		if got := strings.Join(ids(r.body), " "); r.code != 200 || got != c.want {
			t.Errorf("GET /audit-log%s: %d, rows %q, want %q", c.q, r.code, got, c.want)
		}
	}
	if r := get("?actor=nobody"); !strings.Contains(r.body, `id="audit-none"`) {
		t.Error("an empty result does not say so")
	}
	// The details are escaped.
	if r := get("?subject_id=6&subject_type=campaign"); !strings.Contains(r.body, `{&#34;n&#34;:48,&#34;note&#34;:&#34;&lt;b&gt;x&lt;/b&gt;&#34;}`) {
		t.Errorf("details not shown escaped:\n%.3000s", r.body)
	}

	// Keyset paging: 50, 50, then the rest (the login rows of root too).
	var total int
	e.pool.QueryRow(ctx, `SELECT count(*) FROM audit_log`).Scan(&total)
	seen := map[string]bool{}
	q, pages := "", 0
	for {
		r := get(q)
		pages++
		rows := regexp.MustCompile(`<tr id="audit-(\d+)">`).FindAllStringSubmatch(r.body, -1)
		for _, m := range rows {
			if seen[m[1]] {
				t.Fatalf("row %s on two pages", m[1])
			}
			seen[m[1]] = true
		}
		m := regexp.MustCompile(`<a id="audit-older" href="/audit-log\?([^"]+)">`).FindStringSubmatch(r.body)
		if m == nil {
			if len(rows) != total-100 {
				t.Errorf("last page has %d rows, want %d", len(rows), total-100)
			}
			break
		}
		if len(rows) != 50 {
			t.Fatalf("page %d has %d rows, want 50", pages, len(rows))
		}
		q = "?" + strings.ReplaceAll(m[1], "&amp;", "&")
	}
	if pages != 3 || len(seen) != total {
		t.Fatalf("%d pages, %d rows seen of %d", pages, len(seen), total)
	}
	// With a filter the cursor keeps it.
	r := get("?actor=system")
	if got := ids(r.body); len(got) != 40 || got[0] != "119" || got[39] != "2" {
		t.Fatalf("system's rows: %v", got)
	}

	// Bad parameters are named.
	for q, want := range map[string]string{
		"?from=yesterday": "from: want a date",
		"?to=2026-13-01":  "to: want a date",
		"?before=12":      "before: not a page cursor",
		"?before=12.x":    "before: not a page cursor",
		"?before=12.-1":   "before: not a page cursor",
	} {
		r := get(q)
		if r.code != http.StatusBadRequest || !strings.Contains(r.body, want) {
			t.Errorf("GET /audit-log%s: %d, want 400 with %q", q, r.code, want)
		}
	}
}

func TestConsoleAuditQueryPlan(t *testing.T) {
	// The viewer's queries use the indexes, not a scan of the whole log.
	e := newAuthEnv(t)
	ctx := context.Background()
	if _, err := e.pool.Exec(ctx, `INSERT INTO audit_log (at, actor, action, subject_type, subject_id)
SELECT timestamptz '2026-01-01' + g * interval '1 second', CASE WHEN g % 20000 = 0 THEN 'console:rare' ELSE 'api:a' || (g % 50) END,
       'flag.decide', 'flag', (g % 5000)::text
FROM generate_series(1, 200000) g`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `ANALYZE audit_log`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		f    auditFilter
		want string
	}{
		{auditFilter{}, "audit_log_at_idx"},
		{auditFilter{BeforeAt: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), BeforeID: 99999}, "audit_log_at_idx"},
		{auditFilter{SubjectType: "flag", SubjectID: "42"}, "audit_log_subject_idx"},
		{auditFilter{Actor: "console:rare"}, "audit_log_actor_idx"},
	} {
		sql, args, err := auditQuery(c.f)
		if err != nil {
			t.Fatal(err)
		}
		var plan strings.Builder
		rows, err := e.pool.Query(ctx, "EXPLAIN "+sql, args...)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var line string
			rows.Scan(&line)
			plan.WriteString(line + "\n")
		}
		rows.Close()
		if !strings.Contains(plan.String(), c.want) || strings.Contains(plan.String(), "Seq Scan") {
			t.Errorf("plan for %+v does not use %s:\n%s", c.f, c.want, plan.String())
		}
		start := time.Now()
		rows, _ = e.pool.Query(ctx, sql, args...)
		rows.Close()
		t.Logf("%+v: %s", c.f, time.Since(start))
	}
}
