//! zbench: cross-implementation ZeroMQ benchmarks (issue #5) over tcp 127.0.0.1 and, in the
//! ipc cell, ipc://; the inproc cell runs sender and receiver in one process over inproc://;
//! the curve cell runs the thr and lat roles with CURVE on.
//!
//! The orchestrator (no arguments, or `--quick` / `--full` and options) re-invokes this binary
//! with `role IMPL WHAT ARGS...` so that each sender, receiver, echo server, proxy, load
//! generator, publisher and subscriber is its own process, interleaves the implementations
//! round by round in a counterbalanced order (A B C, C B A, B C A, A C B, ...), and prints
//! medians and ratios as Markdown, with SVG charts beside the report; `zbench chart --samples
//! FILE.tsv` draws the charts of a saved run. See BENCHMARKS.md at the repo root.

mod broker;
mod chart;
mod cipher;
mod common;
mod imp_libzmq;
mod imp_libzmq_sodium;
mod imp_mpsc;
mod imp_omq;
mod imp_ours;
mod imp_raw;
mod imp_rzmq;
mod imp_zmqrs;
mod mem;
mod orchestrate;
mod report;

fn num<T: std::str::FromStr>(s: &str) -> T {
    s.parse().unwrap_or_else(|_| panic!("bad number {s:?}"))
}

macro_rules! roles {
    ($m:ident, $what:expr, $a:expr) => {
        match $what {
            "thr-recv" => $m::thr_recv(num(&$a[0]), num(&$a[1])),
            "thr-send" => $m::thr_send(&$a[0], num(&$a[1]), num(&$a[2])),
            "echo" => $m::echo(),
            "lat" => $m::lat_client(&$a[0], num(&$a[1]), num(&$a[2]), num(&$a[3])),
            "proxy" => $m::proxy(),
            "mem-router" => $m::mem_router(),
            "push-recv" => $m::push_recv(num(&$a[0]), num(&$a[1])),
            "push-send" => $m::push_send(&$a[0], num(&$a[1]), num(&$a[2])),
            "pub" => $m::publisher(num(&$a[0]), num(&$a[1]), num(&$a[2]), num(&$a[3])),
            "sub" => $m::subscriber(&$a[0], num(&$a[1]), num(&$a[2]), num(&$a[3]), &$a[4]),
            "rep" => $m::rep(),
            "req" => $m::req(&$a[0], num(&$a[1]), num(&$a[2]), num(&$a[3])),
            "inproc-thr" => $m::inproc_thr(num(&$a[0]), num(&$a[1])),
            w => panic!("unknown role {w}"),
        }
    };
}

fn role(args: &[String]) {
    let imp = args[0].as_str();
    let what = args[1].as_str();
    let a = &args[2..];
    match (imp, what) {
        ("libzmq", "broker-load") => broker::load(
            &a[0],
            num(&a[1]),
            num(&a[2]),
            num(&a[3]),
            num(&a[4]),
            num(&a[5]),
        ),
        ("libzmq", "broker-workers") => broker::workers(&a[0], num(&a[1])),
        ("raw", "mem-conns") => mem::conns(&a[0], num(&a[1])),
        ("raw", "thr-recv") => imp_raw::thr_recv(num(&a[0]), num(&a[1])),
        ("raw", "thr-send") => imp_raw::thr_send(&a[0], num(&a[1]), num(&a[2])),
        ("raw", "echo") => imp_raw::echo(),
        ("raw", "lat") => imp_raw::lat_client(&a[0], num(&a[1]), num(&a[2]), num(&a[3])),
        ("ours", w) => roles!(imp_ours, w, a),
        ("ours-shared", "thr-recv") => imp_ours::thr_recv(num(&a[0]), num(&a[1])),
        ("ours-shared", "thr-send") => imp_ours::thr_send_shared(&a[0], num(&a[1]), num(&a[2])),
        ("ours-batch", "thr-recv") => imp_ours::thr_recv_batch(num(&a[0]), num(&a[1])),
        ("ours-batch", "thr-send") => imp_ours::thr_send_batch(&a[0], num(&a[1]), num(&a[2])),
        ("ours-batch", "push-recv") => imp_ours::push_recv_batch(num(&a[0]), num(&a[1])),
        ("ours-batch", "push-send") => imp_ours::push_send_batch(&a[0], num(&a[1]), num(&a[2])),
        ("ours-batch", "pub") => {
            imp_ours::publisher_batch(num(&a[0]), num(&a[1]), num(&a[2]), num(&a[3]))
        }
        ("ours-batch", "inproc-thr") => imp_ours::inproc_thr_batch(num(&a[0]), num(&a[1])),
        ("mpsc", "inproc-thr") => imp_mpsc::inproc_thr(num(&a[0]), num(&a[1])),
        ("ours-batch", "sub") => {
            imp_ours::subscriber_batch(&a[0], num(&a[1]), num(&a[2]), num(&a[3]), &a[4])
        }
        ("libzmq", w) => roles!(imp_libzmq, w, a),
        ("libzmq-sodium", "thr-recv") => imp_libzmq_sodium::thr_recv(num(&a[0]), num(&a[1])),
        ("libzmq-sodium", "thr-send") => imp_libzmq_sodium::thr_send(&a[0], num(&a[1]), num(&a[2])),
        ("libzmq-sodium", "echo") => imp_libzmq_sodium::echo(),
        ("libzmq-sodium", "lat") => {
            imp_libzmq_sodium::lat_client(&a[0], num(&a[1]), num(&a[2]), num(&a[3]))
        }
        ("zmqrs", w) => roles!(imp_zmqrs, w, a),
        ("omq", w) => roles!(imp_omq, w, a),
        ("rzmq", w) => roles!(imp_rzmq, w, a),
        ("rzmq-uring", w) => {
            imp_rzmq::use_uring();
            roles!(imp_rzmq, w, a)
        }
        (i, w) => panic!("unknown role {i} {w}"),
    }
}

fn main() {
    common::raise_nofile();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("role") {
        role(&args[1..]);
        // Don't wait for runtimes and I/O threads to wind down.
        std::process::exit(0);
    }
    if args.first().map(String::as_str) == Some("cipher") {
        // CurveZMQ's box alone, RustCrypto's against salsabox (cipher.rs).
        return cipher::main();
    }
    if args.first().map(String::as_str) == Some("chart") {
        // Charts from a saved run's samples, nothing run (chart.rs).
        return chart::main(&args[1..]);
    }
    orchestrate::main(&args);
}
