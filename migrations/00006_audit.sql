-- The audit: the manufacturer's parts lists and standard times the data checks compare claims
-- with, the flags the checks raise and the review team works, provider statistics and risk,
-- and the API tokens that give every reviewer their own identity and role.

-- +goose Up

-- A product model as the manufacturer's parts list describes it: the standard labour time of
-- a repair and of an installation (V12) and the warranty term.
CREATE TABLE product_models (
    code             text PRIMARY KEY,
    category         text NOT NULL DEFAULT '',
    brand            text NOT NULL DEFAULT '',
    repair_minutes   integer CHECK (repair_minutes > 0),
    install_minutes  integer CHECK (install_minutes > 0),
    warranty_months  integer CHECK (warranty_months > 0),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- The bill of materials of a model: the parts a repair of it may claim, at most max_qty at a
-- time (V11), with the list price the cost checks use.
CREATE TABLE model_parts (
    model_code  text NOT NULL REFERENCES product_models (code) ON DELETE CASCADE,
    part_code   text NOT NULL,
    name_en     text NOT NULL DEFAULT '',
    name_zh     text NOT NULL DEFAULT '',
    currency    text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    list_price  numeric(12,2) NOT NULL CHECK (list_price >= 0),
    max_qty     integer NOT NULL CHECK (max_qty > 0),
    PRIMARY KEY (model_code, part_code)
);

-- A flag is one rule's finding about one job (or, for provider statistics, one provider):
-- open, claimed by a reviewer under a lease, waiting for a second sign-off when the claim is
-- large, or decided. Every change is also written to audit_log.
CREATE TABLE flags (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    work_order_id   bigint REFERENCES work_orders (id),
    provider_id     bigint NOT NULL REFERENCES providers (id),
    rule            text NOT NULL CHECK (rule ~ '^[VP][0-9]{1,2}$'),
    severity        text NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low')),
    -- 1 critical … 4 low: the queue's first sort key.
    priority        smallint NOT NULL CHECK (priority BETWEEN 1 AND 4),
    source          text NOT NULL CHECK (source IN ('answers', 'intake', 'statistics')),
    summary         text NOT NULL,
    -- What the check saw: the answers, the other jobs, the statistic and its interval.
    evidence        jsonb NOT NULL DEFAULT '{}',
    -- The claim's value (labour + parts) and what a confirmed finding charges back.
    currency        text NOT NULL DEFAULT '',
    claim_value     numeric(12,2) NOT NULL DEFAULT 0,
    amount          numeric(12,2) NOT NULL DEFAULT 0,
    state           text NOT NULL DEFAULT 'open'
                    CHECK (state IN ('open', 'claimed', 'signoff', 'decided')),
    decision        text CHECK (decision IN ('confirmed', 'cleared', 'escalated', 'needs_info')),
    raised_at       timestamptz NOT NULL,
    due_at          timestamptz NOT NULL,
    assignee        text,
    lease_until     timestamptz,
    decided_by      text,
    decided_at      timestamptz,
    reason          text NOT NULL DEFAULT '',
    note            text NOT NULL DEFAULT '',
    signoff_by      text,
    signoff_at      timestamptz,
    version         integer NOT NULL DEFAULT 1,
    updated_at      timestamptz NOT NULL,
    CHECK ((state = 'decided') = (decision IS NOT NULL)),
    CHECK (state NOT IN ('claimed', 'signoff') OR assignee IS NOT NULL)
);
-- One flag per (job, rule); one undecided flag per (provider, statistic).
CREATE UNIQUE INDEX flags_job_rule_idx ON flags (work_order_id, rule) WHERE work_order_id IS NOT NULL;
CREATE UNIQUE INDEX flags_provider_rule_idx ON flags (provider_id, rule)
    WHERE work_order_id IS NULL AND state <> 'decided';
CREATE INDEX flags_queue_idx ON flags (priority, due_at, id) WHERE state <> 'decided';
CREATE INDEX flags_provider_idx ON flags (provider_id, rule, decided_at);
CREATE INDEX flags_decided_idx ON flags (decided_at) WHERE state = 'decided';

-- A reviewer may not decide flags about a provider they are conflicted with (their own region,
-- a relative, a former employer).
CREATE TABLE reviewer_conflicts (
    reviewer     text NOT NULL,
    provider_id  bigint NOT NULL REFERENCES providers (id),
    reason       text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (reviewer, provider_id)
);

-- Which jobs the intake checks and which contacts the answer checks have seen, so each runs
-- once per job or contact however many instances run the audit.
CREATE TABLE audit_intake_checked (
    work_order_id  bigint PRIMARY KEY REFERENCES work_orders (id),
    checked_at     timestamptz NOT NULL
);
-- V13 looks a new job's customer address up among all customers by this key: lower case,
-- spaces and punctuation removed (the expression of addressKey in audit/intake.go).
CREATE INDEX customers_address_key_idx ON customers
    ((lower(translate(address, E' \t\r\n,.;:#/()-_''"，。、；：（）【】“”‘’·－—　', ''))));
CREATE TABLE audit_contact_checked (
    -- Not a foreign key: rows are written only for contacts just read, contacts are never
    -- deleted, and the check cost about a fifth of the answer checks.
    contact_id  bigint PRIMARY KEY,
    checked_at  timestamptz NOT NULL
);

-- Provider statistics as last recomputed: one row per (provider, metric) with the estimate,
-- its interval, the peer reference it is compared with and whether it is an outlier.
CREATE TABLE provider_stats (
    provider_id  bigint NOT NULL REFERENCES providers (id),
    metric       text NOT NULL,
    n            integer NOT NULL,
    value        double precision NOT NULL,
    lower        double precision NOT NULL,
    upper        double precision NOT NULL,
    reference    double precision NOT NULL,
    outlier      boolean NOT NULL,
    computed_at  timestamptz NOT NULL,
    PRIMARY KEY (provider_id, metric)
);

-- Risk, 0 (none) to 1: per provider from its statistics and confirmed findings, per job from
-- its open flags and its provider. Campaign sampling reads both: higher risk, sampled more.
CREATE TABLE provider_risk (
    provider_id  bigint PRIMARY KEY REFERENCES providers (id),
    score        double precision NOT NULL CHECK (score BETWEEN 0 AND 1),
    risky        boolean NOT NULL,
    reasons      text[] NOT NULL DEFAULT '{}',
    computed_at  timestamptz NOT NULL
);
CREATE TABLE job_risk (
    work_order_id  bigint PRIMARY KEY REFERENCES work_orders (id),
    score          double precision NOT NULL CHECK (score BETWEEN 0 AND 1),
    reasons        text[] NOT NULL DEFAULT '{}',
    computed_at    timestamptz NOT NULL
);

-- API tokens: each names one person or integration and its role. Only a SHA-256 of the token
-- is kept; the token itself is shown once, when it is created.
CREATE TABLE api_tokens (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,62}$'),
    role          text NOT NULL CHECK (role IN ('admin', 'ops', 'reviewer', 'readonly')),
    token_sha256  bytea NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);

-- +goose Down
DROP TABLE api_tokens;
DROP TABLE job_risk;
DROP TABLE provider_risk;
DROP TABLE provider_stats;
DROP TABLE audit_contact_checked;
DROP INDEX customers_address_key_idx;
DROP TABLE audit_intake_checked;
DROP TABLE reviewer_conflicts;
DROP TABLE flags;
DROP TABLE model_parts;
DROP TABLE product_models;
