//! ROUTER: prefixes each received message with the sender's routing id and routes each sent
//! message by its first frame (libzmq `src/router.cpp`). Without ROUTER_MANDATORY a message for
//! an unknown or full peer is dropped; the routing table lives in
//! [`crate::routing::identity`].

use super::behaviour::{Attempt, Behaviour, SendMode};
use super::error::Error;
use super::pipe::Pipes;
use super::Socket;
use crate::message::Message;
use crate::monitor::PeerAddr;
use crate::options::SocketOptions;
use crate::protocol::peer::PeerInfo;
use crate::routing::identity::{Identified, RoutingTable};
use crate::routing::{PipeId, RoutingId};
use crate::socket_type::SocketType;
use crate::transport::Attached;

/// What happened to a message given to [`crate::Router`]'s `send` (without ROUTER_MANDATORY,
/// drops are silent on the wire, as in libzmq; this tells the caller).
///
/// `#[must_use]`: `router.send(msg).await?;` alone warns, since a dropped message would go
/// unnoticed. Check it (`if routed != Routed::Queued { ... }`), or discard it on purpose
/// (`let _ = router.send(msg).await?;`) where a drop is acceptable, as with libzmq's ROUTER.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "the message may have been dropped: check for `Routed::Queued`, or `let _ =` to \
              accept drops"]
pub enum Routed {
    /// Queued for the peer.
    Queued,
    /// Dropped: no peer has this routing id (or the message had no frame after the id).
    Unroutable,
    /// Dropped: the peer's queue is at SNDHWM.
    Full,
}

/// The ROUTER socket type's rules; the socket is [`crate::Router`].
#[derive(Debug)]
pub struct RouterBehaviour {
    table: RoutingTable,
}

impl Behaviour for RouterBehaviour {
    const TYPE: SocketType = SocketType::Router;
    type Sent = Routed;
    const RECEIVES_ROUTING_ID: bool = true;
    const SEND_NEVER_WAITS: bool = true;

    fn new(_: &SocketOptions, seed: u32) -> Self {
        RouterBehaviour {
            table: RoutingTable::new(seed),
        }
    }

    /// Gives the pipe its routing id: the peer's `Identity` if it sent one, else a generated
    /// one. A clash keeps the old peer (the newcomer is ignored, and logged) unless
    /// ROUTER_HANDOVER, where the newcomer takes the id and the old connection is closed.
    fn attach(
        &mut self,
        pipes: &mut Pipes,
        id: PipeId,
        peer: &PeerInfo,
        addr: &PeerAddr,
        options: &SocketOptions,
    ) -> Attached {
        let previous = pipes.get(id).and_then(|p| p.routing_id.clone());
        let (rid, ignored) = match self.table.identify(
            id,
            previous.as_ref(),
            &peer.identity,
            options.router_handover,
        ) {
            Identified::Routed(rid) => (rid, false),
            Identified::Ignored(rid) => {
                if let Some(left_out) = crate::transport::loglimit::DUPLICATE_PEER.check() {
                    tracing::warn!(
                        target: crate::transport::loglimit::ROUTING,
                        peer = %addr,
                        socket_type = %SocketType::Router,
                        routing_id = %rid,
                        left_out,
                        "duplicate routing id: new connection ignored (set router_handover to let it take over)"
                    );
                }
                (rid, true)
            }
            Identified::HandedOver { id: rid, previous } => {
                tracing::info!(
                    target: crate::transport::loglimit::ROUTING,
                    peer = %addr,
                    socket_type = %SocketType::Router,
                    routing_id = %rid,
                    "routing id handed over to new connection"
                );
                pipes.kick(previous);
                (rid, false)
            }
        };
        // Kept for an ignored newcomer too: its messages are dropped before anyone reads
        // them, and monitor events name it.
        if let Some(p) = pipes.get_mut(id) {
            p.routing_id = Some(rid.clone());
        }
        Attached {
            ignored,
            routing_id: Some(rid),
        }
    }

    fn detach(
        &mut self,
        id: PipeId,
        routing_id: Option<&RoutingId>,
        removed: bool,
        _: &SocketOptions,
    ) {
        if let (true, Some(rid)) = (removed, routing_id) {
            self.table.remove(id, rid);
        }
    }

    #[inline]
    fn send(
        &mut self,
        pipes: &mut Pipes,
        mut msg: Message,
        mode: SendMode,
        options: &SocketOptions,
    ) -> Attempt<Routed> {
        let Some(id) = msg.pop_front() else {
            return Attempt::Fail(Error::EmptyMessage);
        };
        let rid = RoutingId(id);
        // libzmq: an id frame without MORE (nothing after it) discards the message.
        if msg.is_empty() {
            return match mode {
                SendMode::Wait => Attempt::Done(Routed::Unroutable),
                SendMode::Try => Attempt::Fail(Error::EmptyMessage),
            };
        }
        // A caller who waits for room (mandatory) or must hear of every failure (`try_send`).
        let strict = mode == SendMode::Try || options.router_mandatory;
        let Some(pid) = self.table.lookup(&rid).filter(|&p| pipes.get(p).is_some()) else {
            return if strict {
                Attempt::Fail(Error::HostUnreachable(rid))
            } else {
                Attempt::Done(Routed::Unroutable)
            };
        };
        if !pipes.has_room(pid, options.sndhwm) {
            if !strict {
                return Attempt::Done(Routed::Full);
            }
            msg.push_front(rid.0);
            return Attempt::Wait(msg);
        }
        pipes.push_outbound(pid, msg);
        Attempt::Done(Routed::Queued)
    }

    #[inline]
    fn received(&mut self, _: PipeId, rid: Option<RoutingId>, mut msg: Message) -> Option<Message> {
        msg.push_front(rid.map(|i| i.0).unwrap_or_default());
        Some(msg)
    }
}

impl super::SocketKind for RouterBehaviour {}

/// ROUTER-only calls.
impl Socket<RouterBehaviour> {
    /// Closes the connection of the peer with this routing id (its queues are dropped). Returns
    /// false if no peer has it. A connecting peer will dial again.
    pub fn disconnect_peer(&self, id: &RoutingId) -> bool {
        self.core()
            .with_behaviour(|b, pipes| match b.table.lookup(id) {
                // The peer is unroutable at once, so senders waiting for its room are woken (to
                // fail).
                Some(pid) => {
                    b.table.remove(pid, id);
                    pipes.kick(pid);
                    (true, true)
                }
                None => (false, false),
            })
    }

    /// True if a connected peer has this routing id.
    pub fn has_peer(&self, id: &RoutingId) -> bool {
        self.core()
            .with_behaviour(|b, _| (b.table.lookup(id).is_some(), false))
    }

    /// The routing ids of the connected peers (those that finished their handshake and can be
    /// sent to), in no particular order. With [`Socket::monitor`]'s `HandshakeSucceeded` and
    /// `Disconnected`, what a broker needs to know its workers.
    pub fn peers(&self) -> Vec<RoutingId> {
        self.core()
            .with_behaviour(|b, _| (b.table.ids().cloned().collect(), false))
    }

    /// How many peers are connected (see [`Socket::peers`]).
    pub fn peer_count(&self) -> usize {
        self.core().with_behaviour(|b, _| (b.table.len(), false))
    }
}
