#![no_main]
//! cargo-fuzz wrapper for `hasdata_fuzz::response_decoding`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hasdata_fuzz::response_decoding(data));
