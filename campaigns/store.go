package campaigns

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// State is where a campaign is in its life. Only an active campaign enrols
// and dials.
type State string

// The campaign states.
const (
	StateDraft     State = "draft"     // being written; never dials
	StateActive    State = "active"    // enrols on its schedule and dials
	StatePaused    State = "paused"    // keeps its queue but dials nobody
	StateCompleted State = "completed" // finished; kept for reports, no longer editable
	StateArchived  State = "archived"  // put away; no longer editable
)

// stateTransitions lists the states each state may move to.
var stateTransitions = map[State][]State{
	StateDraft:     {StateActive, StateArchived},
	StateActive:    {StatePaused, StateCompleted},
	StatePaused:    {StateActive, StateCompleted, StateArchived},
	StateCompleted: {StateArchived},
}

// CanTransition reports whether a campaign may move from one state to
// another. A move to the state it is already in is not a move.
func CanTransition(from, to State) bool {
	for _, s := range stateTransitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Errors the Store returns, to be checked with errors.Is.
var (
	ErrNotFound       = errors.New("campaign not found")
	ErrExists         = errors.New("a campaign with this name already exists")
	ErrTransition     = errors.New("state change not allowed")
	ErrFinished       = errors.New("the campaign is completed or archived and can no longer be changed")
	ErrRename         = errors.New("a campaign cannot be renamed")
	ErrSurveyNotFound = errors.New("survey not found")
)

// Store keeps campaigns in Postgres (tables campaigns and campaign_versions)
// and logs every change to audit_log. Each change of a campaign locks its
// row (SELECT … FOR UPDATE) for the length of its transaction, so changes
// made at once by several people or instances apply one after the other,
// each seeing the one before.
type Store struct {
	Pool *pgxpool.Pool
	// Now is the clock stamped on rows and audit entries (time.Now when nil).
	Now func() time.Time
}

// Campaign is a campaign's current version and state.
type Campaign struct {
	ID         int64
	Name       string
	State      State
	Version    int
	Definition *Definition
	// Source is the definition as written (YAML, or the JSON an API client
	// sent); Definition is what it means.
	Source string
	// SurveyVersionID is the survey_versions row the campaign asks, pinned
	// when it is first activated; 0 before that.
	SurveyVersionID int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Version is one stored version of a campaign's definition.
type Version struct {
	Version    int
	Definition *Definition
	Source     string
	CreatedBy  string
	CreatedAt  time.Time
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

const campaignColumns = `id, name, state, version, definition, source, survey_version_id, created_at, updated_at`

type campaignRow struct {
	ID              int64     `db:"id"`
	Name            string    `db:"name"`
	State           string    `db:"state"`
	Version         int       `db:"version"`
	Definition      []byte    `db:"definition"`
	Source          string    `db:"source"`
	SurveyVersionID *int64    `db:"survey_version_id"`
	CreatedAt       time.Time `db:"created_at"`
	UpdatedAt       time.Time `db:"updated_at"`
}

func (r campaignRow) campaign() (Campaign, error) {
	c := Campaign{ID: r.ID, Name: r.Name, State: State(r.State), Version: r.Version, Source: r.Source,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Definition: new(Definition)}
	if r.SurveyVersionID != nil {
		c.SurveyVersionID = *r.SurveyVersionID
	}
	if err := json.Unmarshal(r.Definition, c.Definition); err != nil {
		return Campaign{}, fmt.Errorf("stored definition of version %d: %w", r.Version, err)
	}
	return c, nil
}

// queryCampaign runs a query expected to return one campaign row; none is
// ErrNotFound.
func queryCampaign(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, sql string, args ...any) (Campaign, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return Campaign{}, err
	}
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[campaignRow])
	if errors.Is(err, pgx.ErrNoRows) {
		return Campaign{}, ErrNotFound
	}
	if err != nil {
		return Campaign{}, err
	}
	return r.campaign()
}

// Create stores a new campaign as a draft, version 1, and logs it. It
// returns ErrExists when the name is taken. The definition is validated
// again here, whoever built it.
func (s *Store) Create(ctx context.Context, def *Definition, source, actor string) (Campaign, error) {
	if def == nil {
		return Campaign{}, errors.New("create campaign: no definition")
	}
	if err := def.Validate(); err != nil {
		return Campaign{}, fmt.Errorf("create campaign %s: %w", def.Name, err)
	}
	body, err := def.Canonical()
	if err != nil {
		return Campaign{}, fmt.Errorf("create campaign %s: %w", def.Name, err)
	}
	now := s.now()
	var c Campaign
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var err error
		c, err = queryCampaign(ctx, tx, `
INSERT INTO campaigns (name, state, version, source, definition, created_at, updated_at)
VALUES ($1, 'draft', 1, $2, $3, $4, $4)
ON CONFLICT (name) DO NOTHING
RETURNING `+campaignColumns, def.Name, source, body, now)
		if errors.Is(err, ErrNotFound) {
			return ErrExists
		}
		if err != nil {
			return err
		}
		if err := addVersion(ctx, tx, c, body, actor, now); err != nil {
			return err
		}
		return auditCampaign(ctx, tx, actor, "campaign.create", c.Name, now, map[string]any{"version": 1})
	})
	if err != nil {
		return Campaign{}, fmt.Errorf("create campaign %s: %w", def.Name, err)
	}
	return c, nil
}

// Update stores def as the campaign's next version and logs it. Content
// equal to the current version's (the same canonical JSON, whatever the
// source's layout) changes nothing and returns the current version. It
// refuses a completed or archived campaign (ErrFinished) and a definition
// naming another campaign (ErrRename). When a campaign already activated
// changes its survey (or pinned survey version), the survey is pinned again
// the way activation pins it, so it never asks a survey it no longer names.
func (s *Store) Update(ctx context.Context, name string, def *Definition, source, actor string) (Campaign, error) {
	if def == nil {
		return Campaign{}, fmt.Errorf("update campaign %s: no definition", name)
	}
	if def.Name != name {
		return Campaign{}, fmt.Errorf("update campaign %s: %w (the definition is named %q)", name, ErrRename, def.Name)
	}
	if err := def.Validate(); err != nil {
		return Campaign{}, fmt.Errorf("update campaign %s: %w", name, err)
	}
	body, err := def.Canonical()
	if err != nil {
		return Campaign{}, fmt.Errorf("update campaign %s: %w", name, err)
	}
	now := s.now()
	var c Campaign
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		cur, err := lockCampaign(ctx, tx, name)
		if err != nil {
			return err
		}
		if cur.State == StateCompleted || cur.State == StateArchived {
			return fmt.Errorf("%w (it is %s)", ErrFinished, cur.State)
		}
		old, err := cur.Definition.Canonical()
		if err != nil {
			return err
		}
		if bytes.Equal(old, body) {
			c = cur
			return nil
		}
		pin := cur.SurveyVersionID
		if pin != 0 && (cur.Definition.Survey != def.Survey || cur.Definition.SurveyVersion != def.SurveyVersion) {
			if pin, err = pinSurvey(ctx, tx, def); err != nil {
				return err
			}
		}
		c, err = queryCampaign(ctx, tx, `
UPDATE campaigns
SET version = version + 1, source = $2, definition = $3, survey_version_id = $4, updated_at = $5
WHERE id = $1
RETURNING `+campaignColumns, cur.ID, source, body, nullableID(pin), now)
		if err != nil {
			return err
		}
		if err := addVersion(ctx, tx, c, body, actor, now); err != nil {
			return err
		}
		details := map[string]any{"version": c.Version}
		if pin != cur.SurveyVersionID {
			details["survey_version_id"] = pin
		}
		return auditCampaign(ctx, tx, actor, "campaign.update", c.Name, now, details)
	})
	if err != nil {
		return Campaign{}, fmt.Errorf("update campaign %s: %w", name, err)
	}
	return c, nil
}

// SetState moves a campaign to another state and logs the move:
//
//	draft → active, archived
//	active → paused, completed
//	paused → active, completed, archived
//	completed → archived
//
// Anything else is ErrTransition, naming both states. The first activation
// pins the survey version the campaign will ask: the one survey_version
// names, or else the latest published; ErrSurveyNotFound when there is none.
func (s *Store) SetState(ctx context.Context, name string, to State, actor string) (Campaign, error) {
	now := s.now()
	var c Campaign
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		cur, err := lockCampaign(ctx, tx, name)
		if err != nil {
			return err
		}
		if !CanTransition(cur.State, to) {
			return fmt.Errorf("%w: from %s to %s", ErrTransition, cur.State, to)
		}
		details := map[string]any{"from": cur.State, "to": to}
		pin := cur.SurveyVersionID
		if to == StateActive && pin == 0 {
			if pin, err = pinSurvey(ctx, tx, cur.Definition); err != nil {
				return err
			}
			details["survey_version_id"] = pin
		}
		c, err = queryCampaign(ctx, tx, `
UPDATE campaigns SET state = $2, survey_version_id = $3, updated_at = $4
WHERE id = $1
RETURNING `+campaignColumns, cur.ID, string(to), nullableID(pin), now)
		if err != nil {
			return err
		}
		return auditCampaign(ctx, tx, actor, "campaign.state", c.Name, now, details)
	})
	if err != nil {
		return Campaign{}, fmt.Errorf("campaign %s: %w", name, err)
	}
	return c, nil
}

// Get loads a campaign by name, or ErrNotFound.
func (s *Store) Get(ctx context.Context, name string) (Campaign, error) {
	c, err := queryCampaign(ctx, s.Pool, `SELECT `+campaignColumns+` FROM campaigns WHERE name = $1`, name)
	if err != nil {
		return Campaign{}, fmt.Errorf("campaign %s: %w", name, err)
	}
	return c, nil
}

// List loads every campaign, ordered by name.
func (s *Store) List(ctx context.Context) ([]Campaign, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+campaignColumns+` FROM campaigns ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list campaigns: %w", err)
	}
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[campaignRow])
	if err != nil {
		return nil, fmt.Errorf("list campaigns: %w", err)
	}
	out := make([]Campaign, 0, len(rs))
	for _, r := range rs {
		c, err := r.campaign()
		if err != nil {
			return nil, fmt.Errorf("list campaigns: campaign %s: %w", r.Name, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// Versions loads every version of a campaign, oldest first, or ErrNotFound.
func (s *Store) Versions(ctx context.Context, name string) ([]Version, error) {
	rows, err := s.Pool.Query(ctx, `
SELECT v.version, v.definition, v.source, v.created_by, v.created_at
FROM campaign_versions v JOIN campaigns c ON c.id = v.campaign_id
WHERE c.name = $1
ORDER BY v.version`, name)
	if err != nil {
		return nil, fmt.Errorf("campaign %s versions: %w", name, err)
	}
	vs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Version, error) {
		var v Version
		var body []byte
		if err := r.Scan(&v.Version, &body, &v.Source, &v.CreatedBy, &v.CreatedAt); err != nil {
			return v, err
		}
		v.Definition = new(Definition)
		if err := json.Unmarshal(body, v.Definition); err != nil {
			return v, fmt.Errorf("stored definition of version %d: %w", v.Version, err)
		}
		return v, nil
	})
	if err != nil {
		return nil, fmt.Errorf("campaign %s versions: %w", name, err)
	}
	if len(vs) == 0 { // every campaign has its first version
		return nil, fmt.Errorf("campaign %s versions: %w", name, ErrNotFound)
	}
	return vs, nil
}

// lockCampaign loads a campaign and locks its row until the transaction
// ends.
func lockCampaign(ctx context.Context, tx pgx.Tx, name string) (Campaign, error) {
	return queryCampaign(ctx, tx, `SELECT `+campaignColumns+` FROM campaigns WHERE name = $1 FOR UPDATE`, name)
}

// pinSurvey finds the survey version a campaign asks: the version its
// definition pins, or the latest published.
func pinSurvey(ctx context.Context, tx pgx.Tx, def *Definition) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `
SELECT v.id
FROM survey_versions v JOIN surveys s ON s.id = v.survey_id
WHERE s.name = $1 AND ($2 = 0 OR v.version = $2)
ORDER BY v.version DESC
LIMIT 1`, def.Survey, def.SurveyVersion).Scan(&id)
	switch {
	case errors.Is(err, pgx.ErrNoRows) && def.SurveyVersion > 0:
		return 0, fmt.Errorf("%w: %s version %d is not published", ErrSurveyNotFound, def.Survey, def.SurveyVersion)
	case errors.Is(err, pgx.ErrNoRows):
		return 0, fmt.Errorf("%w: %s is not published", ErrSurveyNotFound, def.Survey)
	case err != nil:
		return 0, fmt.Errorf("find survey %s: %w", def.Survey, err)
	}
	return id, nil
}

func addVersion(ctx context.Context, tx pgx.Tx, c Campaign, body []byte, actor string, now time.Time) error {
	_, err := tx.Exec(ctx, `
INSERT INTO campaign_versions (campaign_id, version, source, definition, created_by, created_at)
VALUES ($1, $2, $3, $4, $5, $6)`, c.ID, c.Version, c.Source, body, actor, now)
	if err != nil {
		return fmt.Errorf("record version %d: %w", c.Version, err)
	}
	return nil
}

// auditCampaign appends a campaign's change to the audit log.
func auditCampaign(ctx context.Context, tx pgx.Tx, actor, action, name string, now time.Time, details map[string]any) error {
	b, err := json.Marshal(details)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO audit_log (at, actor, action, subject_type, subject_id, details)
		VALUES ($1, $2, $3, 'campaign', $4, $5)`, now, actor, action, name, b)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

func nullableID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}
