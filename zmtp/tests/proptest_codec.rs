//! Property tests of the codec and the Session.
//!
//! Case counts (per property, fixed in each `proptest_config`, so CI time is predictable):
//! - `round_trip_through_two_sessions`: 1000 cases (1..6 messages each way of 1..6 frames, or
//!   50..200 tiny frames; frame sizes 0, 1, 255, 256, 0..300, around the 4 KiB copy threshold
//!   and up to 20 KB; written in partial writes and read 1 byte at a time, in fixed chunks or
//!   in a random chunk pattern; PINGs interleaved between messages);
//! - `decoder_never_panics`, `greeting_parse_never_panics`, `command_parse_never_panics`,
//!   `metadata_parse_never_panics`, `session_never_panics_on_garbage`: 1000 cases each;
//! - `huge_headers_are_bounded`, `session_huge_headers_are_bounded`: 1000 cases each (lengths
//!   near u64::MAX, 2^63, 2^62, MAX_COMMAND_LEN, random; with and without a limit; bodies
//!   trickled in up to 300 KB).
//!
//! 8000 cases in all: about 0.1 s in release and 2 s in debug on 2 cores (measured).

use std::io::IoSlice;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;
use zmtp::protocol::codec::{FrameDecoder, EAGER_LEN, MAX_COMMAND_LEN, READ_AHEAD_LEN};
use zmtp::protocol::command::Command;
use zmtp::protocol::frame::{FrameHeader, FLAG_COMMAND, FLAG_LONG, MAX_HEADER_LEN};
use zmtp::protocol::greeting::{self, Greeting, MECHANISM_NULL};
use zmtp::protocol::metadata::Metadata;
use zmtp::protocol::session::{Session, SessionConfig, SessionEvent};
use zmtp::{DecodeError, Message, ProtocolError, SocketType};

// ---------------------------------------------------------------------------------------------
// Strategies.

/// Frame sizes that matter: empty, 1, the short/long boundary, the 4 KiB copy threshold of
/// OutBuf, and some larger ones.
fn frame_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        4 => Just(0usize),
        2 => Just(1usize),
        2 => Just(255usize),
        2 => Just(256usize),
        6 => 0usize..300,
        1 => 4090usize..4110,
        1 => 4110usize..20_000,
    ]
}

fn frame() -> impl Strategy<Value = Bytes> {
    (frame_len(), any::<u8>()).prop_map(|(n, seed)| {
        Bytes::from(
            (0..n)
                .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
                .collect::<Vec<u8>>(),
        )
    })
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        8 => vec(frame(), 1..6),
        1 => vec(vec(any::<u8>(), 0..4).prop_map(Bytes::from), 50..200),
    ]
    .prop_map(Message::from)
}

/// How bytes travel: the sender writes at most `n` bytes per write (partial writes through
/// OutBuf) and the receiver gets each write as one read.
#[derive(Debug, Clone)]
enum Chunking {
    Bytewise,
    Fixed(usize),
    Pattern(Vec<usize>),
}

fn chunking() -> impl Strategy<Value = Chunking> {
    prop_oneof![
        1 => Just(Chunking::Bytewise),
        2 => (2usize..10_000).prop_map(Chunking::Fixed),
        2 => vec(1usize..5000, 1..8).prop_map(Chunking::Pattern),
    ]
}

impl Chunking {
    fn size(&self, i: usize) -> usize {
        match self {
            Chunking::Bytewise => 1,
            Chunking::Fixed(n) => *n,
            Chunking::Pattern(p) => p[i % p.len()],
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Round trip.

/// Moves everything `from` has queued into `to`, in the given chunking.
fn pump(
    now: Instant,
    from: &mut Session,
    to: &mut Session,
    buf: &mut BytesMut,
    how: &Chunking,
    events: &mut Vec<SessionEvent>,
) {
    let mut i = 0;
    while !from.out().is_empty() {
        let want = how.size(i);
        let n = if i % 2 == 0 {
            // A plain write of the first contiguous slice.
            let chunk = from.out().chunk();
            let n = want.min(chunk.len());
            buf.extend_from_slice(&chunk[..n]);
            n
        } else {
            // A vectored write over up to 3 slices.
            let mut slices = [IoSlice::new(&[]); 3];
            let k = from.out().io_slices(&mut slices);
            let mut n = 0;
            for s in &slices[..k] {
                let take = s.len().min(want - n);
                buf.extend_from_slice(&s[..take]);
                n += take;
            }
            n
        };
        i += 1;
        from.out().advance(n);
        to.handle_input(now, buf).unwrap();
        while let Some(e) = to.poll_event() {
            events.push(e);
        }
    }
}

fn messages_of(events: &[SessionEvent]) -> Vec<Message> {
    events
        .iter()
        .map(|e| match e {
            SessionEvent::Message(m) => m.clone(),
            other => panic!("unexpected event {other:?}"),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn round_trip_through_two_sessions(
        to_router in vec(message(), 1..6),
        to_dealer in vec(message(), 0..4),
        how in chunking(),
        back in chunking(),
        limit in prop_oneof![Just(None), Just(Some(1u64 << 20))],
    ) {
        let mut now = Instant::now();
        let mut dcfg = SessionConfig::new(SocketType::Dealer);
        dcfg.heartbeat_ivl = Some(Duration::from_millis(10));
        dcfg.heartbeat_timeout = Some(Duration::from_secs(3600));
        dcfg.max_msg_size = limit;
        let mut rcfg = SessionConfig::new(SocketType::Router);
        rcfg.max_msg_size = limit;
        let mut d = Session::new(dcfg, now);
        let mut r = Session::new(rcfg, now);
        let (mut bd, mut br) = (BytesMut::new(), BytesMut::new());
        let (mut ed, mut er) = (vec![], vec![]);

        pump(now, &mut d, &mut r, &mut br, &how, &mut er);
        pump(now, &mut r, &mut d, &mut bd, &back, &mut ed);
        prop_assert!(d.is_ready() && r.is_ready());
        let Some(SessionEvent::Ready(info)) = er.first() else { panic!("{er:?}") };
        prop_assert_eq!(info.socket_type, Some(SocketType::Dealer));
        prop_assert!(matches!(ed.first(), Some(SessionEvent::Ready(_))));
        er.clear();
        ed.clear();

        for (i, m) in to_router.iter().enumerate() {
            d.send(m).unwrap();
            if i % 2 == 1 {
                // A PING between two messages; the ROUTER answers it with a PONG.
                now += Duration::from_millis(10);
                d.handle_timeout(now).unwrap();
            }
        }
        for m in &to_dealer {
            r.send(m).unwrap();
        }
        pump(now, &mut d, &mut r, &mut br, &how, &mut er);
        pump(now, &mut r, &mut d, &mut bd, &back, &mut ed);
        prop_assert_eq!(messages_of(&er), to_router);
        prop_assert_eq!(messages_of(&ed), to_dealer);
        prop_assert!(br.is_empty() && bd.is_empty());
        prop_assert!(d.error().is_none() && r.error().is_none());
    }
}

// ---------------------------------------------------------------------------------------------
// Garbage in, no panic.

/// Bytes that look like frames often enough to get past the first checks: well-formed
/// headers with random flags, commands with real names and random data, and plain noise.
fn wire_bytes() -> impl Strategy<Value = Vec<u8>> {
    let name = prop_oneof![
        Just(&b"READY"[..]),
        Just(&b"ERROR"[..]),
        Just(&b"PING"[..]),
        Just(&b"PONG"[..]),
        Just(&b"SUBSCRIBE"[..]),
        Just(&b"CANCEL"[..]),
        Just(&b"X"[..]),
        Just(&b""[..]),
    ];
    let piece = prop_oneof![
        vec(any::<u8>(), 0..64),
        (any::<u8>(), vec(any::<u8>(), 0..300)).prop_map(|(flags, body)| {
            let mut h = [0u8; MAX_HEADER_LEN];
            let n = FrameHeader::encode(flags & 1 != 0, flags & 4 != 0, body.len(), &mut h);
            [&h[..n], &body].concat()
        }),
        (name, metadata_bytes(), any::<bool>()).prop_map(|(name, data, long)| {
            let body = [&[name.len() as u8][..], name, &data].concat();
            let mut h = vec![FLAG_COMMAND];
            if long {
                h[0] |= FLAG_LONG;
                h.extend_from_slice(&(body.len() as u64).to_be_bytes());
            } else {
                h.push(body.len().min(255) as u8);
            }
            [h, body].concat()
        }),
    ];
    vec(piece, 0..8).prop_map(|v| v.concat())
}

/// Property lists, valid or slightly off: random name lengths, names, value lengths (some far
/// larger than the data) and values.
fn metadata_bytes() -> impl Strategy<Value = Vec<u8>> {
    let name = prop_oneof![
        Just(b"Socket-Type".to_vec()),
        Just(b"Identity".to_vec()),
        vec(any::<u8>(), 0..12),
    ];
    let value = prop_oneof![
        Just(b"DEALER".to_vec()),
        Just(b"ROUTER".to_vec()),
        vec(any::<u8>(), 0..20),
    ];
    let prop = (name, value, any::<u8>(), any::<u32>()).prop_map(|(n, v, mode, big)| {
        let name_len = if mode & 1 == 0 { n.len() as u8 } else { mode };
        let value_len = match mode >> 6 {
            0 | 1 => v.len() as u32,
            2 => big,
            _ => u32::MAX - (mode as u32 & 3),
        };
        [&[name_len][..], &n, &value_len.to_be_bytes(), &v].concat()
    });
    vec(prop, 0..4).prop_map(|v| v.concat())
}

fn any_max() -> impl Strategy<Value = Option<u64>> {
    prop_oneof![
        Just(None),
        Just(Some(0)),
        (0u64..4096).prop_map(Some),
        any::<u64>().prop_map(Some),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn decoder_never_panics(
        data in prop_oneof![vec(any::<u8>(), 0..2048), wire_bytes()],
        max in any_max(),
    ) {
        let mut dec = FrameDecoder::new(max);
        let mut buf = BytesMut::from(&data[..]);
        loop {
            let before = buf.len();
            match dec.decode(&mut buf) {
                Ok(Some(f)) => {
                    prop_assert!(buf.len() < before);
                    if let (Some(m), false) = (max, f.command) {
                        prop_assert!(f.body.len() as u64 <= m);
                    }
                    if f.command {
                        prop_assert!(f.body.len() as u64 <= MAX_COMMAND_LEN);
                    }
                }
                Ok(None) | Err(_) => break,
            }
            let _ = dec.reserve_hint(buf.len());
        }
    }

    #[test]
    fn greeting_parse_never_panics(
        data in prop_oneof![
            vec(any::<u8>(), 0..100),
            (vec(any::<u8>(), 0..100), 0usize..64).prop_map(|(tail, n)| {
                // A valid prefix, then noise.
                let mut g = Greeting::ours(MECHANISM_NULL, false)[..n].to_vec();
                g.extend(tail);
                g
            }),
        ],
    ) {
        match greeting::parse_partial(&data) {
            Ok(Some(g)) => prop_assert!(data.len() >= 64 && g.major >= 3),
            Ok(None) => prop_assert!(data.len() < 64),
            Err(_) => {}
        }
    }

    #[test]
    fn command_parse_never_panics(data in prop_oneof![vec(any::<u8>(), 0..300), wire_bytes()]) {
        let body = Bytes::from(data);
        if let Ok(c) = Command::parse(&body) {
            // Whatever parsed re-encodes to something that parses to the same command, except
            // for output-side truncation of PING/PONG contexts.
            if !matches!(c, Command::Pong { .. }) {
                prop_assert_eq!(Command::parse(&c.to_body()).unwrap(), c);
            }
        }
        // The same bytes after a command name.
        for name in [&b"\x05READY"[..], b"\x04PING", b"\x05ERROR"] {
            let _ = Command::parse(&Bytes::from([name, &body].concat()));
        }
    }

    #[test]
    fn metadata_parse_never_panics(data in prop_oneof![vec(any::<u8>(), 0..300), metadata_bytes()]) {
        let data = Bytes::from(data);
        if let Ok(md) = Metadata::parse(&data) {
            let mut out = BytesMut::new();
            md.encode(&mut out);
            prop_assert_eq!(out.as_ref(), data.as_ref());
            prop_assert_eq!(md.encoded_len(), data.len());
        }
    }

    #[test]
    fn session_never_panics_on_garbage(
        prefix in 0u8..3,
        tail in prop_oneof![vec(any::<u8>(), 0..1024), wire_bytes()],
        how in chunking(),
        max in any_max(),
        ticks in vec(0u64..40_000, 0..4),
    ) {
        let now = Instant::now();
        let mut cfg = SessionConfig::new(SocketType::Router);
        cfg.max_msg_size = max;
        cfg.heartbeat_ivl = Some(Duration::from_millis(100));
        let mut s = Session::new(cfg, now);
        // Get past the greeting (and the handshake) often enough to reach the later states.
        let mut data = match prefix {
            0 => vec![],
            1 => Greeting::ours(MECHANISM_NULL, false).to_vec(),
            // A DEALER's greeting and READY.
            _ => Session::new(SessionConfig::new(SocketType::Dealer), now).out().to_vec(),
        };
        data.extend_from_slice(&tail);
        let mut buf = BytesMut::new();
        let mut first_err = None;
        let mut i = 0;
        let mut pos = 0;
        while pos < data.len() {
            let n = how.size(i).min(data.len() - pos);
            i += 1;
            buf.extend_from_slice(&data[pos..pos + n]);
            pos += n;
            let r = s.handle_input(now, &mut buf);
            while s.poll_event().is_some() {}
            match (&first_err, r) {
                (None, Err(e)) => first_err = Some(e),
                // Errors are sticky.
                (Some(e), r) => prop_assert_eq!(r, Err(e.clone())),
                (None, Ok(())) => {}
            }
            let _ = s.reserve_hint(buf.len());
        }
        for t in ticks {
            let _ = s.handle_timeout(now + Duration::from_millis(t));
            let _ = s.poll_timeout();
        }
        let _ = s.send(&Message::from("x"));
        let _ = s.out().to_vec();
    }
}

// ---------------------------------------------------------------------------------------------
// Huge declared lengths: the decoder rejects what is over a limit at header time and never
// asks for room in proportion to a declared size, only to what actually arrived.

fn declared_len() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(u64::MAX),
        (0u64..1024).prop_map(|d| u64::MAX - d),
        Just(1u64 << 63),
        (0u64..1024).prop_map(|d| (1u64 << 63) - 512 + d),
        Just(1u64 << 62),
        (0u64..1024).prop_map(|d| (1u64 << 62) - 512 + d),
        (1u64 << 32..1u64 << 62),
        any::<u64>(),
        (MAX_COMMAND_LEN - 8..MAX_COMMAND_LEN + 8),
        (0u64..200_000),
    ]
}

fn limit() -> impl Strategy<Value = Option<u64>> {
    prop_oneof![
        3 => Just(None),
        1 => Just(Some(0)),
        2 => (0u64..1 << 20).prop_map(Some),
        1 => Just(Some(1u64 << 62)),
        1 => Just(Some(u64::MAX)),
        1 => any::<u64>().prop_map(Some),
    ]
}

/// What the decoder must say about a header, before any body byte.
fn expected_error(len: u64, command: bool, max: Option<u64>) -> Option<DecodeError> {
    if command {
        if len > MAX_COMMAND_LEN {
            return Some(DecodeError::CommandTooLarge { len });
        }
    } else if let Some(max) = max {
        if len > max {
            return Some(DecodeError::FrameTooLarge { len, max });
        }
    }
    if len > i64::MAX as u64 {
        return Some(DecodeError::FrameTooLarge {
            len,
            max: i64::MAX as u64,
        });
    }
    None
}

/// Upper bound for the buffer's capacity after a driver made room with `reserve_for_read`,
/// having received `received` bytes in total: a declared size is trusted up to `EAGER_LEN`,
/// beyond that the buffer at most doubles with what arrived.
fn capacity_bound(received: usize) -> usize {
    2 * received + EAGER_LEN + READ_AHEAD_LEN
}

/// Upper bound for `reserve_hint`.
fn hint_bound(buffered: usize) -> usize {
    buffered.max(EAGER_LEN + READ_AHEAD_LEN)
}

/// How many body bytes a case trickles in at most.
const BODY_BUDGET: usize = 300_000;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn huge_headers_are_bounded(
        flags in any::<u8>(),
        long in prop::bool::weighted(0.9),
        len in declared_len(),
        max in limit(),
        reads in vec(1usize..70_000, 1..16),
    ) {
        let flags = if long { flags | FLAG_LONG } else { flags & !FLAG_LONG };
        let command = flags & FLAG_COMMAND != 0;
        let len = if long { len } else { len & 0xFF };
        let mut header = vec![flags];
        if long {
            header.extend_from_slice(&len.to_be_bytes());
        } else {
            header.push(len as u8);
        }
        let mut dec = FrameDecoder::new(max);
        let mut buf = BytesMut::new();
        // The header arrives one byte at a time: incomplete headers are "need more".
        for (i, b) in header.iter().enumerate() {
            buf.extend_from_slice(&[*b]);
            if i + 1 < header.len() {
                prop_assert_eq!(dec.decode(&mut buf), Ok(None));
            }
        }
        let mut received = header.len();
        let want_err = expected_error(len, command, max);
        let first = dec.decode(&mut buf);
        if let Some(e) = want_err {
            prop_assert_eq!(first, Err(e));
            return Ok(());
        }
        if len == 0 {
            prop_assert!(matches!(first, Ok(Some(ref f)) if f.body.is_empty()));
            return Ok(());
        }
        prop_assert_eq!(first, Ok(None));
        // Body bytes trickle in; each read fills at most the room the decoder asked for.
        let mut i = 0;
        loop {
            let hint = dec.reserve_hint(buf.len());
            prop_assert!(
                hint <= hint_bound(buf.len()),
                "hint {} with {} buffered for a declared {}", hint, buf.len(), len
            );
            dec.reserve_for_read(&mut buf);
            let room = buf.capacity() - buf.len();
            prop_assert!(room > 0);
            prop_assert!(
                buf.capacity() <= capacity_bound(received),
                "capacity {} after {} bytes for a declared {}", buf.capacity(), received, len
            );
            let missing = (len as usize).saturating_sub(buf.len());
            let n = reads[i % reads.len()].min(room).min(missing);
            i += 1;
            if received - header.len() + n > BODY_BUDGET {
                prop_assert!(len as usize > BODY_BUDGET);
                break;
            }
            buf.resize(buf.len() + n, 0xAB);
            received += n;
            match dec.decode(&mut buf) {
                Ok(None) => prop_assert!((buf.len() as u64) < len),
                Ok(Some(f)) => {
                    prop_assert_eq!(f.body.len() as u64, len);
                    prop_assert_eq!(f.command, command);
                    break;
                }
                Err(e) => panic!("error mid-body: {e}"),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn session_huge_headers_are_bounded(
        len in declared_len(),
        command in prop::bool::weighted(0.2),
        max in limit(),
        reads in vec(1usize..70_000, 1..8),
    ) {
        let now = Instant::now();
        let mut cfg = SessionConfig::new(SocketType::Router);
        cfg.max_msg_size = max;
        let mut s = Session::new(cfg, now);
        let mut peer = Session::new(SessionConfig::new(SocketType::Dealer), now);
        let mut buf = BytesMut::from(&peer.out().to_vec()[..]);
        s.handle_input(now, &mut buf).unwrap();
        prop_assert!(s.is_ready());
        buf.extend_from_slice(&[FLAG_LONG | if command { FLAG_COMMAND } else { 0 }]);
        buf.extend_from_slice(&len.to_be_bytes());
        let mut received = buf.len();
        let r = s.handle_input(now, &mut buf);
        if let Some(e) = expected_error(len, command, max) {
            prop_assert_eq!(r, Err(ProtocolError::Decode(e)));
            return Ok(());
        }
        prop_assert_eq!(r, Ok(()));
        let mut body = 0usize;
        let mut i = 0;
        while (body as u64) < len && body < BODY_BUDGET {
            let hint = s.reserve_hint(buf.len());
            prop_assert!(hint <= hint_bound(buf.len()));
            s.reserve_for_read(&mut buf);
            let room = buf.capacity() - buf.len();
            prop_assert!(room > 0);
            prop_assert!(buf.capacity() <= capacity_bound(received));
            let n = reads[i % reads.len()].min(room).min(len as usize - body);
            i += 1;
            // A command body must start with a valid name to not be malformed; data frames
            // can be anything.
            buf.resize(buf.len() + n, 1);
            body += n;
            received += n;
            match s.handle_input(now, &mut buf) {
                Ok(()) => {}
                Err(e) => {
                    // Only a complete command can fail to parse.
                    prop_assert!(command && body as u64 == len, "{e}");
                }
            }
        }
    }
}
