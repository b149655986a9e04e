#![no_main]
//! cargo-fuzz wrapper for `hasdata_fuzz::api_error`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hasdata_fuzz::api_error(data));
