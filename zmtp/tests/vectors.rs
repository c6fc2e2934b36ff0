//! Known-answer tests: byte streams captured from real libzmq 4.3.5 (pyzmq 27.3), see
//! `tests/vectors/README.md` and `tests/vectors/capture.py`, parsed through the core, and our
//! own encoder checked against them where the bytes must be identical.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use zmtp::protocol::codec::FrameDecoder;
use zmtp::protocol::command::Command;
use zmtp::protocol::frame::{Frame, FrameHeader};
use zmtp::protocol::greeting::{self, Greeting, GREETING_LEN, MECHANISM_NULL};
use zmtp::protocol::metadata::{IDENTITY, SOCKET_TYPE};
use zmtp::protocol::session::{Session, SessionConfig, SessionEvent};
use zmtp::{Message, SocketType};

const DEALER: &[u8] = include_bytes!("vectors/dealer.bin");
const DEALER_ID_ABC: &[u8] = include_bytes!("vectors/dealer_id_abc.bin");
const ROUTER: &[u8] = include_bytes!("vectors/router.bin");
const REQ: &[u8] = include_bytes!("vectors/req.bin");
const DEALER_HEARTBEAT: &[u8] = include_bytes!("vectors/dealer_heartbeat.bin");

/// One captured stream and what capture.py asked libzmq to send.
struct Vector {
    name: &'static str,
    bytes: &'static [u8],
    /// The libzmq socket's type.
    sender: SocketType,
    /// Its routing id.
    routing_id: &'static [u8],
    /// The type our side announced (and the Session we parse with).
    receiver: SocketType,
    /// Messages as they appear on the wire (REQ's delimiter included).
    messages: Vec<Vec<Vec<u8>>>,
}

fn bytes300() -> Vec<u8> {
    (0..300).map(|i| (i % 256) as u8).collect()
}

fn msg(frames: &[&[u8]]) -> Vec<Vec<u8>> {
    frames.iter().map(|f| f.to_vec()).collect()
}

fn dealer_messages() -> Vec<Vec<Vec<u8>>> {
    vec![
        msg(&[b"hello"]),
        msg(&[b"multi", b"part", b"message"]),
        msg(&[b""]),
        msg(&[b"a", b"", b"c"]),
        vec![bytes300()],
        vec![vec![b'x'; 255], vec![b'y'; 256]],
    ]
}

fn vectors() -> Vec<Vector> {
    vec![
        Vector {
            name: "dealer",
            bytes: DEALER,
            sender: SocketType::Dealer,
            routing_id: b"",
            receiver: SocketType::Router,
            messages: dealer_messages(),
        },
        Vector {
            name: "dealer_id_abc",
            bytes: DEALER_ID_ABC,
            sender: SocketType::Dealer,
            routing_id: b"abc",
            receiver: SocketType::Router,
            messages: vec![msg(&[b"hello from abc"]), msg(&[b"", b"empty first"])],
        },
        Vector {
            name: "router",
            bytes: ROUTER,
            sender: SocketType::Router,
            routing_id: b"",
            receiver: SocketType::Dealer,
            messages: vec![
                msg(&[b"hello"]),
                msg(&[b"multi", b"part"]),
                msg(&[b""]),
                vec![bytes300()],
            ],
        },
        Vector {
            name: "req",
            bytes: REQ,
            sender: SocketType::Req,
            routing_id: b"",
            receiver: SocketType::Router,
            messages: vec![msg(&[b"", b"request"])],
        },
        Vector {
            name: "dealer_heartbeat",
            bytes: DEALER_HEARTBEAT,
            sender: SocketType::Dealer,
            routing_id: b"",
            receiver: SocketType::Router,
            messages: vec![],
        },
    ]
}

/// Splits a captured stream into its greeting and frames with the low-level decoder.
fn split(bytes: &[u8]) -> (Greeting, Vec<Frame>) {
    let g = greeting::parse_partial(bytes).unwrap().unwrap();
    let mut buf = BytesMut::from(&bytes[GREETING_LEN..]);
    let mut dec = FrameDecoder::new(None);
    let mut frames = vec![];
    while let Some(f) = dec.decode(&mut buf).unwrap() {
        frames.push(f);
    }
    assert!(buf.is_empty(), "trailing partial frame");
    (g, frames)
}

/// Length of the READY frame that follows the greeting (short form: 2-byte header).
fn ready_frame_len(bytes: &[u8]) -> usize {
    let h = FrameHeader::parse(&bytes[GREETING_LEN..]).unwrap();
    assert!(h.command);
    h.header_len + h.len as usize
}

fn frames_of(m: &Message) -> Vec<Vec<u8>> {
    m.frames().iter().map(|f| f.to_vec()).collect()
}

#[test]
fn greetings() {
    for v in vectors() {
        let g = &v.bytes[..GREETING_LEN];
        // Incomplete prefixes are "need more", never an error.
        for n in 0..GREETING_LEN {
            assert_eq!(
                greeting::parse_partial(&g[..n]),
                Ok(None),
                "{} prefix {n}",
                v.name
            );
        }
        let parsed = greeting::parse_partial(g).unwrap().unwrap();
        assert_eq!((parsed.major, parsed.minor), (3, 1), "{}", v.name);
        assert!(parsed.is_v31());
        assert_eq!(parsed.mechanism, MECHANISM_NULL, "{}", v.name);
        assert!(
            !parsed.as_server,
            "{}: libzmq always sends as-server 0",
            v.name
        );
        // Signature with libzmq's padding: routing-id length + 1 as a big-endian u64.
        let mut want = [0u8; 10];
        want[0] = 0xFF;
        want[1..9].copy_from_slice(&(v.routing_id.len() as u64 + 1).to_be_bytes());
        want[9] = 0x7F;
        assert_eq!(&g[..10], &want, "{}", v.name);
        assert!(g[33..].iter().all(|&b| b == 0), "{}: filler", v.name);
    }
}

#[test]
fn ready_metadata() {
    for v in vectors() {
        let (_, frames) = split(v.bytes);
        let ready = &frames[0];
        assert!(ready.command && !ready.more, "{}", v.name);
        let Command::Ready(md) = Command::parse(&ready.body).unwrap() else {
            panic!("{}: first frame is not READY", v.name)
        };
        assert_eq!(md.len(), 2, "{}: {md:?}", v.name);
        let names: Vec<&[u8]> = md.iter().map(|(n, _)| n.as_ref()).collect();
        assert_eq!(
            names,
            [b"Socket-Type".as_ref(), b"Identity".as_ref()],
            "{}",
            v.name
        );
        assert_eq!(
            md.get(SOCKET_TYPE).unwrap().as_ref(),
            v.sender.as_str().as_bytes(),
            "{}",
            v.name
        );
        // Identity is always present for DEALER/ROUTER/REQ, empty unless a routing id is set.
        assert_eq!(
            md.get(IDENTITY).unwrap().as_ref(),
            v.routing_id,
            "{}",
            v.name
        );
        assert!(v.sender.sends_identity());
    }
}

#[test]
fn messages_frame_by_frame() {
    for v in vectors() {
        let (_, frames) = split(v.bytes);
        let data: Vec<&Frame> = frames[1..].iter().filter(|f| !f.command).collect();
        let want: Vec<(bool, &[u8])> = v
            .messages
            .iter()
            .flat_map(|m| {
                let last = m.len() - 1;
                m.iter()
                    .enumerate()
                    .map(move |(i, f)| (i < last, f.as_slice()))
            })
            .collect();
        let got: Vec<(bool, &[u8])> = data.iter().map(|f| (f.more, f.body.as_ref())).collect();
        assert_eq!(got, want, "{}", v.name);
    }
}

#[test]
fn header_forms_short_up_to_255_long_above() {
    // dealer.bin ends with ['x'*255 (MORE), 'y'*256]: short form at 255, long form at 256.
    let tail = &DEALER[DEALER.len() - (2 + 255 + 9 + 256)..];
    assert_eq!(&tail[..2], &[0x01, 0xFF]);
    assert_eq!(&tail[257..266], &[0x02, 0, 0, 0, 0, 0, 0, 1, 0]);
    // The 300-byte frame: long form, flags 0x02.
    let pos = DEALER
        .windows(9)
        .position(|w| w == [0x02, 0, 0, 0, 0, 0, 0, 0x01, 0x2c])
        .expect("long-form header for 300 bytes");
    assert_eq!(&DEALER[pos + 9..pos + 9 + 300], bytes300().as_slice());
    // REQ's delimiter: an empty frame with MORE.
    let after_ready = &REQ[GREETING_LEN + ready_frame_len(REQ)..];
    assert_eq!(after_ready, b"\x01\x00\x00\x07request");
}

#[test]
fn ping_from_libzmq() {
    let (_, frames) = split(DEALER_HEARTBEAT);
    assert_eq!(frames.len(), 2);
    let ping = &frames[1];
    assert!(ping.command);
    assert_eq!(ping.body.as_ref(), b"\x04PING\x00\x14");
    assert_eq!(
        Command::parse(&ping.body).unwrap(),
        Command::Ping {
            ttl: 20,
            context: Bytes::new()
        }
    );
    // Our encoder writes the same bytes for the same PING.
    assert_eq!(Command::parse(&ping.body).unwrap().to_body(), ping.body);
}

/// Feeds a captured stream to a Session of the matching type, `chunk` bytes at a time.
fn run_session(v: &Vector, chunk: usize, now: Instant) -> (Session, Vec<SessionEvent>) {
    let mut s = Session::new(SessionConfig::new(v.receiver), now);
    let mut buf = BytesMut::new();
    let mut events = vec![];
    for c in v.bytes.chunks(chunk) {
        buf.extend_from_slice(c);
        s.handle_input(now, &mut buf)
            .unwrap_or_else(|e| panic!("{} chunk {chunk}: {e}", v.name));
        while let Some(e) = s.poll_event() {
            events.push(e);
        }
    }
    assert!(buf.is_empty(), "{}: bytes left over", v.name);
    (s, events)
}

#[test]
fn sessions_parse_every_vector_in_any_chunking() {
    let now = Instant::now();
    for v in vectors() {
        for chunk in [1, 2, 3, 5, 10, 63, 64, 65, 100, 4096] {
            let (s, events) = run_session(&v, chunk, now);
            assert!(s.is_ready(), "{}", v.name);
            assert!(s.peer_is_v31());
            let Some(SessionEvent::Ready(info)) = events.first() else {
                panic!("{}: no Ready event: {events:?}", v.name)
            };
            assert_eq!(info.socket_type, Some(v.sender), "{}", v.name);
            assert_eq!(info.identity.as_ref(), v.routing_id, "{}", v.name);
            assert_eq!(info.minor, 1);
            let got: Vec<Vec<Vec<u8>>> = events[1..]
                .iter()
                .map(|e| match e {
                    SessionEvent::Message(m) => frames_of(m),
                    other => panic!("{}: unexpected event {other:?}", v.name),
                })
                .collect();
            assert_eq!(got, v.messages, "{} chunk {chunk}", v.name);
        }
    }
}

#[test]
fn session_answers_libzmq_ping_and_honours_its_ttl() {
    let now = Instant::now();
    let v = vectors().pop().unwrap();
    assert_eq!(v.name, "dealer_heartbeat");
    let (mut s, _) = run_session(&v, 7, now);
    let out = s.out().to_vec();
    assert!(out.ends_with(b"\x04\x05\x04PONG"), "{out:x?}");
    // TTL 20 ds: without further traffic the peer is dropped after 2 s.
    assert_eq!(s.poll_timeout(), Some(now + Duration::from_secs(2)));
    assert!(s.handle_timeout(now + Duration::from_millis(1999)).is_ok());
    assert_eq!(
        s.handle_timeout(now + Duration::from_secs(2)),
        Err(zmtp::ProtocolError::HeartbeatTimeout)
    );
}

fn our_hello(socket_type: SocketType, routing_id: &'static [u8]) -> Vec<u8> {
    let mut cfg = SessionConfig::new(socket_type);
    cfg.routing_id = Bytes::from_static(routing_id);
    let mut s = Session::new(cfg, Instant::now());
    s.out().to_vec()
}

#[test]
fn our_greeting_and_ready_match_libzmq() {
    for v in vectors() {
        let ours = our_hello(v.sender, v.routing_id);
        let ready_len = ready_frame_len(v.bytes);
        let theirs = &v.bytes[..GREETING_LEN + ready_len];
        assert_eq!(ours.len(), theirs.len(), "{}", v.name);
        // The greeting differs only in padding byte 8: libzmq writes id length + 1, we write 0
        // as RFC 37 recommends.
        for (i, (a, b)) in ours[..GREETING_LEN]
            .iter()
            .zip(&theirs[..GREETING_LEN])
            .enumerate()
        {
            if i == 8 {
                assert_eq!((*a, *b), (0, v.routing_id.len() as u8 + 1), "{}", v.name);
            } else {
                assert_eq!(a, b, "{}: greeting byte {i}", v.name);
            }
        }
        assert_eq!(
            Greeting::ours(MECHANISM_NULL, false).as_slice(),
            &ours[..GREETING_LEN]
        );
        // READY is byte-identical.
        assert_eq!(
            &ours[GREETING_LEN..],
            &theirs[GREETING_LEN..],
            "{}: READY",
            v.name
        );
    }
}

#[test]
fn our_message_encoding_matches_libzmq() {
    // Put our DEALER (and ROUTER) in traffic with libzmq's own greeting and READY as the peer,
    // send what libzmq sent, and compare everything after the handshake byte for byte.
    let now = Instant::now();
    let peer_hello = |bytes: &[u8]| {
        let n = GREETING_LEN + ready_frame_len(bytes);
        BytesMut::from(&bytes[..n])
    };
    for v in vectors() {
        if v.messages.is_empty() {
            continue;
        }
        let mut cfg = SessionConfig::new(v.sender);
        cfg.routing_id = Bytes::from_static(v.routing_id);
        let mut s = Session::new(cfg, now);
        // A libzmq peer of the type our side played in the capture.
        let peer = if v.receiver == SocketType::Router {
            ROUTER
        } else {
            DEALER
        };
        s.handle_input(now, &mut peer_hello(peer)).unwrap();
        assert!(matches!(s.poll_event(), Some(SessionEvent::Ready(_))));
        let hello_len = s.pending_out();
        s.out().advance(hello_len);
        for m in &v.messages {
            s.send(&Message::from_frames(
                m.iter().map(|f| Bytes::from(f.clone())),
            ))
            .unwrap();
        }
        let ours = s.out().to_vec();
        let theirs = &v.bytes[GREETING_LEN + ready_frame_len(v.bytes)..];
        assert_eq!(ours, theirs, "{}", v.name);
    }
}
