//! A pipe: the pair of queues between the socket and one peer.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::Notify;

use super::RoutingId;
use crate::message::Message;

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
