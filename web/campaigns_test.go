package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/huifang/huifang/campaigns"
	"github.com/huifang/huifang/internal/testdb"
	"github.com/huifang/huifang/surveys"
	"github.com/huifang/huifang/web"
	"github.com/huifang/huifang/workorders"
)

// cnRepairs is a valid campaign definition as an API client sends it.
const cnRepairs = `{"name": "cn-repairs", "survey": "repair-parts-verification", "targeting": {"regions": ["CN"]},
 "schedule": "0 9 * * *", "time_zone": "Asia/Shanghai", "from": ["+862038001234"]}`

// campaignView mirrors the campaign the API answers.
type campaignView struct {
	Error         string          `json:"error"`
	Errors        []campaignError `json:"errors"`
	Name          string          `json:"name"`
	State         string          `json:"state"`
	Version       int             `json:"version"`
	Survey        string          `json:"survey"`
	SurveyVersion int             `json:"survey_version"`
	Definition    struct {
		Pace     float64 `json:"pace"`
		Attempts struct {
			Max  int    `json:"max"`
			Ring string `json:"ring"`
		} `json:"attempts"`
	} `json:"definition"`
	Source   string      `json:"source"`
	NextRuns []time.Time `json:"next_runs"`
	Contacts *struct {
		Queued    int            `json:"queued"`
		Dialing   int            `json:"dialing"`
		Done      int            `json:"done"`
		ByOutcome map[string]int `json:"by_outcome"`
	} `json:"contacts"`
	Attempts      map[string]int `json:"attempts"`
	Unchanged     *bool          `json:"unchanged"`
	PreviousState string         `json:"previous_state"`
}

type campaignError struct {
	Pointer string `json:"pointer"`
	Message string `json:"message"`
	Rule    string `json:"rule"`
}

// setupCampaigns serves a Server with the campaign API on its own
// database, its clock at fixedNow.
func setupCampaigns(t *testing.T) env {
	t.Helper()
	pool := testdb.New(t)
	s := &web.Server{
		Pool:       pool,
		WorkOrders: &workorders.Store{Pool: pool, Now: fixedNow},
		Campaigns:  &campaigns.Store{Pool: pool, Now: fixedNow},
		AdminToken: token,
		Log:        quietLog,
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return env{url: ts.URL, pool: pool}
}

func (e env) campaign(t *testing.T, method, path, body string) (response, campaignView) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := do(t, method, e.url+"/api/v1/campaigns"+path, "Bearer "+token, rd)
	return r, decodeJSON[campaignView](t, r)
}

func (e env) campaignCount(t *testing.T, sql string) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// Every campaign route wants the admin token, and a refused request
// stores nothing.
func TestCampaignRoutesNeedToken(t *testing.T) {
	t.Parallel()
	e := setupCampaigns(t)
	routes := []struct{ method, path, body string }{
		{"GET", "/api/v1/campaigns", ""},
		{"POST", "/api/v1/campaigns", cnRepairs},
		{"GET", "/api/v1/campaigns/cn-repairs", ""},
		{"PUT", "/api/v1/campaigns/cn-repairs", cnRepairs},
		{"POST", "/api/v1/campaigns/cn-repairs/activate", ""},
		{"POST", "/api/v1/campaigns/cn-repairs/pause", ""},
		{"GET", "/api/v1/campaigns/cn-repairs/versions", ""},
	}
	for _, rt := range routes {
		for _, auth := range []string{"", "Bearer wrong", "Basic " + token} {
			t.Run(rt.method+" "+rt.path+" "+auth, func(t *testing.T) {
				var body io.Reader
				if rt.body != "" {
					body = strings.NewReader(rt.body)
				}
				wantUnauthorised(t, do(t, rt.method, e.url+rt.path, auth, body))
			})
		}
	}
	if n := e.campaignCount(t, `SELECT count(*) FROM campaigns`); n != 0 {
		t.Fatalf("%d campaigns stored by unauthorised requests", n)
	}
}

func TestCreateCampaign(t *testing.T) {
	t.Parallel()
	e := setupCampaigns(t)
	r, c := e.campaign(t, "POST", "", cnRepairs)
	if r.code != http.StatusCreated {
		t.Fatalf("POST: %d %s", r.code, r.body)
	}
	if got := r.header.Get("Location"); got != "/api/v1/campaigns/cn-repairs" {
		t.Errorf("Location %q", got)
	}
	// fixedNow is 08:00 in Shanghai: the first run is at 09:00 that day.
	var want []time.Time
	for d := range 5 {
		want = append(want, time.Date(2026, 11, 25+d, 1, 0, 0, 0, time.UTC))
	}
	if c.Name != "cn-repairs" || c.State != "draft" || c.Version != 1 || c.Survey != "repair-parts-verification" ||
		c.SurveyVersion != 0 || c.Definition.Attempts.Max != 3 || c.Definition.Attempts.Ring != "25s" || c.Source != cnRepairs ||
		!slices.EqualFunc(c.NextRuns, want, time.Time.Equal) || c.Contacts == nil || c.Contacts.Queued != 0 {
		t.Fatalf("created %+v\nfrom %s", c, r.body)
	}

	// The name is taken.
	r, c = e.campaign(t, "POST", "", cnRepairs)
	if r.code != http.StatusConflict || !strings.Contains(c.Error, `a campaign named "cn-repairs" already exists`) {
		t.Fatalf("second POST: %d %s", r.code, r.body)
	}
	if n := e.campaignCount(t, `SELECT count(*) FROM audit_log WHERE subject_id = 'cn-repairs' AND actor = 'api:admin' AND action = 'campaign.create'`); n != 1 {
		t.Errorf("%d audit entries for the create by api:admin, want 1", n)
	}

	r, list := e.listCampaigns(t)
	if r.code != http.StatusOK || len(list) != 1 || list[0].Name != "cn-repairs" || list[0].State != "draft" ||
		list[0].Contacts == nil || list[0].Source != "" {
		t.Fatalf("list: %d %s", r.code, r.body)
	}
}

func (e env) listCampaigns(t *testing.T) (response, []campaignView) {
	t.Helper()
	r := do(t, "GET", e.url+"/api/v1/campaigns", "Bearer "+token, nil)
	return r, decodeJSON[struct {
		Campaigns []campaignView `json:"campaigns"`
	}](t, r).Campaigns
}

// An invalid body is refused with each problem at its JSON pointer, and
// nothing is stored.
func TestCreateCampaignInvalid(t *testing.T) {
	t.Parallel()
	e := setupCampaigns(t)
	base := strings.TrimSuffix(cnRepairs, "}")
	cases := []struct {
		name string
		body string
		code int
		want []campaignError
	}{
		{"attempts.max", base + `, "attempts": {"max": 0}}`, 422, []campaignError{
			{"/attempts/max", "must be between 1 and 10", "value"}}},
		{"several", base + `, "pace": "fast", "attempts": {"max": 11, "spacing": {"busy": "3x"}}, "shedule": "x"}`, 422, []campaignError{
			{"/pace", `must be a number, not the string "fast"`, "type"},
			{"/attempts/max", "must be between 1 and 10", "value"},
			{"/attempts/spacing/busy", `"3x" is not a duration: write a number and a unit, e.g. 30m, 3h, 2h30m or 5d`, "duration"},
			{"/shedule", `unknown key (did you mean "schedule"?)`, "unknown-key"},
		}},
		{"window past the hard limit", base + `, "window": {"hours": {"mon": ["21:00-23:00"]}}}`, 422, []campaignError{
			{"/window/hours/mon/0", `range "21:00-23:00" is outside the hard limit 08:00-21:00 that no window may widen`, "hard-limit"}}},
		{"bad name and number", `{"name": "Bad Name", "survey": "s", "schedule": "@hourly", "from": ["020"]}`, 422, []campaignError{
			{"/name", `must be 1 to 63 lowercase letters, digits, - or _, starting with a letter or digit, not "Bad Name"`, "name"},
			{"/from/0", `must be an E.164 number such as +8613800138000, not "020"`, "phone"},
		}},
		{"an array", `[]`, 422, []campaignError{
			{"", "a campaign definition is an object of keys (name, survey, schedule, …), not an array", "type"}}},
		{"empty", ``, 422, []campaignError{
			{"", "the body is empty: a campaign needs at least name, survey, schedule and from", "required"}}},
		{"malformed", base + `,`, 400, []campaignError{
			{"", fmt.Sprintf("the JSON ends too early, at offset %d", len(base)+1), "json-syntax"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := do(t, "POST", e.url+"/api/v1/campaigns", "Bearer "+token, strings.NewReader(tc.body))
			got := decodeJSON[campaignView](t, r)
			if r.code != tc.code || !slices.Equal(got.Errors, tc.want) || !strings.Contains(got.Error, "nothing stored") {
				t.Fatalf("status %d, want %d\ngot  %+v\nwant %+v\n%s", r.code, tc.code, got.Errors, tc.want, r.body)
			}
		})
	}
	t.Run("too large", func(t *testing.T) {
		t.Parallel()
		body := base + `, "description": "` + strings.Repeat("x", campaigns.MaxDefinitionBytes) + `"}`
		r := do(t, "POST", e.url+"/api/v1/campaigns", "Bearer "+token, strings.NewReader(body))
		if r.code != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413: %s", r.code, r.body)
		}
	})
	t.Cleanup(func() {
		if n := e.campaignCount(t, `SELECT count(*) FROM campaigns`); n != 0 {
			t.Errorf("%d campaigns stored from invalid bodies", n)
		}
	})
}

// GET shows the next runs, the queue by state and outcome, and the
// attempts by outcome.
func TestGetCampaign(t *testing.T) {
	t.Parallel()
	e := setupCampaigns(t)
	ctx := context.Background()
	r, c := e.campaign(t, "GET", "/cn-repairs", "")
	if r.code != http.StatusNotFound || c.Error != `no campaign "cn-repairs"` {
		t.Fatalf("GET of an unknown campaign: %d %s", r.code, r.body)
	}
	if r := post(t, e, "", goodBatch(nil)); r.code != http.StatusOK {
		t.Fatalf("load jobs: %d %s", r.code, r.body)
	}
	if r, _ := e.campaign(t, "POST", "", cnRepairs); r.code != http.StatusCreated {
		t.Fatalf("POST: %d %s", r.code, r.body)
	}

	// Enrol the two Chinese jobs, end one, and give it an attempt.
	st := &campaigns.Store{Pool: e.pool}
	camp, err := st.Get(ctx, "cn-repairs")
	if err != nil {
		t.Fatal(err)
	}
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := campaigns.Enrol(ctx, tx, camp.ID, camp.Definition, fixedNow())
	if err != nil || res.Enrolled != 2 {
		t.Fatalf("enrol: %+v, %v", res, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `
WITH k AS (
	UPDATE contacts SET state = 'done', outcome = 'completed', ended_at = $1
	WHERE id = (SELECT min(id) FROM contacts) RETURNING id, work_order_id, phone_e164
)
INSERT INTO attempts (work_order_id, contact_id, channel, to_e164, from_e164, state, outcome)
SELECT work_order_id, id, 'voice', phone_e164, '+862038001234', 'ended', 'completed' FROM k`, fixedNow()); err != nil {
		t.Fatal(err)
	}

	r, c = e.campaign(t, "GET", "/cn-repairs", "")
	if r.code != http.StatusOK || c.Contacts == nil || c.Contacts.Queued != 1 || c.Contacts.Done != 1 ||
		c.Contacts.ByOutcome["completed"] != 1 || len(c.Contacts.ByOutcome) != 1 ||
		c.Attempts["completed"] != 1 || len(c.Attempts) != 1 || len(c.NextRuns) != 5 || c.Source != cnRepairs {
		t.Fatalf("GET: %d %s", r.code, r.body)
	}
	_, list := e.listCampaigns(t)
	if len(list) != 1 || list[0].Contacts.Queued != 1 || list[0].Contacts.Done != 1 {
		t.Fatalf("list: %+v", list)
	}
}

// PUT stores a new version only when the content changes, never renames,
// and GET …/versions lists them all.
func TestUpdateCampaign(t *testing.T) {
	t.Parallel()
	e := setupCampaigns(t)
	r, _ := e.campaign(t, "PUT", "/cn-repairs", cnRepairs)
	if r.code != http.StatusNotFound {
		t.Fatalf("PUT of an unknown campaign: %d %s", r.code, r.body)
	}
	if r, _ := e.campaign(t, "POST", "", cnRepairs); r.code != http.StatusCreated {
		t.Fatalf("POST: %d %s", r.code, r.body)
	}
	// The same content, with a default spelled out and keys reordered.
	same := `{"from": ["+862038001234"], "pace": 1, "name": "cn-repairs", "survey": "repair-parts-verification",
 "targeting": {"regions": ["CN"]}, "schedule": "0 9 * * *", "time_zone": "Asia/Shanghai"}`
	r, c := e.campaign(t, "PUT", "/cn-repairs", same)
	if r.code != http.StatusOK || c.Version != 1 || c.Unchanged == nil || !*c.Unchanged {
		t.Fatalf("PUT of the same content: %d %s", r.code, r.body)
	}
	changed := strings.Replace(same, `"pace": 1`, `"pace": 2.5`, 1)
	r, c = e.campaign(t, "PUT", "/cn-repairs", changed)
	if r.code != http.StatusOK || c.Version != 2 || c.Unchanged == nil || *c.Unchanged || c.Definition.Pace != 2.5 ||
		len(c.NextRuns) != 5 {
		t.Fatalf("PUT of a change: %d %s", r.code, r.body)
	}
	r, c = e.campaign(t, "PUT", "/cn-repairs", strings.Replace(changed, `"name": "cn-repairs"`, `"name": "cn-other"`, 1))
	if r.code != http.StatusUnprocessableEntity || len(c.Errors) != 1 || c.Errors[0].Pointer != "/name" ||
		c.Errors[0].Message != `must be "cn-repairs": a campaign cannot be renamed` {
		t.Fatalf("PUT renaming: %d %s", r.code, r.body)
	}
	r, c = e.campaign(t, "PUT", "/cn-repairs", strings.Replace(changed, `"pace": 2.5`, `"pace": 0`, 1))
	if r.code != http.StatusUnprocessableEntity || len(c.Errors) != 1 || c.Errors[0].Pointer != "/pace" {
		t.Fatalf("PUT of an invalid body: %d %s", r.code, r.body)
	}

	r = do(t, "GET", e.url+"/api/v1/campaigns/cn-repairs/versions", "Bearer "+token, nil)
	vs := decodeJSON[struct {
		Name     string `json:"name"`
		Versions []struct {
			Version    int                    `json:"version"`
			CreatedBy  string                 `json:"created_by"`
			Source     string                 `json:"source"`
			Definition struct{ Pace float64 } `json:"definition"`
		} `json:"versions"`
	}](t, r)
	if r.code != http.StatusOK || len(vs.Versions) != 2 || vs.Versions[0].Version != 1 || vs.Versions[1].Version != 2 ||
		vs.Versions[0].Source != cnRepairs || vs.Versions[1].Source != changed || vs.Versions[1].CreatedBy != "api:admin" ||
		vs.Versions[0].Definition.Pace != 1 || vs.Versions[1].Definition.Pace != 2.5 {
		t.Fatalf("versions: %d %s", r.code, r.body)
	}
	r = do(t, "GET", e.url+"/api/v1/campaigns/nope/versions", "Bearer "+token, nil)
	if r.code != http.StatusNotFound {
		t.Fatalf("versions of an unknown campaign: %d %s", r.code, r.body)
	}
}

// The state actions follow the state machine; a move it does not allow is
// 409 with the reason and the moves that are allowed.
func TestCampaignActions(t *testing.T) {
	t.Parallel()
	e := setupCampaigns(t)
	if r, _ := e.campaign(t, "POST", "", cnRepairs); r.code != http.StatusCreated {
		t.Fatalf("POST: %d %s", r.code, r.body)
	}
	steps := []struct {
		action string
		code   int
		state  string // after a 200
		err    string // after a 409 or 404
	}{
		{"pause", 409, "", "campaign cn-repairs is draft: it cannot pause (from draft it may: activate, archive)"},
		{"resume", 409, "", "campaign cn-repairs is draft, not paused: it cannot be resumed (from draft it may: activate, archive)"},
		{"activate", 409, "", "campaign cn-repairs: survey not found: repair-parts-verification is not published"},
		{"publish", 0, "", ""},
		{"activate", 200, "active", ""},
		{"activate", 409, "", "campaign cn-repairs is active: it cannot activate (from active it may: pause, complete)"},
		{"archive", 409, "", "campaign cn-repairs is active: it cannot archive (from active it may: pause, complete)"},
		{"pause", 200, "paused", ""},
		{"resume", 200, "active", ""},
		{"resume", 409, "", "campaign cn-repairs is active, not paused: it cannot be resumed (from active it may: pause, complete)"},
		{"launch", 404, "", `no campaign action "launch": activate, pause, resume, complete or archive`},
		{"complete", 200, "completed", ""},
		{"archive", 200, "archived", ""},
		{"pause", 409, "", "campaign cn-repairs is archived: it cannot pause (nothing follows archived)"},
	}
	state := "draft"
	for i, s := range steps {
		if s.action == "publish" {
			defs, err := surveys.Shipped()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := surveys.NewStore(e.pool).Publish(context.Background(), defs["repair-parts-verification"]); err != nil {
				t.Fatal(err)
			}
			continue
		}
		r, c := e.campaign(t, "POST", "/cn-repairs/"+s.action, "")
		if r.code != s.code {
			t.Fatalf("step %d %s: status %d, want %d: %s", i, s.action, r.code, s.code, r.body)
		}
		if s.code != 200 {
			if c.Error != s.err {
				t.Fatalf("step %d %s: error %q, want %q", i, s.action, c.Error, s.err)
			}
			continue
		}
		if c.State != s.state || c.PreviousState != state || c.SurveyVersion != 1 {
			t.Fatalf("step %d %s: %s", i, s.action, r.body)
		}
		state = s.state
	}
	r, c := e.campaign(t, "POST", "/nope/pause", "")
	if r.code != http.StatusNotFound || c.Error != `no campaign "nope"` {
		t.Fatalf("action on an unknown campaign: %d %s", r.code, r.body)
	}
	r, c = e.campaign(t, "PUT", "/cn-repairs", cnRepairs)
	if r.code != http.StatusConflict || !strings.Contains(c.Error, "can no longer be changed (it is archived)") {
		t.Fatalf("PUT of an archived campaign: %d %s", r.code, r.body)
	}
	// Five moves made, each logged once, by the API.
	if n := e.campaignCount(t, `SELECT count(*) FROM audit_log WHERE action = 'campaign.state' AND actor = 'api:admin'`); n != 5 {
		t.Errorf("%d state changes logged, want 5", n)
	}
}
