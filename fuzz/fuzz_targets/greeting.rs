//! cargo-fuzz target `greeting`: the body is [`checks::greeting`], shared with the corpus replay test
//! (zmtp/tests/fuzz_replay.rs).
#![no_main]

#[path = "../src/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::greeting(data));
