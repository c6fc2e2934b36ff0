//! Authentication: the decision on each peer during its handshake (libzmq's ZAP handler, RFC
//! 27), as an async [`Authenticator`] set in [`crate::SocketOptions::authenticator`].
//!
//! It sees the mechanism, the peer's address, the routing id it announced and its credentials
//! (PLAIN: user name and password; CURVE: its public key), and answers
//! [`AuthDecision::Accept`] with a user id, or [`AuthDecision::Deny`] with a ZAP status code.
//! A denial closes the connection after an ERROR command (status 400 or 500; a 300, temporary,
//! closes without one, as libzmq); the peer never sees a message, and the socket's monitor
//! reports `HandshakeFailed`.
//!
//! ```
//! use zmtp::auth::{AuthDecision, AuthHandle, AuthPeer};
//! let mut opts = zmtp::SocketOptions::default();
//! opts.plain_server = true;
//! opts.authenticator = Some(AuthHandle::new(|peer: AuthPeer| async move {
//!     if peer.credentials.first().is_some_and(|u| &u[..] == b"admin") {
//!         AuthDecision::Accept { user_id: bytes::Bytes::from_static(b"admin") }
//!     } else {
//!         AuthDecision::Deny { status: 400 }
//!     }
//! }));
//! ```

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;

pub use crate::monitor::PeerAddr;
pub use crate::protocol::mechanism::AuthDecision;

/// What an authenticator is told about a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthPeer {
    /// `"NULL"`, `"PLAIN"` or `"CURVE"`.
    pub mechanism: &'static str,
    /// Where the peer connects from.
    pub address: PeerAddr,
    /// The routing id it announced (empty if none, and always empty for PLAIN, whose
    /// decision comes before the peer's metadata; NULL and CURVE give it).
    pub identity: Bytes,
    /// PLAIN: user name, password. CURVE: the client's 32-byte public key. NULL: none.
    pub credentials: Vec<Bytes>,
}

/// A decision in the making.
pub type AuthFuture = Pin<Box<dyn Future<Output = AuthDecision> + Send + 'static>>;

/// Decides on peers. Implemented for async closures `Fn(AuthPeer) -> impl Future<Output =
/// AuthDecision>`, and by [`AllowAny`] and [`PlainPasswords`].
///
/// # Cancellation
/// The decision's future is dropped unfinished if the socket closes, or the peer's handshake
/// deadline (`handshake_ivl`) passes, while it waits: the peer is then refused. An
/// authenticator that waits on something (a database, another task) must bear being dropped
/// at any `.await`.
pub trait Authenticator: Send + Sync + 'static {
    /// The decision on `peer`.
    fn authenticate(&self, peer: AuthPeer) -> AuthFuture;
}

impl<F, Fut> Authenticator for F
where
    F: Fn(AuthPeer) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = AuthDecision> + Send + 'static,
{
    fn authenticate(&self, peer: AuthPeer) -> AuthFuture {
        Box::pin(self(peer))
    }
}

/// An authenticator, shared by the socket's connections (what the option holds).
#[derive(Clone)]
pub struct AuthHandle(pub(crate) Arc<dyn Authenticator>);

impl AuthHandle {
    /// Wraps an authenticator.
    pub fn new(a: impl Authenticator) -> AuthHandle {
        AuthHandle(Arc::new(a))
    }
}

impl fmt::Debug for AuthHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthHandle(..)")
    }
}

/// Accepts every peer, with an empty user id.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAny;

impl Authenticator for AllowAny {
    fn authenticate(&self, _: AuthPeer) -> AuthFuture {
        Box::pin(std::future::ready(AuthDecision::Accept {
            user_id: Bytes::new(),
        }))
    }
}

/// PLAIN users and their passwords: a client is accepted, with its user name as user id, if
/// its password matches; anything else is denied (400).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PlainPasswords {
    users: HashMap<Bytes, Bytes>,
}

impl fmt::Debug for PlainPasswords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the passwords.
        f.debug_struct("PlainPasswords")
            .field("users", &self.users.len())
            .finish()
    }
}

impl PlainPasswords {
    /// No users.
    pub fn new() -> Self {
        PlainPasswords::default()
    }

    /// Adds (or replaces) a user.
    pub fn insert(&mut self, user: impl Into<Bytes>, password: impl Into<Bytes>) {
        self.users.insert(user.into(), password.into());
    }

    /// Reads `user:password` lines (blank lines and `#` comments skipped; the password is
    /// everything after the first `:`). An error names the first bad line.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut p = PlainPasswords::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let Some((user, password)) = line.split_once(':') else {
                return Err(format!("line {}: expected user:password", i + 1));
            };
            if user.is_empty() || user.len() > 255 || password.len() > 255 {
                return Err(format!(
                    "line {}: user (1..255 bytes) or password (..255) length",
                    i + 1
                ));
            }
            p.insert(user.to_string(), password.to_string());
        }
        Ok(p)
    }

    /// The decision on a PLAIN peer's credentials.
    pub fn check(&self, peer: &AuthPeer) -> AuthDecision {
        match (peer.mechanism, peer.credentials.as_slice()) {
            ("PLAIN", [user, password]) if self.users.get(user) == Some(password) => {
                AuthDecision::Accept {
                    user_id: user.clone(),
                }
            }
            _ => AuthDecision::Deny { status: 400 },
        }
    }
}

impl Authenticator for PlainPasswords {
    fn authenticate(&self, peer: AuthPeer) -> AuthFuture {
        Box::pin(std::future::ready(self.check(&peer)))
    }
}

/// CURVE clients allowed by their public key: a client whose key is on the list is accepted,
/// with the key in Z85 as its user id (as pyzmq's `zmq.auth` does); anything else is denied
/// (400).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CurveKeys {
    keys: HashSet<[u8; 32]>,
}

impl CurveKeys {
    /// No keys.
    pub fn new() -> Self {
        CurveKeys::default()
    }

    /// Allows a key.
    pub fn insert(&mut self, public_key: [u8; 32]) {
        self.keys.insert(public_key);
    }

    /// How many keys are allowed.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True if no key is allowed.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Reads one Z85 public key (40 characters) a line; blank lines and `#` comments are
    /// skipped, as is anything after the key on its line. An error names the first bad line.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut k = CurveKeys::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let key = line.split_whitespace().next().unwrap_or_default();
            let key = crate::protocol::z85::decode_key(key)
                .map_err(|e| format!("line {}: not a Z85 public key: {e}", i + 1))?;
            k.insert(key);
        }
        Ok(k)
    }

    /// The decision on a CURVE peer's public key.
    pub fn check(&self, peer: &AuthPeer) -> AuthDecision {
        match (peer.mechanism, peer.credentials.as_slice()) {
            ("CURVE", [key]) => match <[u8; 32]>::try_from(&key[..]) {
                Ok(k) if self.keys.contains(&k) => AuthDecision::Accept {
                    user_id: Bytes::from(crate::protocol::z85::encode(&k).unwrap_or_default()),
                },
                _ => AuthDecision::Deny { status: 400 },
            },
            _ => AuthDecision::Deny { status: 400 },
        }
    }
}

impl Authenticator for CurveKeys {
    fn authenticate(&self, peer: AuthPeer) -> AuthFuture {
        Box::pin(std::future::ready(self.check(&peer)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(user: &'static str, password: &'static str) -> AuthPeer {
        AuthPeer {
            mechanism: "PLAIN",
            address: PeerAddr::Inproc("x".into()),
            identity: Bytes::new(),
            credentials: vec![Bytes::from(user), Bytes::from(password)],
        }
    }

    #[test]
    fn passwords_from_lines() {
        let p = PlainPasswords::parse("# users\nadmin:se:cret\n\nbob:\n").unwrap();
        assert_eq!(
            p.check(&plain("admin", "se:cret")),
            AuthDecision::Accept {
                user_id: Bytes::from("admin")
            }
        );
        assert_eq!(
            p.check(&plain("bob", "")),
            AuthDecision::Accept {
                user_id: Bytes::from("bob")
            }
        );
        assert_eq!(
            p.check(&plain("admin", "wrong")),
            AuthDecision::Deny { status: 400 }
        );
        assert_eq!(
            p.check(&plain("eve", "")),
            AuthDecision::Deny { status: 400 }
        );
        assert!(PlainPasswords::parse("nocolon").is_err());
        assert!(PlainPasswords::parse(":pw").is_err());
        assert!(!format!("{p:?}").contains("cret"));
    }
}
