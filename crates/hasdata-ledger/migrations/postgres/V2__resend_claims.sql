-- hasdata-ledger, version 2: who is resending an unresolved intent (`hasdata jobs retry`),
-- and until when. Two retries of one intent at once must not both send it; the claim is taken
-- with one conditional UPDATE, and its lease lets a killed retrier's claim lapse.
ALTER TABLE ledger_intents
    ADD COLUMN resend_owner TEXT,
    ADD COLUMN resend_until TIMESTAMPTZ;
