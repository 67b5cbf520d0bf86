-- Surveys and their versions. A survey is a name; what it asks lives in its
-- versions. A version is immutable: campaigns and answers point at it, so
-- editing a survey publishes a new version and the trigger below refuses any
-- UPDATE of a stored one.

-- +goose Up

CREATE TABLE surveys (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- source is the YAML as published (what people edit and review); definition
-- is its canonical JSON (what reporting queries read); sha256 is the hash of
-- that JSON, so publishing unchanged content — even reformatted — finds the
-- latest version instead of adding one.
CREATE TABLE survey_versions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    survey_id   bigint NOT NULL REFERENCES surveys (id),
    version     integer NOT NULL CHECK (version > 0),
    source      text NOT NULL,
    definition  jsonb NOT NULL,
    sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (survey_id, version)
);

-- +goose StatementBegin
CREATE FUNCTION survey_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'survey_versions are immutable: publish a new version instead of %', TG_OP;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER survey_versions_no_update BEFORE UPDATE ON survey_versions
    FOR EACH ROW EXECUTE FUNCTION survey_versions_immutable();

-- +goose Down
DROP TABLE survey_versions;
DROP FUNCTION survey_versions_immutable();
DROP TABLE surveys;
