//! Checking bodies before anything is sent, in the CLI's words.
//!
//! The CLI checks a body itself rather than leave it to the library, so that a `--bodies` file
//! is checked whole before its first line is sent and each warning is printed once (the
//! client it builds has its own check off). The rules are the model's, by evidence: a broken
//! rule HasData documents exits 2 with nothing sent; anything else is a warning on stderr
//! (and under `warnings` in `--json` output) and the body is sent as written. `--strict`
//! makes warnings refuse too; `--no-validate` sends the body unchecked.

use hasdata_model::{Problem, Report, ScraperKind, ValidateOptions, ValidationMode};
use serde_json::Value;

use std::path::Path;

use crate::context::{Ctx, err_line};
use crate::fail::Failure;

/// The mode the flags ask for.
pub fn mode(strict: bool, no_validate: bool) -> ValidationMode {
    match (strict, no_validate) {
        (_, true) => ValidationMode::Off,
        (true, false) => ValidationMode::Strict,
        (false, false) => ValidationMode::Default,
    }
}

/// Every problem of one body under `mode` (nothing with `Off`).
pub fn report(ctx: &Ctx, kind: ScraperKind, body: &Value, mode: ValidationMode) -> Report {
    if mode == ValidationMode::Off {
        return Report::default();
    }
    let options = ValidateOptions {
        allow_http_webhooks: ctx.local_api(),
    };
    kind.check_json_with(body, options).with_mode(mode)
}

/// The refusal of a body with errors: every problem, errors first, and the way out.
pub fn refusal(report: &Report, mode: ValidationMode) -> String {
    let mut parts: Vec<String> = report
        .errors()
        .iter()
        .map(|p| format!("error: {p}"))
        .collect();
    parts.extend(report.warnings().iter().map(|p| format!("warning: {p}")));
    let way_out = if mode == ValidationMode::Strict {
        "--strict refuses warnings too; without it they are sent as written"
    } else {
        "fix the body, or --no-validate sends it unchecked"
    };
    format!(
        "invalid body, nothing was sent: {} ({way_out})",
        parts.join("; ")
    )
}

/// Prints the warnings of a body on stderr (not with `-q`); `prefix` says which body
/// (`line 3: `).
pub fn print_warnings(ctx: &Ctx, prefix: &str, warnings: &[Problem]) {
    if ctx.global.quiet {
        return;
    }
    for warning in warnings {
        err_line(&format!("hasdata: {prefix}warning: {warning}"));
    }
}

/// Checks one body: its warnings (printed), or the refusal (exit 2, nothing sent).
pub fn one(
    ctx: &Ctx,
    kind: ScraperKind,
    body: &Value,
    mode: ValidationMode,
) -> Result<Vec<Problem>, crate::fail::Failure> {
    let report = report(ctx, kind, body, mode);
    if report.has_errors() {
        return Err(crate::fail::Failure::usage(refusal(&report, mode)));
    }
    let warnings: Vec<Problem> = report.problems().to_vec();
    print_warnings(ctx, "", &warnings);
    Ok(warnings)
}

/// One line to send.
pub struct Line {
    pub number: u64,
    pub body: Value,
    /// What the body's check found that did not stop it.
    pub warnings: Vec<hasdata_model::Problem>,
}

/// Every line of a `--bodies` file, checked before any is sent or queued (`submit --bodies`,
/// `queue add`): a typo on line 900 must not leave 899 jobs running and the rest unsent.
/// Problems name their line as `line N`; `done` words what did not happen (`submitted`,
/// `queued`). Warnings are printed on stderr once every line passed.
/// `-` reads stdin to its end first.
pub fn read_lines(
    ctx: &Ctx,
    kind: ScraperKind,
    path: &Path,
    mode: hasdata_model::ValidationMode,
    done: &str,
) -> Result<Vec<Line>, Failure> {
    let bytes = if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
            .map_err(|e| Failure::usage(format!("cannot read --bodies from stdin: {e}")))?;
        bytes
    } else {
        std::fs::read(path)
            .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?
    };
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    for (number, line) in super::jsonl_lines(&bytes) {
        let line = match line {
            Ok(line) => line,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        match serde_json::from_str::<Value>(line) {
            Ok(body) => {
                let report = report(ctx, kind, &body, mode);
                if report.has_errors() {
                    problems.push(format!("line {number}: {}", refusal(&report, mode)));
                } else {
                    let warnings = report.problems().to_vec();
                    lines.push(Line {
                        number,
                        body,
                        warnings,
                    });
                }
            }
            Err(e) => problems.push(format!("line {number}: not JSON: {e}")),
        }
    }
    if !problems.is_empty() {
        return Err(Failure::usage(format!(
            "nothing was {done}: {}",
            problems.join("; ")
        )));
    }
    // A file with no body is a mistake (the wrong file, a failed export upstream): exit 2
    // rather than report nothing done as a success.
    if lines.is_empty() {
        return Err(Failure::usage(format!(
            "--bodies {}: no bodies in it (every line is blank): nothing was {done}",
            path.display()
        )));
    }
    for line in &lines {
        print_warnings(ctx, &format!("line {}: ", line.number), &line.warnings);
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_map_onto_modes() {
        assert_eq!(mode(false, false), ValidationMode::Default);
        assert_eq!(mode(true, false), ValidationMode::Strict);
        assert_eq!(mode(false, true), ValidationMode::Off);
        assert_eq!(mode(true, true), ValidationMode::Off);
    }

    #[test]
    fn a_refusal_lists_errors_then_warnings_and_the_way_out() {
        let body = serde_json::json!({"urls": ["not a url"], "proxyCountry": "ES"});
        let report = ScraperKind::Crawler.check_json(&body);
        let text = refusal(&report, ValidationMode::Default);
        let error = text.find("error: urls[0]").expect("the error");
        let warning = text.find("warning: proxyCountry").expect("the warning");
        assert!(error < warning, "{text}");
        assert!(text.contains("--no-validate"), "{text}");
        let strict = report.with_mode(ValidationMode::Strict);
        assert!(refusal(&strict, ValidationMode::Strict).contains("--strict"));
    }
}
