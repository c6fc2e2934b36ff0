//! Identity routing (ROUTER, libzmq `src/router.cpp`): each peer gets a routing id, the one it
//! announced or a generated one, and messages are routed by it.
//!
//! A clash (a newcomer announcing an id in use) keeps the old peer and ignores the newcomer,
//! unless ROUTER_HANDOVER is set: then the newcomer takes the id and the old peer's connection
//! is to be closed.

use std::collections::HashMap;
use std::fmt;

use bytes::Bytes;

use super::PipeId;

/// A peer's routing id, as a ROUTER sees it: the `Identity` the peer announced, or a generated
/// one (5 bytes: `0x00` then a 32-bit counter, as libzmq makes them).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoutingId(pub Bytes);

impl RoutingId {
    /// The id's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for RoutingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RoutingId(\"{}\")", self.0.escape_ascii())
    }
}

impl fmt::Display for RoutingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.escape_ascii())
    }
}

impl From<&'static str> for RoutingId {
    fn from(s: &'static str) -> Self {
        RoutingId(Bytes::from_static(s.as_bytes()))
    }
}

impl From<Bytes> for RoutingId {
    fn from(b: Bytes) -> Self {
        RoutingId(b)
    }
}

/// What [`RoutingTable::identify`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Identified {
    /// The pipe is routable under this id.
    Routed(RoutingId),
    /// The id is taken and handover is off: the pipe is not routable and its messages are to be
    /// dropped (libzmq keeps the connection open and ignores it).
    Ignored(RoutingId),
    /// The id was taken and handover is on: the pipe took it over; `previous`, its former
    /// owner, is no longer routable and its connection is to be closed.
    HandedOver {
        /// The id.
        id: RoutingId,
        /// The pipe that had it.
        previous: PipeId,
    },
}

/// Tables of up to this many peers are also kept as a vector. Most ROUTERs have a few peers (a
/// broker's workers and clients), and comparing a few ids costs less than hashing one: SipHash,
/// kept for larger tables because the ids are the peers' choice, was 300 instructions per
/// lookup, half of a broker's send (callgrind).
const FEW: usize = 8;

/// An id's first 8 bytes as a number: with the length, the whole of an id of up to 8 bytes
/// (most are: libzmq generates 5), so that comparing two takes no `memcmp`.
fn tag(id: &[u8]) -> u64 {
    id.iter().take(8).fold(0, |t, &b| t << 8 | u64::from(b))
}

/// Routing ids to pipes. The caller keeps each pipe's id (it needs it per message anyway, to
/// prefix what the pipe receives) and hands it back to [`RoutingTable::identify`] and
/// [`RoutingTable::remove`]: one copy per peer instead of two (memory per idle connection).
#[derive(Debug, Clone)]
pub struct RoutingTable {
    routes: HashMap<RoutingId, PipeId>,
    /// The same routes while there are at most [`FEW`] (empty otherwise), each with its id's
    /// [`tag`]: looked up by comparing tags and lengths (and, for ids over 8 bytes, the rest),
    /// not by hashing.
    few: Vec<(u64, RoutingId, PipeId)>,
    next_auto: u32,
}

impl RoutingTable {
    /// An empty table whose generated ids start at `seed` (libzmq starts at a random value, so
    /// that ids are not reused across restarts).
    pub fn new(seed: u32) -> Self {
        RoutingTable {
            routes: HashMap::new(),
            few: Vec::new(),
            next_auto: seed,
        }
    }

    /// Gives `pipe`, whose handshake just finished, its routing id: `announced` if not empty,
    /// else a generated one that no peer has. `previous`: the id the pipe had (a reconnecting
    /// pipe), which it loses if it comes back with another.
    pub fn identify(
        &mut self,
        pipe: PipeId,
        previous: Option<&RoutingId>,
        announced: &Bytes,
        handover: bool,
    ) -> Identified {
        let rid = if announced.is_empty() {
            self.generate()
        } else {
            RoutingId(announced.clone())
        };
        let mut taken_from = None;
        match self.routes.get(&rid).copied() {
            Some(owner) if owner == pipe => return Identified::Routed(rid),
            Some(owner) => {
                if !handover {
                    return Identified::Ignored(rid);
                }
                taken_from = Some(owner);
            }
            None => {}
        }
        if let Some(old) = previous {
            self.remove(pipe, old);
        }
        self.routes.insert(rid.clone(), pipe);
        self.sync_few();
        match taken_from {
            Some(previous) => Identified::HandedOver { id: rid, previous },
            None => Identified::Routed(rid),
        }
    }

    /// The pipe routed by `id`.
    pub fn lookup(&self, id: &RoutingId) -> Option<PipeId> {
        if self.routes.len() <= FEW {
            // Past the bytes the tag holds: compared only when tag and length are equal.
            let (t, id) = (tag(&id.0), &id.0[..]);
            let rest = 8.min(id.len());
            return self
                .few
                .iter()
                .find(|(kt, k, _)| *kt == t && k.0.len() == id.len() && k.0[rest..] == id[rest..])
                .map(|&(_, _, p)| p);
        }
        self.routes.get(id).copied()
    }

    /// Makes [`RoutingTable::few`] what it says, after a change of the routes (rare: a peer
    /// comes or goes).
    fn sync_few(&mut self) {
        if self.routes.len() <= FEW {
            self.few.clear();
            self.few.extend(
                self.routes
                    .iter()
                    .map(|(id, &p)| (tag(&id.0), id.clone(), p)),
            );
        } else if self.few.capacity() > 0 {
            self.few = Vec::new();
        }
    }

    /// Makes `pipe`, routed by `id`, unroutable. Returns false if `id` routes elsewhere (it
    /// was handed over) or nowhere.
    pub fn remove(&mut self, pipe: PipeId, id: &RoutingId) -> bool {
        if self.routes.get(id) == Some(&pipe) {
            self.routes.remove(id);
            self.sync_few();
            return true;
        }
        false
    }

    /// The routing ids of the routable peers, in no particular order.
    pub fn ids(&self) -> impl Iterator<Item = &RoutingId> {
        self.routes.keys()
    }

    /// Number of routable peers.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// True if no peer is routable.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    fn generate(&mut self) -> RoutingId {
        loop {
            let n = self.next_auto;
            self.next_auto = n.wrapping_add(1);
            let mut b = [0u8; 5];
            b[1..].copy_from_slice(&n.to_be_bytes());
            let id = RoutingId(Bytes::copy_from_slice(&b));
            if !self.routes.contains_key(&id) {
                return id;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    #[test]
    fn announced_and_generated_ids() {
        let mut t = RoutingTable::new(u32::MAX);
        assert_eq!(
            t.identify(PipeId(1), None, &b("alice"), false),
            Identified::Routed(RoutingId::from("alice"))
        );
        let Identified::Routed(auto) = t.identify(PipeId(2), None, &Bytes::new(), false) else {
            panic!()
        };
        assert_eq!(auto.as_bytes(), [0, 0xff, 0xff, 0xff, 0xff]);
        // The counter wraps, and skips ids in use.
        let Identified::Routed(next) = t.identify(PipeId(3), None, &Bytes::new(), false) else {
            panic!()
        };
        assert_eq!(next.as_bytes(), [0, 0, 0, 0, 0]);
        assert_eq!(t.lookup(&auto), Some(PipeId(2)));
        assert_eq!(t.lookup(&RoutingId::from("alice")), Some(PipeId(1)));
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn generated_ids_skip_taken_ones() {
        let mut t = RoutingTable::new(7);
        let taken = Bytes::from_static(&[0, 0, 0, 0, 7]);
        t.identify(PipeId(1), None, &taken, false);
        let Identified::Routed(id) = t.identify(PipeId(2), None, &Bytes::new(), false) else {
            panic!()
        };
        assert_eq!(id.as_bytes(), [0, 0, 0, 0, 8]);
    }

    #[test]
    fn clash_without_handover_ignores_the_newcomer() {
        let mut t = RoutingTable::new(0);
        let w = RoutingId::from("w");
        t.identify(PipeId(1), None, &b("w"), false);
        assert_eq!(
            t.identify(PipeId(2), None, &b("w"), false),
            Identified::Ignored(w.clone())
        );
        assert_eq!(t.lookup(&w), Some(PipeId(1)));
        // The ignored newcomer leaving does not unroute the owner.
        assert!(!t.remove(PipeId(2), &w));
        assert_eq!(t.lookup(&w), Some(PipeId(1)));
        // Once the owner leaves, the id is free again.
        assert!(t.remove(PipeId(1), &w));
        assert_eq!(
            t.identify(PipeId(3), None, &b("w"), false),
            Identified::Routed(w)
        );
    }

    #[test]
    fn clash_with_handover_moves_the_id() {
        let mut t = RoutingTable::new(0);
        let w = RoutingId::from("w");
        t.identify(PipeId(1), None, &b("w"), true);
        assert_eq!(
            t.identify(PipeId(2), None, &b("w"), true),
            Identified::HandedOver {
                id: w.clone(),
                previous: PipeId(1)
            }
        );
        assert_eq!(t.lookup(&w), Some(PipeId(2)));
        // The old owner going away later does not unroute the new one.
        assert!(!t.remove(PipeId(1), &w));
        assert_eq!(t.lookup(&w), Some(PipeId(2)));
    }

    #[test]
    fn a_pipe_coming_back_with_another_id_loses_the_old_one() {
        let mut t = RoutingTable::new(0);
        let old = RoutingId::from("old");
        t.identify(PipeId(1), None, &b("old"), false);
        // Same id again (a reconnect of a connecting pipe): nothing changes.
        assert_eq!(
            t.identify(PipeId(1), Some(&old), &b("old"), false),
            Identified::Routed(old.clone())
        );
        t.identify(PipeId(1), Some(&old), &b("new"), false);
        assert_eq!(t.lookup(&RoutingId::from("old")), None);
        assert_eq!(t.lookup(&RoutingId::from("new")), Some(PipeId(1)));
        assert_eq!(t.len(), 1);
    }
}
