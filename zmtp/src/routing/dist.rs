//! Distribution: a message to every peer that wants it, skipping the ones without room (libzmq
//! `src/dist.cpp`: PUB and XPUB drop for a subscriber at SNDHWM rather than block everyone).

use super::PipeId;

/// The peers a message may be distributed to.
#[derive(Debug, Default, Clone)]
pub struct Distribute {
    pipes: Vec<PipeId>,
}

impl Distribute {
    /// No peers.
    pub fn new() -> Self {
        Distribute::default()
    }

    /// Adds a peer (no effect if it is there already).
    pub fn attach(&mut self, id: PipeId) {
        if !self.pipes.contains(&id) {
            self.pipes.push(id);
        }
    }

    /// Removes a peer.
    pub fn detach(&mut self, id: PipeId) {
        self.pipes.retain(|&p| p != id);
    }

    /// Number of peers.
    pub fn len(&self) -> usize {
        self.pipes.len()
    }

    /// True if there are no peers.
    pub fn is_empty(&self) -> bool {
        self.pipes.is_empty()
    }

    /// Calls `deliver` for every peer that `wants` the message (a subscription matches) and
    /// `has_room`; returns how many peers got it and how many wanted it but were full (those
    /// miss this message).
    pub fn each(
        &self,
        mut wants: impl FnMut(PipeId) -> bool,
        mut has_room: impl FnMut(PipeId) -> bool,
        mut deliver: impl FnMut(PipeId),
    ) -> (usize, usize) {
        let (mut sent, mut dropped) = (0, 0);
        for &id in &self.pipes {
            if !wants(id) {
                continue;
            }
            if has_room(id) {
                deliver(id);
                sent += 1;
            } else {
                dropped += 1;
            }
        }
        (sent, dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_every_interested_pipe_with_room() {
        let mut d = Distribute::new();
        for i in 1..=4 {
            d.attach(PipeId(i));
        }
        d.attach(PipeId(2));
        assert_eq!(d.len(), 4);
        let mut got = Vec::new();
        let r = d.each(
            |id| id != PipeId(4),
            |id| id != PipeId(3),
            |id| got.push(id.0),
        );
        assert_eq!(got, [1, 2]);
        assert_eq!(r, (2, 1));
        d.detach(PipeId(1));
        got.clear();
        d.each(|_| true, |_| true, |id| got.push(id.0));
        assert_eq!(got, [2, 3, 4]);
    }
}
