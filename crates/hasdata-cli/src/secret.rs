//! Secrets read from files or the environment, so they stay out of process listings.
//!
//! A flag's value is visible to every user of the machine (`ps`, `/proc/PID/cmdline`); a file
//! or an environment variable is not. Errors name the flag or variable and the file, never the
//! secret's text.

use std::path::Path;

use crate::fail::Failure;

/// Reads a secret from `path` for `flag`: the file's text without surrounding whitespace (a
/// trailing newline from `echo` is not part of the secret). A missing, unreadable or blank
/// file is a usage error naming the flag and the path.
pub fn read_file(flag: &str, path: &Path) -> Result<String, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("{flag}: cannot read {}: {e}", path.display())))?;
    let secret = text.trim();
    if secret.is_empty() {
        return Err(Failure::usage(format!(
            "{flag}: {} is empty",
            path.display()
        )));
    }
    Ok(secret.to_owned())
}

/// The value of the environment variable `name`, when set and not blank.
pub fn from_env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}
