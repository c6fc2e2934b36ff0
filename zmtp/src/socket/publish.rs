//! PUB: each message to every peer subscribed to a prefix of its first frame (RFC 29, libzmq
//! `src/pub.cpp`, `src/xpub.cpp`). Filtering happens here, at the publisher. A peer at SNDHWM
//! misses the message; a send never waits. Multipart messages go whole or not at all. PUB does
//! not receive: what its peers send are their (un)subscriptions, taken at delivery.

use super::behaviour::{attach_peer, Attempt, Behaviour, SendMode};
use super::pipe::Pipes;
use super::pubsub::{as_subscription, Publisher};
use crate::message::Message;
use crate::monitor::PeerAddr;
use crate::options::SocketOptions;
use crate::protocol::peer::PeerInfo;
use crate::routing::{PipeId, RoutingId};
use crate::socket_type::SocketType;
use crate::transport::Attached;

/// The PUB socket type's rules; the socket is [`crate::Pub`].
#[derive(Debug)]
pub struct PubBehaviour {
    publisher: Publisher,
}

impl Behaviour for PubBehaviour {
    const TYPE: SocketType = SocketType::Pub;
    type Sent = ();
    const RECEIVES_ROUTING_ID: bool = false;
    const CONFLATES: bool = true;
    const CAN_RECV: bool = false;
    const SEND_NEVER_WAITS: bool = true;

    fn new(_: &SocketOptions, _: u32) -> Self {
        PubBehaviour {
            publisher: Publisher::default(),
        }
    }

    fn attach(
        &mut self,
        pipes: &mut Pipes,
        id: PipeId,
        peer: &PeerInfo,
        _: &PeerAddr,
        _: &SocketOptions,
    ) -> Attached {
        self.publisher.attach(id);
        attach_peer(pipes, id, peer)
    }

    fn detach(&mut self, id: PipeId, _: Option<&RoutingId>, _: bool, _: &SocketOptions) {
        // A subscriber that is not connected gets nothing (slow joiners miss what was sent); a
        // reconnecting one sends its subscriptions again.
        self.publisher.detach(id);
        self.publisher.forget(id);
    }

    fn on_deliver(&mut self, _: &mut Pipes, from: PipeId, msgs: &mut Vec<Message>) {
        for m in msgs.drain(..) {
            if let Some((subscribe, topic)) = as_subscription(&m) {
                self.publisher.apply(from, subscribe, topic);
            }
        }
    }

    fn send(
        &mut self,
        pipes: &mut Pipes,
        msg: Message,
        _: SendMode,
        options: &SocketOptions,
    ) -> Attempt<()> {
        self.publisher.send(pipes, msg, options.sndhwm, false)
    }

    fn received(&mut self, _: PipeId, _: Option<RoutingId>, _: Message) -> Option<Message> {
        None
    }
}

impl super::SocketKind for PubBehaviour {}
