//! PUSH: sends round-robin over the peers with room (RFC 30, libzmq `src/push.cpp`); a send
//! waits while no peer has room, or no peer exists. It does not receive.

use super::behaviour::{Attempt, Behaviour, RoundRobin, SendMode};
use super::pipe::Pipes;
use crate::message::Message;
use crate::monitor::PeerAddr;
use crate::options::SocketOptions;
use crate::protocol::peer::PeerInfo;
use crate::routing::{PipeId, RoutingId};
use crate::socket_type::SocketType;
use crate::transport::Attached;

/// The PUSH socket type's rules; the socket is [`crate::Push`].
#[derive(Debug)]
pub struct PushBehaviour {
    rr: RoundRobin,
}

impl Behaviour for PushBehaviour {
    const TYPE: SocketType = SocketType::Push;
    type Sent = ();
    const RECEIVES_ROUTING_ID: bool = false;
    const CONFLATES: bool = true;
    const CAN_RECV: bool = false;

    fn new(_: &SocketOptions, _: u32) -> Self {
        PushBehaviour {
            rr: RoundRobin::default(),
        }
    }

    /// As DEALER: `connect` makes the peer's queue at once unless IMMEDIATE.
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

    fn received(&mut self, _: PipeId, _: Option<RoutingId>, _: Message) -> Option<Message> {
        None
    }
}

impl super::SocketKind for PushBehaviour {}
