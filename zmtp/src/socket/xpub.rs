//! XPUB: a PUB that hands its subscribers' subscriptions to the application as messages,
//! `0x01`/`0x00` + topic, whichever wire form they came in (RFC 29, libzmq `src/xpub.cpp`).
//! A subscription is handed over when it is the first to its topic among all subscribers, a
//! cancel when the last one goes; a subscriber that leaves cancels its topics. Other messages
//! from subscribers are handed over as they are. Sending filters as PUB does.
//!
//! With `xpub_manual`, every subscription and cancel is handed over and none is applied: the
//! application decides, with [`Socket::subscribe`] and [`Socket::unsubscribe`], what the
//! subscriber whose subscription it received last gets (libzmq's ZMQ_XPUB_MANUAL, then
//! ZMQ_SUBSCRIBE on the XPUB). A subscriber that leaves cancels every topic it had asked for.

use std::collections::HashMap;

use bytes::Bytes;

use super::behaviour::{attach_peer, Attempt, Behaviour, SendMode};
use super::error::Error;
use super::pipe::Pipes;
use super::pubsub::{as_subscription, Publisher};
use super::Socket;
use crate::message::Message;
use crate::monitor::PeerAddr;
use crate::options::SocketOptions;
use crate::protocol::peer::PeerInfo;
use crate::routing::subs::{self, Subscriptions};
use crate::routing::{PipeId, PipeIdMap, RoutingId};
use crate::socket_type::SocketType;
use crate::transport::Attached;

/// The XPUB socket type's rules; the socket is [`crate::XPub`].
#[derive(Debug)]
pub struct XPubBehaviour {
    publisher: Publisher,
    /// Per topic, how many subscribers have it (a subscription is news when this goes 0 -> 1).
    subscribers: HashMap<Bytes, usize>,
    /// XPUB_VERBOSE: every subscription is handed over.
    verbose: bool,
    /// XPUB_VERBOSER: every cancel too.
    verboser: bool,
    /// XPUB_MANUAL: subscriptions are handed over, and applied only by the application.
    manual: bool,
    /// XPUB_MANUAL: what each subscriber asked for (cancelled when it leaves).
    requested: PipeIdMap<Subscriptions>,
    /// XPUB_MANUAL: the subscriber whose subscription the application received last.
    last: Option<PipeId>,
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

    /// A subscription from `from`: whether the application gets it.
    fn on_subscription(&mut self, from: PipeId, subscribe: bool, topic: Bytes) -> bool {
        if self.manual {
            if self.publisher.is_attached(from) {
                let mine = self.requested.entry(from).or_default();
                if subscribe {
                    mine.insert(topic);
                } else {
                    mine.remove(&topic);
                }
            }
            return true;
        }
        let news =
            self.publisher.apply(from, subscribe, topic.clone()) && self.count(&topic, subscribe);
        news || if subscribe {
            self.verbose
        } else {
            self.verboser
        }
    }
}

impl Behaviour for XPubBehaviour {
    const TYPE: SocketType = SocketType::XPub;
    type Sent = ();
    const RECEIVES_ROUTING_ID: bool = false;
    const SEND_NEVER_WAITS: bool = true;

    fn new(options: &SocketOptions, _: u32) -> Self {
        XPubBehaviour {
            publisher: Publisher::default(),
            subscribers: HashMap::new(),
            verbose: options.xpub_verbose || options.xpub_verboser,
            verboser: options.xpub_verboser,
            manual: options.xpub_manual,
            requested: PipeIdMap::default(),
            last: None,
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
        self.publisher.attach(id);
        if let Some(welcome) = &options.xpub_welcome_msg {
            pipes.push_outbound(id, Message::from(welcome.clone()));
        }
        attach_peer(pipes, id, peer)
    }

    fn detach(&mut self, id: PipeId, _: Option<&RoutingId>, _: bool, _: &SocketOptions) {
        self.publisher.detach(id);
    }

    fn farewell(&mut self, id: PipeId) -> Vec<Message> {
        let applied = self.publisher.forget(id);
        let topics: Vec<Bytes> = if self.manual {
            if self.last == Some(id) {
                self.last = None;
            }
            // Every topic it asked for: the application decided what it had.
            let asked = self.requested.remove(&id).unwrap_or_default();
            asked.topics().cloned().collect()
        } else {
            let Some(gone) = applied else {
                return Vec::new();
            };
            let topics: Vec<Bytes> = gone.topics().cloned().collect();
            topics
                .into_iter()
                .filter(|t| self.count(t, false) || self.verboser)
                .collect()
        };
        topics
            .iter()
            .map(|t| Message::from(subs::encode(false, t)))
            .collect()
    }

    fn on_deliver(&mut self, _: &mut Pipes, from: PipeId, msgs: &mut Vec<Message>) {
        let mut keep = Vec::with_capacity(msgs.len());
        for m in msgs.drain(..) {
            let hand_over = match as_subscription(&m) {
                Some((subscribe, topic)) => self.on_subscription(from, subscribe, topic),
                None => true,
            };
            if hand_over {
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
        // XPUB_NODROP: nobody gets it until every matching subscriber has room.
        self.publisher
            .send(pipes, msg, options.sndhwm, options.xpub_nodrop)
    }

    fn received(&mut self, from: PipeId, _: Option<RoutingId>, msg: Message) -> Option<Message> {
        if self.manual && as_subscription(&msg).is_some() {
            self.last = Some(from);
        }
        Some(msg)
    }
}

impl super::SocketKind for XPubBehaviour {}

/// XPUB-only calls (`xpub_manual`).
impl Socket<XPubBehaviour> {
    /// With `xpub_manual`: the subscriber whose subscription (or cancel) was received last gets
    /// messages on `topic` from now on (libzmq: ZMQ_SUBSCRIBE on an XPUB). Does nothing if that
    /// subscriber has left, or no subscription was received yet. Without `xpub_manual`:
    /// [`Error::InvalidOption`], as libzmq refuses it. Not SUB's `subscribe` (on the same page,
    /// returning nothing): an XPUB's own subscriptions come from its subscribers.
    pub fn subscribe(&self, topic: impl Into<Bytes>) -> Result<(), Error> {
        self.manual(true, topic.into())
    }

    /// With `xpub_manual`: the subscriber whose subscription (or cancel) was received last no
    /// longer gets messages on `topic` (libzmq: ZMQ_UNSUBSCRIBE on an XPUB). As
    /// [`Socket::subscribe`] otherwise.
    pub fn unsubscribe(&self, topic: impl Into<Bytes>) -> Result<(), Error> {
        self.manual(false, topic.into())
    }

    fn manual(&self, subscribe: bool, topic: Bytes) -> Result<(), Error> {
        self.core().with_behaviour(|b, _| {
            if !b.manual {
                return (
                    Err(Error::InvalidOption(
                        "XPUB subscribe/unsubscribe needs xpub_manual",
                    )),
                    false,
                );
            }
            if let Some(id) = b.last {
                b.publisher.apply(id, subscribe, topic);
            }
            (Ok(()), false)
        })
    }
}
