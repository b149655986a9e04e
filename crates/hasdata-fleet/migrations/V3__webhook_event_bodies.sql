-- hasdata-fleet, version 3: every authenticated delivery is stored, whatever its text.
--
-- PostgreSQL's text and jsonb cannot hold the character U+0000, which JSON can carry
-- ("\u0000"), and a decoded JSON number past 64 bits is a float. So the body is kept as the
-- bytes received, and the text columns that come from the body (job_id, event, job_status)
-- hold a value with a NUL character as its JSON string literal ("a\u0000b", quotes
-- included), the column's name listed in `escaped`. The jsonb columns (rows, sent_at, raw)
-- are NULL when their value holds a NUL; `body` has it.
ALTER TABLE fleet_webhook_events ADD COLUMN body BYTEA;
ALTER TABLE fleet_webhook_events ADD COLUMN escaped TEXT[] NOT NULL DEFAULT '{}';
-- Whether the delivery did not match the documented event shape (raw is its decoded body,
-- when jsonb can hold it): JSON that is not an object is one.
ALTER TABLE fleet_webhook_events ADD COLUMN unrecognised BOOLEAN NOT NULL DEFAULT false;
UPDATE fleet_webhook_events SET unrecognised = true WHERE raw IS NOT NULL;
-- Pruning by age (`hasdata webhook events --prune-older-than`, `webhook listen --retain`).
CREATE INDEX fleet_webhook_events_by_age ON fleet_webhook_events (received_at);
