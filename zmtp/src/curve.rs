//! CURVE keys (RFC 26): Curve25519 key pairs, shown in Z85 (RFC 32) as libzmq shows them
//! (`zmq_curve_keypair`, `zmq_curve_public`). The mechanism itself is
//! [`crate::protocol::mechanism::curve`]; sockets turn it on with the options
//! `curve_server`, `curve_secretkey` and `curve_serverkey`.
//!
//! ```
//! let pair = zmtp::curve::KeyPair::generate();
//! let again = zmtp::curve::KeyPair::from_secret_z85(&pair.secret_z85()).unwrap();
//! assert_eq!(again.public_z85(), pair.public_z85());
//! ```
//!
//! A CURVE server that lets in one client key, and that client:
//!
//! ```
//! # #[cfg(feature = "tokio")]
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use zmtp::{auth::{AuthHandle, CurveKeys}, curve::KeyPair, Dealer, Router, SocketOptions};
//!
//! let server_keys = KeyPair::generate();
//! let client_keys = KeyPair::generate();
//!
//! let mut opts = SocketOptions::default();
//! opts.curve_server = true; // ZMQ_CURVE_SERVER
//! opts.curve_secretkey = Some(server_keys.secret); // ZMQ_CURVE_SECRETKEY
//! let mut allowed = CurveKeys::new();
//! allowed.insert(client_keys.public);
//! opts.authenticator = Some(AuthHandle::new(allowed));
//! let router = Router::with_options(opts)?;
//! let ep = router.bind("tcp://127.0.0.1:0")?;
//!
//! let mut opts = SocketOptions::default();
//! opts.curve_serverkey = Some(server_keys.public); // ZMQ_CURVE_SERVERKEY: a CURVE client
//! opts.curve_secretkey = Some(client_keys.secret); // its own pair (fresh if not given)
//! let dealer = Dealer::with_options(opts)?;
//! dealer.connect(&ep.to_string())?;
//! dealer.send("hello").await?;
//! let msg = router.recv().await?;
//! assert_eq!(&msg.frames()[1][..], b"hello");
//! assert_eq!(msg.property("User-Id"), Some(client_keys.public_z85().as_bytes()));
//! # dealer.close().await;
//! # router.close().await;
//! # Ok::<(), zmtp::Error>(())
//! # }).unwrap();
//! ```

use crypto_box::aead::OsRng;
use crypto_box::SecretKey;

use crate::protocol::z85::{self, Z85Error};

/// A Curve25519 key pair.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyPair {
    /// The public key.
    pub public: [u8; 32],
    /// The secret key.
    pub secret: [u8; 32],
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("KeyPair")
            .field("public", &self.public_z85())
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    /// A new random pair, from the operating system's generator.
    pub fn generate() -> KeyPair {
        KeyPair::from_secret(SecretKey::generate(&mut OsRng).to_bytes())
    }

    /// The pair of a secret key: its public key derived (libzmq's `zmq_curve_public`).
    pub fn from_secret(secret: [u8; 32]) -> KeyPair {
        let public = *SecretKey::from(secret).public_key().as_bytes();
        KeyPair { public, secret }
    }

    /// The pair of a secret key in Z85 (40 characters).
    pub fn from_secret_z85(secret: &str) -> Result<KeyPair, Z85Error> {
        Ok(KeyPair::from_secret(z85::decode_key(secret)?))
    }

    /// The public key in Z85 (40 characters).
    pub fn public_z85(&self) -> String {
        z85::encode(&self.public).unwrap_or_default()
    }

    /// The secret key in Z85 (40 characters).
    pub fn secret_z85(&self) -> String {
        z85::encode(&self.secret).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libzmq_test_pair_derives() {
        // libzmq's tests/testutil_security.cpp server pair (pyzmq confirms it:
        // zmq.curve_public(secret) == public).
        let pair = KeyPair::from_secret_z85("JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6").unwrap();
        assert_eq!(
            pair.public_z85(),
            "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
        );
        assert!(!format!("{pair:?}").contains("JTKVSB"));
    }

    #[test]
    fn generated_pairs_differ_and_derive() {
        let (a, b) = (KeyPair::generate(), KeyPair::generate());
        assert_ne!(a.secret, b.secret);
        assert_eq!(KeyPair::from_secret(a.secret), a);
        assert_eq!(a.public_z85().len(), 40);
        assert_eq!(a.secret_z85().len(), 40);
    }
}
