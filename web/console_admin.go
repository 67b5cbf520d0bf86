package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/huifang/huifang/audit"
)

// The admin pages: console users (/users) and the audit log viewer
// (/audit-log). Every change to a user is written to audit_log with the
// actor "console:" and the admin's username.

func init() {
	addMessages("en", map[string]string{
		"users.title":       "Users",
		"users.username":    "Username",
		"users.display":     "Display name",
		"users.role":        "Role",
		"users.lang":        "Language",
		"users.phone":       "Phone",
		"users.status":      "Status",
		"users.active":      "active",
		"users.disabled":    "disabled",
		"users.create":      "New user",
		"users.password":    "Initial password",
		"users.add":         "Create user",
		"users.edit":        "Edit",
		"users.save":        "Save",
		"users.disable":     "Disable",
		"users.enable":      "Enable",
		"users.reset":       "Reset password",
		"users.newpassword": "New password",
		"users.created":     "User created.",
		"users.saved":       "Saved.",
		"users.pwreset":     "Password reset; the user's sessions have ended.",
		"users.nowdisabled": "User disabled; their sessions have ended.",
		"users.nowenabled":  "User enabled.",
		"users.notfound":    "No such user.",
		"users.self":        "You cannot disable yourself.",
		"role.admin":        "admin",
		"role.ops":          "ops",
		"role.reviewer":     "reviewer",
		"role.readonly":     "read-only",
		"audit.title":       "Audit log",
		"audit.at":          "Time",
		"audit.actor":       "Actor",
		"audit.action":      "Action",
		"audit.subject":     "Subject",
		"audit.stype":       "Subject type",
		"audit.sid":         "Subject id",
		"audit.details":     "Details",
		"audit.from":        "From",
		"audit.to":          "To",
		"audit.filter":      "Filter",
		"audit.older":       "Older",
		"audit.newest":      "Newest",
		"audit.none":        "No entries.",
		"audit.badparam":    "Bad filter",
	})
	addMessages("zh-CN", map[string]string{
		"users.title":       "用户",
		"users.username":    "用户名",
		"users.display":     "显示名称",
		"users.role":        "角色",
		"users.lang":        "语言",
		"users.phone":       "电话",
		"users.status":      "状态",
		"users.active":      "启用",
		"users.disabled":    "已停用",
		"users.create":      "新建用户",
		"users.password":    "初始密码",
		"users.add":         "创建用户",
		"users.edit":        "编辑",
		"users.save":        "保存",
		"users.disable":     "停用",
		"users.enable":      "启用",
		"users.reset":       "重置密码",
		"users.newpassword": "新密码",
		"users.created":     "用户已创建。",
		"users.saved":       "已保存。",
		"users.pwreset":     "密码已重置，该用户的会话已结束。",
		"users.nowdisabled": "用户已停用，其会话已结束。",
		"users.nowenabled":  "用户已启用。",
		"users.notfound":    "没有此用户。",
		"users.self":        "不能停用自己。",
		"role.admin":        "管理员",
		"role.ops":          "运营",
		"role.reviewer":     "审核员",
		"role.readonly":     "只读",
		"audit.title":       "操作日志",
		"audit.at":          "时间",
		"audit.actor":       "操作人",
		"audit.action":      "操作",
		"audit.subject":     "对象",
		"audit.stype":       "对象类型",
		"audit.sid":         "对象编号",
		"audit.details":     "详情",
		"audit.from":        "起",
		"audit.to":          "止",
		"audit.filter":      "筛选",
		"audit.older":       "更早",
		"audit.newest":      "最新",
		"audit.none":        "没有记录。",
		"audit.badparam":    "筛选条件有误",
	})
}

// adminPages registers the users admin and the audit log viewer.
func (s *Server) adminPages(handle func(pattern string, h http.HandlerFunc)) {
	handle("GET /users", s.page(pagesAdmin, s.usersPage))
	handle("POST /users", s.page(pagesAdmin, s.usersCreate))
	handle("GET /users/{name}", s.page(pagesAdmin, s.userPage))
	handle("POST /users/{name}", s.page(pagesAdmin, s.userUpdate))
	handle("POST /users/{name}/{action}", s.page(pagesAdmin, s.userAction))
	handle("GET /audit-log", s.page(pagesAdmin, s.auditLogPage))
}

// usersData is what the users page shows: the list and the create form,
// with the form's values and errors by field when it was refused.
type usersData struct {
	Users  []User
	Roles  []audit.Role
	Langs  []string
	Form   map[string]string
	Errors map[string]string
	Flash  string // message key
	Error  string // message key
}

func actorName(r *http.Request) string { return "console:" + userOf(r).Username }

// flashKeys are the messages a redirect may ask a page to show.
var flashKeys = map[string]bool{"users.created": true, "users.saved": true, "users.pwreset": true,
	"users.nowdisabled": true, "users.nowenabled": true}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request) {
	d := usersData{Form: map[string]string{"lang": "en", "role": "reviewer"}}
	if k := r.URL.Query().Get("done"); flashKeys[k] {
		d.Flash = k
	}
	s.showUsers(w, r, http.StatusOK, d)
}

func (s *Server) showUsers(w http.ResponseWriter, r *http.Request, code int, d usersData) {
	list, err := s.users().List(r.Context())
	if err != nil {
		s.Log.Error("console: users", "err", err)
		code, d.Error = http.StatusInternalServerError, "error.internal"
	}
	d.Users, d.Roles, d.Langs = list, audit.Roles, Langs
	s.render(w, r, code, "users", translate(userOf(r).Lang, "users.title"), "users", d)
}

func formFields(r *http.Request) UserFields {
	return UserFields{
		DisplayName: r.PostFormValue("display_name"),
		Role:        audit.Role(r.PostFormValue("role")),
		Lang:        r.PostFormValue("lang"),
		Phone:       r.PostFormValue("phone"),
	}
}

// fieldErrors turns a user store error into messages by field, in lang, or
// reports that it is not bad input.
func fieldErrors(err error, lang string) (map[string]string, bool) {
	var fe *FieldError
	if errors.As(err, &fe) {
		return map[string]string{fe.Field: fe.Text(lang)}, true
	}
	return nil, false
}

func (s *Server) usersCreate(w http.ResponseWriter, r *http.Request) {
	form := map[string]string{}
	for _, k := range []string{"username", "display_name", "role", "lang", "phone"} {
		form[k] = r.PostFormValue(k)
	}
	_, err := s.users().Create(r.Context(), actorName(r), form["username"], formFields(r), r.PostFormValue("password"))
	if err != nil {
		if fe, ok := fieldErrors(err, userOf(r).Lang); ok {
			s.showUsers(w, r, http.StatusBadRequest, usersData{Form: form, Errors: fe})
			return
		}
		s.Log.Error("console: create user", "err", err)
		s.showUsers(w, r, http.StatusInternalServerError, usersData{Form: form, Error: "error.internal"})
		return
	}
	http.Redirect(w, r, "/users?done=users.created", http.StatusSeeOther)
}

// userData is what the edit page of one user shows.
type userData struct {
	User   User
	Roles  []audit.Role
	Langs  []string
	Form   map[string]string
	Errors map[string]string
	Flash  string
	Error  string
}

func (s *Server) userPage(w http.ResponseWriter, r *http.Request) {
	d := userData{}
	if k := r.URL.Query().Get("done"); flashKeys[k] {
		d.Flash = k
	}
	s.showUser(w, r, http.StatusOK, d)
}

func (s *Server) showUser(w http.ResponseWriter, r *http.Request, code int, d userData) {
	u, err := s.users().Get(r.Context(), r.PathValue("name"))
	if errors.Is(err, ErrUserNotFound) {
		s.render(w, r, http.StatusNotFound, "message", translate(userOf(r).Lang, "notfound.title"), "users", "users.notfound")
		return
	}
	if err != nil {
		s.Log.Error("console: user", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	d.User, d.Roles, d.Langs = u, audit.Roles, Langs
	if d.Form == nil {
		d.Form = map[string]string{"display_name": u.DisplayName, "role": string(u.Role), "lang": u.Lang, "phone": u.Phone}
	}
	s.render(w, r, code, "user_edit", translate(userOf(r).Lang, "users.edit")+" "+u.Username, "users", d)
}

func (s *Server) userUpdate(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	err := s.users().Update(r.Context(), actorName(r), name, formFields(r))
	if err != nil {
		form := map[string]string{}
		for _, k := range []string{"display_name", "role", "lang", "phone"} {
			form[k] = r.PostFormValue(k)
		}
		s.userFailed(w, r, err, userData{Form: form})
		return
	}
	http.Redirect(w, r, "/users/"+url.PathEscape(NormalizeUsername(name))+"?done=users.saved", http.StatusSeeOther)
}

// userFailed shows the edit page again with what went wrong.
func (s *Server) userFailed(w http.ResponseWriter, r *http.Request, err error, d userData) {
	if errors.Is(err, ErrUserNotFound) {
		s.render(w, r, http.StatusNotFound, "message", translate(userOf(r).Lang, "notfound.title"), "users", "users.notfound")
		return
	}
	if fe, ok := fieldErrors(err, userOf(r).Lang); ok {
		d.Errors = fe
		s.showUser(w, r, http.StatusBadRequest, d)
		return
	}
	s.Log.Error("console: user change", "err", err)
	d.Error = "error.internal"
	s.showUser(w, r, http.StatusInternalServerError, d)
}

// userAction disables, enables or resets the password of a user.
func (s *Server) userAction(w http.ResponseWriter, r *http.Request) {
	name := NormalizeUsername(r.PathValue("name"))
	us := s.users()
	var err error
	var done string
	switch r.PathValue("action") {
	case "disable":
		if name == userOf(r).Username {
			d := userData{Error: "users.self"}
			s.showUser(w, r, http.StatusBadRequest, d)
			return
		}
		err, done = us.SetDisabled(r.Context(), actorName(r), name, true), "users.nowdisabled"
	case "enable":
		err, done = us.SetDisabled(r.Context(), actorName(r), name, false), "users.nowenabled"
	case "password":
		var keep []byte
		if name == userOf(r).Username {
			keep = sessionHashOf(r)
		}
		err, done = us.SetPassword(r.Context(), actorName(r), name, r.PostFormValue("password"), keep), "users.pwreset"
	default:
		s.render(w, r, http.StatusNotFound, "message", translate(userOf(r).Lang, "notfound.title"), "users", "notfound.title")
		return
	}
	if err != nil {
		s.userFailed(w, r, err, userData{})
		return
	}
	http.Redirect(w, r, "/users/"+url.PathEscape(name)+"?done="+done, http.StatusSeeOther)
}

// auditPageSize is how many audit_log rows a page shows.
const auditPageSize = 50

// auditFilter is the audit log viewer's query.
type auditFilter struct {
	Actor, Action, SubjectType, SubjectID string
	From, To                              string // as typed: 2006-01-02 or 2006-01-02T15:04
	// Before is the keyset cursor: rows strictly older than (at, id).
	BeforeAt time.Time
	BeforeID int64
}

// auditEntry is one audit_log row as the viewer shows it.
type auditEntry struct {
	ID          int64
	At          time.Time
	Actor       string
	Action      string
	SubjectType string
	SubjectID   string
	Details     string // compact JSON
}

type auditData struct {
	Filter  auditFilter
	Entries []auditEntry
	// Older links to the next (older) page, "" on the last; Newest to the
	// first page of the same filter.
	Older, Newest template.URL
	IsFirst       bool
	Error         string
}

// parseAuditTime reads a from/to filter: a date (the whole day, in the
// server's zone) or a date and time as a datetime-local input sends it.
// For "to", a date means the end of that day.
func parseAuditTime(v string, end bool) (time.Time, error) {
	if t, err := time.ParseInLocation("2006-01-02T15:04", v, time.Local); err == nil {
		if end {
			t = t.Add(time.Minute)
		}
		return t, nil
	}
	t, err := time.ParseInLocation("2006-01-02", v, time.Local)
	if err != nil {
		return time.Time{}, errors.New("want a date (2026-03-02) or date and time (2026-03-02T15:04)")
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

// auditQuery builds the viewer's SQL: the filters, then keyset paging on
// (at, id) newest first, so every page is an index range scan of
// audit_log_at_idx, audit_log_subject_idx or audit_log_actor_idx however
// long the log is.
func auditQuery(f auditFilter) (string, []any, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if f.Action != "" {
		// A prefix match that treats % and _ literally.
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(f.Action)
		add(`action LIKE ? || '%'`, esc)
	}
	if f.SubjectType != "" {
		add("subject_type = ?", f.SubjectType)
	}
	if f.SubjectID != "" {
		add("subject_id = ?", f.SubjectID)
	}
	if f.From != "" {
		t, err := parseAuditTime(f.From, false)
		if err != nil {
			return "", nil, fmt.Errorf("from: %w", err)
		}
		add("at >= ?", t)
	}
	if f.To != "" {
		t, err := parseAuditTime(f.To, true)
		if err != nil {
			return "", nil, fmt.Errorf("to: %w", err)
		}
		add("at < ?", t)
	}
	if !f.BeforeAt.IsZero() {
		args = append(args, f.BeforeAt, f.BeforeID)
		n := len(args)
		// The first condition lets the planner use the index on at; the
		// second breaks ties between rows of the same instant.
		where = append(where, fmt.Sprintf("at <= $%d AND (at, id) < ($%d, $%d)", n-1, n-1, n))
	}
	q := `SELECT id, at, actor, action, subject_type, subject_id, details::text FROM audit_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY at DESC, id DESC LIMIT %d", auditPageSize+1)
	return q, args, nil
}

func (s *Server) auditLogPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := auditFilter{
		Actor:       strings.TrimSpace(q.Get("actor")),
		Action:      strings.TrimSpace(q.Get("action")),
		SubjectType: strings.TrimSpace(q.Get("subject_type")),
		SubjectID:   strings.TrimSpace(q.Get("subject_id")),
		From:        strings.TrimSpace(q.Get("from")),
		To:          strings.TrimSpace(q.Get("to")),
	}
	d := auditData{Filter: f, IsFirst: true, Newest: template.URL("/audit-log?" + filterQuery(f).Encode())}
	lang := userOf(r).Lang
	show := func(code int) { s.render(w, r, code, "auditlog", translate(lang, "audit.title"), "auditlog", d) }
	if b := q.Get("before"); b != "" {
		at, id, ok := parseCursor(b)
		if !ok {
			d.Error = "before: not a page cursor"
			show(http.StatusBadRequest)
			return
		}
		f.BeforeAt, f.BeforeID, d.IsFirst = at, id, false
	}
	sql, args, err := auditQuery(f)
	if err != nil {
		d.Error = err.Error()
		show(http.StatusBadRequest)
		return
	}
	rows, err := s.Pool.Query(r.Context(), sql, args...)
	if err != nil {
		s.Log.Error("console: audit log", "err", err)
		d.Error = translate(lang, "error.internal")
		show(http.StatusInternalServerError)
		return
	}
	for rows.Next() {
		var e auditEntry
		if err := rows.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.SubjectType, &e.SubjectID, &e.Details); err != nil {
			rows.Close()
			s.Log.Error("console: audit log", "err", err)
			d.Error = translate(lang, "error.internal")
			show(http.StatusInternalServerError)
			return
		}
		var b bytes.Buffer
		if json.Compact(&b, []byte(e.Details)) == nil {
			e.Details = b.String()
		}
		d.Entries = append(d.Entries, e)
	}
	rows.Close()
	if len(d.Entries) > auditPageSize {
		d.Entries = d.Entries[:auditPageSize]
		last := d.Entries[auditPageSize-1]
		next := filterQuery(f)
		next.Set("before", formatCursor(last.At, last.ID))
		d.Older = template.URL("/audit-log?" + next.Encode())
	}
	show(http.StatusOK)
}

// filterQuery is the query string of a filter, without the cursor.
func filterQuery(f auditFilter) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"actor": f.Actor, "action": f.Action, "subject_type": f.SubjectType,
		"subject_id": f.SubjectID, "from": f.From, "to": f.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// A page cursor is the (at, id) of the last row shown: microseconds since
// the epoch and the id, "1767225600000000.42".
func formatCursor(at time.Time, id int64) string {
	return strconv.FormatInt(at.UnixMicro(), 10) + "." + strconv.FormatInt(id, 10)
}

func parseCursor(s string) (time.Time, int64, bool) {
	a, b, ok := strings.Cut(s, ".")
	if !ok {
		return time.Time{}, 0, false
	}
	us, err1 := strconv.ParseInt(a, 10, 64)
	id, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || id <= 0 {
		return time.Time{}, 0, false
	}
	return time.UnixMicro(us), id, true
}
