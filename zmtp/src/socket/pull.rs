//! PULL: receives fair-queued from its peers (RFC 30, libzmq `src/pull.cpp`). It does not send.

use super::behaviour::{attach_peer, Attempt, Behaviour, SendMode};
use super::error::Error;
use super::pipe::Pipes;
use crate::message::Message;
use crate::monitor::PeerAddr;
use crate::options::SocketOptions;
use crate::protocol::peer::PeerInfo;
use crate::routing::{PipeId, RoutingId};
use crate::socket_type::SocketType;
use crate::transport::Attached;

/// The PULL socket type's rules; the socket is [`crate::Pull`].
#[derive(Debug)]
pub struct PullBehaviour;

impl Behaviour for PullBehaviour {
    const TYPE: SocketType = SocketType::Pull;
    type Sent = ();
    const RECEIVES_ROUTING_ID: bool = false;
    const CONFLATES: bool = true;
    const CAN_SEND: bool = false;

    fn new(_: &SocketOptions, _: u32) -> Self {
        PullBehaviour
    }

    fn attach(
        &mut self,
        pipes: &mut Pipes,
        id: PipeId,
        peer: &PeerInfo,
        _: &PeerAddr,
        _: &SocketOptions,
    ) -> Attached {
        attach_peer(pipes, id, peer)
    }

    fn detach(&mut self, _: PipeId, _: Option<&RoutingId>, _: bool, _: &SocketOptions) {}

    fn send(&mut self, _: &mut Pipes, _: Message, _: SendMode, _: &SocketOptions) -> Attempt<()> {
        Attempt::Fail(Error::NotSupported {
            socket_type: SocketType::Pull,
            op: "send",
        })
    }

    #[inline]
    fn received(&mut self, _: PipeId, _: Option<RoutingId>, msg: Message) -> Option<Message> {
        Some(msg)
    }
}

impl super::SocketKind for PullBehaviour {}
