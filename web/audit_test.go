package web_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/huifang/huifang/audit"
	"github.com/huifang/huifang/campaigns"
	"github.com/huifang/huifang/internal/testdb"
	"github.com/huifang/huifang/web"
	"github.com/huifang/huifang/workorders"
	"github.com/huifang/huifang/workorders/sample"
)

// auditEnv is a server with the review API on sample jobs, each with an
// open V5 flag, and the first job also with a V2 flag on a claim large
// enough to need a second sign-off; tok holds a token per person.
type auditEnv struct {
	env
	st   *audit.Store
	tok  map[string]string
	big  int64 // the V2 flag
	jobs int
}

// The people of these tests and their roles.
var auditPeople = map[string]audit.Role{
	"ana": audit.RoleReviewer, "ben": audit.RoleReviewer, "cai": audit.RoleReviewer,
	"olga": audit.RoleOps, "rita": audit.RoleReadonly, "root": audit.RoleAdmin,
}

func setupAudit(t testing.TB) auditEnv {
	t.Helper()
	ctx := context.Background()
	pool := testdb.New(t)
	ws := &workorders.Store{Pool: pool, Now: fixedNow}
	src, err := ws.EnsureSource(ctx, "sample", "file", workorders.Defaults{Region: "CN"})
	if err != nil {
		t.Fatal(err)
	}
	const jobs = 12
	if _, err := sample.Load(ctx, ws, src, sample.Config{Seed: 5, Jobs: jobs, Now: fixedNow(), Mix: map[string]float64{"CN": 1}}); err != nil {
		t.Fatal(err)
	}
	st := audit.NewStore(pool)
	st.Now = fixedNow
	e := auditEnv{st: st, tok: map[string]string{}, jobs: jobs}
	rows, err := pool.Query(ctx, `SELECT id, provider_id, currency FROM work_orders ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var fs []audit.Finding
	var id, prov int64
	var cur string
	if _, err := pgx.ForEachRow(rows, []any{&id, &prov, &cur}, func() error {
		if len(fs) == 0 {
			fs = append(fs, audit.Finding{WorkOrderID: id, ProviderID: prov, Rule: "V2", Summary: "=customer says the compressor was not replaced",
				Currency: cur, ClaimValue: 250000, Amount: 180000, Evidence: map[string]any{"phone": "+8613812345678"}})
		}
		fs = append(fs, audit.Finding{WorkOrderID: id, ProviderID: prov, Rule: "V5", Summary: fmt.Sprintf("not fixed on job %d", id),
			Currency: cur, ClaimValue: 12000, Amount: 3000})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { _, err := st.Raise(ctx, tx, fs); return err }); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT id FROM flags WHERE rule = 'V2'`).Scan(&e.big); err != nil {
		t.Fatal(err)
	}
	for name, role := range auditPeople {
		tk, err := st.CreateToken(ctx, "setup", name, role)
		if err != nil {
			t.Fatal(err)
		}
		e.tok[name] = tk
	}
	e.tok["admin"] = token
	s := &web.Server{
		Pool:       pool,
		WorkOrders: ws,
		Campaigns:  &campaigns.Store{Pool: pool, Now: fixedNow},
		Audit:      st,
		AdminToken: token,
		Log:        quietLog,
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	e.env = env{url: ts.URL, pool: pool}
	return e
}

// call sends a request as who ("" for no token) to an /api/v1 path.
func (e auditEnv) call(t *testing.T, who, method, path, body string) response {
	t.Helper()
	auth := ""
	if who != "" {
		auth = "Bearer " + e.tok[who]
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	return do(t, method, e.url+"/api/v1"+path, auth, rd)
}

// want fails unless the response has the status.
func want(t *testing.T, r response, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d; body %s", r.code, code, r.body)
	}
}

type flagView struct {
	ID            int64  `json:"id"`
	JobExternalID string `json:"job_external_id"`
	ProviderCode  string `json:"provider_code"`
	Rule          string `json:"rule"`
	State         string `json:"state"`
	Decision      string `json:"decision"`
	Assignee      string `json:"assignee"`
	DecidedBy     string `json:"decided_by"`
	SignoffBy     string `json:"signoff_by"`
	Amount        int64  `json:"amount"`
	Version       int    `json:"version"`
}

type flagList struct {
	Flags []flagView `json:"flags"`
	Page  struct {
		Total int    `json:"total"`
		Next  string `json:"next"`
	} `json:"page"`
	Error  string     `json:"error"`
	Errors []apiError `json:"errors"`
}

// Who may call what: 401 without a valid token, 403 with a role the route
// does not allow, and through otherwise (the refused calls change nothing).
func TestAuditAuth(t *testing.T) {
	t.Parallel()
	e := setupAudit(t)
	if err := e.st.RevokeToken(context.Background(), "root", "rita"); err != nil {
		t.Fatal(err)
	}
	revoked := e.tok["rita"]
	e.tok["rita"] = ""
	// A fresh readonly token for the table.
	tk, err := e.st.CreateToken(context.Background(), "root", "reader", audit.RoleReadonly)
	if err != nil {
		t.Fatal(err)
	}
	e.tok["reader"] = tk
	flag := fmt.Sprint(e.big)
	routes := []struct {
		method, path, body string
		allowed            []string // who gets through (others with a token: 403)
	}{
		{"GET", "/status", "", []string{"admin", "root", "olga", "ana", "reader"}},
		{"GET", "/campaigns", "", []string{"admin", "root", "olga", "ana", "reader"}},
		{"POST", "/campaigns", "{", []string{"admin", "root", "olga"}},
		{"PUT", "/campaigns/x", "{", []string{"admin", "root", "olga"}},
		{"POST", "/campaigns/x/pause", "", []string{"admin", "root", "olga"}},
		{"POST", "/work-orders", "{", []string{"admin", "root", "olga"}},
		{"GET", "/audit/flags", "", []string{"admin", "root", "olga", "ana", "reader"}},
		{"GET", "/audit/flags/" + flag, "", []string{"admin", "root", "olga", "ana", "reader"}},
		{"POST", "/audit/flags/999999/claim", "", []string{"admin", "root", "ana"}},
		{"POST", "/audit/flags/claim-next?rule=V99", "", []string{"admin", "root", "ana"}},
		{"POST", "/audit/flags/decide", "{", []string{"admin", "root", "ana"}},
		{"GET", "/audit/conflicts", "", []string{"admin", "root", "olga", "ana", "reader"}},
		{"POST", "/audit/conflicts", "{", []string{"admin", "root", "ana"}},
		{"DELETE", "/audit/conflicts", "", []string{"admin", "root"}},
		{"GET", "/audit/export/findings", "", []string{"admin", "root", "olga", "ana", "reader"}},
		{"GET", "/audit/scorecards", "", []string{"admin", "root", "olga", "ana", "reader"}},
		{"GET", "/audit/tokens", "", []string{"admin", "root"}},
		{"POST", "/audit/tokens", "{", []string{"admin", "root"}},
		{"DELETE", "/audit/tokens/nobody", "", []string{"admin", "root"}},
	}
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			for _, auth := range []string{"", "Bearer wrong", "Bearer hf_wrong", "Bearer " + revoked, "Basic " + token} {
				var body io.Reader
				if rt.body != "" {
					body = strings.NewReader(rt.body)
				}
				wantUnauthorised(t, do(t, rt.method, e.url+"/api/v1"+rt.path, auth, body))
			}
			for _, who := range []string{"admin", "root", "olga", "ana", "reader"} {
				r := e.call(t, who, rt.method, rt.path, rt.body)
				if slices.Contains(rt.allowed, who) {
					if r.code == http.StatusUnauthorized || r.code == http.StatusForbidden || r.code >= 500 {
						t.Errorf("%s: status %d, want through; body %s", who, r.code, r.body)
					}
					continue
				}
				if r.code != http.StatusForbidden {
					t.Errorf("%s: status %d, want 403; body %s", who, r.code, r.body)
					continue
				}
				if msg := decodeJSON[flagList](t, r).Error; !strings.Contains(msg, string(auditPeople[who])) && who != "reader" {
					t.Errorf("%s: 403 message %q does not name the role", who, msg)
				}
			}
		})
	}
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM flags WHERE state <> 'open'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d flags changed by the auth table (%v)", n, err)
	}
	// Tokens note their use.
	var used int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM api_tokens WHERE last_used_at IS NOT NULL`).Scan(&used); err != nil || used != 4 {
		t.Errorf("%d tokens with last_used_at (%v), want 4 (root, olga, ana, reader)", used, err)
	}
}

type packView struct {
	Flag        flagView        `json:"flag"`
	Evidence    json.RawMessage `json:"evidence"`
	FullNumbers bool            `json:"full_numbers"`
	Job         struct {
		ExternalID string `json:"external_id"`
		Phone      string `json:"phone"`
		Lines      []struct {
			PartCode string `json:"part_code"`
		} `json:"claim_lines"`
	} `json:"job"`
	Provider struct {
		Code string `json:"code"`
	} `json:"provider"`
}

// The whole review of one flag through the API: claim, the evidence (the full
// phone number for the holder only), a second reviewer refused, a conflicted
// one forbidden, the decision, and the flag gone from the open queue.
func TestAuditReviewFlow(t *testing.T) {
	t.Parallel()
	e := setupAudit(t)
	ctx := context.Background()
	open := func() flagList {
		r := e.call(t, "olga", "GET", "/audit/flags?state=open&count=true&limit=500", "")
		want(t, r, http.StatusOK)
		return decodeJSON[flagList](t, r)
	}
	before := open()
	if before.Page.Total != e.jobs+1 || len(before.Flags) != e.jobs+1 {
		t.Fatalf("open queue: %d flags, total %d, want %d", len(before.Flags), before.Page.Total, e.jobs+1)
	}

	r := e.call(t, "ana", "POST", "/audit/flags/claim-next?rule=V5", "")
	want(t, r, http.StatusOK)
	f := decodeJSON[flagView](t, r)
	if f.State != "claimed" || f.Assignee != "ana" || f.Rule != "V5" {
		t.Fatalf("claimed: %+v", f)
	}
	path := fmt.Sprintf("/audit/flags/%d", f.ID)
	var phone string
	if err := e.pool.QueryRow(ctx, `SELECT c.phone_e164 FROM customers c JOIN work_orders w ON w.customer_id = c.id WHERE w.external_id = $1`,
		f.JobExternalID).Scan(&phone); err != nil {
		t.Fatal(err)
	}
	masked := audit.MaskPhone(phone)
	if masked == phone || !strings.Contains(masked, "****") {
		t.Fatalf("mask of %s is %s", phone, masked)
	}
	for _, c := range []struct {
		who   string
		phone string
	}{{"ana", phone}, {"admin", phone}, {"root", phone}, {"ben", masked}, {"olga", masked}, {"rita", masked}} {
		r := e.call(t, c.who, "GET", path, "")
		want(t, r, http.StatusOK)
		p := decodeJSON[packView](t, r)
		if p.Job.Phone != c.phone || p.FullNumbers != (c.phone == phone) {
			t.Errorf("%s sees phone %q (full %v), want %q", c.who, p.Job.Phone, p.FullNumbers, c.phone)
		}
		if p.Job.ExternalID != f.JobExternalID || p.Provider.Code != f.ProviderCode || p.Flag.ID != f.ID {
			t.Errorf("%s: pack of the wrong flag: %+v", c.who, p.Flag)
		}
	}
	// Another reviewer cannot take or decide it.
	want(t, e.call(t, "ben", "POST", path+"/claim", ""), http.StatusConflict)
	want(t, e.call(t, "ben", "POST", path+"/decide", `{"decision":"cleared","reason":"fine"}`), http.StatusConflict)
	// A reviewer conflicted with the provider is forbidden.
	want(t, e.call(t, "root", "POST", "/audit/conflicts", fmt.Sprintf(`{"reviewer":"cai","provider":%q,"reason":"cousin"}`, f.ProviderCode)), http.StatusCreated)
	want(t, e.call(t, "ana", "POST", "/audit/conflicts", `{"reviewer":"cai","provider":"X"}`), http.StatusForbidden)
	want(t, e.call(t, "root", "POST", "/audit/conflicts", `{"reviewer":"cai","provider":"NO-SUCH"}`), http.StatusUnprocessableEntity)
	want(t, e.call(t, "ana", "POST", path+"/release", ""), http.StatusOK)
	want(t, e.call(t, "cai", "POST", path+"/claim", ""), http.StatusForbidden)
	want(t, e.call(t, "ana", "POST", path+"/claim", ""), http.StatusOK)
	want(t, e.call(t, "ana", "POST", path+"/renew", ""), http.StatusOK)

	// Bad decisions are refused with the place named.
	for _, c := range []struct {
		body    string
		code    int
		pointer string
	}{
		{`{"decision":"cleared"`, http.StatusBadRequest, ""},
		{`{"decision":"cleared","reason":5}`, http.StatusUnprocessableEntity, "/reason"},
		{`{"decision":"cleared","reason":"x","colour":"red"}`, http.StatusUnprocessableEntity, "/colour"},
		{`{"decision":"cleared"}`, http.StatusUnprocessableEntity, "/reason"},
		{`{"decision":"dismissed","reason":"x"}`, http.StatusUnprocessableEntity, "/decision"},
		{`{"decision":"confirmed","reason":"x","amount":"12.345"}`, http.StatusUnprocessableEntity, "/amount"},
		{`{"decision":"confirmed","reason":"x","amount":"-1"}`, http.StatusUnprocessableEntity, "/amount"},
		{`{"decision":"confirmed","reason":"x","version":1}`, http.StatusConflict, ""},
	} {
		r := e.call(t, "ana", "POST", path+"/decide", c.body)
		if r.code != c.code {
			t.Errorf("%s: status %d, want %d; %s", c.body, r.code, c.code, r.body)
			continue
		}
		if c.pointer != "" {
			errs := decodeJSON[flagList](t, r).Errors
			if len(errs) != 1 || errs[0].Pointer != c.pointer {
				t.Errorf("%s: errors %+v, want one at %s", c.body, errs, c.pointer)
			}
		}
	}
	r = e.call(t, "ana", "POST", path+"/decide", `{"decision":"confirmed","reason":"customer says still broken","note":"called twice","amount":"25.50"}`)
	want(t, r, http.StatusOK)
	if d := decodeJSON[flagView](t, r); d.State != "decided" || d.Decision != "confirmed" || d.DecidedBy != "ana" || d.Amount != 2550 {
		t.Fatalf("decided: %+v", d)
	}
	after := open()
	if after.Page.Total != e.jobs || slices.ContainsFunc(after.Flags, func(x flagView) bool { return x.ID == f.ID }) {
		t.Errorf("open queue after the decision: total %d, holds the flag: %v", after.Page.Total,
			slices.ContainsFunc(after.Flags, func(x flagView) bool { return x.ID == f.ID }))
	}
	// Once decided, the holder no longer sees the full number.
	if p := decodeJSON[packView](t, e.call(t, "ana", "GET", path, "")); p.Job.Phone != masked {
		t.Errorf("after deciding, ana sees %q", p.Job.Phone)
	}
	// Reopen needs a reason.
	want(t, e.call(t, "ben", "POST", path+"/reopen", `{}`), http.StatusUnprocessableEntity)
	want(t, e.call(t, "ben", "POST", path+"/reopen", `{"reason":"customer called back: fixed after all"}`), http.StatusOK)
	want(t, e.call(t, "rita", "POST", path+"/claim", ""), http.StatusForbidden)
	// Unknown flags and actions.
	want(t, e.call(t, "ana", "POST", "/audit/flags/999999/claim", ""), http.StatusNotFound)
	want(t, e.call(t, "ana", "POST", "/audit/flags/abc/claim", ""), http.StatusNotFound)
	want(t, e.call(t, "ana", "POST", path+"/approve", ""), http.StatusNotFound)
	want(t, e.call(t, "ana", "GET", "/audit/flags/999999", ""), http.StatusNotFound)
}

// A confirmed finding on a large claim waits for a different reviewer.
func TestAuditSignoff(t *testing.T) {
	t.Parallel()
	e := setupAudit(t)
	path := fmt.Sprintf("/audit/flags/%d", e.big)
	want(t, e.call(t, "ana", "POST", path+"/claim", ""), http.StatusOK)
	r := e.call(t, "ana", "POST", path+"/decide", `{"decision":"confirmed","reason":"no part replaced"}`)
	want(t, r, http.StatusOK)
	if f := decodeJSON[flagView](t, r); f.State != "signoff" || f.DecidedBy != "ana" {
		t.Fatalf("after the first decision: %+v", f)
	}
	want(t, e.call(t, "ana", "POST", path+"/signoff", `{"approve":true}`), http.StatusForbidden)
	want(t, e.call(t, "ben", "POST", path+"/signoff", `{}`), http.StatusUnprocessableEntity)
	want(t, e.call(t, "olga", "POST", path+"/signoff", `{"approve":true}`), http.StatusForbidden)
	r = e.call(t, "ben", "POST", path+"/signoff", `{"approve":true,"reason":"recording agrees"}`)
	want(t, r, http.StatusOK)
	if f := decodeJSON[flagView](t, r); f.State != "decided" || f.Decision != "confirmed" || f.DecidedBy != "ana" || f.SignoffBy != "ben" {
		t.Fatalf("signed off: %+v", f)
	}
	want(t, e.call(t, "cai", "POST", path+"/signoff", `{"approve":false,"reason":"late"}`), http.StatusConflict)
}

// A bulk decision is all or nothing.
func TestAuditBulkDecide(t *testing.T) {
	t.Parallel()
	e := setupAudit(t)
	list := decodeJSON[flagList](t, e.call(t, "ben", "GET", "/audit/flags?rule=V5&sort=raised_at&limit=4", ""))
	if len(list.Flags) != 4 || list.Page.Next == "" {
		t.Fatalf("first page: %d flags, next %q", len(list.Flags), list.Page.Next)
	}
	ids := []int64{list.Flags[0].ID, list.Flags[1].ID, list.Flags[2].ID}
	want(t, e.call(t, "ana", "POST", fmt.Sprintf("/audit/flags/%d/claim", ids[1]), ""), http.StatusOK)
	body := func(ids ...int64) string {
		b, _ := json.Marshal(map[string]any{"ids": ids, "decision": "cleared", "reason": "batch review"})
		return string(b)
	}
	want(t, e.call(t, "ben", "POST", "/audit/flags/decide", body(ids...)), http.StatusConflict)
	r := e.call(t, "ben", "POST", "/audit/flags/decide", body(ids[0], ids[2], ids[0]))
	want(t, r, http.StatusUnprocessableEntity)
	if errs := decodeJSON[flagList](t, r).Errors; len(errs) != 1 || errs[0].Pointer != "/ids/2" {
		t.Errorf("duplicate id: %+v", errs)
	}
	if n := len(decodeJSON[flagList](t, e.call(t, "ben", "GET", "/audit/flags?state=decided", "")).Flags); n != 0 {
		t.Fatalf("%d flags decided by refused bulk decisions", n)
	}
	r = e.call(t, "ben", "POST", "/audit/flags/decide", body(ids[0], ids[2]))
	want(t, r, http.StatusOK)
	got := decodeJSON[flagList](t, r).Flags
	if len(got) != 2 || got[0].ID != ids[0] || got[1].ID != ids[2] || got[0].State != "decided" || got[1].DecidedBy != "ben" {
		t.Fatalf("bulk decided: %+v", got)
	}
	// The list holds undecided flags unless asked for all of them.
	has := func(fs []flagView, id int64) bool {
		return slices.ContainsFunc(fs, func(f flagView) bool { return f.ID == id })
	}
	if fs := decodeJSON[flagList](t, e.call(t, "ben", "GET", "/audit/flags?rule=V5&limit=500", "")).Flags; has(fs, ids[0]) || !has(fs, ids[1]) {
		t.Errorf("default list: decided flag %d listed %v, undecided flag %d listed %v; want only the undecided", ids[0], has(fs, ids[0]), ids[1], has(fs, ids[1]))
	}
	if fs := decodeJSON[flagList](t, e.call(t, "ben", "GET", "/audit/flags?rule=V5&state=all&limit=500", "")).Flags; !has(fs, ids[0]) || !has(fs, ids[1]) {
		t.Errorf("state=all: flags %d and %d listed %v and %v; want both", ids[0], ids[1], has(fs, ids[0]), has(fs, ids[1]))
	}
	// The keyset page after the first continues where it ended.
	next := decodeJSON[flagList](t, e.call(t, "ben", "GET", "/audit/flags?rule=V5&sort=raised_at&limit=4&after="+list.Page.Next, ""))
	if len(next.Flags) != 4 || next.Flags[0].ID <= list.Flags[3].ID {
		t.Errorf("second page: %+v", next.Flags)
	}
}

// Bad query parameters are 400s that name the parameter.
func TestAuditBadParameters(t *testing.T) {
	t.Parallel()
	e := setupAudit(t)
	for _, c := range []struct{ path, param string }{
		{"/audit/flags?limit=1000", "limit"},
		{"/audit/flags?limit=ten", "limit"},
		{"/audit/flags?sort=name", "sort"},
		{"/audit/flags?order=up", "order"},
		{"/audit/flags?state=closed", "state"},
		{"/audit/flags?rule=V1,V77", "rule"},
		{"/audit/flags?severity=urgent", "severity"},
		{"/audit/flags?due_before=tomorrow", "due_before"},
		{"/audit/flags?overdue=maybe", "overdue"},
		{"/audit/flags?after=garbage", "after"},
		{"/audit/flags?colour=red", "colour"},
		{"/audit/export/findings?format=xml", "format"},
		{"/audit/export/findings?from=yesterday", "from"},
		{"/audit/export/findings?from=2026-11-20&to=2026-11-10", "to"},
		{"/audit/export/findings?provider=NO-SUCH", "provider"},
		{"/audit/scorecards?format=pdf", "format"},
		{"/audit/scorecards?to=2026-13-01", "to"},
	} {
		r := e.call(t, "rita", "GET", c.path, "")
		if r.code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400; %s", c.path, r.code, r.body)
			continue
		}
		if errs := decodeJSON[flagList](t, r).Errors; len(errs) != 1 || errs[0].Parameter != c.param {
			t.Errorf("%s: errors %+v, want one naming %s", c.path, errs, c.param)
		}
	}
}

// Confirmed findings export as CSV and as JSON with the same exact rows;
// a cell a spreadsheet would run is defused in the CSV.
func TestAuditExportFindings(t *testing.T) {
	t.Parallel()
	e := setupAudit(t)
	ctx := context.Background()
	list := decodeJSON[flagList](t, e.call(t, "ana", "GET", "/audit/flags?rule=V5&sort=raised_at&limit=3", ""))
	// Two confirmed (one with an amount override), one cleared, plus the signed-off large claim.
	decide := func(who string, id int64, body string) {
		t.Helper()
		want(t, e.call(t, who, "POST", fmt.Sprintf("/audit/flags/%d/claim", id), ""), http.StatusOK)
		want(t, e.call(t, who, "POST", fmt.Sprintf("/audit/flags/%d/decide", id), body), http.StatusOK)
	}
	decide("ana", list.Flags[0].ID, `{"decision":"confirmed","reason":"r"}`)
	decide("ben", list.Flags[1].ID, `{"decision":"confirmed","reason":"r","amount":7}`)
	decide("ana", list.Flags[2].ID, `{"decision":"cleared","reason":"r"}`)
	decide("ana", e.big, `{"decision":"confirmed","reason":"r"}`)
	want(t, e.call(t, "ben", "POST", fmt.Sprintf("/audit/flags/%d/signoff", e.big), `{"approve":true}`), http.StatusOK)
	if _, err := e.pool.Exec(ctx, `UPDATE providers SET name = '=HYPERLINK("http://x")' WHERE id = (SELECT provider_id FROM flags WHERE id = $1)`, e.big); err != nil {
		t.Fatal(err)
	}

	// The rows we expect, from the database by hand.
	expect := func(id int64, amount string) map[string]string {
		t.Helper()
		var code, name, ext, kind, completed, cur, claim string
		err := e.pool.QueryRow(ctx, `
SELECT p.code, p.name, w.external_id, w.kind, to_char(w.completed_at AT TIME ZONE c.tz, 'YYYY-MM-DD'), w.currency, f.claim_value::text
FROM flags f JOIN work_orders w ON w.id = f.work_order_id JOIN providers p ON p.id = w.provider_id JOIN customers c ON c.id = w.customer_id
WHERE f.id = $1`, id).Scan(&code, &name, &ext, &kind, &completed, &cur, &claim)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(mustRows(t, e, `SELECT part_code || '×' || quantity || '@' || unit_cost::text FROM claimed_parts cp
JOIN flags f ON f.work_order_id = cp.work_order_id WHERE f.id = $1 ORDER BY line`, id), pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return map[string]string{"flag_id": fmt.Sprint(id), "provider_code": code, "provider_name": name, "job_external_id": ext,
			"kind": kind, "completed_on": completed, "claim_lines": strings.Join(lines, "; "), "claim_value": claim, "amount": amount,
			"currency": cur, "decided_at": "2026-11-25T00:00:00Z"}
	}
	rows := []map[string]string{expect(list.Flags[0].ID, "30.00"), expect(list.Flags[1].ID, "7.00"), expect(e.big, "1800.00")}
	for i, r := range rows {
		r["rule"], r["rule_name"], r["severity"], r["decision"], r["reviewer"], r["signoff_by"] = "V5", "problem not fixed", "medium", "confirmed", []string{"ana", "ben"}[min(i, 1)], ""
	}
	var sum0, sum1 string
	e.pool.QueryRow(ctx, `SELECT summary FROM flags WHERE id = $1`, list.Flags[0].ID).Scan(&sum0)
	e.pool.QueryRow(ctx, `SELECT summary FROM flags WHERE id = $1`, list.Flags[1].ID).Scan(&sum1)
	rows[0]["evidence_summary"], rows[1]["evidence_summary"] = sum0, sum1
	rows[2]["rule"], rows[2]["rule_name"], rows[2]["severity"], rows[2]["reviewer"], rows[2]["signoff_by"] = "V2", "claimed part not replaced", "critical", "ana", "ben"
	rows[2]["evidence_summary"] = "=customer says the compressor was not replaced"
	if rows[2]["claim_value"] != "2500.00" || rows[0]["claim_value"] != "120.00" {
		t.Fatalf("claim values %s %s", rows[2]["claim_value"], rows[0]["claim_value"])
	}
	// Every decision has the same time: the export orders them by flag id.
	big := rows[2]
	slices.SortFunc(rows, func(a, b map[string]string) int {
		return len(a["flag_id"])*1e6 - len(b["flag_id"])*1e6 + strings.Compare(a["flag_id"], b["flag_id"])
	})

	// JSON: an array of objects, exactly these.
	r := e.call(t, "rita", "GET", "/audit/export/findings?format=json&from=2026-11-24&to=2026-11-25", "")
	want(t, r, http.StatusOK)
	var got []map[string]string
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("JSON export: %v\n%s", err, r.body)
	}
	if len(got) != len(rows) {
		t.Fatalf("JSON export: %d rows, want %d:\n%s", len(got), len(rows), r.body)
	}
	for i := range rows {
		for _, col := range audit.FindingColumns {
			if got[i][col] != rows[i][col] {
				t.Errorf("JSON row %d %s = %q, want %q", i, col, got[i][col], rows[i][col])
			}
		}
		if len(got[i]) != len(audit.FindingColumns) {
			t.Errorf("JSON row %d has %d keys", i, len(got[i]))
		}
	}

	// CSV: a header, the same rows, formulas defused.
	r = e.call(t, "olga", "GET", "/audit/export/findings?format=csv&from=2026-11-24&to=2026-11-25", "")
	want(t, r, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	recs, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	if err != nil {
		t.Fatalf("CSV export: %v\n%s", err, r.body)
	}
	if !slices.Equal(recs[0], audit.FindingColumns) || len(recs) != len(rows)+1 {
		t.Fatalf("CSV export: header %q, %d records", recs[0], len(recs))
	}
	for i := range rows {
		for j, col := range audit.FindingColumns {
			w := rows[i][col]
			if strings.HasPrefix(w, "=") {
				w = "'" + w
			}
			if recs[i+1][j] != w {
				t.Errorf("CSV row %d %s = %q, want %q", i, col, recs[i+1][j], w)
			}
		}
	}
	// One provider only; a window without decisions is empty (header only).
	r = e.call(t, "ana", "GET", "/audit/export/findings?format=csv&from=2026-11-24&to=2026-11-25&provider="+big["provider_code"], "")
	want(t, r, http.StatusOK)
	recs, _ = csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	n := 0
	for _, row := range rows {
		if row["provider_code"] == big["provider_code"] {
			n++
		}
	}
	if len(recs) != n+1 {
		t.Errorf("provider export: %d records, want %d", len(recs), n+1)
	}
	r = e.call(t, "ana", "GET", "/audit/export/findings?format=json&from=2026-11-01&to=2026-11-24", "")
	want(t, r, http.StatusOK)
	if strings.TrimSpace(string(r.body)) != "[]" {
		t.Errorf("empty window: %s", r.body)
	}
}

func mustRows(t *testing.T, e auditEnv, sql string, args ...any) pgx.Rows {
	t.Helper()
	rows, err := e.pool.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// Scorecards parse back in both formats, one row per provider with its jobs
// and findings.
func TestAuditScorecards(t *testing.T) {
	t.Parallel()
	e := setupAudit(t)
	want(t, e.call(t, "ana", "POST", fmt.Sprintf("/audit/flags/%d/claim", e.big), ""), http.StatusOK)
	r := e.call(t, "olga", "GET", "/audit/scorecards?from=2026-11-01&to=2026-11-25", "")
	want(t, r, http.StatusOK)
	var cards []audit.Scorecard
	if err := json.Unmarshal(r.body, &cards); err != nil {
		t.Fatalf("%v\n%s", err, r.body)
	}
	jobs := map[string]int{}
	rows, err := pgx.CollectRows(mustRows(t, e, `SELECT p.code, count(*) FROM work_orders w JOIN providers p ON p.id = w.provider_id GROUP BY p.code ORDER BY p.code`),
		func(row pgx.CollectableRow) (string, error) {
			var c string
			var n int
			err := row.Scan(&c, &n)
			jobs[c] = n
			return c, err
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(cards) != len(rows) {
		t.Fatalf("%d scorecards, want %d", len(cards), len(rows))
	}
	total := 0
	for i, c := range cards {
		if c.ProviderCode != rows[i] || c.Jobs != jobs[c.ProviderCode] || c.Repairs+c.Installs != c.Jobs {
			t.Errorf("card %d: %+v, want %s with %d jobs", i, c, rows[i], jobs[rows[i]])
		}
		total += c.OpenByRule["V5"]
		if c.ContactRate != nil || c.CSAT != nil {
			t.Errorf("card %s has rates without contacts: %+v", c.ProviderCode, c)
		}
	}
	if total != e.jobs {
		t.Errorf("open V5 findings over the cards: %d, want %d", total, e.jobs)
	}
	r = e.call(t, "rita", "GET", "/audit/scorecards?format=csv&from=2026-11-01&to=2026-11-25", "")
	want(t, r, http.StatusOK)
	recs, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recs[0], audit.ScorecardColumns) || len(recs) != len(cards)+1 {
		t.Fatalf("CSV: header %q, %d records", recs[0], len(recs))
	}
	for i, c := range cards {
		if recs[i+1][0] != c.ProviderCode || recs[i+1][2] != fmt.Sprint(c.Jobs) {
			t.Errorf("CSV row %d: %q, want %s with %d jobs", i, recs[i+1], c.ProviderCode, c.Jobs)
		}
	}
}

// Tokens: an admin makes one (seen once), lists them (never the secret),
// revokes one (it stops working at once).
func TestAuditTokens(t *testing.T) {
	t.Parallel()
	e := setupAudit(t)
	r := e.call(t, "admin", "POST", "/audit/tokens", `{"name":"dora@example.com","role":"reviewer"}`)
	want(t, r, http.StatusCreated)
	made := decodeJSON[map[string]string](t, r)
	tk := made["token"]
	if !strings.HasPrefix(tk, "hf_") || len(tk) != 3+43 || made["role"] != "reviewer" {
		t.Fatalf("made %v", made)
	}
	want(t, e.call(t, "admin", "POST", "/audit/tokens", `{"name":"dora@example.com","role":"ops"}`), http.StatusConflict)
	for _, c := range []struct{ body, pointer string }{
		{`{"name":"dora2","role":"boss"}`, "/role"},
		{`{"name":"has space","role":"ops"}`, "/name"},
		{`{"name":"x","role":"ops","expires":"never"}`, "/expires"},
	} {
		r := e.call(t, "root", "POST", "/audit/tokens", c.body)
		want(t, r, http.StatusUnprocessableEntity)
		if errs := decodeJSON[flagList](t, r).Errors; len(errs) != 1 || errs[0].Pointer != c.pointer {
			t.Errorf("%s: %+v, want an error at %s", c.body, errs, c.pointer)
		}
	}
	r = do(t, "GET", e.url+"/api/v1/audit/flags?limit=1", "Bearer "+tk, nil)
	want(t, r, http.StatusOK)
	r = e.call(t, "root", "GET", "/audit/tokens", "")
	want(t, r, http.StatusOK)
	if strings.Contains(string(r.body), tk) || strings.Contains(string(r.body), "hf_") || !strings.Contains(string(r.body), `"dora@example.com"`) {
		t.Errorf("token list: %s", r.body)
	}
	want(t, e.call(t, "root", "DELETE", "/audit/tokens/dora@example.com", ""), http.StatusNoContent)
	wantUnauthorised(t, do(t, "GET", e.url+"/api/v1/audit/flags", "Bearer "+tk, nil))
	want(t, e.call(t, "root", "DELETE", "/audit/tokens/dora@example.com", ""), http.StatusNotFound)
	var stored []byte
	if err := e.pool.QueryRow(context.Background(), `SELECT token_sha256 FROM api_tokens WHERE name = 'dora@example.com'`).Scan(&stored); err != nil || len(stored) != 32 {
		t.Errorf("stored hash %x (%v)", stored, err)
	}
	var logged int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE subject_type = 'api_token' AND subject_id = 'dora@example.com'
		AND actor IN ('admin', 'root') AND position($1 in details::text) = 0`, tk).Scan(&logged); err != nil || logged != 2 {
		t.Errorf("token audit rows %d (%v), want 2", logged, err)
	}
}

// Any request to the review API — any route, query, body and caller — gets
// an answer under 500: bad input is named, never a server error.
func FuzzAuditAPI(f *testing.F) {
	e := setupAudit(f)
	routes := []struct{ method, path string }{
		{"GET", "/audit/flags"}, {"GET", "/audit/flags/%s"}, {"POST", "/audit/flags/claim-next"},
		{"POST", "/audit/flags/decide"}, {"POST", "/audit/flags/%s/claim"}, {"POST", "/audit/flags/%s/decide"},
		{"POST", "/audit/flags/%s/signoff"}, {"POST", "/audit/flags/%s/reopen"}, {"POST", "/audit/flags/%s/release"},
		{"POST", "/audit/flags/%s/renew"}, {"GET", "/audit/conflicts"}, {"POST", "/audit/conflicts"},
		{"DELETE", "/audit/conflicts"}, {"GET", "/audit/export/findings"}, {"GET", "/audit/scorecards"},
		{"POST", "/audit/tokens"}, {"DELETE", "/audit/tokens/%s"},
	}
	people := []string{"ana", "ben", "olga", "rita", "root", ""}
	f.Add(uint8(0), uint8(0), "", "state=open&rule=V1,V2&sort=due_at&order=desc&limit=10", "")
	f.Add(uint8(5), uint8(0), "1", "", `{"decision":"confirmed","reason":"customer denied the visit"}`)
	f.Add(uint8(3), uint8(1), "", "", `{"ids":[1,2,3],"decision":"cleared","reason":"r"}`)
	f.Add(uint8(6), uint8(4), "1", "", `{"approve":true,"reason":"ok"}`)
	f.Add(uint8(13), uint8(3), "", "format=csv&from=2026-01-01&to=2026-12-01&provider=P-SZA", "")
	f.Add(uint8(11), uint8(0), "", "", `{"reviewer":"ana","provider":"P-SZA","reason":"family"}`)
	f.Add(uint8(15), uint8(4), "", "", `{"name":"x","role":"reviewer"}`)
	f.Add(uint8(1), uint8(2), "99999999999999999999", "", "")
	f.Add(uint8(0), uint8(0), "", "limit=-1&offset=x&after=%ZZ&due_before=yesterday", "")
	f.Fuzz(func(t *testing.T, route, who uint8, id, query, body string) {
		rt := routes[int(route)%len(routes)]
		path := rt.path
		if strings.Contains(path, "%s") {
			path = fmt.Sprintf(path, url.PathEscape(id))
		}
		if strings.IndexFunc(query, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0 {
			return // not a request target a client sends; net/http refuses it before any handler
		}
		if query != "" {
			path += "?" + query
		}
		u, err := url.Parse(e.url + "/api/v1" + path)
		if err != nil {
			return // not a request a client could send
		}
		req, err := http.NewRequest(rt.method, u.String(), strings.NewReader(body))
		if err != nil {
			return
		}
		if p := people[int(who)%len(people)]; p != "" {
			req.Header.Set("Authorization", "Bearer "+e.tok[p])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s with body %q: %d %s", rt.method, path, body, resp.StatusCode, b)
		}
		if resp.StatusCode >= 400 && resp.StatusCode != http.StatusUnauthorized && !json.Valid(b) {
			t.Fatalf("%s %s: %d with a body that is not JSON: %q", rt.method, path, resp.StatusCode, b)
		}
	})
}
