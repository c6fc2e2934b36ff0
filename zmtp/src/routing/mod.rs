//! The routing rules of ZeroMQ's socket types, sans-IO: which peer a message goes to and which
//! peer the next message is taken from, over plain pipe ids. No tokio, no queues of their own:
//! the socket layer owns the queues and asks these types to choose.
//!
//! - [`lb::LoadBalance`]: round-robin over the peers with room (DEALER, PUSH, REQ send);
//! - [`fq::FairQueue`]: one message per peer per turn (every receiving type);
//! - [`identity::RoutingTable`]: routing ids, generated ids, clashes and handover (ROUTER);
//! - [`reqrep`]: the REQ and REP state machines and envelopes;
//! - [`subs::Subscriptions`]: counted topic prefixes and the match (PUB, SUB).
//!
//! libzmq has the same split (`src/lb.cpp`, `src/fq.cpp`, `src/router.cpp`). Its `dist.cpp`
//! (to every subscriber with room) is the socket layer's `Publisher` here, which walks its
//! subscribers and their topics in one pass.

pub mod fq;
pub mod identity;
pub mod lb;
pub mod reqrep;
pub mod subs;

pub use identity::RoutingId;

/// Names a pipe (the queues between a socket and one peer) within its socket. Ids are never
/// reused by a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PipeId(pub u64);

/// A map keyed by [`PipeId`]. Ids are sequential numbers, so a multiplicative hash is as good as
/// SipHash here and much cheaper on the per-message path.
pub type PipeIdMap<V> =
    std::collections::HashMap<PipeId, V, std::hash::BuildHasherDefault<PipeIdHasher>>;

/// Hashes a [`PipeId`] by multiplying it with a large odd constant (Fibonacci hashing).
#[derive(Debug, Default, Clone, Copy)]
pub struct PipeIdHasher(u64);

impl std::hash::Hasher for PipeIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}
