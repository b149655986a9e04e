//! `cargo xtask fuzz TARGET --seconds N`: one coverage-guided fuzz run of a harness.
//!
//! Runs `cargo fuzz run` in `fuzz/` with the target's checked-in seeds (`fuzz/corpus/TARGET`),
//! for at most N seconds. cargo-fuzz passes nightly-only `-Z` flags to rustc; on the stable
//! toolchain these machines have, `RUSTC_BOOTSTRAP=1` lets rustc take them. A crash leaves its
//! input under `fuzz/artifacts/TARGET/` and fails the command: keep the input as a named seed in
//! `fuzz/corpus/TARGET/` once fixed, so `cargo test -p hasdata-fuzz` replays it for good.

use std::process::Command;

use crate::project_root;

/// The targets: one per `fuzz/fuzz_targets/*.rs` (hasdata-fuzz's tests check that each wraps
/// a harness of the same name), sorted.
fn targets() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(project_root().join("fuzz/fuzz_targets"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".rs").map(str::to_owned)
        })
        .collect();
    names.sort();
    names
}

/// Parses `TARGET --seconds N` (or `all --seconds N`) and runs it.
pub(crate) fn run(args: &[&str]) -> Result<Option<String>, String> {
    let (target, seconds) = match args {
        [target, "--seconds", seconds] => {
            let seconds: u64 = seconds
                .parse()
                .map_err(|_| format!("--seconds: expected a whole number, got {seconds:?}"))?;
            (*target, seconds)
        }
        [target] => (*target, 60),
        _ => return Err(usage()),
    };
    let known = targets();
    let targets: Vec<String> = match target {
        "all" => known,
        one if known.iter().any(|k| k == one) => vec![one.to_owned()],
        other => return Err(format!("unknown fuzz target {other:?}\n{}", usage())),
    };
    for target in targets {
        eprintln!("== fuzz {target} for {seconds} s");
        let fuzz_dir = project_root().join("fuzz");
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(&fuzz_dir)
            .env("RUSTC_BOOTSTRAP", "1")
            .args(["fuzz", "run", &target])
            .arg(fuzz_dir.join("corpus").join(&target))
            .args([
                "--",
                &format!("-max_total_time={seconds}"),
                "-print_final_stats=1",
            ])
            .status()
            .map_err(|e| format!("could not run cargo fuzz ({e}); install it with `cargo install cargo-fuzz --locked`"))?;
        if !status.success() {
            return Ok(Some(format!(
                "fuzz {target} failed ({status}); the input is under fuzz/artifacts/{target}/"
            )));
        }
    }
    Ok(None)
}

fn usage() -> String {
    format!(
        "usage: cargo xtask fuzz TARGET|all [--seconds N]\ntargets: {}",
        targets().join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_found() {
        assert!(targets().iter().any(|t| t == "json_array_splitter"));
    }

    #[test]
    fn bad_arguments_say_what_was_expected() {
        assert!(
            run(&["nope", "--seconds", "1"])
                .unwrap_err()
                .contains("unknown fuzz target")
        );
        assert!(
            run(&["api_error", "--seconds", "soon"])
                .unwrap_err()
                .contains("--seconds")
        );
        assert!(run(&[]).unwrap_err().starts_with("usage"));
    }
}
