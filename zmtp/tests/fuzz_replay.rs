//! Replays the fuzz corpus (`fuzz/corpus/<target>/`) and the minimised crash inputs
//! (`fuzz/regressions/<target>/`) through the same checks the cargo-fuzz targets run, so plain
//! `cargo test` on stable exercises every target:
//!
//! ```text
//! cargo test -p zmtp --no-default-features --test fuzz_replay
//! ```

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

#[path = "../../fuzz/src/checks.rs"]
mod checks;

/// Runs `check` on every file of `fuzz/{corpus,regressions}/<target>/`; fails naming each
/// input that panics, and if the target has no input at all.
fn replay(target: &str, check: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut inputs: Vec<PathBuf> = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for e in entries {
            let path = e.expect("readable directory entry").path();
            if path.is_file() {
                inputs.push(path);
            }
        }
    }
    inputs.sort();
    assert!(!inputs.is_empty(), "no corpus for fuzz target {target}");
    let failed: Vec<String> = inputs
        .iter()
        .filter(|path| {
            let data = fs::read(path).expect("readable corpus file");
            catch_unwind(AssertUnwindSafe(|| check(&data))).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{target}: {} of {} inputs failed: {failed:#?}",
        failed.len(),
        inputs.len()
    );
}

#[test]
fn frame_decoder() {
    replay("frame_decoder", checks::frame_decoder);
}

#[test]
fn greeting() {
    replay("greeting", checks::greeting);
}

#[test]
fn command() {
    replay("command", checks::command);
}

#[test]
fn handshake() {
    replay("handshake", checks::handshake);
}

#[test]
fn plain_handshake() {
    replay("plain_handshake", checks::plain_handshake);
}

#[cfg(feature = "curve")]
#[test]
fn curve_handshake() {
    replay("curve_handshake", checks::curve_handshake);
}

#[cfg(feature = "curve")]
#[test]
fn curve_message() {
    replay("curve_message", checks::curve_message);
}
