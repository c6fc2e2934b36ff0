//! The NULL mechanism: each side sends READY with its metadata at once, and the handshake is
//! done when both READYs have crossed (RFC 23 symmetric rule, as libzmq does it).
//!
//! With authentication on (libzmq: a ZAP domain set), the peer's READY is checked first and our
//! READY withheld until the socket accepts the peer; a refusal sends ERROR with the ZAP status
//! code as the reason (libzmq `src/null_mechanism.cpp`).

use bytes::Bytes;

use super::{AuthDecision, AuthRequest, Mechanism, Step};
use crate::protocol::codec::OutBuf;
use crate::protocol::command::Command;
use crate::protocol::error::{PeerText, ProtocolError};
use crate::protocol::greeting::MECHANISM_NULL;
use crate::protocol::metadata::{Metadata, IDENTITY, SOCKET_TYPE};
use crate::protocol::peer::PeerInfo;
use crate::socket_type::SocketType;

/// The NULL mechanism for one connection.
#[derive(Debug)]
pub struct Null {
    socket_type: SocketType,
    routing_id: Bytes,
    authenticate: bool,
    /// The peer's READY, held while the socket decides (authentication on).
    pending: Option<PeerInfo>,
}

impl Null {
    /// NULL for a socket of type `socket_type` announcing `routing_id` (empty = none).
    /// `authenticate`: ask for a decision on the peer before sending our READY.
    pub fn new(socket_type: SocketType, routing_id: &Bytes, authenticate: bool) -> Null {
        Null {
            socket_type,
            routing_id: routing_id.clone(),
            authenticate,
            pending: None,
        }
    }
}

impl Mechanism for Null {
    fn name(&self) -> [u8; 20] {
        MECHANISM_NULL
    }

    fn start(&mut self, out: &mut OutBuf) {
        if !self.authenticate {
            ready_command(self.socket_type, &self.routing_id).encode(out);
        }
    }

    fn on_command(
        &mut self,
        peer_minor: u8,
        body: &Bytes,
        _out: &mut OutBuf,
    ) -> Result<Step, ProtocolError> {
        if self.pending.is_some() {
            // Nothing may come between the peer's READY and our answer.
            let name = Command::parse(body)?;
            return Err(ProtocolError::UnexpectedCommand {
                name: PeerText::new(name.name()),
            });
        }
        let info = on_command(self.socket_type, peer_minor, Command::parse(body)?)?;
        if !self.authenticate {
            return Ok(Step::Done(info));
        }
        let request = AuthRequest {
            mechanism: "NULL",
            identity: info.identity.clone(),
            credentials: Vec::new(),
        };
        self.pending = Some(info);
        Ok(Step::Authenticate(request))
    }

    fn on_auth(&mut self, decision: AuthDecision, out: &mut OutBuf) -> Result<Step, ProtocolError> {
        let Some(mut info) = self.pending.take() else {
            return Err(ProtocolError::UnexpectedCommand {
                name: PeerText::new(b"(authentication decision)"),
            });
        };
        match decision {
            AuthDecision::Accept { user_id } => {
                ready_command(self.socket_type, &self.routing_id).encode(out);
                info.user_id = user_id;
                Ok(Step::Done(info))
            }
            AuthDecision::Deny { status } => Err(ProtocolError::AuthenticationFailed { status }),
        }
    }
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
                user_id: Bytes::new(),
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
    use crate::protocol::codec::OutBuf;

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
