//! Load balancing: each message to the next peer in round-robin order that has room (libzmq
//! `src/lb.cpp`). A full peer is skipped, not waited for; when none has room the caller waits.

use super::PipeId;

/// The peers a socket may send to, in round-robin order.
#[derive(Debug, Default, Clone)]
pub struct LoadBalance {
    ring: Vec<PipeId>,
    /// Where the next search starts.
    cursor: usize,
}

impl LoadBalance {
    /// An empty ring.
    pub fn new() -> Self {
        LoadBalance::default()
    }

    /// Adds `id` at the end of the ring (no effect if it is there already). Returns true if it
    /// was added.
    pub fn attach(&mut self, id: PipeId) -> bool {
        if self.ring.contains(&id) {
            return false;
        }
        self.ring.push(id);
        true
    }

    /// Removes `id`; the order of the others is kept, and so is whose turn it is.
    pub fn detach(&mut self, id: PipeId) {
        if let Some(pos) = self.ring.iter().position(|&p| p == id) {
            self.ring.remove(pos);
            if self.cursor > pos {
                self.cursor -= 1;
            }
            if self.cursor >= self.ring.len() {
                self.cursor = 0;
            }
        }
    }

    /// True if `id` is in the ring.
    pub fn contains(&self, id: PipeId) -> bool {
        self.ring.contains(&id)
    }

    /// Number of peers in the ring.
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// True if no peer is in the ring.
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// The next peer after the last one chosen for which `has_room` is true, or `None` if no
    /// peer has room. The turn moves past the chosen peer.
    #[inline(always)]
    pub fn pick(&mut self, mut has_room: impl FnMut(PipeId) -> bool) -> Option<PipeId> {
        let n = self.ring.len();
        for i in 0..n {
            let idx = (self.cursor + i) % n;
            let id = self.ring[idx];
            if has_room(id) {
                self.cursor = (idx + 1) % n;
                return Some(id);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: u64) -> Vec<PipeId> {
        (1..=n).map(PipeId).collect()
    }

    #[test]
    fn round_robin_in_attach_order() {
        let mut lb = LoadBalance::new();
        for id in ids(3) {
            assert!(lb.attach(id));
        }
        assert!(!lb.attach(PipeId(2)), "attached twice");
        let picks: Vec<_> = (0..7).map(|_| lb.pick(|_| true).unwrap().0).collect();
        assert_eq!(picks, [1, 2, 3, 1, 2, 3, 1]);
    }

    #[test]
    fn round_robin_skips_full_pipes() {
        let mut lb = LoadBalance::new();
        for id in ids(4) {
            lb.attach(id);
        }
        let full = [PipeId(2), PipeId(3)];
        let picks: Vec<_> = (0..4)
            .map(|_| lb.pick(|id| !full.contains(&id)).unwrap().0)
            .collect();
        assert_eq!(picks, [1, 4, 1, 4]);
        // Pipe 2 gets room again: its turn comes after the last one chosen (1 was next).
        assert_eq!(lb.pick(|id| id != PipeId(3)), Some(PipeId(1)));
        assert_eq!(lb.pick(|id| id != PipeId(3)), Some(PipeId(2)));
        // Nobody has room: no pick, and the turn does not move.
        assert_eq!(lb.pick(|_| false), None);
        assert_eq!(lb.pick(|_| true), Some(PipeId(3)));
    }

    #[test]
    fn detach_keeps_the_turn() {
        let mut lb = LoadBalance::new();
        for id in ids(4) {
            lb.attach(id);
        }
        assert_eq!(lb.pick(|_| true), Some(PipeId(1)));
        assert_eq!(lb.pick(|_| true), Some(PipeId(2)));
        // Removing a pipe before the cursor does not skip pipe 3's turn.
        lb.detach(PipeId(1));
        assert_eq!(lb.pick(|_| true), Some(PipeId(3)));
        // Removing the last pipe while the cursor points past it wraps around.
        lb.detach(PipeId(4));
        assert_eq!(lb.pick(|_| true), Some(PipeId(2)));
        lb.detach(PipeId(2));
        lb.detach(PipeId(3));
        assert!(lb.is_empty());
        assert_eq!(lb.pick(|_| true), None);
    }
}
