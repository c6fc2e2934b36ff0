//! The broker under hostile input and faults (issue #6).
//!
//! Abuse: raw `std::net::TcpStream`s from the test to the broker's frontend send what no
//! well-behaved ZMTP peer sends. Faults: workers and the broker are killed, stopped and
//! terminated under load. Load: many clients at once, exactly-once delivery, and the broker's
//! descriptors and memory before and after.
//!
//! Every case says what it expects and checks it, then checks that the broker is still running
//! and still serves a normal client (our `client` binary, or a pyzmq DEALER). Every process is
//! killed by PID when its guard drops, every wait is bounded, every broker has its own
//! ephemeral ports. Python is `$ZMTP_PYTHON` or `<workspace>/.venv/bin/python`; without it these
//! tests fail, they never skip.

mod common;

use std::collections::BTreeSet;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;

// ---------------------------------------------------------------------------------------------
// The broker under test.

/// A broker on ephemeral ports with its spawned workers (killed when this drops: broker
/// first, then any worker still alive).
struct Broker {
    proc: Proc,
    front: String,
    back: String,
    /// Its `--client-hwm`: the health checks keep fewer requests than this in flight.
    client_hwm: usize,
    _kids: PidGuard,
}

/// The broker's default `--client-hwm`.
const DEFAULT_CLIENT_HWM: usize = 100_000;

impl Broker {
    fn start(workers: u32, extra: &[&str]) -> Broker {
        let client_hwm = extra
            .iter()
            .position(|a| *a == "--client-hwm")
            .map(|i| extra[i + 1].parse().expect("--client-hwm N"))
            .unwrap_or(DEFAULT_CLIENT_HWM);
        let (proc, front, back) = ephemeral_broker(workers, extra);
        let kids = broker_workers(&proc, workers as usize);
        Broker {
            proc,
            front,
            back,
            client_hwm,
            _kids: kids,
        }
    }

    fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// Panics unless the broker process is still running (and has not panicked).
    fn assert_alive(&mut self) {
        assert!(
            self.proc.running(),
            "broker exited\nstderr: {}",
            self.proc.stderr()
        );
        let err = self.proc.stderr();
        assert!(!err.contains("panicked"), "broker panicked: {err}");
    }

    /// How many requests a health check keeps in flight: `want`, but fewer than
    /// `--client-hwm`. The broker promises to lose no reply only to such a client: one with
    /// more in flight can find its queue full, and be disconnected as a slow consumer, while it
    /// reads as fast as it can (when more than client-hwm of its replies reach the broker
    /// before its connection task has written the first).
    fn window(&self, want: usize) -> usize {
        want.min(self.client_hwm - 1).max(1)
    }

    /// The broker is alive and serves our client binary: 50 requests, 5 in flight, every
    /// reply back.
    fn assert_serves_ours(&mut self, id: &str) {
        self.assert_alive();
        let window = self.window(5).to_string();
        let mut c = our_client(
            id,
            &self.front,
            &["--requests", "50", "--window", &window, "--quiet"],
        );
        self.explain(|| assert_client_ok(&mut c));
        self.assert_alive();
    }

    /// The broker is alive and serves a pyzmq DEALER: 30 requests (all in flight at once, or
    /// as many as `--client-hwm` allows), each reply exactly once.
    fn assert_serves_pyzmq(&mut self, id: &str) {
        self.assert_alive();
        let window = self.window(30).to_string();
        let c = py(
            format!("py client {id}"),
            &["dealer-client", &self.front, id, "30", &window],
        );
        self.explain(|| assert_eq!(c.line("ok", STEP), "ok 30"));
        self.assert_alive();
    }

    /// Runs a check; if it fails, fails again with the broker's warnings and errors (a client
    /// that failed may have been disconnected by the broker, and only its log says so).
    fn explain<T>(&self, check: impl FnOnce() -> T) -> T {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(check)) {
            Ok(v) => v,
            Err(e) => {
                let what = e
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| e.downcast_ref::<&str>().copied())
                    .unwrap_or("check failed");
                let err = self.proc.stderr();
                let log: Vec<&str> = err
                    .lines()
                    .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
                    .collect();
                panic!("{what}\nbroker warnings and errors:\n{}", log.join("\n"));
            }
        }
    }

    /// Waits (bounded) until the broker's stderr holds `n` lines containing `text`.
    fn wait_log(&self, text: &str, n: usize, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let err = self.proc.stderr();
            if err.lines().filter(|l| l.contains(text)).count() >= n {
                return err;
            }
            assert!(
                Instant::now() < deadline,
                "broker logged {text:?} {} times within {timeout:?}, want {n}\nstderr: {err}",
                err.lines().filter(|l| l.contains(text)).count()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn fd_count(&self) -> usize {
        fd_count(self.pid())
    }

    fn rss_kb(&self) -> u64 {
        rss_kb(self.pid())
    }

    fn peak_rss_kb(&self) -> u64 {
        peak_rss_kb(self.pid())
    }
}

fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read /proc/PID/fd")
        .count()
}

/// Resident memory now (`VmRSS`), in kB.
fn rss_kb(pid: u32) -> u64 {
    proc_status_kb(pid, "VmRSS:")
}

/// The most resident memory the process ever had (`VmHWM`), in kB.
fn peak_rss_kb(pid: u32) -> u64 {
    proc_status_kb(pid, "VmHWM:")
}

fn proc_status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"))
}

/// Waits (bounded) until the broker's descriptor count is at most `want`; returns the last
/// count seen.
fn settle_fds(b: &Broker, want: usize, timeout: Duration) -> usize {
    let deadline = Instant::now() + timeout;
    loop {
        let n = b.fd_count();
        if n <= want || Instant::now() >= deadline {
            return n;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// The broker's live worker children: `(pid, command line)`.
fn worker_children(broker_pid: u32) -> Vec<(u32, String)> {
    all_pids()
        .into_iter()
        .filter(|&p| matches!(proc_stat(p), Some((s, pp)) if pp == broker_pid && s != 'Z'))
        .filter_map(|p| Some((p, proc_cmdline(p)?)))
        .filter(|(_, c)| c.contains(WORKER))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Raw ZMTP from the test.

const GREETING_LEN: usize = 64;
const FLAG_MORE: u8 = 0x01;
const FLAG_COMMAND: u8 = 0x04;
/// Bound for the broker to answer or close a raw connection.
const CLOSE_BOUND: Duration = Duration::from_secs(3);

fn greeting(major: u8, minor: u8, mechanism: &[u8]) -> Vec<u8> {
    let mut g = vec![0u8; GREETING_LEN];
    g[0] = 0xFF;
    g[9] = 0x7F;
    g[10] = major;
    g[11] = minor;
    g[12..12 + mechanism.len()].copy_from_slice(mechanism);
    g
}

/// One frame; the long form is used when the body needs it.
fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(body.len() + 9);
    if body.len() > 255 {
        f.push(flags | 0x02);
        f.extend_from_slice(&(body.len() as u64).to_be_bytes());
    } else {
        f.push(flags);
        f.push(body.len() as u8);
    }
    f.extend_from_slice(body);
    f
}

fn command_body(name: &str, data: &[u8]) -> Vec<u8> {
    let mut b = vec![name.len() as u8];
    b.extend_from_slice(name.as_bytes());
    b.extend_from_slice(data);
    b
}

fn properties(props: &[(&str, &[u8])]) -> Vec<u8> {
    let mut p = Vec::new();
    for (name, value) in props {
        p.push(name.len() as u8);
        p.extend_from_slice(name.as_bytes());
        p.extend_from_slice(&(value.len() as u32).to_be_bytes());
        p.extend_from_slice(value);
    }
    p
}

fn ready_frame(props: &[(&str, &[u8])]) -> Vec<u8> {
    frame(FLAG_COMMAND, &command_body("READY", &properties(props)))
}

fn error_body(reason: &str) -> Vec<u8> {
    let mut data = vec![reason.len() as u8];
    data.extend_from_slice(reason.as_bytes());
    command_body("ERROR", &data)
}

/// Splits `bytes` into `(flags, body)` frames; the count of trailing bytes that do not form a
/// whole frame comes back too.
fn split_frames(mut bytes: &[u8]) -> (Vec<(u8, Vec<u8>)>, usize) {
    let mut frames = Vec::new();
    loop {
        let Some(&flags) = bytes.first() else {
            return (frames, 0);
        };
        let (len, head) = if flags & 0x02 != 0 {
            match bytes.get(1..9) {
                Some(s) => (u64::from_be_bytes(s.try_into().unwrap()) as usize, 9),
                None => return (frames, bytes.len()),
            }
        } else {
            match bytes.get(1) {
                Some(&l) => (l as usize, 2),
                None => return (frames, bytes.len()),
            }
        };
        let Some(body) = bytes.get(head..head + len) else {
            return (frames, bytes.len());
        };
        frames.push((flags, body.to_vec()));
        bytes = &bytes[head + len..];
    }
}

fn assert_broker_greeting(g: &[u8]) {
    assert!(
        g.len() >= GREETING_LEN && g[0] == 0xFF && g[9] == 0x7F && g[10] == 3,
        "not a ZMTP 3 greeting from the broker: {:x?}",
        &g[..g.len().min(GREETING_LEN)]
    );
    assert_eq!(&g[12..16], b"NULL", "broker mechanism");
}

fn assert_router_ready(f: &(u8, Vec<u8>)) {
    assert_eq!(f.0 & FLAG_COMMAND, FLAG_COMMAND, "want READY, got {f:x?}");
    let want = [
        &b"\x05READY"[..],
        &properties(&[("Socket-Type", b"ROUTER"), ("Identity", b"")]),
    ]
    .concat();
    assert_eq!(f.1, want, "broker READY");
}

#[derive(Debug, PartialEq, Eq)]
enum Closed {
    /// FIN: read returned 0.
    Eof,
    /// RST: the broker closed with bytes of ours still unread (fine: it stopped reading).
    Reset,
}

/// A raw TCP connection to the broker's frontend.
struct Raw {
    s: TcpStream,
}

impl Raw {
    fn connect(ep: &str) -> Raw {
        let addr = ep.strip_prefix("tcp://").expect("tcp endpoint");
        let s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        s.set_write_timeout(Some(STEP)).unwrap();
        Raw { s }
    }

    /// Greeting and READY as a DEALER with this routing id, then reads the broker's greeting
    /// and READY.
    fn handshake(ep: &str, identity: &[u8]) -> Raw {
        let mut r = Raw::dealer_hello(ep, identity);
        let ready = r.read_frame(CLOSE_BOUND);
        assert_router_ready(&ready);
        r
    }

    /// Greeting and READY as a worker (DEALER with this routing id) on the broker's backend,
    /// then reads the backend's greeting and READY (a ROUTER's: the broker's default mode).
    fn handshake_worker(ep: &str, identity: &[u8]) -> Raw {
        let mut r = Raw::dealer_hello(ep, identity);
        let (flags, body) = r.read_frame(CLOSE_BOUND);
        let router = properties(&[("Socket-Type", b"ROUTER")]);
        assert!(
            flags & FLAG_COMMAND != 0
                && body.starts_with(b"\x05READY")
                && body.windows(router.len()).any(|w| w == router),
            "backend READY: {flags:x} {body:x?}"
        );
        r
    }

    /// Connects, sends a DEALER's greeting and READY with this routing id, and reads and checks
    /// the broker's greeting (its READY is left to the caller).
    fn dealer_hello(ep: &str, identity: &[u8]) -> Raw {
        let mut r = Raw::connect(ep);
        r.send(
            &[
                greeting(3, 1, b"NULL"),
                ready_frame(&[("Socket-Type", b"DEALER"), ("Identity", identity)]),
            ]
            .concat(),
        );
        let g = r.read_n(GREETING_LEN, CLOSE_BOUND);
        assert_broker_greeting(&g);
        r
    }

    fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).expect("write to the broker");
    }

    fn read_n(&mut self, n: usize, timeout: Duration) -> Vec<u8> {
        self.s.set_read_timeout(Some(timeout)).unwrap();
        let mut b = vec![0u8; n];
        self.s
            .read_exact(&mut b)
            .unwrap_or_else(|e| panic!("reading {n} bytes from the broker: {e}"));
        b
    }

    fn read_frame(&mut self, timeout: Duration) -> (u8, Vec<u8>) {
        let deadline = Instant::now() + timeout;
        let left = || {
            deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1))
        };
        let head = self.read_n(2, left());
        let flags = head[0];
        let len = if flags & 0x02 != 0 {
            let mut rest = vec![head[1]];
            rest.extend(self.read_n(7, left()));
            u64::from_be_bytes(rest.try_into().unwrap()) as usize
        } else {
            head[1] as usize
        };
        (flags, self.read_n(len, left()))
    }

    /// The next data message; commands in between must not be ERROR.
    fn recv_message(&mut self, timeout: Duration) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        let mut frames = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let (flags, body) = self.read_frame(left.max(Duration::from_millis(1)));
            if flags & FLAG_COMMAND != 0 {
                assert!(
                    !body.starts_with(b"\x05ERROR"),
                    "ERROR from broker: {body:?}"
                );
                continue;
            }
            frames.push(body);
            if flags & FLAG_MORE == 0 {
                return frames;
            }
        }
    }

    /// `Some(Closed)` if the broker has closed, `None` if the connection is open with nothing
    /// to read within `wait`; panics if there are bytes to read.
    fn poll_closed(&mut self, wait: Duration) -> Option<Closed> {
        self.s.set_read_timeout(Some(wait)).unwrap();
        let mut b = [0u8; 1];
        match self.s.peek(&mut b) {
            Ok(0) => Some(Closed::Eof),
            Ok(_) => panic!("unexpected bytes from the broker"),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Some(Closed::Reset),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                None
            }
            Err(e) => panic!("peek: {e}"),
        }
    }

    /// Reads until the broker closes; panics if it has not within `within`. Returns what was
    /// read, how it closed, and when.
    fn read_until_closed(&mut self, within: Duration) -> (Vec<u8>, Closed, Duration) {
        let start = Instant::now();
        let deadline = start + within;
        let mut got = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "connection still open {within:?} later ({} bytes read)",
                got.len()
            );
            self.s.set_read_timeout(Some(left)).unwrap();
            match self.s.read(&mut buf) {
                Ok(0) => return (got, Closed::Eof, start.elapsed()),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    return (got, Closed::Reset, start.elapsed())
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("read: {e}"),
            }
        }
    }
}

/// What the broker must do with a connection it rejects.
enum Expect {
    /// Close without an ERROR command (the peer does not speak ZMTP 3, so it would not read
    /// one).
    SilentClose,
    /// An ERROR command with this reason, then close.
    Error(&'static str),
}

/// Sends `bytes` on a fresh connection and checks the broker's whole answer: its greeting and
/// READY (it sends both at once, before reading anything), then an ERROR command if expected,
/// nothing else, then the close, within [`CLOSE_BOUND`]. Returns how long the close took.
fn assert_rejected(front: &str, bytes: &[u8], expect: Expect) -> Duration {
    let mut r = Raw::connect(front);
    r.send(bytes);
    let (got, how, took) = r.read_until_closed(CLOSE_BOUND);
    assert_broker_greeting(&got);
    let (frames, rest) = split_frames(&got[GREETING_LEN..]);
    assert_eq!(rest, 0, "partial frame from the broker: {got:x?}");
    assert!(!frames.is_empty(), "no READY from the broker");
    assert_router_ready(&frames[0]);
    match expect {
        Expect::SilentClose => assert!(
            frames.len() == 1,
            "want a close without a command, got {:?}",
            &frames[1..]
        ),
        Expect::Error(reason) => assert_eq!(
            &frames[1..],
            &[(FLAG_COMMAND, error_body(reason))],
            "want ERROR {reason:?} and nothing else"
        ),
    }
    eprintln!("closed ({how:?}) {took:?} after the input");
    took
}

// ---------------------------------------------------------------------------------------------
// Abuse: the handshake.

#[test]
fn garbage_bytes_closed_without_error() {
    let mut b = Broker::start(1, &["--quiet-workers"]);
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
    assert_rejected(&b.front, &garbage, Expect::SilentClose);
    // Garbage that starts like a signature but has byte 9's LSB clear (ZMTP 1.0 framing).
    let mut v1 = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 5, 0x7E];
    v1.extend_from_slice(&garbage[..100]);
    assert_rejected(&b.front, &v1, Expect::SilentClose);
    b.wait_log("not a ZMTP 3 peer", 2, STEP);
    b.assert_serves_ours("after-garbage");
    b.assert_serves_pyzmq("after-garbage-py");
}

#[test]
fn http_request_closed_without_error() {
    let mut b = Broker::start(1, &["--quiet-workers"]);
    let http = b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: abuse\r\nAccept: */*\r\n\r\n";
    assert_rejected(&b.front, http, Expect::SilentClose);
    b.wait_log("greeting byte 0 is 0x47", 1, STEP);
    b.assert_serves_ours("after-http");
}

#[test]
fn wrong_major_version_2_closed_without_error() {
    let mut b = Broker::start(1, &["--quiet-workers"]);
    // A valid signature, then major version 2 (the rest a normal NULL greeting).
    assert_rejected(&b.front, &greeting(2, 0, b"NULL"), Expect::SilentClose);
    b.wait_log("peer announced major 2", 1, STEP);
    b.assert_serves_ours("after-major2");
}

#[test]
fn zmtp_2_0_greeting_closed_without_error() {
    let mut b = Broker::start(1, &["--quiet-workers"]);
    // ZMTP/2.0: signature, revision 0x01, socket type DEALER (5), empty identity frame. We do
    // not downgrade (RFC 37 "MAY"), so the peer is closed.
    let v2 = [0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 0x01, 0x05, 0x00, 0x00];
    assert_rejected(&b.front, &v2, Expect::SilentClose);
    b.wait_log("peer announced major 1", 1, STEP);
    b.assert_serves_ours("after-zmtp2");
}

#[test]
fn unknown_and_mismatched_mechanisms_get_error_then_close() {
    let mut b = Broker::start(1, &["--quiet-workers"]);
    // libzmq closes without an ERROR here; we send one first (RFC 37 allows it), then close.
    let foo = [greeting(3, 1, b"FOO"), command_body("HELLO", b"")].concat();
    assert_rejected(&b.front, &foo, Expect::Error("Mechanism mismatch"));
    // PLAIN is a real mechanism, just not ours: same answer. A PLAIN HELLO follows, unread.
    let plain = [
        greeting(3, 1, b"PLAIN"),
        frame(FLAG_COMMAND, &command_body("HELLO", b"\x04user\x04pass")),
    ]
    .concat();
    assert_rejected(&b.front, &plain, Expect::Error("Mechanism mismatch"));
    let err = b.wait_log("mechanism mismatch", 2, STEP);
    assert!(
        err.contains("\"FOO\"") && err.contains("\"PLAIN\""),
        "{err}"
    );
    b.assert_serves_ours("after-mechanisms");
    b.assert_serves_pyzmq("after-mechanisms-py");
}

#[test]
fn ready_with_pub_socket_type_gets_invalid_socket_type_error() {
    let mut b = Broker::start(1, &["--quiet-workers"]);
    let input = [
        greeting(3, 1, b"NULL"),
        ready_frame(&[("Socket-Type", b"PUB"), ("Identity", b"")]),
    ]
    .concat();
    assert_rejected(&b.front, &input, Expect::Error("Invalid socket type"));
    // Lower-case type names are not ours either (libzmq compares exactly).
    let input = [
        greeting(3, 1, b"NULL"),
        ready_frame(&[("Socket-Type", b"dealer")]),
    ]
    .concat();
    assert_rejected(&b.front, &input, Expect::Error("Invalid socket type"));
    b.wait_log("cannot talk to our ROUTER", 2, STEP);
    b.assert_serves_ours("after-pub");
}

#[test]
fn ready_with_duplicate_socket_type_gets_error_then_close() {
    let mut b = Broker::start(1, &["--quiet-workers"]);
    let input = [
        greeting(3, 1, b"NULL"),
        ready_frame(&[("Socket-Type", b"DEALER"), ("Socket-Type", b"DEALER")]),
    ]
    .concat();
    assert_rejected(&b.front, &input, Expect::Error("Malformed metadata"));
    b.wait_log("duplicate Socket-Type", 1, STEP);
    b.assert_serves_ours("after-dup-type");
}

#[test]
fn oversized_ready_command_closed_at_its_header() {
    let mut b = Broker::start(1, &["--quiet-workers"]);
    // A READY of 70 000 bytes (a 69 980-byte property value): over the 64 KiB command bound.
    // Only the header and the first 1000 bytes are sent: the broker must close on the header.
    let value = vec![b'x'; 69_980];
    let ready = ready_frame(&[("X-Big", &value)]);
    assert!(ready.len() > 64 * 1024 + 9);
    let mut r = Raw::connect(&b.front);
    r.send(&[&greeting(3, 1, b"NULL")[..], &ready[..1000]].concat());
    let (got, how, took) = r.read_until_closed(CLOSE_BOUND);
    assert_broker_greeting(&got);
    let (frames, _) = split_frames(&got[GREETING_LEN..]);
    assert_router_ready(&frames[0]);
    // With FIN the ERROR is there; after an RST it may be lost, but nothing else may come.
    if how == Closed::Eof || frames.len() > 1 {
        assert_eq!(
            &frames[1..],
            &[(FLAG_COMMAND, error_body("Command too large"))]
        );
    }
    eprintln!("closed ({how:?}) after {took:?}");
    b.wait_log("command frame of", 1, STEP);
    b.assert_serves_ours("after-oversized");
}

#[test]
fn truncated_metadata_gets_error_then_close() {
    let mut b = Broker::start(1, &["--quiet-workers"]);
    // Socket-Type's value length says 256, 6 bytes follow.
    let mut body = command_body("READY", b"\x0bSocket-Type\x00\x00\x01\x00DEALER");
    let input = [greeting(3, 1, b"NULL"), frame(FLAG_COMMAND, &body)].concat();
    assert_rejected(&b.front, &input, Expect::Error("Malformed metadata"));
    // A name length past the end.
    body = command_body("READY", b"\x0bSocket-Type\x00\x00\x00\x06DEALER\x40Iden");
    let input = [greeting(3, 1, b"NULL"), frame(FLAG_COMMAND, &body)].concat();
    assert_rejected(&b.front, &input, Expect::Error("Malformed metadata"));
    // A value length of 2^32-1 (over 2^31-1).
    body = command_body("READY", b"\x0bSocket-Type\xff\xff\xff\xffDEALER");
    let input = [greeting(3, 1, b"NULL"), frame(FLAG_COMMAND, &body)].concat();
    assert_rejected(&b.front, &input, Expect::Error("Malformed metadata"));
    b.wait_log("malformed metadata", 3, STEP);
    b.assert_serves_ours("after-truncated-md");
}

// ---------------------------------------------------------------------------------------------
// Abuse: frames after the handshake.

#[test]
fn reserved_flag_bits_on_data_frames_accepted_and_delivered() {
    let mut b = Broker::start(1, &["--quiet-workers"]);
    let mut r = Raw::handshake(&b.front, b"resv");
    // libzmq ignores bits 3..7 on input: the message is delivered (here: echoed back).
    r.send(&frame(0xF0, b"hello"));
    assert_eq!(r.recv_message(STEP), vec![b"hello".to_vec()]);
    r.send(&[frame(0xF8 | FLAG_MORE, b"part-1"), frame(0x80, b"part-2")].concat());
    assert_eq!(
        r.recv_message(STEP),
        vec![b"part-1".to_vec(), b"part-2".to_vec()]
    );
    assert_eq!(r.poll_closed(Duration::from_millis(100)), None);
    b.assert_serves_ours("after-reserved");
}

#[test]
fn command_frame_with_more_flag_accepted() {
    let mut b = Broker::start(1, &["--quiet-workers"]);
    let mut r = Raw::handshake(&b.front, b"cmdmore");
    // A PING with MORE set is still answered (libzmq does not check MORE on commands)...
    r.send(&frame(
        FLAG_COMMAND | FLAG_MORE,
        &command_body("PING", b"\x00\x00ctx"),
    ));
    assert_eq!(
        r.read_frame(STEP),
        (FLAG_COMMAND, command_body("PONG", b"ctx"))
    );
    // ... an unknown command with MORE set is dropped, and does not glue onto the next
    // message.
    r.send(
        &[
            frame(FLAG_COMMAND | FLAG_MORE, &command_body("FOOO", b"bar")),
            frame(0, b"hi"),
        ]
        .concat(),
    );
    assert_eq!(r.recv_message(STEP), vec![b"hi".to_vec()]);
    assert_eq!(r.poll_closed(Duration::from_millis(100)), None);
    b.assert_serves_ours("after-cmd-more");
}

#[test]
fn frame_declaring_2_pow_62_bytes_closed_before_data() {
    let mut b = Broker::start(1, &["--quiet-workers"]);
    let rss_before = b.rss_kb();
    let mut r = Raw::handshake(&b.front, b"huge");
    let mut head = vec![0x02];
    head.extend_from_slice(&(1u64 << 62).to_be_bytes());
    r.send(&head);
    // Default --max-msg-size (64 MiB): ERROR then close on the header, at once.
    let (got, how, took) = r.read_until_closed(CLOSE_BOUND);
    assert_eq!(how, Closed::Eof);
    assert_eq!(
        split_frames(&got),
        (vec![(FLAG_COMMAND, error_body("Message too large"))], 0)
    );
    assert!(took < Duration::from_secs(1), "closed only after {took:?}");
    b.wait_log("frame of 4611686018427387904 bytes", 1, STEP);
    let grown = b.rss_kb().saturating_sub(rss_before);
    assert!(grown < 10 * 1024, "broker RSS grew {grown} kB");
    b.assert_serves_ours("after-huge");
    b.assert_serves_pyzmq("after-huge-py");
}

#[test]
fn frame_declaring_2_pow_62_bytes_without_limit_costs_only_what_is_sent() {
    // --max-msg-size 0 (no limit, libzmq's default): the declared size is believed, but memory
    // follows the bytes that actually arrive (8 MiB here), never the 2^62 declared.
    let mut b = Broker::start(1, &["--quiet-workers", "--max-msg-size", "0"]);
    let rss_before = b.rss_kb();
    let mut r = Raw::handshake(&b.front, b"huge-nolimit");
    let mut head = vec![0x02];
    head.extend_from_slice(&(1u64 << 62).to_be_bytes());
    r.send(&head);
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..8 {
        r.send(&chunk);
    }
    assert_eq!(r.poll_closed(Duration::from_millis(200)), None);
    b.assert_alive();
    let grown = b.peak_rss_kb().saturating_sub(rss_before);
    eprintln!("peak RSS +{grown} kB with 8 MiB of a 2^62-byte frame buffered");
    assert!(
        grown < 64 * 1024,
        "broker RSS grew {grown} kB for 8 MiB sent"
    );
    drop(r);
    b.assert_serves_ours("after-huge-nolimit");
}

#[test]
fn message_of_millions_of_empty_frames_closed_at_max_msg_size() {
    // Regression: --max-msg-size counted only frame bodies, so a message of empty frames (2
    // bytes each on the wire, MORE set, never ending) was never "too large" while the broker
    // kept a 32-byte slot per frame: 40 MB sent cost the broker 680 MB of RSS, without limit.
    // Now each frame counts its body plus a 64-byte overhead: the default 64 MiB limit stops
    // such a message after 1 Mi frames (2 MiB on the wire).
    let mut b = Broker::start(1, &["--quiet-workers"]);
    let rss_before = b.rss_kb();
    let mut r = Raw::handshake(&b.front, b"frames");
    let chunk: Vec<u8> = [FLAG_MORE, 0].repeat(512 * 1024);
    let mut sent = 0;
    for _ in 0..16 {
        if r.s.write_all(&chunk).is_err() {
            break;
        }
        sent += chunk.len();
    }
    let (got, how, _) = r.read_until_closed(CLOSE_BOUND);
    eprintln!("closed ({how:?}) after {} MiB sent", sent >> 20);
    if how == Closed::Eof || !got.is_empty() {
        assert_eq!(
            split_frames(&got),
            (vec![(FLAG_COMMAND, error_body("Message too large"))], 0)
        );
    }
    b.wait_log(
        "message of 1048577 frames is over the maximum of 1048576",
        1,
        STEP,
    );
    // Peak, not current: the frames are freed once the connection is gone.
    let grown = b.peak_rss_kb().saturating_sub(rss_before);
    eprintln!("broker peak RSS +{grown} kB");
    assert!(grown < 100 * 1024, "broker peak RSS grew {grown} kB");
    b.assert_serves_ours("after-frames");
}

#[test]
fn ping_flood_from_a_peer_that_never_reads_costs_bounded_memory() {
    // Regression: every PING queued a PONG, and commands are not held back by RCVHWM, so a
    // peer that sent PINGs and never read grew the broker's output buffer by about what it sent
    // (200 MB of PINGs: +180 MB of RSS), without limit. Now PINGs that arrive while 64 KiB of
    // output waits are not answered (libzmq keeps at most one PONG pending).
    let mut b = Broker::start(1, &["--quiet-workers"]);
    let rss_before = b.rss_kb();
    let mut r = Raw::handshake(&b.front, b"pinger");
    let ping = frame(
        FLAG_COMMAND,
        &command_body("PING", b"\x00\x00sixteen-byte-ctx"),
    );
    let chunk = ping.repeat((1 << 20) / ping.len());
    for _ in 0..48 {
        r.send(&chunk);
    }
    b.assert_serves_ours("beside-pinger");
    let grown = b.peak_rss_kb().saturating_sub(rss_before);
    eprintln!("broker peak RSS +{grown} kB after 48 MiB of PINGs never read");
    assert!(grown < 16 * 1024, "broker peak RSS grew {grown} kB");
    // Still connected (a PING flood is legal): once it reads, it gets PONGs.
    let (flags, body) = r.read_frame(STEP);
    assert_eq!(
        (flags, body),
        (FLAG_COMMAND, command_body("PONG", b"sixteen-byte-ctx"))
    );
    drop(r);
    b.assert_serves_ours("after-pinger");
}

// ---------------------------------------------------------------------------------------------
// Abuse: connections that stall, storms, slow readers, stolen ids.

#[test]
fn truncated_greetings_then_silence_closed_at_handshake_ivl() {
    // The broker's default HANDSHAKE_IVL is 10 s; --handshake-ivl-ms (added for this test)
    // makes it 3 s here.
    const IVL: Duration = Duration::from_millis(3000);
    let mut b = Broker::start(
        1,
        &[
            "--quiet-workers",
            "--handshake-ivl-ms",
            "3000",
            "--stats-ms",
            "300",
        ],
    );
    let fds_before = b.fd_count();
    let full = [
        greeting(3, 1, b"NULL"),
        ready_frame(&[("Socket-Type", b"DEALER")]),
    ]
    .concat();
    // 50 at once, cut at various points: inside the signature, after it, after the version,
    // one byte short of the greeting, inside READY.
    let cuts = [1, 10, 11, 63, GREETING_LEN + 7];
    let opened = Instant::now();
    let mut raws: Vec<Raw> = (0..50)
        .map(|i| {
            let mut r = Raw::connect(&b.front);
            r.send(&full[..cuts[i % cuts.len()]]);
            r
        })
        .collect();
    // Meanwhile the broker serves others.
    b.assert_serves_ours("beside-stalled");
    // Still open a second on (or later, but before the interval): it is the handshake timer
    // that closes them, nothing else.
    thread::sleep((opened + Duration::from_secs(1)).saturating_duration_since(Instant::now()));
    for (i, r) in raws.iter_mut().enumerate() {
        // Skip the broker's greeting and READY.
        let _ = r.read_n(GREETING_LEN, CLOSE_BOUND);
        let _ = r.read_frame(CLOSE_BOUND);
        assert_eq!(
            r.poll_closed(Duration::from_millis(1)),
            None,
            "stalled connection {i} closed {:?} after opening",
            opened.elapsed()
        );
    }
    let checked = opened.elapsed();
    assert!(
        checked < IVL - Duration::from_millis(200),
        "too slow to check the connections before HANDSHAKE_IVL ({checked:?})"
    );
    // A pyzmq client too, while (most likely) they are still stalled.
    b.assert_serves_pyzmq("beside-stalled-py");
    // All closed by the interval plus a margin, without an ERROR command (timeouts have none).
    let deadline = opened + IVL + Duration::from_millis(2500);
    for (i, r) in raws.iter_mut().enumerate() {
        let left = deadline.saturating_duration_since(Instant::now());
        let (got, how, _) = r.read_until_closed(left.max(Duration::from_millis(1)));
        assert!(
            got.is_empty(),
            "connection {i}: bytes before close: {got:?}"
        );
        assert_eq!(how, Closed::Eof, "connection {i}");
    }
    let took = opened.elapsed();
    eprintln!("50 stalled connections closed {took:?} after opening");
    assert!(took >= IVL, "closed after {took:?}, before HANDSHAKE_IVL");
    // Logged (at most 10 lines a second of a kind: a flood must not fill a disk), and all
    // counted.
    b.wait_log("handshake not done within HANDSHAKE_IVL", 1, STEP);
    b.wait_log("handshake_failures=50", 1, STEP);
    drop(raws);
    let fds = settle_fds(&b, fds_before + 2, Duration::from_secs(3));
    assert!(fds <= fds_before + 2, "fds {fds_before} -> {fds}");
    b.assert_serves_ours("after-stalled");
}

#[test]
fn storm_of_500_connections_opened_and_closed() {
    let mut b = Broker::start(1, &["--quiet-workers"]);
    b.assert_serves_ours("warm-up");
    thread::sleep(Duration::from_millis(200));
    let fds_before = b.fd_count();
    let start = Instant::now();
    // 4 threads x 125: connect and close at once, or after a partial greeting, or after a full
    // handshake, or after garbage.
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let front = b.front.clone();
            thread::spawn(move || {
                let addr = front.strip_prefix("tcp://").unwrap().to_string();
                let full = [
                    greeting(3, 1, b"NULL"),
                    ready_frame(&[("Socket-Type", b"DEALER")]),
                    frame(0, b"dropped at once"),
                ]
                .concat();
                for i in 0..125 {
                    let mut s = TcpStream::connect(&addr).expect("connect");
                    match (t + i) % 4 {
                        0 => {}
                        1 => {
                            let _ = s.write_all(&full[..20]);
                        }
                        2 => {
                            let _ = s.write_all(&full);
                        }
                        _ => {
                            let _ = s.write_all(b"\x00garbage");
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("storm thread");
    }
    eprintln!("500 connections in {:?}", start.elapsed());
    b.assert_serves_ours("after-storm");
    b.assert_serves_pyzmq("after-storm-py");
    let fds = settle_fds(&b, fds_before + 2, Duration::from_secs(3));
    eprintln!("broker fds {fds_before} -> {fds}");
    assert!(fds <= fds_before + 2, "fds {fds_before} -> {fds}");
}

#[test]
fn slow_reader_disconnected_at_client_hwm_others_served() {
    let mut b = Broker::start(2, &["--quiet-workers", "--client-hwm", "20"]);
    let mut r = Raw::handshake(&b.front, b"sloth");
    // It sends 600 requests of 64 KiB (38 MiB of replies) and never reads.
    let mut w = r.s.try_clone().unwrap();
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        let mut body = vec![b'.'; 64 * 1024];
        let mut sent = 0;
        for k in 0..600 {
            body[..12].copy_from_slice(format!("sloth {k:06}").as_bytes());
            if w.write_all(&frame(0, &body)).is_err() {
                break;
            }
            sent += 1;
        }
        let _ = done_tx.send(sent);
    });
    // Everyone else keeps being served meanwhile.
    let mut c = our_client(
        "busy",
        &b.front,
        &["--requests", "500", "--window", "10", "--quiet"],
    );
    assert_client_ok(&mut c);
    b.wait_log("client not reading its replies", 1, STEP);
    let err = b.proc.stderr();
    let line = err
        .lines()
        .find(|l| l.contains("client not reading its replies"))
        .unwrap();
    assert!(
        line.contains(" WARN ") && line.contains("client=sloth"),
        "{line}"
    );
    // And it is disconnected: what the kernel buffered, then the close.
    let (got, how, _) = r.read_until_closed(STEP);
    eprintln!("slow reader got {} bytes before {how:?}", got.len());
    assert!(
        got.len() < 600 * 64 * 1024,
        "slow reader got every reply, was it disconnected?"
    );
    let sent = done_rx.recv_timeout(STEP).expect("writer thread stuck");
    eprintln!("slow reader sent {sent} requests");
    b.assert_serves_ours("after-sloth");
    b.assert_serves_pyzmq("after-sloth-py");
}

#[test]
fn slow_reader_under_client_hwm_loses_nothing_others_served() {
    // Default --client-hwm (100 000): a client that stops reading with fewer replies than that
    // in flight is not disconnected and loses no reply; others are served meanwhile.
    const N: usize = 20_000;
    let mut b = Broker::start(2, &["--quiet-workers"]);
    let mut r = Raw::handshake(&b.front, b"napper");
    let mut w = r.s.try_clone().unwrap();
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        let mut body = vec![b'.'; 1024];
        for k in 0..N {
            body[..13].copy_from_slice(format!("napper {k:06}").as_bytes());
            if w.write_all(&frame(0, &body)).is_err() {
                break;
            }
        }
        let _ = done_tx.send(());
    });
    let mut c = our_client(
        "busy2",
        &b.front,
        &["--requests", "500", "--window", "10", "--quiet"],
    );
    assert_client_ok(&mut c);
    done_rx.recv_timeout(STEP).expect("writer stuck");
    // Now it reads: every reply is there, once.
    let mut seen = vec![false; N];
    for i in 0..N {
        let m = r.recv_message(STEP);
        assert!(
            m.len() == 1 && m[0].len() == 1024,
            "reply {i}: {} frames",
            m.len()
        );
        let k: usize = std::str::from_utf8(&m[0][7..13]).unwrap().parse().unwrap();
        assert!(!seen[k], "reply {k} twice");
        seen[k] = true;
    }
    assert_eq!(r.poll_closed(Duration::from_millis(200)), None);
    assert!(!b.proc.stderr().contains("not reading its replies"));
    b.assert_serves_ours("after-napper");
}

#[test]
fn replies_in_one_burst_within_client_hwm_all_delivered() {
    // What the health checks rely on with a small --client-hwm: a client with fewer requests in
    // flight than that loses no reply, even when all of them come back at once. The worker is
    // raw: it collects a whole window of requests, then answers them in one write, so they
    // reach the broker's reply queue for the client in one batch.
    const HWM: usize = 20;
    const N: usize = 60;
    let hwm = HWM.to_string();
    let b = Broker::start(0, &["--quiet-workers", "--client-hwm", &hwm]);
    let mut w = Raw::handshake_worker(&b.back, b"burst-worker");
    let window = b.window(N);
    assert_eq!(window, HWM - 1);
    let c = py(
        "py client burst-py",
        &[
            "dealer-client",
            &b.front,
            "burst-py",
            &N.to_string(),
            &window.to_string(),
        ],
    );
    let mut left = N;
    while left > 0 {
        let mut burst = Vec::new();
        for _ in 0..left.min(window) {
            let m = w.recv_message(STEP);
            for (i, f) in m.iter().enumerate() {
                let more = if i + 1 < m.len() { FLAG_MORE } else { 0 };
                burst.extend(frame(more, f));
            }
        }
        w.send(&burst);
        left -= left.min(window);
    }
    b.explain(|| assert_eq!(c.line("ok", STEP), format!("ok {N}")));
    assert!(
        !b.proc.stderr().contains("not reading its replies"),
        "{}",
        b.proc.stderr()
    );
}

#[test]
fn duplicate_routing_id_newcomer_ignored_first_keeps_replies() {
    let mut b = Broker::start(1, &[]);
    // The first "dup": our client, 150 requests one at a time, 10 ms apart.
    let mut first = our_client(
        "dup",
        &b.front,
        &["--requests", "150", "--interval-ms", "10", "--quiet"],
    );
    // It is attached once the worker has seen one of its requests.
    b.proc.line("worker#1 received request #", STEP);
    // The newcomer claims the same id and sends requests of its own.
    let mut r = Raw::handshake(&b.front, b"dup");
    for k in 0..5 {
        r.send(&frame(0, format!("intruder #{k}").as_bytes()));
    }
    // The first gets all its replies, no extra (our client counts a stray reply as bad).
    assert_client_ok(&mut first);
    b.wait_log("duplicate routing id", 1, STEP);
    let err = b.proc.stderr();
    let line = err
        .lines()
        .find(|l| l.contains("duplicate routing id"))
        .unwrap();
    assert!(
        line.contains(" WARN ") && line.contains("routing_id=dup"),
        "{line}"
    );
    // The newcomer is ignored, not closed (libzmq): its requests never reached a worker and
    // nothing came back.
    assert_eq!(r.poll_closed(Duration::from_millis(300)), None);
    let lines = b.proc.lines_so_far();
    assert!(
        lines.iter().all(|l| !l.contains("intruder")),
        "a request of the ignored newcomer reached a worker"
    );
    b.assert_serves_ours("after-dup");
}

// ---------------------------------------------------------------------------------------------
// Faults.

#[test]
fn fault_kill9_worker_under_load_restarted_others_serve() {
    let mut b = Broker::start(3, &["--work-ms", "2"]);
    let kids = worker_children(b.pid());
    let (victim, _) = kids
        .iter()
        .find(|(_, c)| c.contains("worker#2"))
        .cloned()
        .expect("worker#2");
    // A pyzmq client that re-sends a request unanswered after 1 s (the victim's in-flight
    // requests are lost with it).
    let c = py(
        "py retry client",
        &["retry-client", &b.front, "kw", "3000", "30", "1000"],
    );
    c.line("progress 500", STEP);
    let fds_before = b.fd_count();
    send_signal(victim, "KILL");
    let killed = Instant::now();
    // The broker notices and starts a new worker#2.
    let deadline = killed + Duration::from_secs(5);
    let replacement = loop {
        let now = worker_children(b.pid());
        if let Some(n) = now
            .iter()
            .find(|(p, c)| *p != victim && c.contains("worker#2"))
        {
            break n.clone();
        }
        assert!(Instant::now() < deadline, "no new worker#2 within 5 s");
        thread::sleep(Duration::from_millis(20));
    };
    let _guard = PidGuard(vec![replacement.clone()]);
    eprintln!(
        "worker#2 {victim} killed, replaced by {} after {:?}",
        replacement.0,
        killed.elapsed()
    );
    let ok = c.line("ok", Duration::from_secs(40));
    eprintln!("{ok}");
    b.wait_log("worker exited; restarting", 1, STEP);
    assert_eq!(worker_children(b.pid()).len(), 3);
    // All three serve: a client that does not retry gets every reply, and the new worker#2
    // takes its share.
    let _ = b.proc.lines_so_far();
    let mut after = our_client(
        "after-kill",
        &b.front,
        &["--requests", "300", "--window", "6", "--quiet"],
    );
    assert_client_ok(&mut after);
    let lines = b.proc.lines_so_far();
    let by_new = lines
        .iter()
        .filter(|l| l.starts_with("worker#2 received") && l.ends_with("from after-kill"))
        .count();
    assert!(by_new > 0, "the restarted worker#2 served nothing");
    // The dead worker's connection and pipe are not leaked.
    let fds = settle_fds(&b, fds_before, Duration::from_secs(3));
    assert!(fds <= fds_before, "broker fds {fds_before} -> {fds}");
    b.assert_alive();
}

#[test]
fn fault_kill9_broker_under_load_restart_same_ports_peers_reconnect() {
    let (fp, bp) = loop {
        let (f, b) = (free_port(), free_port());
        if f != b {
            break (f, b);
        }
    };
    let front = format!("tcp://127.0.0.1:{fp}");
    let back = format!("tcp://127.0.0.1:{bp}");
    let args = ["--frontend", &front, "--backend", &back, "--workers", "0"];
    let (mut b1, _, _) = broker(&args);
    let workers = [our_worker("ext1", &back), our_worker("ext2", &back)];
    // 1500 requests, 10 in flight, one every 2 ms: a few seconds of traffic.
    let c = py(
        "py retry client",
        &["retry-client", &front, "kb", "1500", "10", "1000", "2"],
    );
    c.line("progress 300", STEP);
    b1.signal("KILL");
    b1.wait(STEP);
    let killed = Instant::now();
    thread::sleep(Duration::from_millis(300));
    for w in &workers {
        let _ = w.lines_so_far();
    }
    let (mut b2, _, _) = broker(&args);
    eprintln!("broker down for {:?}", killed.elapsed());
    // The pyzmq client and both workers reconnect by themselves; traffic resumes.
    let ok = c.line("ok", Duration::from_secs(40));
    eprintln!("{ok}");
    // Each worker prints its line before it replies: all are in by now, give or take the
    // reader thread.
    thread::sleep(Duration::from_millis(200));
    let counts: Vec<usize> = workers
        .iter()
        .map(|w| {
            w.lines_so_far()
                .iter()
                .filter(|l| l.ends_with(" from kb"))
                .count()
        })
        .collect();
    eprintln!("requests per worker after the restart: {counts:?}");
    assert!(
        counts.iter().all(|&n| n > 0),
        "a worker did not come back: {counts:?}"
    );
    assert!(b2.running(), "restarted broker exited: {}", b2.stderr());
    let mut after = our_client(
        "after-restart",
        &front,
        &["--requests", "100", "--window", "4", "--quiet"],
    );
    assert_client_ok(&mut after);
}

#[test]
fn fault_sigstop_worker_dropped_by_heartbeat_others_serve() {
    let mut b = Broker::start(3, &["--work-ms", "1"]);
    let kids = worker_children(b.pid());
    let (victim, _) = kids
        .iter()
        .find(|(_, c)| c.contains("worker#3"))
        .cloned()
        .expect("worker#3");
    let c = py(
        "py retry client",
        &["retry-client", &b.front, "hs", "1500", "10", "2000", "2"],
    );
    c.line("progress 200", STEP);
    send_signal(victim, "STOP");
    let stopped = Instant::now();
    // The backend's heartbeat (PING every 1 s, 3 s timeout) drops the hung worker.
    b.wait_log(
        "peer silent past the heartbeat timeout",
        1,
        Duration::from_secs(7),
    );
    let took = stopped.elapsed();
    eprintln!("hung worker dropped {took:?} after SIGSTOP");
    assert!(
        took >= Duration::from_millis(2500),
        "dropped after {took:?}: before the 3 s heartbeat timeout?"
    );
    // From now on nothing goes to it: a client that never retries gets every reply.
    let mut after = our_client(
        "after-stop",
        &b.front,
        &[
            "--requests",
            "300",
            "--window",
            "6",
            "--quiet",
            "--timeout-ms",
            "5000",
        ],
    );
    assert_client_ok(&mut after);
    // The retrying client got through too (its requests lost with the hung worker re-sent).
    let ok = c.line("ok", Duration::from_secs(40));
    eprintln!("{ok}");
    b.assert_alive();
    // Resumed, the worker notices its connection is gone, dials again and takes its share.
    send_signal(victim, "CONT");
    let deadline = Instant::now() + Duration::from_secs(10);
    for round in 0.. {
        let _ = b.proc.lines_so_far();
        let id = format!("after-cont-{round}");
        let mut c = our_client(
            &id,
            &b.front,
            &["--requests", "60", "--window", "6", "--quiet"],
        );
        assert_client_ok(&mut c);
        thread::sleep(Duration::from_millis(100));
        let back = b
            .proc
            .lines_so_far()
            .iter()
            .any(|l| l.starts_with("worker#3 received") && l.ends_with(&format!("from {id}")));
        if back {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "worker#3 serves nothing 10 s after SIGCONT"
        );
        thread::sleep(Duration::from_millis(200));
    }
    b.assert_alive();
}

#[test]
fn fault_sigterm_under_load_delivers_replies_in_flight() {
    let (mut broker, front, _) = ephemeral_broker(3, &["--work-ms", "5", "--linger-ms", "3000"]);
    let _kids = broker_workers(&broker, 3);
    let mut clients: Vec<Proc> = (1..=3)
        .map(|i| {
            our_client(
                &format!("term{i}"),
                &front,
                &[
                    "--requests",
                    "100000",
                    "--window",
                    "20",
                    "--timeout-ms",
                    "4000",
                ],
            )
        })
        .collect();
    // Under load: a few hundred requests through the workers so far.
    let mut handled = Vec::new();
    let deadline = Instant::now() + STEP;
    while handled.len() < 300 {
        assert!(Instant::now() < deadline, "no load within {STEP:?}");
        handled.push(broker.line("worker#", STEP));
    }
    let t = Instant::now();
    broker.signal("TERM");
    let st = broker.wait(Duration::from_secs(8));
    let took = t.elapsed();
    assert!(
        st.success(),
        "broker exit {st} after SIGTERM\nstderr: {}",
        broker.stderr()
    );
    eprintln!("broker exited {took:?} after SIGTERM");
    assert!(took < Duration::from_secs(3), "took {took:?} to stop");
    handled.extend(broker.remaining_lines(Duration::from_secs(3)));

    // Every request a worker took (`worker#i received request #k from termN`) got its reply
    // to its client (`termN received: request #k`), and nothing else arrived.
    let mut taken = BTreeSet::new();
    for l in handled.iter().filter(|l| l.starts_with("worker#")) {
        let (_, rest) = l.split_once(" received ").expect("worker line");
        let (req, client) = rest.rsplit_once(" from ").expect("worker line");
        assert!(taken.insert((client.to_string(), req.to_string())), "{l}");
    }
    let mut replied = BTreeSet::new();
    for c in &mut clients {
        // They fail after their timeout: the broker stopped taking requests.
        let st = c.wait(STEP);
        assert!(!st.success(), "{} cannot have all 100 000 replies", c.name);
        let id = c.name.trim_start_matches("client ").to_string();
        for l in c.remaining_lines(Duration::from_secs(3)) {
            if let Some(req) = l.strip_prefix(&format!("{id} received: ")) {
                assert!(replied.insert((id.clone(), req.to_string())), "dup {l}");
            }
        }
    }
    let lost: Vec<_> = taken.difference(&replied).take(5).collect();
    let extra: Vec<_> = replied.difference(&taken).take(5).collect();
    eprintln!(
        "{} requests taken by workers, {} replies delivered",
        taken.len(),
        replied.len()
    );
    assert!(
        lost.is_empty(),
        "replies in flight lost at SIGTERM: {lost:?}"
    );
    assert!(extra.is_empty(), "replies no worker made: {extra:?}");
}

// ---------------------------------------------------------------------------------------------
// Load.

#[test]
fn load_4_clients_x_5000_window_50_exactly_once_rss_bounded() {
    let mut b = Broker::start(4, &["--quiet-workers"]);
    let mut warm = our_client(
        "warm",
        &b.front,
        &["--requests", "2000", "--window", "50", "--quiet"],
    );
    assert_client_ok(&mut warm);
    thread::sleep(Duration::from_millis(200));
    let rss0 = b.rss_kb();
    let mut rss = vec![];
    for round in 0..2 {
        // Each client pads its requests to its own size, so a reply that reached the wrong
        // client does not match any of that client's requests (our client counts it as bad,
        // as it does a duplicate, and exits 1).
        let mut clients: Vec<Proc> = (0..4)
            .map(|i| {
                let size = (20 + i).to_string();
                our_client(
                    &format!("load{round}-{i}"),
                    &b.front,
                    &[
                        "--requests",
                        "5000",
                        "--window",
                        "50",
                        "--size",
                        &size,
                        "--quiet",
                        "--timeout-ms",
                        "30000",
                    ],
                )
            })
            .collect();
        for c in &mut clients {
            assert_client_ok(c);
        }
        thread::sleep(Duration::from_millis(300));
        rss.push(b.rss_kb());
    }
    eprintln!("broker RSS: {rss0} kB before, {rss:?} kB after each round of 4 x 5000");
    for r in &rss {
        assert!(
            r.saturating_sub(rss0) < 50 * 1024,
            "broker RSS grew from {rss0} kB to {r} kB"
        );
    }
    b.assert_alive();
}

#[test]
fn load_4_pyzmq_clients_x_5000_window_50_exactly_once() {
    let mut b = Broker::start(4, &["--quiet-workers"]);
    let clients: Vec<Proc> = (0..4)
        .map(|i| {
            py(
                format!("py load client {i}"),
                &[
                    "dealer-client",
                    &b.front,
                    &format!("pyload{i}"),
                    "5000",
                    "50",
                ],
            )
        })
        .collect();
    for c in &clients {
        assert_eq!(c.line("ok", Duration::from_secs(30)), "ok 5000");
    }
    b.assert_alive();
}

#[test]
fn fd_count_stable_after_200_client_connections() {
    let mut b = Broker::start(2, &["--quiet-workers"]);
    b.assert_serves_ours("warm-up");
    thread::sleep(Duration::from_millis(200));
    let before = b.fd_count();
    // 200 pyzmq DEALERs one after another: connect, one request, reply, close.
    let churn = py("py churn", &["churn", &b.front, "200"]);
    assert_eq!(churn.line("ok", Duration::from_secs(30)), "ok 200");
    // And a few of ours, at the same time.
    let mut ours: Vec<Proc> = (0..10)
        .map(|i| {
            our_client(
                &format!("fd{i}"),
                &b.front,
                &["--requests", "20", "--quiet"],
            )
        })
        .collect();
    for c in &mut ours {
        assert_client_ok(c);
    }
    let after = settle_fds(&b, before + 2, Duration::from_secs(3));
    eprintln!("broker fds: {before} before, {after} after 210 connections");
    assert!(after <= before + 2, "fd leak: {before} -> {after}");
    b.assert_alive();
}

#[test]
fn a_flood_of_bad_connections_writes_a_bounded_log_and_counts_them_all() {
    // 1000 connections that each fail their handshake (another mechanism): at most 10 WARN
    // lines a second of that kind, the next one after a pause says how many were left out,
    // and the stats and the final line count them all.
    let mut b = Broker::start(1, &["--quiet-workers", "--stats-ms", "300"]);
    let bad = greeting(3, 1, b"PLAIN");
    let t0 = Instant::now();
    const N: usize = 1000;
    for _ in 0..N {
        let mut r = Raw::connect(&b.front);
        r.send(&bad);
        let _ = r.read_until_closed(CLOSE_BOUND);
    }
    let took = t0.elapsed();
    let lines = |log: &str| {
        log.lines()
            .filter(|l| l.contains("connection closed: protocol error"))
            .count()
    };
    let written = lines(&b.proc.stderr());
    let bound = 10 * (took.as_secs() as usize + 2);
    assert!(
        (1..=bound).contains(&written),
        "{written} lines for {N} failures in {took:?}"
    );
    // A period later, one more: its line reports those left out.
    thread::sleep(Duration::from_millis(1100));
    let mut r = Raw::connect(&b.front);
    r.send(&bad);
    let _ = r.read_until_closed(CLOSE_BOUND);
    let log = b.wait_log("connection closed: protocol error", written + 1, STEP);
    let last = log
        .lines()
        .rfind(|l| l.contains("connection closed: protocol error"))
        .unwrap();
    let left_out: usize = last
        .split("left_out=")
        .nth(1)
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no left_out in {last}"));
    assert_eq!(written + left_out, N, "{last}");
    // The counters carry the total.
    let log = b.wait_log(&format!("handshake_failures={}", N + 1), 1, STEP);
    assert!(log.contains(" stats "), "{log}");
    b.assert_serves_ours("after-flood");
}
