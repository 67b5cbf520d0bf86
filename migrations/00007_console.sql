-- The console: the people who log in to it, their sessions, and the failed logins that
-- throttle password guessing.

-- +goose Up

-- A console user. The password is stored only as an argon2id hash in PHC form
-- ($argon2id$v=19$m=…,t=…,p=…$salt$hash). phone_e164 is the user's own phone, rung first
-- by click-to-call.
CREATE TABLE users (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username       text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9_.@-]{0,62}$'),
    display_name   text NOT NULL DEFAULT '',
    role           text NOT NULL CHECK (role IN ('admin', 'ops', 'reviewer', 'readonly')),
    lang           text NOT NULL DEFAULT 'en' CHECK (lang IN ('en', 'zh-CN')),
    phone_e164     text CHECK (phone_e164 ~ '^\+[1-9][0-9]{6,14}$'),
    password_hash  text NOT NULL,
    disabled       boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- A login session. Only the SHA-256 of the cookie's value is stored, so a copy of this table
-- does not let anyone in. A session ends at expires_at (absolute) or after a long idle time
-- since last_seen_at, whichever comes first.
CREATE TABLE sessions (
    id_sha256     bytea PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf          text NOT NULL,
    created_at    timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    user_agent    text NOT NULL DEFAULT '',
    ip            text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- A failed login, counted per username and per client address over a recent window.
CREATE TABLE login_failures (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username  text NOT NULL,
    ip        text NOT NULL,
    at        timestamptz NOT NULL
);
CREATE INDEX login_failures_username_idx ON login_failures (username, at);
CREATE INDEX login_failures_ip_idx ON login_failures (ip, at);

-- The audit log viewer filters by who acted, newest first.
CREATE INDEX audit_log_actor_idx ON audit_log (actor, at);

-- The dashboard counts today's attempts and the last days' satisfaction and NPS answers.
CREATE INDEX attempts_created_idx ON attempts (created_at);
CREATE INDEX survey_answers_score_idx ON survey_answers (received_at) WHERE fact IN ('csat', 'nps');

-- +goose Down
DROP INDEX survey_answers_score_idx;
DROP INDEX attempts_created_idx;
DROP INDEX audit_log_actor_idx;
DROP TABLE login_failures;
DROP TABLE sessions;
DROP TABLE users;
