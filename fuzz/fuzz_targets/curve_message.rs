//! cargo-fuzz target `curve_message`: the body is [`checks::curve_message`], shared with the corpus
//! replay test (zmtp/tests/fuzz_replay.rs).
#![no_main]

#[path = "../src/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::curve_message(data));
