//! Links the `hasdata` binary as a position-dependent executable on Linux with glibc.
//!
//! A PIE of this size carries about 31,000 relative relocations: at every start the dynamic
//! loader rewrites them, copying on write each of the 140-odd pages of `.data.rel.ro` and
//! `.got` they fall in. A run of `hasdata` is short (a 100-row export takes a few
//! milliseconds), so that is about a seventh of the CPU of `hasdata --version` and a few
//! percent of a 100,000-row export's (`docs/benchmarks.md`, "A run's fixed cost"). Linked
//! with `-no-pie` the addresses are fixed at link time: no relocations to apply, and those
//! pages are read from the page cache as they are. The price is that the executable's own
//! code and data load at a fixed address (the libraries, heap, stack and mappings are still
//! randomized). Only the binary: the libraries, tests and examples are linked as before.
//! musl targets (static-pie by default) and other systems are left alone.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo::rustc-link-arg-bin=hasdata=-no-pie");
    }
}
