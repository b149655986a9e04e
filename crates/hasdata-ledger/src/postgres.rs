//! The PostgreSQL ledger: one database shared by every process of a team, on any number of
//! machines, scoped by base URL like the SQLite ledger (ids of the simulator and of HasData
//! never mix).
//!
//! Same facts, same semantics as [`crate::SqliteLedger`]; what changes is how two writers at
//! once stay safe. Every `record_*` is a single statement or one transaction, and the ones that
//! can meet a concurrent writer say what happens then: an intent is inserted with
//! `ON CONFLICT DO NOTHING` (the loser learns [`LedgerError::DuplicateKey`]), a job row with
//! `ON CONFLICT (base_url, id) DO UPDATE` that keeps the first writer's facts. Durability is the
//! server's: `Ok` means the transaction committed.
//!
//! The schema is versioned with refinery (`migrations/postgres/`, history in the table
//! `hasdata_ledger_migrations`); processes that start together serialise their migration behind
//! a PostgreSQL advisory lock, and a database migrated by a newer build is refused
//! ([`LedgerError::TooNew`]), not damaged.
//!
//! The connection URL may hold a password: it is never printed. [`PostgresLedger`]'s `Debug`
//! and every error name the server through [`redact_url`].

use std::time::Duration;

use async_trait::async_trait;
/// The connection pool [`pool`] builds (deadpool-postgres'), re-exported so callers sharing it
/// need not name deadpool themselves.
pub use deadpool_postgres::Pool;
use deadpool_postgres::{Manager, ManagerConfig, RecyclingMethod, Runtime};
use hasdata_model::JobId;
use tokio_postgres::types::ToSql;

pub use crate::redact::redact_url;
use crate::{
    BodyDigest, Intent, IntentEntry, IntentState, JobEntry, JobLedger, JobProgress, JobQuery,
    LedgerError, Origin, ResendClaim, SentJobId, Submitted, now_rfc3339, redact_body,
};

/// The migrations, in order. Released files are never edited, only new ones appended.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "V1__ledger",
        include_str!("../migrations/postgres/V1__ledger.sql"),
    ),
    (
        "V2__resend_claims",
        include_str!("../migrations/postgres/V2__resend_claims.sql"),
    ),
    (
        "V3__base_url_without_trailing_slash",
        include_str!("../migrations/postgres/V3__base_url_without_trailing_slash.sql"),
    ),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Refinery's history table for this crate's migrations (other crates sharing the database
/// keep their own).
pub const MIGRATION_TABLE: &str = "hasdata_ledger_migrations";

/// The advisory lock that serialises migrations: "hasdata-ledger" folded into a bigint.
const MIGRATION_LOCK: i64 = 0x6861_7364_6c65_6467;

/// Connections in [`PostgresLedger::connect`]'s pool: every call is one short statement or
/// transaction, so a few connections carry many concurrent submits.
pub const DEFAULT_POOL_SIZE: usize = 8;

fn db(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> LedgerError {
    let source = error.into();
    let unreachable = source
        .downcast_ref::<tokio_postgres::Error>()
        .is_some_and(is_unreachable);
    if unreachable {
        return LedgerError::Unavailable {
            backend: "postgres",
            source,
        };
    }
    LedgerError::storage("postgres", source)
}

/// Whether a driver error means the server could not be reached or the connection was lost
/// (a passing failure: retry later), rather than a statement the server refused.
///
/// Server errors count when their SQLSTATE class says so: `08` (connection exception), `57`
/// (operator intervention: the server shutting down or restarting), `53` (insufficient
/// resources: too many connections). A driver error without a server error counts when the
/// connection closed, a socket failed, or the wait for the server timed out.
pub fn is_unreachable(error: &tokio_postgres::Error) -> bool {
    match error.as_db_error() {
        Some(server) => {
            let code = server.code().code();
            ["08", "57", "53"]
                .iter()
                .any(|class| code.starts_with(class))
        }
        None => {
            // A socket error is passing, except a refused TLS handshake (a certificate that
            // does not verify comes back as `InvalidData`): that needs a person, not a retry.
            error.is_closed()
                || std::error::Error::source(error)
                    .and_then(|cause| cause.downcast_ref::<std::io::Error>())
                    .is_some_and(|io| io.kind() != std::io::ErrorKind::InvalidData)
                || error.to_string().starts_with("timeout")
        }
    }
}

/// Whether a pool error means the server could not be reached (see [`is_unreachable`]): a
/// timeout waiting for or creating a connection, or a connection attempt that failed for a
/// passing reason. A wrong password or a missing database is not passing.
pub fn pool_error_is_unreachable(error: &deadpool_postgres::PoolError) -> bool {
    match error {
        deadpool_postgres::PoolError::Timeout(_) => true,
        deadpool_postgres::PoolError::Backend(error) => is_unreachable(error),
        _ => false,
    }
}

/// An error followed by its causes: the pool's and driver's `Display` alone is often only "db
/// error" or "error connecting to server", leaving out what the server said (wrong password, no
/// such database) or why the socket failed. No cause carries the URL's password: the URL is
/// parsed, and its errors worded, before any connection is made.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        let shown = next.to_string();
        if !text.contains(&shown) {
            text.push_str(": ");
            text.push_str(&shown);
        }
        cause = next.source();
    }
    text
}

/// The ledger of one base URL in one PostgreSQL database.
pub struct PostgresLedger {
    pool: Pool,
    /// Set once the schema is current: migration runs before the first statement.
    migrated: tokio::sync::OnceCell<()>,
    base_url: String,
    /// The server, for messages: [`redact_url`] of the URL it was opened with.
    target: String,
}

impl std::fmt::Debug for PostgresLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresLedger")
            .field("target", &self.target)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// A pool of [`DEFAULT_POOL_SIZE`] connections to the database at `url` (a `postgres://` URL or
/// a `key=value` connection string). Nothing connects until the pool is used.
pub fn pool(url: &str) -> Result<Pool, LedgerError> {
    pool_of_size(url, DEFAULT_POOL_SIZE)
}

/// The TLS connector every connection to a ledger's database uses (rustls, from the URL's
/// `sslmode` and `sslrootcert`).
pub use crate::pg_tls::RustlsConnector;

/// The connection settings and TLS connector for `url`, exactly as every pool gets them: for a
/// connection of one's own, such as one that `LISTEN`s (a pooled connection drops
/// notifications). The password is never in an error.
pub fn connection_parts(
    url: &str,
) -> Result<(tokio_postgres::Config, RustlsConnector), LedgerError> {
    // `sslmode=verify-*`, `sslrootcert`, `sslcert` and `sslkey` are ours to read (see
    // `pg_tls`).
    let split = crate::pg_tls::split(url);
    let mut config: tokio_postgres::Config =
        split
            .url
            .parse()
            .map_err(|e: tokio_postgres::Error| LedgerError::BadUrl {
                url: redact_url(url),
                reason: with_causes(&e),
            })?;
    let tls = crate::pg_tls::connector(
        split.verify,
        split.root_cert.as_deref(),
        split.client_cert.as_deref(),
        split.client_key.as_deref(),
    )
    .map_err(|reason| LedgerError::BadUrl {
        url: redact_url(url),
        reason,
    })?;
    if config.get_application_name().is_none() {
        config.application_name("hasdata");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    Ok((config, tls))
}

/// A pool of `size` connections to the database at `url`; see [`pool`].
pub fn pool_of_size(url: &str, size: usize) -> Result<Pool, LedgerError> {
    let (config, tls) = connection_parts(url)?;
    let manager = Manager::from_config(
        config,
        tls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size.max(1))
        .runtime(Runtime::Tokio1)
        // A server that is down fails calls instead of hanging them.
        .wait_timeout(Some(Duration::from_secs(30)))
        .create_timeout(Some(Duration::from_secs(15)))
        .build()
        .map_err(|e| {
            db(format!(
                "building the connection pool for {}: {e}",
                redact_url(url)
            ))
        })
}

impl PostgresLedger {
    /// Connects to the database at `url` (a `postgres://` URL; the password is never printed),
    /// migrates it as needed, and opens the ledger of `base_url` in it.
    pub async fn connect(url: &str, base_url: &str) -> Result<PostgresLedger, LedgerError> {
        let ledger = PostgresLedger::lazy(url, base_url)?;
        drop(ledger.client().await?);
        Ok(ledger)
    }

    /// Like [`PostgresLedger::connect`] without connecting yet: a malformed URL fails now, the
    /// server's answer (and the migration) comes with the first call. For synchronous setup
    /// code such as a client builder.
    pub fn lazy(url: &str, base_url: &str) -> Result<PostgresLedger, LedgerError> {
        Ok(PostgresLedger {
            pool: pool(url)?,
            migrated: tokio::sync::OnceCell::new(),
            base_url: base_url.to_owned(),
            target: redact_url(url),
        })
    }

    /// Opens the ledger of `base_url` on an existing pool (one pool for a process's ledger,
    /// queue and sinks), migrating the database as needed.
    pub async fn from_pool(pool: Pool, base_url: &str) -> Result<PostgresLedger, LedgerError> {
        let ledger = PostgresLedger {
            pool,
            migrated: tokio::sync::OnceCell::new(),
            base_url: base_url.to_owned(),
            target: "a pooled database".to_owned(),
        };
        drop(ledger.client().await?);
        Ok(ledger)
    }

    /// The connection pool (shared with anything else that needs the database).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The base URL this ledger is scoped to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// A connection to a database whose schema is current.
    async fn client(&self) -> Result<deadpool_postgres::Object, LedgerError> {
        self.migrated.get_or_try_init(|| self.migrate()).await?;
        self.connection().await
    }

    async fn connection(&self) -> Result<deadpool_postgres::Object, LedgerError> {
        self.pool.get().await.map_err(|e| {
            let text = format!("connecting to {}: {}", self.target, with_causes(&e));
            if pool_error_is_unreachable(&e) {
                LedgerError::Unavailable {
                    backend: "postgres",
                    source: text.into(),
                }
            } else {
                db(text)
            }
        })
    }

    /// Applies the migrations this database lacks, one process at a time.
    async fn migrate(&self) -> Result<(), LedgerError> {
        let mut client = self.connection().await?;
        // A session lock: released by the unlock below, or by the server if this connection
        // dies mid-migration (then the pool discards it).
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(db)?;
        let result = migrate_locked(&mut client).await;
        let unlocked = client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
            .await;
        result?;
        unlocked.map_err(db)?;
        Ok(())
    }

    /// The jobs of this base URL that `query` asks for, newest first.
    pub async fn query(&self, query: &JobQuery) -> Result<Vec<JobEntry>, LedgerError> {
        let limit = query.limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        let rows = self
            .client()
            .await?
            .query(
                &format!(
                    "SELECT {JOB_COLUMNS} FROM ledger_jobs WHERE base_url = $1
                       AND ($2::text IS NULL OR status = $2)
                       AND ($3::text IS NULL OR scraper = $3)
                       AND ($4::text IS NULL OR submitted_at >= $4)
                     ORDER BY submitted_at DESC, id DESC LIMIT $5"
                ),
                &[
                    &self.base_url,
                    &query.status,
                    &query.scraper,
                    &query.since,
                    &limit,
                ],
            )
            .await
            .map_err(db)?;
        rows.iter().map(job_entry).collect()
    }

    /// Removes a job from the ledger (its submit intent stays, settled). Returns whether the
    /// ledger had it. The job itself is untouched.
    pub async fn forget(&self, id: u64) -> Result<bool, LedgerError> {
        let removed = self
            .client()
            .await?
            .execute(
                "DELETE FROM ledger_jobs WHERE base_url = $1 AND id = $2",
                &[&self.base_url, &(id as i64)],
            )
            .await
            .map_err(db)?;
        Ok(removed > 0)
    }

    /// Jobs whose rows were never written anywhere, oldest first.
    pub async fn uncollected(&self) -> Result<Vec<JobEntry>, LedgerError> {
        let mut all = self.query(&JobQuery::default()).await?;
        all.retain(|e| e.collected_at.is_none());
        all.reverse();
        Ok(all)
    }

    async fn query_intents(
        &self,
        condition: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<IntentEntry>, LedgerError> {
        let rows = self
            .client()
            .await?
            .query(
                &format!(
                    "SELECT {INTENT_COLUMNS} FROM ledger_intents WHERE base_url = $1 {condition}
                     ORDER BY created_at DESC, seq DESC"
                ),
                params,
            )
            .await
            .map_err(db)?;
        rows.iter().map(intent_entry).collect()
    }

    /// Changes an intent's state; fails when the key is unknown.
    async fn settle(&self, key: &str, state: IntentState, detail: &str) -> Result<(), LedgerError> {
        let changed = self
            .client()
            .await?
            .execute(
                "UPDATE ledger_intents SET state = $3, detail = $4, updated_at = $5
                 WHERE base_url = $1 AND key = $2",
                &[
                    &self.base_url,
                    &key,
                    &state.as_str(),
                    &detail,
                    &now_rfc3339(),
                ],
            )
            .await
            .map_err(db)?;
        if changed == 0 {
            return Err(LedgerError::UnknownIntent {
                key: key.to_owned(),
            });
        }
        Ok(())
    }
}

/// Refuses a database from a newer build, then lets refinery apply what is missing.
async fn migrate_locked(client: &mut deadpool_postgres::Object) -> Result<(), LedgerError> {
    // The history table is refinery's; it exists once anything was migrated.
    let has_history: bool = client
        .query_one(
            "SELECT to_regclass($1::text) IS NOT NULL",
            &[&MIGRATION_TABLE],
        )
        .await
        .map_err(db)?
        .get(0);
    let found: i64 = if has_history {
        client
            .query_one(
                &format!("SELECT COALESCE(MAX(version), 0)::bigint FROM {MIGRATION_TABLE}"),
                &[],
            )
            .await
            .map_err(db)?
            .get(0)
    } else {
        0
    };
    if found > SCHEMA_VERSION {
        return Err(LedgerError::TooNew {
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
        .map_err(db)?;
    let mut runner = refinery::Runner::new(&migrations)
        // All missing steps in one transaction: a crash leaves the old version, never half.
        .set_grouped(true)
        .set_abort_divergent(true)
        .set_abort_missing(true);
    runner.set_migration_table_name(MIGRATION_TABLE);
    let client: &mut tokio_postgres::Client = client;
    runner.run_async(client).await.map_err(db)?;
    Ok(())
}

const JOB_COLUMNS: &str = "id, scraper, submitted_at, origin, status, row_count, credits, collected_at, output, intent_key";

const INTENT_COLUMNS: &str = "key, slug, body_digest, body, body_redacted, origin_source, origin_line, created_at, state, job_id, detail, updated_at, attempts";

fn job_entry(row: &tokio_postgres::Row) -> Result<JobEntry, LedgerError> {
    let get = |e: tokio_postgres::Error| db(e);
    Ok(JobEntry {
        id: row.try_get::<_, i64>(0).map_err(get)? as u64,
        scraper: row.try_get(1).map_err(get)?,
        submitted_at: row.try_get(2).map_err(get)?,
        origin: row.try_get(3).map_err(get)?,
        status: row.try_get(4).map_err(get)?,
        rows: row
            .try_get::<_, Option<i64>>(5)
            .map_err(get)?
            .map(|v| v as u64),
        credits: row
            .try_get::<_, Option<i64>>(6)
            .map_err(get)?
            .map(|v| v as u64),
        collected_at: row.try_get(7).map_err(get)?,
        output: row.try_get(8).map_err(get)?,
        intent_key: row.try_get(9).map_err(get)?,
    })
}

fn intent_entry(row: &tokio_postgres::Row) -> Result<IntentEntry, LedgerError> {
    let get = |e: tokio_postgres::Error| db(e);
    let digest: String = row.try_get(2).map_err(get)?;
    let state: String = row.try_get(8).map_err(get)?;
    let job_id: Option<String> = row.try_get(9).map_err(get)?;
    let origin_source: Option<String> = row.try_get(5).map_err(get)?;
    let origin_line: Option<i64> = row.try_get(6).map_err(get)?;
    let intent = Intent {
        key: row.try_get(0).map_err(get)?,
        slug: row.try_get(1).map_err(get)?,
        digest: BodyDigest::from_hex(&digest).ok_or_else(|| LedgerError::Corrupt {
            what: "body digest",
            detail: digest.clone(),
        })?,
        body: row.try_get(3).map_err(get)?,
        body_redacted: row.try_get(4).map_err(get)?,
        origin: origin_source.map(|source| Origin {
            source,
            line: origin_line.map(|l| l as u64),
        }),
        created_at: row.try_get(7).map_err(get)?,
    };
    let state = IntentState::parse(&state).ok_or_else(|| LedgerError::Corrupt {
        what: "intent state",
        detail: state.clone(),
    })?;
    let job_id = match job_id {
        None => None,
        Some(text) => Some(
            serde_json::from_str(&text)
                .ok()
                .as_ref()
                .and_then(SentJobId::from_value)
                .ok_or(LedgerError::Corrupt {
                    what: "job id",
                    detail: text,
                })?,
        ),
    };
    Ok(IntentEntry {
        intent,
        state,
        job_id,
        detail: row.try_get(10).map_err(get)?,
        updated_at: row.try_get(11).map_err(get)?,
        attempts: row.try_get::<_, i32>(12).map_err(get)?.max(0) as u32,
    })
}

#[async_trait]
impl JobLedger for PostgresLedger {
    async fn record_intent(&self, intent: &Intent) -> Result<(), LedgerError> {
        // Two writers with one key: exactly one row, and the second learns it was a duplicate.
        let inserted = self
            .client()
            .await?
            .execute(
                "INSERT INTO ledger_intents (base_url, key, slug, body_digest, body, body_redacted,
                     origin_source, origin_line, created_at, state, updated_at, attempts)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $9, 1)
                 ON CONFLICT (base_url, key) DO NOTHING",
                &[
                    &self.base_url,
                    &intent.key,
                    &intent.slug,
                    &intent.digest.as_str(),
                    &intent.body,
                    &intent.body_redacted,
                    &intent.origin.as_ref().map(|o| o.source.as_str()),
                    &intent
                        .origin
                        .as_ref()
                        .and_then(|o| o.line)
                        .map(|l| l as i64),
                    &intent.created_at,
                ],
            )
            .await
            .map_err(db)?;
        if inserted == 0 {
            return Err(LedgerError::DuplicateKey {
                key: intent.key.clone(),
            });
        }
        Ok(())
    }

    async fn record_resend(&self, key: &str) -> Result<(), LedgerError> {
        let changed = self
            .client()
            .await?
            .execute(
                "UPDATE ledger_intents SET state = 'pending', attempts = attempts + 1, updated_at = $3
                 WHERE base_url = $1 AND key = $2",
                &[&self.base_url, &key, &now_rfc3339()],
            )
            .await
            .map_err(db)?;
        if changed == 0 {
            return Err(LedgerError::UnknownIntent {
                key: key.to_owned(),
            });
        }
        Ok(())
    }

    async fn claim_resend(
        &self,
        key: &str,
        owner: &str,
        attempts: u32,
        lease: Duration,
    ) -> Result<ResendClaim, LedgerError> {
        let client = self.client().await?;
        // One statement: a second claimer's UPDATE waits on the first one's row lock, then
        // sees its claim and matches nothing. The server's clock times every lease, so the
        // machines' clocks never disagree about one.
        let lease_ms = lease.as_secs_f64() * 1000.0;
        let taken = client
            .execute(
                "UPDATE ledger_intents
                    SET resend_owner = $3,
                        resend_until = clock_timestamp() + $5::float8 * interval '1 millisecond'
                  WHERE base_url = $1 AND key = $2
                    AND (resend_owner = $3
                         OR ((resend_owner IS NULL OR resend_until <= clock_timestamp())
                             AND attempts = $4 AND state <> 'submitted'))",
                &[
                    &self.base_url,
                    &key,
                    &owner,
                    &i32::try_from(attempts).unwrap_or(i32::MAX),
                    &lease_ms,
                ],
            )
            .await
            .map_err(db)?;
        if taken > 0 {
            return Ok(ResendClaim::Taken);
        }
        let held = client
            .query_opt(
                "SELECT resend_owner IS NOT NULL AND resend_until > clock_timestamp()
                   FROM ledger_intents WHERE base_url = $1 AND key = $2",
                &[&self.base_url, &key],
            )
            .await
            .map_err(db)?;
        match held {
            None => Err(LedgerError::UnknownIntent {
                key: key.to_owned(),
            }),
            Some(row) if row.try_get::<_, bool>(0).map_err(db)? => Ok(ResendClaim::Held),
            Some(_) => Ok(ResendClaim::Moved),
        }
    }

    async fn release_resend(&self, key: &str, owner: &str) -> Result<(), LedgerError> {
        self.client()
            .await?
            .execute(
                "UPDATE ledger_intents SET resend_owner = NULL, resend_until = NULL
                  WHERE base_url = $1 AND key = $2 AND resend_owner = $3",
                &[&self.base_url, &key, &owner],
            )
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn record_submitted(&self, key: &str, submitted: &Submitted) -> Result<(), LedgerError> {
        let now = now_rfc3339();
        let sent_id = submitted.id.to_value().to_string();
        // Secrets never reach storage, whoever built the record.
        let mut record = submitted.record.clone();
        redact_body(&mut record);
        let client = self.client().await?;
        let settled = match submitted.id.job_id().and_then(|id| id.as_u64()) {
            // One statement settles the intent and records the job: atomic, and the job row is
            // written only when the intent exists (the UPDATE returns its row).
            Some(id) => client
                .execute(
                    "WITH settled AS (
                         UPDATE ledger_intents
                            SET state = 'submitted', detail = NULL, job_id = $3, updated_at = $4
                          WHERE base_url = $1 AND key = $2
                         RETURNING slug, origin_source, origin_line)
                     INSERT INTO ledger_jobs AS j (base_url, id, scraper, submitted_at, origin, status,
                                                   row_count, credits, record, intent_key)
                     SELECT $1, $5, slug, $4,
                            CASE WHEN origin_source IS NULL THEN NULL
                                 WHEN origin_line IS NULL THEN origin_source
                                 ELSE origin_source || ':' || origin_line END,
                            $6, 0, 0, $7, $2
                       FROM settled
                     ON CONFLICT (base_url, id) DO UPDATE SET
                         origin = COALESCE(EXCLUDED.origin, j.origin),
                         intent_key = COALESCE(j.intent_key, EXCLUDED.intent_key)",
                    &[
                        &self.base_url,
                        &key,
                        &sent_id,
                        &now,
                        &(id as i64),
                        &submitted.status,
                        &record,
                    ],
                )
                .await
                .map_err(db)?,
            // An id this SDK cannot follow lives in its intent only.
            None => client
                .execute(
                    "UPDATE ledger_intents
                        SET state = 'submitted', detail = NULL, job_id = $3, updated_at = $4
                      WHERE base_url = $1 AND key = $2",
                    &[&self.base_url, &key, &sent_id, &now],
                )
                .await
                .map_err(db)?,
        };
        if settled == 0 {
            return Err(LedgerError::UnknownIntent {
                key: key.to_owned(),
            });
        }
        Ok(())
    }

    async fn record_refused(&self, key: &str, reason: &str) -> Result<(), LedgerError> {
        self.settle(key, IntentState::Refused, reason).await
    }

    async fn record_uncertain(&self, key: &str, reason: &str) -> Result<(), LedgerError> {
        self.settle(key, IntentState::Uncertain, reason).await
    }

    async fn intent(&self, key: &str) -> Result<Option<IntentEntry>, LedgerError> {
        Ok(self
            .query_intents("AND key = $2", &[&self.base_url, &key])
            .await?
            .into_iter()
            .next())
    }

    async fn intents(&self) -> Result<Vec<IntentEntry>, LedgerError> {
        self.query_intents("", &[&self.base_url]).await
    }

    async fn intents_for(
        &self,
        origin: &Origin,
        digest: &BodyDigest,
    ) -> Result<Vec<IntentEntry>, LedgerError> {
        let line = origin.line.map(|l| l as i64);
        self.query_intents(
            "AND origin_source = $2 AND origin_line IS NOT DISTINCT FROM $3 AND body_digest = $4",
            &[&self.base_url, &origin.source, &line, &digest.as_str()],
        )
        .await
    }

    async fn record_progress(&self, id: JobId, progress: &JobProgress) -> Result<(), LedgerError> {
        // Job rows are kept for integer ids; any other id lives in its intent.
        let Some(id) = id.as_u64() else {
            return Ok(());
        };
        self.client()
            .await?
            .execute(
                "UPDATE ledger_jobs SET status = $3, row_count = COALESCE($4, row_count),
                        credits = COALESCE($5, credits)
                  WHERE base_url = $1 AND id = $2
                    -- Every poll of a wait notes its record: an unchanged one writes nothing.
                    AND (status IS DISTINCT FROM $3
                         OR row_count IS DISTINCT FROM COALESCE($4, row_count)
                         OR credits IS DISTINCT FROM COALESCE($5, credits))",
                &[
                    &self.base_url,
                    &(id as i64),
                    &progress.status,
                    &progress.rows.map(|v| v as i64),
                    &progress.credits.map(|v| v as i64),
                ],
            )
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn mark_collected(&self, id: JobId, output: &str) -> Result<(), LedgerError> {
        let Some(id) = id.as_u64() else {
            return Ok(());
        };
        self.client()
            .await?
            .execute(
                "UPDATE ledger_jobs SET collected_at = $3, output = $4 WHERE base_url = $1 AND id = $2",
                &[&self.base_url, &(id as i64), &now_rfc3339(), &output],
            )
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn job(&self, id: JobId) -> Result<Option<JobEntry>, LedgerError> {
        let Some(id) = id.as_u64() else {
            return Ok(None);
        };
        let row = self
            .client()
            .await?
            .query_opt(
                &format!("SELECT {JOB_COLUMNS} FROM ledger_jobs WHERE base_url = $1 AND id = $2"),
                &[&self.base_url, &(id as i64)],
            )
            .await
            .map_err(db)?;
        row.as_ref().map(job_entry).transpose()
    }

    async fn jobs(&self) -> Result<Vec<JobEntry>, LedgerError> {
        self.query(&JobQuery::default()).await
    }

    async fn other_base_urls(&self) -> Result<Vec<(String, u64)>, LedgerError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT base_url, count(*) FROM ledger_jobs WHERE base_url <> $1
                 GROUP BY base_url ORDER BY count(*) DESC, base_url",
                &[&self.base_url],
            )
            .await
            .map_err(db)?;
        Ok(rows
            .iter()
            .map(|row| (row.get::<_, String>(0), row.get::<_, i64>(1).max(0) as u64))
            .collect())
    }

    async fn query_jobs(&self, query: &JobQuery) -> Result<Vec<JobEntry>, LedgerError> {
        self.query(query).await
    }

    async fn forget_job(&self, id: JobId) -> Result<bool, LedgerError> {
        match id.as_u64() {
            Some(id) => self.forget(id).await,
            None => Ok(false),
        }
    }
}
