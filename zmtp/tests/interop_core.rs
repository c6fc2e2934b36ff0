//! Live interop of the sans-IO core with real libzmq (pyzmq in a child process), through a
//! minimal blocking driver over `std::net::TcpStream`: no tokio, only [`Session`].
//!
//! The interpreter is `$ZMTP_PYTHON`, else `<workspace>/.venv/bin/python` (made by
//! `scripts/test.sh`); without it these tests fail, they never skip. The libzmq side is
//! `tests/py/peer.py`.

mod common;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use zmtp::protocol::codec::MIN_READ_LEN;
use zmtp::protocol::session::{Session, SessionConfig, SessionEvent};
use zmtp::{Message, SocketType};

const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// Must match MESSAGES in tests/py/peer.py.
fn messages() -> Vec<Message> {
    let frames = |fs: &[&[u8]]| Message::from_frames(fs.iter().map(|f| Bytes::copy_from_slice(f)));
    vec![
        frames(&[b"hello"]),
        frames(&[b"multi", b"part", b"message"]),
        frames(&[b""]),
        frames(&[b"a", b"", b"c"]),
        Message::from((0..300).map(|i| (i % 256) as u8).collect::<Vec<u8>>()),
        Message::from_frames([vec![b'x'; 255], vec![b'y'; 256]]),
        Message::from(
            (0..100_000u32)
                .map(|i| ((i * 7) % 251) as u8)
                .collect::<Vec<u8>>(),
        ),
        Message::from_frames((0..50).map(|i| format!("f{i}").into_bytes())),
    ]
}

fn with_prefix(prefix: &'static [u8], m: &Message) -> Message {
    let mut r = m.clone();
    r.push_front(Bytes::from_static(prefix));
    r
}

// ---------------------------------------------------------------------------------------------
// The pyzmq child process.

use common::python;

/// A running `peer.py`; killed (by PID) and reaped when dropped, whatever happened.
struct Peer {
    child: Child,
    mode: &'static str,
    stdout: Receiver<String>,
    stderr: Option<JoinHandle<String>>,
}

impl Peer {
    fn spawn(mode: &'static str, args: &[String]) -> Peer {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/peer.py");
        let python = python();
        let mut child = Command::new(&python)
            .arg(&script)
            .arg(mode)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
        let out = child.stdout.take().unwrap();
        let (tx, stdout) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().unwrap();
        let stderr = Some(thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        }));
        Peer {
            child,
            mode,
            stdout,
            stderr,
        }
    }

    /// The port a binding peer announces as `PORT n` on stdout.
    fn port(&mut self) -> u16 {
        match self.stdout.recv_timeout(STEP_TIMEOUT) {
            Ok(line) => line
                .strip_prefix("PORT ")
                .and_then(|p| p.parse().ok())
                .unwrap_or_else(|| panic!("peer.py {}: unexpected output {line:?}", self.mode)),
            Err(_) => {
                let status = self.child.try_wait().ok().flatten();
                let stderr = self.kill_and_stderr();
                panic!(
                    "peer.py {}: no port within {STEP_TIMEOUT:?} (exit: {status:?}); stderr:\n{}",
                    self.mode, stderr
                )
            }
        }
    }

    /// Polls for exit until `deadline`.
    fn try_exit(&mut self, deadline: Instant) -> Option<std::process::ExitStatus> {
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits (bounded) for the peer to exit and asserts it reported success.
    fn assert_success(mut self) {
        let status = self.try_exit(Instant::now() + STEP_TIMEOUT);
        let stderr = self.kill_and_stderr();
        match status {
            Some(s) if s.success() => eprint!("{stderr}"),
            Some(s) => panic!("peer.py {} failed ({s}); stderr:\n{stderr}", self.mode),
            None => panic!(
                "peer.py {} still running after {STEP_TIMEOUT:?}; stderr:\n{stderr}",
                self.mode
            ),
        }
    }

    fn kill_and_stderr(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // Child::kill signals exactly this child's PID; no-op if it already exited and was
        // reaped.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            // The test failed on our side: show what the libzmq side had to say.
            let stderr = self.kill_and_stderr();
            eprintln!("peer.py {} stderr:\n{stderr}", self.mode);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A minimal blocking driver for Session.

const PONG: &[u8] = b"\x04\x05\x04PONG";

struct Conn {
    stream: TcpStream,
    session: Session,
    buf: BytesMut,
    /// PONG frames written (the Session answers PINGs by itself).
    pongs: usize,
}

fn proto(e: zmtp::ProtocolError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl Conn {
    fn new(stream: TcpStream, config: SessionConfig) -> Conn {
        stream.set_nodelay(true).unwrap();
        stream.set_write_timeout(Some(STEP_TIMEOUT)).unwrap();
        let mut c = Conn {
            stream,
            session: Session::new(config, Instant::now()),
            buf: BytesMut::new(),
            pongs: 0,
        };
        c.flush().unwrap();
        c
    }

    fn flush(&mut self) -> io::Result<()> {
        let out = self.session.out();
        if out.is_empty() {
            return Ok(());
        }
        // Everything pending is written below, so each PONG is counted once.
        self.pongs += out
            .to_vec()
            .windows(PONG.len())
            .filter(|w| *w == PONG)
            .count();
        while !out.is_empty() {
            let n = self.stream.write(out.chunk())?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            out.advance(n);
        }
        Ok(())
    }

    /// One read (waiting at most until `until` or the session's next timer), then timers, then
    /// a flush. `Err(UnexpectedEof)` when the peer closed.
    fn turn(&mut self, until: Instant) -> io::Result<()> {
        let wake = match self.session.poll_timeout() {
            Some(t) => t.min(until),
            None => until,
        };
        let wait = wake
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        self.stream.set_read_timeout(Some(wait))?;
        let mut tmp = vec![0u8; self.session.reserve_hint(self.buf.len()).max(MIN_READ_LEN)];
        match self.stream.read(&mut tmp) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                self.buf.extend_from_slice(&tmp[..n]);
                self.session
                    .handle_input(Instant::now(), &mut self.buf)
                    .map_err(proto)?;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e),
        }
        self.session.handle_timeout(Instant::now()).map_err(proto)?;
        self.flush()
    }

    fn next_event(&mut self) -> SessionEvent {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            if let Some(e) = self.session.poll_event() {
                return e;
            }
            assert!(
                Instant::now() < deadline,
                "no session event within {STEP_TIMEOUT:?}"
            );
            self.turn(deadline).expect("connection failed");
        }
    }

    fn next_message(&mut self) -> Message {
        match self.next_event() {
            SessionEvent::Message(m) => m,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    fn send(&mut self, m: &Message) {
        self.session.send(m).unwrap();
        self.flush().unwrap();
    }

    /// Keeps the connection serviced (reads, PONGs) until the peer exits or closes.
    fn serve_until_exit(&mut self, peer: &mut Peer) {
        let deadline = Instant::now() + STEP_TIMEOUT;
        while Instant::now() < deadline {
            if peer.child.try_wait().unwrap().is_some() {
                return;
            }
            if self
                .turn(Instant::now() + Duration::from_millis(20))
                .is_err()
            {
                return;
            }
        }
    }
}

fn accept_within(listener: &TcpListener, timeout: Duration) -> TcpStream {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + timeout;
    loop {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).unwrap();
                return s;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                assert!(
                    Instant::now() < deadline,
                    "no connection within {timeout:?}"
                );
                thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

fn connect(port: u16) -> TcpStream {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), STEP_TIMEOUT).unwrap()
}

fn ready(conn: &mut Conn) -> zmtp::protocol::PeerInfo {
    match conn.next_event() {
        SessionEvent::Ready(info) => info,
        other => panic!("expected Ready, got {other:?}"),
    }
}

fn dealer_config(routing_id: &'static [u8]) -> SessionConfig {
    let mut cfg = SessionConfig::new(SocketType::Dealer);
    cfg.routing_id = Bytes::from_static(routing_id);
    cfg.handshake_ivl = Some(STEP_TIMEOUT);
    cfg
}

// ---------------------------------------------------------------------------------------------

/// (a) pyzmq DEALER connects to our listener; we play ROUTER (one connection, so the routing
/// id frame is implicit) and echo every message back with a "reply" frame in front.
#[test]
fn pyzmq_dealer_to_our_router() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut peer = Peer::spawn("dealer-connect", &[port.to_string()]);
    let stream = accept_within(&listener, STEP_TIMEOUT);
    let mut cfg = SessionConfig::new(SocketType::Router);
    cfg.handshake_ivl = Some(STEP_TIMEOUT);
    let mut conn = Conn::new(stream, cfg);

    let info = ready(&mut conn);
    assert_eq!(info.socket_type, Some(SocketType::Dealer));
    assert_eq!(info.identity.as_ref(), b"py-dealer");
    assert_eq!(info.minor, 1);

    for (i, want) in messages().iter().enumerate() {
        let got = conn.next_message();
        assert_eq!(&got, want, "message {i}");
        conn.send(&with_prefix(b"reply", &got));
    }
    conn.serve_until_exit(&mut peer);
    peer.assert_success();
}

/// (b) Our DEALER connects to a pyzmq ROUTER, which checks our routing id and echoes.
#[test]
fn our_dealer_to_pyzmq_router() {
    let mut peer = Peer::spawn("router-bind", &[]);
    let port = peer.port();
    let mut conn = Conn::new(connect(port), dealer_config(b"rust-dealer"));

    let info = ready(&mut conn);
    assert_eq!(info.socket_type, Some(SocketType::Router));
    assert_eq!(
        info.identity.as_ref(),
        b"",
        "libzmq ROUTER sends an empty Identity"
    );

    let msgs = messages();
    for m in &msgs {
        conn.send(m);
    }
    for (i, m) in msgs.iter().enumerate() {
        assert_eq!(conn.next_message(), with_prefix(b"reply", m), "reply {i}");
    }
    conn.send(&Message::from("done"));
    conn.serve_until_exit(&mut peer);
    peer.assert_success();
}

/// (c) A pyzmq ROUTER with HEARTBEAT_IVL=100 ms / HEARTBEAT_TIMEOUT=300 ms: the Session answers
/// its PINGs by itself and the connection stays up for 1.5 s (five timeouts' worth).
#[test]
fn pyzmq_router_heartbeats_are_answered() {
    let mut peer = Peer::spawn("router-heartbeat", &[]);
    let port = peer.port();
    let mut conn = Conn::new(connect(port), dealer_config(b"hb"));
    ready(&mut conn);
    let start = Instant::now();
    let until = start + Duration::from_millis(1500);
    while Instant::now() < until {
        conn.turn(until)
            .expect("connection dropped while answering PINGs");
    }
    // ~15 PINGs in 1.5 s at 100 ms; allow for scheduling on a loaded machine.
    assert!(conn.pongs >= 8, "only {} PONGs in 1.5 s", conn.pongs);
    conn.send(&Message::from("still-alive"));
    assert_eq!(conn.next_message(), Message::from("ok"));
    conn.send(&Message::from("done"));
    conn.serve_until_exit(&mut peer);
    peer.assert_success();
}

/// (c') Control for (c): the same ROUTER drops a peer that does not answer, so (c) does prove
/// the answers keep the connection alive.
#[test]
fn pyzmq_router_drops_a_silent_peer() {
    let mut peer = Peer::spawn("router-heartbeat-silent", &[]);
    let port = peer.port();
    let mut conn = Conn::new(connect(port), dealer_config(b"silent"));
    ready(&mut conn);
    // Stop servicing the connection: no reads, so no PONGs.
    let status = peer.try_exit(Instant::now() + STEP_TIMEOUT);
    assert!(status.is_some(), "peer did not see the disconnect");
    // libzmq closed the connection: after its PINGs we read EOF (or a reset).
    let mut stream = conn.stream;
    stream.set_read_timeout(Some(STEP_TIMEOUT)).unwrap();
    let mut sink = [0u8; 4096];
    loop {
        match stream.read(&mut sink) {
            Ok(0) => break,
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("expected EOF after the heartbeat timeout, got {e}"),
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
    peer.assert_success();
}
