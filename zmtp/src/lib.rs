//! ZMTP 3.x, the ZeroMQ wire protocol, from scratch in Rust.
//!
//! Four layers, each a folder:
//! - [`protocol`] (always built): the **sans-IO core**: greeting, frame codec, commands,
//!   metadata, security [`protocol::mechanism`]s and [`protocol::session::Session`], pure state
//!   machines over bytes with time passed in. No sockets, no clocks, no tokio: this is what the
//!   property tests and the fuzzers drive.
//! - [`routing`] (always built): the **routing rules**, sans-IO over pipe ids: load-balance,
//!   fair-queue, distribute, identity routing.
//! - [`socket`] (feature `tokio`, on by default): one generic [`Socket`] with a behaviour per
//!   type ([`Dealer`], [`Router`]) and libzmq's semantics (round-robin, fair queuing, routing
//!   ids, high-water marks, reconnect, heartbeats), with [`monitor`] events.
//! - `transport` (private, feature `tokio`): TCP, the accept and dial loops, and the connection
//!   driver that runs a `Session` over a byte stream, interoperable with libzmq peers.
//!
//! ```no_run
//! # async fn demo() -> Result<(), zmtp::Error> {
//! use zmtp::{Dealer, Message, SocketOptions};
//!
//! let mut opts = SocketOptions::default();
//! opts.routing_id = Some("client1".into());
//! let dealer = Dealer::with_options(opts)?;
//! dealer.connect("tcp://127.0.0.1:5570")?; // never blocks; queues until the peer is up
//! dealer.send(Message::from("hello")).await?;
//! let reply = dealer.recv().await?;
//! println!("{reply:?}");
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub, rust_2018_idioms)]
#![deny(unused_must_use)]
#![forbid(unsafe_code)]

pub mod endpoint;
pub mod message;
pub mod protocol;
pub mod routing;
pub mod socket_type;

#[cfg(feature = "tokio")]
pub mod auth;
#[cfg(feature = "curve")]
pub mod curve;
#[cfg(feature = "tokio")]
pub mod monitor;
#[cfg(feature = "tokio")]
pub mod options;
#[cfg(feature = "tokio")]
pub mod proxy;
#[cfg(feature = "tokio")]
pub mod socket;
#[cfg(feature = "tokio")]
mod transport;

pub use endpoint::Endpoint;
pub use message::Message;
pub use protocol::{DecodeError, ProtocolError};
pub use routing::RoutingId;
pub use socket_type::SocketType;

#[cfg(feature = "tokio")]
pub use monitor::{Monitor, SocketEvent};
#[cfg(feature = "tokio")]
pub use options::SocketOptions;
#[cfg(feature = "tokio")]
pub use proxy::proxy;
#[cfg(feature = "tokio")]
pub use socket::{router::Routed, Error, Socket};

/// A DEALER socket: round-robin send over its peers, fair-queued receive (RFC 28).
#[cfg(feature = "tokio")]
pub type Dealer = Socket<socket::dealer::DealerBehaviour>;
/// A ROUTER socket: received messages start with the sender's routing id; sent messages are
/// routed by their first frame (RFC 28).
#[cfg(feature = "tokio")]
pub type Router = Socket<socket::router::RouterBehaviour>;
/// A REQ socket: a request to one peer (round-robin), then its reply (RFC 28).
#[cfg(feature = "tokio")]
pub type Req = Socket<socket::req::ReqBehaviour>;
/// A REP socket: a request from a peer (fair-queued), then the reply to it (RFC 28).
#[cfg(feature = "tokio")]
pub type Rep = Socket<socket::rep::RepBehaviour>;
/// A PUB socket: each message to every subscriber of a prefix of its first frame; drops for
/// subscribers at SNDHWM, never waits; does not receive (RFC 29).
#[cfg(feature = "tokio")]
pub type Pub = Socket<socket::publish::PubBehaviour>;
/// A SUB socket: receives the messages of its subscriptions (`subscribe`); does not send
/// (RFC 29).
#[cfg(feature = "tokio")]
pub type Sub = Socket<socket::sub::SubBehaviour>;
/// An XPUB socket: a PUB that hands its subscribers' (un)subscriptions to the application as
/// `0x01`/`0x00` + topic messages (RFC 29).
#[cfg(feature = "tokio")]
pub type XPub = Socket<socket::xpub::XPubBehaviour>;
/// An XSUB socket: a SUB whose subscriptions are `0x01`/`0x00` + topic messages the
/// application sends (RFC 29).
#[cfg(feature = "tokio")]
pub type XSub = Socket<socket::xsub::XSubBehaviour>;
/// A PUSH socket: round-robin send over its peers; does not receive (RFC 30, pipeline).
#[cfg(feature = "tokio")]
pub type Push = Socket<socket::push::PushBehaviour>;
/// A PULL socket: fair-queued receive from its peers; does not send (RFC 30, pipeline).
#[cfg(feature = "tokio")]
pub type Pull = Socket<socket::pull::PullBehaviour>;
/// A PAIR socket: exactly one peer, both directions (RFC 31).
#[cfg(feature = "tokio")]
pub type Pair = Socket<socket::pair::PairBehaviour>;
