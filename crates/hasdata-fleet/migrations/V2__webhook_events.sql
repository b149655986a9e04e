-- hasdata-fleet, version 2: webhook events recorded by any number of `hasdata webhook listen`
-- replicas behind one URL. The delivery's identity (SHA-256 of the body's canonical JSON:
-- HasData's calls carry no delivery id, and a retry repeats the body) is the primary key, so
-- replicas deduplicate through this table: a delivery is inserted with ON CONFLICT DO NOTHING,
-- and answered 200 only once that insert has committed.
CREATE TABLE fleet_webhook_events (
    delivery     TEXT        PRIMARY KEY,
    -- The event's job id as sent (digits for an integer id); NULL when the call had none.
    -- Events are attached to queue items through fleet_items.job_id; events of jobs no item
    -- owns (yet, or at all) are kept the same way.
    job_id       TEXT,
    event        TEXT        NOT NULL,
    job_status   TEXT,
    -- Whether job_status is terminal (finished, finished_with_error, stopped): what a worker
    -- waiting on the job looks for.
    terminal     BOOLEAN     NOT NULL,
    -- Rows the event carried (scraper.data.scraped), and the rows themselves.
    row_count    BIGINT      NOT NULL DEFAULT 0,
    rows         JSONB,
    -- The event's own timestamp, as sent.
    sent_at      JSONB,
    -- The whole body when it did not match the documented event shape (never lost).
    raw          JSONB,
    -- Which replica recorded it (its name), for people.
    receiver     TEXT,
    received_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX fleet_webhook_events_by_job ON fleet_webhook_events (job_id, received_at);
CREATE INDEX fleet_webhook_events_terminal ON fleet_webhook_events (job_id) WHERE terminal;
