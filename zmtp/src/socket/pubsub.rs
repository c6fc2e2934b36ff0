//! The two halves of publish-subscribe, written once: [`Publisher`] (the sending side of PUB
//! and XPUB: its subscribers, what each wants, the distribution) and [`Subscriber`] (the
//! receiving side of SUB and XSUB: its own subscriptions, sent to every publisher, and the local
//! filter).

use bytes::Bytes;

use super::behaviour::Attempt;
use super::pipe::Pipes;
use crate::message::Message;
use crate::routing::subs::{self, Subscriptions};
use crate::routing::{PipeId, PipeIdMap};

/// PUB and XPUB: the connected subscribers and the topics each asked for.
#[derive(Debug, Default)]
pub(crate) struct Publisher {
    /// Every connected subscriber with its topics as a set (libzmq's mtrie: a repeat is one,
    /// one cancel removes it), in one vector: a message is matched and queued by walking it,
    /// with no lookup per subscriber.
    subscribers: Vec<(PipeId, Subscriptions)>,
    /// Where each subscriber is in `subscribers`.
    index: PipeIdMap<usize>,
    /// Subscribers whose connection is gone, with their topics, until forgotten (an XPUB
    /// reports their topics as cancelled after the detach).
    gone: PipeIdMap<Subscriptions>,
    /// The subscribers a message goes to (kept to reuse its allocation).
    targets: Vec<PipeId>,
}

impl Publisher {
    /// `id`'s handshake is done: it gets messages on the topics it asks for.
    pub(crate) fn attach(&mut self, id: PipeId) {
        if !self.index.contains_key(&id) {
            let topics = self.gone.remove(&id).unwrap_or_default();
            self.index.insert(id, self.subscribers.len());
            self.subscribers.push((id, topics));
        }
    }

    /// `id`'s connection is gone: it gets nothing until it is back.
    pub(crate) fn detach(&mut self, id: PipeId) {
        if let Some(topics) = self.remove(id) {
            self.gone.insert(id, topics);
        }
    }

    /// Forgets what `id` asked for; returns its topics.
    pub(crate) fn forget(&mut self, id: PipeId) -> Option<Subscriptions> {
        self.gone.remove(&id).or_else(|| self.remove(id))
    }

    fn remove(&mut self, id: PipeId) -> Option<Subscriptions> {
        let i = self.index.remove(&id)?;
        let (_, topics) = self.subscribers.swap_remove(i);
        if let Some(&(moved, _)) = self.subscribers.get(i) {
            self.index.insert(moved, i);
        }
        Some(topics)
    }

    /// `id` asks for `topic` (`subscribe`) or no longer: true if that changed its filter (an
    /// unknown subscriber changes nothing).
    pub(crate) fn apply(&mut self, id: PipeId, subscribe: bool, topic: Bytes) -> bool {
        let filter = match self.index.get(&id) {
            Some(&i) => match self.subscribers.get_mut(i) {
                Some((_, f)) => f,
                None => return false,
            },
            None => match self.gone.get_mut(&id) {
                Some(f) => f,
                None => return false,
            },
        };
        if subscribe {
            filter.insert(topic)
        } else {
            filter.remove(&topic)
        }
    }

    /// True if `id` is a subscriber not forgotten yet.
    pub(crate) fn is_attached(&self, id: PipeId) -> bool {
        self.index.contains_key(&id) || self.gone.contains_key(&id)
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
        let targets = &mut self.targets;
        targets.clear();
        for (id, filter) in &self.subscribers {
            if filter.matches(first) {
                targets.push(*id);
            }
        }
        if nodrop && targets.iter().any(|&id| !pipes.has_room(id, sndhwm)) {
            return Attempt::Wait(msg);
        }
        // A subscriber without room misses the message (the room is checked as it is queued,
        // with one lookup of its pipe); the last one takes the message itself, not a clone.
        if let Some((&last, rest)) = self.targets.split_last() {
            for &id in rest {
                pipes.push_if_room(id, &msg, sndhwm);
            }
            pipes.push_owned_if_room(last, msg, sndhwm);
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
