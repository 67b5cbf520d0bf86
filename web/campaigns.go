package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/huifang/huifang/campaigns"
)

// nextRunCount is how many enrolment runs a campaign's view lists.
const nextRunCount = 5

// campaignView is a campaign as the API answers it.
type campaignView struct {
	Name    string          `json:"name"`
	State   campaigns.State `json:"state"`
	Version int             `json:"version"`
	Survey  string          `json:"survey"`
	// SurveyVersion is the version pinned at the first activation; 0
	// before.
	SurveyVersion int                   `json:"survey_version"`
	Definition    *campaigns.Definition `json:"definition"`
	Source        string                `json:"source,omitempty"`
	CreatedAt     time.Time             `json:"created_at"`
	UpdatedAt     time.Time             `json:"updated_at"`
	NextRuns      []time.Time           `json:"next_runs,omitempty"`
	Contacts      *contactCounts        `json:"contacts,omitempty"`
	// Attempts counts the campaign's attempts by outcome ("in_progress"
	// for those not ended).
	Attempts map[string]int `json:"attempts,omitempty"`
	// Unchanged answers a PUT whose definition equals the current version.
	Unchanged *bool `json:"unchanged,omitempty"`
	// PreviousState answers a state change.
	PreviousState campaigns.State `json:"previous_state,omitempty"`
}

// contactCounts is a campaign's queue: contacts by state, and the ended
// ones by outcome.
type contactCounts struct {
	Queued    int            `json:"queued"`
	Dialing   int            `json:"dialing"`
	Done      int            `json:"done"`
	ByOutcome map[string]int `json:"by_outcome,omitempty"`
}

// versionView is one stored version of a campaign.
type versionView struct {
	Version    int                   `json:"version"`
	Definition *campaigns.Definition `json:"definition"`
	Source     string                `json:"source"`
	CreatedBy  string                `json:"created_by"`
	CreatedAt  time.Time             `json:"created_at"`
}

func (s *Server) campaignNow() time.Time {
	if s.Campaigns.Now != nil {
		return s.Campaigns.Now()
	}
	return time.Now()
}

func view(c campaigns.Campaign) campaignView {
	return campaignView{Name: c.Name, State: c.State, Version: c.Version, Survey: c.Definition.Survey,
		Definition: c.Definition, Source: c.Source, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// detailed adds what a single campaign's view shows beside its definition:
// the pinned survey version, the next runs, contacts and attempts.
func (s *Server) detailed(ctx context.Context, c campaigns.Campaign) (campaignView, error) {
	v := view(c)
	runs, err := c.Definition.NextRuns(s.campaignNow(), nextRunCount)
	if err != nil {
		return v, err
	}
	v.NextRuns = runs
	counts, err := s.contactCounts(ctx, c.ID)
	if err != nil {
		return v, err
	}
	cc := counts[c.ID]
	v.SurveyVersion = cc.surveyVersion
	v.Contacts = &cc.contactCounts
	v.Contacts.ByOutcome = map[string]int{}
	rows, err := s.Pool.Query(ctx, `
SELECT outcome, count(*) FROM contacts WHERE campaign_id = $1 AND outcome IS NOT NULL GROUP BY outcome`, c.ID)
	if err != nil {
		return v, err
	}
	var key string
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&key, &n}, func() error { v.Contacts.ByOutcome[key] = n; return nil }); err != nil {
		return v, err
	}
	v.Attempts = map[string]int{}
	rows, err = s.Pool.Query(ctx, `
SELECT coalesce(a.outcome, 'in_progress'), count(*)
FROM attempts a JOIN contacts k ON k.id = a.contact_id
WHERE k.campaign_id = $1
GROUP BY 1`, c.ID)
	if err != nil {
		return v, err
	}
	if _, err := pgx.ForEachRow(rows, []any{&key, &n}, func() error { v.Attempts[key] = n; return nil }); err != nil {
		return v, err
	}
	return v, nil
}

type campaignCounts struct {
	contactCounts
	surveyVersion int
}

// contactCounts counts the contacts of one campaign (id) or of all (0), by
// campaign id, with the survey version each has pinned.
func (s *Server) contactCounts(ctx context.Context, id int64) (map[int64]campaignCounts, error) {
	rows, err := s.Pool.Query(ctx, `
SELECT c.id, coalesce(v.version, 0),
       count(k.id) FILTER (WHERE k.state = 'queued'),
       count(k.id) FILTER (WHERE k.state = 'dialing'),
       count(k.id) FILTER (WHERE k.state = 'done')
FROM campaigns c
LEFT JOIN survey_versions v ON v.id = c.survey_version_id
LEFT JOIN contacts k ON k.campaign_id = c.id
WHERE $1 = 0 OR c.id = $1
GROUP BY c.id, v.version`, id)
	if err != nil {
		return nil, err
	}
	out := map[int64]campaignCounts{}
	var cid int64
	var cc campaignCounts
	_, err = pgx.ForEachRow(rows, []any{&cid, &cc.surveyVersion, &cc.Queued, &cc.Dialing, &cc.Done}, func() error {
		out[cid] = cc
		return nil
	})
	return out, err
}

func (s *Server) listCampaigns(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	cs, err := s.Campaigns.List(ctx)
	if err != nil {
		s.internal(w, "campaigns: list", err)
		return
	}
	counts, err := s.contactCounts(ctx, 0)
	if err != nil {
		s.internal(w, "campaigns: count contacts", err)
		return
	}
	out := make([]campaignView, 0, len(cs))
	for _, c := range cs {
		v := view(c)
		v.Source = ""
		cc := counts[c.ID]
		v.SurveyVersion = cc.surveyVersion
		v.Contacts = &cc.contactCounts
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"campaigns": out})
}

// readDefinition reads and parses a campaign definition body, answering
// 413, 400 (malformed JSON) or 422 (a definition that breaks the rules),
// each problem at its JSON pointer, when it cannot.
func (s *Server) readDefinition(w http.ResponseWriter, r *http.Request) (*campaigns.Definition, []byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, campaigns.MaxDefinitionBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes; a campaign definition is about a kilobyte", campaigns.MaxDefinitionBytes))
			return nil, nil, false
		}
		writeError(w, http.StatusBadRequest, "could not read the body")
		return nil, nil, false
	}
	def, err := campaigns.ParseDefinitionJSON(body)
	var fes campaigns.FieldErrors
	if errors.As(err, &fes) {
		code, msg := http.StatusUnprocessableEntity, "invalid campaign definition: nothing stored"
		errs := make([]ruleError, 0, len(fes))
		for _, fe := range fes {
			if fe.Rule == campaigns.RuleJSONSyntax {
				code, msg = http.StatusBadRequest, "malformed JSON: nothing stored"
			}
			errs = append(errs, ruleError{APIError{Pointer: fe.Pointer, Message: fe.Msg}, fe.Rule})
		}
		writeJSON(w, code, map[string]any{"error": msg, "errors": errs})
		return nil, nil, false
	}
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return nil, nil, false
	}
	return def, body, true
}

// ruleError is a problem in a definition with the rule it breaks.
type ruleError struct {
	APIError
	Rule string `json:"rule,omitempty"`
}

func (s *Server) createCampaign(w http.ResponseWriter, r *http.Request) {
	def, body, ok := s.readDefinition(w, r)
	if !ok {
		return
	}
	c, err := s.Campaigns.Create(r.Context(), def, string(body), actorOf(r))
	if err != nil {
		s.campaignError(w, def.Name, "create", err)
		return
	}
	v, err := s.detailed(r.Context(), c)
	if err != nil {
		s.internal(w, "campaigns: create", err)
		return
	}
	w.Header().Set("Location", "/api/v1/campaigns/"+c.Name)
	writeJSON(w, http.StatusCreated, v)
}

func (s *Server) getCampaign(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	c, err := s.Campaigns.Get(r.Context(), name)
	if err != nil {
		s.campaignError(w, name, "get", err)
		return
	}
	v, err := s.detailed(r.Context(), c)
	if err != nil {
		s.internal(w, "campaigns: get", err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) updateCampaign(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	def, body, ok := s.readDefinition(w, r)
	if !ok {
		return
	}
	if def.Name != name {
		writeError(w, http.StatusUnprocessableEntity, "invalid campaign definition: nothing stored",
			APIError{Pointer: "/name", Message: fmt.Sprintf("must be %q: a campaign cannot be renamed", name)})
		return
	}
	ctx := r.Context()
	cur, err := s.Campaigns.Get(ctx, name)
	if err != nil {
		s.campaignError(w, name, "update", err)
		return
	}
	c, err := s.Campaigns.Update(ctx, name, def, string(body), actorOf(r))
	if err != nil {
		s.campaignError(w, name, "update", err)
		return
	}
	v, err := s.detailed(ctx, c)
	if err != nil {
		s.internal(w, "campaigns: update", err)
		return
	}
	unchanged := c.Version == cur.Version
	v.Unchanged = &unchanged
	writeJSON(w, http.StatusOK, v)
}

// campaignActions maps the action of POST /api/v1/campaigns/{name}/{action}
// to the state it moves to.
var campaignActions = map[string]campaigns.State{
	"activate": campaigns.StateActive,
	"resume":   campaigns.StateActive,
	"pause":    campaigns.StatePaused,
	"complete": campaigns.StateCompleted,
	"archive":  campaigns.StateArchived,
}

func (s *Server) campaignAction(w http.ResponseWriter, r *http.Request) {
	name, action := r.PathValue("name"), r.PathValue("action")
	to, ok := campaignActions[action]
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no campaign action %q: activate, pause, resume, complete or archive", action))
		return
	}
	ctx := r.Context()
	cur, err := s.Campaigns.Get(ctx, name)
	if err != nil {
		s.campaignError(w, name, action, err)
		return
	}
	// Resume is the way back from a pause only; activate starts a draft.
	if action == "resume" && cur.State != campaigns.StatePaused {
		writeError(w, http.StatusConflict, fmt.Sprintf("campaign %s is %s, not paused: it cannot be resumed%s", name, cur.State, nextStates(cur.State)))
		return
	}
	c, err := s.Campaigns.SetState(ctx, name, to, actorOf(r))
	if errors.Is(err, campaigns.ErrTransition) {
		writeError(w, http.StatusConflict, fmt.Sprintf("campaign %s is %s: it cannot %s%s", name, cur.State, action, nextStates(cur.State)))
		return
	}
	if err != nil {
		s.campaignError(w, name, action, err)
		return
	}
	v, err := s.detailed(ctx, c)
	if err != nil {
		s.internal(w, "campaigns: "+action, err)
		return
	}
	v.PreviousState = cur.State
	writeJSON(w, http.StatusOK, v)
}

// nextStates says which actions a campaign in state st allows.
func nextStates(st campaigns.State) string {
	var can []string
	for _, a := range []string{"activate", "resume", "pause", "complete", "archive"} {
		to := campaignActions[a]
		resume := a == "resume"
		if campaigns.CanTransition(st, to) && resume == (st == campaigns.StatePaused && to == campaigns.StateActive) {
			can = append(can, a)
		}
	}
	if len(can) == 0 {
		return fmt.Sprintf(" (nothing follows %s)", st)
	}
	return fmt.Sprintf(" (from %s it may: %s)", st, strings.Join(can, ", "))
}

func (s *Server) campaignVersions(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	vs, err := s.Campaigns.Versions(r.Context(), name)
	if err != nil {
		s.campaignError(w, name, "versions", err)
		return
	}
	out := make([]versionView, 0, len(vs))
	for _, v := range vs {
		out = append(out, versionView{Version: v.Version, Definition: v.Definition, Source: v.Source,
			CreatedBy: v.CreatedBy, CreatedAt: v.CreatedAt})
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "versions": out})
}

// campaignError answers a failure of the campaign store: the request's
// fault as 404, 409 or 422 with the store's own words, anything else as
// ours.
func (s *Server) campaignError(w http.ResponseWriter, name, what string, err error) {
	var fes campaigns.FieldErrors
	switch {
	case errors.Is(err, campaigns.ErrNotFound):
		writeError(w, http.StatusNotFound, fmt.Sprintf("no campaign %q", name))
	case errors.Is(err, campaigns.ErrExists):
		writeError(w, http.StatusConflict, fmt.Sprintf("a campaign named %q already exists: PUT /api/v1/campaigns/%s stores a new version", name, name))
	case errors.Is(err, campaigns.ErrFinished), errors.Is(err, campaigns.ErrTransition),
		errors.Is(err, campaigns.ErrSurveyNotFound):
		writeError(w, http.StatusConflict, err.Error())
	case errors.As(err, &fes):
		errs := make([]APIError, 0, len(fes))
		for _, fe := range fes {
			errs = append(errs, APIError{Pointer: fe.Pointer, Message: fe.Msg})
		}
		writeError(w, http.StatusUnprocessableEntity, "invalid campaign definition: nothing stored", errs...)
	default:
		s.internal(w, "campaigns: "+what+" "+name, err)
	}
}
