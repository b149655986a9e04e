//! Writing rows: JSON lines, one JSON array, or CSV, to stdout or a file, in constant memory.
//!
//! A regular file is written to a temporary file beside it, `.NAME.hasdata-tmp.PID`, and renamed
//! into place only when complete, so a reader never sees half a file and a failed export leaves
//! the old file alone. The temporary name carries the writer's pid: one left by a process that
//! no longer runs (a kill -9) is swept on the next write to that directory. A target that is not
//! a regular file (a device, a FIFO, a symlink to one, `-` for stdout) is written straight
//! through: renaming over it would replace it. A symlink to a regular file is followed, so the
//! link stays and its file is replaced. An export that cannot be completed is kept as
//! `NAME.partial`, never under the final name. Errors name the target, never the temporary file.
//!
//! CSV needs its columns before its first row, so rows are first spooled to an unnamed temporary
//! file (gone with the process, whatever kills it) while their keys are collected.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::args::Format;

/// The marker in temporary file names: `.NAME.hasdata-tmp.PID`.
const TEMP_MARK: &str = ".hasdata-tmp.";

/// Where the bytes go.
enum Sink {
    Stdout(BufWriter<io::Stdout>),
    /// A device, FIFO or other non-regular file, written in place.
    Through {
        file: BufWriter<File>,
        shown: String,
    },
    /// A regular file, through a temporary file beside it.
    Temp {
        file: BufWriter<File>,
        temp: PathBuf,
        target: PathBuf,
        shown: String,
    },
}

impl Sink {
    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Sink::Stdout(out) => out,
            Sink::Through { file, .. } | Sink::Temp { file, .. } => file,
        }
    }

    /// What errors and messages call the output.
    fn shown(&self) -> &str {
        match self {
            Sink::Stdout(_) => "stdout",
            Sink::Through { shown, .. } | Sink::Temp { shown, .. } => shown,
        }
    }
}

/// An error that names the target; a closed stdout keeps its kind (`BrokenPipe`).
fn naming(shown: &str, error: io::Error) -> io::Error {
    if shown == "stdout" {
        return error;
    }
    io::Error::new(error.kind(), format!("cannot write {shown}: {error}"))
}

/// Whether process `pid` still runs. Without `/proc` nothing is known, so it counts as running.
fn alive(pid: u32) -> bool {
    if !Path::new("/proc/self").exists() {
        return true;
    }
    Path::new("/proc").join(pid.to_string()).exists()
}

/// The pid in a temporary file's name, if it is one of ours.
fn temp_pid(name: &str) -> Option<u32> {
    let (_, pid) = name.strip_prefix('.')?.rsplit_once(TEMP_MARK)?;
    pid.parse().ok()
}

/// Removes temporary files in `dir` left by processes that no longer run. Best effort.
pub fn sweep(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let me = std::process::id();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temp_pid) else {
            continue;
        };
        if pid != me && !alive(pid) && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// The temporary file for `target` (`.NAME.hasdata-tmp.PID` beside it).
pub fn temp_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    target.with_file_name(format!(".{name}{TEMP_MARK}{}", std::process::id()))
}

/// `NAME.partial` beside `target`.
pub fn partial_path(target: &Path) -> PathBuf {
    let mut name = target
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "out".into());
    name.push(".partial");
    target.with_file_name(name)
}

fn open_sink(out: Option<&Path>) -> io::Result<Sink> {
    let Some(given) = out.filter(|p| p.as_os_str() != "-") else {
        return Ok(Sink::Stdout(BufWriter::new(io::stdout())));
    };
    let shown = given.display().to_string();
    let fail = |e| naming(&shown, e);
    match std::fs::metadata(given) {
        Ok(meta) if !meta.is_file() => {
            let file = OpenOptions::new().write(true).open(given).map_err(fail)?;
            return Ok(Sink::Through {
                file: BufWriter::new(file),
                shown,
            });
        }
        _ => {}
    }
    // A symlink to a regular file: write beside the file it points to and keep the link.
    let target = match std::fs::symlink_metadata(given) {
        Ok(meta) if meta.file_type().is_symlink() => {
            std::fs::canonicalize(given).unwrap_or_else(|_| given.to_path_buf())
        }
        _ => given.to_path_buf(),
    };
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(fail)?;
    sweep(&dir);
    let temp = temp_path(&target);
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o644);
    }
    let file = options.open(&temp).map_err(fail)?;
    Ok(Sink::Temp {
        file: BufWriter::new(file),
        temp,
        target,
        shown,
    })
}

/// Writes rows in one format.
pub struct RowWriter {
    format: Format,
    sink: Option<Sink>,
    rows: u64,
    /// CSV: the spool and the columns seen so far.
    spool: Option<(BufWriter<File>, BTreeSet<String>)>,
    declared_columns: Vec<String>,
}

/// How an export that could not be completed was left.
pub enum Kept {
    /// The rows written are in this file (`NAME.partial`).
    Partial(PathBuf),
    /// They went to stdout or a non-regular file, and stay there.
    Through(String),
    /// Nothing was kept.
    Nothing,
}

impl RowWriter {
    /// A writer to `out` (a file, or `-` / `None` for stdout). `declared_columns` come first in
    /// a CSV header (the row schema's properties), then any other key the rows carry.
    pub fn create(
        format: Format,
        out: Option<&Path>,
        declared_columns: Vec<String>,
    ) -> io::Result<RowWriter> {
        let sink = open_sink(out)?;
        let spool = match format {
            Format::Csv => Some((
                BufWriter::new(tempfile::tempfile().map_err(|e| naming(sink.shown(), e))?),
                BTreeSet::new(),
            )),
            _ => None,
        };
        Ok(RowWriter {
            format,
            sink: Some(sink),
            rows: 0,
            spool,
            declared_columns,
        })
    }

    fn shown(&self) -> String {
        self.sink
            .as_ref()
            .map_or_else(|| "output".into(), |s| s.shown().to_owned())
    }

    /// Writes one row, exactly as the API sent it.
    pub fn write(&mut self, row: &Value) -> io::Result<()> {
        self.write_row(row).map_err(|e| naming(&self.shown(), e))
    }

    fn write_row(&mut self, row: &Value) -> io::Result<()> {
        let Some(sink) = self.sink.as_mut() else {
            return Err(io::Error::other("the writer is closed"));
        };
        let out = sink.writer();
        match self.format {
            Format::Jsonl => {
                serde_json::to_writer(&mut *out, row)?;
                out.write_all(b"\n")?;
            }
            Format::Json => {
                out.write_all(if self.rows == 0 { b"[\n" } else { b",\n" })?;
                serde_json::to_writer(&mut *out, row)?;
            }
            Format::Csv => {
                if let Some((spool, columns)) = &mut self.spool {
                    if let Value::Object(fields) = row {
                        for key in fields.keys() {
                            if !columns.contains(key) {
                                columns.insert(key.clone());
                            }
                        }
                    }
                    serde_json::to_writer(&mut *spool, row)?;
                    spool.write_all(b"\n")?;
                }
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Closes the JSON array or writes the CSV, and flushes.
    fn close_format(&mut self) -> io::Result<()> {
        match self.format {
            Format::Json => {
                let end: &[u8] = if self.rows == 0 { b"[]\n" } else { b"\n]\n" };
                if let Some(sink) = self.sink.as_mut() {
                    sink.writer().write_all(end)?;
                }
            }
            Format::Csv => self.write_csv()?,
            Format::Jsonl => {}
        }
        if let Some(sink) = self.sink.as_mut() {
            sink.writer().flush()?;
        }
        Ok(())
    }

    /// Completes the output and moves a file into place under `to` (its target, or the partial
    /// name). Returns what the output is called.
    fn complete(&mut self, partial: bool) -> io::Result<Kept> {
        self.close_format()?;
        match self.sink.take() {
            None => Ok(Kept::Nothing),
            Some(Sink::Stdout(_)) => Ok(Kept::Through("stdout".into())),
            Some(Sink::Through { shown, .. }) => Ok(Kept::Through(shown)),
            Some(Sink::Temp {
                file,
                temp,
                target,
                shown,
            }) => {
                let fail = |e| naming(&shown, e);
                let file = file.into_inner().map_err(|e| fail(e.into_error()))?;
                file.sync_all().map_err(fail)?;
                drop(file);
                let to = if partial {
                    partial_path(&target)
                } else {
                    target
                };
                if let Err(e) = std::fs::rename(&temp, &to) {
                    let _ = std::fs::remove_file(&temp);
                    return Err(fail(e));
                }
                Ok(Kept::Partial(to))
            }
        }
    }

    /// Completes the output: closes the JSON array, writes the CSV, renames the file into
    /// place. Returns where the rows went.
    pub fn finish(mut self) -> io::Result<String> {
        let shown = self.shown();
        match self.complete(false).map_err(|e| naming(&shown, e))? {
            Kept::Partial(_) => Ok(shown),
            Kept::Through(shown) => Ok(shown),
            Kept::Nothing => Ok(shown),
        }
    }

    /// Keeps what was written as `NAME.partial` (a file target), never under the final name.
    pub fn keep_partial(mut self) -> Kept {
        match self.complete(true) {
            Ok(kept) => kept,
            Err(error) => {
                tracing::warn!(error = %error, "could not keep the partial output");
                Kept::Nothing
            }
        }
    }

    fn write_csv(&mut self) -> io::Result<()> {
        let Some((spool, seen)) = self.spool.take() else {
            return Ok(());
        };
        let Some(sink) = self.sink.as_mut() else {
            return Ok(());
        };
        let mut columns = self.declared_columns.clone();
        columns.extend(
            seen.into_iter()
                .filter(|c| !self.declared_columns.contains(c)),
        );
        let mut file = spool.into_inner().map_err(|e| e.into_error())?;
        file.rewind()?;
        let mut csv = csv::Writer::from_writer(sink.writer());
        csv.write_record(&columns)?;
        for line in BufReader::new(file).lines() {
            let row: Value = serde_json::from_str(&line?)?;
            let cells = columns.iter().map(|column| match row.get(column) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(text)) => text.clone(),
                Some(other) => other.to_string(),
            });
            csv.write_record(cells)?;
        }
        csv.flush()?;
        Ok(())
    }
}

impl Drop for RowWriter {
    /// An export dropped before it completed (an error, a signal) leaves no temporary file.
    fn drop(&mut self) {
        if let Some(Sink::Temp { temp, .. }) = self.sink.take() {
            let _ = std::fs::remove_file(temp);
        }
    }
}

/// The property names of a scraper's row schema, for CSV headers.
pub fn schema_columns(kind: hasdata_model::ScraperKind) -> Vec<String> {
    kind.row_schema()
        .to_value()
        .get("properties")
        .and_then(Value::as_object)
        .map(|properties| properties.keys().cloned().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn temp_names_carry_the_pid_and_are_recognised() {
        let temp = temp_path(Path::new("/x/rows.jsonl"));
        let name = temp.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(name.starts_with(".rows.jsonl.hasdata-tmp."), "{name}");
        assert_eq!(temp_pid(&name), Some(std::process::id()));
        assert_eq!(temp_pid("rows.jsonl"), None);
        assert_eq!(temp_pid(".rows.jsonl.hasdata-tmp.x"), None);
        assert_eq!(
            partial_path(Path::new("/x/rows.jsonl")),
            Path::new("/x/rows.jsonl.partial")
        );
    }

    #[test]
    fn stale_temp_files_are_swept_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        // Pid 0 never names a user process: a kill -9'd writer's leftover.
        let stale = dir.path().join(".a.jsonl.hasdata-tmp.0");
        let mine = temp_path(&dir.path().join("b.jsonl"));
        let other = dir.path().join(".c.jsonl.tmp123");
        for path in [&stale, &mine, &other] {
            std::fs::write(path, "x").unwrap();
        }
        if Path::new("/proc/self").exists() {
            assert_eq!(sweep(dir.path()), 1);
            assert!(!stale.exists());
        }
        assert!(mine.exists() && other.exists());
    }

    #[test]
    fn a_dropped_writer_leaves_nothing_and_a_partial_keeps_its_own_name() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("rows.json");
        std::fs::write(&target, "old").unwrap();
        let mut writer = RowWriter::create(Format::Json, Some(&target), vec![]).unwrap();
        writer.write(&serde_json::json!({"a": 1})).unwrap();
        drop(writer);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "only the old file");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");

        let mut writer = RowWriter::create(Format::Json, Some(&target), vec![]).unwrap();
        writer.write(&serde_json::json!({"a": 1})).unwrap();
        let Kept::Partial(kept) = writer.keep_partial() else {
            panic!("a file target keeps a partial file");
        };
        assert_eq!(kept, partial_path(&target));
        let partial: Value = serde_json::from_str(&std::fs::read_to_string(kept).unwrap()).unwrap();
        assert_eq!(partial, serde_json::json!([{"a": 1}]));
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_stays_a_symlink_and_a_device_is_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.jsonl");
        std::fs::write(&real, "").unwrap();
        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let mut writer = RowWriter::create(Format::Jsonl, Some(&link), vec![]).unwrap();
        writer.write(&serde_json::json!(1)).unwrap();
        writer.finish().unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "1\n");

        let null = Path::new("/dev/null");
        if null.exists() {
            let mut writer = RowWriter::create(Format::Jsonl, Some(null), vec![]).unwrap();
            writer.write(&serde_json::json!(1)).unwrap();
            assert_eq!(writer.finish().unwrap(), "/dev/null");
            assert!(!std::fs::metadata(null).unwrap().is_file());
        }
    }
}
