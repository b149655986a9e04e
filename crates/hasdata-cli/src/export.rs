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
//! file (gone with the process, whatever kills it) while their keys are collected. Each row is
//! read once, as it arrives, in one pass that finds its fields and checks it
//! ([`hasdata_jobs::RowFields`]; nothing is decoded): what is spooled is its cells, ready to
//! write, each tagged with its column's number, so writing the CSV at the end reads no JSON
//! ([`Spool`]).
//!
//! Rows arrive as the bytes the API sent ([`hasdata_jobs::RowJson`]): JSON lines and JSON
//! copy them unchanged (key order and number text kept), CSV reads only keys and cells.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, IoSlice, Read, Seek, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use hasdata_jobs::RowFields;
use serde_json::Value;

use crate::args::Format;

/// Output buffers: large enough that writes are few, small enough not to matter in memory.
const WRITE_BUFFER: usize = 1 << 20;

/// JSON-lines batches held back until one vectored write: enough that writes are few (a
/// dozen results pages each), small enough to keep the peak memory flat.
const HELD_BATCHES: usize = 256 << 10;

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

    /// Writes `chunks` in order, straight to the output (after anything buffered), with
    /// vectored writes: the chunks are not copied into the buffer first.
    fn write_chunks(&mut self, chunks: &[Bytes]) -> io::Result<()> {
        match self {
            Sink::Stdout(out) => write_all_vectored(out, chunks),
            Sink::Through { file, .. } | Sink::Temp { file, .. } => {
                write_all_vectored(file, chunks)
            }
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

/// Flushes `out`, then writes every chunk to what it wraps, in as few writes as the system
/// takes.
fn write_all_vectored<W: Write>(out: &mut BufWriter<W>, chunks: &[Bytes]) -> io::Result<()> {
    out.flush()?;
    let out = out.get_mut();
    let mut slices: Vec<IoSlice<'_>> = chunks.iter().map(|chunk| IoSlice::new(chunk)).collect();
    let mut slices = &mut slices[..];
    while !slices.is_empty() {
        match out.write_vectored(slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => IoSlice::advance_slices(&mut slices, written),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// An error that names the target; a closed stdout keeps its kind (`BrokenPipe`) and its text,
/// and a row that cannot be written in the format (`InvalidData`) is the row's fault, not the
/// target's, as a full spool ([`spooling`]) is the temporary directory's: neither is called a
/// failure to write the target.
fn naming(shown: &str, error: io::Error) -> io::Error {
    if (shown == "stdout" && error.kind() == io::ErrorKind::BrokenPipe)
        || error.kind() == io::ErrorKind::InvalidData
        || error.get_ref().is_some_and(|inner| inner.is::<Spooling>())
    {
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

/// Whether stdout was closed when the program started (`hasdata results ID >&-`). Rust's
/// runtime opens the null device, read and write, on a standard descriptor it finds closed,
/// so rows written to stdout would vanish and the export would end well, every row lost. A
/// shell's `> /dev/null` opens it write-only: that one is taken at its word. Read from
/// Linux's `/proc/self/fdinfo`; elsewhere, never.
pub fn stdout_was_closed() -> bool {
    let Ok(target) = std::fs::read_link("/proc/self/fd/1") else {
        return false;
    };
    if target != Path::new("/dev/null") {
        return false;
    }
    let Ok(info) = std::fs::read_to_string("/proc/self/fdinfo/1") else {
        return false;
    };
    // `flags:` in octal; the access mode is its low two bits, 2 being read-write.
    info.lines()
        .find_map(|line| line.strip_prefix("flags:"))
        .and_then(|flags| u32::from_str_radix(flags.trim(), 8).ok())
        .is_some_and(|flags| flags & 0o3 == 0o2)
}

fn open_sink(out: Option<&Path>) -> io::Result<Sink> {
    let Some(given) = out.filter(|p| p.as_os_str() != "-") else {
        return Ok(Sink::Stdout(BufWriter::with_capacity(
            WRITE_BUFFER,
            io::stdout(),
        )));
    };
    let shown = given.display().to_string();
    let fail = |e| naming(&shown, e);
    match std::fs::metadata(given) {
        Ok(meta) if !meta.is_file() => {
            let file = OpenOptions::new().write(true).open(given).map_err(fail)?;
            return Ok(Sink::Through {
                file: BufWriter::with_capacity(WRITE_BUFFER, file),
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
    // A file where a directory should be makes create_dir_all say "File exists" (or "Not a
    // directory"), which names neither: say which path is in the way.
    if let Some(blocker) = dir.ancestors().find(|d| d.is_file()) {
        return Err(fail(io::Error::new(
            io::ErrorKind::NotADirectory,
            format!("{} is a file, not a directory", blocker.display()),
        )));
    }
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
        file: BufWriter::with_capacity(WRITE_BUFFER, file),
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
    /// CSV: the rows' cells so far.
    spool: Option<Spool>,
    /// JSON lines: whole batches not written yet, written together once they add up to
    /// [`HELD_BATCHES`] bytes (one vectored write; a batch is never copied into a buffer).
    pending: Vec<Bytes>,
    pending_bytes: usize,
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
            Format::Csv => Some(Spool::new()?),
            _ => None,
        };
        Ok(RowWriter {
            format,
            sink: Some(sink),
            rows: 0,
            spool,
            pending: Vec::new(),
            pending_bytes: 0,
            declared_columns,
        })
    }

    fn shown(&self) -> String {
        self.sink
            .as_ref()
            .map_or_else(|| "output".into(), |s| s.shown().to_owned())
    }

    /// Writes one row: `row` is one JSON value's text (a [`hasdata_jobs::RowJson`]), written
    /// exactly as it is.
    pub fn write(&mut self, row: &[u8]) -> io::Result<()> {
        self.write_row(row).map_err(|e| naming(&self.shown(), e))
    }

    /// Writes a batch of rows: in JSON lines the batch's buffer, whole (held back until about
    /// [`HELD_BATCHES`] bytes of batches can go in one vectored write), with no step per row;
    /// in the other formats row by row.
    pub fn write_batch(&mut self, batch: hasdata_jobs::RowBatch) -> io::Result<()> {
        if self.format == Format::Csv {
            // The batch's rows were checked as they were read: CSV only walks their fields.
            for row in batch.iter() {
                if let Some(spool) = &mut self.spool {
                    spool
                        .row(row, true, self.rows + 1)
                        .map_err(|e| naming(&self.shown(), e))?;
                }
                self.rows += 1;
            }
            return Ok(());
        }
        if self.format != Format::Jsonl {
            return batch.iter().try_for_each(|row| self.write(row));
        }
        let rows = batch.len() as u64;
        self.queue_lines(rows, batch.into_jsonl())
            .map_err(|e| naming(&self.shown(), e))
    }

    /// Holds back `lines` (`rows` JSON lines), writing what is held once it is large.
    fn queue_lines(&mut self, rows: u64, lines: Bytes) -> io::Result<()> {
        if self.sink.is_none() {
            return Err(io::Error::other("the writer is closed"));
        }
        self.rows += rows;
        if !lines.is_empty() {
            self.pending_bytes += lines.len();
            self.pending.push(lines);
        }
        if self.pending_bytes >= HELD_BATCHES {
            self.write_pending()?;
        }
        Ok(())
    }

    /// Writes the batches held back.
    fn write_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let Some(sink) = self.sink.as_mut() else {
            return Err(io::Error::other("the writer is closed"));
        };
        sink.write_chunks(&self.pending)?;
        self.pending.clear();
        self.pending_bytes = 0;
        Ok(())
    }

    fn write_row(&mut self, row: &[u8]) -> io::Result<()> {
        // A row written on its own comes after any batch held back.
        self.write_pending()?;
        let Some(sink) = self.sink.as_mut() else {
            return Err(io::Error::other("the writer is closed"));
        };
        let out = sink.writer();
        match self.format {
            Format::Jsonl => {
                out.write_all(row)?;
                out.write_all(b"\n")?;
            }
            Format::Json => {
                out.write_all(if self.rows == 0 { b"[\n" } else { b",\n" })?;
                out.write_all(row)?;
            }
            Format::Csv => {
                if let Some(spool) = &mut self.spool {
                    spool.row(row, false, self.rows + 1)?;
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
        self.write_pending()?;
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
        let Some(spool) = self.spool.take() else {
            return Ok(());
        };
        if spool.replaced > 0 {
            tracing::warn!(
                output = %self.shown(),
                count = spool.replaced,
                "half a UTF-16 surrogate pair escaped alone (such as \\ud800) has no UTF-8 form: written as U+FFFD in the CSV; --format jsonl keeps the rows as sent"
            );
        }
        let Some(sink) = self.sink.as_mut() else {
            return Ok(());
        };
        spool.write_csv(&self.declared_columns, self.rows, sink.writer())
    }
}

/// A CSV cell from a value's JSON text: empty for `null`, a string's contents (unescaped, see
/// [`unescape`]), any other value's JSON text as the API sent it.
fn cell<'a>(text: &'a [u8], replaced: &mut u64) -> io::Result<Cow<'a, [u8]>> {
    Ok(match text {
        b"null" => Cow::Borrowed(b""),
        [b'"', inner @ .., b'"'] => {
            if inner.contains(&b'\\') {
                Cow::Owned(unescape(text, inner, replaced)?)
            } else {
                Cow::Borrowed(inner)
            }
        }
        text => Cow::Borrowed(text),
    })
}

/// A JSON string's text unescaped: `quoted` is the string with its quotes, `inner` without.
///
/// An escape of half a UTF-16 surrogate pair with no other half (`"\ud800"`) is valid JSON
/// (RFC 8259 allows it) but has no UTF-8 form; scraped text has them where a page's text was
/// cut inside an emoji. Such a half becomes U+FFFD, as a browser's text encoder writes it, and
/// is counted in `replaced` (said once on stderr); JSON lines keep it as sent. It ended the
/// whole CSV export instead, misnamed as a write error ("cannot write FILE: unexpected end of
/// hex escape").
fn unescape(quoted: &[u8], inner: &[u8], replaced: &mut u64) -> io::Result<Vec<u8>> {
    // The common case, every escape well formed, is serde_json's.
    if let Ok(text) = serde_json::from_slice::<String>(quoted) {
        return Ok(text.into_bytes());
    }
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "a bad escape in a JSON string");
    let hex = |at: usize| -> Option<u32> {
        let digits = std::str::from_utf8(inner.get(at..at + 4)?).ok()?;
        u32::from_str_radix(digits, 16).ok()
    };
    let mut out = Vec::with_capacity(inner.len());
    let mut at = 0;
    while let Some(&byte) = inner.get(at) {
        if byte != b'\\' {
            out.push(byte);
            at += 1;
            continue;
        }
        let escape = *inner.get(at + 1).ok_or_else(bad)?;
        at += 2;
        let simple = match escape {
            b'"' | b'\\' | b'/' => escape,
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let unit = hex(at).ok_or_else(bad)?;
                at += 4;
                let low = (inner.get(at..at + 2) == Some(b"\\u"))
                    .then(|| hex(at + 2))
                    .flatten()
                    .filter(|low| (0xDC00..=0xDFFF).contains(low));
                let decoded = match (unit, low) {
                    (0xD800..=0xDBFF, Some(low)) => {
                        at += 6;
                        char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                    }
                    (unit, _) => char::from_u32(unit),
                };
                let decoded = decoded.unwrap_or_else(|| {
                    *replaced += 1;
                    char::REPLACEMENT_CHARACTER
                });
                out.extend_from_slice(decoded.encode_utf8(&mut [0; 4]).as_bytes());
                continue;
            }
            _ => return Err(bad()),
        };
        out.push(simple);
    }
    Ok(out)
}

/// The column number of `key` (its text between the quotes, escapes as sent), numbering it if
/// it is new. A key with escapes is its unescaped text, so `"k\u0065y"` is column `key`.
fn number_of(
    numbers: &mut HashMap<String, u32>,
    keys: &mut Vec<String>,
    key: &[u8],
    replaced: &mut u64,
) -> io::Result<u32> {
    let key: Cow<'_, str> = if key.contains(&b'\\') {
        let mut quoted = Vec::with_capacity(key.len() + 2);
        quoted.push(b'"');
        quoted.extend_from_slice(key);
        quoted.push(b'"');
        let text = unescape(&quoted, key, replaced)?;
        Cow::Owned(String::from_utf8(text).map_err(io::Error::other)?)
    } else {
        Cow::Borrowed(std::str::from_utf8(key).map_err(io::Error::other)?)
    };
    if let Some(&number) = numbers.get(key.as_ref()) {
        return Ok(number);
    }
    let number = u32::try_from(keys.len()).map_err(|_| too_long())?;
    numbers.insert(key.clone().into_owned(), number);
    keys.push(key.into_owned());
    Ok(number)
}

/// CSV rows before their columns are all known: each row's cells, spooled to an unnamed
/// temporary file as `[row length][column number, cell length, cell bytes]...` (lengths and
/// numbers as little-endian `u32`), and the columns by first appearance.
struct Spool {
    file: BufWriter<File>,
    /// Each key seen, with its column number (its place in `keys`).
    numbers: HashMap<String, u32>,
    keys: Vec<String>,
    /// The row being encoded (reused).
    record: Vec<u8>,
    /// Finds each row's fields, checking the row in the same pass.
    fields: RowFields,
    /// The previous row's column numbers, in its order: rows mostly share their keys' order,
    /// so a key is looked for there first (one comparison) before it is hashed.
    previous: Vec<u32>,
    current: Vec<u32>,
    /// Unpaired surrogate escapes written as U+FFFD (see [`unescape`]).
    replaced: u64,
}

impl Spool {
    fn new() -> io::Result<Spool> {
        Ok(Spool {
            file: BufWriter::with_capacity(WRITE_BUFFER, tempfile::tempfile().map_err(spooling)?),
            numbers: HashMap::new(),
            keys: Vec::new(),
            record: Vec::new(),
            fields: RowFields::new(),
            previous: Vec::new(),
            current: Vec::new(),
            replaced: 0,
        })
    }

    /// Reads one row's fields (one pass, no decoding) and spools its cells. A `checked` row (a
    /// [`hasdata_jobs::RowBatch`]'s) is not checked again: its fields are only walked.
    ///
    /// A row that is not an object (nor `null`, a line of empty cells) is refused (`number` is
    /// its place, from 1): it has no keys to be columns, so its value would be lost in a line
    /// of empty cells, and a CSV that exits 0 must hold every row. It was such a line, with
    /// exit 0. JSON lines write it as sent.
    fn row(&mut self, row: &[u8], checked: bool, number: u64) -> io::Result<()> {
        self.record.clear();
        self.current.clear();
        let fields = if checked {
            self.fields.read_checked(row)
        } else {
            self.fields
                .read(row)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?
        };
        // `null` is all empty cells, as a `null` value is an empty cell: nothing is lost.
        let start = row.trim_ascii_start();
        if start.first() != Some(&b'{') && !start.starts_with(b"null") {
            return Err(not_an_object(row, number));
        }
        for (i, (key, value)) in fields.iter().enumerate() {
            let key = &row[key.clone()];
            let number = match self.previous.get(i) {
                Some(&number) if self.keys[number as usize].as_bytes() == key => number,
                _ => number_of(&mut self.numbers, &mut self.keys, key, &mut self.replaced)?,
            };
            self.current.push(number);
            let text = cell(&row[value.clone()], &mut self.replaced)?;
            let length = u32::try_from(text.len()).map_err(|_| too_long())?;
            self.record.extend_from_slice(&number.to_le_bytes());
            self.record.extend_from_slice(&length.to_le_bytes());
            self.record.extend_from_slice(&text);
        }
        std::mem::swap(&mut self.previous, &mut self.current);
        let length = u32::try_from(self.record.len()).map_err(|_| too_long())?;
        self.file
            .write_all(&length.to_le_bytes())
            .and_then(|()| self.file.write_all(&self.record))
            .map_err(spooling)?;
        Ok(())
    }

    /// Writes the CSV: `declared` columns first, then every other key in name order, then
    /// each spooled row's cells in those places.
    fn write_csv(self, declared: &[String], rows: u64, out: &mut dyn Write) -> io::Result<()> {
        let Spool {
            file,
            numbers,
            keys,
            ..
        } = self;
        let mut others: Vec<&String> = keys.iter().filter(|k| !declared.contains(k)).collect();
        others.sort();
        let columns: Vec<&String> = declared.iter().chain(others).collect();
        // Where each column number goes in the record.
        let mut place = vec![usize::MAX; keys.len()];
        for (at, column) in columns.iter().enumerate() {
            if let Some(&number) = numbers.get(column.as_str()) {
                place[number as usize] = at;
            }
        }
        // No columns at all (no rows, and a scraper whose row shape is not known): the file
        // is empty. A header of no fields would be written as `""`, a line no reader wants.
        if columns.is_empty() && rows == 0 {
            return Ok(());
        }
        let mut file = file.into_inner().map_err(|e| spooling(e.into_error()))?;
        file.rewind().map_err(spooling)?;
        let mut reader = BufReader::with_capacity(WRITE_BUFFER, file);
        let mut csv = csv::Writer::from_writer(out);
        csv.write_record(&columns).map_err(csv_error)?;
        let mut record = Vec::new();
        let mut cells: Vec<(usize, usize)> = vec![(0, 0); columns.len()];
        let mut word = [0u8; 4];
        loop {
            match reader.read_exact(&mut word) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(spooling(e)),
            }
            record.resize(u32::from_le_bytes(word) as usize, 0);
            reader.read_exact(&mut record).map_err(spooling)?;
            cells.fill((0, 0));
            let mut at = 0;
            while at + 8 <= record.len() {
                let number = read_u32(&record[at..]) as usize;
                let length = read_u32(&record[at + 4..]) as usize;
                at += 8;
                if let Some(&column) = place.get(number) {
                    cells[column] = (at, at + length);
                }
                at += length;
            }
            for &(start, end) in &cells {
                csv.write_field(&record[start..end]).map_err(csv_error)?;
            }
            csv.write_record(None::<&[u8]>).map_err(csv_error)?;
        }
        csv.flush()?;
        Ok(())
    }
}

/// The CSV writer's error as the output's own: a failed write keeps its kind, so a reader that
/// went away (`| head`) is a closed pipe (exit 141, quietly) as in the other formats, not a
/// failure of kind `Other` reading "cannot write stdout: Broken pipe".
fn csv_error(error: csv::Error) -> io::Error {
    if !error.is_io_error() {
        return io::Error::other(error);
    }
    match error.into_kind() {
        csv::ErrorKind::Io(error) => error,
        other => io::Error::other(format!("{other:?}")),
    }
}

fn read_u32(bytes: &[u8]) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[..4]);
    u32::from_le_bytes(word)
}

/// A failure of the CSV's spool: its own words, since the spool is not the target.
#[derive(Debug)]
struct Spooling(String);

impl std::fmt::Display for Spooling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Spooling {}

/// An error of the spool's temporary file, naming the directory it is in. The spool holds
/// every row before the CSV is written, in the system's temporary directory, often a small
/// tmpfs: when that filled, the error read "cannot write rows.csv: No space left on device",
/// sending the user to a disk with room to spare.
fn spooling(error: io::Error) -> io::Error {
    let dir = std::env::temp_dir();
    io::Error::new(
        error.kind(),
        Spooling(format!(
            "cannot spool the rows in {} (the temporary directory, TMPDIR; a CSV's rows are held there until its columns are known): {error}",
            dir.display()
        )),
    )
}

/// Why row `number` (`row`, one JSON value, neither an object nor `null`) cannot be a CSV line.
fn not_an_object(row: &[u8], number: u64) -> io::Error {
    let what = match row.trim_ascii_start().first() {
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        _ => "a number",
    };
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "row {number} is {what}, not a JSON object: a CSV line's cells are an object's values, so it would be lost; --format jsonl writes every row as sent"
        ),
    )
}

fn too_long() -> io::Error {
    io::Error::other("a CSV row or cell is larger than 4 GiB")
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
        writer.write(br#"{"a":1}"#).unwrap();
        drop(writer);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "only the old file");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");

        let mut writer = RowWriter::create(Format::Json, Some(&target), vec![]).unwrap();
        writer.write(br#"{"a":1}"#).unwrap();
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
        writer.write(b"1").unwrap();
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
            writer.write(b"1").unwrap();
            assert_eq!(writer.finish().unwrap(), "/dev/null");
            assert!(!std::fs::metadata(null).unwrap().is_file());
        }
    }

    const ROWS: [&[u8]; 3] = [
        br#"{"z":1.0,"a":12345678901234567890123,"s":"caf\u00e9 \"q\"","m":{"y":1e400}}"#,
        br#"{"a":null,"new":"x,y"}"#,
        br#"{}"#,
    ];

    fn export(format: Format, columns: Vec<String>) -> String {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        let mut writer = RowWriter::create(format, Some(&target), columns).unwrap();
        for row in ROWS {
            writer.write(row).unwrap();
        }
        assert_eq!(writer.rows(), 3);
        writer.finish().unwrap();
        std::fs::read_to_string(&target).unwrap()
    }

    #[test]
    fn batches_of_json_lines_are_written_whole_in_order_with_single_rows_between() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.jsonl");
        let mut writer = RowWriter::create(Format::Jsonl, Some(&target), vec![]).unwrap();
        let mut expected = Vec::new();
        let pad = "x".repeat(100);
        // Enough batches that the held-back ones are written several times over, each write
        // of many chunks at once; a single row in between must come after what was held.
        for batch in 0..400u32 {
            let lines: Vec<u8> = (0..100u32)
                .flat_map(|row| {
                    format!("{{\"b\":{batch},\"r\":{row},\"p\":\"{pad}\"}}\n").into_bytes()
                })
                .collect();
            expected.extend_from_slice(&lines);
            writer.queue_lines(100, Bytes::from(lines)).unwrap();
            if batch % 97 == 0 {
                writer.write(b"\"single\"").unwrap();
                expected.extend_from_slice(b"\"single\"\n");
            }
        }
        writer.queue_lines(0, Bytes::new()).unwrap();
        assert_eq!(writer.rows(), 400 * 100 + 5);
        assert!(expected.len() > 3 * HELD_BATCHES, "several writes");
        writer.finish().unwrap();
        assert!(std::fs::read(&target).unwrap() == expected);
    }

    #[test]
    fn json_lines_and_json_copy_each_rows_bytes() {
        let lines = export(Format::Jsonl, Vec::new());
        let expected: Vec<&str> = ROWS
            .iter()
            .map(|r| std::str::from_utf8(r).unwrap())
            .collect();
        assert_eq!(lines, format!("{}\n", expected.join("\n")));
        let array = export(Format::Json, Vec::new());
        assert_eq!(array, format!("[\n{}\n]\n", expected.join(",\n")));
    }

    #[test]
    fn csv_keys_with_escapes_are_one_column_and_a_repeated_key_keeps_its_last_value() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        let mut writer = RowWriter::create(Format::Csv, Some(&target), vec![]).unwrap();
        writer.write(br#"{"k\u0065y":"a","b":1,"b":2}"#).unwrap();
        writer.write(br#"{"key":"c\n"}"#).unwrap();
        assert!(
            writer.write(br#"{"key":tru}"#).is_err(),
            "a bad row is refused"
        );
        writer.write(b"null").unwrap();
        for (row, what) in [(&br#"[1,2]"#[..], "an array"), (b" 42", "a number")] {
            let refused = writer.write(row).unwrap_err().to_string();
            assert!(
                refused.starts_with(&format!("row 4 is {what}, not a JSON object")),
                "{refused}"
            );
        }
        writer.finish().unwrap();
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            "b,key\n2,a\n,\"c\n\"\n,\n"
        );
    }

    #[test]
    fn csv_takes_cells_as_sent_and_unescapes_strings() {
        let csv = export(Format::Csv, vec!["z".into(), "s".into()]);
        assert_eq!(
            csv,
            concat!(
                "z,s,a,m,new\n",
                "1.0,\"caf\u{e9} \"\"q\"\"\",12345678901234567890123,\"{\"\"y\"\":1e400}\",\n",
                ",,,,\"x,y\"\n",
                ",,,,\n",
            )
        );
    }

    #[test]
    fn unpaired_surrogate_halves_become_the_replacement_character_and_are_counted() {
        let mut replaced = 0;
        for (quoted, expected) in [
            (r#""\ud800\u0041""#, "\u{fffd}A"),
            (r#""\ud800\ud800\udc00x""#, "\u{fffd}\u{10000}x"),
            (
                r#""\udfff\n\t\"\\\/\b\f\r""#,
                "\u{fffd}\n\t\"\\/\u{8}\u{c}\r",
            ),
            (r#""\ud83d""#, "\u{fffd}"),
        ] {
            let bytes = quoted.as_bytes();
            let text = unescape(bytes, &bytes[1..bytes.len() - 1], &mut replaced).unwrap();
            assert_eq!(String::from_utf8(text).unwrap(), expected, "{quoted}");
        }
        assert_eq!(replaced, 4);
        for bad in [r#""\ud8""#, r#""\x""#, r#""\ud800\""#] {
            let bytes = bad.as_bytes();
            assert!(
                unescape(bytes, &bytes[1..bytes.len() - 1], &mut replaced).is_err(),
                "{bad}"
            );
        }
    }
}
