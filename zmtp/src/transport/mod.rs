//! Transports: how bytes reach a peer, and the connection driver that runs one connection.
//!
//! The socket hands each connection the narrow end of its pipe ([`SocketLink`], implemented by
//! the socket layer: this module does not know socket types or their routing). The rest is
//! written once, generic over a transport:
//! - `listener.rs`: bind, then the accept loop (back-off on accept errors);
//! - `dialer.rs`: the dial and reconnect loop (RECONNECT_IVL, back-off, jitter);
//! - `driver.rs`: one task per connection, stream ⇄ sans-IO `Session` ⇄ pipe;
//! - `recv_bufs.rs`: receive buffers recycled between a socket's connections;
//! - `sockopt.rs`: `SO_RCVLOWAT`, the crate's only `unsafe` code;
//! - `write_bufs.rs`: write buffers recycled between a thread's connections.
//!
//! Adding a transport: one file implementing [`Transport`] (and [`ByteStream`] for its stream),
//! an [`Endpoint`] variant, and its line in [`bind`] and [`connect`]. `inproc.rs` is the one
//! transport without bytes: it relays messages between two sockets' pipes.

pub(crate) mod dialer;
pub(crate) mod driver;
pub(crate) mod inproc;
#[cfg(all(unix, feature = "ipc"))]
pub(crate) mod ipc;
pub(crate) mod listener;
pub(crate) mod loglimit;
pub(crate) mod recv_bufs;
pub(crate) mod sockopt;
pub(crate) mod stream;
pub(crate) mod tcp;
pub(crate) mod write_bufs;

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::endpoint::Endpoint;
use crate::message::Message;
use crate::monitor::{Monitors, PeerAddr};
use crate::options::SocketOptions;
use crate::outgoing::Outgoing;
use crate::protocol::peer::PeerInfo;
use crate::protocol::session::Session;
use crate::routing::{PipeId, RoutingId};
use crate::socket_type::SocketType;
pub(crate) use recv_bufs::RecvBufs;
pub(crate) use stream::ByteStream;

/// Binds `ep` now (so that "address in use" comes back to the caller) and starts accepting.
/// Returns the endpoint actually bound (the port the OS chose for port 0) and the token that
/// unbinds it: cancelled, the listener closes and its connections flush (within LINGER) and
/// end. It is a child of the socket's shutdown token.
pub(crate) fn bind(
    link: &Arc<dyn SocketLink>,
    ep: &Endpoint,
) -> io::Result<(Endpoint, CancellationToken)> {
    match ep {
        Endpoint::Tcp { .. } => listener::bind::<tcp::Tcp>(link, ep),
        Endpoint::Inproc { .. } => inproc::bind(link, ep),
        #[cfg(all(unix, feature = "ipc"))]
        Endpoint::Ipc { .. } => listener::bind::<ipc::Ipc>(link, ep),
        // Refused before this by `Endpoint::check_bindable` (feature off) or when parsed (not
        // Unix); kept as an error, not a panic.
        #[cfg(not(all(unix, feature = "ipc")))]
        Endpoint::Ipc { .. } => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            crate::endpoint::IPC_UNAVAILABLE,
        )),
    }
}

/// Creates the connecting side's pipe now and starts dialling `ep` in the background. Returns
/// the token that disconnects it: cancelled, the dialling stops and the connection flushes
/// (within LINGER) and ends, and its pipe goes. A child of the socket's shutdown token.
pub(crate) fn connect(link: &Arc<dyn SocketLink>, ep: Endpoint) -> CancellationToken {
    match ep {
        Endpoint::Tcp { .. } => dialer::connect::<tcp::Tcp>(link, ep),
        Endpoint::Inproc { .. } => inproc::connect(link, &ep),
        #[cfg(all(unix, feature = "ipc"))]
        Endpoint::Ipc { .. } => dialer::connect::<ipc::Ipc>(link, ep),
        // Refused before this by `Endpoint::check_connectable` (feature off) or when parsed
        // (not Unix): nothing to dial.
        #[cfg(not(all(unix, feature = "ipc")))]
        Endpoint::Ipc { .. } => link.shutdown().child_token(),
    }
}

/// One way of reaching peers (TCP, IPC...).
pub(crate) trait Transport: Send + Sync + 'static {
    /// A connection.
    type Stream: ByteStream;
    /// A bound listener.
    type Listener: Send + Sync + 'static;

    /// Binds `ep`; returns the listener and the endpoint actually bound.
    fn bind(ep: &Endpoint, options: &SocketOptions) -> io::Result<(Self::Listener, Endpoint)>;

    /// Accepts the next connection.
    fn accept(
        listener: &Self::Listener,
    ) -> impl Future<Output = io::Result<(Self::Stream, PeerAddr)>> + Send;

    /// Dials `ep` once.
    fn dial(
        ep: &Endpoint,
        options: &SocketOptions,
    ) -> impl Future<Output = io::Result<(Self::Stream, PeerAddr)>> + Send;

    /// Applies the socket's options to a new connection (TCP_NODELAY, keepalive...).
    fn configure(stream: &Self::Stream, options: &SocketOptions);
}

/// What the socket tells a connection after its handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(unreachable_pub)] // Named by the socket's sealed `Behaviour` trait; not reachable.
pub struct Attached {
    /// ROUTER: the peer's routing id clashes and handover is off; keep the connection, drop
    /// its messages.
    pub(crate) ignored: bool,
    /// The peer's routing id, for monitor events.
    pub(crate) routing_id: Option<RoutingId>,
}

/// What connections, listeners and dialers need from their socket: its settings, its life, and
/// one pipe's queues. Implemented by the socket layer.
pub(crate) trait SocketLink: Send + Sync + 'static {
    /// The socket's options.
    fn options(&self) -> &SocketOptions;
    /// The socket's type.
    fn socket_type(&self) -> SocketType;
    /// Cancelled when the socket closes.
    fn shutdown(&self) -> &CancellationToken;
    /// Receive buffers shared by the socket's connections.
    fn recv_bufs(&self) -> &RecvBufs;
    /// The socket's monitor streams.
    fn monitors(&self) -> &Monitors;
    /// Keeps a task so that closing the socket can wait for it.
    fn add_task(&self, task: tokio::task::JoinHandle<()>);

    /// Creates a pipe. `persistent`: the connecting side's, which outlives its connections.
    fn new_pipe(&self, persistent: bool) -> (PipeId, Arc<Notify>);
    /// The handshake on `pipe`'s connection is done. `inline`: the connection sends frames as
    /// they are, so small messages may be queued as copies ([`crate::outgoing`]).
    fn attach(&self, pipe: PipeId, peer: &PeerInfo, addr: &PeerAddr, inline: bool) -> Attached;
    /// `pipe`'s connection ended; `keep`: a persistent pipe keeps its queues for the next one.
    fn detach(&self, pipe: PipeId, keep: bool);
    /// Hands over messages received on `pipe`; returns true if the pipe is now at RCVHWM and
    /// the connection should stop reading.
    fn deliver(&self, pipe: PipeId, msgs: &mut Vec<Message>) -> bool;
    /// The routing id of `pipe`'s peer, if known (for monitor events).
    fn routing_id(&self, pipe: PipeId) -> Option<RoutingId>;
    /// True while `pipe`'s inbound queue is above its low-water mark.
    fn inbound_paused(&self, pipe: PipeId) -> bool;
    /// Moves queued outbound messages of `pipe` into `session` until about `max_bytes` are
    /// pending there (`batch` is scratch space). Returns true if the pipe was asked to
    /// disconnect.
    fn fill(
        &self,
        pipe: PipeId,
        session: &mut Session,
        max_bytes: usize,
        batch: &mut VecDeque<Outgoing>,
    ) -> bool;
    /// Takes up to `max` queued outbound messages of `pipe` into `batch`, and about
    /// `max_bytes` of them (judged by the first one's size; at least one if any). Returns true
    /// if the pipe is gone or was asked to disconnect.
    fn take_outbound(
        &self,
        pipe: PipeId,
        max: usize,
        max_bytes: usize,
        batch: &mut Vec<Message>,
    ) -> bool;
    /// True if `pipe` has outbound messages queued.
    fn has_outbound(&self, pipe: PipeId) -> bool;
}

/// A random 32-bit value from the standard library's per-process hash seed (no RNG crate):
/// reconnect jitter and the first generated routing id.
pub(crate) fn random_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    h.finish() as u32
}
