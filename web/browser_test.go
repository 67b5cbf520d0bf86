package web_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/huifang/huifang/audit"
	"github.com/huifang/huifang/surveys"
	"github.com/huifang/huifang/web"
)

// The browser tests drive Debian's headless Chromium through the Chrome
// DevTools Protocol (chromedp) against a real server on a real database.
// They run in .ci/run, which installs Chromium. HUIFANG_CHROMIUM names
// another binary; HUIFANG_SCREENSHOTS the directory the page screenshots
// go to (default: $TMPDIR/huifang-screenshots), kept as the run's artifacts.

// chromiumPath finds the browser, failing the test when there is none: a
// skipped browser test would pass CI without testing anything.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("HUIFANG_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium: install Debian's chromium package (.ci/services does) or set HUIFANG_CHROMIUM")
	return ""
}

// screenshotDir is where page screenshots are written.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("HUIFANG_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "huifang-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser is one headless Chromium tab on the server at base.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
}

// newBrowser starts Chromium with the flags this machine's closed network
// needs, and a fresh profile: no cookies, so no session.
func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	return &browser{t: t, ctx: ctx, base: base, dir: screenshotDir(t)}
}

// do runs actions, failing the test with what was being done.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("%s: %v (at %s)", what, err, b.location())
	}
}

// open navigates to a path of the server and waits for the page.
func (b *browser) open(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("body")))
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.shot("failed-text")
		b.t.Fatalf("text of %s: %v (at %s)", sel, err, b.location())
	}
	return s
}

func (b *browser) location() string {
	s, _ := chromedp.Run(b.ctx, chromedp.Location())
	return s
}

// exists reports whether the page has an element matching sel now.
func (b *browser) exists(sel string) bool {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool]("document.querySelector("+jsString(sel)+") !== null"))
	if err != nil {
		b.t.Fatalf("query %s: %v", sel, err)
	}
	return n
}

// fill sets a form field's value, replacing what is there.
func (b *browser) fill(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.SetValue(chromedp.CSS(sel), value)
}

// shot saves a full-page screenshot as NAME.png in the artifacts directory.
func (b *browser) shot(name string) string {
	buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	p := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	b.t.Logf("screenshot: %s", p)
	return p
}

// login signs in through the login form and waits for the page it leads to.
func (b *browser) login(username, password string) {
	b.t.Helper()
	b.open("/login")
	b.do("log in as "+username,
		b.fill("#username", username),
		b.fill("#password", password),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitNotPresent(chromedp.CSS("#login-form")),
	)
}

func (b *browser) logout() {
	b.t.Helper()
	b.do("log out", chromedp.Click(chromedp.CSS(`form.logout button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#login-form")))
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// noRedirectClient is an HTTP client that shows redirects instead of
// following them, with its own cookie jar.
func noRedirectClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// consoleWorld is a server for the browser tests: sample jobs with open
// flags (setupAudit's), the shipped surveys published, and console users
// with known passwords.
type consoleWorld struct {
	auditEnv
	passwords map[string]string
}

func newConsoleWorld(t *testing.T) consoleWorld {
	t.Helper()
	ctx := context.Background()
	e := setupAudit(t)
	defs, err := surveys.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range defs {
		if _, err := surveys.NewStore(e.pool).Publish(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	w := consoleWorld{auditEnv: e, passwords: map[string]string{}}
	for name, role := range map[string]audit.Role{"olga": audit.RoleOps, "ana": audit.RoleReviewer, "adam": audit.RoleAdmin} {
		pw := "pass-" + name + "-0123456789"
		if err := web.EnsureUser(ctx, e.pool, name, strings.ToUpper(name[:1])+name[1:], role, "en", pw); err != nil {
			t.Fatal(err)
		}
		w.passwords[name] = pw
	}
	return w
}

// The console end to end in a real browser: what the logged-out see, an ops
// user creating and activating a campaign through a validation error, and
// a reviewer working a flag from the queue to a decision. Screenshots of
// each page are kept.
func TestBrowserConsole(t *testing.T) {
	t.Parallel()
	w := newConsoleWorld(t)
	base := w.url

	t.Run("logged out", func(t *testing.T) {
		c := noRedirectClient()
		for _, path := range []string{"/", "/queue", "/campaigns", "/campaigns/new", "/providers", "/flags/1", "/users"} {
			resp, err := c.Get(base + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?next=") {
				t.Errorf("GET %s logged out: %d to %q, want 303 to /login?next=…", path, resp.StatusCode, loc)
			}
		}
		for _, path := range []string{"/api/v1/status", "/api/v1/audit/flags", "/api/v1/campaigns"} {
			resp, err := c.Get(base + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("GET %s logged out: %d, want 401", path, resp.StatusCode)
			}
		}
		b := newBrowser(t, base)
		b.open("/queue")
		if loc := b.location(); !strings.Contains(loc, "/login?next=%2Fqueue") {
			t.Errorf("the browser landed on %s, want the login page coming back to /queue", loc)
		}
		b.shot("login")
	})

	t.Run("ops creates and activates a campaign", func(t *testing.T) {
		b := newBrowser(t, base)
		b.login("olga", w.passwords["olga"])
		b.shot("dashboard")
		b.open("/campaigns/new")
		b.do("fill the form with a bad cron expression",
			b.fill("#f-name", "browser-repairs"),
			b.fill("#f-survey", "repair-parts-verification"),
			b.fill("#f-channel", "voice"),
			b.fill("#f-schedule", "*/61 * * *"),
			b.fill("#f-kinds", "repair"),
			b.fill("#f-from", "+15005550006"),
			chromedp.Click(chromedp.CSS("#save")),
			chromedp.WaitVisible(chromedp.CSS("#err-schedule")),
		)
		if msg := b.text("#err-schedule"); strings.TrimSpace(msg) == "" {
			t.Fatal("no error next to the schedule field")
		} else {
			t.Logf("error next to the schedule: %s", msg)
		}
		if b.exists("#err-name") && strings.TrimSpace(b.text("#err-name")) != "" {
			t.Errorf("an error next to the name, which is right: %q", b.text("#err-name"))
		}
		if v, _ := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS("#f-name"))); v != "browser-repairs" {
			t.Errorf("the form lost the name typed: %q", v)
		}
		b.shot("campaign-form-error")

		b.do("fix the schedule and preview the next runs",
			b.fill("#f-schedule", "0 9 * * *"),
			chromedp.Click(chromedp.CSS("#preview")),
			chromedp.WaitVisible(chromedp.CSS("#next-runs li")),
		)
		runs, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#next-runs li").length`))
		if err != nil || runs != 5 {
			t.Errorf("next runs listed: %d (%v), want 5", runs, err)
		}
		if b.exists("#err-schedule") && strings.TrimSpace(b.text("#err-schedule")) != "" {
			t.Errorf("the schedule still has an error: %q", b.text("#err-schedule"))
		}
		b.shot("campaign-next-runs")

		b.do("save the campaign", chromedp.Click(chromedp.CSS("#save")), chromedp.WaitVisible(chromedp.CSS("#action-activate")))
		if loc := b.location(); !strings.HasSuffix(loc, "/campaigns/browser-repairs") {
			t.Errorf("after saving the browser is at %s", loc)
		}
		b.do("activate it", chromedp.Click(chromedp.CSS("#action-activate")), chromedp.WaitVisible(chromedp.CSS("#action-pause")))
		if st := b.text("#state"); !strings.Contains(strings.ToLower(st), "active") {
			t.Errorf("state shown after activating: %q", st)
		}
		var state string
		if err := w.pool.QueryRow(context.Background(), `SELECT state FROM campaigns WHERE name = 'browser-repairs'`).Scan(&state); err != nil || state != "active" {
			t.Errorf("stored state %q (%v), want active", state, err)
		}
		b.shot("campaign")
		b.open("/providers")
		b.shot("providers")
		b.logout()
	})

	t.Run("every page, in both languages", func(t *testing.T) {
		b := newBrowser(t, base)
		b.login("adam", w.passwords["adam"])
		var code string
		if err := w.pool.QueryRow(context.Background(), `SELECT code FROM providers ORDER BY code LIMIT 1`).Scan(&code); err != nil {
			t.Fatal(err)
		}
		var job int64
		if err := w.pool.QueryRow(context.Background(), `SELECT min(id) FROM work_orders`).Scan(&job); err != nil {
			t.Fatal(err)
		}
		pages := []struct{ name, path, want string }{
			{"dashboard", "/", "main"},
			{"campaigns", "/campaigns", "main"},
			{"providers", "/providers", "main"},
			{"provider", "/providers/" + code, "main"},
			{"jobs", "/jobs", "main"},
			{"job", "/jobs/" + strconv.FormatInt(job, 10), "main"},
			{"surveys", "/surveys", "main"},
			{"survey-preview", "/surveys/repair-parts-verification/preview?lang=zh-CN&channel=sms&kind=repair", "main"},
			{"users", "/users", "main"},
			{"audit-log", "/audit-log", "main"},
			{"me", "/me", "main"},
		}
		for _, lang := range []string{"en", "zh-CN"} {
			if _, err := w.pool.Exec(context.Background(), `UPDATE users SET lang = $1 WHERE username = 'adam'`, lang); err != nil {
				t.Fatal(err)
			}
			for _, p := range pages {
				resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(base+p.path))
				if err != nil {
					t.Fatalf("%s: %v", p.path, err)
				}
				if resp.Status != http.StatusOK {
					t.Errorf("%s (%s): status %d", p.path, lang, resp.Status)
				}
				if got, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string]("document.documentElement.lang")); got != lang {
					t.Errorf("%s: page language %q, want %q", p.path, got, lang)
				}
				b.shot(p.name + "-" + lang)
			}
		}
	})

	t.Run("reviewer works a flag", func(t *testing.T) {
		b := newBrowser(t, base)
		b.login("ana", w.passwords["ana"])
		resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(base+"/campaigns/new"))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != http.StatusForbidden || !b.exists("#forbidden") || b.exists("#campaign-form") {
			t.Errorf("a reviewer opening the campaign editor: status %d, forbidden shown %v, form shown %v; want 403 and no form",
				resp.Status, b.exists("#forbidden"), b.exists("#campaign-form"))
		}
		b.shot("forbidden")

		b.open("/queue")
		b.shot("queue")
		b.do("claim the next flag", chromedp.Click(chromedp.CSS("#claim-next")), chromedp.WaitVisible(chromedp.CSS("#flag-summary")))
		loc := b.location()
		id := loc[strings.LastIndex(loc, "/")+1:]
		if !b.exists("#claim-lines") || !b.exists("#evidence") || !b.exists("#decide-form") {
			t.Errorf("the flag page lacks its evidence or the decision form (claim lines %v, evidence %v, form %v)",
				b.exists("#claim-lines"), b.exists("#evidence"), b.exists("#decide-form"))
		}
		var holder string
		if err := w.pool.QueryRow(context.Background(), `SELECT coalesce(assignee, '') FROM flags WHERE id = $1::bigint`, id).Scan(&holder); err != nil || holder != "ana" {
			t.Errorf("flag %s held by %q (%v), want ana", id, holder, err)
		}
		b.shot("flag")
		b.do("decide it",
			chromedp.Click(chromedp.CSS("#decision-cleared")),
			b.fill("#reason", "Customer confirmed on a call back that the part was replaced"),
			chromedp.Click(chromedp.CSS("#decide")),
			chromedp.WaitVisible(chromedp.CSS("#queue")),
		)
		if b.exists("#flag-" + id) {
			t.Errorf("flag %s is still in the queue after its decision", id)
		}
		var state, decision string
		if err := w.pool.QueryRow(context.Background(), `SELECT state, coalesce(decision, '') FROM flags WHERE id = $1::bigint`, id).Scan(&state, &decision); err != nil ||
			state != "decided" || decision != "cleared" {
			t.Errorf("flag %s stored as %s/%s (%v), want decided/cleared", id, state, decision, err)
		}
		b.shot("queue-after-decision")
	})
}
