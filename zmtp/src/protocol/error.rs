//! Errors of the protocol core.
//!
//! Two layers, by who is at fault and when it was found:
//! - [`DecodeError`]: the peer's bytes do not parse (bad signature, a malformed command, a frame
//!   over the size limit...).
//! - [`ProtocolError`]: why a session ended: a decode error, bytes that parse but break the
//!   protocol in the current state (a socket-type mismatch, an unexpected command), a timeout,
//!   or an ERROR command from the peer.
//!
//! Both are plain data (`Clone + PartialEq`), carry what was wrong, and render as one line that a
//! log can hold. [`ProtocolError::error_reason`] gives the reason string sent in the ZMTP ERROR
//! command, when one is sent.

use std::fmt;

use crate::socket_type::SocketType;

/// The peer's bytes do not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The first byte of the greeting is not `0xFF`: not a ZMTP 3 peer (ZMTP 1.0, HTTP, noise).
    BadSignature {
        /// The offending byte.
        byte: u8,
        /// Its offset in the greeting.
        offset: usize,
    },
    /// The greeting announces a ZMTP version older than 3.0.
    UnsupportedVersion {
        /// The major version the peer announced (`0`/`1` for ZMTP 1.0/2.0 revisions).
        major: u8,
    },
    /// The greeting names a mechanism that is not even well-formed (RFC 23: upper-case
    /// letters, digits, `-_.+`, NUL-padded).
    UnsupportedMechanism {
        /// The 20-byte, NUL-padded mechanism field.
        name: [u8; 20],
    },
    /// A frame declares a body larger than the configured maximum (MAXMSGSIZE).
    FrameTooLarge {
        /// The declared size.
        len: u64,
        /// The configured limit.
        max: u64,
    },
    /// A message has more frames than MAXMSGSIZE allows (see
    /// [`crate::protocol::session::SessionConfig::max_msg_size`]): many small frames would otherwise cost
    /// far more memory than the limit while their bytes stay under it.
    TooManyFrames {
        /// Frames received so far in the message.
        frames: u64,
        /// The most frames a message may have.
        max: u64,
    },
    /// A command frame declares a body larger than [`crate::protocol::limits::MAX_COMMAND_LEN`].
    CommandTooLarge {
        /// The declared size.
        len: u64,
    },
    /// A command frame is malformed; the text says which part.
    MalformedCommand(&'static str),
    /// A metadata property list (READY) is malformed; the text says which part.
    MalformedMetadata(&'static str),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::BadSignature { byte, offset } => write!(
                f,
                "not a ZMTP 3 peer: greeting byte {offset} is 0x{byte:02x}"
            ),
            DecodeError::UnsupportedVersion { major } => {
                write!(
                    f,
                    "unsupported ZMTP version: peer announced major {major}, need 3"
                )
            }
            DecodeError::UnsupportedMechanism { name } => {
                write!(
                    f,
                    "unsupported security mechanism {:?}",
                    mechanism_str(name)
                )
            }
            DecodeError::FrameTooLarge { len, max } => {
                write!(
                    f,
                    "frame of {len} bytes is over the maximum of {max} (MAXMSGSIZE)"
                )
            }
            DecodeError::TooManyFrames { frames, max } => write!(
                f,
                "message of {frames} frames is over the maximum of {max} (MAXMSGSIZE / {})",
                crate::protocol::limits::FRAME_COST
            ),
            DecodeError::CommandTooLarge { len } => write!(
                f,
                "command frame of {len} bytes is over the maximum of {}",
                crate::protocol::codec::MAX_COMMAND_LEN
            ),
            DecodeError::MalformedCommand(what) => write!(f, "malformed command: {what}"),
            DecodeError::MalformedMetadata(what) => write!(f, "malformed metadata: {what}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// A CurveZMQ check that failed (RFC 26): the peer holds other keys than it claims, or its
/// bytes were altered or replayed. libzmq reports these as
/// `ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC`, `_INVALID_SEQUENCE` and `_KEY_EXCHANGE`, and sends
/// no ERROR command for them; neither do we.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CryptoError {
    /// A box did not open: the wrong key, or altered bytes. The text names the box and the
    /// likely cause.
    BadBox(&'static str),
    /// A short nonce not greater than the last one the peer used (a replay, or a peer that
    /// reuses nonces).
    NonceNotIncreasing {
        /// The nonce received.
        nonce: u64,
        /// The last one accepted.
        last: u64,
    },
    /// A short nonce greater than the next one: MESSAGEs were dropped or reordered on the
    /// way (RFC 26: the nonces must increment correctly; every libzmq sends them one by one).
    NonceSkipped {
        /// The nonce received.
        nonce: u64,
        /// The one expected.
        expected: u64,
    },
    /// The cookie or the vouch names other keys than this connection's.
    KeyMismatch(&'static str),
    /// Our own short nonces are used up (2^64 - 2 boxes sent on one connection).
    NonceExhausted,
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CryptoError::BadBox(what) => write!(f, "CURVE: {what}"),
            CryptoError::NonceNotIncreasing { nonce, last } => write!(
                f,
                "CURVE: nonce {nonce} is not greater than the last one, {last} (replayed?)"
            ),
            CryptoError::NonceSkipped { nonce, expected } => write!(
                f,
                "CURVE: nonce {nonce} where {expected} was due (messages dropped or reordered?)"
            ),
            CryptoError::KeyMismatch(what) => write!(f, "CURVE: {what}"),
            CryptoError::NonceExhausted => f.write_str("CURVE: our nonces are used up"),
        }
    }
}

impl std::error::Error for CryptoError {}

/// Renders a 20-byte mechanism field for humans (trailing NULs cut, non-ASCII escaped).
pub(crate) fn mechanism_str(name: &[u8; 20]) -> String {
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    name[..end].escape_ascii().to_string()
}

/// Why a session ended with a protocol failure.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The peer's bytes do not parse.
    Decode(DecodeError),
    /// The peer's mechanism differs from ours.
    MechanismMismatch {
        /// The peer's 20-byte mechanism field.
        peer: [u8; 20],
        /// Ours.
        ours: [u8; 20],
    },
    /// The peer's Socket-Type cannot talk to ours (RFC 37 table).
    IncompatibleSocketType {
        /// Our socket type.
        ours: SocketType,
        /// What the peer announced, verbatim (at most 32 bytes kept).
        peer: PeerText,
    },
    /// A command that is not allowed in the current state (e.g. a message before READY, a
    /// second READY).
    UnexpectedCommand {
        /// The command name (at most 32 bytes kept).
        name: PeerText,
    },
    /// A data frame arrived before the handshake finished.
    MessageBeforeHandshake,
    /// The greeting and handshake did not finish within HANDSHAKE_IVL.
    HandshakeTimeout,
    /// No traffic from the peer within HEARTBEAT_TIMEOUT after our PING, or within the TTL the
    /// peer announced in its PING.
    HeartbeatTimeout,
    /// The socket's authenticator (ZAP) refused the peer; the status code is sent to it as the
    /// ERROR reason, as libzmq does.
    AuthenticationFailed {
        /// The ZAP status code: 300 (temporary), 400 (denied) or 500 (internal error).
        status: u16,
    },
    /// A CURVE check failed: wrong keys, altered or replayed bytes.
    Crypto(CryptoError),
    /// The peer sent an ERROR command; the session is over and must not be retried.
    PeerError {
        /// The reason the peer gave (at most 32 bytes kept).
        reason: PeerText,
    },
}

impl ProtocolError {
    /// The reason to send in a ZMTP ERROR command before closing, or `None` when no ERROR
    /// command should be sent (the peer is gone, or never spoke ZMTP 3).
    pub fn error_reason(&self) -> Option<&'static str> {
        match self {
            ProtocolError::Decode(DecodeError::BadSignature { .. })
            | ProtocolError::Decode(DecodeError::UnsupportedVersion { .. })
            | ProtocolError::HandshakeTimeout
            | ProtocolError::HeartbeatTimeout
            | ProtocolError::Crypto(_)
            | ProtocolError::PeerError { .. } => None,
            ProtocolError::Decode(DecodeError::UnsupportedMechanism { .. })
            | ProtocolError::MechanismMismatch { .. } => Some("Mechanism mismatch"),
            ProtocolError::Decode(DecodeError::FrameTooLarge { .. })
            | ProtocolError::Decode(DecodeError::TooManyFrames { .. }) => Some("Message too large"),
            ProtocolError::Decode(DecodeError::CommandTooLarge { .. }) => Some("Command too large"),
            ProtocolError::Decode(DecodeError::MalformedCommand(_)) => Some("Malformed command"),
            ProtocolError::Decode(DecodeError::MalformedMetadata(_)) => Some("Malformed metadata"),
            ProtocolError::IncompatibleSocketType { .. } => Some("Invalid socket type"),
            ProtocolError::UnexpectedCommand { .. } => Some("Unexpected command"),
            // A temporary failure closes without ERROR, as libzmq does.
            ProtocolError::AuthenticationFailed { status: 300 } => None,
            ProtocolError::AuthenticationFailed { status: 500 } => Some("500"),
            ProtocolError::AuthenticationFailed { .. } => Some("400"),
            ProtocolError::MessageBeforeHandshake => Some("Message before handshake"),
        }
    }

    /// True if a connecting socket may dial again after this error. RFC 37 and libzmq: no
    /// reconnect after a protocol violation or an ERROR command; timeouts are temporary.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ProtocolError::HandshakeTimeout | ProtocolError::HeartbeatTimeout
        )
    }
}

impl From<CryptoError> for ProtocolError {
    fn from(e: CryptoError) -> Self {
        ProtocolError::Crypto(e)
    }
}

impl From<DecodeError> for ProtocolError {
    fn from(e: DecodeError) -> Self {
        ProtocolError::Decode(e)
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::Decode(e) => e.fmt(f),
            ProtocolError::MechanismMismatch { peer, ours } => write!(
                f,
                "mechanism mismatch: peer uses {:?}, we use {:?}",
                mechanism_str(peer),
                mechanism_str(ours)
            ),
            ProtocolError::IncompatibleSocketType { ours, peer } => {
                write!(f, "peer socket type {peer} cannot talk to our {ours}")
            }
            ProtocolError::UnexpectedCommand { name } => {
                write!(f, "unexpected command {name} in this state")
            }
            ProtocolError::MessageBeforeHandshake => {
                write!(f, "message frame before the handshake finished")
            }
            ProtocolError::HandshakeTimeout => write!(f, "handshake not done within HANDSHAKE_IVL"),
            ProtocolError::HeartbeatTimeout => write!(f, "peer silent past the heartbeat timeout"),
            ProtocolError::AuthenticationFailed { status } => {
                write!(f, "authentication failed (ZAP status {status})")
            }
            ProtocolError::Crypto(e) => e.fmt(f),
            ProtocolError::PeerError { reason } => write!(f, "peer sent ERROR: {reason}"),
        }
    }
}

impl std::error::Error for ProtocolError {}

/// A short, owned copy of text the peer sent, kept for error messages (at most
/// [`PeerText::MAX_LEN`] bytes, rendered with non-printable bytes escaped).
#[derive(Clone, PartialEq, Eq)]
pub struct PeerText {
    bytes: [u8; PeerText::MAX_LEN],
    len: u8,
}

impl PeerText {
    /// How many bytes are kept.
    pub const MAX_LEN: usize = crate::protocol::limits::MAX_PEER_TEXT_LEN;

    /// Keeps the first [`PeerText::MAX_LEN`] bytes of `text`.
    pub fn new(text: &[u8]) -> Self {
        let n = text.len().min(Self::MAX_LEN);
        let mut bytes = [0u8; Self::MAX_LEN];
        bytes[..n].copy_from_slice(&text[..n]);
        PeerText {
            bytes,
            len: n as u8,
        }
    }

    /// The kept bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

impl fmt::Display for PeerText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.as_bytes().escape_ascii())
    }
}

impl fmt::Debug for PeerText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
