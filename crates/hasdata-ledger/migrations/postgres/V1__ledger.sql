-- The PostgreSQL ledger, version 1: the same facts as the SQLite ledger's version 2.
-- Timestamps stay RFC 3339 text (UTC), as the trait speaks them, so `since` prefixes compare as
-- text exactly as in SQLite. Applied by refinery (table hasdata_ledger_migrations), under an
-- advisory lock so that several processes starting at once migrate one after the other.

CREATE TABLE ledger_intents (
    base_url      TEXT    NOT NULL,
    key           TEXT    NOT NULL,
    -- Recording order, the tie-break of "newest first" (SQLite's rowid).
    seq           BIGINT  GENERATED ALWAYS AS IDENTITY,
    slug          TEXT    NOT NULL,
    body_digest   TEXT    NOT NULL,
    -- The body as JSON text with webhook header values redacted (never the secret).
    body          TEXT,
    body_redacted BOOLEAN NOT NULL,
    origin_source TEXT,
    origin_line   BIGINT,
    created_at    TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('pending', 'submitted', 'refused', 'uncertain')),
    -- The job id exactly as sent, as JSON text (a number or a string).
    job_id        TEXT,
    detail        TEXT,
    updated_at    TEXT    NOT NULL,
    attempts      INTEGER NOT NULL,
    PRIMARY KEY (base_url, key)
);

CREATE INDEX ledger_intents_by_origin
    ON ledger_intents (base_url, origin_source, origin_line, body_digest);

CREATE TABLE ledger_jobs (
    base_url     TEXT   NOT NULL,
    id           BIGINT NOT NULL,
    seq          BIGINT GENERATED ALWAYS AS IDENTITY,
    scraper      TEXT   NOT NULL,
    submitted_at TEXT   NOT NULL,
    origin       TEXT,
    status       TEXT,
    row_count    BIGINT,
    credits      BIGINT,
    collected_at TEXT,
    output       TEXT,
    -- The submit's answer, webhook header values redacted.
    record       JSONB  NOT NULL,
    intent_key   TEXT,
    PRIMARY KEY (base_url, id)
);

CREATE INDEX ledger_jobs_newest ON ledger_jobs (base_url, submitted_at DESC, id DESC);
