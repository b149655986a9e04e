//! The progress display: one line per job on stderr. On a terminal a live line per job;
//! otherwise (a pipe, a log file, CI) a plain line whenever a job's status changes, and one per
//! poll with `-v`, so a long wait is not silent.

use std::io::IsTerminal;
use std::time::Duration;

use hasdata_jobs::Progress;

use crate::commands::count;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress lines, or nothing when progress is off.
#[derive(Clone)]
pub struct Display {
    bars: Option<MultiProgress>,
    /// Plain lines (progress wanted, stderr not a terminal); `Some(true)` for one per poll.
    plain: Option<bool>,
}

impl Display {
    /// Live lines when asked for and stderr is a terminal; plain lines when asked for and it
    /// is not (every poll with `verbose`, else status changes only).
    pub fn new(wanted: bool, verbose: bool) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let on = wanted && terminal;
        Display {
            bars: on.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            plain: (wanted && !terminal).then_some(verbose),
        }
    }

    /// A line for one job.
    pub fn job(&self, label: String) -> JobLine {
        let label_for_plain = label.clone();
        let bar = self.bars.as_ref().map(|bars| {
            let bar = bars.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(label);
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        let plain = self.plain.map(|every_poll| Plain {
            label: label_for_plain.clone(),
            every_poll,
            last_status: std::sync::Mutex::new(None),
        });
        JobLine { bar, plain }
    }
}

/// A job's plain lines: what was last said, so only changes are repeated.
struct Plain {
    label: String,
    every_poll: bool,
    last_status: std::sync::Mutex<Option<String>>,
}

/// The line of one job.
pub struct JobLine {
    bar: Option<ProgressBar>,
    plain: Option<Plain>,
}

impl JobLine {
    pub fn update(&self, progress: &Progress) {
        if let Some(plain) = &self.plain {
            let job = &progress.job;
            let status = job.status.to_string();
            let mut last = plain.last_status.lock().unwrap_or_else(|e| e.into_inner());
            if plain.every_poll || last.as_deref() != Some(status.as_str()) {
                crate::context::err_line(&format!(
                    "{}: {} · {} · {} · {}s elapsed",
                    plain.label,
                    status,
                    count(job.data_rows_count.get(), "row"),
                    count(job.credits_spent.get(), "credit"),
                    progress.elapsed.as_secs()
                ));
                *last = Some(status);
            }
        }
        if let Some(bar) = &self.bar {
            let job = &progress.job;
            let next = progress
                .next_poll
                .map(|d| match d.as_secs_f64() {
                    s if s < 10.0 => format!(" · next poll in {s:.1}s"),
                    s => format!(" · next poll in {}s", s.round() as u64),
                })
                .unwrap_or_default();
            bar.set_message(format!(
                "{} · {} · {} · {}s elapsed{next}",
                job.status,
                count(job.data_rows_count.get(), "row"),
                count(job.credits_spent.get(), "credit"),
                progress.elapsed.as_secs()
            ));
        }
    }

    pub fn message(&self, text: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(text);
        }
    }

    pub fn finish(&self, text: String) {
        if let Some(bar) = &self.bar {
            bar.finish_with_message(text);
        }
    }
}
