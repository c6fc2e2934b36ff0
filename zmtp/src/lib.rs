//! ZMTP 3.x, the ZeroMQ wire protocol, from scratch in Rust.
//!
//! Two layers:
//! - **The sans-IO core** (always built): [`greeting`], [`frame`], [`codec`], [`command`],
//!   [`metadata`], [`mechanism`] and [`session::Session`], pure state machines over bytes with
//!   time passed in. No sockets, no clocks, no tokio: this is what the property tests and the
//!   fuzzers drive.
//! - **Sockets on tokio** (feature `tokio`, on by default): [`Dealer`] and [`Router`] with
//!   libzmq's semantics (round-robin, fair queuing, routing ids, high-water marks, reconnect,
//!   heartbeats), bound or connected over TCP and interoperable with libzmq peers.
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

pub mod codec;
pub mod command;
pub mod endpoint;
pub mod error;
pub mod frame;
pub mod greeting;
pub mod mechanism;
pub mod message;
pub mod metadata;
pub mod session;
pub mod socket_type;

#[cfg(feature = "tokio")]
pub mod options;
#[cfg(feature = "tokio")]
pub mod socket;
#[cfg(feature = "tokio")]
mod transport;

pub use endpoint::Endpoint;
pub use error::{DecodeError, ProtocolError};
pub use message::Message;
pub use socket_type::SocketType;

#[cfg(feature = "tokio")]
pub use options::SocketOptions;
#[cfg(feature = "tokio")]
pub use socket::{dealer::Dealer, router::Routed, router::Router, Error, RoutingId};
