package web

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Logging in and out, the user's own settings (/me), and the guards every
// page shares: CSRF tokens, Go's cross-origin protection and the login
// throttle.

// Login throttling: after loginMaxUser failures for one username, or
// loginMaxIP from one address, within loginWindow, further attempts are
// refused without looking at the password until the oldest of them ages out.
const (
	loginWindow  = 15 * time.Minute
	loginMaxUser = 5
	loginMaxIP   = 20
)

// crossOrigin refuses state-changing requests that browsers mark as coming
// from another origin (Sec-Fetch-Site, or Origin against Host).
var crossOrigin = http.NewCrossOriginProtection()

func init() {
	addMessages("en", map[string]string{
		"login.title":           "Log in",
		"login.username":        "Username",
		"login.password":        "Password",
		"login.submit":          "Log in",
		"login.bad":             "Wrong username or password.",
		"login.throttled":       "Too many failed logins. Try again after",
		"login.missing":         "Enter your username and password.",
		"csrf.title":            "Request refused",
		"csrf.bad":              "The form was stale or did not come from this console. Go back, reload the page and try again.",
		"csrf.crossorigin":      "Cross-origin requests are not allowed.",
		"me.title":              "My settings",
		"me.lang":               "Language",
		"me.save":               "Save",
		"me.password":           "Change password",
		"me.current":            "Current password",
		"me.new":                "New password",
		"me.confirm":            "New password again",
		"me.change":             "Change password",
		"me.saved":              "Saved.",
		"me.pwchanged":          "Password changed. Your other sessions have ended.",
		"me.badcurrent":         "The current password is wrong.",
		"me.mismatch":           "The two new passwords differ.",
		"me.fielderr":           "%s: %s",
		"lang.en":               "English",
		"lang.zh-CN":            "简体中文",
		"field.password":        "at least 10 characters",
		"nav.me":                "My settings",
		"login.lang":            "Language",
		"error.internal":        "Something went wrong on our side. Try again.",
		"unavailable.title":     "Try again in a moment",
		"user.err.username":     "1–63 lowercase letters, digits, _ . @ or -, starting with a letter or digit",
		"user.err.display_name": "at most 100 characters",
		"user.err.role":         "%q is not a role: admin, ops, reviewer, readonly",
		"user.err.lang":         "%q is not a language: en, zh-CN",
		"user.err.phone":        "an E.164 number such as +8613800138000",
		"user.err.pwshort":      "at least %d characters",
		"user.err.pwlong":       "at most %d bytes",
		"user.err.taken":        "%q is taken",
		"unavailable.text":      "Huifang cannot reach its database just now, so it cannot check your login. Try again in a moment.",
		"login.throttledIP":     "Too many failed logins from your address. Try again after",
	})
	addMessages("zh-CN", map[string]string{
		"login.title":           "登录",
		"login.username":        "用户名",
		"login.password":        "密码",
		"login.submit":          "登录",
		"login.bad":             "用户名或密码错误。",
		"login.throttled":       "登录失败次数过多，请在此时间之后再试：",
		"login.missing":         "请输入用户名和密码。",
		"csrf.title":            "请求被拒绝",
		"csrf.bad":              "表单已过期或并非来自本控制台。请返回、刷新页面后重试。",
		"csrf.crossorigin":      "不允许跨站请求。",
		"me.title":              "我的设置",
		"me.lang":               "语言",
		"me.save":               "保存",
		"me.password":           "修改密码",
		"me.current":            "当前密码",
		"me.new":                "新密码",
		"me.confirm":            "再次输入新密码",
		"me.change":             "修改密码",
		"me.saved":              "已保存。",
		"me.pwchanged":          "密码已修改，您的其他会话已结束。",
		"me.badcurrent":         "当前密码错误。",
		"me.mismatch":           "两次输入的新密码不一致。",
		"me.fielderr":           "%s：%s",
		"lang.en":               "English",
		"lang.zh-CN":            "简体中文",
		"field.password":        "至少 10 个字符",
		"nav.me":                "我的设置",
		"login.lang":            "语言",
		"error.internal":        "服务器出错，请重试。",
		"unavailable.title":     "请稍后再试",
		"user.err.username":     "1–63 个小写字母、数字或 _ . @ -，以字母或数字开头",
		"user.err.display_name": "最多 100 个字符",
		"user.err.role":         "%q 不是角色：admin、ops、reviewer、readonly",
		"user.err.lang":         "%q 不是界面语言：en、zh-CN",
		"user.err.phone":        "E.164 格式的号码，例如 +8613800138000",
		"user.err.pwshort":      "至少 %d 个字符",
		"user.err.pwlong":       "最多 %d 字节",
		"user.err.taken":        "用户名 %q 已被使用",
		"unavailable.text":      "系统暂时无法连接数据库，无法核对您的登录。请稍后再试。",
		"login.throttledIP":     "您的地址登录失败次数过多，请在此时间之后再试：",
	})
}

// authPages registers the login and logout routes and the user's own
// settings page.
func (s *Server) authPages(handle func(pattern string, h http.HandlerFunc)) {
	handle("GET /login", s.loginPage)
	handle("POST /login", s.loginPost)
	handle("POST /logout", s.page(pagesAny, s.logout))
	handle("GET /me", s.page(pagesAny, s.mePage))
	handle("POST /me/lang", s.page(pagesAny, s.meLang))
	handle("POST /me/password", s.page(pagesAny, s.mePassword))
}

// changesState reports whether a method may change state, so needs a CSRF
// token.
func changesState(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// csrfOK reports whether a request carries the session's CSRF token, in
// the header X-CSRF-Token or the form field csrf.
func csrfOK(r *http.Request, u *consoleUser) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	return got != "" && u.CSRF != "" && subtle.ConstantTimeCompare([]byte(got), []byte(u.CSRF)) == 1
}

// refuse answers 403 with the message of key (a CSRF or cross-origin
// refusal).
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, key string) {
	lang := pageLang(r)
	s.renderLang(w, r, http.StatusForbidden, "refused", lang, translate(lang, "csrf.title"), "", key)
}

// pageLang is the language of a page: the user's, or else the browser's.
func pageLang(r *http.Request) string {
	if u := userOf(r); u != nil && u.Lang != "" {
		return u.Lang
	}
	return acceptLang(r.Header.Get("Accept-Language"))
}

// acceptLang picks en or zh-CN from an Accept-Language header: the
// preferred of the two by q value, English when neither is named.
func acceptLang(h string) string {
	type pref struct {
		lang string
		q    float64
		i    int
	}
	var prefs []pref
	for i, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		var lang string
		switch {
		case tag == "zh" || strings.HasPrefix(tag, "zh-"):
			lang = "zh-CN"
		case tag == "en" || strings.HasPrefix(tag, "en-"):
			lang = "en"
		default:
			continue
		}
		if q > 0 {
			prefs = append(prefs, pref{lang, q, i})
		}
	}
	if len(prefs) == 0 {
		return "en"
	}
	sort.SliceStable(prefs, func(a, b int) bool { return prefs[a].q > prefs[b].q })
	return prefs[0].lang
}

// renderLang renders a page in a given language, with or without a user
// (the login page has none).
func (s *Server) renderLang(w http.ResponseWriter, r *http.Request, code int, name, lang, title, nav string, data any) {
	ts, err := s.templates()
	t := ts[name]
	if err != nil || t == nil {
		s.Log.Error("console: template", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	pd := pageData{User: userOf(r), Lang: lang, Title: title, Nav: nav, Now: s.now(), Data: data}
	var b strings.Builder
	if err := t.Execute(&b, pd); err != nil {
		s.Log.Error("console: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write([]byte(b.String()))
}

// safeNext returns where to go after login: next if it is a path on this
// site ("/…" but not "//…" or "/\…", which browsers read as another host),
// else "/".
func safeNext(next string) string {
	if next == "" || next[0] != '/' || len(next) > 2000 {
		return "/"
	}
	if len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return "/"
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}

// loginData is what the login page shows.
type loginData struct {
	Next     string
	Username string
	Error    string // message key
	RetryAt  string // when the throttle lifts, if Error is a throttle
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if _, ok, _ := s.sessionUser(r); ok {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	lang := acceptLang(r.Header.Get("Accept-Language"))
	s.renderLang(w, r, http.StatusOK, "login", lang, translate(lang, "login.title"), "", loginData{Next: next})
}

// loginPost checks a login: throttle first, then the password. Failures
// and successes go to audit_log; the password never goes anywhere.
func (s *Server) loginPost(w http.ResponseWriter, r *http.Request) {
	lang := acceptLang(r.Header.Get("Accept-Language"))
	if err := crossOrigin.Check(r); err != nil {
		s.refuse(w, r, "csrf.crossorigin")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	username := NormalizeUsername(r.PostFormValue("username"))
	password := r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	if utf8.RuneCountInString(username) > 64 {
		username = string([]rune(username)[:64])
	}
	data := loginData{Next: next, Username: username}
	show := func(code int, key string) {
		data.Error = key
		s.renderLang(w, r, code, "login", lang, translate(lang, "login.title"), "", data)
	}
	if username == "" || password == "" {
		show(http.StatusBadRequest, "login.missing")
		return
	}
	ctx := r.Context()
	ip := s.clientIP(r)
	now := s.now()

	retry, key, err := s.loginThrottle(r, username, ip, now)
	if err != nil {
		s.Log.Error("console: login throttle", "err", err)
		show(http.StatusInternalServerError, "error.internal")
		return
	}
	if key != "" {
		if err := writeAudit(ctx, s.Pool, now, "anonymous", "console.login_throttled", username, map[string]any{"ip": ip}); err != nil {
			s.Log.Error("console: audit", "err", err)
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(retry.Sub(now).Seconds())+1))
		data.RetryAt = retry.Local().Format("2006-01-02 15:04:05")
		show(http.StatusTooManyRequests, key)
		return
	}

	var id int64
	var hash string
	var disabled bool
	err = s.Pool.QueryRow(ctx, `SELECT id, password_hash, disabled FROM users WHERE username = $1`, username).Scan(&id, &hash, &disabled)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		s.Log.Error("console: login", "err", err)
		show(http.StatusInternalServerError, "error.internal")
		return
	}
	reason := ""
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		VerifyPassword(dummyHash(), password) // as slow as a real check
		reason = "unknown user"
	case !VerifyPassword(hash, password):
		reason = "wrong password"
	case disabled:
		reason = "disabled"
	}
	if reason != "" {
		if err := s.loginFailed(r, username, ip, now, reason); err != nil {
			s.Log.Error("console: login failure", "err", err)
		}
		show(http.StatusUnauthorized, "login.bad")
		return
	}
	if err := s.loginSucceeded(r, w, id, username, ip, now); err != nil {
		s.Log.Error("console: login", "err", err)
		show(http.StatusInternalServerError, "error.internal")
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// loginThrottle reports whether attempts for username or from ip are
// refused now, with the message key and when the refusal lifts: the
// limit-th most recent failure in the window, plus the window.
func (s *Server) loginThrottle(r *http.Request, username, ip string, now time.Time) (time.Time, string, error) {
	since := now.Add(-loginWindow)
	var byUser, byIP *time.Time
	err := s.Pool.QueryRow(r.Context(), `
SELECT (SELECT at FROM login_failures WHERE username = $1 AND at > $3 ORDER BY at DESC OFFSET $4 LIMIT 1),
       (SELECT at FROM login_failures WHERE ip = $2 AND at > $3 ORDER BY at DESC OFFSET $5 LIMIT 1)`,
		username, ip, since, loginMaxUser-1, loginMaxIP-1).Scan(&byUser, &byIP)
	if err != nil {
		return time.Time{}, "", err
	}
	var retry time.Time
	key := ""
	if byIP != nil {
		retry, key = byIP.Add(loginWindow), "login.throttledIP"
	}
	if byUser != nil && byUser.Add(loginWindow).After(retry) {
		retry, key = byUser.Add(loginWindow), "login.throttled"
	}
	return retry, key, nil
}

func (s *Server) loginFailed(r *http.Request, username, ip string, now time.Time, reason string) error {
	ctx := r.Context()
	tx, err := s.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	// Failures older than the window no longer count: drop this name's.
	if _, err := tx.Exec(ctx, `DELETE FROM login_failures WHERE username = $1 AND at <= $2`, username, now.Add(-loginWindow)); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO login_failures (username, ip, at) VALUES ($1, $2, $3)`, username, ip, now); err != nil {
		return err
	}
	if err := writeAudit(ctx, tx, now, "anonymous", "console.login_failed", username, map[string]any{"ip": ip, "reason": reason}); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func (s *Server) loginSucceeded(r *http.Request, w http.ResponseWriter, id int64, username, ip string, now time.Time) error {
	ctx := r.Context()
	if _, err := s.Pool.Exec(ctx, `DELETE FROM login_failures WHERE username = $1`, username); err != nil {
		return err
	}
	if err := writeAudit(ctx, s.Pool, now, "console:"+username, "console.login", username, map[string]any{"ip": ip}); err != nil {
		return err
	}
	return s.startSession(ctx, w, r, id)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	u := userOf(r)
	if err := s.endSession(w, r); err != nil {
		s.Log.Error("console: logout", "err", err)
	}
	if err := writeAudit(r.Context(), s.Pool, s.now(), "console:"+u.Username, "console.logout", u.Username, nil); err != nil {
		s.Log.Error("console: audit", "err", err)
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// meData is what the user's own settings page shows.
type meData struct {
	Langs   []string
	Flash   string // message key
	Error   string // message key, or a field error's text
	ErrText string
}

func (s *Server) users() *Users { return &Users{Pool: s.Pool, Now: s.Now} }

func (s *Server) mePage(w http.ResponseWriter, r *http.Request) {
	s.showMe(w, r, http.StatusOK, meData{Flash: r.URL.Query().Get("done")})
}

func (s *Server) showMe(w http.ResponseWriter, r *http.Request, code int, d meData) {
	u := userOf(r)
	d.Langs = Langs
	if d.Flash != "me.saved" && d.Flash != "me.pwchanged" {
		d.Flash = ""
	}
	s.render(w, r, code, "me", translate(u.Lang, "me.title"), "me", d)
}

func (s *Server) meLang(w http.ResponseWriter, r *http.Request) {
	u := userOf(r)
	if err := s.users().SetLang(r.Context(), "console:"+u.Username, u.Username, r.PostFormValue("lang")); err != nil {
		s.meFailed(w, r, err, "me.lang")
		return
	}
	http.Redirect(w, r, "/me?done=me.saved", http.StatusSeeOther)
}

func (s *Server) mePassword(w http.ResponseWriter, r *http.Request) {
	u := userOf(r)
	ctx := r.Context()
	var hash string
	if err := s.Pool.QueryRow(ctx, `SELECT password_hash FROM users WHERE id = $1`, u.ID).Scan(&hash); err != nil {
		s.Log.Error("console: password", "err", err)
		s.showMe(w, r, http.StatusInternalServerError, meData{Error: "error.internal"})
		return
	}
	if !VerifyPassword(hash, r.PostFormValue("current")) {
		s.showMe(w, r, http.StatusBadRequest, meData{Error: "me.badcurrent"})
		return
	}
	pw := r.PostFormValue("new")
	if pw != r.PostFormValue("confirm") {
		s.showMe(w, r, http.StatusBadRequest, meData{Error: "me.mismatch"})
		return
	}
	if err := s.users().SetPassword(ctx, "console:"+u.Username, u.Username, pw, sessionHashOf(r)); err != nil {
		s.meFailed(w, r, err, "me.new")
		return
	}
	http.Redirect(w, r, "/me?done=me.pwchanged", http.StatusSeeOther)
}

// meFailed shows My settings again after the user store refused a change:
// bad input as the field's label (the catalogue key label) and the message,
// in the user's language; anything else as an internal error, logged.
func (s *Server) meFailed(w http.ResponseWriter, r *http.Request, err error, label string) {
	u := userOf(r)
	var fe *FieldError
	if errors.As(err, &fe) {
		s.showMe(w, r, http.StatusBadRequest, meData{ErrText: fmt.Sprintf(translate(u.Lang, "me.fielderr"), translate(u.Lang, label), fe.Text(u.Lang))})
		return
	}
	s.Log.Error("console: my settings", "field", label, "err", err)
	s.showMe(w, r, http.StatusInternalServerError, meData{Error: "error.internal"})
}
