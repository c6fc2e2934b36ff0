//! A pipe: the pair of queues between the socket and one peer.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use tokio::sync::Notify;

use super::RoutingId;
use crate::message::Message;

/// The pipes of a socket by id. Ids are sequential numbers, so a multiplicative hash is as
/// good as SipHash here and much cheaper on the per-message path. Boxed: the table keeps
/// up to twice as many slots as pipes, and a slot then costs 16 bytes instead of a whole
/// `Pipe` (memory per idle connection).
pub(crate) type PipeMap = HashMap<PipeId, Box<Pipe>, BuildHasherDefault<PipeIdHasher>>;

/// Hashes a [`PipeId`] by multiplying it with a large odd constant (Fibonacci hashing).
#[derive(Debug, Default)]
pub(crate) struct PipeIdHasher(u64);

impl Hasher for PipeIdHasher {
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

/// Names a pipe within its socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct PipeId(pub(crate) u64);

/// The queues and flags of one peer.
#[derive(Debug)]
pub(crate) struct Pipe {
    /// Complete messages received, waiting for `recv` (bounded by RCVHWM, give or take one
    /// read's worth).
    pub(crate) inbound: VecDeque<Message>,
    /// Complete messages to send, waiting for the connection (bounded by SNDHWM).
    pub(crate) outbound: VecDeque<Message>,
    /// Wakes the connection task: outbound has data, inbound has room again, close, kick.
    pub(crate) notify: Arc<Notify>,
    /// ROUTER: the peer's routing id, once known.
    pub(crate) routing_id: Option<RoutingId>,
    /// A handshaked connection is up.
    pub(crate) connected: bool,
    /// In the DEALER round-robin.
    pub(crate) active: bool,
    /// In the fair-queue ring.
    pub(crate) in_ring: bool,
    /// ROUTER: a newcomer whose routing id was taken; its messages are dropped.
    pub(crate) ignored: bool,
    /// The connecting side's pipe: survives reconnects.
    pub(crate) persistent: bool,
    /// Asked to disconnect (ROUTER_HANDOVER, `Router::disconnect_peer`).
    pub(crate) kick: bool,
    /// The connection is gone; the pipe lives until its inbound messages are read.
    pub(crate) dead: bool,
    /// The connection stopped reading because inbound reached RCVHWM.
    pub(crate) reader_paused: bool,
    /// Inbound length at or below which a paused reader resumes.
    pub(crate) low_water: usize,
}

impl Pipe {
    pub(crate) fn new(notify: Arc<Notify>, persistent: bool, rcvhwm: usize) -> Pipe {
        Pipe {
            inbound: VecDeque::new(),
            outbound: VecDeque::new(),
            notify,
            routing_id: None,
            connected: false,
            active: false,
            in_ring: false,
            ignored: false,
            persistent,
            kick: false,
            dead: false,
            reader_paused: false,
            low_water: rcvhwm.div_ceil(2),
        }
    }

    /// True if the outbound queue is at SNDHWM (`0` = no limit).
    pub(crate) fn is_full(&self, sndhwm: usize) -> bool {
        sndhwm != 0 && self.outbound.len() >= sndhwm
    }
}
