//! When to poll a job's status.
//!
//! HasData's documented schedule: start at 10 s, multiply by 1.5, cap at 60 s. Polling faster
//! spends the account's concurrency cap, so a first interval under 10 s is refused against
//! `api.hasdata.com` unless explicitly allowed; against any other base URL (the simulator)
//! every interval is allowed.

use std::time::Duration;

use crate::error::ConfigError;

/// The host whose polling rate is protected.
pub const HASDATA_HOST: &str = "api.hasdata.com";

/// The shortest first interval allowed against [`HASDATA_HOST`].
pub const MIN_INTERVAL: Duration = Duration::from_secs(10);

/// How to wait for a job.
///
/// ```
/// use std::time::Duration;
/// use hasdata_jobs::PollPolicy;
///
/// // HasData's schedule, but give up after ten minutes.
/// let policy = PollPolicy::default().deadline(Duration::from_secs(600));
/// assert_eq!(policy.interval(0), Duration::from_secs(10));
/// assert!(policy.check("api.hasdata.com").is_ok());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PollPolicy {
    /// The first interval (10 s).
    pub initial: Duration,
    /// Each interval is the previous times this (1.5).
    pub factor: f64,
    /// The longest interval (60 s).
    pub cap: Duration,
    /// Each interval is moved by up to this share, up or down (0.1), so many waiters do not
    /// poll in lockstep.
    pub jitter: f64,
    /// The whole wait's limit (1 h); then the wait fails with the job id and last status.
    pub deadline: Duration,
    /// Transient poll errors in a row before the wait gives up (5). One failed poll never
    /// ends a wait once the server has answered; before that, a poll whose request never
    /// left the machine (a refused connection, an unknown host) ends it at once.
    pub max_consecutive_errors: u32,
    /// Allow a first interval under 10 s against api.hasdata.com.
    pub allow_fast_polling: bool,
}

impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy {
            initial: MIN_INTERVAL,
            factor: 1.5,
            cap: Duration::from_secs(60),
            jitter: 0.1,
            deadline: Duration::from_secs(3600),
            max_consecutive_errors: 5,
            allow_fast_polling: false,
        }
    }
}

impl PollPolicy {
    /// A policy for a fast local simulator: 50 ms, x1.5, capped at 1 s, no jitter.
    ///
    /// ```
    /// use std::time::Duration;
    /// let fast = hasdata_jobs::PollPolicy::fast();
    /// assert_eq!(fast.interval(0), Duration::from_millis(50));
    /// assert!(fast.check("127.0.0.1").is_ok()); // a simulator: any interval goes
    /// ```
    pub fn fast() -> Self {
        PollPolicy {
            initial: Duration::from_millis(50),
            cap: Duration::from_secs(1),
            jitter: 0.0,
            allow_fast_polling: true,
            ..PollPolicy::default()
        }
    }

    /// Sets the overall deadline.
    ///
    /// ```
    /// use std::time::Duration;
    /// let policy = hasdata_jobs::PollPolicy::default().deadline(Duration::from_secs(24 * 3600));
    /// assert_eq!(policy.deadline, Duration::from_secs(86_400));
    /// ```
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The interval before poll number `n + 1` (from 0), without jitter.
    ///
    /// ```
    /// use std::time::Duration;
    /// let policy = hasdata_jobs::PollPolicy::default();
    /// let waits: Vec<u64> = (0..6).map(|n| policy.interval(n).as_millis() as u64).collect();
    /// assert_eq!(waits, [10_000, 15_000, 22_500, 33_750, 50_625, 60_000]);
    /// ```
    pub fn interval(&self, n: u32) -> Duration {
        let scaled = self.initial.as_secs_f64() * self.factor.powi(n.min(64) as i32);
        Duration::from_secs_f64(scaled.min(self.cap.as_secs_f64()).max(0.0))
    }

    /// [`PollPolicy::interval`] moved by `unit` (in `[-1, 1]`) times the jitter share.
    ///
    /// ```
    /// use std::time::Duration;
    /// let policy = hasdata_jobs::PollPolicy::default(); // jitter 0.1
    /// assert_eq!(policy.jittered(0, 1.0), Duration::from_secs(11));
    /// assert_eq!(policy.jittered(0, -1.0), Duration::from_secs(9));
    /// ```
    pub fn jittered(&self, n: u32, unit: f64) -> Duration {
        self.interval(n)
            .mul_f64((1.0 + self.jitter * unit.clamp(-1.0, 1.0)).max(0.0))
    }

    /// Checks the policy before a wait against `host`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hasdata_jobs::{ConfigError, PollPolicy};
    ///
    /// let eager = PollPolicy { initial: Duration::from_secs(1), ..PollPolicy::default() };
    /// assert_eq!(eager.check("api.hasdata.com"), Err(ConfigError::PollTooFast(Duration::from_secs(1))));
    /// let allowed = PollPolicy { allow_fast_polling: true, ..eager };
    /// assert!(allowed.check("api.hasdata.com").is_ok());
    /// ```
    pub fn check(&self, host: &str) -> Result<(), ConfigError> {
        if !(self.factor.is_finite() && self.factor >= 1.0) {
            return Err(ConfigError::PollFactor(self.factor));
        }
        if !(0.0..1.0).contains(&self.jitter) {
            return Err(ConfigError::PollJitter(self.jitter));
        }
        if self.cap < self.initial {
            return Err(ConfigError::PollCapBelowInitial {
                cap: self.cap,
                initial: self.initial,
            });
        }
        if host.eq_ignore_ascii_case(HASDATA_HOST)
            && self.initial < MIN_INTERVAL
            && !self.allow_fast_polling
        {
            return Err(ConfigError::PollTooFast(self.initial));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_schedule() {
        let policy = PollPolicy::default();
        let secs: Vec<f64> = (0..7).map(|n| policy.interval(n).as_secs_f64()).collect();
        assert_eq!(secs, [10.0, 15.0, 22.5, 33.75, 50.625, 60.0, 60.0]);
        assert_eq!(policy.interval(u32::MAX), Duration::from_secs(60));
        assert_eq!(policy.jittered(0, 1.0), Duration::from_secs(11));
        assert_eq!(policy.jittered(0, -1.0), Duration::from_secs(9));
    }

    #[test]
    fn fast_polling_is_refused_against_hasdata_only() {
        let fast = PollPolicy {
            initial: Duration::from_secs(2),
            ..PollPolicy::default()
        };
        assert!(
            fast.check("api.hasdata.com")
                .unwrap_err()
                .to_string()
                .contains("10 s")
        );
        assert!(fast.check("API.HASDATA.COM").is_err());
        assert!(fast.check("127.0.0.1").is_ok());
        let allowed = PollPolicy {
            allow_fast_polling: true,
            ..fast
        };
        assert!(allowed.check("api.hasdata.com").is_ok());
        assert!(
            PollPolicy {
                factor: 0.5,
                ..PollPolicy::default()
            }
            .check("x")
            .is_err()
        );
    }

    #[test]
    fn the_fast_policy_and_the_deadline_setter_change_only_what_they_name() {
        let fast = PollPolicy::fast();
        assert_eq!(
            fast,
            PollPolicy {
                initial: Duration::from_millis(50),
                cap: Duration::from_secs(1),
                jitter: 0.0,
                allow_fast_polling: true,
                ..PollPolicy::default()
            }
        );
        assert_eq!(fast.initial, Duration::from_millis(50));
        assert_eq!(fast.cap, Duration::from_secs(1));
        assert_eq!(fast.jitter, 0.0);
        assert!(fast.allow_fast_polling);
        assert!(fast.check(HASDATA_HOST).is_ok());
        let secs: Vec<f64> = (0..3).map(|n| fast.interval(n).as_secs_f64()).collect();
        assert_eq!(secs, [0.05, 0.075, 0.1125]);
        let later = PollPolicy::fast().deadline(Duration::from_secs(7));
        assert_eq!(later.deadline, Duration::from_secs(7));
        assert_eq!(
            later,
            PollPolicy {
                deadline: Duration::from_secs(7),
                ..fast
            }
        );
    }

    #[test]
    fn jitter_scales_with_the_unit_and_clamps_it() {
        let policy = PollPolicy::default();
        assert_eq!(policy.jittered(0, 0.5), Duration::from_millis(10_500));
        assert_eq!(policy.jittered(0, -0.5), Duration::from_millis(9_500));
        assert_eq!(policy.jittered(0, 0.0), Duration::from_secs(10));
        // Out-of-range units are clamped to [-1, 1].
        assert_eq!(policy.jittered(0, 5.0), Duration::from_secs(11));
        assert_eq!(policy.jittered(0, -5.0), Duration::from_secs(9));
        assert_eq!(policy.jittered(1, 1.0), Duration::from_millis(16_500));
    }

    #[test]
    fn check_refuses_each_bad_setting_at_its_boundary() {
        let with = |f: fn(&mut PollPolicy)| {
            let mut policy = PollPolicy::default();
            f(&mut policy);
            policy.check("127.0.0.1")
        };
        assert!(with(|_| {}).is_ok());
        // The factor: at least 1, finite.
        assert!(with(|p| p.factor = 1.0).is_ok());
        assert!(
            with(|p| p.factor = 0.99)
                .unwrap_err()
                .to_string()
                .contains("factor")
        );
        assert!(
            with(|p| p.factor = f64::NAN)
                .unwrap_err()
                .to_string()
                .contains("factor")
        );
        assert!(
            with(|p| p.factor = f64::INFINITY)
                .unwrap_err()
                .to_string()
                .contains("factor")
        );
        // The jitter: in [0, 1).
        assert!(with(|p| p.jitter = 0.0).is_ok());
        assert!(with(|p| p.jitter = 0.99).is_ok());
        assert!(
            with(|p| p.jitter = 1.0)
                .unwrap_err()
                .to_string()
                .contains("jitter")
        );
        assert!(
            with(|p| p.jitter = -0.01)
                .unwrap_err()
                .to_string()
                .contains("jitter")
        );
        // The cap: not under the first interval; equal is fine.
        assert!(with(|p| p.cap = p.initial).is_ok());
        assert!(
            with(|p| p.cap = p.initial - Duration::from_millis(1))
                .unwrap_err()
                .to_string()
                .contains("cap")
        );
        // Against HasData: the default, and exactly 10 s, are allowed; a hair under is not.
        assert!(PollPolicy::default().check(HASDATA_HOST).is_ok());
        let under = PollPolicy {
            initial: MIN_INTERVAL - Duration::from_millis(1),
            ..PollPolicy::default()
        };
        assert!(under.check(HASDATA_HOST).is_err());
        assert!(under.check("sim.local").is_ok());
    }
}
