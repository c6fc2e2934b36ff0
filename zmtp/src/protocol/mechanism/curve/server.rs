//! The CURVE server: WELCOME with a cookie, the checks on INITIATE (cookie, box, vouch), an
//! optional authentication decision on the client's public key, then READY (see the module
//! above for the exchange).

use bytes::{BufMut, Bytes, BytesMut};
use crypto_box::{PublicKey, SalsaBox, SecretKey};
use crypto_secretbox::aead::KeyInit;
use crypto_secretbox::XSalsa20Poly1305;

use super::{
    key32, long_nonce, not_ready, open_box, random_key, read_nonce, seal_box, short_nonce, Cipher,
    Random,
};
use crate::protocol::codec::OutBuf;
use crate::protocol::command::Command;
use crate::protocol::error::{CryptoError, DecodeError, PeerText, ProtocolError};
use crate::protocol::frame::Frame;
use crate::protocol::greeting::MECHANISM_CURVE;
use crate::protocol::mechanism::null::on_command as peer_ready;
use crate::protocol::mechanism::{
    command, our_metadata, AuthDecision, AuthRequest, Mechanism, Step,
};
use crate::protocol::metadata::Metadata;
use crate::protocol::peer::PeerInfo;
use crate::socket_type::SocketType;

/// What the server keeps between WELCOME and INITIATE.
struct Welcomed {
    /// C′.
    client_transient: [u8; 32],
    /// s′ (S′ went to the client inside WELCOME).
    transient_secret: SecretKey,
    /// The cookie key, fresh for this connection.
    cookie_key: XSalsa20Poly1305,
}

/// Where a server's handshake is.
enum State {
    /// HELLO awaited.
    WaitHello,
    /// WELCOME sent; INITIATE awaited.
    WaitInitiate(Box<Welcomed>),
    /// The socket decides on the client's key; the connection's key, the client's last nonce
    /// and what its INITIATE told.
    Deciding(SalsaBox, u64, Box<PeerInfo>),
    /// Messages flow.
    Ready(Cipher),
    /// Failed.
    Over,
}

/// The CURVE server for one connection.
pub struct CurveServer {
    socket_type: SocketType,
    routing_id: Bytes,
    /// S and s.
    public: [u8; 32],
    secret: SecretKey,
    /// Ask the socket about each client's key.
    authenticate: bool,
    random: Random,
    state: State,
}

impl std::fmt::Debug for CurveServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never a secret.
        f.debug_struct("CurveServer")
            .field("socket_type", &self.socket_type)
            .finish_non_exhaustive()
    }
}

/// READY's short nonce; the first MESSAGE's is the next.
const READY_NONCE: u64 = 1;

fn malformed(what: &'static str) -> ProtocolError {
    ProtocolError::Decode(DecodeError::MalformedCommand(what))
}

impl CurveServer {
    /// A server with the permanent secret key `secret`. `authenticate`: ask the socket about
    /// each client's public key; without it any client that knows our public key is served
    /// (the "Stonehouse" pattern: encryption without a check on who the client is).
    pub fn new(
        socket_type: SocketType,
        routing_id: &Bytes,
        secret: [u8; 32],
        authenticate: bool,
        random: Random,
    ) -> CurveServer {
        let secret = SecretKey::from(secret);
        CurveServer {
            socket_type,
            routing_id: routing_id.clone(),
            public: *secret.public_key().as_bytes(),
            secret,
            authenticate,
            random,
            state: State::WaitHello,
        }
    }

    /// HELLO: checks the client's box and answers with WELCOME (S′ and the cookie).
    fn on_hello(&mut self, data: &[u8], out: &mut OutBuf) -> Result<Box<Welcomed>, ProtocolError> {
        if data.len() != 194 {
            return Err(malformed("CURVE HELLO is not 200 bytes"));
        }
        if data[..2] != [1, 0] {
            return Err(malformed("CURVE HELLO version is not 1.0"));
        }
        let client_transient = key32(&data[74..106]);
        let nonce = read_nonce(data, 106);
        let hello_key = SalsaBox::new(&PublicKey::from(client_transient), &self.secret);
        open_box(
            &hello_key,
            &short_nonce(b"CurveZMQHELLO---", nonce),
            &data[114..194],
        )
        .ok_or(CryptoError::BadBox(
            "the HELLO box does not open (the client holds another server key?)",
        ))?;

        let transient_secret = SecretKey::from(random_key(self.random));
        let cookie_key = XSalsa20Poly1305::new(&random_key(self.random).into());
        let mut cookie_nonce = [0u8; 16];
        (self.random)(&mut cookie_nonce);
        let mut cookie_plain = [0u8; 64];
        cookie_plain[..32].copy_from_slice(&client_transient);
        cookie_plain[32..].copy_from_slice(&transient_secret.to_bytes());
        let cookie = seal_box(
            &cookie_key,
            &long_nonce(b"COOKIE--", &cookie_nonce),
            &cookie_plain,
        );
        cookie_plain.fill(0);

        let mut welcome_plain = [0u8; 128];
        welcome_plain[..32].copy_from_slice(transient_secret.public_key().as_bytes());
        welcome_plain[32..48].copy_from_slice(&cookie_nonce);
        welcome_plain[48..].copy_from_slice(&cookie);
        let mut welcome_nonce = [0u8; 16];
        (self.random)(&mut welcome_nonce);
        let boxed = seal_box(
            &hello_key,
            &long_nonce(b"WELCOME-", &welcome_nonce),
            &welcome_plain,
        );
        let mut welcome = BytesMut::with_capacity(160);
        welcome.put_slice(&welcome_nonce);
        welcome.put_slice(&boxed);
        command(b"WELCOME", welcome.freeze()).encode(out);
        Ok(Box::new(Welcomed {
            client_transient,
            transient_secret,
            cookie_key,
        }))
    }

    /// INITIATE: the cookie must be ours and name this connection's C′ and s′, the box must
    /// open, and the vouch must be C′ and S boxed by the client's permanent key C. Gives the
    /// connection's key, the client's nonce, its key C and what its metadata told.
    fn on_initiate(
        &self,
        w: &Welcomed,
        peer_minor: u8,
        data: &[u8],
    ) -> Result<(SalsaBox, u64, [u8; 32], PeerInfo), ProtocolError> {
        if data.len() < 248 {
            return Err(malformed("CURVE INITIATE shorter than 257 bytes"));
        }
        let cookie = open_box(
            &w.cookie_key,
            &long_nonce(b"COOKIE--", &data[..16]),
            &data[16..96],
        )
        .ok_or(CryptoError::BadBox(
            "the INITIATE cookie does not open (not this connection's)",
        ))?;
        if cookie[..32] != w.client_transient || cookie[32..64] != w.transient_secret.to_bytes() {
            return Err(CryptoError::KeyMismatch("the cookie names other keys").into());
        }
        let nonce = read_nonce(data, 96);
        let key = SalsaBox::new(&PublicKey::from(w.client_transient), &w.transient_secret);
        let plain = open_box(&key, &short_nonce(b"CurveZMQINITIATE", nonce), &data[104..])
            .ok_or(CryptoError::BadBox("the INITIATE box does not open"))?;
        let client_key = key32(&plain);
        let vouch = open_box(
            &SalsaBox::new(&PublicKey::from(client_key), &w.transient_secret),
            &long_nonce(b"VOUCH---", &plain[32..48]),
            &plain[48..128],
        )
        .ok_or(CryptoError::BadBox(
            "the vouch does not open (not boxed by the client's key)",
        ))?;
        if vouch[..32] != w.client_transient || vouch[32..64] != self.public {
            return Err(
                CryptoError::KeyMismatch("the vouch names another connection or server").into(),
            );
        }
        let md = Metadata::parse(&Bytes::copy_from_slice(&plain[128..]))?;
        let info = peer_ready(self.socket_type, peer_minor, Command::Ready(md))?;
        Ok((key, nonce, client_key, info))
    }

    /// READY: our metadata under the connection's key, with the first short nonce.
    fn ready(&mut self, key: SalsaBox, peer_nonce: u64, info: PeerInfo, out: &mut OutBuf) -> Step {
        let metadata = our_metadata(self.socket_type, &self.routing_id);
        let boxed = seal_box(
            &key,
            &short_nonce(b"CurveZMQREADY---", READY_NONCE),
            &metadata,
        );
        let mut ready = BytesMut::with_capacity(8 + boxed.len());
        ready.put_u64(READY_NONCE);
        ready.put_slice(&boxed);
        command(b"READY", ready.freeze()).encode(out);
        self.state = State::Ready(Cipher::server(key, READY_NONCE + 1, peer_nonce));
        Step::Done(info)
    }
}

impl CurveServer {
    /// The connection's cipher, once the handshake is done.
    fn cipher(&mut self) -> Result<&mut Cipher, ProtocolError> {
        match &mut self.state {
            State::Ready(c) => Ok(c),
            _ => Err(not_ready()),
        }
    }
}

impl Mechanism for CurveServer {
    fn name(&self) -> [u8; 20] {
        MECHANISM_CURVE
    }

    fn as_server(&self) -> bool {
        true
    }

    fn start(&mut self, _: &mut OutBuf) {}

    fn on_command(
        &mut self,
        peer_minor: u8,
        body: &Bytes,
        out: &mut OutBuf,
    ) -> Result<Step, ProtocolError> {
        let cmd = Command::parse(body)?;
        let state = std::mem::replace(&mut self.state, State::Over);
        match (state, &cmd) {
            (State::WaitHello, Command::Unknown { name, data }) if &name[..] == b"HELLO" => {
                let w = self.on_hello(data, out)?;
                self.state = State::WaitInitiate(w);
                Ok(Step::Continue)
            }
            (State::WaitInitiate(w), Command::Unknown { name, data })
                if &name[..] == b"INITIATE" =>
            {
                let (key, nonce, client_key, info) = self.on_initiate(&w, peer_minor, data)?;
                drop(w);
                if !self.authenticate {
                    return Ok(self.ready(key, nonce, info, out));
                }
                let request = AuthRequest {
                    mechanism: "CURVE",
                    identity: info.identity.clone(),
                    credentials: vec![Bytes::copy_from_slice(&client_key)],
                };
                self.state = State::Deciding(key, nonce, Box::new(info));
                Ok(Step::Authenticate(request))
            }
            (_, other) => Err(ProtocolError::UnexpectedCommand {
                name: PeerText::new(other.name()),
            }),
        }
    }

    fn on_auth(&mut self, decision: AuthDecision, out: &mut OutBuf) -> Result<Step, ProtocolError> {
        let State::Deciding(key, nonce, mut info) = std::mem::replace(&mut self.state, State::Over)
        else {
            return Err(ProtocolError::UnexpectedCommand {
                name: PeerText::new(b"(authentication decision)"),
            });
        };
        match decision {
            AuthDecision::Accept { user_id } => {
                info.user_id = user_id;
                Ok(self.ready(key, nonce, *info, out))
            }
            AuthDecision::Deny { status } => Err(ProtocolError::AuthenticationFailed { status }),
        }
    }

    super::sealed_traffic!();
}
