//! Running out of file descriptors (EMFILE) on accept is logged and survived: the broker neither
//! crashes nor spins, and accepts again once descriptors free up (issue #6, "Bounds").

mod common;

use std::net::TcpStream;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::*;

/// utime + stime of a process in clock ticks (1/100 s).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    [11, 12]
        .iter()
        .filter_map(|&i| f.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum()
}

#[test]
fn accept_survives_emfile_without_spinning() {
    // A broker limited to 48 descriptors: a few dozen connections exhaust them.
    let script = format!(
        "ulimit -n 48 && exec {BROKER} --frontend tcp://127.0.0.1:0 --backend tcp://127.0.0.1:0 \
         --workers 0"
    );
    let mut b = Proc::spawn(
        "broker (ulimit -n 48)",
        Command::new("sh").args(["-c", &script]),
    );
    let line = b.line("broker: frontend ", STEP);
    let parts: Vec<&str> = line.split_whitespace().collect();
    let (fe, be) = (parts[2].to_string(), parts[4].to_string());
    let _worker = our_worker("emfile-worker", &be);
    let addr = fe.trim_start_matches("tcp://").to_string();

    // Exhaust the broker's descriptors: the kernel completes these connections (backlog), the
    // broker's accept fails with EMFILE.
    let mut held = Vec::new();
    for _ in 0..80 {
        if let Ok(s) = TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(2)) {
            held.push(s);
        }
    }
    let deadline = Instant::now() + STEP;
    while !b.stderr().contains("accept failed") {
        assert!(
            Instant::now() < deadline,
            "no EMFILE log line: {}",
            b.stderr()
        );
        thread::sleep(Duration::from_millis(50));
    }
    assert!(b.running(), "broker died on EMFILE: {}", b.stderr());
    // Not a busy loop: well under half a core while descriptors stay exhausted.
    let t0 = cpu_ticks(b.pid());
    thread::sleep(Duration::from_secs(1));
    let used = cpu_ticks(b.pid()) - t0;
    assert!(
        used < 50,
        "broker used {used}/100 s of CPU per second at EMFILE"
    );

    // Descriptors free up: the broker accepts and serves again.
    drop(held);
    let mut c = our_client(
        "emfile-client",
        &fe,
        &["--requests", "5", "--timeout-ms", "10000"],
    );
    let status = c.wait(STEP);
    assert!(
        status.success(),
        "client failed after EMFILE: {}",
        c.stderr()
    );
    assert!(b.running(), "broker died: {}", b.stderr());
}
