//! The bodies of the fuzz targets, as plain functions of the raw input.
//!
//! Shared, not copied: each target in `fuzz/fuzz_targets/` and the corpus replay test
//! (`zmtp/tests/fuzz_replay.rs`, run by plain `cargo test` on stable) both pull this file in
//! with `#[path = ...] mod checks;`. It may use only `std`, `bytes` and `zmtp` (the sans-IO
//! core), which both crates have.
//!
//! Inputs are read byte by byte with [`Input`] (a fixed, documented layout rather than
//! `arbitrary`'s encoding), so seeds can be written by hand or by `fuzz/gen_corpus.py`, and the
//! replay test needs no extra dependency in the workspace.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use zmtp::protocol::codec::{FrameDecoder, OutBuf, MAX_COMMAND_LEN};
use zmtp::protocol::command::Command;
use zmtp::protocol::frame::Frame;
use zmtp::protocol::greeting::{self, Greeting, GREETING_LEN};
use zmtp::protocol::mechanism::null;
use zmtp::protocol::metadata::Metadata;
use zmtp::protocol::session::{SendError, Session, SessionConfig, SessionEvent};
use zmtp::{DecodeError, Message, ProtocolError, SocketType};

/// Slack allowed on top of twice the bytes fed when bounding the receive buffer's capacity:
/// a declared frame size is trusted up to [`zmtp::protocol::codec::EAGER_LEN`], plus a read-ahead.
pub const CAPACITY_SLACK: usize = zmtp::protocol::codec::EAGER_LEN + 128 * 1024;

/// Stop feeding after this many bytes (keeps one run fast; fills make big frames cheap).
pub const MAX_FED: usize = 256 << 10;

/// Every socket type, indexed by the handshake target's first byte.
pub const SOCKET_TYPES: [SocketType; 11] = [
    SocketType::Req,
    SocketType::Rep,
    SocketType::Dealer,
    SocketType::Router,
    SocketType::Pub,
    SocketType::Sub,
    SocketType::XPub,
    SocketType::XSub,
    SocketType::Push,
    SocketType::Pull,
    SocketType::Pair,
];

/// Reads values off the front of a fuzz input. Past the end, numbers read as zero and byte
/// runs come back short, so every input is a valid one.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Input { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// Big-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    /// Big-endian.
    pub fn u64(&mut self) -> u64 {
        let mut v = 0u64;
        for _ in 0..8 {
            v = v << 8 | u64::from(self.u8());
        }
        v
    }

    /// Up to `n` bytes (fewer at the end of the input).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }
}

/// One step's worth of peer bytes: `op` even = a literal run (next byte = length, then the
/// bytes), `op` odd = a fill of `(next byte + 1) * 1024` copies of the following byte.
fn chunk(inp: &mut Input<'_>, op: u8) -> Vec<u8> {
    if op & 1 == 0 {
        let n = inp.u8() as usize;
        inp.bytes(n).to_vec()
    } else {
        let n = (inp.u8() as usize + 1) * 1024;
        vec![inp.u8(); n]
    }
}

fn assert_capacity_bounded(buf: &BytesMut, fed: usize) {
    assert!(
        buf.capacity() <= 2 * fed + CAPACITY_SLACK,
        "receive buffer capacity {} after {} bytes fed ({} buffered)",
        buf.capacity(),
        fed,
        buf.len()
    );
}

/// Decodes every frame in `buf`; the error, if any, ends decoding.
fn decode_all(
    dec: &mut FrameDecoder,
    buf: &mut BytesMut,
    frames: &mut Vec<Frame>,
) -> Result<(), DecodeError> {
    while let Some(f) = dec.decode(buf)? {
        frames.push(f);
    }
    Ok(())
}

/// `frame_decoder`: a frame size limit, then peer bytes fed in arbitrary chunks by a driver
/// that reserves [`FrameDecoder::reserve_hint`] and reads at most the free room, as a socket
/// would.
///
/// Layout: `m` (`m % 4`: 0 = no limit, 1 = limit of the next byte, 2 = of the next u16, 3 =
/// of the next u64), then chunks (see [`chunk`]), each preceded by its `op` byte.
///
/// Checks: no panic; frames respect the limits; the receive buffer's capacity stays within
/// twice the bytes fed plus [`CAPACITY_SLACK`]; and chunking changes nothing (the same frames,
/// error and leftover bytes as decoding the whole stream at once).
pub fn frame_decoder(data: &[u8]) {
    let mut inp = Input::new(data);
    let max = match inp.u8() % 4 {
        0 => None,
        1 => Some(u64::from(inp.u8())),
        2 => Some(u64::from(inp.u16())),
        _ => Some(inp.u64()),
    };
    let mut dec = FrameDecoder::new(max);
    let mut buf = BytesMut::new();
    let mut stream = Vec::new();
    let mut frames = Vec::new();
    let mut result = Ok(());
    let mut fed = 0usize;
    'feed: while !inp.is_empty() && fed < MAX_FED {
        let op = inp.u8();
        let bytes = chunk(&mut inp, op);
        let mut pending = &bytes[..];
        while !pending.is_empty() {
            dec.reserve_for_read(&mut buf);
            assert_capacity_bounded(&buf, fed);
            let room = buf.capacity() - buf.len();
            assert!(room > 0, "reserve_hint left no room to read into");
            let n = pending.len().min(room);
            buf.extend_from_slice(&pending[..n]);
            stream.extend_from_slice(&pending[..n]);
            pending = &pending[n..];
            fed += n;
            result = decode_all(&mut dec, &mut buf, &mut frames);
            assert_capacity_bounded(&buf, fed);
            if result.is_err() {
                break 'feed;
            }
        }
    }
    let mut decoded = 0usize;
    for f in &frames {
        if f.command {
            assert!(f.body.len() as u64 <= MAX_COMMAND_LEN);
        } else if let Some(max) = max {
            assert!(f.body.len() as u64 <= max);
        }
        decoded += 2 + f.body.len();
    }
    assert!(decoded <= fed);

    // The same stream in one piece.
    let mut whole = BytesMut::from(&stream[..]);
    let mut whole_frames = Vec::new();
    let whole_result = decode_all(&mut FrameDecoder::new(max), &mut whole, &mut whole_frames);
    assert_eq!(result, whole_result);
    assert_eq!(frames.len(), whole_frames.len());
    assert!(
        frames == whole_frames,
        "chunked and one-shot decoding differ"
    );
    if result.is_ok() {
        assert!(
            buf == whole,
            "chunked and one-shot decoding leave different bytes"
        );
    }
}

/// `greeting`: [`greeting::parse_partial`] on every prefix of the input.
///
/// Checks: a prefix shorter than 64 bytes never yields a greeting; once a prefix is rejected,
/// every longer one is rejected with the same error; at 64 bytes and beyond the answer is the
/// one for the first 64 bytes; an accepted greeting holds the bytes it was parsed from, and
/// our own greeting with its mechanism parses back.
pub fn greeting(data: &[u8]) {
    let data = &data[..data.len().min(2 * GREETING_LEN)];
    let mut rejected: Option<DecodeError> = None;
    for n in 0..=data.len() {
        let r = greeting::parse_partial(&data[..n]);
        if let Some(e) = rejected {
            assert_eq!(
                r,
                Err(e),
                "prefix {n} accepted after a shorter one was rejected"
            );
            continue;
        }
        match r {
            Err(e) => rejected = Some(e),
            Ok(None) => assert!(n < GREETING_LEN, "64 bytes and still undecided"),
            Ok(Some(g)) => {
                assert!(n >= GREETING_LEN, "a greeting from {n} bytes");
                assert_eq!(greeting::parse_partial(&data[..GREETING_LEN]), Ok(Some(g)));
                assert_eq!(data[0], 0xFF);
                assert_eq!(data[9] & 1, 1);
                assert_eq!((g.major, g.minor), (data[10], data[11]));
                assert!(g.major >= 3);
                assert_eq!(&g.mechanism[..], &data[12..32]);
                assert_eq!(g.as_server, data[32] != 0);
                let ours = Greeting::ours(g.mechanism, g.as_server);
                let back = greeting::parse_partial(&ours).expect("our greeting parses");
                let back = back.expect("64 bytes");
                assert_eq!((back.mechanism, back.as_server), (g.mechanism, g.as_server));
            }
        }
    }
}

/// `command`: the input as a command frame's body ([`Command::parse`]) and as a READY
/// property list ([`Metadata::parse`]).
///
/// Checks: no panic; a parsed command re-encodes to a body that parses to the same value (and
/// re-encodes to the same bytes), and travels through the frame codec intact; a parsed
/// property list re-encodes to exactly the input bytes, of [`Metadata::encoded_len`] bytes.
pub fn command(data: &[u8]) {
    let body = Bytes::copy_from_slice(data);
    if let Ok(cmd) = Command::parse(&body) {
        let wire = cmd.to_body();
        let again = Command::parse(&wire).expect("a re-encoded command parses");
        assert_eq!(again, cmd, "command changed through to_body/parse");
        assert_eq!(again.to_body(), wire, "to_body is not stable");
        if wire.len() as u64 <= MAX_COMMAND_LEN {
            let mut ob = OutBuf::new();
            cmd.encode(&mut ob);
            let mut buf = BytesMut::from(&ob.to_vec()[..]);
            let f = FrameDecoder::new(Some(0))
                .decode(&mut buf)
                .expect("our command frame decodes")
                .expect("a complete frame");
            assert!(f.command && !f.more);
            assert_eq!(f.body, wire);
            assert!(buf.is_empty());
        }
        for t in SOCKET_TYPES {
            if let Ok(info) = null::on_command(t, 1, cmd.clone()) {
                if let Some(peer) = info.socket_type {
                    assert!(t.is_compatible(peer));
                }
            }
        }
    }
    if let Ok(md) = Metadata::parse(&body) {
        let mut out = BytesMut::new();
        md.encode(&mut out);
        assert_eq!(md.encoded_len(), out.len());
        assert_eq!(&out[..], data, "metadata encoding is not canonical");
        let again = Metadata::parse(&out.freeze()).expect("re-encoded metadata parses");
        assert_eq!(again, md);
    }
}

/// `handshake`: a [`Session`] of a chosen type and configuration, fed peer bytes in arbitrary
/// chunks while time advances, driven as a socket would drive it.
///
/// Layout: socket type (`% 11`, see [`SOCKET_TYPES`]); flags: bit 0 = MAXMSGSIZE of the next
/// u16, bit 1 = HANDSHAKE_IVL of the next byte * 10 ms (255 = none; otherwise the default
/// 30 s), bit 2 = heartbeats: HEARTBEAT_IVL (next byte + 1) * 10 ms, HEARTBEAT_TIMEOUT next
/// byte * 10 ms (0 = the interval), HEARTBEAT_TTL next byte * 100 ms, bit 3 = a routing id of
/// next-byte length. Then steps, each an `op` byte: `op % 4` 0/1 = peer bytes ([`chunk`] with
/// `op` 0 or 1), 2 = time advances by the next byte * 10 ms and the timers run, 3 = we send a
/// message of next-byte length.
///
/// Checks: no panic; READY comes first and once, from a compatible peer; no message over
/// MAXMSGSIZE; errors are sticky, and an ERROR command is queued when the error calls for
/// one; the receive buffer, the events and our output stay in proportion to the input.
pub fn handshake(data: &[u8]) {
    let mut inp = Input::new(data);
    let ours = SOCKET_TYPES[inp.u8() as usize % SOCKET_TYPES.len()];
    let flags = inp.u8();
    let mut cfg = SessionConfig::new(ours);
    if flags & 1 != 0 {
        cfg.max_msg_size = Some(u64::from(inp.u16()));
    }
    if flags & 2 != 0 {
        cfg.handshake_ivl = match inp.u8() {
            255 => None,
            b => Some(Duration::from_millis(u64::from(b) * 10)),
        };
    }
    if flags & 4 != 0 {
        cfg.heartbeat_ivl = Some(Duration::from_millis((u64::from(inp.u8()) + 1) * 10));
        cfg.heartbeat_timeout = match inp.u8() {
            0 => None,
            b => Some(Duration::from_millis(u64::from(b) * 10)),
        };
        cfg.heartbeat_ttl = Duration::from_millis(u64::from(inp.u8()) * 100);
    }
    if flags & 8 != 0 {
        let n = inp.u8() as usize;
        cfg.routing_id = Bytes::copy_from_slice(inp.bytes(n));
    }

    let start = Instant::now();
    let mut d = Driver {
        s: Session::new(cfg.clone(), start),
        cfg,
        start,
        now: start,
        buf: BytesMut::new(),
        fed: 0,
        out_total: 0,
        out_budget: 0,
        ready: false,
    };
    let greeting = d.s.out().to_vec();
    assert_eq!(
        greeting[..GREETING_LEN],
        Greeting::ours(*b"NULL\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", false)
    );
    d.out_budget = greeting.len();
    if d.drain().is_err() {
        return;
    }
    while !inp.is_empty() && d.fed < MAX_FED {
        let op = inp.u8();
        d.out_budget += 64;
        let r = match op % 4 {
            0 | 1 => {
                let bytes = chunk(&mut inp, op % 4);
                d.feed(&bytes)
            }
            2 => {
                d.now += Duration::from_millis(u64::from(inp.u8()) * 10);
                d.timers()
            }
            _ => {
                let n = inp.u8() as usize;
                let msg = Message::from(Bytes::copy_from_slice(inp.bytes(n)));
                match d.s.send(&msg) {
                    Ok(()) => {
                        assert!(d.ready);
                        d.out_budget += 9 + n;
                    }
                    Err(SendError::NotReady) => assert!(!d.ready),
                    Err(e) => panic!("send: {e}"),
                }
                Ok(())
            }
        };
        if r.and_then(|()| d.drain()).is_err() {
            return;
        }
    }
}

struct Driver {
    s: Session,
    cfg: SessionConfig,
    start: Instant,
    now: Instant,
    buf: BytesMut,
    fed: usize,
    out_total: usize,
    /// What our output may add up to: our greeting and READY, 64 bytes a step (a PING or an
    /// ERROR), our messages, and three times the bytes fed (PONGs: at most 23 bytes for a
    /// 9-byte PING).
    out_budget: usize,
    ready: bool,
}

impl Driver {
    /// Reads `bytes` the way a socket would: reserve the session's hint, read at most the free
    /// room, hand the buffer over, run due timers.
    fn feed(&mut self, bytes: &[u8]) -> Result<(), ProtocolError> {
        let mut pending = bytes;
        while !pending.is_empty() {
            self.s.reserve_for_read(&mut self.buf);
            assert_capacity_bounded(&self.buf, self.fed);
            let room = self.buf.capacity() - self.buf.len();
            assert!(room > 0, "reserve_hint left no room to read into");
            let n = pending.len().min(room);
            self.buf.extend_from_slice(&pending[..n]);
            pending = &pending[n..];
            self.fed += n;
            self.out_budget += 3 * n;
            let r = self.s.handle_input(self.now, &mut self.buf);
            self.check_result(&r);
            assert_capacity_bounded(&self.buf, self.fed);
            r?;
            self.drain()?;
            self.timers()?;
        }
        Ok(())
    }

    /// Runs `handle_timeout` if the session asked for it by now (and once anyway: early calls
    /// must be harmless).
    fn timers(&mut self) -> Result<(), ProtocolError> {
        if self.s.poll_timeout().is_some_and(|t| t <= self.now) || self.fed.is_multiple_of(2) {
            let r = self.s.handle_timeout(self.now);
            self.check_result(&r);
            r?;
        }
        Ok(())
    }

    fn check_result(&mut self, r: &Result<(), ProtocolError>) {
        let Err(e) = r else {
            assert!(self.s.error().is_none());
            return;
        };
        assert_eq!(self.s.error(), Some(e), "the error is not the session's");
        assert!(self.s.poll_timeout().is_none());
        assert!(!self.s.is_ready());
        if *e == ProtocolError::HandshakeTimeout {
            let ivl = self
                .cfg
                .handshake_ivl
                .expect("a handshake timeout without HANDSHAKE_IVL");
            assert!(self.now >= self.start + ivl);
            assert!(!self.ready);
        }
        if *e == ProtocolError::MessageBeforeHandshake {
            assert!(!self.ready);
        }
        // Events decoded before the error are kept (messages completed before a bad frame were
        // accepted); nothing is added after it.
        while self.s.poll_event().is_some() {}
        // Sticky.
        assert_eq!(
            self.s
                .handle_input(self.now, &mut BytesMut::from(&b"\x00\x00"[..]))
                .as_ref(),
            Err(e)
        );
        assert_eq!(self.s.handle_timeout(self.now).as_ref(), Err(e));
        assert_eq!(
            self.s.send(&Message::from("x")),
            Err(SendError::Failed(e.clone()))
        );
        assert_eq!(self.s.poll_event(), None);
        let out = self.s.out().to_vec();
        if let Some(reason) = e.error_reason() {
            let mut tail = vec![0x04, 7 + reason.len() as u8, 5];
            tail.extend_from_slice(b"ERROR");
            tail.push(reason.len() as u8);
            tail.extend_from_slice(reason.as_bytes());
            assert!(out.ends_with(&tail), "no ERROR command for {e:?}");
        }
        self.flush_out();
    }

    /// Drains events and our output, checking both.
    fn drain(&mut self) -> Result<(), ProtocolError> {
        let mut events = 0usize;
        while let Some(ev) = self.s.poll_event() {
            events += 1;
            match ev {
                SessionEvent::Ready(info) => {
                    assert!(!self.ready, "a second Ready event");
                    self.ready = true;
                    if let Some(peer) = info.socket_type {
                        assert!(self.cfg.socket_type.is_compatible(peer));
                    }
                }
                SessionEvent::Message(m) => {
                    assert!(self.ready, "a message before Ready");
                    assert!(!m.is_empty());
                    if let Some(max) = self.cfg.max_msg_size {
                        assert!(m.byte_len() as u64 <= max, "message over MAXMSGSIZE");
                    }
                }
                SessionEvent::Subscribe(_) | SessionEvent::Cancel(_) => {
                    assert!(self.ready, "SUBSCRIBE/CANCEL before Ready")
                }
                _ => {}
            }
        }
        assert!(
            events <= self.fed / 2 + 1,
            "{events} events from {} bytes",
            self.fed
        );
        assert_eq!(self.s.is_ready(), self.ready && self.s.error().is_none());
        self.flush_out();
        Ok(())
    }

    /// Writes our output in pieces of up to 1000 bytes, as partial writes would.
    fn flush_out(&mut self) {
        let mut guard = 0;
        while !self.s.out().is_empty() {
            let n = self.s.out().chunk().len().min(1000);
            assert!(n > 0, "pending output but an empty chunk");
            self.s.out().advance(n);
            self.out_total += n;
            guard += 1;
            assert!(guard < 1 << 20);
        }
        assert!(
            self.out_total <= self.out_budget,
            "{} bytes out for {} bytes in",
            self.out_total,
            self.fed
        );
    }
}

/// `plain_handshake`: the PLAIN mechanism (RFC 24) inside a session, with arbitrary peer bytes
/// after a valid PLAIN greeting.
///
/// Layout: byte 0: bit 0 we are the server (else the client, user `u`, password `p`), bit 1
/// authentication on, bit 2 the decision is "accept" (else "deny 400"); byte 1: our socket
/// type (index into [`SOCKET_TYPES`]); then chunks of peer bytes, each a length byte and that
/// many bytes.
///
/// Checks: no panic; our greeting names PLAIN with the as-server flag of our role, and a
/// client's first command is exactly its HELLO; a decision is asked for only of a server with
/// authentication on, once, with the two credentials; Ready comes at most once, never after a
/// denial, and for an authenticating server only after the decision; every error is sticky;
/// our output stays in proportion to the input.
pub fn plain_handshake(data: &[u8]) {
    use zmtp::protocol::greeting::MECHANISM_PLAIN;
    use zmtp::protocol::mechanism::{AuthDecision, MechanismConfig};

    let mut inp = Input::new(data);
    let flags = inp.u8();
    let (server, auth, accept) = (flags & 1 != 0, flags & 2 != 0, flags & 4 != 0);
    let ours = SOCKET_TYPES[inp.u8() as usize % SOCKET_TYPES.len()];
    let mut cfg = SessionConfig::new(ours);
    cfg.mechanism = if server {
        MechanismConfig::PlainServer
    } else {
        MechanismConfig::PlainClient {
            username: Bytes::from_static(b"u"),
            password: Bytes::from_static(b"p"),
        }
    };
    cfg.authenticate = auth;
    let now = Instant::now();
    let mut s = Session::new(cfg, now);
    let first = s.out().to_vec();
    assert_eq!(
        first[..GREETING_LEN],
        Greeting::ours(MECHANISM_PLAIN, server)
    );
    if server {
        assert_eq!(first.len(), GREETING_LEN, "a server speaks second");
    } else {
        assert_eq!(&first[GREETING_LEN..], b"\x04\x0a\x05HELLO\x01u\x01p");
    }
    let n = s.out().len();
    s.out().advance(n);
    let mut out_total = first.len();

    let mut buf = BytesMut::new();
    buf.extend_from_slice(&Greeting::ours(MECHANISM_PLAIN, !server));
    let mut fed = GREETING_LEN;
    let (mut asked, mut ready, mut denied) = (0, 0, false);
    let mut r = s.handle_input(now, &mut buf);
    loop {
        while let Some(ev) = s.poll_event() {
            match ev {
                SessionEvent::Authenticate(req) => {
                    assert!(server && auth, "a decision asked for by a {ours} client");
                    asked += 1;
                    assert_eq!(asked, 1, "a decision asked for twice");
                    assert_eq!(req.mechanism, "PLAIN");
                    assert_eq!(req.credentials.len(), 2);
                    let decision = if accept {
                        AuthDecision::Accept {
                            user_id: req.credentials[0].clone(),
                        }
                    } else {
                        AuthDecision::Deny { status: 400 }
                    };
                    let d = s.authenticate(now, decision);
                    if !accept {
                        assert_eq!(d, Err(ProtocolError::AuthenticationFailed { status: 400 }));
                        denied = true;
                    }
                    if d.is_err() {
                        r = d;
                    }
                }
                SessionEvent::Ready(_) => {
                    ready += 1;
                    assert_eq!(ready, 1, "Ready twice");
                    assert!(!denied, "Ready after a denial");
                    if server && auth {
                        assert_eq!(asked, 1, "Ready before the decision");
                    }
                }
                _ => {}
            }
        }
        let n = s.out().len();
        out_total += n;
        s.out().advance(n);
        assert!(
            out_total <= 4096 + 4 * fed,
            "{out_total} bytes out for {fed} in"
        );
        if let Err(e) = &r {
            assert_eq!(
                s.handle_input(now, &mut BytesMut::from(&b"\x04\x00"[..]))
                    .as_ref(),
                Err(e),
                "the error is not sticky"
            );
            assert_eq!(s.poll_event(), None);
            return;
        }
        if inp.is_empty() || fed > MAX_FED {
            return;
        }
        let n = inp.u8() as usize;
        let bytes = inp.bytes(n);
        buf.extend_from_slice(bytes);
        fed += bytes.len();
        r = s.handle_input(now, &mut buf);
    }
}

// Each target binary uses one of the two.
#[cfg(feature = "curve")]
#[allow(unused_imports)]
pub use curve::{curve_handshake, curve_message};

/// The CURVE targets (RFC 25/26), with `zmtp`'s `curve` feature.
///
/// Both drive two [`Session`]s running `CurveClient` and `CurveServer`
/// (`zmtp::protocol::mechanism::curve`) with fixed keys and a deterministic generator (reset at
/// the start of every run, so a run is repeatable), and carry each one's output to the other
/// frame by frame ("units": the greeting, then whole frames), so that the input decides what
/// the receiver gets: an honest unit, an altered one, a replayed, reordered or truncated one,
/// or bytes of its own.
///
/// The receiver is checked against a model:
/// - In the handshake, a receiver whose stream is still the honest one (benign changes aside:
///   the greeting's unchecked bytes, frame flags that are ignored, HELLO's padding) must take
///   each honest unit without error and finish the handshake exactly when the last one
///   (READY / INITIATE) arrives; a whole frame that is not the next honest one must be rejected
///   at once; once the stream has been altered otherwise it must produce no event ever, and
///   fail as soon as it completes a frame of the altered bytes (its framing is mirrored with
///   a [`FrameDecoder`]), not before.
/// - After the handshake the model is exact: it mirrors the receiver's framing with its own
///   [`FrameDecoder`] and decides each frame as CURVE does (not a MESSAGE: unexpected command;
///   under 33 bytes: malformed; nonce not above the last: `NonceNotIncreasing`; above the next:
///   `NonceSkipped`; not one of the
///   sender's MESSAGEs byte for byte: `BadBox`; else the frame the sender sealed, through the
///   MAXMSGSIZE checks), so the result, the events and the unread bytes must all be the model's.
///   A MESSAGE that skips nonces is refused (stricter than libzmq, as RFC 26 asks), so every
///   message must also equal the next one sent.
#[cfg(feature = "curve")]
mod curve {
    use std::cell::Cell;
    use std::collections::VecDeque;
    use std::sync::OnceLock;
    use std::time::{Duration, Instant};

    use bytes::{Bytes, BytesMut};
    use zmtp::curve::KeyPair;
    use zmtp::protocol::codec::FrameDecoder;
    use zmtp::protocol::error::{CryptoError, PeerText};
    use zmtp::protocol::greeting::{self, Greeting, GREETING_LEN, MECHANISM_CURVE};
    use zmtp::protocol::limits::MAX_OUT_FOR_PONG;
    use zmtp::protocol::mechanism::curve::{CurveClient, CurveServer};
    use zmtp::protocol::mechanism::{AuthDecision, Mechanism};
    use zmtp::protocol::peer::PeerInfo;
    use zmtp::protocol::session::{
        SendError, Session, SessionConfig, SessionEvent, FRAME_COST, MIN_FRAMES_PER_MESSAGE,
    };
    use zmtp::{DecodeError, Message, ProtocolError, SocketType};

    use super::{Input, SOCKET_TYPES};

    const SERVER_SECRET: [u8; 32] = *b"fuzz-curve-server-secret-key-32b";
    const CLIENT_SECRET: [u8; 32] = *b"fuzz-curve-client-secret-key-32b";
    /// The user id an authenticating server gives the client.
    const USER_ID: &[u8] = b"fuzz-user";
    const MESSAGE: &[u8; 8] = b"\x07MESSAGE";
    /// What a MESSAGE adds to the frame it carries: name 8, nonce 8, tag 16, flags 1.
    const OVERHEAD: usize = 33;
    /// A sealed PONG (empty context) on the wire: frame header, MESSAGE, `\x04PONG`.
    const PONG_WIRE: usize = 2 + OVERHEAD + 5;
    const MAX_OPS: usize = 512;
    /// Replays pick among at most this many delivered units.
    const MAX_DELIVERED: usize = 256;
    const HANDSHAKE_IVL: Duration = Duration::from_secs(30);
    /// The units kept for the handshake model: a receiver in the handshake expects at most the
    /// sender's greeting and two commands.
    const FIRST_UNITS: usize = 8;

    thread_local! {
        static RANDOM_STATE: Cell<u64> = const { Cell::new(0) };
    }

    /// Restarts [`det_random`]: every run draws the same bytes in the same order.
    fn reset_random() {
        RANDOM_STATE.with(|s| s.set(0x0123_4567_89ab_cdef));
    }

    /// The mechanisms' [`Random`](zmtp::protocol::mechanism::curve::Random): splitmix64.
    fn det_random(buf: &mut [u8]) {
        RANDOM_STATE.with(|s| {
            for chunk in buf.chunks_mut(8) {
                let x = s.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
                s.set(x);
                let mut z = x;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^= z >> 31;
                chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
            }
        });
    }

    /// `CURVE_FUZZ_VERBOSE` set: one line per input on stderr.
    fn verbose() -> bool {
        static V: OnceLock<bool> = OnceLock::new();
        *V.get_or_init(|| std::env::var_os("CURVE_FUZZ_VERBOSE").is_some())
    }

    /// The types `t` can talk to (each way).
    fn compatible(t: SocketType) -> Vec<SocketType> {
        SOCKET_TYPES
            .iter()
            .copied()
            .filter(|&p| t.is_compatible(p) && p.is_compatible(t))
            .collect()
    }

    fn header_len(flags: u8) -> usize {
        if flags & 0x02 != 0 {
            9
        } else {
            2
        }
    }

    /// The length of the whole frame at the start of `b`, if it is all there.
    fn frame_len(b: &[u8]) -> Option<usize> {
        let flags = *b.first()?;
        let len = if flags & 0x02 != 0 {
            u64::from_be_bytes(b.get(1..9)?.try_into().ok()?)
        } else {
            u64::from(*b.get(1)?)
        };
        let total = usize::try_from(len).ok()?.checked_add(header_len(flags))?;
        (b.len() >= total).then_some(total)
    }

    /// A frame with `flags` (LONG set as the size needs) and `body`.
    fn encode_frame(flags: u8, body: &[u8]) -> Vec<u8> {
        let mut w = Vec::with_capacity(body.len() + 9);
        if body.len() > 255 {
            w.push(flags | 0x02);
            w.extend_from_slice(&(body.len() as u64).to_be_bytes());
        } else {
            w.push(flags & !0x02);
            w.push(body.len() as u8);
        }
        w.extend_from_slice(body);
        w
    }

    fn be64(b: &[u8]) -> u64 {
        let mut n = [0u8; 8];
        n.copy_from_slice(&b[..8]);
        u64::from_be_bytes(n)
    }

    fn command_name(body: &[u8]) -> &[u8] {
        let n = usize::from(body.first().copied().unwrap_or(0));
        body.get(1..1 + n).unwrap_or_default()
    }

    /// What a sealed frame carries.
    #[derive(Clone, Debug)]
    enum Inner {
        Data { more: bool, body: Bytes },
        Subscribe(Bytes),
        Cancel(Bytes),
        Ping,
        Pong,
    }

    impl Inner {
        /// The carried frame's body length.
        fn len(&self) -> usize {
            match self {
                Inner::Data { body, .. } => body.len(),
                Inner::Subscribe(t) => 10 + t.len(),
                Inner::Cancel(t) => 7 + t.len(),
                Inner::Ping => 7,
                Inner::Pong => 5,
            }
        }
    }

    /// A MESSAGE a session sent: its frame body, short nonce and what it carries.
    struct Sealed {
        body: Bytes,
        inner: Inner,
    }

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Kind {
        Greeting,
        Command,
        Sealed,
    }

    /// One piece of a session's output: its greeting or one whole frame, as written.
    #[derive(Clone, Debug)]
    struct Unit {
        wire: Vec<u8>,
        kind: Kind,
    }

    impl Unit {
        fn body(&self) -> &[u8] {
            match self.kind {
                Kind::Greeting => &self.wire,
                _ => &self.wire[header_len(self.wire[0])..],
            }
        }
    }

    /// One direction: what a session wrote, cut into units and checked, until delivered.
    struct Link {
        /// The sender is the server.
        server: bool,
        /// C′, which the client's HELLO must carry.
        c_prime: [u8; 32],
        raw: Vec<u8>,
        greeting_cut: bool,
        /// The handshake commands sent, in order.
        commands: Vec<Vec<u8>>,
        /// The reason of the ERROR command sent, if any.
        error_sent: Option<Vec<u8>>,
        /// The first units sent (the greeting, the handshake commands, maybe MESSAGEs), in order.
        first: Vec<Unit>,
        pending: VecDeque<Unit>,
        delivered: Vec<Unit>,
        /// Every MESSAGE sent.
        sealed: Vec<Sealed>,
        next_nonce: u64,
        /// What the receiver must report, in order, for what was sent.
        sent: VecDeque<SessionEvent>,
        out_total: usize,
    }

    impl Link {
        fn new(server: bool, c_prime: [u8; 32]) -> Link {
            Link {
                server,
                c_prime,
                raw: Vec::new(),
                greeting_cut: false,
                commands: Vec::new(),
                error_sent: None,
                first: Vec::new(),
                pending: VecDeque::new(),
                delivered: Vec::new(),
                sealed: Vec::new(),
                // The client's first MESSAGE is nonce 3 (HELLO 1, INITIATE 2), the server's 2
                // (READY 1).
                next_nonce: if server { 2 } else { 3 },
                sent: VecDeque::new(),
                out_total: 0,
            }
        }

        fn push(&mut self, u: Unit) {
            if self.first.len() < FIRST_UNITS {
                self.first.push(u.clone());
            }
            self.pending.push_back(u);
        }

        fn pop(&mut self) -> Option<Unit> {
            let u = self.pending.pop_front()?;
            self.remember(&u);
            Some(u)
        }

        fn remember(&mut self, u: &Unit) {
            if self.delivered.len() < MAX_DELIVERED {
                self.delivered.push(u.clone());
            }
        }

        /// Takes `s`'s output and cuts it into units, checking each. The sealed frames carry
        /// `inners` in order, and any further one `extra` (a PING from a timer); others fail.
        fn take_out(&mut self, s: &mut Session, inners: Vec<Inner>, extra: Option<Inner>) {
            let n = s.out().len();
            let bytes = s.out().to_vec();
            s.out().advance(n);
            self.out_total += n;
            self.raw.extend_from_slice(&bytes);
            let mut inners = VecDeque::from(inners);
            if !self.greeting_cut {
                assert!(self.raw.len() >= GREETING_LEN, "a partial greeting");
                let g: Vec<u8> = self.raw.drain(..GREETING_LEN).collect();
                assert_eq!(
                    g[..],
                    Greeting::ours(MECHANISM_CURVE, self.server)[..],
                    "our greeting"
                );
                self.greeting_cut = true;
                self.push(Unit {
                    wire: g,
                    kind: Kind::Greeting,
                });
            }
            while let Some(total) = frame_len(&self.raw) {
                let wire: Vec<u8> = self.raw.drain(..total).collect();
                let hl = header_len(wire[0]);
                let body = &wire[hl..];
                assert_eq!(hl == 9, body.len() > 255, "the long form only when needed");
                let kind = if wire[0] & 0x04 != 0 {
                    assert_eq!(
                        wire[0] & !0x02,
                        0x04,
                        "a command with MORE or reserved bits"
                    );
                    self.check_command(body, s);
                    Kind::Command
                } else {
                    assert_eq!(wire[0] & !0x02, 0, "a MESSAGE in a data frame with flags");
                    assert!(
                        body.len() >= OVERHEAD && body.starts_with(MESSAGE),
                        "a data frame that is not a MESSAGE: {:?}",
                        &body[..body.len().min(16)]
                    );
                    let nonce = be64(&body[8..16]);
                    assert_eq!(nonce, self.next_nonce, "MESSAGE nonces go up by one");
                    self.next_nonce += 1;
                    let inner = inners
                        .pop_front()
                        .or_else(|| extra.clone())
                        .expect("a MESSAGE nobody sent");
                    assert_eq!(
                        body.len(),
                        OVERHEAD + inner.len(),
                        "MESSAGE size of {inner:?}"
                    );
                    self.sealed.push(Sealed {
                        body: Bytes::copy_from_slice(body),
                        inner,
                    });
                    Kind::Sealed
                };
                self.push(Unit { wire, kind });
            }
            assert!(self.raw.is_empty(), "a partial frame in the output");
            assert!(inners.is_empty(), "{} MESSAGEs missing", inners.len());
        }

        /// A handshake command (or ERROR) as libzmq 4.3.5 lays it out, in its turn.
        fn check_command(&mut self, body: &[u8], s: &Session) {
            let name = command_name(body).to_vec();
            if name == b"ERROR" {
                let e = s.error().expect("ERROR from a session that has not failed");
                let reason = e
                    .error_reason()
                    .expect("ERROR for an error without a reason");
                let want = [
                    &[5u8][..],
                    b"ERROR",
                    &[reason.len() as u8],
                    reason.as_bytes(),
                ];
                assert_eq!(body, want.concat());
                assert!(self.error_sent.is_none(), "two ERRORs");
                self.error_sent = Some(reason.as_bytes().to_vec());
                return;
            }
            let turn: [&[u8]; 2] = if self.server {
                [b"WELCOME", b"READY"]
            } else {
                [b"HELLO", b"INITIATE"]
            };
            let i = self.commands.len();
            assert!(
                i < 2 && name == turn[i],
                "{} out of turn (after {:?})",
                name.escape_ascii(),
                self.commands
            );
            match &name[..] {
                b"HELLO" => {
                    assert_eq!(body.len(), 200, "HELLO size");
                    assert_eq!(body[6..8], [1, 0], "HELLO version");
                    assert!(body[8..80].iter().all(|&b| b == 0), "HELLO padding");
                    assert_eq!(body[80..112], self.c_prime, "HELLO's C'");
                    assert_eq!(be64(&body[112..120]), 1, "HELLO nonce");
                }
                b"WELCOME" => assert_eq!(body.len(), 168, "WELCOME size"),
                b"INITIATE" => {
                    assert!(body.len() >= 257, "INITIATE size {}", body.len());
                    assert_eq!(be64(&body[105..113]), 2, "INITIATE nonce");
                }
                _ => {
                    assert!(body.len() >= 30, "READY size {}", body.len());
                    assert_eq!(be64(&body[6..14]), 1, "READY nonce");
                }
            }
            self.commands.push(name);
        }
    }

    /// The receiver in the traffic phase, as the model sees it.
    struct Rx {
        /// The last short nonce accepted.
        last: u64,
        max: Option<u64>,
        /// The message being assembled.
        parts: Vec<Bytes>,
        len: u64,
        /// Events the receiver must report, in order.
        expected: VecDeque<SessionEvent>,
        /// PONGs it owes for the PINGs of the current input.
        pongs: usize,
        /// A MESSAGE was accepted after a skipped nonce.
        gaps: bool,
    }

    impl Rx {
        fn new(last: u64, max: Option<u64>) -> Rx {
            Rx {
                last,
                max,
                parts: Vec::new(),
                len: 0,
                expected: VecDeque::new(),
                pongs: 0,
                gaps: false,
            }
        }

        /// What `handle_input` must return once `bytes` are added to the receiver's buffer
        /// (mirrored, with its framing, by `mirror`).
        fn feed(
            &mut self,
            mirror: &mut Mirror,
            bytes: &[u8],
            sealed: &[Sealed],
        ) -> Result<(), ProtocolError> {
            mirror.buf.extend_from_slice(bytes);
            while let Some(f) = mirror.dec.decode(&mut mirror.buf)? {
                self.frame(&f.body, sealed)?;
            }
            Ok(())
        }

        /// CURVE's verdict on a frame (whatever its flags), in `Cipher::open`'s order.
        fn frame(&mut self, b: &Bytes, sealed: &[Sealed]) -> Result<(), ProtocolError> {
            if !b.starts_with(MESSAGE) {
                return Err(ProtocolError::UnexpectedCommand {
                    name: PeerText::new(b"(any)"),
                });
            }
            if b.len() < OVERHEAD {
                return Err(DecodeError::MalformedCommand("(any)").into());
            }
            let nonce = be64(&b[8..16]);
            if nonce <= self.last {
                return Err(CryptoError::NonceNotIncreasing {
                    nonce,
                    last: self.last,
                }
                .into());
            }
            if nonce != self.last + 1 {
                return Err(CryptoError::NonceSkipped {
                    nonce,
                    expected: self.last + 1,
                }
                .into());
            }
            // Anything but a MESSAGE the sender sealed, byte for byte, does not open.
            let Some(s) = sealed.iter().find(|s| s.body == *b) else {
                return Err(CryptoError::BadBox("(any)").into());
            };
            self.gaps |= nonce != self.last + 1;
            self.last = nonce;
            self.accept(&s.inner)
        }

        fn accept(&mut self, inner: &Inner) -> Result<(), ProtocolError> {
            match inner {
                Inner::Data { more, body } => {
                    self.len += body.len() as u64;
                    if let Some(max) = self.max {
                        if self.len > max {
                            return Err(DecodeError::FrameTooLarge { len: self.len, max }.into());
                        }
                        let frames = self.parts.len() as u64 + 1;
                        let max_frames = (max / FRAME_COST).max(MIN_FRAMES_PER_MESSAGE);
                        if frames > max_frames {
                            return Err(DecodeError::TooManyFrames {
                                frames,
                                max: max_frames,
                            }
                            .into());
                        }
                    }
                    self.parts.push(body.clone());
                    if !more {
                        self.len = 0;
                        let m = Message::from_frames(std::mem::take(&mut self.parts));
                        self.expected.push_back(SessionEvent::Message(m));
                    }
                }
                Inner::Subscribe(t) => self.expected.push_back(SessionEvent::Subscribe(t.clone())),
                Inner::Cancel(t) => self.expected.push_back(SessionEvent::Cancel(t.clone())),
                // Answered while the output holds less than MAX_OUT_FOR_PONG (it is drained
                // before every input).
                Inner::Ping => {
                    if self.pongs * PONG_WIRE < MAX_OUT_FOR_PONG {
                        self.pongs += 1;
                    }
                }
                Inner::Pong => {}
            }
            Ok(())
        }
    }

    /// Same error, texts aside (the model does not know them).
    fn same_error(want: &ProtocolError, got: &ProtocolError) -> bool {
        use ProtocolError as P;
        match (want, got) {
            (P::UnexpectedCommand { .. }, P::UnexpectedCommand { .. }) => true,
            (
                P::Decode(DecodeError::MalformedCommand(_)),
                P::Decode(DecodeError::MalformedCommand(_)),
            ) => true,
            (P::Crypto(CryptoError::BadBox(_)), P::Crypto(CryptoError::BadBox(_))) => true,
            _ => want == got,
        }
    }

    /// The receiver's framing after the greeting, and its unread bytes, mirrored.
    struct Mirror {
        dec: FrameDecoder,
        buf: BytesMut,
    }

    impl Mirror {
        /// The frames `bytes` complete: how many, and whether decoding failed.
        fn frames(&mut self, bytes: &[u8]) -> (usize, bool) {
            self.buf.extend_from_slice(bytes);
            let mut n = 0;
            loop {
                match self.dec.decode(&mut self.buf) {
                    Ok(Some(_)) => n += 1,
                    Ok(None) => return (n, false),
                    Err(_) => return (n, true),
                }
            }
        }
    }

    enum Phase {
        /// Before READY / INITIATE: the greeting bytes received so far, whether the frames after
        /// it are still the honest ones, and the index in `Link::first` of the next one.
        Handshake {
            greeting: Vec<u8>,
            tainted: bool,
            next: usize,
        },
        Traffic(Rx),
    }

    /// What the input makes of a delivery, for the handshake phase (the traffic phase has the
    /// exact model). Whatever the class, bytes that are exactly the frame the receiver expects
    /// next are honest.
    enum Class {
        /// An honest unit, or a change of it that must make no difference: honest if it is
        /// the one expected next, else a whole frame to reject.
        Honest(Unit),
        /// A whole frame (replayed, or of the input's own): to be rejected at once.
        Reject,
        /// Anything else (a cut frame, changed framing, raw bytes).
        Other,
    }

    /// What a delivery must do.
    enum Expect {
        /// The model's result; events and unread bytes the model's.
        Exact(Result<(), ProtocolError>),
        /// No error, no event.
        Quiet,
        Honest(Unit),
        Reject,
        /// The stream is no longer the honest one: no event ever; an error if a frame
        /// completed (`true`), else none.
        Tainted(bool),
    }

    /// One session and what is known of its peer.
    struct Side {
        name: &'static str,
        s: Session,
        t: SocketType,
        server: bool,
        /// A server asks for a decision on the client, and accepts (else denies 400).
        auth: bool,
        accept: bool,
        heartbeat: bool,
        max: Option<u64>,
        handshake_ivl: Option<Duration>,
        buf: BytesMut,
        mirror: Mirror,
        phase: Phase,
        ready: bool,
        asked: usize,
        /// Messages, subscriptions and cancels received.
        received: usize,
        peer_type: SocketType,
        peer_rid: Bytes,
        client_key: [u8; 32],
    }

    impl Side {
        fn peer_identity(&self) -> Bytes {
            if self.peer_type.sends_identity() {
                self.peer_rid.clone()
            } else {
                Bytes::new()
            }
        }

        fn check_ready(&self, info: &PeerInfo, minor: u8) {
            assert_eq!(
                info.socket_type,
                Some(self.peer_type),
                "{}: peer type",
                self.name
            );
            assert_eq!(
                info.identity,
                self.peer_identity(),
                "{}: peer identity",
                self.name
            );
            assert_eq!(info.minor, minor, "{}: peer minor version", self.name);
            let user: &[u8] = if self.server && self.auth {
                USER_ID
            } else {
                b""
            };
            assert_eq!(&info.user_id[..], user, "{}: user id", self.name);
        }
    }

    fn drain(s: &mut Session) -> Vec<SessionEvent> {
        std::iter::from_fn(|| s.poll_event()).collect()
    }

    /// Hands `bytes` to `r`, from the sender whose output is `from`; `r`'s own output goes to
    /// `to`. Checks everything against the model; `Err` if `r` failed (its checks done).
    fn deliver(
        r: &mut Side,
        from: &mut Link,
        to: &mut Link,
        now: Instant,
        bytes: &[u8],
        class: Class,
    ) -> Result<(), ProtocolError> {
        if bytes.is_empty() {
            return Ok(());
        }
        r.buf.extend_from_slice(bytes);
        let expect = match &mut r.phase {
            Phase::Traffic(rx) => Expect::Exact(rx.feed(&mut r.mirror, bytes, &from.sealed)),
            Phase::Handshake {
                greeting,
                tainted,
                next,
            } => {
                let g = bytes.len().min(GREETING_LEN - greeting.len());
                let completes = g > 0 && greeting.len() + g == GREETING_LEN;
                greeting.extend_from_slice(&bytes[..g]);
                let rest = &bytes[g..];
                match greeting::parse_partial(greeting) {
                    Err(_) => Expect::Reject,
                    Ok(None) => Expect::Quiet,
                    Ok(Some(gr)) if completes && gr.mechanism != MECHANISM_CURVE => Expect::Reject,
                    Ok(Some(_)) if rest.is_empty() => Expect::Quiet,
                    Ok(Some(_)) => {
                        // Frame bytes: the honest next one (or a harmless change of it), a
                        // whole frame to reject, or anything else, which the receiver must
                        // reject as soon as it completes a frame of it, and wait on until then.
                        // Honest means the frame the receiver's stream expects next (bytes of
                        // an earlier unit may have gone into the greeting, so that is not
                        // always the one the input took from the pending queue).
                        let (frames, failed) = r.mirror.frames(rest);
                        let done = frames > 0 || failed;
                        let want = from.first.get(*next).filter(|u| u.kind != Kind::Greeting);
                        let honest = match (&class, want) {
                            (_, Some(w)) if rest == w.wire => Some(w.clone()),
                            (Class::Honest(u), Some(w)) if u.wire == w.wire => Some(u.clone()),
                            _ => None,
                        };
                        if *tainted || g > 0 {
                            *tainted = true;
                            Expect::Tainted(done)
                        } else if let Some(u) = honest {
                            assert!(frames == 1 && !failed && r.mirror.buf.is_empty());
                            *next += 1;
                            Expect::Honest(u)
                        } else if let Class::Other = class {
                            *tainted = true;
                            Expect::Tainted(done)
                        } else {
                            // A whole frame, not the next one (the greeting again: an empty
                            // command frame, then junk).
                            assert!(done, "a whole frame that is not");
                            Expect::Reject
                        }
                    }
                }
            }
        };

        let mut result = r.s.handle_input(now, &mut r.buf);
        let mut events = drain(&mut r.s);
        let asks = events
            .iter()
            .filter(|e| matches!(e, SessionEvent::Authenticate(_)))
            .count();
        assert!(asks <= 1, "{}: two decisions asked at once", r.name);
        if let Some(SessionEvent::Authenticate(req)) = events.last().cloned() {
            assert!(r.server && r.auth, "{}: a decision asked", r.name);
            r.asked += 1;
            assert_eq!(r.asked, 1, "{}: a decision asked twice", r.name);
            assert_eq!(result, Ok(()));
            assert_eq!(req.mechanism, "CURVE");
            assert_eq!(req.credentials, [Bytes::copy_from_slice(&r.client_key)]);
            assert_eq!(req.identity, r.peer_identity());
            let decision = if r.accept {
                AuthDecision::Accept {
                    user_id: Bytes::from_static(USER_ID),
                }
            } else {
                AuthDecision::Deny { status: 400 }
            };
            let d = r.s.authenticate(now, decision);
            events.extend(drain(&mut r.s));
            result = match d {
                Ok(()) => {
                    assert!(r.accept, "{}: a denial did not end the session", r.name);
                    let again = r.s.handle_input(now, &mut r.buf);
                    events.extend(drain(&mut r.s));
                    again
                }
                Err(e) => {
                    assert!(!r.accept, "{}: an acceptance failed: {e:?}", r.name);
                    assert_eq!(e, ProtocolError::AuthenticationFailed { status: 400 });
                    Err(e)
                }
            };
        } else {
            assert_eq!(asks, 0, "{}: a decision asked, then more events", r.name);
        }

        match expect {
            Expect::Exact(want) => {
                let Phase::Traffic(rx) = &mut r.phase else {
                    unreachable!()
                };
                match (&want, &result) {
                    (Ok(()), Ok(())) => {}
                    (Err(w), Err(g)) if same_error(w, g) => {}
                    _ => panic!("{}: expected {want:?}, got {result:?}", r.name),
                }
                for ev in events {
                    let Some(w) = rx.expected.pop_front() else {
                        panic!("{}: an event the model does not expect: {ev:?}", r.name)
                    };
                    assert_eq!(ev, w, "{}: not the event expected", r.name);
                    if !rx.gaps {
                        // Nothing skipped: exactly what was sent, in order.
                        assert_eq!(from.sent.pop_front().as_ref(), Some(&ev), "{}", r.name);
                    }
                    r.received += 1;
                }
                assert!(rx.expected.is_empty(), "{}: events missing", r.name);
            }
            Expect::Quiet => {
                assert_eq!(result, Ok(()), "{}", r.name);
                assert!(events.is_empty(), "{}: events {events:?}", r.name);
            }
            Expect::Reject => {
                assert!(
                    result.is_err(),
                    "{}: accepted a frame it must reject",
                    r.name
                );
                assert!(events.is_empty(), "{}: events {events:?}", r.name);
            }
            Expect::Tainted(done) => {
                assert!(
                    events.is_empty(),
                    "{}: events from altered bytes: {events:?}",
                    r.name
                );
                if done {
                    assert!(result.is_err(), "{}: an altered frame taken", r.name);
                } else {
                    assert_eq!(result, Ok(()), "{}: waiting for the rest", r.name);
                }
            }
            Expect::Honest(u) => {
                assert!(r.buf.is_empty(), "{}: an honest frame left bytes", r.name);
                let name = command_name(u.body());
                let last: &[u8] = if r.server { b"INITIATE" } else { b"READY" };
                let first: &[u8] = if r.server { b"HELLO" } else { b"WELCOME" };
                if name == b"ERROR" {
                    // The sender failed (only ever after the session under test did). A
                    // client takes it as the peer's error; a server, like libzmq's
                    // curve_server, as a command it does not expect.
                    let want = if r.server {
                        ProtocolError::UnexpectedCommand {
                            name: PeerText::new(b"ERROR"),
                        }
                    } else {
                        ProtocolError::PeerError {
                            reason: PeerText::new(&u.body()[7..]),
                        }
                    };
                    assert_eq!(result, Err(want), "{}", r.name);
                    assert!(events.is_empty(), "{}: events {events:?}", r.name);
                } else if name == first {
                    assert_eq!(result, Ok(()), "{}: honest {}", r.name, name.escape_ascii());
                    assert!(events.is_empty(), "{}: events {events:?}", r.name);
                } else if name == last {
                    if r.server && r.auth && !r.accept {
                        assert_eq!(
                            result,
                            Err(ProtocolError::AuthenticationFailed { status: 400 })
                        );
                        assert_eq!(events.len(), 1, "{}: events after a denial", r.name);
                    } else {
                        assert_eq!(result, Ok(()), "{}: honest {}", r.name, name.escape_ascii());
                        let Some(SessionEvent::Ready(info)) = events.pop() else {
                            panic!("{}: not ready after {}", r.name, name.escape_ascii())
                        };
                        assert_eq!(events.len(), usize::from(r.server && r.auth));
                        assert!(!r.ready, "{}: Ready twice", r.name);
                        let Phase::Handshake { greeting, .. } = &r.phase else {
                            unreachable!()
                        };
                        r.check_ready(&info, greeting[11]);
                        r.ready = true;
                        // READY's nonce was 1; INITIATE's 2.
                        r.phase = Phase::Traffic(Rx::new(if r.server { 2 } else { 1 }, r.max));
                    }
                } else {
                    panic!("{}: honest {:?} in the handshake", r.name, u.kind);
                }
            }
        }

        if result.is_ok() {
            let mirrored = match &r.phase {
                Phase::Handshake { greeting, .. } if greeting.len() < GREETING_LEN => &greeting[..],
                _ => &r.mirror.buf[..],
            };
            assert!(
                r.buf == mirrored,
                "{}: unread bytes differ from the model's",
                r.name
            );
        }

        // Its answers: handshake commands, PONGs (sealed, in the traffic phase).
        let pongs = match &mut r.phase {
            Phase::Traffic(rx) => std::mem::take(&mut rx.pongs),
            Phase::Handshake { .. } => 0,
        };
        to.take_out(&mut r.s, vec![Inner::Pong; pongs], None);
        if let Err(e) = &result {
            check_failed(r, to, e, now);
        }
        assert_eq!(r.s.is_ready(), r.ready && r.s.error().is_none());
        result
    }

    /// A failed session: the error is sticky, nothing more comes out of it, and it sent ERROR
    /// exactly when it should (in clear only before the traffic phase).
    fn check_failed(r: &mut Side, to: &Link, e: &ProtocolError, now: Instant) {
        let s = &mut r.s;
        assert_eq!(s.error(), Some(e), "{}: not the session's error", r.name);
        assert!(s.poll_timeout().is_none());
        assert!(!s.is_ready());
        assert_eq!(s.poll_event(), None);
        let mut more = BytesMut::from(&b"\x00\x00"[..]);
        assert_eq!(
            s.handle_input(now, &mut more).as_ref(),
            Err(e),
            "not sticky"
        );
        assert_eq!(s.handle_timeout(now).as_ref(), Err(e), "not sticky");
        assert_eq!(
            s.send(&Message::from("x")),
            Err(SendError::Failed(e.clone()))
        );
        let accept = AuthDecision::Accept {
            user_id: Bytes::new(),
        };
        assert_eq!(s.authenticate(now, accept).as_ref(), Err(e), "not sticky");
        assert_eq!(s.poll_event(), None, "an event after the error");
        assert_eq!(s.pending_out(), 0, "output after the error");
        let want = e.error_reason().filter(|_| !r.ready);
        assert_eq!(
            to.error_sent.as_deref(),
            want.map(str::as_bytes),
            "{}: ERROR sent for {e:?}",
            r.name
        );
    }

    /// Time passes for `r`: the handshake deadline is kept, PINGs go out (sealed).
    fn tick(
        r: &mut Side,
        to: &mut Link,
        now: Instant,
        start: Instant,
    ) -> Result<(), ProtocolError> {
        let result = r.s.handle_timeout(now);
        let before = to.sealed.len();
        to.take_out(&mut r.s, Vec::new(), Some(Inner::Ping));
        let pings = to.sealed.len() - before;
        assert!(pings <= 1, "{}: {pings} PINGs at once", r.name);
        assert!(pings == 0 || (r.heartbeat && r.ready), "{}: a PING", r.name);
        assert!(
            drain(&mut r.s).is_empty(),
            "{}: events from a timer",
            r.name
        );
        let timed_out = !r.ready && r.handshake_ivl.is_some_and(|ivl| now >= start + ivl);
        match &result {
            Ok(()) => assert!(!timed_out, "{}: no handshake timeout", r.name),
            Err(ProtocolError::HandshakeTimeout) => assert!(timed_out, "{}", r.name),
            Err(ProtocolError::HeartbeatTimeout) => assert!(r.heartbeat && r.ready, "{}", r.name),
            Err(e) => panic!("{}: timer: {e:?}", r.name),
        }
        if let Err(e) = &result {
            check_failed(r, to, e, now);
        }
        result
    }

    /// A message from the input: 1 to 4 frames, each a literal run (length <= 0xF0) or a fill
    /// of (length - 0xF0) * 512 copies of the next byte.
    fn message(inp: &mut Input<'_>) -> Message {
        let n = 1 + usize::from(inp.u8() & 3);
        let frames: Vec<Bytes> = (0..n)
            .map(|_| match inp.u8() {
                l @ 0..=0xF0 => Bytes::copy_from_slice(inp.bytes(usize::from(l))),
                l => Bytes::from(vec![inp.u8(); usize::from(l - 0xF0) * 512]),
            })
            .collect();
        Message::from_frames(frames)
    }

    /// `r` sends `msg`; its MESSAGEs go to `to`. A SUB/XSUB's `\x01topic` / `\x00topic` to a
    /// ZMTP 3.1 peer becomes SUBSCRIBE / CANCEL.
    fn send(r: &mut Side, to: &mut Link, msg: &Message) -> usize {
        let frames = msg.frames();
        let sub = matches!(r.t, SocketType::Sub | SocketType::XSub) && r.s.peer_is_v31();
        let topic = frames[0].slice(frames[0].len().min(1)..);
        let (inners, event) = match frames[0].first() {
            Some(1) if sub && frames.len() == 1 => (
                vec![Inner::Subscribe(topic.clone())],
                SessionEvent::Subscribe(topic),
            ),
            Some(0) if sub && frames.len() == 1 => (
                vec![Inner::Cancel(topic.clone())],
                SessionEvent::Cancel(topic),
            ),
            _ => {
                let last = frames.len() - 1;
                let inners = frames.iter().enumerate().map(|(i, f)| Inner::Data {
                    more: i < last,
                    body: f.clone(),
                });
                (inners.collect(), SessionEvent::Message(msg.clone()))
            }
        };
        match r.s.send(msg) {
            Ok(()) => {
                assert!(r.ready, "{}: sent before Ready", r.name);
                let n = inners.iter().map(|i| i.len() + OVERHEAD + 9).sum();
                to.take_out(&mut r.s, inners, None);
                to.sent.push_back(event);
                n
            }
            Err(SendError::NotReady) => {
                assert!(!r.ready, "{}: NotReady after Ready", r.name);
                assert_eq!(r.s.pending_out(), 0);
                0
            }
            Err(e) => panic!("{}: send: {e}", r.name),
        }
    }

    /// Delivers everything `from` holds to `r`, honestly.
    fn pump(
        r: &mut Side,
        from: &mut Link,
        to: &mut Link,
        now: Instant,
    ) -> Result<(), ProtocolError> {
        while let Some(u) = from.pop() {
            let w = u.wire.clone();
            deliver(r, from, to, now, &w, Class::Honest(u))?;
        }
        Ok(())
    }

    /// The class of a delivery of `u` with `wire[pos] ^= mask`, in the handshake phase:
    /// ignored flag bits (MORE, reserved) and HELLO's padding make no difference, COMMAND
    /// cleared makes a data frame before the handshake, LONG or the size change the framing,
    /// anything else must not open or parse.
    fn flip_class(u: Unit, pos: usize, mask: u8) -> Class {
        if u.kind == Kind::Greeting {
            return Class::Other;
        }
        let hl = header_len(u.wire[0]);
        if pos == 0 {
            if mask & 0x02 != 0 {
                Class::Other
            } else if mask & 0x04 != 0 {
                Class::Reject
            } else {
                Class::Honest(u)
            }
        } else if pos < hl {
            Class::Other
        } else if command_name(u.body()) == b"HELLO" && (8..80).contains(&(pos - hl)) {
            Class::Honest(u)
        } else {
            Class::Reject
        }
    }

    /// Bytes of the input's own: the next honest unit if they happen to be it.
    fn own_class(link: &mut Link, bytes: &[u8], whole_frame: bool) -> Class {
        if link.pending.front().is_some_and(|u| u.wire == bytes) {
            return Class::Honest(link.pop().expect("a pending unit"));
        }
        if whole_frame {
            Class::Reject
        } else {
            Class::Other
        }
    }

    fn make_sessions(
        server_first: bool,
        types: [SocketType; 2],
        rids: [Bytes; 2],
        cfgs: [SessionConfig; 2],
        auth: bool,
        start: Instant,
    ) -> ([Session; 2], [u8; 32]) {
        // `server_first`: side 0 is the server. The client is made first: its transient key
        // is the generator's first 32 bytes.
        reset_random();
        let mut c = [0u8; 32];
        det_random(&mut c);
        reset_random();
        let c_prime = KeyPair::from_secret(c).public;
        let server_key = KeyPair::from_secret(SERVER_SECRET).public;
        let (si, ci) = if server_first { (0, 1) } else { (1, 0) };
        let client = CurveClient::new(types[ci], &rids[ci], server_key, CLIENT_SECRET, det_random);
        let server = CurveServer::new(types[si], &rids[si], SERVER_SECRET, auth, det_random);
        let mut mechs: [Option<Box<dyn Mechanism>>; 2] = [None, None];
        mechs[ci] = Some(Box::new(client));
        mechs[si] = Some(Box::new(server));
        let [c0, c1] = cfgs;
        let [m0, m1] = mechs.map(|m| m.expect("both made"));
        (
            [
                Session::with_mechanism(c0, m0, start),
                Session::with_mechanism(c1, m1, start),
            ],
            c_prime,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn side(
        name: &'static str,
        s: Session,
        t: SocketType,
        server: bool,
        auth: bool,
        accept: bool,
        heartbeat: bool,
        max: Option<u64>,
        peer_type: SocketType,
        peer_rid: Bytes,
    ) -> Side {
        Side {
            name,
            s,
            t,
            server,
            auth: server && auth,
            accept,
            heartbeat,
            max,
            handshake_ivl: Some(HANDSHAKE_IVL),
            buf: BytesMut::new(),
            mirror: Mirror {
                // The session's limit allows for the MESSAGE wrapping from the start.
                dec: FrameDecoder::new(max.map(|m| m.saturating_add(OVERHEAD as u64))),
                buf: BytesMut::new(),
            },
            phase: Phase::Handshake {
                greeting: Vec::new(),
                tainted: false,
                next: 1,
            },
            ready: false,
            asked: 0,
            received: 0,
            peer_type,
            peer_rid,
            client_key: KeyPair::from_secret(CLIENT_SECRET).public,
        }
    }

    fn config(t: SocketType, rid: &Bytes, heartbeat: bool, max: Option<u64>) -> SessionConfig {
        let mut cfg = SessionConfig::new(t);
        cfg.routing_id = rid.clone();
        cfg.max_msg_size = max;
        cfg.handshake_ivl = Some(HANDSHAKE_IVL);
        if heartbeat {
            cfg.heartbeat_ivl = Some(Duration::from_secs(1));
            cfg.heartbeat_timeout = Some(Duration::from_secs(3));
        }
        cfg
    }

    /// `curve_handshake`: our session against an honest CURVE peer whose frames the input
    /// delivers, alters, replays or replaces; our output reaches the peer as it is.
    ///
    /// Layout: flags (bit 0 we are the server, else the client; bit 1 the server asks for a
    /// decision; bit 2 the decision is "accept" (user id `fuzz-user`), else "deny 400"; bit 3
    /// heartbeats (1 s, timeout 3 s); bit 4 our routing id `ours-id`; bit 5 the peer's
    /// `peer-id`; bit 6 MAXMSGSIZE of the next u16), our socket type (index into
    /// [`SOCKET_TYPES`]), the peer's (index into the compatible types), then ops, `op % 10`:
    /// 0 the peer's next unit; 1 it with byte `u16 % len` XORed with a non-zero byte; 2 it cut
    /// to `1 + u16 % (len - 1)` bytes; 3 it twice; 4 a delivered unit again (index byte); 5 a
    /// frame of our own (flags byte & 0x05, length byte, body); 6 raw bytes (length byte);
    /// 7 time passes (byte * 100 ms), both run their timers; 8 the peer sends a message;
    /// 9 we send one (see [`message`]). At the end, the peer's pending units are delivered.
    ///
    /// Checks: no panic; our greeting, HELLO (size, version, padding, C', nonce 1) and the
    /// other commands exact; MESSAGE nonces from 3 (client) / 2 (server), one up per frame;
    /// a decision asked only of an authenticating server, once, with the client's public key
    /// as the only credential; Ready once, with the peer's type, identity and user id, exactly
    /// when the last handshake command arrives honestly, never after a denial or an altered
    /// stream; the model above for every delivery; messages both ways intact and in order;
    /// errors sticky, ERROR only in the clear phase; our output in proportion to the input.
    pub fn curve_handshake(data: &[u8]) {
        let mut inp = Input::new(data);
        let flags = inp.u8();
        let server = flags & 1 != 0;
        let auth = flags & 2 != 0;
        let accept = flags & 4 != 0;
        let heartbeat = flags & 8 != 0;
        let ours_rid = Bytes::from_static(if flags & 16 != 0 { b"ours-id" } else { b"" });
        let peer_rid = Bytes::from_static(if flags & 32 != 0 { b"peer-id" } else { b"" });
        let max = (flags & 64 != 0).then(|| u64::from(inp.u16()));
        let ours_t = SOCKET_TYPES[usize::from(inp.u8()) % SOCKET_TYPES.len()];
        let choices = compatible(ours_t);
        let peer_t = choices[usize::from(inp.u8()) % choices.len()];

        let start = Instant::now();
        let mut peer_cfg = config(peer_t, &peer_rid, false, None);
        peer_cfg.handshake_ivl = None;
        let cfgs = [config(ours_t, &ours_rid, heartbeat, max), peer_cfg];
        let rids = [ours_rid.clone(), peer_rid.clone()];
        let ([ours_s, peer_s], c_prime) =
            make_sessions(server, [ours_t, peer_t], rids, cfgs, auth, start);
        let mut ours = side(
            "ours", ours_s, ours_t, server, auth, accept, heartbeat, max, peer_t, peer_rid,
        );
        // An honest server peer asks for a decision as ours would (bit 1), and accepts.
        let mut peer = side(
            "peer", peer_s, peer_t, !server, auth, true, false, None, ours_t, ours_rid,
        );
        peer.handshake_ivl = None;
        let mut to_peer = Link::new(server, c_prime);
        let mut to_ours = Link::new(!server, c_prime);

        // Our greeting, and a client's HELLO at once (checked by `take_out`).
        let hello = if server { 0 } else { 2 + 200 };
        assert_eq!(
            ours.s.pending_out(),
            GREETING_LEN + hello,
            "greeting and HELLO"
        );
        to_peer.take_out(&mut ours.s, Vec::new(), None);
        to_ours.take_out(&mut peer.s, Vec::new(), None);
        if let Err(e) = pump(&mut peer, &mut to_peer, &mut to_ours, start) {
            panic!("the peer failed on our greeting: {e:?}");
        }

        let mut now = start;
        let mut ops = 0;
        let mut budget = 2048usize;
        let mut end: Result<(), ProtocolError> = Ok(());
        loop {
            let op = if !inp.is_empty() && ops < MAX_OPS {
                ops += 1;
                inp.u8() % 10
            } else if !to_ours.pending.is_empty() {
                // At the end: the peer's pending units, as they are.
                0
            } else {
                break;
            };
            budget += 128;
            let r = match op {
                0 => match to_ours.pop() {
                    Some(u) => {
                        let w = u.wire.clone();
                        deliver(
                            &mut ours,
                            &mut to_ours,
                            &mut to_peer,
                            now,
                            &w,
                            Class::Honest(u),
                        )
                    }
                    None => Ok(()),
                },
                1 => match to_ours.pop() {
                    Some(u) => {
                        let pos = usize::from(inp.u16()) % u.wire.len();
                        let mask = inp.u8().max(1);
                        let mut w = u.wire.clone();
                        w[pos] ^= mask;
                        let class = flip_class(u, pos, mask);
                        deliver(&mut ours, &mut to_ours, &mut to_peer, now, &w, class)
                    }
                    None => Ok(()),
                },
                2 => match to_ours.pop() {
                    Some(u) => {
                        let k = 1 + usize::from(inp.u16()) % (u.wire.len() - 1);
                        let w = &u.wire[..k];
                        deliver(&mut ours, &mut to_ours, &mut to_peer, now, w, Class::Other)
                    }
                    None => Ok(()),
                },
                3 => match to_ours.pop() {
                    Some(u) => {
                        let w = u.wire.clone();
                        deliver(
                            &mut ours,
                            &mut to_ours,
                            &mut to_peer,
                            now,
                            &w,
                            Class::Honest(u),
                        )
                        .and_then(|()| {
                            deliver(
                                &mut ours,
                                &mut to_ours,
                                &mut to_peer,
                                now,
                                &w,
                                Class::Reject,
                            )
                        })
                    }
                    None => Ok(()),
                },
                4 if !to_ours.delivered.is_empty() => {
                    let i = usize::from(inp.u8()) % to_ours.delivered.len();
                    let w = to_ours.delivered[i].wire.clone();
                    deliver(
                        &mut ours,
                        &mut to_ours,
                        &mut to_peer,
                        now,
                        &w,
                        Class::Reject,
                    )
                }
                5 => {
                    let f = inp.u8() & 0x05;
                    let n = usize::from(inp.u8());
                    let w = encode_frame(f, inp.bytes(n));
                    let class = own_class(&mut to_ours, &w, true);
                    deliver(&mut ours, &mut to_ours, &mut to_peer, now, &w, class)
                }
                6 => {
                    let n = usize::from(inp.u8());
                    let w = inp.bytes(n).to_vec();
                    let class = own_class(&mut to_ours, &w, false);
                    deliver(&mut ours, &mut to_ours, &mut to_peer, now, &w, class)
                }
                7 => {
                    now += Duration::from_millis(u64::from(inp.u8()) * 100);
                    let p = tick(&mut peer, &mut to_ours, now, start);
                    assert_eq!(p, Ok(()), "the peer's timers");
                    tick(&mut ours, &mut to_peer, now, start)
                }
                8 => {
                    let msg = message(&mut inp);
                    send(&mut peer, &mut to_ours, &msg);
                    Ok(())
                }
                9 => {
                    let msg = message(&mut inp);
                    budget += send(&mut ours, &mut to_peer, &msg);
                    Ok(())
                }
                _ => Ok(()),
            };
            // Our output reaches the peer whole; it fails only after we did (our ERROR).
            let p = pump(&mut peer, &mut to_peer, &mut to_ours, now);
            if let Err(e) = r {
                end = Err(e);
                break;
            }
            if let Err(e) = p {
                panic!("the honest peer failed: {e:?}");
            }
            assert!(
                to_peer.out_total <= budget,
                "{} bytes out after {ops} ops",
                to_peer.out_total
            );
            if let Phase::Handshake {
                greeting, tainted, ..
            } = &ours.phase
            {
                assert!(
                    *tainted
                        || greeting.len() < GREETING_LEN
                        || !to_ours.pending.is_empty()
                        || !peer.ready,
                    "every honest unit delivered and the peer ready, but we are not"
                );
            }
        }
        if verbose() {
            eprintln!(
                "curve_handshake: we are {} {ours_t} (auth {}, accept {accept}), peer {peer_t}: \
                 {ops} ops, ready {} / peer {}, received {} / peer {}, end {end:?}",
                if server { "server" } else { "client" },
                ours.auth,
                ours.ready,
                peer.ready,
                ours.received,
                peer.received,
            );
        }
    }

    /// `curve_message`: two CURVE sessions complete an honest handshake, then the input
    /// drives their traffic: messages each way, and MESSAGEs delivered, altered, reordered,
    /// replayed, truncated or forged.
    ///
    /// Layout: flags (bit 0 side A is the server, else the client; bit 1 the server asks for a
    /// decision (accepted); bits 2, 3 heartbeats on A, B (1 s, timeout 3 s); bits 4, 5
    /// MAXMSGSIZE on A, B of the next u16 each; bit 6 routing ids), A's socket type (index
    /// into [`SOCKET_TYPES`]), B's (index into the compatible types), then ops: bit 7 of `op`
    /// the direction (0 A to B), `(op & 0x7F) % 10`: 0 the next MESSAGE; 1 it with byte
    /// `u16 % len` XORed with a non-zero byte (frame header, name, nonce, tag or box); 2 a later
    /// one first (index byte); 3 a delivered one again (index byte); 4 the next one cut to
    /// `1 + u16 % (len - 1)` bytes; 5 a forged MESSAGE: outer flags (byte bit 0: 0x04, else
    /// 0x00), a nonce selector byte (`% 4`: the last accepted, the next, the next pending one's,
    /// a u64; bit 2: the rest is the next pending MESSAGE's tag and box), else a length byte and
    /// the rest; 6 a frame of our own (flags byte & 0x05, length byte, body); 7 the sender sends
    /// a message (see [`message`]); 8 time passes (byte * 100 ms) on both; 9 all pending ones.
    /// At the end everything pending is delivered.
    ///
    /// Checks: as `curve_handshake` for the handshake; then the exact model for every
    /// delivery: honest MESSAGEs arrive byte-exact and in order, each altered, forged or
    /// replayed one ends the session with the model's error (a reordered one is accepted
    /// after skipped nonces, as in libzmq, and the one skipped then fails), nothing is
    /// reported that was not sent, errors sticky, output in proportion to the input.
    pub fn curve_message(data: &[u8]) {
        let mut inp = Input::new(data);
        let flags = inp.u8();
        let a_server = flags & 1 != 0;
        let auth = flags & 2 != 0;
        let hb = [flags & 4 != 0, flags & 8 != 0];
        let max_a = (flags & 16 != 0).then(|| u64::from(inp.u16()));
        let max_b = (flags & 32 != 0).then(|| u64::from(inp.u16()));
        let max = [max_a, max_b];
        let rids = if flags & 64 != 0 {
            [Bytes::from_static(b"a-id"), Bytes::from_static(b"b-id")]
        } else {
            [Bytes::new(), Bytes::new()]
        };
        let ta = SOCKET_TYPES[usize::from(inp.u8()) % SOCKET_TYPES.len()];
        let choices = compatible(ta);
        let tb = choices[usize::from(inp.u8()) % choices.len()];
        let types = [ta, tb];

        let start = Instant::now();
        let cfgs = [0, 1].map(|i| config(types[i], &rids[i], hb[i], max[i]));
        let ([sa, sb], c_prime) = make_sessions(a_server, types, rids.clone(), cfgs, auth, start);
        let mut sides = [
            side(
                "A",
                sa,
                ta,
                a_server,
                auth,
                true,
                hb[0],
                max[0],
                tb,
                rids[1].clone(),
            ),
            side(
                "B",
                sb,
                tb,
                !a_server,
                auth,
                true,
                hb[1],
                max[1],
                ta,
                rids[0].clone(),
            ),
        ];
        let mut links = [Link::new(a_server, c_prime), Link::new(!a_server, c_prime)];
        for (l, s) in links.iter_mut().zip(&mut sides) {
            l.take_out(&mut s.s, Vec::new(), None);
        }
        for _ in 0..4 {
            for d in 0..2 {
                let (from, to) = pair(&mut links, d);
                if let Err(e) = pump(&mut sides[1 - d], from, to, start) {
                    panic!("an honest handshake failed: {e:?}");
                }
            }
        }
        assert!(
            sides[0].ready && sides[1].ready,
            "the honest handshake did not finish"
        );

        let mut now = start;
        let mut ops = 0;
        let mut budget = 4096usize;
        let mut end: Result<(), ProtocolError> = Ok(());
        let mut flush = 0;
        loop {
            let op = if !inp.is_empty() && ops < MAX_OPS {
                ops += 1;
                inp.u8()
            } else if flush < 2 {
                // At the end: everything pending, each way.
                flush += 1;
                if flush == 1 {
                    9
                } else {
                    0x80 | 9
                }
            } else {
                break;
            };
            budget += 128;
            let d = usize::from(op >> 7);
            let (from, to) = pair(&mut links, d);
            let [a, b] = &mut sides;
            let (tx, rx) = if d == 0 { (a, b) } else { (b, a) };
            let r = match (op & 0x7F) % 10 {
                0 => match from.pop() {
                    Some(u) => deliver(rx, from, to, now, &u.wire, Class::Other),
                    None => Ok(()),
                },
                1 => match from.pop() {
                    Some(u) => {
                        let pos = usize::from(inp.u16()) % u.wire.len();
                        let mut w = u.wire;
                        w[pos] ^= inp.u8().max(1);
                        deliver(rx, from, to, now, &w, Class::Other)
                    }
                    None => Ok(()),
                },
                2 if from.pending.len() >= 2 => {
                    let i = 1 + usize::from(inp.u8()) % (from.pending.len() - 1);
                    let u = from.pending.remove(i).expect("in range");
                    from.remember(&u);
                    deliver(rx, from, to, now, &u.wire, Class::Other)
                }
                3 if !from.delivered.is_empty() => {
                    let i = usize::from(inp.u8()) % from.delivered.len();
                    let w = from.delivered[i].wire.clone();
                    deliver(rx, from, to, now, &w, Class::Other)
                }
                4 => match from.pop() {
                    Some(u) => {
                        let k = 1 + usize::from(inp.u16()) % (u.wire.len() - 1);
                        deliver(rx, from, to, now, &u.wire[..k], Class::Other)
                    }
                    None => Ok(()),
                },
                5 => {
                    let outer = if inp.u8() & 1 != 0 { 0x04 } else { 0x00 };
                    let sel = inp.u8();
                    let last = match &rx.phase {
                        Phase::Traffic(m) => m.last,
                        Phase::Handshake { .. } => unreachable!("both are ready"),
                    };
                    let next = from
                        .pending
                        .iter()
                        .find(|u| u.kind == Kind::Sealed)
                        .map(|u| u.body().to_vec());
                    let nonce = match sel % 4 {
                        0 => last,
                        1 => last.wrapping_add(1),
                        2 => next
                            .as_ref()
                            .map_or(last.wrapping_add(2), |b| be64(&b[8..16])),
                        _ => inp.u64(),
                    };
                    let mut body = MESSAGE.to_vec();
                    body.extend_from_slice(&nonce.to_be_bytes());
                    match next {
                        Some(b) if sel & 4 != 0 => body.extend_from_slice(&b[16..]),
                        _ => {
                            let n = usize::from(inp.u8());
                            body.extend_from_slice(inp.bytes(n));
                        }
                    }
                    let w = encode_frame(outer, &body);
                    deliver(rx, from, to, now, &w, Class::Other)
                }
                6 => {
                    let f = inp.u8() & 0x05;
                    let n = usize::from(inp.u8());
                    let w = encode_frame(f, inp.bytes(n));
                    deliver(rx, from, to, now, &w, Class::Other)
                }
                7 => {
                    let msg = message(&mut inp);
                    budget += send(tx, from, &msg);
                    Ok(())
                }
                8 => {
                    now += Duration::from_millis(u64::from(inp.u8()) * 100);
                    // `from` is tx's output, `to` rx's.
                    tick(tx, from, now, start).and_then(|()| tick(rx, to, now, start))
                }
                9 => {
                    let mut r = Ok(());
                    while let Some(u) = from.pop() {
                        r = deliver(rx, from, to, now, &u.wire, Class::Other);
                        if r.is_err() {
                            break;
                        }
                    }
                    r
                }
                _ => Ok(()),
            };
            if let Err(e) = r {
                end = Err(e);
                break;
            }
            let out = links[0].out_total + links[1].out_total;
            assert!(out <= budget, "{out} bytes out after {ops} ops");
        }
        if verbose() {
            eprintln!(
                "curve_message: A {ta} ({}), B {tb}: {ops} ops, received A {} / B {}, \
                 gaps {}, end {end:?}",
                if a_server { "server" } else { "client" },
                sides[0].received,
                sides[1].received,
                sides
                    .iter()
                    .any(|s| matches!(&s.phase, Phase::Traffic(m) if m.gaps)),
            );
        }
    }

    /// `(&mut a[i], &mut a[1 - i])`.
    fn pair<T>(a: &mut [T; 2], i: usize) -> (&mut T, &mut T) {
        let [x, y] = a;
        if i == 0 {
            (x, y)
        } else {
            (y, x)
        }
    }

    #[test]
    fn message_overhead_is_the_wire_fact() {
        use zmtp::protocol::mechanism::curve::MESSAGE_OVERHEAD;
        assert_eq!(MESSAGE_OVERHEAD, OVERHEAD);
    }
}
