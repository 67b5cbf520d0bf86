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

// enrolSQL inserts a contact for every eligible job in one statement:
// targeted, sampled (a hash of campaign and job, so a re-run agrees), not
// already enrolled in this campaign, the number not suppressed and not
// surveyed by any campaign within the frequency cap, and at most one job
// per number per run. The first attempt is due when the trigger allows;
// the window is applied after (see Enrol).
const enrolSQL = `
INSERT INTO contacts (campaign_id, work_order_id, customer_id, phone_e164, zones, lang, channel, next_at, expires_at,
                      created_at, updated_at)
SELECT DISTINCT ON (c.phone_e164)
       $1, w.id, c.id, c.phone_e164,
       CASE WHEN c.phone_tz IS NOT NULL AND c.phone_tz <> c.tz THEN ARRAY[c.tz, c.phone_tz] ELSE ARRAY[c.tz] END,
       c.lang, $2, GREATEST($3, w.completed_at + $4::interval), w.completed_at + $5::interval, $3, $3
FROM work_orders w
JOIN customers c ON c.id = w.customer_id
JOIN providers p ON p.id = w.provider_id
WHERE w.completed_at >= $3 - $6::interval
  AND w.completed_at + $5::interval > $3
  AND (cardinality($7::text[]) = 0 OR w.kind = ANY ($7))
  AND (cardinality($8::text[]) = 0 OR w.product_category = ANY ($8))
  AND (cardinality($9::text[]) = 0 OR c.region = ANY ($9) OR split_part(c.region, '-', 1) = ANY ($9))
  AND (cardinality($10::text[]) = 0 OR p.external_id = ANY ($10))
  AND w.labour_amount + w.parts_amount >= $11
  AND (NOT $12 OR EXISTS (SELECT 1 FROM claimed_parts cp WHERE cp.work_order_id = w.id))
  AND (($14 > 0 AND w.labour_amount + w.parts_amount >= $14)
       OR (hashtextextended(w.id::text, $1) & 2147483647)::float8 / 2147483648 < $13)
  AND NOT EXISTS (SELECT 1 FROM contacts k WHERE k.campaign_id = $1 AND k.work_order_id = w.id)
  AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.phone_e164 = c.phone_e164)
  AND NOT EXISTS (SELECT 1 FROM contacts k WHERE k.phone_e164 = c.phone_e164 AND k.created_at > $3 - $15::interval)
ORDER BY c.phone_e164, w.completed_at DESC, w.id
ON CONFLICT (campaign_id, work_order_id) DO NOTHING`

func interval(d time.Duration) string { return fmt.Sprintf("%d microseconds", d.Microseconds()) }

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Enrol inserts the contacts of one enrolment run of a campaign, in one
// transaction: the eligible jobs as enrolSQL selects them, then each new
// contact's first attempt moved to when its calling window opens. The
// window is applied set-based: for each distinct (zones, language) of the
// new contacts, the closed stretches of the window over the coming days are
// computed once and every contact due inside one is moved to its end.
func Enrol(ctx context.Context, tx pgx.Tx, campaignID int64, def *Definition, now time.Time) (EnrolResult, error) {
	var res EnrolResult
	t := def.Targeting
	channel := "voice"
	if def.Channel == ChannelSMS {
		channel = "sms"
	}
	tag, err := tx.Exec(ctx, enrolSQL, campaignID, channel, now,
		interval(time.Duration(def.Trigger.After)), interval(time.Duration(def.Trigger.Within)),
		interval(time.Duration(t.CompletedWithinDays)*24*time.Hour),
		orEmpty(t.Kinds), orEmpty(t.ProductCategories), orEmpty(t.Regions), orEmpty(t.Providers),
		t.MinClaimValue, t.OnlyWithParts, def.Sampling.Rate, def.Sampling.AlwaysAbove,
		interval(time.Duration(def.FrequencyCap)))
	if err != nil {
		return res, fmt.Errorf("enrol campaign %d: %w", campaignID, err)
	}
	res.Enrolled = int(tag.RowsAffected())
	if res.Enrolled == 0 {
		return res, nil
	}
	rows, err := tx.Query(ctx, `
SELECT zones, lang, max(expires_at) FROM contacts
WHERE campaign_id = $1 AND created_at = $2 AND state = 'queued'
GROUP BY zones, lang`, campaignID, now)
	if err != nil {
		return res, fmt.Errorf("enrol campaign %d: %w", campaignID, err)
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
		return res, fmt.Errorf("enrol campaign %d: %w", campaignID, err)
	}
	for _, g := range groups {
		var closedFrom, openAt []time.Time
		locs := Locations(g.zones)
		w := def.WindowFor(g.lang)
		for c := now; c.Before(g.horizon) && len(locs) > 0; {
			if w.Open(c, locs...) {
				c = w.OpenUntil(c, locs...)
				continue
			}
			next, ok := w.NextOpen(c, locs...)
			if !ok {
				next = g.horizon // never opens: expire these contacts
			}
			closedFrom, openAt = append(closedFrom, c), append(openAt, next)
			c = next
		}
		if len(locs) == 0 {
			closedFrom, openAt = []time.Time{now}, []time.Time{g.horizon}
		}
		if len(closedFrom) > 0 {
			// The first stretch starts at now but covers anything due
			// earlier too.
			closedFrom[0] = time.Time{}
		}
		tag, err := tx.Exec(ctx, `
UPDATE contacts k SET next_at = s.open_at
FROM unnest($4::timestamptz[], $5::timestamptz[]) AS s(closed_from, open_at)
WHERE k.campaign_id = $1 AND k.created_at = $2 AND k.state = 'queued' AND k.zones = $3 AND k.lang = $6
  AND k.next_at >= s.closed_from AND k.next_at < s.open_at`,
			campaignID, now, g.zones, closedFrom, openAt, g.lang)
		if err != nil {
			return res, fmt.Errorf("enrol campaign %d: window for %s: %w", campaignID, strings.Join(g.zones, ","), err)
		}
		res.Deferred += int(tag.RowsAffected())
	}
	// A contact whose window does not open before its deadline is ended
	// now rather than left to expire in the queue.
	if _, err := tx.Exec(ctx, `
UPDATE contacts SET state = 'done', outcome = 'expired', ended_at = $2
WHERE campaign_id = $1 AND created_at = $2 AND state = 'queued' AND next_at >= expires_at`, campaignID, now); err != nil {
		return res, err
	}
	return res, nil
}
