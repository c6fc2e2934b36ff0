//! DEALER: sends round-robin over the peers with room under SNDHWM, receives fair-queued
//! (libzmq `src/dealer.cpp`; RFC 28). A send waits while no peer has room: nothing is dropped.

use super::behaviour::{Attempt, Behaviour, RoundRobin, SendMode};
use super::pipe::Pipes;
use crate::message::Message;
use crate::monitor::PeerAddr;
use crate::options::SocketOptions;
use crate::protocol::peer::PeerInfo;
use crate::routing::{PipeId, RoutingId};
use crate::socket_type::SocketType;
use crate::transport::Attached;

/// The DEALER socket type's rules; the socket is [`crate::Dealer`].
#[derive(Debug)]
pub struct DealerBehaviour {
    rr: RoundRobin,
}

impl Behaviour for DealerBehaviour {
    const TYPE: SocketType = SocketType::Dealer;
    type Sent = ();
    const RECEIVES_ROUTING_ID: bool = false;
    const CONFLATES: bool = true;

    fn new(_: &SocketOptions, _: u32) -> Self {
        DealerBehaviour {
            rr: RoundRobin::default(),
        }
    }

    /// libzmq: `connect` creates the peer's queue at once unless IMMEDIATE, so messages can be
    /// queued before the connection is up.
    fn pipe_created(&mut self, id: PipeId, persistent: bool, options: &SocketOptions) -> bool {
        self.rr.pipe_created(id, persistent, options)
    }

    fn attach(
        &mut self,
        pipes: &mut Pipes,
        id: PipeId,
        peer: &PeerInfo,
        _: &PeerAddr,
        _: &SocketOptions,
    ) -> Attached {
        self.rr.attach(pipes, id, peer)
    }

    fn detach(
        &mut self,
        id: PipeId,
        _: Option<&RoutingId>,
        removed: bool,
        options: &SocketOptions,
    ) {
        self.rr.detach(id, removed, options);
    }

    #[inline(always)]
    fn send(
        &mut self,
        pipes: &mut Pipes,
        msg: Message,
        _: SendMode,
        options: &SocketOptions,
    ) -> Attempt<()> {
        self.rr.send(pipes, msg, options)
    }

    #[inline]
    fn received(&mut self, _: PipeId, _: Option<RoutingId>, msg: Message) -> Option<Message> {
        Some(msg)
    }
}

impl super::SocketKind for DealerBehaviour {}
