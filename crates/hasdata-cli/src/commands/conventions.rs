//! `hasdata completions SHELL` and `hasdata man`: shell completions and manual pages, generated
//! from the same clap definitions that parse the command line, so they never drift from it.

use clap::CommandFactory;

use crate::args::{Cli, CompletionsArgs, ManArgs};
use crate::context::out_line;
use crate::fail::{Failure, code};

/// Prints the completion script for the shell asked for on stdout.
pub fn completions(args: &CompletionsArgs) -> Result<(), Failure> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "hasdata", &mut script);
    print(script);
    Ok(())
}

/// Prints `hasdata.1` on stdout, or with `--dir` writes one page per command there
/// (`hasdata.1`, `hasdata-submit.1`, `hasdata-jobs-list.1`, ...).
pub fn man(args: &ManArgs) -> Result<(), Failure> {
    let command = Cli::command();
    if let Some(dir) = &args.dir {
        let cannot = |e: std::io::Error| {
            Failure::new(
                code::OTHER,
                format!("cannot write the manual pages to {}: {e}", dir.display()),
            )
        };
        std::fs::create_dir_all(dir).map_err(cannot)?;
        clap_mangen::generate_to(command, dir).map_err(cannot)?;
        return Ok(());
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut page)
        .map_err(|e| Failure::new(code::OTHER, format!("cannot render the manual page: {e}")))?;
    print(page);
    Ok(())
}

/// Writes generated text through [`out_line`], so a closed stdout ends quietly (exit 141).
fn print(bytes: Vec<u8>) {
    let text = String::from_utf8_lossy(&bytes);
    out_line(text.strip_suffix('\n').unwrap_or(&text));
}
