//! A ledger in memory: what this process submitted, for tests and short-lived programs. It
//! survives nothing; use a durable backend when a crash must not lose a job.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use hasdata_model::JobId;

use crate::{
    BodyDigest, Intent, IntentEntry, IntentState, JobEntry, JobLedger, JobProgress, LedgerError,
    Origin, ResendClaim, Submitted, now_rfc3339,
};

#[derive(Debug, Default)]
struct State {
    /// Intents in recording order.
    intents: Vec<IntentEntry>,
    jobs: BTreeMap<u64, JobEntry>,
    /// Job ids in submit order.
    order: Vec<u64>,
    /// Resend claims by intent key: the owner and the end of its lease.
    resends: BTreeMap<String, (String, std::time::Instant)>,
}

/// A ledger in memory.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    state: Mutex<State>,
}

impl MemoryLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        MemoryLedger::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn settle(
        &self,
        key: &str,
        change: impl FnOnce(&mut IntentEntry),
    ) -> Result<IntentEntry, LedgerError> {
        let mut state = self.state();
        let entry = state
            .intents
            .iter_mut()
            .find(|e| e.intent.key == key)
            .ok_or_else(|| LedgerError::UnknownIntent {
                key: key.to_owned(),
            })?;
        change(entry);
        entry.updated_at = now_rfc3339();
        Ok(entry.clone())
    }
}

#[async_trait]
impl JobLedger for MemoryLedger {
    async fn record_intent(&self, intent: &Intent) -> Result<(), LedgerError> {
        let mut state = self.state();
        if state.intents.iter().any(|e| e.intent.key == intent.key) {
            return Err(LedgerError::DuplicateKey {
                key: intent.key.clone(),
            });
        }
        state.intents.push(IntentEntry::pending(intent.clone()));
        Ok(())
    }

    async fn record_resend(&self, key: &str) -> Result<(), LedgerError> {
        self.settle(key, |e| {
            e.state = IntentState::Pending;
            e.attempts += 1;
        })
        .map(|_| ())
    }

    async fn claim_resend(
        &self,
        key: &str,
        owner: &str,
        attempts: u32,
        lease: std::time::Duration,
    ) -> Result<ResendClaim, LedgerError> {
        let mut state = self.state();
        let (current_attempts, submitted) = state
            .intents
            .iter()
            .find(|e| e.intent.key == key)
            .map(|e| (e.attempts, e.state == IntentState::Submitted))
            .ok_or_else(|| LedgerError::UnknownIntent {
                key: key.to_owned(),
            })?;
        let now = std::time::Instant::now();
        let claim = state.resends.get(key);
        let outcome = match claim {
            // The owner's own claim, live or lapsed, is extended (as the SQL backends do).
            Some((holder, _)) if holder == owner => ResendClaim::Taken,
            Some((_, until)) if *until > now => ResendClaim::Held,
            _ if current_attempts == attempts && !submitted => ResendClaim::Taken,
            _ => ResendClaim::Moved,
        };
        if outcome == ResendClaim::Taken {
            state
                .resends
                .insert(key.to_owned(), (owner.to_owned(), now + lease));
        }
        Ok(outcome)
    }

    async fn release_resend(&self, key: &str, owner: &str) -> Result<(), LedgerError> {
        let mut state = self.state();
        if state
            .resends
            .get(key)
            .is_some_and(|(holder, _)| holder == owner)
        {
            state.resends.remove(key);
        }
        Ok(())
    }

    async fn record_submitted(&self, key: &str, submitted: &Submitted) -> Result<(), LedgerError> {
        let entry = self.settle(key, |e| {
            e.state = IntentState::Submitted;
            e.job_id = Some(submitted.id.clone());
            e.detail = None;
        })?;
        if let Some(id) = submitted.id.job_id().and_then(|id| id.as_u64()) {
            let mut state = self.state();
            let job = JobEntry {
                id,
                scraper: entry.intent.slug.clone(),
                submitted_at: entry.updated_at.clone(),
                origin: entry.intent.origin.as_ref().map(Origin::to_string),
                status: submitted.status.clone(),
                rows: None,
                credits: None,
                collected_at: None,
                output: None,
                intent_key: Some(key.to_owned()),
            };
            // A job recorded again (a second writer with the same answer) keeps what is known
            // of it, as the durable backends' `ON CONFLICT` does.
            match state.jobs.get_mut(&id) {
                Some(known) => {
                    known.origin = job.origin.or(known.origin.take());
                    known.intent_key = known.intent_key.take().or(job.intent_key);
                }
                None => {
                    state.jobs.insert(id, job);
                    state.order.push(id);
                }
            }
        }
        Ok(())
    }

    async fn record_refused(&self, key: &str, reason: &str) -> Result<(), LedgerError> {
        self.settle(key, |e| {
            e.state = IntentState::Refused;
            e.detail = Some(reason.to_owned());
        })
        .map(|_| ())
    }

    async fn record_uncertain(&self, key: &str, reason: &str) -> Result<(), LedgerError> {
        self.settle(key, |e| {
            e.state = IntentState::Uncertain;
            e.detail = Some(reason.to_owned());
        })
        .map(|_| ())
    }

    async fn intent(&self, key: &str) -> Result<Option<IntentEntry>, LedgerError> {
        Ok(self
            .state()
            .intents
            .iter()
            .find(|e| e.intent.key == key)
            .cloned())
    }

    async fn intents(&self) -> Result<Vec<IntentEntry>, LedgerError> {
        Ok(self.state().intents.iter().rev().cloned().collect())
    }

    async fn intents_for(
        &self,
        origin: &Origin,
        digest: &BodyDigest,
    ) -> Result<Vec<IntentEntry>, LedgerError> {
        Ok(self
            .state()
            .intents
            .iter()
            .rev()
            .filter(|e| e.intent.origin.as_ref() == Some(origin) && &e.intent.digest == digest)
            .cloned()
            .collect())
    }

    async fn record_progress(&self, id: JobId, progress: &JobProgress) -> Result<(), LedgerError> {
        let Some(id) = id.as_u64() else {
            // Job rows are kept for integer ids; any other id lives in its intent.
            return Ok(());
        };
        if let Some(job) = self.state().jobs.get_mut(&id) {
            job.status = Some(progress.status.clone());
            job.rows = progress.rows.or(job.rows);
            job.credits = progress.credits.or(job.credits);
        }
        Ok(())
    }

    async fn mark_collected(&self, id: JobId, output: &str) -> Result<(), LedgerError> {
        let Some(id) = id.as_u64() else {
            // Job rows are kept for integer ids; any other id lives in its intent.
            return Ok(());
        };
        if let Some(job) = self.state().jobs.get_mut(&id) {
            job.collected_at = Some(now_rfc3339());
            job.output = Some(output.to_owned());
        }
        Ok(())
    }

    async fn job(&self, id: JobId) -> Result<Option<JobEntry>, LedgerError> {
        let Some(id) = id.as_u64() else {
            return Ok(None);
        };
        Ok(self.state().jobs.get(&id).cloned())
    }

    async fn jobs(&self) -> Result<Vec<JobEntry>, LedgerError> {
        let state = self.state();
        Ok(state
            .order
            .iter()
            .rev()
            .filter_map(|id| state.jobs.get(id).cloned())
            .collect())
    }

    async fn forget_job(&self, id: JobId) -> Result<bool, LedgerError> {
        let Some(id) = id.as_u64() else {
            return Ok(false);
        };
        let mut state = self.state();
        state.order.retain(|&kept| kept != id);
        Ok(state.jobs.remove(&id).is_some())
    }
}
