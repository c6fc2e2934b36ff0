//! The crate's layers, checked on its source: the sans-IO folders (`protocol/`, `routing/`)
//! import no tokio and nothing of the I/O layers, the transports know nothing of the socket
//! layer, and no two folders import each other (directly or round a cycle).
//!
//! Reads `src/` and looks at `use` lines and paths in code (comments are skipped).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const FOLDERS: [&str; 4] = ["protocol", "routing", "socket", "transport"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comment lines (doc comments name other layers freely).
fn code(path: &Path) -> String {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Per folder of `src/`, its files' code.
fn sources() -> BTreeMap<&'static str, Vec<(PathBuf, String)>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut by_folder = BTreeMap::new();
    for folder in FOLDERS {
        let mut files = Vec::new();
        rust_files(&src.join(folder), &mut files);
        assert!(!files.is_empty(), "no sources in src/{folder}");
        by_folder.insert(
            folder,
            files.into_iter().map(|f| (f.clone(), code(&f))).collect(),
        );
    }
    by_folder
}

/// True if `code` names the path `name` (`crate::socket`, not `crate::socket_type`).
fn mentions(code: &str, name: &str) -> bool {
    code.match_indices(name).any(|(i, _)| {
        !code[i + name.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
    })
}

#[test]
fn sans_io_folders_import_no_tokio_and_no_io_layer() {
    for (folder, files) in sources() {
        if folder != "protocol" && folder != "routing" {
            continue;
        }
        for (path, code) in files {
            for banned in [
                "tokio",
                "crate::socket",
                "crate::transport",
                "crate::monitor",
                "crate::options",
            ] {
                assert!(
                    !mentions(&code, banned),
                    "{} uses {banned}: the sans-IO core must not",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn transports_do_not_import_the_socket_layer() {
    for (path, code) in &sources()["transport"] {
        assert!(
            !mentions(code, "crate::socket"),
            "{} imports the socket layer",
            path.display()
        );
    }
}

#[test]
fn no_import_cycle_between_folders() {
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (folder, files) in sources() {
        for (_, code) in files {
            for other in FOLDERS {
                if other != folder && mentions(&code, &format!("crate::{other}")) {
                    edges.entry(folder).or_default().insert(other);
                }
            }
        }
    }
    // Depth-first search for a cycle.
    fn visit<'a>(
        n: &'a str,
        edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if let Some(i) = path.iter().position(|&p| p == n) {
            panic!("import cycle: {} -> {n}", path[i..].join(" -> "));
        }
        if done.contains(n) {
            return;
        }
        path.push(n);
        for &m in edges.get(n).into_iter().flatten() {
            visit(m, edges, path, done);
        }
        path.pop();
        done.insert(n);
    }
    let mut done = BTreeSet::new();
    for f in FOLDERS {
        visit(f, &edges, &mut Vec::new(), &mut done);
    }
    // The expected shape, so that a new dependency is a decision, not an accident.
    assert!(!edges.contains_key("routing"), "{edges:?}");
    assert!(edges["socket"].contains("transport"), "{edges:?}");
}
