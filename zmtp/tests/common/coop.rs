//! Shared by the tests of the coop charge by size (`inproc.rs`, `stream_sink.rs`): a PUSH
//! sending in a tight loop, and what its PULL received meanwhile.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use zmtp::{Message, Pull, Push};

/// Messages sent by the loop.
const N: usize = 200;

/// The charge by size, through `send` (one message per call) on a PUSH over inproc, on a
/// current-thread runtime: with 64 KiB messages the PULL receives at least half of [`N`]
/// during the tight loop (200 x 64 KiB is 12.5 MiB: a dozen yields, each letting the reader
/// take what was queued); with 16 B messages, none (small sends do not yield while there is
/// room). `what` names the loop in the failure messages; `ep` makes a fresh endpoint.
pub async fn assert_yields_by_size(
    ep: impl Fn() -> String,
    what: &str,
    mut send: impl AsyncFnMut(&mut Push, Message),
) {
    for (size, expect_interleaved) in [(64 * 1024, true), (16, false)] {
        let during = received_during_loop(&ep(), size, &mut send).await;
        if expect_interleaved {
            assert!(
                during >= N / 2,
                "{size} B: the receiver got {during} of {N} {what}"
            );
        } else {
            assert_eq!(during, 0, "{size} B: the receiver got messages {what}");
        }
    }
}

/// Binds a PULL and connects a PUSH on the inproc endpoint `ep`, on the current runtime (a
/// current-thread one: nothing else runs while the loop does not yield), with a task that
/// counts what the PULL receives. Then `send` queues [`N`] messages of `size` bytes, one per
/// call, in a tight loop (200 messages are well under SNDHWM: every send finds room). Returns
/// how many the PULL had received when the loop ended, after waiting (bounded) for the rest.
async fn received_during_loop(
    ep: &str,
    size: usize,
    mut send: impl AsyncFnMut(&mut Push, Message),
) -> usize {
    let step = Duration::from_secs(10);
    let pull = Pull::new();
    pull.bind(ep).unwrap();
    let mut push = Push::new();
    push.connect(ep).unwrap();
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let reader = tokio::spawn(async move {
        for _ in 0..N {
            tokio::time::timeout(step, pull.recv())
                .await
                .expect("no message in time")
                .expect("recv");
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    // Let the connection be made, so that nothing waits below.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let payload = Bytes::from(vec![7u8; size]);
    for _ in 0..N {
        send(&mut push, Message::from(payload.clone())).await;
    }
    let during = received.load(Ordering::Relaxed);
    tokio::time::timeout(step, reader).await.unwrap().unwrap();
    during
}
