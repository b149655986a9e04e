//! The queue in PostgreSQL: adding items, claiming them with leases under the fleet-wide cap,
//! heartbeats, and every state change a worker or a person makes.
//!
//! How claims stay safe with any number of workers on any number of machines:
//!
//! - A claim is one transaction that first takes a transaction-scoped advisory lock
//!   ([`CLAIM_LOCK`]): claims happen one at a time fleet-wide, so counting the items that hold
//!   a running-job slot (`submitting`, `running`, and `parked`: an uncertain submit's job may
//!   be running on the API) and taking one more is never raced past the cap. The lock is held
//!   for two short statements.
//! - Rows are picked with `FOR UPDATE SKIP LOCKED`, so a claim never waits on a row another
//!   transaction (a heartbeat, a state change) holds.
//! - Every later change names the lease's owner (`WHERE lease_owner = $worker`): a worker whose
//!   lease ran out and was taken over learns it (`false`) and stops touching the item.
//! - An item moves to `submitting` with a fresh intent key in the same statement that claims
//!   it, before any POST: whoever holds it next reads the ledger's intent under that key to
//!   learn whether a job was created.

use std::collections::BTreeMap;
use std::time::Duration;

use deadpool_postgres::Pool;
use serde::Serialize;

use crate::error::{FleetError, Result, db, pool};
use crate::item::{Claimed, ItemState, NewItem, canonical_body, item_digest};

/// The migrations, in order. Released files are never edited, only new ones appended.
const MIGRATIONS: &[(&str, &str)] = &[
    ("V1__queue", include_str!("../migrations/V1__queue.sql")),
    (
        "V2__webhook_events",
        include_str!("../migrations/V2__webhook_events.sql"),
    ),
    (
        "V3__webhook_event_bodies",
        include_str!("../migrations/V3__webhook_event_bodies.sql"),
    ),
    (
        "V4__webhook_event_job_hash",
        include_str!("../migrations/V4__webhook_event_job_hash.sql"),
    ),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Refinery's history table for the queue's migrations (the ledger keeps its own).
pub const MIGRATION_TABLE: &str = "hasdata_fleet_migrations";

/// Serialises migrations of the queue's tables ("hasdflmg").
const MIGRATION_LOCK: i64 = 0x6861_7364_666c_6d67;

/// Serialises claims fleet-wide, so the running-jobs count and the claim that adds to it are
/// one step ("hasdflcl").
pub const CLAIM_LOCK: i64 = 0x6861_7364_666c_636c;

/// The running-jobs cap when none was set with [`Queue::set_max_running`]: HasData's smallest
/// plan's concurrency is not documented, so a small number.
pub const DEFAULT_MAX_RUNNING: u32 = 5;

/// Items per `INSERT` when adding.
const ADD_BATCH: usize = 1000;

const CLAIM_COLUMNS: &str = "id, slug, body, origin, state, intent_key, job_id, claims";

/// The shared queue.
#[derive(Clone)]
pub struct Queue {
    pool: Pool,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue").finish_non_exhaustive()
    }
}

/// What [`Queue::add`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AddReport {
    /// New items.
    pub added: u64,
    /// Items that were in the queue already (the same slug and body).
    pub duplicates: u64,
}

/// Counts per state, and the cap in force.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueStatus {
    /// Items per state; every state is present, zero included.
    pub counts: BTreeMap<ItemState, u64>,
    /// All items.
    pub total: u64,
    /// The fleet-wide cap on running jobs.
    pub max_running: u32,
}

/// One item as `hasdata queue list` shows it (and, as JSON, `queue list --json`: its schema is
/// `schemas/cli.queue-item.schema.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ItemSummary {
    /// The item's id (`queue resolve ITEM`).
    pub id: i64,
    /// The scraper's slug.
    pub slug: String,
    /// Where the item is in its life.
    pub state: ItemState,
    /// Where it was added from (`/abs/bodies.jsonl:3`, `stdin:3`).
    pub origin: Option<String>,
    /// The ledger intent's key (the submit's Idempotency-Key), once claimed.
    pub intent_key: Option<String>,
    /// The job id as sent, once known.
    pub job_id: Option<String>,
    /// Rows written, once done.
    pub rows: Option<i64>,
    /// Where they went (a path, or the table sink's description).
    pub output: Option<String>,
    /// Why it is parked or failed, or the last retry's reason.
    pub detail: Option<String>,
    /// Claims so far.
    pub claims: i32,
}

/// What [`Queue::recheck_parked`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Recheck {
    /// Parked items whose job id the ledger now has: `running` again, for a worker to collect.
    pub running: u64,
    /// Parked items the ledger now says created no job: `queued` again, under a new key.
    pub queued: u64,
}

/// A person's answer for a parked item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// The job exists with this id: collect it.
    Created(String),
    /// No job was created: submit it again (under a new key).
    NotCreated,
}

fn secs(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

fn claimed(row: &tokio_postgres::Row) -> Result<Claimed> {
    let state: String = row.get(4);
    Ok(Claimed {
        id: row.get(0),
        slug: row.get(1),
        body: row.get(2),
        origin: row.get(3),
        state: ItemState::parse(&state).ok_or_else(|| {
            FleetError::Database(format!("the queue holds an unknown state {state:?}"))
        })?,
        intent_key: row.get(5),
        job_id: row.get(6),
        claims: row.get(7),
    })
}

impl Queue {
    /// Connects to `url` with a pool of `pool_size` connections and migrates the queue's tables.
    /// The pool is the ledger's ([`hasdata_ledger::postgres::pool_of_size`]): one parser, one
    /// set of timeouts, one TLS setup, and a malformed URL is the same
    /// [`LedgerError::BadUrl`](hasdata_ledger::LedgerError::BadUrl) everywhere.
    pub async fn connect(url: &str, pool_size: usize) -> Result<Queue> {
        Queue::from_pool(hasdata_ledger::postgres::pool_of_size(url, pool_size)?).await
    }

    /// The queue on an existing pool (one pool for a process's queue, ledger and sinks),
    /// migrating its tables as needed.
    pub async fn from_pool(pool: Pool) -> Result<Queue> {
        let queue = Queue { pool };
        queue.migrate().await?;
        Ok(queue)
    }

    /// The connection pool.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The webhook events recorded in the queue's database, on the same pool.
    pub fn events(&self) -> crate::events::WebhookEvents {
        crate::events::WebhookEvents::new(self.pool.clone())
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(pool)
    }

    async fn migrate(&self) -> Result<()> {
        let mut client = self.client().await?;
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(db("locking for migration"))?;
        let result = migrate_locked(&mut client).await;
        let unlocked = client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
            .await;
        result?;
        unlocked.map_err(db("unlocking after migration"))?;
        Ok(())
    }

    /// Adds items; an item whose slug and canonical body are queued already (in any state) is
    /// counted as a duplicate and left alone.
    pub async fn add(&self, items: &[NewItem]) -> Result<AddReport> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db("adding items"))?;
        let mut report = AddReport::default();
        for chunk in items.chunks(ADD_BATCH) {
            let digests: Vec<String> = chunk
                .iter()
                .map(|i| item_digest(&i.slug, &i.body))
                .collect();
            let slugs: Vec<&str> = chunk.iter().map(|i| i.slug.as_str()).collect();
            let bodies: Vec<String> = chunk.iter().map(|i| canonical_body(&i.body)).collect();
            let origins: Vec<Option<&str>> = chunk.iter().map(|i| i.origin.as_deref()).collect();
            let added = tx
                .execute(
                    "INSERT INTO fleet_items (digest, slug, body, origin)
                     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
                     ON CONFLICT (digest) DO NOTHING",
                    &[&digests, &slugs, &bodies, &origins],
                )
                .await
                .map_err(db("adding items"))?;
            report.added += added;
            report.duplicates += chunk.len() as u64 - added;
        }
        tx.commit().await.map_err(db("adding items"))?;
        Ok(report)
    }

    /// Counts per state, and the cap.
    pub async fn status(&self) -> Result<QueueStatus> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT state, count(*) FROM fleet_items GROUP BY state",
                &[],
            )
            .await
            .map_err(db("counting items"))?;
        let mut status = QueueStatus {
            counts: ItemState::ALL.into_iter().map(|s| (s, 0)).collect(),
            total: 0,
            max_running: self.max_running_on(&client).await?,
        };
        for row in rows {
            let state: String = row.get(0);
            let count: i64 = row.get(1);
            if let Some(state) = ItemState::parse(&state) {
                status.counts.insert(state, count as u64);
            }
            status.total += count as u64;
        }
        Ok(status)
    }

    /// One item's state; `None` when the queue has no such item.
    pub async fn state_of(&self, id: i64) -> Result<Option<ItemState>> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT state FROM fleet_items WHERE id = $1", &[&id])
            .await
            .map_err(db("reading an item"))?;
        row.map(|row| {
            let state: String = row.get(0);
            ItemState::parse(&state).ok_or_else(|| {
                FleetError::Database(format!("the queue holds an unknown state {state:?}"))
            })
        })
        .transpose()
    }

    /// The items in `state` (all with `None`), oldest first, at most `limit`.
    pub async fn list(&self, state: Option<ItemState>, limit: i64) -> Result<Vec<ItemSummary>> {
        let client = self.client().await?;
        let state = state.map(ItemState::as_str);
        let rows = client
            .query(
                "SELECT id, slug, state, origin, intent_key, job_id, row_count, output, detail, claims
                 FROM fleet_items WHERE ($1::text IS NULL OR state = $1) ORDER BY id LIMIT $2",
                &[&state, &limit],
            )
            .await
            .map_err(db("listing items"))?;
        rows.iter()
            .map(|row| {
                let state: String = row.get(2);
                Ok(ItemSummary {
                    id: row.get(0),
                    slug: row.get(1),
                    state: ItemState::parse(&state).ok_or_else(|| {
                        FleetError::Database(format!("the queue holds an unknown state {state:?}"))
                    })?,
                    origin: row.get(3),
                    intent_key: row.get(4),
                    job_id: row.get(5),
                    rows: row.get(6),
                    output: row.get(7),
                    detail: row.get(8),
                    claims: row.get(9),
                })
            })
            .collect()
    }

    /// Sets the fleet-wide cap on running jobs (every worker reads it at each claim).
    pub async fn set_max_running(&self, max_running: u32) -> Result<()> {
        if max_running == 0 {
            return Err(FleetError::Config(
                "the running-jobs cap must be at least 1".into(),
            ));
        }
        self.client()
            .await?
            .execute(
                "INSERT INTO fleet_settings (name, value) VALUES ('max_running', $1)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                &[&max_running.to_string()],
            )
            .await
            .map_err(db("setting the cap"))?;
        Ok(())
    }

    async fn max_running_on(&self, client: &impl deadpool_postgres::GenericClient) -> Result<u32> {
        let row = client
            .query_opt(
                "SELECT value FROM fleet_settings WHERE name = 'max_running'",
                &[],
            )
            .await
            .map_err(db("reading the cap"))?;
        Ok(row
            .and_then(|r| r.get::<_, String>(0).parse().ok())
            .unwrap_or(DEFAULT_MAX_RUNNING))
    }

    /// Claims one item for `worker` with a lease of `lease`: first an item whose previous
    /// holder's lease ran out (it holds its slot already), else, while fewer than the cap of
    /// items hold a running-job slot, the oldest queued item, moved to `submitting` under
    /// `new_key`. `None`: nothing to do now.
    pub async fn claim(
        &self,
        worker: &str,
        lease: Duration,
        new_key: &str,
    ) -> Result<Option<Claimed>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db("claiming"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CLAIM_LOCK])
            .await
            .map_err(db("claiming"))?;
        let lease = secs(lease);
        let taken_over = tx
            .query_opt(
                &format!(
                    "UPDATE fleet_items SET lease_owner = $1,
                        lease_until = now() + make_interval(secs => $2::float8),
                        claims = claims + 1, updated_at = now()
                     WHERE id = (SELECT id FROM fleet_items
                                 WHERE state IN ('submitting', 'running', 'collecting')
                                   AND lease_until <= now()
                                   AND (not_before IS NULL OR not_before <= now())
                                 ORDER BY lease_until LIMIT 1 FOR UPDATE SKIP LOCKED)
                     RETURNING {CLAIM_COLUMNS}"
                ),
                &[&worker, &lease],
            )
            .await
            .map_err(db("claiming an expired lease"))?;
        let row = match taken_over {
            Some(row) => Some(row),
            None => {
                let cap = i64::from(self.max_running_on(&tx).await?);
                tx.query_opt(
                    &format!(
                        "UPDATE fleet_items SET state = 'submitting', intent_key = $3,
                            lease_owner = $1,
                            lease_until = now() + make_interval(secs => $2::float8),
                            claims = claims + 1, updated_at = now()
                         WHERE (SELECT count(*) FROM fleet_items
                                WHERE state IN ('submitting', 'running', 'parked')) < $4
                           AND id = (SELECT id FROM fleet_items
                                     WHERE state = 'queued'
                                       AND (not_before IS NULL OR not_before <= now())
                                     ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
                         RETURNING {CLAIM_COLUMNS}"
                    ),
                    &[&worker, &lease, &new_key, &cap],
                )
                .await
                .map_err(db("claiming a queued item"))?
            }
        };
        tx.commit().await.map_err(db("claiming"))?;
        row.as_ref().map(claimed).transpose()
    }

    /// Extends the lease of every item `worker` holds; returns how many.
    pub async fn heartbeat(&self, worker: &str, lease: Duration) -> Result<u64> {
        self.client()
            .await?
            .execute(
                "UPDATE fleet_items SET lease_until = now() + make_interval(secs => $2::float8)
                 WHERE lease_owner = $1 AND state IN ('submitting', 'running', 'collecting')",
                &[&worker, &secs(lease)],
            )
            .await
            .map_err(db("extending leases"))
    }

    /// Extends the leases held under any of `owners` (a worker's claims in hand: an item a
    /// worker dropped is not extended, so its lease runs out and another claim takes it).
    /// Returns how many.
    pub async fn extend(&self, owners: &[String], lease: Duration) -> Result<u64> {
        if owners.is_empty() {
            return Ok(0);
        }
        self.client()
            .await?
            .execute(
                "UPDATE fleet_items SET lease_until = now() + make_interval(secs => $2::float8)
                 WHERE lease_owner = ANY($1) AND state IN ('submitting', 'running', 'collecting')",
                &[&owners, &secs(lease)],
            )
            .await
            .map_err(db("extending leases"))
    }

    /// Renews `owner`'s lease on item `id` in `from` for `lease`, if `owner` still holds it:
    /// the check a worker makes before acting as the owner (sending a submit, committing rows)
    /// when its lease may have run out (a database outage stopped its heartbeats). `false`:
    /// another claim took the item; leave it alone.
    pub async fn confirm(
        &self,
        id: i64,
        owner: &str,
        from: ItemState,
        lease: Duration,
    ) -> Result<bool> {
        self.change(
            id,
            owner,
            from,
            "lease_until = now() + make_interval(secs => $4::float8)",
            &[&secs(lease)],
        )
        .await
    }

    /// One fenced change: `set` applies only while `worker` holds the item in `from`. Returns
    /// whether it applied (false: the lease was lost).
    async fn change(
        &self,
        id: i64,
        worker: &str,
        from: ItemState,
        set: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<bool> {
        let mut all: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&id, &worker];
        let from = from.as_str();
        all.push(&from);
        all.extend_from_slice(params);
        let changed = self
            .client()
            .await?
            .execute(
                &format!(
                    "UPDATE fleet_items SET {set}, updated_at = now()
                     WHERE id = $1 AND lease_owner = $2 AND state = $3"
                ),
                &all,
            )
            .await
            .map_err(db("changing an item"))?;
        Ok(changed == 1)
    }

    /// `submitting` → `running`: the job exists with `job_id`.
    pub async fn set_running(&self, id: i64, worker: &str, job_id: &str) -> Result<bool> {
        self.change(
            id,
            worker,
            ItemState::Submitting,
            "state = 'running', job_id = $4, detail = NULL",
            &[&job_id],
        )
        .await
    }

    /// `running` → `collecting`: the job finished; its slot is free.
    pub async fn set_collecting(&self, id: i64, worker: &str) -> Result<bool> {
        self.change(id, worker, ItemState::Running, "state = 'collecting'", &[])
            .await
    }

    /// `collecting` → `done`: `rows` rows are in `output`.
    pub async fn finish(&self, id: i64, worker: &str, rows: u64, output: &str) -> Result<bool> {
        let rows = i64::try_from(rows).unwrap_or(i64::MAX);
        self.change(
            id,
            worker,
            ItemState::Collecting,
            "state = 'done', row_count = $4, output = $5, lease_owner = NULL, lease_until = NULL",
            &[&rows, &output],
        )
        .await
    }

    /// → `parked` (from `from`): a person must decide whether the job exists.
    pub async fn park(&self, id: i64, worker: &str, from: ItemState, detail: &str) -> Result<bool> {
        self.change(
            id,
            worker,
            from,
            "state = 'parked', detail = $4, lease_owner = NULL, lease_until = NULL",
            &[&detail],
        )
        .await
    }

    /// → `failed` (from `from`).
    pub async fn fail(&self, id: i64, worker: &str, from: ItemState, detail: &str) -> Result<bool> {
        self.change(
            id,
            worker,
            from,
            "state = 'failed', detail = $4, lease_owner = NULL, lease_until = NULL",
            &[&detail],
        )
        .await
    }

    /// `submitting` → `queued`: no job was created (a 429, a request never sent); claimable
    /// again after `delay`, under a new key.
    pub async fn requeue(
        &self,
        id: i64,
        worker: &str,
        detail: &str,
        delay: Duration,
    ) -> Result<bool> {
        self.change(
            id,
            worker,
            ItemState::Submitting,
            "state = 'queued', intent_key = NULL, detail = $4, lease_owner = NULL,
             lease_until = NULL, not_before = now() + make_interval(secs => $5::float8)",
            &[&detail, &secs(delay)],
        )
        .await
    }

    /// Gives up the lease of an item in `from`, keeping its state: any worker may take it
    /// over after `delay` (a shutdown hands back with no delay; a failed step with some).
    pub async fn hand_back(
        &self,
        id: i64,
        worker: &str,
        from: ItemState,
        detail: Option<&str>,
        delay: Duration,
    ) -> Result<bool> {
        self.change(
            id,
            worker,
            from,
            "lease_owner = NULL, lease_until = now(), detail = COALESCE($4, detail),
             not_before = now() + make_interval(secs => $5::float8)",
            &[&detail, &secs(delay)],
        )
        .await
    }

    /// Hands back every lease `worker` still holds (the end of a graceful shutdown): held
    /// under its name, or under one of its per-claim names (`WORKER#N`, see [`crate::Worker`]).
    pub async fn release_all(&self, worker: &str) -> Result<u64> {
        self.client()
            .await?
            .execute(
                "UPDATE fleet_items SET lease_owner = NULL, lease_until = now(), updated_at = now()
                 WHERE (lease_owner = $1 OR starts_with(lease_owner, $1 || '#'))
                   AND state IN ('submitting', 'running', 'collecting')",
                &[&worker],
            )
            .await
            .map_err(db("handing back leases"))
    }

    /// Looks up every parked item's intent in `ledger` (the fleet's shared ledger) and moves
    /// the item on when the ledger has learned its outcome since it was parked: a job id (a
    /// late answer recorded, `hasdata jobs retry`, a person settling the intent) → `running`
    /// with that id, so a worker collects it, never submits it again; refused (no job was
    /// created) → `queued` under a new key. Items whose intent is still without an outcome stay
    /// parked. Safe to run from any number of processes at once: each move is one statement
    /// that applies only while the item is parked under the same key.
    pub async fn recheck_parked(&self, ledger: &dyn hasdata_ledger::JobLedger) -> Result<Recheck> {
        let parked = self
            .client()
            .await?
            .query(
                "SELECT id, intent_key FROM fleet_items
                 WHERE state = 'parked' AND intent_key IS NOT NULL ORDER BY id",
                &[],
            )
            .await
            .map_err(db("reading parked items"))?;
        let mut done = Recheck::default();
        for row in parked {
            let id: i64 = row.get(0);
            let key: String = row.get(1);
            let Some(entry) = ledger.intent(&key).await? else {
                continue;
            };
            match entry.state {
                hasdata_ledger::IntentState::Submitted => {
                    let Some(job_id) = entry.job_id else { continue };
                    let job_id = job_id.to_string();
                    let moved = self
                        .client()
                        .await?
                        .execute(
                            "UPDATE fleet_items SET state = 'running', job_id = $3,
                                lease_owner = NULL, lease_until = now(), not_before = NULL,
                                updated_at = now(),
                                detail = 'the ledger learned its job id after it was parked'
                             WHERE id = $1 AND state = 'parked' AND intent_key = $2",
                            &[&id, &key, &job_id],
                        )
                        .await
                        .map_err(db("unparking an item"))?;
                    done.running += moved;
                }
                hasdata_ledger::IntentState::Refused => {
                    let detail = format!(
                        "the ledger says no job was created ({}): queued again",
                        entry.detail.unwrap_or_default()
                    );
                    let moved = self
                        .client()
                        .await?
                        .execute(
                            "UPDATE fleet_items SET state = 'queued', intent_key = NULL,
                                lease_owner = NULL, lease_until = NULL, not_before = NULL,
                                updated_at = now(), detail = $3
                             WHERE id = $1 AND state = 'parked' AND intent_key = $2",
                            &[&id, &key, &detail],
                        )
                        .await
                        .map_err(db("unparking an item"))?;
                    done.queued += moved;
                }
                _ => {}
            }
        }
        Ok(done)
    }

    /// A person's answer for a parked item: the job exists (`running` with its id; the next
    /// worker collects it) or was not created (`queued` again under a new key). Returns the
    /// intent key the item was parked with, so the caller can settle it in the ledger;
    /// `None` when the item is not parked.
    pub async fn resolve(
        &self,
        id: i64,
        resolution: &Resolution,
    ) -> Result<Option<Option<String>>> {
        let mut client = self.client().await?;
        let row = match resolution {
            Resolution::Created(job_id) => {
                let tx = client
                    .transaction()
                    .await
                    .map_err(db("resolving an item"))?;
                // One resolve of a job id at a time, so two people (or scripts) cannot
                // both give one job to two items between the check and the update.
                tx.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended($1, 1769))",
                    &[job_id],
                )
                .await
                .map_err(db("resolving an item"))?;
                let taken = tx
                    .query_opt(
                        "SELECT id FROM fleet_items WHERE job_id = $1 AND id <> $2 LIMIT 1",
                        &[job_id, &id],
                    )
                    .await
                    .map_err(db("resolving an item"))?;
                if let Some(taken) = taken {
                    return Err(FleetError::JobTaken {
                        job_id: job_id.clone(),
                        item: taken.get(0),
                    });
                }
                let row = tx
                    .query_opt(
                        "UPDATE fleet_items SET state = 'running', job_id = $2, lease_owner = NULL,
                        lease_until = now(), not_before = NULL, updated_at = now(),
                        detail = 'resolved by a person: the job exists'
                     WHERE id = $1 AND state = 'parked' RETURNING intent_key",
                        &[&id, job_id],
                    )
                    .await
                    .map_err(db("resolving an item"))?;
                tx.commit().await.map_err(db("resolving an item"))?;
                Ok(row)
            }
            Resolution::NotCreated => {
                client
                    .query_opt(
                        "WITH old AS (SELECT id, intent_key FROM fleet_items
                                  WHERE id = $1 AND state = 'parked' FOR UPDATE)
                     UPDATE fleet_items SET state = 'queued', lease_owner = NULL,
                        lease_until = NULL, not_before = NULL, updated_at = now(),
                        detail = 'resolved by a person: no job was created', intent_key = NULL
                     FROM old WHERE fleet_items.id = old.id
                     RETURNING old.intent_key",
                        &[&id],
                    )
                    .await
            }
        }
        .map_err(db("resolving an item"))?;
        Ok(row.map(|r| r.get::<_, Option<String>>(0)))
    }
}

async fn migrate_locked(client: &mut deadpool_postgres::Object) -> Result<()> {
    // Two statements: a query naming a missing table fails at planning, whatever its CASE.
    let exists: bool = client
        .query_one(
            &format!("SELECT to_regclass('{MIGRATION_TABLE}') IS NOT NULL"),
            &[],
        )
        .await
        .map_err(db("reading the queue's schema version"))?
        .get(0);
    let found: i64 = if exists {
        client
            .query_one(
                &format!("SELECT COALESCE(MAX(version), 0)::bigint FROM {MIGRATION_TABLE}"),
                &[],
            )
            .await
            .map_err(db("reading the queue's schema version"))?
            .get(0)
    } else {
        0
    };
    if found > SCHEMA_VERSION {
        return Err(FleetError::TooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    let migrations = MIGRATIONS
        .iter()
        .map(|(name, sql)| refinery::Migration::unapplied(name, sql))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| FleetError::Database(format!("reading the queue's migrations: {e}")))?;
    let mut runner = refinery::Runner::new(&migrations)
        .set_grouped(true)
        .set_abort_divergent(true)
        .set_abort_missing(true);
    runner.set_migration_table_name(MIGRATION_TABLE);
    let client: &mut tokio_postgres::Client = client;
    runner
        .run_async(client)
        .await
        .map_err(|e| FleetError::Database(format!("migrating the queue: {e}")))?;
    Ok(())
}
