package web

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/huifang/huifang/audit"
)

// The console: server-rendered pages for ops and the callback team, served
// by the same binary as the API. Pages need a login (a session cookie); the
// API keeps its bearer tokens. Each page names the roles that may open it.
//
// Templates and assets are embedded. Pages work without JavaScript; the
// small script in static/console.js adds keyboard shortcuts and live
// updates (server-sent events) where the browser runs it.

//go:embed templates/*.html templates/partials/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pageRoles are the roles that may open pages of each kind.
var (
	pagesAny      = anyRole
	pagesOps      = opsRoles
	pagesReviewer = reviewerRoles
	pagesAdmin    = adminRoles
)

// consoleUser is who is logged in to the console.
type consoleUser struct {
	ID          int64
	Username    string
	DisplayName string
	Role        audit.Role
	Lang        string // "en" or "zh-CN"
	Phone       string // E.164, for click-to-call; "" when not set
	// CSRF is the session's anti-forgery token, put in every form.
	CSRF string
}

type consoleUserKey struct{}

// userOf returns the console user of a page request (set by page).
func userOf(r *http.Request) *consoleUser {
	u, _ := r.Context().Value(consoleUserKey{}).(*consoleUser)
	return u
}

// pageData is what every page template gets: the user, the language's
// messages, the page's own data and where it sits in the navigation.
type pageData struct {
	User  *consoleUser
	Lang  string
	Title string
	Nav   string // the navigation entry to highlight
	Now   time.Time
	Flash string
	Data  any
}

// templates parses the embedded templates once: the layout and one file per
// page, each defining "content".
func (s *Server) templates() (map[string]*template.Template, error) {
	s.tmplOnce.Do(func() {
		s.tmpl = map[string]*template.Template{}
		funcs := template.FuncMap{
			"t":       translate,
			"fmtTime": func(t time.Time, lang string) string { return t.Local().Format("2006-01-02 15:04") },
			"join":    strings.Join,
			"query":   url.QueryEscape,
			"hasRole": func(u *consoleUser, roles ...string) bool {
				return u != nil && slices.Contains(roles, string(u.Role))
			},
		}
		pages, err := fs.Glob(templateFS, "templates/*.html")
		if err != nil {
			s.tmplErr = err
			return
		}
		for _, p := range pages {
			name := strings.TrimSuffix(strings.TrimPrefix(p, "templates/"), ".html")
			if name == "layout" {
				continue
			}
			t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials/*.html", p)
			if err != nil {
				s.tmplErr = fmt.Errorf("template %s: %w", name, err)
				return
			}
			s.tmpl[name] = t
		}
	})
	return s.tmpl, s.tmplErr
}

// render writes a page: the layout around the page template name, in the
// user's language (renderLang, in console_auth.go, does the writing).
func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, name, title, nav string, data any) {
	lang := "en"
	if u := userOf(r); u != nil && u.Lang != "" {
		lang = u.Lang
	}
	s.renderLang(w, r, code, name, lang, title, nav, data)
}

// page guards a console page: a cross-origin state-changing request → 403;
// no session → redirect to the login page (coming back here after); a role
// not in roles → 403 page; a POST, PUT, PATCH or DELETE without the
// session's CSRF token (form field "csrf" or header X-CSRF-Token) → 403.
func (s *Server) page(roles []audit.Role, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := crossOrigin.Check(r); err != nil {
			s.refuse(w, r, "csrf.crossorigin")
			return
		}
		u, ok, err := s.sessionUser(r)
		if err != nil {
			s.unavailable(w, r)
			return
		}
		if !ok {
			next := r.URL.RequestURI()
			http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		r = r.WithContext(withConsoleUser(r.Context(), u))
		if !slices.Contains(roles, u.Role) {
			s.render(w, r, http.StatusForbidden, "forbidden", translate(u.Lang, "forbidden.title"), "", nil)
			return
		}
		if changesState(r.Method) && !csrfOK(r, u) {
			s.refuse(w, r, "csrf.bad")
			return
		}
		h(w, r)
	}
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// consoleRoutes registers the console's pages. Each area of the console
// registers its own.
func (s *Server) consoleRoutes(handle func(pattern string, h http.HandlerFunc)) {
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	handle("GET /static/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
	s.authPages(handle)
	s.dashboardPages(handle)
	s.campaignPages(handle)
	s.reviewPages(handle)
	s.recordingPages(handle)
	s.adminPages(handle)
}
