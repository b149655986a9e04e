-- hasdata-fleet, version 1: the shared queue. Applied by refinery (history table
-- hasdata_fleet_migrations) under an advisory lock, beside hasdata-ledger's ledger_* tables.

-- One row per distinct (scraper, body): the digest of the slug and the canonical body text is
-- unique, so adding the same line twice keeps one item.
CREATE TABLE fleet_items (
    id           BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    digest       TEXT        NOT NULL UNIQUE,
    slug         TEXT        NOT NULL,
    -- The canonical body text (keys sorted, compact): exactly the bytes a worker sends.
    body         TEXT        NOT NULL,
    -- Where it was added from (file:line), for people.
    origin       TEXT,
    state        TEXT        NOT NULL DEFAULT 'queued' CHECK (state IN
                     ('queued', 'submitting', 'running', 'collecting', 'done', 'parked', 'failed')),
    -- The ledger intent's key, stored before the POST (state 'submitting' onwards).
    intent_key   TEXT,
    -- The job id as the API sent it, once known.
    job_id       TEXT,
    lease_owner  TEXT,
    lease_until  TIMESTAMPTZ,
    -- Not claimable before this (a 429's wait, a failed step's backoff).
    not_before   TIMESTAMPTZ,
    claims       INTEGER     NOT NULL DEFAULT 0,
    row_count    BIGINT,
    output       TEXT,
    detail       TEXT,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Claims read queued items in id order, and expired leases of the active states.
CREATE INDEX fleet_items_by_state ON fleet_items (state, id);
CREATE INDEX fleet_items_by_lease ON fleet_items (lease_until)
    WHERE state IN ('submitting', 'running', 'collecting');
CREATE INDEX fleet_items_by_job ON fleet_items (job_id) WHERE job_id IS NOT NULL;

-- Fleet-wide settings every worker reads inside its claim (the running-jobs cap).
CREATE TABLE fleet_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
