//! `cargo xtask mutants [transport|jobs|model]... [-- CARGO-MUTANTS ARGS]`: mutation testing of
//! the core crates with cargo-mutants, a before-release habit (hours on two cores, so not in
//! CI). Installs cargo-mutants when it is missing, runs each selected target into
//! `target/mutation/NAME/`, and prints caught / missed / unviable / timeout counts per target,
//! the figures `docs/testing.md` records. Arguments after `--` go to every cargo-mutants run
//! (`--file`, `--timeout`, `-j`, `--list`...).

use std::path::Path;
use std::process::Command;

/// One thing to mutate: a package, and the files of it that count (all when empty).
struct Target {
    name: &'static str,
    package: &'static str,
    files: &'static [&'static str],
}

/// The core crates: the transport, the lifecycle, and the model's validation and decoding
/// (its types are declarations; these files hold its logic).
const TARGETS: &[Target] = &[
    Target {
        name: "transport",
        package: "hasdata-transport",
        files: &[],
    },
    Target {
        name: "jobs",
        package: "hasdata-jobs",
        files: &[],
    },
    Target {
        name: "model",
        package: "hasdata-model",
        files: &[
            "crates/hasdata-model/src/validate/mod.rs",
            "crates/hasdata-model/src/validate/checker.rs",
            "crates/hasdata-model/src/validate/value.rs",
            "crates/hasdata-model/src/decode.rs",
            "crates/hasdata-model/src/lenient.rs",
            "crates/hasdata-model/src/job_id.rs",
        ],
    },
];

/// Counts read from cargo-mutants' `outcomes.json`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub caught: u64,
    pub missed: u64,
    pub unviable: u64,
    pub timeout: u64,
}

impl Counts {
    /// Missed as a share of the mutants that built and ran (caught + missed + timeout).
    pub fn missed_percent(&self) -> f64 {
        let tested = self.caught + self.missed + self.timeout;
        if tested == 0 {
            0.0
        } else {
            100.0 * self.missed as f64 / tested as f64
        }
    }
}

/// Reads the summary counts of an `outcomes.json`.
pub fn parse_outcomes(text: &str) -> Result<Counts, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("outcomes.json is not JSON: {e}"))?;
    let count = |key: &str| {
        value
            .get(key)
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| format!("outcomes.json has no count {key:?}"))
    };
    Ok(Counts {
        caught: count("caught")?,
        missed: count("missed")?,
        unviable: count("unviable")?,
        timeout: count("timeout")?,
    })
}

/// Settings that make each mutant cheap, unless the caller chose otherwise: the `mutants`
/// profile (no debug info, so links are fast; see the workspace `Cargo.toml`), and only the
/// crate's unit and integration tests (doctests and examples rebuilt for every mutant cost
/// minutes and test little the other tests do not).
fn cheap_defaults(extra: &[&str]) -> Vec<&'static str> {
    let given = |flag: &str| {
        extra
            .iter()
            .any(|a| *a == flag || a.starts_with(&format!("{flag}=")))
    };
    let mut args = Vec::new();
    if !given("--profile") {
        args.extend(["--profile", "mutants"]);
    }
    if !given("--cargo-arg") && !given("-C") {
        args.extend(["--cargo-arg=--lib", "--cargo-arg=--tests"]);
    }
    args
}

fn cargo_mutants_installed() -> bool {
    Command::new("cargo")
        .args(["mutants", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs the selected targets. Returns a problem to report, or `None` when every run ended.
pub fn run(root: &Path, args: &[&str]) -> std::io::Result<Option<String>> {
    let (names, extra) = match args.iter().position(|a| *a == "--") {
        Some(at) => (&args[..at], &args[at + 1..]),
        None => (args, &[][..]),
    };
    let selected: Vec<&Target> = if names.is_empty() {
        TARGETS.iter().collect()
    } else {
        let mut selected = Vec::new();
        for name in names {
            match TARGETS.iter().find(|t| t.name == *name) {
                Some(target) => selected.push(target),
                None => {
                    return Ok(Some(format!(
                        "unknown mutants target {name:?}: expected transport, jobs or model"
                    )));
                }
            }
        }
        selected
    };
    if !cargo_mutants_installed() {
        println!("cargo-mutants is missing: cargo install cargo-mutants --locked");
        let status = Command::new("cargo")
            .args(["install", "cargo-mutants", "--locked"])
            .status()?;
        if !status.success() {
            return Ok(Some("could not install cargo-mutants".into()));
        }
    }
    let mut report = Vec::new();
    for target in selected {
        let output = root.join("target").join("mutation").join(target.name);
        std::fs::create_dir_all(&output)?;
        let mut command = Command::new("cargo");
        command
            .current_dir(root)
            .args(["mutants", "--package", target.package, "--output"])
            .arg(&output);
        // The caller's --file narrows a run; the target's own files apply otherwise.
        if !extra.iter().any(|a| *a == "--file" || *a == "-f") {
            for file in target.files {
                command.args(["--file", file]);
            }
        }
        command.args(cheap_defaults(extra));
        command.args(extra);
        println!("== cargo mutants: {} ({})", target.name, target.package);
        // cargo-mutants exits non-zero when a mutant is missed: the counts say what happened.
        let status = command.status()?;
        let outcomes = output.join("mutants.out").join("outcomes.json");
        match std::fs::read_to_string(&outcomes) {
            Ok(text) => match parse_outcomes(&text) {
                Ok(counts) => report.push(format!(
                    "{:<10} caught {:>4}  missed {:>4}  unviable {:>4}  timeout {:>4}  missed {:.1}%",
                    target.name,
                    counts.caught,
                    counts.missed,
                    counts.unviable,
                    counts.timeout,
                    counts.missed_percent()
                )),
                Err(e) => report.push(format!("{:<10} {e}", target.name)),
            },
            Err(_) => report.push(format!(
                "{:<10} no outcomes ({status}): see {}",
                target.name,
                output.display()
            )),
        }
    }
    println!("== mutation summary (missed mutants: target/mutation/NAME/mutants.out/missed.txt)");
    for line in &report {
        println!("{line}");
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_counts_are_read_and_the_share_is_of_tested_mutants() {
        let text = r#"{"outcomes": [], "total_mutants": 20, "caught": 14, "missed": 2,
            "timeout": 2, "unviable": 2, "success": 1, "failure": 0}"#;
        let counts = parse_outcomes(text).unwrap();
        assert_eq!(
            counts,
            Counts {
                caught: 14,
                missed: 2,
                unviable: 2,
                timeout: 2
            }
        );
        assert!((counts.missed_percent() - 100.0 * 2.0 / 18.0).abs() < 1e-9);
        assert_eq!(Counts::default().missed_percent(), 0.0);
        assert!(
            parse_outcomes(r#"{"caught": 1}"#)
                .unwrap_err()
                .contains("missed")
        );
        assert!(parse_outcomes("not json").is_err());
    }

    #[test]
    fn cheap_settings_apply_unless_the_caller_chose_their_own() {
        assert_eq!(
            cheap_defaults(&["--file", "x.rs"]),
            [
                "--profile",
                "mutants",
                "--cargo-arg=--lib",
                "--cargo-arg=--tests"
            ]
        );
        assert_eq!(
            cheap_defaults(&["--profile=dev", "--cargo-arg=--lib"]),
            Vec::<&str>::new()
        );
        assert_eq!(
            cheap_defaults(&["-C", "--test=jobs"]),
            ["--profile", "mutants"]
        );
    }

    #[test]
    fn every_target_file_exists() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        for target in TARGETS {
            for file in target.files {
                assert!(root.join(file).is_file(), "{}: {file}", target.name);
            }
        }
    }
}
