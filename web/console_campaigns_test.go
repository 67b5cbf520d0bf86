package web

import (
	"bufio"
	"context"
	"errors"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/audit"
	"github.com/huifang/huifang/campaigns"
	"github.com/huifang/huifang/internal/testdb"
	"github.com/huifang/huifang/surveys"
	"github.com/huifang/huifang/workorders"
)

// campaignClock is the console's clock in these tests: Monday 2 March 2026,
// 00:00 UTC, which is 08:00 in Shanghai and Sunday 19:00 in New York.
var campaignClock = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

type campaignConsole struct {
	s    *Server
	ts   *httptest.Server
	pool *pgxpool.Pool
}

// newCampaignConsole serves the console on its own database with the
// repair survey published.
func newCampaignConsole(t *testing.T) campaignConsole {
	t.Helper()
	pool := testdb.New(t)
	now := func() time.Time { return campaignClock }
	s := &Server{
		Pool:       pool,
		WorkOrders: &workorders.Store{Pool: pool, Now: now},
		Campaigns:  &campaigns.Store{Pool: pool, Now: now},
		Log:        slog.New(slog.DiscardHandler),
		Now:        now,
	}
	def, err := surveys.ShippedScript("repair-parts-verification")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := surveys.NewStore(pool).Publish(context.Background(), def); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return campaignConsole{s: s, ts: ts, pool: pool}
}

func pageBody(t *testing.T, resp *http.Response, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// campaignForm is a valid form for a new campaign, as the browser posts it.
func campaignForm(csrf string) url.Values {
	return url.Values{
		"csrf": {csrf}, "name": {"gd-repairs"}, "description": {"Guangdong repairs"},
		"survey": {"repair-parts-verification"}, "channel": {"voice_then_sms"},
		"schedule": {"0 9 * * *"}, "time_zone": {"Asia/Shanghai"},
		"kinds": {"repair"}, "regions": {"CN-GD, CN-FJ"}, "completed_within_days": {"4"},
		"min_claim_value": {"150"}, "only_with_parts": {"on"}, "sampling_rate": {"0.3"},
		"always_above": {"800"}, "risky_providers": {"1"}, "trigger_after": {"2h"}, "trigger_within": {"4d"},
		"attempts_max": {"3"}, "attempts_per_day": {"2"}, "pace": {"5"}, "max_concurrent": {"40"},
		"from": {"+862038001234"},
	}
}

// errorDiv returns the text of the error element of field key, or "" when
// there is none.
func errorDiv(body, key string) string {
	m := regexp.MustCompile(`<div class="error" id="err-` + regexp.QuoteMeta(key) + `">([^<]*)</div>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func TestConsoleCampaignFormBadCronThenFixed(t *testing.T) {
	e := newCampaignConsole(t)
	ctx := context.Background()
	c := consoleLogin(t, e.ts, e.pool, "ops1", audit.RoleOps)
	csrf := csrfOf(t, c, e.ts, "/campaigns/new")

	// What the parser says of the bad cron, at its pointer.
	_, perr := campaigns.ParseDefinitionJSON([]byte(`{"name":"x","survey":"s","schedule":"0 25 * * *","from":["+862038001234"]}`))
	var fes campaigns.FieldErrors
	if !errors.As(perr, &fes) || len(fes) != 1 || fes[0].Pointer != "/schedule" {
		t.Fatalf("parser on a bad cron: %v", perr)
	}

	tests := []struct {
		name, schedule string
		wantCode       int
		wantErr        string
	}{
		{"hour 25", "0 25 * * *", http.StatusUnprocessableEntity, fes[0].Msg},
		{"valid", "0 9 * * *", http.StatusOK, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			form := campaignForm(csrf)
			form.Set("schedule", tc.schedule)
			resp, err := c.PostForm(e.ts.URL+"/campaigns", form)
			body := pageBody(t, resp, err)
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("status %d, want %d:\n%.600s", resp.StatusCode, tc.wantCode, body)
			}
			if got := errorDiv(body, "schedule"); got != tc.wantErr {
				t.Errorf("error next to the schedule: %q, want %q", got, tc.wantErr)
			}
			if tc.wantErr == "" {
				if resp.Request.URL.Path != "/campaigns/gd-repairs" {
					t.Errorf("ended at %s, want the campaign's page", resp.Request.URL.Path)
				}
				return
			}
			if !strings.Contains(tc.wantErr, "does not parse") {
				t.Errorf("message %q does not say the cron does not parse", tc.wantErr)
			}
			// Everything typed is kept, and only the schedule is at fault.
			for _, want := range []string{
				`id="f-schedule" name="schedule" value="0 25 * * *"`,
				`id="f-name" name="name" value="gd-repairs"`,
				`id="f-regions" name="regions" value="CN-GD, CN-FJ"`,
				`id="f-from" name="from" value="&#43;862038001234"`,
				`id="f-only_with_parts" name="only_with_parts" checked`,
				`<option value="voice_then_sms" selected>`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("the form lost %s", want)
				}
			}
			for _, k := range []string{"name", "regions", "from", "time_zone"} {
				if got := errorDiv(body, k); got != "" {
					t.Errorf("error next to %s: %q, want none", k, got)
				}
			}
			if _, err := e.s.Campaigns.Get(ctx, "gd-repairs"); !errors.Is(err, campaigns.ErrNotFound) {
				t.Errorf("a campaign was stored from a bad form: %v", err)
			}
		})
	}
	got, err := e.s.Campaigns.Get(ctx, "gd-repairs")
	if err != nil {
		t.Fatal(err)
	}
	d := got.Definition
	if d.Schedule != "0 9 * * *" || d.Channel != campaigns.ChannelVoiceThenSMS || d.Sampling.Rate != 0.3 ||
		d.Attempts.Max != 3 || d.Pace != 5 || d.MaxConcurrent != 40 || !d.Targeting.OnlyWithParts ||
		strings.Join(d.Targeting.Regions, ",") != "CN-GD,CN-FJ" || d.Trigger.Within.String() != "4d" {
		t.Errorf("stored definition %+v", d)
	}
	vs, err := e.s.Campaigns.Versions(ctx, "gd-repairs")
	if err != nil || len(vs) != 1 || vs[0].CreatedBy != "console:ops1" {
		t.Errorf("versions %+v, %v; want one by console:ops1", vs, err)
	}
	// A number that is not one is named next to its own field.
	form := campaignForm(csrf)
	form.Set("name", "other")
	form.Set("pace", "fast")
	resp, err := c.PostForm(e.ts.URL+"/campaigns", form)
	body := pageBody(t, resp, err)
	if resp.StatusCode != http.StatusUnprocessableEntity || errorDiv(body, "pace") == "" || errorDiv(body, "schedule") != "" {
		t.Errorf("pace \"fast\": %d, pace error %q, schedule error %q", resp.StatusCode, errorDiv(body, "pace"), errorDiv(body, "schedule"))
	}
}

func TestConsoleCampaignPreview(t *testing.T) {
	e := newCampaignConsole(t)
	c := consoleLogin(t, e.ts, e.pool, "ops1", audit.RoleOps)
	csrf := csrfOf(t, c, e.ts, "/campaigns/new")
	tests := []struct {
		zone     string
		wantDays []string
	}{
		{"Asia/Shanghai", []string{
			`<li class="today">2026-03-02 Mon: 09:00–12:00, 14:00–20:00</li>`,
			`<li>2026-03-08 Sun: 09:00–12:00, 14:00–20:00</li>`,
		}},
		// The US default is closed on Sundays; New York is still on Sunday.
		{"America/New_York", []string{
			`<li class="today">2026-03-01 Sun: closed</li>`,
			`<li>2026-03-02 Mon: 09:00–20:00</li>`,
			`<li>2026-03-07 Sat: 09:00–20:00</li>`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.zone, func(t *testing.T) {
			form := campaignForm(csrf)
			form.Set("preview", "1")
			form.Set("preview_zone", tc.zone)
			resp, err := c.PostForm(e.ts.URL+"/campaigns", form)
			body := pageBody(t, resp, err)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d:\n%.600s", resp.StatusCode, body)
			}
			want := `<ol id="next-runs"><li>2026-03-02 09:00 Mon (&#43;08:00)</li><li>2026-03-03 09:00 Tue (&#43;08:00)</li>` +
				`<li>2026-03-04 09:00 Wed (&#43;08:00)</li><li>2026-03-05 09:00 Thu (&#43;08:00)</li><li>2026-03-06 09:00 Fri (&#43;08:00)</li></ol>`
			if !strings.Contains(body, want) {
				t.Errorf("next runs: want %s in\n%s", want, body)
			}
			if !strings.Contains(body, `<ul id="window-preview">`) {
				t.Fatalf("no window preview")
			}
			for _, d := range tc.wantDays {
				if !strings.Contains(body, d) {
					t.Errorf("window preview lacks %s", d)
				}
			}
			if n := strings.Count(body[strings.Index(body, `<ul id="window-preview">`):], "<li"); n != 7 {
				t.Errorf("window preview has %d days, want 7", n)
			}
		})
	}
	if cs, err := e.s.Campaigns.List(context.Background()); err != nil || len(cs) != 0 {
		t.Errorf("a preview stored %d campaigns (%v)", len(cs), err)
	}
	// A bad zone is named next to the zone field.
	form := campaignForm(csrf)
	form.Set("preview", "1")
	form.Set("preview_zone", "Mars/Olympus")
	resp, err := c.PostForm(e.ts.URL+"/campaigns", form)
	body := pageBody(t, resp, err)
	if got := errorDiv(body, "preview_zone"); !strings.Contains(got, `unknown time zone "Mars/Olympus"`) {
		t.Errorf("bad zone: %d, error %q", resp.StatusCode, got)
	}
}

func TestConsoleCampaignEditorRoles(t *testing.T) {
	e := newCampaignConsole(t)
	tests := []struct {
		role audit.Role
		want int
	}{
		{audit.RoleReviewer, http.StatusForbidden},
		{audit.RoleReadonly, http.StatusForbidden},
		{audit.RoleOps, http.StatusOK},
		{audit.RoleAdmin, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(string(tc.role), func(t *testing.T) {
			c := consoleLogin(t, e.ts, e.pool, "u-"+string(tc.role), tc.role)
			resp, err := c.Get(e.ts.URL + "/campaigns/new")
			body := pageBody(t, resp, err)
			if resp.StatusCode != tc.want {
				t.Fatalf("GET /campaigns/new as %s: %d, want %d", tc.role, resp.StatusCode, tc.want)
			}
			if forbidden := strings.Contains(body, `id="forbidden"`); forbidden != (tc.want == http.StatusForbidden) {
				t.Errorf("forbidden page shown: %v", forbidden)
			}
			if tc.want == http.StatusOK && !strings.Contains(body, `id="f-schedule"`) {
				t.Errorf("the editor has no schedule field")
			}
			// Any role sees the list.
			resp, err = c.Get(e.ts.URL + "/campaigns")
			pageBody(t, resp, err)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET /campaigns as %s: %d", tc.role, resp.StatusCode)
			}
		})
	}
}

// insertContacts adds contacts to a campaign: queued ones and done ones
// with an outcome.
func insertContacts(t *testing.T, pool *pgxpool.Pool, campaignID int64, queued, completed int) {
	t.Helper()
	_, err := pool.Exec(context.Background(), `
INSERT INTO contacts (campaign_id, work_order_id, phone_e164, zones, lang, state, outcome, channel, next_at, expires_at)
SELECT $1, 1000 + g, '+8613800000' || lpad(g::text, 3, '0'), '{Asia/Shanghai}', 'zh-CN',
       CASE WHEN g <= $2::int THEN 'queued' ELSE 'done' END,
       CASE WHEN g <= $2::int THEN NULL ELSE 'completed' END,
       'voice', $4, $4::timestamptz + interval '4 days'
FROM generate_series(1, $2::int + $3::int) g`, campaignID, queued, completed, campaignClock)
	if err != nil {
		t.Fatal(err)
	}
}

func TestConsoleCampaignStateAndProgress(t *testing.T) {
	e := newCampaignConsole(t)
	ctx := context.Background()
	def, err := campaigns.ParseDefinitionJSON([]byte(`{"name":"cn-repairs","survey":"repair-parts-verification",
 "schedule":"0 9 * * *","time_zone":"Asia/Shanghai","from":["+862038001234"]}`))
	if err != nil {
		t.Fatal(err)
	}
	camp, err := e.s.Campaigns.Create(ctx, def, "{}", "test")
	if err != nil {
		t.Fatal(err)
	}
	insertContacts(t, e.pool, camp.ID, 2, 1)
	c := consoleLogin(t, e.ts, e.pool, "ops1", audit.RoleOps)
	csrf := csrfOf(t, c, e.ts, "/campaigns/cn-repairs")

	steps := []struct {
		to        string
		wantCode  int
		wantState campaigns.State
	}{
		{"activate", http.StatusOK, campaigns.StateActive},
		{"resume", http.StatusConflict, campaigns.StateActive}, // not paused
		{"pause", http.StatusOK, campaigns.StatePaused},
		{"pause", http.StatusConflict, campaigns.StatePaused},
		{"resume", http.StatusOK, campaigns.StateActive},
	}
	for i, st := range steps {
		resp, err := c.PostForm(e.ts.URL+"/campaigns/cn-repairs/state", url.Values{"csrf": {csrf}, "to": {st.to}})
		body := pageBody(t, resp, err)
		if resp.StatusCode != st.wantCode {
			t.Fatalf("step %d %s: %d, want %d:\n%.500s", i, st.to, resp.StatusCode, st.wantCode, body)
		}
		if !strings.Contains(body, `<span class="state-`+string(st.wantState)+`" id="state">`) {
			t.Errorf("step %d %s: page does not show state %s", i, st.to, st.wantState)
		}
		if st.wantCode == http.StatusConflict && !strings.Contains(body, `id="action-error"`) {
			t.Errorf("step %d %s: refused without saying why", i, st.to)
		}
		got, err := e.s.Campaigns.Get(ctx, "cn-repairs")
		if err != nil || got.State != st.wantState {
			t.Errorf("step %d %s: stored state %s (%v), want %s", i, st.to, got.State, err, st.wantState)
		}
	}
	var actors int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE subject_id = 'cn-repairs' AND actor = 'console:ops1'`).Scan(&actors); err != nil || actors != 3 {
		t.Errorf("audit entries by console:ops1: %d (%v), want 3", actors, err)
	}

	// The page shows the progress, its live source, and the next runs.
	resp, err := c.Get(e.ts.URL + "/campaigns/cn-repairs")
	body := pageBody(t, resp, err)
	for _, want := range []string{
		`<div id="progress" data-live="/campaigns/cn-repairs/events">`,
		`<span id="p-queued">2</span>`, `<span id="p-done">1</span>`, `<li>completed: 1</li>`,
		`<li>2026-03-02 09:00 Mon (&#43;08:00)</li>`,
		`<tr id="version-1"><td>1</td><td>test</td>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("campaign page lacks %s", want)
		}
	}
	// The list counts the queue in one row per campaign.
	resp, err = c.Get(e.ts.URL + "/campaigns")
	body = pageBody(t, resp, err)
	if want := `<td class="queued">2</td><td class="dialing">0</td><td class="done">1</td><td class="answer-rate">–</td>`; !strings.Contains(body, want) {
		t.Errorf("list lacks %s:\n%s", want, body)
	}

	// Server-sent events: the progress block at once, a data line per line.
	eventInterval = 50 * time.Millisecond
	t.Cleanup(func() { eventInterval = 2 * time.Second })
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, http.MethodGet, e.ts.URL+"/campaigns/cn-repairs/events", nil)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	rd := bufio.NewReader(resp.Body)
	event := func() string {
		var data []string
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				t.Fatalf("reading the stream: %v", err)
			}
			line = strings.TrimSuffix(line, "\n")
			if line == "" {
				return strings.Join(data, "\n")
			}
			if !strings.HasPrefix(line, "data: ") {
				t.Fatalf("line %q is not a data line", line)
			}
			data = append(data, strings.TrimPrefix(line, "data: "))
		}
	}
	first := event()
	if !strings.Contains(first, `<span id="p-queued">2</span>`) || !strings.Contains(first, `<li>completed: 1</li>`) {
		t.Errorf("first event:\n%s", first)
	}
	if strings.Count(first, "\n") < 2 {
		t.Errorf("the fragment came as %d lines; want one data line per line", strings.Count(first, "\n")+1)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE contacts SET state = 'dialing' WHERE campaign_id = $1 AND work_order_id = 1001`, camp.ID); err != nil {
		t.Fatal(err)
	}
	// An event computed before the change may already be on its way; the
	// change shows within a few.
	changed := false
	for range 20 {
		next := event()
		if strings.Contains(next, `<span id="p-queued">1</span>`) && strings.Contains(next, `<span id="p-dialing">1</span>`) {
			changed = true
			break
		}
	}
	if !changed {
		t.Errorf("no event carried the change")
	}
	cancel()
}

func TestSSEEvent(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<p>a</p>", "data: <p>a</p>\n\n"},
		{"<div>\n<p>a</p>\r\n</div>\n", "data: <div>\ndata: <p>a</p>\ndata: </div>\n\n"},
	}
	for _, tc := range tests {
		if got := string(sseEvent(tc.in)); got != tc.want {
			t.Errorf("sseEvent(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

var (
	promptRe = regexp.MustCompile(`<p id="prompt" class="prompt">([^<]*)</p>`)
	runRe    = regexp.MustCompile(`name="run" id="run" value="([^"]*)"`)
)

func TestConsoleSurveyPreviewWalk(t *testing.T) {
	e := newCampaignConsole(t)
	c := consoleLogin(t, e.ts, e.pool, "rev1", audit.RoleReviewer)
	const base = "/surveys/repair-parts-verification/preview"
	resp, err := c.Get(e.ts.URL + base + "?lang=zh-CN&channel=voice&kind=repair")
	body := pageBody(t, resp, err)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET preview: %d:\n%.500s", resp.StatusCode, body)
	}
	csrf := csrfField.FindStringSubmatch(body)[1]
	// Each reply, and the exact words heard after it.
	walk := []struct{ reply, prompt string }{
		{"", "您好，这里是Acme客服，就您3月14日的热水器维修回访，通话将被录音，约1分钟。继续请按1；不希望再接到回访请随时按9。"},
		{"1", "3月14日前后是否有师傅上门维修您的热水器？是请按1，否请按2，不确定请按3。"},
		{"7", "抱歉，您的输入无效。3月14日前后是否有师傅上门维修您的热水器？是请按1，否请按2，不确定请按3。"},
		{"1", "师傅是否为您更换了配件？是请按1，否请按2，不清楚请按3。"},
		{"1", "是否更换了加热管？是请按1，否请按2，不清楚请按3。"},
		{"1", "是否更换了温控器？是请按1，否请按2，不清楚请按3。"},
		{"1", "本次维修是否向您收取了任何费用？没有请按1，有请按2。"},
		{"1", "故障现在是否已排除？是请按1，否请按2。"},
		{"1", "您对本次维修服务满意吗？请按1到5，1为非常不满意，5为非常满意。"},
		{"5", "感谢您的配合，再见。"},
	}
	for i, step := range walk {
		if i > 0 {
			run := html.UnescapeString(runRe.FindStringSubmatch(body)[1])
			resp, err = c.PostForm(e.ts.URL+base, url.Values{"csrf": {csrf}, "lang": {"zh-CN"}, "channel": {"voice"},
				"kind": {"repair"}, "run": {run}, "reply": {step.reply}})
			body = pageBody(t, resp, err)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("reply %d %q: %d:\n%.500s", i, step.reply, resp.StatusCode, body)
			}
		}
		m := promptRe.FindStringSubmatch(body)
		if m == nil || html.UnescapeString(m[1]) != step.prompt {
			t.Fatalf("after reply %d %q: prompt %q, want %q", i, step.reply, m, step.prompt)
		}
	}
	for _, want := range []string{
		`<strong id="end-reason">completed</strong>`,
		"csat = 5", "part_confirmed[HE-01] = yes", "visit_confirmed = yes",
		`<div class="reply">→ keys 7</div><div class="note muted">(not accepted: not_a_choice)</div>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the ended preview lacks %s", want)
		}
	}
	if n := strings.Count(body, `<li class="turn">`); n != 9 {
		t.Errorf("transcript has %d turns, want 9", n)
	}
	var sessions int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM survey_sessions`).Scan(&sessions); err != nil || sessions != 0 {
		t.Errorf("the preview stored %d sessions (%v)", sessions, err)
	}
}

func TestConsoleSurveyPreviewBadState(t *testing.T) {
	e := newCampaignConsole(t)
	c := consoleLogin(t, e.ts, e.pool, "rev1", audit.RoleReviewer)
	const base = "/surveys/repair-parts-verification/preview"
	resp, err := c.Get(e.ts.URL + base + "?lang=en&channel=voice&kind=repair")
	body := pageBody(t, resp, err)
	csrf := csrfField.FindStringSubmatch(body)[1]
	post := func(run string) (int, string) {
		resp, err := c.PostForm(e.ts.URL+base, url.Values{"csrf": {csrf}, "lang": {"en"}, "channel": {"voice"},
			"kind": {"repair"}, "run": {run}, "reply": {"1"}})
		b := pageBody(t, resp, err)
		return resp.StatusCode, b
	}
	code, body := post(html.UnescapeString(runRe.FindStringSubmatch(body)[1]))
	if code != http.StatusOK {
		t.Fatalf("untampered: %d", code)
	}
	good := html.UnescapeString(runRe.FindStringSubmatch(body)[1]) // one answer in
	if !strings.Contains(good, `"raw":"1"`) {
		t.Fatalf("state after one reply: %s", good)
	}
	tests := []struct {
		name, run string
		want      int
	}{
		{"as sent", good, http.StatusOK},
		{"entry edited", strings.Replace(good, `"raw":"1"`, `"raw":"2"`, 1), http.StatusBadRequest},
		{"other survey", strings.Replace(good, `"survey":"repair-parts-verification"`, `"survey":"satisfaction"`, 1), http.StatusBadRequest},
		{"reply kind", strings.Replace(good, `"kind":"digits"`, `"kind":"telepathy"`, 1), http.StatusBadRequest},
		{"unknown field", strings.Replace(good, `{"state"`, `{"admin":true,"state"`, 1), http.StatusBadRequest},
		{"not JSON", `{"state":`, http.StatusBadRequest},
		{"text into a call", strings.Replace(good, `"kind":"digits"`, `"kind":"text"`, 1), http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := post(tc.run)
			if code != tc.want {
				t.Fatalf("status %d, want %d:\n%.500s", code, tc.want, body)
			}
			if tc.want == http.StatusBadRequest && !strings.Contains(body, "Start the preview again.") {
				t.Errorf("400 without the reason:\n%.500s", body)
			}
		})
	}
	// Parameters the survey does not offer are named.
	resp, err = c.Get(e.ts.URL + base + "?lang=fr&channel=voice")
	body = pageBody(t, resp, err)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Parameter lang: &#34;fr&#34;") {
		t.Errorf("lang=fr: %d:\n%.400s", resp.StatusCode, body)
	}
}

// jobFixture is three jobs: two recent, one 60 days old whose customer's
// number ends like the first's.
type jobFixture struct{ ids [3]int64 }

func insertJobs(t *testing.T, pool *pgxpool.Pool) jobFixture {
	t.Helper()
	ctx := context.Background()
	var f jobFixture
	q := func(sql string, args ...any) int64 {
		var id int64
		if err := pool.QueryRow(ctx, sql, args...).Scan(&id); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return id
	}
	src := q(`INSERT INTO intake_sources (name, kind) VALUES ('crm', 'api') RETURNING id`)
	gz := q(`INSERT INTO providers (code, name) VALUES ('GZ-01', 'Guangzhou One') RETURNING id`)
	sz := q(`INSERT INTO providers (code, name) VALUES ('SZ-02', 'Shenzhen Two') RETURNING id`)
	jobs := []struct {
		ext, phone string
		provider   int64
		ago        time.Duration
	}{
		{"WO-1001", "+8613800001234", gz, 48 * time.Hour},
		{"WO-1002", "+8613900005678", sz, 72 * time.Hour},
		{"WO-1003", "+8613700001234", gz, 60 * 24 * time.Hour},
	}
	for i, j := range jobs {
		cust := q(`INSERT INTO customers (source_id, external_id, phone_e164, tz, lang, region)
VALUES ($1, $2, $3, 'Asia/Shanghai', 'zh-CN', 'CN-GD') RETURNING id`, src, "C-"+j.ext, j.phone)
		f.ids[i] = q(`INSERT INTO work_orders (source_id, external_id, kind, completed_at, customer_id, provider_id,
 product_category, product_model, warranty_status, currency, labour_amount, parts_amount)
VALUES ($1, $2, 'repair', $3, $4, $5, 'water_heater', 'WH-60', 'in_warranty', 'CNY', 80, 180) RETURNING id`,
			src, j.ext, campaignClock.Add(-j.ago), cust, j.provider)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO claimed_parts (work_order_id, line, part_code, name_en, name_zh, quantity, unit_cost)
VALUES ($1, 1, 'HE-01', 'heating element', '加热管', 1, 180)`, f.ids[0]); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestConsoleJobsSearch(t *testing.T) {
	e := newCampaignConsole(t)
	f := insertJobs(t, e.pool)
	ops := consoleLogin(t, e.ts, e.pool, "ops1", audit.RoleOps)
	row := func(i int) string { return `<tr id="job-` + strconv.FormatInt(f.ids[i], 10) + `">` }
	tests := []struct {
		name, query string
		want        int
		rows        []int // indexes of the jobs found, in order
		text        string
	}{
		{"external id", "q=WO-1002", 200, []int{1}, "Jobs with this external id."},
		{"external id, near miss", "q=WO-100", 200, nil, `id="no-jobs"`},
		{"last 4, any date", "q=1234", 200, []int{0, 2}, "Jobs of customers whose phone ends in these digits."},
		{"last 4, old range", "q=1234&from=2025-12-20&to=2026-01-10", 200, []int{2}, ""},
		{"last 4, a long range", "q=1234&from=2025-12-01&to=2026-03-02", 200, []int{0, 2}, ""},
		{"last 4, the last days", "q=1234&from=2026-02-24", 200, []int{0}, ""},
		{"last 4, near miss", "q=1235", 200, nil, `id="no-jobs"`},
		{"last 4 of a provider", "q=1234&provider=GZ-01&from=2025-12-20&to=2026-01-10", 200, []int{2}, ""},
		{"last 4 of another provider", "q=1234&provider=SZ-02&from=2025-12-20&to=2026-01-10", 200, nil, `id="no-jobs"`},
		{"provider code", "q=GZ-01", 200, []int{0, 2}, "Jobs of provider GZ-01."},
		{"provider filter and kind", "provider=SZ-02&kind=repair", 200, []int{1}, ""},
		{"full phone", "q=%2B8613900005678", 200, []int{1}, "Jobs of this phone number."},
		{"bad date", "from=March", 400, nil, `id="err-from"`},
		{"unknown provider", "provider=XX-99", 400, nil, `<div class="error" id="err-provider">There is no provider with code &#34;XX-99&#34;.</div>`},
		{"everything, newest first", "", 200, []int{0, 1, 2}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := ops.Get(e.ts.URL + "/jobs?" + tc.query)
			body := pageBody(t, resp, err)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d:\n%.500s", resp.StatusCode, tc.want, body)
			}
			if tc.text != "" && !strings.Contains(body, tc.text) {
				t.Errorf("page lacks %s", tc.text)
			}
			last := -1
			for i := range f.ids {
				at := strings.Index(body, row(i))
				want := -1
				for k, r := range tc.rows {
					if r == i {
						want = k
					}
				}
				if (at >= 0) != (want >= 0) {
					t.Errorf("job %d shown: %v, want %v", i, at >= 0, want >= 0)
				}
			}
			for _, i := range tc.rows {
				at := strings.Index(body, row(i))
				if at < last {
					t.Errorf("job %d out of order", i)
				}
				last = at
			}
		})
	}
	// Phones are masked except for admins.
	resp, err := ops.Get(e.ts.URL + "/jobs?q=WO-1001")
	body := pageBody(t, resp, err)
	if strings.Contains(body, "+8613800001234") || !strings.Contains(body, `<td class="phone">&#43;86138****1234</td>`) {
		t.Errorf("ops sees the phone unmasked or not at all")
	}
	admin := consoleLogin(t, e.ts, e.pool, "admin1", audit.RoleAdmin)
	resp, err = admin.Get(e.ts.URL + "/jobs?q=WO-1001")
	body = pageBody(t, resp, err)
	if !strings.Contains(body, `<td class="phone">&#43;8613800001234</td>`) {
		t.Errorf("admin does not see the full phone")
	}
}

func TestConsoleJobPage(t *testing.T) {
	e := newCampaignConsole(t)
	f := insertJobs(t, e.pool)
	ctx := context.Background()
	var flagID int64
	if err := e.pool.QueryRow(ctx, `
INSERT INTO flags (work_order_id, provider_id, rule, severity, priority, source, summary, raised_at, due_at, updated_at)
SELECT id, provider_id, 'V3', 'high', 2, 'answers', 'customer says no part was replaced', $2, $2, $2
FROM work_orders WHERE id = $1 RETURNING id`, f.ids[0], campaignClock).Scan(&flagID); err != nil {
		t.Fatal(err)
	}
	c := consoleLogin(t, e.ts, e.pool, "rev1", audit.RoleReviewer)
	tests := []struct {
		path  string
		want  int
		texts []string
	}{
		{"/jobs/" + strconv.FormatInt(f.ids[0], 10), 200, []string{
			"WO-1001", "<td>HE-01</td><td>heating element</td><td>1</td><td>180.00</td>",
			`<a href="/flags/` + strconv.FormatInt(flagID, 10) + `" id="flag-` + strconv.FormatInt(flagID, 10) + `">V3</a>`,
			"customer says no part was replaced", `<td id="phone">&#43;86138****1234</td>`,
		}},
		{"/jobs/" + strconv.FormatInt(f.ids[1], 10), 200, []string{"WO-1002"}},
		{"/jobs/999999", 404, []string{"There is no job 999999."}},
		{"/jobs/abc", 400, []string{"&#34;abc&#34; is not a job id."}},
	}
	for _, tc := range tests {
		resp, err := c.Get(e.ts.URL + tc.path)
		body := pageBody(t, resp, err)
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.path, resp.StatusCode, tc.want)
			continue
		}
		for _, s := range tc.texts {
			if !strings.Contains(body, s) {
				t.Errorf("%s lacks %s", tc.path, s)
			}
		}
	}
	// The second job has no flags: the first's does not leak onto it.
	resp, err := c.Get(e.ts.URL + "/jobs/" + strconv.FormatInt(f.ids[1], 10))
	if body := pageBody(t, resp, err); strings.Contains(body, "/flags/") {
		t.Errorf("job 2 shows a flag")
	}
}

func TestFieldOfAndDefinitionJSON(t *testing.T) {
	for ptr, want := range map[string]string{
		"/schedule": "schedule", "/from/1": "from", "/targeting/kinds/0": "kinds",
		"/sampling/rate": "sampling_rate", "/window/hours": "", "": "", "/attempts/maxx": "",
	} {
		if got := fieldOf(ptr); got != want {
			t.Errorf("fieldOf(%q) = %q, want %q", ptr, got, want)
		}
	}
	// Editing keeps what the form does not show, and drops emptied fields.
	base := map[string]any{"window": "keep", "sampling": map[string]any{"rate": 0.5, "always_above": 9.0}}
	vals := map[string]string{"sampling_rate": "0.25", "always_above": "", "pace": "x1", "only_with_parts": ""}
	b, err := definitionJSON(base, vals)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"pace":"x1","sampling":{"rate":0.25},"targeting":{"only_with_parts":false},"window":"keep"}`
	if string(b) != want {
		t.Errorf("definitionJSON = %s, want %s", b, want)
	}
}

func TestConsoleCampaignEdit(t *testing.T) {
	e := newCampaignConsole(t)
	ctx := context.Background()
	def, err := campaigns.ParseDefinitionJSON([]byte(`{"name":"cn-repairs","survey":"repair-parts-verification",
 "schedule":"30 10 * * 1-5","time_zone":"Asia/Shanghai","from":["+862038001234"],
 "window":{"hours":{"mon-fri":["10:00-12:00"]}},"attempts":{"spacing":{"busy":"45m"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Campaigns.Create(ctx, def, "{}", "test"); err != nil {
		t.Fatal(err)
	}
	c := consoleLogin(t, e.ts, e.pool, "ops1", audit.RoleOps)
	resp, err := c.Get(e.ts.URL + "/campaigns/cn-repairs/edit")
	body := pageBody(t, resp, err)
	for _, want := range []string{
		`id="f-name" name="name" value="cn-repairs" readonly`,
		`id="f-schedule" name="schedule" value="30 10 * * 1-5"`,
		`<li>2026-03-02 10:30 Mon (&#43;08:00)</li>`,
		// The campaign's own window, not the default.
		`<li class="today">2026-03-02 Mon: 10:00–12:00</li>`, `<li>2026-03-07 Sat: closed</li>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("edit page lacks %s", want)
		}
	}
	csrf := csrfField.FindStringSubmatch(body)[1]
	tests := []struct {
		name        string
		set         map[string]string
		wantCode    int
		errField    string
		wantVersion int
	}{
		{"eleven attempts", map[string]string{"attempts_max": "11"}, http.StatusUnprocessableEntity, "attempts_max", 1},
		{"renamed", map[string]string{"name": "other", "pace": "7"}, http.StatusOK, "", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			form := campaignForm(csrf)
			form.Set("name", "cn-repairs")
			form.Set("schedule", "30 10 * * 1-5")
			for k, v := range tc.set {
				form.Set(k, v)
			}
			resp, err := c.PostForm(e.ts.URL+"/campaigns/cn-repairs", form)
			body := pageBody(t, resp, err)
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("status %d, want %d:\n%.500s", resp.StatusCode, tc.wantCode, body)
			}
			if tc.errField != "" && errorDiv(body, tc.errField) == "" {
				t.Errorf("no error next to %s", tc.errField)
			}
			got, err := e.s.Campaigns.Get(ctx, "cn-repairs")
			if err != nil || got.Version != tc.wantVersion {
				t.Fatalf("version %d (%v), want %d", got.Version, err, tc.wantVersion)
			}
			if tc.wantCode == http.StatusOK {
				d := got.Definition
				if d.Pace != 7 || d.Window == nil || d.Window.Hours[1][0].String() != "10:00-12:00" ||
					d.Attempts.Spacing.Busy.String() != "45m" {
					t.Errorf("update lost what the form does not show: pace %v window %v busy %s", d.Pace, d.Window, d.Attempts.Spacing.Busy)
				}
				if _, err := e.s.Campaigns.Get(ctx, "other"); !errors.Is(err, campaigns.ErrNotFound) {
					t.Errorf("the form renamed the campaign")
				}
			}
		})
	}
}
