//! Project chores, one module per command:
//!
//! - `cargo xtask schemas [--check]` ([`schemas`]): the JSON Schemas in `schemas/` (and the
//!   OpenAPI document, built from the same types).
//! - `cargo xtask openapi [--check]` ([`openapi`]): the documents in `openapi/` alone.
//! - `cargo xtask bench` ([`mod@bench`]): rows per second against the limit of the same server,
//!   and 10,000 concurrent waits (see `docs/benchmarks.md`).
//! - `cargo xtask mutants [transport|jobs|model]... [-- ARGS]` ([`mutants`]): mutation testing
//!   of the core crates with cargo-mutants (see docs/testing.md).
//! - `cargo xtask fuzz TARGET|all [--seconds N]` ([`fuzz`]): a cargo-fuzz run of a harness.
//!
//! `main` only dispatches; each command lives in its own module.

mod bench;
mod fuzz;
mod mutants;
mod openapi;
mod schemas;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use schemas::{check_schemas, describe_problems, write_schemas};

const USAGE: &str = "usage: cargo xtask schemas [--check] | openapi [--check] | bench [--rows N,N] [--repeat R] [--concurrency C] [--waits N] [--baseline HASDATA] [--server auto|nginx|in-process] | bench-serve ROWS | bench-fetch BASE ID PAGES [C] | mutants [transport|jobs|model]... [-- CARGO-MUTANTS ARGS] | fuzz TARGET|all [--seconds N]";

/// What a command found: `Ok(None)` for success, `Ok(Some(problem))` for a failed check.
type Outcome = std::io::Result<Option<String>>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let outcome: Outcome = match args.as_slice() {
        // `schemas` regenerates the OpenAPI document too: it is built from the same types, so
        // whoever changes the model gets both from the command they already know.
        ["schemas"] => write_schemas(&schemas_dir()).and_then(|report| {
            println!("{report}");
            println!("{}", openapi::write(&project_root())?);
            Ok(None)
        }),
        ["schemas", "--check"] => check_schemas(&schemas_dir()).and_then(|problems| {
            if !problems.is_empty() {
                return Ok(Some(describe_problems(&problems)));
            }
            println!("schemas/ is up to date");
            check_openapi()
        }),
        ["openapi"] => openapi::write(&project_root()).map(|report| {
            println!("{report}");
            None
        }),
        ["openapi", "--check"] => check_openapi(),
        ["bench", rest @ ..] => bench::run(rest)
            .map(|()| None)
            .map_err(std::io::Error::other),
        ["bench-release", rest @ ..] => bench::run_release(rest)
            .map(|()| None)
            .map_err(std::io::Error::other),
        ["bench-serve", rest @ ..] => bench::serve(rest)
            .map(|()| None)
            .map_err(std::io::Error::other),
        ["bench-fetch", rest @ ..] => bench::fetch(rest)
            .map(|()| None)
            .map_err(std::io::Error::other),
        ["bench-waits-child", rest @ ..] => bench::waits_child(rest)
            .map(|()| None)
            .map_err(std::io::Error::other),
        ["mutants", rest @ ..] => mutants::run(&project_root(), rest),
        ["fuzz", rest @ ..] => match fuzz::run(rest) {
            Ok(outcome) => Ok(outcome),
            Err(usage) => {
                eprintln!("{usage}");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some(problem)) => {
            eprintln!("{problem}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn check_openapi() -> Outcome {
    let problem = openapi::check(&project_root())?;
    if problem.is_none() {
        println!("{} is up to date", openapi::DOCUMENT);
    }
    Ok(problem)
}

/// The repository root: xtask lives one level below it.
pub(crate) fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn schemas_dir() -> PathBuf {
    project_root().join("schemas")
}
