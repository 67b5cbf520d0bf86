package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/audit"
	"github.com/huifang/huifang/internal/testdb"
	"github.com/huifang/huifang/workorders"
)

// testClock is a clock tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// authEnv is a console server on a fresh database with a movable clock.
type authEnv struct {
	s     *Server
	ts    *httptest.Server
	pool  *pgxpool.Pool
	clock *testClock
}

func newAuthEnv(t testing.TB) authEnv {
	t.Helper()
	pool := testdb.New(t)
	clock := &testClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	s := &Server{
		Pool:       pool,
		WorkOrders: &workorders.Store{Pool: pool},
		Log:        slog.New(slog.DiscardHandler),
		Now:        clock.Now,
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return authEnv{s: s, ts: ts, pool: pool, clock: clock}
}

// noFollow is a client with a cookie jar that does not follow redirects.
func noFollow(t testing.TB) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type result struct {
	code     int
	location string
	body     string
}

func do(t testing.TB, c *http.Client, method, u string, form url.Values, hdr ...string) result {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return result{resp.StatusCode, resp.Header.Get("Location"), string(b)}
}

func (e authEnv) login(t testing.TB, c *http.Client, user, pw, next string) result {
	t.Helper()
	return do(t, c, "POST", e.ts.URL+"/login", url.Values{"username": {user}, "password": {pw}, "next": {next}})
}

func (e authEnv) auditCount(t testing.TB, action, subject string) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = $1 AND subject_id = $2`, action, subject).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestConsolePasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not PHC argon2id with our parameters", h)
	}
	h2, _ := HashPassword("correct horse battery")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for _, c := range []struct {
		hash, pw string
		want     bool
	}{
		{h, "correct horse battery", true},
		{h, "correct horse batterY", false},
		{h, "", false},
		{strings.Replace(h, "t=2", "t=3", 1), "correct horse battery", false},
		{"$argon2id$v=19$m=19456,t=2,p=1$!!$!!", "x", false},
		{"plain", "plain", false},
	} {
		if got := VerifyPassword(c.hash, c.pw); got != c.want {
			t.Errorf("VerifyPassword(%.40q, %q) = %v, want %v", c.hash, c.pw, got, c.want)
		}
	}
	for pw, ok := range map[string]bool{"123456789": false, "1234567890": true, "密码密码密码密码密码": true, "密码密码密码密码密": false} {
		if err := CheckPassword(pw); (err == nil) != ok {
			t.Errorf("CheckPassword(%q) = %v, want ok=%v", pw, err, ok)
		}
	}
}

func TestConsoleSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "/",
		"/queue?x=1":        "/queue?x=1",
		"//evil.com":        "/",
		"/\\evil.com":       "/",
		"https://evil.com/": "/",
		"evil.com":          "/",
		"/ok/../x":          "/ok/../x",
		"/a\nb":             "/",
		"/campaigns/new":    "/campaigns/new",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConsoleAcceptLang(t *testing.T) {
	for in, want := range map[string]string{
		"":                          "en",
		"zh-CN,zh;q=0.9,en;q=0.8":   "zh-CN",
		"en-US,en;q=0.9,zh;q=0.8":   "en",
		"fr-FR,zh-TW;q=0.5":         "zh-CN",
		"en;q=0.3, zh-Hans;q=0.7":   "zh-CN",
		"de":                        "en",
		"zh;q=0":                    "en",
		"zh-CN;q=bad, en-GB;q=0.1 ": "en",
	} {
		if got := acceptLang(in); got != want {
			t.Errorf("acceptLang(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConsoleLogin(t *testing.T) {
	e := newAuthEnv(t)
	ctx := context.Background()
	if err := EnsureUser(ctx, e.pool, "mei", "Mei", audit.RoleOps, "zh-CN", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	c := noFollow(t)

	// Logged out: pages redirect to the login page, the API answers 401.
	r := do(t, c, "GET", e.ts.URL+"/me?tab=1", nil)
	if r.code != http.StatusSeeOther || r.location != "/login?next="+url.QueryEscape("/me?tab=1") {
		t.Fatalf("logged-out GET /me: %d to %q", r.code, r.location)
	}
	if r := do(t, c, "GET", e.ts.URL+"/api/v1/status", nil); r.code != http.StatusUnauthorized {
		t.Fatalf("API without a token: %d, want 401", r.code)
	}

	// The login page speaks the browser's language.
	r = do(t, c, "GET", e.ts.URL+"/login?next=/me", nil, "Accept-Language", "zh-CN,zh;q=0.9")
	if r.code != 200 || !strings.Contains(r.body, `<h1>登录</h1>`) || !strings.Contains(r.body, `name="next" value="/me"`) {
		t.Fatalf("login page in Chinese: %d\n%s", r.code, r.body)
	}
	r = do(t, c, "GET", e.ts.URL+"/login?next=//evil.com", nil)
	if !strings.Contains(r.body, `<h1>Log in</h1>`) || !strings.Contains(r.body, `name="next" value="/"`) {
		t.Fatalf("login page in English with next=//evil.com:\n%s", r.body)
	}

	// Wrong password, unknown user: 401, the same message, logged.
	for _, who := range []string{"mei", "nobody"} {
		r = e.login(t, c, who, "wrong password!", "/me")
		if r.code != http.StatusUnauthorized || !strings.Contains(r.body, `id="login-error"`) || !strings.Contains(r.body, "Wrong username or password.") {
			t.Fatalf("bad login as %s: %d\n%s", who, r.code, r.body)
		}
		if n := e.auditCount(t, "console.login_failed", who); n != 1 {
			t.Errorf("console.login_failed rows for %s = %d, want 1", who, n)
		}
	}
	var leaked int
	e.pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE details::text LIKE '%wrong password!%'`).Scan(&leaked)
	if leaked != 0 {
		t.Fatal("a password reached audit_log")
	}

	// Right password (username in any case): 303 to next, with a session cookie.
	r = e.login(t, c, " MEI ", "correct horse battery", "/me")
	if r.code != http.StatusSeeOther || r.location != "/me" {
		t.Fatalf("login: %d to %q", r.code, r.location)
	}
	if n := e.auditCount(t, "console.login", "mei"); n != 1 {
		t.Errorf("console.login rows = %d, want 1", n)
	}
	var failures int
	e.pool.QueryRow(ctx, `SELECT count(*) FROM login_failures WHERE username = 'mei'`).Scan(&failures)
	if failures != 0 {
		t.Errorf("failures after a good login = %d, want 0", failures)
	}
	u, _ := url.Parse(e.ts.URL)
	var cookie *http.Cookie
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "huifang_session" {
			cookie = ck
		}
	}
	if cookie == nil || len(cookie.Value) != 43 {
		t.Fatalf("session cookie: %+v", cookie)
	}
	var stored int
	e.pool.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE id_sha256 = $1`, sessionHash(cookie.Value)).Scan(&stored)
	var plain int
	e.pool.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE encode(id_sha256, 'escape') LIKE '%' || $1 || '%'`, cookie.Value).Scan(&plain)
	if stored != 1 || plain != 0 {
		t.Fatalf("sessions by hash %d (want 1), by plain value %d (want 0)", stored, plain)
	}

	// The page in the user's language.
	r = do(t, c, "GET", e.ts.URL+"/me", nil, "Accept-Language", "en")
	if r.code != 200 || !strings.Contains(r.body, "<h1>我的设置</h1>") || !strings.Contains(r.body, `Mei · ops`) {
		t.Fatalf("/me: %d\n%s", r.code, r.body)
	}

	// Open redirect refused: next=//evil.com goes home.
	c2 := noFollow(t)
	if r := e.login(t, c2, "mei", "correct horse battery", "//evil.com"); r.code != http.StatusSeeOther || r.location != "/" {
		t.Fatalf("login with next=//evil.com: %d to %q, want 303 to /", r.code, r.location)
	}

	// Logout needs the CSRF token; then the old cookie is dead.
	if r := do(t, c, "POST", e.ts.URL+"/logout", url.Values{}); r.code != http.StatusForbidden {
		t.Fatalf("logout without csrf: %d", r.code)
	}
	csrf := csrfOf(t, c, e.ts, "/me")
	r = do(t, c, "POST", e.ts.URL+"/logout", url.Values{"csrf": {csrf}})
	if r.code != http.StatusSeeOther || r.location != "/login" {
		t.Fatalf("logout: %d to %q", r.code, r.location)
	}
	old := noFollow(t)
	old.Jar.SetCookies(u, []*http.Cookie{{Name: "huifang_session", Value: cookie.Value}})
	if r := do(t, old, "GET", e.ts.URL+"/me", nil); r.code != http.StatusSeeOther {
		t.Fatalf("old cookie after logout: %d, want 303", r.code)
	}
	if n := e.auditCount(t, "console.logout", "mei"); n != 1 {
		t.Errorf("console.logout rows = %d, want 1", n)
	}
}

func TestConsoleSessionExpiry(t *testing.T) {
	e := newAuthEnv(t)
	c := consoleLogin(t, e.ts, e.pool, "ivy", audit.RoleReadonly)
	nf := &http.Client{Jar: c.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func() int { return do(t, nf, "GET", e.ts.URL+"/me", nil).code }

	// Active every 11 hours: still in for 7 days, and not a minute more.
	for range 15 {
		e.clock.Add(11 * time.Hour)
		if code := get(); code != 200 {
			t.Fatalf("at %s (active): %d, want 200", e.clock.Now(), code)
		}
	}
	e.clock.Add(2*time.Hour + 59*time.Minute) // 6 days 23 h 59 min after login
	if code := get(); code != 200 {
		t.Fatalf("just before the absolute limit: %d", code)
	}
	e.clock.Add(2 * time.Minute)
	if code := get(); code != http.StatusSeeOther {
		t.Fatalf("after 7 days: %d, want 303", code)
	}

	// Idle timeout.
	c = consoleLogin(t, e.ts, e.pool, "ivy", audit.RoleReadonly)
	nf.Jar = c.Jar
	e.clock.Add(12*time.Hour - time.Minute)
	if code := get(); code != 200 {
		t.Fatalf("idle 11:59: %d, want 200", code)
	}
	e.clock.Add(12 * time.Hour)
	if code := get(); code != http.StatusSeeOther {
		t.Fatalf("idle 12:00: %d, want 303", code)
	}

	// last_seen_at is written at most once a minute.
	c = consoleLogin(t, e.ts, e.pool, "ivy", audit.RoleReadonly)
	nf.Jar = c.Jar
	seen := func() time.Time {
		var at time.Time
		e.pool.QueryRow(context.Background(), `SELECT max(last_seen_at) FROM sessions`).Scan(&at)
		return at.UTC()
	}
	start := e.clock.Now()
	e.clock.Add(30 * time.Second)
	get()
	if got := seen(); !got.Equal(start) {
		t.Errorf("last_seen_at after 30 s = %s, want %s", got, start)
	}
	e.clock.Add(31 * time.Second)
	get()
	if got := seen(); !got.Equal(e.clock.Now()) {
		t.Errorf("last_seen_at after 61 s = %s, want %s", got, e.clock.Now())
	}

	// A disabled user's session stops at once, and they cannot log in.
	if err := e.s.users().SetDisabled(context.Background(), "test", "ivy", true); err != nil {
		t.Fatal(err)
	}
	if code := get(); code != http.StatusSeeOther {
		t.Fatalf("disabled user's session: %d, want 303", code)
	}
	if r := e.login(t, noFollow(t), "ivy", testPassword, "/"); r.code != http.StatusUnauthorized {
		t.Fatalf("disabled user's login: %d, want 401", r.code)
	}
}

func TestConsoleCSRF(t *testing.T) {
	e := newAuthEnv(t)
	c := consoleLogin(t, e.ts, e.pool, "mei", audit.RoleOps)
	nf := &http.Client{Jar: c.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	csrf := csrfOf(t, c, e.ts, "/me")
	lang := func() string {
		var l string
		e.pool.QueryRow(context.Background(), `SELECT lang FROM users WHERE username = 'mei'`).Scan(&l)
		return l
	}
	for _, tc := range []struct {
		name string
		form url.Values
		hdr  []string
		code int
	}{
		{"no token", url.Values{"lang": {"zh-CN"}}, nil, 403},
		{"wrong token", url.Values{"lang": {"zh-CN"}, "csrf": {csrf + "x"}}, nil, 403},
		{"cross-site fetch", url.Values{"lang": {"zh-CN"}, "csrf": {csrf}}, []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"foreign origin", url.Values{"lang": {"zh-CN"}, "csrf": {csrf}}, []string{"Origin", "https://evil.example"}, 403},
	} {
		r := do(t, nf, "POST", e.ts.URL+"/me/lang", tc.form, tc.hdr...)
		if r.code != tc.code || !strings.Contains(r.body, `id="refused"`) {
			t.Errorf("%s: %d, want %d\n%.300s", tc.name, r.code, tc.code, r.body)
		}
		if l := lang(); l != "en" {
			t.Fatalf("%s: language changed to %s", tc.name, l)
		}
	}
	// The header works for scripts; the form field for forms.
	if r := do(t, nf, "POST", e.ts.URL+"/me/lang", url.Values{"lang": {"zh-CN"}}, "X-CSRF-Token", csrf, "Sec-Fetch-Site", "same-origin"); r.code != 303 || lang() != "zh-CN" {
		t.Fatalf("with X-CSRF-Token: %d, lang %s", r.code, lang())
	}
	if r := do(t, nf, "POST", e.ts.URL+"/me/lang", url.Values{"lang": {"en"}, "csrf": {csrf}}); r.code != 303 || lang() != "en" {
		t.Fatalf("with csrf field: %d, lang %s", r.code, lang())
	}
	// Login CSRF: a cross-site POST to /login is refused before any check.
	r := do(t, noFollow(t), "POST", e.ts.URL+"/login", url.Values{"username": {"mei"}, "password": {testPassword}}, "Sec-Fetch-Site", "cross-site")
	if r.code != 403 || !strings.Contains(r.body, "Cross-origin requests are not allowed.") {
		t.Fatalf("cross-site login: %d\n%.300s", r.code, r.body)
	}
}

func TestConsoleLoginThrottle(t *testing.T) {
	e := newAuthEnv(t)
	if err := EnsureUser(context.Background(), e.pool, "mei", "Mei", audit.RoleOps, "en", testPassword); err != nil {
		t.Fatal(err)
	}
	c := noFollow(t)
	for i := 1; i <= 5; i++ {
		if r := e.login(t, c, "mei", "not the password", "/"); r.code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i, r.code)
		}
		e.clock.Add(time.Minute)
	}
	// The 6th attempt is refused even with the right password; the
	// refusal lifts 15 minutes after the first of the five failures.
	r := e.login(t, c, "mei", testPassword, "/")
	if r.code != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many failed logins.") || !strings.Contains(r.body, `<time id="retry-at">2026-03-02 09:15:00</time>`) {
		t.Fatalf("6th attempt: %d\n%s", r.code, r.body)
	}
	if n := e.auditCount(t, "console.login_throttled", "mei"); n != 1 {
		t.Errorf("console.login_throttled rows = %d, want 1", n)
	}
	e.clock.Add(9*time.Minute + 59*time.Second) // 09:14:59
	if r := e.login(t, c, "mei", testPassword, "/"); r.code != http.StatusTooManyRequests {
		t.Fatalf("at 09:14:59: %d, want 429", r.code)
	}
	e.clock.Add(2 * time.Second)
	if r := e.login(t, c, "mei", testPassword, "/"); r.code != http.StatusSeeOther {
		t.Fatalf("after 15 minutes: %d, want 303\n%s", r.code, r.body)
	}

	// 20 failures from one address, across usernames, close it for all.
	for i := range 20 {
		e.login(t, c, "user"+string(rune('a'+i)), "whatever12", "/")
	}
	if r := e.login(t, c, "mei", testPassword, "/"); r.code != http.StatusTooManyRequests || !strings.Contains(r.body, "from your address") {
		t.Fatalf("after 20 failures from one address: %d", r.code)
	}
}

// Behind a trusted load balancer the address limit counts the client's
// address from X-Forwarded-For, not the balancer's; from any other peer the
// header is ignored, and so are the entries a client wrote itself.
func TestConsoleLoginThrottleBehindProxy(t *testing.T) {
	for _, trust := range []bool{true, false} {
		e := newAuthEnv(t)
		if trust {
			proxies, err := ParseTrustedProxies("10.0.0.0/8, 127.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			e.s.TrustedProxies = proxies
		}
		if err := EnsureUser(context.Background(), e.pool, "mei", "Mei", audit.RoleOps, "en", testPassword); err != nil {
			t.Fatal(err)
		}
		c := noFollow(t)
		login := func(user, pw, forwarded string) result {
			return do(t, c, "POST", e.ts.URL+"/login", url.Values{"username": {user}, "password": {pw}}, "X-Forwarded-For", forwarded)
		}
		// 20 failures from one client, across usernames, through two
		// balancers (10.0.0.5 in front of the one at 127.0.0.1).
		for i := range 20 {
			login("user"+string(rune('a'+i)), "whatever12", "198.51.100.7, 10.0.0.5")
		}
		var ips []string
		rows, err := e.pool.Query(context.Background(), `SELECT DISTINCT ip FROM login_failures ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var ip string
			if err := rows.Scan(&ip); err != nil {
				t.Fatal(err)
			}
			ips = append(ips, ip)
		}
		rows.Close()
		other := login("mei", testPassword, "198.51.100.8").code
		// A client at .7 writing an address of its own in front: the
		// balancer appends .7, and .7 is what counts.
		spoofed := login("mei", testPassword, "198.51.100.9, 198.51.100.7").code
		if trust {
			if !slices.Equal(ips, []string{"198.51.100.7"}) || other != http.StatusSeeOther || spoofed != http.StatusTooManyRequests {
				t.Errorf("trusted proxy: failures recorded from %v; another client %d (want 303), spoofed header %d (want 429)", ips, other, spoofed)
			}
		} else if !slices.Equal(ips, []string{"127.0.0.1"}) || other != http.StatusTooManyRequests {
			t.Errorf("no trusted proxy: failures recorded from %v (want the peer, 127.0.0.1); another forwarded address %d (want 429)", ips, other)
		}
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies(" 10.1.2.3/8 ,192.0.2.7,, ::ffff:192.0.2.8, fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.0.2.7/32", "192.0.2.8/32", "fd00::/8"}
	var strs []string
	for _, p := range got {
		strs = append(strs, p.String())
	}
	if !slices.Equal(strs, want) {
		t.Errorf("parsed %v, want %v", strs, want)
	}
	if _, err := ParseTrustedProxies("10.0.0.0/8, proxy.internal"); err == nil || err.Error() != `entry 2, "proxy.internal": not an IP address or CIDR prefix` {
		t.Errorf("a host name: %v", err)
	}
}

func TestConsoleSessionCookie(t *testing.T) {
	e := newAuthEnv(t)
	if err := EnsureUser(context.Background(), e.pool, "mei", "Mei", audit.RoleOps, "en", testPassword); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		proto  string
		secure bool
	}{{"", false}, {"https", true}} {
		req, _ := http.NewRequest("POST", e.ts.URL+"/login", strings.NewReader(url.Values{"username": {"mei"}, "password": {testPassword}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if tc.proto != "" {
			req.Header.Set("X-Forwarded-Proto", tc.proto)
		}
		resp, err := noFollow(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cs := resp.Cookies()
		if resp.StatusCode != http.StatusSeeOther || len(cs) != 1 {
			t.Fatalf("proto %q: %d, cookies %v", tc.proto, resp.StatusCode, cs)
		}
		c := cs[0]
		if c.Name != "huifang_session" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure != tc.secure {
			t.Errorf("proto %q: cookie %s", tc.proto, c)
		}
	}
}

// With Postgres gone, a login that cannot be checked is a 503 that says
// so, not a trip to the login page or a 401 that blames the token.
func TestLoginCheckWithPostgresDown(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testdb.NewURL(t))
	if err != nil {
		t.Fatal(err)
	}
	st := audit.NewStore(pool)
	s := &Server{Pool: pool, WorkOrders: &workorders.Store{Pool: pool}, Audit: st, Log: slog.New(slog.DiscardHandler)}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	browser := consoleLogin(t, ts, pool, "mei", audit.RoleReviewer)
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	token, err := st.CreateToken(ctx, "test", "script", audit.RoleReadonly)
	if err != nil {
		t.Fatal(err)
	}
	if r := do(t, browser, "GET", ts.URL+"/queue", nil); r.code != http.StatusOK {
		t.Fatalf("before: console %d", r.code)
	}
	if r := do(t, noFollow(t), "GET", ts.URL+"/api/v1/audit/flags", nil, "Authorization", "Bearer "+token); r.code != http.StatusOK {
		t.Fatalf("before: API %d", r.code)
	}

	pool.Close()
	req, _ := http.NewRequest("GET", ts.URL+"/queue", nil)
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "5" ||
		!strings.Contains(string(body), "cannot reach its database") {
		t.Errorf("console with Postgres down: %d, Retry-After %q\n%.400s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if r := do(t, noFollow(t), "GET", ts.URL+"/api/v1/audit/flags", nil, "Authorization", "Bearer "+token); r.code != http.StatusServiceUnavailable ||
		!strings.Contains(r.body, "the token could not be checked") {
		t.Errorf("API with Postgres down: %d %s", r.code, r.body)
	}
	// What needs no database is answered as before.
	if r := do(t, noFollow(t), "GET", ts.URL+"/api/v1/audit/flags", nil); r.code != http.StatusUnauthorized {
		t.Errorf("API without a token: %d, want 401", r.code)
	}
	if r := do(t, noFollow(t), "GET", ts.URL+"/queue", nil); r.code != http.StatusSeeOther {
		t.Errorf("console without a cookie: %d, want 303 to the login page", r.code)
	}
}
