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
/// (C′ with s′, or S′ with c′), with a short nonce that strictly increases each way.
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

/// The short nonce at `data[at..at + 8]` (the caller has checked the length).
pub(crate) fn read_nonce(data: &[u8], at: usize) -> u64 {
    let mut n = [0u8; 8];
    n.copy_from_slice(&data[at..at + 8]);
    u64::from_be_bytes(n)
}
