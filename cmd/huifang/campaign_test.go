package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/internal/testdb"
	"github.com/huifang/huifang/surveys"
	"github.com/huifang/huifang/workorders"
	"github.com/huifang/huifang/workorders/sample"
)

// campaignNow is the clock of these tests: Wednesday 25 November 2026,
// 22:00 in Shanghai, after the day's calling window has closed there.
var campaignNow = time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)

// cnRepairs is a valid campaign: Chinese customers, the China default
// window, enrolling at 09:00 Shanghai time.
const cnRepairs = `# Chinese customers, default window.
name: cn-repairs
survey: repair-parts-verification
targeting:
  regions: [CN]
schedule: "0 9 * * *"
time_zone: Asia/Shanghai
from: ["+862038001234"]
`

// campaignEnv is one test's database, loaded with sample jobs, and a
// directory for definition files.
type campaignEnv struct {
	dbURL string
	pool  *pgxpool.Pool
	dir   string
}

func newCampaignEnv(t *testing.T) campaignEnv {
	t.Helper()
	ctx := context.Background()
	dbURL := testdb.NewURL(t)
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	wo := &workorders.Store{Pool: pool}
	src, err := wo.EnsureSource(ctx, "sample", "file", workorders.Defaults{Region: "CN"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sample.Load(ctx, wo, src, sample.Config{Seed: 7, Jobs: 80, Now: campaignNow}); err != nil {
		t.Fatal(err)
	}
	return campaignEnv{dbURL: dbURL, pool: pool, dir: t.TempDir()}
}

// file writes a definition file and returns its path.
func (e campaignEnv) file(t *testing.T, name, src string) string {
	t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// run runs `huifang ARGS…` in this process the way main does — an error is
// printed to stderr as "huifang: …" and decides the exit code — against
// the test's database, as user "tester".
func (e campaignEnv) run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	env := map[string]string{"DATABASE_URL": e.dbURL, "HUIFANG_LOG_LEVEL": "warn", "USER": "tester"}
	var out, errOut strings.Builder
	c := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, getenv: func(k string) string { return env[k] }}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := c.run(ctx, args)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(&errOut, "huifang:", err)
		}
		code = exitCode(err)
	}
	return out.String(), errOut.String(), code
}

// mustRun runs the CLI and fails the test unless it succeeds.
func (e campaignEnv) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, code := e.run(t, args...)
	if code != 0 {
		t.Fatalf("huifang %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout
}

func (e campaignEnv) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// publishShipped publishes a shipped survey script as surveys would.
func (e campaignEnv) publishShipped(t *testing.T, name string) {
	t.Helper()
	defs, err := surveys.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	def, ok := defs[name]
	if !ok {
		t.Fatalf("no shipped survey %s", name)
	}
	if _, err := surveys.NewStore(e.pool).Publish(context.Background(), def); err != nil {
		t.Fatal(err)
	}
}

// A broken file is refused with every problem at its line and column, the
// command exits 1, and nothing is stored.
func TestCampaignCreateRejectsBrokenFile(t *testing.T) {
	t.Parallel()
	e := newCampaignEnv(t)
	file := e.file(t, "broken.yaml", `name: cn-repairs
survey: repair-parts-verification
schedule: "0 25 * * *"
attempts:
  max: 0
  per-day: 1
from: ["020-3800-1234"]
`)
	stdout, stderr, code := e.run(t, "campaign", "create", file)
	want := file + `:3:11: schedule: "0 25 * * *" does not parse: end of range (25) above maximum (23): 25; write five fields (minute hour day-of-month month day-of-week), e.g. "0 9 * * *", or a descriptor such as @hourly or @every 6h [schedule]
` + file + `:5:8: attempts.max: must be between 1 and 10 [value]
` + file + `:6:3: attempts.per-day: unknown key (did you mean "per_day"?) [unknown-key]
` + file + `:7:8: from[0]: must be an E.164 number such as +8613800138000, not "020-3800-1234" [phone]
huifang: campaign create: ` + file + ` has 4 problems; nothing stored
`
	if code != 1 || stderr != want || stdout != "" {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s\nwant stderr:\n%s", code, stdout, stderr, want)
	}
	if n := e.count(t, `SELECT count(*) FROM campaigns`); n != 0 {
		t.Fatalf("%d campaigns stored from a broken file", n)
	}

	// A file that is not there is named.
	_, stderr, code = e.run(t, "campaign", "create", filepath.Join(e.dir, "missing.yaml"))
	if code != 1 || !strings.Contains(stderr, "missing.yaml: no such file") {
		t.Fatalf("missing file: exit %d, %s", code, stderr)
	}
	// So are mistakes on the command line.
	_, stderr, code = e.run(t, "campaign", "create")
	if code != 2 || !strings.Contains(stderr, "campaign create: give one FILE.yaml") {
		t.Fatalf("no file: exit %d, %s", code, stderr)
	}
	_, stderr, code = e.run(t, "campaign", "launch", "cn-repairs")
	if code != 2 || !strings.Contains(stderr, `unknown subcommand "launch"`) {
		t.Fatalf("unknown subcommand: exit %d, %s", code, stderr)
	}
}

// A campaign's life from the command line: create, update, list, show, and
// every state change, each logged with the person at the terminal.
func TestCampaignLifecycle(t *testing.T) {
	t.Parallel()
	e := newCampaignEnv(t)
	file := e.file(t, "cn-repairs.yaml", cnRepairs)
	now := "--now=" + campaignNow.Format(time.RFC3339)

	out := e.mustRun(t, "campaign", "create", file, now)
	wantCreate := `campaign cn-repairs created: state draft, version 1
next enrolment runs (Asia/Shanghai, schedule "0 9 * * *"):
  Thu 2026-11-26 09:00 CST   2026-11-26 01:00Z
  Fri 2026-11-27 09:00 CST   2026-11-27 01:00Z
  Sat 2026-11-28 09:00 CST   2026-11-28 01:00Z
  Sun 2026-11-29 09:00 CST   2026-11-29 01:00Z
  Mon 2026-11-30 09:00 CST   2026-11-30 01:00Z
`
	if out != wantCreate {
		t.Fatalf("create said\n%s\nwant\n%s", out, wantCreate)
	}
	_, stderr, code := e.run(t, "campaign", "create", file)
	if code != 1 || !strings.Contains(stderr, "create campaign cn-repairs: a campaign with this name already exists") {
		t.Fatalf("second create: exit %d, %s", code, stderr)
	}

	// The same content in another layout is no new version; a change is.
	e.file(t, "cn-repairs.yaml", "# reformatted\n"+cnRepairs+"pace: 1\n")
	out = e.mustRun(t, "campaign", "update", file, now)
	if out != "campaign cn-repairs unchanged: the file means the same as version 1 (state draft)\n" {
		t.Fatalf("update with the same content said %q", out)
	}
	e.file(t, "cn-repairs.yaml", cnRepairs+"pace: 2.5\n")
	out = e.mustRun(t, "campaign", "update", file, now)
	if !strings.HasPrefix(out, "campaign cn-repairs updated: version 2, state draft\nnext enrolment runs") {
		t.Fatalf("update said %q", out)
	}
	other := e.file(t, "other.yaml", strings.Replace(cnRepairs, "name: cn-repairs", "name: us-installs", 1))
	_, stderr, code = e.run(t, "campaign", "update", other)
	if code != 1 || !strings.Contains(stderr, "campaign us-installs: campaign not found (use `huifang campaign create FILE`") {
		t.Fatalf("update of an unknown campaign: exit %d, %s", code, stderr)
	}

	out = e.mustRun(t, "campaign", "list")
	wantList := regexp.MustCompile(`(?m)^NAME +STATE +VERSION +SURVEY +CHANNEL +PACE +QUEUED +DIALING +DONE\n` +
		`cn-repairs +draft +2 +repair-parts-verification +voice +2\.5/s +0 +0 +0\n\z`)
	if !wantList.MatchString(out) {
		t.Fatalf("list:\n%s", out)
	}

	// Activation pins the latest published survey; with none it is refused.
	_, stderr, code = e.run(t, "campaign", "activate", "cn-repairs")
	if code != 1 || !strings.Contains(stderr, "campaign cn-repairs: survey not found: repair-parts-verification is not published (publish the survey") {
		t.Fatalf("activate before the survey is published: exit %d, %s", code, stderr)
	}
	e.publishShipped(t, "repair-parts-verification")
	out = e.mustRun(t, "campaign", "activate", "cn-repairs")
	if out != "campaign cn-repairs: draft → active\nsurvey repair-parts-verification version 1 pinned\n" {
		t.Fatalf("activate said %q", out)
	}
	if out = e.mustRun(t, "campaign", "pause", "cn-repairs"); out != "campaign cn-repairs: active → paused\n" {
		t.Fatalf("pause said %q", out)
	}
	if out = e.mustRun(t, "campaign", "resume", "cn-repairs"); out != "campaign cn-repairs: paused → active\n" {
		t.Fatalf("resume said %q", out)
	}

	// Moves the state machine does not allow are refused with the reason
	// and the moves that are allowed, and change nothing.
	for _, tc := range []struct{ verb, want string }{
		{"archive", "huifang: campaign cn-repairs: cannot archive: it is active (from active it may: pause, complete)\n"},
		{"resume", "huifang: campaign cn-repairs: cannot resume: it is active, not paused (from active it may: pause, complete)\n"},
		{"activate", "huifang: campaign cn-repairs: cannot activate: it is active (from active it may: pause, complete)\n"},
	} {
		_, stderr, code := e.run(t, "campaign", tc.verb, "cn-repairs")
		if code != 1 || stderr != tc.want {
			t.Errorf("%s an active campaign: exit %d\n%s\nwant\n%s", tc.verb, code, stderr, tc.want)
		}
	}
	_, stderr, code = e.run(t, "campaign", "pause", "no-such-campaign")
	if code != 1 || stderr != "huifang: campaign no-such-campaign: campaign not found\n" {
		t.Fatalf("pause an unknown campaign: exit %d, %q", code, stderr)
	}

	out = e.mustRun(t, "campaign", "show", "cn-repairs", now)
	for _, want := range []string{
		"campaign cn-repairs\nstate:    active\nversion:  2 ",
		"survey:   repair-parts-verification version 1 (pinned)\n",
		"  name: cn-repairs\n  survey: repair-parts-verification\n  targeting:\n    regions: [CN]\n",
		"  schedule: 0 9 * * *\n  time_zone: Asia/Shanghai\n",
		"  attempts:\n    max: 3\n    per_day: 2\n",
		"  pace: 2.5\n",
		"# window: the default for each recipient's language",
		"  Thu 2026-11-26 09:00 CST   2026-11-26 01:00Z\n",
		"\ncontacts: 0\n",
		"\nattempts: 0\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}

	if out = e.mustRun(t, "campaign", "complete", "cn-repairs"); out != "campaign cn-repairs: active → completed\n" {
		t.Fatalf("complete said %q", out)
	}
	_, stderr, code = e.run(t, "campaign", "update", file)
	if code != 1 || !strings.Contains(stderr, "update campaign cn-repairs: the campaign is completed or archived and can no longer be changed (it is completed)") {
		t.Fatalf("update a completed campaign: exit %d, %s", code, stderr)
	}
	if out = e.mustRun(t, "campaign", "archive", "cn-repairs"); out != "campaign cn-repairs: completed → archived\n" {
		t.Fatalf("archive said %q", out)
	}
	_, stderr, code = e.run(t, "campaign", "pause", "cn-repairs")
	if code != 1 || stderr != "huifang: campaign cn-repairs: cannot pause: it is archived (nothing follows archived)\n" {
		t.Fatalf("pause an archived campaign: exit %d, %q", code, stderr)
	}

	// Every change is in the audit log, by the person at the terminal.
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE subject_type = 'campaign' AND subject_id = 'cn-repairs' AND actor = 'cli:tester'`); n != 7 {
		t.Errorf("%d audit entries by cli:tester, want 7: create, update, activate, pause, resume, complete, archive", n)
	}
}

// preview enrols as the scheduler would, lists who would be called when
// with masked numbers, and leaves the database as it found it.
func TestCampaignPreviewCallsNobodyAndStoresNothing(t *testing.T) {
	t.Parallel()
	e := newCampaignEnv(t)
	e.mustRun(t, "campaign", "create", e.file(t, "cn-repairs.yaml", cnRepairs))
	// A job whose 5-day deadline (2026-11-25 18:00Z) passes before the
	// window opens again, and a number that has opted out.
	e.mustRun(t, "import", e.file(t, "late.csv",
		"external_id,kind,completed_at,customer_name,phone,region,provider_code,product_category,product_model\n"+
			"LATE-1,repair,2026-11-20T18:00:00Z,甲,13800138001,CN-GD,P1,water_heater,M1\n"))
	if _, err := e.pool.Exec(context.Background(), `
INSERT INTO suppressions (phone_e164, reason)
SELECT c.phone_e164, 'manual' FROM work_orders w JOIN customers c ON c.id = w.customer_id
WHERE c.region LIKE 'CN%' AND w.completed_at > $1::timestamptz - interval '3 days'
ORDER BY w.id LIMIT 1`, campaignNow); err != nil {
		t.Fatal(err)
	}

	// What enrolment should find, worked out here: Chinese customers'
	// jobs completed in the last 5 days, one contact per number. Those
	// whose 5-day deadline passes before the window opens at 09:00
	// expire; the others are due at 09:00 Shanghai time.
	const eligible = `
SELECT count(DISTINCT c.phone_e164) FROM work_orders w JOIN customers c ON c.id = w.customer_id
WHERE c.region LIKE 'CN%' AND w.completed_at > $1::timestamptz - interval '5 days'
  AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.phone_e164 = c.phone_e164)`
	opens := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	enrolled := e.count(t, eligible, campaignNow)
	due := e.count(t, eligible+` AND w.completed_at > $2::timestamptz - interval '5 days'`, campaignNow, opens)
	if enrolled < 5 || due < 4 || due == enrolled || e.count(t, `SELECT count(*) FROM suppressions`) != 1 {
		t.Fatalf("the sample has %d eligible numbers, %d of them due: pick another seed", enrolled, due)
	}

	tables := []string{"contacts", "attempts", "audit_log", "campaign_versions", "survey_sessions"}
	snapshot := func() string {
		var b strings.Builder
		for _, table := range tables {
			fmt.Fprintf(&b, "%s %d; ", table, e.count(t, `SELECT count(*) FROM `+table))
		}
		var updated time.Time
		e.pool.QueryRow(context.Background(), `SELECT updated_at FROM campaigns WHERE name = 'cn-repairs'`).Scan(&updated)
		fmt.Fprintf(&b, "campaign updated %s", updated)
		return b.String()
	}
	before := snapshot()

	out := e.mustRun(t, "campaign", "preview", "cn-repairs", "--limit", "3", "--now", campaignNow.Format(time.RFC3339))

	if after := snapshot(); after != before {
		t.Fatalf("preview changed the database:\nbefore %s\nafter  %s", before, after)
	}
	if n := e.count(t, `SELECT count(*) FROM contacts`); n != 0 {
		t.Fatalf("preview left %d contacts", n)
	}

	row := regexp.MustCompile(`(?m)^Thu 11-26 09:00 CST +Asia/Shanghai +2026-11-26 01:00Z +voice +S\d{8} +(\+86\*+\d{4}) +zh-CN$`)
	rows := row.FindAllStringSubmatch(out, -1)
	if len(rows) != 3 {
		t.Fatalf("want 3 contacts listed (--limit 3), due 09:00 Shanghai time, masked, got %d:\n%s", len(rows), out)
	}
	for _, want := range []string{
		"Preview of campaign cn-repairs (draft, version 1): enrolment at 2026-11-25 14:00Z, contacts due before 2026-11-28 14:00Z.\n",
		"Nothing is called and nothing is stored.\n",
		fmt.Sprintf("… and %d more (--limit 3)\n", due-3),
		fmt.Sprintf("enrolled now:  %d  (", enrolled),
		fmt.Sprintf("due within 3 days:  %d\n", due),
		fmt.Sprintf("  Thu 2026-11-26 (Asia/Shanghai):  %d\n", due),
		fmt.Sprintf("expired:  %d ", enrolled-due),
		"suppressed:  0 ",
		"The campaign is draft: it enrols and calls nobody until it is active.\n",
	} {
		if !strings.Contains(regexp.MustCompile(` {2,}`).ReplaceAllString(out, "  "), want) {
			t.Errorf("preview lacks %q:\n%s", want, out)
		}
	}

	// No full number is ever printed.
	phones, err := e.pool.Query(context.Background(), `SELECT phone_e164 FROM customers`)
	if err != nil {
		t.Fatal(err)
	}
	defer phones.Close()
	for phones.Next() {
		var p string
		if err := phones.Scan(&p); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, p) || strings.Contains(out, strings.TrimPrefix(p, "+86")) {
			t.Fatalf("preview printed the full number %s:\n%s", workorders.MaskPhone(p), out)
		}
	}
	if err := phones.Err(); err != nil {
		t.Fatal(err)
	}

	// An unknown campaign is named; so are bad flags.
	_, stderr, code := e.run(t, "campaign", "preview", "nope")
	if code != 1 || stderr != "huifang: campaign nope: campaign not found\n" {
		t.Fatalf("preview of an unknown campaign: exit %d, %q", code, stderr)
	}
	_, stderr, code = e.run(t, "campaign", "preview", "cn-repairs", "--now", "tomorrow")
	if code != 1 || !strings.Contains(stderr, `--now "tomorrow": want an RFC 3339 time`) {
		t.Fatalf("bad --now: exit %d, %q", code, stderr)
	}
	_, stderr, code = e.run(t, "campaign", "preview", "cn-repairs", "--days", "0")
	if code != 1 || !strings.Contains(stderr, "--days must be between 1 and 60, not 0") {
		t.Fatalf("bad --days: exit %d, %q", code, stderr)
	}
}
