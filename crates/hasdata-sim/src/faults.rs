//! Seeded, counted fault injection.
//!
//! A spec is a comma-separated list of `[endpoint:]fault=value`, for example
//! `503=0.1,results:reset=0.05,latency=20ms@0.5,submit:lose-response=0.1,webhook-drop=0.3`.
//! Rates are probabilities in `[0, 1]`; durations take `ms` or `s`. Every fault that fires is
//! counted, so tests can assert that faults happened at their configured rates.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::mix;

/// The API endpoints faults can target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// `POST /scrapers/{slug}/jobs`.
    Submit,
    /// `GET /scrapers/jobs/{id}`.
    Status,
    /// `GET /scrapers/jobs/{id}/results`.
    Results,
    /// `DELETE /scrapers/jobs/{id}`.
    Stop,
    /// `GET /user/me/usage`.
    Usage,
    /// The download files.
    Files,
}

impl Endpoint {
    const ALL: [Endpoint; 6] = [
        Endpoint::Submit,
        Endpoint::Status,
        Endpoint::Results,
        Endpoint::Stop,
        Endpoint::Usage,
        Endpoint::Files,
    ];

    /// The name used in specs and counters.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Submit => "submit",
            Endpoint::Status => "status",
            Endpoint::Results => "results",
            Endpoint::Stop => "stop",
            Endpoint::Usage => "usage",
            Endpoint::Files => "files",
        }
    }
}

/// Faults for one endpoint.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EndpointFaults {
    /// Probability of a 429 with `Retry-After`.
    pub too_many_requests: f64,
    /// Probability of a 500.
    pub internal_error: f64,
    /// Probability of a 503.
    pub unavailable: f64,
    /// Probability of a connection reset mid-response (headers and part of the body sent).
    pub reset: f64,
    /// Added latency, and the probability it applies.
    pub latency: Option<(Duration, f64)>,
    /// Submit only: probability that the job is created but the response is lost.
    pub lose_response: f64,
    /// Results only: probability that a page request is answered with page 1, whatever
    /// `page` asked for (a server that ignores `page`).
    pub ignore_page: f64,
}

/// Faults of webhook delivery.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WebhookFaults {
    /// Probability an event is never sent.
    pub drop: f64,
    /// Probability an event is sent twice.
    pub duplicate: f64,
    /// Probability an event is held back and sent after later ones.
    pub reorder: f64,
    /// Added delay before a send, and the probability it applies.
    pub delay: Option<(Duration, f64)>,
}

/// A whole fault configuration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultSpec {
    /// Per-endpoint faults.
    pub endpoints: BTreeMap<Endpoint, EndpointFaults>,
    /// Webhook faults.
    pub webhooks: WebhookFaults,
    /// The `Retry-After` seconds sent with injected 429s.
    pub retry_after_secs: u64,
    /// How long `meta.total` keeps reporting the pre-finish count after a job finishes.
    pub total_lag: Duration,
    /// How many rows fewer than its results and `data.json` hold a finished job's status
    /// reports in `dataRowsCount` (a count that disagrees with the rows served).
    pub count_short: u64,
}

/// A spec that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid fault spec entry {entry:?}: {reason}")]
pub struct FaultSpecError {
    entry: String,
    reason: String,
}

fn rate(entry: &str, value: &str) -> Result<f64, FaultSpecError> {
    match value.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(FaultSpecError {
            entry: entry.into(),
            reason: format!("expected a probability from 0 to 1, got {value:?}"),
        }),
    }
}

fn duration(entry: &str, value: &str) -> Result<Duration, FaultSpecError> {
    let parsed = if let Some(ms) = value.strip_suffix("ms") {
        ms.parse::<u64>().ok().map(Duration::from_millis)
    } else if let Some(s) = value.strip_suffix('s') {
        s.parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64)
    } else {
        None
    };
    parsed.ok_or_else(|| FaultSpecError {
        entry: entry.into(),
        reason: format!("expected a duration such as 20ms or 1.5s, got {value:?}"),
    })
}

/// `20ms` or `20ms@0.5`.
fn timed(entry: &str, value: &str) -> Result<(Duration, f64), FaultSpecError> {
    match value.split_once('@') {
        Some((d, p)) => Ok((duration(entry, d)?, rate(entry, p)?)),
        None => Ok((duration(entry, value)?, 1.0)),
    }
}

impl FromStr for FaultSpec {
    type Err = FaultSpecError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut spec = FaultSpec {
            retry_after_secs: 1,
            ..FaultSpec::default()
        };
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = |reason: &str| FaultSpecError {
                entry: entry.into(),
                reason: reason.into(),
            };
            let (target, value) = entry
                .split_once('=')
                .ok_or_else(|| bad("expected fault=value"))?;
            let (endpoints, fault): (Vec<Endpoint>, &str) = match target.split_once(':') {
                Some((endpoint, fault)) => {
                    let endpoint = Endpoint::ALL
                        .into_iter()
                        .find(|e| e.name() == endpoint)
                        .ok_or_else(|| bad("unknown endpoint: expected submit, status, results, stop, usage or files"))?;
                    (vec![endpoint], fault)
                }
                None => (Endpoint::ALL.to_vec(), target),
            };
            match fault {
                "webhook-drop" => spec.webhooks.drop = rate(entry, value)?,
                "webhook-duplicate" => spec.webhooks.duplicate = rate(entry, value)?,
                "webhook-reorder" => spec.webhooks.reorder = rate(entry, value)?,
                "webhook-delay" => spec.webhooks.delay = Some(timed(entry, value)?),
                "retry-after" => {
                    spec.retry_after_secs =
                        value.parse().map_err(|_| bad("expected whole seconds"))?;
                }
                "total-lag" => spec.total_lag = duration(entry, value)?,
                "count-short" => {
                    spec.count_short = value
                        .parse()
                        .map_err(|_| bad("expected a whole number of rows"))?;
                }
                _ => {
                    for endpoint in &endpoints {
                        let faults = spec.endpoints.entry(*endpoint).or_default();
                        match fault {
                            "429" => faults.too_many_requests = rate(entry, value)?,
                            "500" => faults.internal_error = rate(entry, value)?,
                            "503" => faults.unavailable = rate(entry, value)?,
                            "reset" => faults.reset = rate(entry, value)?,
                            "latency" => faults.latency = Some(timed(entry, value)?),
                            "lose-response" if *endpoint == Endpoint::Submit => {
                                faults.lose_response = rate(entry, value)?;
                            }
                            "lose-response" => {}
                            "ignore-page" if *endpoint == Endpoint::Results => {
                                faults.ignore_page = rate(entry, value)?;
                            }
                            "ignore-page" => {}
                            _ => {
                                return Err(bad(
                                    "unknown fault: expected 429, 500, 503, reset, latency, lose-response, ignore-page, retry-after, total-lag, count-short or webhook-drop/duplicate/reorder/delay",
                                ));
                            }
                        }
                    }
                }
            }
        }
        Ok(spec)
    }
}

/// What to do to one API request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Injected {
    /// Answer normally.
    None,
    /// Answer 429 with `Retry-After`.
    TooManyRequests,
    /// Answer 500.
    InternalError,
    /// Answer 503.
    Unavailable,
    /// Break the connection mid-response.
    Reset,
    /// Submit: create the job, then break the connection.
    LoseResponse,
}

/// Draws faults from the spec with a seeded sequence, and counts them.
pub struct FaultInjector {
    spec: FaultSpec,
    seed: u64,
    draws: AtomicU64,
    counts: Mutex<BTreeMap<String, u64>>,
}

impl fmt::Debug for FaultInjector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultInjector")
            .field("spec", &self.spec)
            .field("seed", &self.seed)
            .finish()
    }
}

impl FaultInjector {
    /// An injector for `spec`, seeded.
    pub fn new(spec: FaultSpec, seed: u64) -> Self {
        FaultInjector {
            spec,
            seed,
            draws: AtomicU64::new(0),
            counts: Mutex::new(BTreeMap::new()),
        }
    }

    /// The spec in force.
    pub fn spec(&self) -> &FaultSpec {
        &self.spec
    }

    /// The next value of the seeded sequence, in `[0, 1)`.
    pub fn draw(&self) -> f64 {
        let n = self.draws.fetch_add(1, Ordering::Relaxed);
        mix::unit(&[self.seed, n])
    }

    /// Whether an event of probability `p` happens; counted under `name` when it does.
    pub fn chance(&self, p: f64, name: &str) -> bool {
        if p <= 0.0 {
            return false;
        }
        let hit = self.draw() < p;
        if hit {
            self.count(name);
        }
        hit
    }

    /// Adds one to a counter.
    pub fn count(&self, name: &str) {
        *self
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(name.to_owned())
            .or_default() += 1;
    }

    /// Every counter.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The latency to add to a request to `endpoint`, if any.
    pub fn latency(&self, endpoint: Endpoint) -> Option<Duration> {
        let (delay, p) = self.spec.endpoints.get(&endpoint)?.latency?;
        self.chance(p, &format!("{}:latency", endpoint.name()))
            .then_some(delay)
    }

    /// The fault for one request to `endpoint`. At most one fault applies.
    pub fn decide(&self, endpoint: Endpoint) -> Injected {
        let Some(faults) = self.spec.endpoints.get(&endpoint) else {
            return Injected::None;
        };
        let name = endpoint.name();
        let choices = [
            (faults.too_many_requests, Injected::TooManyRequests, "429"),
            (faults.internal_error, Injected::InternalError, "500"),
            (faults.unavailable, Injected::Unavailable, "503"),
            (faults.reset, Injected::Reset, "reset"),
            (
                faults.lose_response,
                Injected::LoseResponse,
                "lose-response",
            ),
        ];
        for (p, injected, label) in choices {
            if self.chance(p, &format!("{name}:{label}")) {
                return injected;
            }
        }
        Injected::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        let spec: FaultSpec = "503=0.1,results:reset=0.05,latency=20ms@0.5,submit:lose-response=0.2,webhook-drop=0.3,webhook-delay=1.5s,retry-after=2,total-lag=200ms,count-short=3"
            .parse()
            .expect("valid");
        assert_eq!(spec.endpoints[&Endpoint::Status].unavailable, 0.1);
        assert_eq!(spec.endpoints[&Endpoint::Results].reset, 0.05);
        assert_eq!(spec.endpoints[&Endpoint::Status].reset, 0.0);
        assert_eq!(
            spec.endpoints[&Endpoint::Files].latency,
            Some((Duration::from_millis(20), 0.5))
        );
        assert_eq!(spec.endpoints[&Endpoint::Submit].lose_response, 0.2);
        assert_eq!(spec.webhooks.drop, 0.3);
        assert_eq!(
            spec.webhooks.delay,
            Some((Duration::from_millis(1500), 1.0))
        );
        assert_eq!(spec.retry_after_secs, 2);
        assert_eq!(spec.total_lag, Duration::from_millis(200));
        assert_eq!(spec.count_short, 3);
        assert!("count-short=x".parse::<FaultSpec>().is_err());
        assert_eq!(
            "".parse::<FaultSpec>()
                .expect("empty is valid")
                .retry_after_secs,
            1
        );
        for bad in ["503", "503=2", "nope=0.1", "mars:503=0.1", "latency=fast"] {
            assert!(bad.parse::<FaultSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn rates_hold_and_repeat_with_the_seed() {
        let spec: FaultSpec = "status:503=0.2".parse().expect("valid");
        let run = |seed| {
            let injector = FaultInjector::new(spec.clone(), seed);
            (0..5_000)
                .map(|_| injector.decide(Endpoint::Status))
                .collect::<Vec<_>>()
        };
        let first = run(7);
        assert_eq!(first, run(7), "same seed, same faults");
        assert_ne!(first, run(8));
        let hits = first
            .iter()
            .filter(|i| **i == Injected::Unavailable)
            .count();
        assert!((900..1100).contains(&hits), "{hits} of 5000 at rate 0.2");
    }
}
