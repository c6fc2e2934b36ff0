//! The NULL mechanism: each side sends READY with its metadata at once, and the handshake is
//! done when both READYs have crossed (RFC 23 symmetric rule, as libzmq does it).

use bytes::Bytes;

use crate::command::Command;
use crate::error::{PeerText, ProtocolError};
use crate::metadata::{Metadata, IDENTITY, SOCKET_TYPE};
use crate::socket_type::SocketType;

/// What we learn from the peer's READY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's socket type; `None` if it sent no `Socket-Type` (libzmq accepts that).
    pub socket_type: Option<SocketType>,
    /// The peer's `Identity` (empty when it sent none or an empty one).
    pub identity: Bytes,
    /// The peer's ZMTP minor version (0 = 3.0, no heartbeats).
    pub minor: u8,
    /// All properties the peer sent, unknown ones included.
    pub metadata: Metadata,
}

/// Our READY command: `Socket-Type`, then `Identity` (even empty) for REQ, DEALER and ROUTER,
/// in libzmq's order and casing.
pub fn ready_command(socket_type: SocketType, identity: &Bytes) -> Command {
    let mut md = Metadata::new();
    md.push(SOCKET_TYPE.as_bytes(), socket_type.as_str().as_bytes());
    if socket_type.sends_identity() {
        md.push(IDENTITY.as_bytes(), identity.clone());
    }
    Command::Ready(md)
}

/// Checks a command received during the handshake. `Ok(PeerInfo)` for a valid READY from a
/// compatible peer; every other command ends the session.
pub fn on_command(ours: SocketType, minor: u8, cmd: Command) -> Result<PeerInfo, ProtocolError> {
    match cmd {
        Command::Ready(metadata) => {
            let socket_type = match metadata.get(SOCKET_TYPE) {
                None => None,
                Some(name) => match SocketType::from_wire(name) {
                    Some(t) if ours.is_compatible(t) => Some(t),
                    _ => {
                        return Err(ProtocolError::IncompatibleSocketType {
                            ours,
                            peer: PeerText::new(name),
                        })
                    }
                },
            };
            let identity = metadata.get(IDENTITY).cloned().unwrap_or_default();
            Ok(PeerInfo {
                socket_type,
                identity,
                minor,
                metadata,
            })
        }
        Command::Error { reason } => Err(ProtocolError::PeerError {
            reason: PeerText::new(&reason),
        }),
        other => Err(ProtocolError::UnexpectedCommand {
            name: PeerText::new(other.name()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::OutBuf;

    #[test]
    fn ready_is_byte_exact_with_libzmq() {
        let mut ob = OutBuf::new();
        ready_command(SocketType::Dealer, &Bytes::new()).encode(&mut ob);
        assert_eq!(
            ob.to_vec(),
            b"\x04\x29\x05READY\x0bSocket-Type\x00\x00\x00\x06DEALER\x08Identity\x00\x00\x00\x00"
        );
        let mut ob = OutBuf::new();
        ready_command(SocketType::Dealer, &Bytes::from_static(b"abc")).encode(&mut ob);
        assert_eq!(&ob.to_vec()[..2], b"\x04\x2c");
    }

    #[test]
    fn type_checks() {
        let peer = |t: &'static [u8]| {
            let mut md = Metadata::new();
            md.push(SOCKET_TYPE.as_bytes(), t);
            Command::Ready(md)
        };
        assert!(on_command(SocketType::Router, 1, peer(b"DEALER")).is_ok());
        assert!(matches!(
            on_command(SocketType::Router, 1, peer(b"PUB")),
            Err(ProtocolError::IncompatibleSocketType { .. })
        ));
        assert!(on_command(SocketType::Router, 1, peer(b"dealer")).is_err());
        assert!(on_command(SocketType::Router, 1, Command::Ready(Metadata::new())).is_ok());
        assert!(matches!(
            on_command(
                SocketType::Router,
                1,
                Command::Pong {
                    context: Bytes::new()
                }
            ),
            Err(ProtocolError::UnexpectedCommand { .. })
        ));
    }
}
