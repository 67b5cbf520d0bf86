-- Attempts and the conversations they carry. An attempt is one call placed or one SMS survey
-- started; its row is written before the carrier is asked, so a crash can never produce a second
-- call for it (an attempt whose create went unanswered is 'in_doubt' until reconciled). A survey
-- session holds the run of the survey engine for one attempt: the job as the survey saw it when
-- the session opened, and every entry the engine appended. Each entry is also a row of
-- survey_answers with the exact words the customer heard or read and what they pressed, said or
-- typed, so audit reads answers with SQL and nothing is ever rewritten.

-- +goose Up
CREATE TABLE attempts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    work_order_id   bigint NOT NULL REFERENCES work_orders (id),
    channel         text NOT NULL CHECK (channel IN ('voice', 'sms')),
    to_e164         text NOT NULL CHECK (to_e164 ~ '^\+[1-9][0-9]{6,14}$'),
    from_e164       text NOT NULL CHECK (from_e164 ~ '^\+[1-9][0-9]{6,14}$'),
    -- pending: written, carrier not yet asked; in_doubt: the carrier's answer was lost;
    -- placed: the carrier has it; ended: nothing more will happen.
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'in_doubt', 'placed', 'ended')),
    -- The carrier's own status and its rank, so callbacks only move it forward.
    carrier_status  text NOT NULL DEFAULT '',
    status_rank     smallint NOT NULL DEFAULT 0,
    carrier_sid     text UNIQUE,
    outcome         text CHECK (outcome IN ('completed', 'partial', 'hung_up', 'no_response', 'opted_out',
                                            'no_answer', 'busy', 'machine', 'failed', 'canceled',
                                            'undelivered', 'suppressed', 'not_placed')),
    answered_by     text NOT NULL DEFAULT '',
    machine_action  text NOT NULL DEFAULT 'hangup' CHECK (machine_action IN ('hangup', 'voicemail')),
    voicemail_left  boolean NOT NULL DEFAULT false,
    error_code      integer,
    error_message   text NOT NULL DEFAULT '',
    duration_s      integer,
    recording_sid   text,
    recording_url   text,
    recording_duration_s integer,
    created_at      timestamptz NOT NULL DEFAULT now(),
    placed_at       timestamptz,
    answered_at     timestamptz,
    ended_at        timestamptz
);
CREATE INDEX attempts_work_order_idx ON attempts (work_order_id, created_at);
CREATE INDEX attempts_unsettled_idx ON attempts (created_at) WHERE state IN ('pending', 'in_doubt', 'placed');

CREATE TABLE survey_sessions (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    attempt_id        bigint NOT NULL UNIQUE REFERENCES attempts (id),
    work_order_id     bigint NOT NULL REFERENCES work_orders (id),
    survey_version_id bigint NOT NULL REFERENCES survey_versions (id),
    channel           text NOT NULL CHECK (channel IN ('voice', 'sms')),
    lang              text NOT NULL,
    phone_e164        text NOT NULL,
    -- The recipient's zones (address, then number) for reminders inside the calling window.
    zones             text[] NOT NULL DEFAULT '{}',
    -- The survey's view of the job when the session opened (surveys.Job as JSON).
    job               jsonb NOT NULL,
    -- The engine's entries (surveys.State.Entries) and their count; a write applies only when
    -- the count it read is still the count stored, so a repeated webhook is applied once.
    entries           jsonb NOT NULL DEFAULT '[]',
    n_entries         integer NOT NULL DEFAULT 0,
    status            text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'ended')),
    end_reason        text CHECK (end_reason IN ('completed', 'opted_out', 'no_response', 'hung_up', 'failed')),
    opened_at         timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    ended_at          timestamptz,
    -- SMS: when the last question went out, and when the sweeper should look at it next;
    -- how many reminders the session has had (DOMAIN.md: an invite and one reminder).
    last_sent_at      timestamptz,
    reminders         integer NOT NULL DEFAULT 0,
    next_check_at     timestamptz
);
-- An SMS reply is matched to the open session by the customer's number: at most one is open.
CREATE UNIQUE INDEX survey_sessions_open_sms_idx ON survey_sessions (phone_e164)
    WHERE status = 'open' AND channel = 'sms';
CREATE INDEX survey_sessions_due_idx ON survey_sessions (next_check_at)
    WHERE status = 'open' AND channel = 'sms';
CREATE INDEX survey_sessions_work_order_idx ON survey_sessions (work_order_id);

CREATE TABLE survey_answers (
    session_id        bigint NOT NULL REFERENCES survey_sessions (id),
    seq               integer NOT NULL CHECK (seq >= 0),
    survey_version_id bigint NOT NULL REFERENCES survey_versions (id),
    question          text NOT NULL,
    part              text NOT NULL DEFAULT '',
    event             text NOT NULL,
    fact              text NOT NULL DEFAULT '',
    value             jsonb,
    raw               text NOT NULL DEFAULT '',
    reason            text NOT NULL DEFAULT '',
    intent            boolean NOT NULL DEFAULT false,
    -- The exact words the customer heard (voice) or read (SMS) before this input.
    prompt            text NOT NULL DEFAULT '',
    input_kind        text NOT NULL DEFAULT '',
    received_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, seq)
);

-- Every text sent or received, with the carrier's status. An inbound message is stored once
-- by its SID, which is how a repeated delivery of the same reply is applied once.
CREATE TABLE sms_messages (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id    bigint REFERENCES survey_sessions (id),
    attempt_id    bigint REFERENCES attempts (id),
    direction     text NOT NULL CHECK (direction IN ('out', 'in')),
    phone_e164    text NOT NULL,
    sid           text UNIQUE,
    body          text NOT NULL,
    status        text NOT NULL,
    status_rank   smallint NOT NULL DEFAULT 0,
    error_code    integer,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sms_messages_session_idx ON sms_messages (session_id, id);
CREATE INDEX sms_messages_unsent_idx ON sms_messages (created_at) WHERE status IN ('sending', 'unsent', 'in_doubt');

-- +goose Down
DROP TABLE sms_messages;
DROP TABLE survey_answers;
DROP TABLE survey_sessions;
DROP TABLE attempts;
