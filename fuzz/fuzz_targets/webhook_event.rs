#![no_main]
//! cargo-fuzz wrapper for `hasdata_fuzz::webhook_event`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hasdata_fuzz::webhook_event(data));
