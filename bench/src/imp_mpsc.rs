//! The inproc cell's ceiling: a bounded `tokio::sync::mpsc` channel of capacity 1000 (as a
//! HWM of 1000) carrying the very `zmtp::Message` values ours' inproc sender builds (one fresh
//! `Bytes::copy_from_slice` of the payload each), from a sender task to the receiving loop on
//! the runtime ours uses for that size (`imp_ours::runtime_for`). No sockets, no routing id,
//! no relay: what moving a message between two tasks costs at least.

use bytes::Bytes;
use zmtp::Message;

use crate::common::*;

/// Capacity of the channel: ours' default SNDHWM (and RCVHWM).
const CAPACITY: usize = 1000;

pub fn inproc_thr(size: usize, count: usize) {
    crate::imp_ours::runtime_for(size).block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Message>(CAPACITY);
        let p = payload(size);
        let sender = tokio::spawn(async move {
            for _ in 0..count {
                tx.send(Message::from(Bytes::copy_from_slice(&p)))
                    .await
                    .expect("send");
            }
        });
        let mut clock = ThrClock::new();
        for _ in 0..count {
            let m = rx.recv().await.expect("recv");
            clock.tick();
            check_size(m.get(0).map_or(0, |f| f.len()), size);
        }
        clock.finish(count, size);
        drop(sender);
    });
}
