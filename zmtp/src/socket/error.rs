//! Errors of socket operations: [`Error`], whose docs say who is at fault for each.

use std::fmt;

use crate::endpoint::EndpointError;
use crate::message::Message;
use crate::routing::RoutingId;
use crate::socket_type::SocketType;

/// Errors of socket operations.
///
/// A socket call fails for one of three reasons, and the variant says which:
///
/// | At fault | Variants | What to do |
/// |----------|----------|------------|
/// | the caller: the call is wrong | [`Error::Endpoint`], [`Error::InvalidOption`], [`Error::EmptyMessage`], [`Error::Closed`], [`Error::NotSupported`], [`Error::State`], [`Error::UnknownEndpoint`] | fix the call: retrying it fails the same way |
/// | the state of the peers | [`Error::Full`] (back-pressure: the message is handed back), [`Error::HostUnreachable`] (no peer has that routing id: ROUTER_MANDATORY or `try_send`) | retry later, or decide: send elsewhere, drop, wait |
/// | the operating system | [`Error::Bind`] (port in use, address not available, name not resolved; its `source` is the [`std::io::Error`]) | another address, or report it |
///
/// What a peer does wrong never fails a socket call: its connection is dropped, and the reason
/// ([`crate::monitor::DisconnectReason`], with the [`crate::ProtocolError`] when it broke the
/// protocol) is logged and reported to monitors ([`crate::Socket::monitor`]). A peer that goes
/// away is not an error either: a connecting socket dials again, and messages wait in its
/// queue.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Misuse: the endpoint string is malformed.
    Endpoint(EndpointError),
    /// I/O: binding failed (port in use, address not available, name not resolved...).
    Bind {
        /// The endpoint.
        endpoint: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Peers: ROUTER_MANDATORY (or `try_send`), and no connected peer has this routing id.
    HostUnreachable(RoutingId),
    /// Back-pressure: `try_send` found no room (every pipe at SNDHWM, or no peer); the message
    /// is handed back.
    Full(Message),
    /// Misuse: a message needs at least one frame (a ROUTER message two: id and body).
    EmptyMessage,
    /// Misuse: an option value libzmq would refuse, or that cannot work.
    InvalidOption(&'static str),
    /// Misuse: the socket is closed.
    Closed,
    /// Misuse: `unbind` or `disconnect` of an endpoint the socket has not bound or connected
    /// (libzmq's ENOENT).
    UnknownEndpoint(String),
    /// Misuse: the call is not allowed in the socket's current state (a REQ sending twice
    /// without receiving the reply, a REP receiving before it replied; libzmq's EFSM).
    State(&'static str),
    /// Misuse: the socket type does not do this (receiving on a PUSH, sending on a PULL;
    /// libzmq's ENOTSUP).
    NotSupported {
        /// The socket's type.
        socket_type: SocketType,
        /// What it cannot do: `"send"` or `"receive"`.
        op: &'static str,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Endpoint(e) => e.fmt(f),
            Error::Bind { endpoint, source } => write!(f, "cannot bind {endpoint}: {source}"),
            Error::HostUnreachable(id) => {
                write!(f, "host unreachable: no peer with routing id {id}")
            }
            Error::Full(_) => f.write_str("peer queue full (high-water mark reached)"),
            Error::EmptyMessage => f.write_str("message has no frames"),
            Error::InvalidOption(what) => write!(f, "invalid option: {what}"),
            Error::Closed => f.write_str("socket closed"),
            Error::UnknownEndpoint(ep) => write!(f, "not bound or connected: {ep}"),
            Error::State(what) => write!(f, "not now: {what}"),
            Error::NotSupported { socket_type, op } => {
                write!(f, "{socket_type} sockets cannot {op}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Endpoint(e) => Some(e),
            Error::Bind { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<EndpointError> for Error {
    fn from(e: EndpointError) -> Self {
        Error::Endpoint(e)
    }
}
