//! The PLAIN mechanism (RFC 24, libzmq `src/plain_client.cpp`, `src/plain_server.cpp`): the
//! client sends a user name and password in clear text, the server checks them.
//!
//! ```text
//! client                          server
//!   HELLO (user, password)  ──►
//!                           ◄──   WELCOME            (or ERROR "400"/"500")
//!   INITIATE (metadata)     ──►
//!                           ◄──   READY (metadata)
//! ```
//!
//! The server asks the socket for a decision on the credentials ([`Step::Authenticate`]) when
//! authentication is on; without it every client is welcome (libzmq needs a ZAP handler for
//! any PLAIN server; we let the application choose).

use bytes::{BufMut, Bytes, BytesMut};

use super::null::on_command as peer_ready;
use super::{command, AuthDecision, AuthRequest, Mechanism, Step};
use crate::protocol::codec::OutBuf;
use crate::protocol::command::Command;
use crate::protocol::error::{DecodeError, PeerText, ProtocolError};
use crate::protocol::greeting::MECHANISM_PLAIN;
use crate::protocol::metadata::Metadata;
use crate::protocol::peer::PeerInfo;
use crate::socket_type::SocketType;

/// Where a PLAIN handshake is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Client: HELLO sent, WELCOME awaited.
    WaitWelcome,
    /// Client: INITIATE sent, READY awaited.
    WaitReady,
    /// Server: HELLO awaited.
    WaitHello,
    /// Server: the socket decides on the credentials.
    Deciding,
    /// Server: WELCOME sent, INITIATE awaited.
    WaitInitiate,
    /// Over (or failed).
    Done,
}

/// The PLAIN mechanism for one connection, client or server.
#[derive(Debug)]
pub struct Plain {
    socket_type: SocketType,
    routing_id: Bytes,
    server: bool,
    /// Client: the credentials sent.
    username: Bytes,
    password: Bytes,
    /// Server: ask the socket about each client.
    authenticate: bool,
    /// Server: the user id the decision gave.
    user_id: Bytes,
    state: State,
}

impl Plain {
    /// A PLAIN client presenting `username` and `password` (each at most 255 bytes; longer
    /// ones are cut, as they cannot be sent).
    pub fn client(
        socket_type: SocketType,
        routing_id: &Bytes,
        username: &Bytes,
        password: &Bytes,
    ) -> Plain {
        Plain {
            socket_type,
            routing_id: routing_id.clone(),
            server: false,
            username: username.slice(..username.len().min(255)),
            password: password.slice(..password.len().min(255)),
            authenticate: false,
            user_id: Bytes::new(),
            state: State::WaitWelcome,
        }
    }

    /// A PLAIN server; `authenticate`: ask the socket about each client's credentials.
    pub fn server(socket_type: SocketType, routing_id: &Bytes, authenticate: bool) -> Plain {
        Plain {
            socket_type,
            routing_id: routing_id.clone(),
            server: true,
            username: Bytes::new(),
            password: Bytes::new(),
            authenticate,
            user_id: Bytes::new(),
            state: State::WaitHello,
        }
    }

    /// Our metadata (INITIATE or READY).
    fn metadata(&self) -> Bytes {
        super::our_metadata(self.socket_type, &self.routing_id)
    }

    fn unexpected(&mut self, cmd: &Command) -> ProtocolError {
        self.state = State::Done;
        match cmd {
            Command::Error { reason } => ProtocolError::PeerError {
                reason: PeerText::new(reason),
            },
            other => ProtocolError::UnexpectedCommand {
                name: PeerText::new(other.name()),
            },
        }
    }

    /// The server's WELCOME, after the client was accepted.
    fn welcome(&mut self, out: &mut OutBuf) -> Step {
        command(b"WELCOME", Bytes::new()).encode(out);
        self.state = State::WaitInitiate;
        Step::Continue
    }
}

/// HELLO's data: the user name and the password, each with a one-byte length, nothing after.
fn parse_hello(data: &Bytes) -> Result<(Bytes, Bytes), ProtocolError> {
    let bad = || ProtocolError::Decode(DecodeError::MalformedCommand("malformed PLAIN HELLO"));
    let ulen = *data.first().ok_or_else(bad)? as usize;
    let user = data.get(1..1 + ulen).ok_or_else(bad)?;
    let plen = *data.get(1 + ulen).ok_or_else(bad)? as usize;
    if data.len() != 2 + ulen + plen {
        return Err(bad());
    }
    Ok((
        Bytes::copy_from_slice(user),
        data.slice(2 + ulen..2 + ulen + plen),
    ))
}

impl Mechanism for Plain {
    fn name(&self) -> [u8; 20] {
        MECHANISM_PLAIN
    }

    fn as_server(&self) -> bool {
        self.server
    }

    fn start(&mut self, out: &mut OutBuf) {
        if self.server {
            return;
        }
        let mut hello = BytesMut::with_capacity(2 + self.username.len() + self.password.len());
        hello.put_u8(self.username.len() as u8);
        hello.put_slice(&self.username);
        hello.put_u8(self.password.len() as u8);
        hello.put_slice(&self.password);
        command(b"HELLO", hello.freeze()).encode(out);
    }

    fn on_command(
        &mut self,
        peer_minor: u8,
        body: &Bytes,
        out: &mut OutBuf,
    ) -> Result<Step, ProtocolError> {
        let cmd = Command::parse(body)?;
        match (self.state, &cmd) {
            (State::WaitWelcome, Command::Unknown { name, .. }) if &name[..] == b"WELCOME" => {
                command(b"INITIATE", self.metadata()).encode(out);
                self.state = State::WaitReady;
                Ok(Step::Continue)
            }
            (State::WaitReady, Command::Ready(_)) => {
                self.state = State::Done;
                Ok(Step::Done(peer_ready(self.socket_type, peer_minor, cmd)?))
            }
            (State::WaitHello, Command::Unknown { name, data }) if &name[..] == b"HELLO" => {
                let (user, password) = parse_hello(data)?;
                if !self.authenticate {
                    return Ok(self.welcome(out));
                }
                self.state = State::Deciding;
                Ok(Step::Authenticate(AuthRequest {
                    mechanism: "PLAIN",
                    identity: Bytes::new(),
                    credentials: vec![user, password],
                }))
            }
            (State::WaitInitiate, Command::Unknown { name, data }) if &name[..] == b"INITIATE" => {
                let md = Metadata::parse(data)?;
                let mut info: PeerInfo =
                    peer_ready(self.socket_type, peer_minor, Command::Ready(md))?;
                command(b"READY", self.metadata()).encode(out);
                info.user_id = std::mem::take(&mut self.user_id);
                self.state = State::Done;
                Ok(Step::Done(info))
            }
            _ => Err(self.unexpected(&cmd)),
        }
    }

    fn on_auth(&mut self, decision: AuthDecision, out: &mut OutBuf) -> Result<Step, ProtocolError> {
        if self.state != State::Deciding {
            return Err(ProtocolError::UnexpectedCommand {
                name: PeerText::new(b"(authentication decision)"),
            });
        }
        match decision {
            AuthDecision::Accept { user_id } => {
                self.user_id = user_id;
                Ok(self.welcome(out))
            }
            AuthDecision::Deny { status } => {
                self.state = State::Done;
                Err(ProtocolError::AuthenticationFailed { status })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `from`'s output into `to`, one command frame at a time (each frame: flags, size,
    /// body; short frames only).
    fn deliver(from: &mut OutBuf, to: &mut Plain, out: &mut OutBuf) -> Vec<Step> {
        let wire = from.to_vec();
        let n = from.len();
        from.advance(n);
        let mut steps = Vec::new();
        let mut rest = &wire[..];
        while rest.len() >= 2 {
            assert_eq!(rest[0], 0x04, "a short command frame");
            let len = rest[1] as usize;
            let body = Bytes::copy_from_slice(&rest[2..2 + len]);
            steps.push(to.on_command(1, &body, out).unwrap());
            rest = &rest[2 + len..];
        }
        steps
    }

    #[test]
    fn client_and_server_shake_hands_with_libzmq_bytes() {
        let id = Bytes::new();
        let mut c = Plain::client(
            SocketType::Dealer,
            &id,
            &Bytes::from_static(b"admin"),
            &Bytes::from_static(b"secret"),
        );
        let mut s = Plain::server(SocketType::Router, &id, true);
        let (mut co, mut so) = (OutBuf::new(), OutBuf::new());
        c.start(&mut co);
        s.start(&mut so);
        assert!(so.is_empty());
        // HELLO as libzmq's plain_client sends it.
        assert_eq!(co.to_vec(), b"\x04\x13\x05HELLO\x05admin\x06secret");
        let steps = deliver(&mut co, &mut s, &mut so);
        let Step::Authenticate(req) = &steps[0] else {
            panic!("{steps:?}")
        };
        assert_eq!(req.mechanism, "PLAIN");
        assert_eq!(
            req.credentials,
            vec![Bytes::from("admin"), Bytes::from("secret")]
        );
        s.on_auth(
            AuthDecision::Accept {
                user_id: Bytes::from_static(b"admin"),
            },
            &mut so,
        )
        .unwrap();
        assert_eq!(so.to_vec(), b"\x04\x08\x07WELCOME");
        assert_eq!(deliver(&mut so, &mut c, &mut co), vec![Step::Continue]);
        assert!(co
            .to_vec()
            .starts_with(b"\x04\x2c\x08INITIATE\x0bSocket-Type\x00\x00\x00\x06DEALER"));
        let steps = deliver(&mut co, &mut s, &mut so);
        let Step::Done(info) = &steps[0] else {
            panic!("{steps:?}")
        };
        assert_eq!(info.socket_type, Some(SocketType::Dealer));
        assert_eq!(info.user_id, Bytes::from_static(b"admin"));
        assert!(so
            .to_vec()
            .starts_with(b"\x04\x29\x05READY\x0bSocket-Type\x00\x00\x00\x06ROUTER"));
        let steps = deliver(&mut so, &mut c, &mut co);
        assert!(matches!(&steps[0], Step::Done(i) if i.socket_type == Some(SocketType::Router)));
    }

    #[test]
    fn denial_and_bad_input() {
        let id = Bytes::new();
        let mut s = Plain::server(SocketType::Rep, &id, true);
        let mut out = OutBuf::new();
        let hello = Bytes::from_static(b"\x05HELLO\x01u\x01p");
        assert!(matches!(
            s.on_command(1, &hello, &mut out),
            Ok(Step::Authenticate(_))
        ));
        assert_eq!(
            s.on_auth(AuthDecision::Deny { status: 400 }, &mut out),
            Err(ProtocolError::AuthenticationFailed { status: 400 })
        );
        // Malformed HELLOs: a length past the end, extra bytes, nothing.
        for body in [
            &b"\x05HELLO\x09u\x01p"[..],
            b"\x05HELLO\x01u\x01pX",
            b"\x05HELLO",
            b"\x05HELLO\x01u",
        ] {
            let mut s = Plain::server(SocketType::Rep, &id, false);
            assert!(
                s.on_command(1, &Bytes::copy_from_slice(body), &mut out)
                    .is_err(),
                "{body:?}"
            );
        }
        // A client told ERROR gives up with the reason.
        let mut c = Plain::client(SocketType::Req, &id, &Bytes::new(), &Bytes::new());
        assert!(matches!(
            c.on_command(1, &Bytes::from_static(b"\x05ERROR\x03400"), &mut out),
            Err(ProtocolError::PeerError { .. })
        ));
        // A server without authentication welcomes anyone.
        let mut s = Plain::server(SocketType::Rep, &id, false);
        let mut out = OutBuf::new();
        assert_eq!(s.on_command(1, &hello, &mut out), Ok(Step::Continue));
        assert_eq!(out.to_vec(), b"\x04\x08\x07WELCOME");
    }
}
