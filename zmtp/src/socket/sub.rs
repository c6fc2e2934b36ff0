//! SUB: receives what its publishers send on the topics it subscribed to (RFC 29, libzmq
//! `src/sub.cpp`, `src/xsub.cpp`). Subscriptions are counted. Each one is sent to every
//! publisher (repeats too, as libzmq: an XPUB_VERBOSE publisher sees them), a cancel when the
//! last subscription to its topic goes, and every topic again when a publisher's handshake is
//! done (after a reconnect); to a ZMTP 3.1 peer as
//! SUBSCRIBE/CANCEL commands, to a 3.0 peer as `0x01`/`0x00` + topic messages. Messages are
//! filtered here too. SUB does not send.

use bytes::Bytes;

use super::behaviour::{attach_peer, Attempt, Behaviour, SendMode};
use super::error::Error;
use super::pipe::Pipes;
use super::pubsub::Subscriber;
use super::Socket;
use crate::message::Message;
use crate::monitor::PeerAddr;
use crate::options::SocketOptions;
use crate::protocol::peer::PeerInfo;
use crate::routing::subs;
use crate::routing::{PipeId, RoutingId};
use crate::socket_type::SocketType;
use crate::transport::Attached;

/// The SUB socket type's rules; the socket is [`crate::Sub`].
#[derive(Debug)]
pub struct SubBehaviour {
    sub: Subscriber,
}

impl Behaviour for SubBehaviour {
    const TYPE: SocketType = SocketType::Sub;
    type Sent = ();
    const RECEIVES_ROUTING_ID: bool = false;
    const CONFLATES: bool = true;
    const CAN_SEND: bool = false;

    fn new(_: &SocketOptions, _: u32) -> Self {
        SubBehaviour {
            sub: Subscriber::default(),
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
        self.sub.attach(pipes, id);
        attach_peer(pipes, id, peer)
    }

    fn detach(&mut self, id: PipeId, _: Option<&RoutingId>, _: bool, _: &SocketOptions) {
        self.sub.detach(id);
    }

    fn send(&mut self, _: &mut Pipes, _: Message, _: SendMode, _: &SocketOptions) -> Attempt<()> {
        Attempt::Fail(Error::NotSupported {
            socket_type: SocketType::Sub,
            op: "send",
        })
    }

    fn received(&mut self, _: PipeId, _: Option<RoutingId>, msg: Message) -> Option<Message> {
        self.sub.filter(msg)
    }
}

impl super::SocketKind for SubBehaviour {}

/// SUB-only calls.
impl Socket<SubBehaviour> {
    /// Subscribes to messages whose first frame starts with `topic` (empty: every message).
    /// Counted: each call needs its [`Socket::unsubscribe`]. Works before or after `connect`.
    /// Returns nothing: it cannot fail (unlike XPUB's `subscribe`, on the same page, which is
    /// `xpub_manual`'s and returns a `Result`).
    pub fn subscribe(&self, topic: impl Into<Bytes>) {
        let topic = topic.into();
        self.core().with_behaviour(|b, pipes| {
            let msg = Message::from(subs::encode(true, &topic));
            b.sub.subs.subscribe(topic);
            b.sub.tell(pipes, &msg);
            ((), false)
        });
    }

    /// Removes one subscription to `topic`; the publishers are told once none is left.
    /// Unsubscribing from a topic never subscribed does nothing.
    pub fn unsubscribe(&self, topic: impl AsRef<[u8]>) {
        let topic = topic.as_ref();
        self.core().with_behaviour(|b, pipes| {
            if b.sub.subs.cancel(topic) {
                b.sub
                    .tell(pipes, &Message::from(subs::encode(false, topic)));
            }
            ((), false)
        });
    }
}
