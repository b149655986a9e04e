//! Rows handed on many at a time, as one buffer ready to write.
//!
//! An export writes rows by the million; handing them on one stream item each costs a wake-up,
//! a refcount and a small write per row, more than finding them. A [`RowBatch`] is the rows
//! of one stretch of `data.json` (or one results page) as JSON lines in one buffer: an export
//! to JSON lines writes it with one call, and any other writer walks its rows without copying.

use bytes::Bytes;

use crate::json_array::Lines;
use crate::pool::Pool;
use crate::raw::RowJson;

/// Rows as JSON lines in one buffer: each row's bytes (exactly a [`RowJson`]'s) followed by
/// `\n`. Made by [`Rows::batches`](crate::Rows::batches).
///
/// ```
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
/// #     job_duration: std::time::Duration::ZERO,
/// #     ..Default::default()
/// # }).await?;
/// # let client = hasdata_jobs::Client::builder().api_key(sim.api_key()).base_url(sim.base_url()).build()?;
/// use hasdata_jobs::prelude::*;
/// use hasdata_jobs::RowBatch;
///
/// # let job = client.submit(&GoogleSerpBody::new().keywords(["coffee"]).limit(30)).await?;
/// # job.wait(PollPolicy::fast()).await?;
/// let mut jsonl = Vec::new();
/// let mut batches = job.rows().read_as::<RowJson>().batches();
/// while let Some(batch) = batches.try_next().await? {
///     jsonl.extend_from_slice(batch.jsonl()); // every row and its newline, in one piece
///     for row in batch.iter() {
///         assert!(row.starts_with(b"{"));
///     }
/// }
/// assert_eq!(jsonl.iter().filter(|&&b| b == b'\n').count(), 30);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowBatch {
    /// Every row followed by `\n`.
    lines: Bytes,
    /// Where each row's line ends in `lines` (just after its `\n`).
    ends: Vec<usize>,
}

impl RowBatch {
    /// Lines split from `data.json`.
    pub(crate) fn from_lines(lines: Lines) -> RowBatch {
        RowBatch {
            lines: Bytes::from(lines.bytes),
            ends: lines.ends,
        }
    }

    /// Lines split from `data.json` into a buffer of `pool`'s, which it goes back to once
    /// the batch (and every row taken from it) is dropped.
    pub(crate) fn from_pooled(lines: Lines, pool: &Pool) -> RowBatch {
        RowBatch {
            lines: pool.bytes(lines.bytes),
            ends: lines.ends,
        }
    }

    /// Rows read otherwise, copied into one buffer (a results page's rows are read straight
    /// into [`Lines`]; this builds batches in tests).
    #[cfg(test)]
    pub(crate) fn from_rows<'a>(rows: impl IntoIterator<Item = &'a RowJson>) -> RowBatch {
        let mut lines = Lines::default();
        for row in rows {
            lines.bytes.extend_from_slice(row.as_bytes());
            lines.bytes.push(b'\n');
            lines.ends.push(lines.bytes.len());
        }
        RowBatch::from_lines(lines)
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The rows as JSON lines: each row followed by `\n`, ready to write.
    pub fn jsonl(&self) -> &[u8] {
        &self.lines
    }

    /// The JSON lines, owned: the batch's buffer itself (no copy), for a writer that holds
    /// batches back to write many at once.
    ///
    /// ```
    /// let lines: bytes::Bytes = hasdata_jobs::RowBatch::default().into_jsonl();
    /// assert!(lines.is_empty());
    /// ```
    pub fn into_jsonl(self) -> Bytes {
        self.lines
    }

    /// Row `i`'s bytes (without its newline).
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let (start, end) = self.span(i)?;
        Some(&self.lines[start..end])
    }

    /// Row `i`, sharing the batch's buffer.
    pub fn row(&self, i: usize) -> Option<RowJson> {
        let (start, end) = self.span(i)?;
        Some(RowJson::checked(self.lines.slice(start..end)))
    }

    fn span(&self, i: usize) -> Option<(usize, usize)> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some((start, end - 1))
    }

    /// Every row's bytes, in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// The rows, each sharing the batch's buffer.
    pub fn into_rows(self) -> impl Iterator<Item = RowJson> {
        (0..self.len()).filter_map(move |i| self.row(i))
    }

    /// Drops the first `n` rows (all of them, when there are fewer).
    pub(crate) fn skip(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        if n >= self.len() {
            *self = RowBatch::default();
            return;
        }
        let cut = self.ends[n - 1];
        self.lines = self.lines.slice(cut..);
        self.ends.drain(..n);
        for end in &mut self.ends {
            *end -= cut;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(rows: &[&str]) -> RowBatch {
        let rows: Vec<RowJson> = rows
            .iter()
            .map(|r| RowJson::checked(Bytes::copy_from_slice(r.as_bytes())))
            .collect();
        RowBatch::from_rows(&rows)
    }

    #[test]
    fn rows_lines_and_skipping() {
        let mut rows = batch(&["{\"a\":1}", "2", "\"x\""]);
        assert_eq!(rows.jsonl(), b"{\"a\":1}\n2\n\"x\"\n");
        assert_eq!(rows.len(), 3);
        assert_eq!(rows.get(1), Some(&b"2"[..]));
        assert_eq!(rows.get(3), None);
        assert_eq!(
            rows.row(2).map(RowJson::into_bytes),
            Some(Bytes::from("\"x\""))
        );
        rows.skip(1);
        assert_eq!(rows.iter().collect::<Vec<_>>(), [&b"2"[..], b"\"x\""]);
        assert_eq!(rows.jsonl(), b"2\n\"x\"\n");
        rows.skip(0);
        assert_eq!(rows.len(), 2);
        rows.skip(5);
        assert!(rows.is_empty() && rows.jsonl().is_empty());
        assert_eq!(
            batch(&["1", "2"])
                .into_rows()
                .map(|r| r.into_bytes())
                .collect::<Vec<_>>(),
            [Bytes::from("1"), Bytes::from("2")]
        );
    }
}
