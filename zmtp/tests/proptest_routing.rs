//! Properties of the sans-IO routing rules over random operation sequences, each against a
//! plain model: subscriptions (subscribe, cancel, match), the REQ and REP state machines,
//! round-robin and fair queuing, the ROUTER's routing table.

use std::collections::{BTreeMap, HashMap, VecDeque};

use bytes::Bytes;
use proptest::prelude::*;
use zmtp::routing::fq::FairQueue;
use zmtp::routing::identity::{Identified, RoutingTable};
use zmtp::routing::lb::LoadBalance;
use zmtp::routing::reqrep::{RepState, ReqState};
use zmtp::routing::subs::Subscriptions;
use zmtp::routing::{PipeId, RoutingId};
use zmtp::Message;

/// Topics and data from a small alphabet, so that prefixes collide often. Some are longer, on
/// stems of 7 to 9 bytes, so that words on both sides of 8 bytes (what a match compares in
/// one go) share prefixes too.
fn word() -> impl Strategy<Value = Vec<u8>> {
    let letters = || proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b')], 0..5);
    prop_oneof![
        3 => letters(),
        1 => (
            prop_oneof![Just(&b"aaaaaaa"[..]), Just(&b"aaaaaaaa"[..]), Just(&b"aaaaaaaab"[..])],
            letters(),
        )
            .prop_map(|(stem, rest)| [stem, &rest[..]].concat()),
    ]
}

#[derive(Debug, Clone)]
enum SubOp {
    Subscribe(Vec<u8>),
    Cancel(Vec<u8>),
    Match(Vec<u8>),
    /// The set form a publisher keeps per subscriber: a repeat is one, one removal removes it.
    Insert(Vec<u8>),
    Remove(Vec<u8>),
}

fn sub_op() -> impl Strategy<Value = SubOp> {
    // Subscriptions outweigh removals, so that the set often holds more than a handful of
    // topics (a match then looks prefixes up by length instead of comparing each topic).
    prop_oneof![
        3 => word().prop_map(SubOp::Subscribe),
        1 => word().prop_map(SubOp::Cancel),
        3 => word().prop_map(SubOp::Match),
        2 => word().prop_map(SubOp::Insert),
        1 => word().prop_map(SubOp::Remove),
    ]
}

proptest! {
    #[test]
    fn subscriptions_match_a_counted_model(ops in proptest::collection::vec(sub_op(), 0..200)) {
        let mut s = Subscriptions::new();
        let mut model: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
        for op in ops {
            match op {
                SubOp::Subscribe(t) => {
                    let n = model.entry(t.clone()).or_insert(0);
                    *n += 1;
                    prop_assert_eq!(s.subscribe(Bytes::from(t)), *n == 1);
                }
                SubOp::Cancel(t) => {
                    let last = match model.get_mut(&t) {
                        Some(n) => {
                            *n -= 1;
                            *n == 0
                        }
                        None => false,
                    };
                    if last {
                        model.remove(&t);
                    }
                    prop_assert_eq!(s.cancel(&t), last);
                }
                SubOp::Match(d) => {
                    let want = model.keys().any(|t| d.starts_with(t));
                    prop_assert_eq!(s.matches(&d), want);
                }
                SubOp::Insert(t) => {
                    let new = !model.contains_key(&t);
                    if new {
                        model.insert(t.clone(), 1);
                    }
                    prop_assert_eq!(s.insert(Bytes::from(t)), new);
                }
                SubOp::Remove(t) => {
                    prop_assert_eq!(s.remove(&t), model.remove(&t).is_some());
                }
            }
            prop_assert_eq!(s.len(), model.len());
        }
    }
}

#[derive(Debug, Clone)]
enum ReqOp {
    /// Send a request to this pipe (if allowed).
    Send(u64),
    /// A message from this pipe, with or without the delimiter, and a request id frame in
    /// front: the last request's (0), the one before (1), or none (2).
    Reply(u64, bool, u8),
}

proptest! {
    #[test]
    fn req_takes_exactly_one_reply_from_the_peer_asked(
        correlate in any::<bool>(),
        relaxed in any::<bool>(),
        seed in any::<u32>(),
        ops in proptest::collection::vec(
            prop_oneof![
                (0u64..3).prop_map(ReqOp::Send),
                ((0u64..3), any::<bool>(), 0u8..3).prop_map(|(p, d, i)| ReqOp::Reply(p, d, i)),
            ],
            0..100,
        )
    ) {
        let mut r = ReqState::new(correlate, relaxed, seed);
        let mut waiting: Option<u64> = None;
        let mut last_id = seed;
        for op in ops {
            prop_assert_eq!(r.can_send(), waiting.is_none() || relaxed);
            prop_assert_eq!(r.can_recv(), waiting.is_some());
            match op {
                ReqOp::Send(p) => {
                    if waiting.is_none() || relaxed {
                        let wire = r.request(PipeId(p), Message::from("q"));
                        let mut want = vec![Bytes::new(), Bytes::from("q")];
                        if correlate {
                            last_id = last_id.wrapping_add(1);
                            want.insert(0, Bytes::copy_from_slice(&last_id.to_ne_bytes()));
                        }
                        prop_assert_eq!(wire.frames(), &want[..]);
                        waiting = Some(p);
                    }
                }
                ReqOp::Reply(p, delimited, id) => {
                    let mut m = Message::from("body");
                    if delimited {
                        m.push_front(Bytes::new());
                    }
                    let id_frame = match id {
                        0 => Some(last_id),
                        1 => Some(last_id.wrapping_sub(1)),
                        _ => None,
                    };
                    if let Some(i) = id_frame {
                        m.push_front(Bytes::copy_from_slice(&i.to_ne_bytes()));
                    }
                    let accepted = r.accept_reply(PipeId(p), m).is_some();
                    let id_ok = if correlate { id == 0 } else { id == 2 };
                    let want = delimited && waiting == Some(p) && id_ok;
                    prop_assert_eq!(accepted, want);
                    if want {
                        waiting = None;
                    }
                }
            }
        }
    }

    #[test]
    fn rep_returns_each_envelope_to_its_sender(
        requests in proptest::collection::vec(
            ((0u64..4), proptest::collection::vec(word(), 0..4), proptest::collection::vec(word(), 0..3)),
            0..50,
        )
    ) {
        let mut r = RepState::default();
        for (pipe, hops, body) in requests {
            // Address frames are never empty; then the delimiter, then the body.
            let hops: Vec<Bytes> = hops.into_iter().map(|h| {
                let mut h = h;
                h.insert(0, b'h');
                Bytes::from(h)
            }).collect();
            let mut frames = hops.clone();
            frames.push(Bytes::new());
            frames.extend(body.iter().cloned().map(Bytes::from));
            prop_assert!(r.can_recv());
            let got = r.take_request(PipeId(pipe), Message::from_frames(frames));
            let got = got.expect("a delimited request is taken");
            prop_assert_eq!(got.frames().len(), body.len());
            prop_assert!(r.can_send() && !r.can_recv());
            let (to, reply) = r.frame_reply(Message::from("re")).expect("a reply is due");
            prop_assert_eq!(to, PipeId(pipe));
            let mut want = hops.clone();
            want.push(Bytes::new());
            want.push(Bytes::from_static(b"re"));
            prop_assert_eq!(reply.frames(), &want[..]);
        }
    }

    #[test]
    fn round_robin_serves_pipes_with_room_in_turn(
        pipes in 1u64..6,
        rounds in proptest::collection::vec(proptest::collection::vec(any::<bool>(), 6), 1..40),
    ) {
        let mut lb = LoadBalance::new();
        for p in 0..pipes {
            lb.attach(PipeId(p));
        }
        // Model: the next pick is the first pipe with room at or after the cursor.
        let mut cursor = 0u64;
        for room in rounds {
            let has = |p: u64| room[p as usize];
            let want = (0..pipes).map(|i| (cursor + i) % pipes).find(|&p| has(p));
            let got = lb.pick(|id| has(id.0)).map(|id| id.0);
            prop_assert_eq!(got, want);
            if let Some(p) = want {
                cursor = (p + 1) % pipes;
            }
        }
    }

    #[test]
    fn fair_queue_takes_one_message_per_pipe_per_turn(
        pushes in proptest::collection::vec((0u64..4, 1usize..5), 1..30),
        takes in 1usize..60,
    ) {
        let mut fq = FairQueue::new();
        let mut real: HashMap<u64, VecDeque<u32>> = HashMap::new();
        let mut seq = 0;
        for (p, n) in pushes {
            let q = real.entry(p).or_default();
            if q.is_empty() {
                fq.ready(PipeId(p));
            }
            for _ in 0..n {
                q.push_back(seq);
                seq += 1;
            }
        }
        // Model: the ring as a list of pipes; the head gives one message, then goes to the
        // back if it has more. Pipes joined the ring in the order they first got messages.
        let mut model = real.clone();
        let mut ring: VecDeque<u64> = VecDeque::new();
        let mut seen = Vec::new();
        for m in 0..seq {
            let p = *model.iter().find(|(_, q)| q.contains(&m)).unwrap().0;
            if !seen.contains(&p) {
                seen.push(p);
                ring.push_back(p);
            }
        }
        for _ in 0..takes {
            let want = ring.pop_front().map(|p| {
                let q = model.get_mut(&p).unwrap();
                let m = q.pop_front().unwrap();
                if !q.is_empty() {
                    ring.push_back(p);
                }
                (p, m)
            });
            let got = fq
                .next(|id| {
                    let q = real.get_mut(&id.0)?;
                    let m = q.pop_front()?;
                    Some((m, !q.is_empty()))
                })
                .map(|(id, m)| (id.0, m));
            prop_assert_eq!(got, want);
        }
    }
}

/// Routing id `k` of the table's test. The table compares an id's first 8 bytes as one number,
/// then its length, then the rest: 1 byte for k < 6; for k < 12, a zero then the id of k - 6
/// (same number, other length); else 11 bytes whose first 8 are the same for all.
fn rid_bytes(k: u8) -> Vec<u8> {
    if k < 6 {
        vec![k]
    } else if k < 12 {
        vec![0, k - 6]
    } else {
        let mut v = b"samefirst8".to_vec();
        v.push(k);
        v
    }
}

proptest! {
    /// Peers come (announcing one of 24 ids, short and long, so that clashes happen, with and without
    /// handover) and go, so that the table grows past the size it keeps as a vector and
    /// shrinks back; every id is looked up after each step, against a map.
    #[test]
    fn routing_table_routes_as_a_map(
        ops in proptest::collection::vec((any::<bool>(), 0u8..24, any::<bool>()), 1..120),
    ) {
        let mut t = RoutingTable::new(0);
        // Model: id -> pipe; and each pipe's id, as the socket keeps it.
        let mut model: HashMap<Vec<u8>, PipeId> = HashMap::new();
        let mut ids: HashMap<PipeId, RoutingId> = HashMap::new();
        let mut next = 0u64;
        for (join, k, handover) in ops {
            let id = rid_bytes(k);
            if join {
                next += 1;
                let pipe = PipeId(next);
                match t.identify(pipe, None, &Bytes::from(id.clone()), handover) {
                    Identified::Routed(rid) => {
                        prop_assert!(!model.contains_key(&id));
                        model.insert(id.clone(), pipe);
                        ids.insert(pipe, rid);
                    }
                    Identified::Ignored(_) => prop_assert!(!handover && model.contains_key(&id)),
                    Identified::HandedOver { id: rid, previous } => {
                        prop_assert!(handover);
                        prop_assert_eq!(model.insert(id.clone(), pipe), Some(previous));
                        ids.remove(&previous);
                        ids.insert(pipe, rid);
                    }
                    other => prop_assert!(false, "unexpected {:?}", other),
                }
            } else if let Some(&pipe) = model.get(&id) {
                let rid = ids.remove(&pipe).unwrap();
                prop_assert!(t.remove(pipe, &rid));
                model.remove(&id);
            }
            prop_assert_eq!(t.len(), model.len());
            for k in 0u8..24 {
                let id = rid_bytes(k);
                let got = t.lookup(&RoutingId(Bytes::from(id.clone())));
                prop_assert_eq!(got, model.get(&id).copied());
            }
        }
    }
}
