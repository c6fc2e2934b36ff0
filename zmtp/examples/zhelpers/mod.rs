//! The few helpers the zguide examples share, as the guide's C examples share `zhelpers.h`:
//! bounded receives, printing frames, a small random number generator, printable routing ids,
//! and the tiny argument parsing every example does.
//!
//! Each example includes this file with `mod zhelpers;` (it is a folder with `mod.rs`, so cargo
//! does not take it for an example of its own), and uses what it needs of it.
#![allow(dead_code)] // Each example uses its own subset.

use std::fmt::Display;
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use zmtp::socket::SocketKind;
use zmtp::{Message, Socket};

/// What the examples return: any error, printed as one line by [`exit`].
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// `Result` with [`Error`].
pub type Result<T = ()> = std::result::Result<T, Error>;

/// How long a client waits for an answer before it calls the run a failure. Every wait in the
/// examples is bounded: a program that hangs is a bug, not a demo.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// How long a server or worker started on its own waits for the next request before it gives
/// up (the zguide's servers wait forever; ours leave no stray process behind).
pub const IDLE: Duration = Duration::from_secs(60);

/// The endpoint the all-in-one runs bind: the loopback interface, a port the OS picks. `bind`
/// returns the endpoint with the real port, which the other roles then connect to.
pub const ANY_PORT: &str = "tcp://127.0.0.1:0";

/// Ends `main`: exit status 0 on success, else the error on one line of stderr and status 1.
pub fn exit(result: Result) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("E: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The next message on `socket`, waiting at most [`TIMEOUT`].
pub async fn recv<K: SocketKind>(socket: &Socket<K>) -> Result<Message> {
    recv_within(socket, TIMEOUT).await
}

/// The next message on `socket`, waiting at most `limit`; an error after that.
pub async fn recv_within<K: SocketKind>(socket: &Socket<K>, limit: Duration) -> Result<Message> {
    match tokio::time::timeout(limit, socket.recv()).await {
        Ok(msg) => Ok(msg?),
        Err(_) => Err(format!(
            "no message on the {} socket within {limit:?}",
            socket.socket_type()
        )
        .into()),
    }
}

/// A frame as text (invalid UTF-8 shown as U+FFFD): what the zguide's `s_recv` returns.
pub fn text(frame: &[u8]) -> String {
    String::from_utf8_lossy(frame).into_owned()
}

/// The message's only frame as text; an error if it has more (or no) frames.
pub fn one_frame(msg: &Message) -> Result<String> {
    match msg.frames() {
        [frame] => Ok(text(frame)),
        frames => Err(format!("expected a one-frame message, got {} frames", frames.len()).into()),
    }
}

/// Prints every frame of a message, as the zguide's `s_dump`: a rule, then `[size] body`, the
/// body as text when every byte is printable ASCII, else in hex.
pub fn dump(msg: &Message) {
    println!("----------------------------------------");
    for frame in msg.frames() {
        println!("[{:03}] {}", frame.len(), printable(frame));
    }
}

/// A frame as `dump` shows it.
pub fn printable(frame: &[u8]) -> String {
    if frame.iter().all(|b| (0x20..0x7f).contains(b)) {
        text(frame)
    } else {
        frame.iter().map(|b| format!("{b:02X}")).collect()
    }
}

/// A random number in `0..n`, as the zguide's `randof(n)` (`n` > 0). A SplitMix64 generator
/// seeded from the clock and the process id: these examples need variety, not cryptography
/// (and no dependency for it).
pub fn randof(n: u32) -> u32 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let mut s = STATE.load(Ordering::Relaxed);
    if s == 0 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        s = (now ^ (u64::from(std::process::id()) << 32)) | 1;
    }
    // Racy between threads (two may draw the same number), which does not matter here.
    let s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
    STATE.store(s, Ordering::Relaxed);
    let mut z = s;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z % u64::from(n.max(1))) as u32
}

/// A random printable routing id, `XXXX-XXXX` in hex, as the zguide's `s_set_id` makes them:
/// easier to follow in a trace than the 5 bytes a ROUTER generates.
pub fn random_id() -> Bytes {
    Bytes::from(format!("{:04X}-{:04X}", randof(0x10000), randof(0x10000)))
}

/// The command line, without the program's name: a role, then positional arguments.
pub struct Args(Vec<String>);

impl Args {
    /// `std::env::args`, minus the program name.
    pub fn from_env() -> Args {
        Args(std::env::args().skip(1).collect())
    }

    /// The first argument (the role), if any.
    pub fn role(&self) -> Option<&str> {
        self.0.first().map(String::as_str)
    }

    /// Argument `i` (the role is 0); `what` names it in the error when it is missing.
    pub fn get(&self, i: usize, what: &str) -> Result<&str> {
        self.0
            .get(i)
            .map(String::as_str)
            .ok_or_else(|| format!("missing argument: {what}").into())
    }

    /// Argument `i` parsed, or `default` when it is absent.
    pub fn num<T>(&self, i: usize, what: &str, default: T) -> Result<T>
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.0.get(i) {
            None => Ok(default),
            Some(s) => s
                .parse()
                .map_err(|e| format!("bad {what} {s:?}: {e}").into()),
        }
    }

    /// Argument `i` parsed, or `None` when it is absent.
    pub fn opt<T>(&self, i: usize, what: &str) -> Result<Option<T>>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.0
            .get(i)
            .map(|s| {
                s.parse()
                    .map_err(|e| format!("bad {what} {s:?}: {e}").into())
            })
            .transpose()
    }
}

/// Closes `socket` after its queued messages were sent (LINGER), waiting at most [`TIMEOUT`]:
/// a program that returns from `main` right after `send` would exit before the message left.
pub async fn close<K: SocketKind>(socket: Socket<K>) -> Result {
    let kind = socket.socket_type();
    tokio::time::timeout(TIMEOUT, socket.close())
        .await
        .map_err(|_| format!("the {kind} socket did not flush within {TIMEOUT:?}").into())
}
