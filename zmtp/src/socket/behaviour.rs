//! What makes a socket type: its routing rules, as a behaviour the generic socket calls under
//! its lock. Everything else (pipes, waiting, bind/connect, close) is written once in `core.rs`
//! and `mod.rs`.

use crate::message::Message;
use crate::monitor::PeerAddr;
use crate::options::SocketOptions;
use crate::protocol::peer::PeerInfo;
use crate::routing::{PipeId, RoutingId};
use crate::socket_type::SocketType;
use crate::transport::Attached;

use super::error::Error;
use super::pipe::Pipes;

/// How a send was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendMode {
    /// `send`: may wait for room (as the type allows).
    Wait,
    /// `try_send`: never waits; every failure is reported.
    Try,
}

/// The outcome of one send attempt.
#[derive(Debug)]
pub enum Attempt<T> {
    /// Done (queued, or dropped as the type's rules say); `T` tells the caller which.
    Done(T),
    /// No room now: the message is handed back, and `send` waits for room.
    Wait(Message),
    /// Failed for good.
    Fail(Error),
}

/// The behaviour of one socket type. Called with the socket's lock held: keep it short.
#[allow(unreachable_pub)] // Sealed: public only as the supertrait of `SocketKind`.
pub trait Behaviour: Send + Sized + 'static {
    /// The type on the wire.
    const TYPE: SocketType;
    /// What `send` returns (`()`, or ROUTER's [`super::router::Routed`]).
    type Sent: std::fmt::Debug;
    /// `received` is given the sender's routing id (cloned per message only if so).
    const RECEIVES_ROUTING_ID: bool;
    /// CONFLATE applies to the type (PUSH, PULL, DEALER, PUB, SUB, as libzmq allows).
    const CONFLATES: bool = false;
    /// The type sends (PULL and SUB do not: `send` is [`Error::NotSupported`]).
    const CAN_SEND: bool = true;
    /// The type receives (PUSH and PUB do not: `recv` is [`Error::NotSupported`], and what a
    /// peer sends anyway is dropped).
    const CAN_RECV: bool = true;
    /// A send never waits for room: the message is queued or dropped (PUB, XPUB, ROUTER).
    /// Such sends take part in tokio's cooperative scheduling, since a tight loop of them on
    /// a current-thread runtime would never let the connection tasks run. The types whose
    /// sends wait at SNDHWM yield there; a coop yield every 128 sends cost them 8 % of their
    /// 16 B throughput (smaller batches per write). Messages of 8 KiB and more are charged
    /// by the byte whatever this says (`Socket::send`).
    const SEND_NEVER_WAITS: bool = false;

    /// The behaviour of a new socket.
    fn new(options: &SocketOptions, seed: u32) -> Self;

    /// A pipe was created (`persistent`: by `connect`). Returns true if it can take messages
    /// already (senders are then woken).
    fn pipe_created(&mut self, id: PipeId, persistent: bool, options: &SocketOptions) -> bool {
        let _ = (id, persistent, options);
        false
    }

    /// The handshake on `id`'s connection is done. Sets the pipe's `routing_id` (the id the
    /// peer is known by, reported in monitor events). By default the peer is known by the id it
    /// announced and its messages flow ([`attach_peer`]).
    fn attach(
        &mut self,
        pipes: &mut Pipes,
        id: PipeId,
        peer: &PeerInfo,
        addr: &PeerAddr,
        options: &SocketOptions,
    ) -> Attached {
        let _ = (addr, options);
        attach_peer(pipes, id, peer)
    }

    /// `id`'s connection ended; `routing_id` is the pipe's. `removed`: the pipe goes away (its
    /// queued output discarded); otherwise it is a connecting pipe kept, with its queues, for
    /// the next connection. By default nothing is kept per peer, so nothing is done.
    fn detach(
        &mut self,
        id: PipeId,
        routing_id: Option<&RoutingId>,
        removed: bool,
        options: &SocketOptions,
    ) {
        let _ = (id, routing_id, removed, options);
    }

    /// Messages to hand the application when `id`'s connection ends for good (XPUB: the
    /// cancels of the topics only that subscriber had).
    fn farewell(&mut self, id: PipeId) -> Vec<Message> {
        let _ = id;
        Vec::new()
    }

    /// Tries to queue `msg` (not empty).
    fn send(
        &mut self,
        pipes: &mut Pipes,
        msg: Message,
        mode: SendMode,
        options: &SocketOptions,
    ) -> Attempt<Self::Sent>;

    /// Messages from `from` about to be queued for `recv`: a type may take some out first
    /// (PUB and XPUB take the subscriptions). Runs even for types that do not receive.
    fn on_deliver(&mut self, pipes: &mut Pipes, from: PipeId, msgs: &mut Vec<Message>) {
        let _ = (pipes, from, msgs);
    }

    /// Whether a receive may start now (REQ before its request, REP before its reply: libzmq's
    /// EFSM).
    fn recv_allowed(&self) -> Result<(), Error> {
        Ok(())
    }

    /// A message taken from `from` (fair-queued), before the application sees it: returns what
    /// the application gets, or `None` to drop it.
    fn received(
        &mut self,
        from: PipeId,
        routing_id: Option<RoutingId>,
        msg: Message,
    ) -> Option<Message>;
}

/// The routing id a peer announced, if any (what non-ROUTER types report to monitors).
pub(crate) fn announced_id(peer: &PeerInfo) -> Option<RoutingId> {
    (!peer.identity.is_empty()).then(|| RoutingId(peer.identity.clone()))
}

/// What most types do when a peer's handshake is done: the pipe is known by the id the peer
/// announced (for monitor events), and its messages flow.
pub(crate) fn attach_peer(pipes: &mut Pipes, id: PipeId, peer: &PeerInfo) -> Attached {
    let routing_id = announced_id(peer);
    if let Some(p) = pipes.get_mut(id) {
        p.routing_id.clone_from(&routing_id);
    }
    Attached {
        ignored: false,
        routing_id,
    }
}

/// Round-robin over the peers with room, as DEALER, PUSH and REQ send: a connecting pipe joins
/// at `connect` (unless IMMEDIATE, as libzmq), an accepted one at its handshake.
#[derive(Debug, Default)]
pub(crate) struct RoundRobin {
    lb: crate::routing::lb::LoadBalance,
}

impl RoundRobin {
    /// For [`Behaviour::pipe_created`].
    pub(crate) fn pipe_created(
        &mut self,
        id: PipeId,
        persistent: bool,
        options: &SocketOptions,
    ) -> bool {
        persistent && !options.immediate && self.lb.attach(id)
    }

    /// For [`Behaviour::attach`].
    pub(crate) fn attach(&mut self, pipes: &mut Pipes, id: PipeId, peer: &PeerInfo) -> Attached {
        self.lb.attach(id);
        attach_peer(pipes, id, peer)
    }

    /// For [`Behaviour::detach`].
    pub(crate) fn detach(&mut self, id: PipeId, removed: bool, options: &SocketOptions) {
        if removed || options.immediate {
            self.lb.detach(id);
        }
    }

    /// The next peer with room under SNDHWM, if any.
    #[inline(always)]
    pub(crate) fn pick(&mut self, pipes: &Pipes, options: &SocketOptions) -> Option<PipeId> {
        let hwm = options.sndhwm;
        self.lb.pick(|id| pipes.has_room(id, hwm))
    }

    /// For [`Behaviour::send`] of DEALER and PUSH: `msg` to the next peer with room, or back
    /// to wait for room.
    #[inline(always)]
    pub(crate) fn send(
        &mut self,
        pipes: &mut Pipes,
        msg: Message,
        options: &SocketOptions,
    ) -> Attempt<()> {
        match self.pick(pipes, options) {
            Some(id) => {
                pipes.push_outbound(id, msg);
                Attempt::Done(())
            }
            None => Attempt::Wait(msg),
        }
    }
}
