//! Fair queuing: one message from each peer that has some, in turn (libzmq `src/fq.cpp`). A
//! peer that floods cannot starve the others: it waits for its next turn like everyone.

use std::collections::VecDeque;

use super::PipeId;

/// The peers holding messages, in the order they are served.
///
/// The caller owns the queues and keeps one rule: it calls [`FairQueue::ready`] when a peer's
/// queue goes from empty to not empty, and [`FairQueue::next`] takes a peer off the ring once
/// its queue is empty. So a peer is in the ring exactly while its queue holds messages.
#[derive(Debug, Default, Clone)]
pub struct FairQueue {
    ring: VecDeque<PipeId>,
}

impl FairQueue {
    /// An empty ring.
    pub fn new() -> Self {
        FairQueue::default()
    }

    /// `id`'s queue was empty and now holds messages: it joins the end of the ring.
    #[inline]
    pub fn ready(&mut self, id: PipeId) {
        self.ring.push_back(id);
    }

    /// Serves the next peer: `take(id)` takes one message from `id`'s queue and says whether
    /// more remain (`None`: the queue is empty or gone, and the next peer is tried). A peer with
    /// more goes to the end of the ring.
    #[inline]
    pub fn next<T>(
        &mut self,
        mut take: impl FnMut(PipeId) -> Option<(T, bool)>,
    ) -> Option<(PipeId, T)> {
        while let Some(id) = self.ring.pop_front() {
            let Some((item, more)) = take(id) else {
                continue;
            };
            if more {
                self.ring.push_back(id);
            }
            return Some((id, item));
        }
        None
    }

    /// Peers in the ring.
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// True if no peer holds messages.
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Queues beside a fair queue, kept by the rule the type asks of its caller.
    #[derive(Default)]
    struct Queues {
        fq: FairQueue,
        q: HashMap<PipeId, VecDeque<u32>>,
    }

    impl Queues {
        fn push(&mut self, id: u64, msg: u32) {
            let q = self.q.entry(PipeId(id)).or_default();
            if q.is_empty() {
                self.fq.ready(PipeId(id));
            }
            q.push_back(msg);
        }

        fn pop(&mut self) -> Option<(u64, u32)> {
            let q = &mut self.q;
            self.fq
                .next(|id| {
                    let queue = q.get_mut(&id)?;
                    let m = queue.pop_front()?;
                    Some((m, !queue.is_empty()))
                })
                .map(|(id, m)| (id.0, m))
        }
    }

    #[test]
    fn one_message_per_pipe_per_turn() {
        let mut qs = Queues::default();
        for m in 0..5 {
            qs.push(1, 100 + m);
        }
        qs.push(2, 200);
        qs.push(3, 300);
        qs.push(3, 301);
        let order: Vec<_> = std::iter::from_fn(|| qs.pop()).collect();
        assert_eq!(
            order,
            [
                (1, 100),
                (2, 200),
                (3, 300),
                (1, 101),
                (3, 301),
                (1, 102),
                (1, 103),
                (1, 104)
            ]
        );
        assert!(qs.fq.is_empty());
    }

    #[test]
    fn a_pipe_that_refills_joins_the_end() {
        let mut qs = Queues::default();
        qs.push(1, 10);
        qs.push(2, 20);
        assert_eq!(qs.pop(), Some((1, 10)));
        // Pipe 1 is empty and off the ring; new messages put it behind pipe 2.
        qs.push(1, 11);
        assert_eq!(qs.pop(), Some((2, 20)));
        assert_eq!(qs.pop(), Some((1, 11)));
        assert_eq!(qs.pop(), None);
    }

    #[test]
    fn vanished_pipes_are_skipped() {
        let mut qs = Queues::default();
        qs.push(1, 10);
        qs.push(2, 20);
        qs.q.remove(&PipeId(1));
        assert_eq!(qs.pop(), Some((2, 20)));
        assert_eq!(qs.pop(), None);
    }
}
