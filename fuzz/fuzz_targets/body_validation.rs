#![no_main]
//! cargo-fuzz wrapper for `hasdata_fuzz::body_validation`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hasdata_fuzz::body_validation(data));
