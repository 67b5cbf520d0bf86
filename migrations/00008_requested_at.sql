-- When each call or text request was let go to the carrier.

-- +goose Up

-- requested_at is the moment dispatch let the request go, just before it was sent: the
-- pace limiter's admission time, by Redis TIME, so the moments of every instance are on one
-- clock and can be compared (busiest second, pace kept). Requests not paced by a campaign
-- carry this instance's clock. NULL for attempts written before this column, and for an
-- attempt whose instance died before it recorded the carrier's answer.
ALTER TABLE attempts ADD COLUMN requested_at timestamptz;

-- +goose Down
ALTER TABLE attempts DROP COLUMN requested_at;
