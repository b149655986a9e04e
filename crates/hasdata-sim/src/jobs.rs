//! The simulated jobs and how they progress.
//!
//! A job stores only what it was submitted with and when; its status, row count and credits
//! at any moment are computed from the time elapsed, and its rows are generated on demand
//! ([`crate::rows`]). A 1,000,000-row job costs the same memory as a 1-row job.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;
use tokio::time::Instant;

use crate::checks::limit_value;
use crate::scrapers::{Family, Scraper, credits_per_row};
use crate::webhooks::Hook;

/// The status of a job at a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Accepted, not started.
    Pending,
    /// Producing rows.
    InProgress,
    /// Rows complete, files being written (shape `exporting-data`; set by the status
    /// handler, never by the clock).
    ExportingData,
    /// Done.
    Finished,
    /// Ended with an error, rows kept (shape `finished-with-error`).
    FinishedWithError,
    /// Stopped early (by the user, or when the key's credits ran out).
    Stopped,
}

impl Phase {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "pending",
            Phase::InProgress => "in_progress",
            Phase::ExportingData => "exporting_data",
            Phase::Finished => "finished",
            Phase::FinishedWithError => "finished_with_error",
            Phase::Stopped => "stopped",
        }
    }

    /// Whether the job will not change any more.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Phase::Finished | Phase::FinishedWithError | Phase::Stopped
        )
    }
}

/// A job as the simulator keeps it.
#[derive(Clone, Debug)]
pub struct SimJob {
    /// The integer id.
    pub id: u64,
    /// The scraper.
    pub scraper: Scraper,
    /// The body as submitted.
    pub input: Value,
    /// The webhook, when the body had one.
    pub webhook: Option<Hook>,
    /// When it was submitted (monotonic).
    pub created: Instant,
    /// When it was submitted (wall clock, for timestamps).
    pub created_wall: OffsetDateTime,
    /// The rows it produces when it runs to the end.
    pub total_rows: u64,
    /// How long it runs.
    pub duration: Duration,
    /// When it was stopped, and how many rows it had then.
    pub stopped: Option<(Instant, u64)>,
    /// The rows the key's credits paid for when it was submitted, if fewer than
    /// `total_rows`: the job is stopped when it reaches them (credits ran out).
    pub credit_cap: Option<u64>,
    /// Whether it ends `finished_with_error` instead of `finished` (shape
    /// `finished-with-error`).
    pub ends_with_error: bool,
    /// Whether a status read has shown it `exporting_data` already (shape `exporting-data`).
    pub export_shown: bool,
    /// The test hold in force when this copy left the store ([`JobStore::hold`]); `None` on
    /// the stored record itself.
    pub held: Option<Hold>,
}

/// A test hook: the furthest phase jobs may reach while a hold is in force, so a test can
/// catch a job mid-run without racing its clock. Off unless a test sets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    /// Jobs stay `pending` (no rows).
    Pending,
    /// Jobs may start but never finish: `in_progress` with at most all rows but the last.
    InProgress,
}

/// A job's state at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// Its status.
    pub phase: Phase,
    /// Rows produced so far.
    pub rows: u64,
    /// When it reached a terminal status, if it has.
    pub ended_at: Option<Instant>,
    /// Why it ended early: `stopped_by_user`, `not_enough_credits`, `data_limit_exceeded`.
    pub stop_reason: Option<&'static str>,
}

/// The `stopReason` of a job the user stopped.
pub const STOPPED_BY_USER: &str = "stopped_by_user";
/// The `stopReason` of a job stopped because the key's credits ran out (the wording is ours:
/// the docs say such jobs are stopped, not what the reason reads).
pub const NOT_ENOUGH_CREDITS: &str = "not_enough_credits";
/// The `stopReason` of a `finished_with_error` job (seen live).
pub const DATA_LIMIT_EXCEEDED: &str = "data_limit_exceeded";

/// The share of the run spent `pending` before rows start to appear.
const PENDING_SHARE: f64 = 0.1;

impl SimJob {
    /// The job's state at `now`, held back by the test hold it carries, if any.
    pub fn snapshot(&self, now: Instant) -> Snapshot {
        let free = self.free_snapshot(now);
        match (self.held, free.phase) {
            (_, Phase::Stopped) | (None, _) => free,
            (Some(Hold::Pending), _) => Snapshot {
                phase: Phase::Pending,
                rows: 0,
                ended_at: None,
                stop_reason: None,
            },
            (
                Some(Hold::InProgress),
                Phase::InProgress
                | Phase::ExportingData
                | Phase::Finished
                | Phase::FinishedWithError,
            ) => Snapshot {
                phase: Phase::InProgress,
                rows: free.rows.min(self.total_rows.saturating_sub(1)),
                ended_at: None,
                stop_reason: None,
            },
            (Some(Hold::InProgress), Phase::Pending) => free,
        }
    }

    /// The job's state at `now` from its clock alone.
    fn free_snapshot(&self, now: Instant) -> Snapshot {
        if let Some((at, rows)) = self.stopped {
            return Snapshot {
                phase: Phase::Stopped,
                rows,
                ended_at: Some(at),
                stop_reason: Some(STOPPED_BY_USER),
            };
        }
        if let Some(cap) = self.credit_cap.filter(|cap| *cap < self.total_rows) {
            // The moment its rows reach what the credits paid for.
            let share = PENDING_SHARE + (1.0 - PENDING_SHARE) * cap as f64 / self.total_rows as f64;
            let at = self.created + self.duration.mul_f64(share);
            if now >= at {
                return Snapshot {
                    phase: Phase::Stopped,
                    rows: cap,
                    ended_at: Some(at),
                    stop_reason: Some(NOT_ENOUGH_CREDITS),
                };
            }
        }
        let elapsed = now.saturating_duration_since(self.created);
        if elapsed >= self.duration {
            let (phase, stop_reason) = if self.ends_with_error {
                (Phase::FinishedWithError, Some(DATA_LIMIT_EXCEEDED))
            } else {
                (Phase::Finished, None)
            };
            return Snapshot {
                phase,
                rows: self.total_rows,
                ended_at: Some(self.created + self.duration),
                stop_reason,
            };
        }
        let progress = elapsed.as_secs_f64() / self.duration.as_secs_f64();
        if progress < PENDING_SHARE {
            return Snapshot {
                phase: Phase::Pending,
                rows: 0,
                ended_at: None,
                stop_reason: None,
            };
        }
        let share = (progress - PENDING_SHARE) / (1.0 - PENDING_SHARE);
        Snapshot {
            phase: Phase::InProgress,
            rows: ((self.total_rows as f64 * share).floor() as u64).min(self.total_rows),
            ended_at: None,
            stop_reason: None,
        }
    }

    /// The rows this job will have when it ends, as far as is known at `now`.
    fn eventual_rows(&self, now: Instant) -> u64 {
        let snapshot = self.snapshot(now);
        if snapshot.phase.is_terminal() {
            snapshot.rows
        } else {
            self.credit_cap
                .map_or(self.total_rows, |cap| cap.min(self.total_rows))
        }
    }

    /// Credits a job has spent with `rows` rows.
    pub fn credits(&self, rows: u64) -> u64 {
        rows * credits_per_row(self.scraper.slug())
    }

    /// A rough count of the bytes this record holds: what the simulator keeps per job.
    pub fn held_bytes(&self) -> usize {
        std::mem::size_of::<SimJob>() + self.input.to_string().len()
    }
}

/// How many rows a body produces: one per URL for `contacts`, else `limit` (10 when 0 or
/// absent).
pub fn planned_rows(scraper: Scraper, body: &Value) -> u64 {
    let limit = body.get("limit").and_then(limit_value).filter(|l| *l > 0);
    match scraper.family() {
        Family::Contacts => {
            let urls = body
                .get("urls")
                .and_then(Value::as_array)
                .map_or(0, Vec::len) as u64;
            limit.map_or(urls, |l| urls.min(l))
        }
        _ => limit.unwrap_or(10),
    }
}

/// Every job, by id.
#[derive(Debug)]
pub struct JobStore {
    jobs: Mutex<BTreeMap<u64, SimJob>>,
    next_id: AtomicU64,
    hold: Mutex<Option<Hold>>,
    /// The most unfinished jobs there ever were at once (counted at each insert, the only
    /// moment the count grows), so fleet tests can check a client-side cap held.
    peak_running: AtomicU64,
}

impl JobStore {
    /// An empty store whose first id is `first_id`.
    pub fn new(first_id: u64) -> Self {
        JobStore {
            jobs: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(first_id),
            hold: Mutex::new(None),
            peak_running: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, SimJob>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Holds every job, existing and future, at `hold` (`None` releases them). A released
    /// job continues on its own clock: one whose time is up finishes at once.
    pub fn set_hold(&self, hold: Option<Hold>) {
        *self.hold.lock().unwrap_or_else(|e| e.into_inner()) = hold;
    }

    /// A stored job as the world sees it: the hold in force applied.
    fn seen(&self, job: &SimJob) -> SimJob {
        SimJob {
            held: *self.hold.lock().unwrap_or_else(|e| e.into_inner()),
            ..job.clone()
        }
    }

    /// Adds a job unless `max_running` jobs are unfinished; returns its id. The job may
    /// produce only the rows the key's `credits` still cover once every other job's
    /// eventual rows are paid for: past them it is stopped (`not_enough_credits`).
    pub fn insert_if_room(
        &self,
        mut job: SimJob,
        max_running: usize,
        credits: u64,
        now: Instant,
    ) -> Option<u64> {
        let mut jobs = self.lock();
        let committed: u64 = jobs.values().map(|j| j.credits(j.eventual_rows(now))).sum();
        let affordable =
            credits.saturating_sub(committed) / credits_per_row(job.scraper.slug()).max(1);
        if affordable < job.total_rows {
            job.credit_cap = Some(affordable);
        }
        let running = jobs
            .values()
            .filter(|j| !self.seen(j).snapshot(now).phase.is_terminal())
            .count();
        if running >= max_running {
            return None;
        }
        job.id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let id = job.id;
        jobs.insert(id, job);
        self.peak_running
            .fetch_max(running as u64 + 1, Ordering::Relaxed);
        Some(id)
    }

    /// The most unfinished jobs there were at once since the store began.
    pub fn peak_running(&self) -> u64 {
        self.peak_running.load(Ordering::Relaxed)
    }

    /// Whether this is the first status read of a job whose rows are complete, marking it
    /// read: the `exporting-data` shape answers `exporting_data` once, then `finished`.
    pub fn first_complete_read(&self, id: u64) -> bool {
        let mut jobs = self.lock();
        match jobs.get_mut(&id) {
            Some(job) if !job.export_shown => {
                job.export_shown = true;
                true
            }
            _ => false,
        }
    }

    /// A copy of a job.
    pub fn get(&self, id: u64) -> Option<SimJob> {
        self.lock().get(&id).map(|job| self.seen(job))
    }

    /// Stops a job that is still running; returns it as it is afterwards.
    pub fn stop(&self, id: u64, now: Instant) -> Option<SimJob> {
        let mut jobs = self.lock();
        let job = jobs.get_mut(&id)?;
        let seen = self.seen(job);
        let snapshot = seen.snapshot(now);
        if !snapshot.phase.is_terminal() {
            job.stopped = Some((now, snapshot.rows));
        }
        Some(self.seen(job))
    }

    /// Credits spent by every job, at `now`.
    pub fn credits_spent(&self, now: Instant) -> u64 {
        self.lock()
            .values()
            .map(|j| j.credits(self.seen(j).snapshot(now).rows))
            .sum()
    }

    /// How many jobs there are.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// The bytes the store holds for its jobs (a rough count).
    pub fn held_bytes(&self) -> usize {
        self.lock().values().map(SimJob::held_bytes).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(duration: Duration, rows: u64) -> SimJob {
        SimJob {
            id: 1,
            scraper: Scraper::from_slug("contacts").unwrap(),
            input: Value::Null,
            webhook: None,
            created: Instant::now(),
            created_wall: OffsetDateTime::UNIX_EPOCH,
            total_rows: rows,
            duration,
            stopped: None,
            credit_cap: None,
            ends_with_error: false,
            export_shown: false,
            held: None,
        }
    }

    #[test]
    fn progress_goes_pending_in_progress_finished() {
        let job = job(Duration::from_secs(100), 1000);
        let at = |secs| job.snapshot(job.created + Duration::from_secs(secs));
        assert_eq!(at(0).phase, Phase::Pending);
        assert_eq!(at(5).rows, 0);
        assert_eq!(at(55).phase, Phase::InProgress);
        assert_eq!(at(55).rows, 500);
        assert_eq!(at(100).phase, Phase::Finished);
        assert_eq!(at(100).rows, 1000);
        let rows: Vec<u64> = (10..100).map(|s| at(s).rows).collect();
        assert!(rows.windows(2).all(|w| w[0] <= w[1]), "rows only grow");
    }

    #[test]
    fn a_hold_keeps_a_job_from_getting_past_its_phase() {
        let store = JobStore::new(7);
        let now = Instant::now();
        let id = store
            .insert_if_room(job(Duration::ZERO, 4), 5, u64::MAX, now)
            .unwrap();
        assert_eq!(store.get(id).unwrap().snapshot(now).phase, Phase::Finished);
        store.set_hold(Some(Hold::Pending));
        let held = store.get(id).unwrap().snapshot(now);
        assert_eq!((held.phase, held.rows), (Phase::Pending, 0));
        store.set_hold(Some(Hold::InProgress));
        let held = store.get(id).unwrap().snapshot(now);
        assert_eq!(
            (held.phase, held.rows, held.ended_at),
            (Phase::InProgress, 3, None)
        );
        assert_eq!(store.credits_spent(now), 15, "credits follow the held rows");
        store.set_hold(None);
        assert_eq!(store.get(id).unwrap().snapshot(now).phase, Phase::Finished);

        store.set_hold(Some(Hold::InProgress));
        let other = store
            .insert_if_room(job(Duration::ZERO, 4), 5, u64::MAX, now)
            .unwrap();
        let stopped = store.stop(other, now).unwrap();
        store.set_hold(None);
        let after = stopped.snapshot(now);
        assert_eq!(
            (after.phase, after.rows),
            (Phase::Stopped, 3),
            "a held job can be stopped"
        );
        assert_eq!(
            store.get(other).unwrap().snapshot(now).phase,
            Phase::Stopped
        );
    }

    #[test]
    fn the_peak_counts_unfinished_jobs_at_their_most() {
        let store = JobStore::new(1);
        let now = Instant::now();
        assert_eq!(store.peak_running(), 0);
        for _ in 0..3 {
            store
                .insert_if_room(job(Duration::from_secs(60), 1), 3, u64::MAX, now)
                .unwrap();
        }
        assert!(
            store
                .insert_if_room(job(Duration::from_secs(60), 1), 3, u64::MAX, now)
                .is_none()
        );
        assert_eq!(store.peak_running(), 3);
        // Once they finish, new jobs start from zero again; the peak stays.
        let later = now + Duration::from_secs(61);
        store
            .insert_if_room(job(Duration::from_secs(60), 1), 3, u64::MAX, later)
            .unwrap();
        assert_eq!(store.peak_running(), 3);
    }

    #[test]
    fn running_out_of_credits_stops_a_running_job_at_what_was_paid_for() {
        // contacts: 5 credits a row, so 100 credits pay for 20 rows; the first job commits 15.
        let store = JobStore::new(1);
        let now = Instant::now();
        let minute = Duration::from_secs(100);
        let job = |duration, rows| SimJob {
            created: now,
            ..job(duration, rows)
        };
        let first = store.insert_if_room(job(minute, 15), 5, 100, now).unwrap();
        let second = store.insert_if_room(job(minute, 40), 5, 100, now).unwrap();
        let at = |id, secs| {
            store
                .get(id)
                .unwrap()
                .snapshot(now + Duration::from_secs(secs))
        };
        let done = at(first, 100);
        assert_eq!(
            (done.phase, done.rows, done.stop_reason),
            (Phase::Finished, 15, None)
        );
        assert_eq!(
            at(second, 15).phase,
            Phase::InProgress,
            "runs until its cap"
        );
        let out = at(second, 100);
        assert_eq!(
            (out.phase, out.rows, out.stop_reason),
            (Phase::Stopped, 5, Some(NOT_ENOUGH_CREDITS))
        );
        assert_eq!(at(second, 22).phase, Phase::Stopped, "at its fifth row");
        assert_eq!(store.credits_spent(now + minute), 100);
        let third = store
            .insert_if_room(
                SimJob {
                    created: now + minute,
                    ..job(Duration::ZERO, 3)
                },
                5,
                100,
                now + minute,
            )
            .unwrap();
        let none = at(third, 100);
        assert_eq!((none.phase, none.rows), (Phase::Stopped, 0));
    }

    #[test]
    fn a_zero_duration_job_is_finished_at_once() {
        let job = job(Duration::ZERO, 3);
        assert_eq!(job.snapshot(job.created).phase, Phase::Finished);
    }

    fn slug(slug: &str) -> Scraper {
        Scraper::from_slug(slug).unwrap()
    }

    #[test]
    fn planned_rows_follow_the_body() {
        let body = serde_json::json!({"urls": ["a", "b", "c"]});
        assert_eq!(planned_rows(slug("contacts"), &body), 3);
        assert_eq!(
            planned_rows(
                slug("contacts"),
                &serde_json::json!({"urls": ["a", "b"], "limit": 1})
            ),
            1
        );
        assert_eq!(
            planned_rows(
                slug("crawler"),
                &serde_json::json!({"urls": ["a"], "limit": 0})
            ),
            10
        );
        assert_eq!(
            planned_rows(slug("indeed"), &serde_json::json!({"limit": 250})),
            250
        );
        assert_eq!(
            planned_rows(slug("indeed"), &serde_json::json!({"limit": "25"})),
            25,
            "a digit string counts"
        );
    }
}
