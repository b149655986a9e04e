//! The progress display: one line per job on stderr. On a terminal a live line per job;
//! otherwise (a pipe, a log file, CI) a plain line whenever a job's status changes, and one per
//! poll with `-v`, so a long wait is not silent.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hasdata_jobs::Progress;

use crate::commands::{credits_of, rows_of};
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

    /// Runs `print` with the live lines taken off the terminal and drawn again after, so a
    /// line printed on stdout or stderr while jobs are in progress never lands inside one.
    pub fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        match &self.bars {
            Some(bars) => bars.suspend(print),
            None => print(),
        }
    }

    /// A line for one job.
    pub fn job(&self, label: String) -> JobLine {
        let label_for_plain = label.clone();
        let bar = self.bars.as_ref().map(|bars| {
            let bar = bars.add(ProgressBar::new_spinner());
            // `wide_msg` cuts the message to the terminal's width: a line that wrapped would
            // be redrawn as two and scroll the screen on every tick.
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix} {wide_msg}")
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
        JobLine {
            bar,
            plain,
            bars: self.bars.clone(),
            label: label_for_plain,
        }
    }

    /// The progress of a bulk submit: a live count on a terminal, a plain line per submitted
    /// job otherwise.
    pub fn bulk(&self) -> BulkLine {
        let bar = self.bars.as_ref().map(|bars| {
            let bar = bars.add(ProgressBar::new(0));
            bar.set_style(
                ProgressStyle::with_template("{spinner} submitting {pos}/{len} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        BulkLine {
            bar,
            plain: self.plain.is_some(),
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
        }
    }
}

/// A bulk submit's progress.
pub struct BulkLine {
    bar: Option<ProgressBar>,
    plain: bool,
    total: AtomicU64,
    done: AtomicU64,
}

impl BulkLine {
    /// The number of lines to send.
    pub fn start(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.set_length(total);
        }
    }

    /// Line `number` became job `id`.
    pub fn submitted(&self, number: u64, id: &str) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let total = self.total.load(Ordering::Relaxed);
        if self.plain {
            crate::context::err_line(&format!(
                "submitted {done}/{total}: line {number} is job {id}"
            ));
        }
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            bar.set_message(format!("· line {number} is job {id}"));
        }
    }

    /// Line `number` failed (said on stdout already).
    pub fn failed(&self, number: u64) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            bar.set_message(format!("· line {number} failed"));
        }
    }

    /// Removes the live line before the summary is printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
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
    /// The lines this one is drawn among, to print its last state above them.
    bars: Option<MultiProgress>,
    label: String,
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
                    rows_of(job),
                    credits_of(job),
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
                rows_of(job),
                credits_of(job),
                progress.elapsed.as_secs()
            ));
        }
    }

    pub fn message(&self, text: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(text);
        }
    }

    /// Ends the live line: it is cleared and its last state printed as a whole line, ending
    /// in a newline, above any other live lines, so whatever is printed next (a summary on
    /// stdout) starts on a line of its own. (indicatif's own `println` leaves the last line
    /// of its block without a newline once no live line is left under it.)
    pub fn finish(&self, text: String) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            let line = format!("{}: {text}", self.label);
            match &self.bars {
                Some(bars) => bars.suspend(|| crate::context::err_line(&line)),
                None => crate::context::err_line(&line),
            }
        }
    }
}
