package campaigns_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/campaigns"
	"github.com/huifang/huifang/internal/testdb"
)

var storeNow = time.Date(2026, 5, 4, 9, 30, 0, 0, time.UTC)

func newStore(t *testing.T) *campaigns.Store {
	t.Helper()
	return &campaigns.Store{Pool: testdb.New(t), Now: func() time.Time { return storeNow }}
}

// publishSurvey stores a survey version the way surveys.Store does and
// returns its id.
func publishSurvey(t *testing.T, pool *pgxpool.Pool, name string, version int) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	err := pool.QueryRow(ctx, `
WITH s AS (
	INSERT INTO surveys (name) VALUES ($1)
	ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
	RETURNING id
)
INSERT INTO survey_versions (survey_id, version, source, definition, sha256)
SELECT s.id, $2, 'name: ' || $1, '{}', repeat('a', 63) || ($2 % 10)::text FROM s
RETURNING id`, name, version).Scan(&id)
	if err != nil {
		t.Fatalf("publish survey %s v%d: %v", name, version, err)
	}
	return id
}

func definition(t *testing.T, name, extra string) (*campaigns.Definition, string) {
	t.Helper()
	src := strings.Replace(minimal, "name: c1", "name: "+name, 1) + extra
	d, err := campaigns.ParseDefinition(name+".yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return d, src
}

type auditRow struct {
	Actor, Action, Subject string
	Details                map[string]any
}

func auditRows(t *testing.T, pool *pgxpool.Pool, name string) []auditRow {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
SELECT actor, action, subject_id, details FROM audit_log
WHERE subject_type = 'campaign' AND subject_id = $1 ORDER BY id`, name)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []auditRow
	for rows.Next() {
		var r auditRow
		var details []byte
		if err := rows.Scan(&r.Actor, &r.Action, &r.Subject, &details); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(details, &r.Details); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStoreCreateGetList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	d, src := definition(t, "spring-repairs", "")
	c, err := s.Create(ctx, d, src, "ops:li")
	if err != nil {
		t.Fatal(err)
	}
	if c.ID == 0 || c.Name != "spring-repairs" || c.State != campaigns.StateDraft || c.Version != 1 ||
		c.Source != src || c.SurveyVersionID != 0 || !c.CreatedAt.Equal(storeNow) || !c.UpdatedAt.Equal(storeNow) {
		t.Errorf("created %+v", c)
	}
	got, err := s.Get(ctx, "spring-repairs")
	if err != nil {
		t.Fatal(err)
	}
	compareFields(t, got.Definition, d)
	if got.ID != c.ID || got.Source != src || got.State != campaigns.StateDraft {
		t.Errorf("Get = %+v", got)
	}

	// The name is taken: nothing more is stored.
	_, err = s.Create(ctx, d, "again", "ops:wang")
	if !errors.Is(err, campaigns.ErrExists) {
		t.Fatalf("second Create: %v, want ErrExists", err)
	}
	vs, err := s.Versions(ctx, "spring-repairs")
	if err != nil || len(vs) != 1 || vs[0].Version != 1 || vs[0].CreatedBy != "ops:li" || vs[0].Source != src ||
		!vs[0].CreatedAt.Equal(storeNow) {
		t.Fatalf("versions %+v, %v", vs, err)
	}
	compareFields(t, vs[0].Definition, d)
	audit := auditRows(t, s.Pool, "spring-repairs")
	if len(audit) != 1 || audit[0].Actor != "ops:li" || audit[0].Action != "campaign.create" || audit[0].Details["version"] != 1.0 {
		t.Fatalf("audit %+v", audit)
	}

	// An invalid definition built in code is refused before anything is stored.
	bad, _ := definition(t, "bad-one", "")
	bad.Attempts.Max = 0
	if _, err := s.Create(ctx, bad, "", "ops:li"); err == nil || !strings.Contains(err.Error(), "/attempts/max: must be between 1 and 10") {
		t.Fatalf("invalid Create: %v", err)
	}
	if _, err := s.Get(ctx, "bad-one"); !errors.Is(err, campaigns.ErrNotFound) {
		t.Fatalf("Get after a refused Create: %v", err)
	}

	d2, src2 := definition(t, "autumn-installs", "")
	if _, err := s.Create(ctx, d2, src2, "ops:li"); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "autumn-installs" || list[1].Name != "spring-repairs" {
		t.Fatalf("List = %v", names(list))
	}
	if _, err := s.Versions(ctx, "nope"); !errors.Is(err, campaigns.ErrNotFound) {
		t.Errorf("Versions of a missing campaign: %v", err)
	}
}

func names(cs []campaigns.Campaign) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func TestStoreUpdate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	d, src := definition(t, "c1", "")
	if _, err := s.Create(ctx, d, src, "ops:li"); err != nil {
		t.Fatal(err)
	}

	d2, src2 := definition(t, "c1", "attempts:\n  max: 2\n")
	later := storeNow.Add(time.Hour)
	s.Now = func() time.Time { return later }
	c, err := s.Update(ctx, "c1", d2, src2, "ops:wang")
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != 2 || c.Definition.Attempts.Max != 2 || c.Source != src2 || !c.UpdatedAt.Equal(later) || !c.CreatedAt.Equal(storeNow) {
		t.Errorf("updated %+v", c)
	}

	// The same content written differently is no new version.
	same := "# reformatted\nfrom: [\"+8613800138000\"]\nattempts: {max: 2, per_day: 2}\nschedule: '@hourly'\nsurvey: s1\nname: c1\n"
	d3, err := campaigns.ParseDefinition("c1.yaml", []byte(same))
	if err != nil {
		t.Fatal(err)
	}
	c, err = s.Update(ctx, "c1", d3, same, "ops:zhao")
	if err != nil || c.Version != 2 || c.Source != src2 {
		t.Fatalf("unchanged Update = version %d, source %q, %v; want version 2 untouched", c.Version, c.Source, err)
	}

	vs, err := s.Versions(ctx, "c1")
	if err != nil || len(vs) != 2 || vs[0].Definition.Attempts.Max != 3 || vs[1].Definition.Attempts.Max != 2 ||
		vs[1].CreatedBy != "ops:wang" || !vs[1].CreatedAt.Equal(later) {
		t.Fatalf("versions %+v, %v", vs, err)
	}
	audit := auditRows(t, s.Pool, "c1")
	if len(audit) != 2 || audit[1].Action != "campaign.update" || audit[1].Actor != "ops:wang" || audit[1].Details["version"] != 2.0 {
		t.Fatalf("audit %+v", audit)
	}

	// No renaming, no unknown campaign, nothing invalid.
	renamed, rsrc := definition(t, "c2", "")
	if _, err := s.Update(ctx, "c1", renamed, rsrc, "ops:li"); !errors.Is(err, campaigns.ErrRename) {
		t.Errorf("rename: %v", err)
	}
	ghost, gsrc := definition(t, "ghost", "")
	if _, err := s.Update(ctx, "ghost", ghost, gsrc, "ops:li"); !errors.Is(err, campaigns.ErrNotFound) {
		t.Errorf("update of a missing campaign: %v", err)
	}
	bad, _ := definition(t, "c1", "")
	bad.Pace = 0
	if _, err := s.Update(ctx, "c1", bad, "", "ops:li"); err == nil || !strings.Contains(err.Error(), "/pace:") {
		t.Errorf("invalid update: %v", err)
	}

	// Completed and archived campaigns are frozen.
	publishSurvey(t, s.Pool, "s1", 1)
	for _, to := range []campaigns.State{campaigns.StateActive, campaigns.StateCompleted} {
		if _, err := s.SetState(ctx, "c1", to, "ops:li"); err != nil {
			t.Fatal(err)
		}
	}
	d4, src4 := definition(t, "c1", "pace: 3\n")
	if _, err := s.Update(ctx, "c1", d4, src4, "ops:li"); !errors.Is(err, campaigns.ErrFinished) || !strings.Contains(err.Error(), "completed") {
		t.Errorf("update of a completed campaign: %v", err)
	}
	if _, err := s.SetState(ctx, "c1", campaigns.StateArchived, "ops:li"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, "c1", d4, src4, "ops:li"); !errors.Is(err, campaigns.ErrFinished) || !strings.Contains(err.Error(), "archived") {
		t.Errorf("update of an archived campaign: %v", err)
	}
	if vs, _ := s.Versions(ctx, "c1"); len(vs) != 2 {
		t.Errorf("%d versions after refused updates, want 2", len(vs))
	}
}

func TestStoreStateTransitions(t *testing.T) {
	t.Parallel()
	all := []campaigns.State{campaigns.StateDraft, campaigns.StateActive, campaigns.StatePaused, campaigns.StateCompleted, campaigns.StateArchived}
	allowed := map[[2]campaigns.State]bool{
		{campaigns.StateDraft, campaigns.StateActive}:       true,
		{campaigns.StateDraft, campaigns.StateArchived}:     true,
		{campaigns.StateActive, campaigns.StatePaused}:      true,
		{campaigns.StateActive, campaigns.StateCompleted}:   true,
		{campaigns.StatePaused, campaigns.StateActive}:      true,
		{campaigns.StatePaused, campaigns.StateCompleted}:   true,
		{campaigns.StatePaused, campaigns.StateArchived}:    true,
		{campaigns.StateCompleted, campaigns.StateArchived}: true,
	}
	// How to bring a new campaign to each state.
	path := map[campaigns.State][]campaigns.State{
		campaigns.StateDraft:     nil,
		campaigns.StateActive:    {campaigns.StateActive},
		campaigns.StatePaused:    {campaigns.StateActive, campaigns.StatePaused},
		campaigns.StateCompleted: {campaigns.StateActive, campaigns.StateCompleted},
		campaigns.StateArchived:  {campaigns.StateArchived},
	}
	ctx := context.Background()
	s := newStore(t)
	publishSurvey(t, s.Pool, "s1", 1)
	for _, from := range all {
		for _, to := range all {
			if campaigns.CanTransition(from, to) != allowed[[2]campaigns.State{from, to}] {
				t.Errorf("CanTransition(%s, %s) = %v", from, to, !allowed[[2]campaigns.State{from, to}])
			}
			name := fmt.Sprintf("%s-to-%s", from, to)
			d, src := definition(t, name, "")
			if _, err := s.Create(ctx, d, src, "test"); err != nil {
				t.Fatal(err)
			}
			for _, st := range path[from] {
				if _, err := s.SetState(ctx, name, st, "test"); err != nil {
					t.Fatalf("%s: bring to %s: %v", name, st, err)
				}
			}
			before := len(auditRows(t, s.Pool, name))
			c, err := s.SetState(ctx, name, to, "ops:li")
			if allowed[[2]campaigns.State{from, to}] {
				if err != nil || c.State != to {
					t.Errorf("%s → %s: %v, state %s", from, to, err, c.State)
				}
				audit := auditRows(t, s.Pool, name)
				last := audit[len(audit)-1]
				if len(audit) != before+1 || last.Action != "campaign.state" || last.Actor != "ops:li" ||
					last.Details["from"] != string(from) || last.Details["to"] != string(to) {
					t.Errorf("%s → %s: audit %+v", from, to, audit)
				}
				continue
			}
			want := fmt.Sprintf("campaign %s: state change not allowed: from %s to %s", name, from, to)
			if !errors.Is(err, campaigns.ErrTransition) || err.Error() != want {
				t.Errorf("%s → %s: %v, want %q", from, to, err, want)
			}
			if got, _ := s.Get(ctx, name); got.State != from {
				t.Errorf("%s → %s refused but state is now %s", from, to, got.State)
			}
			if n := len(auditRows(t, s.Pool, name)); n != before {
				t.Errorf("%s → %s refused but logged", from, to)
			}
		}
	}
	if _, err := s.SetState(ctx, "nope", campaigns.StateActive, "ops:li"); !errors.Is(err, campaigns.ErrNotFound) {
		t.Errorf("missing campaign: %v", err)
	}
}

func TestStorePinsSurveyOnFirstActivation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	d, src := definition(t, "latest", "")
	if _, err := s.Create(ctx, d, src, "ops:li"); err != nil {
		t.Fatal(err)
	}
	// No such survey yet: the campaign stays a draft.
	_, err := s.SetState(ctx, "latest", campaigns.StateActive, "ops:li")
	if !errors.Is(err, campaigns.ErrSurveyNotFound) || !strings.Contains(err.Error(), "s1 is not published") {
		t.Fatalf("activate without a survey: %v", err)
	}
	if c, _ := s.Get(ctx, "latest"); c.State != campaigns.StateDraft || c.SurveyVersionID != 0 {
		t.Fatalf("after a refused activation: %+v", c)
	}

	publishSurvey(t, s.Pool, "s1", 1)
	v2 := publishSurvey(t, s.Pool, "s1", 2)
	c, err := s.SetState(ctx, "latest", campaigns.StateActive, "ops:li")
	if err != nil || c.SurveyVersionID != v2 {
		t.Fatalf("activated: pinned %d, %v; want the latest, %d", c.SurveyVersionID, err, v2)
	}
	audit := auditRows(t, s.Pool, "latest")
	if last := audit[len(audit)-1]; last.Details["survey_version_id"] != float64(v2) {
		t.Errorf("audit %+v does not record the pin", last)
	}
	// A version published later does not move a campaign already pinned.
	publishSurvey(t, s.Pool, "s1", 3)
	for _, to := range []campaigns.State{campaigns.StatePaused, campaigns.StateActive} {
		if c, err = s.SetState(ctx, "latest", to, "ops:li"); err != nil {
			t.Fatal(err)
		}
	}
	if c.SurveyVersionID != v2 {
		t.Errorf("resumed with survey version %d, want %d still", c.SurveyVersionID, v2)
	}

	// survey_version pins one; a version that does not exist is refused.
	pinned, psrc := definition(t, "pinned", "survey_version: 1\n")
	if _, err := s.Create(ctx, pinned, psrc, "ops:li"); err != nil {
		t.Fatal(err)
	}
	var v1 int64
	s.Pool.QueryRow(ctx, `SELECT v.id FROM survey_versions v JOIN surveys s ON s.id = v.survey_id WHERE s.name = 's1' AND v.version = 1`).Scan(&v1)
	if c, err := s.SetState(ctx, "pinned", campaigns.StateActive, "ops:li"); err != nil || c.SurveyVersionID != v1 {
		t.Errorf("pinned activation: %d, %v; want %d", c.SurveyVersionID, err, v1)
	}
	missing, msrc := definition(t, "missing-version", "survey_version: 9\n")
	if _, err := s.Create(ctx, missing, msrc, "ops:li"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetState(ctx, "missing-version", campaigns.StateActive, "ops:li"); !errors.Is(err, campaigns.ErrSurveyNotFound) ||
		!strings.Contains(err.Error(), "s1 version 9 is not published") {
		t.Errorf("activation with a missing version: %v", err)
	}

	// Changing the survey of a pinned campaign pins the new one; a survey
	// that does not exist is refused and changes nothing.
	other := publishSurvey(t, s.Pool, "s2", 1)
	d2, src2 := definition(t, "latest", "")
	d2.Survey = "s2"
	c, err = s.Update(ctx, "latest", d2, src2, "ops:li")
	if err != nil || c.SurveyVersionID != other || c.Version != 2 {
		t.Fatalf("survey changed: pinned %d version %d, %v; want %d", c.SurveyVersionID, c.Version, err, other)
	}
	d3, src3 := definition(t, "latest", "")
	d3.Survey = "s3"
	if _, err := s.Update(ctx, "latest", d3, src3, "ops:li"); !errors.Is(err, campaigns.ErrSurveyNotFound) {
		t.Errorf("update to a missing survey: %v", err)
	}
	if c, _ := s.Get(ctx, "latest"); c.Version != 2 || c.Definition.Survey != "s2" {
		t.Errorf("after a refused update: version %d survey %s", c.Version, c.Definition.Survey)
	}
}

// Ten people pause and resume one campaign at once. Each change sees the
// one before it: every logged transition starts where the previous ended,
// there is one row per change that succeeded, and the final state is the
// last one logged.
func TestStoreConcurrentPauseResume(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	s.Now = nil // real time: the rows are ordered by id anyway
	publishSurvey(t, s.Pool, "s1", 1)
	d, src := definition(t, "busy", "")
	if _, err := s.Create(ctx, d, src, "ops"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetState(ctx, "busy", campaigns.StateActive, "ops"); err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 10, 8
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		succeeded int
		start     = make(chan struct{})
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			to := campaigns.StatePaused
			if w%2 == 1 {
				to = campaigns.StateActive
			}
			for range rounds {
				_, err := s.SetState(ctx, "busy", to, fmt.Sprintf("worker-%d", w))
				switch {
				case err == nil:
					mu.Lock()
					succeeded++
					mu.Unlock()
				case !errors.Is(err, campaigns.ErrTransition):
					t.Errorf("worker %d: %v", w, err)
				}
			}
		}()
	}
	close(start)
	wg.Wait()

	audit := auditRows(t, s.Pool, "busy")
	changes := audit[2:] // after campaign.create and the first activation
	if len(changes) != succeeded {
		t.Fatalf("%d transitions logged, %d succeeded", len(changes), succeeded)
	}
	if succeeded == 0 {
		t.Fatal("no transition succeeded")
	}
	state := "active"
	for i, r := range changes {
		if r.Details["from"] != state || r.Details["from"] == r.Details["to"] {
			t.Fatalf("transition %d: %v → %v, but the campaign was %s", i, r.Details["from"], r.Details["to"], state)
		}
		state = r.Details["to"].(string)
	}
	c, err := s.Get(ctx, "busy")
	if err != nil || string(c.State) != state {
		t.Fatalf("final state %s, %v; the log ends in %s", c.State, err, state)
	}
}

// Ten updates at once each get their own version number.
func TestStoreConcurrentUpdates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	d, src := definition(t, "edited", "")
	if _, err := s.Create(ctx, d, src, "ops"); err != nil {
		t.Fatal(err)
	}
	const workers = 10
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			d, src := definition(t, "edited", fmt.Sprintf("description: edit %d\n", w))
			if _, err := s.Update(ctx, "edited", d, src, fmt.Sprintf("worker-%d", w)); err != nil {
				t.Errorf("worker %d: %v", w, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	vs, err := s.Versions(ctx, "edited")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != workers+1 {
		t.Fatalf("%d versions, want %d", len(vs), workers+1)
	}
	seen := map[string]bool{}
	for i, v := range vs {
		if v.Version != i+1 {
			t.Errorf("version %d at position %d", v.Version, i)
		}
		seen[v.Definition.Description] = true
	}
	c, _ := s.Get(ctx, "edited")
	if c.Version != workers+1 || c.Definition.Description != vs[workers].Definition.Description {
		t.Errorf("current version %d (%q), last stored %q", c.Version, c.Definition.Description, vs[workers].Definition.Description)
	}
	if len(seen) != workers+1 {
		t.Errorf("%d distinct descriptions stored, want %d", len(seen), workers+1)
	}
	if n := len(auditRows(t, s.Pool, "edited")); n != workers+1 {
		t.Errorf("%d audit rows, want %d", n, workers+1)
	}
}
