-- The foundation: where jobs come from, who did them, for whom, and what was claimed.
-- Every time is timestamptz (stored UTC); every money amount is numeric(12,2) in the
-- job's currency; every enumerated state is text with a CHECK, never a one-letter code.

-- +goose Up

-- An intake source is one upstream system or channel that sends jobs. (source, external id)
-- is the identity of a job, so re-sending the same job updates it instead of adding one.
-- Pull sources keep a watermark: the (completed_at, external_id) of the last committed row.
-- config names environment variables for credentials; it never holds a secret itself.
CREATE TABLE intake_sources (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                    text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    kind                    text NOT NULL CHECK (kind IN ('file', 'api', 'sql', 'http')),
    default_region          text NOT NULL DEFAULT 'CN' CHECK (default_region ~ '^[A-Z]{2}$'),
    default_tz              text,
    schedule                text,
    config                  jsonb NOT NULL DEFAULT '{}',
    enabled                 boolean NOT NULL DEFAULT true,
    watermark_completed_at  timestamptz,
    watermark_external_id   text,
    last_run_at             timestamptz,
    last_run_rows           integer,
    last_error              text,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);

-- Rows an upstream source sent that failed validation, kept so someone can fix them upstream.
-- A pull does not stop on a bad row; it records it here and moves on.
CREATE TABLE intake_rejects (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id    bigint NOT NULL REFERENCES intake_sources (id) ON DELETE CASCADE,
    at           timestamptz NOT NULL DEFAULT now(),
    place        text NOT NULL,
    external_id  text NOT NULL DEFAULT '',
    errors       text NOT NULL,
    raw          text NOT NULL DEFAULT ''
);
CREATE INDEX intake_rejects_source_idx ON intake_rejects (source_id, at);

-- Service providers are the contracted companies paid per job and per part.
-- phone_e164 is the provider's own number: a customer with the same number is suspicious.
CREATE TABLE providers (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    name        text NOT NULL DEFAULT '',
    phone_e164  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- A customer as the upstream system knows them. tz is the zone of the address (or the
-- row's override); phone_tz is the zone the number implies, when it implies one. Calling
-- windows are checked in both when they differ.
CREATE TABLE customers (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id    bigint NOT NULL REFERENCES intake_sources (id),
    external_id  text NOT NULL,
    name         text NOT NULL DEFAULT '',
    phone_e164   text NOT NULL CHECK (phone_e164 ~ '^\+[1-9][0-9]{6,14}$'),
    phone_tz     text,
    address      text NOT NULL DEFAULT '',
    region       text NOT NULL DEFAULT '',
    tz           text NOT NULL,
    lang         text NOT NULL CHECK (lang IN ('zh-CN', 'en')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source_id, external_id)
);
CREATE INDEX customers_phone_idx ON customers (phone_e164);

-- A completed install or repair, with the claim the provider made for it.
CREATE TABLE work_orders (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id              bigint NOT NULL REFERENCES intake_sources (id),
    external_id            text NOT NULL,
    kind                   text NOT NULL CHECK (kind IN ('install', 'repair')),
    completed_at           timestamptz NOT NULL,
    customer_id            bigint NOT NULL REFERENCES customers (id),
    provider_id            bigint NOT NULL REFERENCES providers (id),
    technician             text NOT NULL DEFAULT '',
    technician_phone_e164  text,
    brand                  text NOT NULL DEFAULT '',
    product_category       text NOT NULL,
    product_model          text NOT NULL,
    serial_number          text NOT NULL DEFAULT '',
    warranty_status        text NOT NULL CHECK (warranty_status IN ('in_warranty', 'out_of_warranty', 'extended', 'unknown')),
    warranty_ends_on       date,
    delivered_on           date,
    fault                  text NOT NULL DEFAULT '',
    currency               text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    customer_paid          numeric(12,2) NOT NULL DEFAULT 0 CHECK (customer_paid >= 0),
    labour_minutes         integer CHECK (labour_minutes >= 0),
    labour_amount          numeric(12,2) NOT NULL DEFAULT 0 CHECK (labour_amount >= 0),
    parts_amount           numeric(12,2) NOT NULL DEFAULT 0 CHECK (parts_amount >= 0),
    -- A digest of the claim lines, so re-sending an unchanged job touches nothing.
    parts_digest           text NOT NULL DEFAULT '',
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source_id, external_id)
);
CREATE INDEX work_orders_completed_idx ON work_orders (completed_at);
CREATE INDEX work_orders_provider_idx ON work_orders (provider_id, completed_at);
CREATE INDEX work_orders_customer_idx ON work_orders (customer_id);
CREATE INDEX work_orders_serial_idx ON work_orders (serial_number) WHERE serial_number <> '';

-- The parts a provider claims to have replaced on a job, one row per claim line, with the
-- plain-language names a customer would recognise ("the heating element", "加热管").
CREATE TABLE claimed_parts (
    work_order_id  bigint NOT NULL REFERENCES work_orders (id) ON DELETE CASCADE,
    line           smallint NOT NULL CHECK (line > 0),
    part_code      text NOT NULL,
    name_en        text NOT NULL DEFAULT '',
    name_zh        text NOT NULL DEFAULT '',
    quantity       integer NOT NULL CHECK (quantity > 0),
    unit_cost      numeric(12,2) NOT NULL CHECK (unit_cost >= 0),
    PRIMARY KEY (work_order_id, line)
);
CREATE INDEX claimed_parts_code_idx ON claimed_parts (part_code);

-- The ground truth of generated sample jobs: what the simulated customer will say and which
-- claims were planted as bad. Only sample data fills it; the demo and tests measure recall
-- and precision against it.
CREATE TABLE sample_truth (
    work_order_id  bigint PRIMARY KEY REFERENCES work_orders (id) ON DELETE CASCADE,
    persona        text NOT NULL,
    planted        text[] NOT NULL DEFAULT '{}',
    truth          jsonb NOT NULL DEFAULT '{}'
);

-- The append-only audit log: who did what to which thing, when. Rows are never updated or
-- deleted; the trigger below makes that a database rule, not a convention.
CREATE TABLE audit_log (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    actor         text NOT NULL,
    action        text NOT NULL,
    subject_type  text NOT NULL DEFAULT '',
    subject_id    text NOT NULL DEFAULT '',
    details       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_subject_idx ON audit_log (subject_type, subject_id, at);
CREATE INDEX audit_log_at_idx ON audit_log (at);

-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- +goose Down
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE sample_truth;
DROP TABLE claimed_parts;
DROP TABLE work_orders;
DROP TABLE customers;
DROP TABLE providers;
DROP TABLE intake_rejects;
DROP TABLE intake_sources;
