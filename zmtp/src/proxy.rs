//! `zmq_proxy` and `zmq_proxy_steerable` (libzmq `src/proxy.cpp`): messages moved between two
//! sockets, both ways, for ROUTER/DEALER (a request-reply broker), XSUB/XPUB (a pub-sub
//! forwarder) and PULL/PUSH (a pipeline stage); optionally a copy of each to a capture socket,
//! and commands from a control socket.
//!
//! Messages move in batches (`recv_many` / `send_many`, up to [`BATCH`] per lock of each
//! socket) and keep their order in each direction. Nothing is dropped for back-pressure: a
//! direction waits while the socket it sends to has no room, as the socket type's `send` does
//! (a ROUTER still drops for unknown peers, a PUB for full subscribers, as in libzmq). A
//! direction in which a socket does not receive, or the other does not send (PULL to PUSH has
//! none back), is not run.
//!
//! The control socket takes libzmq's commands, each a one-frame message, with their documented
//! meaning (libzmq 4.3.5's code swaps PAUSE and RESUME; we do not): `PAUSE` (stop moving
//! messages; a batch already taken is still delivered), `RESUME`, `TERMINATE` (stop, and end
//! [`Proxy::run`] with `Ok` once the batches in hand are delivered) and `STATISTICS` (the reply
//! is 8 frames of a `u64` each in host byte order, as libzmq sends: frames and bytes received
//! by the frontend, sent by the frontend, received by the backend, sent by the backend).
//! Every command gets a reply if the control socket can send (a REP must): an empty frame, or
//! the statistics. Other messages get the empty reply and change nothing.

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use tokio::sync::watch;

use crate::message::Message;
use crate::socket::publish::PubBehaviour;
use crate::socket::rep::RepBehaviour;
use crate::socket::{Error, Socket, SocketKind};

/// Messages moved per batch in each direction.
pub const BATCH: usize = 256;

/// Moves messages between `frontend` and `backend`, both ways, until either socket is closed
/// (then `Ok`), or a send fails for another reason (that error). `Proxy` adds a capture and a
/// control socket.
///
/// # Cancel safety
/// Dropping the future stops the proxy; a batch taken from one socket and not yet handed to
/// the other is lost with it (at most [`BATCH`] messages per direction).
pub async fn proxy<F: SocketKind, B: SocketKind>(
    frontend: &Socket<F>,
    backend: &Socket<B>,
) -> Result<(), Error> {
    Proxy::new(frontend, backend).run().await.map(|_| ())
}

/// Frames and bytes counted by a proxy (libzmq counts frames, not messages).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Frames.
    pub frames: u64,
    /// Bytes of those frames' bodies.
    pub bytes: u64,
}

/// What a proxy moved, as its `STATISTICS` command reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Statistics {
    /// Received by the frontend (and sent on by the backend).
    pub frontend_received: Counts,
    /// Sent by the frontend (received by the backend).
    pub frontend_sent: Counts,
    /// Received by the backend.
    pub backend_received: Counts,
    /// Sent by the backend.
    pub backend_sent: Counts,
}

impl Statistics {
    /// The `STATISTICS` reply: 8 frames of a `u64` each, in host byte order (as libzmq).
    pub fn to_message(&self) -> Message {
        let values = [
            self.frontend_received.frames,
            self.frontend_received.bytes,
            self.frontend_sent.frames,
            self.frontend_sent.bytes,
            self.backend_received.frames,
            self.backend_received.bytes,
            self.backend_sent.frames,
            self.backend_sent.bytes,
        ];
        Message::from_frames(
            values
                .iter()
                .map(|v| Bytes::copy_from_slice(&v.to_ne_bytes())),
        )
    }
}

/// A proxy with its optional capture and control sockets (libzmq's `zmq_proxy_steerable`).
///
/// ```no_run
/// # async fn f() -> Result<(), zmtp::Error> {
/// let (front, back, ctl) = (zmtp::Router::new(), zmtp::Dealer::new(), zmtp::Rep::new());
/// front.bind("tcp://127.0.0.1:5555")?;
/// back.bind("tcp://127.0.0.1:5556")?;
/// ctl.bind("tcp://127.0.0.1:5557")?;
/// let stats = zmtp::proxy::Proxy::new(&front, &back).control(&ctl).run().await?;
/// println!("moved {} frames in", stats.frontend_received.frames);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Proxy<'a, F, B, C = PubBehaviour, R = RepBehaviour>
where
    F: SocketKind,
    B: SocketKind,
    C: SocketKind,
    R: SocketKind,
{
    frontend: &'a Socket<F>,
    backend: &'a Socket<B>,
    capture: Option<&'a Socket<C>>,
    control: Option<&'a Socket<R>>,
}

impl<'a, F: SocketKind, B: SocketKind> Proxy<'a, F, B> {
    /// A proxy between `frontend` and `backend`, without capture or control.
    pub fn new(frontend: &'a Socket<F>, backend: &'a Socket<B>) -> Self {
        Proxy {
            frontend,
            backend,
            capture: None,
            control: None,
        }
    }
}

impl<'a, F: SocketKind, B: SocketKind, C: SocketKind, R: SocketKind> Proxy<'a, F, B, C, R> {
    /// Every message moved, either way, is also sent to `capture` (a PUB, PUSH, DEALER or PAIR,
    /// typically), before the other socket; the proxy waits when `capture` has no room, as
    /// libzmq's does.
    pub fn capture<C2: SocketKind>(self, capture: &'a Socket<C2>) -> Proxy<'a, F, B, C2, R> {
        Proxy {
            frontend: self.frontend,
            backend: self.backend,
            capture: Some(capture),
            control: self.control,
        }
    }

    /// Commands are taken from `control` (a REP, typically): see the module docs.
    pub fn control<R2: SocketKind>(self, control: &'a Socket<R2>) -> Proxy<'a, F, B, C, R2> {
        Proxy {
            frontend: self.frontend,
            backend: self.backend,
            capture: self.capture,
            control: Some(control),
        }
    }

    /// Runs until `TERMINATE` on the control socket, or until the frontend, backend or
    /// control socket is closed (both `Ok`, with what was moved), or a send fails for another
    /// reason (that error).
    ///
    /// # Cancel safety
    /// Dropping the future stops the proxy; a batch taken from one socket and not yet handed
    /// to the other is lost with it (at most [`BATCH`] messages per direction).
    pub async fn run(self) -> Result<Statistics, Error> {
        let stats = Tally::default();
        let (tx, rx) = watch::channel(Run::Active);
        let capture = self.capture;
        let pumps = async {
            tokio::try_join!(
                pump(
                    self.frontend,
                    self.backend,
                    capture,
                    rx.clone(),
                    [&stats.counts[0], &stats.counts[3]],
                ),
                pump(
                    self.backend,
                    self.frontend,
                    capture,
                    rx.clone(),
                    [&stats.counts[2], &stats.counts[1]],
                ),
            )
        };
        let control = async {
            match self.control {
                Some(c) => steer(c, &tx, &stats).await,
                None => std::future::pending().await,
            }
        };
        let r = tokio::select! {
            r = pumps => r.map(|_| ()),
            r = control => r,
        };
        match r {
            Ok(()) | Err(Error::Closed) => Ok(stats.get()),
            Err(e) => Err(e),
        }
    }
}

/// What the control socket last asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    Active,
    Paused,
    Terminated,
}

/// The counters, as frames and bytes, in the order of the `STATISTICS` reply.
#[derive(Debug, Default)]
struct Tally {
    counts: [[AtomicU64; 2]; 4],
}

impl Tally {
    fn get(&self) -> Statistics {
        let c = |i: usize| Counts {
            frames: self.counts[i][0].load(Ordering::Relaxed),
            bytes: self.counts[i][1].load(Ordering::Relaxed),
        };
        Statistics {
            frontend_received: c(0),
            frontend_sent: c(1),
            backend_received: c(2),
            backend_sent: c(3),
        }
    }
}

/// Adds a batch's frames and bytes to a counter.
fn count(counter: &[AtomicU64; 2], batch: &[Message]) {
    let (frames, bytes) = batch.iter().fold((0u64, 0u64), |(f, b), m| {
        let size: usize = m.frames().iter().map(Bytes::len).sum();
        (f + m.len() as u64, b + size as u64)
    });
    counter[0].fetch_add(frames, Ordering::Relaxed);
    counter[1].fetch_add(bytes, Ordering::Relaxed);
}

/// One direction, until `TERMINATE` (then `Ok`) or an error. `counters`: received by `from`,
/// sent by `to`. Never stops inside a batch: one taken is always handed on, even if the proxy
/// is paused or terminated meanwhile.
async fn pump<A: SocketKind, B: SocketKind, C: SocketKind>(
    from: &Socket<A>,
    to: &Socket<B>,
    capture: Option<&Socket<C>>,
    mut run: watch::Receiver<Run>,
    counters: [&[AtomicU64; 2]; 2],
) -> Result<(), Error> {
    if !A::CAN_RECV || !B::CAN_SEND {
        let _ = run.wait_for(|r| *r == Run::Terminated).await;
        return Ok(());
    }
    let mut batch = Vec::with_capacity(BATCH);
    let mut copies = Vec::new();
    loop {
        // Wait while paused; a change of command interrupts a wait for messages (which is
        // cancel safe: nothing is taken then).
        let state = match run.wait_for(|r| *r != Run::Paused).await {
            Ok(r) => *r,
            Err(_) => Run::Terminated,
        };
        if state == Run::Terminated {
            return Ok(());
        }
        tokio::select! {
            r = from.recv_many(&mut batch, BATCH) => { r?; }
            _ = run.changed() => continue,
        }
        count(counters[0], &batch);
        if let Some(c) = capture {
            copies.extend(batch.iter().cloned());
            c.send_many(&mut copies).await?;
        }
        count(counters[1], &batch);
        to.send_many(&mut batch).await?;
    }
}

/// The control socket's commands, until `TERMINATE` (then pending: the pumps end the proxy) or
/// an error.
async fn steer<R: SocketKind>(
    control: &Socket<R>,
    run: &watch::Sender<Run>,
    stats: &Tally,
) -> Result<(), Error> {
    loop {
        let cmd = match control.recv().await {
            Ok(m) => m,
            Err(Error::Closed) => {
                // The application closed it: end as TERMINATE does.
                run.send_replace(Run::Terminated);
                return std::future::pending().await;
            }
            Err(e) => return Err(e),
        };
        let word = cmd.first().map(|f| &f[..]).unwrap_or_default();
        let mut reply = Message::from(Bytes::new());
        let next = match word {
            b"PAUSE" => Some(Run::Paused),
            b"RESUME" => Some(Run::Active),
            b"TERMINATE" => Some(Run::Terminated),
            b"STATISTICS" => {
                reply = stats.get().to_message();
                None
            }
            other => {
                tracing::debug!(
                    target: crate::transport::loglimit::PROXY,
                    command = ?String::from_utf8_lossy(other),
                    "proxy: unknown control command"
                );
                None
            }
        };
        if let Some(state) = next {
            run.send_replace(state);
        }
        if R::CAN_SEND {
            control.send(reply).await?;
        }
        if next == Some(Run::Terminated) {
            return std::future::pending().await;
        }
    }
}
