-- Campaigns and their contacts. A campaign says which jobs to survey, how, when and how
-- fast; every change is a new row of campaign_versions, so what a campaign was when it
-- called someone is never lost. The contacts table is the dial queue (the hopper): one row
-- per (campaign, job), due at next_at, taken by dispatch workers on any instance with
-- FOR UPDATE SKIP LOCKED.

-- +goose Up
CREATE TABLE campaigns (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name              text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    state             text NOT NULL DEFAULT 'draft'
                      CHECK (state IN ('draft', 'active', 'paused', 'completed', 'archived')),
    version           integer NOT NULL DEFAULT 1,
    -- The current version: its YAML as written and its parsed, canonical form.
    source            text NOT NULL,
    definition        jsonb NOT NULL,
    -- The survey version the campaign asks, fixed when it is first activated.
    survey_version_id bigint REFERENCES survey_versions (id),
    last_enrolled_at  timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE campaign_versions (
    campaign_id  bigint NOT NULL REFERENCES campaigns (id),
    version      integer NOT NULL,
    source       text NOT NULL,
    definition   jsonb NOT NULL,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, version)
);

CREATE TABLE contacts (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id      bigint NOT NULL REFERENCES campaigns (id),
    -- Not a foreign key: enrolment inserts only work orders it has just selected in the
    -- same transaction, work orders are never deleted, and the check would cost about a
    -- third of a million-contact enrolment.
    work_order_id    bigint NOT NULL,
    phone_e164       text NOT NULL,
    -- The recipient's zones: the address's, then the number's when it differs.
    zones            text[] NOT NULL,
    lang             text NOT NULL,
    -- queued: due at next_at; dialing: an attempt is live; done: nothing more will happen.
    state            text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'dialing', 'done')),
    outcome          text CHECK (outcome IN ('completed', 'exhausted', 'opted_out', 'wrong_number', 'failed',
                                             'expired', 'suppressed', 'canceled')),
    -- The channel of the next attempt.
    channel          text NOT NULL CHECK (channel IN ('voice', 'sms')),
    attempts         integer NOT NULL DEFAULT 0,
    voice_attempts   integer NOT NULL DEFAULT 0,
    sms_attempts     integer NOT NULL DEFAULT 0,
    next_at          timestamptz NOT NULL,
    -- No attempt starts after this (the policy's contact period).
    expires_at       timestamptz NOT NULL,
    last_attempt_id  bigint REFERENCES attempts (id),
    -- When a dialing contact's attempt is settled by the reconciler if nothing else does.
    lease_until      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    ended_at         timestamptz,
    UNIQUE (campaign_id, work_order_id)
);
CREATE INDEX contacts_due_idx ON contacts (campaign_id, next_at) WHERE state = 'queued';
CREATE INDEX contacts_dialing_idx ON contacts (lease_until) WHERE state = 'dialing';
-- The per-customer frequency cap looks up recent contacts by number, across campaigns.
CREATE INDEX contacts_phone_idx ON contacts (phone_e164, created_at);

ALTER TABLE attempts ADD COLUMN contact_id bigint REFERENCES contacts (id);
CREATE INDEX attempts_contact_idx ON attempts (contact_id) WHERE contact_id IS NOT NULL;

-- +goose Down
DROP INDEX attempts_contact_idx;
ALTER TABLE attempts DROP COLUMN contact_id;
DROP TABLE contacts;
DROP TABLE campaign_versions;
DROP TABLE campaigns;
