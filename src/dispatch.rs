//! The reliable broker's rules, without I/O: which worker gets a request, which request a reply
//! answers, and what happens to the requests of a worker that dies or hangs. Messages and
//! events go in, messages come out; time is passed in.
//!
//! Workers are plain DEALERs that answer in order (the demo's echo worker, a pyzmq or
//! zeromq.js one): nothing is added to the frames. Each worker connection has a FIFO of the
//! requests it holds, so a reply is matched to its request by position, checked by its first
//! frame (the client's routing id). A request taken back from a worker (its connection ended,
//! or it held it past the timeout) goes to another worker; a taken-back entry stays in the
//! old FIFO as a tombstone, so the old worker's late reply, if it ever comes, is recognised and
//! dropped. Every request gets exactly one reply, or is dropped after `max_redeliveries`
//! redeliveries with an [`Event::Dropped`].
//!
//! A worker that answers out of order is noticed when a reply's client is not the one at the
//! head of its FIFO; replies are then matched by client. One client's requests answered out of
//! order by one worker cannot be told from in order (nothing in the frames says which is
//! which): the replies still reach the right client, but not necessarily as the replies of the
//! right requests. Echo workers, and every worker that answers in order, are matched exactly.
//!
//! Dispatch: a worker gets a request while it holds fewer than `credit` (tombstones count: a
//! hung worker still has them to work through); among those, the one holding the fewest, and
//! among equals the one that waited longest.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rustc_hash::FxHashMap;
use zmtp::Message;

use crate::ranks::{self, Ranks};

/// Up to this many worker slots, a reply's worker is found by comparing ids ([`Dispatcher`]'s
/// `slot_of`).
const FEW_WORKERS: usize = 8;

/// An id's first 8 bytes as a number: with the length, the whole of an id of up to 8 bytes,
/// so that comparing two takes no `memcmp`.
fn tag(id: &[u8]) -> u64 {
    id.iter().take(8).fold(0, |t, &b| t << 8 | u64::from(b))
}

/// Where a worker stands for `pick`, as one number: requests held (high 64 bits), then when
/// it last got one (its stamp, low 64 bits). Stamps differ but for workers never given a
/// request (0), which `pick` then takes by slot.
fn rank(w: &Worker) -> u128 {
    // Held counts past 2^32 would not fit `Ranks`; they stay past any credit anyway.
    let held = u32::try_from(w.fifo.len()).unwrap_or(u32::MAX);
    u128::from(held) << 64 | u128::from(w.stamp)
}

/// The rules' settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Requests a worker may hold (tombstones included).
    pub credit: usize,
    /// A request held this long goes to another worker; `None`: never.
    pub timeout: Option<Duration>,
    /// A request sent this many times more than once without a reply is dropped.
    pub max_redeliveries: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            credit: 1000,
            timeout: Some(Duration::from_secs(30)),
            max_redeliveries: 3,
        }
    }
}

/// What the broker logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A request sent `sends` times without a reply was dropped.
    Dropped {
        /// Its client.
        client: Bytes,
        /// Its size, in bytes of body.
        size: usize,
        /// How many times it was sent.
        sends: u32,
    },
    /// A request was taken back from a worker, to go to another.
    Redelivered {
        /// The worker it was taken from.
        worker: Bytes,
        /// Why.
        reason: Reason,
    },
    /// A worker answered out of order (logged once per worker connection); replies are then
    /// matched by client id.
    OutOfOrder {
        /// The worker.
        worker: Bytes,
    },
}

/// Why a request was taken back from a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Its connection ended.
    WorkerGone,
    /// It held the request past the timeout.
    Timeout,
}

/// Totals since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Requests taken in.
    pub requests: u64,
    /// Replies handed back (one per request at most).
    pub replies: u64,
    /// Requests taken back from a worker to go to another.
    pub redelivered: u64,
    /// Requests dropped after too many sends.
    pub dropped: u64,
    /// Replies dropped: late (their request was answered or sent elsewhere) or matching
    /// nothing the worker held.
    pub late_replies: u64,
}

struct Request {
    client: Bytes,
    /// The request as the frontend gave it: `[client, body...]`.
    msg: Message,
    sends: u32,
    since: Instant,
}

/// One request a worker holds.
struct Entry {
    seq: u64,
    client: Bytes,
    sent: Instant,
    /// False once the request was taken back (a tombstone).
    live: bool,
}

struct Worker {
    id: Bytes,
    /// `id`'s [`tag`].
    tag: u64,
    fifo: VecDeque<Entry>,
    /// When it last got a request (a dispatch counter): the tie-break.
    stamp: u64,
    warned_out_of_order: bool,
}

/// The rules' state. See the module docs.
pub struct Dispatcher {
    cfg: Config,
    /// Requests not yet answered (nor dropped), by sequence number (our own counter: FxHash,
    /// no need for SipHash's defence against chosen keys).
    requests: FxHashMap<u64, Request>,
    /// Requests waiting for a worker, oldest first (taken-back ones go first).
    queue: VecDeque<u64>,
    workers: Vec<Option<Worker>>,
    /// Workers by routing id: ids the peers chose, so SipHash (std's default).
    by_id: std::collections::HashMap<Bytes, usize>,
    /// Each slot's [`rank`] ([`ranks::NONE`] for an empty one), kept as workers change: `pick`
    /// takes the least. Scanning the workers themselves (the ranks computed on the way) was a
    /// fifth of the broker's instructions with 64 workers; scanning the ranks, a tenth.
    ranks: Ranks,
    next_seq: u64,
    next_stamp: u64,
    totals: Totals,
    events: VecDeque<Event>,
}

impl Dispatcher {
    /// No workers, no requests.
    pub fn new(cfg: Config) -> Self {
        Dispatcher {
            cfg: Config {
                credit: cfg.credit.max(1),
                ..cfg
            },
            requests: FxHashMap::default(),
            queue: VecDeque::new(),
            workers: Vec::new(),
            by_id: std::collections::HashMap::new(),
            ranks: Ranks::default(),
            next_seq: 0,
            next_stamp: 0,
            totals: Totals::default(),
            events: VecDeque::new(),
        }
    }

    /// Totals since start.
    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// Requests not yet answered: queued or held by a worker.
    pub fn open(&self) -> usize {
        self.requests.len()
    }

    /// Requests waiting for a worker.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Workers connected.
    pub fn workers(&self) -> usize {
        self.by_id.len()
    }

    /// True if `id` is a connected worker.
    pub fn has_worker(&self, id: &[u8]) -> bool {
        self.by_id.contains_key(id)
    }

    /// The ids of the connected workers.
    pub fn worker_ids(&self) -> Vec<Bytes> {
        self.by_id.keys().cloned().collect()
    }

    /// The next thing to log.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// A request from the frontend: `[client, body...]`. Messages without a body frame are
    /// ignored (a ROUTER always gives the client id first).
    pub fn request(&mut self, now: Instant, msg: Message) {
        let Some(client) = msg.first().cloned() else {
            return;
        };
        if msg.len() < 2 {
            return;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.requests.insert(
            seq,
            Request {
                client,
                msg,
                sends: 0,
                since: now,
            },
        );
        self.queue.push_back(seq);
        self.totals.requests += 1;
    }

    /// A worker connection is up (its routing id at the backend ROUTER). A known id is left
    /// as it is.
    pub fn worker_joined(&mut self, id: Bytes) {
        if self.by_id.contains_key(&id) {
            return;
        }
        let slot = match self.workers.iter().position(Option::is_none) {
            Some(s) => s,
            None => {
                self.workers.push(None);
                self.ranks.push()
            }
        };
        let w = Worker {
            tag: tag(&id),
            id: id.clone(),
            fifo: VecDeque::new(),
            stamp: 0,
            warned_out_of_order: false,
        };
        self.ranks.set(slot, rank(&w));
        self.workers[slot] = Some(w);
        self.by_id.insert(id, slot);
    }

    /// A worker connection ended: what it held goes to other workers, first in line.
    pub fn worker_left(&mut self, id: &[u8]) {
        let Some(slot) = self.by_id.remove(id) else {
            return;
        };
        let Some(w) = self.workers[slot].take() else {
            return;
        };
        self.ranks.set(slot, ranks::NONE);
        for e in w.fifo.into_iter().rev().filter(|e| e.live) {
            self.take_back(e.seq, &w.id, Reason::WorkerGone);
        }
    }

    /// Puts a request taken back from `worker` first in line, or drops it if it has been sent
    /// too often.
    fn take_back(&mut self, seq: u64, worker: &Bytes, reason: Reason) {
        let Some(r) = self.requests.get(&seq) else {
            return;
        };
        self.totals.redelivered += 1;
        self.events.push_back(Event::Redelivered {
            worker: worker.clone(),
            reason,
        });
        if r.sends > self.cfg.max_redeliveries {
            if let Some(r) = self.requests.remove(&seq) {
                self.totals.dropped += 1;
                let size = r.msg.iter().skip(1).map(Bytes::len).sum();
                self.events.push_back(Event::Dropped {
                    client: r.client,
                    size,
                    sends: r.sends,
                });
            }
            return;
        }
        self.queue.push_front(seq);
    }

    /// The next request to send on the backend, `[worker, client, body...]`, if one waits and
    /// a worker has room. Call until `None`.
    pub fn dispatch(&mut self, now: Instant) -> Option<Message> {
        loop {
            if self.queue.is_empty() {
                return None;
            }
            let slot = self.pick()?;
            let seq = self.queue.pop_front()?;
            let Some(r) = self.requests.get_mut(&seq) else {
                continue; // answered meanwhile
            };
            r.sends += 1;
            let mut out = r.msg.clone();
            let client = r.client.clone();
            let Some(w) = self.workers[slot].as_mut() else {
                // Not reached: `pick` gives connected workers only.
                self.queue.push_front(seq);
                return None;
            };
            out.push_front(w.id.clone());
            w.fifo.push_back(Entry {
                seq,
                client,
                sent: now,
                live: true,
            });
            self.next_stamp += 1;
            w.stamp = self.next_stamp;
            self.ranks.set(slot, rank(w));
            return Some(out);
        }
    }

    /// The worker to send to: among those holding fewer than the credit, the one holding the
    /// fewest, and among those the one that waited longest (then the lowest slot): the least
    /// of `ranks`.
    fn pick(&self) -> Option<usize> {
        let (slot, best) = self.ranks.least()?;
        let held = usize::try_from(best >> 64).unwrap_or(usize::MAX);
        (held < self.cfg.credit).then_some(slot)
    }

    /// [`Dispatcher::pick`] from the workers themselves: the model `ranks` is checked against.
    #[cfg(test)]
    fn pick_by_scan(&self) -> Option<usize> {
        let mut best: Option<(usize, u64, usize)> = None;
        for (slot, w) in self.workers.iter().enumerate() {
            let Some(w) = w else { continue };
            let key = (w.fifo.len(), w.stamp, slot);
            if key.0 < self.cfg.credit && best.is_none_or(|b| key < b) {
                best = Some(key);
            }
        }
        best.map(|(_, _, slot)| slot)
    }

    /// A reply from the backend, `[worker, client, body...]`: the reply to hand to the frontend
    /// (`[client, body...]`) and the time its request spent in the broker, or `None` if it
    /// answers nothing open (late, or unknown).
    pub fn reply(&mut self, now: Instant, mut msg: Message) -> Option<(Message, Duration)> {
        let worker = msg.pop_front()?;
        let client = msg.first().cloned();
        let Some(slot) = self.slot_of(&worker) else {
            self.totals.late_replies += 1;
            return None;
        };
        let w = self.workers[slot].as_mut()?;
        let at = match (&client, w.fifo.front()) {
            (Some(c), Some(head)) if head.client == c => Some(0),
            (Some(c), Some(_)) => {
                if !w.warned_out_of_order {
                    w.warned_out_of_order = true;
                    self.events.push_back(Event::OutOfOrder {
                        worker: worker.clone(),
                    });
                }
                // The oldest entry of that client, live or not: each client's requests are
                // taken to be answered in order.
                w.fifo.iter().position(|e| e.client == c)
            }
            _ => None,
        };
        let Some(at) = at else {
            self.totals.late_replies += 1;
            return None;
        };
        let entry = w.fifo.remove(at);
        self.ranks.set(slot, rank(w));
        let entry = entry?;
        if !entry.live {
            self.totals.late_replies += 1;
            return None;
        }
        let r = self.requests.remove(&entry.seq)?;
        self.totals.replies += 1;
        Some((msg, now.saturating_duration_since(r.since)))
    }

    /// The slot of the worker `id`. With a few slots, found by comparing ids: cheaper than
    /// hashing one (SipHash, kept for many workers since the ids are the peers' choice).
    fn slot_of(&self, id: &[u8]) -> Option<usize> {
        if self.workers.len() <= FEW_WORKERS {
            let (t, rest) = (tag(id), 8.min(id.len()));
            return self.workers.iter().position(|w| {
                w.as_ref().is_some_and(|w| {
                    w.tag == t && w.id.len() == id.len() && w.id[rest..] == id[rest..]
                })
            });
        }
        self.by_id.get(id).copied()
    }

    /// Takes back the requests held past the timeout (their entries stay as tombstones).
    pub fn expire(&mut self, now: Instant) {
        let Some(timeout) = self.cfg.timeout else {
            return;
        };
        let mut expired = Vec::new();
        for w in self.workers.iter_mut().flatten() {
            for e in w.fifo.iter_mut() {
                if e.sent + timeout > now {
                    break;
                }
                if e.live {
                    e.live = false;
                    expired.push((e.seq, w.id.clone()));
                }
            }
        }
        // Oldest first in line: push_front in reverse.
        for (seq, worker) in expired.into_iter().rev() {
            self.take_back(seq, &worker, Reason::Timeout);
        }
    }

    /// When [`Dispatcher::expire`] next has work: the earliest send time of a live request
    /// plus the timeout.
    pub fn next_deadline(&self) -> Option<Instant> {
        let timeout = self.cfg.timeout?;
        self.workers
            .iter()
            .flatten()
            .filter_map(|w| w.fifo.iter().find(|e| e.live))
            .map(|e| e.sent + timeout)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(client: &'static str, body: &'static str) -> Message {
        Message::from_frames([client, body])
    }

    fn cfg(credit: usize, timeout_ms: Option<u64>, max: u32) -> Config {
        Config {
            credit,
            timeout: timeout_ms.map(Duration::from_millis),
            max_redeliveries: max,
        }
    }

    /// `[worker, client, body]` as strings.
    fn parts(m: &Message) -> Vec<String> {
        m.iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect()
    }

    /// Echoes a dispatched request as the worker would: the same frames back.
    fn echo(d: &mut Dispatcher, now: Instant, sent: &Message) -> Option<Message> {
        d.reply(now, sent.clone()).map(|(m, _)| m)
    }

    #[test]
    fn least_loaded_then_longest_waiting() {
        let t = Instant::now();
        let mut d = Dispatcher::new(cfg(2, None, 3));
        d.worker_joined("w1".into());
        d.worker_joined("w2".into());
        for i in 0..5 {
            d.request(t, Message::from_frames(["c", ["a", "b", "c", "d", "e"][i]]));
        }
        let sent: Vec<Message> = std::iter::from_fn(|| d.dispatch(t)).collect();
        // Two each (credit 2), alternating; the fifth waits.
        assert_eq!(
            sent.iter().map(|m| parts(m)[0].clone()).collect::<Vec<_>>(),
            ["w1", "w2", "w1", "w2"]
        );
        assert_eq!(d.queued(), 1);
        // w2 answers one: it has room, and gets the fifth.
        assert_eq!(parts(&echo(&mut d, t, &sent[1]).unwrap()), ["c", "b"]);
        let fifth = d.dispatch(t).unwrap();
        assert_eq!(parts(&fifth), ["w2", "c", "e"]);
        assert_eq!(d.dispatch(t), None);
    }

    #[test]
    fn a_dead_workers_requests_go_to_another_once() {
        let t = Instant::now();
        let mut d = Dispatcher::new(cfg(10, None, 3));
        d.worker_joined("w1".into());
        d.request(t, req("c1", "x"));
        d.request(t, req("c2", "y"));
        let a = d.dispatch(t).unwrap();
        let b = d.dispatch(t).unwrap();
        assert_eq!((parts(&a)[0].as_str(), parts(&b)[0].as_str()), ("w1", "w1"));
        d.worker_joined("w2".into());
        d.worker_left(b"w1");
        // Both go to w2, in their order, first in line.
        let a2 = d.dispatch(t).unwrap();
        let b2 = d.dispatch(t).unwrap();
        assert_eq!(parts(&a2), ["w2", "c1", "x"]);
        assert_eq!(parts(&b2), ["w2", "c2", "y"]);
        // w1's late replies match nothing; w2's are the replies.
        assert_eq!(echo(&mut d, t, &a), None);
        assert_eq!(parts(&echo(&mut d, t, &a2).unwrap()), ["c1", "x"]);
        assert_eq!(parts(&echo(&mut d, t, &b2).unwrap()), ["c2", "y"]);
        assert_eq!(echo(&mut d, t, &b2), None, "one reply per request");
        assert_eq!(d.open(), 0);
        let tot = d.totals();
        assert_eq!((tot.replies, tot.redelivered, tot.late_replies), (2, 2, 2));
    }

    #[test]
    fn a_hung_worker_times_out_and_its_late_reply_is_dropped() {
        let t = Instant::now();
        let mut d = Dispatcher::new(cfg(10, Some(1000), 3));
        d.worker_joined("slow".into());
        d.request(t, req("c", "x"));
        let first = d.dispatch(t).unwrap();
        assert_eq!(d.next_deadline(), Some(t + Duration::from_secs(1)));
        d.worker_joined("fast".into());
        d.expire(t + Duration::from_millis(999));
        assert_eq!(d.dispatch(t), None, "not yet");
        let t2 = t + Duration::from_millis(1000);
        d.expire(t2);
        // The tombstone counts for the slow worker: the fast one gets it.
        let again = d.dispatch(t2).unwrap();
        assert_eq!(parts(&again)[0], "fast");
        assert_eq!(
            d.poll_event(),
            Some(Event::Redelivered {
                worker: "slow".into(),
                reason: Reason::Timeout
            })
        );
        // The slow worker's late reply first: dropped; the fast one's is the reply.
        assert_eq!(echo(&mut d, t2, &first), None);
        let (m, waited) = d.reply(t2, again.clone()).unwrap();
        assert_eq!(parts(&m), ["c", "x"]);
        assert_eq!(waited, Duration::from_secs(1));
        assert_eq!(d.next_deadline(), None);
    }

    #[test]
    fn a_poison_request_is_dropped_after_max_redeliveries() {
        let t = Instant::now();
        let mut d = Dispatcher::new(cfg(10, None, 2));
        d.request(t, req("c", "poison"));
        for i in 0..3 {
            d.worker_joined(format!("w{i}").into());
            assert!(d.dispatch(t).is_some(), "send {}", i + 1);
            d.worker_left(format!("w{i}").as_bytes());
        }
        // Sent 3 times (max_redeliveries 2): dropped, with the client and size.
        assert_eq!(d.open(), 0);
        let dropped: Vec<Event> = std::iter::from_fn(|| d.poll_event())
            .filter(|e| matches!(e, Event::Dropped { .. }))
            .collect();
        assert_eq!(
            dropped,
            [Event::Dropped {
                client: "c".into(),
                size: 6,
                sends: 3
            }]
        );
        d.worker_joined("w9".into());
        assert_eq!(d.dispatch(t), None);
    }

    #[test]
    fn out_of_order_replies_match_by_client() {
        let t = Instant::now();
        let mut d = Dispatcher::new(cfg(10, None, 3));
        d.worker_joined("w".into());
        d.request(t, req("a", "1"));
        d.request(t, req("b", "2"));
        let a = d.dispatch(t).unwrap();
        let b = d.dispatch(t).unwrap();
        assert_eq!(parts(&echo(&mut d, t, &b).unwrap()), ["b", "2"]);
        assert_eq!(
            d.poll_event(),
            Some(Event::OutOfOrder { worker: "w".into() })
        );
        assert_eq!(parts(&echo(&mut d, t, &a).unwrap()), ["a", "1"]);
        // A reply for a client the worker never had: dropped.
        assert_eq!(d.reply(t, Message::from_frames(["w", "zz", "?"])), None);
        assert_eq!(d.reply(t, Message::from_frames(["nobody", "a", "?"])), None);
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;
        use std::collections::hash_map::Entry as MapEntry;
        use std::collections::{HashMap, HashSet};

        #[derive(Debug, Clone)]
        enum Op {
            /// A client sends a request.
            Request(u8),
            /// A worker connects (id 0..12, so that there are sometimes more than
            /// `FEW_WORKERS`; a reconnect after a leave is a new connection).
            Join(u8),
            /// A worker's connection ends.
            Leave(u8),
            /// A worker answers its oldest held request (if `swap`, its second oldest first,
            /// when the two are for different clients: one client's requests answered out of
            /// order cannot be told from in order, as the frames are the workers' own).
            Answer(u8, bool),
            /// Time passes (ms).
            Wait(u16),
        }

        /// Worker `w`'s id. The dispatcher compares an id's first 8 bytes as one number,
        /// then its length, then the rest: `w0` to `w2`; a zero byte before those (same
        /// number, other length); or long, with the same first 8 bytes for all.
        fn wid(w: u8) -> String {
            if w < 3 {
                format!("w{w}")
            } else if w < 6 {
                format!("\0w{}", w - 3)
            } else {
                format!("worker-long-{w}")
            }
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                4 => any::<u8>().prop_map(|c| Op::Request(c % 3)),
                2 => (0u8..12).prop_map(Op::Join),
                1 => (0u8..12).prop_map(Op::Leave),
                5 => ((0u8..12), any::<bool>()).prop_map(|(w, s)| Op::Answer(w, s)),
                1 => (0u16..1500).prop_map(Op::Wait),
            ]
        }

        proptest! {
            /// Whatever the schedule of requests, joins, deaths, answers (in order or not) and
            /// timeouts: every request is answered at most once, with its own body, and at the
            /// end (all workers up and answering) every request is answered or was dropped
            /// after too many sends; nobody holds more than its credit.
            #[test]
            fn every_request_answered_once_or_dropped(
                ops in proptest::collection::vec(op(), 1..120),
                credit in 1usize..4,
                timeout in proptest::option::of(100u64..2000),
                max in 0u32..3,
            ) {
                let t0 = Instant::now();
                let mut now = t0;
                let mut d = Dispatcher::new(cfg(credit, timeout, max));
                // What each worker connection holds, as its messages, in order.
                let mut held: HashMap<u8, VecDeque<Message>> = HashMap::new();
                let mut answered: HashSet<String> = HashSet::new();
                let mut sent_bodies = 0u32;
                let mut body = |c: u8| { sent_bodies += 1; format!("{c}:{sent_bodies}") };
                let run = |d: &mut Dispatcher, held: &mut HashMap<u8, VecDeque<Message>>, now| {
                    while let Some(m) = d.dispatch(now) {
                        let id = m.first().unwrap();
                        let w = (0..100).find(|&w| wid(w).as_bytes() == id).unwrap();
                        let q = held.get_mut(&w).expect("dispatched to a connected worker");
                        q.push_back(m);
                        prop_assert!(q.len() <= credit);
                    }
                    Ok(())
                };
                for op in ops {
                    match op {
                        Op::Request(c) => {
                            let b = body(c);
                            d.request(now, Message::from_frames([format!("c{c}"), b]));
                        }
                        Op::Join(w) => {
                            if let MapEntry::Vacant(v) = held.entry(w) {
                                v.insert(VecDeque::new());
                                d.worker_joined(wid(w).into());
                            }
                        }
                        Op::Leave(w) => {
                            if held.remove(&w).is_some() {
                                d.worker_left(wid(w).as_bytes());
                            }
                        }
                        Op::Answer(w, swap) => {
                            if let Some(q) = held.get_mut(&w) {
                                if swap && q.len() >= 2 && q[0].frames()[1] != q[1].frames()[1] {
                                    q.swap(0, 1);
                                }
                                if let Some(m) = q.pop_front() {
                                    if let Some((r, _)) = d.reply(now, m.clone()) {
                                        prop_assert_eq!(r.frames(), &m.frames()[1..]);
                                        let b = String::from_utf8_lossy(&r.frames()[1]).into_owned();
                                        prop_assert!(answered.insert(b), "answered twice");
                                    }
                                }
                            }
                        }
                        Op::Wait(ms) => {
                            now += Duration::from_millis(u64::from(ms));
                            d.expire(now);
                        }
                    }
                    run(&mut d, &mut held, now)?;
                    // The choice from the kept ranks must be the one from the workers.
                    prop_assert_eq!(d.pick(), d.pick_by_scan());
                }
                // The end: a worker that stays, everyone answers everything, in order.
                if held.is_empty() {
                    held.insert(99, VecDeque::new());
                    d.worker_joined(wid(99).into());
                }
                for _ in 0..10_000 {
                    run(&mut d, &mut held, now)?;
                    let Some(m) = held.values_mut().find_map(|q| q.pop_front()) else { break };
                    if let Some((r, _)) = d.reply(now, m.clone()) {
                        let b = String::from_utf8_lossy(&r.frames()[1]).into_owned();
                        prop_assert!(answered.insert(b), "answered twice");
                    }
                }
                let tot = d.totals();
                prop_assert_eq!(d.open(), 0);
                prop_assert_eq!(tot.requests, tot.replies + tot.dropped);
                prop_assert_eq!(tot.replies as usize, answered.len());
            }
        }
    }
}
