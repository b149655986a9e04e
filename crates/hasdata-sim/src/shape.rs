//! Response shapes beyond the seed page: what HasData's docs pages and live use show, so a
//! client's tests can meet every form the real API may send.
//!
//! A shape is a set of flags. Named profiles group them: `seed` (the default: the API page's
//! live shapes), `docs` (the docs pages' examples) and `edge` (live quirks the seed does not
//! show). Profiles and flags compose: `docs,edge`, `seed,null-counts`.

use std::fmt;
use std::str::FromStr;

/// How the simulator's answers differ from the seed page's. `Shape::default()` is the seed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shape {
    /// Result wrappers are `{id, data, createdAt, updatedAt}`, without `jobId` and `dataId`
    /// (the "getting results" docs page).
    pub no_wrapper_ids: bool,
    /// Timestamps carry milliseconds (`2025-05-02T17:26:28.603+03:00`, the docs pages); the
    /// seed shape writes whole seconds.
    pub millis_timestamps: bool,
    /// Counts stay numbers once populated (the docs' examples); the seed's live shape turns
    /// them into strings.
    pub number_counts: bool,
    /// Webhook events carry `jobId` as text (the webhooks docs page shows strings).
    pub text_webhook_job_id: bool,
    /// The first status read of a job whose rows are complete says `exporting_data` (no
    /// download links yet); the next says `finished` (seen live).
    pub exporting_data: bool,
    /// Counts are `null` until they are populated (seen live).
    pub null_counts: bool,
    /// The simulator's first submit is answered 429 with `Retry-After` and creates no job (the
    /// concurrency cap, hit by another client of the same key).
    pub first_submit_429: bool,
    /// A finished job's `data` has `csv` and `xlsx` links but no `json` link.
    pub no_json_link: bool,
    /// Jobs that run to their end finish as `finished_with_error` with `stopReason:
    /// "data_limit_exceeded"`, their rows kept and no download links (seen live).
    pub finished_with_error: bool,
}

/// Where a flag lives in a [`Shape`].
type Field = fn(&mut Shape) -> &mut bool;

/// Every flag: its name in `--shape` and where it lives.
const FLAGS: [(&str, Field); 9] = [
    ("no-wrapper-ids", |s| &mut s.no_wrapper_ids),
    ("millis", |s| &mut s.millis_timestamps),
    ("number-counts", |s| &mut s.number_counts),
    ("text-webhook-id", |s| &mut s.text_webhook_job_id),
    ("exporting-data", |s| &mut s.exporting_data),
    ("null-counts", |s| &mut s.null_counts),
    ("first-submit-429", |s| &mut s.first_submit_429),
    ("no-json-link", |s| &mut s.no_json_link),
    ("finished-with-error", |s| &mut s.finished_with_error),
];

/// The named profiles and their flags.
const PROFILES: [(&str, &[&str]); 3] = [
    ("seed", &[]),
    (
        "docs",
        &[
            "no-wrapper-ids",
            "millis",
            "number-counts",
            "text-webhook-id",
        ],
    ),
    (
        "edge",
        &[
            "exporting-data",
            "null-counts",
            "first-submit-429",
            "no-json-link",
        ],
    ),
];

impl Shape {
    /// The seed page's shapes (the default).
    pub fn seed() -> Shape {
        Shape::default()
    }

    /// HasData's docs pages' shapes: wrappers without `jobId`/`dataId`, millisecond
    /// timestamps, counts as numbers, webhook `jobId` as text.
    pub fn docs() -> Shape {
        Shape::profile("docs")
    }

    /// Live quirks beyond the seed: `exporting_data` before `finished`, `null` counts before
    /// they are populated, a 429 on the first submit, no `data.json` link.
    pub fn edge() -> Shape {
        Shape::profile("edge")
    }

    /// Every named profile, for tests that run against each: `seed`, `docs`, `edge`.
    pub fn profiles() -> Vec<(&'static str, Shape)> {
        PROFILES
            .iter()
            .map(|(name, _)| (*name, Shape::profile(name)))
            .collect()
    }

    fn profile(name: &str) -> Shape {
        let mut shape = Shape::default();
        for (profile, flags) in PROFILES {
            if profile == name {
                for flag in flags {
                    shape.set(flag);
                }
            }
        }
        shape
    }

    /// Turns on `flag`; false when no flag has that name.
    fn set(&mut self, flag: &str) -> bool {
        match FLAGS.iter().find(|(name, _)| *name == flag) {
            Some((_, field)) => {
                *field(self) = true;
                true
            }
            None => false,
        }
    }

    /// The names of the flags that are on.
    pub fn flags(&self) -> Vec<&'static str> {
        let mut copy = *self;
        FLAGS
            .iter()
            .filter(|(_, field)| *field(&mut copy))
            .map(|(name, _)| *name)
            .collect()
    }
}

/// A `--shape` value that names no profile or flag.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown shape {given:?}: expected a profile ({}) or a flag ({})",
    profile_names(),
    flag_names()
)]
pub struct ShapeError {
    given: String,
}

fn profile_names() -> String {
    PROFILES.map(|(name, _)| name).join(", ")
}

fn flag_names() -> String {
    FLAGS.map(|(name, _)| name).join(", ")
}

impl FromStr for Shape {
    type Err = ShapeError;

    /// A comma-separated list of profiles and flags; the union of all of them.
    fn from_str(text: &str) -> Result<Shape, ShapeError> {
        let mut shape = Shape::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if let Some((_, flags)) = PROFILES.iter().find(|(name, _)| *name == part) {
                for flag in *flags {
                    shape.set(flag);
                }
            } else if !shape.set(part) {
                return Err(ShapeError {
                    given: part.to_owned(),
                });
            }
        }
        Ok(shape)
    }
}

impl fmt::Display for Shape {
    /// The flags that are on, comma-separated (`seed` when none is).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flags = self.flags();
        if flags.is_empty() {
            f.write_str("seed")
        } else {
            f.write_str(&flags.join(","))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_and_flags_compose_and_round_trip() {
        assert_eq!("seed".parse::<Shape>().unwrap(), Shape::default());
        assert_eq!("".parse::<Shape>().unwrap(), Shape::default());
        let docs = Shape::docs();
        assert!(docs.no_wrapper_ids && docs.millis_timestamps && !docs.exporting_data);
        let both: Shape = "docs, edge,finished-with-error".parse().unwrap();
        assert_eq!(both.flags().len(), 9);
        assert_eq!(both.to_string().parse::<Shape>().unwrap(), both);
        assert_eq!(
            Shape::edge().to_string().parse::<Shape>().unwrap(),
            Shape::edge()
        );
        let error = "docs,nope".parse::<Shape>().unwrap_err().to_string();
        assert!(error.contains("\"nope\"") && error.contains("edge") && error.contains("millis"));
        assert_eq!(Shape::profiles().len(), 3);
    }
}
