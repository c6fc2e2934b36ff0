//! cargo-fuzz target `frame_decoder`: the body is [`checks::frame_decoder`], shared with the corpus replay test
//! (zmtp/tests/fuzz_replay.rs).
#![no_main]

#[path = "../src/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::frame_decoder(data));
