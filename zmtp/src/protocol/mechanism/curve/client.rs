//! The CURVE client: HELLO, then INITIATE with the cookie and the vouch, then MESSAGEs (see
//! the module above for the exchange).

use bytes::{BufMut, Bytes, BytesMut};
use crypto_box::{PublicKey, SalsaBox, SecretKey};

use super::{
    field, key32, long_nonce, not_ready, open_box, random_key, read_nonce, seal_box, short_nonce,
    Cipher, Random,
};
use crate::protocol::codec::OutBuf;
use crate::protocol::command::Command;
use crate::protocol::error::{CryptoError, PeerText, ProtocolError};
use crate::protocol::frame::Frame;
use crate::protocol::greeting::MECHANISM_CURVE;
use crate::protocol::mechanism::null::on_command as peer_ready;
use crate::protocol::mechanism::{command, our_metadata, Mechanism, Step};
use crate::protocol::metadata::Metadata;
use crate::socket_type::SocketType;

/// Where a client's handshake is.
enum State {
    /// HELLO sent; WELCOME awaited. The key of C′ with S (HELLO's box, WELCOME's).
    WaitWelcome(SalsaBox),
    /// INITIATE sent; READY awaited. The connection's key (C′ with S′).
    WaitReady(SalsaBox),
    /// Messages flow.
    Ready(Cipher),
    /// Failed.
    Over,
}

/// The CURVE client for one connection.
pub struct CurveClient {
    socket_type: SocketType,
    routing_id: Bytes,
    /// S.
    server_key: [u8; 32],
    /// C and c.
    pub(super) public: [u8; 32],
    secret: SecretKey,
    /// C′ and c′, this connection's.
    pub(super) transient_public: [u8; 32],
    transient_secret: SecretKey,
    random: Random,
    state: State,
}

impl std::fmt::Debug for CurveClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never a secret.
        f.debug_struct("CurveClient")
            .field("socket_type", &self.socket_type)
            .finish_non_exhaustive()
    }
}

/// HELLO's short nonce; INITIATE's is the next, and the first MESSAGE's the one after.
const HELLO_NONCE: u64 = 1;

impl CurveClient {
    /// A client with the permanent key pair `public`/`secret`, for the server whose public key
    /// is `server_key`. Its transient pair is drawn from `random` now.
    pub fn new(
        socket_type: SocketType,
        routing_id: &Bytes,
        server_key: [u8; 32],
        secret: [u8; 32],
        random: Random,
    ) -> CurveClient {
        let secret = SecretKey::from(secret);
        let transient_secret = SecretKey::from(random_key(random));
        let server = PublicKey::from(server_key);
        CurveClient {
            socket_type,
            routing_id: routing_id.clone(),
            server_key,
            public: *secret.public_key().as_bytes(),
            transient_public: *transient_secret.public_key().as_bytes(),
            state: State::WaitWelcome(SalsaBox::new(&server, &transient_secret)),
            secret,
            transient_secret,
            random,
        }
    }

    /// WELCOME: opens the box (S′ and the cookie) and answers with INITIATE.
    fn on_welcome(
        &mut self,
        hello_key: &SalsaBox,
        data: &[u8],
        out: &mut OutBuf,
    ) -> Result<SalsaBox, ProtocolError> {
        if data.len() != 160 {
            return Err(ProtocolError::Decode(
                crate::protocol::error::DecodeError::MalformedCommand(
                    "CURVE WELCOME is not 168 bytes",
                ),
            ));
        }
        let plain = open_box(
            hello_key,
            &long_nonce(b"WELCOME-", &data[..16]),
            &data[16..],
        )
        .ok_or(CryptoError::BadBox(
            "the WELCOME box does not open (the server is not the one whose key we hold?)",
        ))?;
        let server_transient = PublicKey::from(key32(&plain));
        let cookie = &plain[32..128];
        let key = SalsaBox::new(&server_transient, &self.transient_secret);

        // The vouch: C′ and S, boxed from C to S′ under a long nonce.
        let mut vouch_nonce = [0u8; 16];
        (self.random)(&mut vouch_nonce);
        let mut vouched = [0u8; 64];
        vouched[..32].copy_from_slice(&self.transient_public);
        vouched[32..].copy_from_slice(&self.server_key);
        let vouch = seal_box(
            &SalsaBox::new(&server_transient, &self.secret),
            &long_nonce(b"VOUCH---", &vouch_nonce),
            &vouched,
        );

        let metadata = our_metadata(self.socket_type, &self.routing_id);
        let mut inner = Vec::with_capacity(128 + metadata.len());
        inner.extend_from_slice(&self.public);
        inner.extend_from_slice(&vouch_nonce);
        inner.extend_from_slice(&vouch);
        inner.extend_from_slice(&metadata);
        let nonce = HELLO_NONCE + 1;
        let boxed = seal_box(&key, &short_nonce(b"CurveZMQINITIATE", nonce), &inner);
        let mut initiate = BytesMut::with_capacity(96 + 8 + boxed.len());
        initiate.put_slice(cookie);
        initiate.put_u64(nonce);
        initiate.put_slice(&boxed);
        command(b"INITIATE", initiate.freeze()).encode(out);
        Ok(key)
    }
}

impl CurveClient {
    /// The connection's cipher, once the handshake is done.
    fn cipher(&mut self) -> Result<&mut Cipher, ProtocolError> {
        match &mut self.state {
            State::Ready(c) => Ok(c),
            _ => Err(not_ready()),
        }
    }
}

impl Mechanism for CurveClient {
    fn name(&self) -> [u8; 20] {
        MECHANISM_CURVE
    }

    /// HELLO: version 1.0, 72 bytes of padding, C′, the short nonce and Box[64 zeros](C′→S):
    /// 200 bytes with the name.
    fn start(&mut self, out: &mut OutBuf) {
        let State::WaitWelcome(key) = &self.state else {
            return;
        };
        let signature = seal_box(
            key,
            &short_nonce(b"CurveZMQHELLO---", HELLO_NONCE),
            &[0; 64],
        );
        let mut hello = BytesMut::with_capacity(194);
        hello.put_slice(&[1, 0]);
        hello.put_bytes(0, 72);
        hello.put_slice(&self.transient_public);
        hello.put_u64(HELLO_NONCE);
        hello.put_slice(&signature);
        command(b"HELLO", hello.freeze()).encode(out);
    }

    fn on_command(
        &mut self,
        peer_minor: u8,
        body: &Bytes,
        out: &mut OutBuf,
    ) -> Result<Step, ProtocolError> {
        let (name, data) = Command::split(body)?;
        let state = std::mem::replace(&mut self.state, State::Over);
        match (state, name) {
            (State::WaitWelcome(hello_key), b"WELCOME") => {
                let key = self.on_welcome(&hello_key, &data, out)?;
                self.state = State::WaitReady(key);
                Ok(Step::Continue)
            }
            (State::WaitReady(key), b"READY") => {
                field(&data, 0..24, "CURVE READY shorter than 30 bytes")?;
                let nonce = read_nonce(&data, 0);
                let plain = open_box(&key, &short_nonce(b"CurveZMQREADY---", nonce), &data[8..])
                    .ok_or(CryptoError::BadBox("the READY box does not open"))?;
                let md = Metadata::parse(&Bytes::from(plain))?;
                let info = peer_ready(self.socket_type, peer_minor, Command::Ready(md))?;
                self.state = State::Ready(Cipher::client(key, HELLO_NONCE + 2, nonce));
                Ok(Step::Done(info))
            }
            (state, _) => match Command::parse(body)? {
                Command::Error { reason }
                    if matches!(state, State::WaitWelcome(_) | State::WaitReady(_)) =>
                {
                    Err(ProtocolError::PeerError {
                        reason: PeerText::new(&reason),
                    })
                }
                other => Err(ProtocolError::UnexpectedCommand {
                    name: PeerText::new(other.name()),
                }),
            },
        }
    }

    super::sealed_traffic!();
}
