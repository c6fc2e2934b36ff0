//! Replays the `router_conn` fuzz corpus (`fuzz/corpus/router_conn/`) and its minimised crash
//! inputs (`fuzz/regressions/router_conn/`) against a real ROUTER over TCP, through the same
//! code the cargo-fuzz target runs (`fuzz/src/router_conn.rs`), then runs its liveness and
//! resource checks once more:
//!
//! ```text
//! cargo test -p zmtp --test fuzz_replay_router
//! ```
#![cfg(feature = "tokio")]

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

#[path = "../../fuzz/src/router_conn.rs"]
mod router_conn;

#[test]
fn router_conn() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut inputs: Vec<PathBuf> = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = fs::read_dir(root.join(dir).join("router_conn")) else {
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
    assert!(!inputs.is_empty(), "no corpus for fuzz target router_conn");
    let failed: Vec<String> = inputs
        .iter()
        .filter(|path| {
            let data = fs::read(path).expect("readable corpus file");
            catch_unwind(AssertUnwindSafe(|| router_conn::router_conn(&data))).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    // The router is still up, echoes, and holds no more memory or descriptors than allowed.
    router_conn::check_now();
    assert!(
        failed.is_empty(),
        "router_conn: {} of {} inputs failed: {failed:#?}",
        failed.len(),
        inputs.len()
    );
}
