//! What a handshake tells us about the peer.

use bytes::Bytes;

use crate::protocol::metadata::Metadata;
use crate::socket_type::SocketType;

/// What we learn from the peer's handshake (its READY, whatever the mechanism).
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
    /// The user id an authenticator (ZAP) gave this peer; empty without authentication.
    pub user_id: Bytes,
}
