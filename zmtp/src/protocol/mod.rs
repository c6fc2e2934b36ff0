//! The sans-IO protocol core: ZMTP 3.x as pure state machines over bytes, with time passed in.
//! No sockets, no clocks, no tokio (this module builds with `--no-default-features`).
//!
//! From the wire up:
//! - [`greeting`]: the 64-byte greeting;
//! - [`frame`] and [`codec`]: frame headers, and [`codec::FrameDecoder`], **where a frame is
//!   parsed**, with [`codec::OutBuf`] for output;
//! - [`command`] and [`metadata`]: command bodies and READY's property list;
//! - [`mechanism`]: the security handshake behind the [`mechanism::Mechanism`] trait (NULL);
//! - [`session`]: one connection (greeting, handshake, message assembly, timers);
//! - [`limits`]: every bound on what a peer can make us hold;
//! - [`error`]: [`DecodeError`] (bytes that do not parse) and [`ProtocolError`] (why a session
//!   ended).

pub mod codec;
pub mod command;
pub mod error;
pub mod frame;
pub mod greeting;
pub mod limits;
pub mod mechanism;
pub mod metadata;
pub mod peer;
pub mod session;
pub mod z85;

pub use error::{DecodeError, ProtocolError};
pub use peer::PeerInfo;
