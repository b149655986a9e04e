//! Project chores, one module per command:
//!
//! - `cargo xtask schemas [--check]` ([`schemas`]): the JSON Schemas in `schemas/`.
//!
//! `main` only dispatches; each command lives in its own module.

mod schemas;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use schemas::{check_schemas, describe_problems, write_schemas};

const USAGE: &str = "usage: cargo xtask schemas [--check]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["schemas"] => write_schemas(&schemas_dir()).map(|report| {
            println!("{report}");
        }),
        ["schemas", "--check"] => match check_schemas(&schemas_dir()) {
            Ok(problems) if problems.is_empty() => {
                println!("schemas/ is up to date");
                Ok(())
            }
            Ok(problems) => {
                eprintln!("{}", describe_problems(&problems));
                return ExitCode::FAILURE;
            }
            Err(e) => Err(e),
        },
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The repository root: xtask lives one level below it.
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn schemas_dir() -> PathBuf {
    project_root().join("schemas")
}
