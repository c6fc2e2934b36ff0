//! The pyzmq agent (`tests/py/agent.py`) driven line by line from a test, shared by the interop
//! tests that need a scriptable libzmq peer: `#[path = "common/agent.rs"] mod agent;`.
#![allow(dead_code)] // Each test file uses its own subset.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Bound for any single step (a reply, a receive).
pub const STEP: Duration = Duration::from_secs(10);

use super::common::python;

/// A running `agent.py`: one command line in, one reply line out. Killed (by PID) and reaped
/// when dropped. Its methods block the calling thread, which in a multi-thread tokio test is
/// the test body's thread, not a worker.
pub struct Agent {
    label: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Option<JoinHandle<String>>,
}

impl Agent {
    pub fn spawn(label: &'static str) -> Agent {
        // From the zmtp crate's tests, or from the workspace's (tests/cat.rs).
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let script = [
            root.join("tests/py/agent.py"),
            root.join("zmtp/tests/py/agent.py"),
        ]
        .into_iter()
        .find(|p| p.exists())
        .expect("tests/py/agent.py");
        let python = python();
        let mut child = Command::new(&python)
            .arg(&script)
            .arg(label)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
        let stdin = child.stdin.take();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
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
        let mut a = Agent {
            label,
            child,
            stdin,
            lines,
            stderr,
        };
        let hello = a.reply(STEP);
        if hello != "READY" {
            a.fail(&format!("expected READY, got {hello:?}"));
        }
        a
    }

    /// Sends a command without waiting for its reply.
    pub fn start(&mut self, cmd: &str) {
        let stdin = self.stdin.as_mut().expect("agent stdin");
        if let Err(e) = writeln!(stdin, "{cmd}").and_then(|()| stdin.flush()) {
            self.fail(&format!("cannot send {cmd:?}: {e}"));
        }
    }

    /// The next reply line, whatever it says; fails the test on timeout or exit.
    fn line(&mut self, timeout: Duration) -> String {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => self.fail(&format!("no reply within {timeout:?}")),
            Err(RecvTimeoutError::Disconnected) => self.fail("exited"),
        }
    }

    /// The next reply line; fails the test on `ERR`, timeout or exit.
    pub fn reply(&mut self, timeout: Duration) -> String {
        let line = self.line(timeout);
        if line.starts_with("ERR") {
            self.fail(&line);
        }
        line
    }

    pub fn cmd(&mut self, cmd: &str) -> String {
        self.start(cmd);
        self.reply(STEP)
    }

    /// `send NAME TOKEN...` from a socket whose send may be refused (sndtimeo=0 on a peer
    /// shut out after a failed handshake: libzmq drops the pipe for a moment, and `zmq.Again`
    /// comes back): true if libzmq took the message ("SENT"), false if it refused it
    /// ("ERR Again"). Any other reply, a timeout or the agent's exit fails the test.
    pub fn send_may_be_refused(&mut self, cmd: &str) -> bool {
        self.start(cmd);
        let line = self.line(STEP);
        if line.starts_with("SENT") {
            return true;
        }
        if line.starts_with("ERR Again") {
            return false;
        }
        self.fail(&format!(
            "{cmd:?}: expected SENT or ERR Again, got {line:?}"
        ))
    }

    /// `cmd`, expecting a reply that starts with `prefix`; returns the rest.
    pub fn expect(&mut self, cmd: &str, prefix: &str) -> String {
        let r = self.cmd(cmd);
        match r.strip_prefix(prefix) {
            Some(rest) => rest.trim_start().to_string(),
            None => self.fail(&format!("{cmd:?}: expected {prefix}..., got {r:?}")),
        }
    }

    pub fn ok(&mut self, cmd: &str) {
        self.expect(cmd, "OK");
    }

    /// `bind NAME 0` (or a given port); returns the port.
    pub fn bind(&mut self, name: &str, port: u16) -> u16 {
        let p = self.expect(&format!("bind {name} {port}"), "PORT");
        p.parse().unwrap()
    }

    /// `recv NAME`: the received message's descriptor.
    pub fn recv(&mut self, name: &str) -> String {
        self.expect(&format!("recv {name}"), "MSG")
    }

    /// `count`: per socket, the sequence numbers received, in arrival order.
    pub fn count(
        &mut self,
        total: usize,
        timeout_ms: u64,
        names: &[&str],
    ) -> BTreeMap<String, Vec<u64>> {
        self.start_count(total, timeout_ms, names);
        self.counted(timeout_ms)
    }

    /// [`Agent::count`]'s first half: starts counting (the test then makes the messages come).
    pub fn start_count(&mut self, total: usize, timeout_ms: u64, names: &[&str]) {
        self.start(&format!("count {total} {timeout_ms} {}", names.join(" ")));
    }

    /// [`Agent::count`]'s second half: what [`Agent::start_count`] counted.
    pub fn counted(&mut self, timeout_ms: u64) -> BTreeMap<String, Vec<u64>> {
        let r = self.reply(Duration::from_millis(timeout_ms) + STEP);
        let Some(rest) = r.strip_prefix("COUNT ") else {
            self.fail(&format!("expected COUNT, got {r:?}"))
        };
        rest.split(' ')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                let seqs = v
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| s.parse().unwrap())
                    .collect();
                (k.to_string(), seqs)
            })
            .collect()
    }

    /// Monitor event names so far.
    pub fn events(&mut self, name: &str) -> Vec<String> {
        let r = self.expect(&format!("events {name}"), "EVENTS");
        r.split_whitespace().map(str::to_string).collect()
    }

    pub fn kill(&mut self) {
        // Child::kill signals exactly this child's PID; a no-op once it was reaped.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn stderr(&mut self) -> String {
        self.kill();
        self.stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }

    pub fn fail(&mut self, why: &str) -> ! {
        let stderr = self.stderr();
        panic!("agent {}: {why}; agent stderr:\n{stderr}", self.label)
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill();
        if thread::panicking() {
            let stderr = self.stderr();
            if !stderr.is_empty() {
                eprintln!("agent {} stderr:\n{stderr}", self.label);
            }
        }
    }
}

/// Bytes as the agent writes frames: lowercase hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The port of a tcp endpoint (what the agent's `connect` takes).
pub fn port(ep: &zmtp::Endpoint) -> u16 {
    let zmtp::Endpoint::Tcp { port, .. } = ep else {
        panic!("not tcp: {ep}")
    };
    *port
}

/// A message of these frames.
pub fn m(frames: &[&[u8]]) -> zmtp::Message {
    zmtp::Message::from_frames(frames.iter().map(|f| bytes::Bytes::copy_from_slice(f)))
}

/// Waits (at most [`STEP`]) until `n` peers have finished their handshake; returns the routing
/// ids they reported.
pub async fn handshakes(mon: &mut zmtp::Monitor, n: usize) -> Vec<Option<zmtp::RoutingId>> {
    let mut ids = Vec::new();
    let mut seen = Vec::new();
    let r = tokio::time::timeout(STEP, async {
        while ids.len() < n {
            match mon.recv().await {
                Some(zmtp::SocketEvent::HandshakeSucceeded { routing_id, .. }) => {
                    ids.push(routing_id)
                }
                Some(e) => seen.push(e),
                None => break,
            }
        }
    })
    .await;
    assert!(
        r.is_ok() && ids.len() == n,
        "{} of {n} handshakes; seen {seen:#?}",
        ids.len()
    );
    ids
}

/// The next handshake outcome on `mon` (at most [`STEP`]): `Ok(routing id)` or `Err(error
/// text)`.
pub async fn outcome(mon: &mut zmtp::Monitor) -> Result<Option<zmtp::RoutingId>, String> {
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        match tokio::time::timeout_at(deadline, mon.recv()).await {
            Ok(Some(zmtp::SocketEvent::HandshakeSucceeded { routing_id, .. })) => {
                return Ok(routing_id)
            }
            Ok(Some(zmtp::SocketEvent::HandshakeFailed { error, .. })) => {
                return Err(error.to_string())
            }
            Ok(Some(_)) => {}
            other => panic!("no handshake outcome: {other:?}"),
        }
    }
}

/// The next message on `s` (at most [`STEP`]).
pub async fn recv(s: &zmtp::Socket<impl zmtp::socket::SocketKind>) -> zmtp::Message {
    tokio::time::timeout(STEP, s.recv())
        .await
        .expect("no message in time")
        .expect("recv")
}

/// zlib's CRC-32 (IEEE, reflected, init and xorout all ones), as Python's `zlib.crc32`.
pub fn crc32(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *e = c;
        }
        t
    });
    !data.iter().fold(!0u32, |c, &b| {
        table[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}

/// The agent's descriptor of a sequence of frames: `-` for an empty one, hex up to 64 bytes,
/// `#LEN:CRC32` above.
pub fn desc<'a>(frames: impl IntoIterator<Item = &'a bytes::Bytes>) -> String {
    frames
        .into_iter()
        .map(|f| match f.len() {
            0 => "-".to_string(),
            1..=64 => hex(f),
            n => format!("#{n}:{:08x}", crc32(f)),
        })
        .collect::<Vec<_>>()
        .join(" ")
}
