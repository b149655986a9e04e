//! Replays `fuzz/corpus/NAME/*` through each harness, so every seed (and every crash input a
//! fuzz run found and we kept as a regression) is checked by plain `cargo test`.

use std::fs;
use std::path::PathBuf;

fn corpus_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(name)
}

#[test]
fn every_harness_has_seeds_and_takes_them_all() {
    for (name, harness) in hasdata_fuzz::HARNESSES {
        let dir = corpus_dir(name);
        let entries = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .collect::<Result<Vec<_>, _>>()
            .expect("a readable corpus");
        assert!(entries.len() >= 3, "{name}: only {} seeds", entries.len());
        for entry in entries {
            let bytes = fs::read(entry.path()).expect("a readable seed");
            harness(&bytes);
        }
    }
}

/// The harnesses' oracles are not vacuous: a splitter that dropped an element would be caught.
#[test]
fn the_splitter_oracle_compares_elements() {
    // Chunk size 1 (first byte 0), a valid array: must pass.
    hasdata_fuzz::json_array_splitter(b"\x00[1, {\"a\": [2, \"]\"]}, \"x\\\"y\"]");
    // Structural edge cases must not panic either way.
    for input in [
        &b"\x05["[..],
        b"\x05]",
        b"\x05[1,]",
        b"\x05[\"\\",
        b"\x3f[[[[[[",
        b"",
    ] {
        hasdata_fuzz::json_array_splitter(input);
    }
}

/// Each `fuzz/fuzz_targets/NAME.rs` wraps the harness of the same name, and every harness has
/// a wrapper: `cargo xtask fuzz` finds targets by those file names.
#[test]
fn every_harness_has_a_cargo_fuzz_wrapper_and_no_wrapper_is_orphaned() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/fuzz_targets");
    let mut wrappers: Vec<String> = fs::read_dir(&dir)
        .expect("fuzz/fuzz_targets exists")
        .map(|entry| {
            entry
                .expect("readable")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter_map(|name| name.strip_suffix(".rs").map(str::to_owned))
        .collect();
    wrappers.sort();
    let mut harnesses: Vec<String> = hasdata_fuzz::HARNESSES
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect();
    harnesses.sort();
    assert_eq!(wrappers, harnesses);
    for name in &wrappers {
        let text = fs::read_to_string(dir.join(format!("{name}.rs"))).expect("readable");
        assert!(
            text.contains(&format!("hasdata_fuzz::{name}(data)")),
            "{name}.rs does not call hasdata_fuzz::{name}"
        );
    }
}
