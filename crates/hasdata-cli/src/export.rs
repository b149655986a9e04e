//! Writing rows: JSON lines, one JSON array, or CSV, to stdout or atomically to a file, in
//! constant memory.
//!
//! A file is written to a temporary file beside it and renamed into place when complete, so a
//! reader never sees half a file and an interrupted export leaves the old file alone. CSV needs
//! its columns before its first row, so rows are first spooled to a temporary JSONL file while
//! their keys are collected; memory stays flat either way.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;
use tempfile::NamedTempFile;

use crate::args::Format;

enum Sink {
    Stdout(BufWriter<io::Stdout>),
    File {
        temp: BufWriter<NamedTempFile>,
        target: PathBuf,
    },
}

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Stdout(out) => out.write(bytes),
            Sink::File { temp, .. } => temp.write(bytes),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Stdout(out) => out.flush(),
            Sink::File { temp, .. } => temp.flush(),
        }
    }
}

/// Writes rows in one format.
pub struct RowWriter {
    format: Format,
    sink: Sink,
    rows: u64,
    /// CSV: the spool and the columns seen so far.
    spool: Option<(BufWriter<File>, BTreeSet<String>)>,
    declared_columns: Vec<String>,
}

impl RowWriter {
    /// A writer to `out` (a file, written atomically) or stdout. `declared_columns` come first
    /// in a CSV header (the row schema's properties), then any other key the rows carry.
    pub fn create(
        format: Format,
        out: Option<&Path>,
        declared_columns: Vec<String>,
    ) -> io::Result<RowWriter> {
        let sink = match out {
            Some(target) => {
                let dir = match target.parent() {
                    Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                std::fs::create_dir_all(&dir)?;
                Sink::File {
                    temp: BufWriter::new(NamedTempFile::new_in(&dir)?),
                    target: target.to_path_buf(),
                }
            }
            None => Sink::Stdout(BufWriter::new(io::stdout())),
        };
        let spool = match format {
            Format::Csv => Some((BufWriter::new(tempfile::tempfile()?), BTreeSet::new())),
            _ => None,
        };
        Ok(RowWriter {
            format,
            sink,
            rows: 0,
            spool,
            declared_columns,
        })
    }

    /// Writes one row, exactly as the API sent it.
    pub fn write(&mut self, row: &Value) -> io::Result<()> {
        match self.format {
            Format::Jsonl => {
                serde_json::to_writer(&mut self.sink, row)?;
                self.sink.write_all(b"\n")?;
            }
            Format::Json => {
                self.sink
                    .write_all(if self.rows == 0 { b"[\n" } else { b",\n" })?;
                serde_json::to_writer(&mut self.sink, row)?;
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

    /// Completes the output: closes the JSON array, writes the CSV, renames the file into
    /// place. Returns where the rows went.
    pub fn finish(mut self) -> io::Result<String> {
        match self.format {
            Format::Json => self
                .sink
                .write_all(if self.rows == 0 { b"[]\n" } else { b"\n]\n" })?,
            Format::Csv => self.write_csv()?,
            Format::Jsonl => {}
        }
        match self.sink {
            Sink::Stdout(mut out) => {
                out.flush()?;
                Ok("stdout".into())
            }
            Sink::File { temp, target } => {
                let temp = temp.into_inner().map_err(|e| e.into_error())?;
                temp.as_file().sync_all()?;
                // A temporary file is private (0600); the export is an ordinary file.
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    temp.as_file()
                        .set_permissions(std::fs::Permissions::from_mode(0o644))?;
                }
                temp.persist(&target).map_err(|e| e.error)?;
                Ok(target.display().to_string())
            }
        }
    }

    fn write_csv(&mut self) -> io::Result<()> {
        let Some((spool, seen)) = self.spool.take() else {
            return Ok(());
        };
        let mut columns = self.declared_columns.clone();
        columns.extend(
            seen.into_iter()
                .filter(|c| !self.declared_columns.contains(c)),
        );
        let mut file = spool.into_inner().map_err(|e| e.into_error())?;
        file.rewind()?;
        let mut csv = csv::Writer::from_writer(&mut self.sink);
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

/// The property names of a scraper's row schema, for CSV headers.
pub fn schema_columns(kind: hasdata_model::ScraperKind) -> Vec<String> {
    kind.row_schema()
        .to_value()
        .get("properties")
        .and_then(Value::as_object)
        .map(|properties| properties.keys().cloned().collect())
        .unwrap_or_default()
}
