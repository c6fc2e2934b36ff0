//! Security mechanisms (RFC 23/37 §"Authentication and Confidentiality"), behind one trait.
//!
//! A [`Mechanism`] runs the handshake that follows the greeting, one command at a time, and
//! after it seals and opens every frame (the identity for NULL; CURVE encrypts each frame into
//! a MESSAGE command). It may stop half-way and ask the socket for an authentication decision
//! ([`Step::Authenticate`], answered with [`AuthDecision`]: ZAP, RFC 27).
//!
//! Adding a mechanism: one file here implementing [`Mechanism`], a variant of
//! [`MechanismConfig`], and its line in [`MechanismConfig::build`].

#[cfg(feature = "curve")]
pub mod curve;
pub mod null;
pub mod plain;

use std::fmt;

use bytes::Bytes;

use crate::protocol::codec::OutBuf;
use crate::protocol::command::Command;
use crate::protocol::error::ProtocolError;
use crate::protocol::frame::Frame;
use crate::protocol::peer::PeerInfo;
use crate::socket_type::SocketType;

/// What a mechanism says after a handshake command (or an authentication decision).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// More handshake commands are needed.
    Continue,
    /// The mechanism waits for the socket's authentication decision on this peer.
    Authenticate(AuthRequest),
    /// The handshake is done; messages may flow.
    Done(PeerInfo),
}

/// What an authenticator is asked (the mechanism's part of a ZAP request, RFC 27; the socket
/// adds the domain and the peer's address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRequest {
    /// The mechanism's name (`"NULL"`, `"PLAIN"`, `"CURVE"`).
    pub mechanism: &'static str,
    /// The routing id the peer announced (empty if none).
    pub identity: Bytes,
    /// The mechanism's credentials: none for NULL, username and password for PLAIN, the
    /// client's public key for CURVE.
    pub credentials: Vec<Bytes>,
}

/// The socket's answer to an [`AuthRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthDecision {
    /// Accepted (ZAP status 200), with the user id to attach to the peer's messages.
    Accept {
        /// The user id (may be empty).
        user_id: Bytes,
    },
    /// Refused, with the ZAP status code: 300 (temporary), 400 (denied) or 500 (internal).
    Deny {
        /// The status code; anything but 300 and 500 counts as 400.
        status: u16,
    },
}

/// The handshake and per-frame transform of one security mechanism, without I/O.
pub trait Mechanism: fmt::Debug + Send {
    /// The 20-byte, NUL-padded name sent in the greeting and required of the peer's.
    fn name(&self) -> [u8; 20];

    /// The greeting's as-server flag.
    fn as_server(&self) -> bool {
        false
    }

    /// Queues the commands we send before hearing from the peer (NULL: READY at once, as
    /// libzmq does, so that it crosses the peer's READY).
    fn start(&mut self, out: &mut OutBuf);

    /// Handles one command frame (its raw body) received during the handshake from a peer
    /// speaking ZMTP 3.`peer_minor`, queuing any answer in `out`.
    fn on_command(
        &mut self,
        peer_minor: u8,
        body: &Bytes,
        out: &mut OutBuf,
    ) -> Result<Step, ProtocolError>;

    /// Resumes after [`Step::Authenticate`] with the socket's decision.
    fn on_auth(&mut self, decision: AuthDecision, out: &mut OutBuf) -> Result<Step, ProtocolError> {
        let _ = (decision, out);
        Err(ProtocolError::UnexpectedCommand {
            name: crate::protocol::error::PeerText::new(b"(authentication decision)"),
        })
    }

    /// True if frames are transformed after the handshake ([`Mechanism::seal`] and
    /// [`Mechanism::open`] are then called for every frame; otherwise never, and frames go
    /// out and come in as they are).
    fn transforms_frames(&self) -> bool {
        false
    }

    /// The bytes [`Mechanism::seal`] adds to a frame (CURVE: 33), so that the frame size
    /// limit (MAXMSGSIZE) applies to the frame carried, not to its wrapping.
    fn frame_overhead(&self) -> usize {
        0
    }

    /// Turns an outgoing frame into what goes on the wire.
    fn seal(&mut self, frame: Frame) -> Result<Frame, ProtocolError> {
        Ok(frame)
    }

    /// Turns a frame from the wire into the frame it carries.
    fn open(&mut self, frame: Frame) -> Result<Frame, ProtocolError> {
        Ok(frame)
    }
}

/// A command with a name the mechanism knows (HELLO, WELCOME...) and `data` after it.
pub(crate) fn command(name: &'static [u8], data: Bytes) -> Command {
    Command::Unknown {
        name: Bytes::from_static(name),
        data,
    }
}

/// Our metadata as INITIATE or READY carry it: `Socket-Type`, then `Identity` where libzmq
/// sends it.
pub(crate) fn our_metadata(socket_type: SocketType, routing_id: &Bytes) -> Bytes {
    let mut b = bytes::BytesMut::new();
    if let Command::Ready(md) = null::ready_command(socket_type, routing_id) {
        md.encode(&mut b);
    }
    b.freeze()
}

/// What stands in for a mechanism whose work is over (the handshake is done and it does not
/// transform frames): it holds nothing, so a boxed one costs no memory. Any handshake input
/// is an error.
#[derive(Debug)]
pub(crate) struct Spent;

impl Mechanism for Spent {
    fn name(&self) -> [u8; 20] {
        [0; 20]
    }

    fn start(&mut self, _: &mut OutBuf) {}

    fn on_command(&mut self, _: u8, body: &Bytes, _: &mut OutBuf) -> Result<Step, ProtocolError> {
        let name = body.get(1..).unwrap_or_default();
        Err(ProtocolError::UnexpectedCommand {
            name: crate::protocol::error::PeerText::new(name),
        })
    }
}

/// Which mechanism a session runs, with its settings. Adding a mechanism adds a variant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum MechanismConfig {
    /// NULL (RFC 23/37): no security.
    #[default]
    Null,
    /// PLAIN client (RFC 24): a user name and password, in clear text.
    PlainClient {
        /// The user name (at most 255 bytes).
        username: Bytes,
        /// The password (at most 255 bytes).
        password: Bytes,
    },
    /// PLAIN server (RFC 24): with `authenticate`, each client's credentials are decided on.
    PlainServer,
    /// CURVE client (RFC 26), with its permanent key pair (given by its secret key), for the
    /// server whose public key is `server_key`.
    #[cfg(feature = "curve")]
    CurveClient {
        /// The server's public key (S).
        server_key: [u8; 32],
        /// Our permanent secret key (c); the public key is derived from it.
        secret_key: [u8; 32],
    },
    /// CURVE server (RFC 26) with its permanent secret key; with `authenticate`, each
    /// client's public key is decided on.
    #[cfg(feature = "curve")]
    CurveServer {
        /// Our permanent secret key (s).
        secret_key: [u8; 32],
    },
}

impl MechanismConfig {
    /// Builds the mechanism for one connection of a socket of type `socket_type` with routing
    /// id `routing_id` (empty = none). `authenticate`: ask the socket for a decision on every
    /// peer (ZAP) before the handshake completes.
    pub fn build(
        &self,
        socket_type: SocketType,
        routing_id: &Bytes,
        authenticate: bool,
    ) -> Box<dyn Mechanism> {
        match self {
            MechanismConfig::Null => {
                Box::new(null::Null::new(socket_type, routing_id, authenticate))
            }
            MechanismConfig::PlainClient { username, password } => Box::new(plain::Plain::client(
                socket_type,
                routing_id,
                username,
                password,
            )),
            MechanismConfig::PlainServer => {
                Box::new(plain::Plain::server(socket_type, routing_id, authenticate))
            }
            #[cfg(feature = "curve")]
            MechanismConfig::CurveClient {
                server_key,
                secret_key,
            } => Box::new(curve::CurveClient::new(
                socket_type,
                routing_id,
                *server_key,
                *secret_key,
                curve::os_random,
            )),
            #[cfg(feature = "curve")]
            MechanismConfig::CurveServer { secret_key } => Box::new(curve::CurveServer::new(
                socket_type,
                routing_id,
                *secret_key,
                authenticate,
                curve::os_random,
            )),
        }
    }
}
