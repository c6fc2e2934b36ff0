//! The greeting check and the handshake steps before traffic: the peer's greeting must name our
//! mechanism, then the mechanism runs its commands until it is done.

use crate::protocol::error::{DecodeError, ProtocolError};
use crate::protocol::greeting::Greeting;

/// Where a session is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Phase {
    /// Waiting for the peer's 64-byte greeting.
    Greeting,
    /// The mechanism's commands are being exchanged with a ZMTP 3.`minor` peer.
    Handshake {
        /// The peer's minor version.
        minor: u8,
    },
    /// The mechanism waits for the socket's authentication decision.
    Authenticating {
        /// The peer's minor version.
        minor: u8,
    },
    /// Messages flow.
    Traffic,
    /// Over; the error is sticky.
    Failed(ProtocolError),
}

/// Checks the peer's greeting against our mechanism's name (RFC 23: both sides must use the
/// same mechanism). A name that is not even well-formed (RFC 23: upper-case letters, digits,
/// `-_.+`, NUL-padded) is a decode error rather than a mismatch.
pub(super) fn check_greeting(g: &Greeting, ours: [u8; 20]) -> Result<(), ProtocolError> {
    if g.mechanism == ours {
        return Ok(());
    }
    let well_formed = g
        .mechanism
        .iter()
        .all(|&c| c == 0 || c.is_ascii_uppercase() || c.is_ascii_digit() || b"-_.+".contains(&c));
    if !well_formed {
        return Err(DecodeError::UnsupportedMechanism { name: g.mechanism }.into());
    }
    Err(ProtocolError::MechanismMismatch {
        peer: g.mechanism,
        ours,
    })
}
