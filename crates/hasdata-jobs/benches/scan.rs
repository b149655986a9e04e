//! Throughput of the JSON value scanner alone (no network): `ArraySplitter` over a `data.json`
//! held in memory, in 256 KiB chunks as a download delivers them.
//!
//! `cargo bench -p hasdata-jobs --bench scan` prints MB/s (best of many passes, CPU-bound,
//! one core; the document is about 1 MB, so it is in cache, as a download's chunk is when it
//! is split) for two shapes of rows: crawler rows (about 187 bytes and 30 tokens each: short
//! strings, small integers, `null`, the shape of the `xtask bench` job) and string-heavy rows
//! (long text with a few escapes), each compact and pretty-printed, and crawler rows of two
//! shapes mixed (every third one failed). Compare before/after on
//! the same machine, not with another machine's figures.
//!
//! A last line reads crawler rows from a document of about 65 MB, too large for the caches:
//! in an export the rows the scanner reads have left the cache since the kernel copied them
//! in (docs/benchmarks.md), so that line, not the in-cache ones, is the rate to expect there.
//! `SCAN_ONLY=crawler-uncached` runs it alone.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use hasdata_jobs::{ArraySplitter, Elements};

const SECTIONS: &[&str] = &[
    "blog", "about", "api", "guides", "docs", "careers", "pricing",
];

/// A crawler row as the simulator writes it.
fn crawler_row(i: usize, out: &mut String) {
    let section = SECTIONS[i % SECTIONS.len()];
    let mut title = section.to_string();
    title[..1].make_ascii_uppercase();
    out.push_str(&format!(
        "{{\"depth\":{},\"error\":null,\"statusCode\":200,\"statusText\":\"OK\",\"text\":\"{title} {i}. Everything about {section} on example.com.\",\"title\":\"{title} {i}\",\"url\":\"https://example.com/{section}/{i}\"}}",
        i % 3
    ));
}

/// Crawler rows of two shapes mixed: every third failed (an `error` string where the others
/// have `null`).
fn mixed_row(i: usize, out: &mut String) {
    if i % 3 != 2 {
        return crawler_row(i, out);
    }
    let section = SECTIONS[i % SECTIONS.len()];
    out.push_str(&format!(
        "{{\"depth\":{},\"error\":\"timeout after 30 s\",\"statusCode\":504,\"statusText\":\"Gateway Timeout\",\"text\":\"\",\"title\":\"\",\"url\":\"https://example.com/{section}/{i}\"}}",
        i % 3
    ));
}

/// A row that is mostly one long string, with an escape now and then.
fn text_row(i: usize, out: &mut String) {
    let mut text = String::new();
    while text.len() < 1500 {
        text.push_str("Lorem ipsum dolor sit amet, consectetur adipiscing elit \\\"quoted\\\" ");
        text.push_str(&i.to_string());
        text.push_str("\\n");
    }
    out.push_str(&format!(
        "{{\"id\":{i},\"body\":\"{text}\",\"lang\":\"en\",\"score\":0.{i}}}"
    ));
}

fn document(rows: usize, row: fn(usize, &mut String)) -> Vec<u8> {
    document_with(rows, row, ",")
}

/// Rows with `between` between each and the next (the simulator's `data.json` has `,\n`).
fn document_with(rows: usize, row: fn(usize, &mut String), between: &str) -> Vec<u8> {
    let mut out = String::from("[");
    for i in 0..rows {
        if i > 0 {
            out.push_str(between);
        }
        row(i, &mut out);
    }
    out.push(']');
    out.into_bytes()
}

fn pretty(compact: &[u8]) -> Vec<u8> {
    let value: serde_json::Value = serde_json::from_slice(compact).unwrap();
    serde_json::to_vec_pretty(&value).unwrap()
}

/// Best MB/s over `passes` splits of the whole document.
fn measure(document: &[u8], passes: usize) -> (f64, usize) {
    let mut best = f64::MAX;
    let mut rows = 0;
    let mut elements = Elements::default();
    for _ in 0..passes {
        let started = Instant::now();
        let mut splitter = ArraySplitter::new(1 << 20);
        rows = 0;
        for chunk in document.chunks(256 * 1024) {
            splitter.push(chunk, &mut elements).unwrap();
            rows += elements.len();
            elements.clear();
        }
        splitter.finish(&mut elements).unwrap();
        rows += elements.len();
        elements.clear();
        best = best.min(started.elapsed().as_secs_f64());
    }
    (document.len() as f64 / best / 1e6, rows)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    println!("| rows | shape | MB | MB/s |");
    println!("|---|---|---:|---:|");
    for (name, row, count) in [
        ("crawler", crawler_row as fn(usize, &mut String), 5_000),
        ("text", text_row as fn(usize, &mut String), 600),
        ("mixed", mixed_row as fn(usize, &mut String), 5_000),
    ] {
        // `SCAN_ONLY=crawler` (or `text`) runs one shape, for a profiler.
        if std::env::var("SCAN_ONLY").is_ok_and(|only| only != name) {
            continue;
        }
        let compact = document(count, row);
        for shape in ["compact", "pretty"] {
            if std::env::var("SCAN_SHAPE").is_ok_and(|only| only != shape) {
                continue;
            }
            let doc = if shape == "pretty" {
                pretty(&compact)
            } else {
                compact.clone()
            };
            let (mbps, rows) = measure(&doc, 300);
            assert_eq!(rows, count);
            println!(
                "| {name} | {shape} | {:.2} | {mbps:.0} |",
                doc.len() as f64 / 1e6
            );
        }
    }
    // The simulator's `data.json`: a line feed after each `,`.
    let lines = "crawler-lines";
    if std::env::var("SCAN_ONLY").is_ok_and(|only| only == lines) {
        let doc = document_with(5_000, crawler_row, ",\n");
        let (mbps, rows) = measure(&doc, 300);
        assert_eq!(rows, 5_000);
        println!(
            "| {lines} | compact | {:.2} | {mbps:.0} |",
            doc.len() as f64 / 1e6
        );
        return;
    }
    let uncached = "crawler-uncached";
    if std::env::var("SCAN_ONLY").is_ok_and(|only| only != uncached)
        || std::env::var("SCAN_SHAPE").is_ok_and(|only| only != "compact")
    {
        return;
    }
    // 350,000 rows of ~187 bytes: each pass reads every byte from memory again.
    let count = 350_000;
    let doc = document(count, crawler_row);
    let (mbps, rows) = measure(&doc, 7);
    assert_eq!(rows, count);
    println!(
        "| {uncached} | compact | {:.2} | {mbps:.0} |",
        doc.len() as f64 / 1e6
    );
}
