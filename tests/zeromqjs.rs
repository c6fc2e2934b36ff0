//! The original Node.js demo's roles on zeromq.js (the `zeromq` npm package 6.8.0, its v5-compat
//! API, libzmq 4.3.5 inside), `tests/js/{client,worker,server}.js`, against our `broker`,
//! `worker` and `client` binaries in every mix: node clients through our broker (reliable and
//! `--proxy`) and our workers, spawned and external; our workers and clients behind the node
//! broker; node workers behind our broker (both modes) with our clients.
//!
//! Every node client checks each reply against its request frame for frame and fails on a
//! missing, duplicate or extra one; every worker prints one line per request served, and the
//! lines must name each request exactly once.
//!
//! Needs Node.js (`node` on PATH, or `$ZMTP_NODE`) and `tests/js/node_modules` (`npm ci` in
//! tests/js, done by `scripts/test.sh`): without them these tests fail, they never skip. Every
//! process is killed by PID when its guard drops (the node scripts also exit when their stdin
//! closes, and after 60 s whatever happens), every wait is bounded, every port ephemeral.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::*;

// ---------------------------------------------------------------------------------------------
// Node processes.

fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js")
}

/// The node binary (`$ZMTP_NODE`, else `node` on PATH), after checking that zeromq.js is
/// installed in tests/js; panics with what to do otherwise.
fn node_bin() -> PathBuf {
    let node = match std::env::var_os("ZMTP_NODE") {
        Some(p) => PathBuf::from(p),
        None => std::env::var_os("PATH")
            .and_then(|path| {
                std::env::split_paths(&path)
                    .map(|dir| dir.join("node"))
                    .find(|p| p.is_file())
            })
            .unwrap_or_else(|| PathBuf::from("node (not found on PATH)")),
    };
    assert!(
        node.is_file(),
        "the zeromq.js interop tests need Node.js: {} does not exist. Install Node.js 18 or \
         later (CI does), or set ZMTP_NODE to a node binary.",
        node.display()
    );
    let pkg = js_dir().join("node_modules/zeromq/package.json");
    let text = std::fs::read_to_string(&pkg).unwrap_or_else(|e| {
        panic!(
            "the zeromq.js interop tests need the zeromq npm package: cannot read {} ({e}). \
             Run scripts/test.sh, or `npm ci` in tests/js.",
            pkg.display()
        )
    });
    assert!(
        text.contains("\"version\": \"6.8.0\""),
        "{} is not zeromq 6.8.0 (the version tests/js/package.json pins): run `npm ci` in \
         tests/js",
        pkg.display()
    );
    node
}

fn node(name: impl Into<String>, script: &str, args: &[&str]) -> Proc {
    Proc::spawn(
        name,
        Command::new(node_bin())
            .arg(js_dir().join(script))
            .args(args),
    )
}

/// `client.js`: `n` requests of `frames` frames, `window` in flight, every reply checked.
fn node_client(id: &str, front: &str, n: u32, window: u32, frames: u32) -> Proc {
    let (n, w, f) = (n.to_string(), window.to_string(), frames.to_string());
    node(
        format!("node client {id}"),
        "client.js",
        &[
            id,
            "--connect",
            front,
            "--requests",
            &n,
            "--window",
            &w,
            "--frames",
            &f,
            "--quiet",
        ],
    )
}

/// Waits (bounded) for the node client's `ok N` and its exit 0.
fn assert_node_client_ok(c: &mut Proc, n: u32) {
    assert_eq!(c.line("ok", STEP), format!("ok {n}"), "{}", c.name);
    let st = c.wait(STEP);
    assert!(
        st.success(),
        "{} exited {st}\nstderr: {}",
        c.name,
        c.stderr()
    );
}

/// `worker.js` on `back` (no routing id when `id` is None), once its connection is up.
fn node_worker(id: Option<&str>, back: &str) -> Proc {
    let mut args = vec!["--connect", back];
    if let Some(id) = id {
        args.extend(["--id", id]);
    }
    let w = node(format!("node worker {id:?}"), "worker.js", &args);
    w.line("connected ", STEP);
    w
}

/// `server.js` on ephemeral ports, starting `workers` node workers; returns it with its
/// frontend and backend endpoints (as printed).
fn node_server(workers: u32) -> (Proc, String, String) {
    let w = workers.to_string();
    let s = node(
        "node server",
        "server.js",
        &[
            &w,
            "--frontend",
            "tcp://127.0.0.1:0",
            "--backend",
            "tcp://127.0.0.1:0",
        ],
    );
    let line = s.line("server: frontend ", STEP);
    let parts: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(parts.len(), 5, "unexpected server line {line:?}");
    assert_eq!(parts[3], "backend", "unexpected server line {line:?}");
    (s, parts[2].to_string(), parts[4].to_string())
}

// ---------------------------------------------------------------------------------------------
// Checks.

/// Waits (bounded) until `n` TCP connections to local `port` are established (workers that
/// have connected to a backend), so that every worker is there before the first request.
fn wait_connections(port: &str, n: usize) {
    let port: u16 = port.parse().expect("a tcp port");
    let deadline = Instant::now() + STEP;
    loop {
        let mut up = 0;
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            let text = std::fs::read_to_string(table).unwrap_or_default();
            // `sl local_address rem_address st ...`, addresses as HEXIP:HEXPORT, 01 = ESTABLISHED.
            up += text
                .lines()
                .skip(1)
                .filter(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    f.len() > 3
                        && f[3] == "01"
                        && f[2]
                            .rsplit(':')
                            .next()
                            .and_then(|p| u16::from_str_radix(p, 16).ok())
                            == Some(port)
                })
                .count();
        }
        if up >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{up} of {n} workers connected to port {port} within {STEP:?}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// Reads the `NAME received <last frame> from CLIENT` lines of `procs` (our workers, a broker
/// with spawned workers, node workers, the node server) until `want` are in (bounded), and a
/// moment more for extra ones; panics if a request (client and number) is served twice, or the
/// total is not `want`. Returns the requests served per worker name.
fn served(procs: &[&Proc], want: usize) -> BTreeMap<String, usize> {
    let mut per_worker = BTreeMap::new();
    let mut seen = HashSet::new();
    let deadline = Instant::now() + STEP;
    let mut extra_until = None;
    loop {
        for p in procs {
            for line in p.lines_so_far() {
                take_line(&line, &mut seen, &mut per_worker);
            }
        }
        let now = Instant::now();
        match extra_until {
            None if seen.len() >= want => extra_until = Some(now + Duration::from_millis(200)),
            Some(t) if now >= t => break,
            _ => {}
        }
        assert!(
            now < deadline,
            "{} of {want} requests served within {STEP:?}: {per_worker:?}",
            seen.len()
        );
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        seen.len(),
        want,
        "requests served per worker: {per_worker:?}"
    );
    per_worker
}

fn take_line(
    line: &str,
    seen: &mut HashSet<(String, u32)>,
    per_worker: &mut BTreeMap<String, usize>,
) {
    let Some((name, rest)) = line.split_once(" received ") else {
        return;
    };
    let (body, client) = rest
        .rsplit_once(" from ")
        .unwrap_or_else(|| panic!("unexpected worker line {line:?}"));
    let k: u32 = body
        .rsplit('#')
        .next()
        .and_then(|k| k.parse().ok())
        .unwrap_or_else(|| panic!("no request number in {line:?}"));
    assert!(
        seen.insert((client.to_string(), k)),
        "request #{k} of {client} served twice (again by {name})"
    );
    *per_worker.entry(name.to_string()).or_insert(0) += 1;
}

/// `served` and every one of `workers` took part.
fn assert_served_by(procs: &[&Proc], want: usize, workers: &[&str]) {
    let per_worker = served(procs, want);
    let names: Vec<&str> = per_worker.keys().map(String::as_str).collect();
    let mut expected = workers.to_vec();
    expected.sort_unstable();
    assert_eq!(
        names, expected,
        "requests served per worker: {per_worker:?}"
    );
    eprintln!("served per worker: {per_worker:?}");
}

// ---------------------------------------------------------------------------------------------
// 0. The tools.

#[test]
fn zeromqjs_is_installed() {
    let mut p = Proc::spawn(
        "node",
        Command::new(node_bin()).current_dir(js_dir()).args([
            "-e",
            "console.log('libzmq ' + require('zeromq/v5-compat').version)",
        ]),
    );
    let line = p.line("libzmq ", STEP);
    assert!(p.wait(STEP).success(), "stderr: {}", p.stderr());
    assert!(line.starts_with("libzmq 4."), "{line}");
}

// ---------------------------------------------------------------------------------------------
// 1. Node clients through our broker, with our workers: two spawned by the broker, two
//    external processes.

fn node_clients_through_our_broker_and_workers(mode: &[&str]) {
    let t = Instant::now();
    let (broker, front, back) = ephemeral_broker(2, mode);
    let _kids = broker_workers(&broker, 2);
    let ext = [our_worker("ext1", &back), our_worker("ext2", &back)];
    wait_connections(port_of(&back), 4);

    // 3 clients at once, 300 requests each, 20 in flight; 1, 2 and 4 frames per request (the
    // 4-frame ones carry an empty frame and binary bytes).
    let mut clients = [
        node_client("js-alpha", &front, 300, 20, 1),
        node_client("js-bravo", &front, 300, 20, 2),
        node_client("js-charlie", &front, 300, 20, 4),
    ];
    for c in &mut clients {
        assert_node_client_ok(c, 300);
    }
    assert_served_by(
        &[&broker, &ext[0], &ext[1]],
        900,
        &["worker#1", "worker#2", "ext1", "ext2"],
    );
    eprintln!("{mode:?}: {:?}", t.elapsed());
}

#[test]
fn node_clients_through_our_reliable_broker_and_our_workers() {
    node_clients_through_our_broker_and_workers(&[]);
}

#[test]
fn node_clients_through_our_proxy_broker_and_our_workers() {
    node_clients_through_our_broker_and_workers(&["--proxy"]);
}

// ---------------------------------------------------------------------------------------------
// 2. Our workers, our clients (and a node client) behind the node broker.

#[test]
fn our_workers_and_clients_behind_the_node_broker() {
    let t = Instant::now();
    let (_server, front, back) = node_server(0);
    let workers = [
        our_worker("rw1", &back),
        our_worker("rw2", &back),
        our_worker("rw3", &back),
    ];
    wait_connections(port_of(&back), 3);

    let args = ["--requests", "300", "--window", "20", "--quiet"];
    let mut ours = [
        our_client("ours-1", &front, &args),
        our_client("ours-2", &front, &args),
    ];
    let mut js = node_client("js-delta", &front, 300, 20, 4);
    for c in &mut ours {
        assert_client_ok(c);
    }
    assert_node_client_ok(&mut js, 300);
    assert_served_by(
        &[&workers[0], &workers[1], &workers[2]],
        900,
        &["rw1", "rw2", "rw3"],
    );
    eprintln!("{:?}", t.elapsed());
}

/// The demo as it was (`node server.js 2`: the broker starts its node workers) serving our
/// client.
#[test]
fn the_node_demo_with_its_own_workers_serves_our_client() {
    let (server, front, _) = node_server(2);
    server.line("connected ", STEP);
    server.line("connected ", STEP);
    let mut c = our_client(
        "ours-3",
        &front,
        &["--requests", "200", "--window", "10", "--quiet"],
    );
    assert_client_ok(&mut c);
    assert_served_by(&[&server], 200, &["worker#1", "worker#2"]);
}

// ---------------------------------------------------------------------------------------------
// 3. Node workers behind our broker, with our clients.

fn node_workers_behind_our_broker(mode: &[&str]) {
    let t = Instant::now();
    let (_broker, front, back) = ephemeral_broker(0, mode);
    // Two with an identity, one with the id libzmq makes up.
    let workers = [
        node_worker(Some("js-w1"), &back),
        node_worker(Some("js-w2"), &back),
        node_worker(None, &back),
    ];
    let anonymous = format!("worker#{}", workers[2].pid());

    let args = ["--requests", "300", "--window", "20", "--quiet"];
    let mut clients = [
        our_client("ours-a", &front, &args),
        our_client("ours-b", &front, &args),
    ];
    for c in &mut clients {
        assert_client_ok(c);
    }
    assert_served_by(
        &[&workers[0], &workers[1], &workers[2]],
        600,
        &["js-w1", "js-w2", &anonymous],
    );
    eprintln!("{mode:?}: {:?}", t.elapsed());
}

#[test]
fn node_workers_behind_our_reliable_broker_with_our_clients() {
    node_workers_behind_our_broker(&[]);
}

#[test]
fn node_workers_behind_our_proxy_broker_with_our_clients() {
    node_workers_behind_our_broker(&["--proxy"]);
}

// ---------------------------------------------------------------------------------------------
// 4. The node client's check is not vacuous: with no worker, it fails on the missing replies.

#[test]
fn the_node_client_fails_when_replies_are_missing() {
    let (_broker, front, _) = ephemeral_broker(0, &[]);
    let mut c = node(
        "node client js-lost",
        "client.js",
        &[
            "js-lost",
            "--connect",
            &front,
            "--requests",
            "5",
            "--window",
            "5",
            "--timeout-ms",
            "1000",
        ],
    );
    let st = c.wait(STEP);
    let lines = c.remaining_lines(STEP);
    assert_eq!(st.code(), Some(1), "{lines:?}\nstderr: {}", c.stderr());
    assert_eq!(
        lines,
        ["FAIL js-lost: 5 of 5 replies missing after 1000 ms (5 sent; waiting for #1 #2 #3 #4 #5)"]
    );
}
