#![no_main]
//! cargo-fuzz wrapper for `hasdata_fuzz::ledger_intent`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hasdata_fuzz::ledger_intent(data));
