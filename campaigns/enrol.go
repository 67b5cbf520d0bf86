package campaigns

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnrolResult says what one enrolment run did.
type EnrolResult struct {
	Enrolled int // contacts inserted
	Deferred int // of those, first attempts moved to when the window opens
}

// enrolStageSQL selects the eligible jobs of a run into a temporary table:
// targeted, sampled (a hash of campaign and job, so a re-run agrees), not
// already enrolled in this campaign, the number not suppressed and not
// surveyed by any campaign within the frequency cap, and at most one job per
// number per run. due is when the trigger allows the first attempt; the
// window is applied when the contacts are written (see Enrol).
//
// The sampling chance of a job rises with the audit's risk scores: p is
// Sampling.Rate ($12), at least Sampling.RiskyProviders ($15) when the
// job's provider is risky (provider_risk.risky), and then
// p + (1 − p) × the job's own score (job_risk.score, written by the audit
// for jobs with flags): a job with risk 1 is always sampled. A job or
// provider without a risk row counts as 0. The draw is the same hash
// whatever p is, so raising a job's risk only adds it to the sample, and a
// re-run still agrees.
const enrolStageSQL = `
INSERT INTO enrol_stage (work_order_id, phone_e164, zones, lang, due, expires_at)
SELECT DISTINCT ON (c.phone_e164)
       w.id, c.phone_e164,
       CASE WHEN c.phone_tz IS NOT NULL AND c.phone_tz <> c.tz THEN ARRAY[c.tz, c.phone_tz] ELSE ARRAY[c.tz] END,
       c.lang, GREATEST($2, w.completed_at + $3::interval), w.completed_at + $4::interval
FROM work_orders w
JOIN customers c ON c.id = w.customer_id
JOIN providers p ON p.id = w.provider_id
LEFT JOIN provider_risk pr ON pr.provider_id = w.provider_id
LEFT JOIN job_risk jr ON jr.work_order_id = w.id
WHERE w.completed_at >= $2 - $5::interval
  AND w.completed_at + $4::interval > $2
  AND (cardinality($6::text[]) = 0 OR w.kind = ANY ($6))
  AND (cardinality($7::text[]) = 0 OR w.product_category = ANY ($7))
  AND (cardinality($8::text[]) = 0 OR c.region = ANY ($8) OR split_part(c.region, '-', 1) = ANY ($8))
  AND (cardinality($9::text[]) = 0 OR p.code = ANY ($9))
  AND w.labour_amount + w.parts_amount >= $10
  AND (NOT $11 OR EXISTS (SELECT 1 FROM claimed_parts cp WHERE cp.work_order_id = w.id))
  AND (($13 > 0 AND w.labour_amount + w.parts_amount >= $13)
       OR (hashtextextended(w.id::text, $1) & 2147483647)::float8 / 2147483648
          < (CASE WHEN pr.risky THEN GREATEST($12::float8, $15::float8) ELSE $12::float8 END)
            * (1 - COALESCE(jr.score, 0)) + COALESCE(jr.score, 0))
  AND NOT EXISTS (SELECT 1 FROM contacts k WHERE k.campaign_id = $1 AND k.work_order_id = w.id)
  AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.phone_e164 = c.phone_e164)
  AND NOT EXISTS (SELECT 1 FROM contacts k WHERE k.phone_e164 = c.phone_e164 AND k.created_at > $2 - $14::interval)
ORDER BY c.phone_e164, w.completed_at DESC, w.id`

// enrolInsertSQL writes the staged contacts with their first attempt
// moved into the window: for each (zones, language) group, $5 and $6 hold
// the boundaries of the window's closed stretches in order — closed from
// b[1] to b[2], from b[3] to b[4] … — so width_bucket finds the stretch a
// due time falls in (an odd bucket) by binary search, and b[bucket+1] is
// when it ends. A contact whose window does not open before its deadline is
// written ended, expired. It returns the contacts written and how many of
// them were moved; a contact's due time is its deadline less within ($8)
// plus after ($9), capped below by now.
const enrolInsertSQL = `
WITH g AS (
    SELECT string_to_array(u.zones, ' ') AS zones, u.lang,
           ARRAY(SELECT x.at FROM unnest($5::int[], $6::timestamptz[]) AS x(grp, at) WHERE x.grp = u.grp ORDER BY x.at) AS b
    FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS u(zones, lang, grp)
), ins AS (
    INSERT INTO contacts (campaign_id, work_order_id, phone_e164, zones, lang, channel, state, outcome,
                          next_at, expires_at, ended_at, created_at, updated_at)
    SELECT $1, s.work_order_id, s.phone_e164, s.zones, s.lang, $2,
           CASE WHEN s.next_at < s.expires_at THEN 'queued' ELSE 'done' END,
           CASE WHEN s.next_at < s.expires_at THEN NULL ELSE 'expired' END,
           s.next_at, s.expires_at, CASE WHEN s.next_at < s.expires_at THEN NULL ELSE $7::timestamptz END, $7, $7
    FROM (SELECT st.*,
                 CASE WHEN width_bucket(st.due, g.b) % 2 = 1 THEN g.b[width_bucket(st.due, g.b) + 1] ELSE st.due END AS next_at
          FROM enrol_stage st LEFT JOIN g ON g.zones = st.zones AND g.lang = st.lang) s
    ON CONFLICT (campaign_id, work_order_id) DO NOTHING
    RETURNING next_at, expires_at
)
SELECT count(*), count(*) FILTER (WHERE next_at <> GREATEST($7, expires_at - $8::interval + $9::interval)) FROM ins`

// enrolStageDDL is the run's scratch table: TEMP (no WAL, no indexes,
// private to the transaction), dropped at the end of Enrol.
const enrolStageDDL = `CREATE TEMP TABLE enrol_stage (
	work_order_id bigint, phone_e164 text, zones text[], lang text,
	due timestamptz, expires_at timestamptz) ON COMMIT DROP`

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Enrol inserts the contacts of one enrolment run of a campaign, in the
// caller's transaction. The eligible jobs are staged as enrolStageSQL
// selects them; then, for each distinct (zones, language) among them, the
// closed stretches of the calling window until the latest deadline are
// computed once, and the contacts are written with their first attempt
// already moved to when the window opens (enrolInsertSQL): one write per
// contact, set-based, whatever the time of day.
func Enrol(ctx context.Context, tx pgx.Tx, campaignID int64, def *Definition, now time.Time) (EnrolResult, error) {
	var res EnrolResult
	fail := func(what string, err error) (EnrolResult, error) {
		return EnrolResult{}, fmt.Errorf("enrol campaign %d: %s: %w", campaignID, what, err)
	}
	t := def.Targeting
	channel := "voice"
	if def.Channel == ChannelSMS {
		channel = "sms"
	}
	if _, err := tx.Exec(ctx, enrolStageDDL); err != nil {
		return fail("stage", err)
	}
	tag, err := tx.Exec(ctx, enrolStageSQL, campaignID, now,
		time.Duration(def.Trigger.After), time.Duration(def.Trigger.Within),
		time.Duration(t.CompletedWithinDays)*24*time.Hour,
		orEmpty(t.Kinds), orEmpty(t.ProductCategories), orEmpty(t.Regions), orEmpty(t.Providers),
		t.MinClaimValue, t.OnlyWithParts, def.Sampling.Rate, def.Sampling.AlwaysAbove,
		time.Duration(def.FrequencyCap), def.Sampling.RiskyProviders)
	if err != nil {
		return fail("select jobs", err)
	}
	if tag.RowsAffected() > 0 {
		if res, err = enrolStaged(ctx, tx, campaignID, channel, def, now); err != nil {
			return fail("write contacts", err)
		}
	}
	if _, err := tx.Exec(ctx, `DROP TABLE enrol_stage`); err != nil {
		return fail("stage", err)
	}
	return res, nil
}

// enrolStaged computes the closed stretches of the window for each group of
// staged contacts and writes the contacts.
func enrolStaged(ctx context.Context, tx pgx.Tx, campaignID int64, channel string, def *Definition, now time.Time) (EnrolResult, error) {
	var res EnrolResult
	rows, err := tx.Query(ctx, `SELECT zones, lang, max(expires_at) FROM enrol_stage GROUP BY zones, lang`)
	if err != nil {
		return res, err
	}
	type group struct {
		zones   []string
		lang    string
		horizon time.Time
	}
	groups, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (group, error) {
		var g group
		return g, r.Scan(&g.zones, &g.lang, &g.horizon)
	})
	if err != nil {
		return res, err
	}
	var (
		zones, langs []string
		grp          []int32
		bounds       []time.Time
	)
	for i, g := range groups {
		zones, langs = append(zones, strings.Join(g.zones, " ")), append(langs, g.lang)
		closed := func(from, to time.Time) {
			grp, bounds = append(grp, int32(i+1), int32(i+1)), append(bounds, from, to)
		}
		locs := Locations(g.zones)
		if len(locs) == 0 {
			closed(now, g.horizon) // never open: every contact expires
			continue
		}
		// Every contact is due at now or later, so stretches from now on
		// cover them all.
		w := def.WindowFor(g.lang)
		for c := now; c.Before(g.horizon); {
			if w.Open(c, locs...) {
				c = w.OpenUntil(c, locs...)
				continue
			}
			next, ok := w.NextOpen(c, locs...)
			if !ok {
				next = g.horizon // does not open in time: these contacts expire
			}
			closed(c, next)
			c = next
		}
	}
	err = tx.QueryRow(ctx, enrolInsertSQL, campaignID, channel, zones, langs, grp, bounds, now,
		time.Duration(def.Trigger.Within), time.Duration(def.Trigger.After)).
		Scan(&res.Enrolled, &res.Deferred)
	return res, err
}
