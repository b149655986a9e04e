//! The `hasdata` command's published shapes: what `--json` prints ([`output`]), as Rust types
//! with JSON Schemas. The command itself is the `hasdata` binary (`src/main.rs`).

pub mod output;
