//! XSUB: a SUB whose subscriptions are messages the application sends, `0x01`/`0x00` + topic,
//! as an XSUB/XPUB device forwards them (RFC 29, libzmq `src/xsub.cpp`). Every subscription is
//! sent upstream, a cancel only when the last subscription to its topic goes; other messages
//! go to every publisher as they are. Subscriptions are re-sent at each handshake (reconnects),
//! and received messages are filtered by them.

use super::behaviour::{attach_peer, Attempt, Behaviour, SendMode};
use super::pipe::Pipes;
use super::pubsub::{as_subscription, Subscriber};
use crate::message::Message;
use crate::monitor::PeerAddr;
use crate::options::SocketOptions;
use crate::protocol::peer::PeerInfo;
use crate::routing::{PipeId, RoutingId};
use crate::socket_type::SocketType;
use crate::transport::Attached;

/// The XSUB socket type's rules; the socket is [`crate::XSub`].
#[derive(Debug)]
pub struct XSubBehaviour {
    sub: Subscriber,
}

impl Behaviour for XSubBehaviour {
    const TYPE: SocketType = SocketType::XSub;
    type Sent = ();
    const RECEIVES_ROUTING_ID: bool = false;

    fn new(_: &SocketOptions, _: u32) -> Self {
        XSubBehaviour {
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

    /// Never waits: a subscription must not be lost, and libzmq's XSUB sends to all its pipes
    /// without blocking.
    fn send(
        &mut self,
        pipes: &mut Pipes,
        msg: Message,
        _: SendMode,
        _: &SocketOptions,
    ) -> Attempt<()> {
        let forward = match as_subscription(&msg) {
            Some((true, topic)) => {
                self.sub.subs.subscribe(topic);
                true
            }
            Some((false, topic)) => self.sub.subs.cancel(&topic),
            None => true,
        };
        if forward {
            self.sub.tell(pipes, &msg);
        }
        Attempt::Done(())
    }

    fn received(&mut self, _: PipeId, _: Option<RoutingId>, msg: Message) -> Option<Message> {
        self.sub.filter(msg)
    }
}

impl super::SocketKind for XSubBehaviour {}
