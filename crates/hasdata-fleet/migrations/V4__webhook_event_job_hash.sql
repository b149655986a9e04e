-- hasdata-fleet, version 4: a job id of any length is stored. A btree index entry holds at
-- most about 2,700 bytes, so a delivery whose jobId was longer (no job id the API gives is:
-- they are at most 64 characters, but a body may carry anything) failed its insert and was
-- answered 503 forever. Hash indexes keep a hash of the value, whatever its length; every
-- lookup by job id is an equality.
DROP INDEX fleet_webhook_events_by_job;
DROP INDEX fleet_webhook_events_terminal;
CREATE INDEX fleet_webhook_events_by_job ON fleet_webhook_events USING hash (job_id);
CREATE INDEX fleet_webhook_events_terminal ON fleet_webhook_events USING hash (job_id)
    WHERE terminal;
