//! CURVE keys (RFC 26): Curve25519 key pairs, shown in Z85 (RFC 32) as libzmq shows them
//! (`zmq_curve_keypair`, `zmq_curve_public`). The CurveZMQ mechanism itself comes next.
//!
//! ```
//! let pair = zmtp::curve::KeyPair::generate();
//! let again = zmtp::curve::KeyPair::from_secret_z85(&pair.secret_z85()).unwrap();
//! assert_eq!(again.public_z85(), pair.public_z85());
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
