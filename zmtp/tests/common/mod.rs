//! Shared by the interop tests: finding the Python interpreter that has pyzmq.

use std::path::{Path, PathBuf};

/// The interpreter from `ZMTP_PYTHON`, else the workspace's `.venv`. Panics with what to do
/// when it is missing: interop tests fail, never skip.
pub fn python() -> PathBuf {
    let path = match std::env::var_os("ZMTP_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(".venv/bin/python"),
    };
    assert!(
        path.exists(),
        "interop tests need Python with pyzmq: {} does not exist. Run scripts/test.sh (it \
         creates .venv with pyzmq) or set ZMTP_PYTHON to an interpreter that has pyzmq.",
        path.display()
    );
    path
}
