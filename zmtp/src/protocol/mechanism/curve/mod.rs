//! The CURVE mechanism (RFC 25 ZMTP-CURVE, RFC 26 CurveZMQ, as libzmq 4.3.5 sends it:
//! `src/curve_client_tools.hpp`, `src/curve_server.cpp`, `src/curve_mechanism_base.cpp`).
//!
//! ```text
//! client (C, c; knows S)                               server (S, s)
//!   HELLO    C', nonce 1, Box[64 zeros](C'→S)    ──►
//!                                                ◄──   WELCOME  Box[S' + cookie](S→C')
//!   INITIATE cookie, nonce 2,
//!            Box[C + vouch + metadata](C'→S')    ──►   (cookie = SecretBox[C' + s'](K),
//!                                                       vouch = Box[C' + S](C→S'))
//!                                                ◄──   READY    nonce 1, Box[metadata](S'→C')
//!   MESSAGE  nonce 3, 4, ...  Box[flags + frame](C'→S')    ◄──►   MESSAGE nonce 2, 3, ...
//! ```
//!
//! Primed keys (C′, S′) are fresh for each connection, so a stolen permanent key does not
//! open recorded traffic. Every frame after the handshake, commands included (PING, PONG,
//! SUBSCRIBE, CANCEL), travels in a MESSAGE box whose first byte carries MORE (0x01) and
//! COMMAND (0x02). As libzmq does, a MESSAGE goes out in a data frame with no flags, and any
//! frame is accepted.
//!
//! The client lives in [`client`], the server in [`server`]; this module holds what both use:
//! the nonces and boxes, and the [`Cipher`] that seals and opens MESSAGEs.

pub mod client;
pub mod server;

pub use client::CurveClient;
pub use server::CurveServer;

use bytes::{BufMut, BytesMut};
use crypto_box::aead::rand_core::RngCore;
use crypto_box::aead::{AeadInPlace, OsRng};
use crypto_box::{Nonce, SalsaBox};

use crate::protocol::error::{CryptoError, DecodeError, PeerText, ProtocolError};
use crate::protocol::frame::Frame;

/// Where a CURVE mechanism's random bytes come from: [`os_random`], or a deterministic source
/// in tests and fuzzing.
pub type Random = fn(&mut [u8]);

/// Fills `buf` from the operating system's generator.
pub fn os_random(buf: &mut [u8]) {
    OsRng.fill_bytes(buf);
}

/// A new random 32-byte key from `random`.
pub(crate) fn random_key(random: Random) -> [u8; 32] {
    let mut k = [0u8; 32];
    random(&mut k);
    k
}

/// The bytes a MESSAGE adds to the frame it carries: the name (8), the short nonce (8), the
/// tag (16) and the flags byte (1).
pub const MESSAGE_OVERHEAD: usize = 8 + 8 + 16 + 1;

/// The authentication tag's length.
const TAG_LEN: usize = 16;

const MESSAGE_NAME: &[u8; 8] = b"\x07MESSAGE";

/// A 24-byte nonce: a 16-byte prefix and an 8-byte big-endian counter (a "short nonce").
pub(crate) fn short_nonce(prefix: &[u8; 16], n: u64) -> Nonce {
    let mut nonce = Nonce::default();
    nonce[..16].copy_from_slice(prefix);
    nonce[16..].copy_from_slice(&n.to_be_bytes());
    nonce
}

/// A 24-byte nonce: an 8-byte prefix and 16 random bytes (a "long nonce").
pub(crate) fn long_nonce(prefix: &[u8; 8], random: &[u8]) -> Nonce {
    let mut nonce = Nonce::default();
    nonce[..8].copy_from_slice(prefix);
    nonce[8..].copy_from_slice(random);
    nonce
}

/// `plaintext` boxed as NaCl's `crypto_box_easy` lays it out: the tag, then the ciphertext.
pub(crate) fn seal_box<A>(key: &A, nonce: &Nonce, plaintext: &[u8]) -> Vec<u8>
where
    A: AeadInPlace<NonceSize = crypto_box::aead::consts::U24>,
{
    let mut out = vec![0u8; TAG_LEN + plaintext.len()];
    out[TAG_LEN..].copy_from_slice(plaintext);
    // Fails only with associated data, which we never pass; an empty tag would then fail to
    // open on the other side rather than pass.
    if let Ok(tag) = key.encrypt_in_place_detached(nonce, b"", &mut out[TAG_LEN..]) {
        out[..TAG_LEN].copy_from_slice(&tag);
    }
    out
}

/// Opens a box laid out as [`seal_box`] makes it; `None` if it does not open.
pub(crate) fn open_box<A>(key: &A, nonce: &Nonce, boxed: &[u8]) -> Option<Vec<u8>>
where
    A: AeadInPlace<NonceSize = crypto_box::aead::consts::U24>,
{
    let tag = boxed.get(..TAG_LEN)?;
    let mut plain = boxed[TAG_LEN..].to_vec();
    key.decrypt_in_place_detached(nonce, b"", &mut plain, tag.into())
        .ok()?;
    Some(plain)
}

/// `data[range]`, or a malformed-command error naming `what`.
pub(crate) fn field<'a>(
    data: &'a [u8],
    range: std::ops::Range<usize>,
    what: &'static str,
) -> Result<&'a [u8], ProtocolError> {
    data.get(range)
        .ok_or(ProtocolError::Decode(DecodeError::MalformedCommand(what)))
}

/// A 32-byte key out of a slice known to hold one.
pub(crate) fn key32(b: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 32];
    k.copy_from_slice(&b[..32]);
    k
}

/// The traffic phase of a CURVE connection: MESSAGE boxes under the connection's key
/// (C′ with s′, or S′ with c′), with a short nonce that goes up by one each way (a replayed,
/// dropped or reordered MESSAGE ends the connection).
pub struct Cipher {
    key: SalsaBox,
    seal_prefix: &'static [u8; 16],
    open_prefix: &'static [u8; 16],
    /// The short nonce of our next MESSAGE.
    next_nonce: u64,
    /// The last short nonce the peer used.
    peer_nonce: u64,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cipher")
            .field("next_nonce", &self.next_nonce)
            .field("peer_nonce", &self.peer_nonce)
            .finish_non_exhaustive()
    }
}

impl Cipher {
    /// The client's cipher: it seals with `CurveZMQMESSAGEC`, opens `CurveZMQMESSAGES`.
    pub(crate) fn client(key: SalsaBox, next_nonce: u64, peer_nonce: u64) -> Cipher {
        Cipher {
            key,
            seal_prefix: b"CurveZMQMESSAGEC",
            open_prefix: b"CurveZMQMESSAGES",
            next_nonce,
            peer_nonce,
        }
    }

    /// The server's cipher: the other way round.
    pub(crate) fn server(key: SalsaBox, next_nonce: u64, peer_nonce: u64) -> Cipher {
        Cipher {
            key,
            seal_prefix: b"CurveZMQMESSAGES",
            open_prefix: b"CurveZMQMESSAGEC",
            next_nonce,
            peer_nonce,
        }
    }

    /// Our next short nonce (never reused; the last value is never sent, so that a counter
    /// cannot wrap).
    fn take_nonce(&mut self) -> Result<u64, ProtocolError> {
        let n = self.next_nonce;
        if n == u64::MAX {
            return Err(CryptoError::NonceExhausted.into());
        }
        self.next_nonce += 1;
        Ok(n)
    }

    /// `frame` as a MESSAGE: `\x07MESSAGE`, the short nonce, the tag, then the boxed flags
    /// byte and body. One allocation and one copy of the body, encrypted in place.
    pub fn seal(&mut self, frame: Frame) -> Result<Frame, ProtocolError> {
        let n = self.take_nonce()?;
        let mut buf = BytesMut::with_capacity(MESSAGE_OVERHEAD + frame.body.len());
        buf.put_slice(MESSAGE_NAME);
        buf.put_u64(n);
        buf.put_bytes(0, TAG_LEN);
        buf.put_u8(u8::from(frame.more) | (u8::from(frame.command) << 1));
        buf.put_slice(&frame.body);
        let tag = self
            .key
            .encrypt_in_place_detached(&short_nonce(self.seal_prefix, n), b"", &mut buf[32..])
            .map_err(|_| CryptoError::BadBox("cannot seal a MESSAGE"))?;
        buf[16..32].copy_from_slice(&tag);
        Ok(Frame {
            more: false,
            command: false,
            body: buf.freeze(),
        })
    }

    /// The frame a MESSAGE carries. Its nonce must be greater than the last one's.
    pub fn open(&mut self, frame: Frame) -> Result<Frame, ProtocolError> {
        let b = &frame.body;
        if !b.starts_with(MESSAGE_NAME) {
            let len = usize::from(b.first().copied().unwrap_or(0));
            return Err(ProtocolError::UnexpectedCommand {
                name: PeerText::new(b.get(1..1 + len).unwrap_or(&b[b.len().min(1)..])),
            });
        }
        if b.len() < MESSAGE_OVERHEAD {
            return Err(
                DecodeError::MalformedCommand("CURVE MESSAGE shorter than 33 bytes").into(),
            );
        }
        let n = read_nonce(b, 8);
        if n <= self.peer_nonce {
            return Err(CryptoError::NonceNotIncreasing {
                nonce: n,
                last: self.peer_nonce,
            }
            .into());
        }
        // Stricter than libzmq (which takes any greater nonce), as RFC 26 asks: a gap means
        // MESSAGEs were dropped or reordered on the way, which could turn one message into
        // another (its last frame first: a shorter message).
        if n != self.peer_nonce + 1 {
            return Err(CryptoError::NonceSkipped {
                nonce: n,
                expected: self.peer_nonce + 1,
            }
            .into());
        }
        let mut plain = BytesMut::from(&b[32..]);
        self.key
            .decrypt_in_place_detached(
                &short_nonce(self.open_prefix, n),
                b"",
                &mut plain,
                b[16..32].into(),
            )
            .map_err(|_| CryptoError::BadBox("a MESSAGE box does not open (altered bytes?)"))?;
        self.peer_nonce = n;
        let flags = plain[0];
        Ok(Frame {
            more: flags & 0x01 != 0,
            command: flags & 0x02 != 0,
            body: plain.freeze().slice(1..),
        })
    }
}

/// The per-frame half of [`crate::protocol::mechanism::Mechanism`], the same for both sides:
/// every frame through the connection's [`Cipher`] once the handshake is done. The side gives
/// it with a `cipher(&mut self) -> Result<&mut Cipher, ProtocolError>` method.
macro_rules! sealed_traffic {
    () => {
        fn transforms_frames(&self) -> bool {
            true
        }

        fn frame_overhead(&self) -> usize {
            super::MESSAGE_OVERHEAD
        }

        fn seal(&mut self, frame: Frame) -> Result<Frame, ProtocolError> {
            self.cipher()?.seal(frame)
        }

        fn open(&mut self, frame: Frame) -> Result<Frame, ProtocolError> {
            self.cipher()?.open(frame)
        }
    };
}
pub(crate) use sealed_traffic;

/// A frame to seal or open before the handshake is done (the session never asks for one).
pub(crate) fn not_ready() -> ProtocolError {
    ProtocolError::UnexpectedCommand {
        name: PeerText::new(b"(MESSAGE before READY)"),
    }
}

/// The short nonce at `data[at..at + 8]` (the caller has checked the length).
pub(crate) fn read_nonce(data: &[u8], at: usize) -> u64 {
    let mut n = [0u8; 8];
    n.copy_from_slice(&data[at..at + 8]);
    u64::from_be_bytes(n)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::protocol::codec::OutBuf;
    use crate::protocol::mechanism::{AuthDecision, Mechanism, Step};
    use crate::protocol::metadata::SOCKET_TYPE;
    use crate::socket_type::SocketType;
    use bytes::Bytes;
    use crypto_box::SecretKey;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Deterministic "random" bytes for tests: a counter per thread.
    pub(crate) fn test_random(buf: &mut [u8]) {
        thread_local!(static NEXT: std::cell::Cell<u8> = const { std::cell::Cell::new(1) });
        for b in buf {
            *b = NEXT.with(|n| {
                let v = n.get();
                n.set(v.wrapping_add(1));
                v
            });
        }
    }

    #[test]
    fn boxes_are_nacl_crypto_box() {
        // crypto_box (XSalsa20-Poly1305) known answer, from the crypto_box crate's vectors
        // (PHP sodium_compat's): the tag first, then the ciphertext, as NaCl lays it out.
        let alice_secret = key32(&hex(
            "68f208412d8dd5db9d0c6d18512e86f0ec75665ab841372d57b042b27ef89d4c",
        ));
        let bob_secret = key32(&hex(
            "b581fb5ae182a16f603f39270d4e3b95bc008310b727a11dd4e784a0044d461b",
        ));
        let nonce =
            Nonce::clone_from_slice(&hex("69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37"));
        let plain = hex("be075fc53c81f2d5cf141316ebeb0c7b5228c52a4c62cbd44b66849b64244ffce5ecbaaf33bd751a1ac728d45e6c61296cdc3c01233561f41db66cce314adb310e3be8250c46f06dceea3a7fa1348057e2f6556ad6b1318a024a838f21af1fde048977eb48f59ffd4924ca1c60902e52f0a089bc76897040e082f937763848645e0705");
        let boxed = hex("c03f27d188ef650cd12936913137bb17ed4c98c2648939e2e1d2e855470a7b8c632cabfd5ab3b3c2d313dc8c9ecf5da173e1f9c318cdef1dced6d2519e695085e6b5c401a2bd5331442986c7076d412625497c4cb2fd94c6f103961033b2c930d7e82e0341f29d3879bd6ab9d881ea3a1f365d634e653c6e171aac7fc1e76934d23be6f04a54010808dbf0f9bd30f63b68d026");
        let alice = SecretKey::from(alice_secret);
        let bob = SecretKey::from(bob_secret);
        let a_to_b = SalsaBox::new(&bob.public_key(), &alice);
        assert_eq!(seal_box(&a_to_b, &nonce, &plain), boxed);
        let b_from_a = SalsaBox::new(&alice.public_key(), &bob);
        assert_eq!(open_box(&b_from_a, &nonce, &boxed), Some(plain));
        let mut bad = boxed.clone();
        bad[40] ^= 1;
        assert_eq!(open_box(&b_from_a, &nonce, &bad), None);
        assert_eq!(open_box(&b_from_a, &nonce, &boxed[..15]), None);
    }

    /// The frames (bodies) `out` holds, each checked to be a short or long command frame.
    fn commands(out: &mut OutBuf) -> Vec<Bytes> {
        let wire = out.to_vec();
        let n = out.len();
        out.advance(n);
        let mut frames = Vec::new();
        let mut rest = &wire[..];
        while !rest.is_empty() {
            let (len, head) = match rest[0] {
                0x04 => (rest[1] as usize, 2),
                0x06 => (
                    u64::from_be_bytes(rest[1..9].try_into().unwrap()) as usize,
                    9,
                ),
                f => panic!("not a command frame: flags {f:#x}"),
            };
            frames.push(Bytes::copy_from_slice(&rest[head..head + len]));
            rest = &rest[head + len..];
        }
        frames
    }

    pub(crate) struct Shake {
        pub client: CurveClient,
        pub server: CurveServer,
        pub hello: Bytes,
        pub welcome: Bytes,
        pub initiate: Bytes,
        pub ready: Bytes,
    }

    /// A complete handshake between a DEALER client and a ROUTER server, its commands kept.
    pub(crate) fn shake(authenticate: bool) -> Shake {
        let server_secret = random_key(test_random);
        let server_public = *SecretKey::from(server_secret).public_key().as_bytes();
        let id = Bytes::from_static(b"c1");
        let mut client = CurveClient::new(
            SocketType::Dealer,
            &id,
            server_public,
            random_key(test_random),
            test_random,
        );
        let mut server = CurveServer::new(
            SocketType::Router,
            &Bytes::new(),
            server_secret,
            authenticate,
            test_random,
        );
        let (mut co, mut so) = (OutBuf::new(), OutBuf::new());
        client.start(&mut co);
        server.start(&mut so);
        assert!(so.is_empty(), "the server speaks second");
        let hello = commands(&mut co).remove(0);
        assert_eq!(server.on_command(1, &hello, &mut so), Ok(Step::Continue));
        let welcome = commands(&mut so).remove(0);
        assert_eq!(client.on_command(1, &welcome, &mut co), Ok(Step::Continue));
        let initiate = commands(&mut co).remove(0);
        let step = server.on_command(1, &initiate, &mut so).unwrap();
        let step = match step {
            Step::Authenticate(req) => {
                assert!(authenticate);
                assert_eq!(req.mechanism, "CURVE");
                assert_eq!(req.identity, id);
                assert_eq!(
                    req.credentials,
                    vec![Bytes::copy_from_slice(&client.public)]
                );
                server
                    .on_auth(
                        AuthDecision::Accept {
                            user_id: Bytes::from_static(b"u1"),
                        },
                        &mut so,
                    )
                    .unwrap()
            }
            other => other,
        };
        let Step::Done(info) = step else {
            panic!("{step:?}")
        };
        assert_eq!(info.socket_type, Some(SocketType::Dealer));
        assert_eq!(info.identity, id);
        let want_user: &[u8] = if authenticate { b"u1" } else { b"" };
        assert_eq!(info.user_id, want_user);
        let ready = commands(&mut so).remove(0);
        let Ok(Step::Done(info)) = client.on_command(1, &ready, &mut co) else {
            panic!("client not done")
        };
        assert_eq!(
            info.metadata.get(SOCKET_TYPE).map(|v| &v[..]),
            Some(&b"ROUTER"[..])
        );
        assert!(co.is_empty() && so.is_empty());
        Shake {
            client,
            server,
            hello,
            welcome,
            initiate,
            ready,
        }
    }

    #[test]
    fn handshake_bytes_as_libzmq_sends_them() {
        for authenticate in [false, true] {
            let s = shake(authenticate);
            // HELLO: 200 bytes; version 1.0; 72 zero bytes; C'; short nonce 1; the 80-byte box.
            assert_eq!(s.hello.len(), 200);
            assert_eq!(&s.hello[..8], b"\x05HELLO\x01\x00");
            assert!(s.hello[8..80].iter().all(|&b| b == 0));
            assert_eq!(&s.hello[80..112], &s.client.transient_public);
            assert_eq!(read_nonce(&s.hello, 112), 1);
            // WELCOME: 168 bytes, a 16-byte long nonce and the 144-byte box.
            assert_eq!(s.welcome.len(), 168);
            assert_eq!(&s.welcome[..8], b"\x07WELCOME");
            // INITIATE: 257 bytes plus the metadata; the cookie as WELCOME gave it; nonce 2.
            let metadata = our_metadata_len(SocketType::Dealer, b"c1");
            assert_eq!(s.initiate.len(), 257 + metadata);
            assert_eq!(&s.initiate[..9], b"\x08INITIATE");
            assert_eq!(read_nonce(&s.initiate, 105), 2);
            // READY: 30 bytes plus the metadata; nonce 1.
            assert_eq!(
                s.ready.len(),
                30 + our_metadata_len(SocketType::Router, b"")
            );
            assert_eq!(&s.ready[..6], b"\x05READY");
            assert_eq!(read_nonce(&s.ready, 6), 1);
        }
    }

    fn our_metadata_len(t: SocketType, id: &'static [u8]) -> usize {
        crate::protocol::mechanism::our_metadata(t, &Bytes::from_static(id)).len()
    }

    fn frame(more: bool, command: bool, body: &'static [u8]) -> Frame {
        Frame {
            more,
            command,
            body: Bytes::from_static(body),
        }
    }

    #[test]
    fn messages_nonces_flags_and_replays() {
        let mut s = shake(false);
        // The client's first MESSAGE has nonce 3, the server's 2; a data frame with no
        // flags; 33 bytes more than the frame.
        let m1 = s.client.seal(frame(true, false, b"hello")).unwrap();
        assert_eq!((m1.more, m1.command), (false, false));
        assert_eq!(m1.body.len(), 5 + MESSAGE_OVERHEAD);
        assert_eq!(&m1.body[..8], b"\x07MESSAGE");
        assert_eq!(read_nonce(&m1.body, 8), 3);
        let m2 = s.client.seal(frame(false, true, b"\x04PING")).unwrap();
        assert_eq!(read_nonce(&m2.body, 8), 4);
        assert_eq!(
            s.server.open(m1.clone()).unwrap(),
            frame(true, false, b"hello")
        );
        assert_eq!(
            s.server.open(m2.clone()).unwrap(),
            frame(false, true, b"\x04PING")
        );
        // A replay, or an older one, is refused.
        assert_eq!(
            s.server.open(m2.clone()),
            Err(ProtocolError::Crypto(CryptoError::NonceNotIncreasing {
                nonce: 4,
                last: 4
            }))
        );
        let r1 = s.server.seal(frame(false, false, b"")).unwrap();
        assert_eq!(read_nonce(&r1.body, 8), 2);
        assert_eq!(r1.body.len(), MESSAGE_OVERHEAD);
        assert_eq!(s.client.open(r1).unwrap(), frame(false, false, b""));
        // Any altered byte past the name fails: the nonce (not increasing, or a box that does
        // not open under it), the tag, the box.
        for at in [15, 16, 31, 32, 33] {
            let mut s = shake(false);
            let m = s.client.seal(frame(false, false, b"data")).unwrap();
            let mut b = m.body.to_vec();
            b[at] ^= 0x01;
            let e = s.server.open(frame_of(b)).unwrap_err();
            assert!(matches!(e, ProtocolError::Crypto(_)), "byte {at}: {e:?}");
        }
        // A skipped nonce (a MESSAGE dropped or held back on the way) is refused too.
        let mut s = shake(false);
        let _dropped = s.client.seal(frame(true, false, b"first")).unwrap();
        let second = s.client.seal(frame(false, false, b"second")).unwrap();
        assert_eq!(
            s.server.open(second),
            Err(ProtocolError::Crypto(CryptoError::NonceSkipped {
                nonce: 4,
                expected: 3
            }))
        );
        // The client's boxes do not open as the server's: prefixes differ per direction.
        let mut s = shake(false);
        let m = s.client.seal(frame(false, false, b"x")).unwrap();
        assert!(s.client.open(m).is_err());
        // Not a MESSAGE, or too short.
        let mut s = shake(false);
        assert!(matches!(
            s.server.open(frame_of(b"\x05HELLO".to_vec())),
            Err(ProtocolError::UnexpectedCommand { .. })
        ));
        let mut s = shake(false);
        assert!(matches!(
            s.server
                .open(frame_of(b"\x07MESSAGE\0\0\0\0\0\0\0\x09".to_vec())),
            Err(ProtocolError::Decode(_))
        ));
    }

    fn frame_of(b: Vec<u8>) -> Frame {
        Frame {
            more: false,
            command: false,
            body: Bytes::from(b),
        }
    }

    #[test]
    fn servers_refuse_what_is_not_theirs() {
        // A HELLO boxed for another server key.
        let a = shake(false);
        let mut other = CurveServer::new(
            SocketType::Router,
            &Bytes::new(),
            random_key(test_random),
            false,
            test_random,
        );
        let mut out = OutBuf::new();
        assert!(matches!(
            other.on_command(1, &a.hello, &mut out),
            Err(ProtocolError::Crypto(CryptoError::BadBox(_)))
        ));
        assert!(out.is_empty());
        // A HELLO of the wrong size or version.
        let mut short = a.hello.to_vec();
        short.pop();
        let mut v2 = a.hello.to_vec();
        v2[6] = 2;
        for bad in [short, v2] {
            let mut s = CurveServer::new(
                SocketType::Router,
                &Bytes::new(),
                random_key(test_random),
                false,
                test_random,
            );
            assert!(matches!(
                s.on_command(1, &Bytes::from(bad), &mut out),
                Err(ProtocolError::Decode(_))
            ));
        }
        // An INITIATE (cookie and all) from another connection to the same server key.
        let key = random_key(test_random);
        let (mut c1, mut s1) = pair(key, false);
        let (mut c2, mut s2) = pair(key, false);
        let i1 = to_initiate(&mut c1, &mut s1);
        let _ = to_initiate(&mut c2, &mut s2);
        assert!(matches!(
            s2.on_command(1, &i1, &mut out),
            Err(ProtocolError::Crypto(CryptoError::BadBox(_)))
        ));
        // A vouch for another transient key.
        let (mut c, mut s) = pair(key, false);
        let mut co = OutBuf::new();
        c.start(&mut co);
        let hello = commands(&mut co).remove(0);
        let mut so = OutBuf::new();
        s.on_command(1, &hello, &mut so).unwrap();
        c.transient_public = random_key(test_random);
        c.on_command(1, &commands(&mut so).remove(0), &mut co)
            .unwrap();
        assert_eq!(
            s.on_command(1, &commands(&mut co).remove(0), &mut so),
            Err(ProtocolError::Crypto(CryptoError::KeyMismatch(
                "the vouch names another connection or server"
            )))
        );
        // A refusal ends the handshake with the status, and nothing is sent.
        let (mut c, mut server) = pair(key, true);
        let initiate = to_initiate(&mut c, &mut server);
        let mut out = OutBuf::new();
        assert!(matches!(
            server.on_command(1, &initiate, &mut out),
            Ok(Step::Authenticate(_))
        ));
        assert_eq!(
            server.on_auth(AuthDecision::Deny { status: 400 }, &mut out),
            Err(ProtocolError::AuthenticationFailed { status: 400 })
        );
        assert!(out.is_empty());
    }

    /// A REQ client and a REP server of the key `server_secret`.
    fn pair(server_secret: [u8; 32], authenticate: bool) -> (CurveClient, CurveServer) {
        let server_public = *SecretKey::from(server_secret).public_key().as_bytes();
        let client = CurveClient::new(
            SocketType::Req,
            &Bytes::new(),
            server_public,
            random_key(test_random),
            test_random,
        );
        let server = CurveServer::new(
            SocketType::Rep,
            &Bytes::new(),
            server_secret,
            authenticate,
            test_random,
        );
        (client, server)
    }

    /// Runs HELLO and WELCOME; gives the client's INITIATE, not yet delivered.
    fn to_initiate(client: &mut CurveClient, server: &mut CurveServer) -> Bytes {
        let (mut co, mut so) = (OutBuf::new(), OutBuf::new());
        client.start(&mut co);
        server
            .on_command(1, &commands(&mut co).remove(0), &mut so)
            .unwrap();
        client
            .on_command(1, &commands(&mut so).remove(0), &mut co)
            .unwrap();
        commands(&mut co).remove(0)
    }
}
