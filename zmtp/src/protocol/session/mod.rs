//! One ZMTP connection as a pure state machine: bytes in, events and bytes out, time passed in.
//!
//! # Lifecycle
//!
//! ```text
//! new(): queue our greeting (and NULL's READY)  ──►  Greeting  ──(peer's 64 bytes ok)──►
//!   Handshake  ──(mechanism done)──►  Traffic  (messages both ways, PING/PONG, SUBSCRIBE/CANCEL)
//!   Handshake  ──(mechanism asks)──►  Authenticating  ──(Session::authenticate)──►  Handshake/Traffic
//! any fatal error  ──►  Failed (sticky; an ERROR command may be queued to flush first)
//! ```
//!
//! We send our whole greeting at once, and NULL its READY with it, without waiting for the
//! peer's (libzmq withholds most of its greeting until it has seen ours, so waiting would
//! deadlock).
//!
//! The parts live beside this file: `handshake.rs` (the greeting check, the phases),
//! `assembly.rs` (frames into messages under MAXMSGSIZE), `timers.rs` (handshake deadline and
//! heartbeats). The mechanism (`crate::protocol::mechanism`) runs the handshake commands and
//! seals and opens each frame after it.
//!
//! # Driving it
//!
//! After each input ([`Session::handle_input`], [`Session::handle_timeout`], [`Session::send`],
//! [`Session::authenticate`]):
//! 1. write out [`Session::out`] (vectored: [`OutBuf::io_slices`], then [`OutBuf::advance`]);
//! 2. re-arm one timer at [`Session::poll_timeout`];
//! 3. drain [`Session::poll_event`].
//!
//! Errors are sticky: once an input returns an error, later inputs return it again, but the
//! output (holding the ERROR command, if one was queued) can still be flushed before closing.
//! Time is a parameter everywhere (`now`), so tests run on a fake clock.

mod assembly;
mod handshake;
pub mod timers;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};

use crate::message::Message;
use crate::protocol::codec::{FrameDecoder, OutBuf};
use crate::protocol::command::Command;
use crate::protocol::error::ProtocolError;
use crate::protocol::frame::Frame;
use crate::protocol::greeting::{self, Greeting, GREETING_LEN};
use crate::protocol::limits::MAX_OUT_FOR_PONG;
use crate::protocol::mechanism::{
    AuthDecision, AuthRequest, Mechanism, MechanismConfig, Spent, Step,
};
use crate::protocol::peer::PeerInfo;
use crate::socket_type::SocketType;
use assembly::Assembly;
use handshake::Phase;
use timers::{Due, Heartbeat, Timers};

pub use crate::protocol::limits::{FRAME_COST, MIN_FRAMES_PER_MESSAGE};

/// How a session behaves; the socket options that reach the protocol.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Our socket type, sent in READY and checked against the peer's.
    pub socket_type: SocketType,
    /// Our routing id, sent as READY's `Identity` (empty = none).
    pub routing_id: Bytes,
    /// MAXMSGSIZE: the largest frame, and the largest message, we accept (`None` = no limit).
    /// It also bounds the frames of a message to `max(MAXMSGSIZE / FRAME_COST,
    /// MIN_FRAMES_PER_MESSAGE)`, so that empty frames (2 bytes on the wire, a slot of ours
    /// each) cannot cost more memory than the limit.
    pub max_msg_size: Option<u64>,
    /// HANDSHAKE_IVL: greeting plus handshake must be done by then (`None` or zero = no limit).
    pub handshake_ivl: Option<Duration>,
    /// HEARTBEAT_IVL: send a PING this often (`None` or zero = off).
    pub heartbeat_ivl: Option<Duration>,
    /// HEARTBEAT_TIMEOUT: drop the peer if nothing arrives this long after a PING (`None` =
    /// the interval, zero = never).
    pub heartbeat_timeout: Option<Duration>,
    /// HEARTBEAT_TTL: announced in our PINGs, in ms (rounded down to deciseconds, at most
    /// 65535 of them).
    pub heartbeat_ttl: Duration,
    /// The security mechanism (NULL by default).
    pub mechanism: MechanismConfig,
    /// Ask for an authentication decision on the peer ([`SessionEvent::Authenticate`]) before
    /// the handshake completes (libzmq does so when a ZAP domain is set).
    pub authenticate: bool,
}

impl SessionConfig {
    /// libzmq's defaults for a socket of the given type.
    pub fn new(socket_type: SocketType) -> Self {
        SessionConfig {
            socket_type,
            routing_id: Bytes::new(),
            max_msg_size: None,
            handshake_ivl: Some(Duration::from_secs(30)),
            heartbeat_ivl: None,
            heartbeat_timeout: None,
            heartbeat_ttl: Duration::ZERO,
            mechanism: MechanismConfig::Null,
            authenticate: false,
        }
    }
}

/// What a session reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// The handshake is done; messages may flow.
    Ready(PeerInfo),
    /// A complete multipart message from the peer.
    Message(Message),
    /// SUBSCRIBE from the peer.
    Subscribe(Bytes),
    /// CANCEL from the peer.
    Cancel(Bytes),
    /// The mechanism needs a decision on this peer: answer with [`Session::authenticate`].
    Authenticate(AuthRequest),
}

/// Sending was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The handshake is not done yet.
    NotReady,
    /// The session has failed.
    Failed(ProtocolError),
    /// A message needs at least one frame.
    EmptyMessage,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::NotReady => f.write_str("handshake not done"),
            SendError::Failed(e) => write!(f, "session failed: {e}"),
            SendError::EmptyMessage => f.write_str("message has no frames"),
        }
    }
}

impl std::error::Error for SendError {}

/// A ZMTP 3.x connection, without I/O. See the module docs.
#[derive(Debug)]
pub struct Session {
    /// What the timers need of the configuration (the rest is used up at construction: a
    /// session lives inside every connection's task, idle ones included).
    heartbeat: Heartbeat,
    phase: Phase,
    /// Replaced by a mechanism that holds nothing once the handshake is done, unless it
    /// transforms frames.
    mechanism: Box<dyn Mechanism>,
    /// The mechanism transforms frames after the handshake (cached: checked per frame).
    sealed: bool,
    decoder: FrameDecoder,
    out: OutBuf,
    events: VecDeque<SessionEvent>,
    assembly: Assembly,
    peer_v31: bool,
    /// SUB and XSUB: an outgoing one-frame message `0x01`/`0x00` + topic is a subscription
    /// or a cancel, sent as SUBSCRIBE/CANCEL to a ZMTP 3.1 peer (as libzmq's encoder does).
    sends_subscriptions: bool,
    /// Messages go out as they are: not sealed, no subscriptions turned into commands (set
    /// once the greeting is in; checked per message, the one test on the hot send path).
    plain: bool,
    timers: Timers,
}

impl Session {
    /// A new session; our greeting (and whatever the mechanism sends first: NULL's READY) is
    /// queued in [`Session::out`] at once.
    pub fn new(config: SessionConfig, now: Instant) -> Self {
        let mechanism =
            config
                .mechanism
                .build(config.socket_type, &config.routing_id, config.authenticate);
        Session::with_mechanism(config, mechanism, now)
    }

    /// A new session running `mechanism` instead of the one `config` names (a mechanism of
    /// your own, or one set up beforehand).
    pub fn with_mechanism(
        config: SessionConfig,
        mut mechanism: Box<dyn Mechanism>,
        now: Instant,
    ) -> Self {
        let mut out = OutBuf::new();
        out.push_raw(&Greeting::ours(mechanism.name(), mechanism.as_server()));
        mechanism.start(&mut out);
        // The size limit applies to the frames carried, not to their wrapping: the decoder
        // allows for it, and the assembly checks what the mechanism opened.
        let overhead = mechanism.frame_overhead() as u64;
        Session {
            timers: Timers::new(now, config.handshake_ivl),
            decoder: FrameDecoder::new(config.max_msg_size.map(|m| m.saturating_add(overhead))),
            assembly: Assembly::new(config.max_msg_size),
            sealed: mechanism.transforms_frames(),
            mechanism,
            heartbeat: Heartbeat::new(&config),
            sends_subscriptions: matches!(config.socket_type, SocketType::Sub | SocketType::XSub),
            plain: false,
            phase: Phase::Greeting,
            out,
            events: VecDeque::new(),
            peer_v31: false,
        }
    }

    /// True once the handshake is done and until the session fails.
    pub fn is_ready(&self) -> bool {
        self.phase == Phase::Traffic
    }

    /// The error that ended the session, if it has ended.
    pub fn error(&self) -> Option<&ProtocolError> {
        match &self.phase {
            Phase::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// Bytes to write to the peer.
    pub fn out(&mut self) -> &mut OutBuf {
        &mut self.out
    }

    /// Bytes waiting in [`Session::out`].
    pub fn pending_out(&self) -> usize {
        self.out.len()
    }

    /// How much free room [`Session::reserve_for_read`] makes when the receive buffer has to
    /// grow (see [`FrameDecoder::reserve_hint`]).
    pub fn reserve_hint(&self, buffered: usize) -> usize {
        match self.phase {
            Phase::Greeting => crate::protocol::codec::MIN_READ_LEN,
            _ => self.decoder.reserve_hint(buffered),
        }
    }

    /// Makes room in the receive buffer for the next read, receiving large frames in place and
    /// keeping the capacity within twice the bytes received plus [`crate::protocol::codec::EAGER_LEN`]
    /// (see [`FrameDecoder::reserve_for_read`]).
    pub fn reserve_for_read(&self, buf: &mut BytesMut) {
        if let Some(additional) = self.room_to_make(buf) {
            crate::protocol::codec::grow(buf, additional);
        }
    }

    /// The decision of [`Session::reserve_for_read`] without the allocation: `None` if `buf`
    /// has room for the next read, else how many free bytes it must grow to (see
    /// [`FrameDecoder::room_to_make`]).
    pub fn room_to_make(&self, buf: &BytesMut) -> Option<usize> {
        match self.phase {
            Phase::Greeting => (buf.capacity() - buf.len() < crate::protocol::codec::MIN_READ_LEN)
                .then_some(crate::protocol::codec::MIN_READ_LEN),
            _ => self.decoder.room_to_make(buf),
        }
    }

    /// Inside a large frame: how many of its bytes are still to come beyond those in `buf`
    /// (see [`FrameDecoder::frame_missing`](crate::protocol::codec::FrameDecoder::frame_missing);
    /// `None` during the greeting, which the decoder never sees).
    pub fn frame_missing(&self, buf: &BytesMut) -> Option<usize> {
        self.decoder.frame_missing(buf.len())
    }

    /// Frees the memory of empty queues (the event queue, the write buffer), for a
    /// connection about to sit idle; they are allocated again when traffic resumes.
    pub fn release_idle_buffers(&mut self) {
        if self.events.is_empty() && self.events.capacity() > 0 {
            self.events = VecDeque::new();
        }
        self.out.release_if_empty();
    }

    /// Takes the next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// Number of events waiting.
    pub fn pending_events(&self) -> usize {
        self.events.len()
    }

    /// The earliest instant at which [`Session::handle_timeout`] must be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if matches!(self.phase, Phase::Failed(_)) {
            return None;
        }
        self.timers.next()
    }

    /// Consumes whatever complete greeting parts and frames `buf` holds; a partial frame stays
    /// in `buf` for the next call. Events are queued for [`Session::poll_event`].
    ///
    /// While an authentication decision is pending, input stays in `buf` unread (the peer has
    /// no reason to send anything before it hears from us).
    pub fn handle_input(&mut self, now: Instant, buf: &mut BytesMut) -> Result<(), ProtocolError> {
        self.handle_input_inner::<fn(Message)>(now, buf, None)
    }

    /// As [`Session::handle_input`], with each message handed to `sink` as it completes
    /// instead of queued as a [`SessionEvent::Message`], saving the queue's moves (a message
    /// is over 100 bytes). Order is kept: while another event waits in the queue (the
    /// handshake's result, a subscription), the messages behind it are queued too.
    pub fn handle_input_with(
        &mut self,
        now: Instant,
        buf: &mut BytesMut,
        sink: &mut impl FnMut(Message),
    ) -> Result<(), ProtocolError> {
        self.handle_input_inner(now, buf, Some(sink))
    }

    #[inline(always)]
    fn handle_input_inner<F: FnMut(Message)>(
        &mut self,
        now: Instant,
        buf: &mut BytesMut,
        sink: Option<&mut F>,
    ) -> Result<(), ProtocolError> {
        if let Phase::Failed(e) = &self.phase {
            return Err(e.clone());
        }
        let r = self.process(now, buf, sink);
        if let Err(e) = &r {
            self.fail(e.clone());
        }
        r
    }

    fn process<F: FnMut(Message)>(
        &mut self,
        now: Instant,
        buf: &mut BytesMut,
        mut sink: Option<&mut F>,
    ) -> Result<(), ProtocolError> {
        if self.phase == Phase::Greeting {
            let Some(g) = greeting::parse_partial(buf)? else {
                return Ok(());
            };
            buf.advance(GREETING_LEN);
            handshake::check_greeting(&g, self.mechanism.name())?;
            self.peer_v31 = g.is_v31();
            self.plain = !(self.sealed || (self.sends_subscriptions && self.peer_v31));
            self.phase = Phase::Handshake { minor: g.minor };
        }
        while !matches!(self.phase, Phase::Authenticating { .. }) {
            let Some(frame) = self.decoder.decode(buf)? else {
                break;
            };
            // Any frame is proof of life.
            self.timers.peer_alive();
            match self.phase {
                Phase::Handshake { minor } => {
                    if !frame.command {
                        return Err(ProtocolError::MessageBeforeHandshake);
                    }
                    let step = self
                        .mechanism
                        .on_command(minor, &frame.body, &mut self.out)?;
                    self.step(now, minor, step);
                }
                Phase::Traffic => {
                    let frame = if self.sealed {
                        self.mechanism.open(frame)?
                    } else {
                        frame
                    };
                    if frame.command {
                        self.on_command(now, Command::parse(&frame.body)?)?;
                        continue;
                    }
                    if self.assembly.push(frame.body, frame.more)? {
                        let msg = self.assembly.take();
                        match sink.as_mut() {
                            Some(sink) if self.events.is_empty() => sink(msg),
                            _ => self.events.push_back(SessionEvent::Message(msg)),
                        }
                    }
                }
                Phase::Greeting | Phase::Authenticating { .. } | Phase::Failed(_) => {
                    unreachable!("handled above")
                }
            }
        }
        Ok(())
    }

    /// Acts on what the mechanism said.
    fn step(&mut self, now: Instant, minor: u8, step: Step) {
        match step {
            Step::Continue => self.phase = Phase::Handshake { minor },
            Step::Authenticate(request) => {
                self.phase = Phase::Authenticating { minor };
                self.events.push_back(SessionEvent::Authenticate(request));
            }
            Step::Done(info) => {
                self.phase = Phase::Traffic;
                if !self.sealed {
                    // Its work is over: free it (idle connections hold no handshake state).
                    self.mechanism = Box::new(Spent);
                }
                // ZMTP 3.0 has no PING: heartbeats only towards 3.1 peers.
                let ivl = self.heartbeat.ivl.filter(|_| self.peer_v31);
                self.timers.handshake_done(now, ivl);
                self.events.push_back(SessionEvent::Ready(info));
            }
        }
    }

    /// Answers a [`SessionEvent::Authenticate`]. Input left unread while the decision was
    /// pending is processed by the next [`Session::handle_input`] call (call it with the
    /// receive buffer even if nothing new arrived). A refusal fails the session (and queues
    /// ERROR with the status code).
    pub fn authenticate(
        &mut self,
        now: Instant,
        decision: AuthDecision,
    ) -> Result<(), ProtocolError> {
        let minor = match &self.phase {
            Phase::Failed(e) => return Err(e.clone()),
            Phase::Authenticating { minor } => *minor,
            _ => {
                return Err(ProtocolError::UnexpectedCommand {
                    name: crate::protocol::error::PeerText::new(b"(authentication decision)"),
                })
            }
        };
        match self.mechanism.on_auth(decision, &mut self.out) {
            Ok(step) => {
                self.step(now, minor, step);
                Ok(())
            }
            Err(e) => {
                self.fail(e.clone());
                Err(e)
            }
        }
    }

    fn on_command(&mut self, now: Instant, cmd: Command) -> Result<(), ProtocolError> {
        match cmd {
            Command::Ping { ttl, context } => {
                // A peer that does not read our output gets no more PONGs: they would reach it
                // no sooner than what already waits (and any frame is proof of life), and
                // answering every PING would let it grow our output without bound.
                if self.out.len() < MAX_OUT_FOR_PONG {
                    self.push_command(&Command::Pong { context })?;
                }
                self.timers.peer_ttl(now, ttl);
            }
            Command::Pong { .. } => {}
            Command::Subscribe(t) => self.events.push_back(SessionEvent::Subscribe(t)),
            Command::Cancel(t) => self.events.push_back(SessionEvent::Cancel(t)),
            Command::Error { reason } => {
                return Err(ProtocolError::PeerError {
                    reason: crate::protocol::error::PeerText::new(&reason),
                })
            }
            // READY again, or a name we do not know: dropped, as libzmq does.
            Command::Ready(_) | Command::Unknown { .. } => {}
        }
        Ok(())
    }

    /// Fires the timers that are due: handshake deadline, PING, heartbeat timeouts. An early or
    /// spurious call is harmless.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), ProtocolError> {
        if let Phase::Failed(e) = &self.phase {
            return Err(e.clone());
        }
        let ivl = self.heartbeat.ivl.filter(|_| self.peer_v31);
        let err = match self.timers.check(now, ivl, self.heartbeat.timeout) {
            Due::Nothing => return Ok(()),
            Due::Ping => {
                match self.push_command(&Command::Ping {
                    ttl: self.heartbeat.ttl_ds,
                    context: Bytes::new(),
                }) {
                    Ok(()) => return Ok(()),
                    Err(e) => e,
                }
            }
            Due::HandshakeTimeout => ProtocolError::HandshakeTimeout,
            Due::HeartbeatTimeout => ProtocolError::HeartbeatTimeout,
        };
        self.fail(err.clone());
        Err(err)
    }

    /// True if the peer speaks ZMTP 3.1 or later (known once the greeting is in).
    pub fn peer_is_v31(&self) -> bool {
        self.peer_v31
    }

    /// Queues a message for the peer. Only after [`SessionEvent::Ready`].
    #[inline(always)]
    pub fn send(&mut self, msg: &Message) -> Result<(), SendError> {
        match &self.phase {
            Phase::Traffic => {}
            Phase::Failed(e) => return Err(SendError::Failed(e.clone())),
            _ => return Err(SendError::NotReady),
        }
        let frames = msg.frames();
        if frames.is_empty() {
            return Err(SendError::EmptyMessage);
        }
        if !self.plain {
            return self.send_transformed(frames);
        }
        self.out.push_message(frames);
        Ok(())
    }

    /// Queues frames already encoded as ZMTP message frames, if the session sends frames as
    /// they are ([`Session::sends_frames_as_is`]) and is ready; returns false, queueing
    /// nothing, otherwise (send the [`Message`] then). The bytes are not checked: they must be
    /// whole data frames, MORE on all but the last, as [`OutBuf::push_message`] writes them
    /// (the socket layer encodes small messages once, when they are queued, and copies them
    /// here).
    #[inline(always)]
    pub fn send_encoded(&mut self, wire: &[u8]) -> bool {
        if !self.plain || self.phase != Phase::Traffic {
            return false;
        }
        self.out.push_raw(wire);
        true
    }

    /// True once messages go out exactly as they are given: no sealing (CURVE), no
    /// subscription turned into a command (a SUB or XSUB towards a ZMTP 3.1 peer). Known once
    /// the greeting is in; false before.
    pub fn sends_frames_as_is(&self) -> bool {
        self.plain
    }

    /// [`Session::send`] of a message that may not go out as it is: a subscription to a ZMTP
    /// 3.1 peer, or frames to seal. Out of line, so that `send` stays small enough to be
    /// inlined into the socket's send path.
    #[inline(never)]
    fn send_transformed(&mut self, frames: &[Bytes]) -> Result<(), SendError> {
        if self.sends_subscriptions && self.peer_v31 && frames.len() == 1 {
            let topic = frames[0].slice(frames[0].len().min(1)..);
            let cmd = match frames[0].first() {
                Some(1) => Some(Command::Subscribe(topic)),
                Some(0) => Some(Command::Cancel(topic)),
                _ => None,
            };
            if let Some(cmd) = cmd {
                return self.push_command(&cmd).map_err(SendError::Failed);
            }
        }
        if !self.sealed {
            self.out.push_message(frames);
            return Ok(());
        }
        let last = frames.len() - 1;
        for (i, f) in frames.iter().enumerate() {
            self.push_sealed(Frame {
                more: i < last,
                command: false,
                body: f.clone(),
            })
            .map_err(SendError::Failed)?;
        }
        Ok(())
    }

    /// Queues a command of the traffic phase (sealed if the mechanism transforms frames).
    fn push_command(&mut self, cmd: &Command) -> Result<(), ProtocolError> {
        if !self.sealed {
            cmd.encode(&mut self.out);
            return Ok(());
        }
        self.push_sealed(Frame {
            more: false,
            command: true,
            body: cmd.to_body(),
        })
    }

    fn push_sealed(&mut self, frame: Frame) -> Result<(), ProtocolError> {
        let f = self.mechanism.seal(frame)?;
        self.out.push_frame(f.more, f.command, &f.body);
        Ok(())
    }

    /// Ends the session with `error`: queues an ERROR command if the error calls for one.
    fn fail(&mut self, error: ProtocolError) {
        // Once frames are sealed, a command in clear would not parse on the other side (libzmq
        // sends none then either).
        let sealed_traffic = self.sealed && self.phase == Phase::Traffic;
        if let Some(reason) = error.error_reason().filter(|_| !sealed_traffic) {
            Command::Error {
                reason: Bytes::from_static(reason.as_bytes()),
            }
            .encode(&mut self.out);
        }
        self.phase = Phase::Failed(error);
        // Events decoded before the error stay: messages completed before a bad frame were
        // accepted and must still be delivered.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::error::DecodeError;
    use crate::protocol::greeting::MECHANISM_NULL;

    /// Moves all pending bytes from `a` to `b`, feeding them in chunks of `chunk` bytes.
    fn pump(
        now: Instant,
        a: &mut Session,
        b: &mut Session,
        buf: &mut BytesMut,
        chunk: usize,
    ) -> Result<(), ProtocolError> {
        let bytes = a.out().to_vec();
        let n = bytes.len();
        a.out().advance(n);
        for c in bytes.chunks(chunk.max(1)) {
            buf.extend_from_slice(c);
            b.handle_input(now, buf)?;
        }
        Ok(())
    }

    fn pair(a: SocketType, b: SocketType) -> (Session, Session, Instant) {
        let now = Instant::now();
        (
            Session::new(SessionConfig::new(a), now),
            Session::new(SessionConfig::new(b), now),
            now,
        )
    }

    #[test]
    fn dealer_router_handshake_and_messages_any_chunking() {
        for chunk in [1, 2, 3, 7, 64, 1000] {
            let (mut d, mut r, now) = pair(SocketType::Dealer, SocketType::Router);
            let (mut bd, mut br) = (BytesMut::new(), BytesMut::new());
            pump(now, &mut d, &mut r, &mut br, chunk).unwrap();
            pump(now, &mut r, &mut d, &mut bd, chunk).unwrap();
            let Some(SessionEvent::Ready(info)) = r.poll_event() else {
                panic!("no ready")
            };
            assert_eq!(info.socket_type, Some(SocketType::Dealer));
            assert!(matches!(d.poll_event(), Some(SessionEvent::Ready(_))));
            let msg =
                Message::from_frames([&b"a"[..], b"", &[5u8; 300]].map(Bytes::copy_from_slice));
            d.send(&msg).unwrap();
            pump(now, &mut d, &mut r, &mut br, chunk).unwrap();
            assert_eq!(r.poll_event(), Some(SessionEvent::Message(msg)));
        }
    }

    /// `handle_input_with` hands messages to the sink only while no other event waits ahead
    /// of them: the messages that arrive with the handshake's end, or behind a SUBSCRIBE, stay
    /// behind it in the queue.
    #[test]
    fn messages_go_to_the_sink_only_behind_no_other_event() {
        let (mut x, mut s, now) = pair(SocketType::XPub, SocketType::Sub);
        // The SUB's greeting and READY, then (once the XPUB's are in) a subscription message,
        // a SUBSCRIBE command and another message, all in one input.
        let mut bx = BytesMut::new();
        pump(now, &mut x, &mut s, &mut BytesMut::new(), 1000).unwrap();
        assert!(matches!(s.poll_event(), Some(SessionEvent::Ready(_))));
        let mut input = s.out().to_vec();
        let n = s.pending_out();
        s.out().advance(n);
        let m1 = Message::from(&b"\x00m1"[..]);
        let m2 = Message::from(&b"\x00m2"[..]);
        let m3 = Message::from(&b"\x00m3"[..]);
        let mut frames = OutBuf::new();
        frames.push_message(m1.frames());
        Command::Subscribe(Bytes::from_static(b"t")).encode(&mut frames);
        frames.push_message(m2.frames());
        input.extend(frames.to_vec());
        bx.extend_from_slice(&input);
        let mut got = Vec::new();
        x.handle_input_with(now, &mut bx, &mut |m| got.push(m))
            .unwrap();
        assert!(got.is_empty(), "{got:?}");
        assert!(matches!(x.poll_event(), Some(SessionEvent::Ready(_))));
        assert_eq!(x.poll_event(), Some(SessionEvent::Message(m1)));
        assert_eq!(
            x.poll_event(),
            Some(SessionEvent::Subscribe(Bytes::from_static(b"t")))
        );
        assert_eq!(x.poll_event(), Some(SessionEvent::Message(m2)));
        assert_eq!(x.poll_event(), None);
        // Nothing waiting: straight to the sink.
        let mut frames = OutBuf::new();
        frames.push_message(m3.frames());
        bx.extend_from_slice(&frames.to_vec());
        x.handle_input_with(now, &mut bx, &mut |m| got.push(m))
            .unwrap();
        assert_eq!(got, [m3]);
        assert_eq!(x.poll_event(), None);
    }

    #[test]
    fn incompatible_types_get_error_command() {
        let (mut d, mut p, now) = pair(SocketType::Dealer, SocketType::Pub);
        let mut bd = BytesMut::new();
        let e = pump(now, &mut p, &mut d, &mut bd, 1000).unwrap_err();
        assert!(matches!(e, ProtocolError::IncompatibleSocketType { .. }));
        let out = d.out().to_vec();
        assert!(
            out.ends_with(b"\x05ERROR\x13Invalid socket type"),
            "{out:?}"
        );
        // Sticky.
        assert_eq!(d.handle_input(now, &mut BytesMut::from(&b"x"[..])), Err(e));
    }

    #[test]
    fn ping_answered_and_heartbeat_timeout() {
        let (_, mut r, now) = pair(SocketType::Dealer, SocketType::Router);
        let mut cfg = SessionConfig::new(SocketType::Dealer);
        cfg.heartbeat_ivl = Some(Duration::from_millis(100));
        cfg.heartbeat_timeout = Some(Duration::from_millis(300));
        let mut d = Session::new(cfg, now);
        let (mut bd, mut br) = (BytesMut::new(), BytesMut::new());
        pump(now, &mut d, &mut r, &mut br, 100).unwrap();
        pump(now, &mut r, &mut d, &mut bd, 100).unwrap();
        assert_eq!(d.poll_timeout(), Some(now + Duration::from_millis(100)));
        let t1 = now + Duration::from_millis(100);
        d.handle_timeout(t1).unwrap();
        // The router answers the PING with a PONG, which clears the deadline.
        pump(t1, &mut d, &mut r, &mut br, 100).unwrap();
        assert!(r.out().to_vec().ends_with(b"\x04\x05\x04PONG"));
        pump(t1, &mut r, &mut d, &mut bd, 100).unwrap();
        // Now the router goes silent: PINGs keep going out, then the timeout hits.
        let mut t = t1;
        let mut err = None;
        for _ in 0..10 {
            t += Duration::from_millis(100);
            if let Err(e) = d.handle_timeout(t) {
                err = Some((e, t));
                break;
            }
        }
        let (e, at) = err.expect("heartbeat timeout");
        assert_eq!(e, ProtocolError::HeartbeatTimeout);
        assert_eq!(at, t1 + Duration::from_millis(400));
    }

    #[test]
    fn pings_not_answered_while_output_backs_up() {
        // Regression: a peer that sent PINGs and never read got a PONG queued for each, growing
        // our output without bound.
        let (mut d, mut r, now) = pair(SocketType::Dealer, SocketType::Router);
        let (mut bd, mut br) = (BytesMut::new(), BytesMut::new());
        pump(now, &mut d, &mut r, &mut br, 1000).unwrap();
        pump(now, &mut r, &mut d, &mut bd, 1000).unwrap();
        let mut ob = OutBuf::new();
        Command::Ping {
            ttl: 0,
            context: Bytes::from_static(b"0123456789abcdef"),
        }
        .encode(&mut ob);
        let pings = ob.to_vec().repeat(100_000);
        r.handle_input(now, &mut BytesMut::from(&pings[..]))
            .unwrap();
        let pending = r.pending_out();
        assert!(
            (MAX_OUT_FOR_PONG..MAX_OUT_FOR_PONG + 64).contains(&pending),
            "{pending} bytes pending after 100 000 PINGs"
        );
        // Once the output is written, PINGs are answered again.
        r.out().advance(pending);
        r.handle_input(now, &mut BytesMut::from(&ob.to_vec()[..]))
            .unwrap();
        assert_eq!(r.out().to_vec(), b"\x04\x15\x04PONG0123456789abcdef");
    }

    #[test]
    fn zero_durations_mean_off_as_in_libzmq() {
        // Regression: `Some(Duration::ZERO)` armed timers at `now`: HANDSHAKE_IVL=0 failed every
        // handshake at once, HEARTBEAT_IVL=0 queued a PING on every call with the next one due
        // immediately (a busy loop flooding the peer), HEARTBEAT_TIMEOUT=0 dropped the peer
        // before it could answer. In libzmq 0 means "off" for all three.
        let now = Instant::now();
        let mut cfg = SessionConfig::new(SocketType::Dealer);
        cfg.handshake_ivl = Some(Duration::ZERO);
        cfg.heartbeat_ivl = Some(Duration::ZERO);
        let mut d = Session::new(cfg, now);
        assert_eq!(d.poll_timeout(), None);
        d.handle_timeout(now + Duration::from_secs(3600)).unwrap();
        let mut r = Session::new(SessionConfig::new(SocketType::Router), now);
        let (mut bd, mut br) = (BytesMut::new(), BytesMut::new());
        pump(now, &mut d, &mut r, &mut br, 1000).unwrap();
        pump(now, &mut r, &mut d, &mut bd, 1000).unwrap();
        assert!(d.is_ready());
        assert_eq!(d.poll_timeout(), None);
        d.handle_timeout(now).unwrap();
        assert!(d.out().is_empty(), "no PING with HEARTBEAT_IVL=0");

        // HEARTBEAT_TIMEOUT=0: PINGs still go out, silence never drops the peer.
        let mut cfg = SessionConfig::new(SocketType::Dealer);
        cfg.heartbeat_ivl = Some(Duration::from_millis(100));
        cfg.heartbeat_timeout = Some(Duration::ZERO);
        let mut d = Session::new(cfg, now);
        let mut r = Session::new(SessionConfig::new(SocketType::Router), now);
        let (mut bd, mut br) = (BytesMut::new(), BytesMut::new());
        pump(now, &mut d, &mut r, &mut br, 1000).unwrap();
        pump(now, &mut r, &mut d, &mut bd, 1000).unwrap();
        for i in 1..=10 {
            let t = now + Duration::from_millis(100 * i);
            assert_eq!(d.poll_timeout(), Some(t));
            d.handle_timeout(t).unwrap();
        }
        let out = d.out().to_vec();
        assert_eq!(out.len(), 10 * 9, "{out:x?}");
        assert!(out.starts_with(b"\x04\x07\x04PING\x00\x00"));
    }

    #[test]
    fn no_ping_to_zmtp30_peer() {
        let now = Instant::now();
        let mut cfg = SessionConfig::new(SocketType::Router);
        cfg.heartbeat_ivl = Some(Duration::from_millis(100));
        let mut r = Session::new(cfg, now);
        let mut g = Greeting::ours(MECHANISM_NULL, false);
        g[11] = 0;
        let mut input = BytesMut::from(&g[..]);
        let mut ob = OutBuf::new();
        crate::protocol::mechanism::null::ready_command(SocketType::Dealer, &Bytes::new())
            .encode(&mut ob);
        input.extend_from_slice(&ob.to_vec());
        r.handle_input(now, &mut input).unwrap();
        assert!(matches!(r.poll_event(), Some(SessionEvent::Ready(_))));
        assert_eq!(r.poll_timeout(), None);
        let before = r.pending_out();
        r.handle_timeout(now + Duration::from_secs(5)).unwrap();
        assert_eq!(r.pending_out(), before, "a PING was queued for a 3.0 peer");
    }

    #[test]
    fn messages_before_an_error_survive_it() {
        let (mut d, mut r, now) = pair(SocketType::Dealer, SocketType::Router);
        let (mut bd, mut br) = (BytesMut::new(), BytesMut::new());
        pump(now, &mut d, &mut r, &mut br, 1000).unwrap();
        pump(now, &mut r, &mut d, &mut bd, 1000).unwrap();
        assert!(matches!(r.poll_event(), Some(SessionEvent::Ready(_))));
        d.send(&Message::from(Bytes::from_static(b"kept"))).unwrap();
        let mut input = BytesMut::from(&d.out().to_vec()[..]);
        input.extend_from_slice(b"\x04\x00"); // an empty command frame: malformed
        assert!(r.handle_input(now, &mut input).is_err());
        assert_eq!(
            r.poll_event(),
            Some(SessionEvent::Message(Message::from(Bytes::from_static(
                b"kept"
            ))))
        );
    }

    #[test]
    fn handshake_timeout() {
        let (mut d, _r, now) = pair(SocketType::Dealer, SocketType::Router);
        assert!(d.handle_timeout(now + Duration::from_secs(29)).is_ok());
        assert_eq!(
            d.handle_timeout(now + Duration::from_secs(30)),
            Err(ProtocolError::HandshakeTimeout)
        );
    }

    #[test]
    fn message_before_handshake_and_mechanism_mismatch() {
        let now = Instant::now();
        let mut s = Session::new(SessionConfig::new(SocketType::Router), now);
        let mut g = Greeting::ours(MECHANISM_NULL, false).to_vec();
        g.extend_from_slice(b"\x00\x02hi");
        assert_eq!(
            s.handle_input(now, &mut BytesMut::from(&g[..])),
            Err(ProtocolError::MessageBeforeHandshake)
        );
        let mut s = Session::new(SessionConfig::new(SocketType::Router), now);
        let mut plain = *b"PLAIN\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
        let g = Greeting::ours(plain, false);
        assert!(matches!(
            s.handle_input(now, &mut BytesMut::from(&g[..])),
            Err(ProtocolError::MechanismMismatch { .. })
        ));
        plain[0] = 0xC3;
        let mut s = Session::new(SessionConfig::new(SocketType::Router), now);
        let g = Greeting::ours(plain, false);
        assert!(matches!(
            s.handle_input(now, &mut BytesMut::from(&g[..])),
            Err(ProtocolError::Decode(
                DecodeError::UnsupportedMechanism { .. }
            ))
        ));
    }

    #[test]
    fn message_size_limit_counts_whole_message() {
        let now = Instant::now();
        let mut cfg = SessionConfig::new(SocketType::Router);
        cfg.max_msg_size = Some(10);
        let mut r = Session::new(cfg, now);
        let mut d = Session::new(SessionConfig::new(SocketType::Dealer), now);
        let (mut bd, mut br) = (BytesMut::new(), BytesMut::new());
        pump(now, &mut d, &mut r, &mut br, 1000).unwrap();
        pump(now, &mut r, &mut d, &mut bd, 1000).unwrap();
        d.send(&Message::from_frames([
            Bytes::from_static(b"123456"),
            Bytes::from_static(b"123456"),
        ]))
        .unwrap();
        assert!(matches!(
            pump(now, &mut d, &mut r, &mut br, 1000),
            Err(ProtocolError::Decode(DecodeError::FrameTooLarge {
                len: 12,
                max: 10
            }))
        ));
    }

    #[test]
    fn message_frame_count_bounded_by_max_msg_size() {
        // Regression: empty frames counted 0 bytes against MAXMSGSIZE, so a message of endless
        // empty MORE frames grew without limit (a 32-byte slot per 2 bytes on the wire).
        let now = Instant::now();
        let mut cfg = SessionConfig::new(SocketType::Router);
        cfg.max_msg_size = Some(128 * 1024);
        let mut r = Session::new(cfg, now);
        let mut d = Session::new(SessionConfig::new(SocketType::Dealer), now);
        let (mut bd, mut br) = (BytesMut::new(), BytesMut::new());
        pump(now, &mut d, &mut r, &mut br, 1000).unwrap();
        pump(now, &mut r, &mut d, &mut bd, 1000).unwrap();
        assert!(matches!(r.poll_event(), Some(SessionEvent::Ready(_))));
        // 2048 frames (128 KiB / 64) are fine, 2049 are not.
        let ok = Message::from_frames(vec![Bytes::new(); 2048]);
        d.send(&ok).unwrap();
        pump(now, &mut d, &mut r, &mut br, 1 << 20).unwrap();
        assert!(matches!(r.poll_event(), Some(SessionEvent::Message(m)) if m.len() == 2048));
        d.send(&Message::from_frames(vec![Bytes::new(); 2049]))
            .unwrap();
        assert_eq!(
            pump(now, &mut d, &mut r, &mut br, 1 << 20),
            Err(ProtocolError::Decode(DecodeError::TooManyFrames {
                frames: 2049,
                max: 2048
            }))
        );
        assert!(r
            .out()
            .to_vec()
            .ends_with(b"\x05ERROR\x11Message too large"));
        // A tiny limit still allows MIN_FRAMES_PER_MESSAGE frames.
        let mut cfg = SessionConfig::new(SocketType::Router);
        cfg.max_msg_size = Some(10);
        let mut r = Session::new(cfg, now);
        let mut d = Session::new(SessionConfig::new(SocketType::Dealer), now);
        let (mut bd, mut br) = (BytesMut::new(), BytesMut::new());
        pump(now, &mut d, &mut r, &mut br, 1000).unwrap();
        pump(now, &mut r, &mut d, &mut bd, 1000).unwrap();
        assert!(matches!(r.poll_event(), Some(SessionEvent::Ready(_))));
        d.send(&Message::from_frames(vec![Bytes::new(); 1024]))
            .unwrap();
        pump(now, &mut d, &mut r, &mut br, 1 << 20).unwrap();
        assert!(matches!(r.poll_event(), Some(SessionEvent::Message(m)) if m.len() == 1024));
    }

    /// A session whose peer's READY needs our decision (NULL with authentication, libzmq's
    /// NULL with a ZAP domain), and the dealer that connects to it.
    fn authenticating_pair(now: Instant) -> (Session, Session, BytesMut) {
        let mut cfg = SessionConfig::new(SocketType::Router);
        cfg.authenticate = true;
        let mut r = Session::new(cfg, now);
        let mut cfg = SessionConfig::new(SocketType::Dealer);
        cfg.routing_id = Bytes::from_static(b"who");
        let d = Session::new(cfg, now);
        // Only the greeting: READY is withheld until the peer is accepted.
        assert_eq!(r.out().to_vec(), Greeting::ours(MECHANISM_NULL, false));
        (r, d, BytesMut::new())
    }

    #[test]
    fn authentication_accepts_then_ready() {
        let now = Instant::now();
        let (mut r, mut d, mut br) = authenticating_pair(now);
        pump(now, &mut d, &mut r, &mut br, 7).unwrap();
        let Some(SessionEvent::Authenticate(req)) = r.poll_event() else {
            panic!("no authentication request")
        };
        assert_eq!((req.mechanism, &req.identity[..]), ("NULL", &b"who"[..]));
        assert!(!r.is_ready());
        let greeting_len = r.pending_out();
        r.authenticate(
            now,
            AuthDecision::Accept {
                user_id: Bytes::from_static(b"alice"),
            },
        )
        .unwrap();
        let Some(SessionEvent::Ready(info)) = r.poll_event() else {
            panic!("not ready after acceptance")
        };
        assert_eq!(&info.user_id[..], b"alice");
        assert!(r.pending_out() > greeting_len, "READY not queued");
        let mut bd = BytesMut::new();
        pump(now, &mut r, &mut d, &mut bd, 1000).unwrap();
        assert!(d.is_ready());
        // A second decision is a misuse, not a crash.
        assert!(r
            .authenticate(now, AuthDecision::Deny { status: 400 })
            .is_err());
    }

    #[test]
    fn authentication_refusal_sends_status_and_fails() {
        let now = Instant::now();
        let (mut r, mut d, mut br) = authenticating_pair(now);
        pump(now, &mut d, &mut r, &mut br, 1000).unwrap();
        assert!(matches!(
            r.poll_event(),
            Some(SessionEvent::Authenticate(_))
        ));
        assert_eq!(
            r.authenticate(now, AuthDecision::Deny { status: 400 }),
            Err(ProtocolError::AuthenticationFailed { status: 400 })
        );
        assert!(r.out().to_vec().ends_with(b"\x04\x0a\x05ERROR\x03400"));
        let mut bd = BytesMut::new();
        assert_eq!(
            pump(now, &mut r, &mut d, &mut bd, 1000),
            Err(ProtocolError::PeerError {
                reason: crate::protocol::error::PeerText::new(b"400")
            })
        );
    }

    #[test]
    fn input_waits_while_authentication_is_pending() {
        let now = Instant::now();
        let (mut r, mut d, _) = authenticating_pair(now);
        // The peer's READY and then a PING in the same read: the PING stays buffered.
        let mut input = BytesMut::from(&d.out().to_vec()[..]);
        let mut ob = OutBuf::new();
        Command::Ping {
            ttl: 0,
            context: Bytes::new(),
        }
        .encode(&mut ob);
        input.extend_from_slice(&ob.to_vec());
        r.handle_input(now, &mut input).unwrap();
        assert_eq!(&input[..], &ob.to_vec()[..]);
        assert!(matches!(
            r.poll_event(),
            Some(SessionEvent::Authenticate(_))
        ));
        r.authenticate(
            now,
            AuthDecision::Accept {
                user_id: Bytes::new(),
            },
        )
        .unwrap();
        r.handle_input(now, &mut input).unwrap();
        assert!(input.is_empty());
        assert!(r.out().to_vec().ends_with(b"\x04\x05\x04PONG"));
    }

    #[test]
    fn huge_option_durations_do_not_panic() {
        // Regression: `now + d` overflowed for large HANDSHAKE_IVL / HEARTBEAT_* values.
        let now = Instant::now();
        let mut cfg = SessionConfig::new(SocketType::Dealer);
        cfg.handshake_ivl = Some(Duration::MAX);
        cfg.heartbeat_ivl = Some(Duration::MAX);
        cfg.heartbeat_timeout = Some(Duration::MAX);
        cfg.heartbeat_ttl = Duration::MAX;
        let mut d = Session::new(cfg, now);
        let mut r = Session::new(SessionConfig::new(SocketType::Router), now);
        let (mut bd, mut br) = (BytesMut::new(), BytesMut::new());
        pump(now, &mut d, &mut r, &mut br, 1000).unwrap();
        pump(now, &mut r, &mut d, &mut bd, 1000).unwrap();
        assert!(d.is_ready());
        assert_eq!(d.poll_timeout(), None);
        d.handle_timeout(now + Duration::from_secs(1 << 40))
            .unwrap();
        // A PING with the largest TTL from the peer.
        let mut ob = OutBuf::new();
        Command::Ping {
            ttl: u16::MAX,
            context: Bytes::new(),
        }
        .encode(&mut ob);
        d.handle_input(now, &mut BytesMut::from(&ob.to_vec()[..]))
            .unwrap();
    }

    /// A toy mechanism that transforms every frame after the handshake the way CURVE does:
    /// each frame travels as a MESSAGE command carrying its flags and a scrambled body.
    #[derive(Debug)]
    struct Scramble(crate::protocol::mechanism::null::Null);

    const SCRAMBLE: [u8; 20] = *b"X-SCRAMBLE\0\0\0\0\0\0\0\0\0\0";

    impl Mechanism for Scramble {
        fn name(&self) -> [u8; 20] {
            SCRAMBLE
        }
        fn start(&mut self, out: &mut OutBuf) {
            self.0.start(out)
        }
        fn on_command(
            &mut self,
            minor: u8,
            body: &Bytes,
            out: &mut OutBuf,
        ) -> Result<Step, ProtocolError> {
            self.0.on_command(minor, body, out)
        }
        fn transforms_frames(&self) -> bool {
            true
        }
        fn seal(&mut self, f: Frame) -> Result<Frame, ProtocolError> {
            let mut body = b"\x07MESSAGE".to_vec();
            body.push(u8::from(f.more) | (u8::from(f.command) << 1));
            body.extend(f.body.iter().map(|b| b ^ 0x5a));
            Ok(Frame {
                more: false,
                command: true,
                body: body.into(),
            })
        }
        fn open(&mut self, f: Frame) -> Result<Frame, ProtocolError> {
            let Some(rest) = f.body.strip_prefix(b"\x07MESSAGE") else {
                return Err(DecodeError::MalformedCommand("not a MESSAGE").into());
            };
            let Some((&flags, data)) = rest.split_first() else {
                return Err(DecodeError::MalformedCommand("MESSAGE without flags").into());
            };
            Ok(Frame {
                more: flags & 1 != 0,
                command: flags & 2 != 0,
                body: data.iter().map(|b| b ^ 0x5a).collect::<Vec<u8>>().into(),
            })
        }
    }

    fn scrambled(t: SocketType, now: Instant, heartbeat: Option<Duration>) -> Session {
        let mut cfg = SessionConfig::new(t);
        cfg.heartbeat_ivl = heartbeat;
        let mech = Scramble(crate::protocol::mechanism::null::Null::new(
            t,
            &Bytes::new(),
            false,
        ));
        Session::with_mechanism(cfg, Box::new(mech), now)
    }

    #[test]
    fn a_transforming_mechanism_sees_every_frame_commands_included() {
        let now = Instant::now();
        let ivl = Duration::from_millis(100);
        let mut d = scrambled(SocketType::Dealer, now, Some(ivl));
        let mut r = scrambled(SocketType::Router, now, None);
        assert_eq!(&d.out().to_vec()[12..32], &SCRAMBLE);
        let (mut bd, mut br) = (BytesMut::new(), BytesMut::new());
        pump(now, &mut d, &mut r, &mut br, 5).unwrap();
        pump(now, &mut r, &mut d, &mut bd, 5).unwrap();
        assert!(d.is_ready() && r.is_ready());
        assert!(matches!(r.poll_event(), Some(SessionEvent::Ready(_))));

        // A multipart message: every frame sealed on the wire, opened intact on the other side.
        let msg = Message::from_frames(
            [&b"secret-one"[..], b"", &[7u8; 300]].map(Bytes::copy_from_slice),
        );
        d.send(&msg).unwrap();
        let wire = d.out().to_vec();
        assert!(
            !wire.windows(6).any(|w| w == b"secret"),
            "plaintext on the wire"
        );
        let mut frames = BytesMut::from(&wire[..]);
        let mut dec = FrameDecoder::new(None);
        let mut n = 0;
        while let Some(f) = dec.decode(&mut frames).unwrap() {
            assert!(f.command && !f.more && f.body.starts_with(b"\x07MESSAGE"));
            n += 1;
        }
        assert_eq!(n, 3);
        pump(now, &mut d, &mut r, &mut br, 7).unwrap();
        assert_eq!(r.poll_event(), Some(SessionEvent::Message(msg)));

        // Heartbeats go through the mechanism too: a sealed PING, a sealed PONG that keeps
        // the peer alive.
        let t = now + ivl;
        d.handle_timeout(t).unwrap();
        let ping = d.out().to_vec();
        assert!(!ping.windows(4).any(|w| w == b"PING"), "{ping:?}");
        pump(t, &mut d, &mut r, &mut br, 3).unwrap();
        let pong = r.out().to_vec();
        assert!(pong.ends_with(&[
            0x04 ^ 0x5a,
            b'P' ^ 0x5a,
            b'O' ^ 0x5a,
            b'N' ^ 0x5a,
            b'G' ^ 0x5a
        ]));
        pump(t, &mut r, &mut d, &mut bd, 3).unwrap();
        // The PONG cleared the deadline: the next tick sends a PING instead of failing.
        d.handle_timeout(t + ivl).unwrap();

        // A frame that is not sealed is a protocol error.
        let mut plain = BytesMut::from(&b"\x00\x05hello"[..]);
        assert!(matches!(
            r.handle_input(t, &mut plain),
            Err(ProtocolError::Decode(DecodeError::MalformedCommand(_)))
        ));
    }
}
