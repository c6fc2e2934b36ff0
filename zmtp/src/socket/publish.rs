//! PUB: each message to every peer subscribed to a prefix of its first frame (RFC 29, libzmq
//! `src/pub.cpp`, `src/xpub.cpp`). Filtering happens here, at the publisher. A peer at SNDHWM
//! misses the message; a send never waits. Multipart messages go whole or not at all. PUB does
//! not receive: what its peers send are their (un)subscriptions, taken at delivery.

use super::behaviour::{attach_peer, Attempt, Behaviour, SendMode};
use super::pipe::Pipes;
use crate::message::Message;
use crate::monitor::PeerAddr;
use crate::options::SocketOptions;
use crate::protocol::peer::PeerInfo;
use crate::routing::dist::Distribute;
use crate::routing::subs::{self, Subscriptions};
use crate::routing::{PipeId, PipeIdMap, RoutingId};
use crate::socket_type::SocketType;
use crate::transport::Attached;

/// The PUB socket type's rules; the socket is [`crate::Pub`].
#[derive(Debug)]
pub struct PubBehaviour {
    dist: Distribute,
    subs: PipeIdMap<Subscriptions>,
}

impl Behaviour for PubBehaviour {
    const TYPE: SocketType = SocketType::Pub;
    type Sent = ();
    const RECEIVES_ROUTING_ID: bool = false;
    const CONFLATES: bool = true;
    const CAN_RECV: bool = false;

    fn new(_: &SocketOptions, _: u32) -> Self {
        PubBehaviour {
            dist: Distribute::new(),
            subs: PipeIdMap::default(),
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
        self.dist.attach(id);
        // A reconnecting subscriber sends its subscriptions again.
        self.subs.insert(id, Subscriptions::new());
        attach_peer(pipes, id, peer)
    }

    fn detach(&mut self, id: PipeId, _: Option<&RoutingId>, _: bool, _: &SocketOptions) {
        // A subscriber that is not connected gets nothing (slow joiners miss what was sent).
        self.dist.detach(id);
        self.subs.remove(&id);
    }

    fn on_deliver(&mut self, _: &mut Pipes, from: PipeId, msgs: &mut Vec<Message>) {
        let subs = self.subs.entry(from).or_default();
        for m in msgs.drain(..) {
            let (true, Some(frame)) = (m.len() == 1, m.first()) else {
                continue;
            };
            match subs::decode(frame) {
                Some((true, topic)) => {
                    subs.subscribe(topic);
                }
                Some((false, topic)) => {
                    subs.cancel(&topic);
                }
                None => {}
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
        let first = msg.first().cloned().unwrap_or_default();
        let subs = &self.subs;
        let mut targets = Vec::new();
        self.dist.each(
            |id| subs.get(&id).is_some_and(|s| s.matches(&first)),
            |id| pipes.has_room(id, options.sndhwm),
            |id| targets.push(id),
        );
        if let Some((&last, rest)) = targets.split_last() {
            for &id in rest {
                pipes.push_outbound(id, msg.clone());
            }
            pipes.push_outbound(last, msg);
        }
        Attempt::Done(())
    }

    fn received(&mut self, _: PipeId, _: Option<RoutingId>, _: Message) -> Option<Message> {
        None
    }
}

impl super::SocketKind for PubBehaviour {}
