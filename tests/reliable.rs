//! The broker loses no request (issue 14): faults on real processes (SIGKILL, SIGSTOP, a worker
//! that dies on one request, a broker killed among two), with pyzmq (libzmq) clients that fail
//! on any missing, duplicate or extra reply, and pyzmq or our workers. Every wait is bounded;
//! every process is killed by PID when its guard drops.

mod common;

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::*;

/// pyzmq echo workers on `back`: `DELAY_MS` per request, ids `ids` ("-" for none).
fn py_workers(back: &str, delay_ms: u32, ids: &[&str]) -> Vec<Proc> {
    let delay = delay_ms.to_string();
    let ws: Vec<Proc> = ids
        .iter()
        .map(|id| {
            py(
                format!("py worker {id}"),
                &["echo-worker", back, &delay, id],
            )
        })
        .collect();
    for w in &ws {
        w.line("ready", STEP);
    }
    ws
}

/// pyzmq DEALER clients: `n` requests each, `window` in flight, every reply checked.
fn py_clients(front: &str, ids: &[&str], n: u32, window: u32) -> Vec<Proc> {
    let (n, w) = (n.to_string(), window.to_string());
    let cs: Vec<Proc> = ids
        .iter()
        .map(|id| {
            py(
                format!("py client {id}"),
                &["dealer-client", front, id, &n, &w],
            )
        })
        .collect();
    for c in &cs {
        c.line("ready", STEP);
    }
    cs
}

#[test]
fn a_worker_killed_mid_run_loses_no_request() {
    // 3 clients x 3000 requests, 50 in flight each, over 4 workers; one is SIGKILLed while it
    // holds requests: every request is answered exactly once.
    let (b, front, back) = ephemeral_broker(0, &["--stats-ms", "0"]);
    let mut workers = py_workers(&back, 1, &["-", "-", "-", "-"]);
    let clients = py_clients(&front, &["k1", "k2", "k3"], 3000, 50);
    thread::sleep(Duration::from_millis(500));
    assert!(workers[1].running(), "the run ended before the kill");
    workers[1].signal("KILL");
    for c in &clients {
        c.line("ok 3000", Duration::from_secs(30));
    }
    let served: u64 = workers
        .iter_mut()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, w)| {
            w.close_stdin();
            w.line("served ", STEP)["served ".len()..]
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    // The killed worker answered some; the others the rest (and what it held, again).
    assert!((5000..=9000).contains(&served), "served {served}");
    assert!(b.stderr().contains("worker gone"), "{}", b.stderr());
}

#[test]
fn a_stopped_worker_times_out_and_its_late_replies_are_dropped() {
    // SIGSTOP a worker mid-run with --request-timeout-ms 1000: what it holds goes to the
    // others after a second, so a client that starts meanwhile is fully served while it is
    // still stopped; after SIGCONT it answers what it held, and the long-running client, whose
    // requests those were, sees no second reply (dealer-client fails on one).
    let (b, front, back) = ephemeral_broker(0, &["--request-timeout-ms", "1000"]);
    let workers = py_workers(&back, 1, &["-", "-", "-"]);
    let long = py_clients(&front, &["s-long"], 6000, 20);
    thread::sleep(Duration::from_millis(300));
    workers[0].signal("STOP");
    let stopped = Instant::now();
    let meanwhile = py_clients(&front, &["s-meanwhile"], 300, 5);
    meanwhile[0].line("ok 300", Duration::from_millis(2500));
    assert!(
        stopped.elapsed() < Duration::from_secs(3),
        "served only after {:?}",
        stopped.elapsed()
    );
    thread::sleep(Duration::from_secs(3).saturating_sub(stopped.elapsed()));
    let lines = long[0].lines_so_far();
    assert!(
        !lines.iter().any(|l| l.starts_with("ok")),
        "the long client ended before SIGCONT"
    );
    workers[0].signal("CONT");
    long[0].line("ok 6000", Duration::from_secs(30));
    let log = b.stderr();
    assert!(!log.contains("request dropped"), "{log}");
}

#[test]
fn a_worker_restarted_under_the_same_identity_loses_no_request() {
    let (_b, front, back) = ephemeral_broker(0, &[]);
    let mut workers = py_workers(&back, 2, &["same", "other-1", "other-2"]);
    let clients = py_clients(&front, &["r1", "r2"], 2000, 20);
    thread::sleep(Duration::from_millis(400));
    workers[0].signal("KILL");
    let _ = workers[0].wait(STEP);
    // The same identity again, at once.
    workers[0] = py("py worker same again", &["echo-worker", &back, "2", "same"]);
    workers[0].line("ready", STEP);
    for c in &clients {
        c.line("ok 2000", Duration::from_secs(30));
    }
    // The new "same" took part.
    workers[0].close_stdin();
    let served: u64 = workers[0].line("served ", STEP)["served ".len()..]
        .parse()
        .unwrap();
    assert!(served > 0, "the restarted worker served nothing");
}

#[test]
fn a_poison_request_is_dropped_after_max_redeliveries() {
    // Workers die on the request `poison` and are restarted each time: it is sent
    // 1 + --max-redeliveries times, then dropped with a WARN line naming its client; the
    // other requests are all answered. (--worker-credit 1: a worker holds one request, so the
    // poison takes no other with it.)
    let (b, front, back) = ephemeral_broker(
        0,
        &[
            "--max-redeliveries",
            "2",
            "--worker-credit",
            "1",
            "--request-timeout-ms",
            "0",
        ],
    );
    let spawn = |i: usize| {
        let w = py(
            format!("py poison-aware worker {i}"),
            &["echo-worker", &back, "0", "-", "poison"],
        );
        w.line("ready", STEP);
        w
    };
    let mut workers: Vec<Proc> = (0..2).map(spawn).collect();
    let client = py(
        "py poison client",
        &["poison-client", &front, "pc", "300", "5"],
    );
    client.line("ready", STEP);
    let mut deaths = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut done = false;
    while !done {
        assert!(
            Instant::now() < deadline,
            "client not done; deaths {deaths}"
        );
        for (i, w) in workers.iter_mut().enumerate() {
            if !w.running() {
                deaths += 1;
                *w = spawn(i);
            }
        }
        done = client
            .lines_so_far()
            .iter()
            .any(|l| l.starts_with("ok 300"));
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(deaths, 3, "the poison was sent 1 + 2 times");
    let log = b.stderr();
    assert!(
        log.contains("request dropped") && log.contains("client=pc") && log.contains("size=6"),
        "{log}"
    );
}

#[test]
fn two_brokers_one_killed_our_client_still_gets_every_reply() {
    // Our workers serve both brokers; our client spreads over both and retries; SIGKILL one
    // broker mid-run: the client exits 0.
    let (mut a, front_a, back_a) = ephemeral_broker(0, &[]);
    let (_b, front_b, back_b) = ephemeral_broker(0, &[]);
    let _workers: Vec<Proc> = (1..=2)
        .map(|i| {
            Proc::spawn(
                format!("worker two-{i}"),
                Command::new(env!("CARGO_BIN_EXE_worker")).args([
                    "--connect",
                    &back_a,
                    "--connect",
                    &back_b,
                    "--id",
                    &format!("two-{i}"),
                    "--work-ms",
                    "1",
                    "--quiet",
                ]),
            )
        })
        .collect();
    let mut c = Proc::spawn(
        "client both",
        Command::new(env!("CARGO_BIN_EXE_client")).args([
            "--id",
            "both",
            "--connect",
            &front_a,
            "--connect",
            &front_b,
            "--requests",
            "3000",
            "--window",
            "20",
            "--retry-ms",
            "500",
            "--timeout-ms",
            "30000",
            "--quiet",
        ]),
    );
    thread::sleep(Duration::from_millis(700));
    assert!(c.running(), "the run ended before the kill");
    a.signal("KILL");
    let st = c.wait(Duration::from_secs(40));
    assert!(st.success(), "client: {st}\n{}", c.stderr());
    let _ = a.wait(STEP);
}

/// `GET path` over HTTP/1.0 on `addr`: the status line and the body.
fn http_get(addr: &str, path: &str) -> (String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect to the metrics endpoint");
    s.set_read_timeout(Some(STEP)).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (
        head.lines().next().unwrap_or_default().to_string(),
        body.to_string(),
    )
}

#[test]
fn the_broker_shows_what_it_does_in_stats_lines_and_metrics() {
    let (b, front, _back) = ephemeral_broker(
        1,
        &[
            "--quiet-workers",
            "--stats-ms",
            "200",
            "--metrics",
            "127.0.0.1:0",
        ],
    );
    let mut c = our_client(
        "metrics-client",
        &front,
        &["--requests", "100", "--window", "5", "--quiet"],
    );
    assert_client_ok(&mut c);
    // The endpoint is logged at start.
    let deadline = Instant::now() + STEP;
    let addr = loop {
        let log = b.stderr();
        if let Some(at) = log.find("url=http://") {
            let rest = &log[at + "url=http://".len()..];
            break rest[..rest.find("/metrics").unwrap()].to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no metrics endpoint logged: {log}"
        );
        thread::sleep(Duration::from_millis(20));
    };
    let (status, body) = http_get(&addr, "/metrics");
    assert!(status.contains(" 200 "), "{status}");
    for want in [
        "broker_requests_total 100",
        "broker_replies_total 100",
        "broker_redelivered_total 0",
        "broker_dropped_total 0",
        "broker_workers 1",
        "broker_request_duration_seconds_count 100",
    ] {
        assert!(body.lines().any(|l| l == want), "{want:?} not in\n{body}");
    }
    let (status, _) = http_get(&addr, "/elsewhere");
    assert!(status.contains(" 404 "), "{status}");
    // A stats line within a few periods, with every field.
    let deadline = Instant::now() + STEP;
    loop {
        let log = b.stderr();
        if let Some(line) = log
            .lines()
            .find(|l| l.contains(" stats ") && l.contains("replies_per_s="))
        {
            for f in [
                "requests_per_s=",
                "in_flight=",
                "queued=",
                "redelivered=",
                "dropped=",
                "clients=",
                "workers=1",
            ] {
                assert!(line.contains(f), "{f} not in {line}");
            }
            assert!(
                !line.contains('\x1b'),
                "escape codes in a log file: {line:?}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "no stats line: {log}");
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn requests_before_any_worker_wait_for_one() {
    // The default mode keeps the promise of the old one: a request that comes before any
    // worker is connected waits, and is answered once one comes.
    let (b, front, back) = ephemeral_broker(0, &[]);
    let mut c = our_client(
        "early",
        &front,
        &["--requests", "50", "--window", "10", "--quiet"],
    );
    thread::sleep(Duration::from_millis(500));
    assert!(c.running(), "the client finished without a worker");
    let _w = our_worker("late", &back);
    assert_client_ok(&mut c);
    assert!(!b.stderr().contains("request dropped"));
}
