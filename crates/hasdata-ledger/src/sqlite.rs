//! The SQLite ledger: one file shared by every `hasdata` process of a user, scoped by base
//! URL (ids of the simulator and of HasData never mix).
//!
//! Durability: WAL with `synchronous=FULL`, so a `record_*` that returned `Ok` survives a
//! kill -9 or a power cut the instant after. The schema is versioned with `PRAGMA
//! user_version`; files written before versioning (a `jobs` table only) read as version 0 and
//! are migrated in place.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use hasdata_model::JobId;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::{
    BodyDigest, Intent, IntentEntry, IntentState, JobEntry, JobLedger, JobProgress, JobQuery,
    LedgerError, Origin, ResendClaim, SentJobId, Submitted, now_rfc3339,
};

/// The schema, one step per version. Step N takes a file from version N to N + 1; steps are
/// never edited once released, only appended.
const MIGRATIONS: &[&str] = &[
    // 0 -> 1: the jobs table (files from before versioning already have it).
    "CREATE TABLE IF NOT EXISTS jobs (
        base_url     TEXT    NOT NULL,
        id           INTEGER NOT NULL,
        scraper      TEXT    NOT NULL,
        submitted_at TEXT    NOT NULL,
        origin       TEXT,
        status       TEXT,
        rows         INTEGER,
        credits      INTEGER,
        collected_at TEXT,
        output       TEXT,
        record       TEXT    NOT NULL,
        PRIMARY KEY (base_url, id)
    );",
    // 1 -> 2: write-ahead submit intents; jobs remember the intent they came from.
    "CREATE TABLE intents (
        base_url      TEXT    NOT NULL,
        key           TEXT    NOT NULL,
        slug          TEXT    NOT NULL,
        body_digest   TEXT    NOT NULL,
        body          TEXT,
        body_redacted INTEGER NOT NULL,
        origin_source TEXT,
        origin_line   INTEGER,
        created_at    TEXT    NOT NULL,
        state         TEXT    NOT NULL,
        job_id        TEXT,
        detail        TEXT,
        updated_at    TEXT    NOT NULL,
        attempts      INTEGER NOT NULL,
        PRIMARY KEY (base_url, key)
    );
    CREATE INDEX intents_by_origin ON intents (base_url, origin_source, origin_line);
    ALTER TABLE jobs ADD COLUMN intent_key TEXT;",
    // 2 -> 3: who is resending an unresolved intent, and until when (Unix milliseconds).
    "ALTER TABLE intents ADD COLUMN resend_owner TEXT;
    ALTER TABLE intents ADD COLUMN resend_until INTEGER;",
    // 3 -> 4: base URLs without trailing `/`s. Rows are scoped by the base URL's text, and
    // the CLI recorded `--base-url http://host/` as written until it dropped trailing `/`s
    // as the library's client does: those rows could no longer be selected. A row moves only
    // where that leaves one row per key: one already there under the trimmed URL keeps its
    // place and the other stays (listed as another base URL's, never lost); of several forms
    // (`host/`, `host//`) the first in byte order moves.
    "UPDATE jobs SET base_url = rtrim(base_url, '/')
     WHERE base_url LIKE '%/' AND rtrim(base_url, '/') <> ''
       AND NOT EXISTS (
         SELECT 1 FROM jobs AS o
         WHERE o.id = jobs.id AND o.base_url <> jobs.base_url
           AND rtrim(o.base_url, '/') = rtrim(jobs.base_url, '/')
           AND (o.base_url NOT LIKE '%/' OR o.base_url < jobs.base_url));
    UPDATE intents SET base_url = rtrim(base_url, '/')
     WHERE base_url LIKE '%/' AND rtrim(base_url, '/') <> ''
       AND NOT EXISTS (
         SELECT 1 FROM intents AS o
         WHERE o.key = intents.key AND o.base_url <> intents.base_url
           AND rtrim(o.base_url, '/') = rtrim(intents.base_url, '/')
           AND (o.base_url NOT LIKE '%/' OR o.base_url < intents.base_url));",
];

/// Refuses a SQLite database that is not a hasdata ledger before anything is written to it:
/// one that has tables, none of them the ledger's (`jobs`, there since before versioning,
/// or `intents`), whatever its schema version. `--ledger` given another program's database
/// by mistake (a browser's `places.sqlite`, an app's `data.db`) had the ledger's tables
/// added to it and listed no jobs; one whose `user_version` was higher than ours was called a
/// ledger from a newer hasdata.
fn refuse_a_foreign_database(conn: &Connection, version: i64) -> Result<(), PrepareError> {
    let mut statement = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )?;
    let tables = statement
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<Result<Vec<String>, _>>()?;
    if tables.is_empty()
        || tables
            .iter()
            .any(|table| table == "jobs" || table == "intents")
    {
        return Ok(());
    }
    let shown: Vec<&str> = tables.iter().take(5).map(String::as_str).collect();
    let more = if tables.len() > shown.len() {
        ", ..."
    } else {
        ""
    };
    Err(PrepareError::Ledger(LedgerError::BadLocation {
        location: conn.path().unwrap_or_default().to_owned(),
        reason: format!(
            "is a SQLite database but not a hasdata ledger (its tables: {}{more}; schema version {version}); nothing was written to it",
            if shown.is_empty() {
                "none".to_owned()
            } else {
                shown.join(", ")
            }
        ),
    }))
}

/// Now as Unix milliseconds: resend leases (this machine's clock; every process sharing a
/// SQLite file runs on the machine that holds it).
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

fn db(error: rusqlite::Error) -> LedgerError {
    LedgerError::storage("sqlite", error)
}

/// How long a call waits in all for a lock another process holds (another `hasdata` writing,
/// a `sqlite3` shell inside `BEGIN`) before it fails with "database is locked".
pub const LOCK_WAIT: Duration = Duration::from_secs(10);

/// How long SQLite itself waits for a lock on one try, sleeping the calling thread. Between
/// tries an async call awaits a timer instead ([`SqliteLedger::waiting`]), so a long wait for
/// another process's lock is a future that holds no runtime worker and can be dropped: a
/// command's Ctrl-C ends it at once instead of when the lock or [`LOCK_WAIT`] runs out.
const TRY_WAIT: Duration = Duration::from_millis(25);

/// The pause between two tries.
const RETRY_PAUSE: Duration = Duration::from_millis(25);

/// The pause between two tries, on a timer. A caller outside a tokio runtime has no timer to
/// await: its thread sleeps.
async fn pause() {
    if tokio::runtime::Handle::try_current().is_ok() {
        tokio::time::sleep(RETRY_PAUSE).await;
    } else {
        std::thread::sleep(RETRY_PAUSE);
    }
}

/// Whether a call failed only because another connection held the lock it needed: nothing
/// was changed (a statement or transaction that meets `SQLITE_BUSY` is undone), so the call
/// can be made again.
fn is_busy(error: &LedgerError) -> bool {
    let LedgerError::Storage { source, .. } = error else {
        return false;
    };
    source
        .downcast_ref::<rusqlite::Error>()
        .and_then(rusqlite::Error::sqlite_error_code)
        == Some(rusqlite::ErrorCode::DatabaseBusy)
}

/// The ledger of one base URL in one SQLite file.
#[derive(Debug)]
pub struct SqliteLedger {
    conn: Mutex<Connection>,
    base_url: String,
}

impl SqliteLedger {
    /// Opens (creating and migrating as needed) the ledger at `path`, for `base_url`. Another
    /// process's lock is waited for up to [`LOCK_WAIT`], the thread sleeping; async code that
    /// must be able to give up sooner (on Ctrl-C) uses [`SqliteLedger::open_waiting`].
    pub fn open(path: &Path, base_url: &str) -> Result<SqliteLedger, LedgerError> {
        let mut conn = Self::connect(path)?;
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        while !Self::prepared(&mut conn, deadline)? {
            std::thread::sleep(RETRY_PAUSE);
        }
        Ok(SqliteLedger {
            conn: Mutex::new(conn),
            base_url: base_url.to_owned(),
        })
    }

    /// [`SqliteLedger::open`] awaiting a timer between tries instead of sleeping the thread:
    /// dropping the future gives up the wait for another process's lock at once.
    pub async fn open_waiting(path: &Path, base_url: &str) -> Result<SqliteLedger, LedgerError> {
        Self::prepared_waiting(Self::connect(path)?, base_url).await
    }

    /// [`SqliteLedger::open_waiting`] of a ledger that must already be there: a file that
    /// does not exist is [`LedgerError::NotFound`] and nothing is made, neither the file nor
    /// its directory. For a program that only reads the ledger: a mistyped path must not
    /// read as an empty ledger (the user's jobs "gone") and leave an empty file behind.
    pub async fn open_existing(path: &Path, base_url: &str) -> Result<SqliteLedger, LedgerError> {
        Self::prepared_waiting(Self::connect_existing(path)?, base_url).await
    }

    /// The ledger of `base_url` on `conn`, once it is migrated: another process's lock is
    /// waited for on a timer between tries, up to [`LOCK_WAIT`] in all.
    async fn prepared_waiting(
        mut conn: Connection,
        base_url: &str,
    ) -> Result<SqliteLedger, LedgerError> {
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        while !Self::prepared(&mut conn, deadline)? {
            pause().await;
        }
        Ok(SqliteLedger {
            conn: Mutex::new(conn),
            base_url: base_url.to_owned(),
        })
    }

    /// Whether SQLite opened the file for reading only (the file or its file system refuses
    /// writes, e.g. `chattr +i`, or a file owned by another user): every `record_*` would
    /// fail with "attempt to write a readonly database". A program that must write (a submit
    /// records its intent before the POST) can refuse before it starts.
    pub fn is_read_only(&self) -> bool {
        self.conn().is_readonly(rusqlite::MAIN_DB).unwrap_or(false)
    }

    /// The connection to the file, made (with its directory) when missing.
    fn connect(path: &Path) -> Result<Connection, LedgerError> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| LedgerError::storage("sqlite", e))?;
        }
        // Without SQLITE_OPEN_URI: a path is a file's name, never a `file:` URI (whose
        // `?mode=memory` would keep every recorded job in memory only).
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
            | rusqlite::OpenFlags::SQLITE_OPEN_CREATE
            | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(db)?;
        // Several `hasdata` processes may share the ledger.
        conn.busy_timeout(TRY_WAIT).map_err(db)?;
        Ok(conn)
    }

    /// The connection to a file that exists; SQLite is not allowed to create it (a file
    /// removed between the look and the open fails to open rather than being made empty).
    ///
    /// An empty file is refused as a missing one is: it holds no ledger, and SQLite would
    /// take it for an empty database, so a reader gave `--ledger` a 0-byte file (`touch`ed,
    /// a wrong path made by another program, a ledger truncated by a full disk) listed no
    /// jobs as if that were the truth, and wrote the ledger's tables into it. A writer
    /// ([`SqliteLedger::open`]) still makes its ledger in such a file: there is nothing in it
    /// to lose, and `touch ledger.sqlite` or `mktemp` before the first submit is a way to say
    /// where the ledger goes.
    fn connect_existing(path: &Path) -> Result<Connection, LedgerError> {
        use rusqlite::OpenFlags;
        if !path.is_file() {
            return Err(LedgerError::NotFound {
                location: path.display().to_string(),
            });
        }
        if std::fs::metadata(path).is_ok_and(|file| file.len() == 0) {
            return Err(LedgerError::BadLocation {
                location: path.display().to_string(),
                reason: "is an empty file, not a ledger (a ledger is a SQLite file a command that records jobs made): nothing was read or written".into(),
            });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(db)?;
        conn.busy_timeout(TRY_WAIT).map_err(db)?;
        Ok(conn)
    }

    /// One try at setting the file up (WAL, durability, migrations): `false` when another
    /// connection's lock was in the way and `deadline` has not passed. Switching a new file to
    /// WAL needs an exclusive lock, and SQLite does not wait for it through the busy timeout,
    /// so the callers try again for a while instead of failing.
    fn prepared(conn: &mut Connection, deadline: std::time::Instant) -> Result<bool, LedgerError> {
        match Self::prepare(conn) {
            Err(PrepareError::Sqlite(rusqlite::Error::SqliteFailure(error, _)))
                if error.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                Ok(false)
            }
            Err(PrepareError::Sqlite(e)) => Err(db(e)),
            Err(PrepareError::Ledger(e)) => Err(e),
            Ok(()) => Ok(true),
        }
    }

    fn prepare(conn: &mut Connection) -> Result<(), PrepareError> {
        // Before anything is written (the switch to WAL below is a write to the file's
        // header): the version first, then the tables, so a file another process is making
        // a ledger meanwhile reads as new or as a ledger, never as neither.
        let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if version != SCHEMA_VERSION {
            refuse_a_foreign_database(conn, version)?;
        }
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            conn.pragma_update(None, "journal_mode", "WAL")?;
        }
        // A recorded id must survive a crash the instant after it is printed.
        conn.pragma_update(None, "synchronous", "FULL")?;
        // The common case, a current file, takes no write lock.
        let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if version == SCHEMA_VERSION {
            return Ok(());
        }
        // One process migrates; the others wait for its write lock, then see the new version.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(PrepareError::Ledger(LedgerError::TooNew {
                found: version,
                supported: SCHEMA_VERSION,
            }));
        }
        if version < SCHEMA_VERSION {
            for step in &MIGRATIONS[version.max(0) as usize..] {
                tx.execute_batch(step)?;
            }
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        }
        tx.commit()?;
        Ok(())
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes `call` (one statement or one transaction) until it is not refused for another
    /// connection's lock, for up to [`LOCK_WAIT`], awaiting a timer between tries: the
    /// connection is not held and no thread sleeps meanwhile, and dropping the future ends
    /// the wait with nothing written.
    async fn waiting<T>(
        &self,
        mut call: impl FnMut() -> Result<T, LedgerError> + Send,
    ) -> Result<T, LedgerError> {
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        loop {
            match call() {
                Err(error) if is_busy(&error) && std::time::Instant::now() < deadline => {
                    pause().await;
                }
                other => return other,
            }
        }
    }

    /// [`SqliteLedger::waiting`] for the blocking methods: the thread sleeps between tries.
    fn blocking<T>(
        &self,
        mut call: impl FnMut() -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        loop {
            match call() {
                Err(error) if is_busy(&error) && std::time::Instant::now() < deadline => {
                    std::thread::sleep(RETRY_PAUSE);
                }
                other => return other,
            }
        }
    }

    /// The base URL this ledger is scoped to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Notes where a job came from (`bodies.jsonl:3`).
    pub fn set_origin(&self, id: JobId, origin: &str) -> Result<(), LedgerError> {
        self.blocking(|| self.set_origin_once(id, origin))
    }

    fn set_origin_once(&self, id: JobId, origin: &str) -> Result<(), LedgerError> {
        // Job rows are kept for integer ids; any other id lives in its intent.
        let Some(id) = id.as_u64() else {
            return Ok(());
        };
        self.conn()
            .execute(
                "UPDATE jobs SET origin = ?3 WHERE base_url = ?1 AND id = ?2",
                params![self.base_url, id as i64, origin],
            )
            .map_err(db)?;
        Ok(())
    }

    /// Notes a job's latest status.
    pub fn set_status(
        &self,
        id: JobId,
        status: &str,
        rows: u64,
        credits: u64,
    ) -> Result<(), LedgerError> {
        // Job rows are kept for integer ids; any other id lives in its intent.
        let Some(id) = id.as_u64() else {
            return Ok(());
        };
        let progress = JobProgress {
            status: status.to_owned(),
            rows: Some(rows),
            credits: Some(credits),
        };
        self.blocking(|| self.set_progress(id, &progress))
    }

    fn set_progress(&self, id: u64, progress: &JobProgress) -> Result<(), LedgerError> {
        self.conn()
            .execute(
                // Every poll of a wait notes its record: an unchanged one writes nothing.
                "UPDATE jobs SET status = ?3, rows = COALESCE(?4, rows), credits = COALESCE(?5, credits)
                 WHERE base_url = ?1 AND id = ?2
                   AND (status IS NOT ?3 OR rows IS NOT COALESCE(?4, rows)
                        OR credits IS NOT COALESCE(?5, credits))",
                params![
                    self.base_url,
                    id as i64,
                    progress.status,
                    progress.rows.map(|v| v as i64),
                    progress.credits.map(|v| v as i64)
                ],
            )
            .map_err(db)?;
        Ok(())
    }

    /// Notes that a job's rows were written to `output`.
    pub fn set_collected(&self, id: JobId, output: &str) -> Result<(), LedgerError> {
        self.blocking(|| self.set_collected_once(id, output))
    }

    fn set_collected_once(&self, id: JobId, output: &str) -> Result<(), LedgerError> {
        // Job rows are kept for integer ids; any other id lives in its intent.
        let Some(id) = id.as_u64() else {
            return Ok(());
        };
        self.conn()
            .execute(
                "UPDATE jobs SET collected_at = ?3, output = ?4 WHERE base_url = ?1 AND id = ?2",
                params![self.base_url, id as i64, now_rfc3339(), output],
            )
            .map_err(db)?;
        Ok(())
    }

    fn job_entry(row: &rusqlite::Row<'_>) -> rusqlite::Result<JobEntry> {
        Ok(JobEntry {
            id: row.get::<_, i64>(0)? as u64,
            scraper: row.get(1)?,
            submitted_at: row.get(2)?,
            origin: row.get(3)?,
            status: row.get(4)?,
            rows: row.get::<_, Option<i64>>(5)?.map(|v| v as u64),
            credits: row.get::<_, Option<i64>>(6)?.map(|v| v as u64),
            collected_at: row.get(7)?,
            output: row.get(8)?,
            intent_key: row.get(9)?,
        })
    }

    const JOB_COLUMNS: &'static str = "id, scraper, submitted_at, origin, status, rows, credits, collected_at, output, intent_key";

    /// Every job of this base URL, newest first.
    pub fn list(&self) -> Result<Vec<JobEntry>, LedgerError> {
        self.blocking(|| self.list_once())
    }

    fn list_once(&self) -> Result<Vec<JobEntry>, LedgerError> {
        let conn = self.conn();
        let mut statement = conn
            .prepare(&format!(
                "SELECT {} FROM jobs WHERE base_url = ?1 ORDER BY submitted_at DESC, id DESC",
                Self::JOB_COLUMNS
            ))
            .map_err(db)?;
        let rows = statement
            .query_map(params![self.base_url], Self::job_entry)
            .map_err(db)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db)
    }

    /// The jobs of this base URL that `query` asks for, newest first.
    pub fn query(&self, query: &JobQuery) -> Result<Vec<JobEntry>, LedgerError> {
        self.blocking(|| self.query_once(query))
    }

    fn query_once(&self, query: &JobQuery) -> Result<Vec<JobEntry>, LedgerError> {
        let conn = self.conn();
        // NULL parameters match everything; a limit of -1 is SQLite's "no limit".
        let mut statement = conn
            .prepare(&format!(
                "SELECT {} FROM jobs WHERE base_url = ?1
                   AND (?2 IS NULL OR status = ?2)
                   AND (?3 IS NULL OR scraper = ?3)
                   AND (?4 IS NULL OR submitted_at >= ?4)
                 ORDER BY submitted_at DESC, id DESC LIMIT ?5",
                Self::JOB_COLUMNS
            ))
            .map_err(db)?;
        let limit = query
            .limit
            .map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
        let rows = statement
            .query_map(
                params![
                    self.base_url,
                    query.status,
                    query.scraper,
                    query.since,
                    limit
                ],
                Self::job_entry,
            )
            .map_err(db)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db)
    }

    /// Removes a job from the ledger (its submit intent stays, settled). Returns whether the
    /// ledger had it. The job itself is untouched: this only stops tracking it here.
    pub fn forget(&self, id: u64) -> Result<bool, LedgerError> {
        self.blocking(|| self.forget_once(id))
    }

    fn forget_once(&self, id: u64) -> Result<bool, LedgerError> {
        let removed = self
            .conn()
            .execute(
                "DELETE FROM jobs WHERE base_url = ?1 AND id = ?2",
                params![self.base_url, id as i64],
            )
            .map_err(db)?;
        Ok(removed > 0)
    }

    /// One job.
    pub fn get(&self, id: JobId) -> Result<Option<JobEntry>, LedgerError> {
        self.blocking(|| self.get_once(id))
    }

    fn get_once(&self, id: JobId) -> Result<Option<JobEntry>, LedgerError> {
        let Some(id) = id.as_u64() else {
            return Ok(None);
        };
        self.conn()
            .query_row(
                &format!(
                    "SELECT {} FROM jobs WHERE base_url = ?1 AND id = ?2",
                    Self::JOB_COLUMNS
                ),
                params![self.base_url, id as i64],
                Self::job_entry,
            )
            .optional()
            .map_err(db)
    }

    /// Jobs whose rows were never written anywhere, oldest first.
    pub fn uncollected(&self) -> Result<Vec<JobEntry>, LedgerError> {
        let mut all = self.list()?;
        all.retain(|e| e.collected_at.is_none());
        all.reverse();
        Ok(all)
    }

    const INTENT_COLUMNS: &'static str = "key, slug, body_digest, body, body_redacted, origin_source, origin_line, created_at, state, job_id, detail, updated_at, attempts";

    fn intent_entry(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<IntentEntry, LedgerError>> {
        let digest: String = row.get(2)?;
        let state: String = row.get(8)?;
        let job_id: Option<String> = row.get(9)?;
        let origin_source: Option<String> = row.get(5)?;
        let origin_line: Option<i64> = row.get(6)?;
        let intent = Intent {
            key: row.get(0)?,
            slug: row.get(1)?,
            digest: match BodyDigest::from_hex(&digest) {
                Some(d) => d,
                None => {
                    return Ok(Err(LedgerError::Corrupt {
                        what: "body digest",
                        detail: digest,
                    }));
                }
            },
            body: row.get(3)?,
            body_redacted: row.get::<_, i64>(4)? != 0,
            origin: origin_source.map(|source| Origin {
                source,
                line: origin_line.map(|l| l as u64),
            }),
            created_at: row.get(7)?,
        };
        let Some(state) = IntentState::parse(&state) else {
            return Ok(Err(LedgerError::Corrupt {
                what: "intent state",
                detail: state,
            }));
        };
        let job_id = match job_id {
            None => None,
            Some(text) => match serde_json::from_str(&text)
                .ok()
                .as_ref()
                .and_then(SentJobId::from_value)
            {
                Some(id) => Some(id),
                None => {
                    return Ok(Err(LedgerError::Corrupt {
                        what: "job id",
                        detail: text,
                    }));
                }
            },
        };
        Ok(Ok(IntentEntry {
            intent,
            state,
            job_id,
            detail: row.get(10)?,
            updated_at: row.get(11)?,
            attempts: row.get::<_, i64>(12)?.clamp(0, u32::MAX as i64) as u32,
        }))
    }

    fn query_intents(
        &self,
        condition: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<IntentEntry>, LedgerError> {
        let conn = self.conn();
        let mut statement = conn
            .prepare(&format!(
                "SELECT {} FROM intents WHERE base_url = ?1 {condition} ORDER BY created_at DESC, rowid DESC",
                Self::INTENT_COLUMNS
            ))
            .map_err(db)?;
        let rows = statement
            .query_map(params, Self::intent_entry)
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row.map_err(db)??);
        }
        Ok(out)
    }

    /// Changes an intent's state; fails when the key is unknown.
    fn settle(
        &self,
        key: &str,
        state: IntentState,
        detail: Option<&str>,
        job_id: Option<&SentJobId>,
    ) -> Result<(), LedgerError> {
        let changed = self
            .conn()
            .execute(
                "UPDATE intents SET state = ?3, detail = ?4, job_id = COALESCE(?5, job_id), updated_at = ?6
                 WHERE base_url = ?1 AND key = ?2",
                params![
                    self.base_url,
                    key,
                    state.as_str(),
                    detail,
                    job_id.map(|id| id.to_value().to_string()),
                    now_rfc3339()
                ],
            )
            .map_err(db)?;
        if changed == 0 {
            return Err(LedgerError::UnknownIntent {
                key: key.to_owned(),
            });
        }
        Ok(())
    }
}

/// Setup can fail in SQLite (retried when busy) or on the ledger's own terms.
enum PrepareError {
    Sqlite(rusqlite::Error),
    Ledger(LedgerError),
}

impl From<rusqlite::Error> for PrepareError {
    fn from(error: rusqlite::Error) -> Self {
        PrepareError::Sqlite(error)
    }
}

#[async_trait]
impl JobLedger for SqliteLedger {
    async fn record_intent(&self, intent: &Intent) -> Result<(), LedgerError> {
        self.waiting(|| {
        let result = self.conn().execute(
            "INSERT INTO intents (base_url, key, slug, body_digest, body, body_redacted, origin_source,
                                  origin_line, created_at, state, job_id, detail, updated_at, attempts)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', NULL, NULL, ?9, 1)",
            params![
                self.base_url,
                intent.key,
                intent.slug,
                intent.digest.as_str(),
                intent.body,
                intent.body_redacted as i64,
                intent.origin.as_ref().map(|o| o.source.as_str()),
                intent.origin.as_ref().and_then(|o| o.line).map(|l| l as i64),
                intent.created_at,
            ],
        );
        match result {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(error, _))
                if error.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(LedgerError::DuplicateKey {
                    key: intent.key.clone(),
                })
            }
            Err(e) => Err(db(e)),
        }
        })
        .await
    }

    async fn record_resend(&self, key: &str) -> Result<(), LedgerError> {
        self.waiting(|| {
            let changed = self
                .conn()
                .execute(
                    "UPDATE intents SET state = 'pending', attempts = attempts + 1, updated_at = ?3
                 WHERE base_url = ?1 AND key = ?2",
                    params![self.base_url, key, now_rfc3339()],
                )
                .map_err(db)?;
            if changed == 0 {
                return Err(LedgerError::UnknownIntent {
                    key: key.to_owned(),
                });
            }
            Ok(())
        })
        .await
    }

    async fn claim_resend(
        &self,
        key: &str,
        owner: &str,
        attempts: u32,
        lease: Duration,
    ) -> Result<ResendClaim, LedgerError> {
        self.waiting(|| {
            let conn = self.conn();
            let now = now_ms();
            let until = now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
            // One statement under SQLite's write lock: processes sharing the file take turns.
            let taken = conn
                .execute(
                    "UPDATE intents SET resend_owner = ?3, resend_until = ?5
                  WHERE base_url = ?1 AND key = ?2
                    AND (resend_owner = ?3
                         OR ((resend_owner IS NULL OR resend_until <= ?6)
                             AND attempts = ?4 AND state <> 'submitted'))",
                    params![self.base_url, key, owner, i64::from(attempts), until, now],
                )
                .map_err(db)?;
            if taken > 0 {
                return Ok(ResendClaim::Taken);
            }
            let held: Option<bool> = conn
                .query_row(
                    "SELECT resend_owner IS NOT NULL AND resend_until > ?3
                   FROM intents WHERE base_url = ?1 AND key = ?2",
                    params![self.base_url, key, now],
                    |row| row.get(0),
                )
                .optional()
                .map_err(db)?;
            match held {
                None => Err(LedgerError::UnknownIntent {
                    key: key.to_owned(),
                }),
                Some(true) => Ok(ResendClaim::Held),
                Some(false) => Ok(ResendClaim::Moved),
            }
        })
        .await
    }

    async fn release_resend(&self, key: &str, owner: &str) -> Result<(), LedgerError> {
        self.waiting(|| {
            self.conn()
                .execute(
                    "UPDATE intents SET resend_owner = NULL, resend_until = NULL
                  WHERE base_url = ?1 AND key = ?2 AND resend_owner = ?3",
                    params![self.base_url, key, owner],
                )
                .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn record_submitted(&self, key: &str, submitted: &Submitted) -> Result<(), LedgerError> {
        self.waiting(|| {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let now = now_rfc3339();
        let intent: Option<(String, Option<String>, Option<i64>)> = tx
            .query_row(
                "SELECT slug, origin_source, origin_line FROM intents WHERE base_url = ?1 AND key = ?2",
                params![self.base_url, key],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()
            .map_err(db)?;
        let Some((slug, source, line)) = intent else {
            return Err(LedgerError::UnknownIntent {
                key: key.to_owned(),
            });
        };
        tx.execute(
            "UPDATE intents SET state = 'submitted', detail = NULL, job_id = ?3, updated_at = ?4
             WHERE base_url = ?1 AND key = ?2",
            params![self.base_url, key, submitted.id.to_value().to_string(), now],
        )
        .map_err(db)?;
        if let Some(id) = submitted.id.job_id().and_then(|id| id.as_u64()) {
            let origin = source.map(|source| {
                Origin {
                    source,
                    line: line.map(|l| l as u64),
                }
                .to_string()
            });
            tx.execute(
                "INSERT INTO jobs (base_url, id, scraper, submitted_at, origin, status, rows, credits, record, intent_key)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 0, ?7, ?8)
                 ON CONFLICT (base_url, id) DO UPDATE SET
                     origin = COALESCE(excluded.origin, origin),
                     intent_key = COALESCE(intent_key, excluded.intent_key)",
                params![
                    self.base_url,
                    id as i64,
                    slug,
                    now,
                    origin,
                    submitted.status,
                    submitted.record.to_string(),
                    key
                ],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)
        })
        .await
    }

    async fn record_refused(&self, key: &str, reason: &str) -> Result<(), LedgerError> {
        self.waiting(|| self.settle(key, IntentState::Refused, Some(reason), None))
            .await
    }

    async fn record_uncertain(&self, key: &str, reason: &str) -> Result<(), LedgerError> {
        self.waiting(|| self.settle(key, IntentState::Uncertain, Some(reason), None))
            .await
    }

    async fn intent(&self, key: &str) -> Result<Option<IntentEntry>, LedgerError> {
        let found = self
            .waiting(|| self.query_intents("AND key = ?2", &[&self.base_url, &key]))
            .await?;
        Ok(found.into_iter().next())
    }

    async fn intents(&self) -> Result<Vec<IntentEntry>, LedgerError> {
        self.waiting(|| self.query_intents("", &[&self.base_url]))
            .await
    }

    async fn intents_for(
        &self,
        origin: &Origin,
        digest: &BodyDigest,
    ) -> Result<Vec<IntentEntry>, LedgerError> {
        let line = origin.line.map(|l| l as i64);
        self.waiting(|| {
            self.query_intents(
                "AND origin_source = ?2 AND origin_line IS ?3 AND body_digest = ?4",
                &[&self.base_url, &origin.source, &line, &digest.as_str()],
            )
        })
        .await
    }

    async fn record_progress(&self, id: JobId, progress: &JobProgress) -> Result<(), LedgerError> {
        // Job rows are kept for integer ids; any other id lives in its intent.
        match id.as_u64() {
            Some(id) => self.waiting(|| self.set_progress(id, progress)).await,
            None => Ok(()),
        }
    }

    async fn mark_collected(&self, id: JobId, output: &str) -> Result<(), LedgerError> {
        self.waiting(|| self.set_collected_once(id, output)).await
    }

    async fn job(&self, id: JobId) -> Result<Option<JobEntry>, LedgerError> {
        self.waiting(|| self.get_once(id)).await
    }

    async fn jobs(&self) -> Result<Vec<JobEntry>, LedgerError> {
        self.waiting(|| self.list_once()).await
    }

    async fn other_base_urls(&self) -> Result<Vec<(String, u64)>, LedgerError> {
        self.waiting(|| {
            let conn = self.conn();
            let mut statement = conn
                .prepare(
                    "SELECT base_url, count(*) FROM jobs WHERE base_url <> ?1
                     GROUP BY base_url ORDER BY count(*) DESC, base_url",
                )
                .map_err(db)?;
            let rows = statement
                .query_map(params![self.base_url], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                })
                .map_err(db)?;
            rows.map(|row| row.map(|(url, n)| (url, n.max(0) as u64)).map_err(db))
                .collect()
        })
        .await
    }

    async fn query_jobs(&self, query: &JobQuery) -> Result<Vec<JobEntry>, LedgerError> {
        self.waiting(|| self.query_once(query)).await
    }

    async fn forget_job(&self, id: JobId) -> Result<bool, LedgerError> {
        match id.as_u64() {
            Some(id) => self.waiting(|| self.forget_once(id)).await,
            None => Ok(false),
        }
    }
}
