//! The progress display: one line per job on stderr, only on a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use hasdata_jobs::Progress;

use crate::commands::count;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress lines, or nothing when progress is off.
#[derive(Clone)]
pub struct Display {
    bars: Option<MultiProgress>,
}

impl Display {
    /// On only when asked for and stderr is a terminal.
    pub fn new(wanted: bool) -> Self {
        let on = wanted && std::io::stderr().is_terminal();
        Display {
            bars: on.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
        }
    }

    /// A line for one job.
    pub fn job(&self, label: String) -> JobLine {
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
        JobLine { bar }
    }
}

/// The line of one job.
pub struct JobLine {
    bar: Option<ProgressBar>,
}

impl JobLine {
    pub fn update(&self, progress: &Progress) {
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
