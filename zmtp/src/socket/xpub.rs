//! XPUB: a PUB that hands its subscribers' subscriptions to the application as messages,
//! `0x01`/`0x00` + topic, whichever wire form they came in (RFC 29, libzmq `src/xpub.cpp`).
//! A subscription is handed over when it is the first to its topic among all subscribers, a
//! cancel when the last one goes; a subscriber that leaves cancels its topics. Other messages
//! from subscribers are handed over as they are. Sending filters as PUB does.

use std::collections::HashMap;

use bytes::Bytes;

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

/// The XPUB socket type's rules; the socket is [`crate::XPub`].
#[derive(Debug)]
pub struct XPubBehaviour {
    dist: Distribute,
    /// Each subscriber's subscriptions (the filter).
    subs: PipeIdMap<Subscriptions>,
    /// Per topic, how many subscribers have it (a subscription is news when this goes 0 -> 1).
    subscribers: HashMap<Bytes, usize>,
    /// XPUB_VERBOSE: every subscription is handed over.
    verbose: bool,
    /// XPUB_VERBOSER: every cancel too.
    verboser: bool,
}

impl XPubBehaviour {
    /// A subscriber has `topic` now (`true`) or no longer: true if that is news for the
    /// application (the first subscriber, or the last gone).
    fn count(&mut self, topic: &Bytes, subscribe: bool) -> bool {
        if subscribe {
            let n = self.subscribers.entry(topic.clone()).or_insert(0);
            *n += 1;
            return *n == 1;
        }
        match self.subscribers.get_mut(topic) {
            Some(n) if *n > 1 => {
                *n -= 1;
                false
            }
            Some(_) => {
                self.subscribers.remove(topic);
                true
            }
            None => false,
        }
    }
}

impl Behaviour for XPubBehaviour {
    const TYPE: SocketType = SocketType::XPub;
    type Sent = ();
    const RECEIVES_ROUTING_ID: bool = false;

    fn new(options: &SocketOptions, _: u32) -> Self {
        XPubBehaviour {
            dist: Distribute::new(),
            subs: PipeIdMap::default(),
            subscribers: HashMap::new(),
            verbose: options.xpub_verbose || options.xpub_verboser,
            verboser: options.xpub_verboser,
        }
    }

    fn attach(
        &mut self,
        pipes: &mut Pipes,
        id: PipeId,
        peer: &PeerInfo,
        _: &PeerAddr,
        options: &SocketOptions,
    ) -> Attached {
        self.dist.attach(id);
        self.subs.entry(id).or_default();
        if let Some(welcome) = &options.xpub_welcome_msg {
            pipes.push_outbound(id, Message::from(welcome.clone()));
        }
        attach_peer(pipes, id, peer)
    }

    fn detach(&mut self, id: PipeId, _: Option<&RoutingId>, _: bool, _: &SocketOptions) {
        self.dist.detach(id);
    }

    fn farewell(&mut self, id: PipeId) -> Vec<Message> {
        let Some(gone) = self.subs.remove(&id) else {
            return Vec::new();
        };
        let topics: Vec<Bytes> = gone.topics().cloned().collect();
        topics
            .into_iter()
            .filter(|t| self.count(t, false) || self.verboser)
            .map(|t| Message::from(subs::encode(false, &t)))
            .collect()
    }

    fn on_deliver(&mut self, _: &mut Pipes, from: PipeId, msgs: &mut Vec<Message>) {
        let mut keep = Vec::with_capacity(msgs.len());
        for m in msgs.drain(..) {
            let sub = (m.len() == 1)
                .then(|| m.first().and_then(subs::decode))
                .flatten();
            let Some((subscribe, topic)) = sub else {
                keep.push(m);
                continue;
            };
            let mine = self.subs.entry(from).or_default();
            let changed = if subscribe {
                mine.subscribe(topic.clone())
            } else {
                mine.cancel(&topic)
            };
            let news = changed && self.count(&topic, subscribe);
            let verbose = if subscribe {
                self.verbose
            } else {
                self.verboser
            };
            if news || verbose {
                keep.push(m);
            }
        }
        *msgs = keep;
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
        let (_, full) = self.dist.each(
            |id| subs.get(&id).is_some_and(|s| s.matches(&first)),
            |id| pipes.has_room(id, options.sndhwm),
            |id| targets.push(id),
        );
        if full > 0 && options.xpub_nodrop {
            // XPUB_NODROP: nobody gets it until every matching subscriber has room.
            return Attempt::Wait(msg);
        }
        if let Some((&last, rest)) = targets.split_last() {
            for &id in rest {
                pipes.push_outbound(id, msg.clone());
            }
            pipes.push_outbound(last, msg);
        }
        Attempt::Done(())
    }

    fn received(&mut self, _: PipeId, _: Option<RoutingId>, msg: Message) -> Option<Message> {
        Some(msg)
    }
}

impl super::SocketKind for XPubBehaviour {}
