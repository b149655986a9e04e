#![no_main]
//! cargo-fuzz wrapper for `hasdata_fuzz::json_array_splitter`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hasdata_fuzz::json_array_splitter(data));
