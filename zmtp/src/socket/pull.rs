//! PULL: receives fair-queued from its peers (RFC 30, libzmq `src/pull.cpp`). It does not send.

use super::behaviour::{Attempt, Behaviour, SendMode};
use super::error::Error;
use super::pipe::Pipes;
use crate::message::Message;
use crate::options::SocketOptions;
use crate::routing::{PipeId, RoutingId};
use crate::socket_type::SocketType;

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
