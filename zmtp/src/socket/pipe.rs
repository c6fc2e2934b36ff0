//! Pipes: the pair of queues between the socket and each peer.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::Notify;

use crate::message::Message;
use crate::outgoing::OutQueue;
use crate::routing::{PipeId, PipeIdMap, RoutingId};

/// The queues and flags of one peer.
#[derive(Debug)]
pub(crate) struct Pipe {
    /// Complete messages received, waiting for `recv` (bounded by RCVHWM, give or take one
    /// read's worth). Not empty exactly while the pipe is in the socket's fair queue.
    pub(crate) inbound: VecDeque<Message>,
    /// Complete messages to send, waiting for the connection (bounded by SNDHWM).
    pub(crate) outbound: OutQueue,
    /// Small messages are queued as a copy of their bytes (see [`crate::outgoing`]): the
    /// connection sends frames as they are.
    pub(crate) inline: bool,
    /// Wakes the connection task: outbound has data, inbound has room again, close, kick.
    pub(crate) notify: Arc<Notify>,
    /// The peer's routing id once its handshake is done: for a ROUTER the id it is routed by
    /// (put in front of its messages), for other types the one it announced, if any.
    pub(crate) routing_id: Option<RoutingId>,
    /// A handshaked connection is up.
    pub(crate) connected: bool,
    /// ROUTER: a newcomer whose routing id was taken; its messages are dropped.
    pub(crate) ignored: bool,
    /// The connecting side's pipe: survives reconnects.
    pub(crate) persistent: bool,
    /// Asked to disconnect (ROUTER_HANDOVER, `Router::disconnect_peer`).
    pub(crate) kick: bool,
    /// The connection is gone; the pipe lives until its inbound messages are read.
    pub(crate) dead: bool,
    /// The connection stopped reading because inbound reached RCVHWM.
    pub(crate) reader_paused: bool,
    /// Inbound length at or below which a paused reader resumes.
    pub(crate) low_water: usize,
}

impl Pipe {
    /// True if the outbound queue is at SNDHWM (`0` = no limit).
    #[inline]
    pub(crate) fn is_full(&self, sndhwm: usize) -> bool {
        sndhwm != 0 && self.outbound.len() >= sndhwm
    }

    /// Queues `msg` (replacing what is queued if `conflate`), and wakes the connection if it
    /// was idle.
    #[inline(always)]
    fn enqueue(&mut self, msg: Message, conflate: bool) {
        let was_empty = self.before_push(conflate);
        self.outbound.push(msg, self.inline);
        self.after_push(was_empty);
    }

    /// As [`Pipe::enqueue`], with a copy of `msg` (a clone, or its bytes if small).
    #[inline(always)]
    fn enqueue_ref(&mut self, msg: &Message, conflate: bool) {
        let was_empty = self.before_push(conflate);
        self.outbound.push_ref(msg, self.inline);
        self.after_push(was_empty);
    }

    /// Empties the queue if `conflate`; true if it is empty.
    #[inline(always)]
    fn before_push(&mut self, conflate: bool) -> bool {
        if conflate {
            self.outbound.clear();
        }
        self.outbound.is_empty()
    }

    /// Wakes the connection if the queue was empty before the push.
    #[inline(always)]
    fn after_push(&self, was_empty: bool) {
        if was_empty {
            self.notify.notify_one();
        }
    }
}

/// A socket's pipes. Boxed in the map: the table keeps up to twice as many slots as pipes, and
/// a slot then costs 16 bytes instead of a whole `Pipe` (memory per idle connection).
#[derive(Debug, Default)]
#[allow(unreachable_pub)] // Named by the sealed `Behaviour` trait; not reachable from outside.
pub struct Pipes {
    map: PipeIdMap<Box<Pipe>>,
    next: u64,
    /// CONFLATE: a queued message is replaced by the next one.
    conflate: bool,
}

impl Pipes {
    /// No pipes; `conflate`: each queue holds only the last message.
    pub(crate) fn new(conflate: bool) -> Pipes {
        Pipes {
            conflate,
            ..Pipes::default()
        }
    }

    /// CONFLATE is on.
    pub(crate) fn conflates(&self) -> bool {
        self.conflate
    }

    /// A new pipe with empty queues.
    pub(crate) fn create(
        &mut self,
        notify: Arc<Notify>,
        persistent: bool,
        rcvhwm: usize,
    ) -> PipeId {
        self.next += 1;
        let id = PipeId(self.next);
        self.map.insert(
            id,
            Box::new(Pipe {
                inbound: VecDeque::new(),
                outbound: OutQueue::default(),
                inline: false,
                notify,
                routing_id: None,
                connected: false,
                ignored: false,
                persistent,
                kick: false,
                dead: false,
                reader_paused: false,
                low_water: rcvhwm.div_ceil(2),
            }),
        );
        id
    }

    #[inline]
    pub(crate) fn get(&self, id: PipeId) -> Option<&Pipe> {
        self.map.get(&id).map(|p| &**p)
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, id: PipeId) -> Option<&mut Pipe> {
        self.map.get_mut(&id).map(|p| &mut **p)
    }

    pub(crate) fn remove(&mut self, id: PipeId) {
        self.map.remove(&id);
    }

    /// Every pipe's wake-up, to notify once the lock is released.
    pub(crate) fn notifies(&self) -> Vec<Arc<Notify>> {
        self.map.values().map(|p| p.notify.clone()).collect()
    }

    /// True if the pipe exists and its outbound queue is under SNDHWM.
    #[inline(always)]
    pub(crate) fn has_room(&self, id: PipeId, sndhwm: usize) -> bool {
        self.get(id).is_some_and(|p| !p.is_full(sndhwm))
    }

    /// Queues `msg` on pipe `id` and wakes its connection if it was idle.
    #[inline(always)]
    pub(crate) fn push_outbound(&mut self, id: PipeId, msg: Message) {
        self.push(id, msg, self.conflate);
    }

    /// Queues a clone of `msg` on pipe `id` if it is under `sndhwm` (a PUB's subscriber that is
    /// full misses the message); wakes its connection if it was idle.
    #[inline(always)]
    pub(crate) fn push_if_room(&mut self, id: PipeId, msg: &Message, sndhwm: usize) {
        let conflate = self.conflate;
        if let Some(p) = self.get_mut(id) {
            if !p.is_full(sndhwm) {
                p.enqueue_ref(msg, conflate);
            }
        }
    }

    /// As [`Pipes::push_if_room`], with the message itself.
    #[inline(always)]
    pub(crate) fn push_owned_if_room(&mut self, id: PipeId, msg: Message, sndhwm: usize) {
        let conflate = self.conflate;
        if let Some(p) = self.get_mut(id) {
            if !p.is_full(sndhwm) {
                p.enqueue(msg, conflate);
            }
        }
    }

    /// Queues a control message (a subscription) on pipe `id`: never conflated away.
    pub(crate) fn push_control(&mut self, id: PipeId, msg: Message) {
        self.push(id, msg, false);
    }

    /// Queues `msg` on pipe `id` (replacing what is queued if `conflate`), and wakes its
    /// connection if it was idle.
    #[inline(always)]
    fn push(&mut self, id: PipeId, msg: Message, conflate: bool) {
        if let Some(p) = self.get_mut(id) {
            p.enqueue(msg, conflate);
        }
    }

    /// Drops every received message not taken yet (a REQ starting a request, as libzmq). Paused
    /// readers resume; pipes whose connection is gone go. A pipe may stay in the fair queue
    /// with nothing to take: the queue skips it.
    pub(crate) fn discard_inbound(&mut self) {
        self.map.retain(|_, p| {
            if p.inbound.is_empty() {
                return true;
            }
            p.inbound.clear();
            if p.dead {
                return false;
            }
            if p.reader_paused {
                p.reader_paused = false;
                p.notify.notify_one();
            }
            true
        });
    }

    /// Asks the pipe's connection to close.
    pub(crate) fn kick(&mut self, id: PipeId) {
        if let Some(p) = self.get_mut(id) {
            p.kick = true;
            p.notify.notify_one();
        }
    }
}
