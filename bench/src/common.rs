//! Helpers shared by every role: the child protocol (READY / RESULT lines on stdout), CPU time,
//! percentiles, RLIMIT_NOFILE.

use std::io::{BufRead, Write};
use std::time::Instant;

/// The bind endpoint every server role uses: loopback, OS-chosen port.
pub const BIND_ANY: &str = "tcp://127.0.0.1:0";

/// Tells the parent we are listening (or connected) and where.
pub fn ready(parts: &[&str]) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "READY {}", parts.join(" ")).unwrap();
    out.flush().unwrap();
}

/// Reports `key=value` pairs to the parent.
pub fn result(kv: &[(&str, f64)]) {
    let mut s = String::from("RESULT");
    for (k, v) in kv {
        s.push_str(&format!(" {k}={v}"));
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{s}").unwrap();
    out.flush().unwrap();
}

/// A plain progress line (the parent waits for it where it matters).
pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").unwrap();
    out.flush().unwrap();
}

/// Blocks until the parent closes our stdin (or writes a line).
pub fn wait_parent() {
    let mut s = String::new();
    let _ = std::io::stdin().lock().read_line(&mut s);
}

/// User + system CPU seconds of this process so far.
pub fn cpu_seconds() -> f64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Raises the open-file limit (the memory cell holds thousands of connections).
pub fn raise_nofile() {
    let mut rl: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: plain syscalls on structs we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) != 0 {
            return;
        }
        let want: libc::rlim_t = 65536;
        if rl.rlim_max < want {
            let r2 = libc::rlimit {
                rlim_cur: want,
                rlim_max: want,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &r2) == 0 {
                return;
            }
        }
        rl.rlim_cur = rl.rlim_max.min(want.max(rl.rlim_cur));
        libc::setrlimit(libc::RLIMIT_NOFILE, &rl);
    }
}

/// The payload senders copy from: deterministic, non-zero bytes.
pub fn payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i % 251) as u8 + 1).collect()
}

/// Latency summary (nanoseconds) of round-trip samples.
pub fn lat_summary(mut samples: Vec<u64>) -> Vec<(&'static str, f64)> {
    samples.sort_unstable();
    let n = samples.len();
    let at = |q: f64| samples[((n as f64 * q) as usize).min(n - 1)] as f64;
    let mean = samples.iter().sum::<u64>() as f64 / n as f64;
    vec![
        ("p50_ns", at(0.50)),
        ("p99_ns", at(0.99)),
        ("p999_ns", at(0.999)),
        ("mean_ns", mean),
        ("n", n as f64),
    ]
}

/// Nanoseconds since `t0` as u64.
pub fn ns_since(t0: Instant) -> u64 {
    t0.elapsed().as_nanos() as u64
}

/// A tokio multi-thread runtime with the default worker count (one per core).
pub fn mt_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Throughput receiver bookkeeping, shared by all implementations: the clock starts at the first
/// message (as libzmq's local_thr does) and stops at the last.
pub struct ThrClock {
    t0: Option<Instant>,
}

impl ThrClock {
    pub fn new() -> Self {
        ThrClock { t0: None }
    }
    #[inline]
    pub fn tick(&mut self) {
        if self.t0.is_none() {
            self.t0 = Some(Instant::now());
        }
    }
    pub fn finish(self, count: usize, size: usize) {
        let el = self.t0.map(|t| t.elapsed().as_secs_f64()).unwrap_or(0.0);
        result(&[
            ("elapsed_s", el),
            ("msgs_per_s", count as f64 / el),
            ("mb_per_s", count as f64 * size as f64 / el / 1e6),
            ("cpu_s", cpu_seconds()),
        ]);
    }
}

/// The sender's tail: tell the parent we are done queueing, keep the process (and its I/O
/// threads) alive until the parent says the receiver has everything, then report our CPU.
pub fn sender_done() {
    say("SENT");
    wait_parent();
    result(&[("cpu_s", cpu_seconds())]);
}

#[inline]
pub fn check_size(got: usize, want: usize) {
    if got != want {
        eprintln!("bad message size {got}, want {want}");
        std::process::exit(3);
    }
}
