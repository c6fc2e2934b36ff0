//! The connection driver: one task per connection, moving bytes between the stream and a
//! sans-IO [`Session`], and messages between the session and the socket's pipe. Generic over the
//! transport's [`ByteStream`].
//!
//! Each turn: pull queued messages from the pipe into the session (bounded by [`OUT_BATCH`]
//! bytes) and write them with vectored, non-blocking writes until the kernel refuses; read
//! until the kernel has nothing (at most [`MAX_READS_PER_TURN`] reads) and push the decoded
//! messages into the pipe in one batch; fire the session's timers; then sleep until the stream
//! is ready, the pipe has news, or a timer is due. Reading stops while the pipe is at RCVHWM.
//!
//! A connection is [`State::Running`], then, once the socket closes (or its endpoint is unbound
//! or disconnected), [`State::Lingering`]: it finishes its handshake if need be and flushes
//! what is queued, within LINGER.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use tokio::io::Interest;
use tokio::sync::Notify;

use super::loglimit::{CONNECTION, SECURITY};
use super::{ByteStream, SocketLink};
use crate::endpoint::Endpoint;
use crate::message::{Message, PeerMetadata};
use crate::monitor::{DisconnectReason, PeerAddr, SocketEvent};
use crate::outgoing::Outgoing;
use crate::protocol::codec::{OutBuf, READ_AHEAD_LEN};
use crate::protocol::error::ProtocolError;
use crate::protocol::mechanism::AuthDecision;
use crate::protocol::session::timers::deadline;
use crate::protocol::session::{Session, SessionEvent};
use crate::routing::{subs, PipeId};

/// Bytes moved from the pipe into the session before writing: up to this many go out in one
/// `sendmsg`. Each write wakes the peer's reader, so fewer and larger writes cost both sides
/// less: at 1 MiB rather than 256 KiB, a sender of 4 KiB messages made 4k `sendmsg` calls per
/// million messages instead of 16k, and its reader slept 5k to 7k times instead of 17k to 20k
/// (throughput 1.40x at 4 KiB, 1.13x at 256 B, 1.20x at 64 KiB; a tie at 16 B and 1 MiB; 2 MiB
/// did worse at 4 KiB and 1 MiB). A connection that keeps writing holds a write buffer of up to
/// this size; an idle one holds none ([`Driver::release_idle_buffers`]).
const OUT_BATCH: usize = 1024 * 1024;
/// Reads per turn, so one busy connection cannot hold its worker thread.
const MAX_READS_PER_TURN: usize = 16;
/// Messages, or bytes, decoded before they are handed to the socket in the middle of a turn:
/// small messages go over in large batches (one wake-up of `recv` per batch), large ones soon
/// enough that the application works on them while the next ones are read.
const DELIVER_BATCH: usize = 512;
const DELIVER_BATCH_BYTES: usize = 256 * 1024;
/// Inside a frame with at least this many bytes still to come, a connection asks its stream to
/// wake it only once that many have arrived (`SO_RCVLOWAT` on TCP), up to
/// [`RECV_LOWAT_MAX`]: a 1 MiB frame then costs the reader one or two wake-ups instead of one
/// per few segments, and the sender (which does the waking on loopback) as much. Below it the
/// mark stays at 1 byte: smaller frames gain nothing and would pay a system call each.
const RECV_LOWAT_MIN: usize = 128 * 1024;
/// The highest mark asked for: the kernel holds this much before waking the reader.
const RECV_LOWAT_MAX: usize = 1024 * 1024;
/// Write rounds (fill then write) per turn.
const MAX_WRITES_PER_TURN: usize = 16;
/// Most slices per vectored write.
const MAX_IOVECS: usize = 64;
/// How long a connection with no deadline (no heartbeat, handshake done, not lingering) sleeps
/// before it looks again.
const IDLE_WAIT: std::time::Duration = std::time::Duration::from_secs(3600);

/// One connection as its socket sees it: the pipe it serves and where it goes.
pub(crate) struct Conn<'a> {
    /// The socket.
    pub(crate) link: &'a Arc<dyn SocketLink>,
    /// The pipe this connection serves.
    pub(crate) pipe: PipeId,
    /// Wakes the connection: the pipe has news.
    pub(crate) notify: &'a Notify,
    /// The endpoint bound or connected.
    pub(crate) endpoint: &'a Endpoint,
    /// The peer.
    pub(crate) peer: &'a PeerAddr,
    /// Cancelled when the socket closes or this endpoint is unbound or disconnected: the
    /// connection then flushes within LINGER and ends.
    pub(crate) stop: &'a tokio_util::sync::CancellationToken,
}

/// Where a connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Serving the socket.
    Running,
    /// The socket is closing: finish the handshake, flush, end by the deadline (`None`: until
    /// flushed, LINGER = -1).
    Lingering(Option<Instant>),
}

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Drives one connection until it ends, then detaches it from its pipe and reports the end to
/// the log and the monitor, in that order: when a monitor sees `Disconnected`, the peer is
/// already unroutable. `persistent`: the connecting side's pipe, which keeps its queues for the
/// next connection if the end allows a reconnect.
pub(crate) async fn run<S: ByteStream>(
    conn: &Conn<'_>,
    stream: S,
    persistent: bool,
) -> DisconnectReason {
    let mut d = Driver::new(conn, stream);
    let end = d.drive().await;
    let ready = d.ready;
    drop(d);
    // Asked of the socket, not kept by the driver (memory per idle connection), only after
    // a handshake (a reconnecting pipe still holds its previous peer's) and only if a monitor
    // or the log wants it; before the detach, which may remove the pipe.
    let monitors = conn.link.monitors();
    let routing_id = if ready && (monitors.is_watched() || logs_end(&end)) {
        conn.link.routing_id(conn.pipe)
    } else {
        None
    };
    conn.link
        .detach(conn.pipe, persistent && end.may_reconnect());
    log_end(&end, conn, routing_id.as_ref());
    if !ready {
        if let DisconnectReason::Protocol(e) = &end {
            monitors.emit(|| SocketEvent::HandshakeFailed {
                endpoint: conn.endpoint.clone(),
                peer: conn.peer.clone(),
                error: e.clone(),
            });
        }
    }
    monitors.emit(|| SocketEvent::Disconnected {
        endpoint: conn.endpoint.clone(),
        peer: conn.peer.clone(),
        routing_id,
        reason: end.clone(),
    });
    end
}

/// The state of one connection across turns.
struct Driver<'c, 'a, S> {
    conn: &'c Conn<'a>,
    stream: S,
    session: Session,
    rbuf: BytesMut,
    /// Bytes allocated for `rbuf`'s buffer, for the socket's pool of receive buffers.
    rbuf_alloc: usize,
    /// Messages decoded, not yet handed to the pipe.
    msgs: Vec<Message>,
    /// Scratch space for messages taken from the pipe.
    batch: VecDeque<Outgoing>,
    /// The handshake is done.
    ready: bool,
    /// Reading stopped: the pipe is at RCVHWM.
    paused: bool,
    /// The stream may have bytes to read: false once a read found none, true again once the
    /// stream reports readiness. A wake-up for the pipe alone (a send) then costs no read
    /// attempt, and no receive buffer taken from the pool and given back.
    maybe_readable: bool,
    /// The stream's receive low-water mark as last set ([`recv_lowat`]); 0: the stream has
    /// none, not asked again.
    lowat: u32,
    /// Whether a read that empties the kernel's buffer ends the reading until the next
    /// wake-up, or the read after it is tried.
    short_reads: ShortReads,
    state: State,
    /// The session waits for a decision on this peer (boxed: rare, and connections stay small).
    auth: Option<Box<crate::protocol::mechanism::AuthRequest>>,
    /// Attached to every message received once an authenticator accepted the peer.
    meta: Option<Arc<PeerMetadata>>,
}

impl<'c, 'a, S: ByteStream> Driver<'c, 'a, S> {
    fn new(conn: &'c Conn<'a>, stream: S) -> Self {
        let link = conn.link;
        Driver {
            conn,
            stream,
            session: Session::new(link.options().session_config(link.socket_type()), now()),
            rbuf: BytesMut::with_capacity(READ_AHEAD_LEN),
            rbuf_alloc: READ_AHEAD_LEN,
            msgs: Vec::new(),
            batch: VecDeque::new(),
            ready: false,
            paused: false,
            maybe_readable: true,
            lowat: 1,
            short_reads: ShortReads::default(),
            state: State::Running,
            auth: None,
            meta: None,
        }
    }

    async fn drive(&mut self) -> DisconnectReason {
        let sleep = tokio::time::sleep(IDLE_WAIT);
        tokio::pin!(sleep);
        let mut armed: Option<Instant> = None;
        let link = self.conn.link;
        let pipe = self.conn.pipe;
        loop {
            if self.state == State::Running && self.conn.stop.is_cancelled() {
                if !self.ready && !link.has_outbound(pipe) {
                    return DisconnectReason::SocketClosed;
                }
                // Finish the handshake if need be, then flush, within LINGER.
                self.state =
                    State::Lingering(link.options().linger.and_then(|d| deadline(now(), d)));
            }
            if self.paused {
                self.paused = link.inbound_paused(pipe);
            }

            let busy = match self.write_turn() {
                Ok(busy) => busy,
                Err(end) => return end,
            };
            if let State::Lingering(until) = self.state {
                if self.session.out().is_empty() && !link.has_outbound(pipe) {
                    return DisconnectReason::SocketClosed;
                }
                if until.is_some_and(|d| now() >= d) {
                    return DisconnectReason::SocketClosed;
                }
            }

            let was_ready = self.ready;
            if self.reading() && self.maybe_readable {
                if let Err(end) = self.read_turn() {
                    return end;
                }
            }
            if let Some(req) = self.auth.take() {
                // Boxed: the wait's state stays out of every connection's future.
                if let Err(end) = Box::pin(self.decide(*req)).await {
                    return end;
                }
                continue;
            }
            if self.ready && !was_ready {
                // Messages may have been queued before the handshake finished.
                continue;
            }

            // Timers.
            let t = now();
            if self.session.poll_timeout().is_some_and(|d| d <= t) {
                if let Err(e) = self.session.handle_timeout(t) {
                    return self.fail(e);
                }
                if !self.session.out().is_empty() {
                    continue;
                }
            }
            let linger = match self.state {
                State::Lingering(until) => until,
                State::Running => None,
            };
            let deadline = match (self.session.poll_timeout(), linger) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            arm(sleep.as_mut(), &mut armed, deadline, t);

            if busy {
                tokio::task::yield_now().await;
                continue;
            }
            self.release_idle_buffers();
            if let Err(e) = self.wait(sleep.as_mut()).await {
                return DisconnectReason::Io(Arc::new(e));
            }
        }
    }

    /// Reads while running, and while lingering only to finish the handshake.
    fn reading(&self) -> bool {
        !self.paused && (self.state == State::Running || !self.ready)
    }

    /// Output: pipe -> session -> stream. Returns true if it stopped only because the turn's
    /// budget ran out (come back without waiting: the pipe will not notify again).
    fn write_turn(&mut self) -> Result<bool, DisconnectReason> {
        let (link, pipe) = (self.conn.link, self.conn.pipe);
        if self.session.out().wants_buffer() {
            if let Some(buf) = super::write_bufs::take() {
                self.session.out().give_spare(buf);
            }
        }
        for _ in 0..MAX_WRITES_PER_TURN {
            if self.ready && link.fill(pipe, &mut self.session, OUT_BATCH, &mut self.batch) {
                return Err(DisconnectReason::Kicked);
            }
            if self.session.out().is_empty() {
                return Ok(false);
            }
            match write_some(&self.stream, self.session.out()) {
                Ok(true) => continue,
                Ok(false) => return Ok(false),
                Err(e) => return Err(DisconnectReason::Io(Arc::new(e))),
            }
        }
        Ok(true)
    }

    /// Input: stream -> session -> pipe.
    fn read_turn(&mut self) -> Result<(), DisconnectReason> {
        let (link, pipe) = (self.conn.link, self.conn.pipe);
        let mut msgs_bytes = 0;
        self.short_reads.turn();
        for _ in 0..MAX_READS_PER_TURN {
            if let Some(additional) = self.session.room_to_make(&self.rbuf) {
                link.recv_bufs()
                    .grow(&mut self.rbuf, &mut self.rbuf_alloc, additional);
            }
            let room = self.rbuf.capacity() - self.rbuf.len();
            let ends = self.short_reads.ends();
            let read = if ends {
                self.stream.try_read_drained(&mut self.rbuf)
            } else {
                self.stream.try_read_buf(&mut self.rbuf)
            };
            match read {
                Ok(0) => {
                    // What arrived before the close was accepted: deliver it.
                    link.deliver(pipe, &mut self.msgs);
                    return Err(DisconnectReason::PeerClosed);
                }
                Ok(n) => self.short_reads.data(n < room, ends),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.short_reads.would_block();
                    self.maybe_readable = false;
                    if let Err(e) = self.set_lowat() {
                        link.deliver(pipe, &mut self.msgs);
                        return Err(DisconnectReason::Io(Arc::new(e)));
                    }
                    break;
                }
                Err(e) => {
                    link.deliver(pipe, &mut self.msgs);
                    return Err(DisconnectReason::Io(Arc::new(e)));
                }
            }
            let (msgs, meta) = (&mut self.msgs, &self.meta);
            let result = self
                .session
                .handle_input_with(now(), &mut self.rbuf, &mut |m| {
                    take_message(msgs, meta, &mut msgs_bytes, m)
                });
            let result = result.and_then(|()| self.drain_events(&mut msgs_bytes));
            if let Err(e) = result {
                // Messages completed before the error were accepted: deliver them.
                link.deliver(pipe, &mut self.msgs);
                return Err(self.fail(e));
            }
            if self.msgs.len() >= DELIVER_BATCH || msgs_bytes >= DELIVER_BATCH_BYTES {
                msgs_bytes = 0;
                self.paused = link.deliver(pipe, &mut self.msgs);
                if self.paused {
                    break;
                }
            }
        }
        // One hand-over (and at most one wake-up of a waiting `recv`) per turn, not per read.
        if !self.msgs.is_empty() {
            self.paused = link.deliver(pipe, &mut self.msgs);
        }
        Ok(())
    }

    /// Before waiting for the stream to be readable: sets its low-water mark for the frame
    /// being received ([`recv_lowat`]). Never above what the frame still needs, so the wait
    /// ends when the frame does. A stream without the option is not asked again; an error
    /// lowering the mark ends the connection, since a wait could then outlast the frame.
    fn set_lowat(&mut self) -> io::Result<()> {
        if self.lowat == 0 {
            return Ok(());
        }
        let want = recv_lowat(self.session.frame_missing(&self.rbuf));
        if want == self.lowat {
            return Ok(());
        }
        match self.stream.set_recv_lowat(want as usize) {
            Ok(()) => self.lowat = want,
            Err(_) if self.lowat == 1 => self.lowat = 0,
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Takes the session's events: the handshake result, messages, authentication requests.
    fn drain_events(&mut self, msgs_bytes: &mut usize) -> Result<(), ProtocolError> {
        let conn = self.conn;
        while let Some(ev) = self.session.poll_event() {
            match ev {
                SessionEvent::Message(m) => take_message(&mut self.msgs, &self.meta, msgs_bytes, m),
                SessionEvent::Ready(info) => {
                    self.ready = true;
                    if conn.link.options().authenticator.is_some() {
                        self.meta = Some(Arc::new(PeerMetadata {
                            user_id: info.user_id.clone(),
                            peer_address: match conn.peer {
                                PeerAddr::Tcp(a) => a.ip().to_string(),
                                PeerAddr::Ipc(p) | PeerAddr::Inproc(p) => p.clone(),
                            },
                            properties: info.metadata.clone(),
                        }));
                    }
                    let attached = conn.link.attach(
                        conn.pipe,
                        &info,
                        conn.peer,
                        self.session.sends_frames_as_is(),
                    );
                    // A connection the socket ignores (a ROUTER's routing id clash) is routed
                    // by no id.
                    let routing_id = attached.routing_id.filter(|_| !attached.ignored);
                    tracing::debug!(
                        target: CONNECTION,
                        peer = %conn.peer,
                        endpoint = %conn.endpoint,
                        socket_type = %conn.link.socket_type(),
                        routing_id = routing_id.as_ref().map(tracing::field::display),
                        "handshake succeeded"
                    );
                    conn.link
                        .monitors()
                        .emit(|| SocketEvent::HandshakeSucceeded {
                            endpoint: conn.endpoint.clone(),
                            peer: conn.peer.clone(),
                            routing_id,
                        });
                }
                // Subscriptions reach the socket in the message form, whichever wire form
                // they came in (as libzmq hands them on).
                SessionEvent::Subscribe(topic) => {
                    self.msgs.push(Message::from(subs::encode(true, &topic)));
                }
                SessionEvent::Cancel(topic) => {
                    self.msgs.push(Message::from(subs::encode(false, &topic)));
                }
                // Decided on after this turn's reads ([`Driver::decide`]).
                SessionEvent::Authenticate(req) => self.auth = Some(Box::new(req)),
            }
        }
        Ok(())
    }

    /// Asks the socket's authenticator about the peer and hands the decision to the session,
    /// waiting at most until the handshake deadline (and not past the socket's close).
    async fn decide(
        &mut self,
        req: crate::protocol::mechanism::AuthRequest,
    ) -> Result<(), DisconnectReason> {
        let conn = self.conn;
        let decision = match conn.link.options().authenticator.clone() {
            Some(auth) => {
                let peer = crate::auth::AuthPeer {
                    mechanism: req.mechanism,
                    address: conn.peer.clone(),
                    identity: req.identity,
                    credentials: req.credentials,
                };
                let deadline = self
                    .session
                    .poll_timeout()
                    .map(tokio::time::Instant::from_std);
                let until = async {
                    match deadline {
                        Some(d) => tokio::time::sleep_until(d).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    d = auth.0.authenticate(peer) => d,
                    _ = conn.stop.cancelled() => return Err(DisconnectReason::SocketClosed),
                    _ = until => return Err(self.fail(ProtocolError::HandshakeTimeout)),
                }
            }
            // Asked only when an authenticator is set; refuse rather than let a peer in.
            None => AuthDecision::Deny { status: 500 },
        };
        if let AuthDecision::Deny { status } = &decision {
            if let Some(left_out) = super::loglimit::AUTH_REFUSED.check() {
                tracing::warn!(
                    target: SECURITY,
                    peer = %conn.peer,
                    endpoint = %conn.endpoint,
                    socket_type = %conn.link.socket_type(),
                    mechanism = req.mechanism,
                    status,
                    left_out,
                    "peer refused by the authenticator"
                );
            }
        }
        let mut msgs_bytes = 0;
        let r = self
            .session
            .authenticate(now(), decision)
            .and_then(|()| self.drain_events(&mut msgs_bytes));
        if !self.msgs.is_empty() {
            self.paused = conn.link.deliver(conn.pipe, &mut self.msgs);
        }
        r.map_err(|e| self.fail(e))
    }

    /// Ends the connection on a protocol error, after one non-blocking attempt to flush what
    /// the session queued (the ERROR command, when one is due).
    fn fail(&mut self, e: ProtocolError) -> DisconnectReason {
        let _ = write_some(&self.stream, self.session.out());
        DisconnectReason::Protocol(e)
    }

    /// Idle connections hold no buffers: an empty read buffer (even one whose room is used up:
    /// its handle would keep the whole allocation alive) goes back to the socket's pool before
    /// waiting, and the write buffer to the thread's (`write_bufs`).
    fn release_idle_buffers(&mut self) {
        if self.rbuf.is_empty() && self.rbuf_alloc > 0 {
            self.conn.link.recv_bufs().give(
                std::mem::take(&mut self.rbuf),
                std::mem::take(&mut self.rbuf_alloc),
            );
        }
        if let Some(buf) = self.session.out().take_spare() {
            super::write_bufs::give(buf);
        }
        self.session.release_idle_buffers();
    }

    /// Waits until the stream is ready for what we want of it, the pipe has news, or the
    /// timer fires.
    async fn wait(&mut self, sleep: Pin<&mut tokio::time::Sleep>) -> io::Result<()> {
        let mut interest: Option<Interest> = None;
        if self.reading() {
            interest = Some(Interest::READABLE);
        }
        if !self.session.out().is_empty() {
            interest = Some(interest.map_or(Interest::WRITABLE, |i| i | Interest::WRITABLE));
        }
        tokio::select! {
            biased;
            r = ready_for(&self.stream, interest) => {
                self.maybe_readable = true;
                r
            }
            _ = self.conn.notify.notified() => Ok(()),
            _ = sleep => Ok(()),
        }
    }
}

/// Whether a short read (one that leaves room in the buffer, so emptied the kernel's) ends the
/// reading until the next wake-up, or the read after it is tried: the probe.
///
/// After a short read, the probe is a system call answered `EAGAIN` when nothing came in the
/// meantime (requests and replies: a broker's many workers, echo), and brings data when the
/// peer keeps sending (a stream, whose sender writes while this end decodes). Ending at once
/// saves the first kind a system call per wake-up, and costs the second a wait on the
/// selector per read. So the connection probes, and after a probe answered `EAGAIN` ends the
/// next 1, then 3, 7, 15, [`SHORT_READS_SKIP_MAX`] short reads at once before it probes again;
/// a probe that brings data starts over (probing after every short read).
#[derive(Debug, Default)]
struct ShortReads {
    /// Short reads ended at once after the last probe answered `EAGAIN`.
    skip: u8,
    /// Of those, how many are left before the next probe.
    left: u8,
    /// The last read was short and not ended: the next read is the probe.
    probing: bool,
}

/// The most short reads ended at once between two probes.
const SHORT_READS_SKIP_MAX: u8 = 31;

impl ShortReads {
    /// A read turn begins: a probe counts only within the turn of its short read.
    fn turn(&mut self) {
        self.probing = false;
    }

    /// Whether the next read, if short, ends the reading.
    fn ends(&self) -> bool {
        self.left > 0
    }

    /// After a read that brought bytes: `short` if it left room; `ended` if it was a read
    /// that ends the reading when short ([`ShortReads::ends`] before it).
    fn data(&mut self, short: bool, ended: bool) {
        if self.probing {
            // The probe brought data: the peer keeps sending.
            self.probing = false;
            self.skip = 0;
            self.left = 0;
        }
        if short {
            if ended {
                self.left = self.left.saturating_sub(1);
            } else {
                self.probing = true;
            }
        }
    }

    /// After a read answered `WouldBlock`.
    fn would_block(&mut self) {
        if self.probing {
            self.probing = false;
            self.skip = (self.skip * 2 + 1).min(SHORT_READS_SKIP_MAX);
            self.left = self.skip;
        }
    }
}

/// The receive low-water mark for a stream whose current frame still needs `missing` bytes
/// (`None`: between frames, or in a small one): at most what the frame needs, so that waiting
/// for it never waits for bytes past the frame.
fn recv_lowat(missing: Option<usize>) -> u32 {
    match missing {
        // RECV_LOWAT_MAX fits in a u32.
        Some(m) if m >= RECV_LOWAT_MIN => m.min(RECV_LOWAT_MAX) as u32,
        _ => 1,
    }
}

/// A message received: counted, given the connection's metadata if it has any, and added to
/// the batch for the pipe.
#[inline(always)]
fn take_message(
    msgs: &mut Vec<Message>,
    meta: &Option<Arc<PeerMetadata>>,
    msgs_bytes: &mut usize,
    mut m: Message,
) {
    *msgs_bytes += m.byte_len();
    if let Some(meta) = meta {
        m.set_metadata(meta.clone());
    }
    msgs.push(m);
}

/// True if the line [`log_end`] writes for `end` is enabled (then the routing id is asked
/// for).
fn logs_end(end: &DisconnectReason) -> bool {
    use tracing::Level;
    match end {
        DisconnectReason::Protocol(_) => tracing::enabled!(target: CONNECTION, Level::WARN),
        DisconnectReason::SocketClosed => tracing::enabled!(target: CONNECTION, Level::TRACE),
        _ => tracing::enabled!(target: CONNECTION, Level::DEBUG),
    }
}

/// The line for the end of a connection (`routing_id`: its peer's, once the handshake was
/// done). Fields as the crate docs list them (section "Logging").
fn log_end(
    end: &DisconnectReason,
    conn: &Conn<'_>,
    routing_id: Option<&crate::routing::RoutingId>,
) {
    let (peer, endpoint) = (conn.peer, conn.endpoint);
    let socket_type = conn.link.socket_type();
    let routing_id = routing_id.map(tracing::field::display);
    match end {
        // At most one line a second per kind of error (a flood must not fill a disk); the
        // next one says how many were left out.
        DisconnectReason::Protocol(e) => {
            if let Some(left_out) = super::loglimit::protocol_error(e).check() {
                tracing::warn!(target: CONNECTION, %peer, %endpoint, %socket_type, routing_id, error = %e, left_out, "connection closed: protocol error")
            }
        }
        DisconnectReason::Io(e) => {
            tracing::debug!(target: CONNECTION, %peer, %endpoint, %socket_type, routing_id, error = %e, "connection closed: I/O error")
        }
        DisconnectReason::PeerClosed => {
            tracing::debug!(target: CONNECTION, %peer, %endpoint, %socket_type, routing_id, "connection closed by peer")
        }
        DisconnectReason::SocketClosed => {
            tracing::trace!(target: CONNECTION, %peer, %endpoint, %socket_type, routing_id, "connection closed by socket")
        }
        DisconnectReason::Kicked => {
            tracing::debug!(target: CONNECTION, %peer, %endpoint, %socket_type, routing_id, "connection closed on request")
        }
    }
}

/// Sets the connection's timer to `deadline` (or [`IDLE_WAIT`] from `now` if none) unless it
/// is already set to it. An elapsed timer is always set again: a `Sleep` that has fired stays
/// ready, and the connection would spin on it (this happened to every connection without a
/// deadline an hour after its last one).
fn arm(
    sleep: Pin<&mut tokio::time::Sleep>,
    armed: &mut Option<Instant>,
    deadline: Option<Instant>,
    now: Instant,
) {
    if deadline != *armed || sleep.is_elapsed() {
        *armed = deadline;
        let at = deadline.unwrap_or_else(|| now + IDLE_WAIT);
        sleep.reset(tokio::time::Instant::from_std(at));
    }
}

/// Resolves once the stream is ready for one of `interest` (never, if `None`).
///
/// Polls the stream's readiness directly (`poll_read_ready` / `poll_write_ready`) instead of
/// holding a readiness future: that future would sit in every idle connection's task
/// (~170 bytes each).
fn ready_for<S: ByteStream>(
    stream: &S,
    interest: Option<Interest>,
) -> impl std::future::Future<Output = io::Result<()>> + '_ {
    std::future::poll_fn(move |cx| {
        use std::task::Poll;
        let Some(i) = interest else {
            return Poll::Pending;
        };
        if i.is_readable() {
            if let Poll::Ready(r) = stream.poll_read_ready(cx) {
                return Poll::Ready(r);
            }
        }
        if i.is_writable() {
            if let Poll::Ready(r) = stream.poll_write_ready(cx) {
                return Poll::Ready(r);
            }
        }
        Poll::Pending
    })
}

/// Writes as much of `out` as the kernel takes. `Ok(true)`: all written; `Ok(false)`: the
/// kernel's buffer is full.
fn write_some<S: ByteStream>(stream: &S, out: &mut OutBuf) -> io::Result<bool> {
    loop {
        let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
        let n = out.io_slices(&mut slices);
        match stream.try_write_vectored(&slices[..n]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(k) => {
                out.advance(k);
                if out.is_empty() {
                    return Ok(true);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The mark never exceeds what the frame still needs, so waiting for it ends with the frame;
    /// small frames and the gaps between frames keep the default of 1 byte.
    #[test]
    fn the_low_water_mark_never_outlasts_the_frame() {
        assert_eq!(recv_lowat(None), 1);
        assert_eq!(recv_lowat(Some(0)), 1);
        assert_eq!(recv_lowat(Some(RECV_LOWAT_MIN - 1)), 1);
        for m in [
            RECV_LOWAT_MIN,
            300_000,
            RECV_LOWAT_MAX,
            RECV_LOWAT_MAX + 1,
            usize::MAX,
        ] {
            let w = recv_lowat(Some(m)) as usize;
            assert!(w <= m, "{w} for {m} missing");
            assert_eq!(w, m.min(RECV_LOWAT_MAX), "{m} missing");
        }
    }

    /// One wake-up of a connection as the read turn sees it: up to `reads` reads that bring
    /// bytes, all short, each after the first one a probe that found more; then, if
    /// `drained`, a last read answered `WouldBlock` (else the turn's budget ends it). A short
    /// read that ends the reading is followed by tokio's `WouldBlock`, with no system call.
    /// Returns the reads answered `EAGAIN` by the kernel.
    fn wake(s: &mut ShortReads, reads: usize, drained: bool) -> usize {
        s.turn();
        for _ in 0..reads {
            let ends = s.ends();
            s.data(true, ends);
            if ends {
                s.would_block();
                return 0;
            }
        }
        if drained {
            s.would_block();
        }
        usize::from(drained)
    }

    /// Requests and replies (one short read per wake-up, nothing after it): the reads
    /// answered `EAGAIN` fall to about one in 32 wake-ups.
    #[test]
    fn short_reads_end_the_reading_when_probes_find_nothing() {
        let mut s = ShortReads::default();
        let eagain: usize = (0..1024).map(|_| wake(&mut s, 1, true)).sum();
        assert!(
            (1024 / 32..=1024 / 32 + 5).contains(&eagain),
            "{eagain} reads answered EAGAIN in 1024 wake-ups"
        );
    }

    /// A stream (probes after short reads bring more): a probe that brings data starts the
    /// back-off over, so a stream is probed again after a short read, where its probes pay.
    #[test]
    fn short_reads_keep_probing_while_probes_bring_data() {
        let mut s = ShortReads::default();
        for _ in 0..200 {
            wake(&mut s, 1, true);
        }
        assert_eq!(s.skip, SHORT_READS_SKIP_MAX);
        // The peer starts streaming: wake-ups ended by the turn's budget, never drained.
        let mut ended = 0;
        for _ in 0..100 {
            ended += usize::from(s.ends());
            wake(&mut s, 5, false);
        }
        assert!(
            !s.ends(),
            "still ending short reads after 100 streaming wake-ups"
        );
        assert_eq!(s.skip, 0);
        assert!(ended <= usize::from(SHORT_READS_SKIP_MAX), "{ended} ended");
        // Drained at the end of each wake-up: one short read ended at most, then probing
        // again (each wake-up's probes bring data before the last finds nothing).
        for _ in 0..100 {
            wake(&mut s, 5, true);
            assert!(s.skip <= 1, "back-off {} while probes bring data", s.skip);
        }
    }

    /// A probe counts within its turn only: a short read that ends a turn (its budget spent),
    /// then a wake-up that finds nothing, is no reason to stop probing.
    #[test]
    fn a_probe_counts_within_its_turn() {
        let mut s = ShortReads::default();
        s.turn();
        s.data(true, false);
        s.turn();
        s.would_block();
        assert!(!s.ends());
        assert_eq!(s.skip, 0);
    }

    /// Regression: the idle timer (no deadline) was set once and, after it fired an hour
    /// later, never again: the elapsed `Sleep` stayed ready and the connection spun, a core
    /// per idle connection.
    #[tokio::test(start_paused = true)]
    async fn idle_timer_is_set_again_after_it_fires() {
        let sleep = tokio::time::sleep(IDLE_WAIT);
        tokio::pin!(sleep);
        let mut armed = None;
        arm(sleep.as_mut(), &mut armed, None, now());
        tokio::time::advance(IDLE_WAIT + Duration::from_secs(1)).await;
        (&mut sleep).await;
        // Still no deadline: the next wait is another IDLE_WAIT, not an elapsed timer.
        arm(sleep.as_mut(), &mut armed, None, now());
        assert!(!sleep.is_elapsed());
        assert!(
            tokio::time::timeout(Duration::from_secs(60), &mut sleep)
                .await
                .is_err(),
            "the timer fired again at once"
        );
        // A deadline that did not change is left alone while it is pending.
        let d = now() + Duration::from_secs(5);
        arm(sleep.as_mut(), &mut armed, Some(d), now());
        let set_at = sleep.deadline();
        tokio::time::advance(Duration::from_secs(1)).await;
        arm(sleep.as_mut(), &mut armed, Some(d), now());
        assert_eq!(sleep.deadline(), set_at);
    }
}
