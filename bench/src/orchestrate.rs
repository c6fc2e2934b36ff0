//! The parent process: spawns the roles, interleaves implementations round by round, collects
//! samples, and renders the report.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::report;

/// Implementations in the point-to-point cells (throughput, latency, CPU, memory).
/// `ours-batch` is ours with the batch calls (`Dealer::send_many`, `Router::recv_many`); it runs
/// in the throughput cell only and counts as ours, not as an other.
pub const ALL_IMPLS: &[&str] = &[
    "raw",
    "libzmq",
    "ours",
    "ours-batch",
    "zmqrs",
    "omq",
    "rzmq",
    "rzmq-uring",
];

/// The implementation's name without its `@PATH` (see [`Proc::role_bind`]): what the cells'
/// lists (`THR_ONLY`, `NO_SOCKETS`, ...) are matched against.
pub fn base(imp: &str) -> &str {
    imp.split_once('@').map_or(imp, |(i, _)| i)
}

/// Is `imp` (or `imp@PATH`) in `list`?
pub fn is_in(list: &[&str], imp: &str) -> bool {
    list.contains(&base(imp))
}

/// Implementations that only take part in the throughput cells (thr, push, pubsub).
/// `ours-shared` (not run unless `--impls` names it) has thr roles only: ours sending one
/// shared payload, without the per-message copy (see `imp_ours::thr_send_shared`).
pub const THR_ONLY: &[&str] = &["ours-batch", "ours-shared"];
/// Implementations without ZeroMQ socket types (raw TCP): not in the push and pubsub cells (on
/// the wire a PUSH -> PULL stream is the same as DEALER -> ROUTER, so the thr cell's raw
/// figures are the ceiling there too).
pub const NO_SOCKETS: &[&str] = &["raw"];
/// Brokers in the broker cell. `ours` is the repo's `broker` binary (skipped if not built);
/// `ours-proxy` is a two-task proxy on the zmtp crate written in this bench; `ours-lossy` is the
/// `broker` binary with `--proxy` (zmq_proxy semantics, no redelivery), `ours` its default,
/// reliable mode.
pub const ALL_BROKERS: &[&str] = &[
    "libzmq",
    "ours",
    "ours-lossy",
    "ours-proxy",
    "zmqrs",
    "omq",
    "rzmq",
    "rzmq-uring",
];
pub const ALL_CELLS: &[&str] = &[
    "thr",
    "lat",
    "reqrep",
    "broker",
    "brokermem",
    "mem",
    "push",
    "pubsub",
    "ipc",
    "inproc",
    "curve",
];
pub const SIZES: &[usize] = &[16, 256, 4096, 65536, 1 << 20];
/// Message sizes of the push cell (PUSH -> PULL), unless `--push-sizes` or `--sizes` says.
pub const PUSH_SIZES: &[usize] = &[16, 256, 65536];
/// Message sizes of the ipc cell (thr over ipc://), unless `--ipc-sizes` or `--sizes` says.
pub const IPC_SIZES: &[usize] = &[16, 65536];
/// Message sizes of the curve cell, unless `--curve-sizes` or `--sizes` says.
pub const CURVE_SIZES: &[usize] = &[16, 65536];
/// The curve cell's implementations (those with a CURVE that talks to libzmq), and the role
/// each runs as: libzmq there is pyzmq's wheel, built with libsodium (`imp_libzmq_sodium`),
/// since the bench's vendored libzmq has no CURVE. zmq.rs has no security mechanism at all;
/// rzmq's CURVE is a wire format of its own that libzmq does not speak.
pub const CURVE_IMPLS: &[(&str, &str)] = &[
    ("libzmq", "libzmq-sodium"),
    ("ours", "ours"),
    ("ours-batch", "ours-batch"),
    ("omq", "omq"),
];
/// Message sizes of the inproc cell, unless `--inproc-sizes` or `--sizes` says.
pub const INPROC_SIZES: &[usize] = &[16, 65536];
/// The inproc cell's ceiling, run in every round of that cell whatever `--impls` says: a
/// bounded `tokio::sync::mpsc` channel between two tasks (see `imp_mpsc`).
pub const INPROC_CEILING: &str = "mpsc";
/// Implementations the inproc cell does not run, and why (the report prints the reasons).
pub const NO_INPROC: &[(&str, &str)] = &[
    (
        "raw",
        "no sockets and no process boundary to cross; `mpsc` is this cell's ceiling",
    ),
    (
        "zmqrs",
        "zmq.rs 0.7 has no inproc transport: its endpoints are tcp and ipc only, \
         `inproc://` is `EndpointError::UnknownTransport`",
    ),
    (
        "rzmq-uring",
        "rzmq's io_uring backend carries TCP and ipc sessions only; over inproc it would run \
         the very code of the `rzmq` column",
    ),
];
/// The pubsub cell: one PUB, this many SUB processes.
pub const PUBSUB_SUBS: usize = 4;
/// The message size of the pubsub cell's first case (every SUB subscribed to everything).
pub const PUBSUB_SIZE: usize = 16;
/// The pubsub cell's cases: (name, message size, topics). With 0 topics every SUB subscribes
/// to everything and gets every message; with `PUBSUB_SUBS` topics the publisher cycles over
/// them (`topic0`, `topic1`, ...) and SUB `i` subscribes to topic `i` only, so each SUB gets a
/// quarter of what is published (the PUB's filtering at work).
pub const PUBSUB_CASES: &[(&str, usize, usize)] = &[
    ("16", PUBSUB_SIZE, 0),
    ("1024", 1024, 0),
    ("16-topics", 16, PUBSUB_SUBS),
];
/// The reqrep cell: REQ -> REP round trips of this many bytes.
pub const REQREP_SIZE: usize = 64;
/// Idle clients of the brokermem cell, unless `--broker-clients` says.
pub const BROKERMEM_CLIENTS: &[usize] = &[10_000];
/// Echo workers on the brokermem cell's backend (as the broker cell's default cases).
pub const BROKERMEM_WORKERS: usize = 4;
/// SNDHWM and RCVHWM of the PUB and of every SUB in the pubsub cell (what counts is the PUB's
/// SNDHWM and the SUBs' RCVHWM), unless `--pub-hwm` says: zmq.rs has no HWM option but queues
/// at most 100 000 messages per subscriber, so the others get the same.
pub const PUBSUB_HWM: usize = 100_000;

#[derive(Debug, Clone)]
pub struct Cfg {
    pub mode: &'static str,
    pub rounds: usize,
    pub impls: Vec<String>,
    pub brokers: Vec<String>,
    pub cells: Vec<String>,
    pub sizes: Vec<usize>,
    /// Message sizes of the push cell.
    pub push_sizes: Vec<usize>,
    /// Message sizes of the ipc cell.
    pub ipc_sizes: Vec<usize>,
    /// Message sizes of the inproc cell.
    pub inproc_sizes: Vec<usize>,
    /// Message sizes of the curve cell.
    pub curve_sizes: Vec<usize>,
    /// SNDHWM/RCVHWM of the pubsub cell.
    pub pub_hwm: usize,
    /// Connection counts of the memory cell.
    pub conns: Vec<usize>,
    /// Idle client counts of the brokermem cell.
    pub broker_clients: Vec<usize>,
    pub broker_bin: Option<PathBuf>,
    pub out: PathBuf,
    /// Multiplies every message count (quick = 0.25).
    pub scale: f64,
    pub command: String,
    /// The repo commit the `ours` code was built from (`+dirty` if zmtp/ had local changes).
    pub ours_rev: String,
}

#[derive(Debug, Clone)]
pub struct Sample {
    pub cell: String,
    pub case: String,
    pub imp: String,
    pub metric: String,
    pub value: f64,
}

fn usage() -> ! {
    eprintln!(
        "usage: zbench [--quick | --full] [--rounds N] [--impls a,b,..] [--brokers a,b,..]\n\
         \x20             [--cells thr,lat,reqrep,broker,brokermem,mem,push,pubsub,ipc,inproc,curve]\n\
         \x20             [--sizes 16,256,..] [--push-sizes 16,256,65536] [--ipc-sizes 16,65536]\n\
         \x20             [--inproc-sizes 16,65536] [--curve-sizes 16,65536] [--pub-hwm N]\n\
         \x20             [--conns N,..] [--broker-clients N,..]\n\
         \x20             [--broker-bin PATH] [--scale F] [--out DIR]\n\
         \x20      zbench chart --samples FILE.tsv [--out DIR] [--rev REV] [--machine TEXT]\n\
         \x20             (draws a saved run's charts again, running nothing)\n\
         \x20      zbench cipher\n\
         \x20             (CurveZMQ's box alone: RustCrypto's, which zmtp uses, against salsabox)\n\
         impls: {ALL_IMPLS:?}\nbrokers: {ALL_BROKERS:?}\n\
         An impl may be IMPL@PATH: its roles then run from the zbench binary PATH (A/B of two\n\
         builds, see bench/ab.sh).\n\
         CPU per message is taken from the 16 B throughput runs (cells thr, push, ipc, inproc).\n\
         --sizes applies to thr, and to push, ipc and inproc unless --push-sizes, --ipc-sizes\n\
         or --inproc-sizes is given. The inproc cell always runs its ceiling, mpsc, too."
    );
    std::process::exit(2)
}

fn list(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

fn parse(args: &[String]) -> Cfg {
    let bench_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let default_broker = bench_dir.join("../target/release/broker");
    let mut cfg = Cfg {
        mode: "full",
        rounds: 5,
        impls: ALL_IMPLS.iter().map(|s| s.to_string()).collect(),
        brokers: ALL_BROKERS.iter().map(|s| s.to_string()).collect(),
        cells: ALL_CELLS.iter().map(|s| s.to_string()).collect(),
        sizes: SIZES.to_vec(),
        push_sizes: PUSH_SIZES.to_vec(),
        ipc_sizes: IPC_SIZES.to_vec(),
        inproc_sizes: INPROC_SIZES.to_vec(),
        curve_sizes: CURVE_SIZES.to_vec(),
        pub_hwm: PUBSUB_HWM,
        conns: vec![1000, 2000],
        broker_clients: BROKERMEM_CLIENTS.to_vec(),
        broker_bin: Some(default_broker),
        out: bench_dir.join("results"),
        scale: 1.0,
        command: std::iter::once("zbench".to_string())
            .chain(args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" "),
        ours_rev: git_rev(&bench_dir.join("..")),
    };
    let mut rounds = None;
    let mut scale = None;
    let mut sizes_given = false;
    let mut push_sizes = None;
    let mut ipc_sizes = None;
    let mut inproc_sizes = None;
    let mut curve_sizes = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().unwrap_or_else(|| usage());
        match a.as_str() {
            "--quick" => cfg.mode = "quick",
            "--full" => cfg.mode = "full",
            "--rounds" => rounds = Some(crate::num(&val())),
            "--impls" => cfg.impls = list(&val()),
            "--brokers" => cfg.brokers = list(&val()),
            "--cells" => cfg.cells = list(&val()),
            "--sizes" => {
                cfg.sizes = list(&val()).iter().map(|s| crate::num(s)).collect();
                sizes_given = true;
            }
            "--push-sizes" => {
                push_sizes = Some(list(&val()).iter().map(|s| crate::num(s)).collect());
            }
            "--ipc-sizes" => {
                ipc_sizes = Some(list(&val()).iter().map(|s| crate::num(s)).collect());
            }
            "--inproc-sizes" => {
                inproc_sizes = Some(list(&val()).iter().map(|s| crate::num(s)).collect());
            }
            "--curve-sizes" => {
                curve_sizes = Some(list(&val()).iter().map(|s| crate::num(s)).collect());
            }
            "--pub-hwm" => cfg.pub_hwm = crate::num(&val()),
            "--conns" => cfg.conns = list(&val()).iter().map(|s| crate::num(s)).collect(),
            "--broker-clients" => {
                cfg.broker_clients = list(&val()).iter().map(|s| crate::num(s)).collect();
            }
            "--broker-bin" => cfg.broker_bin = Some(PathBuf::from(val())),
            "--scale" => scale = Some(crate::num(&val())),
            "--out" => cfg.out = PathBuf::from(val()),
            _ => usage(),
        }
    }
    if cfg.mode == "quick" {
        cfg.rounds = 1;
        cfg.scale = 0.25;
    }
    cfg.rounds = rounds.unwrap_or(cfg.rounds);
    cfg.scale = scale.unwrap_or(cfg.scale);
    cfg.push_sizes = match push_sizes {
        Some(v) => v,
        None if sizes_given => cfg.sizes.clone(),
        None => cfg.push_sizes,
    };
    cfg.ipc_sizes = match ipc_sizes {
        Some(v) => v,
        None if sizes_given => cfg.sizes.clone(),
        None => cfg.ipc_sizes,
    };
    cfg.inproc_sizes = match inproc_sizes {
        Some(v) => v,
        None if sizes_given => cfg.sizes.clone(),
        None => cfg.inproc_sizes,
    };
    cfg.curve_sizes = match curve_sizes {
        Some(v) => v,
        None if sizes_given => cfg.sizes.clone(),
        None => cfg.curve_sizes,
    };
    cfg
}

/// The 1-minute load average (other work on the machine skews every number).
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_default()
}

fn git_rev(repo: &std::path::Path) -> String {
    let run = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(repo)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let Some(rev) = run(&["rev-parse", "--short=10", "HEAD"]) else {
        return "unknown".into();
    };
    let dirty = run(&["status", "--porcelain", "--", "zmtp", "src/bin/broker.rs"])
        .is_some_and(|s| !s.is_empty());
    if dirty {
        format!("{rev}+dirty")
    } else {
        rev
    }
}

// ---------------------------------------------------------------- child processes

/// A private copy of this executable that the children run, so that a rebuild of
/// target/release/zbench during a run cannot break or change the run.
static EXE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

fn pin_exe(out: &std::path::Path) {
    let src = std::env::current_exe().unwrap();
    let dst = out.join(format!(".zbench-{}", std::process::id()));
    if std::fs::copy(&src, &dst).is_ok() {
        let _ = EXE.set(dst);
    }
}

/// A child role: stdout lines come through a channel so that every wait has a timeout.
pub struct Proc {
    pub name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    rx: Receiver<String>,
}

impl Proc {
    pub fn role(name: &str, args: &[String]) -> Proc {
        Proc::role_bind(name, args, None)
    }

    /// A server role (`thr-recv`, `echo`, `rep`) that binds `bind` instead of
    /// tcp://127.0.0.1:0. An implementation `IMPL@PATH` (`args[0]`) runs as `IMPL` from the
    /// zbench binary at PATH.
    pub fn role_bind(name: &str, args: &[String], bind: Option<&str>) -> Proc {
        let (imp, path) = match args[0].split_once('@') {
            Some((i, p)) => (i, Some(PathBuf::from(p))),
            None => (args[0].as_str(), None),
        };
        let exe = path.unwrap_or_else(|| {
            EXE.get()
                .cloned()
                .unwrap_or_else(|| std::env::current_exe().unwrap())
        });
        let mut full = vec!["role".to_string(), imp.to_string()];
        full.extend_from_slice(&args[1..]);
        let mut cmd = Command::new(exe);
        cmd.args(&full);
        match bind {
            Some(ep) => cmd.env(crate::common::BIND_ENV, ep),
            None => cmd.env_remove(crate::common::BIND_ENV),
        };
        Proc::spawn(name, &mut cmd)
    }

    pub fn spawn(name: &str, cmd: &mut Command) -> Proc {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        let stdin = child.stdin.take();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Proc {
            name: name.to_string(),
            child,
            stdin,
            rx,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a line starting with `prefix` and returns the rest.
    pub fn expect(&mut self, prefix: &str, timeout: Duration) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return Ok(rest.trim().to_string());
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!("{}: timeout waiting for {prefix}", self.name))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let st = self.child.wait().ok();
                    return Err(format!("{}: exited ({st:?}) before {prefix}", self.name));
                }
            }
        }
    }

    pub fn result(&mut self, timeout: Duration) -> Result<HashMap<String, f64>, String> {
        let rest = self.expect("RESULT", timeout)?;
        Ok(rest
            .split_whitespace()
            .filter_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                Some((k.to_string(), v.parse().ok()?))
            })
            .collect())
    }

    /// Writes one line to the child's stdin (a publisher's "go").
    pub fn send_line(&mut self, line: &str) -> Result<(), String> {
        let s = self
            .stdin
            .as_mut()
            .ok_or_else(|| format!("{}: stdin closed", self.name))?;
        s.write_all(format!("{line}\n").as_bytes())
            .and_then(|_| s.flush())
            .map_err(|e| format!("{}: write stdin: {e}", self.name))
    }

    /// Lets a sender report and exit.
    pub fn release(&mut self) {
        if let Some(mut s) = self.stdin.take() {
            let _ = s.write_all(b"go\n");
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// VmRSS of a process, in bytes.
pub fn rss(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0)
}

/// CPU time (user + system, all threads) of a process in seconds, from its CPU-time clock
/// (clock_getcpuclockid: nanosecond resolution), else utime + stime from /proc/PID/stat (ticks).
pub fn proc_cpu(pid: u32) -> Option<f64> {
    let mut clk: libc::clockid_t = 0;
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: out-parameters we own.
    let ok = unsafe {
        libc::clock_getcpuclockid(pid as libc::pid_t, &mut clk) == 0
            && libc::clock_gettime(clk, &mut ts) == 0
    };
    if ok {
        return Some(ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9);
    }
    proc_cpu_ticks(pid)
}

fn proc_cpu_ticks(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5), counted from the state field (3).
    let ut: f64 = f.get(11)?.parse().ok()?;
    let st: f64 = f.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some((ut + st) / hz)
}

// ---------------------------------------------------------------- the cells

type Metrics = Vec<(String, f64)>;

fn s(x: impl ToString) -> String {
    x.to_string()
}

pub fn thr_count(size: usize, scale: f64) -> usize {
    let base = match size {
        0..=64 => 4_000_000,
        65..=1024 => 2_000_000,
        1025..=16384 => 300_000,
        16385..=262144 => 40_000,
        _ => 3_000,
    };
    ((base as f64 * scale) as usize).max(100)
}

/// One-way throughput: the receiver role `{kind}-recv` binds (tcp://127.0.0.1:0, or `bind`),
/// the sender `{kind}-send` connects and sends `count` messages (kind `thr`: DEALER -> ROUTER;
/// `push`: PUSH -> PULL).
fn run_thr(
    kind: &str,
    imp: &str,
    size: usize,
    count: usize,
    bind: Option<&str>,
) -> Result<Metrics, String> {
    // Generous for the slowest implementation; a stalled run fails instead of holding the round.
    let t = Duration::from_secs(60);
    let (recv, send) = (format!("{kind}-recv"), format!("{kind}-send"));
    let mut rx = Proc::role_bind(
        &format!("{imp} {recv}"),
        &[s(imp), recv, s(size), s(count)],
        bind,
    );
    let ep = bound(&mut rx, bind)?;
    let mut tx = Proc::role(
        &format!("{imp} {send}"),
        &[s(imp), send, ep, s(size), s(count)],
    );
    let r = rx.result(t)?;
    tx.release();
    let w = tx.result(Duration::from_secs(20))?;
    let mut m = vec![
        (s("msgs_per_s"), r["msgs_per_s"]),
        (s("mb_per_s"), r["mb_per_s"]),
    ];
    let per_m = 1e6 / count as f64;
    m.push((s("cpu_recv_s_per_M"), r["cpu_s"] * per_m));
    m.push((s("cpu_send_s_per_M"), w["cpu_s"] * per_m));
    m.push((s("cpu_total_s_per_M"), (r["cpu_s"] + w["cpu_s"]) * per_m));
    Ok(m)
}

/// One-way throughput over inproc:// in one process (role `inproc-thr`): the receiver binds,
/// the sender connects and sends `count` messages from another task or thread of the same
/// process; the process reports the thr receiver's RESULT line, its `cpu_s` being the whole
/// process's (sender, receiver and whatever runs between them, over its whole life).
fn run_inproc(imp: &str, size: usize, count: usize) -> Result<Metrics, String> {
    // Generous for the slowest implementation; a stalled run fails instead of holding the
    // round (dropping the Proc kills and reaps it).
    let t = Duration::from_secs(90);
    let mut p = Proc::role(
        &format!("{imp} inproc-thr"),
        &[s(imp), s("inproc-thr"), s(size), s(count)],
    );
    let r = p.result(t)?;
    let per_m = 1e6 / count as f64;
    Ok(vec![
        (s("msgs_per_s"), r["msgs_per_s"]),
        (s("mb_per_s"), r["mb_per_s"]),
        (s("cpu_s_per_M"), r["cpu_s"] * per_m),
    ])
}

/// The implementations of the inproc cell, in round order: the ceiling first, then those of
/// `impls` that have inproc.
pub fn inproc_impls(impls: &[String]) -> Vec<String> {
    std::iter::once(INPROC_CEILING.to_string())
        .chain(
            impls
                .iter()
                .filter(|i| {
                    base(i) != INPROC_CEILING && !NO_INPROC.iter().any(|(n, _)| *n == base(i))
                })
                .cloned(),
        )
        .collect()
}

/// Messages the publisher sends in a pubsub case: as many deliveries (messages received, over
/// all SUBs) as the thr cell sends messages of that size; so the thr count divided among the
/// subscribers when each gets everything, the whole thr count (a multiple of `topics`) when
/// each gets one topic of `topics`.
pub fn pubsub_count(size: usize, topics: usize, scale: f64) -> usize {
    let deliveries = thr_count(size, scale);
    // Without topics (0), every SUB gets every message.
    deliveries
        .checked_div(topics)
        .map_or(deliveries / PUBSUB_SUBS, |per_topic| per_topic * topics)
}

/// One PUB process, `PUBSUB_SUBS` SUB processes, subscribed to everything (`topics` = 0) or SUB
/// `i` to topic `i` of `topics`. The publisher sends warm-up messages until every subscriber
/// has said it got one (`JOINED`), then, told to go, `count` timed messages (cycling over the
/// topics); each subscriber counts until it has its share or saw nothing for
/// `common::SUB_IDLE`. The publisher's `SENT` line says how many it sent per topic; every
/// subscriber's count is checked against its topic's, with the sequence numbers the messages
/// carry: received + skipped = the last one seen + 1, no more than sent, and all of them unless
/// it ended idle (the publisher dropped some).
fn run_pubsub(
    imp: &str,
    size: usize,
    topics: usize,
    count: usize,
    hwm: usize,
) -> Result<Metrics, String> {
    let mut p = Proc::role(
        &format!("{imp} pub"),
        &[s(imp), s("pub"), s(size), s(count), s(hwm), s(topics)],
    );
    let ep = p.expect("READY", Duration::from_secs(20))?;
    // SUB i's topic argument and the messages it should get.
    let share = count.checked_div(topics).unwrap_or(count);
    let topic_of = |i: usize| {
        if topics == 0 {
            s("all")
        } else {
            s(i % topics)
        }
    };
    let mut subs: Vec<Proc> = (0..PUBSUB_SUBS)
        .map(|i| {
            Proc::role(
                &format!("{imp} sub {i}"),
                &[
                    s(imp),
                    s("sub"),
                    ep.clone(),
                    s(size),
                    s(share),
                    s(hwm),
                    topic_of(i),
                ],
            )
        })
        .collect();
    for sub in &mut subs {
        sub.expect("JOINED", Duration::from_secs(20))?;
    }
    let cpu0 = proc_cpu(p.pid()).ok_or("no publisher cpu")?;
    p.send_line("go")?;
    let mut res = Vec::with_capacity(PUBSUB_SUBS);
    for sub in &mut subs {
        res.push(sub.result(Duration::from_secs(90))?);
    }
    let cpu1 = proc_cpu(p.pid()).ok_or("publisher died")?;
    let sent = p.expect("SENT", Duration::from_secs(10))?;
    p.release();
    let kv: HashMap<&str, f64> = sent
        .split_whitespace()
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k, v.parse().ok()?))
        })
        .collect();
    let field = |k: &str| kv.get(k).copied().ok_or(format!("SENT line without {k}"));
    let send_s = field("send_s")?;
    if field("sent")? != count as f64 {
        return Err(format!("publisher sent {}, not {count}", field("sent")?));
    }
    // What each SUB's topic got from the publisher.
    let mut sent_to = Vec::with_capacity(PUBSUB_SUBS);
    for i in 0..PUBSUB_SUBS {
        let t = if topics == 0 { 0 } else { i % topics };
        let n = field(&format!("t{t}"))?;
        if n != share as f64 {
            return Err(format!("publisher sent {n} of topic {t}, not {share}"));
        }
        sent_to.push(n);
    }
    // Each SUB's count against what was sent to it: the sequence numbers it saw go up to
    // `seen` (no further than sent), each of them received or a gap (dropped), and a SUB that
    // did not end idle got them all.
    for (i, (r, &n)) in res.iter().zip(&sent_to).enumerate() {
        let (got, gaps, seen) = (r["got"], r["gaps"], r["seen"]);
        if got + gaps != seen || seen > n || (r["idle_end"] == 0.0 && got != n) {
            return Err(format!(
                "sub {i}: got {got} + gaps {gaps} != seen {seen}, or more than the {n} sent to \
                 it, or fewer without an idle end ({})",
                r["idle_end"]
            ));
        }
    }
    let med = |v: Vec<f64>| crate::report::median(v).unwrap_or(f64::NAN);
    let rates: Vec<f64> = res.iter().map(|r| r["msgs_per_s"]).collect();
    let got: Vec<f64> = res.iter().map(|r| r["got"]).collect();
    let total_got: f64 = got.iter().sum();
    let total_sent: f64 = sent_to.iter().sum();
    let worst = got
        .iter()
        .zip(&sent_to)
        .map(|(g, n)| 1.0 - g / n)
        .fold(0.0, f64::max);
    let n = count as f64;
    Ok(vec![
        (s("msgs_per_s_median"), med(rates.clone())),
        (
            s("msgs_per_s_min"),
            rates.iter().cloned().fold(f64::INFINITY, f64::min),
        ),
        (s("loss_pct"), 100.0 * (1.0 - total_got / total_sent)),
        (s("loss_pct_max"), 100.0 * worst),
        (s("pub_cpu_s_per_M"), (cpu1 - cpu0) / n * 1e6),
        // Per message that reached a SUB: a publisher that drops at SNDHWM writes less, so
        // per message published it looks cheaper for delivering less.
        (
            s("pub_cpu_s_per_M_delivered"),
            (cpu1 - cpu0) / total_got.max(1.0) * 1e6,
        ),
        (
            s("sub_cpu_s_per_M"),
            med(res
                .iter()
                .map(|r| r["cpu_s"] / r["got"].max(1.0) * 1e6)
                .collect()),
        ),
        (s("pub_send_msgs_per_s"), n / send_s),
        (s("subs_idle_end"), res.iter().map(|r| r["idle_end"]).sum()),
    ])
}

/// A round-trip cell's run: the server role `server` (`echo`, `rep`) binds
/// (tcp://127.0.0.1:0, or `bind`), the client role `client` (`lat`, `req`) connects and times
/// `warm` + `count` round trips of `size` bytes, one in flight.
fn run_rt(
    imp: &str,
    server: &str,
    client: &str,
    size: usize,
    warm: usize,
    count: usize,
    bind: Option<&str>,
) -> Result<Metrics, String> {
    let mut srv = Proc::role_bind(&format!("{imp} {server}"), &[s(imp), s(server)], bind);
    let ep = bound(&mut srv, bind)?;
    let mut cl = Proc::role(
        &format!("{imp} {client}"),
        &[s(imp), s(client), ep, s(size), s(warm), s(count)],
    );
    let r = cl.result(Duration::from_secs(180))?;
    Ok(["p50_ns", "p99_ns", "p999_ns", "mean_ns"]
        .iter()
        .map(|k| (s(k).replace("_ns", "_us"), r[*k] / 1e3))
        .collect())
}

fn run_lat(
    imp: &str,
    size: usize,
    warm: usize,
    count: usize,
    bind: Option<&str>,
) -> Result<Metrics, String> {
    run_rt(imp, "echo", "lat", size, warm, count, bind)
}

/// The endpoint a server role printed as READY; if it was told to bind `bind`, it must be
/// that one (a role that ignored it would measure TCP in the ipc cell).
fn bound(p: &mut Proc, bind: Option<&str>) -> Result<String, String> {
    let ep = p.expect("READY", Duration::from_secs(20))?;
    match bind {
        Some(b) if ep != b => Err(format!("{}: bound {ep}, not {b}", p.name)),
        _ => Ok(ep),
    }
}

/// A fresh ipc:// endpoint in the temp dir for one run of the ipc cell; the socket file is
/// removed when this is dropped (after the run's processes, which the run function kills and
/// reaps before returning), whether the implementation removed it or not.
struct IpcEndpoint {
    path: PathBuf,
    ep: String,
}

impl IpcEndpoint {
    fn new() -> IpcEndpoint {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("zbench-{}-{n}.sock", std::process::id()));
        let ep = format!("ipc://{}", path.display());
        IpcEndpoint { path, ep }
    }
}

impl Drop for IpcEndpoint {
    fn drop(&mut self) {
        use std::os::unix::fs::FileTypeExt;
        if std::fs::symlink_metadata(&self.path).is_ok_and(|m| m.file_type().is_socket()) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The curve cell's implementations among `impls`, in their order: (name in the report, role;
/// both with the `@PATH` if the name has one).
pub fn curve_impls(impls: &[String]) -> Vec<(String, String)> {
    impls
        .iter()
        .filter_map(|i| {
            let (_, role) = CURVE_IMPLS.iter().find(|(n, _)| *n == base(i))?;
            let role = match i.split_once('@') {
                Some((_, p)) => format!("{role}@{p}"),
                None => role.to_string(),
            };
            Some((i.clone(), role))
        })
        .collect()
}

/// Fresh server and client key pairs for ZBENCH_CURVE.
fn curve_env() -> String {
    let hex = |k: &[u8; 32]| k.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let (server, client) = (
        zmtp::curve::KeyPair::generate(),
        zmtp::curve::KeyPair::generate(),
    );
    format!(
        "{}:{}:{}:{}",
        hex(&server.secret),
        hex(&server.public),
        hex(&client.secret),
        hex(&client.public)
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_listening(port: u16, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("nothing listening on {port}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn start_broker(kind: &str, cfg: &Cfg) -> Result<(Proc, String, String), String> {
    if kind == "ours" || kind == "ours-lossy" {
        let bin = cfg
            .broker_bin
            .clone()
            .filter(|b| b.exists())
            .ok_or("broker binary not built")?;
        let (pf, pb) = (free_port(), free_port());
        let (fe, be) = (
            format!("tcp://127.0.0.1:{pf}"),
            format!("tcp://127.0.0.1:{pb}"),
        );
        let mut cmd = Command::new(bin);
        cmd.args(["--workers", "0", "--frontend", &fe, "--backend", &be])
            .env("RUST_LOG", "warn");
        if kind == "ours-lossy" {
            cmd.arg("--proxy");
        }
        let p = Proc::spawn(&format!("{kind} broker"), &mut cmd);
        wait_listening(pf, Duration::from_secs(10))?;
        wait_listening(pb, Duration::from_secs(10))?;
        return Ok((p, fe, be));
    }
    let imp = if kind == "ours-proxy" { "ours" } else { kind };
    let mut p = Proc::role(&format!("{kind} proxy"), &[s(imp), s("proxy")]);
    let eps = p.expect("READY", Duration::from_secs(20))?;
    let mut it = eps.split_whitespace();
    let fe = it.next().ok_or("no frontend")?.to_string();
    let be = it.next().ok_or("no backend")?.to_string();
    Ok((p, fe, be))
}

/// The broker cell's cases: (clients, window per client, workers). 4 x 100 and 1 x 1 over 4
/// workers as before; 16 clients x window 10 (many clients); 4 x 100 over 64 workers (many
/// workers: the dispatcher's choice of worker, per request).
pub const BROKER_CASES: &[(usize, usize, usize)] =
    &[(4, 100, 4), (1, 1, 4), (16, 10, 4), (4, 100, 64)];

/// The case's name in the samples and the report: `CxW`, and `-Nw` when not 4 workers.
pub fn broker_case(clients: usize, window: usize, workers: usize) -> String {
    if workers == 4 {
        format!("{clients}x{window}")
    } else {
        format!("{clients}x{window}-{workers}w")
    }
}
pub const BROKER_SIZE: usize = 64;

fn broker_total(clients: usize, window: usize, scale: f64) -> usize {
    let base = if window > 1 { 300_000 } else { 20_000 };
    (((base as f64 * scale) as usize) / clients).max(100) * clients
}

fn run_broker(
    kind: &str,
    cfg: &Cfg,
    clients: usize,
    window: usize,
    workers: usize,
    total: usize,
) -> Result<Metrics, String> {
    let (b, fe, be) = start_broker(kind, cfg)?;
    let mut w = Proc::role(
        "libzmq workers",
        &[s("libzmq"), s("broker-workers"), be, s(workers)],
    );
    w.expect("READY", Duration::from_secs(20))?;
    let warm = (total / 10).max(clients * window);
    let cpu0 = proc_cpu(b.pid()).unwrap_or(0.0);
    let mut l = Proc::role(
        "libzmq load",
        &[
            s("libzmq"),
            s("broker-load"),
            fe,
            s(clients),
            s(window),
            s(total),
            s(warm),
            s(BROKER_SIZE),
        ],
    );
    let r = l.result(Duration::from_secs(240))?;
    let cpu1 = proc_cpu(b.pid()).unwrap_or(0.0);
    drop(l);
    drop(w);
    drop(b);
    let mut m: Metrics = ["req_per_s", "p50_ns", "p99_ns", "p999_ns"]
        .iter()
        .map(|k| {
            let v = r[*k];
            if k.ends_with("_ns") {
                (s(k).replace("_ns", "_us"), v / 1e3)
            } else {
                (s(k), v)
            }
        })
        .collect();
    // Broker CPU over warm-up + measured requests.
    m.push((
        s("broker_cpu_s_per_M"),
        (cpu1 - cpu0) / (total + warm) as f64 * 1e6,
    ));
    Ok(m)
}

/// VmRSS of `pid` once it settles (two reads 500 ms apart within 64 KiB, at most 10 s), for a
/// process that has just taken many connections and may still be doing its per-connection
/// work.
fn settled_rss(pid: u32) -> Result<f64, String> {
    let mut last = 0.0;
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(500));
        let v = rss(pid).ok_or("the process died")?;
        if (v - last).abs() < 64.0 * 1024.0 {
            return Ok(v);
        }
        last = v;
    }
    Ok(last)
}

/// Open file descriptors of a process (entries of /proc/PID/fd).
fn fds(pid: u32) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

/// The open-file limit of this process (and of the children it spawns): the soft limit, which
/// `common::raise_nofile` raised as far as the hard limit lets it.
fn nofile() -> u64 {
    let mut rl: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } != 0 {
        return 0;
    }
    rl.rlim_cur as u64
}

/// Fails unless a process may hold `n` connections and some more files.
fn check_nofile(n: usize) -> Result<(), String> {
    let have = nofile();
    if have < n as u64 + 256 {
        return Err(format!(
            "RLIMIT_NOFILE is {have}, too low for {n} connections (raise the hard limit: \
             `ulimit -Hn`; bench/run.sh asks for 65536)"
        ));
    }
    Ok(())
}

fn run_mem(imp: &str, n: usize) -> Result<Metrics, String> {
    check_nofile(n)?;
    let mut r = Proc::role(&format!("{imp} mem-router"), &[s(imp), s("mem-router")]);
    let ep = r.expect("READY", Duration::from_secs(20))?;
    std::thread::sleep(Duration::from_millis(300));
    let rss0 = rss(r.pid()).ok_or("no rss")?;
    let mut c = Proc::role("raw mem-conns", &[s("raw"), s("mem-conns"), ep, s(n)]);
    c.expect("READY", Duration::from_secs(300))?;
    // Let the router finish whatever it does per connection, then take the settled value.
    let last = settled_rss(r.pid()).map_err(|e| format!("router: {e}"))?;
    drop(c);
    Ok(vec![
        (s("bytes_per_conn"), (last - rss0) / n as f64),
        (s("rss_idle_mb"), rss0 / 1e6),
        (s("rss_loaded_mb"), last / 1e6),
    ])
}

/// The broker's memory with `n` idle clients: the broker of the broker cell (`kind`, started
/// as there) with `BROKERMEM_WORKERS` libzmq echo workers on its backend; its VmRSS once they
/// are connected (idle), then with `n` idle DEALER clients on its frontend (the mem cell's
/// `mem-conns` process: a complete ZMTP handshake each, by hand, then nothing), settled.
/// Then one request from a fresh libzmq client must still go through the broker and a worker
/// and come back (a broker that broke under the clients fails the run).
fn run_brokermem(kind: &str, cfg: &Cfg, n: usize) -> Result<Metrics, String> {
    check_nofile(n)?;
    let (b, fe, be) = start_broker(kind, cfg)?;
    let mut w = Proc::role(
        "libzmq workers",
        &[s("libzmq"), s("broker-workers"), be, s(BROKERMEM_WORKERS)],
    );
    w.expect("READY", Duration::from_secs(20))?;
    std::thread::sleep(Duration::from_millis(300));
    let rss0 = rss(b.pid()).ok_or("no broker rss")?;
    let fds0 = fds(b.pid()).ok_or("no broker fds")?;
    let mut c = Proc::role(
        "raw mem-conns",
        &[s("raw"), s("mem-conns"), fe.clone(), s(n)],
    );
    // A broker that runs out of file descriptors (a few need more than one per connection)
    // resets the connections: say how many it held.
    c.expect("READY", Duration::from_secs(300)).map_err(|e| {
        format!(
            "{e}; the broker held {} file descriptors (limit {})",
            fds(b.pid()).map_or("no".into(), |n| n.to_string()),
            nofile()
        )
    })?;
    let last = settled_rss(b.pid()).map_err(|e| format!("broker: {e}"))?;
    let fds1 = fds(b.pid()).ok_or("no broker fds")?;
    // Still serving: a few requests through it, every reply checked by the load generator.
    let mut l = Proc::role(
        "libzmq load",
        &[
            s("libzmq"),
            s("broker-load"),
            fe,
            s(1),
            s(1),
            s(10),
            s(1),
            s(BROKER_SIZE),
        ],
    );
    l.result(Duration::from_secs(60))
        .map_err(|e| format!("no reply through the broker with {n} idle clients: {e}"))?;
    drop(l);
    drop(c);
    drop(w);
    drop(b);
    Ok(vec![
        (s("bytes_per_client"), (last - rss0) / n as f64),
        (s("rss_idle_mb"), rss0 / 1e6),
        (s("rss_loaded_mb"), last / 1e6),
        (s("fds_per_client"), (fds1 as f64 - fds0 as f64) / n as f64),
    ])
}

// ---------------------------------------------------------------- the driver

/// The order in which round `round` (from 1) runs the implementations of each case:
/// counterbalanced, so that no implementation always runs first, or always after the same
/// one. Odd rounds run the list as given, even rounds backwards, and each pair of rounds starts
/// one place further on. Two implementations alternate, AB BA AB ... A fixed order gave
/// different medians: the broker cell at 16 x 10 over 7 rounds was 0.91 (ours/libzmq) with
/// libzmq always first, and 1.10 with ours always first.
pub fn round_order<T: Clone>(list: &[T], round: usize) -> Vec<T> {
    let mut o = list.to_vec();
    if !o.is_empty() {
        let shift = (round.saturating_sub(1) / 2) % o.len();
        o.rotate_left(shift);
    }
    if round.is_multiple_of(2) {
        o.reverse();
    }
    o
}

pub fn main(args: &[String]) {
    let cfg = parse(args);
    std::fs::create_dir_all(&cfg.out).unwrap();
    pin_exe(&cfg.out);
    let tsv_path = cfg.out.join(format!("samples-{}.tsv", cfg.mode));
    let mut tsv = std::fs::File::create(&tsv_path).unwrap();
    writeln!(tsv, "round\tcell\tcase\timpl\tmetric\tvalue").unwrap();
    let mut samples: Vec<Sample> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let has = |c: &str| cfg.cells.iter().any(|x| x == c);
    let t_start = Instant::now();
    let mut loads: Vec<String> = Vec::new();

    for round in 1..=cfg.rounds {
        let la = loadavg();
        eprintln!(
            "=== round {round}/{} ({:.0?}, loadavg {la})",
            cfg.rounds,
            t_start.elapsed()
        );
        loads.push(la);
        let (impls, brokers) = (
            round_order(&cfg.impls, round),
            round_order(&cfg.brokers, round),
        );
        let mut record = |cell: &str, case: &str, imp: &str, res: Result<Metrics, String>| match res
        {
            Ok(ms) => {
                let brief: Vec<String> = ms.iter().map(|(k, v)| format!("{k}={v:.3}")).collect();
                eprintln!("  {cell} {case} {imp}: {}", brief.join(" "));
                for (k, v) in ms {
                    writeln!(tsv, "{round}\t{cell}\t{case}\t{imp}\t{k}\t{v}").unwrap();
                    samples.push(Sample {
                        cell: s(cell),
                        case: s(case),
                        imp: s(imp),
                        metric: k,
                        value: v,
                    });
                }
            }
            Err(e) => {
                eprintln!("  {cell} {case} {imp}: FAILED {e}");
                failures.push(format!("round {round} {cell} {case} {imp}: {e}"));
            }
        };
        if has("thr") {
            for &size in &cfg.sizes {
                let count = thr_count(size, cfg.scale);
                for imp in &impls {
                    record("thr", &s(size), imp, run_thr("thr", imp, size, count, None));
                }
            }
        }
        let (lat_warm, lat_count) = (
            (2000.0 * cfg.scale.max(0.5)) as usize,
            (40_000.0 * cfg.scale).max(1000.0) as usize,
        );
        if has("lat") {
            for imp in impls.iter().filter(|i| !is_in(THR_ONLY, i)) {
                record(
                    "lat",
                    "64",
                    imp,
                    run_lat(imp, 64, lat_warm, lat_count, None),
                );
            }
        }
        if has("reqrep") {
            // The lat cell's round trips with REQ and REP sockets: every implementation with
            // socket types, the same warm-up and count; each reply checked byte for byte.
            for imp in cfg
                .impls
                .iter()
                .filter(|i| !is_in(THR_ONLY, i) && !is_in(NO_SOCKETS, i))
            {
                let res = run_rt(imp, "rep", "req", REQREP_SIZE, lat_warm, lat_count, None);
                record("reqrep", &s(REQREP_SIZE), imp, res);
            }
        }
        if has("broker") {
            for &(clients, window, workers) in BROKER_CASES {
                let total = broker_total(clients, window, cfg.scale);
                let case = broker_case(clients, window, workers);
                for kind in &brokers {
                    record(
                        "broker",
                        &case,
                        kind,
                        run_broker(kind, &cfg, clients, window, workers, total),
                    );
                }
            }
        }
        if has("brokermem") {
            for &n in &cfg.broker_clients {
                for kind in &brokers {
                    record("brokermem", &s(n), kind, run_brokermem(kind, &cfg, n));
                }
            }
        }
        if has("mem") {
            for &n in &cfg.conns {
                for imp in cfg
                    .impls
                    .iter()
                    .filter(|i| base(i) != "raw" && !is_in(THR_ONLY, i))
                {
                    record("mem", &s(n), imp, run_mem(imp, n));
                }
            }
        }
        if has("push") {
            for &size in &cfg.push_sizes {
                let count = thr_count(size, cfg.scale);
                for imp in impls.iter().filter(|i| !is_in(NO_SOCKETS, i)) {
                    record(
                        "push",
                        &s(size),
                        imp,
                        run_thr("push", imp, size, count, None),
                    );
                }
            }
        }
        if has("pubsub") {
            for &(case, size, topics) in PUBSUB_CASES {
                let count = pubsub_count(size, topics, cfg.scale);
                for imp in impls.iter().filter(|i| !is_in(NO_SOCKETS, i)) {
                    record(
                        "pubsub",
                        case,
                        imp,
                        run_pubsub(imp, size, topics, count, cfg.pub_hwm),
                    );
                }
            }
        }
        if has("ipc") {
            // The thr cell's DEALER -> ROUTER runs and the lat cell's echo over ipc://: the same
            // roles, the server binding a fresh socket file in the temp dir.
            for &size in &cfg.ipc_sizes {
                let count = thr_count(size, cfg.scale);
                for imp in &impls {
                    let ipc = IpcEndpoint::new();
                    let res = run_thr("thr", imp, size, count, Some(&ipc.ep));
                    record("ipc", &s(size), imp, res);
                }
            }
            for imp in impls.iter().filter(|i| !is_in(THR_ONLY, i)) {
                let ipc = IpcEndpoint::new();
                let res = run_lat(imp, 64, lat_warm, lat_count, Some(&ipc.ep));
                record("ipc", "lat-64", imp, res);
            }
        }
        if has("curve") {
            // The thr and lat cells' DEALER -> ROUTER roles with CURVE on (the ROUTER the
            // server): fresh key pairs per round, handed to the roles in ZBENCH_CURVE.
            std::env::set_var(crate::common::CURVE_ENV, curve_env());
            for &size in &cfg.curve_sizes {
                let count = thr_count(size, cfg.scale);
                for (name, role) in curve_impls(&impls) {
                    record(
                        "curve",
                        &s(size),
                        &name,
                        run_thr("thr", &role, size, count, None),
                    );
                }
            }
            for (name, role) in curve_impls(&impls) {
                if !is_in(THR_ONLY, &name) {
                    let res = run_lat(&role, 64, lat_warm, lat_count, None);
                    record("curve", "lat-64", &name, res);
                }
            }
            std::env::remove_var(crate::common::CURVE_ENV);
        }
        if has("inproc") {
            // One process per run, sender and receiver in it, over inproc://.
            for &size in &cfg.inproc_sizes {
                let count = thr_count(size, cfg.scale);
                for imp in round_order(&inproc_impls(&cfg.impls), round) {
                    record("inproc", &s(size), &imp, run_inproc(&imp, size, count));
                }
            }
        }
    }
    if let Some(p) = EXE.get() {
        let _ = std::fs::remove_file(p);
    }
    loads.push(loadavg());
    let md = report::render(&cfg, &samples, &failures, &loads);
    let md_path = cfg.out.join(format!("report-{}.md", cfg.mode));
    std::fs::write(&md_path, &md).unwrap();
    println!("{md}");
    eprintln!(
        "wrote {} and {} in {:.0?}",
        md_path.display(),
        tsv_path.display(),
        t_start.elapsed()
    );
}

#[cfg(test)]
mod tests {
    use super::round_order;

    #[test]
    fn two_implementations_alternate() {
        let ab = ["a", "b"];
        let orders: Vec<Vec<&str>> = (1..=4).map(|r| round_order(&ab, r)).collect();
        assert_eq!(orders, [["a", "b"], ["b", "a"], ["b", "a"], ["a", "b"]]);
    }

    #[test]
    fn no_implementation_is_always_first_or_always_after_the_same_one() {
        let list = ["raw", "libzmq", "ours", "zmqrs", "omq"];
        let orders: Vec<Vec<&str>> = (1..=5).map(|r| round_order(&list, r)).collect();
        for o in &orders {
            let mut sorted = o.clone();
            sorted.sort_unstable();
            let mut want = list.to_vec();
            want.sort_unstable();
            assert_eq!(sorted, want, "every round runs each implementation once");
        }
        for imp in list {
            let firsts = orders.iter().filter(|o| o[0] == imp).count();
            assert!(firsts < orders.len(), "{imp} first in every round");
            let before: Vec<Option<&str>> = orders
                .iter()
                .map(|o| {
                    let i = o.iter().position(|x| *x == imp).unwrap();
                    i.checked_sub(1).map(|j| o[j])
                })
                .collect();
            assert!(
                before.iter().any(|b| *b != before[0]),
                "{imp} always after {:?}",
                before[0]
            );
        }
        assert!(round_order::<&str>(&[], 3).is_empty());
    }
}
