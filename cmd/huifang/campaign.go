package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"gopkg.in/yaml.v3"

	"github.com/huifang/huifang/campaigns"
	"github.com/huifang/huifang/workorders"
)

const campaignUsage = `usage:
  huifang campaign create FILE.yaml     store a new campaign as a draft (version 1)
  huifang campaign update FILE.yaml     store the file as the campaign's next version
  huifang campaign list                 every campaign with its queue
  huifang campaign show NAME            definition, state, next runs, contacts and attempts
  huifang campaign activate NAME        draft or paused → active (pins the survey version)
  huifang campaign pause NAME           active → paused: keeps its queue, dials nobody
  huifang campaign resume NAME          paused → active
  huifang campaign complete NAME        active or paused → completed
  huifang campaign archive NAME         draft, paused or completed → archived
  huifang campaign preview NAME [--days 3] [--limit 50]
      who would be called when over the next days, as if the campaign enrolled
      now (even a draft): nothing is called and nothing is stored

A definition file's problems are printed as FILE:LINE:COL: message [rule].
--now TIME (RFC 3339) is the instant next runs and previews are computed from
(default: now).
`

// campaignCmd implements `huifang campaign …`.
func campaignCmd(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(c.stderr, campaignUsage)
		if len(args) == 0 {
			return &exitCodeError{2, errors.New("campaign: give a subcommand")}
		}
		return nil
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet(c, "campaign "+sub, "campaign "+sub+" [flags]")
	fs.Usage = func() { fmt.Fprint(c.stderr, campaignUsage, "\nFlags:\n"); fs.PrintDefaults() }
	var cfg config
	cfg.addFlags(c, fs)
	days := fs.Int("days", 3, "preview: how many days ahead to show")
	limit := fs.Int("limit", 50, "preview: contacts to list (the summary counts them all)")
	nowFlag := fs.String("now", "", "compute next runs and previews from this instant (RFC 3339; default now)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	now := time.Now()
	if *nowFlag != "" {
		if now, err = time.Parse(time.RFC3339, *nowFlag); err != nil {
			return fmt.Errorf("campaign %s: --now %q: want an RFC 3339 time like 2026-11-25T09:00:00+08:00", sub, *nowFlag)
		}
	}
	var to campaigns.State
	switch sub {
	case "create", "update", "show", "preview":
	case "list":
		if len(pos) > 0 {
			fs.Usage()
			return &exitCodeError{2, fmt.Errorf("campaign list takes no arguments, got %q", pos[0])}
		}
	case "activate", "resume":
		to = campaigns.StateActive
	case "pause":
		to = campaigns.StatePaused
	case "complete":
		to = campaigns.StateCompleted
	case "archive":
		to = campaigns.StateArchived
	default:
		fmt.Fprint(c.stderr, campaignUsage)
		return &exitCodeError{2, fmt.Errorf("campaign: unknown subcommand %q", sub)}
	}
	if sub != "list" && len(pos) != 1 {
		fs.Usage()
		what := "NAME"
		if sub == "create" || sub == "update" {
			what = "FILE.yaml"
		}
		return &exitCodeError{2, fmt.Errorf("campaign %s: give one %s", sub, what)}
	}
	if sub == "preview" && (*days < 1 || *days > 60) {
		return fmt.Errorf("campaign preview: --days must be between 1 and 60, not %d", *days)
	}
	if sub == "preview" && *limit < 0 {
		return fmt.Errorf("campaign preview: --limit must be 0 or more, not %d", *limit)
	}

	// A file is read and checked before the database is touched, so
	// mistakes are cheap.
	var def *campaigns.Definition
	var src []byte
	if sub == "create" || sub == "update" {
		if def, src, err = readCampaignFile(c, sub, pos[0]); err != nil {
			return err
		}
	}

	log := cfg.logger(c)
	rt, err := openRuntime(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer rt.close()
	st := &campaigns.Store{Pool: rt.pool}

	switch sub {
	case "create":
		return campaignCreate(ctx, c, st, def, string(src), now)
	case "update":
		return campaignUpdate(ctx, c, st, def, string(src), now)
	case "list":
		return campaignList(ctx, c, st)
	case "show":
		return campaignShow(ctx, c, st, pos[0], now)
	case "preview":
		return campaignPreview(ctx, c, st, pos[0], now, *days, *limit)
	default:
		return campaignSetState(ctx, c, st, pos[0], sub, to)
	}
}

// readCampaignFile reads and parses a definition file, printing each
// problem as FILE:LINE:COL: message [rule].
func readCampaignFile(c *cli, sub, file string) (*campaigns.Definition, []byte, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("campaign %s: %w", sub, err)
	}
	def, err := campaigns.ParseDefinition(file, src)
	var es campaigns.Errors
	if errors.As(err, &es) {
		for _, e := range es {
			fmt.Fprintln(c.stderr, e.Error())
		}
		word := "problems"
		if len(es) == 1 {
			word = "problem"
		}
		return nil, nil, &exitCodeError{1, fmt.Errorf("campaign %s: %s has %d %s; nothing stored", sub, file, len(es), word)}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("campaign %s: %s: %w", sub, file, err)
	}
	return def, src, nil
}

// cliActor names the person at the terminal in the audit log.
func cliActor(c *cli) string {
	if u := strings.TrimSpace(c.getenv("USER")); u != "" {
		return "cli:" + u
	}
	return "cli"
}

func campaignCreate(ctx context.Context, c *cli, st *campaigns.Store, def *campaigns.Definition, src string, now time.Time) error {
	camp, err := st.Create(ctx, def, src, cliActor(c))
	if errors.Is(err, campaigns.ErrExists) {
		return fmt.Errorf("%w (use `huifang campaign update FILE` to store a new version)", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "campaign %s created: state %s, version %d\n", camp.Name, camp.State, camp.Version)
	return printNextRuns(c, camp.Definition, now)
}

func campaignUpdate(ctx context.Context, c *cli, st *campaigns.Store, def *campaigns.Definition, src string, now time.Time) error {
	cur, err := st.Get(ctx, def.Name)
	if errors.Is(err, campaigns.ErrNotFound) {
		return fmt.Errorf("%w (use `huifang campaign create FILE` for a new campaign)", err)
	}
	if err != nil {
		return err
	}
	camp, err := st.Update(ctx, def.Name, def, src, cliActor(c))
	if err != nil {
		return err
	}
	if camp.Version == cur.Version {
		fmt.Fprintf(c.stdout, "campaign %s unchanged: the file means the same as version %d (state %s)\n", camp.Name, camp.Version, camp.State)
		return nil
	}
	fmt.Fprintf(c.stdout, "campaign %s updated: version %d, state %s\n", camp.Name, camp.Version, camp.State)
	return printNextRuns(c, camp.Definition, now)
}

// nextRunCount is how many enrolment runs create, update and show list.
const nextRunCount = 5

func printNextRuns(c *cli, def *campaigns.Definition, now time.Time) error {
	runs, err := def.NextRuns(now, nextRunCount)
	if err != nil {
		return err
	}
	zone := def.TimeZone
	if zone == "" {
		zone = "UTC"
	}
	fmt.Fprintf(c.stdout, "next enrolment runs (%s, schedule %q):\n", zone, def.Schedule)
	for _, t := range runs {
		fmt.Fprintf(c.stdout, "  %s   %s\n", t.Format("Mon 2006-01-02 15:04 MST"), t.UTC().Format("2006-01-02 15:04Z"))
	}
	if len(runs) == 0 {
		fmt.Fprintln(c.stdout, "  none within five years")
	}
	return nil
}

// queueCounts is a campaign's contacts by state, and the survey version it
// has pinned (0 before its first activation).
type queueCounts struct {
	Queued, Dialing, Done int
	SurveyVersion         int
}

// campaignQueues counts every campaign's contacts by state, by name.
func campaignQueues(ctx context.Context, pool *pgxpool.Pool) (map[string]queueCounts, error) {
	rows, err := pool.Query(ctx, `
SELECT c.name, coalesce(v.version, 0),
       count(k.id) FILTER (WHERE k.state = 'queued'),
       count(k.id) FILTER (WHERE k.state = 'dialing'),
       count(k.id) FILTER (WHERE k.state = 'done')
FROM campaigns c
LEFT JOIN survey_versions v ON v.id = c.survey_version_id
LEFT JOIN contacts k ON k.campaign_id = c.id
GROUP BY c.name, v.version`)
	if err != nil {
		return nil, fmt.Errorf("count contacts: %w", err)
	}
	out := map[string]queueCounts{}
	var name string
	var q queueCounts
	_, err = pgx.ForEachRow(rows, []any{&name, &q.SurveyVersion, &q.Queued, &q.Dialing, &q.Done}, func() error {
		out[name] = q
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count contacts: %w", err)
	}
	return out, nil
}

func campaignList(ctx context.Context, c *cli, st *campaigns.Store) error {
	cs, err := st.List(ctx)
	if err != nil {
		return err
	}
	if len(cs) == 0 {
		fmt.Fprintln(c.stdout, "no campaigns yet: huifang campaign create FILE.yaml")
		return nil
	}
	counts, err := campaignQueues(ctx, st.Pool)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tVERSION\tSURVEY\tCHANNEL\tPACE\tQUEUED\tDIALING\tDONE")
	for _, camp := range cs {
		q := counts[camp.Name]
		d := camp.Definition
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%g/s\t%d\t%d\t%d\n", camp.Name, camp.State, camp.Version,
			surveyLabel(d, q.SurveyVersion), d.Channel, d.Pace, q.Queued, q.Dialing, q.Done)
	}
	return tw.Flush()
}

// surveyLabel names the survey a campaign asks: "name v2" once a version
// is pinned.
func surveyLabel(d *campaigns.Definition, pinned int) string {
	if pinned > 0 {
		return fmt.Sprintf("%s v%d", d.Survey, pinned)
	}
	return d.Survey
}

func campaignShow(ctx context.Context, c *cli, st *campaigns.Store, name string, now time.Time) error {
	camp, err := st.Get(ctx, name)
	if err != nil {
		return err
	}
	counts, err := campaignQueues(ctx, st.Pool)
	if err != nil {
		return err
	}
	q := counts[camp.Name]
	w := c.stdout
	fmt.Fprintf(w, "campaign %s\n", camp.Name)
	fmt.Fprintf(w, "state:    %s\n", camp.State)
	fmt.Fprintf(w, "version:  %d (updated %s)\n", camp.Version, camp.UpdatedAt.UTC().Format("2006-01-02 15:04Z"))
	switch {
	case q.SurveyVersion > 0:
		fmt.Fprintf(w, "survey:   %s version %d (pinned)\n", camp.Definition.Survey, q.SurveyVersion)
	case camp.Definition.SurveyVersion > 0:
		fmt.Fprintf(w, "survey:   %s version %d (pinned when first activated)\n", camp.Definition.Survey, camp.Definition.SurveyVersion)
	default:
		fmt.Fprintf(w, "survey:   %s, the latest version published when first activated\n", camp.Definition.Survey)
	}

	fmt.Fprintln(w, "\ndefinition (defaults included):")
	text, err := definitionYAML(camp.Definition)
	if err != nil {
		return fmt.Errorf("campaign %s: %w", camp.Name, err)
	}
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		fmt.Fprintln(w, "  "+line)
	}
	if camp.Definition.Window == nil {
		fmt.Fprintln(w, "  # window: the default for each recipient's language (Chinese: China's, otherwise the US')")
	}
	fmt.Fprintln(w)
	if err := printNextRuns(c, camp.Definition, now); err != nil {
		return err
	}

	byState, err := groupCounts(ctx, st.Pool, `
SELECT state, coalesce(outcome, ''), count(*) FROM contacts WHERE campaign_id = $1
GROUP BY state, outcome ORDER BY array_position(ARRAY['queued', 'dialing', 'done'], state), outcome`, camp.ID)
	if err != nil {
		return fmt.Errorf("campaign %s: contacts: %w", camp.Name, err)
	}
	fmt.Fprintf(w, "\ncontacts: %d\n", q.Queued+q.Dialing+q.Done)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, s := range []struct {
		state string
		n     int
	}{{"queued", q.Queued}, {"dialing", q.Dialing}, {"done", q.Done}} {
		if s.n == 0 {
			continue
		}
		fmt.Fprintf(tw, "  %s\t%d\n", s.state, s.n)
		for _, g := range byState {
			if g.key == s.state && g.sub != "" {
				fmt.Fprintf(tw, "    %s\t%d\n", g.sub, g.n)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	byOutcome, err := groupCounts(ctx, st.Pool, `
SELECT coalesce(a.outcome, 'in progress (' || a.state || ')'), '', count(*)
FROM attempts a JOIN contacts k ON k.id = a.contact_id
WHERE k.campaign_id = $1
GROUP BY 1 ORDER BY 3 DESC, 1`, camp.ID)
	if err != nil {
		return fmt.Errorf("campaign %s: attempts: %w", camp.Name, err)
	}
	total := 0
	for _, g := range byOutcome {
		total += g.n
	}
	fmt.Fprintf(w, "\nattempts: %d\n", total)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, g := range byOutcome {
		fmt.Fprintf(tw, "  %s\t%d\n", g.key, g.n)
	}
	return tw.Flush()
}

type groupCount struct {
	key, sub string
	n        int
}

// groupCounts runs a query returning (key, sub-key, count) rows.
func groupCounts(ctx context.Context, pool *pgxpool.Pool, sql string, args ...any) ([]groupCount, error) {
	rows, err := pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (groupCount, error) {
		var g groupCount
		return g, r.Scan(&g.key, &g.sub, &g.n)
	})
}

// definitionYAML writes a definition's canonical form — every field,
// defaults included, in the order of the format — as YAML.
func definitionYAML(d *campaigns.Definition) (string, error) {
	body, err := d.Canonical()
	if err != nil {
		return "", err
	}
	var n yaml.Node
	if err := yaml.Unmarshal(body, &n); err != nil {
		return "", err
	}
	blockStyle(&n)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return b.String(), nil
}

// blockStyle turns JSON's flow style into YAML's block style, keeping lists
// of plain values on one line as definition files write them.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	if n.Kind == yaml.SequenceNode {
		n.Style = yaml.FlowStyle
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				n.Style = 0
			}
		}
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}

func campaignSetState(ctx context.Context, c *cli, st *campaigns.Store, name, verb string, to campaigns.State) error {
	cur, err := st.Get(ctx, name)
	if err != nil {
		return err
	}
	if verb == "resume" && cur.State != campaigns.StatePaused {
		return fmt.Errorf("campaign %s: cannot resume: it is %s, not paused%s", name, cur.State, stateHint(cur.State))
	}
	camp, err := st.SetState(ctx, name, to, cliActor(c))
	switch {
	case errors.Is(err, campaigns.ErrTransition):
		return fmt.Errorf("campaign %s: cannot %s: it is %s%s", name, verb, cur.State, stateHint(cur.State))
	case errors.Is(err, campaigns.ErrSurveyNotFound):
		return fmt.Errorf("%w (publish the survey before activating the campaign)", err)
	case err != nil:
		return err
	}
	fmt.Fprintf(c.stdout, "campaign %s: %s → %s\n", camp.Name, cur.State, camp.State)
	if camp.SurveyVersionID != 0 && camp.SurveyVersionID != cur.SurveyVersionID {
		var survey string
		var version int
		if err := st.Pool.QueryRow(ctx, `
SELECT s.name, v.version FROM survey_versions v JOIN surveys s ON s.id = v.survey_id WHERE v.id = $1`,
			camp.SurveyVersionID).Scan(&survey, &version); err != nil {
			return fmt.Errorf("campaign %s: pinned survey: %w", name, err)
		}
		fmt.Fprintf(c.stdout, "survey %s version %d pinned\n", survey, version)
	}
	return nil
}

// stateHint says where a campaign in state s may go, as the verbs that
// move it there.
func stateHint(s campaigns.State) string {
	verbs := []struct {
		verb string
		to   campaigns.State
	}{
		{"activate", campaigns.StateActive}, {"pause", campaigns.StatePaused},
		{"complete", campaigns.StateCompleted}, {"archive", campaigns.StateArchived},
	}
	var can []string
	for _, v := range verbs {
		if campaigns.CanTransition(s, v.to) {
			verb := v.verb
			if v.to == campaigns.StateActive && s == campaigns.StatePaused {
				verb = "resume"
			}
			can = append(can, verb)
		}
	}
	if len(can) == 0 {
		return fmt.Sprintf(" (nothing follows %s)", s)
	}
	return fmt.Sprintf(" (from %s it may: %s)", s, strings.Join(can, ", "))
}

// previewRow is one contact the preview lists.
type previewRow struct {
	NextAt     time.Time
	Zones      []string
	Channel    string
	ExternalID string
	Phone      string
	Lang       string
	New        bool
	Suppressed bool
}

// campaignPreview shows who the campaign would call when over the next
// days: it enrols as the scheduler would at now, inside a transaction that
// is always rolled back, and lists the queue that results.
func campaignPreview(ctx context.Context, c *cli, st *campaigns.Store, name string, now time.Time, days, limit int) error {
	camp, err := st.Get(ctx, name)
	if err != nil {
		return err
	}
	def := camp.Definition
	horizon := now.Add(time.Duration(days) * 24 * time.Hour)
	tx, err := st.Pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("campaign %s: preview: %w", name, err)
	}
	// Nothing of the preview may stay: the transaction is rolled back
	// whatever happens.
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck

	var lastID int64
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM contacts WHERE campaign_id = $1`, camp.ID).Scan(&lastID); err != nil {
		return fmt.Errorf("campaign %s: preview: %w", name, err)
	}
	res, err := campaigns.Enrol(ctx, tx, camp.ID, def, now)
	if err != nil {
		return fmt.Errorf("campaign %s: preview: %w", name, err)
	}
	rows, err := tx.Query(ctx, `
SELECT k.next_at, k.zones, k.channel, w.external_id, k.phone_e164, k.lang, k.id > $2,
       EXISTS (SELECT 1 FROM suppressions s WHERE s.phone_e164 = k.phone_e164)
FROM contacts k JOIN work_orders w ON w.id = k.work_order_id
WHERE k.campaign_id = $1 AND k.state = 'queued'
ORDER BY k.next_at, k.id`, camp.ID, lastID)
	if err != nil {
		return fmt.Errorf("campaign %s: preview: %w", name, err)
	}
	queue, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (previewRow, error) {
		var p previewRow
		return p, r.Scan(&p.NextAt, &p.Zones, &p.Channel, &p.ExternalID, &p.Phone, &p.Lang, &p.New, &p.Suppressed)
	})
	if err != nil {
		return fmt.Errorf("campaign %s: preview: %w", name, err)
	}
	var expired int
	if err := tx.QueryRow(ctx, `
SELECT count(*) FROM contacts WHERE campaign_id = $1 AND id > $2 AND state = 'done' AND outcome = 'expired'`,
		camp.ID, lastID).Scan(&expired); err != nil {
		return fmt.Errorf("campaign %s: preview: %w", name, err)
	}

	zoneName := def.TimeZone
	if zoneName == "" {
		zoneName = "UTC"
	}
	loc, err := time.LoadLocation(zoneName)
	if err != nil {
		return fmt.Errorf("campaign %s: time_zone: %w", name, err)
	}
	w := c.stdout
	fmt.Fprintf(w, "Preview of campaign %s (%s, version %d): enrolment at %s, contacts due before %s.\n",
		camp.Name, camp.State, camp.Version, now.UTC().Format("2006-01-02 15:04Z"), horizon.UTC().Format("2006-01-02 15:04Z"))
	fmt.Fprintln(w, "Nothing is called and nothing is stored.")
	fmt.Fprintln(w)

	var (
		due, later, suppressed, queuedBefore int
		perDay                               []string
		dayCount                             = map[string]int{}
	)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DUE (RECIPIENT)\tZONE\tDUE (UTC)\tCHANNEL\tJOB\tPHONE\tLANG")
	for _, p := range queue {
		if !p.New {
			queuedBefore++
		}
		switch {
		case p.Suppressed:
			suppressed++
			continue
		case !p.NextAt.Before(horizon):
			later++
			continue
		}
		due++
		day := p.NextAt.In(loc).Format("Mon 2006-01-02")
		if dayCount[day] == 0 {
			perDay = append(perDay, day)
		}
		dayCount[day]++
		if due > limit {
			continue
		}
		local, zones := p.NextAt.UTC(), "UTC"
		if locs := campaigns.Locations(p.Zones); len(locs) > 0 {
			local, zones = p.NextAt.In(locs[0]), strings.Join(p.Zones, ", ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", local.Format("Mon 01-02 15:04 MST"), zones,
			p.NextAt.UTC().Format("2006-01-02 15:04Z"), p.Channel, p.ExternalID, workorders.MaskPhone(p.Phone), p.Lang)
	}
	if due > 0 {
		if err := tw.Flush(); err != nil {
			return err
		}
		if due > limit {
			fmt.Fprintf(w, "… and %d more (--limit %d)\n", due-limit, limit)
		}
	} else {
		fmt.Fprintf(w, "Nobody is due within %d days.\n", days)
	}

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "enrolled now:\t%d\t(%d of them moved to when their calling window opens)\n", res.Enrolled, res.Deferred)
	fmt.Fprintf(tw, "already queued:\t%d\n", queuedBefore)
	fmt.Fprintf(tw, "due within %d days:\t%d\n", days, due)
	for _, day := range perDay {
		fmt.Fprintf(tw, "  %s (%s):\t%d\n", day, zoneName, dayCount[day])
	}
	fmt.Fprintf(tw, "due later:\t%d\n", later)
	fmt.Fprintf(tw, "expired:\t%d\t(the calling window does not open before the contact's deadline)\n", expired)
	fmt.Fprintf(tw, "suppressed:\t%d\t(the number opted out since it was queued: ended, not called)\n", suppressed)
	if err := tw.Flush(); err != nil {
		return err
	}
	if camp.State != campaigns.StateActive {
		fmt.Fprintf(w, "\nThe campaign is %s: it enrols and calls nobody until it is active.\n", camp.State)
	}
	return nil
}
