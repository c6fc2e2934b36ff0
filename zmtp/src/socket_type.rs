//! Socket types and which pairs may talk (RFC 37 §"The Socket-Type Property").

use std::fmt;

/// A ZeroMQ socket type, as announced in the READY command's `Socket-Type` property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SocketType {
    /// REQ: strict request-reply client.
    Req,
    /// REP: strict request-reply server.
    Rep,
    /// DEALER: round-robin send, fair-queued receive.
    Dealer,
    /// ROUTER: addresses peers by routing id.
    Router,
    /// PUB.
    Pub,
    /// SUB.
    Sub,
    /// XPUB.
    XPub,
    /// XSUB.
    XSub,
    /// PUSH.
    Push,
    /// PULL.
    Pull,
    /// PAIR.
    Pair,
}

impl SocketType {
    /// The name on the wire: upper case, exactly as libzmq writes and compares it.
    pub fn as_str(self) -> &'static str {
        match self {
            SocketType::Req => "REQ",
            SocketType::Rep => "REP",
            SocketType::Dealer => "DEALER",
            SocketType::Router => "ROUTER",
            SocketType::Pub => "PUB",
            SocketType::Sub => "SUB",
            SocketType::XPub => "XPUB",
            SocketType::XSub => "XSUB",
            SocketType::Push => "PUSH",
            SocketType::Pull => "PULL",
            SocketType::Pair => "PAIR",
        }
    }

    /// Parses a wire name. Case-sensitive, as libzmq compares it (`"dealer"` is not a type).
    pub fn from_wire(name: &[u8]) -> Option<SocketType> {
        Some(match name {
            b"REQ" => SocketType::Req,
            b"REP" => SocketType::Rep,
            b"DEALER" => SocketType::Dealer,
            b"ROUTER" => SocketType::Router,
            b"PUB" => SocketType::Pub,
            b"SUB" => SocketType::Sub,
            b"XPUB" => SocketType::XPub,
            b"XSUB" => SocketType::XSub,
            b"PUSH" => SocketType::Push,
            b"PULL" => SocketType::Pull,
            b"PAIR" => SocketType::Pair,
            _ => return None,
        })
    }

    /// Parses a name in any case (`"dealer"`, `"XPub"`), as a user or a configuration file
    /// writes it.
    pub fn from_name(name: &str) -> Option<SocketType> {
        SocketType::from_wire(name.to_ascii_uppercase().as_bytes())
    }

    /// Whether a socket of this type may talk to a peer of type `peer` (RFC 37).
    pub fn is_compatible(self, peer: SocketType) -> bool {
        use SocketType::*;
        matches!(
            (self, peer),
            (Req, Rep | Router)
                | (Rep, Req | Dealer)
                | (Dealer, Rep | Dealer | Router)
                | (Router, Req | Dealer | Router)
                | (Pub | XPub, Sub | XSub)
                | (Sub | XSub, Pub | XPub)
                | (Push, Pull)
                | (Pull, Push)
                | (Pair, Pair)
        )
    }

    /// Whether READY carries an `Identity` property for this type (libzmq sends one, even
    /// empty, for REQ, DEALER and ROUTER).
    pub fn sends_identity(self) -> bool {
        matches!(
            self,
            SocketType::Req | SocketType::Dealer | SocketType::Router
        )
    }
}

impl fmt::Display for SocketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SocketType::*;

    const ALL: [SocketType; 11] = [
        Req, Rep, Dealer, Router, Pub, Sub, XPub, XSub, Push, Pull, Pair,
    ];

    #[test]
    fn names_parse_in_any_case() {
        for t in ALL {
            assert_eq!(SocketType::from_name(&t.as_str().to_lowercase()), Some(t));
        }
        assert_eq!(SocketType::from_name("XPub"), Some(XPub));
        assert_eq!(SocketType::from_name("stream"), None);
    }

    #[test]
    fn wire_names_round_trip_and_are_case_sensitive() {
        for t in ALL {
            assert_eq!(SocketType::from_wire(t.as_str().as_bytes()), Some(t));
        }
        assert_eq!(SocketType::from_wire(b"dealer"), None);
        assert_eq!(SocketType::from_wire(b""), None);
    }

    #[test]
    fn compatibility_is_symmetric_and_matches_rfc37() {
        for a in ALL {
            for b in ALL {
                assert_eq!(a.is_compatible(b), b.is_compatible(a), "{a} vs {b}");
            }
        }
        assert!(Dealer.is_compatible(Router));
        assert!(Dealer.is_compatible(Dealer));
        assert!(Router.is_compatible(Router));
        assert!(Req.is_compatible(Router));
        assert!(Dealer.is_compatible(Rep));
        assert!(!Dealer.is_compatible(Pub));
        assert!(!Router.is_compatible(Rep));
        assert!(!Req.is_compatible(Req));
    }
}
