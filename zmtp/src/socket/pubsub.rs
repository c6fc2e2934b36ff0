//! The two halves of publish-subscribe, written once: [`Publisher`] (the sending side of PUB
//! and XPUB: its subscribers, what each wants, the distribution) and [`Subscriber`] (the
//! receiving side of SUB and XSUB: its own subscriptions, sent to every publisher, and the local
//! filter).

use bytes::Bytes;

use super::behaviour::Attempt;
use super::pipe::Pipes;
use crate::message::Message;
use crate::routing::dist::Distribute;
use crate::routing::subs::{self, Subscriptions};
use crate::routing::{PipeId, PipeIdMap};

/// PUB and XPUB: the connected subscribers and the topics each asked for.
#[derive(Debug, Default)]
pub(crate) struct Publisher {
    dist: Distribute,
    /// Per subscriber, its topics as a set (libzmq's mtrie: a repeat is one, one cancel
    /// removes it).
    filters: PipeIdMap<Subscriptions>,
    /// The subscribers a message goes to (kept to reuse its allocation).
    targets: Vec<PipeId>,
}

impl Publisher {
    /// `id`'s handshake is done: it gets messages on the topics it asks for.
    pub(crate) fn attach(&mut self, id: PipeId) {
        self.dist.attach(id);
        self.filters.entry(id).or_default();
    }

    /// `id`'s connection is gone: it gets nothing until it is back.
    pub(crate) fn detach(&mut self, id: PipeId) {
        self.dist.detach(id);
    }

    /// Forgets what `id` asked for; returns its topics.
    pub(crate) fn forget(&mut self, id: PipeId) -> Option<Subscriptions> {
        self.filters.remove(&id)
    }

    /// `id` asks for `topic` (`subscribe`) or no longer: true if that changed its filter (an
    /// unknown subscriber changes nothing).
    pub(crate) fn apply(&mut self, id: PipeId, subscribe: bool, topic: Bytes) -> bool {
        let Some(filter) = self.filters.get_mut(&id) else {
            return false;
        };
        if subscribe {
            filter.insert(topic)
        } else {
            filter.remove(&topic)
        }
    }

    /// True if `id` is a connected subscriber.
    pub(crate) fn is_attached(&self, id: PipeId) -> bool {
        self.filters.contains_key(&id)
    }

    /// Queues `msg` for every subscriber whose topics match its first frame and who has room
    /// under `sndhwm`; a full one misses it. With `nodrop` (XPUB_NODROP), nobody gets it while
    /// a matching subscriber is full: the caller waits.
    #[inline]
    pub(crate) fn send(
        &mut self,
        pipes: &mut Pipes,
        msg: Message,
        sndhwm: usize,
        nodrop: bool,
    ) -> Attempt<()> {
        let first: &[u8] = msg.first().map_or(&[], |f| &f[..]);
        let (filters, targets) = (&self.filters, &mut self.targets);
        targets.clear();
        let (_, full) = self.dist.each(
            |id| filters.get(&id).is_some_and(|s| s.matches(first)),
            |id| pipes.has_room(id, sndhwm),
            |id| targets.push(id),
        );
        if full > 0 && nodrop {
            return Attempt::Wait(msg);
        }
        if let Some((&last, rest)) = self.targets.split_last() {
            for &id in rest {
                pipes.push_outbound(id, msg.clone());
            }
            pipes.push_outbound(last, msg);
        }
        Attempt::Done(())
    }
}

/// A message read as a subscription (`0x01` + topic) or a cancel (`0x00` + topic): single-frame
/// messages only, as libzmq reads them.
pub(crate) fn as_subscription(msg: &Message) -> Option<(bool, Bytes)> {
    if msg.len() != 1 {
        return None;
    }
    msg.first().and_then(subs::decode)
}

/// SUB and XSUB: the socket's own subscriptions (counted), told to every connected publisher and
/// used to filter what arrives.
#[derive(Debug, Default)]
pub(crate) struct Subscriber {
    pub(crate) subs: Subscriptions,
    /// Pipes whose handshake is done: subscription changes go to these.
    attached: Vec<PipeId>,
}

impl Subscriber {
    /// `id`'s handshake is done: it is told every topic (again, after a reconnect).
    pub(crate) fn attach(&mut self, pipes: &mut Pipes, id: PipeId) {
        if !self.attached.contains(&id) {
            self.attached.push(id);
        }
        for topic in self.subs.topics() {
            pipes.push_control(id, Message::from(subs::encode(true, topic)));
        }
    }

    /// `id`'s connection is gone.
    pub(crate) fn detach(&mut self, id: PipeId) {
        self.attached.retain(|&p| p != id);
    }

    /// Sends `msg` to every connected publisher, past SNDHWM too: a lost subscription would
    /// leave a publisher filtering wrongly for good.
    pub(crate) fn tell(&self, pipes: &mut Pipes, msg: &Message) {
        for &id in &self.attached {
            pipes.push_control(id, msg.clone());
        }
    }

    /// What the application gets of a received message: it, if a subscription matches.
    pub(crate) fn filter(&self, msg: Message) -> Option<Message> {
        let first = msg.first()?;
        self.subs.matches(first).then_some(msg)
    }
}
