package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/huifang/huifang/internal/testdb"
	"github.com/huifang/huifang/web"
	"github.com/huifang/huifang/workorders"
)

const token = "t0ken"

// fixedNow is the clock of these tests: after every fixture's completion time.
func fixedNow() time.Time { return time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC) }

// quietLog keeps the logs of expected failures out of test output.
var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

type env struct {
	url  string
	pool *pgxpool.Pool
}

// setup serves a Server on its own fresh Postgres database and Redis.
func setup(t *testing.T, adminToken string) env {
	t.Helper()
	pool := testdb.New(t)
	rdb, _ := testdb.Redis(t)
	s := &web.Server{
		Pool:       pool,
		Redis:      rdb,
		WorkOrders: &workorders.Store{Pool: pool, Now: fixedNow},
		AdminToken: adminToken,
		Log:        quietLog,
		Version:    "test",
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return env{url: ts.URL, pool: pool}
}

type response struct {
	code   int
	header http.Header
	body   []byte
}

// do sends one request; auth is the whole Authorization header ("" sends none).
func do(t *testing.T, method, url, auth string, body io.Reader) response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return response{code: res.StatusCode, header: res.Header, body: b}
}

func post(t *testing.T, e env, query, body string) response {
	t.Helper()
	return do(t, http.MethodPost, e.url+"/api/v1/work-orders"+query, "Bearer "+token, strings.NewReader(body))
}

// apiError and batchResult mirror the JSON the API answers.
type apiError struct {
	Pointer   string `json:"pointer"`
	Parameter string `json:"parameter"`
	Message   string `json:"message"`
}

type batchResult struct {
	Error     string     `json:"error"`
	Errors    []apiError `json:"errors"`
	Read      int        `json:"read"`
	Valid     int        `json:"valid"`
	Rejected  int        `json:"rejected"`
	Inserted  int        `json:"inserted"`
	Updated   int        `json:"updated"`
	Unchanged int        `json:"unchanged"`
}

// decodeJSON insists the response is JSON and decodes it.
func decodeJSON[T any](t *testing.T, r response) T {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want application/json; body %s", ct, r.body)
	}
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, r.body)
	}
	return v
}

// goodJobs is a batch of three valid jobs: two in China (one with two claimed
// parts, in Chinese) and one in the US with two parts.
func goodJobs() []map[string]any {
	return []map[string]any{
		{
			"external_id": "WO-1001", "kind": "repair", "completed_at": "2026-11-20 10:30",
			"customer_id": "C-1", "customer_name": "张伟", "phone": "138 0013 8000",
			"address": "广东省深圳市南山区科技园路1号, 3栋", "region": "CN-GD",
			"provider_code": "SZ-01", "provider_name": "深圳安达服务", "technician": "李师傅",
			"product_category": "water_heater", "product_model": "JSQ20-12", "serial_number": "SN123456789",
			"warranty_status": "in_warranty", "fault": "不出热水", "currency": "CNY",
			"labour_minutes": 45, "labour_amount": "60.00",
			"parts": []map[string]any{
				{"code": "HTR-3KW", "quantity": 1, "unit_cost": "180.00", "name_en": "heating element", "name_zh": "加热管"},
				{"code": "TH-70", "quantity": 2, "unit_cost": 35.5, "name_en": "thermostat", "name_zh": "温控器"},
			},
		},
		{
			"external_id": "WO-1002", "kind": "install", "completed_at": "2026-11-21T09:00:00+08:00",
			"customer_id": "C-2", "customer_name": "王芳", "phone": "+86 186-0000-1234",
			"address": "北京市朝阳区建国路88号", "region": "CN-BJ", "lang": "zh-CN",
			"provider_code": "BJ-02", "provider_name": "北京顺达",
			"product_category": "range_hood", "product_model": "CXW-200",
		},
		{
			"external_id": "US-77", "kind": "repair", "completed_at": "2026-11-19T15:00:00-08:00",
			"customer_id": "C-3", "customer_name": "Jane Doe", "phone": "(415) 555-0123",
			"address": "1 Market St, San Francisco", "region": "US-CA",
			"provider_code": "SF-07", "provider_name": "Bay Appliance Repair",
			"product_category": "dishwasher", "product_model": "DW-500", "warranty_status": "out_of_warranty",
			"parts": []map[string]any{
				{"code": "IGN-2", "quantity": 1, "unit_cost": "42.10", "name_en": "igniter"},
				{"code": "VLV-9", "quantity": 3, "unit_cost": 12, "name_en": "valve"},
			},
		},
	}
}

// batchBody renders a batch request as the API takes it.
func batchBody(source string, jobs []map[string]any) string {
	return mustJSON(map[string]any{"source": source, "work_orders": jobs})
}

func mustJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return b.String()
}

// goodBatch is goodJobs from source "erp", changed by edit.
func goodBatch(edit func(jobs []map[string]any)) string {
	jobs := goodJobs()
	if edit != nil {
		edit(jobs)
	}
	return batchBody("erp", jobs)
}

// part returns claim line i of job j for editing.
func part(jobs []map[string]any, j, i int) map[string]any {
	return jobs[j]["parts"].([]map[string]any)[i]
}

// snapshot is every row Huifang holds about jobs, as text, so a test can
// tell whether a request wrote anything at all (updated_at included).
func snapshot(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"intake_sources", "providers", "customers", "work_orders", "claimed_parts", "audit_log"} {
		var rows string
		err := pool.QueryRow(context.Background(),
			`SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY to_jsonb(t)::text), '[]')::text FROM `+table+` t`).Scan(&rows)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s: %s\n", table, rows)
	}
	return b.String()
}

func externalIDs(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	var ids []string
	if err := pool.QueryRow(context.Background(),
		`SELECT coalesce(array_agg(external_id ORDER BY external_id), '{}') FROM work_orders`).Scan(&ids); err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestAuth(t *testing.T) {
	t.Parallel()
	const emptyBatch = `{"source":"erp","work_orders":[]}`
	routes := []struct {
		method, path, body string
	}{
		{"GET", "/api/v1/status", ""},
		{"GET", "/api/v1/sources", ""},
		{"GET", "/metrics", ""},
		{"POST", "/api/v1/work-orders", emptyBatch},
	}
	refused := []struct {
		name, auth string
	}{
		{"no header", ""},
		{"wrong token", "Bearer wrong"},
		{"token prefix", "Bearer t0ke"},
		{"token extended", "Bearer t0ken0"},
		{"basic", "Basic dDBrZW46dDBrZW4="},
		{"basic carrying the token", "Basic t0ken"},
		{"bearer and empty", "Bearer "},
		{"bearer without space", "Bearer"},
		{"token without scheme", token},
	}

	e := setup(t, token)
	closed := setup(t, "") // no admin token: every API call is refused
	for _, rt := range routes {
		for _, rc := range refused {
			t.Run(rt.method+" "+rt.path+"/"+rc.name, func(t *testing.T) {
				t.Parallel()
				r := do(t, rt.method, e.url+rt.path, rc.auth, strings.NewReader(rt.body))
				wantUnauthorised(t, r)
			})
		}
		t.Run(rt.method+" "+rt.path+"/with token", func(t *testing.T) {
			t.Parallel()
			r := do(t, rt.method, e.url+rt.path, "Bearer "+token, strings.NewReader(rt.body))
			if r.code != http.StatusOK {
				t.Fatalf("status %d, want 200; body %s", r.code, r.body)
			}
		})
		for _, auth := range []string{"", "Bearer ", "Bearer " + token} {
			t.Run(rt.method+" "+rt.path+"/no admin token/"+auth, func(t *testing.T) {
				t.Parallel()
				wantUnauthorised(t, do(t, rt.method, closed.url+rt.path, auth, strings.NewReader(rt.body)))
			})
		}
	}

	// The probes answer anyone: load balancers and kubelets carry no token.
	for _, path := range []string{"/healthz", "/readyz"} {
		for _, srv := range []env{e, closed} {
			t.Run(path+"/open", func(t *testing.T) {
				t.Parallel()
				if r := do(t, "GET", srv.url+path, "", nil); r.code != http.StatusOK {
					t.Fatalf("status %d, want 200; body %s", r.code, r.body)
				}
			})
		}
	}

	// Unknown routes (and known paths with the wrong method) are 404 for a
	// caller with the token, and reveal nothing to one without.
	for _, rt := range []struct{ method, path string }{
		{"GET", "/nope"},
		{"GET", "/api/v1/work-orders"},
		{"DELETE", "/api/v1/status"},
		{"POST", "/api/v2/work-orders"},
	} {
		t.Run("unknown "+rt.method+" "+rt.path, func(t *testing.T) {
			t.Parallel()
			r := do(t, rt.method, e.url+rt.path, "Bearer "+token, nil)
			if r.code != http.StatusNotFound {
				t.Fatalf("with token: status %d, want 404; body %s", r.code, r.body)
			}
			body := decodeJSON[batchResult](t, r)
			if !strings.Contains(body.Error, rt.path) {
				t.Errorf("404 error %q does not name the path %s", body.Error, rt.path)
			}
			wantUnauthorised(t, do(t, rt.method, e.url+rt.path, "", nil))
			wantUnauthorised(t, do(t, rt.method, e.url+rt.path, "Bearer wrong", nil))
		})
	}

	t.Cleanup(func() {
		// Refused batches wrote nothing; the accepted empty one only made its source.
		var n int
		if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM work_orders`).Scan(&n); err != nil || n != 0 {
			t.Errorf("work_orders: %d rows (err %v), want 0", n, err)
		}
		if got := snapshot(t, closed.pool); !strings.Contains(got, "intake_sources: []") {
			t.Errorf("server without a token wrote:\n%s", got)
		}
	})
}

func wantUnauthorised(t *testing.T, r response) {
	t.Helper()
	if r.code != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401; body %s", r.code, r.body)
	}
	body := decodeJSON[batchResult](t, r)
	if !strings.Contains(body.Error, "Bearer") {
		t.Errorf("401 error %q does not say how to authenticate", body.Error)
	}
	if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
		t.Errorf("WWW-Authenticate %q, want a Bearer challenge", got)
	}
}

func TestReadyz(t *testing.T) {
	t.Parallel()

	// A port nothing listens on: a Redis that is down.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := ln.Addr().String()
	ln.Close()

	tests := []struct {
		name     string
		redis    func(t *testing.T) *redis.Client
		wantCode int
		want     map[string]string
	}{
		{"both up", func(t *testing.T) *redis.Client { c, _ := testdb.Redis(t); return c },
			http.StatusOK, map[string]string{"postgres": "ok", "redis": "ok"}},
		{"redis down", func(t *testing.T) *redis.Client {
			c := redis.NewClient(&redis.Options{Addr: deadAddr, MaxRetries: -1})
			t.Cleanup(func() { c.Close() })
			return c
		}, http.StatusServiceUnavailable, map[string]string{"postgres": "ok", "redis": "unavailable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pool := testdb.New(t)
			s := &web.Server{Pool: pool, Redis: tt.redis(t), WorkOrders: &workorders.Store{Pool: pool, Now: fixedNow},
				AdminToken: token, Log: quietLog}
			ts := httptest.NewServer(s.Handler())
			defer ts.Close()
			r := do(t, "GET", ts.URL+"/readyz", "", nil)
			if r.code != tt.wantCode {
				t.Fatalf("status %d, want %d; body %s", r.code, tt.wantCode, r.body)
			}
			got := decodeJSON[map[string]string](t, r)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("body %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	e := setup(t, token)
	r := do(t, "GET", e.url+"/healthz", "", nil)
	if r.code != http.StatusOK || string(r.body) != "ok\n" {
		t.Fatalf("got %d %q, want 200 \"ok\\n\"", r.code, r.body)
	}
}

func TestPostWorkOrdersGoodBatch(t *testing.T) {
	t.Parallel()
	e := setup(t, token)
	body := goodBatch(nil)

	r := post(t, e, "", body)
	if r.code != http.StatusOK {
		t.Fatalf("first send: status %d; body %s", r.code, r.body)
	}
	got := decodeJSON[batchResult](t, r)
	if want := (batchResult{Read: 3, Valid: 3, Inserted: 3}); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("first send: %+v, want %+v", got, want)
	}

	// What was stored: numbers in E.164, each claim line with its cost.
	var phones []string
	if err := e.pool.QueryRow(context.Background(),
		`SELECT array_agg(phone_e164 ORDER BY external_id) FROM customers`).Scan(&phones); err != nil {
		t.Fatal(err)
	}
	if want := []string{"+8613800138000", "+8618600001234", "+14155550123"}; !slices.Equal(phones, want) {
		t.Errorf("customer phones %v, want %v", phones, want)
	}
	var lines []string
	rows, err := e.pool.Query(context.Background(), `SELECT w.external_id || ':' || cp.line || ':' || cp.part_code || ':' ||
		cp.quantity || ':' || cp.unit_cost FROM claimed_parts cp JOIN work_orders w ON w.id = cp.work_order_id
		ORDER BY w.external_id, cp.line`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"US-77:1:IGN-2:1:42.10", "US-77:2:VLV-9:3:12.00", "WO-1001:1:HTR-3KW:1:180.00", "WO-1001:2:TH-70:2:35.50"}
	if !slices.Equal(lines, want) {
		t.Errorf("claimed parts\n got %v\nwant %v", lines, want)
	}

	// The same batch again changes nothing, not even updated_at.
	before := snapshot(t, e.pool)
	r = post(t, e, "", body)
	if r.code != http.StatusOK {
		t.Fatalf("second send: status %d; body %s", r.code, r.body)
	}
	got = decodeJSON[batchResult](t, r)
	if want := (batchResult{Read: 3, Valid: 3, Unchanged: 3}); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("second send: %+v, want %+v", got, want)
	}
	after := snapshot(t, e.pool)
	// The audit log records every import, so only it may grow.
	if trimAudit(before) != trimAudit(after) {
		t.Errorf("re-sending the batch changed the database\nbefore %s\nafter  %s", before, after)
	}

	// One changed claim line updates that job only, and replaces its lines.
	r = post(t, e, "", goodBatch(func(jobs []map[string]any) { part(jobs, 0, 1)["quantity"] = 1 }))
	got = decodeJSON[batchResult](t, r)
	if want := (batchResult{Read: 3, Valid: 3, Updated: 1, Unchanged: 2}); r.code != http.StatusOK || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("changed send: %d %+v, want 200 %+v", r.code, got, want)
	}
	var qty int
	if err := e.pool.QueryRow(context.Background(), `SELECT quantity FROM claimed_parts cp JOIN work_orders w ON w.id = cp.work_order_id
		WHERE w.external_id = 'WO-1001' AND cp.line = 2`).Scan(&qty); err != nil || qty != 1 {
		t.Errorf("WO-1001 line 2 quantity %d (err %v), want 1", qty, err)
	}
}

// A client that retries while its first request is still running sends the
// same batch concurrently; every copy succeeds and each job exists once.
func TestPostWorkOrdersConcurrentResend(t *testing.T) {
	t.Parallel()
	e := setup(t, token)
	const senders = 8
	results := make([]response, senders)
	var wg sync.WaitGroup
	for i := range senders {
		wg.Go(func() {
			jobs := goodJobs()
			if i%2 == 1 { // rows in another order, so locks are taken in another order
				slices.Reverse(jobs)
			}
			req, _ := http.NewRequest(http.MethodPost, e.url+"/api/v1/work-orders", strings.NewReader(batchBody("erp", jobs)))
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			results[i] = response{code: res.StatusCode, header: res.Header, body: b}
		})
	}
	wg.Wait()
	inserted := 0
	for i, r := range results {
		if r.code != http.StatusOK {
			t.Fatalf("sender %d: status %d; body %s", i, r.code, r.body)
		}
		got := decodeJSON[batchResult](t, r)
		if got.Inserted+got.Updated+got.Unchanged != 3 || got.Updated != 0 {
			t.Errorf("sender %d: %+v, want 3 jobs inserted or unchanged", i, got)
		}
		inserted += got.Inserted
	}
	if inserted != 3 {
		t.Errorf("%d inserts reported across senders, want 3", inserted)
	}
	if ids := externalIDs(t, e.pool); !slices.Equal(ids, []string{"US-77", "WO-1001", "WO-1002"}) {
		t.Errorf("work orders %v", ids)
	}
}

// trimAudit drops the audit log from a snapshot.
func trimAudit(s string) string {
	i := strings.Index(s, "audit_log:")
	if i < 0 {
		return s
	}
	return s[:i]
}

// invalidRowCases are batches of goodJobs with some rows broken; each error
// must point at the offending place in the body.
var invalidRowCases = []struct {
	name    string
	body    string
	badRows []int
	want    []apiError // Message is a substring
}{
	{"bad phone in row 1", goodBatch(func(j []map[string]any) { j[1]["phone"] = "12345" }), []int{1},
		[]apiError{{Pointer: "/work_orders/1/phone"}}},
	{"masked phone", goodBatch(func(j []map[string]any) { j[0]["phone"] = "138****8000" }), []int{0},
		[]apiError{{Pointer: "/work_orders/0/phone"}}},
	{"bad kind in row 0", goodBatch(func(j []map[string]any) { j[0]["kind"] = "maintenance" }), []int{0},
		[]apiError{{Pointer: "/work_orders/0/kind", Message: `not "maintenance"`}}},
	{"bad part quantity in parts[1]", goodBatch(func(j []map[string]any) { part(j, 2, 1)["quantity"] = 0 }), []int{2},
		[]apiError{{Pointer: "/work_orders/2/parts/1/quantity", Message: "from 1 to 999"}}},
	{"fractional part quantity", goodBatch(func(j []map[string]any) { part(j, 0, 0)["quantity"] = 1.5 }), []int{0},
		[]apiError{{Pointer: "/work_orders/0/parts/0/quantity"}}},
	{"negative unit cost", goodBatch(func(j []map[string]any) { part(j, 0, 1)["unit_cost"] = -3 }), []int{0},
		[]apiError{{Pointer: "/work_orders/0/parts/1/unit_cost"}}},
	{"part without code", goodBatch(func(j []map[string]any) { delete(part(j, 2, 0), "code") }), []int{2},
		[]apiError{{Pointer: "/work_orders/2/parts/0/code", Message: "is required"}}},
	{"unknown field in a work order", goodBatch(func(j []map[string]any) { j[1]["colour"] = "red" }), []int{1},
		[]apiError{{Pointer: "/work_orders/1/colour", Message: "unknown field"}}},
	{"unknown field with / and ~ is escaped", goodBatch(func(j []map[string]any) { j[0]["a/b~c"] = 1 }), []int{0},
		[]apiError{{Pointer: "/work_orders/0/a~1b~0c", Message: "unknown field"}}},
	{"Chinese header alias is not a JSON key", goodBatch(func(j []map[string]any) { j[2]["电话"] = "x" }), []int{2},
		[]apiError{{Pointer: "/work_orders/2/电话", Message: "unknown field"}}},
	{"unknown field in a part", goodBatch(func(j []map[string]any) { part(j, 0, 1)["colour"] = "red" }), []int{0},
		[]apiError{{Pointer: "/work_orders/0/parts/1/colour", Message: "unknown field"}}},
	{"parts not an array", goodBatch(func(j []map[string]any) { j[1]["parts"] = "HTR-3KW" }), []int{1},
		[]apiError{{Pointer: "/work_orders/1/parts"}}},
	{"object where a string belongs", goodBatch(func(j []map[string]any) { j[2]["phone"] = map[string]any{"n": 1} }), []int{2},
		[]apiError{{Pointer: "/work_orders/2/phone", Message: "string or a number"}}},
	{"boolean where a string belongs", goodBatch(func(j []map[string]any) { j[0]["serial_number"] = true }), []int{0},
		[]apiError{{Pointer: "/work_orders/0/serial_number", Message: "string or a number"}}},
	{"missing provider code", goodBatch(func(j []map[string]any) { delete(j[0], "provider_code") }), []int{0},
		[]apiError{{Pointer: "/work_orders/0/provider_code", Message: "is required"}}},
	{"completed in the future", goodBatch(func(j []map[string]any) { j[1]["completed_at"] = "2027-01-01 10:00" }), []int{1},
		[]apiError{{Pointer: "/work_orders/1/completed_at", Message: "future"}}},
	{"row is a number", `{"source":"erp","work_orders":[` + mustJSON(goodJobs()[0]) + `,42,` + mustJSON(goodJobs()[2]) + `]}`,
		[]int{1}, []apiError{{Pointer: "/work_orders/1", Message: "not a JSON object"}}},
	{"row is null", `{"source":"erp","work_orders":[null,` + mustJSON(goodJobs()[1]) + `,` + mustJSON(goodJobs()[2]) + `]}`,
		[]int{0}, []apiError{{Pointer: "/work_orders/0", Message: "not a JSON object"}}},
	{"two bad rows, several fields", goodBatch(func(j []map[string]any) {
		j[0]["kind"] = "保养"
		j[0]["currency"] = "yuan"
		part(j, 2, 1)["quantity"] = "1000"
	}), []int{0, 2}, []apiError{
		{Pointer: "/work_orders/0/kind", Message: `"保养"`},
		{Pointer: "/work_orders/0/currency"},
		{Pointer: "/work_orders/2/parts/1/quantity", Message: `"1000"`},
	}},
}

func TestPostWorkOrdersInvalidRows(t *testing.T) {
	t.Parallel()
	for _, tt := range invalidRowCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, token)

			// All or nothing: one bad row and nothing is written.
			before := snapshot(t, e.pool)
			r := post(t, e, "", tt.body)
			if r.code != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422; body %s", r.code, r.body)
			}
			got := decodeJSON[batchResult](t, r)
			wantErrors(t, got.Errors, tt.want)
			if got.Read != 3 || got.Rejected != len(tt.badRows) || got.Inserted != 0 {
				t.Errorf("counts %+v, want read 3, rejected %d, inserted 0", got, len(tt.badRows))
			}
			if !strings.Contains(got.Error, "skip_invalid") {
				t.Errorf("error %q does not say how to import the valid rows", got.Error)
			}
			if after := snapshot(t, e.pool); trimSources(after) != trimSources(before) {
				t.Errorf("a refused batch wrote:\n%s", after)
			}
			if ids := externalIDs(t, e.pool); len(ids) != 0 {
				t.Errorf("work orders %v written by a refused batch", ids)
			}
			if r := post(t, e, "?skip_invalid=false", tt.body); r.code != http.StatusUnprocessableEntity {
				t.Errorf("skip_invalid=false: status %d, want 422", r.code)
			}

			// skip_invalid=true writes the good rows and lists the same errors.
			r = post(t, e, "?skip_invalid=true", tt.body)
			if r.code != http.StatusOK {
				t.Fatalf("skip_invalid=true: status %d, want 200; body %s", r.code, r.body)
			}
			got = decodeJSON[batchResult](t, r)
			wantErrors(t, got.Errors, tt.want)
			good := 3 - len(tt.badRows)
			if want := (batchResult{Errors: got.Errors, Read: 3, Valid: good, Rejected: len(tt.badRows), Inserted: good}); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("skip_invalid=true: %+v, want %+v", got, want)
			}
			var wantIDs []string
			for i, j := range goodJobs() {
				if !slices.Contains(tt.badRows, i) {
					wantIDs = append(wantIDs, j["external_id"].(string))
				}
			}
			slices.Sort(wantIDs)
			if ids := externalIDs(t, e.pool); !slices.Equal(ids, wantIDs) {
				t.Errorf("work orders %v, want %v", ids, wantIDs)
			}
		})
	}
}

// trimSources drops intake_sources from a snapshot: a batch names its source
// before its rows are judged, and the source stays.
func trimSources(s string) string {
	_, rest, _ := strings.Cut(s, "\nproviders:")
	return rest
}

func wantErrors(t *testing.T, got, want []apiError) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("errors %+v, want %d: %+v", got, len(want), want)
	}
	for i := range want {
		if got[i].Pointer != want[i].Pointer || got[i].Parameter != want[i].Parameter || !strings.Contains(got[i].Message, want[i].Message) {
			t.Errorf("error %d: %+v, want %+v", i, got[i], want[i])
		}
		if got[i].Message == "" {
			t.Errorf("error %d has no message", i)
		}
	}
}

// badRequestCases are bodies refused as a whole, before any row is judged.
var badRequestCases = []struct {
	name string
	body string
	want []apiError // Message is a substring; nil: only the status is checked
}{
	{"empty body", ``, []apiError{{Message: "empty"}}},
	{"truncated", goodBatch(nil)[:200], []apiError{{}}},
	{"truncated after a value", `{"source":"erp","work_orders":[]`, []apiError{{}}},
	{"trailing garbage", goodBatch(nil) + `garbage`, []apiError{{Message: "after"}}},
	{"trailing brace", goodBatch(nil) + `}`, []apiError{{Message: "after"}}},
	{"trailing bracket", `{"source":"erp","work_orders":[]}]`, []apiError{{Message: "after"}}},
	{"two objects", `{"source":"erp","work_orders":[]} {"source":"erp","work_orders":[]}`, []apiError{{Message: "after"}}},
	{"array at top level", `[` + goodBatch(nil) + `]`, []apiError{{Message: "object"}}},
	{"string at top level", `"erp"`, []apiError{{Message: "object"}}},
	{"form body", `source=erp&work_orders=1`, []apiError{{}}},
	{"work_orders is an object", `{"source":"erp","work_orders":{}}`, []apiError{{Pointer: "/work_orders", Message: "array"}}},
	{"work_orders is a string", `{"source":"erp","work_orders":"WO-1"}`, []apiError{{Pointer: "/work_orders", Message: "array"}}},
	{"source is a number", `{"source":7,"work_orders":[]}`, []apiError{{Pointer: "/source", Message: "string"}}},
	{"default_region is an array", `{"source":"erp","default_region":["CN"],"work_orders":[]}`, []apiError{{Pointer: "/default_region", Message: "string"}}},
	{"unknown top-level field", `{"source":"erp","work_orders":[],"dry_run":true}`, []apiError{{Pointer: "/dry_run", Message: "unknown field"}}},
	{"null body", `null`, []apiError{{Pointer: "/source"}, {Pointer: "/work_orders"}}},
	{"empty object", `{}`, []apiError{{Pointer: "/source"}, {Pointer: "/work_orders"}}},
	{"missing source", `{"work_orders":[]}`, []apiError{{Pointer: "/source", Message: "is required"}}},
	{"empty source", `{"source":"","work_orders":[]}`, []apiError{{Pointer: "/source"}}},
	{"upper-case source", `{"source":"ERP","work_orders":[]}`, []apiError{{Pointer: "/source"}}},
	{"source with a slash", `{"source":"erp/../x","work_orders":[]}`, []apiError{{Pointer: "/source"}}},
	{"source with a newline", `{"source":"erp\n","work_orders":[]}`, []apiError{{Pointer: "/source"}}},
	{"source of 64 characters", `{"source":"` + strings.Repeat("a", 64) + `","work_orders":[]}`, []apiError{{Pointer: "/source"}}},
	{"Chinese source", `{"source":"售后","work_orders":[]}`, []apiError{{Pointer: "/source"}}},
	{"lower-case default region", `{"source":"erp","default_region":"cn","work_orders":[]}`, []apiError{{Pointer: "/default_region"}}},
	{"missing work_orders", `{"source":"erp"}`, []apiError{{Pointer: "/work_orders", Message: "is required"}}},
	{"null work_orders", `{"source":"erp","work_orders":null}`, []apiError{{Pointer: "/work_orders", Message: "is required"}}},
	{"10001 work orders", `{"source":"erp","work_orders":[{}` + strings.Repeat(`,{}`, 10000) + `]}`,
		[]apiError{{Pointer: "/work_orders", Message: "10001"}}},
	{"nested too deep", `{"source":"erp","work_orders":[` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `]}`, []apiError{{}}},
}

func TestPostWorkOrdersBadRequest(t *testing.T) {
	t.Parallel()
	e := setup(t, token)
	for _, tt := range badRequestCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := post(t, e, "", tt.body)
			if r.code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400; body %s", r.code, r.body)
			}
			got := decodeJSON[batchResult](t, r)
			if got.Error == "" {
				t.Errorf("400 without an error message: %s", r.body)
			}
			wantErrors(t, got.Errors, tt.want)
		})
	}
	t.Cleanup(func() {
		if got := snapshot(t, e.pool); !strings.Contains(got, "intake_sources: []") || !strings.Contains(got, "work_orders: []") {
			t.Errorf("refused requests wrote:\n%s", got)
		}
	})
}

func TestPostWorkOrdersSkipInvalidParameter(t *testing.T) {
	t.Parallel()
	e := setup(t, token)
	for _, v := range []string{"maybe", "yes", "2", "%20true"} {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			r := post(t, e, "?skip_invalid="+v, goodBatch(nil))
			if r.code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400; body %s", r.code, r.body)
			}
			wantErrors(t, decodeJSON[batchResult](t, r).Errors, []apiError{{Parameter: "skip_invalid", Message: "true or false"}})
		})
	}
	t.Cleanup(func() {
		if ids := externalIDs(t, e.pool); len(ids) != 0 {
			t.Errorf("a refused request wrote %v", ids)
		}
	})
}

func TestPostWorkOrdersTooLarge(t *testing.T) {
	t.Parallel()
	e := setup(t, token)
	// Valid JSON, only too big: the limit is on size, not on syntax.
	body := `{"source":"erp","work_orders":[` + strings.Repeat(" ", 32<<20) + `]}`
	r := post(t, e, "", body)
	if r.code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413; body %s", r.code, r.body)
	}
	if got := decodeJSON[batchResult](t, r); !strings.Contains(got.Error, "smaller batches") {
		t.Errorf("413 error %q does not say what to do", got.Error)
	}
	if got := snapshot(t, e.pool); !strings.Contains(got, "intake_sources: []") {
		t.Errorf("a refused request wrote:\n%s", got)
	}
}

func TestPostWorkOrdersChinese(t *testing.T) {
	t.Parallel()
	e := setup(t, token)
	jobs := goodJobs()
	jobs[0]["kind"] = "维修"
	jobs[0]["warranty_status"] = "保内"
	jobs[0]["lang"] = "中文"
	jobs[0]["labour_amount"] = "６０．００元"
	r := post(t, e, "", batchBody("erp", jobs))
	if r.code != http.StatusOK {
		t.Fatalf("status %d; body %s", r.code, r.body)
	}

	var kind, warranty, lang, name, address, provider, technician, fault, labour string
	var namesZH []string
	err := e.pool.QueryRow(context.Background(), `SELECT w.kind, w.warranty_status, c.lang, c.name, c.address, p.name,
			w.technician, w.fault, w.labour_amount::text, array_agg(cp.name_zh ORDER BY cp.line)
		FROM work_orders w JOIN customers c ON c.id = w.customer_id JOIN providers p ON p.id = w.provider_id
		JOIN claimed_parts cp ON cp.work_order_id = w.id
		WHERE w.external_id = 'WO-1001' GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9`).
		Scan(&kind, &warranty, &lang, &name, &address, &provider, &technician, &fault, &labour, &namesZH)
	if err != nil {
		t.Fatal(err)
	}
	j := jobs[0]
	for _, c := range []struct{ field, got, want string }{
		{"kind", kind, "repair"},
		{"warranty_status", warranty, "in_warranty"},
		{"lang", lang, "zh-CN"},
		{"customer_name", name, j["customer_name"].(string)},
		{"address", address, j["address"].(string)},
		{"provider_name", provider, j["provider_name"].(string)},
		{"technician", technician, j["technician"].(string)},
		{"fault", fault, j["fault"].(string)},
		{"labour_amount", labour, "60.00"},
	} {
		if c.got != c.want {
			t.Errorf("%s: stored %q, want %q", c.field, c.got, c.want)
		}
	}
	if want := []string{"加热管", "温控器"}; !slices.Equal(namesZH, want) {
		t.Errorf("parts name_zh %v, want %v", namesZH, want)
	}

	// A Chinese value in an error comes back as written, not \u-escaped.
	jobs[1]["kind"] = "保养"
	r = post(t, e, "", batchBody("erp", jobs))
	if r.code != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422; body %s", r.code, r.body)
	}
	if !bytes.Contains(r.body, []byte(`not \"保养\"`)) {
		t.Errorf("error does not quote the Chinese value as sent: %s", r.body)
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	e := setup(t, token)

	type status struct {
		Version    string         `json:"version"`
		WorkOrders map[string]int `json:"work_orders"`
		Customers  int            `json:"customers"`
		Providers  int            `json:"providers"`
		Sources    []struct {
			Name string `json:"name"`
			Kind string `json:"kind"`
		} `json:"sources"`
	}
	get := func(path string) status {
		t.Helper()
		r := do(t, "GET", e.url+path, "Bearer "+token, nil)
		if r.code != http.StatusOK {
			t.Fatalf("%s: status %d; body %s", path, r.code, r.body)
		}
		return decodeJSON[status](t, r)
	}

	empty := get("/api/v1/status")
	if empty.Version != "test" || len(empty.WorkOrders) != 0 || empty.Customers != 0 || empty.Providers != 0 || empty.Sources == nil || len(empty.Sources) != 0 {
		t.Errorf("empty database: %+v", empty)
	}

	jobs := goodJobs()
	if r := post(t, e, "", batchBody("erp", jobs)); r.code != http.StatusOK {
		t.Fatalf("post: %d %s", r.code, r.body)
	}
	if r := post(t, e, "", batchBody("crm.v2", jobs[:1])); r.code != http.StatusOK {
		t.Fatalf("post: %d %s", r.code, r.body)
	}

	// What the batches held, counted from the fixture.
	kinds := map[string]int{}
	providers := map[string]bool{}
	for _, j := range jobs {
		kinds[j["kind"].(string)]++
		providers[j["provider_code"].(string)] = true
	}
	kinds[jobs[0]["kind"].(string)]++ // crm.v2's copy of the first job
	for _, path := range []string{"/api/v1/status"} {
		st := get(path)
		if fmt.Sprint(st.WorkOrders) != fmt.Sprint(kinds) {
			t.Errorf("%s: work_orders %v, want %v", path, st.WorkOrders, kinds)
		}
		if st.Customers != len(jobs)+1 || st.Providers != len(providers) {
			t.Errorf("%s: customers %d, providers %d, want %d and %d", path, st.Customers, st.Providers, len(jobs)+1, len(providers))
		}
		if got := fmt.Sprint(st.Sources); got != "[{crm.v2 api} {erp api}]" {
			t.Errorf("%s: sources %s", path, got)
		}
	}
	r := do(t, "GET", e.url+"/api/v1/sources", "Bearer "+token, nil)
	srcs := decodeJSON[struct {
		Sources []struct {
			Name string `json:"name"`
		} `json:"sources"`
	}](t, r)
	if r.code != http.StatusOK || fmt.Sprint(srcs.Sources) != "[{crm.v2} {erp}]" {
		t.Errorf("/api/v1/sources: %d %s", r.code, r.body)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	e := setup(t, token)
	if r := do(t, "GET", e.url+"/healthz", "", nil); r.code != http.StatusOK {
		t.Fatalf("healthz: %d", r.code)
	}
	r := do(t, "GET", e.url+"/metrics", "Bearer "+token, nil)
	if r.code != http.StatusOK {
		t.Fatalf("status %d; body %s", r.code, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want Prometheus text", ct)
	}
	for _, want := range []string{
		"# TYPE huifang_http_requests_total counter",
		`huifang_http_requests_total{code="200",route="GET /healthz"}`,
		"# TYPE huifang_http_request_duration_seconds histogram",
	} {
		if !bytes.Contains(r.body, []byte(want)) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// FuzzPostWorkOrders holds the batch API to its contract for any body: 200,
// 400, 413 or 422 with a JSON error, never a 5xx or a panic.
func FuzzPostWorkOrders(f *testing.F) {
	pool := testdb.New(f)
	s := &web.Server{Pool: pool, WorkOrders: &workorders.Store{Pool: pool, Now: fixedNow}, AdminToken: token, Log: quietLog}
	h := s.Handler()

	f.Add([]byte(goodBatch(nil)), false)
	f.Add([]byte(goodBatch(nil)), true)
	for _, c := range invalidRowCases {
		f.Add([]byte(c.body), false)
		f.Add([]byte(c.body), true)
	}
	for _, c := range badRequestCases {
		if len(c.body) < 4096 { // the long ones only slow the mutator
			f.Add([]byte(c.body), true)
		}
	}

	f.Fuzz(func(t *testing.T, body []byte, skip bool) {
		req := httptest.NewRequest(http.MethodPost, fmt.Sprintf("/api/v1/work-orders?skip_invalid=%t", skip), bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		default:
			t.Fatalf("status %d for body %q (skip_invalid=%t): %s", rec.Code, body, skip, rec.Body)
		}
		var got batchResult
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatalf("status %d with a body that is not JSON: %v\n%s", rec.Code, err, rec.Body)
		}
		if rec.Code != http.StatusOK && got.Error == "" {
			t.Fatalf("status %d without an error message: %s", rec.Code, rec.Body)
		}
		if rec.Code == http.StatusUnprocessableEntity {
			for _, e := range got.Errors {
				if !strings.HasPrefix(e.Pointer, "/work_orders/") {
					t.Fatalf("422 error %+v does not point into work_orders", e)
				}
			}
		}
	})
}
