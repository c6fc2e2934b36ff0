//! SUB: receives what its publishers send on the topics it subscribed to (RFC 29, libzmq
//! `src/sub.cpp`, `src/xsub.cpp`). Subscriptions are counted, sent to every publisher when its
//! handshake is done (so again after a reconnect) and as they change; to a ZMTP 3.1 peer as
//! SUBSCRIBE/CANCEL commands, to a 3.0 peer as `0x01`/`0x00` + topic messages. Messages are
//! filtered here too. SUB does not send.

use bytes::Bytes;

use super::behaviour::{attach_peer, Attempt, Behaviour, SendMode};
use super::error::Error;
use super::pipe::Pipes;
use super::Socket;
use crate::message::Message;
use crate::monitor::PeerAddr;
use crate::options::SocketOptions;
use crate::protocol::peer::PeerInfo;
use crate::routing::subs::{self, Subscriptions};
use crate::routing::{PipeId, RoutingId};
use crate::socket_type::SocketType;
use crate::transport::Attached;

/// The SUB socket type's rules; the socket is [`crate::Sub`].
#[derive(Debug)]
pub struct SubBehaviour {
    subs: Subscriptions,
    /// Pipes whose connection's handshake is done: subscription changes go to these.
    attached: Vec<PipeId>,
}

impl SubBehaviour {
    /// Sends a (un)subscription to every attached publisher (past SNDHWM too: losing one
    /// would leave the publisher filtering wrongly for good).
    fn announce(&self, pipes: &mut Pipes, subscribe: bool, topic: &[u8]) {
        let frame = subs::encode(subscribe, topic);
        for &id in &self.attached {
            pipes.push_control(id, Message::from(frame.clone()));
        }
    }
}

impl Behaviour for SubBehaviour {
    const TYPE: SocketType = SocketType::Sub;
    type Sent = ();
    const RECEIVES_ROUTING_ID: bool = false;
    const CONFLATES: bool = true;
    const CAN_SEND: bool = false;

    fn new(_: &SocketOptions, _: u32) -> Self {
        SubBehaviour {
            subs: Subscriptions::new(),
            attached: Vec::new(),
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
        if !self.attached.contains(&id) {
            self.attached.push(id);
        }
        for topic in self.subs.topics() {
            pipes.push_control(id, Message::from(subs::encode(true, topic)));
        }
        attach_peer(pipes, id, peer)
    }

    fn detach(&mut self, id: PipeId, _: Option<&RoutingId>, _: bool, _: &SocketOptions) {
        self.attached.retain(|&p| p != id);
    }

    fn send(&mut self, _: &mut Pipes, _: Message, _: SendMode, _: &SocketOptions) -> Attempt<()> {
        Attempt::Fail(Error::NotSupported {
            socket_type: SocketType::Sub,
            op: "send",
        })
    }

    fn received(&mut self, _: PipeId, _: Option<RoutingId>, msg: Message) -> Option<Message> {
        let first = msg.first()?;
        self.subs.matches(first).then_some(msg)
    }
}

impl super::SocketKind for SubBehaviour {}

/// SUB-only calls.
impl Socket<SubBehaviour> {
    /// Subscribes to messages whose first frame starts with `topic` (empty: every message).
    /// Counted: each call needs its [`Socket::unsubscribe`]. Works before or after `connect`.
    pub fn subscribe(&self, topic: impl Into<Bytes>) {
        let topic = topic.into();
        self.core().with_behaviour(|b, pipes| {
            if b.subs.subscribe(topic.clone()) {
                b.announce(pipes, true, &topic);
            }
            ((), false)
        });
    }

    /// Removes one subscription to `topic`; the publishers are told once none is left.
    /// Unsubscribing from a topic never subscribed does nothing.
    pub fn unsubscribe(&self, topic: impl AsRef<[u8]>) {
        let topic = topic.as_ref();
        self.core().with_behaviour(|b, pipes| {
            if b.subs.cancel(topic) {
                b.announce(pipes, false, topic);
            }
            ((), false)
        });
    }
}
