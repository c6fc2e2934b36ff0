//! cargo-fuzz target `command`: the body is [`checks::command`], shared with the corpus replay test
//! (zmtp/tests/fuzz_replay.rs).
#![no_main]

#[path = "../src/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::command(data));
