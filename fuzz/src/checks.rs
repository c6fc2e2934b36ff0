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
