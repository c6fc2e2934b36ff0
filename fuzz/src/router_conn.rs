//! The body of the `router_conn` fuzz target: arbitrary bytes fed to a real [`zmtp::Router`]
//! over TCP, as a peer would send them.
//!
//! Shared, not copied: `fuzz/fuzz_targets/router_conn.rs` and the corpus replay test
//! (`zmtp/tests/fuzz_replay_router.rs`) both pull this file in with `#[path = ...] mod
//! router_conn;`. It may use only `std`, `bytes`, `tokio` and `zmtp` (with its `tokio`
//! feature).
//!
//! One process-wide [`Harness`], made on first use: a tokio runtime with one worker thread and
//! two ROUTERs bound on `tcp://127.0.0.1:0` with options like the broker's frontend
//! (MAXMSGSIZE 1 MiB, HANDSHAKE_IVL 100 ms) plus heartbeats (PING every 25 ms, 100 ms
//! timeout), the second also with ROUTER_HANDOVER; each has a task that receives every message
//! and echoes it to its sender with `try_send`, so the outbound path runs too. Each input is
//! one blocking `std::net::TcpStream` connection (two with flags bit 7) from the fuzzing
//! thread; the routers serve them on the runtime's worker.
//!
//! Layout of an input: a flags byte, then ops until the input ends.
//! - flags bit 0: send a valid greeting (ZMTP 3.1, NULL) first; bit 1 (with bit 0): and a
//!   READY for a DEALER; bit 2: the READY carries the routing id `fuzz-id` (identity clashes
//!   when an earlier connection with it is still up); bit 3: after the ops, drop the connection
//!   without half-closing or reading (a reset when router bytes are unread); bit 4: before
//!   closing, read until the router has been quiet for [`DRAIN_QUIET`] (so that PONGs and
//!   echoes are written: a router that reads EOF drops the output it has not written yet);
//!   bit 5: sleep ops are long (see below); bit 6: use the second router, which has
//!   ROUTER_HANDOVER; bit 7: a twin connection, a well-behaved DEALER with routing id
//!   `fuzz-id` that sends one message, is up while the ops run (with bit 2 the two clash: the
//!   newcomer is ignored, or with bit 6 takes the id over and the twin is disconnected), and is
//!   drained, closed and checked like the main one afterwards.
//! - op byte `c`, by `c >> 6`: 0 = a literal of the next `(c & 63) + 1` bytes; 1 = a literal
//!   whose length is the next big-endian u16; 2 = a fill of `((c & 63) + 1) * 4096` copies of
//!   the next byte; 3 = sleep `c & 63` ms with flags bit 5 (at most [`MAX_DELAY`] per input),
//!   else `10 * (c & 63)` µs (at most [`MAX_PAUSE`]: inputs stay fast). Each op is one
//!   `write` (TCP_NODELAY), so chunk boundaries and pauses reach the router's reads.
//!
//! After the ops (and the drain) the connection is half-closed and read until EOF (or
//! [`EOF_WAIT`]). Checks:
//! - no panic, in the harness or in the router's tasks (libfuzzer-sys's panic hook aborts the
//!   process on any panic, a tokio task's included; in the replay test a task panic is caught
//!   by tokio and shows up only if it breaks the liveness check);
//! - what the router sent is well-formed ZMTP: a NULL greeting, then frames, the first one
//!   READY with `Socket-Type` ROUTER, every command parsable; and at most twice what we sent
//!   plus [`OUT_SLACK`] (PONGs and echoes cannot grow it without bound): per connection when
//!   its routing id is its own (flags `xxxxx011`: our handshake without `Identity`, so the
//!   router generated the id), over all connections of the process otherwise;
//! - every [`CHECK_EVERY`] inputs (and in [`check_now`]): a fresh `zmtp::Dealer` connects to
//!   each router and gets its message echoed within [`LIVENESS_TIMEOUT`] (the accept loop, the
//!   router and the echo task are alive), the process RSS stays under [`MAX_RSS`], and it holds
//!   fewer than [`MAX_FDS`] descriptors (no leaked connections).
#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use zmtp::protocol::codec::{FrameDecoder, OutBuf};
use zmtp::protocol::command::Command;
use zmtp::protocol::greeting::{self, Greeting, GREETING_LEN, MECHANISM_NULL};
use zmtp::protocol::mechanism::null;
use zmtp::{Dealer, Message, Router, SocketOptions, SocketType};

/// MAXMSGSIZE of the router under test.
pub const MAX_MSG_SIZE: u64 = 1 << 20;
/// Stop writing after this many bytes.
pub const MAX_WRITE: usize = 4 << 20;
/// Total sleep per input with flags bit 5 (enough for the handshake and heartbeat timeouts).
pub const MAX_DELAY: Duration = Duration::from_millis(150);
/// Total sleep per input without it.
pub const MAX_PAUSE: Duration = Duration::from_millis(5);
/// How long to wait for the router to close after our half-close.
pub const EOF_WAIT: Duration = Duration::from_millis(100);
/// With flags bit 4: before closing, read until the router is quiet this long...
pub const DRAIN_QUIET: Duration = Duration::from_millis(10);
/// ...or this long has passed.
pub const DRAIN_MAX: Duration = Duration::from_millis(200);
/// Read and write timeout of the fuzzing connection (a write blocked this long is a finding:
/// the router stopped reading).
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Router output kept for checking (the rest is read and counted).
pub const MAX_KEPT: usize = 1 << 20;
/// Router output allowed on top of twice the bytes we wrote.
pub const OUT_SLACK: usize = 128 << 10;
/// Inputs between liveness and resource checks (a power of two).
pub const CHECK_EVERY: u64 = 64;
const _: () = assert!(CHECK_EVERY.is_power_of_two());
/// A fresh DEALER must get its echo within this (several tries).
pub const LIVENESS_TIMEOUT: Duration = Duration::from_secs(15);
/// A connection or liveness check that takes longer is reported on stderr (not a failure).
pub const SLOW: Duration = Duration::from_secs(1);
/// Process RSS bound.
pub const MAX_RSS: u64 = 512 << 20;
/// Open descriptor bound.
pub const MAX_FDS: usize = 512;

/// The process-wide routers under test.
pub struct Harness {
    rt: tokio::runtime::Runtime,
    /// `[0]`: libzmq's defaults otherwise; `[1]`: with ROUTER_HANDOVER.
    targets: [Target; 2],
    inputs: AtomicU64,
    /// Bytes written to and read from the routers, and connections made, over all inputs.
    written: AtomicU64,
    read: AtomicU64,
    conns: AtomicU64,
    /// Serialises inputs (the replay test may run on several threads).
    lock: Mutex<()>,
}

/// A bound router and the task echoing its messages.
pub struct Target {
    router: Router,
    addr: SocketAddr,
    endpoint: String,
}

static HARNESS: OnceLock<Harness> = OnceLock::new();

/// The router's options: the broker frontend's limits with short timers; ROUTER_HANDOVER if
/// asked.
pub fn router_options(handover: bool) -> SocketOptions {
    let mut o = SocketOptions::default();
    o.router_handover = handover;
    o.maxmsgsize = Some(MAX_MSG_SIZE);
    o.handshake_ivl = Some(Duration::from_millis(100));
    o.heartbeat_ivl = Some(Duration::from_millis(25));
    o.heartbeat_timeout = Some(Duration::from_millis(100));
    o.linger = Some(Duration::ZERO);
    o
}

pub fn harness() -> &'static Harness {
    HARNESS.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let targets = [false, true].map(|handover| start_router(&rt, handover));
        Harness {
            rt,
            targets,
            inputs: AtomicU64::new(0),
            written: AtomicU64::new(0),
            read: AtomicU64::new(0),
            conns: AtomicU64::new(0),
            lock: Mutex::new(()),
        }
    })
}

fn start_router(rt: &tokio::runtime::Runtime, handover: bool) -> Target {
    let (router, addr) = rt.block_on(async {
        let router = Router::with_options(router_options(handover)).expect("router options");
        let ep = router.bind("tcp://127.0.0.1:0").expect("bind");
        let port: u16 = ep
            .to_string()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("bound port");
        (router, SocketAddr::from(([127, 0, 0, 1], port)))
    });
    let echo = router.clone();
    rt.spawn(async move {
        while let Ok(msg) = echo.recv().await {
            // Unknown (gone) or full peers: dropped, as a broker would.
            let _ = echo.try_send(msg);
        }
    });
    Target {
        router,
        endpoint: format!("tcp://{addr}"),
        addr,
    }
}

/// A valid greeting (ZMTP 3.1, NULL, as client), then READY for a DEALER when `ready`.
pub fn handshake_bytes(ready: bool, identity: &[u8]) -> Vec<u8> {
    let mut v = Greeting::ours(MECHANISM_NULL, false).to_vec();
    if ready {
        let mut out = OutBuf::new();
        null::ready_command(SocketType::Dealer, &Bytes::copy_from_slice(identity)).encode(&mut out);
        v.extend_from_slice(&out.to_vec());
    }
    v
}

/// What the connection sends: each element is one `write`, or a pause.
#[derive(Debug, PartialEq, Eq)]
pub enum Op {
    Write(Vec<u8>),
    Sleep(Duration),
}

/// The parsed input.
#[derive(Debug)]
pub struct Plan {
    pub ops: Vec<Op>,
    /// Drop without half-close or reading (after the drain, if any).
    pub abort: bool,
    /// Read until the router is quiet before closing.
    pub drain: bool,
    /// Use the router with ROUTER_HANDOVER.
    pub handover: bool,
    /// A well-behaved DEALER (routing id `fuzz-id`) is connected during the ops.
    pub twin: bool,
    /// Our handshake without `Identity`: the router gives the connection a fresh routing id,
    /// so everything it sends there answers bytes of this connection.
    pub own_id: bool,
}

/// Parses an input (see the module docs for the layout).
pub fn plan(data: &[u8]) -> Plan {
    let (&flags, mut rest) = data.split_first().unwrap_or((&0, &[]));
    let mut ops = Vec::new();
    let mut written = 0usize;
    let mut slept = Duration::ZERO;
    let slow = flags & 32 != 0;
    if flags & 1 != 0 {
        let id: &[u8] = if flags & 4 != 0 { b"fuzz-id" } else { b"" };
        let hs = handshake_bytes(flags & 2 != 0, id);
        written += hs.len();
        ops.push(Op::Write(hs));
    }
    while let Some((&c, tail)) = rest.split_first() {
        rest = tail;
        if written >= MAX_WRITE {
            break;
        }
        let arg = usize::from(c & 63);
        let bytes = match c >> 6 {
            0 => take(&mut rest, arg + 1).to_vec(),
            1 => {
                let n = take(&mut rest, 2);
                let n = n.iter().fold(0usize, |a, &b| a << 8 | usize::from(b));
                take(&mut rest, n).to_vec()
            }
            2 => {
                let v = take(&mut rest, 1).first().copied().unwrap_or(0);
                vec![v; (arg + 1) * 4096]
            }
            _ => {
                let (d, max) = if slow {
                    (Duration::from_millis(arg as u64), MAX_DELAY)
                } else {
                    (Duration::from_micros(10 * arg as u64), MAX_PAUSE)
                };
                let d = d.min(max.saturating_sub(slept));
                if !d.is_zero() {
                    slept += d;
                    ops.push(Op::Sleep(d));
                }
                continue;
            }
        };
        if bytes.is_empty() {
            continue;
        }
        let bytes = if written + bytes.len() > MAX_WRITE {
            bytes[..MAX_WRITE - written].to_vec()
        } else {
            bytes
        };
        written += bytes.len();
        ops.push(Op::Write(bytes));
    }
    Plan {
        ops,
        abort: flags & 8 != 0,
        drain: flags & 16 != 0,
        handover: flags & 64 != 0,
        twin: flags & 128 != 0,
        own_id: flags & 7 == 3,
    }
}

/// Up to `n` bytes off the front of `rest`.
fn take<'a>(rest: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (head, tail) = rest.split_at(n.min(rest.len()));
    *rest = tail;
    head
}

/// The fuzz target: one connection carrying `data`, then the periodic checks.
pub fn router_conn(data: &[u8]) {
    let h = harness();
    let _guard = h.lock.lock().unwrap_or_else(|e| e.into_inner());
    let plan = plan(data);
    run_connection(h, &plan);
    let n = h.inputs.fetch_add(1, Ordering::Relaxed) + 1;
    // (A power of two: a mask, not `%`, which clippy wants as `is_multiple_of` (Rust 1.87).)
    if n & (CHECK_EVERY - 1) == 0 {
        check(h);
    }
}

/// Runs the periodic checks now (the replay test calls it after the corpus).
pub fn check_now() {
    let h = harness();
    let _guard = h.lock.lock().unwrap_or_else(|e| e.into_inner());
    check(h);
}

fn run_connection(h: &Harness, plan: &Plan) {
    let t0 = Instant::now();
    let target = &h.targets[usize::from(plan.handover)];
    // The twin: handshake and one message, then it waits (and reads) while the ops run.
    let mut twin = plan.twin.then(|| {
        let mut b = Conn::open(target, false);
        let mut hello = handshake_bytes(true, b"fuzz-id");
        hello.extend_from_slice(&[1, 0, 0, 4]);
        hello.extend_from_slice(b"twin");
        b.write(&hello);
        b
    });
    let mut a = Conn::open(target, plan.own_id);
    for op in &plan.ops {
        match op {
            Op::Sleep(d) => std::thread::sleep(*d),
            Op::Write(b) => {
                if !a.write(b) {
                    break;
                }
            }
        }
    }
    if plan.drain {
        // Let the router answer (PONGs, echoes) before it sees our FIN: on EOF it drops what
        // it has not written yet.
        a.drain();
    }
    if plan.abort {
        a.account(h);
    } else {
        a.finish();
        if verbose() || t0.elapsed() > SLOW {
            eprintln!(
                "router_conn: wrote {}, read {}, {:?}, drain {}, end {}",
                a.written,
                a.rx.total,
                t0.elapsed(),
                plan.drain,
                a.rx.end.unwrap_or("none (timeout)")
            );
        }
        a.account(h);
        a.check(h);
    }
    if let Some(mut b) = twin.take() {
        b.drain();
        b.finish();
        if verbose() {
            eprintln!(
                "router_conn: twin wrote {}, read {}, end {}",
                b.written,
                b.rx.total,
                b.rx.end.unwrap_or("none (timeout)")
            );
        }
        b.account(h);
        b.check(h);
    }
}

/// A connection to the router under test.
struct Conn {
    s: TcpStream,
    written: usize,
    rx: Received,
    /// See [`Plan::own_id`].
    own_id: bool,
}

impl Conn {
    fn open(t: &Target, own_id: bool) -> Conn {
        let s = TcpStream::connect(t.addr)
            .unwrap_or_else(|e| panic!("connect to the router at {}: {e}", t.addr));
        s.set_nodelay(true).expect("nodelay");
        s.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
        Conn {
            s,
            written: 0,
            rx: Received::default(),
            own_id,
        }
    }

    /// Writes all of `b`. False if the router closed the connection.
    fn write(&mut self, mut b: &[u8]) -> bool {
        while !b.is_empty() {
            match self.s.write(b) {
                Ok(0) => return false,
                Ok(k) => {
                    self.written += k;
                    b = &b[k..];
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    panic!(
                        "router stopped reading: a write blocked {IO_TIMEOUT:?} after {} bytes",
                        self.written
                    )
                }
                // The router closed the connection (a protocol error, a timeout).
                Err(_) => return false,
            }
        }
        true
    }

    /// Reads until the router has been quiet for [`DRAIN_QUIET`] (at most [`DRAIN_MAX`]).
    fn drain(&mut self) {
        let deadline = Instant::now() + DRAIN_MAX;
        while self.rx.end.is_none() && Instant::now() < deadline {
            if !self.rx.read(&mut self.s, DRAIN_QUIET) {
                break;
            }
        }
    }

    /// Half-closes and reads until EOF (at most [`EOF_WAIT`]).
    fn finish(&mut self) {
        if self.rx.end.is_some() {
            return;
        }
        let _ = self.s.shutdown(Shutdown::Write);
        let deadline = Instant::now() + EOF_WAIT;
        while self.rx.end.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !self.rx.read(&mut self.s, left) {
                break;
            }
        }
    }

    /// Adds this connection's bytes to the process totals.
    fn account(&self, h: &Harness) {
        h.written.fetch_add(self.written as u64, Ordering::Relaxed);
        h.read.fetch_add(self.rx.total as u64, Ordering::Relaxed);
        h.conns.fetch_add(1, Ordering::Relaxed);
    }

    /// What the router sent is well-formed and in proportion: to this connection's bytes if
    /// its routing id is its own, else to all bytes sent so far (a routing id shared with
    /// another connection, of this input or an earlier one, also gets the echoes of that
    /// one's messages: those still queued when it lost the id to a handover, or when it went).
    fn check(&self, h: &Harness) {
        if dump() {
            eprintln!("router_conn: router sent {:02x?}", &self.rx.kept);
        }
        if self.own_id {
            assert!(
                self.rx.total <= 2 * self.written + OUT_SLACK,
                "router sent {} bytes for {} received on this connection",
                self.rx.total,
                self.written
            );
        }
        let (w, r, c) = (
            h.written.load(Ordering::Relaxed),
            h.read.load(Ordering::Relaxed),
            h.conns.load(Ordering::Relaxed),
        );
        assert!(
            r <= 2 * w + c * OUT_SLACK as u64,
            "routers sent {r} bytes for {w} received on {c} connections"
        );
        check_output(&self.rx.kept);
    }
}

/// What the router sent on the fuzzing connection.
#[derive(Default)]
struct Received {
    /// The first [`MAX_KEPT`] bytes.
    kept: Vec<u8>,
    total: usize,
    /// "EOF" or "error" once the connection has ended.
    end: Option<&'static str>,
}

impl Received {
    /// One read, waiting at most `wait`. False if nothing came (timeout or end).
    fn read(&mut self, s: &mut TcpStream, wait: Duration) -> bool {
        let mut buf = [0u8; 64 << 10];
        s.set_read_timeout(Some(wait.max(Duration::from_millis(1))))
            .expect("timeout");
        loop {
            return match s.read(&mut buf) {
                Ok(0) => {
                    self.end = Some("EOF");
                    false
                }
                Ok(k) => {
                    self.total += k;
                    let room = MAX_KEPT.saturating_sub(self.kept.len());
                    self.kept.extend_from_slice(&buf[..k.min(room)]);
                    true
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => false,
                Err(_) => {
                    self.end = Some("error");
                    false
                }
            };
        }
    }
}

/// `ROUTER_CONN_VERBOSE=1`: one line per input on stderr.
fn verbose() -> bool {
    static V: OnceLock<bool> = OnceLock::new();
    *V.get_or_init(|| std::env::var_os("ROUTER_CONN_VERBOSE").is_some_and(|v| v != "0"))
}

/// `ROUTER_CONN_VERBOSE=2`: and the router's output, in hex.
fn dump() -> bool {
    static V: OnceLock<bool> = OnceLock::new();
    *V.get_or_init(|| std::env::var_os("ROUTER_CONN_VERBOSE").is_some_and(|v| v == "2"))
}

/// Checks that `out` (a prefix of what the router sent) is well-formed ZMTP from a ROUTER.
pub fn check_output(out: &[u8]) {
    let g = greeting::parse_partial(out)
        .unwrap_or_else(|e| panic!("router sent a bad greeting: {e:?}: {out:02x?}"));
    let Some(g) = g else { return };
    assert_eq!(g.mechanism, MECHANISM_NULL, "router greeting mechanism");
    assert!(!g.as_server, "NULL greeting with as-server set");
    let mut buf = BytesMut::from(&out[GREETING_LEN..]);
    let mut dec = FrameDecoder::new(None);
    let mut first = true;
    loop {
        let f = match dec.decode(&mut buf) {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => panic!("router sent a bad frame: {e:?}"),
        };
        if first {
            assert!(f.command, "router's first frame is not a command");
            match Command::parse(&f.body) {
                Ok(Command::Ready(md)) => assert_eq!(
                    md.get("Socket-Type").map(|b| &b[..]),
                    Some(&b"ROUTER"[..]),
                    "router's READY"
                ),
                other => panic!("router's first command is not READY: {other:?}"),
            }
            first = false;
        } else if f.command {
            if let Err(e) = Command::parse(&f.body) {
                panic!("router sent a bad command: {e:?}: {:02x?}", &f.body[..]);
            }
        }
    }
}

fn check(h: &Harness) {
    for t in &h.targets {
        let t0 = Instant::now();
        check_liveness(h, t);
        let took = t0.elapsed();
        if verbose() || took > SLOW {
            eprintln!("router_conn: {} alive, echo in {took:?}", t.endpoint);
        }
    }
    if let Some(rss) = rss_bytes() {
        assert!(
            rss <= MAX_RSS,
            "RSS {} MiB over {} MiB",
            rss >> 20,
            MAX_RSS >> 20
        );
    }
    if let Some(fds) = open_fds() {
        assert!(fds < MAX_FDS, "{fds} open descriptors");
    }
}

/// A fresh DEALER connects and gets its message echoed.
fn check_liveness(h: &Harness, t: &Target) {
    let n = h.inputs.load(Ordering::Relaxed);
    let ok = h.rt.block_on(async {
        let mut o = SocketOptions::default();
        o.linger = Some(Duration::ZERO);
        let dealer = Dealer::with_options(o).expect("dealer options");
        dealer.connect(&t.endpoint).expect("connect");
        let body = Bytes::from(format!("live-{n}"));
        let deadline = tokio::time::Instant::now() + LIVENESS_TIMEOUT;
        let mut ok = false;
        // Resend now and then: on a loaded machine a heartbeat timeout may drop the first
        // connection (and the message queued on it) before the echo comes back.
        'tries: while tokio::time::Instant::now() < deadline {
            let _ = dealer.try_send(Message::from_frames([Bytes::new(), body.clone()]));
            let until = (tokio::time::Instant::now() + Duration::from_secs(3)).min(deadline);
            while let Ok(Ok(m)) = tokio::time::timeout_at(until, dealer.recv()).await {
                if m.get(1) == Some(&body) {
                    ok = true;
                    break 'tries;
                }
            }
        }
        dealer.close().await;
        ok
    });
    assert!(
        ok,
        "router at {} dead: no echo to a fresh DEALER within {LIVENESS_TIMEOUT:?} after {n} inputs",
        t.endpoint
    );
}

/// VmRSS of this process, in bytes.
pub fn rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Open descriptors of this process.
pub fn open_fds() -> Option<usize> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count())
}
